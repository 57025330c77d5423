/*
 * Every complete SIP message enters the core here.
 *
 * Parse it with libre, find the worker that owns its Call-ID and either
 * hand it over (raw bytes, so the owner parses exactly what arrived) or
 * handle it. Ownership is hash(Call-ID) mod workers, the same in every
 * process, so a request, its retransmissions, its CANCEL, its responses and
 * every later request of the dialog meet in one worker: transactions need
 * no lock and no shared state.
 *
 * The owner is found before parsing, by a scan for the Call-ID header
 * alone: half the messages of a two-worker node are handed over, and the
 * owner parses them anyway. Every message's owner comes from that same
 * scan, so a request and its responses agree whatever their formatting.
 *
 * A message that libre cannot parse is dropped and counted: without a
 * parse there is no Via to answer. A request that parses but lacks what a
 * proxy needs (Via, From, To, Call-ID, CSeq) or announces more body than
 * arrived gets 400 when it has a Via; a bad response is dropped.
 */

#include <string.h>
#include <strings.h>
#include <re.h>
#include <xxhash.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/stats.h"
#include "shm/owner.h"
#include "cfg/config.h"
#include "workers/core.h"


static bool name_is(const char *p, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n == l && !strncasecmp(p, name, l);
}


/*
 * The Call-ID of a raw message: the value of the first `Call-ID:` or `i:`
 * header line, trimmed. ENOENT when the headers end (or the buffer does)
 * without one.
 */
int sbc_callid_scan(const uint8_t *buf, size_t len, struct pl *callid)
{
	const char *p = (const char *)buf, *end = p + len;

	/* skip the start line */
	p = memchr(p, '\n', len);

	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon, *v, *ve;

		if (!eol || *p == '\r' || *p == '\n')
			return ENOENT;

		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			const char *ne = colon;

			while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
				--ne;

			if (name_is(p, (size_t)(ne - p), "call-id") ||
			    name_is(p, (size_t)(ne - p), "i")) {
				v = colon + 1;
				ve = eol;
				while (v < ve && (*v == ' ' || *v == '\t'))
					++v;
				while (ve > v && (ve[-1] == '\r' ||
						  ve[-1] == ' ' ||
						  ve[-1] == '\t'))
					--ve;
				if (ve == v)
					return ENOENT;
				callid->p = v;
				callid->l = (size_t)(ve - v);
				return 0;
			}
		}

		p = eol;
	}

	return ENOENT;
}


uint32_t sbc_core_owner(const struct sbc_core *core, const struct pl *callid)
{
	if (core->workers < 2 || !pl_isset(callid))
		return core->index;

	return sbc_callid_owner(callid, core->workers);
}


/* A decimal number of at most 9 digits and nothing else, or EINVAL. */
int sbc_pl_u32(const struct pl *pl, uint32_t *vp)
{
	uint32_t v = 0;

	if (!pl_isset(pl) || pl->l > 9)
		return EINVAL;

	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EINVAL;
		v = v * 10 + (uint32_t)(pl->p[i] - '0');
	}

	*vp = v;

	return 0;
}


/* The body as really received: Content-Length may not claim more. */
static int input_body(struct sbc_in *in)
{
	struct mbuf *mb = in->msg->mb;
	size_t left = mbuf_get_left(mb);
	uint32_t clen;

	in->body.p = (const char *)mbuf_buf(mb);
	in->body.l = left;

	if (!pl_isset(&in->msg->clen))
		return 0;

	if (sbc_pl_u32(&in->msg->clen, &clen) || clen > left)
		return EBADMSG;

	in->body.l = clen;

	return 0;
}


static bool input_complete(const struct sip_msg *msg)
{
	return pl_isset(&msg->via.sentby) && pl_isset(&msg->callid) &&
		pl_isset(&msg->from.auri) && pl_isset(&msg->to.auri) &&
		pl_isset(&msg->cseq.met) && msg->cseq.num;
}


static void input_bad(struct sbc_core *core, const struct sbc_in *in,
		      const char *why)
{
	sbc_stats_add(core->stats, core->index, SBC_STAT_RX_BAD, 1);
	sbc_debug("bad %s from %J: %s (%r)",
		  in->msg->req ? "request" : "response", &in->src.addr, why,
		  &in->msg->callid);

	if (in->msg->req && pl_isset(&in->msg->via.sentby) &&
	    pl_strcmp(&in->msg->met, "ACK"))
		(void)sbc_reply(core, in, 400, "Bad Request", NULL);
}


static void input_handle(struct sbc_core *core, struct sbc_in *in)
{
	struct sip_msg *msg = in->msg;

	if (!input_complete(msg)) {
		input_bad(core, in, "a mandatory header is missing");
		return;
	}

	if (input_body(in)) {
		input_bad(core, in, "Content-Length larger than the body");
		return;
	}

	if (!msg->req) {
		if (in->media_done || !sbc_callmedia_intercept(core, in))
			sbc_txn_response(core, in);
		return;
	}

	if (pl_cmp(&msg->cseq.met, &msg->met)) {
		input_bad(core, in, "CSeq method differs");
		return;
	}

	if (!in->media_done && sbc_callmedia_intercept(core, in))
		return;

	if (!sbc_txn_request(core, in))
		sbc_proxy_request(core, in);
}


/*
 * Parse mb from its start and handle it as a message from src. media_done:
 * its SDP went through the relay already, which gave it record media.
 * Returns libre's parse error; nothing is handled then.
 */
static int input_parse(struct sbc_core *core, const struct sbc_dest *src,
		       struct mbuf *mb, bool media_done, uint32_t media)
{
	struct sbc_in in;
	int err;

	memset(&in, 0, sizeof(in));
	in.src   = *src;
	in.side  = sbc_listener_side(core, src->listener);
	in.media_done = media_done;
	in.media = media;

	mb->pos = 0;
	err = sip_msg_decode(&in.msg, mb);
	if (err)
		return err;

	input_handle(core, &in);
	mem_deref(in.msg);

	return 0;
}


/*
 * A message whose SDP the relay rewrote (callmedia.c), in mb: handled as
 * if it had arrived so, without going to the relay again. media: the
 * relay's session record + 1, for the call's dialog.
 */
void sbc_core_reinput(struct sbc_core *core, const struct sbc_dest *src,
		      struct mbuf *mb, uint32_t media)
{
	int err = input_parse(core, src, mb, true, media);

	if (err)
		sbc_warn("a message rewritten for the relay does not parse: "
			 "%m", err);
}


void sbc_core_input(struct sbc_core *core, const struct sbc_dest *src,
		    const uint8_t *buf, size_t len, bool handed_over)
{
	struct mbuf *mb;
	struct pl callid;
	int err;

	sbc_stats_add(core->stats, core->index, handed_over ?
		      SBC_STAT_HANDOVER_IN : SBC_STAT_RX, 1);

	if (src->listener >= core->cfg->listener_count)
		return;

	if (!handed_over && !sbc_callid_scan(buf, len, &callid)) {
		uint32_t owner = sbc_core_owner(core, &callid);

		if (owner != core->index) {
			(void)sbc_mbox_handover(core, owner, src, buf, len);
			return;
		}
	}

	mb = mbuf_alloc(len);
	if (!mb)
		return;

	if (mbuf_write_mem(mb, buf, len))
		goto out;

	err = input_parse(core, src, mb, false, 0);
	if (err) {
		sbc_stats_add(core->stats, core->index, SBC_STAT_RX_BAD, 1);
		sbc_debug("unparseable message from %J dropped (%m)",
			  &src->addr, err);
	}

 out:
	mem_deref(mb);
}
