/*
 * A connection's life: accepted, handshaking (TLS, WebSocket upgrade),
 * open, maybe lingering over a last answer, closed.
 *
 * A connection is closed in one place, conn_close(), and only from the
 * event loop: from its own fd handler or from one of its timers. Code that
 * finds a connection broken while something else is running (a send from
 * the SIP core, inside recvh or not) marks it with tp_conn_fail(), which
 * closes it from a zero timer. So closeh never runs inside sbc_tp_send(),
 * and a connection never disappears under the loop that is reading it.
 *
 * One timer per connection holds its next deadline: the handshake (10 s),
 * the idle timeout (pushed back by a hold), the next WebSocket ping, or
 * the end of lingering. Traffic only writes a timestamp; the timer, when
 * it fires, looks at the timestamps and sleeps again if it is early.
 */

#include <errno.h>
#include <unistd.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "shm/shm.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/ws_handshake.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"

static void conn_event(struct tp_conn *c);


static void conn_destructor(void *arg)
{
	struct tp_conn *c = arg;

	hash_unlink(&c->he);
	tmr_cancel(&c->tmr);
	tmr_cancel(&c->kick);

	if (c->fd >= 0) {
		fd_close(c->fd);
		tp_tls_close(c);
		(void)close(c->fd);
	}

	tp_buf_reset(&c->in);
	tp_buf_reset(&c->out);
	sbc_ws_rx_reset(&c->wsrx);
}


static uint32_t conn_key(uint64_t id)
{
	return (uint32_t)(id ^ id >> 32);
}


static bool conn_cmp(struct le *le, void *arg)
{
	const struct tp_conn *c = le->data;

	return c->id == *(const uint64_t *)arg;
}


struct tp_conn *tp_conn_find(const struct sbc_tp *tp, uint64_t id)
{
	struct le *le = hash_lookup(tp->conns, conn_key(id), conn_cmp, &id);

	return le ? le->data : NULL;
}


static void conns_gauge(struct sbc_tp *tp)
{
	if (tp->stats)
		sbc_stats_set(tp->stats, tp->worker, SBC_STAT_CONNS_NOW,
			      tp->nconns);
}


/* The only way a connection ends: unlink, release, tell the core. */
static void conn_close(struct tp_conn *c, int err)
{
	struct sbc_tp *tp = c->tp;
	const uint64_t id = c->id;
	const bool known = c->known;

	if (err)
		sbc_debug("%s conn %llx %J closed: %m", tp_name(c->kind), id,
			  &c->peer, err);
	else
		sbc_debug("%s conn %llx %J closed", tp_name(c->kind), id,
			  &c->peer);

	hash_unlink(&c->he);
	--tp->nconns;
	conns_gauge(tp);
	mem_deref(c);

	if (known && tp->closeh)
		tp->closeh(id, tp->arg);
}


static void kick_h(void *arg)
{
	conn_event(arg);
}


/* Mark the connection broken; it closes from the event loop. */
void tp_conn_fail(struct tp_conn *c, int err)
{
	if (c->err)
		return;

	c->err = err ? err : EPIPE;
	tmr_start(&c->kick, 0, kick_h, c);
}


/* Stop reading SIP: close once the queued answer is written, or after
 * TP_LINGER_MS. */
void tp_conn_linger(struct tp_conn *c)
{
	c->state = TP_CONN_LINGER;
	c->linger_until = tp_now() + TP_LINGER_MS;
	tp_buf_drop(&c->in, tp_buf_len(&c->in));
	tp_conn_schedule(c);
}


static uint64_t idle_deadline(const struct tp_conn *c, uint64_t now)
{
	const uint32_t idle = c->tp->cfg->idle_timeout;
	uint64_t at, wall, held;

	if (!idle)
		return UINT64_MAX;

	at = c->last_use + (uint64_t)idle * 1000;

	/* held: not before the hold ends (saturated: any until_ms is fine) */
	wall = sbc_now_ms();
	if (c->hold_until > wall) {
		held = c->hold_until - wall;
		held = held < UINT64_MAX - 1 - now ? now + held : UINT64_MAX - 1;
		if (at < held)
			at = held;
	}

	return at;
}


static uint64_t conn_deadline(const struct tp_conn *c, uint64_t now)
{
	uint64_t at;

	switch (c->state) {

	case TP_CONN_TLS_HS:
	case TP_CONN_WS_HS:
		return c->started + TP_HANDSHAKE_MS;

	case TP_CONN_LINGER:
		return c->linger_until;

	default:
		at = idle_deadline(c, now);
		if (tp_is_ws(c->kind) && c->next_ping < at)
			at = c->next_ping;
		return at;
	}
}


static void conn_tmr_h(void *arg);


/* Sleep until the next deadline, or TP_TIMER_MAX_MS at most: the timer
 * looks again when it fires, and libre's never sees a huge delay. */
void tp_conn_schedule(struct tp_conn *c)
{
	const uint64_t now = tp_now();
	const uint64_t at = conn_deadline(c, now);
	uint64_t delay = at > now ? at - now : 0;

	if (at == UINT64_MAX) {
		tmr_cancel(&c->tmr);
		return;
	}

	if (delay > TP_TIMER_MAX_MS)
		delay = TP_TIMER_MAX_MS;

	tmr_start(&c->tmr, delay, conn_tmr_h, c);
}


static void conn_tmr_h(void *arg)
{
	struct tp_conn *c = arg;
	const uint64_t now = tp_now();
	int err;

	switch (c->state) {

	case TP_CONN_TLS_HS:
	case TP_CONN_WS_HS:
		if (now >= c->started + TP_HANDSHAKE_MS) {
			conn_close(c, ETIMEDOUT);
			return;
		}
		break;

	case TP_CONN_LINGER:
		if (now >= c->linger_until) {
			conn_close(c, c->err ? c->err : ETIMEDOUT);
			return;
		}
		break;

	default:
		if (now >= idle_deadline(c, now)) {
			conn_close(c, ETIMEDOUT);
			return;
		}
		err = tp_is_ws(c->kind) ? tp_ws_tick(c, now) : 0;
		if (err) {
			conn_close(c, err);
			return;
		}
		break;
	}

	tp_conn_schedule(c);
}


/* Handshakes are over: the connection carries SIP from now on. */
void tp_conn_opened(struct tp_conn *c)
{
	const uint64_t now = tp_now();

	c->state = TP_CONN_OPEN;
	c->last_use = now;
	c->last_rx = now;
	c->next_ping = now + (uint64_t)c->tp->cfg->ws_ping_interval * 1000;
	if (!c->tp->cfg->ws_ping_interval)
		c->next_ping = UINT64_MAX;

	tp_conn_schedule(c);
}


/* Hand one complete SIP message up. */
void tp_conn_deliver(struct tp_conn *c, const uint8_t *buf, size_t len)
{
	struct sbc_tp *tp = c->tp;
	struct sbc_rx rx = {
		.buf = buf,
		.len = len,
		.tp = c->kind,
		.listener = c->listener,
		.src = c->peer,
		.conn = c->id,
	};

	c->known = true;
	c->last_use = tp_now();

	tp_count(tp, SBC_STAT_RX, 1);
	tp->recvh(&rx, tp->arg);
}


/* Handshake, read, write: whatever the connection can do now. */
static int conn_step(struct tp_conn *c)
{
	int err;

	if (c->state == TP_CONN_TLS_HS) {
		err = tp_tls_handshake(c);
		if (err)
			return err == EAGAIN ? tp_io_flush(c) : err;

		if (tp_is_ws(c->kind))
			c->state = TP_CONN_WS_HS;
		else
			tp_conn_opened(c);
	}

	err = tp_io_read(c);
	if (err)
		return err;

	err = tp_io_flush(c);
	if (err)
		return err;

	if (c->ssl && tp_tls_pending(c))
		tmr_start(&c->kick, 0, kick_h, c);

	return 0;
}


static void conn_event(struct tp_conn *c)
{
	int err = c->err;

	if (!err)
		err = conn_step(c);
	if (!err)
		err = c->err;

	if (err)
		conn_close(c, err);
	else if (c->state == TP_CONN_LINGER && !tp_buf_len(&c->out))
		conn_close(c, 0);
}


static void conn_fd_h(int flags, void *arg)
{
	(void)flags;

	conn_event(arg);
}


/* Watch the fd for reading, and for writing while output waits. */
int tp_conn_watch(struct tp_conn *c)
{
	int flags = FD_READ;
	int err;

	if (tp_buf_len(&c->out) || c->tls_want_write)
		flags |= FD_WRITE;

	if (flags == c->fd_flags)
		return 0;

	err = fd_listen(c->fd, flags, conn_fd_h, c);
	if (err)
		return err;

	c->fd_flags = flags;
	return 0;
}


static uint64_t conn_id(struct sbc_tp *tp)
{
	const uint64_t mask = ((uint64_t)1 << 40) - 1;

	tp->seq = (tp->seq + 1) & mask;
	if (!tp->seq)
		tp->seq = 1;

	return tp->id_base | tp->seq;
}


static size_t conn_in_max(const struct sbc_tp *tp, enum sbc_transport kind)
{
	size_t max = tp->cfg->max_message;

	if (tp_is_ws(kind) && max < SBC_WS_HS_MAX)
		max = SBC_WS_HS_MAX;

	return max + SBC_WS_HDR_MAX;
}


/*
 * A connection accepted on listener l: fd is its socket, which this call
 * owns from now on (closed on error). EMFILE when the fd is beyond what
 * the event loop can watch.
 */
int tp_conn_accept(struct tp_listener *l, int fd, const struct sa *peer)
{
	struct sbc_tp *tp = l->tp;
	struct tp_conn *c;
	int err;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c) {
		(void)close(fd);
		return ENOMEM;
	}

	c->fd = fd;
	c->tp = tp;
	c->listener = l->index;
	c->kind = l->conf->transport;
	c->peer = *peer;
	c->started = tp_now();
	tp_buf_init(&c->in, conn_in_max(tp, c->kind));
	tp_buf_init(&c->out, TP_OUT_MAX);

	err = tp_sock_nodelay(fd);
	if (err)
		goto out;

	if (tp_is_tls(c->kind)) {
		c->state = TP_CONN_TLS_HS;
		err = tp_tls_start(c);
		if (err)
			goto out;
	}
	else if (tp_is_ws(c->kind))
		c->state = TP_CONN_WS_HS;
	else
		c->state = TP_CONN_OPEN;

	err = tp_conn_watch(c);
	if (err)
		goto out;

	c->id = conn_id(tp);
	hash_append(tp->conns, conn_key(c->id), &c->he, c);
	++tp->nconns;
	conns_gauge(tp);

	if (c->state == TP_CONN_OPEN)
		tp_conn_opened(c);
	else
		tp_conn_schedule(c);

	sbc_debug("%s conn %llx %J accepted on %s", tp_name(c->kind),
		  c->id, &c->peer, l->conf->name);

 out:
	if (err)
		mem_deref(c);

	return err;
}
