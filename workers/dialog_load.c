/*
 * A worker that starts again takes back the dialogs of its Call-IDs from
 * the shared table: its previous incarnation's calls go on being pinged,
 * can be ended by either party or the operator, and get their CDR. An
 * early dialog lost its INVITE transaction with the process: its setup is
 * over (CDR "failed", no status). A dialog that was being ended gets the
 * BYEs it had not finished.
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


/* A call the access side made holds its place on its backend again
 * (shm/backend.c: the previous incarnation's places were given back). */
static void backend_hold(struct sbc_core *core, struct sbc_dialog *dlg)
{
	struct sbc_bk *bk = sbc_bk_slot(core->shm, dlg->rec.backend);

	if (!bk || sbc_listener_side(core, dlg->rec.caller.listener) !=
	    SBC_SIDE_ACCESS)
		return;

	if (sbc_bk_reserve(bk, sbc_writer_index(core->w), 0))
		dlg->bk_held = true;
}


static void take_over(struct sbc_core *core, const struct sbc_dlg *rec)
{
	struct sbc_dialog *dlg;

	if (sbc_dialog_adopt(&dlg, core, rec))
		return;

	switch (rec->state) {

	case SBC_DLG_EARLY:
		dlg->rec.reason = SBC_DLG_FAILED;
		dlg->rec.status = 0;
		sbc_dialog_finish(dlg);
		break;

	case SBC_DLG_CONFIRMED:
		backend_hold(core, dlg);
		sbc_dialog_sync(dlg);
		sbc_dialog_timers_start(dlg);
		break;

	default:
		sbc_dialog_end(dlg, SBC_DLG_NOT_ENDED, SBC_DLG_CALLER);
		break;
	}
}


void sbc_dialog_load(struct sbc_core *core)
{
	uint32_t slots = sbc_shm_slots(core->shm, SBC_TBL_DLG);
	uint64_t now = sbc_now_ms();
	uint32_t taken = 0;
	struct sbc_dlg *rec;

	rec = mem_alloc(sizeof(*rec), NULL);
	if (!rec) {
		sbc_error("cannot take the dialogs of the table back: %m",
			  ENOMEM);
		return;
	}

	for (uint32_t slot = 0; slot < slots; slot++) {
		struct pl callid;

		if (sbc_dlg_read_slot(core->shm, slot, now, rec))
			continue;

		pl_set_str(&callid, rec->call_id);
		if (sbc_core_owner(core, &callid) != core->index ||
		    sbc_dialog_find_callid(core, &callid))
			continue;

		take_over(core, rec);
		++taken;
	}

	mem_deref(rec);

	if (taken)
		sbc_notice("took %u dialog(s) back from the shared table",
			   taken);
}
