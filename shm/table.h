/*
 * The lock-free open-addressing table engine, private to shm/.
 *
 * reg.c and dlg.c give it keys already hashed (struct sbc_tkey) and records
 * of their table's size; the engine finds, inserts, updates and removes
 * them with linear probing over the slot control words (ctl.h). The rules
 * that keep it correct with any number of writer processes, any of which may
 * be killed at any instruction, are written where they are enforced, in
 * table.c; sweep.c and check.c follow the same rules.
 */

struct sbc_tkey {
	uint32_t home;     /* 32 bits of the primary hash: picks the home slot */
	uint32_t sig;      /* SBC_SIG_BITS: primary part high, secondary low */
	const void *key;   /* the table's key struct, for ops->match */
};

void sbc_tkey_set(struct sbc_tkey *k, uint64_t primary, uint64_t secondary,
		  const void *key);

int sbc_table_get(const struct sbc_table *t, const struct sbc_tkey *k,
		  uint64_t now, void *rec);
int sbc_table_get_all(const struct sbc_table *t, const struct sbc_tkey *k,
		      uint64_t now, void *recv, size_t max, size_t *n);
int sbc_table_put(struct sbc_table *t, struct sbc_writer *w,
		  const struct sbc_tkey *k, const void *rec, uint64_t now);
int sbc_table_del(struct sbc_table *t, struct sbc_writer *w,
		  const struct sbc_tkey *k, uint64_t now);
int sbc_table_read_slot(const struct sbc_table *t, uint32_t slot,
			uint64_t now, void *rec);

/* Shared with sweep.c and check.c */
uint32_t sbc_table_home(const struct sbc_table *t, const struct sbc_tkey *k);
int  sbc_table_copy(const struct sbc_table *t, uint32_t slot, uint64_t *c,
		    void *rec);
bool sbc_rec_expired(const void *rec, uint64_t now);
bool sbc_table_remove(const struct sbc_table *t, struct sbc_writer *w,
		      uint32_t s, uint64_t c, enum sbc_chg_kind kind);

static inline uint32_t sbc_table_next(const struct sbc_table *t, uint32_t s)
{
	return s + 1 == t->slots ? 0 : s + 1;
}

static inline uint32_t sbc_table_prev(const struct sbc_table *t, uint32_t s)
{
	return s ? s - 1 : t->slots - 1;
}

static inline void *sbc_table_rec(const struct sbc_table *t, uint32_t s)
{
	return t->rec + (size_t)s * t->ops->rec_size;
}

/* Every table's record starts with its absolute expiry (sbc_rec_expired). */
enum {
	SBC_REC_MAX = 2048,  /* largest record size: room for a stack copy */
	SBC_KEY_MAX = 64,    /* largest key struct, for ops->key_of */
};
