/*
 * An initial INVITE to a backend set, backend after backend (DESIGN.md
 * section 5).
 *
 * The first backend is picked by the set's algorithm with a place taken
 * within its capacity (balance.c). When that branch fails over (a final
 * in failover.codes, or no response at all within failover.timeout),
 * txn.c asks for the next one: the same pick, skipping every backend
 * this call tried, at most failover.attempts backends in all. Serial, so
 * the backends never see the call twice at once. A CANCEL stops it; when
 * none is left the caller gets 503.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/backend.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "workers/txn.h"

struct sbc_failover {
	uint32_t set;
	uint32_t attempts;
	struct sbc_bk_mask tried;
	struct sbc_fwd fwd;          /* of every branch but rr_backend */
};


/* Pick the next backend and start the branch; ENOENT when none is left
 * (cancelled, attempts used up, no backend of the set can take it). */
int sbc_failover_next(struct sbc_stx *stx)
{
	struct sbc_failover *fo = stx->fo;
	struct sbc_core *core = stx->core;
	const struct sip_msg *msg = stx->in.msg;
	struct sbc_pick pick = {.set = 0};
	struct sbc_dest dst;
	struct sbc_fwd fwd;
	char aor[256];
	uint16_t slot;
	int err;

	if (!fo || stx->cancelled ||
	    fo->attempts >= core->cfg->failover_attempts)
		return ENOENT;

	if (re_snprintf(aor, sizeof(aor), "%H", sbc_pick_aor_print, msg) < 0)
		aor[0] = '\0';

	pick.set     = fo->set;
	pick.callid  = msg->callid;
	pick.reserve = true;
	pick.skip    = &fo->tried;
	pl_set_str(&pick.aor, aor);

	err = sbc_backend_pick(core, &pick, &slot);
	if (err)
		return err;

	sbc_bk_mask_add(&fo->tried, slot);
	++fo->attempts;

	err = sbc_backend_dest(core, slot, NULL, &dst);
	if (err) {
		sbc_bk_release(sbc_bk_slot(core->shm, slot),
			       sbc_writer_index(core->w));
		return err;
	}

	fwd = fo->fwd;
	fwd.rr_user    = &stx->in.src;
	fwd.rr_backend = slot;

	return sbc_txn_branch_backend(stx, &dst, &fwd, slot);
}


/*
 * Give stx (a new INVITE from the access side) its set and the way its
 * branches are printed, and start the first. ENOENT: no backend of the
 * set can take the call (the caller answers 503).
 */
int sbc_failover_start(struct sbc_stx *stx, uint32_t set,
		       const struct sbc_fwd *fwd)
{
	int err;

	stx->fo = mem_zalloc(sizeof(*stx->fo), NULL);
	if (!stx->fo)
		return ENOMEM;

	stx->fo->set = set;
	stx->fo->fwd = *fwd;

	err = sbc_failover_next(stx);
	while (err && err != ENOENT && stx->fo->attempts <
	       stx->core->cfg->failover_attempts)
		err = sbc_failover_next(stx);    /* that one could not start */

	return err;
}
