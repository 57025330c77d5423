/*
 * DTLS-SRTP (RFC 5763, RFC 5764) for the relay's WebRTC legs: the relay's
 * certificate (dtls_cert.c) and one DTLS association per leg (dtls.c),
 * on OpenSSL, with no socket of its own: the relay hands it the datagrams
 * that demultiplex as DTLS (RFC 7983) and sends what it asks to send. Its
 * product is the leg's SRTP keys (srtp.h). Include <re.h> and
 * "rtp/srtp.h" before this header.
 */

/* The relay's certificate: ECDSA P-256, self-signed, made at relay start. */
struct sbc_dtls_cert;

int sbc_dtls_cert_alloc(struct sbc_dtls_cert **cp);
const char *sbc_dtls_cert_fingerprint(const struct sbc_dtls_cert *c);

enum sbc_dtls_role  { SBC_DTLS_SERVER = 0, SBC_DTLS_CLIENT };
enum sbc_dtls_state {
	SBC_DTLS_NEW = 0,
	SBC_DTLS_CONNECTING,
	SBC_DTLS_CONNECTED,
	SBC_DTLS_FAILED,
	SBC_DTLS_CLOSED,
};

const char *sbc_dtls_state_name(enum sbc_dtls_state st);

/* A datagram the association wants sent to the peer (handshake flights,
 * retransmissions, alerts). Called from inside OpenSSL: it must not call
 * back into the association nor free it. */
typedef void (sbc_dtls_send_h)(const uint8_t *buf, size_t len, void *arg);

/* The association is up (err 0: handshake done and the peer's certificate
 * matched its fingerprint; SRTP keys available) or failed (err != 0).
 * Called once, as the last thing its caller does: it may free the
 * association. */
typedef void (sbc_dtls_estab_h)(int err, void *arg);

struct sbc_dtls;

int  sbc_dtls_alloc(struct sbc_dtls **dp, struct sbc_dtls_cert *cert,
		    enum sbc_dtls_role role, sbc_dtls_send_h *sendh,
		    sbc_dtls_estab_h *estabh, void *arg);
int  sbc_dtls_set_peer_fingerprint(struct sbc_dtls *d, const struct pl *fp);
int  sbc_dtls_start(struct sbc_dtls *d);
int  sbc_dtls_input(struct sbc_dtls *d, const uint8_t *buf, size_t len);
enum sbc_dtls_state sbc_dtls_state(const struct sbc_dtls *d);
int  sbc_dtls_srtp_keys(const struct sbc_dtls *d, struct sbc_srtp_key *tx,
			struct sbc_srtp_key *rx);


/*
 * Between dtls_cert.c and dtls.c only: the certificate's OpenSSL context,
 * and a peer's fingerprint (RFC 8122's a=fingerprint), decoded and
 * matched against its certificate.
 */
struct ssl_ctx_st;
struct x509_st;

struct sbc_dtls_fp {
	unsigned hash;             /* index in dtls_cert.c's table */
	size_t len;
	uint8_t md[64];
};

struct ssl_ctx_st *sbc_dtls_cert_ctx(const struct sbc_dtls_cert *c);
int sbc_dtls_fp_decode(struct sbc_dtls_fp *fp, const struct pl *pl);
int sbc_dtls_fp_match(const struct sbc_dtls_fp *fp, struct x509_st *cert);
