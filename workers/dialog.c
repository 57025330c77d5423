/*
 * Dialogs (DESIGN.md section 4): the life of every INVITE dialog of this
 * worker's Call-IDs.
 *
 * An initial INVITE makes an early dialog: the caller's tag, Contact,
 * route set and address; it goes into the shared table at once, so a full
 * table refuses the call (503) before anything is sent on. The first 2xx
 * confirms it with the callee's side, which changes its key (the to-tag).
 * A failed setup ends it with a CDR; a BYE from either party ends it when
 * answered; sbcd ends it itself in dialog_end.c.
 *
 * In-dialog requests keep their CSeq numbers unless sbcd's own requests
 * (pings, BYE) took numbers in that direction: then the party's CSeqs are
 * shifted up toward the other leg, so the other leg always sees them rise
 * (RFC 3261 12.2.2), and the responses carry the party's own number back
 * (fwd.c prints a response with its request's CSeq).
 *
 * The local record is the master copy; every change that another process
 * (or this worker's next incarnation) needs is written to the table.
 */

#include <errno.h>
#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/dlg.h"
#include "shm/stats.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "workers/uac.h"
#include "workers/dialog.h"

enum {
	HASH_BUCKETS = 4096,
};


static void dialog_destructor(void *arg)
{
	struct sbc_dialog *dlg = arg;

	sbc_dialog_timers_stop(dlg);
	hash_unlink(&dlg->he);
	mem_deref(dlg->uac[SBC_DLG_CALLER]);
	mem_deref(dlg->uac[SBC_DLG_CALLEE]);
}


int sbc_dialog_init(struct sbc_core *core)
{
	return hash_alloc(&core->dlgs, HASH_BUCKETS);
}


/* The worker exits: the dialogs stay in the table for the next one. */
void sbc_dialog_close(struct sbc_core *core)
{
	hash_flush(core->dlgs);
	core->dlgs = mem_deref(core->dlgs);
}


static void dialog_link(struct sbc_core *core, struct sbc_dialog *dlg)
{
	struct pl callid;

	pl_set_str(&callid, dlg->rec.call_id);
	hash_append(core->dlgs, hash_joaat_pl(&callid), &dlg->he, dlg);
	++core->dialogs;
	sbc_stats_set(core->stats, core->index, SBC_STAT_DIALOGS_NOW,
		      core->dialogs);
}


static int dialog_alloc(struct sbc_dialog **dlgp, struct sbc_core *core)
{
	struct sbc_dialog *dlg = mem_zalloc(sizeof(*dlg), dialog_destructor);

	if (!dlg)
		return ENOMEM;

	dlg->core = core;
	sbc_timer_init(&dlg->ping);
	sbc_timer_init(&dlg->limit);
	*dlgp = dlg;

	return 0;
}


static struct sbc_dlg_key rec_key(const struct sbc_dlg *rec)
{
	struct sbc_dlg_key key;

	pl_set_str(&key.call_id, rec->call_id);
	pl_set_str(&key.from_tag, rec->from_tag);
	pl_set_str(&key.to_tag, rec->to_tag);

	return key;
}


/* Write the record to the table (insert, or replace the one of its key). */
int sbc_dialog_sync(struct sbc_dialog *dlg)
{
	struct sbc_core *core = dlg->core;
	uint64_t now = sbc_now_ms();
	int err;

	dlg->rec.expires = sbc_dialog_expiry(dlg, now);

	err = sbc_dlg_put(core->w, &dlg->rec, now);
	if (!err)
		dlg->in_table = true;
	else if (err != ENOSPC || dlg->rec.state != SBC_DLG_EARLY)
		sbc_warn("dialog %s: cannot write it to the shared table: %m",
			 dlg->rec.call_id, err);
	/* a full table at the INVITE refuses the call: counted, not logged */

	return err;
}


/* Out of the table, out of this worker; the CDR first if it ended. */
void sbc_dialog_finish(struct sbc_dialog *dlg)
{
	struct sbc_core *core = dlg->core;
	struct sbc_dlg_key key;

	if (dlg->rec.state == SBC_DLG_ENDED)
		return;

	dlg->rec.state = SBC_DLG_ENDED;
	if (!dlg->rec.end)
		dlg->rec.end = sbc_now_ms();

	sbc_dialog_timers_stop(dlg);
	dlg->uac[SBC_DLG_CALLER] = mem_deref(dlg->uac[SBC_DLG_CALLER]);
	dlg->uac[SBC_DLG_CALLEE] = mem_deref(dlg->uac[SBC_DLG_CALLEE]);

	if (dlg->bk_held)
		sbc_bk_release(sbc_bk_slot(core->shm, dlg->rec.backend),
			       sbc_writer_index(core->w));
	dlg->bk_held = false;

	if (dlg->rec.reason != SBC_DLG_NOT_ENDED) {
		sbc_cdr_write(core, &dlg->rec);
		sbc_callmedia_end(core, dlg->rec.call_id, dlg->rec.media);
	}

	key = rec_key(&dlg->rec);
	if (dlg->in_table)
		(void)sbc_dlg_del(core->w, &key, sbc_now_ms());
	dlg->in_table = false;

	if (core->dialogs)
		--core->dialogs;
	sbc_stats_set(core->stats, core->index, SBC_STAT_DIALOGS_NOW,
		      core->dialogs);

	hash_unlink(&dlg->he);
	mem_deref(dlg);          /* the reference core->dlgs held */
}


/* The first Contact's URI, or EPROTO without one. */
static int contact_set(char *field, size_t size, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr addr;

	if (!hdr || sip_addr_decode(&addr, &hdr->val))
		return EPROTO;

	return sbc_field_set(field, size, &addr.auri);
}


struct route_acc {
	const struct sbc_core *core;
	const struct sip_hdr *hdrv[16];
	size_t n;
	bool stop_at_ours;           /* only the entries above sbcd's */
	bool stopped;
};


static bool route_collect(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	struct route_acc *acc = arg;
	struct sip_addr addr;
	(void)msg;

	if (acc->stop_at_ours && !sip_addr_decode(&addr, &hdr->val) &&
	    sbc_core_is_local(acc->core, &addr.uri)) {
		acc->stopped = true;
		return true;
	}

	if (acc->n >= ARRAY_SIZE(acc->hdrv))
		return true;

	acc->hdrv[acc->n++] = hdr;

	return false;
}


/*
 * The route set toward a leg from the Record-Route of a message: toward
 * the caller the INVITE's, in order; toward the callee the 2xx's entries
 * above sbcd's own, in reverse (RFC 3261 12.1.1 and 12.1.2, seen from the
 * middle).
 */
static int route_set(char *field, size_t size, const struct sbc_core *core,
		     const struct sip_msg *msg, bool toward_callee)
{
	struct route_acc acc = {.core = core, .stop_at_ours = toward_callee};
	struct mbuf *mb;
	int err = 0;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_RECORD_ROUTE,
				route_collect, &acc);
	field[0] = '\0';
	if (!acc.n)
		return 0;

	mb = mbuf_alloc(size);
	if (!mb)
		return ENOMEM;

	for (size_t i = 0; i < acc.n && !err; i++) {
		size_t k = toward_callee ? acc.n - 1 - i : i;

		err = mbuf_printf(mb, "%s%r", i ? "," : "",
				  &acc.hdrv[k]->val);
	}

	if (!err)
		err = sbc_field_set(field, size, &(struct pl){
				(const char *)mb->buf, mb->end});
	mem_deref(mb);

	return err;
}


static int leg_set(struct sbc_dlg_leg *leg, const struct sbc_dest *dst)
{
	leg->conn      = dst->conn;
	leg->listener  = dst->listener;
	leg->transport = (uint8_t)dst->tp;

	return sbc_addr_set(&leg->addr, &dst->addr);
}


static int rec_from_invite(struct sbc_dlg *rec, const struct sbc_core *core,
			   const struct sbc_in *in)
{
	const struct sip_msg *msg = in->msg;
	int err;

	memset(rec, 0, sizeof(*rec));
	rec->setup = sbc_now_ms();
	rec->state = SBC_DLG_EARLY;
	rec->callee.cseq = msg->cseq.num;
	rec->backend = SBC_BK_NONE;
	rec->media = in->media;
	if (in->side == SBC_SIDE_CORE)
		(void)sbc_backend_find(core, &in->src.addr, false,
				       &rec->backend);

	err  = SBC_FIELD_SET(rec->call_id, &msg->callid);
	err |= SBC_FIELD_SET(rec->from_tag, &msg->from.tag);
	err |= SBC_FIELD_SET(rec->from_uri, &msg->from.auri);
	err |= SBC_FIELD_SET(rec->to_uri, &msg->to.auri);
	err |= contact_set(rec->caller.contact, sizeof(rec->caller.contact),
			   msg);
	err |= route_set(rec->caller.route, sizeof(rec->caller.route), core,
			 msg, false);
	err |= leg_set(&rec->caller, &in->src);

	return err;
}


/*
 * The early dialog of an initial INVITE. ENOSPC: the table is full, the
 * call must be refused. A dialog sbcd cannot record (a Call-ID, tag or
 * Contact longer than the table holds, no Contact) is proxied untracked:
 * *dlgp is NULL then, and a notice says so.
 */
int sbc_dialog_new(struct sbc_dialog **dlgp, struct sbc_core *core,
		   const struct sbc_in *in)
{
	struct sbc_dialog *dlg;
	int err;

	*dlgp = NULL;

	err = dialog_alloc(&dlg, core);
	if (err)
		return err;

	if (rec_from_invite(&dlg->rec, core, in)) {
		sbc_notice("dialog %r: not tracked: a field is missing or too "
			   "long for the table", &in->msg->callid);
		mem_deref(dlg);
		return 0;
	}

	err = sbc_dialog_sync(dlg);
	if (err == ENOSPC) {
		mem_deref(dlg);
		sbc_stats_add(core->stats, core->index, SBC_STAT_DIALOGS_FULL,
			      1);
		return ENOSPC;
	}
	if (err) {
		mem_deref(dlg);   /* logged: proxied untracked */
		return 0;
	}

	dialog_link(core, dlg);
	*dlgp = mem_ref(dlg);

	return 0;
}


/* A dialog sbcd cannot go on tracking: gone without a CDR. */
static void dialog_forget(struct sbc_dialog *dlg, const char *why)
{
	sbc_notice("dialog %s: no longer tracked: %s", dlg->rec.call_id, why);
	dlg->rec.reason = SBC_DLG_NOT_ENDED;
	sbc_dialog_finish(dlg);
}


/* The first 2xx of the setup, from the branch that went to dst. */
void sbc_dialog_answered(struct sbc_dialog *dlg, const struct sbc_dest *dst,
			 const struct sbc_in *rsp)
{
	struct sbc_core *core = dlg->core;
	const struct sip_msg *msg = rsp->msg;
	struct sbc_dlg_key early = rec_key(&dlg->rec);
	struct sbc_dlg *next;
	int err;

	if (dlg->rec.state != SBC_DLG_EARLY)
		return;      /* a later 2xx of another fork: not tracked */

	next = mem_alloc(sizeof(*next), NULL);
	if (!next) {
		dialog_forget(dlg, "out of memory");
		return;
	}

	*next = dlg->rec;
	err  = SBC_FIELD_SET(next->to_tag, &msg->to.tag);
	err |= contact_set(next->callee.contact, sizeof(next->callee.contact),
			   msg);
	err |= route_set(next->callee.route, sizeof(next->callee.route), core,
			 msg, true);
	err |= leg_set(&next->callee, dst);
	if (err || !next->to_tag[0]) {
		mem_deref(next);
		dialog_forget(dlg, "the 2xx has a field missing or too long");
		return;
	}

	if (rsp->side == SBC_SIDE_CORE && next->backend == SBC_BK_NONE)
		(void)sbc_backend_find(core, &dst->addr, false,
				       &next->backend);

	if (dlg->in_table)
		(void)sbc_dlg_del(core->w, &early, sbc_now_ms());

	next->answer = sbc_now_ms();
	next->state  = SBC_DLG_CONFIRMED;
	dlg->rec = *next;
	mem_deref(next);

	sbc_dialog_sync(dlg);
	sbc_dialog_timers_start(dlg);
}


/* The branch to backend slot answered: the call keeps the place the
 * branch took there until it ends (the backend's capacity). */
void sbc_dialog_hold_backend(struct sbc_dialog *dlg, uint16_t slot)
{
	dlg->rec.backend = slot;
	dlg->bk_held = true;
}


/* The setup's final went up: a failure ends the dialog (CDR "failed"). */
void sbc_dialog_setup_final(struct sbc_dialog *dlg, uint16_t scode)
{
	if (dlg->rec.state != SBC_DLG_EARLY)
		return;

	if (scode < 300) {
		dialog_forget(dlg, "its 2xx could not be recorded");
		return;
	}

	dlg->rec.reason = SBC_DLG_FAILED;
	dlg->rec.status = scode;
	sbc_dialog_finish(dlg);
}


struct find_arg {
	const struct pl *callid;
	const struct pl *tag_a;      /* NULL: any dialog of the Call-ID */
	const struct pl *tag_b;
};


static bool dialog_cmp(struct le *le, void *arg)
{
	const struct sbc_dialog *dlg = le->data;
	const struct sbc_dlg *rec = &dlg->rec;
	const struct find_arg *fa = arg;

	if (!sbc_field_eq(rec->call_id, sizeof(rec->call_id), fa->callid))
		return false;

	if (!fa->tag_a)
		return true;

	return (sbc_field_eq(rec->from_tag, sizeof(rec->from_tag),
			     fa->tag_a) &&
		sbc_field_eq(rec->to_tag, sizeof(rec->to_tag), fa->tag_b)) ||
		(sbc_field_eq(rec->from_tag, sizeof(rec->from_tag),
			      fa->tag_b) &&
		 sbc_field_eq(rec->to_tag, sizeof(rec->to_tag), fa->tag_a));
}


static struct sbc_dialog *dialog_find(struct sbc_core *core,
				      const struct find_arg *fa)
{
	struct le *le;

	le = hash_lookup(core->dlgs, hash_joaat_pl(fa->callid), dialog_cmp,
			 (void *)(uintptr_t)fa);

	return le ? le->data : NULL;
}


struct sbc_dialog *sbc_dialog_find_callid(struct sbc_core *core,
					  const struct pl *callid)
{
	struct find_arg fa = {.callid = callid};

	return dialog_find(core, &fa);
}


/* The party that sent msg: the caller when its From tag is the
 * dialog's from-tag. */
static enum sbc_dlg_side sender(const struct sbc_dialog *dlg,
				const struct sip_msg *msg)
{
	return sbc_field_eq(dlg->rec.from_tag, sizeof(dlg->rec.from_tag),
			    &msg->from.tag) ? SBC_DLG_CALLER : SBC_DLG_CALLEE;
}


/*
 * The CSeq number the request carries toward the other leg (see the top
 * of this file). An ACK keeps its INVITE's shift and takes no number.
 */
static uint32_t cseq_map(struct sbc_dlg_leg *to, const struct sip_msg *msg)
{
	uint32_t in = msg->cseq.num;
	uint32_t out = in + to->cseq_shift;

	if (!pl_strcmp(&msg->met, "ACK"))
		return out;

	if (out <= to->cseq) {
		to->cseq_shift = to->cseq + 1 - in;
		out = to->cseq + 1;
	}

	if (out > to->cseq)
		to->cseq = out;

	return out;
}


/*
 * A request inside a dialog this worker tracks (NULL when it is not
 * one): *cseqp is the CSeq number to send it with. Every such request
 * shows the call is alive.
 */
struct sbc_dialog *sbc_dialog_request(struct sbc_core *core,
				      const struct sbc_in *in,
				      uint32_t *cseqp)
{
	const struct sip_msg *msg = in->msg;
	struct find_arg fa = {&msg->callid, &msg->from.tag, &msg->to.tag};
	struct sbc_dialog *dlg;
	struct sbc_dlg_leg *to;
	uint32_t shift, top;

	*cseqp = msg->cseq.num;

	if (!pl_isset(&msg->to.tag))
		return NULL;

	dlg = dialog_find(core, &fa);
	if (!dlg || dlg->rec.state == SBC_DLG_EARLY)
		return NULL;

	to = sbc_dialog_leg(dlg, sender(dlg, msg) == SBC_DLG_CALLER ?
			    SBC_DLG_CALLEE : SBC_DLG_CALLER);
	shift = to->cseq_shift;
	top = to->cseq;
	*cseqp = cseq_map(to, msg);

	if (shift != to->cseq_shift || top != to->cseq ||
	    !core->cfg->ping_interval)
		sbc_dialog_sync(dlg);
	if (!core->cfg->ping_interval)
		sbc_dialog_timers_start(dlg);   /* a day of silence again */

	return dlg;
}


/* A party's BYE was answered: the call is over (RFC 3261 15.1.2). */
void sbc_dialog_bye_final(struct sbc_dialog *dlg, const struct sbc_in *bye)
{
	if (dlg->rec.state != SBC_DLG_CONFIRMED)
		return;

	dlg->rec.reason = sender(dlg, bye->msg) == SBC_DLG_CALLER ?
		SBC_DLG_CALLER_BYE : SBC_DLG_CALLEE_BYE;
	dlg->rec.leg = sender(dlg, bye->msg);
	sbc_dialog_finish(dlg);
}


/* A dialog of a previous incarnation, from the table, owned again
 * (*dlgp is borrowed: core->dlgs holds it). */
int sbc_dialog_adopt(struct sbc_dialog **dlgp, struct sbc_core *core,
		     const struct sbc_dlg *rec)
{
	struct sbc_dialog *dlg;
	int err;

	err = dialog_alloc(&dlg, core);
	if (err)
		return err;

	dlg->rec = *rec;
	dlg->in_table = true;
	dialog_link(core, dlg);
	*dlgp = dlg;

	return 0;
}
