/*
 * sbcctl registrations [AOR] (see show.h): the live bindings of the
 * shared registration table.
 *
 * Without an AOR every slot of the table is read (sbc_reg_read_slot, which
 * skips free, deleted, expired and busy slots); with one, the table's own
 * lookup finds that AOR's bindings. The AOR is stored as the registrar
 * normalised it, `user@host` without a scheme, so `sip:` or `sips:` in the
 * request is dropped.
 *
 * Every string of a binding came from the network: JSON escapes it, text
 * shows anything unprintable as \xNN (texttab.c). The answer is bounded:
 * at most ROWS_MAX bindings are listed, and the note says how many more
 * there were. Reading every slot of a large table takes a while (about a
 * second for ten million slots), during which the supervisor does nothing
 * else; workers do not wait on it.
 */

#include <string.h>
#include <strings.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/reg.h"
#include "shm/backend.h"
#include "daemon/control.h"
#include "daemon/pool.h"
#include "cfg/json.h"
#include "daemon/texttab.h"
#include "daemon/show.h"

enum {
	ROWS_MAX = 10000,
	AOR_BINDINGS_MAX = 256,
	TEXT_SIZE = 64,
};

struct out {
	struct sbc_ctl_reply *rep;
	struct sbc_texttab *tab;       /* text; NULL for JSON */
	const struct sbc_shm *shm;     /* the backend slots */
	uint64_t now;
	uint32_t rows;
	uint32_t more;                 /* bindings beyond ROWS_MAX */
};

static const char *const heads[] = {"aor", "contact", "source", "transport",
				    "conn", "expires", "backend",
				    "user_agent"};


/* The binding's own short texts: source, connection, backend. */
struct reg_text {
	char source[TEXT_SIZE];
	char conn[TEXT_SIZE];
	char backend[TEXT_SIZE];
	const char *backend_uri;       /* NULL: not a configured backend */
	uint64_t expires;              /* seconds left */
};


static void reg_text(struct reg_text *t, const struct out *o,
		     const struct sbc_reg *r)
{
	const struct sbc_bk *bk;
	struct sa sa;

	if (sbc_addr_get(&r->source, &sa) ||
	    re_snprintf(t->source, sizeof(t->source), "%J", &sa) < 0)
		str_ncpy(t->source, "-", sizeof(t->source));

	if (!r->conn ||
	    re_snprintf(t->conn, sizeof(t->conn), "0x%016llx",
			(unsigned long long)r->conn) < 0)
		str_ncpy(t->conn, "-", sizeof(t->conn));

	bk = sbc_bk_slot(o->shm, r->backend);
	t->backend_uri = bk && atomic_load(&bk->use) != SBC_BK_FREE ?
		bk->uri : NULL;
	if (re_snprintf(t->backend, sizeof(t->backend), "#%u",
			r->backend) < 0)
		str_ncpy(t->backend, "?", sizeof(t->backend));

	t->expires = r->expires > o->now ? (r->expires - o->now + 999) / 1000 :
		0;
}


static int row_text(struct out *o, const struct sbc_reg *r,
		    const struct reg_text *t)
{
	struct sbc_texttab *tab = o->tab;
	int err = 0;

	err |= sbc_texttab_cell(tab, "%s", r->aor);
	err |= sbc_texttab_cell(tab, "%s", r->contact);
	err |= sbc_texttab_cell(tab, "%s", t->source);
	err |= sbc_texttab_cell(tab, "%s", sbc_transport_name(
					(enum sbc_transport)r->transport));
	err |= sbc_texttab_cell(tab, "%s", t->conn);
	err |= sbc_texttab_cell(tab, "%llus", (unsigned long long)t->expires);
	err |= sbc_texttab_cell(tab, "%s", t->backend_uri ? t->backend_uri :
				t->backend);
	err |= sbc_texttab_cell(tab, "%s", r->user_agent[0] ? r->user_agent :
				"-");

	return err;
}


static int row_json(struct out *o, const struct sbc_reg *r,
		    const struct reg_text *t)
{
	struct mbuf *mb = o->rep->body;

	return mbuf_printf(mb, "%s{\"aor\":%H,\"contact\":%H,\"source\":%H,"
			   "\"transport\":\"%s\",\"conn\":%H,\"expires\":%llu,"
			   "\"backend\":%H,\"user_agent\":%H}",
			   o->rows ? "," : "", sbc_json_str, r->aor,
			   sbc_json_str, r->contact, sbc_json_str, t->source,
			   sbc_transport_name((enum sbc_transport)r->transport),
			   sbc_json_str, r->conn ? t->conn : NULL,
			   (unsigned long long)t->expires, sbc_json_str,
			   t->backend_uri ? t->backend_uri : t->backend,
			   sbc_json_str, r->user_agent);
}


static int row(struct out *o, const struct sbc_reg *r)
{
	struct reg_text t;
	int err;

	if (o->rows == ROWS_MAX) {
		++o->more;
		return 0;
	}

	reg_text(&t, o, r);

	err = o->tab ? row_text(o, r, &t) : row_json(o, r, &t);
	if (!err)
		++o->rows;

	return err;
}


static int scan_all(struct out *o, const struct sbc_shm *shm)
{
	const uint32_t slots = sbc_shm_slots(shm, SBC_TBL_REG);
	int err = 0;

	for (uint32_t slot = 0; slot < slots && !err; slot++) {
		struct sbc_reg reg;

		if (sbc_reg_read_slot(shm, slot, o->now, &reg))
			continue;

		err = row(o, &reg);
	}

	if (!err && o->more)
		(void)re_snprintf(o->rep->note, sizeof(o->rep->note),
				  "the first %u of %u bindings are shown; ask "
				  "for one AOR", o->rows, o->rows + o->more);

	return err;
}


static void aor_strip(struct pl *aor, const char *arg)
{
	if (!strncasecmp(arg, "sip:", 4))
		arg += 4;
	else if (!strncasecmp(arg, "sips:", 5))
		arg += 5;

	pl_set_str(aor, arg);
}


static int scan_aor(struct out *o, const struct sbc_shm *shm, const char *arg)
{
	struct sbc_reg *regv;
	struct pl aor;
	size_t n = 0;
	int err;

	aor_strip(&aor, arg);

	regv = mem_alloc(AOR_BINDINGS_MAX * sizeof(*regv), NULL);
	if (!regv)
		return ENOMEM;

	err = sbc_reg_lookup_aor(shm, &aor, o->now, regv, AOR_BINDINGS_MAX,
				 &n);
	if (err == EINVAL || err == EOVERFLOW) {
		o->rep->failed = true;
		(void)re_snprintf(o->rep->note, sizeof(o->rep->note),
				  "not an AOR: '%s'", arg);
		err = 0;
		goto out;
	}

	if (err == ENOBUFS)
		(void)re_snprintf(o->rep->note, sizeof(o->rep->note),
				  "more than %u bindings, the first %u are "
				  "shown", AOR_BINDINGS_MAX, AOR_BINDINGS_MAX);
	else if (err == EAGAIN)
		(void)re_snprintf(o->rep->note, sizeof(o->rep->note),
				  "a binding of this AOR was being written "
				  "and may be missing");

	err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = row(o, &regv[i]);

 out:
	mem_deref(regv);

	return err;
}


void sbc_show_registrations(struct sbc_ctl_reply *rep,
			    const struct sbc_show *s, const char *aor,
			    bool json)
{
	struct out o;
	int err = 0;

	memset(&o, 0, sizeof(o));
	o.rep = rep;
	o.shm = s->shm;
	o.now = sbc_now_ms();

	if (json)
		err = mbuf_printf(rep->body, "[");
	else
		err = sbc_texttab_alloc(&o.tab, heads, ARRAY_SIZE(heads));
	if (err)
		goto out;

	err = aor && *aor ? scan_aor(&o, s->shm, aor) : scan_all(&o, s->shm);
	if (err)
		goto out;

	if (json)
		err = mbuf_printf(rep->body, "]\n");
	else if (!rep->failed)
		err = mbuf_printf(rep->body, "%H", sbc_texttab_print, o.tab);

 out:
	mem_deref(o.tab);

	if (err) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note),
				  "cannot build the answer: %m", err);
	}
}
