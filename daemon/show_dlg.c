/*
 * sbcctl dialogs and sbcctl dialog end CALL-ID (see show.h).
 *
 * `dialogs` reads every slot of the shared dialog table: the count, then
 * one row per call with its state, age, both legs (address, transport)
 * and the last ping result of each. At most ROWS_MAX rows; the note says
 * how many more there were. Every string came from the network and is
 * escaped like the registrations' (texttab.c, json.c).
 *
 * `dialog end` finds the call in the table and passes the Call-ID to the
 * worker that owns it (shm/owner.h), which sends the two BYEs.
 */

#include <string.h>
#include <re.h>
#include <xxhash.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/dlg.h"
#include <stdatomic.h>
#include "shm/media.h"
#include "shm/owner.h"
#include "shm/channel.h"
#include "daemon/control.h"
#include "daemon/pool.h"
#include "cfg/json.h"
#include "daemon/texttab.h"
#include "daemon/show.h"

enum {
	ROWS_MAX = 10000,
	TEXT_SIZE = 64,
};

static const char *const heads[] = {"call_id", "state", "age", "from", "to",
				    "caller", "callee", "caller_ping",
				    "callee_ping", "media_in_out"};

struct out {
	struct sbc_ctl_reply *rep;
	struct sbc_texttab *tab;       /* text; NULL for JSON */
	uint64_t now;
	uint32_t rows;
	uint32_t more;
	const struct sbc_media *media; /* the relays' sessions, or NULL */
	const struct sbc_dlg *cur;     /* the row being printed */
};

struct leg_text {
	char addr[TEXT_SIZE];          /* "udp 127.0.0.1:5080" */
	char ping[TEXT_SIZE];          /* "ok 200" */
};


static void leg_text(struct leg_text *t, const struct sbc_dlg_leg *leg)
{
	enum sbc_dlg_ping ping = (enum sbc_dlg_ping)leg->ping;
	struct sa sa;

	if (sbc_addr_get(&leg->addr, &sa) ||
	    re_snprintf(t->addr, sizeof(t->addr), "%s %J", sbc_transport_name(
				(enum sbc_transport)leg->transport), &sa) < 0)
		str_ncpy(t->addr, "-", sizeof(t->addr));

	if (ping == SBC_DLG_PING_OK || ping == SBC_DLG_PING_DEAD)
		(void)re_snprintf(t->ping, sizeof(t->ping), "%s %u",
				  sbc_dlg_ping_name(ping), leg->ping_code);
	else
		str_ncpy(t->ping, sbc_dlg_ping_name(ping), sizeof(t->ping));
}


/* The media session of the call of d, in v: false when it has none. */
static bool media_of(const struct out *o, const struct sbc_dlg *d,
		     struct sbc_media_view *v)
{
	const uint32_t per = sbc_media_per_relay(o->media);

	return o->media && d->media &&
		!sbc_media_read(o->media, (d->media - 1) / per,
				(d->media - 1) % per, v) &&
		!strcmp(v->call_id, d->call_id);
}


static int row_text(struct out *o, const struct sbc_dlg *d, uint64_t age,
		    const struct leg_text *lt)
{
	struct sbc_texttab *tab = o->tab;
	struct sbc_media_view v;
	int err = 0;

	err |= sbc_texttab_cell(tab, "%s", d->call_id);
	err |= sbc_texttab_cell(tab, "%s", sbc_dlg_state_name(
					(enum sbc_dlg_state)d->state));
	err |= sbc_texttab_cell(tab, "%llus", (unsigned long long)age);
	err |= sbc_texttab_cell(tab, "%s", d->from_uri);
	err |= sbc_texttab_cell(tab, "%s", d->to_uri);
	err |= sbc_texttab_cell(tab, "%s", lt[0].addr);
	err |= sbc_texttab_cell(tab, "%s", lt[1].addr);
	err |= sbc_texttab_cell(tab, "%s", lt[0].ping);
	err |= sbc_texttab_cell(tab, "%s", lt[1].ping);

	if (media_of(o, d, &v))
		err |= sbc_texttab_cell(tab, "access %llu/%llu core %llu/%llu",
			(unsigned long long)v.leg[SBC_SIDE_ACCESS].pkts_in,
			(unsigned long long)v.leg[SBC_SIDE_ACCESS].pkts_out,
			(unsigned long long)v.leg[SBC_SIDE_CORE].pkts_in,
			(unsigned long long)v.leg[SBC_SIDE_CORE].pkts_out);
	else
		err |= sbc_texttab_cell(tab, "-");

	return err;
}


/* One leg in JSON, a %H handler. */
static int leg_json(struct re_printf *pf, void *arg)
{
	const struct sbc_dlg_leg *leg = arg;
	char addr[TEXT_SIZE] = "";
	struct sa sa;

	if (!sbc_addr_get(&leg->addr, &sa))
		(void)re_snprintf(addr, sizeof(addr), "%J", &sa);

	return re_hprintf(pf, "{\"address\":%H,\"transport\":\"%s\","
			  "\"contact\":%H,\"cseq\":%u,\"ping\":\"%s\","
			  "\"ping_code\":%u}", sbc_json_str, addr,
			  sbc_transport_name((enum sbc_transport)
					     leg->transport),
			  sbc_json_str, leg->contact, leg->cseq,
			  sbc_dlg_ping_name((enum sbc_dlg_ping)leg->ping),
			  leg->ping_code);
}


/* The call's media session as JSON, or null. */
static int media_json(struct re_printf *pf, void *arg)
{
	const struct out *o = arg;
	struct sbc_media_view v;

	if (!media_of(o, o->cur, &v))
		return re_hprintf(pf, "null");

	return sbc_media_json(pf, &v);
}


static int row_json(struct out *o, const struct sbc_dlg *d, uint64_t age)
{
	o->cur = d;

	return mbuf_printf(o->rep->body, "%s{\"call_id\":%H,\"state\":\"%s\","
			   "\"age\":%llu,\"from\":%H,\"to\":%H,"
			   "\"from_tag\":%H,\"to_tag\":%H,\"caller\":%H,"
			   "\"callee\":%H,\"media\":%H}", o->rows ? "," : "",
			   sbc_json_str, d->call_id,
			   sbc_dlg_state_name((enum sbc_dlg_state)d->state),
			   (unsigned long long)age, sbc_json_str, d->from_uri,
			   sbc_json_str, d->to_uri, sbc_json_str, d->from_tag,
			   sbc_json_str, d->to_tag, leg_json, &d->caller,
			   leg_json, &d->callee, media_json, o);
}


static int row(struct out *o, const struct sbc_dlg *d)
{
	uint64_t age = o->now > d->setup ? (o->now - d->setup) / 1000 : 0;
	struct leg_text lt[2];
	int err;

	if (o->rows == ROWS_MAX) {
		++o->more;
		return 0;
	}

	if (o->tab) {
		leg_text(&lt[0], &d->caller);
		leg_text(&lt[1], &d->callee);
		err = row_text(o, d, age, lt);
	}
	else {
		err = row_json(o, d, age);
	}

	if (!err)
		++o->rows;

	return err;
}


static int scan(struct out *o, const struct sbc_shm *shm)
{
	const uint32_t slots = sbc_shm_slots(shm, SBC_TBL_DLG);
	struct sbc_dlg *d;
	int err = 0;

	d = mem_alloc(sizeof(*d), NULL);
	if (!d)
		return ENOMEM;

	for (uint32_t slot = 0; slot < slots && !err; slot++) {
		if (!sbc_dlg_read_slot(shm, slot, o->now, d))
			err = row(o, d);
	}

	mem_deref(d);

	if (!err && o->more)
		(void)re_snprintf(o->rep->note, sizeof(o->rep->note),
				  "the first %u of %u dialogs are shown",
				  o->rows, o->rows + o->more);

	return err;
}


void sbc_show_dialogs(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		      bool json)
{
	struct out o;
	int err;

	memset(&o, 0, sizeof(o));
	o.rep = rep;
	o.now = sbc_now_ms();
	o.media = s->media;

	if (json)
		err = mbuf_printf(rep->body, "{\"dialogs\":[");
	else
		err = sbc_texttab_alloc(&o.tab, heads, ARRAY_SIZE(heads));
	if (!err)
		err = scan(&o, s->shm);

	if (!err && json)
		err = mbuf_printf(rep->body, "],\"count\":%u}\n",
				  o.rows + o.more);
	else if (!err)
		err = mbuf_printf(rep->body, "dialogs: %u\n%H",
				  o.rows + o.more, sbc_texttab_print, o.tab);

	mem_deref(o.tab);

	if (err) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note),
				  "cannot build the answer: %m", err);
	}
}


/* `dialog end CALL-ID`: the owner worker ends it (BYE to both legs). */
void sbc_show_dialog_end(struct sbc_ctl_reply *rep, const struct sbc_show *s,
			 struct sbc_pool *pool, const char *callid, bool json)
{
	struct pl cid;
	struct sbc_dlg *d;
	uint32_t owner;
	size_t n = 0;
	int err;

	pl_set_str(&cid, callid);
	d = mem_alloc(sizeof(*d), NULL);
	if (!d) {
		rep->failed = true;
		str_ncpy(rep->note, "out of memory", sizeof(rep->note));
		return;
	}

	(void)sbc_dlg_lookup_callid(s->shm, &cid, sbc_now_ms(), d, 1, &n);
	if (!n || d->state != SBC_DLG_CONFIRMED) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note), "no answered "
				  "call with Call-ID %H", sbc_text_safe,
				  callid);
		goto out;
	}

	owner = sbc_callid_owner(&cid, sbc_pool_size(pool));
	err = sbc_pool_tell(pool, owner, SBC_CHAN_DIALOG_END, cid.p, cid.l);
	if (err) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note), "worker %u "
				  "cannot be told: %m", owner, err);
		goto out;
	}

	if (json)
		(void)mbuf_printf(rep->body, "{\"call_id\":%H,\"worker\":%u,"
				  "\"ending\":true}\n", sbc_json_str, callid,
				  owner);
	else
		(void)mbuf_printf(rep->body, "ending %H: BYE to both legs "
				  "(worker %u)\n", sbc_text_safe, callid,
				  owner);

 out:
	mem_deref(d);
}
