/*
 * One DTLS association of a WebRTC leg (RFC 6347, RFC 5763, RFC 5764) on
 * OpenSSL, with no socket: the relay owns the leg's UDP port, gives this
 * what demultiplexes as DTLS (RFC 7983: first byte 20..63) and sends what
 * this asks it to send. In between:
 *
 *   in:   a memory BIO. Each datagram is written to it and handed to
 *         OpenSSL at once, and whatever OpenSSL left of it is dropped, so
 *         two datagrams never run together;
 *   out:  a BIO of our own whose write is the send handler. OpenSSL
 *         buffers a flight and flushes it a datagram at a time (at most
 *         MTU bytes), so each write is exactly one datagram, which a
 *         memory BIO, concatenating the writes, would not keep;
 *   time: a libre timer follows DTLSv1_get_timeout() for retransmissions,
 *         another fails a handshake not done GIVEUP_MS after it began (a
 *         client's start, a server's first datagram).
 *
 * The association is CONNECTED when the handshake is done *and* the
 * peer's certificate matched the fingerprint from its SDP, in either
 * order: a browser's ClientHello can come before its SDP answer reaches
 * the relay. A fingerprint known during the handshake is checked there
 * (a mismatch aborts it with a bad_certificate alert); one that comes
 * later is checked at once, and a mismatch sends close_notify. Keys are
 * exported only when CONNECTED.
 *
 * Runs in the relay's thread, in libre's loop (re_main), unlocked. The
 * estab handler is called once, as the last thing the calling function
 * does, so the handler may free the association.
 */

#include <string.h>
#include <sys/time.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <re.h>
#include "rtp/srtp.h"
#include "rtp/dtls.h"

enum {
	MTU = 1200,                /* what a flight's datagrams fit in */
	GIVEUP_MS = 30000,
	DGRAM_MAX = 65535,
	NO_REPORT = -1,            /* nothing for the estab handler */
};

#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

struct sbc_dtls {
	struct sbc_dtls_cert *cert;   /* referenced: its SSL_CTX */
	BIO_METHOD *wmeth;            /* the out BIO's, calling sendh */
	SSL *ssl;
	BIO *rbio;                    /* the in BIO, owned by ssl */
	struct tmr tmr;               /* retransmission */
	struct tmr giveup;
	struct sbc_dtls_fp fp;        /* the peer's, when fp_set */
	bool fp_set;
	bool hs_done;                 /* handshake done (fingerprint aside) */
	bool reported;                /* estabh called */
	int verify_err;               /* why verify_h refused the peer */
	enum sbc_dtls_role role;
	enum sbc_dtls_state state;
	sbc_dtls_send_h *sendh;
	sbc_dtls_estab_h *estabh;
	void *arg;
};


static void dtls_destructor(void *arg)
{
	struct sbc_dtls *d = arg;

	tmr_cancel(&d->tmr);
	tmr_cancel(&d->giveup);
	SSL_free(d->ssl);             /* and both BIOs */
	BIO_meth_free(d->wmeth);
	mem_deref(d->cert);
}


static int bio_write(BIO *b, const char *buf, int len)
{
	struct sbc_dtls *d = BIO_get_data(b);

	if (len > 0)
		d->sendh((const uint8_t *)buf, (size_t)len, d->arg);

	return len;
}


static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;

	/* every write went out at once: a flush has nothing to do */
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}


/* Any certificate will do here (self-signed is the rule): the check is
 * the fingerprint, done here when it is known already. */
static int verify_h(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store,
				SSL_get_ex_data_X509_STORE_CTX_idx());
	struct sbc_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;

	(void)ok;

	if (!d || !d->fp_set)
		return 1;

	if (sbc_dtls_fp_match(&d->fp, X509_STORE_CTX_get0_cert(store))) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
		d->verify_err = EPERM;
		return 0;
	}

	return 1;
}


static void report(struct sbc_dtls *d, int rep)
{
	if (rep == NO_REPORT || d->reported)
		return;

	d->reported = true;
	d->estabh(rep, d->arg);
}


/* The association is in state st; returns err, for report(). */
static int settle(struct sbc_dtls *d, enum sbc_dtls_state st, int err)
{
	d->state = st;
	tmr_cancel(&d->giveup);
	if (st != SBC_DTLS_CONNECTED)
		tmr_cancel(&d->tmr);

	return err;
}


static void timeout_h(void *arg);

static void timer_arm(struct sbc_dtls *d)
{
	struct timeval tv;

	if (DTLSv1_get_timeout(d->ssl, &tv) != 1) {
		tmr_cancel(&d->tmr);
		return;
	}

	tmr_start(&d->tmr, (uint64_t)tv.tv_sec * 1000 +
		  ((uint64_t)tv.tv_usec + 999) / 1000, timeout_h, d);
}


static void timeout_h(void *arg)
{
	struct sbc_dtls *d = arg;
	int rep = NO_REPORT;

	ERR_clear_error();
	if (DTLSv1_handle_timeout(d->ssl) < 0) {
		ERR_clear_error();
		rep = settle(d, SBC_DTLS_FAILED, ETIMEDOUT);
	}
	else
		timer_arm(d);

	report(d, rep);
}


static void giveup_h(void *arg)
{
	struct sbc_dtls *d = arg;

	report(d, settle(d, SBC_DTLS_FAILED, ETIMEDOUT));
}


static int srtp_suite(SSL *ssl, enum sbc_srtp_suite *suitep)
{
	const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(ssl);

	switch (p ? p->id : 0) {

	case SRTP_AES128_CM_SHA1_80:
		*suitep = SBC_SRTP_AES128_CM_SHA1_80;
		return 0;

	case SRTP_AEAD_AES_128_GCM:
		*suitep = SBC_SRTP_AEAD_AES_128_GCM;
		return 0;

	default:
		return EPROTO;
	}
}


/* Handshake done and fingerprint known: CONNECTED or FAILED. */
static int verdict(struct sbc_dtls *d)
{
	if (!d->fp_set)
		return NO_REPORT;

	if (sbc_dtls_fp_match(&d->fp, SSL_get0_peer_certificate(d->ssl))) {
		/* the peer believes it is up: tell it otherwise */
		ERR_clear_error();
		(void)SSL_shutdown(d->ssl);
		ERR_clear_error();
		return settle(d, SBC_DTLS_FAILED, EPERM);
	}

	return settle(d, SBC_DTLS_CONNECTED, 0);
}


static int handshake_done(struct sbc_dtls *d)
{
	enum sbc_srtp_suite suite;

	d->hs_done = true;
	timer_arm(d);

	if (srtp_suite(d->ssl, &suite))
		return settle(d, SBC_DTLS_FAILED, EPROTO);

	return verdict(d);
}


/* Drives OpenSSL after a datagram or the start; returns what the estab
 * handler is to hear (NO_REPORT: nothing). */
static int step(struct sbc_dtls *d)
{
	uint8_t junk[2048];
	int r;

	ERR_clear_error();
	if (!d->hs_done) {
		r = SSL_do_handshake(d->ssl);
		if (r == 1)
			return handshake_done(d);
	}
	else {
		/* retransmitted flights, alerts; application data, of no
		 * use to a media relay, is dropped */
		while ((r = SSL_read(d->ssl, junk, sizeof(junk))) > 0)
			;
	}

	r = SSL_get_error(d->ssl, r);
	ERR_clear_error();

	switch (r) {

	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		timer_arm(d);
		return NO_REPORT;

	case SSL_ERROR_ZERO_RETURN:
		return settle(d, SBC_DTLS_CLOSED, ECONNRESET);

	default:
		return settle(d, SBC_DTLS_FAILED,
			      d->verify_err ? d->verify_err : EPROTO);
	}
}


/*
 * A new association with the relay's certificate cert, in role (the
 * "setup" of RFC 5763: the browser's actpass offer makes us the server
 * when we answer passive, the client when we answer active). sendh
 * sends its datagrams, estabh tells the outcome.
 */
int sbc_dtls_alloc(struct sbc_dtls **dp, struct sbc_dtls_cert *cert,
		   enum sbc_dtls_role role, sbc_dtls_send_h *sendh,
		   sbc_dtls_estab_h *estabh, void *arg)
{
	struct sbc_dtls *d;
	BIO *rbio, *wbio;
	int err = 0;

	if (!dp || !sbc_dtls_cert_ctx(cert) || !sendh || !estabh ||
	    (role != SBC_DTLS_SERVER && role != SBC_DTLS_CLIENT))
		return EINVAL;

	d = mem_zalloc(sizeof(*d), dtls_destructor);
	if (!d)
		return ENOMEM;

	d->cert = mem_ref(cert);
	d->role = role;
	d->sendh = sendh;
	d->estabh = estabh;
	d->arg = arg;

	d->wmeth = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "sbc_dtls");
	d->ssl = SSL_new(sbc_dtls_cert_ctx(cert));
	if (!d->wmeth || !d->ssl ||
	    !BIO_meth_set_write(d->wmeth, bio_write) ||
	    !BIO_meth_set_ctrl(d->wmeth, bio_ctrl)) {
		err = ENOMEM;
		goto out;
	}

	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(d->wmeth);
	if (!rbio || !wbio) {
		BIO_free(rbio);
		BIO_free(wbio);
		err = ENOMEM;
		goto out;
	}

	/* an empty in BIO is "wait for more", not the end of the stream */
	BIO_set_mem_eof_return(rbio, -1);
	BIO_set_data(wbio, d);
	BIO_set_init(wbio, 1);
	SSL_set_bio(d->ssl, rbio, wbio);
	d->rbio = rbio;

	if (!SSL_set_app_data(d->ssl, d) || !SSL_set_mtu(d->ssl, MTU)) {
		err = ENOMEM;
		goto out;
	}

	SSL_set_verify(d->ssl, SSL_VERIFY_PEER |
		       SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_h);

	if (role == SBC_DTLS_CLIENT)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);

 out:
	if (err) {
		ERR_clear_error();
		mem_deref(d);
	}
	else
		*dp = d;

	return err;
}


/*
 * The peer's a=fingerprint value ("sha-256 AB:CD:..."; sha-1, sha-384,
 * sha-512 too), before or after the handshake is done. EINVAL: unknown
 * hash or malformed; EPERM: it does not match the certificate the peer
 * showed (the association FAILED, estabh told, unless it was CONNECTED
 * already: then nothing changes); ENOTCONN: FAILED or CLOSED. estabh may
 * be called from here.
 */
int sbc_dtls_set_peer_fingerprint(struct sbc_dtls *d, const struct pl *fp)
{
	struct sbc_dtls_fp dec;
	int err, rep;

	if (!d || !fp)
		return EINVAL;

	err = sbc_dtls_fp_decode(&dec, fp);
	if (err)
		return err;

	switch (d->state) {

	case SBC_DTLS_FAILED:
	case SBC_DTLS_CLOSED:
		return ENOTCONN;

	case SBC_DTLS_CONNECTED:
		return sbc_dtls_fp_match(&dec,
					 SSL_get0_peer_certificate(d->ssl));

	default:
		break;
	}

	d->fp = dec;
	d->fp_set = true;
	if (!d->hs_done)
		return 0;

	rep = verdict(d);
	report(d, rep);

	return rep > 0 ? rep : 0;
}


/* A client sends its ClientHello (retransmitted until answered); a
 * server waits for the peer's. EALREADY: started already. */
int sbc_dtls_start(struct sbc_dtls *d)
{
	if (!d)
		return EINVAL;

	if (d->role == SBC_DTLS_SERVER)
		return 0;

	if (d->state != SBC_DTLS_NEW)
		return EALREADY;

	d->state = SBC_DTLS_CONNECTING;
	tmr_start(&d->giveup, GIVEUP_MS, giveup_h, d);
	report(d, step(d));

	return 0;
}


/*
 * One datagram from the peer, whatever its bytes. Returns 0 when it was
 * taken (what it did shows in the state; estabh may be called from here),
 * EBADMSG for an empty or oversized one, ENOTCONN when the association
 * is FAILED or CLOSED or a client not started.
 */
int sbc_dtls_input(struct sbc_dtls *d, const uint8_t *buf, size_t len)
{
	int rep;

	if (!d || !buf)
		return EINVAL;

	if (d->state == SBC_DTLS_FAILED || d->state == SBC_DTLS_CLOSED ||
	    (d->state == SBC_DTLS_NEW && d->role == SBC_DTLS_CLIENT))
		return ENOTCONN;

	if (!len || len > DGRAM_MAX)
		return EBADMSG;

	if (BIO_write(d->rbio, buf, (int)len) != (int)len) {
		ERR_clear_error();
		(void)BIO_reset(d->rbio);
		return ENOMEM;
	}

	if (d->state == SBC_DTLS_NEW) {
		d->state = SBC_DTLS_CONNECTING;
		tmr_start(&d->giveup, GIVEUP_MS, giveup_h, d);
	}

	rep = step(d);
	(void)BIO_reset(d->rbio);
	report(d, rep);

	return 0;
}


/* Where the association is (NULL: failed). After CONNECTED, a close or
 * a fatal alert from the peer shows only here: estabh was called. */
enum sbc_dtls_state sbc_dtls_state(const struct sbc_dtls *d)
{
	return d ? d->state : SBC_DTLS_FAILED;
}


const char *sbc_dtls_state_name(enum sbc_dtls_state st)
{
	switch (st) {

	case SBC_DTLS_NEW:        return "new";
	case SBC_DTLS_CONNECTING: return "connecting";
	case SBC_DTLS_CONNECTED:  return "connected";
	case SBC_DTLS_FAILED:     return "failed";
	case SBC_DTLS_CLOSED:     return "closed";
	default:                  return "?";
	}
}


/*
 * The SRTP master keys of a CONNECTED association (else ENOTCONN): tx
 * protects what this side sends, rx unprotects what it receives. RFC 5764
 * 4.2: the exporter gives client key, server key, client salt, server
 * salt, and the client's protect client to server.
 */
int sbc_dtls_srtp_keys(const struct sbc_dtls *d, struct sbc_srtp_key *tx,
		       struct sbc_srtp_key *rx)
{
	uint8_t km[2 * (SBC_SRTP_KEY_LEN + SBC_SRTP_SALT_MAX)];
	struct sbc_srtp_key *ck, *sk;
	enum sbc_srtp_suite suite;
	size_t sl;
	int err;

	if (!d || !tx || !rx || tx == rx)
		return EINVAL;

	if (d->state != SBC_DTLS_CONNECTED)
		return ENOTCONN;

	err = srtp_suite(d->ssl, &suite);
	if (err)
		return err;

	sl = sbc_srtp_salt_len(suite);
	ERR_clear_error();
	if (1 != SSL_export_keying_material(d->ssl, km,
					    2 * (SBC_SRTP_KEY_LEN + sl),
					    EXPORTER_LABEL,
					    sizeof(EXPORTER_LABEL) - 1,
					    NULL, 0, 0)) {
		ERR_clear_error();
		return EPROTO;
	}

	ck = d->role == SBC_DTLS_CLIENT ? tx : rx;
	sk = d->role == SBC_DTLS_CLIENT ? rx : tx;
	memset(ck, 0, sizeof(*ck));
	memset(sk, 0, sizeof(*sk));
	ck->suite = suite;
	sk->suite = suite;
	memcpy(ck->key, km, SBC_SRTP_KEY_LEN);
	memcpy(sk->key, km + SBC_SRTP_KEY_LEN, SBC_SRTP_KEY_LEN);
	memcpy(ck->salt, km + 2 * SBC_SRTP_KEY_LEN, sl);
	memcpy(sk->salt, km + 2 * SBC_SRTP_KEY_LEN + sl, sl);
	OPENSSL_cleanse(km, sizeof(km));

	return 0;
}
