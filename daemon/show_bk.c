/*
 * sbcctl backends (see show.h): one row per backend of every set of the
 * running configuration, then the backends a reload removed that still
 * hold calls. State, calls, attempts and failures, probe results: all
 * read from the backend slots in shared memory (shm/backend.h).
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/backend.h"
#include "daemon/control.h"
#include "daemon/pool.h"
#include "cfg/json.h"
#include "daemon/texttab.h"
#include "daemon/show.h"

static const char *const heads[] = {"set", "backend", "state", "calls",
				    "capacity", "weight", "attempts",
				    "failures", "last_probe", "rtt",
				    "probe_failures"};

/* One row: the set and member it is (NULL for a removed backend). */
struct row {
	const struct sbc_set_conf *set;
	const struct sbc_backend_conf *b;
	const struct sbc_bk *bk;
	bool up;
	uint64_t now;
};


static const char *state_name(const struct row *r)
{
	if (!r->b)
		return r->up ? "removed, up" : "removed, down";

	return r->up ? "up" : "down";
}


static int row_text(struct sbc_texttab *tab, const struct row *r)
{
	const struct sbc_bk *bk = r->bk;
	uint64_t last = atomic_load(&bk->last_probe);
	int err = 0;

	err |= sbc_texttab_cell(tab, "%s", r->set ? r->set->name : "-");
	err |= sbc_texttab_cell(tab, "%s%s", bk->uri,
				r->b && r->b->backup ? " (backup)" : "");
	err |= sbc_texttab_cell(tab, "%s", state_name(r));
	err |= sbc_texttab_cell(tab, "%u", atomic_load(&bk->calls));
	if (r->b && r->b->capacity)
		err |= sbc_texttab_cell(tab, "%u", r->b->capacity);
	else
		err |= sbc_texttab_cell(tab, "-");
	err |= sbc_texttab_cell(tab, "%u", r->b ? r->b->weight : 0);
	err |= sbc_texttab_cell(tab, "%llu", (unsigned long long)
				atomic_load(&bk->attempts));
	err |= sbc_texttab_cell(tab, "%llu", (unsigned long long)
				atomic_load(&bk->failures));
	if (last)
		err |= sbc_texttab_cell(tab, "%.1fs ago %u", r->now > last ?
					(double)(r->now - last) / 1000.0 : 0.0,
					atomic_load(&bk->last_code));
	else
		err |= sbc_texttab_cell(tab, "-");
	if (atomic_load(&bk->probes) > atomic_load(&bk->probe_failures))
		err |= sbc_texttab_cell(tab, "%.2f ms", (double)atomic_load(
						&bk->rtt_us) / 1000.0);
	else
		err |= sbc_texttab_cell(tab, "-");
	err |= sbc_texttab_cell(tab, "%llu", (unsigned long long)
				atomic_load(&bk->probe_failures));

	return err;
}


/* A number, or null when unset (a %H handler). */
static int opt_u32(struct re_printf *pf, void *arg)
{
	const uint32_t *v = arg;

	return v ? re_hprintf(pf, "%u", *v) : re_hprintf(pf, "null");
}


static int probe_json(struct re_printf *pf, const struct row *r)
{
	const struct sbc_bk *bk = r->bk;
	uint64_t last = atomic_load(&bk->last_probe);
	uint32_t code = atomic_load(&bk->last_code);
	int err;

	err = re_hprintf(pf, "\"probes\":%llu,\"probe_failures\":%llu,",
			 (unsigned long long)atomic_load(&bk->probes),
			 (unsigned long long)atomic_load(&bk->probe_failures));
	if (!last)
		return err | re_hprintf(pf, "\"last_probe\":null,"
					"\"rtt_ms\":null,\"last_code\":null");

	err |= re_hprintf(pf, "\"last_probe\":%.3f,\"last_code\":%u,",
			  r->now > last ? (double)(r->now - last) / 1000.0 :
			  0.0, code);
	if (atomic_load(&bk->probes) > atomic_load(&bk->probe_failures))
		return err | re_hprintf(pf, "\"rtt_ms\":%.3f", (double)
					atomic_load(&bk->rtt_us) / 1000.0);

	return err | re_hprintf(pf, "\"rtt_ms\":null");
}


static int row_json_print(struct re_printf *pf, void *arg)
{
	const struct row *r = arg;
	const struct sbc_bk *bk = r->bk;
	int err;

	err = re_hprintf(pf, "{\"set\":");
	err |= r->set ? sbc_json_str(pf, r->set->name) :
		re_hprintf(pf, "null");
	err |= re_hprintf(pf, ",\"uri\":%H,\"state\":\"%s\",\"in_config\":%s,"
			  "\"weight\":%H,\"capacity\":%H,\"backup\":%s,"
			  "\"calls\":%u,\"attempts\":%llu,\"failures\":%llu,",
			  sbc_json_str, bk->uri, r->up ? "up" : "down",
			  r->b ? "true" : "false",
			  opt_u32, r->b ? &r->b->weight : NULL,
			  opt_u32, r->b && r->b->capacity ?
			  &r->b->capacity : NULL,
			  r->b && r->b->backup ? "true" : "false",
			  atomic_load(&bk->calls),
			  (unsigned long long)atomic_load(&bk->attempts),
			  (unsigned long long)atomic_load(&bk->failures));
	err |= probe_json(pf, r);

	return err | re_hprintf(pf, "}");
}


static int row_add(struct sbc_ctl_reply *rep, struct sbc_texttab *tab,
		   const struct row *r, unsigned *n)
{
	if (tab) {
		++*n;
		return row_text(tab, r);
	}

	return mbuf_printf(rep->body, "%s%H", (*n)++ ? "," : "",
			   row_json_print, r);
}


static int rows(struct sbc_ctl_reply *rep, struct sbc_texttab *tab,
		const struct sbc_show *s)
{
	const struct sbc_config *cfg = s->cfg;
	const bool probing = cfg->probe_interval > 0;
	struct row r = {.now = sbc_now_ms()};
	unsigned n = 0;
	int err = 0;

	for (uint32_t i = 0; i < cfg->backend_count && !err; i++) {
		uint16_t slot;

		if (sbc_bk_find(s->shm, cfg->backends[i].uri, &slot))
			continue;

		r.b   = &cfg->backends[i];
		r.set = &cfg->sets[r.b->set];
		r.bk  = sbc_bk_slot(s->shm, slot);
		r.up  = sbc_bk_up(r.bk, probing);
		err = row_add(rep, tab, &r, &n);
	}

	r.b = NULL;
	r.set = NULL;
	for (uint32_t i = 0; i < SBC_BK_SLOTS && !err; i++) {
		r.bk = sbc_bk_slot(s->shm, i);
		if (atomic_load(&r.bk->use) != SBC_BK_REMOVED ||
		    !atomic_load(&r.bk->calls))
			continue;
		r.up = sbc_bk_up(r.bk, probing);
		err = row_add(rep, tab, &r, &n);
	}

	return err;
}


void sbc_show_backends(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		       bool json)
{
	struct sbc_texttab *tab = NULL;
	int err;

	if (json)
		err = mbuf_printf(rep->body, "[");
	else
		err = sbc_texttab_alloc(&tab, heads, ARRAY_SIZE(heads));
	if (!err)
		err = rows(rep, tab, s);

	if (!err && json)
		err = mbuf_printf(rep->body, "]\n");
	else if (!err)
		err = mbuf_printf(rep->body, "%H", sbc_texttab_print, tab);

	mem_deref(tab);

	if (err) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note),
				  "cannot build the answer: %m", err);
	}
}
