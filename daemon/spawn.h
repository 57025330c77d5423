/*
 * Starting one worker or relay process: fork, its fixed fd layout
 * (workers/worker.h, rtp/relay.h), exec of sbcd itself as
 * `sbcd -W INDEX,INCARNATION` (a worker) or `sbcd -R ...` (a relay).
 */

struct sbc_spawn {
	uint32_t index;
	uint32_t incarnation;
	const int *fds;     /* fds[k] is fd 3 + k in the child */
	unsigned count;
	const char *flag;   /* "-W" or "-R" */
	const char *role;   /* "worker" or "relay", for its log lines */
};

int sbc_spawn_worker(pid_t *pidp, const struct sbc_spawn *sp);
