/*
 * Requests sbcd sends inside a dialog (keepalive OPTIONS, BYE), as the
 * other party would: toward the callee From is the caller and To the
 * callee, toward the caller the other way round (RFC 3261 12.2.1.1). The
 * Request-URI is the leg's Contact, the route set its own, the CSeq one
 * above the highest sent to that leg; the request goes where the leg's
 * requests always go (its connection, or the address sbcd recorded).
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/dlg.h"
#include "cfg/config.h"
#include "shm/backend.h"
#include "workers/core.h"
#include "workers/timer.h"
#include "workers/uac.h"
#include "workers/dialog.h"

enum {
	MAX_FORWARDS = 70,
};


static int leg_dest(const struct sbc_dialog *dlg, enum sbc_dlg_side to,
		    struct sbc_dest *dst)
{
	const struct sbc_dlg_leg *leg = to == SBC_DLG_CALLER ?
		&dlg->rec.caller : &dlg->rec.callee;

	memset(dst, 0, sizeof(*dst));
	dst->listener = leg->listener;
	dst->conn     = leg->conn;
	dst->tp       = (enum sbc_transport)leg->transport;

	return sbc_addr_get(&leg->addr, &dst->addr);
}


/* From and To as the party facing leg `to` writes them. */
static int parties_print(struct re_printf *pf, const struct sbc_dlg *rec,
			 enum sbc_dlg_side to)
{
	bool to_caller = to == SBC_DLG_CALLER;

	return re_hprintf(pf, "From: <%s>;tag=%s\r\nTo: <%s>;tag=%s\r\n",
			  to_caller ? rec->to_uri : rec->from_uri,
			  to_caller ? rec->to_tag : rec->from_tag,
			  to_caller ? rec->from_uri : rec->to_uri,
			  to_caller ? rec->from_tag : rec->to_tag);
}


/* The request `met` toward leg `to`; it takes the leg's next CSeq. */
static int req_print(struct mbuf **mbp, struct sbc_dialog *dlg,
		     enum sbc_dlg_side to, const char *met, const char *branch)
{
	struct sbc_dlg_leg *leg = sbc_dialog_leg(dlg, to);
	struct re_printf pf;
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;

	sbc_pf_mbuf(&pf, mb);
	++leg->cseq;

	err = mbuf_printf(mb, "%s %s SIP/2.0\r\n"
			  "Via: SIP/2.0/%s %H;branch=%s;rport\r\n"
			  "Max-Forwards: %u\r\n",
			  met, leg->contact,
			  sbc_via_transport((enum sbc_transport)leg->transport),
			  SBC_HOSTPORT(dlg->core, leg->listener), branch,
			  MAX_FORWARDS);
	if (leg->route[0])
		err |= mbuf_printf(mb, "Route: %s\r\n", leg->route);
	err |= parties_print(&pf, &dlg->rec, to);
	err |= mbuf_printf(mb, "Call-ID: %s\r\nCSeq: %u %s\r\n"
			   "Content-Length: 0\r\n\r\n", dlg->rec.call_id,
			   leg->cseq, met);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


/*
 * Send `met` to leg `to` as a client transaction of sbcd's own, answered
 * through h(err, scode, dlg) within timeout_ms; dlg->uac[to] holds it.
 * ENOTCONN: the leg's connection is gone, nothing was started.
 */
int sbc_dialog_send(struct sbc_dialog *dlg, enum sbc_dlg_side to,
		    const char *met, uint64_t timeout_ms, sbc_uac_h *h)
{
	struct sbc_uac *uac = NULL;
	struct mbuf *mb = NULL;
	struct sbc_dest dst;
	int err;

	err = leg_dest(dlg, to, &dst);
	if (!err)
		err = sbc_uac_alloc(&uac, dlg->core, &dst, h, dlg);
	if (!err)
		err = req_print(&mb, dlg, to, met, sbc_uac_branch(uac));
	if (!err)
		err = sbc_uac_start(uac, mb, timeout_ms);
	mem_deref(mb);

	if (err)
		mem_deref(uac);
	else
		dlg->uac[to] = uac;

	return err;
}
