/*
 * The keepalive of a call and its limits (DESIGN.md section 4, seed 000).
 *
 * Every dialog.ping_interval an in-dialog OPTIONS goes to each leg, for as
 * long as the call lasts: nothing but a dead leg or a limit the operator
 * set ends a call. A leg answering 408 or 481, or not answering within the
 * ping's own timeout (min of the interval and 64*T1, with UDP
 * retransmissions, so one lost packet is never the end), ends the call;
 * any other answer (200, 405, 501...) shows the leg is there.
 *
 * With pings off sbcd cannot tell a live call from a dead one: a call
 * silent for a day is then forgotten (CDR "expired", no BYE).
 * dialog.max_duration, when set, ends a call that long after its answer.
 */

#include <errno.h>
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

enum {
	TIMER_C_MS = 180000,
	IDLE_MS    = 24 * 3600 * 1000,
	MARGIN_MS  = 10000,
	SLACK_MS   = 1000,     /* a timer may fire a little early */
};


static uint64_t ping_ms(const struct sbc_core *core)
{
	return core->cfg->ping_interval * 1000ull;
}


static uint64_t txn_ms(const struct sbc_core *core)
{
	return 64ull * core->cfg->t1_ms;
}


/* When the table may forget the record if this worker stopped caring. */
uint64_t sbc_dialog_expiry(const struct sbc_dialog *dlg, uint64_t now)
{
	const struct sbc_core *core = dlg->core;

	switch (dlg->rec.state) {

	case SBC_DLG_EARLY:
		return now + txn_ms(core) + TIMER_C_MS + MARGIN_MS;

	case SBC_DLG_CONFIRMED:
		if (!ping_ms(core))
			return now + IDLE_MS + MARGIN_MS;
		return now + 3 * ping_ms(core) + txn_ms(core) + MARGIN_MS;

	default:
		return now + 2 * txn_ms(core) + MARGIN_MS;
	}
}


static void ping_done(struct sbc_dialog *dlg, enum sbc_dlg_side side,
		      int err, uint16_t scode)
{
	struct sbc_dlg_leg *leg = sbc_dialog_leg(dlg, side);

	dlg->uac[side] = mem_deref(dlg->uac[side]);
	leg->ping_code = scode;

	if (err || scode == 408 || scode == 481) {
		leg->ping = err ? SBC_DLG_PING_TIMEOUT : SBC_DLG_PING_DEAD;
		sbc_info("dialog %s: the %s leg %s", dlg->rec.call_id,
			 side == SBC_DLG_CALLER ? "caller" : "callee",
			 err ? "did not answer its ping" : "answered its "
			 "ping with 408/481");
		sbc_dialog_end(dlg, SBC_DLG_LEG_UNREACHABLE, side);
		return;
	}

	leg->ping = SBC_DLG_PING_OK;
	sbc_dialog_sync(dlg);         /* alive: the record lives on */
}


static void ping_caller_handler(int err, uint16_t scode, void *arg)
{
	ping_done(arg, SBC_DLG_CALLER, err, scode);
}


static void ping_callee_handler(int err, uint16_t scode, void *arg)
{
	ping_done(arg, SBC_DLG_CALLEE, err, scode);
}


/* OPTIONS to one leg; false when the leg cannot be reached at all. */
static bool ping_send(struct sbc_dialog *dlg, enum sbc_dlg_side side)
{
	struct sbc_core *core = dlg->core;
	uint64_t timeout = ping_ms(core) < txn_ms(core) ? ping_ms(core) :
		txn_ms(core);
	int err;

	if (dlg->uac[side])
		return true;     /* the last one is still running */

	err = sbc_dialog_send(dlg, side, "OPTIONS", timeout,
			      side == SBC_DLG_CALLER ? ping_caller_handler :
			      ping_callee_handler);
	if (err != ENOTCONN)
		return true;     /* sent, or our trouble: next round */

	sbc_dialog_leg(dlg, side)->ping = SBC_DLG_PING_NO_ROUTE;
	return false;
}


static void ping_handler(void *arg)
{
	struct sbc_dialog *dlg = arg;
	struct sbc_core *core = dlg->core;

	if (dlg->rec.state != SBC_DLG_CONFIRMED || !ping_ms(core))
		return;

	dlg->rec.last_ping = sbc_now_ms();
	sbc_timer_start(&dlg->ping, ping_ms(core), ping_handler, dlg);

	for (int side = SBC_DLG_CALLER; side <= SBC_DLG_CALLEE; side++) {
		if (!ping_send(dlg, side)) {
			sbc_info("dialog %s: the %s leg's connection is gone",
				 dlg->rec.call_id, side == SBC_DLG_CALLER ?
				 "caller" : "callee");
			sbc_dialog_end(dlg, SBC_DLG_LEG_UNREACHABLE, side);
			return;
		}
	}

	sbc_dialog_sync(dlg);
}


static void limit_handler(void *arg)
{
	struct sbc_dialog *dlg = arg;
	uint32_t max = dlg->core->cfg->max_duration;

	if (dlg->rec.state != SBC_DLG_CONFIRMED)
		return;

	if (max && sbc_now_ms() + SLACK_MS >= dlg->rec.answer + max * 1000ull) {
		sbc_info("dialog %s: max_duration %u s reached",
			 dlg->rec.call_id, max);
		sbc_dialog_end(dlg, SBC_DLG_MAX_DURATION, SBC_DLG_CALLER);
		return;
	}

	sbc_notice("dialog %s: nothing heard for a day with pings off: "
		   "forgotten", dlg->rec.call_id);
	dlg->rec.reason = SBC_DLG_EXPIRED;
	sbc_dialog_finish(dlg);
}


/* ms from now until t, 0 when t has passed */
static uint64_t until(uint64_t t, uint64_t now)
{
	return t > now ? t - now : 0;
}


/* (Re)arm the ping round and the limit of a confirmed dialog. */
void sbc_dialog_timers_start(struct sbc_dialog *dlg)
{
	struct sbc_core *core = dlg->core;
	uint64_t now = sbc_now_ms(), limit = UINT64_MAX;

	if (dlg->rec.state != SBC_DLG_CONFIRMED)
		return;

	if (ping_ms(core) && !sbc_timer_running(&dlg->ping))
		sbc_timer_start(&dlg->ping, ping_ms(core), ping_handler, dlg);

	if (core->cfg->max_duration)
		limit = until(dlg->rec.answer +
			      core->cfg->max_duration * 1000ull, now);
	if (!ping_ms(core) && limit > IDLE_MS)
		limit = IDLE_MS;

	if (limit != UINT64_MAX)
		sbc_timer_start(&dlg->limit, limit, limit_handler, dlg);
	else
		sbc_timer_cancel(&dlg->limit);
}


static bool retime_apply(struct le *le, void *arg)
{
	(void)arg;
	sbc_dialog_timers_start(le->data);

	return false;
}


/* A reload changed dialog.*: the calls up follow the new values (a ping
 * round already armed keeps its time, the next one takes the new one). */
void sbc_dialog_timers_reload(struct sbc_core *core)
{
	(void)hash_apply(core->dlgs, retime_apply, NULL);
}


void sbc_dialog_timers_stop(struct sbc_dialog *dlg)
{
	sbc_timer_cancel(&dlg->ping);
	sbc_timer_cancel(&dlg->limit);
}
