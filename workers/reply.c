/*
 * Responses sbcd makes itself: 100 Trying, errors (400, 403, 404, 480,
 * 481, 482, 483, 503), 200 to CANCEL and to OPTIONS sent to sbcd.
 *
 * A response goes back to where its request came from, with the request's
 * Vias (the top one with received/rport), From, To, Call-ID and CSeq. A
 * To without a tag gets one derived from the request, so a retransmitted
 * request gets the same tag again.
 */

#include <string.h>
#include <re.h>
#include <xxhash.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"


static uint32_t reply_tag(const struct sip_msg *msg)
{
	uint64_t h = XXH3_64bits(msg->callid.p, msg->callid.l);

	h = XXH3_64bits_withSeed(msg->from.tag.p, msg->from.tag.l, h);
	h = XXH3_64bits_withSeed(msg->via.branch.p, msg->via.branch.l, h);

	return (uint32_t)h;
}


/* The whole response to `in`, into mb. `extra` holds complete header
 * lines (each ending in CRLF) or is NULL. */
int sbc_reply_print(struct mbuf *mb, const struct sbc_in *in,
		    uint16_t scode, const char *reason, const char *extra)
{
	const struct sip_msg *msg = in->msg;
	struct re_printf pf;
	int err;

	sbc_pf_mbuf(&pf, mb);

	err = mbuf_printf(mb, "SIP/2.0 %u %s\r\n", scode, reason);
	err |= sbc_via_print_all(&pf, in);
	err |= mbuf_printf(mb, "From: %r\r\nTo: %r", &msg->from.val,
			   &msg->to.val);
	if (scode > 100 && !pl_isset(&msg->to.tag))
		err |= mbuf_printf(mb, ";tag=sbc%08x", reply_tag(msg));
	err |= mbuf_printf(mb, "\r\nCall-ID: %r\r\nCSeq: %u %r\r\n",
			   &msg->callid, msg->cseq.num, &msg->cseq.met);
	if (extra)
		err |= mbuf_write_str(mb, extra);
	err |= mbuf_printf(mb, "Server: sbcd\r\nContent-Length: 0\r\n\r\n");

	return err;
}


/* Is this the ACK of a final sbcd made itself? Its To carries the tag
 * sbcd put there, derived from the same request. */
bool sbc_reply_acked(const struct sip_msg *ack)
{
	char tag[16];

	(void)re_snprintf(tag, sizeof(tag), "sbc%08x", reply_tag(ack));

	return 0 == pl_strcmp(&ack->to.tag, tag);
}


/* Answer `in` now, statelessly. */
int sbc_reply(struct sbc_core *core, const struct sbc_in *in,
	      uint16_t scode, const char *reason, const char *extra)
{
	struct mbuf *mb;
	int err;

	/* an ACK is never answered */
	if (!pl_strcmp(&in->msg->met, "ACK"))
		return 0;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;

	err = sbc_reply_print(mb, in, scode, reason, extra);
	if (!err)
		err = sbc_core_send(core, &in->src, mb);

	if (scode >= 300)
		sbc_debug("%u %s to %r from %J (%r)", scode, reason,
			  &in->msg->met, &in->src.addr, &in->msg->callid);

	mem_deref(mb);

	return err;
}
