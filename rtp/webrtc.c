/*
 * A browser's side of a call (DESIGN.md section 6, the WebRTC profile):
 * what the relay keeps of the browser's SDP, what it writes into the SDP
 * the browser gets, and the DTLS association that yields the SRTP keys.
 *
 * All of the browser's streams share one transport, the RTP socket of
 * stream 0's leg on its side (BUNDLE, rtcp-mux): there the relay is an
 * ICE-lite endpoint with its own ufrag and password, answers the
 * browser's checks (webrtc_pkt.c), and runs one DTLS association with the
 * relay's certificate.
 *
 * DTLS roles (RFC 8842): the relay writes a=setup:actpass when it offers
 * and a=setup:passive when it answers the browser's offer, so it is the
 * DTLS server unless the browser answers passive to its offer; then it
 * is the client and starts the handshake once a check has proved where
 * the browser is. The browser's fingerprint is checked on its
 * certificate; its ClientHello may come before its SDP answer reaches
 * the relay (the association then waits for the fingerprint).
 *
 * Re-INVITEs, hold and resume keep the association while the browser's
 * fingerprint stays the same; a new fingerprint means a new association.
 * A new ufrag of the browser's is an ICE restart: the relay takes new
 * credentials too.
 */

#include <errno.h>
#include <string.h>
#include <sys/random.h>
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
#include "rtp/relay_priv.h"


static void webrtc_destructor(void *arg)
{
	struct rwebrtc *w = arg;

	mem_deref(w->dtls);
	mem_deref(w->tx);
	mem_deref(w->rx);
}


/* Random ICE characters (RFC 8839 5.4: ALPHA / DIGIT / "+" / "/"), six
 * bits each from the kernel's generator: the password is what keeps
 * others from taking the browser's media over. */
static int ice_chars(char *buf, size_t len)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
		"rstuvwxyz0123456789+/";
	uint8_t rnd[RWEBRTC_PWD_LEN];

	if (len > sizeof(rnd) ||
	    getrandom(rnd, len, 0) != (ssize_t)len)
		return EIO;

	for (size_t i = 0; i < len; i++)
		buf[i] = set[rnd[i] & 63];

	buf[len] = '\0';

	return 0;
}


static int credentials_new(struct rwebrtc *w)
{
	return ice_chars(w->lufrag, RWEBRTC_UFRAG_LEN) |
		ice_chars(w->lpwd, RWEBRTC_PWD_LEN);
}


int sbc_rwebrtc_alloc(struct rwebrtc **wp, struct rsession *s,
		      enum sbc_side side)
{
	struct rwebrtc *w;

	w = mem_zalloc(sizeof(*w), webrtc_destructor);
	if (!w)
		return ENOMEM;

	w->s = s;
	w->side = side;
	sa_init(&w->peer, AF_UNSPEC);

	if (credentials_new(w)) {
		mem_deref(w);
		return EIO;
	}

	*wp = w;

	return 0;
}


static void dtls_out(const uint8_t *buf, size_t len, void *arg)
{
	struct rwebrtc *w = arg;
	const struct rleg *leg;

	if (!w->s->count || !sa_isset(&w->peer, SA_ALL))
		return;

	leg = &w->s->streams[0]->leg[w->side];
	if (leg->sock[RSOCK_RTP].fd < 0)
		return;

	if (sendto(leg->sock[RSOCK_RTP].fd, buf, len, 0, &w->peer.u.sa,
		   w->peer.len) < 0)
		sbc_debug("DTLS datagram not sent: %m (%s)", errno,
			  w->s->call_id);
}


static int srtp_start(struct rwebrtc *w)
{
	struct sbc_srtp_key tx, rx;
	int err;

	err = sbc_dtls_srtp_keys(w->dtls, &tx, &rx);
	if (err)
		return err;

	w->tx = mem_deref(w->tx);
	w->rx = mem_deref(w->rx);

	err = sbc_srtp_alloc(&w->tx, &tx, false);
	if (!err)
		err = sbc_srtp_alloc(&w->rx, &rx, true);

	explicit_bzero(&tx, sizeof(tx));
	explicit_bzero(&rx, sizeof(rx));

	return err;
}


static void dtls_estab(int err, void *arg)
{
	struct rwebrtc *w = arg;

	if (!err)
		err = srtp_start(w);

	if (err) {
		sbc_warn("%s side: DTLS-SRTP failed: %m (%s)",
			 sbc_side_name(w->side), err, w->s->call_id);
		w->tx = mem_deref(w->tx);
		w->rx = mem_deref(w->rx);
	}
	else {
		sbc_debug("%s side: DTLS-SRTP up (%s)",
			  sbc_side_name(w->side), w->s->call_id);
	}

	sbc_rsession_leg_stats(w->s);
}


/* A new association in the relay's role; the fingerprint checked when
 * known. */
static int dtls_new(struct rwebrtc *w)
{
	int err;

	w->dtls = mem_deref(w->dtls);
	w->tx = mem_deref(w->tx);
	w->rx = mem_deref(w->rx);

	err = sbc_dtls_alloc(&w->dtls, w->s->relay->cert, w->client ?
			     SBC_DTLS_CLIENT : SBC_DTLS_SERVER, dtls_out,
			     dtls_estab, w);
	if (err)
		return err;

	if (w->rfp[0]) {
		struct pl fp;

		pl_set_str(&fp, w->rfp);
		err = sbc_dtls_set_peer_fingerprint(w->dtls, &fp);
		if (err)
			return err;
	}

	if (w->client && sa_isset(&w->peer, SA_ALL))
		err = sbc_dtls_start(w->dtls);

	return err;
}


/* The association for a DTLS packet from the browser, made on demand:
 * a ClientHello can beat the browser's SDP answer to the relay. */
struct sbc_dtls *sbc_rwebrtc_dtls(struct rwebrtc *w)
{
	if (!w->dtls && dtls_new(w))
		w->dtls = mem_deref(w->dtls);

	return w->dtls;
}


/* The first stream's credentials, or the first there are. */
static const struct sbc_sdp_stream *transport_stream(const struct sbc_sdp *sdp)
{
	for (unsigned i = 0; i < sdp->count; i++) {
		if (!sbc_sdp_declined(sdp, i) &&
		    pl_isset(&sdp->streams[i].ice_ufrag))
			return &sdp->streams[i];
	}

	return sdp->count ? &sdp->streams[0] : NULL;
}


/* pl as a string in buf; "" for an unset one (which pl_strcpy refuses) */
static int pl_keep(char *buf, size_t size, const struct pl *pl)
{
	if (pl->l >= size)
		return EBADMSG;

	memcpy(buf, pl->l ? pl->p : "", pl->l);
	buf[pl->l] = '\0';

	return 0;
}


static bool any_bundle(const struct sbc_sdp *sdp)
{
	for (unsigned i = 0; i < sdp->count; i++) {
		if (sdp->streams[i].bundle >= 0)
			return true;
	}

	return false;
}


/* What the browser's SDP says of its end: ICE restart, fingerprint,
 * setup, mids. */
static int remote_read(struct rwebrtc *w, const struct sbc_sdp *sdp,
		       bool *new_fpp)
{
	const struct sbc_sdp_stream *ts = transport_stream(sdp);
	char ufrag[RWEBRTC_REMOTE_MAX], fp[RWEBRTC_REMOTE_MAX];
	int err;

	if (!ts)
		return 0;

	err  = pl_keep(ufrag, sizeof(ufrag), &ts->ice_ufrag);
	err |= pl_keep(fp, sizeof(fp), &ts->fingerprint);
	if (err)
		return EBADMSG;

	if (w->rufrag[0] && ufrag[0] && strcmp(ufrag, w->rufrag)) {
		sbc_debug("%s side: ICE restart (%s)", sbc_side_name(w->side),
			  w->s->call_id);
		if (credentials_new(w))
			return EIO;
	}
	if (ufrag[0])
		str_ncpy(w->rufrag, ufrag, sizeof(w->rufrag));

	*new_fpp = fp[0] && strcmp(fp, w->rfp);
	if (fp[0])
		str_ncpy(w->rfp, fp, sizeof(w->rfp));

	w->rsetup = ts->setup;
	w->rbundle = any_bundle(sdp);

	for (unsigned i = 0; i < sdp->count; i++)
		(void)pl_keep(w->mid[i], sizeof(w->mid[i]),
			      &sdp->streams[i].mid);

	return 0;
}


/*
 * The browser sent sdp: keep what it says of its end, and make or keep
 * the DTLS association. Its a=setup gives the relay's role: active makes
 * the relay the server, passive the client; actpass (its offer) gets a
 * passive answer, so the relay is the server. An association made for a
 * ClientHello that beat this SDP to the relay is kept and told the
 * fingerprint now.
 */
int sbc_rwebrtc_remote(struct rwebrtc *w, const struct sbc_sdp *sdp)
{
	const bool had_fp = w->rfp[0] != '\0';
	bool new_fp = false, client;
	struct pl fp;
	int err;

	err = remote_read(w, sdp, &new_fp);
	if (err)
		return err;

	sbc_rwebrtc_formats(w, sdp);

	client = w->rsetup == SBC_SDP_SETUP_PASSIVE;

	if (w->dtls && client == w->client && !(had_fp && new_fp)) {
		if (had_fp || !w->rfp[0])
			return 0;

		pl_set_str(&fp, w->rfp);
		return sbc_dtls_set_peer_fingerprint(w->dtls, &fp);
	}

	w->client = client;

	return w->rfp[0] ? dtls_new(w) : 0;
}


/* Which stream a payload type belongs to, from an SDP of either side:
 * the browser sends all its streams on one transport. */
void sbc_rwebrtc_formats(struct rwebrtc *w, const struct sbc_sdp *sdp)
{
	for (unsigned i = 0; i < sdp->count; i++) {
		struct pl fmts = sdp->streams[i].fmts;
		uint32_t pt;

		if (sbc_sdp_declined(sdp, i) || !sdp->streams[i].is_rtp)
			continue;

		while (sbc_sdp_fmt_next(&fmts, &pt))
			w->pt_stream[pt] = (uint8_t)(i + 1);
	}
}


/* The relay's end of the browser's leg, for the SDP the browser gets. */
void sbc_rwebrtc_local(const struct rwebrtc *w, struct sbc_sdp_local *loc)
{
	const uint16_t port = w->s->count ?
		w->s->streams[0]->leg[w->side].port : 0;
	const bool answer = w->rsetup == SBC_SDP_SETUP_ACTPASS;

	loc->profile     = SBC_SDP_WEBRTC;
	loc->ice_ufrag   = w->lufrag;
	loc->ice_pwd     = w->lpwd;
	loc->fingerprint = sbc_dtls_cert_fingerprint(w->s->relay->cert);
	loc->setup       = answer ? SBC_SDP_SETUP_PASSIVE :
		SBC_SDP_SETUP_ACTPASS;

	/* an answer bundles only what the offer bundled */
	loc->bundle = !answer || w->rbundle;

	for (unsigned i = 0; i < SBC_SDP_STREAMS_MAX; i++) {
		if (loc->rtp[i]) {
			loc->rtp[i]  = port;
			loc->rtcp[i] = port;
		}
		str_ncpy(loc->mid[i], w->mid[i], sizeof(loc->mid[i]));
	}
}


/* Once a second: consent freshness (RFC 7675). */
void sbc_rwebrtc_sweep(struct rwebrtc *w, uint64_t now_ms)
{
	if (!w->consent || now_ms - w->consent_ms < RWEBRTC_CONSENT_MS)
		return;

	w->consent = false;
	sbc_notice("%s side: no ICE check for %u s: media to the browser "
		   "stopped (%s)", sbc_side_name(w->side),
		   RWEBRTC_CONSENT_MS / 1000, w->s->call_id);
	sbc_rsession_leg_stats(w->s);
}


void sbc_rwebrtc_stats(const struct rwebrtc *w, struct sbc_media_leg *ml)
{
	const uint8_t dtls = w->dtls ?
		(uint8_t)(sbc_dtls_state(w->dtls) + SBC_MEDIA_DTLS_NEW) :
		SBC_MEDIA_DTLS_NONE;

	atomic_store_explicit(&ml->webrtc, 1, memory_order_relaxed);
	atomic_store_explicit(&ml->dtls, dtls, memory_order_relaxed);
	atomic_store_explicit(&ml->consent, w->consent, memory_order_relaxed);

	if (sa_isset(&w->peer, SA_ALL))
		(void)sbc_addr_set(&ml->remote, &w->peer);

	atomic_store_explicit(&ml->latched, sa_isset(&w->peer, SA_ALL),
			      memory_order_relaxed);
}
