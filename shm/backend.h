/*
 * Backend slots: what every process knows of each backend (DESIGN.md
 * section 5), in the shared segment.
 *
 * A fixed array of SBC_BK_SLOTS. The supervisor gives each backend of the
 * configuration a slot, found by its URI, at start and at every reload,
 * before any worker sees that configuration: a backend keeps its slot, its
 * state and its calls across reloads. A backend a reload removed stays
 * REMOVED while calls remain on it (in-dialog requests still reach it and
 * are still taken from it), and its slot is free for another backend from
 * the reload after its last call ended.
 *
 * Who writes what: the supervisor the URI, address and use; the worker
 * that probes a backend its probe fields and up/down state; every worker
 * the calls it holds, with compare-and-swap on `calls` against the
 * capacity so two workers can never both take the last place.
 *
 * Include "shm/field.h" and "shm/shm.h" before this header.
 */

#include <stdatomic.h>

enum {
	SBC_BK_SLOTS    = 256,
	SBC_BK_URI_SIZE = 128,
	SBC_BK_NONE     = 0xffff,   /* no backend (a slot index never used) */
};

enum sbc_bk_use {
	SBC_BK_FREE = 0,
	SBC_BK_CONFIGURED,          /* in the running configuration */
	SBC_BK_REMOVED,             /* out of it, calls still on it */
};

struct sbc_bk {
	char uri[SBC_BK_URI_SIZE];
	struct sbc_addr addr;
	_Atomic uint32_t use;            /* enum sbc_bk_use */
	_Atomic uint32_t down;           /* 1: marked down by its probes */
	_Atomic uint32_t ok_run;         /* good probes in a row */
	_Atomic uint32_t fail_run;       /* failed probes in a row */
	_Atomic uint32_t last_code;      /* of the last probe, 0: no answer */
	_Atomic uint32_t calls;          /* INVITE dialogs on it now */
	_Atomic uint64_t last_probe;     /* ms (sbc_now_ms), 0: none yet */
	_Atomic uint64_t rtt_us;         /* of the last good probe */
	_Atomic uint64_t probes;
	_Atomic uint64_t probe_failures;
	_Atomic uint64_t attempts;       /* initial INVITEs sent to it */
	_Atomic uint64_t failures;       /* of which failed over */
	_Atomic uint32_t held[SBC_SHM_WRITERS_MAX];  /* calls, by writer */
};

struct sbc_bk *sbc_bk_slot(const struct sbc_shm *shm, uint32_t slot);
int  sbc_bk_find(const struct sbc_shm *shm, const char *uri, uint16_t *slotp);
int  sbc_bk_claim(struct sbc_shm *shm, const char *uri, const struct sa *addr,
		  uint16_t *slotp);
void sbc_bk_retire(struct sbc_shm *shm, const bool *keep);

bool sbc_bk_reserve(struct sbc_bk *bk, uint32_t writer, uint32_t capacity);
void sbc_bk_release(struct sbc_bk *bk, uint32_t writer);
void sbc_bk_writer_reset(struct sbc_shm *shm, uint32_t writer);

struct sbc_bk_probe {
	uint16_t code;                   /* 0: no answer */
	bool alive;
	uint64_t rtt_us;
	uint32_t down_after;
	uint32_t up_after;
};
bool sbc_bk_probed(struct sbc_bk *bk, const struct sbc_bk_probe *p,
		   uint64_t now);

/* Up unless its probes marked it down; with probing off, always up. */
static inline bool sbc_bk_up(const struct sbc_bk *bk, bool probing)
{
	return !probing || !atomic_load(&bk->down);
}
