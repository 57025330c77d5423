/*
 * The transport object and its public calls (see transport.h).
 *
 * sbc_tp_alloc() binds every listener, builds the TLS context if a TLS or
 * WSS listener needs one, and from then on everything happens in libre's
 * event loop: tp_udp.c reads datagrams, tp_accept.c accepts, tp_conn.c
 * runs each connection. This file routes the SIP core's calls to them and
 * keeps the ids and counters.
 */

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <openssl/ssl.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "shm/shm.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"

enum {
	TP_WORKERS_MAX = 255,     /* worker + 1 must fit the id's top byte */
	TP_MESSAGE_MIN = 64,      /* smaller sip.max_message_size: refused */
};


/* Monotonic milliseconds, for the connections' deadlines (libre's
 * tmr_jiffies() follows the wall clock). */
uint64_t tp_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


void tp_count(struct sbc_tp *tp, enum sbc_stat stat, int64_t delta)
{
	if (tp->stats)
		sbc_stats_add(tp->stats, tp->worker, stat, delta);
}


/* For logs (cfg/ names transports for the config; this is the transport's
 * own, so it links without the config parser). */
const char *tp_name(enum sbc_transport kind)
{
	switch (kind) {

	case SBC_TP_UDP: return "udp";
	case SBC_TP_TCP: return "tcp";
	case SBC_TP_TLS: return "tls";
	case SBC_TP_WS:  return "ws";
	case SBC_TP_WSS: return "wss";
	default:         return "?";
	}
}


bool tp_is_stream(enum sbc_transport kind)
{
	return kind == SBC_TP_TCP || kind == SBC_TP_TLS || tp_is_ws(kind);
}


bool tp_is_tls(enum sbc_transport kind)
{
	return kind == SBC_TP_TLS || kind == SBC_TP_WSS;
}


bool tp_is_ws(enum sbc_transport kind)
{
	return kind == SBC_TP_WS || kind == SBC_TP_WSS;
}


static void tp_destructor(void *arg)
{
	struct sbc_tp *tp = arg;
	uint16_t i;

	for (i = 0; i < tp->lsnc; i++)
		tp_listen_close(&tp->lsnv[i]);

	hash_flush(tp->conns);
	mem_deref(tp->conns);
	mem_deref(tp->lsnv);
	mem_deref(tp->udp);
	SSL_CTX_free(tp->ssl_ctx);
}


/* What the listeners need besides their sockets: UDP buffers, a TLS
 * context. */
static int tp_prepare(struct sbc_tp *tp)
{
	const struct sbc_config *cfg = tp->cfg;
	bool udp = false, tls = false;
	uint32_t i;
	int err = 0;

	for (i = 0; i < cfg->listener_count; i++) {
		udp |= cfg->listeners[i].transport == SBC_TP_UDP;
		tls |= tp_is_tls(cfg->listeners[i].transport);
	}

	if (udp)
		err = tp_udp_alloc(&tp->udp, cfg->max_message);
	if (!err && tls)
		err = tp_tls_ctx(&tp->ssl_ctx, cfg);

	return err;
}


/*
 * The worker's transport: every listener of cfg bound and watched. cfg
 * must outlive it; stats may be NULL (nothing is counted). incarnation
 * goes into the connection ids (its low 16 bits). Returns EADDRINUSE or
 * another errno value when a listener cannot be bound, EINVAL for a
 * missing or bad TLS certificate.
 */
int sbc_tp_alloc(struct sbc_tp **tpp, const struct sbc_config *cfg,
		 uint32_t worker, uint32_t incarnation,
		 struct sbc_stats *stats, sbc_tp_recv_h *recvh,
		 sbc_tp_close_h *closeh, void *arg)
{
	struct sbc_tp *tp;
	int err;

	if (!tpp || !cfg || !recvh || worker >= TP_WORKERS_MAX ||
	    cfg->max_message < TP_MESSAGE_MIN ||
	    (cfg->listener_count && !cfg->listeners))
		return EINVAL;

	/* OpenSSL writes with write(2): a reset peer must not kill us */
	if (SIG_ERR == signal(SIGPIPE, SIG_IGN))
		return errno;

	tp = mem_zalloc(sizeof(*tp), tp_destructor);
	if (!tp)
		return ENOMEM;

	tp->cfg = cfg;
	tp->stats = stats;
	tp->worker = worker;
	tp->id_base = (uint64_t)(worker + 1) << 56 |
		      (uint64_t)(incarnation & 0xffff) << 40;
	tp->recvh = recvh;
	tp->closeh = closeh;
	tp->arg = arg;

	err = hash_alloc(&tp->conns, TP_CONN_BUCKETS);
	if (err)
		goto out;

	err = tp_prepare(tp);
	if (err)
		goto out;

	err = tp_listen_all(tp);
	if (err)
		goto out;

	if (stats)
		sbc_stats_set(stats, worker, SBC_STAT_CONNS_NOW, 0);

 out:
	if (err)
		mem_deref(tp);
	else
		*tpp = tp;

	return err;
}


static int send_conn(struct sbc_tp *tp, uint64_t id, const uint8_t *buf,
		     size_t len)
{
	struct tp_conn *c = tp_conn_find(tp, id);

	if (!c || c->err || c->state != TP_CONN_OPEN)
		return ENOTCONN;

	c->last_use = tp_now();

	if (tp_is_ws(c->kind))
		return tp_ws_send(c, SBC_WS_OP_TEXT, buf, len);

	return tp_io_send(c, buf, len);
}


/*
 * Send one SIP message: on connection conn (listener and dst are then
 * ignored), or with conn 0 as a datagram from UDP listener `listener` to
 * dst. Returns 0 once it is written or queued; ENOTCONN for a connection
 * that is not open in this worker, EINVAL for a listener that is not UDP,
 * ENOBUFS when the connection's output queue is full (the connection is
 * then closed), or the socket's error.
 */
int sbc_tp_send(struct sbc_tp *tp, uint16_t listener, uint64_t conn,
		const struct sa *dst, const uint8_t *buf, size_t len)
{
	int err;

	if (!tp || !buf || !len)
		return EINVAL;

	if (conn)
		err = send_conn(tp, conn, buf, len);
	else if (listener >= tp->lsnc ||
		 tp->lsnv[listener].conf->transport != SBC_TP_UDP)
		err = EINVAL;
	else
		err = tp_udp_send(&tp->lsnv[listener], dst, buf, len);

	if (!err)
		tp_count(tp, SBC_STAT_TX, 1);

	return err;
}


/* Keep conn open at least until until_ms (sbc_now_ms() time), whatever
 * its idle time. Holds only ever extend. */
void sbc_tp_hold(struct sbc_tp *tp, uint64_t conn, uint64_t until_ms)
{
	struct tp_conn *c;

	if (!tp || !conn)
		return;

	c = tp_conn_find(tp, conn);
	if (c && until_ms > c->hold_until)
		c->hold_until = until_ms;
}


/* Is conn open in this worker (and not closing)? */
bool sbc_tp_conn_alive(const struct sbc_tp *tp, uint64_t conn)
{
	const struct tp_conn *c;

	if (!tp || !conn)
		return false;

	c = tp_conn_find(tp, conn);

	return c && !c->err && c->state == TP_CONN_OPEN;
}


/* Graceful shutdown: close the TCP, TLS, WS and WSS listening sockets so
 * no new connection comes here; UDP and open connections go on. */
void sbc_tp_drain(struct sbc_tp *tp)
{
	uint16_t i;

	if (!tp)
		return;

	for (i = 0; i < tp->lsnc; i++) {
		if (tp_is_stream(tp->lsnv[i].conf->transport))
			tp_listen_close(&tp->lsnv[i]);
	}
}


/* Connections of this worker, handshaking ones included. */
uint32_t sbc_tp_conn_count(const struct sbc_tp *tp)
{
	return tp ? tp->nconns : 0;
}
