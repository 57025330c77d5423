/*
 * The worker pool (see pool.h): making it, starting workers, hearing their
 * READY, passing a new configuration, stopping them all. What happens when
 * one dies is in reap.c.
 *
 * Channels. Each worker's mailbox is made once, here, and kept by the
 * supervisor for the pool's life: every worker holds the write ends of all
 * mailboxes, so a restarted worker must find its own where it was. The
 * command channel is made afresh for each process started, and the
 * supervisor closes the worker's end after fork: a new process never reads
 * a RELOAD meant for its dead predecessor, the supervisor never mistakes
 * an old READY for a new one, and a worker sees its channel close when the
 * supervisor is gone.
 *
 * Life of a worker:
 *
 *   STARTING --READY on its channel--> RUNNING
 *   STARTING --no READY within READY_TIMEOUT_MS--> SIGKILL, then as a death
 *   any process --death (SIGCHLD, reaped)--> RESTARTING or FAILED (reap.c)
 *   RESTARTING --backoff elapsed--> STARTING
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
#include "shm/channel.h"
#include "shm/stats.h"
#include "workers/worker.h"
#include <stdatomic.h>
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/relay.h"
#include "daemon/cfgfd.h"
#include "daemon/spawn.h"
#include "daemon/pool.h"
#include "daemon/pool_priv.h"

enum {
	FDS_MAX = SBC_WFD_PEER0 - SBC_WFD_SHM + SBC_SHM_WRITERS_MAX +
		SBC_RTP_WORKERS_MAX + 1,
};

static const char *state_names[] = {
	[SBC_WORKER_STARTING]   = "starting",
	[SBC_WORKER_RUNNING]    = "running",
	[SBC_WORKER_RESTARTING] = "restarting",
	[SBC_WORKER_FAILED]     = "failed",
	[SBC_WORKER_STOPPED]    = "stopped",
};


/* Stop listening on *fdp, close it, set it to -1; nothing if -1. */
void sbc_pool_fd_shut(int *fdp)
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

	for (uint32_t i = 0; pool->wv && i < pool->n + pool->m; i++) {
		struct worker *w = &pool->wv[i];

		tmr_cancel(&w->tmr);
		if (w->pid > 0) {
			(void)kill(w->pid, SIGKILL);
			(void)waitpid(w->pid, NULL, 0);
			if (!w->relay)
				sbc_writer_gone(pool->shm, w->index + 1);
		}
		sbc_pool_fd_shut(&w->ctl);
		sbc_pool_fd_shut(&w->mbox[0]);
		sbc_pool_fd_shut(&w->mbox[1]);
	}

	for (uint32_t k = 0; pool->rchan && k < 2 * pool->n * pool->m; k++)
		sbc_pool_fd_shut(&pool->rchan[k]);

	if (pool->cfgfd >= 0)
		(void)close(pool->cfgfd);

	mem_deref(pool->rchan);
	mem_deref(pool->media);
	mem_deref(pool->wv);
	mem_deref(pool->buf);
	mem_deref(pool->stats);
	mem_deref(pool->w);
	mem_deref(pool->shm);
}


/* Tell the owner, unless ev is SBC_POOL_EVENT_NONE. */
void sbc_pool_event(struct sbc_pool *pool, int ev)
{
	if (ev != SBC_POOL_EVENT_NONE)
		pool->eventh((enum sbc_pool_event)ev, pool->arg);
}


/* Workers with a process, whatever its state. */
uint32_t sbc_pool_alive(const struct sbc_pool *pool)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < pool->n + pool->m; i++)
		n += pool->wv[i].pid > 0;

	return n;
}


const char *sbc_pool_role(const struct worker *w)
{
	return w->relay ? "relay" : "worker";
}


static void ready(struct worker *w)
{
	tmr_cancel(&w->tmr);
	w->state = SBC_WORKER_RUNNING;

	sbc_info("%s %u started: pid %d, incarnation %u", sbc_pool_role(w),
		 w->index, (int)w->pid, w->incarnation);
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
			sbc_debug("%s %u: command channel: %m",
				  sbc_pool_role(w), w->index, err);
			sbc_pool_fd_shut(&w->ctl);
			return;
		}

		if (hdr.kind == SBC_CHAN_READY &&
		    w->state == SBC_WORKER_STARTING)
			ready(w);
		else
			sbc_debug("%s %u: unexpected record %u on its "
				  "command channel", sbc_pool_role(w),
				  w->index, hdr.kind);
	}
}


static void ready_timeout(void *arg)
{
	struct worker *w = arg;

	sbc_error("%s %u (pid %d) not ready within %u s: killed",
		  sbc_pool_role(w), w->index, (int)w->pid,
		  READY_TIMEOUT_MS / 1000);

	(void)kill(w->pid, SIGKILL);
}


/* A worker's fds (workers/worker.h): after its peers' mailboxes, its
 * channel with each relay, then the session records. */
static void worker_fds(const struct worker *w, int cfg, int ctl, int *fds,
		       struct sbc_spawn *sp)
{
	const struct sbc_pool *pool = w->pool;
	int *peer = fds + (SBC_WFD_PEER0 - SBC_WFD_SHM);

	fds[SBC_WFD_SHM - SBC_WFD_SHM]    = sbc_shm_fd(pool->shm);
	fds[SBC_WFD_STATS - SBC_WFD_SHM]  = sbc_stats_fd(pool->stats);
	fds[SBC_WFD_CONFIG - SBC_WFD_SHM] = cfg;
	fds[SBC_WFD_CTL - SBC_WFD_SHM]    = ctl;
	fds[SBC_WFD_MBOX - SBC_WFD_SHM]   = w->mbox[0];
	for (uint32_t i = 0; i < pool->n; i++)
		peer[i] = pool->wv[i].mbox[1];
	for (uint32_t r = 0; r < pool->m; r++)
		peer[pool->n + r] = pool->rchan[2 * (w->index * pool->m + r)];
	if (pool->m)
		peer[pool->n + pool->m] = sbc_media_fd(pool->media);

	sp->count = SBC_WFD_PEER0 - SBC_WFD_SHM + pool->n + pool->m +
		(pool->m ? 1 : 0);
	sp->flag = "-W";
	sp->role = "worker";
}


/* A relay's fds (rtp/relay.h): its channel with each worker last. */
static void relay_fds(const struct worker *w, int cfg, int ctl, int *fds,
		      struct sbc_spawn *sp)
{
	const struct sbc_pool *pool = w->pool;

	fds[SBC_RFD_SHM - SBC_RFD_SHM]    = sbc_shm_fd(pool->shm);
	fds[SBC_RFD_STATS - SBC_RFD_SHM]  = sbc_stats_fd(pool->stats);
	fds[SBC_RFD_CONFIG - SBC_RFD_SHM] = cfg;
	fds[SBC_RFD_CTL - SBC_RFD_SHM]    = ctl;
	fds[SBC_RFD_MEDIA - SBC_RFD_SHM]  = sbc_media_fd(pool->media);
	for (uint32_t i = 0; i < pool->n; i++)
		fds[SBC_RFD_WORKER0 - SBC_RFD_SHM + i] =
			pool->rchan[2 * (i * pool->m + w->index) + 1];

	sp->count = SBC_RFD_WORKER0 - SBC_RFD_SHM + pool->n;
	sp->flag = "-R";
	sp->role = "relay";
}


/* Fork and exec process number incarnation + 1 of worker (or relay) w. */
int sbc_pool_worker_start(struct worker *w)
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

	if (w->relay)
		relay_fds(w, cfg, c[1], fds, &sp);
	else
		worker_fds(w, cfg, c[1], fds, &sp);

	sp.index = w->index;
	sp.incarnation = w->incarnation + 1;
	sp.fds = fds;

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
		sbc_error("%s %u: cannot listen on its command channel: "
			  "%m", sbc_pool_role(w), w->index, err);
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


/* Every worker is gone after a stop: tell the owner, once. */
void sbc_pool_stopped(struct sbc_pool *pool)
{
	if (pool->stopped)
		return;

	pool->stopped = true;
	tmr_cancel(&pool->stop_tmr);
	sbc_pool_event(pool, SBC_POOL_STOPPED);
}


static void stop_giveup(void *arg)
{
	struct sbc_pool *pool = arg;

	sbc_error("%u worker(s) still there after SIGKILL: not waiting any "
		  "more", sbc_pool_alive(pool));
	sbc_pool_stopped(pool);
}


static void stop_kill(void *arg)
{
	struct sbc_pool *pool = arg;

	for (uint32_t i = 0; i < pool->n + pool->m; i++) {
		struct worker *w = &pool->wv[i];

		if (w->pid <= 0)
			continue;

		sbc_warn("%s %u (pid %d) still running after SIGTERM and "
			 "the grace time: killed", sbc_pool_role(w), w->index,
			 (int)w->pid);
		(void)kill(w->pid, SIGKILL);
	}

	tmr_start(&pool->stop_tmr, REAP_WAIT_MS, stop_giveup, pool);
}


static void stop_done(void *arg)
{
	sbc_pool_stopped(arg);
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

	for (uint32_t i = 0; i < pool->n + pool->m; i++) {
		struct worker *w = &pool->wv[i];

		tmr_cancel(&w->tmr);

		if (w->pid > 0) {
			if (kill(w->pid, SIGTERM) < 0)
				sbc_warn("%s %u (pid %d): SIGTERM: %m",
					 sbc_pool_role(w), w->index,
					 (int)w->pid, errno);
		}
		else if (w->state != SBC_WORKER_FAILED) {
			w->state = SBC_WORKER_STOPPED;
		}
	}

	if (sbc_pool_alive(pool))
		tmr_start(&pool->stop_tmr,
			  ((uint64_t)grace_s + KILL_MARGIN_S) * 1000,
			  stop_kill, pool);
	else
		tmr_start(&pool->stop_tmr, 0, stop_done, pool);
}


/* Start every relay, then every worker. Their READY comes later,
 * through the event loop. */
int sbc_pool_start(struct sbc_pool *pool)
{
	if (!pool)
		return EINVAL;

	for (uint32_t k = 0; k < pool->n + pool->m; k++) {
		struct worker *w = &pool->wv[(k + pool->n) % (pool->n +
							      pool->m)];
		int err = sbc_pool_worker_start(w);

		if (err) {
			sbc_error("%s %u: cannot start: %m", sbc_pool_role(w),
				  w->index, err);
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


/*
 * A command for worker `index` on its channel (kind, and data such as a
 * Call-ID). ESRCH when that worker is not running (between a death and
 * its restart).
 */
int sbc_pool_tell(struct sbc_pool *pool, uint32_t index, uint16_t kind,
		  const void *data, size_t len)
{
	struct sbc_chan_hdr hdr;
	struct worker *w;

	if (!pool || index >= pool->n)
		return EINVAL;

	w = &pool->wv[index];
	if (w->pid <= 0 || w->ctl < 0)
		return ESRCH;

	memset(&hdr, 0, sizeof(hdr));
	hdr.kind = kind;

	return sbc_chan_send(w->ctl, &hdr, data, len, -1);
}


static void workers_init(struct sbc_pool *pool)
{
	for (uint32_t i = 0; i < pool->n + pool->m; i++) {
		struct worker *w = &pool->wv[i];

		w->pool = pool;
		w->relay = i >= pool->n;
		w->index = w->relay ? i - pool->n : i;
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

	for (uint32_t k = 0; k < pool->n * pool->m; k++) {
		int err = sbc_chan_pair(&pool->rchan[2 * k]);

		if (err) {
			sbc_error("cannot create a relay channel: %m", err);
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
	    conf->relays > SBC_RTP_WORKERS_MAX ||
	    (conf->relays && !conf->media) ||
	    conf->workers + conf->relays > sbc_stats_workers(conf->stats)) {
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
	pool->m = conf->relays;
	pool->media = mem_ref(conf->media);
	pool->shm = mem_ref(conf->shm);
	pool->w = mem_ref(conf->w);
	pool->stats = mem_ref(conf->stats);
	pool->eventh = eventh;
	pool->arg = arg;
	tmr_init(&pool->stop_tmr);

	pool->wv = mem_zalloc((pool->n + pool->m) * sizeof(*pool->wv), NULL);
	pool->rchan = mem_alloc((2 * pool->n * pool->m + 1) *
				sizeof(*pool->rchan), NULL);
	if (!pool->wv || !pool->rchan) {
		err = ENOMEM;
		goto out;
	}

	for (uint32_t k = 0; k < 2 * pool->n * pool->m; k++)
		pool->rchan[k] = -1;

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


uint32_t sbc_pool_relays(const struct sbc_pool *pool)
{
	return pool ? pool->m : 0;
}


static uint32_t running(const struct sbc_pool *pool, uint32_t first,
			uint32_t count)
{
	uint32_t n = 0;

	for (uint32_t i = first; pool && i < first + count; i++)
		n += pool->wv[i].state == SBC_WORKER_RUNNING;

	return n;
}


uint32_t sbc_pool_running(const struct sbc_pool *pool)
{
	return pool ? running(pool, 0, pool->n) : 0;
}


uint32_t sbc_pool_relays_running(const struct sbc_pool *pool)
{
	return pool ? running(pool, pool->n, pool->m) : 0;
}


static int process_info(const struct worker *w, struct sbc_worker_info *info)
{
	info->pid = w->pid;
	info->state = w->state;
	info->incarnation = w->incarnation;
	info->restarts = w->incarnation ? w->incarnation - 1 : 0;
	info->uptime_ms = w->pid > 0 ? tmr_jiffies() - w->started : 0;

	return 0;
}


int sbc_pool_info(const struct sbc_pool *pool, uint32_t index,
		  struct sbc_worker_info *info)
{
	if (!pool || !info || index >= pool->n)
		return EINVAL;

	return process_info(&pool->wv[index], info);
}


int sbc_pool_relay_info(const struct sbc_pool *pool, uint32_t index,
			struct sbc_worker_info *info)
{
	if (!pool || !info || index >= pool->m)
		return EINVAL;

	return process_info(&pool->wv[pool->n + index], info);
}


const char *sbc_worker_state_name(enum sbc_worker_state state)
{
	return state <= SBC_WORKER_STOPPED ? state_names[state] : "?";
}
