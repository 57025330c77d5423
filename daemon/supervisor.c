/*
 * The supervisor's lifecycle.
 *
 * Start, in this order, each step logged when it fails:
 *   1. the PID file (after the configuration was found valid, before
 *      anything is created or bound: a second sbcd stops here);
 *   2. the shared memory segment, attached as writer 0 (1..workers are the
 *      workers'), the per-worker counters, the sealed config memfd, and the
 *      worker pool with one mailbox per worker;
 *   3. the control socket;
 *   4. the workers (pool.c: fork, exec, READY, restarts).
 * Run: libre's event loop, with one maintenance timer that sweeps expired
 * records out of the tables, a bounded number of slots per tick so a large
 * table never stalls the loop.
 *
 * Signals. SIGTERM, SIGINT, SIGHUP and SIGCHLD are blocked from the start
 * and read from a signalfd in the event loop, so there is no signal handler
 * at all: nothing runs in signal context, and a signal sent at any moment,
 * even before the loop runs, waits in the signalfd until the loop reads it.
 * SIGPIPE is ignored (a control client may hang up mid-answer). Workers
 * start with every signal unblocked and SIGPIPE at its default (spawn.c).
 *
 * - SIGCHLD: reap (pool.c).
 * - SIGHUP: reload the configuration (reload.c), like `sbcctl reload`.
 * - SIGTERM, SIGINT: stop. Workers get SIGTERM and the shutdown grace to
 *   finish their transactions, then SIGKILL; when none is left the loop
 *   ends, and the control socket and the PID file are removed. Exit 0.
 * - A worker that exits SBC_WORKER_EXIT_FATAL, or every worker failed in a
 *   crash loop: the same stop, exit status 1.
 */

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/check.h"
#include "shm/stats.h"
#include "daemon/cfgfd.h"
#include "daemon/control.h"
#include "cfg/json.h"
#include "daemon/pidfile.h"
#include "daemon/pool.h"
#include <stdatomic.h>
#include "shm/media.h"
#include "daemon/reload.h"
#include "daemon/backends.h"
#include "daemon/show.h"
#include "daemon/supervisor.h"

enum {
	MAINT_INTERVAL_MS = 1000,
	SWEEP_BUDGET      = 65536,   /* slots examined per table per tick */
};

struct supervisor {
	struct sbc_config *cfg;     /* the running configuration */
	struct sbc_pidfile *pidfile;
	struct sbc_shm *shm;
	struct sbc_writer *w;
	struct sbc_stats *stats;
	struct sbc_pool *pool;
	struct sbc_media *media;     /* the relays' session records */
	struct sbc_control *ctl;
	struct tmr maint;
	uint64_t started;
	int sigfd;
	int status;                 /* exit status, once stopping */
	bool stopping;
};


static void supervisor_destructor(void *arg)
{
	struct supervisor *sup = arg;

	tmr_cancel(&sup->maint);

	if (sup->sigfd >= 0) {
		fd_close(sup->sigfd);
		(void)close(sup->sigfd);
	}

	mem_deref(sup->ctl);
	mem_deref(sup->pool);
	mem_deref(sup->media);
	mem_deref(sup->stats);
	mem_deref(sup->w);
	mem_deref(sup->shm);
	mem_deref(sup->pidfile);
	mem_deref(sup->cfg);
}


static int signals_block(sigset_t *set)
{
	if (sigemptyset(set) || sigaddset(set, SIGTERM) ||
	    sigaddset(set, SIGINT) || sigaddset(set, SIGHUP) ||
	    sigaddset(set, SIGCHLD))
		return errno;

	if (sigprocmask(SIG_BLOCK, set, NULL))
		return errno;

	return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? errno : 0;
}


static void stop(struct supervisor *sup, int status, const char *why)
{
	if (sup->stopping) {
		sbc_notice("%s: already stopping", why);
		return;
	}

	sup->stopping = true;
	sup->status = status;

	sbc_notice("%s, stopping", why);

	sbc_pool_stop(sup->pool, sup->cfg->shutdown_grace);
}


static void pool_event(enum sbc_pool_event ev, void *arg)
{
	struct supervisor *sup = arg;

	switch (ev) {

	case SBC_POOL_FATAL:
		stop(sup, 1, "a worker cannot run");
		break;

	case SBC_POOL_ALL_FAILED:
		stop(sup, 1, "every worker has failed");
		break;

	case SBC_POOL_STOPPED:
		re_cancel();
		break;
	}
}


static void signal_read(int flags, void *arg)
{
	struct supervisor *sup = arg;
	struct signalfd_siginfo si;
	bool reap = false;
	struct sbc_reload rl;
	(void)flags;

	for (;;) {
		ssize_t n = read(sup->sigfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break;

		switch (si.ssi_signo) {

		case SIGCHLD:
			reap = true;
			break;

		case SIGHUP:
			if (sup->stopping) {
				sbc_notice("received SIGHUP while stopping: "
					   "not reloaded");
				break;
			}
			sbc_notice("received SIGHUP, reloading %s",
				   sup->cfg->path ? sup->cfg->path :
				   "built-in defaults");
			memset(&rl, 0, sizeof(rl));
			(void)sbc_reload(&sup->cfg, sup->pool, sup->shm, &rl);
			break;

		case SIGTERM:
			stop(sup, 0, "received SIGTERM");
			break;

		case SIGINT:
			stop(sup, 0, "received SIGINT");
			break;

		default:
			break;
		}
	}

	if (reap)
		sbc_pool_reap(sup->pool);
}


static void maint_handler(void *arg)
{
	struct supervisor *sup = arg;
	uint64_t now = sbc_now_ms();

	for (int tbl = 0; tbl < SBC_TBL_COUNT; tbl++) {
		struct sbc_sweep_report rep;
		int err;

		memset(&rep, 0, sizeof(rep));

		err = sbc_shm_sweep(sup->w, (enum sbc_tbl)tbl, now,
				    SWEEP_BUDGET, &rep);
		if (err) {
			sbc_warn("sweep of %s failed: %m",
				 sbc_tbl_name((enum sbc_tbl)tbl), err);
			continue;
		}

		if (rep.expired || rep.compacted) {
			sbc_debug("sweep of %s: %u slots scanned, %u expired "
				  "removed, %u tombstones compacted",
				  sbc_tbl_name((enum sbc_tbl)tbl), rep.scanned,
				  rep.expired, rep.compacted);
		}
	}

	tmr_start(&sup->maint, MAINT_INTERVAL_MS, maint_handler, sup);
}


/* The messages of a reload as a JSON array, from its lines. */
static int lines_json(struct mbuf *mb, const struct mbuf *lines)
{
	struct pl rest, line;
	int err = mbuf_printf(mb, "[");
	bool first = true;

	pl_set_mbuf(&rest, lines);

	while (rest.l && !err) {
		const char *nl = pl_strchr(&rest, '\n');
		char buf[1024];

		line.p = rest.p;
		line.l = nl ? (size_t)(nl - rest.p) : rest.l;
		pl_advance(&rest, (ssize_t)line.l + (nl ? 1 : 0));

		(void)pl_strcpy(&line, buf, sizeof(buf));
		err = mbuf_printf(mb, "%s%H", first ? "" : ",", sbc_json_str,
				  buf);
		first = false;
	}

	return err | mbuf_printf(mb, "]");
}


static void control_reload(struct supervisor *sup, struct sbc_ctl_reply *rep,
			   bool json)
{
	static const char *const notes[] = {
		[SBC_RELOAD_REFUSED] = "some changes need a restart",
		[SBC_RELOAD_INVALID] = "the configuration is invalid, "
				       "nothing changed",
		[SBC_RELOAD_FAILED]  = "the configuration could not be passed "
				       "on, nothing changed",
	};
	struct sbc_reload rl;

	if (sup->stopping) {
		rep->failed = true;
		str_ncpy(rep->note, "sbcd is stopping", sizeof(rep->note));
		return;
	}

	memset(&rl, 0, sizeof(rl));
	rl.report = mbuf_alloc(512);
	if (!rl.report) {
		rep->failed = true;
		str_ncpy(rep->note, "out of memory", sizeof(rep->note));
		return;
	}

	sbc_notice("control: reloading %s", sup->cfg->path ?
		   sup->cfg->path : "built-in defaults");
	(void)sbc_reload(&sup->cfg, sup->pool, sup->shm, &rl);

	if (rl.result >= SBC_RELOAD_REFUSED) {
		rep->failed = true;
		str_ncpy(rep->note, notes[rl.result], sizeof(rep->note));
	}

	rl.report->pos = 0;
	if (json) {
		(void)mbuf_printf(rep->body, "{\"result\":\"%s\",\"sent\":%u,"
				  "\"messages\":",
				  sbc_reload_result_name(rl.result), rl.sent);
		(void)lines_json(rep->body, rl.report);
		(void)mbuf_printf(rep->body, "}\n");
	}
	else {
		(void)mbuf_write_mem(rep->body, mbuf_buf(rl.report),
				     mbuf_get_left(rl.report));
	}

	mem_deref(rl.report);
}


static void control_request(struct sbc_ctl_reply *rep,
			    const struct sbc_ctl_req *req, void *arg)
{
	struct supervisor *sup = arg;
	const struct sbc_show show = {
		.cfg = sup->cfg,
		.pool = sup->pool,
		.stats = sup->stats,
		.shm = sup->shm,
		.media = sup->media,
		.started = sup->started,
	};

	sbc_debug("control: request %s%s%s%s", sbc_ctl_cmd_name(req->cmd),
		  req->arg[0] ? " " : "", req->arg, req->json ? " json" : "");

	switch (req->cmd) {

	case SBC_CTL_STATUS:
		sbc_show_status(rep, &show, req->json);
		break;

	case SBC_CTL_WORKERS:
		sbc_show_workers(rep, &show, req->json);
		break;

	case SBC_CTL_REGISTRATIONS:
		sbc_show_registrations(rep, &show, req->arg, req->json);
		break;

	case SBC_CTL_RELOAD:
		control_reload(sup, rep, req->json);
		break;

	case SBC_CTL_DIALOGS:
		sbc_show_dialogs(rep, &show, req->json);
		break;

	case SBC_CTL_DIALOG_END:
		sbc_show_dialog_end(rep, &show, sup->pool, req->arg,
				    req->json);
		break;

	case SBC_CTL_BACKENDS:
		sbc_show_backends(rep, &show, req->json);
		break;

	case SBC_CTL_MEDIA:
		sbc_show_media(rep, &show, req->json);
		break;

	case SBC_CTL_HEALTH:
		sbc_show_health(rep, &show, req->json);
		break;
	}
}


static int layout_print(struct re_printf *pf, void *arg)
{
	return sbc_shm_layout_print(pf, arg);
}


/* The segment, writer 0, the counters. */
static int shared_make(struct supervisor *sup)
{
	const struct sbc_config *cfg = sup->cfg;
	struct sbc_shm_conf conf = {
		.reg_max   = cfg->reg_max,
		.dlg_max   = cfg->dlg_max,
		.writers   = cfg->workers + 1,
		.ring_size = SBC_SHM_RING_DEFAULT,
		.huge_pages = cfg->huge_pages,
	};
	int err;

	err = sbc_shm_create(&sup->shm, &conf);
	if (err) {
		sbc_error("cannot create the shared memory segment "
			  "(%u registrations, %u dialogs): %m",
			  conf.reg_max, conf.dlg_max, err);
		return err;
	}

	err = sbc_writer_attach(&sup->w, sup->shm, 0);
	if (err) {
		sbc_error("cannot attach to the segment as writer 0: %m", err);
		return err;
	}

	sbc_log_print(SBC_LOG_INFO, layout_print, sup->shm);

	err = sbc_backends_assign(sup->shm, cfg);
	if (err) {
		sbc_error("cannot give the backends their slots: %m", err);
		return err;
	}

	if (cfg->huge_pages && !sbc_shm_huge(sup->shm))
		sbc_warn("memory.huge_pages is set but the host has not "
			 "reserved enough 2 MiB pages (vm.nr_hugepages): "
			 "the segment uses 4 KiB pages");

	err = sbc_stats_create(&sup->stats, cfg->workers + cfg->rtp.workers);
	if (err) {
		sbc_error("cannot create the worker counters: %m", err);
		return err;
	}

	if (!cfg->rtp.workers)
		return 0;

	err = sbc_media_create(&sup->media, cfg->rtp.workers,
			       cfg->rtp.max_sessions);
	if (err)
		sbc_error("cannot create the media session records (%u "
			  "relays x %u): %m", cfg->rtp.workers,
			  cfg->rtp.max_sessions, err);

	return err;
}


static int pool_make(struct supervisor *sup)
{
	struct sbc_pool_conf conf = {
		.workers = sup->cfg->workers,
		.shm = sup->shm,
		.w = sup->w,
		.stats = sup->stats,
		.relays = sup->cfg->rtp.workers,
		.media = sup->media,
	};
	int err;

	err = sbc_cfgfd_create(&conf.cfgfd, sup->cfg->text);
	if (err) {
		sbc_error("cannot make the configuration memfd: %m", err);
		return err;
	}

	err = sbc_pool_alloc(&sup->pool, &conf, pool_event, sup);
	if (err)
		sbc_error("cannot create the worker pool: %m", err);

	return err;
}


static int signals_listen(struct supervisor *sup, const sigset_t *set)
{
	int err;

	sup->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sup->sigfd < 0) {
		err = errno;
		sbc_error("cannot create a signalfd: %m", err);
		return err;
	}

	err = fd_listen(sup->sigfd, FD_READ, signal_read, sup);
	if (err)
		sbc_error("cannot listen on the signalfd: %m", err);

	return err;
}


static int supervisor_start(struct supervisor **supp, struct sbc_config *cfg,
			    const sigset_t *set)
{
	struct supervisor *sup;
	int err;

	sup = mem_zalloc(sizeof(*sup), supervisor_destructor);
	if (!sup)
		return ENOMEM;

	sup->cfg = mem_ref(cfg);
	sup->sigfd = -1;
	sup->started = tmr_jiffies();
	tmr_init(&sup->maint);

	if (cfg->pid_file) {
		err = sbc_pidfile_create(&sup->pidfile, cfg->pid_file);
		if (err)
			goto out;
	}

	err = shared_make(sup);
	if (err)
		goto out;

	err = pool_make(sup);
	if (err)
		goto out;

	err = signals_listen(sup, set);
	if (err)
		goto out;

	if (cfg->control_socket) {
		err = sbc_control_alloc(&sup->ctl, cfg->control_socket,
					control_request, sup);
		if (err)
			goto out;
	}

	err = sbc_pool_start(sup->pool);
	if (err)
		goto out;

	tmr_start(&sup->maint, MAINT_INTERVAL_MS, maint_handler, sup);

	sbc_info("running: %u workers starting; SIGTERM or SIGINT stops, "
		 "SIGHUP reloads", cfg->workers);

 out:
	if (err)
		mem_deref(sup);
	else
		*supp = sup;

	return err;
}


/*
 * Run the supervisor until it is stopped. Returns the process's exit
 * status: 0 after a stop by SIGTERM or SIGINT, 1 when it could not start or
 * had to stop because its workers cannot run.
 */
int sbc_supervisor_run(struct sbc_config *cfg)
{
	struct supervisor *sup = NULL;
	sigset_t set;
	int err, status = 1;

	if (!cfg)
		return 1;

	err = signals_block(&set);
	if (err) {
		sbc_error("cannot block signals: %m", err);
		return 1;
	}

	err = libre_init();
	if (err) {
		sbc_error("cannot initialise libre: %m", err);
		return 1;
	}

	sbc_info("starting: %s, %u workers, %u registrations, %u dialogs",
		 cfg->path ? cfg->path : "built-in defaults", cfg->workers,
		 cfg->reg_max, cfg->dlg_max);

	err = supervisor_start(&sup, cfg, &set);
	if (err)
		goto out;

	err = re_main(NULL);
	if (err) {
		sbc_error("event loop failed: %m", err);
		goto out;
	}

	status = sup->status;

 out:
	mem_deref(sup);
	libre_close();

	if (!status)
		sbc_notice("stopped");
	else
		sbc_error("stopped with exit status %d", status);

	return status;
}
