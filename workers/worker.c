/*
 * A SIP worker's lifecycle.
 *
 * Start: read the config the supervisor validated (its fd, never the file),
 * attach to the shared segment as writer index + 1 and fault it in (page
 * tables of a shared mapping are per process), bind every listener, then
 * tell the supervisor it is ready, and take back the dialogs of its
 * Call-IDs that a previous incarnation left in the table. Run: libre's
 * event loop, fed by the transport, this worker's mailbox and the command
 * channel. Stop: SIGTERM drains (no new calls, listeners closed, every
 * call ended with BYE to both legs, transactions finish) and exits when
 * the last transaction and dialog end or shutdown.grace runs out; a supervisor
 * that disappears (its end of the command channel closes) stops the worker
 * at once, so no worker outlives its node.
 */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/stats.h"
#include "shm/channel.h"
#include "cfg/config.h"
#include "cfg/fdlimit.h"
#include "workers/transport.h"
#include "workers/worker.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "shm/dlg.h"
#include "workers/uac.h"
#include "workers/dialog.h"

enum {
	DRAIN_POLL_MS = 100,
	BEAT_MS       = 200,
	UAC_BUCKETS   = 4096,
	FDS_MAX       = 1 << 20,
};

struct worker {
	struct sbc_core core;
	struct sbc_config *boot_cfg; /* what the listeners were bound with */
	int peer_fds[64];
	struct tmr drain_poll;
	struct tmr drain_end;
	struct tmr beat;
	int err;                     /* why the loop stopped, 0 if asked to */
};

static struct worker *the_worker;


static void worker_destructor(void *arg)
{
	struct worker *wk = arg;
	struct sbc_core *core = &wk->core;

	tmr_cancel(&wk->drain_poll);
	tmr_cancel(&wk->drain_end);
	tmr_cancel(&wk->beat);
	fd_close(SBC_WFD_CTL);
	fd_close(core->mbox_fd);
	sbc_txn_flush(core);
	sbc_dialog_close(core);
	sbc_callmedia_close(core);
	sbc_cdr_close(core);
	sbc_timer_close();
	mem_deref(core->probes);
	mem_deref(core->bk);
	mem_deref(core->tp);
	mem_deref(core->holds);
	mem_deref(core->uac);
	mem_deref(core->ctx);
	mem_deref(core->stx);
	mem_deref(core->mbox_buf);
	mem_deref(core->w);
	mem_deref(core->stats);
	mem_deref(core->shm);
	mem_deref(core->cfg);
	mem_deref(wk->boot_cfg);
}


static void worker_stop(struct worker *wk, int err)
{
	wk->err = err;
	re_cancel();
}


static void drain_poll_handler(void *arg)
{
	struct worker *wk = arg;

	if (!wk->core.active && !wk->core.dialogs) {
		sbc_info("drained: no transaction or call left, exiting");
		worker_stop(wk, 0);
		return;
	}

	tmr_start(&wk->drain_poll, DRAIN_POLL_MS, drain_poll_handler, wk);
}


static void drain_end_handler(void *arg)
{
	struct worker *wk = arg;

	sbc_warn("shutdown.grace reached with %u transactions unanswered "
		 "and %u calls not ended, exiting", wk->core.active,
		 wk->core.dialogs);
	worker_stop(wk, 0);
}


/* SIGTERM: stop taking new calls, let what is in flight finish. */
static void worker_drain(struct worker *wk)
{
	struct sbc_core *core = &wk->core;

	if (core->draining)
		return;

	core->draining = true;
	sbc_tp_drain(core->tp);
	sbc_notice("draining: %u transactions in flight, ending %u calls, "
		   "at most %u s", core->active, core->dialogs,
		   core->cfg->shutdown_grace);
	sbc_dialog_end_all(core, SBC_DLG_SHUTDOWN);

	tmr_start(&wk->drain_poll, 0, drain_poll_handler, wk);
	tmr_start(&wk->drain_end, core->cfg->shutdown_grace * 1000ull,
		  drain_end_handler, wk);
}


/* Called by libre's loop (not in signal context) after a signal. */
static void signal_handler(int sig)
{
	if (sig == SIGTERM && the_worker)
		worker_drain(the_worker);
}


static int config_from_fd(struct sbc_config **cfgp, int fd)
{
	char errbuf[SBC_CONFIG_ERR_SIZE];
	char path[32];
	int err;

	(void)re_snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	err = sbc_config_load(cfgp, path, errbuf, sizeof(errbuf));
	if (err)
		sbc_error("config from the supervisor refused: %s", errbuf);

	return err;
}


/* A new config from the supervisor: the live keys take effect now. */
static void worker_reload(struct worker *wk, int fd)
{
	struct sbc_config *cfg = NULL;

	if (config_from_fd(&cfg, fd))
		return;

	sbc_log_set_level(cfg->log_level);
	sbc_log_set_syslog(cfg->log_syslog);
	mem_deref(wk->core.cfg);
	wk->core.cfg = cfg;
	if (sbc_backend_apply(&wk->core))
		sbc_error("backends of the new configuration: out of memory, "
			  "the previous ones are kept");
	(void)sbc_probe_start(&wk->core);
	sbc_cdr_open(&wk->core);
	sbc_dialog_timers_reload(&wk->core);
	sbc_info("configuration reloaded");
}


/* The operator's `sbcctl dialog end CALLID`, passed on by the supervisor. */
static void worker_dialog_end(struct worker *wk, const char *callid,
			      size_t len)
{
	struct pl pl = {callid, len};
	int err;

	err = sbc_dialog_end_callid(&wk->core, &pl, SBC_DLG_OPERATOR);
	if (err)
		sbc_notice("dialog %r: not ended by the operator: %s", &pl,
			   err == ENOENT ? "no such call here" :
			   "not answered yet, or already ending");
	else
		sbc_notice("dialog %r: ended by the operator", &pl);
}


static void ctl_handler(int flags, void *arg)
{
	struct worker *wk = arg;
	char data[SBC_DLG_CALLID_SIZE];
	struct sbc_chan_hdr hdr;
	int fd, err;

	(void)flags;

	for (;;) {
		err = sbc_chan_recv(SBC_WFD_CTL, &hdr, data, sizeof(data), &fd);
		if (err == EAGAIN)
			return;

		if (err == ENOTCONN) {
			sbc_error("the supervisor has gone, exiting");
			worker_stop(wk, ENOTCONN);
			return;
		}

		if (err) {
			sbc_warn("command channel: %m", err);
			continue;
		}

		if (hdr.kind == SBC_CHAN_RELOAD && fd >= 0)
			worker_reload(wk, fd);
		else if (hdr.kind == SBC_CHAN_REOPEN)
			sbc_cdr_open(&wk->core);
		else if (hdr.kind == SBC_CHAN_DIALOG_END &&
			 hdr.len < sizeof(data))
			worker_dialog_end(wk, data, hdr.len);

		if (fd >= 0)
			(void)close(fd);
	}
}


/* The loop is alive: `sbcctl health` reads this (shm/stats.h). */
static void beat_handler(void *arg)
{
	struct worker *wk = arg;

	sbc_stats_beat(wk->core.stats, wk->core.index, sbc_now_ms());
	tmr_start(&wk->beat, BEAT_MS, beat_handler, wk);
}


static void tp_recv_handler(const struct sbc_rx *rx, void *arg)
{
	struct sbc_core *core = arg;
	struct sbc_dest src = {
		.listener = rx->listener,
		.conn     = rx->conn,
		.addr     = rx->src,
		.tp       = rx->tp,
	};

	sbc_core_input(core, &src, rx->buf, rx->len, false);
}


static void tp_close_handler(uint64_t conn, void *arg)
{
	sbc_holds_closed(arg, conn);
}


/*
 * A proxy allocates and frees a few kB per message and keeps every
 * transaction for up to 64*T1: the heap breathes by hundreds of MB. glibc
 * would give the top of the heap back to the kernel after each dip and
 * take it again, and every page taken again is a fault and a page zeroed
 * by the kernel (clear_page was 14 % of a worker's time under a REGISTER
 * storm). Keep what was freed, and grow in large steps.
 */
static void worker_malloc_tune(void)
{
	if (!mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024) ||
	    !mallopt(M_TOP_PAD, 64 * 1024 * 1024) ||
	    !mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024))
		sbc_warn("cannot tune malloc: freed memory goes back to the "
			 "kernel and is faulted in again");
}


static int worker_attach(struct worker *wk, const struct sbc_worker_args *a)
{
	struct sbc_core *core = &wk->core;
	int err;

	err = sbc_shm_attach(&core->shm, SBC_WFD_SHM);
	if (err) {
		sbc_error("cannot attach to the shared segment: %m", err);
		return err;
	}

	err = sbc_shm_populate(core->shm);
	if (err)
		sbc_warn("cannot fault the segment in: %m", err);

	err = sbc_writer_attach(&core->w, core->shm, a->index + 1);
	if (err) {
		sbc_error("cannot attach as writer %u: %m", a->index + 1, err);
		return err;
	}

	err = sbc_stats_attach(&core->stats, SBC_WFD_STATS);
	if (err) {
		sbc_error("cannot attach to the counters: %m", err);
		return err;
	}

	sbc_stats_set(core->stats, a->index, SBC_STAT_CONNS_NOW, 0);
	sbc_stats_set(core->stats, a->index, SBC_STAT_TXNS_NOW, 0);
	sbc_stats_set(core->stats, a->index, SBC_STAT_DIALOGS_NOW, 0);

	return 0;
}


static int worker_core_init(struct worker *wk, const struct sbc_worker_args *a)
{
	struct sbc_core *core = &wk->core;
	int err;

	core->index   = a->index;
	core->workers = core->cfg->workers;
	core->mbox_fd = SBC_WFD_MBOX;
	core->cdr_fd  = -1;
	core->peer_fds = wk->peer_fds;
	core->branch_salt = rand_u64();

	if (core->workers > ARRAY_SIZE(wk->peer_fds) ||
	    a->index >= core->workers)
		return EINVAL;

	for (uint32_t i = 0; i < core->workers; i++)
		wk->peer_fds[i] = SBC_WFD_PEER0 + (int)i;

	core->mbox_buf = mem_alloc(SBC_CHAN_DATA_MAX, NULL);
	if (!core->mbox_buf)
		return ENOMEM;

	err = sbc_txn_init(core);
	if (!err)
		err = sbc_holds_init(core);
	if (!err)
		err = hash_alloc(&core->uac, UAC_BUCKETS);
	if (!err)
		err = sbc_dialog_init(core);
	if (!err)
		err = sbc_backend_apply(core);
	if (!err)
		err = sbc_callmedia_init(core);
	if (!err)
		sbc_cdr_open(core);

	return err;
}


static int worker_start(struct worker *wk, const struct sbc_worker_args *a)
{
	struct sbc_core *core = &wk->core;
	struct sbc_chan_hdr ready = {.kind = SBC_CHAN_READY, .from = a->index};
	int err;

	err = config_from_fd(&wk->boot_cfg, SBC_WFD_CONFIG);
	if (err)
		return err;

	worker_malloc_tune();
	core->cfg = mem_ref(wk->boot_cfg);
	sbc_log_set_level(core->cfg->log_level);
	sbc_log_set_syslog(core->cfg->log_syslog);

	err = sbc_fd_limit_raise(FDS_MAX);
	if (err) {
		sbc_error("cannot size the descriptor table: %m", err);
		return err;
	}

	err = worker_attach(wk, a);
	if (!err)
		err = worker_core_init(wk, a);
	if (err)
		return err;

	err = sbc_tp_alloc(&core->tp, wk->boot_cfg, a->index, a->incarnation,
			   core->stats, tp_recv_handler, tp_close_handler,
			   core);
	if (err) {
		sbc_error("cannot bind the listeners: %m", err);
		return err;
	}

	sbc_holds_purge(core, a->incarnation);
	sbc_bk_writer_reset(core->shm, sbc_writer_index(core->w));
	sbc_dialog_load(core);
	beat_handler(wk);

	err = sbc_probe_start(core);
	if (err)
		return err;

	err = sbc_mbox_listen(core);
	if (!err)
		err = fd_listen(SBC_WFD_CTL, FD_READ, ctl_handler, wk);
	if (err)
		return err;

	err = sbc_chan_send(SBC_WFD_CTL, &ready, NULL, 0, -1);
	if (err)
		sbc_error("cannot tell the supervisor it is ready: %m", err);

	return err;
}


/*
 * The worker process: returns its exit status (0 after a drain,
 * SBC_WORKER_EXIT_FATAL when it could not bind its listeners, 1 otherwise).
 */
int sbc_worker_main(const struct sbc_worker_args *args)
{
	struct worker *wk;
	bool bound = false;
	int err;

	if (!args)
		return EXIT_FAILURE;

	sbc_log_init("worker", args->index, SBC_LOG_INFO);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);    /* the supervisor decides */
	(void)signal(SIGHUP, SIG_IGN);    /* reloads come on the channel */

	err = libre_init();
	if (err) {
		sbc_error("cannot initialise libre: %m", err);
		return EXIT_FAILURE;
	}

	wk = mem_zalloc(sizeof(*wk), worker_destructor);
	if (!wk) {
		err = ENOMEM;
		goto out;
	}

	the_worker = wk;
	tmr_init(&wk->drain_poll);
	tmr_init(&wk->drain_end);
	tmr_init(&wk->beat);

	err = worker_start(wk, args);
	bound = wk->core.tp != NULL;
	if (err)
		goto out;

	sbc_info("serving, incarnation %u", args->incarnation);

	err = re_main(signal_handler);
	if (!err)
		err = wk->err;

 out:
	the_worker = NULL;
	mem_deref(wk);
	libre_close();

	if (err && !bound)
		return SBC_WORKER_EXIT_FATAL;

	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
