/*
 * The browser's transport of a webrtc_load call: what a browser does on
 * its one UDP socket (BUNDLE, rtcp-mux) toward an ICE-lite relay that
 * answered its offer with a=setup:passive.
 *
 *   ICE:  the browser is the full, controlling agent and the relay the
 *         lite one, which makes no checks. Its first check nominates at
 *         once (USE-CANDIDATE, what a controlling agent facing a lite
 *         peer may do), USERNAME "<relay ufrag>:<our ufrag>", MESSAGE-
 *         INTEGRITY keyed with the relay's password, FINGERPRINT; sent
 *         again every retry_ns until answered (tries_max times), then at
 *         the consent interval. The answer must carry the same
 *         transaction id, a valid FINGERPRINT and MESSAGE-INTEGRITY with
 *         the relay's password. After that a check every consent_ns
 *         keeps consent (RFC 7675: the relay stops sending after 30 s
 *         without one); an unanswered one is counted lost.
 *   DTLS: client (the relay answered passive), started by the first
 *         answered check, the relay's certificate checked against the
 *         fingerprint of its SDP answer; on rtp/dtls.c, whose timers run
 *         in libre's loop.
 *   SRTP: the keys the handshake exported, on rtp/srtp.c; what comes
 *         back is demultiplexed by its first byte (RFC 7983).
 *
 * The certificate is one for all calls (a browser has one per peer
 * connection; its cost is not what is measured), its SRTP profiles those
 * of rtp/dtls_cert.c unless the suite is forced ("cm", "gcm").
 */

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <re.h>
#include "rtp/srtp.h"
#include "rtp/dtls.h"
#include "load_clock.h"
#include "webrtc_load.h"

enum {
	/* a peer-reflexive candidate's priority (RFC 8445 5.1.2.1: type
	 * preference 110, local preference 65535, component 1): what a
	 * check's PRIORITY carries */
	PRFLX_PRIORITY = (110u << 24) | (65535u << 8) | 255u,
	RTCP_PT_MIN = 192,
	RTCP_PT_MAX = 223,
};


/* Makes the certificate, with its SRTP profiles restricted when suite
 * says so ("any" or NULL: as rtp/dtls_cert.c offers them). */
int wl_peers_init(struct wl_peers *p, const char *suite)
{
	const char *profiles = NULL;
	int err;

	if (suite && !strcmp(suite, "cm"))
		profiles = "SRTP_AES128_CM_SHA1_80";
	else if (suite && !strcmp(suite, "gcm"))
		profiles = "SRTP_AEAD_AES_128_GCM";
	else if (suite && strcmp(suite, "any"))
		return EINVAL;

	err = sbc_srtp_init();
	if (!err)
		err = sbc_dtls_cert_alloc(&p->cert);
	if (err)
		return err;

	/* the one OpenSSL call returning 0 on success */
	if (profiles &&
	    SSL_CTX_set_tlsext_use_srtp(sbc_dtls_cert_ctx(p->cert), profiles))
		return EPROTO;

	p->mb = mbuf_alloc(512);
	return p->mb ? 0 : ENOMEM;
}


void wl_peers_close(struct wl_peers *p)
{
	p->cert = mem_deref(p->cert);
	p->mb = mem_deref(p->mb);
}


static void peer_dtls_send(const uint8_t *buf, size_t len, void *arg)
{
	const struct wl_call *c = arg;

	(void)sendto(c->fd[WL_BROWSER], buf, len, 0,
		     (const struct sockaddr *)&c->relay[WL_BROWSER],
		     sizeof(c->relay[WL_BROWSER]));
}


static void peer_dtls_estab(int err, void *arg)
{
	struct wl_call *c = arg;
	struct wl_peers *p = c->peers;
	struct sbc_srtp_key tx, rx;

	if (!err)
		err = sbc_dtls_srtp_keys(c->dtls, &tx, &rx);
	if (!err)
		err = sbc_srtp_alloc(&c->tx, &tx, false);
	if (!err)
		err = sbc_srtp_alloc(&c->rx, &rx, true);

	if (err) {
		c->tx = mem_deref(c->tx);
		c->rx = mem_deref(c->rx);
		++p->stats.dtls_fail;
		fprintf(stderr, "webrtc_load: call %u: DTLS-SRTP failed: %s\n",
			c->id, strerror(err));
		return;
	}

	c->suite = tx.suite;
	c->t_dtls = load_now_ns();
	++p->stats.dtls_up;
}


/* Sends a check: a new one (new transaction id) unless again. */
static void check_send(struct wl_peers *p, struct wl_call *c, bool again)
{
	char user[2 * WL_CRED_MAX + 2];
	const uint32_t prio = PRFLX_PRIORITY;
	const uint64_t tiebreaker = 0x5342574cull << 32 | c->id;
	const bool nominate = !c->t_ice;
	int err;

	if (!again)
		rand_bytes(c->tid, sizeof(c->tid));

	(void)snprintf(user, sizeof(user), "%s:%s", c->rufrag, c->lufrag);
	mbuf_reset(p->mb);
	err = stun_msg_encode(p->mb, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			      c->tid, NULL, (const uint8_t *)c->rpwd,
			      strlen(c->rpwd), true, 0x20, 4,
			      STUN_ATTR_USERNAME, user,
			      STUN_ATTR_PRIORITY, &prio,
			      STUN_ATTR_CONTROLLING, &tiebreaker,
			      STUN_ATTR_USE_CAND, nominate ? &nominate : NULL);
	if (err)
		return;

	if (sendto(c->fd[WL_BROWSER], p->mb->buf, p->mb->end, 0,
		   (const struct sockaddr *)&c->relay[WL_BROWSER],
		   sizeof(c->relay[WL_BROWSER])) < 0)
		return;

	c->check_open = true;
	++p->stats.checks_sent;
}


/* The relay's answer to a check: the transaction ours, FINGERPRINT and
 * MESSAGE-INTEGRITY (the relay's password) right. The first one starts
 * DTLS. */
static void check_answer(struct wl_peers *p, struct wl_call *c,
			 const uint8_t *buf, size_t len)
{
	struct stun_msg *msg = NULL;
	uint64_t now;
	bool ok;

	mbuf_reset(p->mb);
	if (mbuf_write_mem(p->mb, buf, len))
		return;
	p->mb->pos = 0;

	ok = !stun_msg_decode(&msg, p->mb, NULL) &&
		stun_msg_method(msg) == STUN_METHOD_BINDING &&
		stun_msg_class(msg) == STUN_CLASS_SUCCESS_RESP &&
		c->check_open &&
		!memcmp(stun_msg_tid(msg), c->tid, sizeof(c->tid)) &&
		!stun_msg_chk_fingerprint(msg) &&
		!stun_msg_chk_mi(msg, (const uint8_t *)c->rpwd,
				 strlen(c->rpwd));
	mem_deref(msg);

	if (!ok) {
		++p->stats.checks_bad;
		return;
	}

	++p->stats.checks_ok;
	c->check_open = false;
	now = load_now_ns();
	c->check_due = now + p->consent_ns;
	if (c->t_ice)
		return;

	c->t_ice = now;
	if (sbc_dtls_start(c->dtls))
		++p->stats.dtls_fail;
}


/*
 * Starts the browser's side of call c, whose relay credentials and
 * fingerprint are in: the DTLS client made (not started) and the first
 * check sent. Returns 0 or errno.
 */
int wl_peer_start(struct wl_peers *p, struct wl_call *c)
{
	struct pl fp;
	int err;

	c->peers = p;
	err = sbc_dtls_alloc(&c->dtls, p->cert, SBC_DTLS_CLIENT,
			     peer_dtls_send, peer_dtls_estab, c);
	if (err)
		return err;

	pl_set_str(&fp, c->rfp);
	err = sbc_dtls_set_peer_fingerprint(c->dtls, &fp);
	if (err)
		return err;

	check_send(p, c, false);
	c->check_tries = 1;
	c->check_due = load_now_ns() + p->retry_ns;

	return 0;
}


/* The checks of call c due by now: the first one's retransmissions,
 * then consent. */
void wl_peer_tick(struct wl_peers *p, struct wl_call *c, uint64_t now)
{
	if (!c->dtls || now < c->check_due)
		return;

	if (!c->t_ice && c->check_tries < p->tries_max) {
		check_send(p, c, true);
		++c->check_tries;
		c->check_due = now + p->retry_ns;
		return;
	}

	if (c->check_open && c->t_ice)
		++p->stats.checks_lost;
	check_send(p, c, false);
	c->check_due = now + p->consent_ns;
}


/*
 * A datagram from the relay's access port for call c's browser: true
 * when it was SRTP, now RTP of *lenp bytes in buf; false when it was a
 * check's answer, DTLS, or dropped (counted).
 */
bool wl_peer_input(struct wl_peers *p, struct wl_call *c, uint8_t *buf,
		   size_t *lenp)
{
	const uint8_t b = *lenp ? buf[0] : 255;
	int err;

	if (b <= 3) {
		check_answer(p, c, buf, *lenp);
		return false;
	}

	if (b >= 20 && b <= 63) {
		++p->stats.dtls_in;
		if (c->dtls)
			(void)sbc_dtls_input(c->dtls, buf, *lenp);
		return false;
	}

	if (b < 128 || b > 191)
		return false;

	if (!c->rx) {
		++p->stats.nokey;
		return false;
	}

	if (*lenp >= 8 && buf[1] >= RTCP_PT_MIN && buf[1] <= RTCP_PT_MAX) {
		if (sbc_srtp_unprotect_rtcp(c->rx, buf, lenp))
			++p->stats.auth_fail;
		else
			++p->stats.rtcp_in;
		return false;
	}

	err = sbc_srtp_unprotect(c->rx, buf, lenp);
	if (err == EALREADY)
		++p->stats.replay;
	else if (err)
		++p->stats.auth_fail;

	return !err;
}


/* Protects the RTP packet in buf (WL_PKT_SIZE bytes of room) for the
 * relay; false when it cannot go: no keys yet, or protect failed. */
bool wl_peer_protect(struct wl_peers *p, struct wl_call *c, uint8_t *buf,
		     size_t *lenp)
{
	if (!c->tx)
		return false;

	if (sbc_srtp_protect(c->tx, buf, lenp, WL_PKT_SIZE)) {
		++p->stats.protect_fail;
		return false;
	}

	return true;
}


void wl_peer_close(struct wl_call *c)
{
	c->dtls = mem_deref(c->dtls);
	c->tx = mem_deref(c->tx);
	c->rx = mem_deref(c->rx);
}
