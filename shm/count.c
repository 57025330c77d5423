/*
 * Record counts, kept per writer and exact even when a writer is killed.
 *
 * Each writer counts its own inserts minus removals in its block, so that
 * counting never contends; a table's count is the sum over writers. But a
 * change to a slot and the count of it are two stores, and a writer may die
 * between them. So before a change that moves the count, the writer notes
 * in its block which slot it changes and the control word it will leave
 * there (tombstones carry the writer's index, so that word is its own); the
 * count word carries the sequence number of the last change counted. The
 * checker settles a dead writer's last change: if its slot still holds that
 * word, the change was made and is counted now.
 *
 * If another process changed the slot again before the checker ran, whether
 * the dead writer's change was made cannot be told: it is reported as
 * unsettled. That takes a key written by two processes at once; with
 * Call-ID affinity a key has one writer, whose keys wait for the checker.
 */

#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/ctl.h"


enum {
	SEQ_BITS = 24,
	SEQ_MASK = (1u << SEQ_BITS) - 1,
};


static int64_t count_records(uint64_t word)
{
	return (int64_t)word >> SEQ_BITS;
}


static uint32_t count_seq(uint64_t word)
{
	return (uint32_t)word & SEQ_MASK;
}


static uint64_t count_word(int64_t records, uint32_t seq)
{
	return (uint64_t)records << SEQ_BITS | (seq & SEQ_MASK);
}


/* The noted change: seq << 40 | slot << 8 | table << 1 | (delta < 0) */
static uint64_t pend_word(uint32_t seq, uint32_t slot, enum sbc_tbl tbl,
			  int delta)
{
	return (uint64_t)(seq & SEQ_MASK) << 40 | (uint64_t)slot << 8 |
		(uint64_t)tbl << 1 | (delta < 0);
}


static uint32_t pend_seq(uint64_t pend)
{
	return (uint32_t)(pend >> 40) & SEQ_MASK;
}


/* A new process on this index carries on from its predecessor's sequence. */
void sbc_count_resume(struct sbc_writer *w)
{
	w->seq = pend_seq(atomic_load(&w->blk->pend));
}


/* Note a change of `delta` records about to leave word `after` in slot. */
void sbc_count_begin(struct sbc_writer *w, enum sbc_tbl tbl, uint32_t slot,
		     uint64_t after, int delta)
{
	w->seq = (w->seq + 1) & SEQ_MASK;

	atomic_store_explicit(&w->blk->pend_ctl, after, memory_order_relaxed);
	atomic_store_explicit(&w->blk->pend,
			      pend_word(w->seq, slot, tbl, delta),
			      memory_order_release);
}


/* The noted change was made: count it. */
void sbc_count_commit(struct sbc_writer *w, enum sbc_tbl tbl, int delta)
{
	_Atomic uint64_t *count = &w->blk->count[tbl];
	uint64_t word = atomic_load_explicit(count, memory_order_relaxed);

	atomic_store_explicit(count,
			      count_word(count_records(word) + delta, w->seq),
			      memory_order_release);

	if (delta > 0)
		w->since_sum[tbl] += (uint32_t)delta;
}


/*
 * Settle the last change of dead writer `index`: count it if it was made
 * and not yet counted. Returns false when that cannot be told (see above);
 * the change is then left uncounted, and not looked at again.
 */
bool sbc_count_settle(struct sbc_shm *shm, uint32_t index)
{
	struct sbc_wblk *blk = sbc_shm_wblk(shm, index);
	uint64_t pend = atomic_load(&blk->pend);
	uint64_t after = atomic_load(&blk->pend_ctl);
	uint32_t seq = pend_seq(pend);
	uint32_t slot = (uint32_t)(pend >> 8);
	enum sbc_tbl tbl = (enum sbc_tbl)(pend >> 1 & 1);
	int delta = pend & 1 ? -1 : +1;
	uint64_t word = atomic_load(&blk->count[tbl]);
	uint64_t now;
	bool made, unmade;

	if (count_seq(word) == seq || slot >= shm->tbl[tbl].slots)
		return true;

	/* A removal leaves the slot at the version before it, an insert
	 * leaves it claimed by the dead writer, while neither is made. */
	now = atomic_load(&shm->tbl[tbl].ctl[slot]);
	made = now == after;
	unmade = sbc_ctl_ver(now) + 2 == sbc_ctl_ver(after) ||
		(sbc_ctl_busy(now) && sbc_ctl_writer(now) == index);

	atomic_store(&blk->count[tbl], count_word(count_records(word) +
						  (made ? delta : 0), seq));

	return made || unmade;
}


/* Records in a table: the sum of every writer's count. */
int64_t sbc_shm_count(const struct sbc_shm *shm, enum sbc_tbl tbl)
{
	uint32_t i, writers = sbc_shm_writers(shm);
	int64_t sum = 0;

	if (!shm || tbl >= SBC_TBL_COUNT)
		return 0;

	for (i = 0; i < writers; i++)
		sum += count_records(atomic_load_explicit(
			&sbc_shm_wblk(shm, i)->count[tbl],
			memory_order_relaxed));

	return sum;
}
