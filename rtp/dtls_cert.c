/*
 * The relay's DTLS certificate, the OpenSSL context of its associations,
 * and the fingerprints that stand in for a CA.
 *
 * WebRTC authenticates DTLS by fingerprint (RFC 5763 5, RFC 8122): no CA
 * signs anything, each side puts the hash of its certificate in its SDP
 * and checks the other's certificate against the hash the other's SDP
 * gave. So a relay makes an ECDSA P-256 key and a self-signed certificate
 * when it starts (browsers make theirs the same way) and writes its
 * SHA-256 fingerprint into every SDP it sends to a browser.
 *
 * The context, one per certificate, says what every association does:
 * DTLS 1.2 only, ECDHE key exchange, use_srtp offering AES-GCM before
 * AES-CM (RFC 7714 14.2), no session resumption, no renegotiation (RFC
 * 8827 6.5 leaves no room for either), and the MTU never asked of the
 * BIO (dtls.c sets it). Each association asks the peer for its
 * certificate and checks it (dtls.c).
 */

#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <re.h>
#include "rtp/srtp.h"
#include "rtp/dtls.h"

enum {
	DAY = 86400,
	VALID_DAYS = 30,
	SHA256_LEN = 32,
};

#define FP_PREFIX "sha-256 "
#define CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL"
#define SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

struct sbc_dtls_cert {
	SSL_CTX *ctx;              /* holds the key and the certificate */
	char fp[sizeof(FP_PREFIX) - 1 + 3 * SHA256_LEN];
};

/* The hash functions of RFC 8122's a=fingerprint that we take. */
static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
} hashes[] = {
	{"sha-1",   EVP_sha1},
	{"sha-256", EVP_sha256},
	{"sha-384", EVP_sha384},
	{"sha-512", EVP_sha512},
};


static void cert_destructor(void *arg)
{
	struct sbc_dtls_cert *c = arg;

	SSL_CTX_free(c->ctx);
}


/* Self-signed, CN "sbcd", a random serial, valid from a day ago (clock
 * skew) to VALID_DAYS from now, signed with SHA-256. */
static int cert_make(X509 **xp, EVP_PKEY *key)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509_NAME *name;
	int err = ENOMEM;

	if (!x || !serial)
		goto out;

	if (!BN_rand(serial, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -DAY) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)VALID_DAYS * DAY))
		goto out;

	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"sbcd", -1, -1,
					0) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;

	err = 0;

 out:
	BN_free(serial);
	if (err)
		X509_free(x);
	else
		*xp = x;
	return err;
}


static int ctx_make(SSL_CTX **ctxp, EVP_PKEY *key, X509 *x)
{
	SSL_CTX *ctx = SSL_CTX_new(DTLS_method());

	if (!ctx)
		return ENOMEM;

	/* SSL_CTX_set_tlsext_use_srtp() is the one returning 0 on success */
	if (1 != SSL_CTX_use_certificate(ctx, x) ||
	    1 != SSL_CTX_use_PrivateKey(ctx, key) ||
	    1 != SSL_CTX_check_private_key(ctx) ||
	    1 != SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
	    1 != SSL_CTX_set_cipher_list(ctx, CIPHERS) ||
	    0 != SSL_CTX_set_tlsext_use_srtp(ctx, SRTP_PROFILES)) {
		SSL_CTX_free(ctx);
		return EPROTO;
	}

	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET |
			    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

	*ctxp = ctx;
	return 0;
}


/* "sha-256 " and the digest in upper-case hex pairs joined by colons. */
static void fp_print(char *out, const uint8_t *md, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	memcpy(out, FP_PREFIX, sizeof(FP_PREFIX) - 1);
	out += sizeof(FP_PREFIX) - 1;

	for (size_t i = 0; i < n; i++) {
		*out++ = hex[md[i] >> 4];
		*out++ = hex[md[i] & 0x0f];
		*out++ = i + 1 < n ? ':' : '\0';
	}
}


/*
 * The relay's certificate: a new key pair, its self-signed certificate
 * and the context the associations are made from. ENOMEM or EPROTO when
 * OpenSSL refuses.
 */
int sbc_dtls_cert_alloc(struct sbc_dtls_cert **cp)
{
	struct sbc_dtls_cert *c;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	uint8_t md[SHA256_LEN];
	unsigned int n = 0;
	int err;

	if (!cp)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), cert_destructor);
	if (!c)
		return ENOMEM;

	key = EVP_EC_gen("P-256");
	if (!key) {
		err = ENOMEM;
		goto out;
	}

	err = cert_make(&x, key);
	if (err)
		goto out;

	if (!X509_digest(x, EVP_sha256(), md, &n) || n != sizeof(md)) {
		err = ENOMEM;
		goto out;
	}
	fp_print(c->fp, md, n);

	err = ctx_make(&c->ctx, key, x);

 out:
	X509_free(x);
	EVP_PKEY_free(key);
	if (err) {
		ERR_clear_error();
		mem_deref(c);
	}
	else
		*cp = c;

	return err;
}


/* The a=fingerprint value of the relay's SDP: "sha-256 AB:CD:...". */
const char *sbc_dtls_cert_fingerprint(const struct sbc_dtls_cert *c)
{
	return c ? c->fp : NULL;
}


struct ssl_ctx_st *sbc_dtls_cert_ctx(const struct sbc_dtls_cert *c)
{
	return c ? c->ctx : NULL;
}


/* The next run of non-blanks after *pp, in tok; *pp moves past it. */
static void token(struct pl *tok, const char **pp, const char *end)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
			   *p == '\n'))
		p++;
	tok->p = p;
	while (p < end && *p != ' ' && *p != '\t' && *p != '\r' &&
	       *p != '\n')
		p++;
	tok->l = (size_t)(p - tok->p);
	*pp = p;
}


static int nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}


/*
 * Decodes an a=fingerprint value, "<hash> <hex pairs joined by colons>",
 * into fp. The hash name and the hex are case-insensitive, blanks around
 * them are skipped. EINVAL: a hash not in the table, a digest of the
 * wrong length, anything else malformed.
 */
int sbc_dtls_fp_decode(struct sbc_dtls_fp *fp, const struct pl *pl)
{
	struct pl name, hex, rest;
	const char *p, *end;
	size_t h, n;

	if (!fp || !pl_isset(pl))
		return EINVAL;

	p = pl->p;
	end = pl->p + pl->l;
	token(&name, &p, end);
	token(&hex, &p, end);
	token(&rest, &p, end);
	if (rest.l)
		return EINVAL;

	for (h = 0; h < ARRAY_SIZE(hashes); h++)
		if (0 == pl_strcasecmp(&name, hashes[h].name))
			break;
	if (h == ARRAY_SIZE(hashes))
		return EINVAL;

	n = (size_t)EVP_MD_get_size(hashes[h].md());
	if (n > sizeof(fp->md) || hex.l != 3 * n - 1)
		return EINVAL;

	for (size_t i = 0; i < n; i++) {
		const int hi = nibble(hex.p[3 * i]);
		const int lo = nibble(hex.p[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i + 1 < n && hex.p[3 * i + 2] != ':'))
			return EINVAL;
		fp->md[i] = (uint8_t)(hi << 4 | lo);
	}

	fp->hash = (unsigned)h;
	fp->len = n;
	return 0;
}


/* 0 when cert's digest is fp, EPERM when it is not (or no cert). */
int sbc_dtls_fp_match(const struct sbc_dtls_fp *fp, struct x509_st *cert)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!fp || !cert || fp->hash >= ARRAY_SIZE(hashes))
		return EPERM;

	if (!X509_digest(cert, hashes[fp->hash].md(), md, &n)) {
		ERR_clear_error();
		return EPERM;
	}

	return n == fp->len && !CRYPTO_memcmp(md, fp->md, n) ? 0 : EPERM;
}
