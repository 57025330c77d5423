/*
 * The pool of SIP workers and RTP relays: starting them, waiting until they are ready,
 * reaping and restarting them, stopping them. Owned by the supervisor.
 *
 * Include <re.h> before this header.
 */

struct sbc_shm;
struct sbc_writer;
struct sbc_stats;
struct sbc_media;

enum sbc_worker_state {
	SBC_WORKER_STARTING = 0,  /* forked, its READY not yet received */
	SBC_WORKER_RUNNING,
	SBC_WORKER_RESTARTING,    /* dead, waiting for its backoff */
	SBC_WORKER_FAILED,        /* died in a loop: not restarted */
	SBC_WORKER_STOPPED,       /* stopped by the supervisor */
};

struct sbc_worker_info {
	pid_t pid;                /* 0 when no process */
	enum sbc_worker_state state;
	uint32_t incarnation;     /* how many times it was started */
	uint32_t restarts;        /* starts after the first */
	uint64_t uptime_ms;       /* of the current process, 0 if none */
};

/* What the pool tells its owner. */
enum sbc_pool_event {
	SBC_POOL_FATAL,       /* a worker exited SBC_WORKER_EXIT_FATAL */
	SBC_POOL_ALL_FAILED,  /* every worker is failed */
	SBC_POOL_STOPPED,     /* after sbc_pool_stop: no worker is left */
};

typedef void (sbc_pool_h)(enum sbc_pool_event ev, void *arg);

struct sbc_pool_conf {
	uint32_t workers;
	struct sbc_shm *shm;
	struct sbc_writer *w;      /* the supervisor's, for the checker */
	struct sbc_stats *stats;   /* rows: the workers, then the relays */
	uint32_t relays;           /* RTP relay processes, 0: none */
	struct sbc_media *media;   /* their session records (if relays) */
	int cfgfd;                 /* sealed config memfd: the pool owns it */
};

struct sbc_pool;

int  sbc_pool_alloc(struct sbc_pool **poolp, const struct sbc_pool_conf *conf,
		    sbc_pool_h *eventh, void *arg);
int  sbc_pool_start(struct sbc_pool *pool);
void sbc_pool_reap(struct sbc_pool *pool);
void sbc_pool_stop(struct sbc_pool *pool, uint32_t grace_s);
uint32_t sbc_pool_reload(struct sbc_pool *pool, int cfgfd);
int  sbc_pool_tell(struct sbc_pool *pool, uint32_t index, uint16_t kind,
		   const void *data, size_t len);
uint32_t sbc_pool_size(const struct sbc_pool *pool);
uint32_t sbc_pool_running(const struct sbc_pool *pool);
int  sbc_pool_info(const struct sbc_pool *pool, uint32_t index,
		   struct sbc_worker_info *info);
uint32_t sbc_pool_relays(const struct sbc_pool *pool);
uint32_t sbc_pool_relays_running(const struct sbc_pool *pool);
int  sbc_pool_relay_info(const struct sbc_pool *pool, uint32_t index,
			 struct sbc_worker_info *info);
const char *sbc_worker_state_name(enum sbc_worker_state state);
