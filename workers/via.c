/*
 * The Via of the previous hop, as responses must carry it back.
 *
 * sbcd answers to the address a request really came from (RFC 3581) and
 * says so in the topmost Via: `received` with the source IP and `rport`
 * with the source port when the client asked for it. These Vias are the
 * ones of the request as it reached sbcd: they are never sent downstream
 * (sbcd shows the next hop its own Via only), only put back into the
 * responses that go upstream.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"


int sbc_fwd_print_via(struct re_printf *pf, const struct sbc_in *in,
		      const struct sip_hdr *hdr, bool top)
{
	static const char *const skip[] = {"received", "rport", NULL};
	struct sip_via via;
	struct pl head;
	unsigned skipped;
	int err;

	if (!top || sip_via_decode(&via, &hdr->val))
		return re_hprintf(pf, "Via: %r\r\n", &hdr->val);

	/* "SIP/2.0/UDP host:port", then the parameters reworked */
	head.p = hdr->val.p;
	head.l = (size_t)(via.sentby.p + via.sentby.l - hdr->val.p);

	err = re_hprintf(pf, "Via: %r", &head);
	err |= sbc_params_print(pf, &via.params, skip, &skipped);
	err |= re_hprintf(pf, ";received=%j", &in->src.addr);
	if (skipped & 2)          /* the client asked for rport */
		err |= re_hprintf(pf, ";rport=%u", sa_port(&in->src.addr));
	err |= re_hprintf(pf, "\r\n");

	return err;
}


/* Every Via of the request, the top one completed: for responses. */
int sbc_via_print_all(struct re_printf *pf, const struct sbc_in *req)
{
	struct le *le;
	bool top = true;
	int err = 0;

	for (le = req->msg->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id != SIP_HDR_VIA)
			continue;

		err = sbc_fwd_print_via(pf, req, hdr, top);
		top = false;
	}

	return err;
}
