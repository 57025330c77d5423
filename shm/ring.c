/*
 * Change rings (see ring.h).
 *
 * One producer per ring, the writer that owns it, so appending is two
 * stores and a release; any number of followers read without writing. An
 * entry's tag carries its position, so a follower that was lapped while it
 * read an entry sees the tag change and learns it fell behind.
 */

#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"


static uint64_t ring_tag(uint64_t pos, enum sbc_tbl tbl, enum sbc_chg_kind kind)
{
	return (pos + 1) << 8 | (uint64_t)tbl << 4 | (uint64_t)kind;
}


void sbc_ring_append(struct sbc_writer *w, enum sbc_tbl tbl, uint32_t slot,
		     uint32_t version, enum sbc_chg_kind kind)
{
	struct sbc_wblk *blk = w->blk;
	uint64_t pos = atomic_load_explicit(&blk->head, memory_order_relaxed);
	struct sbc_ring_ent *e;

	e = &blk->ring[pos & (w->shm->hdr->ring_size - 1)];

	atomic_store_explicit(&e->tag, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->data, (uint64_t)slot << 32 | version,
			      memory_order_relaxed);
	atomic_store_explicit(&e->tag, ring_tag(pos, tbl, kind),
			      memory_order_release);
	atomic_store_explicit(&blk->head, pos + 1, memory_order_release);
}


/* Follow a writer's ring from now on: earlier changes are in the tables. */
void sbc_ring_follow(struct sbc_ring_reader *rd, const struct sbc_shm *shm,
		     uint32_t writer)
{
	rd->writer = writer;
	rd->pos = 0;

	if (writer < sbc_shm_writers(shm))
		rd->pos = atomic_load_explicit(&sbc_shm_wblk(shm, writer)->head,
					       memory_order_acquire);
}


/*
 * Take the follower's next change. Returns 0 with it, ENOENT when there is
 * none yet, EOVERFLOW when changes were lost because the follower fell a
 * whole ring behind: it now follows from the head and must resynchronise
 * from the tables.
 */
int sbc_ring_next(struct sbc_ring_reader *rd, const struct sbc_shm *shm,
		  struct sbc_change *chg)
{
	const struct sbc_wblk *blk;
	const struct sbc_ring_ent *e;
	uint64_t head, tag, data;
	uint32_t size;

	if (!rd || !shm || !chg || rd->writer >= sbc_shm_writers(shm))
		return EINVAL;

	blk  = sbc_shm_wblk(shm, rd->writer);
	size = shm->hdr->ring_size;
	head = atomic_load_explicit(&blk->head, memory_order_acquire);

	if (rd->pos == head)
		return ENOENT;

	if (head - rd->pos > size)
		goto lost;

	e = &blk->ring[rd->pos & (size - 1)];
	tag  = atomic_load_explicit(&e->tag, memory_order_acquire);
	data = atomic_load_explicit(&e->data, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);

	if (tag >> 8 != rd->pos + 1 ||
	    atomic_load_explicit(&e->tag, memory_order_relaxed) != tag)
		goto lost;

	chg->slot    = (uint32_t)(data >> 32);
	chg->version = (uint32_t)data;
	chg->table   = (uint8_t)(tag >> 4 & 0xf);
	chg->kind    = (uint8_t)(tag & 0xf);
	++rd->pos;

	return 0;

 lost:
	rd->pos = head;
	return EOVERFLOW;
}


const char *sbc_chg_name(enum sbc_chg_kind kind)
{
	switch (kind) {

	case SBC_CHG_INSERT:  return "insert";
	case SBC_CHG_UPDATE:  return "update";
	case SBC_CHG_DELETE:  return "delete";
	case SBC_CHG_EXPIRE:  return "expire";
	case SBC_CHG_RECLAIM: return "reclaim";
	case SBC_CHG_REPAIR:  return "repair";
	default:              return "?";
	}
}
