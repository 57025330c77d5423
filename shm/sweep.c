/*
 * The maintenance sweep: expiry and tombstone compaction.
 *
 * Readers already ignore expired records; the sweep gives their slots back,
 * and turns tombstones back into EMPTY slots so that probes stay short. Each
 * call looks at a bounded number of slots, continuing where the last one
 * stopped, so a full table never makes one call long.
 *
 * Compaction is the only change that shortens a chain, so it follows two
 * rules of its own, and only one process (the supervisor) may run it:
 *
 * - A tombstone may become EMPTY only if the slot after it is still EMPTY
 *   once the change is made: then no record's chain runs through it. An
 *   insert that claims the next slot at that moment is seen by that second
 *   look (both sides use sequentially consistent operations) and the
 *   tombstone is put back; the insert, for its part, sees the EMPTY slot
 *   before its own and starts over.
 * - The table's generation is odd while slots are being compacted, so a
 *   reader whose probe was cut short by a moment's EMPTY looks again.
 *
 * Runs of tombstones are compacted backwards from the EMPTY slot that ends
 * them, each one making the one before it eligible.
 */

#include <string.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/check.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/ctl.h"
#include "shm/table.h"


static void expire_slot(const struct sbc_table *t, struct sbc_writer *w,
			uint32_t s, uint64_t c, uint64_t now,
			struct sbc_sweep_report *rep)
{
	uint64_t expires;

	memcpy(&expires, sbc_table_rec(t, s), sizeof(expires));
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&t->ctl[s], memory_order_relaxed) != c)
		return;

	if (expires > now)
		return;

	if (sbc_table_remove(t, w, s, c, SBC_CHG_EXPIRE))
		++rep->expired;
}


/* Turn tombstone j back to EMPTY if its successor stays EMPTY. */
static bool compact_slot(const struct sbc_table *t, uint32_t j)
{
	uint64_t c = atomic_load(&t->ctl[j]);
	uint64_t empty, after;

	if (sbc_ctl_state(c) != SBC_SLOT_TOMB)
		return false;

	empty = sbc_ctl_make(sbc_ctl_ver(c) + 2, 0, 0, SBC_SLOT_EMPTY);
	if (!atomic_compare_exchange_strong(&t->ctl[j], &c, empty))
		return false;

	after = atomic_load(&t->ctl[sbc_table_next(t, j)]);
	if (sbc_ctl_state(after) == SBC_SLOT_EMPTY)
		return true;

	/* an insert claimed the next slot meanwhile: keep its chain whole */
	atomic_compare_exchange_strong(&t->ctl[j], &empty,
				       sbc_ctl_tomb(empty, 0));

	return false;
}


/* Compact the run of tombstones that ends just before EMPTY slot e. */
static uint32_t compact_before(const struct sbc_table *t, uint32_t e,
			       uint32_t budget, struct sbc_sweep_report *rep)
{
	uint32_t j = sbc_table_prev(t, e);
	uint32_t n = 0;

	if (sbc_ctl_state(atomic_load(&t->ctl[j])) != SBC_SLOT_TOMB)
		return 0;

	atomic_fetch_add(&t->hdr->gen, 1);

	while (n < budget && j != e && compact_slot(t, j)) {
		++rep->compacted;
		++n;
		j = sbc_table_prev(t, j);
	}

	atomic_fetch_add(&t->hdr->gen, 1);

	return n;
}


/*
 * Sweep at most `budget` slots of one table. Single caller: the process
 * that runs the checker too.
 */
int sbc_shm_sweep(struct sbc_writer *w, enum sbc_tbl tbl, uint64_t now,
		  uint32_t budget, struct sbc_sweep_report *rep)
{
	const struct sbc_table *t;
	uint32_t s, n;

	if (!w || tbl >= SBC_TBL_COUNT || !rep)
		return EINVAL;

	memset(rep, 0, sizeof(*rep));
	t = &w->shm->tbl[tbl];
	s = w->sweep_pos[tbl] % t->slots;

	for (n = 0; n < budget && n < t->slots; n++, s = sbc_table_next(t, s)) {
		uint64_t c = atomic_load_explicit(&t->ctl[s],
						  memory_order_acquire);

		++rep->scanned;

		switch (sbc_ctl_state(c)) {

		case SBC_SLOT_LIVE:
			if (!sbc_ctl_busy(c))
				expire_slot(t, w, s, c, now, rep);
			break;

		case SBC_SLOT_EMPTY:
			n += compact_before(t, s, budget - n, rep);
			break;

		default:
			break;
		}
	}

	w->sweep_pos[tbl] = s;

	return 0;
}
