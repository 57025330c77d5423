/*
 * The shared tables' benchmark, in three parts: bench_tables.c holds each
 * table's keys, built before anything is timed, and its operations on them;
 * bench_measure.c forks the timed processes and sums their rates;
 * bench_shm.c fills the tables, runs the measurements and prints the table.
 *
 * A key is a number: key k of a table is one fixed-width AOR and instance,
 * or one Call-ID and tags, so any process can name it without building a
 * string inside a timed loop.
 */

struct bench_table {
	enum sbc_tbl tbl;
	const char *name;
	int (*build)(uint32_t n);          /* keys 0 .. n-1 */
	void (*release)(void);
	int (*put)(struct sbc_writer *w, uint32_t key, uint32_t stamp,
		   uint64_t expires, uint64_t now);
	int (*get)(const struct sbc_shm *shm, uint32_t key, uint64_t now);
	int (*del)(struct sbc_writer *w, uint32_t key, uint64_t now);
};

extern const struct bench_table bench_reg_table;
extern const struct bench_table bench_dlg_table;

enum {
	BENCH_PROCS_MAX = 2,
	BENCH_LIFE_MS   = 3600000,
};

enum bench_op {
	BENCH_LOOKUP = 0,
	BENCH_INSERT,
	BENCH_UPDATE,
	BENCH_OPS
};

struct bench_sizes {
	uint32_t reg_max;
	uint32_t dlg_max;
	uint32_t ops;        /* lookups and updates per process */
	uint32_t inserts;    /* inserts per process */
	uint32_t big;        /* registrations inserted from empty, timed */
};

struct bench_result {
	uint64_t ops;
	uint64_t ns;
	int err;
};

/* Between the parent and its children: a start line and their results. */
struct bench_shared {
	_Atomic uint32_t ready;
	_Atomic uint32_t go;
	struct bench_result res[BENCH_PROCS_MAX];
};

struct bench {
	const struct bench_sizes *sz;
	const struct bench_table *t;
	struct sbc_shm *shm;
	struct sbc_writer *w;
	struct bench_shared *sh;   /* mapped shared, before any fork */
	uint32_t max;
	uint32_t filled;     /* keys 0 .. filled - 1 are in the table */
	uint32_t batch;      /* inserts per batch per process */
};

int bench_measure(struct bench *b, enum bench_op op, uint32_t procs,
		  double *rate);
int bench_ns(uint64_t *ns);
int bench_latency(double *ns);
