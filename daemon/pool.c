/*
 * The worker pool (see pool.h).
 *
 * Channels. Each worker's mailbox is made once, here, and kept by the
 * supervisor for the pool's life: every worker holds the write ends of all
 * mailboxes, so a restarted worker must find its own where it was. The
 * command channel is made afresh for each process started, and the
 * supervisor closes the worker's end after fork: a new process never reads
 * a RELOAD meant for its dead predecessor, and the supervisor never mistakes
 * an old READY for a new one.
 *
 * Life of a worker:
 *
 *   STARTING --READY on its channel--> RUNNING
 *   STARTING --no READY within READY_TIMEOUT_MS--> SIGKILL, then as a death
 *   any process --death (SIGCHLD, reaped)--> RESTARTING or FAILED
 *   RESTARTING --backoff elapsed--> STARTING
 *
 * After a death the supervisor declares the worker's writer index gone and
 * runs the shm checker before anything else happens (the replacement must
 * not start before the checker has reclaimed what the dead one left
 * half-written). The restart waits a backoff that starts at BACKOFF_MIN_MS,
 * doubles with each death up to BACKOFF_MAX_MS, and goes back to the
 * minimum once a process lived STABLE_MS. LOOP_DEATHS deaths within
 * LOOP_WINDOW_MS is a crash loop: the index is marked failed and not
 * restarted any more. A worker that exits with SBC_WORKER_EXIT_FATAL will
 * never work (a listener it cannot bind): the owner is told to stop.
 *
 * Stop: SIGTERM to every process; those still there grace + KILL_MARGIN_S
 * seconds later get SIGKILL; REAP_WAIT_MS after that the pool gives up
 * waiting (PR_SET_PDEATHSIG ends them when the supervisor exits).
 */

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/check.h"
#include "shm/channel.h"
#include "shm/stats.h"
#include "workers/worker.h"
#include "daemon/cfgfd.h"
#include "daemon/spawn.h"
#include "daemon/pool.h"

enum {
	READY_TIMEOUT_MS = 10000,
	BACKOFF_MIN_MS   = 100,
	BACKOFF_MAX_MS   = 10000,
	STABLE_MS        = 60000,
	LOOP_DEATHS      = 5,
	LOOP_WINDOW_MS   = 60000,
	KILL_MARGIN_S    = 2,
	REAP_WAIT_MS     = 2000,
	FDS_MAX = SBC_WFD_PEER0 - SBC_WFD_SHM + SBC_SHM_WRITERS_MAX,
	EVENT_NONE = -1,
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
};

struct sbc_pool {
	struct worker *wv;
	uint32_t n;
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

static const char *state_names[] = {
	[SBC_WORKER_STARTING]   = "starting",
	[SBC_WORKER_RUNNING]    = "running",
	[SBC_WORKER_RESTARTING] = "restarting",
	[SBC_WORKER_FAILED]     = "failed",
	[SBC_WORKER_STOPPED]    = "stopped",
};


static void fd_shut(int *fdp)
{
	if (*fdp < 0)
		return;

	fd_close(*fdp);
	(void)close(*fdp);
	*fdp = -1;
}


/* Reached only when the pool is released with processes left (its owner
 * failed to start): they are killed and waited for, SIGKILL is quick. */
static void pool_destructor(void *arg)
{
	struct sbc_pool *pool = arg;

	tmr_cancel(&pool->stop_tmr);

	for (uint32_t i = 0; pool->wv && i < pool->n; i++) {
		struct worker *w = &pool->wv[i];

		tmr_cancel(&w->tmr);
		if (w->pid > 0) {
			(void)kill(w->pid, SIGKILL);
			(void)waitpid(w->pid, NULL, 0);
			sbc_writer_gone(pool->shm, w->index + 1);
		}
		fd_shut(&w->ctl);
		fd_shut(&w->mbox[0]);
		fd_shut(&w->mbox[1]);
	}

	if (pool->cfgfd >= 0)
		(void)close(pool->cfgfd);

	mem_deref(pool->wv);
	mem_deref(pool->buf);
	mem_deref(pool->stats);
	mem_deref(pool->w);
	mem_deref(pool->shm);
}


static void event(struct sbc_pool *pool, int ev)
{
	if (ev != EVENT_NONE)
		pool->eventh((enum sbc_pool_event)ev, pool->arg);
}


static uint32_t alive_count(const struct sbc_pool *pool)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < pool->n; i++)
		n += pool->wv[i].pid > 0;

	return n;
}


static bool all_failed(const struct sbc_pool *pool)
{
	for (uint32_t i = 0; i < pool->n; i++) {
		if (pool->wv[i].state != SBC_WORKER_FAILED)
			return false;
	}

	return true;
}


static void ready(struct worker *w)
{
	tmr_cancel(&w->tmr);
	w->state = SBC_WORKER_RUNNING;

	sbc_info("worker %u started: pid %d, incarnation %u", w->index,
		 (int)w->pid, w->incarnation);
}


/* Records from a worker: READY is the only one the supervisor expects. */
static void ctl_read(int flags, void *arg)
{
	struct worker *w = arg;
	struct sbc_pool *pool = w->pool;
	(void)flags;

	for (;;) {
		struct sbc_chan_hdr hdr;
		int pfd = -1, err;

		err = sbc_chan_recv(w->ctl, &hdr, pool->buf, SBC_CHAN_DATA_MAX,
				    &pfd);
		if (pfd >= 0)
			(void)close(pfd);

		if (err == EAGAIN || err == EWOULDBLOCK)
			return;

		if (err == EINTR)
			continue;

		if (err) {
			/* closed or broken: its death arrives by SIGCHLD */
			sbc_debug("worker %u: command channel: %m", w->index,
				  err);
			fd_shut(&w->ctl);
			return;
		}

		if (hdr.kind == SBC_CHAN_READY &&
		    w->state == SBC_WORKER_STARTING)
			ready(w);
		else
			sbc_debug("worker %u: unexpected record %u on its "
				  "command channel", w->index, hdr.kind);
	}
}


static void ready_timeout(void *arg)
{
	struct worker *w = arg;

	sbc_error("worker %u (pid %d) not ready within %u s: killed",
		  w->index, (int)w->pid, READY_TIMEOUT_MS / 1000);

	(void)kill(w->pid, SIGKILL);
}


/* Fork and exec process number incarnation + 1 of worker w. */
static int worker_start(struct worker *w)
{
	struct sbc_pool *pool = w->pool;
	int c[2] = {-1, -1}, cfg = -1, fds[FDS_MAX];
	struct sbc_spawn sp;
	pid_t pid;
	int err;

	err = sbc_chan_pair(c);
	if (err)
		return err;

	err = sbc_cfgfd_reopen(&cfg, pool->cfgfd);
	if (err)
		goto out;

	fds[SBC_WFD_SHM - SBC_WFD_SHM]    = sbc_shm_fd(pool->shm);
	fds[SBC_WFD_STATS - SBC_WFD_SHM]  = sbc_stats_fd(pool->stats);
	fds[SBC_WFD_CONFIG - SBC_WFD_SHM] = cfg;
	fds[SBC_WFD_CTL - SBC_WFD_SHM]    = c[1];
	fds[SBC_WFD_MBOX - SBC_WFD_SHM]   = w->mbox[0];
	for (uint32_t i = 0; i < pool->n; i++)
		fds[SBC_WFD_PEER0 - SBC_WFD_SHM + i] = pool->wv[i].mbox[1];

	sp.index = w->index;
	sp.incarnation = w->incarnation + 1;
	sp.fds = fds;
	sp.count = SBC_WFD_PEER0 - SBC_WFD_SHM + pool->n;

	err = sbc_spawn_worker(&pid, &sp);
	if (err)
		goto out;

	w->pid = pid;
	w->incarnation = sp.incarnation;
	w->started = tmr_jiffies();
	w->state = SBC_WORKER_STARTING;
	w->ctl = c[0];
	c[0] = -1;

	tmr_start(&w->tmr, READY_TIMEOUT_MS, ready_timeout, w);

	err = fd_listen(w->ctl, FD_READ, ctl_read, w);
	if (err) {
		/* it will not be heard: the READY timeout ends it */
		sbc_error("worker %u: cannot listen on its command channel: "
			  "%m", w->index, err);
		err = 0;
	}

 out:
	if (cfg >= 0)
		(void)close(cfg);
	if (c[0] >= 0)
		(void)close(c[0]);
	(void)close(c[1]);

	return err;
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
		sbc_error("worker %u died %u times within %u s: crash loop, "
			  "not restarted any more (failed)", w->index,
			  LOOP_DEATHS, (unsigned)((now - oldest + 999) / 1000));
		return all_failed(w->pool) ? SBC_POOL_ALL_FAILED : EVENT_NONE;
	}

	if (now - w->started >= STABLE_MS)
		w->backoff_ms = BACKOFF_MIN_MS;

	delay = w->backoff_ms;
	w->backoff_ms = min(2 * w->backoff_ms, (uint32_t)BACKOFF_MAX_MS);

	w->state = SBC_WORKER_RESTARTING;
	tmr_start(&w->tmr, delay, restart, w);

	sbc_notice("worker %u restarts in %u ms", w->index, delay);

	return EVENT_NONE;
}


static void restart(void *arg)
{
	struct worker *w = arg;
	int err;

	err = worker_start(w);
	if (!err)
		return;

	sbc_error("worker %u: cannot start: %m", w->index, err);
	event(w->pool, worker_down(w, tmr_jiffies()));
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

		sbc_log(level, "worker %u (pid %d) killed by SIG%s%s after %H",
			w->index, (int)pid, name ? name : "?",
			WCOREDUMP(status) ? " (core dumped)" : "",
			duration_print, &lived);
	}
	else {
		sbc_log(level, "worker %u (pid %d) exited with status %d "
			"after %H", w->index, (int)pid, WEXITSTATUS(status),
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
	fd_shut(&w->ctl);

	death_log(w, pid, status, now - w->started);

	sbc_writer_gone(pool->shm, w->index + 1);
	check_run(pool, w->index);

	if (pool->stopping) {
		if (w->state != SBC_WORKER_FAILED)
			w->state = SBC_WORKER_STOPPED;
		return EVENT_NONE;
	}

	if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == SBC_WORKER_EXIT_FATAL) {
		w->state = SBC_WORKER_FAILED;
		sbc_error("worker %u cannot run (exit status %d: a fault a "
			  "restart will not cure, see its log): sbcd stops",
			  w->index, SBC_WORKER_EXIT_FATAL);
		return SBC_POOL_FATAL;
	}

	return worker_down(w, now);
}


static struct worker *worker_find(struct sbc_pool *pool, pid_t pid)
{
	for (uint32_t i = 0; i < pool->n; i++) {
		if (pool->wv[i].pid == pid)
			return &pool->wv[i];
	}

	return NULL;
}


static void stopped(struct sbc_pool *pool)
{
	if (pool->stopped)
		return;

	pool->stopped = true;
	tmr_cancel(&pool->stop_tmr);
	event(pool, SBC_POOL_STOPPED);
}


/*
 * Reap every child that died (call on SIGCHLD): log how, run the checker,
 * restart it or not. Events are sent after the reaping, once.
 */
void sbc_pool_reap(struct sbc_pool *pool)
{
	int ev = EVENT_NONE;

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
		if (e == SBC_POOL_FATAL || ev == EVENT_NONE)
			ev = e;
	}

	event(pool, ev);

	if (pool->stopping && !alive_count(pool))
		stopped(pool);
}


static void stop_giveup(void *arg)
{
	struct sbc_pool *pool = arg;

	sbc_error("%u worker(s) still there after SIGKILL: not waiting any "
		  "more", alive_count(pool));
	stopped(pool);
}


static void stop_kill(void *arg)
{
	struct sbc_pool *pool = arg;

	for (uint32_t i = 0; i < pool->n; i++) {
		struct worker *w = &pool->wv[i];

		if (w->pid <= 0)
			continue;

		sbc_warn("worker %u (pid %d) still running after SIGTERM and "
			 "the grace time: killed", w->index, (int)w->pid);
		(void)kill(w->pid, SIGKILL);
	}

	tmr_start(&pool->stop_tmr, REAP_WAIT_MS, stop_giveup, pool);
}


static void stop_done(void *arg)
{
	stopped(arg);
}


/*
 * Stop every worker: SIGTERM now (each finishes its transactions within
 * grace_s and exits), SIGKILL to the rest grace_s + KILL_MARGIN_S later.
 * SBC_POOL_STOPPED follows when none is left. Nothing restarts any more.
 */
void sbc_pool_stop(struct sbc_pool *pool, uint32_t grace_s)
{
	if (!pool || pool->stopping)
		return;

	pool->stopping = true;

	for (uint32_t i = 0; i < pool->n; i++) {
		struct worker *w = &pool->wv[i];

		tmr_cancel(&w->tmr);

		if (w->pid > 0) {
			if (kill(w->pid, SIGTERM) < 0)
				sbc_warn("worker %u (pid %d): SIGTERM: %m",
					 w->index, (int)w->pid, errno);
		}
		else if (w->state != SBC_WORKER_FAILED) {
			w->state = SBC_WORKER_STOPPED;
		}
	}

	if (alive_count(pool))
		tmr_start(&pool->stop_tmr,
			  ((uint64_t)grace_s + KILL_MARGIN_S) * 1000,
			  stop_kill, pool);
	else
		tmr_start(&pool->stop_tmr, 0, stop_done, pool);
}


/* Start every worker. Their READY comes later, through the event loop. */
int sbc_pool_start(struct sbc_pool *pool)
{
	if (!pool)
		return EINVAL;

	for (uint32_t i = 0; i < pool->n; i++) {
		int err = worker_start(&pool->wv[i]);

		if (err) {
			sbc_error("worker %u: cannot start: %m", i, err);
			return err;
		}
	}

	return 0;
}


/*
 * Make cfgfd (a sealed config memfd, now the pool's) the configuration of
 * every worker: each live one gets SBC_CHAN_RELOAD with its own open file
 * description of it, those started later get it as their config fd.
 * Returns how many live workers it was sent to.
 */
uint32_t sbc_pool_reload(struct sbc_pool *pool, int cfgfd)
{
	uint32_t sent = 0;

	if (!pool || cfgfd < 0)
		return 0;

	(void)close(pool->cfgfd);
	pool->cfgfd = cfgfd;

	for (uint32_t i = 0; i < pool->n; i++) {
		struct worker *w = &pool->wv[i];
		struct sbc_chan_hdr hdr;
		int fd, err;

		if (w->pid <= 0 || w->ctl < 0)
			continue;

		memset(&hdr, 0, sizeof(hdr));
		hdr.kind = SBC_CHAN_RELOAD;

		err = sbc_cfgfd_reopen(&fd, cfgfd);
		if (!err) {
			err = sbc_chan_send(w->ctl, &hdr, NULL, 0, fd);
			(void)close(fd);
		}

		if (err) {
			sbc_warn("worker %u (pid %d): the new configuration "
				 "was not delivered: %m", w->index,
				 (int)w->pid, err);
			continue;
		}

		++sent;
	}

	return sent;
}


static void workers_init(struct sbc_pool *pool)
{
	for (uint32_t i = 0; i < pool->n; i++) {
		struct worker *w = &pool->wv[i];

		w->pool = pool;
		w->index = i;
		w->ctl = -1;
		w->mbox[0] = w->mbox[1] = -1;
		w->backoff_ms = BACKOFF_MIN_MS;
		w->state = SBC_WORKER_STOPPED;
		tmr_init(&w->tmr);
	}
}


static int mailboxes_make(struct sbc_pool *pool)
{
	for (uint32_t i = 0; i < pool->n; i++) {
		int err = sbc_chan_pair(pool->wv[i].mbox);

		if (err) {
			sbc_error("cannot create the mailbox of worker %u: %m",
				  i, err);
			return err;
		}
	}

	return 0;
}


/*
 * A pool of conf->workers workers, none started yet, with their mailboxes.
 * The pool holds references to the segment, the writer and the counters,
 * and owns conf->cfgfd from here on, even when it fails.
 */
int sbc_pool_alloc(struct sbc_pool **poolp, const struct sbc_pool_conf *conf,
		   sbc_pool_h *eventh, void *arg)
{
	struct sbc_pool *pool;
	int err;

	if (!poolp || !conf || !eventh || !conf->shm || !conf->w ||
	    !conf->stats || conf->cfgfd < 0 || !conf->workers ||
	    conf->workers >= SBC_SHM_WRITERS_MAX ||
	    conf->workers > sbc_stats_workers(conf->stats)) {
		if (conf && conf->cfgfd >= 0)
			(void)close(conf->cfgfd);
		return EINVAL;
	}

	pool = mem_zalloc(sizeof(*pool), pool_destructor);
	if (!pool) {
		(void)close(conf->cfgfd);
		return ENOMEM;
	}

	pool->cfgfd = conf->cfgfd;
	pool->n = conf->workers;
	pool->shm = mem_ref(conf->shm);
	pool->w = mem_ref(conf->w);
	pool->stats = mem_ref(conf->stats);
	pool->eventh = eventh;
	pool->arg = arg;
	tmr_init(&pool->stop_tmr);

	pool->wv = mem_zalloc(pool->n * sizeof(*pool->wv), NULL);
	if (!pool->wv) {
		err = ENOMEM;
		goto out;
	}

	workers_init(pool);

	pool->buf = mem_alloc(SBC_CHAN_DATA_MAX, NULL);
	if (!pool->buf) {
		err = ENOMEM;
		goto out;
	}

	err = mailboxes_make(pool);

 out:
	if (err)
		mem_deref(pool);
	else
		*poolp = pool;

	return err;
}


uint32_t sbc_pool_size(const struct sbc_pool *pool)
{
	return pool ? pool->n : 0;
}


uint32_t sbc_pool_running(const struct sbc_pool *pool)
{
	uint32_t n = 0;

	for (uint32_t i = 0; pool && i < pool->n; i++)
		n += pool->wv[i].state == SBC_WORKER_RUNNING;

	return n;
}


int sbc_pool_info(const struct sbc_pool *pool, uint32_t index,
		  struct sbc_worker_info *info)
{
	const struct worker *w;

	if (!pool || !info || index >= pool->n)
		return EINVAL;

	w = &pool->wv[index];

	info->pid = w->pid;
	info->state = w->state;
	info->incarnation = w->incarnation;
	info->restarts = w->incarnation ? w->incarnation - 1 : 0;
	info->uptime_ms = w->pid > 0 ? tmr_jiffies() - w->started : 0;

	return 0;
}


const char *sbc_worker_state_name(enum sbc_worker_state state)
{
	return state <= SBC_WORKER_STOPPED ? state_names[state] : "?";
}
