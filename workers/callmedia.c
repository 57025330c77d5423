/*
 * A call's SDP through the RTP relay (DESIGN.md section 6), the worker's
 * side.
 *
 * Every SIP message that carries an SDP of an INVITE dialog (INVITE,
 * UPDATE, PRACK, ACK; their 18x and 2xx) is parked here before the proxy
 * sees it: its SDP goes to the relay that owns the Call-ID (shm/media.h),
 * and when the relay answers, the message goes on with the relay's SDP in
 * place of the party's (sbc_core_reinput), as if it had arrived so. A new
 * call's INVITE goes to the relay even without SDP (a late offer), so that
 * the session exists when the offer comes in the 2xx; a call to or from a
 * backend set with `media = false` never reaches the relay, and the relay
 * answers ENOENT for its later SDPs, which then pass untouched.
 *
 * The event loop never waits: a parked message is a record in `wait` and
 * a timer. A relay that does not answer within rtp.control_timeout fails
 * that message cleanly: a request gets 500 (503 when the relay is out of
 * ports, 488 for an SDP it cannot relay), with a log line; a response or
 * an ACK is dropped with a log line (a 2xx is retransmitted by its sender
 * and tried again).
 *
 * When a call ends its session is deleted (sbc_callmedia_end), and the
 * relay's counters for it go into the CDR first.
 */

#include <string.h>
#include <stdatomic.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/media.h"
#include "shm/dlg.h"
#include "cfg/config.h"
#include "workers/worker.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "workers/uac.h"
#include "workers/dialog.h"

enum {
	WAIT_BUCKETS = 256,
	READS_PER_WAKE = 64,
};

struct sbc_callmedia {
	struct sbc_core *core;
	struct sbc_media *media;     /* the relays' session records */
	uint32_t relays;
	int fd0;                     /* the channel with relay 0 */
	struct hash *wait;           /* parked messages, by seq */
	uint32_t seq;
	uint8_t *sdp;                /* a reply's SDP */
};

/* A message waiting for the relay. */
struct wait {
	struct le he;
	struct sbc_callmedia *cm;
	uint32_t seq;
	struct sbc_in in;            /* msg and its bytes held */
	struct tmr tmr;
};


static void wait_destructor(void *arg)
{
	struct wait *w = arg;

	tmr_cancel(&w->tmr);
	hash_unlink(&w->he);
	mem_deref(w->in.msg);
}


static bool is_met(const struct pl *met, const char *name)
{
	return 0 == pl_strcmp(met, name);
}


static bool has_sdp(const struct sbc_in *in)
{
	return in->body.l > 0 &&
		msg_ctype_cmp(&in->msg->ctyp, "application", "sdp");
}


/* The set of the backend at addr, or -1 when addr is no configured
 * backend's (balance.h: the worker's view of the backend slots). */
static int set_of_addr(const struct sbc_core *core, const struct sa *addr)
{
	uint16_t slot;
	int32_t b;

	if (!sbc_backend_find(core, addr, false, &slot))
		return -1;

	b = core->bk->slot[slot].backend;

	return b < 0 || (uint32_t)b >= core->cfg->backend_count ? -1 :
		(int)core->cfg->backends[b].set;
}


/* An INVITE's call is relayed unless its backend set says media = false. */
static bool media_wanted(struct sbc_core *core, const struct sbc_in *in)
{
	const struct sbc_config *cfg = core->cfg;
	int set;

	if (in->side == SBC_SIDE_CORE)
		set = set_of_addr(core, &in->src.addr);
	else
		set = (int)sbc_backend_route(core, in->msg);

	return set < 0 || (uint32_t)set >= cfg->set_count ||
		cfg->sets[set].media;
}


static bool is_ws(enum sbc_transport tp)
{
	return tp == SBC_TP_WS || tp == SBC_TP_WSS;
}


/* Which parties of the message are browsers (enum sbc_media_webrtc): the
 * sender by its transport; for a new call from the core side, the user it
 * goes to by its binding's (the relay keeps a side WebRTC for the call,
 * so in-dialog requests need no lookup). Access-side requests go to the
 * core side, which is never WebRTC by transport (its SDP may still make
 * it so). */
static uint8_t webrtc_parties(struct sbc_core *core, const struct sbc_in *in)
{
	uint8_t bits = is_ws(in->src.tp) ? SBC_MEDIA_FROM_WEBRTC : 0;

	if (in->msg->req && in->side == SBC_SIDE_CORE &&
	    !pl_isset(&in->msg->to.tag) &&
	    sbc_locate_is_webrtc(core, in->msg))
		bits |= SBC_MEDIA_TO_WEBRTC;

	return bits;
}


/* 1: to the relay, creating the session; 0: to the relay; -1: not. */
static int relay_kind(struct sbc_core *core, const struct sbc_in *in)
{
	const struct sip_msg *msg = in->msg;

	if (msg->req) {
		if (is_met(&msg->met, "INVITE"))
			return media_wanted(core, in) ? 1 : -1;
		if (!has_sdp(in))
			return -1;
		return is_met(&msg->met, "ACK") || is_met(&msg->met, "UPDATE")
			|| is_met(&msg->met, "PRACK") ? 0 : -1;
	}

	if (!has_sdp(in) || msg->scode <= 100 || msg->scode >= 300)
		return -1;

	return is_met(&msg->cseq.met, "INVITE") ||
		is_met(&msg->cseq.met, "UPDATE") ||
		is_met(&msg->cseq.met, "PRACK") ? 0 : -1;
}


static bool seq_cmp(struct le *le, void *arg)
{
	const struct wait *w = le->data;

	return w->seq == *(const uint32_t *)arg;
}


/* The message with `sdp` as its body and Content-Length set to match. */
static int rebuild(struct mbuf **mbp, const struct sbc_in *in,
		   const uint8_t *sdp, size_t len)
{
	const struct mbuf *orig = in->msg->mb;
	const char *base = (const char *)orig->buf;
	const size_t body = (size_t)(in->body.p - base);
	const struct pl *clen = &in->msg->clen;
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(body + len + 32);
	if (!mb)
		return ENOMEM;

	if (pl_isset(clen)) {
		const size_t at = (size_t)(clen->p - base);

		err  = mbuf_write_mem(mb, orig->buf, at);
		err |= mbuf_printf(mb, "%zu", len);
		err |= mbuf_write_mem(mb, orig->buf + at + clen->l,
				      body - at - clen->l);
	}
	else {
		/* before the empty line that ends the headers */
		const size_t eoh = body >= 2 && base[body - 2] == '\r' ?
			body - 2 : body - 1;

		err  = mbuf_write_mem(mb, orig->buf, eoh);
		err |= mbuf_printf(mb, "Content-Length: %zu\r\n\r\n", len);
	}

	err |= mbuf_write_mem(mb, sdp, len);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


static void fail(struct wait *w, int err)
{
	struct sbc_core *core = w->cm->core;
	const struct sip_msg *msg = w->in.msg;
	uint16_t code = 500;
	const char *reason = "Server Internal Error";

	if (err == ENOSPC || err == ENOMEM) {
		code = 503;
		reason = "Service Unavailable";
	}
	else if (err == EBADMSG || err == EPROTO || err == E2BIG) {
		code = 488;
		reason = "Not Acceptable Here";
	}

	if (msg->req && !is_met(&msg->met, "ACK")) {
		sbc_warn("%r: media relay: %m: answered %u (%r)", &msg->met,
			 err, code, &msg->callid);
		(void)sbc_reply(core, &w->in, code, reason, NULL);
	}
	else {
		sbc_warn("%r %r: media relay: %m: dropped (%r)",
			 msg->req ? &msg->met : &msg->reason,
			 &msg->cseq.met, err, &msg->callid);
	}
}


/* The relay answered w: on with the message, or fail it. */
static void resume(struct wait *w, const struct sbc_media_msg *rep,
		   const uint8_t *sdp)
{
	struct sbc_callmedia *cm = w->cm;
	struct mbuf *mb = NULL;
	uint32_t media = 0;
	int err = rep->err;

	if (!err && rep->relay < cm->relays && rep->slot &&
	    rep->slot <= sbc_media_per_relay(cm->media))
		media = rep->relay * sbc_media_per_relay(cm->media) +
			rep->slot;

	if (err == ENOENT) {
		err = 0;
		media = 0;
	}

	if (!err && rep->sdp_len && has_sdp(&w->in))
		err = rebuild(&mb, &w->in, sdp, rep->sdp_len);
	else if (!err)
		mb = mem_ref(w->in.msg->mb);

	if (err) {
		fail(w, err);
		return;
	}

	sbc_core_reinput(cm->core, &w->in.src, mb, media);
	mem_deref(mb);
}


static void wait_timeout(void *arg)
{
	struct wait *w = arg;

	fail(w, ETIMEDOUT);
	mem_deref(w);
}


/* A TIMEOUT from a relay: the call had no media for rtp.timeout. */
static void media_timeout(struct sbc_callmedia *cm,
			  const struct sbc_media_msg *msg)
{
	struct pl callid;
	struct sbc_dialog *dlg;

	pl_set_str(&callid, msg->call_id);
	dlg = sbc_dialog_find_callid(cm->core, &callid);
	if (!dlg || dlg->rec.state != SBC_DLG_CONFIRMED)
		return;

	sbc_notice("no media for %u s: ending the call (%s)",
		   cm->core->cfg->rtp.timeout, msg->call_id);
	sbc_dialog_end(dlg, SBC_DLG_MEDIA_TIMEOUT, SBC_DLG_CALLER);
}


static void chan_handler(int flags, void *arg)
{
	struct sbc_callmedia *cm = arg;
	(void)flags;

	for (uint32_t r = 0; r < cm->relays; r++) {
		for (int n = 0; n < READS_PER_WAKE; n++) {
			struct sbc_media_msg msg;
			struct wait *w;
			int err;

			err = sbc_media_recv(cm->fd0 + (int)r, &msg, cm->sdp,
					     SBC_MEDIA_SDP_MAX);
			if (err == EAGAIN || err == EINTR)
				break;
			if (err) {
				sbc_warn("relay %u: channel: %m", r, err);
				continue;
			}

			if (msg.op == SBC_MEDIA_TIMEOUT) {
				media_timeout(cm, &msg);
				continue;
			}

			w = list_ledata(hash_lookup(cm->wait, msg.seq, seq_cmp,
						    &msg.seq));
			if (!w || msg.op != SBC_MEDIA_REPLY)
				continue;   /* answered too late: failed */

			hash_unlink(&w->he);
			tmr_cancel(&w->tmr);
			resume(w, &msg, cm->sdp);
			mem_deref(w);
		}
	}
}


/* Park the message and ask the relay; true when parked (or failed). */
bool sbc_callmedia_intercept(struct sbc_core *core, const struct sbc_in *in)
{
	struct sbc_callmedia *cm = core->cm;
	struct sbc_media_msg req;
	struct wait *w;
	int kind, err;

	if (!cm)
		return false;

	kind = relay_kind(core, in);
	if (kind < 0)
		return false;

	memset(&req, 0, sizeof(req));
	if (sbc_field_set(req.call_id, sizeof(req.call_id),
			  &in->msg->callid)) {
		sbc_notice("Call-ID too long for the relay: media not "
			   "relayed (%r)", &in->msg->callid);
		return false;
	}

	w = mem_zalloc(sizeof(*w), wait_destructor);
	if (!w)
		return false;

	w->cm  = cm;
	w->seq = ++cm->seq;
	w->in  = *in;
	w->in.msg = mem_ref(in->msg);
	tmr_init(&w->tmr);

	req.op      = SBC_MEDIA_SDP;
	req.side    = (uint8_t)in->side;
	req.create  = kind == 1;
	req.webrtc  = webrtc_parties(core, in);
	req.seq     = w->seq;
	req.worker  = core->index;

	err = sbc_media_send(cm->fd0 + (int)sbc_media_relay_of(&in->msg->callid,
							       cm->relays),
			     &req, has_sdp(in) ? in->body.p : NULL,
			     has_sdp(in) ? in->body.l : 0);
	if (err) {
		fail(w, err == EOVERFLOW ? EBADMSG : err);
		mem_deref(w);
		return true;
	}

	hash_append(cm->wait, w->seq, &w->he, w);
	tmr_start(&w->tmr, core->cfg->rtp.control_timeout, wait_timeout, w);

	return true;
}


/* The call ended: its session goes. */
void sbc_callmedia_end(struct sbc_core *core, const char *call_id,
		       uint32_t media)
{
	struct sbc_callmedia *cm = core->cm;
	struct sbc_media_msg msg;
	struct pl callid;
	int err;

	if (!cm || (!media && !call_id[0]))
		return;

	memset(&msg, 0, sizeof(msg));
	msg.op = SBC_MEDIA_DELETE;
	msg.worker = core->index;
	str_ncpy(msg.call_id, call_id, sizeof(msg.call_id));
	pl_set_str(&callid, call_id);

	err = sbc_media_send(cm->fd0 + (int)sbc_media_relay_of(&callid,
							       cm->relays),
			     &msg, NULL, 0);
	if (err)
		sbc_warn("media session not deleted: %m; the relay's reaper "
			 "will (%s)", err, call_id);
}


/* The CDR's "media" value for the call of rec: each side's counters, or
 * null when the call had no media session. */
int sbc_callmedia_print(struct re_printf *pf, const struct sbc_core *core,
			const struct sbc_dlg *rec)
{
	struct sbc_callmedia *cm = core->cm;
	struct sbc_media_view v;
	uint32_t per;

	if (!cm || !rec->media)
		return re_hprintf(pf, "null");

	per = sbc_media_per_relay(cm->media);
	if (sbc_media_read(cm->media, (rec->media - 1) / per,
			   (rec->media - 1) % per, &v) ||
	    strcmp(v.call_id, rec->call_id))
		return re_hprintf(pf, "null");

	return sbc_media_json(pf, &v);
}


static void callmedia_destructor(void *arg)
{
	struct sbc_callmedia *cm = arg;

	for (uint32_t r = 0; r < cm->relays; r++)
		fd_close(cm->fd0 + (int)r);

	hash_flush(cm->wait);
	mem_deref(cm->wait);
	mem_deref(cm->sdp);
	mem_deref(cm->media);
}


/*
 * Attach to the relays (rtp.workers > 0): their channels follow the
 * mailboxes on this worker's fds, then the session records
 * (workers/worker.h).
 */
int sbc_callmedia_init(struct sbc_core *core)
{
	const uint32_t relays = core->cfg->rtp.workers;
	struct sbc_callmedia *cm;
	int err;

	if (!relays)
		return 0;

	cm = mem_zalloc(sizeof(*cm), callmedia_destructor);
	if (!cm)
		return ENOMEM;

	cm->core = core;
	cm->fd0 = SBC_WFD_PEER0 + (int)core->workers;

	err = sbc_media_attach(&cm->media, cm->fd0 + (int)relays);
	if (err) {
		sbc_error("cannot attach to the media session records: %m",
			  err);
		goto out;
	}

	cm->relays = relays;
	err = hash_alloc(&cm->wait, WAIT_BUCKETS);
	if (err)
		goto out;

	cm->sdp = mem_alloc(SBC_MEDIA_SDP_MAX, NULL);
	if (!cm->sdp) {
		err = ENOMEM;
		goto out;
	}

	for (uint32_t r = 0; r < relays && !err; r++)
		err = fd_listen(cm->fd0 + (int)r, FD_READ, chan_handler, cm);

 out:
	if (err)
		mem_deref(cm);
	else
		core->cm = cm;

	return err;
}


void sbc_callmedia_close(struct sbc_core *core)
{
	core->cm = mem_deref(core->cm);
}
