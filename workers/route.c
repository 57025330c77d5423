/*
 * Record-Route and Route: how in-dialog requests find their way back.
 *
 * sbcd record-routes every request it forwards, twice: once with the URI
 * of the listener facing the next hop, once with the one facing the
 * previous hop (RFC 5658), so each side reaches sbcd on its own interface
 * and transport. The URI on the access side carries where the user really
 * is (listener, connection, address and port: `sbcu`) and which backend
 * the dialog uses (`sbcn`). A user behind NAT, or on a WebSocket it
 * opened, cannot be reached at its Contact; the Route the backend sends
 * back tells sbcd where to go, with no dialog state kept anywhere.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"


/* WebSocket clients always send on the connection they opened, whatever
 * the URI says; `transport=ws` would only leak toward the backend, which
 * must never see it (seed 001). */
static const char *rr_transport(enum sbc_transport tp)
{
	switch (tp) {

	case SBC_TP_TCP: return ";transport=tcp";
	case SBC_TP_TLS: return ";transport=tls";
	default:         return "";
	}
}


/* `sbcu=LISTENER-CONN-PORT-IP`: IPv6 has no '-', so IP goes last. */
static int rr_user_print(struct re_printf *pf, const struct sbc_dest *user)
{
	return re_hprintf(pf, ";" SBC_PARAM_USER "=%u-%llx-%u-%j",
			  user->listener, (unsigned long long)user->conn,
			  sa_port(&user->addr), &user->addr);
}


/* One Record-Route header for `listener`; `user` (and backend) only on the
 * access side. */
int sbc_route_print_rr(struct re_printf *pf, const struct sbc_core *core,
		       uint16_t listener, const struct sbc_dest *user,
		       uint16_t backend)
{
	const struct sbc_listener_conf *lc = &core->cfg->listeners[listener];
	int err;

	err = re_hprintf(pf, "Record-Route: <sip:%H%s;lr",
			 SBC_HOSTPORT(core, listener),
			 rr_transport(lc->transport));

	if (user && lc->side == SBC_SIDE_ACCESS) {
		err |= rr_user_print(pf, user);
		if (backend != SBC_BK_NONE)
			err |= re_hprintf(pf, ";" SBC_PARAM_BACKEND "=%u",
					  backend);
	}

	err |= re_hprintf(pf, ">\r\n");

	return err;
}


static int route_user_decode(const struct sbc_core *core,
			     const struct pl *val, struct sbc_dest *user)
{
	struct pl l, conn, port, ip;

	if (re_regex(val->p, val->l, "[0-9]+-[0-9a-f]+-[0-9]+-[^]+",
		     &l, &conn, &port, &ip))
		return EBADMSG;

	if (l.l > 5 || conn.l > 16 || port.l > 5)
		return EBADMSG;

	user->listener = (uint16_t)pl_u32(&l);
	user->conn     = pl_x64(&conn);

	if (user->listener >= core->cfg->listener_count ||
	    core->cfg->listeners[user->listener].side != SBC_SIDE_ACCESS)
		return EBADMSG;

	user->tp = core->cfg->listeners[user->listener].transport;

	return sa_set(&user->addr, &ip, (uint16_t)pl_u32(&port));
}


static void route_params(const struct sbc_core *core, const struct uri *uri,
			 struct sbc_route *rt)
{
	struct pl v;

	if (!msg_param_decode(&uri->params, SBC_PARAM_USER, &v) &&
	    !route_user_decode(core, &v, &rt->user))
		rt->has_user = true;

	if (!msg_param_decode(&uri->params, SBC_PARAM_BACKEND, &v) &&
	    v.l <= 5 && pl_u32(&v) < SBC_BK_SLOTS &&
	    core->bk && core->bk->slot[pl_u32(&v)].known) {
		rt->has_backend = true;
		rt->backend = (uint16_t)pl_u32(&v);
	}
}


/* Walk the leading Route values that name sbcd, and what they carry. */
void sbc_route_scan(const struct sbc_core *core, const struct sip_msg *msg,
		    struct sbc_route *rt)
{
	struct le *le;

	memset(rt, 0, sizeof(*rt));

	for (le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct sip_addr addr;

		if (hdr->id != SIP_HDR_ROUTE)
			continue;

		if (sip_addr_decode(&addr, &hdr->val) ||
		    !sbc_core_is_local(core, &addr.uri)) {
			rt->next = hdr;
			return;
		}

		++rt->popped;
		route_params(core, &addr.uri, rt);
	}
}
