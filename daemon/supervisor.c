/*
 * The supervisor's lifecycle.
 *
 * Start: create the shared memory segment sized from the configuration,
 * attach as writer 0 (indices 1..workers are kept for the workers), log the
 * segment's layout. Run: libre's event loop, with one maintenance timer
 * that sweeps expired records out of the tables, a bounded number of slots
 * per tick so a large table never stalls the loop (the sweep keeps its
 * place from one tick to the next). Stop: on SIGTERM or SIGINT the handler
 * only cancels the loop; everything is released after it returns.
 *
 * SIGTERM and SIGINT stay blocked from the start until the loop runs with
 * its handlers in place, so a signal sent the moment the layout is logged
 * is delivered to the handler, never to the default action.
 *
 * Workers, their respawn and the control socket arrive with the SIP core.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/check.h"
#include "daemon/supervisor.h"

enum {
	MAINT_INTERVAL_MS = 1000,
	SWEEP_BUDGET      = 65536,   /* slots examined per table per tick */
};

struct supervisor {
	struct sbc_shm *shm;
	struct sbc_writer *w;
	struct tmr maint;
	struct tmr ready;
	int err;            /* why the loop stopped, when not by a signal */
};

static volatile sig_atomic_t stop_signal;


static void supervisor_destructor(void *arg)
{
	struct supervisor *sup = arg;

	tmr_cancel(&sup->maint);
	tmr_cancel(&sup->ready);
	mem_deref(sup->w);
	mem_deref(sup->shm);
}


/* Runs in signal context: only a flag and re_cancel(). */
static void signal_handler(int sig)
{
	if (sig != SIGTERM && sig != SIGINT)
		return;

	stop_signal = sig;
	re_cancel();
}


static int signals_mask(int how)
{
	sigset_t set;

	if (sigemptyset(&set) || sigaddset(&set, SIGTERM) ||
	    sigaddset(&set, SIGINT))
		return errno;

	return sigprocmask(how, &set, NULL) ? errno : 0;
}


/* First tick of the loop: libre's handlers are in place, let signals in. */
static void ready_handler(void *arg)
{
	struct supervisor *sup = arg;

	sup->err = signals_mask(SIG_UNBLOCK);
	if (sup->err) {
		sbc_error("cannot unblock SIGTERM/SIGINT: %m", sup->err);
		re_cancel();
		return;
	}

	sbc_info("running, SIGTERM or SIGINT stops");
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


static int layout_print(struct re_printf *pf, void *arg)
{
	return sbc_shm_layout_print(pf, arg);
}


static int supervisor_start(struct supervisor **supp,
			    const struct sbc_config *cfg)
{
	struct supervisor *sup;
	struct sbc_shm_conf conf = {
		.reg_max   = cfg->reg_max,
		.dlg_max   = cfg->dlg_max,
		.writers   = cfg->workers + 1,
		.ring_size = SBC_SHM_RING_DEFAULT,
		.huge_pages = cfg->huge_pages,
	};
	int err;

	sup = mem_zalloc(sizeof(*sup), supervisor_destructor);
	if (!sup)
		return ENOMEM;

	tmr_init(&sup->maint);
	tmr_init(&sup->ready);

	err = sbc_shm_create(&sup->shm, &conf);
	if (err) {
		sbc_error("cannot create the shared memory segment "
			  "(%u registrations, %u dialogs): %m",
			  conf.reg_max, conf.dlg_max, err);
		goto out;
	}

	err = sbc_writer_attach(&sup->w, sup->shm, 0);
	if (err) {
		sbc_error("cannot attach to the segment as writer 0: %m", err);
		goto out;
	}

	sbc_log_print(SBC_LOG_INFO, layout_print, sup->shm);

	if (cfg->huge_pages && !sbc_shm_huge(sup->shm))
		sbc_warn("memory.huge_pages is set but the host has not "
			 "reserved enough 2 MiB pages (vm.nr_hugepages): "
			 "the segment uses 4 KiB pages");

	tmr_start(&sup->maint, MAINT_INTERVAL_MS, maint_handler, sup);
	tmr_start(&sup->ready, 0, ready_handler, sup);

 out:
	if (err)
		mem_deref(sup);
	else
		*supp = sup;

	return err;
}


/*
 * Run the supervisor until SIGTERM or SIGINT. Returns 0 after a clean stop,
 * an errno if it could not start.
 */
int sbc_supervisor_run(const struct sbc_config *cfg)
{
	struct supervisor *sup = NULL;
	int err;

	if (!cfg)
		return EINVAL;

	err = signals_mask(SIG_BLOCK);
	if (err) {
		sbc_error("cannot block SIGTERM/SIGINT: %m", err);
		return err;
	}

	err = libre_init();
	if (err) {
		sbc_error("cannot initialise libre: %m", err);
		return err;
	}

	sbc_info("starting: %s, %u workers, %u registrations, %u dialogs",
		 cfg->path ? cfg->path : "built-in defaults", cfg->workers,
		 cfg->reg_max, cfg->dlg_max);

	err = supervisor_start(&sup, cfg);
	if (err)
		goto out;

	err = re_main(signal_handler);
	if (err) {
		sbc_error("event loop failed: %m", err);
		goto out;
	}

	err = sup->err;
	if (err)
		goto out;

	/* a second signal waits, blocked, while everything is released */
	err = signals_mask(SIG_BLOCK);
	if (err) {
		sbc_error("cannot block SIGTERM/SIGINT: %m", err);
		goto out;
	}

	sbc_notice("received %s, stopping", stop_signal == SIGINT ?
		   "SIGINT" : "SIGTERM");

 out:
	mem_deref(sup);
	libre_close();

	if (!err)
		sbc_notice("stopped");

	return err;
}
