/*
 * One packet through the relay.
 *
 * A packet read on a socket of leg L of a stream is the party on side L
 * talking; it leaves from the other leg's socket of the same kind (RTP or
 * RTCP) toward the party on the other side:
 *
 *   demux    RFC 7983 by the first byte: 128..191 is RTP or RTCP,
 *            anything else is dropped; on a browser's side, STUN, DTLS
 *            and SRTP go through webrtc_pkt.c first
 *   latch    the first packet on a socket after the party's SDP names
 *            where that party really is (NAT); packets from elsewhere are
 *            dropped, so nobody can take a call's media over. The socket
 *            is then connected to that address: the kernel drops the
 *            others before they reach the relay, finds the socket of a
 *            packet without a table lookup and sends without a route
 *            lookup
 *   count    packets and bytes in, the time of the last one, the party's
 *            RTCP reports
 *   map      telephone-event to the number the receiver declared
 *   route    to where the other party's packets come from once latched,
 *            until then to its SDP address; nothing when it has none yet
 *            (no answer) or put the stream on hold with a null address.
 *            A plain party's RTCP goes out of the RTCP socket; a browser
 *            gets everything encrypted, on its one transport
 *   send     queued on the data path, sent with the batch
 */

#include <sys/socket.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"

enum {
	RTP_MIN_LEN = 4,
	RTCP_PT_MIN = 192,   /* RFC 5761 4: RTCP packet types on an RTP port */
	RTCP_PT_MAX = 223,
};


static bool is_rtp_or_rtcp(const struct sbc_rtp_pkt *pkt)
{
	return pkt->len >= RTP_MIN_LEN && pkt->buf[0] >= 128 &&
		pkt->buf[0] <= 191;
}


static bool is_rtcp(const struct rsock *sk, const struct sbc_rtp_pkt *pkt)
{
	return sk->kind == RSOCK_RTCP ||
		(pkt->buf[1] >= RTCP_PT_MIN && pkt->buf[1] <= RTCP_PT_MAX);
}


static bool latch(struct rleg *leg, unsigned kind, const struct sa *src)
{
	if (leg->is_latched[kind])
		return sa_cmp(&leg->latched[kind], src, SA_ALL);

	leg->latched[kind] = *src;
	leg->is_latched[kind] = true;
	leg->connected[kind] = !connect(leg->sock[kind].fd, &src->u.sa,
					src->len);

	return true;
}


/* Forget where the party's packets came from: its SDP changed. */
void sbc_rleg_unlatch(struct rleg *leg)
{
	static const struct sockaddr none = {.sa_family = AF_UNSPEC};

	for (unsigned k = 0; k < RSOCK_KINDS; k++) {
		if (leg->connected[k])
			(void)connect(leg->sock[k].fd, &none, sizeof(none));
		leg->connected[k] = false;
		leg->is_latched[k] = false;
	}
}


/* Where a packet for the party of leg goes: *dstp, NULL for the peer of
 * a connected socket. False when there is nowhere yet. */
static bool route(const struct rleg *leg, unsigned kind,
		  const struct sa **dstp)
{
	if (leg->connected[kind])
		*dstp = NULL;
	else if (leg->is_latched[kind])
		*dstp = &leg->latched[kind];
	else if (sa_isset(&leg->sdp[kind], SA_ALL))
		*dstp = &leg->sdp[kind];
	else
		return false;

	return true;
}


/* A plain party's packet: it must look like RTP or RTCP, and come from
 * where the leg latched (or latch it). */
static bool plain_input(struct rsession *s, const struct rsock *sk,
			const struct sbc_rtp_pkt *pkt, bool *rtcpp)
{
	struct rleg *in = &sk->st->leg[sk->side];
	bool newly;

	if (!is_rtp_or_rtcp(pkt))
		return false;

	newly = !in->is_latched[sk->kind];
	if (!latch(in, sk->kind, &pkt->src))
		return false;
	if (newly)
		sbc_rsession_leg_stats(s);

	*rtcpp = is_rtcp(sk, pkt);

	return true;
}


/* telephone-event numbered as the receiver declared it (dtmf.c). */
static void pt_map(const struct rstream *st, unsigned side,
		   struct sbc_rtp_pkt *pkt)
{
	if (st->pt_mapped[side])
		pkt->buf[1] = (uint8_t)((pkt->buf[1] & 0x80) |
					st->pt_map[side][pkt->buf[1] & 0x7f]);
}


void sbc_relay_packet(void *sock_arg, struct sbc_rtp_pkt *pkt, void *arg)
{
	struct rsock *sk = sock_arg;
	struct rsession *s = sk->st->s;
	struct sbc_relay *r = arg;
	const unsigned to = !sk->side;
	struct sbc_media_leg *rin = &s->rec->leg[sk->side];
	struct sbc_media_leg *rout = &s->rec->leg[to];
	unsigned stream = sk->st->index;
	const struct sa *dst;
	bool rtcp = false;
	int fd;

	if (s->webrtc[sk->side] ?
	    !sbc_rwebrtc_input(s->webrtc[sk->side], sk, pkt, &stream, &rtcp) :
	    !plain_input(s, sk, pkt, &rtcp))
		return;

	sbc_media_add(&rin->pkts_in, 1);
	sbc_media_add(&rin->bytes_in, pkt->len);
	atomic_store_explicit(&rin->last_in,
			      pkt->rx_ns / 1000000 + r->mono_to_wall,
			      memory_order_relaxed);

	if (rtcp)
		sbc_rtcp_read(rin, pkt->buf, pkt->len);
	else
		pt_map(s->streams[stream], sk->side, pkt);

	if (s->webrtc[to]) {
		if (!sbc_rwebrtc_output(s->webrtc[to], pkt, rtcp, &fd, &dst))
			return;
	}
	else {
		/* a browser's RTCP is muxed; plain parties keep their own
		 * choice, as their SDPs told each other */
		const unsigned kind = !s->webrtc[sk->side] ? sk->kind :
			rtcp ? RSOCK_RTCP : RSOCK_RTP;
		const struct rleg *out = &s->streams[stream]->leg[to];

		fd = out->sock[kind].fd;
		if (!route(out, kind, &dst) || fd < 0)
			return;
	}

	if (sbc_rtp_io_send(r->io, fd, pkt, dst))
		return;

	sbc_media_add(&rout->pkts_out, 1);
	sbc_media_add(&rout->bytes_out, pkt->len);
}
