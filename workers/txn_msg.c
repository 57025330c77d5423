/*
 * CANCEL and ACK made by sbcd for one of its branches.
 *
 * Both are hop-by-hop requests built from the request sbcd sent on that
 * branch (RFC 3261 9.1 and 17.1.1.3): same Request-URI, the same single
 * Via (so the same branch), From, Call-ID, the CSeq number with the new
 * method, the same Route set; an ACK takes the To of the final it
 * acknowledges (with its tag).
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/timer.h"
#include "workers/txn.h"


static int hop_hdrs(struct mbuf *mb, const struct sip_msg *msg,
		    const char *met, const struct pl *to)
{
	struct le *le;
	int err;

	err = mbuf_printf(mb, "%s %r SIP/2.0\r\nVia: %r\r\nMax-Forwards: 70"
			  "\r\nFrom: %r\r\nTo: %r\r\nCall-ID: %r\r\n"
			  "CSeq: %u %s\r\n", met, &msg->ruri, &msg->via.val,
			  &msg->from.val, to ? to : &msg->to.val,
			  &msg->callid, msg->cseq.num, met);

	for (le = msg->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id == SIP_HDR_ROUTE)
			err = mbuf_printf(mb, "Route: %r\r\n", &hdr->val);
	}

	err |= mbuf_printf(mb, "Content-Length: 0\r\n\r\n");

	return err;
}


int sbc_txn_hop_print(struct mbuf **mbp, struct mbuf *req, const char *met,
		      const struct pl *to)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	size_t pos = req->pos;
	int err;

	req->pos = 0;
	err = sip_msg_decode(&msg, req);
	req->pos = pos;
	if (err)
		return err;

	mb = mbuf_alloc(512);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}

	err = hop_hdrs(mb, msg, met, to);

 out:
	mem_deref(msg);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}
