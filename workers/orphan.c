/*
 * A 2xx on a branch sbcd gave up on: the backend answered after the call
 * had moved on to another one (failover.c). Nobody will ever ACK that
 * call, and the backend would keep it until its own timers ran out, a
 * place of its capacity taken; so sbcd ACKs the 2xx and ends the call with
 * a BYE of its own (RFC 3261 13.2.2.4).
 *
 * Both requests go to the branch's destination, with the 2xx's Contact as
 * Request-URI and the Record-Route entries that are not sbcd's, reversed,
 * as Route.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/uac.h"
#include "workers/timer.h"
#include "workers/txn.h"


/* The route set toward the UAS: Record-Routes not ours, bottom first. */
static int routes_from(struct re_printf *pf, const struct sbc_core *core,
		       const struct le *le)
{
	const struct sip_hdr *hdr;
	struct sip_addr addr;
	int err;

	if (!le)
		return 0;

	err = routes_from(pf, core, le->next);
	hdr = le->data;

	if (hdr->id != SIP_HDR_RECORD_ROUTE ||
	    (!sip_addr_decode(&addr, &hdr->val) &&
	     sbc_core_is_local(core, &addr.uri)))
		return err;

	return err | re_hprintf(pf, "Route: %r\r\n", &hdr->val);
}


struct routes_arg {
	const struct sbc_core *core;
	const struct sip_msg *rsp;
};


static int routes_print(struct re_printf *pf, void *arg)
{
	const struct routes_arg *ra = arg;

	return routes_from(pf, ra->core, ra->rsp->hdrl.head);
}


static int orphan_print(struct mbuf **mbp, const struct sbc_core *core,
			const struct sbc_dest *dst, const struct sip_msg *rsp,
			const char *met, uint32_t cseq, const char *branch)
{
	struct sip_addr contact;
	const struct sip_hdr *hdr;
	struct mbuf *mb;
	int err;

	hdr = sip_msg_hdr(rsp, SIP_HDR_CONTACT);
	if (!hdr || sip_addr_decode(&contact, &hdr->val))
		return EBADMSG;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "%s %r SIP/2.0\r\nVia: SIP/2.0/UDP %H;branch=%s;"
			  "rport\r\nMax-Forwards: 70\r\n", met,
			  &contact.auri, SBC_HOSTPORT(core, dst->listener),
			  branch);
	err |= mbuf_printf(mb, "%H", routes_print,
			   &(struct routes_arg){core, rsp});
	err |= mbuf_printf(mb, "From: %r\r\nTo: %r\r\nCall-ID: %r\r\n"
			   "CSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
			   &rsp->from.val, &rsp->to.val, &rsp->callid, cseq,
			   met);
	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


/* The BYE's transaction, owned until its final. */
struct orphan {
	struct sbc_uac *uac;
};


static void orphan_destructor(void *arg)
{
	struct orphan *o = arg;

	mem_deref(o->uac);
}


static void bye_handler(int err, uint16_t scode, void *arg)
{
	sbc_debug("BYE of a late 2xx: %s %u", err ? "no answer" : "answered",
		  scode);
	mem_deref(arg);
}


/* ACK the 2xx: again for each retransmission of it, which says the
 * last ACK was lost. */
void sbc_orphan_ack(struct sbc_core *core, const struct sbc_dest *dst,
		    const struct sip_msg *rsp)
{
	struct mbuf *ack = NULL;
	char branch[48];

	(void)re_snprintf(branch, sizeof(branch), SBC_BRANCH_PREFIX
			  "%016llxo%x", (unsigned long long)core->branch_salt,
			  (unsigned)++core->branch_seq);
	if (!orphan_print(&ack, core, dst, rsp, "ACK", rsp->cseq.num, branch))
		(void)sbc_core_send(core, dst, ack);
	mem_deref(ack);
}


/* ACK the 2xx, and end its call with a BYE of sbcd's own. */
void sbc_orphan_end(struct sbc_core *core, const struct sbc_dest *dst,
		    const struct sip_msg *rsp)
{
	struct mbuf *bye = NULL;
	struct orphan *o;
	int err;

	sbc_info("late 2xx from %J after failover: ACK and BYE (%r)",
		 &dst->addr, &rsp->callid);

	sbc_orphan_ack(core, dst, rsp);

	o = mem_zalloc(sizeof(*o), orphan_destructor);
	if (!o)
		return;

	err = sbc_uac_alloc(&o->uac, core, dst, bye_handler, o);
	if (!err)
		err = orphan_print(&bye, core, dst, rsp, "BYE",
				   rsp->cseq.num + 1, sbc_uac_branch(o->uac));
	if (!err)
		err = sbc_uac_start(o->uac, bye, 64ull * core->cfg->t1_ms);
	mem_deref(bye);

	if (err)
		mem_deref(o);
}
