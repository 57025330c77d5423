/*
 * Reading and writing a connection, over TCP or over TLS.
 *
 * Reading: a few reads per event (the rest waits for the next poll, so
 * one fast peer cannot starve the others), each appended to the
 * connection's input queue and handed at once to the layer above it: the
 * WebSocket upgrade, WebSocket frames, or SIP stream framing. The input
 * queue is bounded by the largest message plus a frame header, and those
 * layers refuse anything longer, so a full queue is a peer's fault.
 *
 * Writing: everything goes through the output queue (bounded, see
 * TP_OUT_MAX) and is written as far as the socket takes it; the rest
 * waits for writability. OpenSSL may need to write while reading and read
 * while writing, so every event tries both.
 */

#include <errno.h>
#include <sys/socket.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"


static int sys_err(int err)
{
	return err == EWOULDBLOCK || err == EINTR ? EAGAIN : err;
}


/* Up to size bytes into p. EAGAIN: nothing now; ECONNRESET: closed. */
static int io_recv(struct tp_conn *c, uint8_t *p, size_t size, size_t *np)
{
	ssize_t n;

	if (c->ssl)
		return tp_tls_read(c, p, size, np);

	n = recv(c->fd, p, size, MSG_DONTWAIT);
	if (n < 0)
		return sys_err(errno);
	if (!n)
		return ECONNRESET;

	*np = (size_t)n;
	return 0;
}


static int io_send(struct tp_conn *c, const uint8_t *p, size_t len,
		   size_t *np)
{
	ssize_t n;

	if (c->ssl)
		return tp_tls_write(c, p, len, np);

	n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return sys_err(errno);

	*np = (size_t)n;
	return 0;
}


/* Give what was read to the layer the connection is in. */
static int io_input(struct tp_conn *c)
{
	int err;

	switch (c->state) {

	case TP_CONN_WS_HS:
		err = tp_ws_upgrade(c);
		if (err || c->state != TP_CONN_OPEN)
			return err;
		return tp_ws_input(c);

	case TP_CONN_OPEN:
		return tp_is_ws(c->kind) ? tp_ws_input(c)
					 : tp_stream_input(c);

	default:
		tp_buf_drop(&c->in, tp_buf_len(&c->in));
		return 0;
	}
}


/* Read and process what the connection has, at most TP_READS reads.
 * Returns an error when the connection must close. */
int tp_io_read(struct tp_conn *c)
{
	uint8_t *p;
	size_t room, n = 0;
	int i, err;

	for (i = 0; i < TP_READS; i++) {

		err = tp_buf_space(&c->in, TP_READ_CHUNK, &p, &room);
		if (err)
			return err == ENOSPC ? EMSGSIZE : err;

		err = io_recv(c, p, room, &n);
		if (err)
			return err == EAGAIN ? 0 : err;

		tp_buf_fill(&c->in, n);
		c->last_rx = tp_now();

		err = io_input(c);
		if (err || c->err)
			return err;
	}

	return 0;
}


/* Queue n bytes for the peer; ENOBUFS past TP_OUT_MAX. */
int tp_io_queue(struct tp_conn *c, const void *p, size_t n)
{
	return tp_buf_append(&c->out, p, n);
}


/* Write what is queued as far as the socket takes it. */
int tp_io_flush(struct tp_conn *c)
{
	size_t n = 0;
	int err;

	while (tp_buf_len(&c->out) && c->state != TP_CONN_TLS_HS) {

		err = io_send(c, tp_buf_data(&c->out), tp_buf_len(&c->out), &n);
		if (err == EAGAIN)
			break;
		if (err)
			return err;

		tp_buf_drop(&c->out, n);
	}

	return tp_conn_watch(c);
}


/* Queue and write; on failure the connection is marked and closes from
 * the event loop. */
int tp_io_send(struct tp_conn *c, const void *p, size_t n)
{
	int err;

	err = tp_io_queue(c, p, n);
	if (!err)
		err = tp_io_flush(c);

	if (err)
		tp_conn_fail(c, err);

	return err;
}
