/*
 * Deaths of workers and relays (see pool.c for their life).
 *
 * After a worker's death the supervisor logs how it died, declares its
 * writer index gone and runs the shm checker before anything else happens
 * (a relay writes no table: it clears its own session records when it
 * starts again):
 * the replacement must not start before the checker has reclaimed what the
 * dead one left half-written. The restart waits a backoff that starts at
 * BACKOFF_MIN_MS, doubles with each death up to BACKOFF_MAX_MS, and goes
 * back to the minimum once a process lived STABLE_MS. LOOP_DEATHS deaths
 * within LOOP_WINDOW_MS is a crash loop: the index is marked failed and not
 * restarted any more. A worker that exits with SBC_WORKER_EXIT_FATAL will
 * never work (a listener it cannot bind): the owner is told to stop.
 */

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/check.h"
#include "workers/worker.h"
#include "daemon/pool.h"
#include "daemon/pool_priv.h"


static bool all_failed(const struct sbc_pool *pool)
{
	for (uint32_t i = 0; i < pool->n; i++) {
		if (pool->wv[i].state != SBC_WORKER_FAILED)
			return false;
	}

	return true;
}


static void restart(void *arg);


/*
 * Worker w is down (dead, or could not be started): schedule its restart,
 * or mark it failed if it is in a crash loop. Returns the event to send.
 */
static int worker_down(struct worker *w, uint64_t now)
{
	uint64_t oldest;
	uint32_t delay;

	w->deaths[w->ndeaths++ % LOOP_DEATHS] = now;
	oldest = w->deaths[w->ndeaths % LOOP_DEATHS];

	if (w->ndeaths >= LOOP_DEATHS && now - oldest < LOOP_WINDOW_MS) {
		w->state = SBC_WORKER_FAILED;
		sbc_error("%s %u died %u times within %u s: crash loop, "
			  "not restarted any more (failed)", sbc_pool_role(w),
			  w->index,
			  LOOP_DEATHS, (unsigned)((now - oldest + 999) / 1000));
		return all_failed(w->pool) ? SBC_POOL_ALL_FAILED :
			SBC_POOL_EVENT_NONE;
	}

	if (now - w->started >= STABLE_MS)
		w->backoff_ms = BACKOFF_MIN_MS;

	delay = w->backoff_ms;
	w->backoff_ms = min(2 * w->backoff_ms, (uint32_t)BACKOFF_MAX_MS);

	w->state = SBC_WORKER_RESTARTING;
	tmr_start(&w->tmr, delay, restart, w);

	sbc_notice("%s %u restarts in %u ms", sbc_pool_role(w), w->index,
		   delay);

	return SBC_POOL_EVENT_NONE;
}


static void restart(void *arg)
{
	struct worker *w = arg;
	int err;

	err = sbc_pool_worker_start(w);
	if (!err)
		return;

	sbc_error("%s %u: cannot start: %m", sbc_pool_role(w), w->index,
		  err);
	sbc_pool_event(w->pool, worker_down(w, tmr_jiffies()));
}


static int duration_print(struct re_printf *pf, void *arg)
{
	uint64_t ms = *(const uint64_t *)arg;

	if (ms < 10000)
		return re_hprintf(pf, "%llu ms", (unsigned long long)ms);

	return re_hprintf(pf, "%llu s", (unsigned long long)(ms / 1000));
}


static void death_log(const struct worker *w, pid_t pid, int status,
		      uint64_t lived)
{
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	enum sbc_log_level level = w->pool->stopping ?
		(clean ? SBC_LOG_INFO : SBC_LOG_WARNING) : SBC_LOG_ERROR;

	if (WIFSIGNALED(status)) {
		const char *name = sigabbrev_np(WTERMSIG(status));

		sbc_log(level, "%s %u (pid %d) killed by SIG%s%s after %H",
			sbc_pool_role(w), w->index, (int)pid, name ? name : "?",
			WCOREDUMP(status) ? " (core dumped)" : "",
			duration_print, &lived);
	}
	else {
		sbc_log(level, "%s %u (pid %d) exited with status %d "
			"after %H", sbc_pool_role(w), w->index, (int)pid, WEXITSTATUS(status),
			duration_print, &lived);
	}
}


/* Between a death and the replacement: what the dead one left half-done. */
static void check_run(struct sbc_pool *pool, uint32_t index)
{
	struct sbc_check_report rep;
	enum sbc_log_level level;
	int err;

	memset(&rep, 0, sizeof(rep));

	err = sbc_shm_check(pool->w, &rep);
	if (err) {
		sbc_error("shm check after worker %u died failed: %m", index,
			  err);
		return;
	}

	if (rep.errors)
		level = SBC_LOG_ERROR;
	else if (rep.reclaimed || rep.unsettled)
		level = SBC_LOG_NOTICE;
	else
		level = SBC_LOG_DEBUG;

	sbc_log(level, "shm check after worker %u died: %u live, %u expired, "
		"%u tombstones, %u busy, %u reclaimed, %u unsettled, "
		"%u errors (repaired)", index, rep.live, rep.expired,
		rep.tombs, rep.busy, rep.reclaimed, rep.unsettled, rep.errors);
}


static int worker_died(struct worker *w, int status)
{
	struct sbc_pool *pool = w->pool;
	uint64_t now = tmr_jiffies();
	pid_t pid = w->pid;

	w->pid = 0;
	tmr_cancel(&w->tmr);
	sbc_pool_fd_shut(&w->ctl);

	death_log(w, pid, status, now - w->started);

	if (!w->relay) {
		sbc_writer_gone(pool->shm, w->index + 1);
		check_run(pool, w->index);
	}

	if (pool->stopping) {
		if (w->state != SBC_WORKER_FAILED)
			w->state = SBC_WORKER_STOPPED;
		return SBC_POOL_EVENT_NONE;
	}

	if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == SBC_WORKER_EXIT_FATAL) {
		w->state = SBC_WORKER_FAILED;
		sbc_error("%s %u cannot run (exit status %d: a fault a "
			  "restart will not cure, see its log): sbcd stops",
			  sbc_pool_role(w), w->index, SBC_WORKER_EXIT_FATAL);
		return SBC_POOL_FATAL;
	}

	return worker_down(w, now);
}


static struct worker *worker_find(struct sbc_pool *pool, pid_t pid)
{
	for (uint32_t i = 0; i < pool->n + pool->m; i++) {
		if (pool->wv[i].pid == pid)
			return &pool->wv[i];
	}

	return NULL;
}


/*
 * Reap every child that died (call on SIGCHLD): log how, run the checker,
 * restart it or not. Events are sent after the reaping, once.
 */
void sbc_pool_reap(struct sbc_pool *pool)
{
	int ev = SBC_POOL_EVENT_NONE;

	if (!pool)
		return;

	for (;;) {
		struct worker *w;
		int status, e;
		pid_t pid;

		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;

		w = worker_find(pool, pid);
		if (!w) {
			sbc_debug("reaped pid %d, not a worker", (int)pid);
			continue;
		}

		e = worker_died(w, status);
		if (e == SBC_POOL_FATAL || ev == SBC_POOL_EVENT_NONE)
			ev = e;
	}

	sbc_pool_event(pool, ev);

	if (pool->stopping && !sbc_pool_alive(pool))
		sbc_pool_stopped(pool);
}
