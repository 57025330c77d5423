/*
 * Starting one worker process: fork, the fixed fd layout of
 * workers/worker.h, exec of sbcd itself as `sbcd -W INDEX,INCARNATION`.
 */

struct sbc_spawn {
	uint32_t index;
	uint32_t incarnation;
	const int *fds;     /* fds[k] is fd SBC_WFD_SHM + k in the worker */
	unsigned count;     /* SBC_WFD_PEER0 - SBC_WFD_SHM + workers */
};

int sbc_spawn_worker(pid_t *pidp, const struct sbc_spawn *sp);
