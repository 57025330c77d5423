/*
 * Registration bindings in shared memory.
 *
 * A binding is keyed by (AOR, contact instance): the AOR as the registrar
 * normalised it, and the +sip.instance of the Contact or, without one, the
 * Contact URI itself. All bindings of one AOR are found with one lookup, so a
 * request for a user forks to every device it registered.
 *
 * A binding is stored only once the backend accepted the REGISTER, with the
 * expiry it granted; past that instant it is invisible to every reader.
 */

struct pl;
struct sbc_shm;
struct sbc_writer;

enum {
	SBC_REG_AOR_SIZE      = 128,
	SBC_REG_INSTANCE_SIZE = 128,
	SBC_REG_CONTACT_SIZE  = 256,
	SBC_REG_CALLID_SIZE   = 96,
	SBC_REG_UA_SIZE       = 64,
	SBC_REG_TOKEN_SIZE    = 24,
};

struct sbc_reg {
	uint64_t expires;      /* absolute, ms since the epoch (sbc_now_ms) */
	uint64_t updated;      /* when the backend last accepted it */
	uint64_t conn;         /* connection carrying it (0 for UDP) */
	struct sbc_addr source; /* where the REGISTER really came from */
	uint32_t cseq;         /* of the REGISTER that set it */
	uint16_t backend;      /* index of the backend that accepted it */
	uint16_t listener;     /* index of the listener it arrived on */
	uint8_t  transport;    /* enum sbc_transport */
	uint8_t  pad[7];
	char aor[SBC_REG_AOR_SIZE];
	char instance[SBC_REG_INSTANCE_SIZE];
	char contact[SBC_REG_CONTACT_SIZE];   /* the Contact URI the UA sent */
	char token[SBC_REG_TOKEN_SIZE];       /* user part of sbcd's core Contact */
	char call_id[SBC_REG_CALLID_SIZE];
	char user_agent[SBC_REG_UA_SIZE];
};

int sbc_reg_put(struct sbc_writer *w, const struct sbc_reg *reg, uint64_t now);
int sbc_reg_get(const struct sbc_shm *shm, const struct pl *aor,
		const struct pl *instance, uint64_t now, struct sbc_reg *reg);
int sbc_reg_del(struct sbc_writer *w, const struct pl *aor,
		const struct pl *instance, uint64_t now);
int sbc_reg_lookup_aor(const struct sbc_shm *shm, const struct pl *aor,
		       uint64_t now, struct sbc_reg *regv, size_t max,
		       size_t *n);
int sbc_reg_read_slot(const struct sbc_shm *shm, uint32_t slot,
		      uint64_t now, struct sbc_reg *reg);
