/*
 * The multi-process stress test of the shared tables, in parts: reg.c and
 * dlg.c make sealed records of each table and check every record read back
 * (with seal.c); worker.c is the workload of one writer process and the
 * checks it makes of its own writes; round.c is the supervisor's side of a
 * round, which forks the writers, kills and restarts them, sweeps and runs
 * the consistency checker; verify.c checks the tables a round left behind
 * against what every surviving writer knows it wrote, and trip.c that they
 * still serve. test_shm_stress.c runs the rounds as cmocka tests.
 *
 * Each table gets the same key universe: STRESS_SHARED keys that every
 * worker writes, then STRESS_PRIVATE keys per worker that only it writes
 * (so it can tell exactly what a read of them must return). The universe is
 * larger than the tables, so a run sees the tables fill up. Keys come in
 * groups, the contact instances of one AOR or the forked dialogs of one
 * Call-ID, so the lookups of a whole AOR or Call-ID are checked too.
 *
 * Every record carries a seal: writer, generation (how many times the
 * writer's index was restarted), sequence and a hash of every other field.
 * All fields derive from the key and the seal, so a torn record, one with
 * parts of two writes, fails its hash.
 */

enum {
	STRESS_WORKERS   = 4,     /* writer indices 1..4; the parent is 0 */
	STRESS_SHARED    = 256,
	STRESS_PRIVATE   = 1200,
	STRESS_KEYS      = STRESS_SHARED + STRESS_WORKERS * STRESS_PRIVATE,
	STRESS_GROUP_MAX = 8,
	STRESS_NOTE_SIZE = 320,
};

/* Which write of which process a record is; everything else derives from
 * the key and this. */
struct stress_tag {
	uint64_t expires;
	uint32_t writer;   /* 0 in a lookup result: no record */
	uint32_t gen;
	uint32_t seq;
};

/* One table as the test drives it. get, lookup and read_slot check the
 * record's seal and key and return EBADMSG, with a note, when they fail;
 * lookup does so too when it returns a key twice. */
struct stress_table {
	enum sbc_tbl tbl;
	const char *name;
	uint32_t group;    /* keys per AOR or per Call-ID */
	int (*put)(struct sbc_writer *w, uint32_t key,
		   const struct stress_tag *tag, uint64_t now);
	int (*get)(const struct sbc_shm *shm, uint32_t key, uint64_t now,
		   struct stress_tag *tag);
	int (*del)(struct sbc_writer *w, uint32_t key, uint64_t now);
	int (*lookup)(const struct sbc_shm *shm, uint32_t group,
		      uint64_t now, struct stress_tag *tagv);
	int (*read_slot)(const struct sbc_shm *shm, uint32_t slot,
			 uint64_t now, uint32_t *key, struct stress_tag *tag);
};

extern const struct stress_table stress_reg_table;
extern const struct stress_table stress_dlg_table;

static inline const struct stress_table *stress_table(enum sbc_tbl tbl)
{
	return tbl == SBC_TBL_REG ? &stress_reg_table : &stress_dlg_table;
}

/* Build the key strings once, in the parent, before it forks. */
void stress_reg_keys_build(void);
void stress_dlg_keys_build(void);

/* 0 for a shared key, else the index of the worker that owns it. */
static inline uint32_t stress_key_owner(uint32_t key)
{
	if (key < STRESS_SHARED)
		return 0;

	return 1 + (key - STRESS_SHARED) / STRESS_PRIVATE;
}

/* The n-th private key of worker `index`. */
static inline uint32_t stress_key_private(uint32_t index, uint32_t n)
{
	return STRESS_SHARED + (index - 1) * STRESS_PRIVATE + n;
}

/* What one worker knows of a key: for its private keys, the table's state;
 * for shared keys, the effect of its own last operation on the key. */
enum stress_state {
	STRESS_UNKNOWN = 0,
	STRESS_ABSENT,
	STRESS_PRESENT,
};

struct stress_fact {
	uint64_t expires;
	uint32_t writer;
	uint32_t gen;
	uint32_t seq;
	uint32_t state;    /* enum stress_state */
};

struct stress_counts {
	uint64_t ops;
	uint64_t puts;
	uint64_t dels;
	uint64_t gets;
	uint64_t lookups;
	uint64_t eagain;
	uint64_t enospc;
};

/* One writer index's page of the control area. The worker keeps its facts
 * and counters here, so the parent reads them once the worker has exited
 * (or has been killed: then the counters only). */
struct stress_report {
	uint32_t gen;
	struct stress_counts counts;
	char note[STRESS_NOTE_SIZE];
	struct stress_fact fact[SBC_TBL_COUNT][STRESS_KEYS];
};

/* Shared, anonymous, mapped by the parent before it forks. */
struct stress_ctl {
	uint64_t start;     /* ms (sbc_now_ms) */
	uint64_t end;
	uint64_t max_ops;   /* per worker process */
	uint64_t seed;
	struct stress_report rep[1 + STRESS_WORKERS];
};

int  stress_worker_run(struct stress_ctl *ctl, struct sbc_shm *shm,
		       uint32_t index);
int  stress_verify(struct sbc_shm *shm, const struct stress_ctl *ctl,
		   bool exact, uint64_t now, uint32_t live[SBC_TBL_COUNT]);
int  stress_round_trip(struct sbc_shm *shm, struct sbc_writer *w);

/* What one round, or all of them, did (round.c). */
struct stress_totals {
	struct stress_counts counts;
	uint64_t ms;
	uint32_t rounds;
	uint32_t kills;
	uint32_t checks;
	uint64_t reclaimed;
	uint64_t swept;
	uint64_t compacted;
	uint64_t changes;          /* ring entries followed */
	uint64_t reclaim_changes;
	uint64_t overflows;
	uint64_t overflows_parent; /* of ring 0, where the checker writes */
	uint32_t live[SBC_TBL_COUNT];
	int64_t  drift;            /* records counted minus records found */
	uint64_t unsettled;        /* dead writers' changes the checker could
				      not tell made or not (shm/count.c) */
};

/* The supervisor's side of a round (round.c). */
struct stress_sup {
	struct stress_ctl *ctl;    /* shared with the workers */
	struct sbc_shm *shm;
	struct sbc_writer *w;      /* the supervisor's, index 0 */
	struct sbc_ring_reader ring[1 + STRESS_WORKERS];
	pid_t pid[1 + STRESS_WORKERS];
	uint32_t gen[1 + STRESS_WORKERS];
	bool kills;
	uint64_t next_kill;
	uint64_t next_check;
	uint64_t seed;
	uint64_t rng;
};

int  stress_round_run(struct stress_sup *s, uint32_t round, uint32_t ms,
		      struct stress_totals *tot);
void stress_round_free(struct stress_sup *s);
void stress_counts_add(struct stress_counts *sum,
		       const struct stress_counts *c);

/* Seals (seal.c). A check that fails leaves a note saying what it saw. */
int  stress_seal_write(char *field, size_t size, const struct stress_tag *tag,
		       uint64_t hash);
int  stress_seal_check(const char *field, size_t size, uint64_t hash,
		       uint64_t expires, uint64_t now, struct stress_tag *tag);
uint64_t stress_hash(uint64_t h, const void *p, size_t n);
uint64_t stress_hash_str(uint64_t h, const char *field, size_t size);
int  stress_collect(const struct stress_table *t, uint32_t group,
		    uint32_t key, const struct stress_tag *tag,
		    struct stress_tag *tagv);

void stress_note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
const char *stress_noted(void);

void stress_fact_set(struct stress_fact *f, const struct stress_tag *tag);
void stress_fact_absent(struct stress_fact *f, uint32_t writer, uint32_t gen);
bool stress_fact_holds(const struct stress_fact *f, int err,
		       const struct stress_tag *tag, uint64_t after);
void stress_note_mismatch(const char *what, const struct stress_table *t,
			  uint32_t key, int err, const struct stress_tag *tag,
			  const struct stress_fact *f, uint64_t now);

/* xorshift64*: fast, and reproducible from the printed seed. */
static inline uint64_t stress_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;

	return *s * 0x2545f4914f6cdd1dull;
}

static inline uint32_t stress_rand_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((stress_rand(s) >> 32) * n) >> 32);
}

/* A worker's own stream, from the run's seed, its index and generation
 * (splitmix64, never 0). */
static inline uint64_t stress_seed(uint64_t seed, uint32_t index, uint32_t gen)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ull * (1 + index + 64ull * gen);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;

	return (z ^ (z >> 31)) | 1;
}
