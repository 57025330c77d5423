/*
 * Change rings.
 *
 * Every change a writer makes to a table is also appended to that writer's
 * ring: which slot, at which version, and what happened. A follower (the
 * Redis writer, a test) reads each ring from its own position and re-reads
 * only the slots that changed, without rescanning the tables. A follower
 * that falls more than a ring behind is told so (EOVERFLOW) and must
 * resynchronise from the tables.
 */

struct sbc_shm;

enum sbc_chg_kind {
	SBC_CHG_INSERT = 1,
	SBC_CHG_UPDATE,
	SBC_CHG_DELETE,
	SBC_CHG_EXPIRE,    /* removed by the sweep or a lazy reclaim */
	SBC_CHG_RECLAIM,   /* left half-written by a dead writer, reclaimed */
	SBC_CHG_REPAIR,    /* fixed by the consistency checker */
};

struct sbc_change {
	uint32_t slot;
	uint32_t version;  /* slot version after the change */
	uint8_t  table;    /* enum sbc_tbl */
	uint8_t  kind;     /* enum sbc_chg_kind */
};

struct sbc_ring_reader {
	uint32_t writer;
	uint64_t pos;
};

void sbc_ring_follow(struct sbc_ring_reader *rd, const struct sbc_shm *shm,
		     uint32_t writer);
int  sbc_ring_next(struct sbc_ring_reader *rd, const struct sbc_shm *shm,
		   struct sbc_change *chg);
const char *sbc_chg_name(enum sbc_chg_kind kind);
