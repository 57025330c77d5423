/*
 * The shared memory segment.
 *
 * The supervisor creates one segment before it forks anything; every child
 * inherits the mapping, and a process started separately maps it from its
 * file descriptor with sbc_shm_attach(), which checks the header's magic,
 * layout version and sizes before anything else touches the segment.
 *
 * Inside the segment there are no pointers, only offsets and indices, so the
 * segment means the same in every process whatever address it is mapped at.
 * It holds the registration and dialog tables and one block per writer
 * (process id, counters and change ring).
 */

struct re_printf;

enum sbc_tbl {
	SBC_TBL_REG = 0,
	SBC_TBL_DLG,
	SBC_TBL_COUNT
};

/* What the segment is sized from: config values, read once at start. */
struct sbc_shm_conf {
	uint32_t reg_max;    /* registrations.max: bindings the table holds */
	uint32_t dlg_max;    /* dialogs.max: dialogs the table holds */
	uint32_t writers;    /* processes that may write: supervisor, workers */
	uint32_t ring_size;  /* changes kept per writer, a power of two */
	bool huge_pages;     /* use 2 MiB pages if the host has them reserved */
};

enum {
	SBC_SHM_WRITERS_MAX = 255,
	SBC_SHM_RING_DEFAULT = 65536,
};

struct sbc_shm;
struct sbc_writer;

int      sbc_shm_create(struct sbc_shm **shmp, const struct sbc_shm_conf *conf);
int      sbc_shm_attach(struct sbc_shm **shmp, int fd);
int      sbc_shm_populate(const struct sbc_shm *shm);
int      sbc_shm_fd(const struct sbc_shm *shm);
uint64_t sbc_shm_size(const struct sbc_shm *shm);
bool     sbc_shm_huge(const struct sbc_shm *shm);
uint32_t sbc_shm_writers(const struct sbc_shm *shm);
uint32_t sbc_shm_max(const struct sbc_shm *shm, enum sbc_tbl tbl);
uint32_t sbc_shm_slots(const struct sbc_shm *shm, enum sbc_tbl tbl);
uint64_t sbc_shm_table_bytes(const struct sbc_shm *shm, enum sbc_tbl tbl);
int      sbc_shm_layout_print(struct re_printf *pf, const struct sbc_shm *shm);
const char *sbc_tbl_name(enum sbc_tbl tbl);

/*
 * Writers. Every process that changes a table first attaches to a writer
 * index of its own; the index identifies it in half-written slots (so the
 * checker can tell a dead writer's slot from a live one's) and owns one
 * change ring. Indices are handed out by the supervisor: 0 is its own.
 */
int  sbc_writer_attach(struct sbc_writer **wp, struct sbc_shm *shm,
		       uint32_t index);
void sbc_writer_gone(struct sbc_shm *shm, uint32_t index);
bool sbc_writer_alive(const struct sbc_shm *shm, uint32_t index);
uint32_t sbc_writer_index(const struct sbc_writer *w);
int64_t  sbc_shm_count(const struct sbc_shm *shm, enum sbc_tbl tbl);

/* Wall-clock milliseconds: expiries are absolute so they mean the same
 * in every process and on every node. */
uint64_t sbc_now_ms(void);
