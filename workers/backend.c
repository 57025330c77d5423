/*
 * The backend set, as far as this version goes: a list of addresses,
 * reached over UDP from the core side. A user always reaches the same
 * backend (hash of its AOR), so its registration and its calls meet on the
 * backend that knows it. Algorithms, probing and failover come with the
 * backend issue.
 */

#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"


int sbc_backend_pick(const struct sbc_core *core, const struct pl *key,
		     uint16_t *idxp)
{
	if (!core->cfg->backend_count)
		return ENOENT;

	*idxp = (uint16_t)(hash_joaat_pl_ci(key) % core->cfg->backend_count);

	return 0;
}


/* Is `addr` a backend's address (its IP, and its port if match_port)? */
bool sbc_backend_find(const struct sbc_core *core, const struct sa *addr,
		      bool match_port, uint16_t *idxp)
{
	for (uint32_t i = 0; i < core->cfg->backend_count; i++) {
		if (sa_cmp(&core->cfg->backends[i].addr, addr,
			   match_port ? SA_ALL : SA_ADDR)) {
			if (idxp)
				*idxp = (uint16_t)i;
			return true;
		}
	}

	return false;
}


/* Where a request to backend idx goes: addr, or the backend's own. */
int sbc_backend_dest(const struct sbc_core *core, uint16_t idx,
		     const struct sa *addr, struct sbc_dest *dst)
{
	const struct sa *to;

	if (idx >= core->cfg->backend_count)
		return EINVAL;

	to = addr ? addr : &core->cfg->backends[idx].addr;

	dst->conn = 0;
	dst->tp   = SBC_TP_UDP;
	dst->addr = *to;

	return sbc_listener_find(core, SBC_SIDE_CORE, SBC_TP_UDP, sa_af(to),
				 &dst->listener);
}
