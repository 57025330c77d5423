/*
 * The worker pool's insides, shared by pool.c (starting, READY, reload,
 * stop, what sbcctl sees) and reap.c (deaths, restarts, crash loops).
 *
 * Include <re.h> and "daemon/pool.h" first.
 */

enum {
	READY_TIMEOUT_MS = 10000,
	BACKOFF_MIN_MS   = 100,
	BACKOFF_MAX_MS   = 10000,
	STABLE_MS        = 60000,
	LOOP_DEATHS      = 5,
	LOOP_WINDOW_MS   = 60000,
	KILL_MARGIN_S    = 2,
	REAP_WAIT_MS     = 2000,
	SBC_POOL_EVENT_NONE = -1,
};

struct worker {
	struct sbc_pool *pool;
	struct tmr tmr;                /* READY timeout, or restart backoff */
	uint64_t deaths[LOOP_DEATHS];  /* when the last deaths were, a ring */
	uint64_t started;              /* tmr_jiffies() at the last fork */
	pid_t pid;
	enum sbc_worker_state state;
	uint32_t index;
	uint32_t incarnation;
	uint32_t backoff_ms;           /* the next restart's delay */
	uint32_t ndeaths;
	int ctl;                       /* the supervisor's end */
	int mbox[2];                   /* [0] read by the worker, [1] written */
	bool relay;                    /* an RTP relay, not a SIP worker */
};

/*
 * wv holds the n SIP workers, then the m RTP relays: a relay is started,
 * watched and restarted as a worker is, with its own fds and index.
 */
struct sbc_pool {
	struct worker *wv;
	uint32_t n;
	uint32_t m;
	int *rchan;                    /* worker-relay channels: pair
				        * (worker i, relay r) at 2 * (i * m + r),
				        * [0] the worker's end, [1] the relay's */
	struct sbc_media *media;
	struct sbc_shm *shm;
	struct sbc_writer *w;
	struct sbc_stats *stats;
	int cfgfd;
	sbc_pool_h *eventh;
	void *arg;
	struct tmr stop_tmr;
	uint8_t *buf;                  /* for records read from workers */
	bool stopping;
	bool stopped;                  /* SBC_POOL_STOPPED was sent */
};

int  sbc_pool_worker_start(struct worker *w);
const char *sbc_pool_role(const struct worker *w);
void sbc_pool_fd_shut(int *fdp);
void sbc_pool_event(struct sbc_pool *pool, int ev);
uint32_t sbc_pool_alive(const struct sbc_pool *pool);
void sbc_pool_stopped(struct sbc_pool *pool);
