/*
 * What a worker knows of the backends: for each slot of the shared
 * backend table (shm/backend.h) that its configuration names, or that a
 * reload removed while calls were still on it, the address and the
 * configured backend it is. Rebuilt whenever the configuration changes;
 * the supervisor gave every backend its slot before the worker got it.
 *
 * A request from the core side is taken only from one of these
 * addresses, so a backend a reload removed can still end its calls.
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


static void view_destructor(void *arg)
{
	struct sbc_bk_view *v = arg;

	mem_deref(v->cur);
	mem_deref(v->rr);
}


static void view_mark_removed(struct sbc_bk_view *v, const struct sbc_shm *shm)
{
	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		const struct sbc_bk *bk = sbc_bk_slot(shm, i);

		if (v->slot[i].known ||
		    atomic_load(&bk->use) != SBC_BK_REMOVED ||
		    sbc_addr_get(&bk->addr, &v->slot[i].addr))
			continue;

		v->slot[i].known = true;
		v->slot[i].backend = -1;
	}
}


/* The view of the running configuration; the old one goes. */
int sbc_backend_apply(struct sbc_core *core)
{
	const struct sbc_config *cfg = core->cfg;
	struct sbc_bk_view *v;

	v = mem_zalloc(sizeof(*v), view_destructor);
	if (!v)
		return ENOMEM;

	v->rr  = mem_zalloc((cfg->set_count + 1) * sizeof(*v->rr), NULL);
	v->cur = mem_zalloc((cfg->backend_count + 1) * sizeof(*v->cur), NULL);
	if (!v->rr || !v->cur) {
		mem_deref(v);
		return ENOMEM;
	}

	for (uint32_t i = 0; i < cfg->backend_count; i++) {
		const struct sbc_backend_conf *b = &cfg->backends[i];
		uint16_t slot;

		v->by_backend[i] = SBC_BK_NONE;
		if (sbc_bk_find(core->shm, b->uri, &slot)) {
			sbc_warn("backend %s has no slot: not used", b->uri);
			continue;
		}

		v->by_backend[i] = slot;
		v->slot[slot].known = true;
		v->slot[slot].backend = (int32_t)i;
		v->slot[slot].addr = b->addr;
	}

	view_mark_removed(v, core->shm);

	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++) {
		if (v->slot[i].known)
			v->known[v->known_count++] = (uint16_t)i;
	}

	mem_deref(core->bk);
	core->bk = v;

	return 0;
}


/* Every request from the core side is checked here: only the slots in
 * use are looked at, not all SBC_BK_SLOTS. */
static bool slot_find(const struct sbc_bk_view *v, const struct sa *addr,
		      int flags, uint16_t *slotp)
{
	for (uint32_t k = 0; v && k < v->known_count; k++) {
		uint16_t i = v->known[k];

		if (sa_cmp(&v->slot[i].addr, addr, flags)) {
			if (slotp)
				*slotp = i;
			return true;
		}
	}

	return false;
}


/* Is `addr` a backend's (its IP, and its port if match_port)? Its slot:
 * the one with that port too if there is one, since several backends
 * may share a host. */
bool sbc_backend_find(const struct sbc_core *core, const struct sa *addr,
		      bool match_port, uint16_t *slotp)
{
	return slot_find(core->bk, addr, SA_ALL, slotp) ||
		(!match_port && slot_find(core->bk, addr, SA_ADDR, slotp));
}


/* The URI of a backend slot, for CDRs and logs (NULL if unknown). */
const char *sbc_backend_uri(const struct sbc_core *core, uint16_t slot)
{
	const struct sbc_bk *bk = sbc_bk_slot(core->shm, slot);

	return bk && atomic_load(&bk->use) != SBC_BK_FREE ? bk->uri : NULL;
}


/* Where a request to backend slot goes: addr, or the backend's own. */
int sbc_backend_dest(const struct sbc_core *core, uint16_t slot,
		     const struct sa *addr, struct sbc_dest *dst)
{
	const struct sbc_bk_view *v = core->bk;
	const struct sa *to;

	if (!v || slot >= SBC_BK_SLOTS || !v->slot[slot].known)
		return EINVAL;

	to = addr ? addr : &v->slot[slot].addr;

	dst->conn = 0;
	dst->tp   = SBC_TP_UDP;
	dst->addr = *to;

	return sbc_listener_find(core, SBC_SIDE_CORE, SBC_TP_UDP, sa_af(to),
				 &dst->listener);
}


static bool route_match(const struct sbc_route_conf *r,
			const struct sip_msg *msg)
{
	if (r->prefix && (msg->uri.user.l < strlen(r->prefix) ||
			  memcmp(msg->uri.user.p, r->prefix,
				 strlen(r->prefix))))
		return false;

	if (r->domain && pl_strcasecmp(&msg->uri.host, r->domain))
		return false;

	return true;
}


/* The set a new request goes to: the first route it matches, else the
 * first set. */
uint32_t sbc_backend_route(const struct sbc_core *core,
			   const struct sip_msg *msg)
{
	for (uint32_t i = 0; i < core->cfg->route_count; i++) {
		if (route_match(&core->cfg->routes[i], msg))
			return core->cfg->routes[i].set;
	}

	return 0;
}
