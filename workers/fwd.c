/*
 * Forwarded requests and responses.
 *
 * A forwarded message is printed anew from libre's parse, header by header
 * in the order received, with these changes:
 * - requests carry sbcd's Via only: the Vias of the previous hops stay in
 *   the transaction and go back into the responses (topology hiding, and
 *   nothing like a WebSocket client's `.invalid` host reaches a backend);
 * - Max-Forwards is decremented (70 when absent);
 * - the leading Route values that named sbcd are removed (loose routing),
 *   and sbcd's Record-Route pair goes above any other;
 * - a Contact from the access side names the address the message really
 *   came from (NAT), or is rewritten by the registrar;
 * - Content-Length states the body actually forwarded;
 * - in a dialog whose CSeqs sbcd shifted (dialog.c), a request carries
 *   its new number (a PRACK's RAck the same shift), and a response always
 *   its request's own.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"

enum {
	MAX_FORWARDS_DEFAULT = 70,
};


static int pf_mbuf_write(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


/* A printer (for %H handlers) that appends to mb. */
void sbc_pf_mbuf(struct re_printf *pf, struct mbuf *mb)
{
	pf->vph = pf_mbuf_write;
	pf->arg = mb;
}


/*
 * Print the ";name[=value]" parameters of `params` but those named in
 * `skip` (NULL-terminated, names compared without case); bit i of
 * *skipped (when not NULL) tells that skip[i] was there.
 */
int sbc_params_print(struct re_printf *pf, const struct pl *params,
		     const char *const skip[], unsigned *skipped)
{
	struct pl rest = *params, name, val, sep;
	int err = 0;

	if (skipped)
		*skipped = 0;

	while (!err && !re_regex(rest.p, rest.l,
				 "[ \t]*;[ \t]*[^ \t;=]+[ \t]*[=]*[^;]*",
				 NULL, NULL, &name, NULL, &sep, &val)) {
		const char *end = val.p + val.l;
		bool drop = false;

		rest.l -= (size_t)(end - rest.p);
		rest.p = end;

		for (unsigned i = 0; skip[i]; i++) {
			if (!pl_strcasecmp(&name, skip[i])) {
				drop = true;
				if (skipped)
					*skipped |= 1u << i;
			}
		}

		if (!drop)
			err = re_hprintf(pf, ";%r%s%r", &name,
					 sep.l ? "=" : "", &val);
	}

	return err;
}


/* One Contact value rewritten to the address it really came from. */
static bool contact_source_print(const struct sip_hdr *hdr,
				 const struct sip_msg *msg, void *arg)
{
	struct re_printf *pf = ((void **)arg)[0];
	const struct sbc_in *in = ((void **)arg)[1];
	int *errp = ((void **)arg)[2];
	struct sip_addr addr;
	(void)msg;

	if (sip_addr_decode(&addr, &hdr->val)) {
		*errp |= re_hprintf(pf, "Contact: %r\r\n", &hdr->val);
		return false;
	}

	*errp |= re_hprintf(pf, "Contact: <sip:%r%s%J>%r\r\n",
			    &addr.uri.user, addr.uri.user.l ? "@" : "",
			    &in->src.addr, &addr.params);

	return false;
}


/* Every Contact of `in` with its host replaced by the real source. */
static int contacts_source_print(struct re_printf *pf, void *arg)
{
	const struct sbc_in *in = arg;
	int err = 0;
	void *args[3] = {pf, (void *)(uintptr_t)in, &err};

	(void)sip_msg_hdr_apply(in->msg, true, SIP_HDR_CONTACT,
				contact_source_print, args);

	return err;
}


struct hdrs_print {
	re_printf_h *contact_h;      /* replaces every Contact, or NULL */
	void *contact_arg;
	re_printf_h *rr_h;           /* printed above the first RR */
	void *rr_arg;
	unsigned routes_skip;
	const struct sip_cseq *cseq; /* replaces the CSeq, or NULL */
	uint32_t shift;              /* added to the RAck's CSeq number */
};


/* "RAck: RSEQ CSEQ METHOD" with the CSeq number shifted like the
 * request's own (RFC 3262 7.2); a value it cannot read goes unchanged. */
static int rack_print(struct re_printf *pf, const struct sip_hdr *hdr,
		      uint32_t shift)
{
	struct pl rseq, num, met;
	uint32_t n;

	if (re_regex(hdr->val.p, hdr->val.l, "[0-9]+[ \t]+[0-9]+[ \t]+[^ \t]+",
		     &rseq, NULL, &num, NULL, &met) || sbc_pl_u32(&num, &n))
		return re_hprintf(pf, "%r: %r\r\n", &hdr->name, &hdr->val);

	return re_hprintf(pf, "%r: %r %u %r\r\n", &hdr->name, &rseq,
			  n + shift, &met);
}


static int hdrs_print(struct re_printf *pf, const struct sip_msg *msg,
		      const struct hdrs_print *hp)
{
	unsigned routes = 0;
	bool contact_done = false, rr_done = !hp->rr_h;
	struct le *le;
	int err = 0;

	for (le = msg->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		switch (hdr->id) {

		case SIP_HDR_VIA:
		case SIP_HDR_MAX_FORWARDS:
		case SIP_HDR_CONTENT_LENGTH:
			continue;

		case SIP_HDR_ROUTE:
			if (routes++ < hp->routes_skip)
				continue;
			break;

		case SIP_HDR_RECORD_ROUTE:
			if (!rr_done) {
				err = hp->rr_h(pf, hp->rr_arg);
				rr_done = true;
			}
			break;

		case SIP_HDR_RACK:
			if (!hp->shift)
				break;
			err = rack_print(pf, hdr, hp->shift);
			continue;

		case SIP_HDR_CSEQ:
			if (!hp->cseq)
				break;
			err = re_hprintf(pf, "%r: %u %r\r\n", &hdr->name,
					 hp->cseq->num, &hp->cseq->met);
			continue;

		case SIP_HDR_CONTACT:
			if (!hp->contact_h)
				break;
			if (!contact_done)
				err = hp->contact_h(pf, hp->contact_arg);
			contact_done = true;
			continue;

		default:
			break;
		}

		err |= re_hprintf(pf, "%r: %r\r\n", &hdr->name, &hdr->val);
	}

	if (!err && !rr_done)
		err = hp->rr_h(pf, hp->rr_arg);

	return err;
}


static int body_print(struct re_printf *pf, const struct sbc_in *in)
{
	return re_hprintf(pf, "Content-Length: %zu\r\n\r\n%b", in->body.l,
			  in->body.p, in->body.l);
}


struct rr_pair {
	const struct sbc_core *core;
	const struct sbc_in *in;
	const struct sbc_fwd *fwd;
};


/* sbcd's Record-Route pair: the listener facing the next hop on top. */
static int rr_pair_print(struct re_printf *pf, void *arg)
{
	const struct rr_pair *rp = arg;
	const struct sbc_fwd *fwd = rp->fwd;
	int err;

	err = sbc_route_print_rr(pf, rp->core, fwd->dst->listener,
				 fwd->rr_user, fwd->rr_backend);
	err |= sbc_route_print_rr(pf, rp->core, rp->in->src.listener,
				  fwd->rr_user, fwd->rr_backend);

	return err;
}


static uint32_t max_forwards(const struct sip_msg *msg)
{
	uint32_t mf;

	/* absent or unreadable: as if a fresh request */
	if (sbc_pl_u32(&msg->maxfwd, &mf))
		return MAX_FORWARDS_DEFAULT;

	return mf > 255 ? 254 : (mf ? mf - 1 : 0);
}


/* The request `in` as sent to fwd->dst. */
int sbc_fwd_request(struct mbuf **mbp, const struct sbc_core *core,
		    const struct sbc_in *in, const struct sbc_fwd *fwd)
{
	const struct sip_msg *msg = in->msg;
	struct rr_pair rp = {core, in, fwd};
	struct sip_cseq cseq = {msg->cseq.met, fwd->cseq};
	struct hdrs_print hp = {
		.contact_h   = fwd->contact_h,
		.contact_arg = fwd->contact_arg,
		.rr_h        = fwd->record_route ? rr_pair_print : NULL,
		.rr_arg      = &rp,
		.routes_skip = fwd->routes_popped,
		.cseq        = fwd->cseq && fwd->cseq != msg->cseq.num ?
			       &cseq : NULL,
		.shift       = fwd->cseq ? fwd->cseq - msg->cseq.num : 0,
	};
	struct re_printf pf;
	struct mbuf *mb;
	int err;

	if (!hp.contact_h && fwd->rewrite_contact) {
		hp.contact_h   = contacts_source_print;
		hp.contact_arg = (void *)(uintptr_t)in;
	}

	mb = mbuf_alloc(mbuf_get_left(msg->mb) + msg->mb->pos + 512);
	if (!mb)
		return ENOMEM;

	sbc_pf_mbuf(&pf, mb);

	err = mbuf_printf(mb, "%r ", &msg->met);
	if (fwd->ruri)
		err |= mbuf_write_str(mb, fwd->ruri);
	else
		err |= mbuf_write_pl(mb, &msg->ruri);
	err |= mbuf_printf(mb, " SIP/2.0\r\nVia: SIP/2.0/%s %H;branch=%s;rport"
			   "\r\nMax-Forwards: %u\r\n",
			   sbc_via_transport(fwd->dst->tp),
			   SBC_HOSTPORT(core, fwd->dst->listener),
			   fwd->branch, max_forwards(msg));
	err |= hdrs_print(&pf, msg, &hp);
	err |= body_print(&pf, in);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


/* The response `rsp` to `req`, as sent back to where req came from: the
 * request's own Vias replace sbcd's. */
int sbc_fwd_response(struct mbuf **mbp, const struct sbc_in *rsp,
		     const struct sbc_in *req, re_printf_h *contact_h,
		     void *contact_arg)
{
	const struct sip_msg *msg = rsp->msg;
	struct hdrs_print hp = {
		.contact_h   = contact_h,
		.contact_arg = contact_arg,
		.cseq        = req->msg && req->msg->cseq.num != msg->cseq.num ?
			       &req->msg->cseq : NULL,
	};
	struct re_printf pf;
	struct mbuf *mb;
	int err;

	if (!contact_h && rsp->side == SBC_SIDE_ACCESS) {
		hp.contact_h   = contacts_source_print;
		hp.contact_arg = (void *)(uintptr_t)rsp;
	}

	mb = mbuf_alloc(mbuf_get_left(msg->mb) + msg->mb->pos + 512);
	if (!mb)
		return ENOMEM;

	sbc_pf_mbuf(&pf, mb);

	err = mbuf_printf(mb, "SIP/2.0 %u %r\r\n", msg->scode, &msg->reason);
	err |= sbc_via_print_all(&pf, req);
	err |= hdrs_print(&pf, msg, &hp);
	err |= body_print(&pf, rsp);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}
