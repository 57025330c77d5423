/*
 * Process-local handles on the segment, private to shm/.
 *
 * A handle holds the addresses this process mapped the segment at; the
 * segment itself holds only offsets. A forked child inherits its parent's
 * handle along with the mapping.
 */

struct sbc_tkey;

/* How one table checks and compares its records: process-local code, never
 * in the segment. `key_of` hashes a record's own key, with keybuf as room
 * for the table's key struct. */
struct sbc_table_ops {
	enum sbc_tbl tbl;
	size_t rec_size;
	bool (*valid)(const void *rec);
	bool (*match)(const void *rec, const void *key);
	bool (*match_primary)(const void *rec, const void *key);
	void (*key_of)(const void *rec, struct sbc_tkey *k, void *keybuf);
};

extern const struct sbc_table_ops sbc_reg_ops;
extern const struct sbc_table_ops sbc_dlg_ops;

struct sbc_table {
	struct sbc_tbl_hdr *hdr;
	_Atomic uint64_t *ctl;
	uint8_t *rec;
	uint32_t slots;
	uint32_t max;
	const struct sbc_table_ops *ops;
};

struct sbc_shm {
	struct sbc_shm_hdr *hdr;
	uint8_t *base;
	uint64_t size;
	int fd;
	bool huge;
	struct sbc_table tbl[SBC_TBL_COUNT];
};

struct sbc_writer {
	struct sbc_shm *shm;
	struct sbc_wblk *blk;
	uint32_t index;
	int32_t pid;
	uint32_t seq;                      /* of the last counted change */
	int64_t used_sum[SBC_TBL_COUNT];   /* every writer's count, last summed */
	uint32_t since_sum[SBC_TBL_COUNT]; /* own inserts since then */
	uint32_t sweep_pos[SBC_TBL_COUNT]; /* where the next sweep starts */
};

struct sbc_wblk *sbc_shm_wblk(const struct sbc_shm *shm, uint32_t index);
void sbc_count_resume(struct sbc_writer *w);
void sbc_count_begin(struct sbc_writer *w, enum sbc_tbl tbl, uint32_t slot,
		     uint64_t after, int delta);
void sbc_count_commit(struct sbc_writer *w, enum sbc_tbl tbl, int delta);
bool sbc_count_settle(struct sbc_shm *shm, uint32_t index);
void sbc_ring_append(struct sbc_writer *w, enum sbc_tbl tbl, uint32_t slot,
		     uint32_t version, enum sbc_chg_kind kind);
