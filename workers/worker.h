/*
 * A SIP worker process.
 *
 * The supervisor starts each worker as `sbcd -W INDEX,INCARNATION` through
 * fork and exec, so a worker starts with a pristine libre and OpenSSL, and
 * hands it everything it needs on fixed file descriptors. The config fd is
 * a sealed memfd with the exact text the supervisor validated (empty for the
 * built-in defaults), so a worker never reads a file that changed since.
 * Workers attach to the segment as writer INDEX + 1 (0 is the supervisor).
 */

enum {
	SBC_WFD_SHM    = 3,   /* the shared memory segment (memfd) */
	SBC_WFD_STATS  = 4,   /* the per-worker counters (memfd) */
	SBC_WFD_CONFIG = 5,   /* the validated config text (sealed memfd) */
	SBC_WFD_CTL    = 6,   /* command channel with the supervisor */
	SBC_WFD_MBOX   = 7,   /* this worker's mailbox, read end */
	SBC_WFD_PEER0  = 8,   /* mailbox write ends, worker 0 .. workers-1,
			       * then the channel with each RTP relay
			       * (rtp.workers), then the relays' session
			       * records (shm/media.h), if there are relays */
};

/* Exit status of a worker that cannot start for a reason a restart will not
 * cure (a listener that cannot be bound, a config it refuses): the
 * supervisor stops instead of restarting it in a loop. */
enum {
	SBC_WORKER_EXIT_FATAL = 78,   /* EX_CONFIG */
};

struct sbc_worker_args {
	uint32_t index;        /* 0 .. workers-1 */
	uint32_t incarnation;  /* how many times this index was started */
};

int sbc_worker_main(const struct sbc_worker_args *args);
