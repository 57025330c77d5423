/*
 * The supervisor gives every backend of a configuration its slot in the
 * shared segment (shm/backend.h), at start and before a reloaded
 * configuration reaches any worker: a backend found by its URI keeps its
 * slot, state and calls; a new one gets a free slot, starting up; one the
 * configuration no longer names is removed and lingers while its calls
 * last.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/backend.h"
#include "cfg/config.h"
#include "daemon/backends.h"


/* Slots free for new backends once `keep` is kept. */
static uint32_t slots_free(struct sbc_shm *shm, const bool *keep)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		const struct sbc_bk *bk = sbc_bk_slot(shm, i);
		uint32_t use = atomic_load(&bk->use);

		if (!keep[i] && (use == SBC_BK_FREE ||
				 (use == SBC_BK_REMOVED &&
				  !atomic_load(&bk->calls))))
			++n;
	}

	return n;
}


/*
 * ENOSPC when the new backends outnumber the free slots (backends removed
 * by earlier reloads still hold calls): nothing is changed then.
 */
int sbc_backends_assign(struct sbc_shm *shm, const struct sbc_config *cfg)
{
	bool keep[SBC_BK_SLOTS] = {false};
	uint32_t fresh = 0;

	for (uint32_t i = 0; i < cfg->backend_count; i++) {
		uint16_t slot;

		if (sbc_bk_find(shm, cfg->backends[i].uri, &slot))
			++fresh;
		else
			keep[slot] = true;
	}

	if (fresh > slots_free(shm, keep)) {
		sbc_error("%u new backends, but only %u backend slots are "
			  "free: backends removed earlier still hold calls",
			  fresh, slots_free(shm, keep));
		return ENOSPC;
	}

	sbc_bk_retire(shm, keep);

	for (uint32_t i = 0; i < cfg->backend_count; i++) {
		const struct sbc_backend_conf *b = &cfg->backends[i];
		uint16_t slot;
		int err;

		if (!sbc_bk_find(shm, b->uri, &slot)) {
			atomic_store(&sbc_bk_slot(shm, slot)->use,
				     SBC_BK_CONFIGURED);
			continue;
		}

		err = sbc_bk_claim(shm, b->uri, &b->addr, &slot);
		if (err)
			return err;
	}

	return 0;
}
