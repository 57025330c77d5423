/*
 * Backend slots (see backend.h).
 */

#include <string.h>
#include <re.h>
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/backend.h"


struct sbc_bk *sbc_bk_slot(const struct sbc_shm *shm, uint32_t slot)
{
	if (!shm || slot >= SBC_BK_SLOTS)
		return NULL;

	return (struct sbc_bk *)(shm->base + shm->hdr->bk_off +
				 (uint64_t)slot * shm->hdr->bk_size);
}


/* The slot in use (configured or removed) whose URI is uri. */
int sbc_bk_find(const struct sbc_shm *shm, const char *uri, uint16_t *slotp)
{
	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		const struct sbc_bk *bk = sbc_bk_slot(shm, i);

		if (atomic_load(&bk->use) != SBC_BK_FREE &&
		    !strcmp(bk->uri, uri)) {
			*slotp = (uint16_t)i;
			return 0;
		}
	}

	return ENOENT;
}


/* The supervisor: a free slot for a new backend, starting up with no
 * history. ENOSPC when all are taken. */
int sbc_bk_claim(struct sbc_shm *shm, const char *uri, const struct sa *addr,
		 uint16_t *slotp)
{
	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		struct sbc_bk *bk = sbc_bk_slot(shm, i);
		int err;

		if (atomic_load(&bk->use) != SBC_BK_FREE)
			continue;

		memset(bk, 0, shm->hdr->bk_size);
		err = SBC_FIELD_SET_STR(bk->uri, uri);
		if (!err)
			err = sbc_addr_set(&bk->addr, addr);
		if (err)
			return err;

		atomic_store(&bk->use, SBC_BK_CONFIGURED);
		*slotp = (uint16_t)i;
		return 0;
	}

	return ENOSPC;
}


/* The supervisor, at a reload: every slot in use that keep[] does not
 * name is removed; one removed earlier whose calls all ended is free. */
void sbc_bk_retire(struct sbc_shm *shm, const bool *keep)
{
	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		struct sbc_bk *bk = sbc_bk_slot(shm, i);
		uint32_t use = atomic_load(&bk->use);

		if (keep[i] || use == SBC_BK_FREE)
			continue;

		if (use == SBC_BK_CONFIGURED)
			atomic_store(&bk->use, SBC_BK_REMOVED);
		else if (!atomic_load(&bk->calls))
			atomic_store(&bk->use, SBC_BK_FREE);
	}
}


/* Take a place for one call: false when capacity (0: none) is reached. */
bool sbc_bk_reserve(struct sbc_bk *bk, uint32_t writer, uint32_t capacity)
{
	uint32_t calls = atomic_load(&bk->calls);

	if (writer >= SBC_SHM_WRITERS_MAX)
		return false;

	do {
		if (capacity && calls >= capacity)
			return false;
	} while (!atomic_compare_exchange_weak(&bk->calls, &calls, calls + 1));

	atomic_fetch_add(&bk->held[writer], 1);

	return true;
}


void sbc_bk_release(struct sbc_bk *bk, uint32_t writer)
{
	if (writer >= SBC_SHM_WRITERS_MAX || !atomic_load(&bk->held[writer]))
		return;

	atomic_fetch_sub(&bk->held[writer], 1);
	atomic_fetch_sub(&bk->calls, 1);
}


/*
 * A writer starting again gives back what its previous incarnation held:
 * the calls it takes over from the dialog table are reserved again one by
 * one. A writer killed between the two steps of sbc_bk_reserve() leaves
 * one call counted too many, never one too few: capacity is never passed.
 */
void sbc_bk_writer_reset(struct sbc_shm *shm, uint32_t writer)
{
	if (writer >= SBC_SHM_WRITERS_MAX)
		return;

	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		struct sbc_bk *bk = sbc_bk_slot(shm, i);
		uint32_t held = atomic_exchange(&bk->held[writer], 0);

		if (held)
			atomic_fetch_sub(&bk->calls, held);
	}
}


/* A probe's outcome; true when it turned the backend up or down. */
bool sbc_bk_probed(struct sbc_bk *bk, const struct sbc_bk_probe *p,
		   uint64_t now)
{
	bool down = atomic_load(&bk->down);

	atomic_fetch_add(&bk->probes, 1);
	atomic_store(&bk->last_code, p->code);
	atomic_store(&bk->last_probe, now);

	if (p->alive) {
		atomic_store(&bk->rtt_us, p->rtt_us);
		atomic_store(&bk->fail_run, 0);
		if (atomic_fetch_add(&bk->ok_run, 1) + 1 >= p->up_after &&
		    down) {
			atomic_store(&bk->down, 0);
			return true;
		}
		return false;
	}

	atomic_fetch_add(&bk->probe_failures, 1);
	atomic_store(&bk->ok_run, 0);
	if (atomic_fetch_add(&bk->fail_run, 1) + 1 >= p->down_after &&
	    !down) {
		atomic_store(&bk->down, 1);
		return true;
	}

	return false;
}
