/*
 * The relay's end of the workers' channels (shm/media.h).
 *
 * Every request is answered at once, from this process's own state: the
 * relay never waits on anything, so a worker's request is in flight for
 * the time the relay takes to read it. A request whose reply cannot be
 * sent (the worker's channel is full or it is gone) is still applied: the
 * worker times out and fails the call, and the session is deleted by the
 * worker's DELETE or the reaper.
 */

#include <string.h>
#include <unistd.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay.h"
#include "rtp/relay_priv.h"

enum {
	READS_PER_WAKE = 64,   /* then back to the loop, for the packets */
};


static void reply(struct sbc_relay *r, int fd, const struct sbc_media_msg *req,
		  int err, const struct rsession *s)
{
	struct sbc_media_msg rep;
	int e;

	memset(&rep, 0, sizeof(rep));
	rep.op     = SBC_MEDIA_REPLY;
	rep.seq    = req->seq;
	rep.err    = err;
	rep.worker = req->worker;
	rep.relay  = r->index;
	rep.slot   = s && !err ? s->slot + 1 : 0;
	memcpy(rep.call_id, req->call_id, sizeof(rep.call_id));

	e = sbc_media_send(fd, &rep, err ? NULL : r->out->buf,
			   err ? 0 : r->out->end);
	if (e)
		sbc_warn("reply to worker %u lost: %m (%s)", req->worker, e,
			 req->call_id);
}


static int sdp_apply(struct sbc_relay *r, const struct sbc_media_msg *req,
		     struct rsession **sp)
{
	struct pl text = {(const char *)r->sdp_buf, req->sdp_len};
	struct rsession *s = NULL;
	int err;

	if (req->side >= SBC_SIDE_COUNT)
		return EPROTO;

	err = sbc_rsession_get(r, req->call_id, req->create != 0, req->worker,
			       &s);
	if (err)
		return err;

	if (req->webrtc & SBC_MEDIA_FROM_WEBRTC)
		err = sbc_rsession_webrtc(s, (enum sbc_side)req->side);
	if (!err && (req->webrtc & SBC_MEDIA_TO_WEBRTC))
		err = sbc_rsession_webrtc(s, (enum sbc_side)!req->side);
	if (err)
		return err;

	mbuf_reset(r->out);

	/* a new call without SDP (a late offer): the session waits for the
	 * offer in its 2xx */
	if (!req->sdp_len) {
		*sp = s;
		return 0;
	}

	err = sbc_rsession_sdp(s, (enum sbc_side)req->side, &text, r->out);
	if (err && req->create && !s->count)
		sbc_rsession_delete(s, "its first SDP failed");
	else
		*sp = s;

	return err;
}


static void request(struct sbc_relay *r, int fd, const struct sbc_media_msg *req)
{
	struct rsession *s = NULL;
	int err;

	switch (req->op) {

	case SBC_MEDIA_SDP:
		err = sdp_apply(r, req, &s);
		if (err == ENOSPC)
			sbc_error("no RTP port left in rtp.port_min .. "
				  "rtp.port_max (%s)", req->call_id);
		else if (err && err != ENOENT)
			sbc_notice("SDP from the %s side not relayed: %m (%s)",
				   sbc_side_name((enum sbc_side)req->side),
				   err, req->call_id);
		reply(r, fd, req, err, s);
		break;

	case SBC_MEDIA_DELETE:
		sbc_rsession_delete(sbc_rsession_find(r, req->call_id),
				    "the call ended");
		break;

	default:
		sbc_debug("unknown request %u from worker %u", req->op,
			  req->worker);
		break;
	}
}


static void chan_handler(int flags, void *arg)
{
	struct rchan *ch = arg;
	struct sbc_relay *r = ch->relay;
	(void)flags;

	r->now = sbc_now_ms();

	for (int n = 0; n < READS_PER_WAKE; n++) {
		struct sbc_media_msg req;
		int err;

		err = sbc_media_recv(ch->fd, &req, r->sdp_buf,
				     SBC_MEDIA_SDP_MAX);
		if (err == EAGAIN || err == EINTR)
			return;

		if (err == EBADMSG) {
			sbc_warn("worker %u: unreadable request dropped",
				 ch->worker);
			continue;
		}

		if (err) {
			sbc_error("channel of worker %u: %m", ch->worker, err);
			fd_close(ch->fd);
			return;
		}

		req.worker = ch->worker;
		request(r, ch->fd, &req);
	}
}


/* Listen on every worker's channel. */
int sbc_relay_ctl_listen(struct sbc_relay *r)
{
	r->chans = mem_zalloc(r->workers * sizeof(*r->chans), NULL);
	if (!r->chans)
		return ENOMEM;

	for (uint32_t i = 0; i < r->workers; i++) {
		struct rchan *ch = &r->chans[i];
		int err;

		ch->relay  = r;
		ch->worker = i;
		ch->fd     = SBC_RFD_WORKER0 + (int)i;

		err = fd_listen(ch->fd, FD_READ, chan_handler, ch);
		if (err)
			return err;
	}

	return 0;
}


void sbc_relay_ctl_close(struct sbc_relay *r)
{
	for (uint32_t i = 0; r->chans && i < r->workers; i++)
		fd_close(r->chans[i].fd);

	r->chans = mem_deref(r->chans);
}


/* No media on s for rtp.timeout: its owner ends the call. */
void sbc_relay_tell_timeout(struct sbc_relay *r, struct rsession *s)
{
	struct sbc_media_msg msg;
	int err;

	if (s->worker >= r->workers)
		return;

	memset(&msg, 0, sizeof(msg));
	msg.op     = SBC_MEDIA_TIMEOUT;
	msg.worker = s->worker;
	msg.relay  = r->index;
	msg.slot   = s->slot + 1;
	str_ncpy(msg.call_id, s->call_id, sizeof(msg.call_id));

	err = sbc_media_send(r->chans[s->worker].fd, &msg, NULL, 0);
	if (err)
		sbc_warn("media timeout not told to worker %u: %m (%s)",
			 s->worker, err, s->call_id);
	else
		sbc_info("no media for %u s: the call is to end (%s)",
			 r->cfg->rtp.timeout, s->call_id);
}
