/*
 * Backends as a worker sees them, and how a call picks one; private to
 * workers/ (see backend.c and balance.c).
 * Include "shm/backend.h" and "workers/core.h" before this header.
 */

/* The worker's view of the backend slots (backend.c). */
struct sbc_bk_view {
	struct {
		bool known;           /* configured, or removed with calls */
		int32_t backend;      /* index in cfg->backends, -1: removed */
		struct sa addr;
	} slot[SBC_BK_SLOTS];
	uint16_t by_backend[SBC_BK_SLOTS]; /* slot of cfg->backends[i] */
	uint16_t known[SBC_BK_SLOTS]; /* the known slots, for lookups */
	uint32_t known_count;
	uint64_t *rr;                 /* round-robin position, by set */
	int64_t *cur;                 /* smooth weighted, by backend */
};

/* A set of backend slots (the ones a call has tried). */
struct sbc_bk_mask {
	uint64_t bits[SBC_BK_SLOTS / 64];
};

static inline bool sbc_bk_mask_has(const struct sbc_bk_mask *m, uint16_t s)
{
	return s < SBC_BK_SLOTS && (m->bits[s / 64] >> (s % 64) & 1);
}

static inline void sbc_bk_mask_add(struct sbc_bk_mask *m, uint16_t s)
{
	if (s < SBC_BK_SLOTS)
		m->bits[s / 64] |= 1ull << (s % 64);
}

/* What a pick is for. */
struct sbc_pick {
	uint32_t set;                 /* index in cfg->sets */
	struct pl aor;                /* the AOR, for the aor hash */
	struct pl callid;             /* the Call-ID, for the call-id hash */
	bool by_aor;                  /* REGISTER: by AOR whatever the set */
	bool reserve;                 /* a call: take a place (capacity) */
	const struct sbc_bk_mask *skip;  /* tried already, or NULL */
};

/* backend.c */
int  sbc_backend_apply(struct sbc_core *core);
const char *sbc_backend_uri(const struct sbc_core *core, uint16_t slot);
uint32_t sbc_backend_route(const struct sbc_core *core,
			   const struct sip_msg *msg);

/* probe.c */
int  sbc_probe_start(struct sbc_core *core);

/* balance.c */
int  sbc_backend_pick(struct sbc_core *core, const struct sbc_pick *p,
		      uint16_t *slotp);
int  sbc_pick_aor_print(struct re_printf *pf, const struct sip_msg *msg);
