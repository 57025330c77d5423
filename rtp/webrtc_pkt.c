/*
 * Packets on a browser's transport (see webrtc.c), in and out.
 *
 * In, demultiplexed by the first byte (RFC 7983):
 *   0..3     STUN: a connectivity or consent check, answered by the
 *            ICE-lite responder when its credentials are right; a
 *            nominating one (or the first one) names where the browser
 *            is: the only address whose packets the relay takes and the
 *            only one it sends to; a valid check from there renews
 *            consent
 *   20..63   DTLS: to the association, from that address only
 *   128..191 SRTP or SRTCP (RFC 5761: payload type 192..223 is RTCP):
 *            authenticated and decrypted in place, then relayed like a
 *            plain party's packet, to the stream its payload type (RTP)
 *            or sender SSRC (RTCP) belongs to
 * Everything else, and everything before DTLS-SRTP is up, is dropped.
 *
 * Out: a packet for the browser is encrypted in place (the receive
 * buffer has room for the tag) and leaves by the transport's socket, to
 * the checked address, while consent holds.
 */

#include <errno.h>
#include <sys/socket.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/srtp.h"
#include "rtp/dtls.h"
#include "rtp/ice_lite.h"
#include "rtp/relay_priv.h"

enum {
	RTP_HDR_LEN  = 12,
	RTCP_HDR_LEN = 8,
	RTCP_PT_MIN  = 192,
	RTCP_PT_MAX  = 223,
};


static struct rleg *transport_leg(const struct rwebrtc *w)
{
	return &w->s->streams[0]->leg[w->side];
}


static void check_answer(struct rwebrtc *w, const struct rsock *sk,
			 const struct sbc_rtp_pkt *pkt)
{
	struct sbc_relay *r = w->s->relay;
	const struct sbc_ice_lite ice = {
		.lufrag = w->lufrag,
		.lpwd = w->lpwd,
		.rufrag = w->rufrag[0] ? w->rufrag : NULL,
		.software = NULL,
	};
	struct sbc_ice_check check;
	bool moved;

	mbuf_reset(r->stun);
	if (sbc_ice_lite_answer(r->stun, pkt->buf, pkt->len, &pkt->src, &ice,
				&check))
		return;

	if (sendto(sk->fd, r->stun->buf, r->stun->end, 0, &pkt->src.u.sa,
		   pkt->src.len) < 0)
		return;

	moved = !sa_cmp(&w->peer, &pkt->src, SA_ALL) &&
		(check.use_candidate || !sa_isset(&w->peer, SA_ALL));
	if (moved)
		w->peer = pkt->src;

	/* consent is the media address's own (RFC 7675: per candidate
	 * pair): a check from elsewhere is answered, and renews nothing */
	if (!sa_cmp(&w->peer, &pkt->src, SA_ALL))
		return;

	w->consent_ms = pkt->rx_ns / 1000000;
	if (moved || !w->consent) {
		w->consent = true;
		sbc_rsession_leg_stats(w->s);
	}

	if (w->client && w->dtls &&
	    sbc_dtls_state(w->dtls) == SBC_DTLS_NEW)
		(void)sbc_dtls_start(w->dtls);
}


static void dtls_input(struct rwebrtc *w, const struct sbc_rtp_pkt *pkt)
{
	struct sbc_dtls *dtls;
	enum sbc_dtls_state before;

	if (!sa_cmp(&w->peer, &pkt->src, SA_ALL))
		return;

	dtls = sbc_rwebrtc_dtls(w);
	if (!dtls)
		return;

	before = sbc_dtls_state(dtls);
	(void)sbc_dtls_input(dtls, pkt->buf, pkt->len);

	if (sbc_dtls_state(dtls) != before)
		sbc_rsession_leg_stats(w->s);
}


static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


/* The stream of an RTP packet from the browser, by payload type; its
 * SSRC is kept to place the browser's RTCP. */
static unsigned rtp_stream(struct rwebrtc *w, const struct sbc_rtp_pkt *pkt)
{
	const unsigned i = w->pt_stream[pkt->buf[1] & 0x7f];

	if (!i || i > w->s->count)
		return 0;

	w->ssrc[i - 1] = be32(pkt->buf + 8);

	return i - 1;
}


static unsigned rtcp_stream(const struct rwebrtc *w,
			    const struct sbc_rtp_pkt *pkt)
{
	const uint32_t ssrc = be32(pkt->buf + 4);

	for (unsigned i = 0; i < w->s->count; i++) {
		if (w->ssrc[i] == ssrc)
			return i;
	}

	return 0;
}


static bool srtp_input(struct rwebrtc *w, struct sbc_rtp_pkt *pkt,
		       unsigned *streamp, bool *rtcpp)
{
	struct sbc_media_leg *ml = &w->s->rec->leg[w->side];
	const bool rtcp = pkt->len >= RTCP_HDR_LEN &&
		pkt->buf[1] >= RTCP_PT_MIN && pkt->buf[1] <= RTCP_PT_MAX;
	int err;

	if (!w->rx || !sa_cmp(&w->peer, &pkt->src, SA_ALL))
		return false;

	if (!rtcp && pkt->len < RTP_HDR_LEN)
		return false;

	err = rtcp ? sbc_srtp_unprotect_rtcp(w->rx, pkt->buf, &pkt->len) :
		sbc_srtp_unprotect(w->rx, pkt->buf, &pkt->len);
	if (err == EALREADY) {
		atomic_fetch_add_explicit(&ml->srtp_replay, 1,
					  memory_order_relaxed);
		return false;
	}
	if (err) {
		atomic_fetch_add_explicit(&ml->srtp_auth_fail, 1,
					  memory_order_relaxed);
		return false;
	}

	*rtcpp = rtcp;
	*streamp = rtcp ? rtcp_stream(w, pkt) : rtp_stream(w, pkt);

	return true;
}


/*
 * A packet read on a socket of the browser's side: true when it is media
 * to relay, decrypted, for stream *streamp, RTCP if *rtcpp; false when
 * it was a check, DTLS, or dropped.
 */
bool sbc_rwebrtc_input(struct rwebrtc *w, const struct rsock *sk,
		       struct sbc_rtp_pkt *pkt, unsigned *streamp,
		       bool *rtcpp)
{
	const uint8_t b = pkt->len ? pkt->buf[0] : 255;

	if (sk != &transport_leg(w)->sock[RSOCK_RTP])
		return false;

	if (b <= 3)
		check_answer(w, sk, pkt);
	else if (b >= 20 && b <= 63)
		dtls_input(w, pkt);
	else if (b >= 128 && b <= 191)
		return srtp_input(w, pkt, streamp, rtcpp);

	return false;
}


/*
 * A packet for the browser: encrypted in place; *fdp and *dstp where it
 * goes. False when it cannot go: no keys yet, no checked address, or
 * consent lost.
 */
bool sbc_rwebrtc_output(struct rwebrtc *w, struct sbc_rtp_pkt *pkt,
			bool rtcp, int *fdp, const struct sa **dstp)
{
	const struct rleg *leg;
	int err;

	/* keys mean a handshake on the transport, so stream 0 exists */
	if (!w->tx || !w->consent)
		return false;

	leg = transport_leg(w);
	if (leg->sock[RSOCK_RTP].fd < 0)
		return false;

	if (rtcp)
		err = pkt->len >= RTCP_HDR_LEN ?
			sbc_srtp_protect_rtcp(w->tx, pkt->buf, &pkt->len,
					      SBC_RTP_PKT_SIZE) : EBADMSG;
	else
		err = pkt->len >= RTP_HDR_LEN ?
			sbc_srtp_protect(w->tx, pkt->buf, &pkt->len,
					 SBC_RTP_PKT_SIZE) : EBADMSG;
	if (err)
		return false;

	*fdp = leg->sock[RSOCK_RTP].fd;
	*dstp = &w->peer;

	return true;
}
