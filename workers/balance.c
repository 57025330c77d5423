/*
 * Picking a backend of a set for a new request (DESIGN.md section 5).
 *
 * The candidates are the set's members that are up (probe.c), not tried
 * already by this call and, for a call, below their capacity; backup
 * members only when no other member is a candidate. Among them:
 *
 * - aor, call-id: weighted rendezvous hashing of the key against each
 *   backend's URI. The same key picks the same backend on every worker
 *   and every node with the same configuration, and a backend going down
 *   moves only its own keys;
 * - round-robin: each candidate in turn;
 * - weighted: smooth weighted round-robin, exact proportions with the
 *   picks of each backend spread out, not in bursts;
 * - least-loaded: the fewest calls relative to capacity (a member with no
 *   capacity counts against the largest capacity of its set).
 *
 * Round-robin state is this worker's: with calls spread over workers by
 * Call-ID, each worker's turns add up to the same proportions. A call
 * takes its place on the backend with a compare-and-swap against the
 * capacity (shm/backend.c); when another worker took the last place
 * first, the pick goes on to the next candidate.
 */

#include <math.h>
#include <string.h>
#include <re.h>
#include <xxhash.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/backend.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/balance.h"

/* The candidates of one pick: indices in cfg->backends. */
struct cands {
	uint32_t idx[SBC_BK_SLOTS];
	uint32_t n;
};


static struct sbc_bk *backend_slot(const struct sbc_core *core, uint32_t i)
{
	return sbc_bk_slot(core->shm, core->bk->by_backend[i]);
}


static bool usable(const struct sbc_core *core, const struct sbc_pick *p,
		   const struct sbc_bk_mask *skip, uint32_t i)
{
	const struct sbc_backend_conf *b = &core->cfg->backends[i];
	uint16_t slot = core->bk->by_backend[i];
	const struct sbc_bk *bk;

	if (slot == SBC_BK_NONE || sbc_bk_mask_has(skip, slot))
		return false;

	bk = sbc_bk_slot(core->shm, slot);
	if (!sbc_bk_up(bk, core->cfg->probe_interval > 0))
		return false;

	return !p->reserve || !b->capacity ||
		atomic_load(&bk->calls) < b->capacity;
}


static void cands_find(struct cands *c, const struct sbc_core *core,
		       const struct sbc_pick *p, const struct sbc_bk_mask *skip)
{
	const struct sbc_set_conf *set = &core->cfg->sets[p->set];

	for (int backup = 0; backup < 2 && !c->n; backup++) {
		for (uint32_t i = set->first; i < set->first + set->count;
		     i++) {
			if (core->cfg->backends[i].backup == (backup != 0) &&
			    usable(core, p, skip, i))
				c->idx[c->n++] = i;
		}
	}
}


/* w / -ln(u), u uniform in (0, 1) from the hash of key and the URI. */
static double rendezvous_score(const struct pl *key,
			       const struct sbc_backend_conf *b)
{
	uint64_t h = XXH3_64bits_withSeed(key->p, key->l,
					  hash_joaat_str(b->uri));
	double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;

	return (double)b->weight / -log(u);
}


static uint32_t by_hash(const struct sbc_core *core, const struct cands *c,
			const struct pl *key)
{
	uint32_t best = 0;
	double top = -1.0;

	for (uint32_t k = 0; k < c->n; k++) {
		double s = rendezvous_score(key,
					    &core->cfg->backends[c->idx[k]]);

		if (s > top) {
			top = s;
			best = k;
		}
	}

	return best;
}


static uint32_t by_weight(struct sbc_core *core, const struct cands *c)
{
	int64_t *cur = core->bk->cur, total = 0;
	uint32_t best = 0;

	for (uint32_t k = 0; k < c->n; k++) {
		uint32_t i = c->idx[k];

		cur[i] += core->cfg->backends[i].weight;
		total  += core->cfg->backends[i].weight;
		if (cur[i] > cur[c->idx[best]])
			best = k;
	}

	cur[c->idx[best]] -= total;

	return best;
}


static uint32_t capacity_of(const struct sbc_core *core, uint32_t set,
			    uint32_t i)
{
	const struct sbc_set_conf *s = &core->cfg->sets[set];
	uint32_t cap = core->cfg->backends[i].capacity;

	for (uint32_t k = s->first; !cap && k < s->first + s->count; k++) {
		if (core->cfg->backends[k].capacity > cap)
			cap = core->cfg->backends[k].capacity;
	}

	return cap ? cap : 1;
}


/* Fewest calls per place; ties go round-robin. */
static uint32_t by_load(struct sbc_core *core, const struct sbc_pick *p,
			const struct cands *c)
{
	uint64_t start = core->bk->rr[p->set]++;
	uint32_t best = (uint32_t)(start % c->n);
	uint64_t bcalls = atomic_load(&backend_slot(core, c->idx[best])->calls);
	uint64_t bcap = capacity_of(core, p->set, c->idx[best]);

	for (uint32_t j = 1; j < c->n; j++) {
		uint32_t k = (uint32_t)((start + j) % c->n);
		uint64_t calls = atomic_load(&backend_slot(core,
							   c->idx[k])->calls);
		uint64_t cap = capacity_of(core, p->set, c->idx[k]);

		if (calls * bcap < bcalls * cap) {
			best = k;
			bcalls = calls;
			bcap = cap;
		}
	}

	return best;
}


static uint32_t choose(struct sbc_core *core, const struct sbc_pick *p,
		       const struct cands *c)
{
	enum sbc_algorithm alg = p->by_aor ? SBC_ALG_AOR :
		core->cfg->sets[p->set].algorithm;

	switch (alg) {

	case SBC_ALG_AOR:
		return by_hash(core, c, &p->aor);

	case SBC_ALG_CALL_ID:
		return by_hash(core, c, &p->callid);

	case SBC_ALG_WEIGHTED:
		return by_weight(core, c);

	case SBC_ALG_LEAST_LOADED:
		return by_load(core, p, c);

	default:
		return (uint32_t)(core->bk->rr[p->set]++ % c->n);
	}
}


/* The key that ties a caller to one backend: its AOR, user@host. */
int sbc_pick_aor_print(struct re_printf *pf, const struct sip_msg *msg)
{
	return re_hprintf(pf, "%r@%r", &msg->from.uri.user,
			  &msg->from.uri.host);
}


/*
 * The backend slot for a new request; with p->reserve, a place on it
 * is taken (release it with sbc_bk_release). ENOENT when no member of
 * the set can take it.
 */
int sbc_backend_pick(struct sbc_core *core, const struct sbc_pick *p,
		     uint16_t *slotp)
{
	struct sbc_bk_mask skip;
	uint32_t writer = sbc_writer_index(core->w);

	if (!core->bk || p->set >= core->cfg->set_count)
		return ENOENT;

	if (p->skip)
		skip = *p->skip;
	else
		memset(&skip, 0, sizeof(skip));

	for (;;) {
		struct cands c = {.n = 0};
		uint32_t i;
		uint16_t slot;

		cands_find(&c, core, p, &skip);
		if (!c.n)
			return ENOENT;

		i = c.idx[choose(core, p, &c)];
		slot = core->bk->by_backend[i];

		if (!p->reserve ||
		    sbc_bk_reserve(sbc_bk_slot(core->shm, slot), writer,
				   core->cfg->backends[i].capacity)) {
			*slotp = slot;
			return 0;
		}

		sbc_bk_mask_add(&skip, slot);    /* its last place went */
	}
}
