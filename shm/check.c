/*
 * The consistency checker (see check.h).
 *
 * It runs while workers keep writing, so it judges only what the table's
 * rules make certain: a busy slot whose writer is gone was left half-written
 * (its record is torn and cannot be saved: the slot becomes a tombstone); a
 * published record must be well-formed, carry its key's signature, be
 * reachable from its home slot and be the only copy of its key. Anything
 * else found is a bug, counted in `errors` and repaired so the table keeps
 * serving.
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


struct check {
	struct sbc_table *t;
	struct sbc_writer *w;
	struct sbc_check_report *rep;
	uint64_t now;
};


static bool owner_alive(const struct check *ck, uint64_t c)
{
	uint32_t index = sbc_ctl_writer(c);

	/* the checker itself is not writing: its own index is stale */
	return index != ck->w->index && sbc_writer_alive(ck->w->shm, index);
}


static void repair(const struct check *ck, uint32_t s, uint64_t c)
{
	if (sbc_table_remove(ck->t, ck->w, s, c, SBC_CHG_REPAIR))
		++ck->rep->errors;
}


/* An EMPTY slot inside a record's chain: a tombstone makes it whole. */
static void mend_chain(const struct check *ck, uint32_t s, uint64_t c)
{
	uint64_t tomb = sbc_ctl_make(sbc_ctl_ver(c) + 2, 0, 0, SBC_SLOT_TOMB);

	if (atomic_compare_exchange_strong(&ck->t->ctl[s], &c, tomb))
		++ck->rep->errors;
}


/* Is there another copy of rec's key between its home and slot s? */
static bool walk_chain(const struct check *ck, uint32_t s,
		       const struct sbc_tkey *tk)
{
	_Alignas(8) uint8_t other[SBC_REC_MAX];
	const struct sbc_table *t = ck->t;
	uint32_t j;

	for (j = sbc_table_home(t, tk); j != s; j = sbc_table_next(t, j)) {
		uint64_t c = atomic_load(&t->ctl[j]);

		if (sbc_ctl_state(c) == SBC_SLOT_EMPTY) {
			mend_chain(ck, j, c);
			continue;
		}

		if (sbc_ctl_state(c) != SBC_SLOT_LIVE || sbc_ctl_sig(c) != tk->sig)
			continue;

		if (!sbc_table_copy(t, j, &c, other) &&
		    sbc_ctl_sig(c) == tk->sig && t->ops->match(other, tk->key))
			return true;
	}

	return false;
}


static void check_record(const struct check *ck, uint32_t s, uint64_t c,
			 const void *rec)
{
	_Alignas(8) uint8_t keybuf[SBC_KEY_MAX];
	struct sbc_tkey tk;

	if (!ck->t->ops->valid(rec)) {
		repair(ck, s, c);
		return;
	}

	ck->t->ops->key_of(rec, &tk, keybuf);

	if (tk.sig != sbc_ctl_sig(c) || walk_chain(ck, s, &tk)) {
		repair(ck, s, c);
		return;
	}

	if (sbc_rec_expired(rec, ck->now))
		++ck->rep->expired;
	else
		++ck->rep->live;
}


static void check_slot(const struct check *ck, uint32_t s, void *rec)
{
	uint64_t c = atomic_load_explicit(&ck->t->ctl[s], memory_order_acquire);

	switch (sbc_ctl_state(c)) {

	case SBC_SLOT_EMPTY:
		return;

	case SBC_SLOT_TOMB:
		++ck->rep->tombs;
		return;

	case SBC_SLOT_NEW:
		if (!sbc_ctl_busy(c)) {
			repair(ck, s, c);
			return;
		}
		break;

	case SBC_SLOT_LIVE:
		break;
	}

	if (sbc_ctl_busy(c)) {
		if (owner_alive(ck, c))
			++ck->rep->busy;
		else if (sbc_table_remove(ck->t, ck->w, s, c, SBC_CHG_RECLAIM))
			++ck->rep->reclaimed;
		return;
	}

	if (sbc_table_copy(ck->t, s, &c, rec) == 0)
		check_record(ck, s, c, rec);
}


/* Count the last change of every writer that died (see count.c). */
static void settle_dead_writers(struct sbc_writer *w,
				struct sbc_check_report *rep)
{
	uint32_t index, writers = sbc_shm_writers(w->shm);

	for (index = 0; index < writers; index++) {

		if (index == w->index || sbc_writer_alive(w->shm, index))
			continue;

		if (!sbc_count_settle(w->shm, index))
			++rep->unsettled;
	}
}


/* Check every slot of every table; see check.h. */
int sbc_shm_check(struct sbc_writer *w, struct sbc_check_report *rep)
{
	_Alignas(8) uint8_t rec[SBC_REC_MAX];
	struct check ck;
	int i;

	if (!w || !rep)
		return EINVAL;

	memset(rep, 0, sizeof(*rep));
	settle_dead_writers(w, rep);

	ck.w   = w;
	ck.rep = rep;
	ck.now = sbc_now_ms();

	for (i = 0; i < SBC_TBL_COUNT; i++) {
		uint32_t s;

		ck.t = &w->shm->tbl[i];

		for (s = 0; s < ck.t->slots; s++)
			check_slot(&ck, s, rec);
	}

	return 0;
}
