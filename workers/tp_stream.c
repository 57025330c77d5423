/*
 * SIP over TCP and TLS: the input side of a stream connection.
 *
 * The bytes read are cut into messages by frame.c; each whole message is
 * handed up, CRLFs between messages are dropped, and an RFC 5626 double
 * CRLF ping is answered with a single CRLF. A stream that announces a
 * message over sip.max_message_size, or an unreadable Content-Length, is
 * closed: nothing after it could be framed.
 */

#include <errno.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"


static int stream_refuse(struct tp_conn *c, int err)
{
	tp_count(c->tp, err == EMSGSIZE ? SBC_STAT_RX_TOO_BIG : SBC_STAT_RX_BAD,
		 1);

	sbc_debug("%s conn %llx %J: %s", tp_name(c->kind), c->id,
		  &c->peer, err == EMSGSIZE ? "message too big"
					    : "bad Content-Length");
	return err;
}


/* Cut and hand up every whole message in the input queue. */
int tp_stream_input(struct tp_conn *c)
{
	const size_t max = c->tp->cfg->max_message;
	struct sbc_frame_cut cut;
	int err;

	while (!c->err && c->state == TP_CONN_OPEN) {

		err = sbc_frame_next(&c->frame, tp_buf_data(&c->in),
				     tp_buf_len(&c->in), max, &cut);
		if (err)
			return stream_refuse(c, err);

		switch (cut.kind) {

		case SBC_FRAME_MORE:
			return 0;

		case SBC_FRAME_PING:
			err = tp_io_queue(c, "\r\n", 2);
			if (err)
				return err;
			/* fall through */
		case SBC_FRAME_SKIP:
			c->last_use = tp_now();
			break;

		case SBC_FRAME_MSG:
			tp_conn_deliver(c, tp_buf_data(&c->in), cut.len);
			break;
		}

		tp_buf_drop(&c->in, cut.len);
	}

	return 0;
}
