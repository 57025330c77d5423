/*
 * SIP over WebSocket (RFC 7118), WS and WSS: the upgrade, the frames, and
 * the pings that tell a live browser from a vanished one.
 *
 * The upgrade request is parsed by ws_handshake.c and answered here: 101
 * opens the connection for SIP, anything else is answered with its HTTP
 * error and the connection lingers until that answer left. Frames are
 * decoded by ws.c; every whole message is one SIP message handed up, a
 * ping is answered with a pong, a close with a close, and a protocol error
 * or an oversized message gets a close with 1002 or 1009. Every
 * ws_ping_interval seconds the server pings; a connection from which no
 * frame arrived for two intervals is dead and closed.
 */

#include <errno.h>
#include <string.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/ws_handshake.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"

enum {
	WS_RESPONSE_SIZE = 256,
};


/* One frame of n payload bytes; a failure marks the connection. */
int tp_ws_send(struct tp_conn *c, enum sbc_ws_op op, const void *p, size_t n)
{
	uint8_t hdr[SBC_WS_HDR_MAX];
	size_t hlen = sbc_ws_header(hdr, op, n);
	int err;

	if (n > TP_OUT_MAX - tp_buf_len(&c->out) ||
	    hlen > TP_OUT_MAX - tp_buf_len(&c->out) - n)
		err = ENOBUFS;
	else
		err = tp_io_queue(c, hdr, hlen);

	if (!err)
		err = tp_io_send(c, p, n);
	else
		tp_conn_fail(c, err);

	return err;
}


/* Answer a close (with the peer's status code, if any) and linger. */
static void ws_close(struct tp_conn *c, const uint8_t *status, size_t len)
{
	(void)tp_ws_send(c, SBC_WS_OP_CLOSE, status, len >= 2 ? 2 : 0);
	tp_conn_linger(c);
}


static void ws_refuse(struct tp_conn *c, int err)
{
	const uint16_t code = err == EMSGSIZE ? SBC_WS_CLOSE_TOO_BIG
					      : SBC_WS_CLOSE_PROTOCOL;
	const uint8_t status[2] = {(uint8_t)(code >> 8), (uint8_t)code};

	tp_count(c->tp, err == EMSGSIZE ? SBC_STAT_RX_TOO_BIG : SBC_STAT_RX_BAD,
		 1);
	sbc_debug("%s conn %llx %J: closing with %u: %m",
		  tp_name(c->kind), c->id, &c->peer, code, err);

	ws_close(c, status, sizeof(status));
}


/* The HTTP upgrade request: answer it; on 101 the connection is open. */
int tp_ws_upgrade(struct tp_conn *c)
{
	char resp[WS_RESPONSE_SIZE];
	struct sbc_ws_hs hs;
	size_t used = 0, len;
	int err;

	err = sbc_ws_hs_parse(tp_buf_data(&c->in), tp_buf_len(&c->in), &hs,
			      &used);
	if (err == ENODATA)
		return 0;
	if (err == EMSGSIZE) {
		hs.status = 400;
		hs.reason = "request too long";
	}
	else if (err)
		return err;

	err = sbc_ws_hs_response(resp, sizeof(resp), &hs, &len);
	if (!err)
		err = tp_io_queue(c, resp, len);
	if (err)
		return err;

	if (hs.status != 101) {
		sbc_debug("%s conn %llx %J: upgrade refused (%u): %s",
			  tp_name(c->kind), c->id, &c->peer,
			  hs.status, hs.reason);
		tp_conn_linger(c);
		return 0;
	}

	tp_buf_drop(&c->in, used);
	tp_conn_opened(c);

	return 0;
}


/* Decode and act on every whole frame in the input queue. */
int tp_ws_input(struct tp_conn *c)
{
	const size_t max = c->tp->cfg->max_message;
	struct sbc_ws_cut cut;
	int err;

	while (!c->err && c->state == TP_CONN_OPEN) {

		err = sbc_ws_next(&c->wsrx, tp_buf_data(&c->in),
				  tp_buf_len(&c->in), max, &cut);
		if (err == ENOMEM)
			return err;
		if (err) {
			ws_refuse(c, err);
			return 0;
		}

		switch (cut.kind) {

		case SBC_WS_MORE:
			return 0;

		case SBC_WS_MSG:
			if (cut.len)
				tp_conn_deliver(c, cut.data, cut.len);
			break;

		case SBC_WS_PING:
			c->last_use = tp_now();
			(void)tp_ws_send(c, SBC_WS_OP_PONG, cut.data, cut.len);
			break;

		case SBC_WS_CLOSE:
			ws_close(c, cut.data, cut.len);
			return 0;

		default:
			break;
		}

		tp_buf_drop(&c->in, cut.used);
	}

	return 0;
}


/* The ping timer: close a connection silent for two intervals, else
 * ping it. */
int tp_ws_tick(struct tp_conn *c, uint64_t now)
{
	const uint64_t ival = (uint64_t)c->tp->cfg->ws_ping_interval * 1000;

	if (!ival || now < c->next_ping)
		return 0;

	if (now - c->last_rx >= 2 * ival)
		return ETIMEDOUT;

	c->next_ping = now + ival;

	return tp_ws_send(c, SBC_WS_OP_PING, NULL, 0);
}
