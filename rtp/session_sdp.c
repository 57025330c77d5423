/*
 * An SDP through the relay: the offer or answer a party on one side sent
 * becomes the SDP the party on the other side gets.
 *
 * Offer and answer are the same step here: what a party's SDP says is
 * where that party wants media (its leg's address per stream), and the SDP
 * the other party gets names the relay's sockets on the other side. A
 * retransmitted SDP changes nothing (same streams, same ports); a new
 * address for a party (a re-INVITE, a move) forgets where its packets came
 * from, so the next packet latches again.
 *
 * A side is WebRTC when the worker said its party is on WS/WSS, or when
 * its SDP offers a DTLS transport (UDP/TLS/RTP/SAVPF); it stays so for
 * the call. The SDP a browser sends tells the relay its end of the ICE
 * and DTLS exchange (webrtc.c); the SDP a browser gets describes the
 * relay's end: one bundled transport, ICE-lite, DTLS-SRTP, rtcp-mux.
 */

#include <string.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"


static bool stream_held(const struct sbc_sdp *sdp, unsigned i)
{
	const struct sbc_sdp_stream *ss = &sdp->streams[i];

	return sbc_sdp_declined(sdp, i) || ss->null_addr ||
		ss->dir == SBC_SDP_INACTIVE;
}


/* What the SDP of stream i says about the leg of the party that sent it. */
static void leg_update(struct rleg *leg, const struct sbc_sdp_stream *ss)
{
	struct sa rtp, rtcp;

	sa_init(&rtp, AF_UNSPEC);
	sa_init(&rtcp, AF_UNSPEC);

	if (ss->port && !ss->null_addr) {
		rtp  = ss->addr;
		rtcp = ss->rtcp;
	}

	leg->declined = ss->port == 0;

	if (!sa_cmp(&rtp, &leg->sdp[RSOCK_RTP], SA_ALL) ||
	    !sa_cmp(&rtcp, &leg->sdp[RSOCK_RTCP], SA_ALL)) {
		leg->sdp[RSOCK_RTP]  = rtp;
		leg->sdp[RSOCK_RTCP] = rtcp;
		sbc_rleg_unlatch(leg);
	}
}


static void local_fill(struct sbc_sdp_local *loc, const struct rsession *s,
		       const struct sbc_sdp *sdp, enum sbc_side to)
{
	const struct sbc_rtp_conf *rtp = &s->relay->cfg->rtp;

	memset(loc, 0, sizeof(*loc));
	loc->addr = sa_isset(&rtp->advertise[to], SA_ADDR) ?
		rtp->advertise[to] : rtp->addr[to];

	for (unsigned i = 0; i < sdp->count; i++) {
		const struct rleg *leg = &s->streams[i]->leg[to];

		if (sbc_sdp_declined(sdp, i))
			continue;

		loc->rtp[i]  = leg->port;
		loc->rtcp[i] = leg->port + 1;
	}
}


/* From now on the party on `side` is a browser. */
int sbc_rsession_webrtc(struct rsession *s, enum sbc_side side)
{
	if (s->webrtc[side])
		return 0;

	return sbc_rwebrtc_alloc(&s->webrtc[side], s, side);
}


static bool offers_dtls(const struct sbc_sdp *sdp)
{
	for (unsigned i = 0; i < sdp->count; i++) {
		if (!sbc_sdp_declined(sdp, i) && sdp->streams[i].dtls)
			return true;
	}

	return false;
}


/*
 * Apply the SDP `text` that a party on side `from` sent, and print into
 * `out` the SDP for the party on the other side. EBADMSG for an SDP that
 * cannot be read, ENOSPC when no ports are left for a new stream.
 */
int sbc_rsession_sdp(struct rsession *s, enum sbc_side from,
		     const struct pl *text, struct mbuf *out)
{
	const enum sbc_side to = from == SBC_SIDE_ACCESS ?
		SBC_SIDE_CORE : SBC_SIDE_ACCESS;
	struct sbc_sdp_local loc;
	struct sbc_sdp sdp;
	bool held = true;
	int err;

	err = sbc_sdp_parse(&sdp, text);
	if (err)
		return err;

	err = sbc_rsession_streams(s, sdp.count);
	if (!err && offers_dtls(&sdp))
		err = sbc_rsession_webrtc(s, from);
	if (err)
		return err;

	/* a browser's c= names no address the relay uses: ICE checks do */
	for (unsigned i = 0; i < sdp.count; i++) {
		if (!s->webrtc[from])
			leg_update(&s->streams[i]->leg[from], &sdp.streams[i]);
		sbc_rstream_formats(s->streams[i], from, &sdp.streams[i]);
		held = held && stream_held(&sdp, i);
	}

	s->held[from] = held;

	if (s->webrtc[from]) {
		err = sbc_rwebrtc_remote(s->webrtc[from], &sdp);
		if (err)
			return err;
	}

	local_fill(&loc, s, &sdp, to);
	if (s->webrtc[to]) {
		sbc_rwebrtc_formats(s->webrtc[to], &sdp);
		sbc_rwebrtc_local(s->webrtc[to], &loc);
	}

	err = sbc_sdp_print(out, text, &sdp, &loc);
	if (err)
		return err;

	sbc_rsession_leg_stats(s);

	return 0;
}
