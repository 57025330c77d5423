/*
 * SRTP and SRTCP on libsrtp2: the media crypto of a WebRTC leg.
 *
 * A leg has two of these, made from the keys its DTLS handshake exported
 * (dtls.c): an outbound one that protects what the relay sends to the
 * browser and an inbound one that unprotects what it receives. Each is a
 * libsrtp session with a wildcard SSRC policy, so any stream the peer
 * starts (or the relay forwards) is taken without signalling:
 *
 *   - replay protection on (a window of 1024 packets) for what comes in;
 *   - no repeated sequence number for what goes out: the relay forwards
 *     what the plain party sends as it comes, and a second packet under
 *     a number already used, a duplicate on the path or a forgery, would
 *     reuse the keystream (and, with GCM, the nonce). libsrtp refuses to
 *     protect it, and the relay drops it (WebRTC resends lost packets
 *     under an RTX SSRC of their own, never under the same number);
 *   - everything in place, in the caller's buffer: libsrtp allocates only
 *     when a new SSRC shows up (a stream of its own), never per packet.
 *
 * Packets come from the network, so every length is checked here before
 * libsrtp sees it, even where libsrtp checks again. libsrtp reads the
 * header as 32-bit words: buffers should be 4-byte aligned.
 */

#include <limits.h>
#include <string.h>
#include <srtp2/srtp.h>
#include <re.h>
#include "rtp/srtp.h"

enum {
	RTP_HDR = 12,              /* fixed RTP header */
	RTCP_HDR = 8,              /* RTCP header up to the sender's SSRC */
	SRTCP_INDEX = 4,           /* E flag and SRTCP index */
	REPLAY_WINDOW = 1024,
};

struct sbc_srtp {
	srtp_t ctx;
	size_t tag;                /* authentication tag length */
	bool inbound;
};


static void srtp_destructor(void *arg)
{
	struct sbc_srtp *s = arg;

	if (s->ctx)
		srtp_dealloc(s->ctx);
}


static int srtp_err(srtp_err_status_t st)
{
	switch (st) {

	case srtp_err_status_ok:
		return 0;

	case srtp_err_status_auth_fail:
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_bad_mki:
	case srtp_err_status_cant_check:   /* SRTCP's E flag not ours */
		return EBADMSG;

	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return EALREADY;

	case srtp_err_status_alloc_fail:
		return ENOMEM;

	default:
		return EPROTO;
	}
}


/* The length of the RTP header at buf (CSRCs and extension included), or
 * 0 when it is no RTP version 2 header or does not fit in len bytes. */
static size_t rtp_hdr_len(const uint8_t *buf, size_t len)
{
	size_t n;

	if (len < RTP_HDR || (buf[0] >> 6) != 2)
		return 0;

	n = RTP_HDR + 4 * (size_t)(buf[0] & 0x0f);
	if (buf[0] & 0x10) {
		if (len < n + 4)
			return 0;
		n += 4 + 4 * (size_t)(buf[n + 2] << 8 | buf[n + 3]);
	}

	return n <= len ? n : 0;
}


static bool rtcp_hdr_ok(const uint8_t *buf, size_t len)
{
	return len >= RTCP_HDR && (buf[0] >> 6) == 2;
}


size_t sbc_srtp_salt_len(enum sbc_srtp_suite suite)
{
	switch (suite) {

	case SBC_SRTP_AES128_CM_SHA1_80: return SRTP_SALT_LEN;
	case SBC_SRTP_AEAD_AES_128_GCM:  return SRTP_AEAD_SALT_LEN;
	default:                         return 0;
	}
}


/* libsrtp's global state (its crypto kernel): once per process, before
 * the first sbc_srtp_alloc(), from one thread. */
int sbc_srtp_init(void)
{
	static bool done;

	if (done)
		return 0;

	if (srtp_init() != srtp_err_status_ok)
		return EPROTO;

	done = true;
	return 0;
}


/*
 * A new direction with master key k: inbound unprotects, outbound
 * protects. EINVAL: unknown suite; EPROTO: libsrtp refused it. The key is
 * copied; libsrtp's session keys live in *sp until mem_deref.
 */
int sbc_srtp_alloc(struct sbc_srtp **sp, const struct sbc_srtp_key *k,
		   bool inbound)
{
	uint8_t master[SBC_SRTP_KEY_LEN + SBC_SRTP_SALT_MAX];
	struct sbc_srtp *s;
	srtp_policy_t pol;
	srtp_err_status_t st;
	size_t salt_len;
	int err;

	if (!sp || !k)
		return EINVAL;

	salt_len = sbc_srtp_salt_len(k->suite);
	if (!salt_len)
		return EINVAL;

	err = sbc_srtp_init();
	if (err)
		return err;

	s = mem_zalloc(sizeof(*s), srtp_destructor);
	if (!s)
		return ENOMEM;

	memset(&pol, 0, sizeof(pol));
	if (k->suite == SBC_SRTP_AES128_CM_SHA1_80) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	}
	else {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	}

	memcpy(master, k->key, SBC_SRTP_KEY_LEN);
	memcpy(master + SBC_SRTP_KEY_LEN, k->salt, salt_len);

	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = master;
	pol.window_size = REPLAY_WINDOW;
	pol.allow_repeat_tx = 0;

	s->tag = (size_t)pol.rtp.auth_tag_len;
	s->inbound = inbound;

	/* EPROTO: a suite this libsrtp was built without */
	st = srtp_create(&s->ctx, &pol);
	if (st == srtp_err_status_alloc_fail)
		err = ENOMEM;
	else if (st != srtp_err_status_ok)
		err = EPROTO;

	explicit_bzero(master, sizeof(master));

	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


static int protect(struct sbc_srtp *s, uint8_t *buf, size_t *lenp,
		   size_t size, bool rtcp)
{
	size_t trailer;
	srtp_err_status_t st;
	int len;

	if (!s || !buf || !lenp || s->inbound)
		return EINVAL;

	if (rtcp ? !rtcp_hdr_ok(buf, *lenp) : !rtp_hdr_len(buf, *lenp))
		return EBADMSG;

	trailer = rtcp ? s->tag + SRTCP_INDEX : s->tag;
	if (size > INT_MAX || *lenp > size || size - *lenp < trailer)
		return ENOSPC;

	len = (int)*lenp;
	if (rtcp)
		st = srtp_protect_rtcp(s->ctx, buf, &len);
	else
		st = srtp_protect(s->ctx, buf, &len);
	if (st != srtp_err_status_ok)
		return srtp_err(st);

	*lenp = (size_t)len;
	return 0;
}


/*
 * Protects the RTP packet of *lenp bytes in buf, in place: on success
 * *lenp has grown by the tag. size is the room in buf. EBADMSG: no RTP
 * header; ENOSPC: no room for the tag; EINVAL: an inbound direction.
 */
int sbc_srtp_protect(struct sbc_srtp *s, uint8_t *buf, size_t *lenp,
		     size_t size)
{
	return protect(s, buf, lenp, size, false);
}


/* Protects an RTCP compound packet, as sbc_srtp_protect() an RTP one; it
 * grows by the SRTCP index and the tag. */
int sbc_srtp_protect_rtcp(struct sbc_srtp *s, uint8_t *buf, size_t *lenp,
			  size_t size)
{
	return protect(s, buf, lenp, size, true);
}


/*
 * Unprotects the SRTP packet of *lenp bytes in buf, in place: on success
 * *lenp has shrunk to the RTP packet. EBADMSG: malformed, too short or
 * not authentic; EALREADY: replayed or too old. On an error *lenp is
 * unchanged and the direction's state (replay window, rollover counter)
 * too; the bytes in buf may not be.
 */
int sbc_srtp_unprotect(struct sbc_srtp *s, uint8_t *buf, size_t *lenp)
{
	srtp_err_status_t st;
	size_t hdr;
	int len;

	if (!s || !buf || !lenp || !s->inbound)
		return EINVAL;

	hdr = rtp_hdr_len(buf, *lenp);
	if (!hdr || *lenp - hdr < s->tag || *lenp > INT_MAX)
		return EBADMSG;

	len = (int)*lenp;
	st = srtp_unprotect(s->ctx, buf, &len);
	if (st != srtp_err_status_ok)
		return srtp_err(st);

	*lenp = (size_t)len;
	return 0;
}


/* Unprotects an SRTCP packet, as sbc_srtp_unprotect() an SRTP one. */
int sbc_srtp_unprotect_rtcp(struct sbc_srtp *s, uint8_t *buf, size_t *lenp)
{
	srtp_err_status_t st;
	int len;

	if (!s || !buf || !lenp || !s->inbound)
		return EINVAL;

	if (!rtcp_hdr_ok(buf, *lenp) ||
	    *lenp - RTCP_HDR < s->tag + SRTCP_INDEX || *lenp > INT_MAX)
		return EBADMSG;

	len = (int)*lenp;
	st = srtp_unprotect_rtcp(s->ctx, buf, &len);
	if (st != srtp_err_status_ok)
		return srtp_err(st);

	*lenp = (size_t)len;
	return 0;
}
