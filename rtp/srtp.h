/*
 * SRTP and SRTCP (RFC 3711, RFC 7714) for the relay's WebRTC legs, on
 * libsrtp2 (srtp.c). One object is one direction of one leg: outbound
 * (protect) or inbound (unprotect), for any SSRC. The keys come from the
 * leg's DTLS handshake (dtls.h). Include <re.h> before this header.
 */

enum sbc_srtp_suite {
	SBC_SRTP_AES128_CM_SHA1_80 = 1, /* RFC 3711; DTLS-SRTP profile 0x0001 */
	SBC_SRTP_AEAD_AES_128_GCM,      /* RFC 7714; DTLS-SRTP profile 0x0007 */
};

enum {
	SBC_SRTP_KEY_LEN = 16,
	SBC_SRTP_SALT_MAX = 14,          /* 14 for CM, 12 for GCM */
	SBC_SRTP_OVERHEAD = 32,          /* most bytes protect adds to RTP or
					  * RTCP (tag + SRTCP index, with
					  * margin) */
};

/* A master key and salt (the salt's first sbc_srtp_salt_len() bytes). */
struct sbc_srtp_key {
	enum sbc_srtp_suite suite;
	uint8_t key[SBC_SRTP_KEY_LEN];
	uint8_t salt[SBC_SRTP_SALT_MAX];
};

struct sbc_srtp;

size_t sbc_srtp_salt_len(enum sbc_srtp_suite suite);
int  sbc_srtp_init(void);
int  sbc_srtp_alloc(struct sbc_srtp **sp, const struct sbc_srtp_key *k,
		    bool inbound);
int  sbc_srtp_protect(struct sbc_srtp *s, uint8_t *buf, size_t *lenp,
		      size_t size);
int  sbc_srtp_protect_rtcp(struct sbc_srtp *s, uint8_t *buf, size_t *lenp,
			   size_t size);
int  sbc_srtp_unprotect(struct sbc_srtp *s, uint8_t *buf, size_t *lenp);
int  sbc_srtp_unprotect_rtcp(struct sbc_srtp *s, uint8_t *buf, size_t *lenp);
