/*
 * Sending, and what sbcd calls itself.
 *
 * A message leaves from the listener it is addressed on: UDP from that
 * listener's socket (every worker has one bound to the same address, so
 * the source address is the same whichever worker sends), a connection
 * from the worker that owns it, asked through its mailbox when that is
 * another worker.
 *
 * The host sbcd puts in Via, Record-Route and Contact is the side's
 * advertised address when one is set (a public address or a keepalived VIP
 * in front of the listener), else the listener's own address.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/core.h"


int sbc_core_send(struct sbc_core *core, const struct sbc_dest *dst,
		  struct mbuf *mb)
{
	int err;

	if (!dst || !mb || dst->listener >= core->cfg->listener_count)
		return EINVAL;

	if (dst->conn && sbc_conn_worker(dst->conn) != core->index)
		return sbc_mbox_send(core, dst, mb->buf, mb->end);

	err = sbc_tp_send(core->tp, dst->listener, dst->conn, &dst->addr,
			  mb->buf, mb->end);
	if (err)
		sbc_debug("send to %J on listener %u failed: %m",
			  &dst->addr, dst->listener, err);

	return err;
}


enum sbc_side sbc_listener_side(const struct sbc_core *core, uint16_t l)
{
	if (l >= core->cfg->listener_count)
		return SBC_SIDE_ACCESS;

	return core->cfg->listeners[l].side;
}


/* The first listener of `side` with transport `tp` and address family af. */
int sbc_listener_find(const struct sbc_core *core, enum sbc_side side,
		      enum sbc_transport tp, int af, uint16_t *lp)
{
	for (uint32_t i = 0; i < core->cfg->listener_count; i++) {
		const struct sbc_listener_conf *lc = &core->cfg->listeners[i];

		if (lc->side == side && lc->transport == tp &&
		    sa_af(&lc->addr) == af) {
			*lp = (uint16_t)i;
			return 0;
		}
	}

	return ENOENT;
}


/* host:port of a listener as peers must see it (a %H printer: use
 * SBC_HOSTPORT(core, listener) as its two arguments). */
int sbc_listener_hostport(struct re_printf *pf, const struct sbc_hostport *hp)
{
	const struct sbc_config *cfg = hp->core->cfg;
	const struct sbc_listener_conf *lc = &cfg->listeners[hp->listener];
	const char *adv = cfg->advertise[lc->side];

	if (adv)
		return re_hprintf(pf, "%s:%u", adv, sa_port(&lc->addr));

	return re_hprintf(pf, "%J", &lc->addr);
}


const char *sbc_via_transport(enum sbc_transport tp)
{
	switch (tp) {

	case SBC_TP_TCP: return "TCP";
	case SBC_TP_TLS: return "TLS";
	case SBC_TP_WS:  return "WS";
	case SBC_TP_WSS: return "WSS";
	default:         return "UDP";
	}
}


static bool host_is_listener(const struct sbc_core *core,
			     const struct uri *uri,
			     const struct sbc_listener_conf *lc)
{
	const char *adv = core->cfg->advertise[lc->side];
	struct sa host;

	if (uri->port && uri->port != sa_port(&lc->addr))
		return false;

	if (adv && !pl_strcasecmp(&uri->host, adv))
		return true;

	if (sa_set(&host, &uri->host, sa_port(&lc->addr)))
		return false;

	return sa_cmp(&host, &lc->addr, SA_ADDR);
}


/* Does this URI name sbcd itself (any listener, any advertised host)? */
bool sbc_core_is_local(const struct sbc_core *core, const struct uri *uri)
{
	for (uint32_t i = 0; i < core->cfg->listener_count; i++) {
		if (host_is_listener(core, uri, &core->cfg->listeners[i]))
			return true;
	}

	return false;
}
