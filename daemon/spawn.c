/*
 * Starting a worker or a relay: fork, lay out its fds, exec.
 *
 * A worker (or a relay) is sbcd itself, run again through /proc/self/exe (the very
 * binary the supervisor runs, even if the file was replaced on disk since)
 * with `-W INDEX,INCARNATION`, so it starts with a pristine libre and
 * OpenSSL. Everything it needs is on the fixed fds of workers/worker.h.
 *
 * In the child, between fork and exec:
 * - PR_SET_PDEATHSIG: the worker gets SIGTERM when the supervisor dies,
 *   however it dies; if it died before the call, getppid() says so.
 * - fds: the sources may sit anywhere, including on the target numbers
 *   (the shm memfd may well be fd 3 or 4). So every source is first
 *   duplicated above the highest target, then each copy is dup2()ed onto
 *   its target (which clears close-on-exec there), then everything above
 *   the targets is closed, the copies included. 0, 1 and 2 are inherited.
 * - signals: the supervisor blocks the ones it reads through its signalfd
 *   and ignores SIGPIPE; a worker starts with every signal unblocked and
 *   SIGPIPE at its default, and sets up its own.
 *
 * The parent is single-threaded, so the child may call anything; it still
 * allocates nothing and only logs before it exits.
 */

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <re.h>
#include "cfg/log.h"
#include "workers/worker.h"
#include "daemon/spawn.h"

enum {
	ARG_SIZE = 32,
	EXIT_SETUP = 127,   /* the child failed before exec */
};


static void child_fail(const char *what, int err)
{
	sbc_error("cannot start: %s: %m", what, err);
	_exit(EXIT_SETUP);
}


static void child_fds(const struct sbc_spawn *sp)
{
	const int base = SBC_WFD_SHM + (int)sp->count;
	int high[SBC_WFD_PEER0 - SBC_WFD_SHM + 256];

	if (sp->count > ARRAY_SIZE(high))
		child_fail("too many fds", EINVAL);

	for (unsigned k = 0; k < sp->count; k++) {
		high[k] = fcntl(sp->fds[k], F_DUPFD_CLOEXEC, base);
		if (high[k] < 0)
			child_fail("fcntl(F_DUPFD)", errno);
	}

	for (unsigned k = 0; k < sp->count; k++) {
		if (dup2(high[k], SBC_WFD_SHM + (int)k) < 0)
			child_fail("dup2", errno);
	}

	if (close_range((unsigned)base, ~0u, 0) < 0)
		child_fail("close_range", errno);
}


static void child_signals(void)
{
	sigset_t none;

	if (sigemptyset(&none) || sigprocmask(SIG_SETMASK, &none, NULL))
		child_fail("sigprocmask", errno);

	if (signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		child_fail("signal(SIGPIPE)", errno);
}


static void __attribute__((noreturn))
child_run(const struct sbc_spawn *sp, pid_t parent, char *const argv[])
{
	sbc_log_init(sp->role, sp->index, SBC_LOG_INFO);

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		child_fail("prctl(PR_SET_PDEATHSIG)", errno);
	if (getppid() != parent)
		child_fail("the supervisor is gone", ESRCH);

	child_fds(sp);
	child_signals();

	execv("/proc/self/exe", argv);

	/* the binary is not there to run: restarting will not help */
	sbc_error("cannot start: exec /proc/self/exe: %m", errno);
	_exit(SBC_WORKER_EXIT_FATAL);
}


/* Fork and exec one worker; its pid in *pidp. The caller's fds are left
 * as they were (the caller closes what the worker alone needs). */
int sbc_spawn_worker(pid_t *pidp, const struct sbc_spawn *sp)
{
	char arg[ARG_SIZE];
	char *argv[] = {"sbcd", NULL, arg, NULL};
	pid_t parent = getpid();
	pid_t pid;

	if (!pidp || !sp || !sp->fds || !sp->flag || !sp->role ||
	    sp->count <= SBC_WFD_CTL - SBC_WFD_SHM)
		return EINVAL;

	argv[1] = (char *)(uintptr_t)sp->flag;

	if (re_snprintf(arg, sizeof(arg), "%u,%u", sp->index,
			sp->incarnation) < 0)
		return EINVAL;

	pid = fork();
	if (pid < 0)
		return errno;

	if (pid == 0)
		child_run(sp, parent, argv);

	*pidp = pid;

	return 0;
}
