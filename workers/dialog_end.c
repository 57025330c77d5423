/*
 * sbcd ends a call (max duration, a dead leg, the operator, shutdown):
 * a BYE to each leg, as two client transactions that know nothing of each
 * other (seed 002: a proxy that let the first BYE's answer end the dialog
 * never sent the second). The dialog stays `terminating` until both have
 * completed or timed out, and only then is it `ended` and its CDR written.
 * A leg that cannot be reached at all (its connection is gone) counts as
 * done at once; it never holds up the other leg's BYE.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/dlg.h"
#include "cfg/config.h"
#include "shm/backend.h"
#include "workers/core.h"
#include "workers/timer.h"
#include "workers/uac.h"
#include "workers/dialog.h"


static void end_check(struct sbc_dialog *dlg)
{
	if (dlg->rec.caller.bye_done && dlg->rec.callee.bye_done)
		sbc_dialog_finish(dlg);
	else
		sbc_dialog_sync(dlg);
}


static void bye_done(struct sbc_dialog *dlg, enum sbc_dlg_side side,
		     int err, uint16_t scode)
{
	dlg->uac[side] = mem_deref(dlg->uac[side]);
	sbc_dialog_leg(dlg, side)->bye_done = 1;

	sbc_debug("dialog %s: BYE to the %s: %s %u", dlg->rec.call_id,
		  side == SBC_DLG_CALLER ? "caller" : "callee",
		  err ? "no answer" : "answered", scode);

	end_check(dlg);
}


static void bye_caller_handler(int err, uint16_t scode, void *arg)
{
	bye_done(arg, SBC_DLG_CALLER, err, scode);
}


static void bye_callee_handler(int err, uint16_t scode, void *arg)
{
	bye_done(arg, SBC_DLG_CALLEE, err, scode);
}


/* The BYE to one leg; when it cannot even be sent, that leg is done. */
static void bye_send(struct sbc_dialog *dlg, enum sbc_dlg_side side)
{
	int err;

	if (sbc_dialog_leg(dlg, side)->bye_done)
		return;

	err = sbc_dialog_send(dlg, side, "BYE", 64ull * dlg->core->cfg->t1_ms,
			      side == SBC_DLG_CALLER ? bye_caller_handler :
			      bye_callee_handler);
	if (!err)
		return;

	sbc_info("dialog %s: no BYE to the %s: %m", dlg->rec.call_id,
		 side == SBC_DLG_CALLER ? "caller" : "callee", err);
	sbc_dialog_leg(dlg, side)->bye_done = 1;
}


/*
 * End a confirmed call: `leg` is the leg the reason is about (the dead
 * one); a dialog already ending keeps its first reason. A dialog a
 * previous incarnation was ending gets the BYEs it had not finished.
 */
void sbc_dialog_end(struct sbc_dialog *dlg, enum sbc_dlg_reason reason,
		    enum sbc_dlg_side leg)
{
	if (dlg->rec.state == SBC_DLG_CONFIRMED) {
		dlg->rec.state  = SBC_DLG_TERMINATING;
		dlg->rec.reason = reason;
		dlg->rec.leg    = leg;
		dlg->rec.end    = sbc_now_ms();
		/* pings in flight no longer matter */
		dlg->uac[SBC_DLG_CALLER] = mem_deref(dlg->uac[SBC_DLG_CALLER]);
		dlg->uac[SBC_DLG_CALLEE] = mem_deref(dlg->uac[SBC_DLG_CALLEE]);
	}
	else if (dlg->rec.state != SBC_DLG_TERMINATING ||
		 dlg->uac[SBC_DLG_CALLER] || dlg->uac[SBC_DLG_CALLEE]) {
		return;
	}

	sbc_dialog_timers_stop(dlg);

	mem_ref(dlg);              /* finishing must not free it under us */
	bye_send(dlg, SBC_DLG_CALLER);
	bye_send(dlg, SBC_DLG_CALLEE);
	end_check(dlg);
	mem_deref(dlg);
}


static bool end_apply(struct le *le, void *arg)
{
	struct sbc_dialog *dlg = le->data;
	const enum sbc_dlg_reason *reason = arg;

	if (dlg->rec.state == SBC_DLG_CONFIRMED)
		sbc_dialog_end(dlg, *reason, SBC_DLG_CALLER);

	return false;
}


/* Every confirmed call of this worker (shutdown). */
void sbc_dialog_end_all(struct sbc_core *core, enum sbc_dlg_reason reason)
{
	(void)hash_apply(core->dlgs, end_apply, &reason);
}


/* The operator's `sbcctl dialog end`: ENOENT when no call has the
 * Call-ID here, EALREADY when it is not answered or already ending. */
int sbc_dialog_end_callid(struct sbc_core *core, const struct pl *callid,
			  enum sbc_dlg_reason reason)
{
	struct sbc_dialog *dlg = sbc_dialog_find_callid(core, callid);

	if (!dlg)
		return ENOENT;

	if (dlg->rec.state != SBC_DLG_CONFIRMED)
		return EALREADY;

	sbc_dialog_end(dlg, reason, SBC_DLG_CALLER);

	return 0;
}
