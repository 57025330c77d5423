/*
 * Unit tests of rtp/srtp.c. Against RFC 3711's vectors: a packet
 * protected with the master key of appendix B.3 is, byte for byte, the
 * packet computed here independently (OpenSSL's AES-CTR and HMAC-SHA1)
 * from the session keys the RFC derives from it, this computation itself
 * checked against the AES-CM keystream of B.2 and the key derivation of
 * B.3. Then for both suites: round trips of RTP (across a sequence number
 * wrap) and RTCP, tampering refused without harm to the stream, replays
 * refused, retransmissions protected again, truncations and garbage never
 * read past their end, ENOSPC when the tag does not fit.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <re.h>
#include "tests/unit.h"
#include "rtp/srtp.h"

enum { PKT_MAX = 256, PAYLOAD = 37, SR_LEN = 28 };

/* RFC 3711 B.3: master key and salt, and the session keys of SRTP */
static const char b3_master_key[]  = "E1F97A0D3E018BE0D64FA32C06DE4139";
static const char b3_master_salt[] = "0EC675AD498AFEEBB6960B3AABE6";
static const char b3_cipher_key[]  = "C61E7A93744F39EE10734AFE3FF7A087";
static const char b3_cipher_salt[] = "30CBBC08863D8C85D49DB34A9AE1";
static const char b3_auth_key[]    = "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4";

/* RFC 3711 B.2: session key and salt, the first keystream blocks */
static const char b2_key[]  = "2B7E151628AED2A6ABF7158809CF4F3C";
static const char b2_salt[] = "F0F1F2F3F4F5F6F7F8F9FAFBFCFD";
static const char b2_keystream[] = "E03EAD0935C95E80E166B16DD92B4EB4"
				   "D23513162B02D0F72A43A2FE4A5F97AB"
				   "41E95B3BB0A2E8DD477901E4FCA894C0";


static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		char byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

		out[i] = (uint8_t)strtoul(byte, NULL, 16);
	}

	return n;
}


/* buf ^= the AES-128 counter mode keystream from block iv (RFC 3711
 * 4.1.1: the counter is iv's low 16 bits, OpenSSL's carries further,
 * which makes no difference below 2^16 blocks). */
static void aes_cm(const uint8_t *key, const uint8_t *iv, uint8_t *buf,
		   size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL,
					    key, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, buf, &n, buf, (int)len), 1);
	assert_int_equal(n, (int)len);
	EVP_CIPHER_CTX_free(ctx);
}


/* RFC 3711 4.3.1 with a key derivation rate of 0: the session key of
 * label, n bytes, from master key and 14-byte salt. */
static void kdf(uint8_t *out, size_t n, const uint8_t *key,
		const uint8_t *salt, uint8_t label)
{
	uint8_t iv[16] = {0};

	memcpy(iv, salt, 14);
	iv[7] ^= label;
	memset(out, 0, n);
	aes_cm(key, iv, out, n);
}


static size_t rtp_make(uint8_t *buf, uint16_t seq, uint32_t ssrc)
{
	const uint8_t hdr[12] = {
		0x80, 0x60, seq >> 8, seq & 0xff,
		0x00, 0x01, 0xe2, 0x40,
		ssrc >> 24, (ssrc >> 16) & 0xff, (ssrc >> 8) & 0xff,
		ssrc & 0xff,
	};

	memcpy(buf, hdr, sizeof(hdr));
	for (size_t i = 0; i < PAYLOAD; i++)
		buf[sizeof(hdr) + i] = (uint8_t)(i * 7 + seq);

	return sizeof(hdr) + PAYLOAD;
}


/* An RTCP sender report of SSRC 0xcafebabe. */
static size_t sr_make(uint8_t *buf, uint8_t fill)
{
	const uint8_t hdr[8] = {0x80, 200, 0x00, 0x06,
				0xca, 0xfe, 0xba, 0xbe};

	memcpy(buf, hdr, sizeof(hdr));
	memset(buf + sizeof(hdr), fill, SR_LEN - sizeof(hdr));

	return SR_LEN;
}


static void pair(struct sbc_srtp **tx, struct sbc_srtp **rx,
		 enum sbc_srtp_suite suite)
{
	struct sbc_srtp_key k = {.suite = suite};

	assert_int_equal(RAND_bytes(k.key, sizeof(k.key)), 1);
	assert_int_equal(RAND_bytes(k.salt, sizeof(k.salt)), 1);
	assert_int_equal(sbc_srtp_alloc(tx, &k, false), 0);
	assert_int_equal(sbc_srtp_alloc(rx, &k, true), 0);
}


static size_t tag_len(enum sbc_srtp_suite suite)
{
	return suite == SBC_SRTP_AES128_CM_SHA1_80 ? 10 : 16;
}


static void test_aes_cm_b2(void **state)
{
	uint8_t key[16], iv[16] = {0}, ks[48] = {0}, want[48];

	(void)state;

	unhex(key, b2_key);
	unhex(iv, b2_salt);
	unhex(want, b2_keystream);

	aes_cm(key, iv, ks, sizeof(ks));
	assert_memory_equal(ks, want, sizeof(want));
}


static void test_kdf_b3(void **state)
{
	uint8_t mk[16], ms[14], out[20], want[20];

	(void)state;

	unhex(mk, b3_master_key);
	unhex(ms, b3_master_salt);

	kdf(out, 16, mk, ms, 0x00);
	assert_memory_equal(out, want, unhex(want, b3_cipher_key));
	kdf(out, 20, mk, ms, 0x01);
	assert_memory_equal(out, want, unhex(want, b3_auth_key));
	kdf(out, 14, mk, ms, 0x02);
	assert_memory_equal(out, want, unhex(want, b3_cipher_salt));
}


/* The SRTP packet of RFC 3711 3.1 for the RTP packet pkt, by hand from
 * the session keys of B.3; its index is its sequence number (ROC 0). */
static size_t srtp_expected(uint8_t *out, const uint8_t *pkt, size_t len)
{
	const uint32_t roc = 0;
	uint8_t ck[16], cs[14], ak[20], iv[16] = {0};
	uint8_t md[EVP_MAX_MD_SIZE], authed[PKT_MAX + 4];
	unsigned int mdlen = 0;

	unhex(ck, b3_cipher_key);
	unhex(cs, b3_cipher_salt);
	unhex(ak, b3_auth_key);

	/* IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16) */
	memcpy(iv, cs, sizeof(cs));
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= pkt[8 + i];
	iv[12] ^= pkt[2];
	iv[13] ^= pkt[3];

	memcpy(out, pkt, len);
	aes_cm(ck, iv, out + 12, len - 12);

	/* tag: HMAC-SHA1 of the packet and the ROC, 80 bits */
	memcpy(authed, out, len);
	authed[len] = roc >> 24;
	authed[len + 1] = (roc >> 16) & 0xff;
	authed[len + 2] = (roc >> 8) & 0xff;
	authed[len + 3] = roc & 0xff;
	assert_non_null(HMAC(EVP_sha1(), ak, sizeof(ak), authed, len + 4, md,
			     &mdlen));
	assert_int_equal(mdlen, 20);

	memcpy(out + len, md, 10);
	return len + 10;
}


static void test_protect_b3(void **state)
{
	struct sbc_srtp_key k = {.suite = SBC_SRTP_AES128_CM_SHA1_80};
	_Alignas(4) uint8_t pkt[PKT_MAX];
	uint8_t want[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL;
	size_t len, wlen;

	(void)state;

	unhex(k.key, b3_master_key);
	unhex(k.salt, b3_master_salt);
	assert_int_equal(sbc_srtp_alloc(&tx, &k, false), 0);
	assert_int_equal(sbc_srtp_alloc(&rx, &k, true), 0);

	len = rtp_make(pkt, 0x1234, 0xcafebabe);
	wlen = srtp_expected(want, pkt, len);

	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)), 0);
	assert_int_equal(len, wlen);
	assert_memory_equal(pkt, want, wlen);

	assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), 0);
	assert_int_equal(len, 12 + PAYLOAD);
	rtp_make(want, 0x1234, 0xcafebabe);
	assert_memory_equal(pkt, want, len);

	mem_deref(rx);
	mem_deref(tx);
}


static void round_trip(enum sbc_srtp_suite suite)
{
	_Alignas(4) uint8_t pkt[PKT_MAX];
	uint8_t plain[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL;
	size_t len, plen;

	pair(&tx, &rx, suite);

	/* across the wrap of the sequence number (ROC 0 to 1) */
	for (uint32_t i = 65530; i < 65542; i++) {
		plen = rtp_make(plain, (uint16_t)i, 0x11223344);
		len = rtp_make(pkt, (uint16_t)i, 0x11223344);

		assert_int_equal(sbc_srtp_protect(tx, pkt, &len,
						  sizeof(pkt)), 0);
		assert_int_equal(len, plen + tag_len(suite));
		assert_true(len - plen <= SBC_SRTP_OVERHEAD);
		assert_memory_not_equal(pkt + 12, plain + 12, PAYLOAD);

		assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), 0);
		assert_int_equal(len, plen);
		assert_memory_equal(pkt, plain, plen);
	}

	/* RTCP: E flag and index, then the tag */
	for (uint8_t i = 0; i < 5; i++) {
		plen = sr_make(plain, i);
		len = sr_make(pkt, i);

		assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len,
						       sizeof(pkt)), 0);
		assert_int_equal(len, plen + 4 + tag_len(suite));
		assert_true(len - plen <= SBC_SRTP_OVERHEAD);

		assert_int_equal(sbc_srtp_unprotect_rtcp(rx, pkt, &len), 0);
		assert_int_equal(len, plen);
		assert_memory_equal(pkt, plain, plen);
	}

	mem_deref(rx);
	mem_deref(tx);
}


static void test_round_trip_cm(void **state)
{
	(void)state;
	round_trip(SBC_SRTP_AES128_CM_SHA1_80);
}


static void test_round_trip_gcm(void **state)
{
	(void)state;
	round_trip(SBC_SRTP_AEAD_AES_128_GCM);
}


/* Every bit of the packet after a good one flipped in turn: refused,
 * nothing written to the length, and the packet itself still taken. */
static void tamper(enum sbc_srtp_suite suite)
{
	_Alignas(4) uint8_t pkt[PKT_MAX], copy[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL;
	size_t len, clen;
	int err;

	pair(&tx, &rx, suite);

	len = rtp_make(pkt, 1000, 0x55667788);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)), 0);
	assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), 0);

	len = rtp_make(pkt, 1001, 0x55667788);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)), 0);

	for (size_t bit = 0; bit < 8 * len; bit++) {
		memcpy(copy, pkt, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		clen = len;

		err = sbc_srtp_unprotect(rx, copy, &clen);
		assert_int_equal(clen, len);
		if (bit / 8 >= 12)    /* payload, tag */
			assert_int_equal(err, EBADMSG);
		else                  /* header: a sequence number seen? */
			assert_true(err == EBADMSG || err == EALREADY);
	}

	assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), 0);

	/* the same for SRTCP */
	len = sr_make(pkt, 0x42);
	assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len, sizeof(pkt)),
			 0);
	for (size_t bit = 0; bit < 8 * len; bit++) {
		memcpy(copy, pkt, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		clen = len;
		assert_int_equal(sbc_srtp_unprotect_rtcp(rx, copy, &clen),
				 EBADMSG);
		assert_int_equal(clen, len);
	}
	assert_int_equal(sbc_srtp_unprotect_rtcp(rx, pkt, &len), 0);

	mem_deref(rx);
	mem_deref(tx);
}


static void test_tamper_cm(void **state)
{
	(void)state;
	tamper(SBC_SRTP_AES128_CM_SHA1_80);
}


static void test_tamper_gcm(void **state)
{
	(void)state;
	tamper(SBC_SRTP_AEAD_AES_128_GCM);
}


/* A packet taken twice is a replay; a second packet under a sequence
 * number already protected is refused (it would reuse the keystream). */
static void replay(enum sbc_srtp_suite suite)
{
	_Alignas(4) uint8_t pkt[PKT_MAX], copy[PKT_MAX], again[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL;
	size_t len, clen, alen;

	pair(&tx, &rx, suite);

	len = rtp_make(pkt, 7, 0x01020304);
	alen = rtp_make(again, 7, 0x01020304);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)), 0);
	assert_int_equal(sbc_srtp_protect(tx, again, &alen, sizeof(again)),
			 EALREADY);

	memcpy(copy, pkt, len);
	clen = len;
	assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), 0);
	assert_int_equal(sbc_srtp_unprotect(rx, copy, &clen), EALREADY);

	len = sr_make(pkt, 1);
	assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len, sizeof(pkt)),
			 0);
	memcpy(copy, pkt, len);
	clen = len;
	assert_int_equal(sbc_srtp_unprotect_rtcp(rx, pkt, &len), 0);
	assert_int_equal(sbc_srtp_unprotect_rtcp(rx, copy, &clen), EALREADY);

	mem_deref(rx);
	mem_deref(tx);
}


static void test_replay_cm(void **state)
{
	(void)state;
	replay(SBC_SRTP_AES128_CM_SHA1_80);
}


static void test_replay_gcm(void **state)
{
	(void)state;
	replay(SBC_SRTP_AEAD_AES_128_GCM);
}


/* Each truncation of a good packet, in a buffer of exactly its length
 * (AddressSanitizer sees a read past it), and random bytes: refused. */
static void truncate_all(struct sbc_srtp *rx, const uint8_t *pkt,
			 size_t len, bool rtcp)
{
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		size_t clen = n;
		int err;

		assert_non_null(cut);
		memcpy(cut, pkt, n);
		if (rtcp)
			err = sbc_srtp_unprotect_rtcp(rx, cut, &clen);
		else
			err = sbc_srtp_unprotect(rx, cut, &clen);
		assert_int_equal(err, EBADMSG);
		assert_int_equal(clen, n);
		free(cut);
	}
}


static void test_truncated(void **state)
{
	_Alignas(4) uint8_t pkt[PKT_MAX], rnd[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL;
	size_t len, rlen;

	(void)state;
	pair(&tx, &rx, SBC_SRTP_AEAD_AES_128_GCM);

	len = rtp_make(pkt, 3, 0x0a0b0c0d);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)), 0);
	truncate_all(rx, pkt, len, false);
	assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), 0);

	/* an extension header claiming more than the packet holds */
	len = rtp_make(pkt, 4, 0x0a0b0c0d);
	pkt[0] |= 0x10;
	pkt[14] = 0xff;
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)),
			 EBADMSG);
	len = 16;
	assert_int_equal(sbc_srtp_unprotect(rx, pkt, &len), EBADMSG);

	len = sr_make(pkt, 9);
	assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len, sizeof(pkt)),
			 0);
	truncate_all(rx, pkt, len, true);
	assert_int_equal(sbc_srtp_unprotect_rtcp(rx, pkt, &len), 0);

	for (int i = 0; i < 2000; i++) {
		assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
		rlen = rnd[1] % sizeof(rnd);
		rnd[0] = (rnd[0] & 0x3f) | 0x80;   /* version 2 */
		memcpy(pkt, rnd, rlen);
		assert_int_not_equal(sbc_srtp_unprotect(rx, pkt, &rlen), 0);
		memcpy(pkt, rnd, rlen);
		assert_int_not_equal(sbc_srtp_unprotect_rtcp(rx, pkt, &rlen),
				     0);
	}

	mem_deref(rx);
	mem_deref(tx);
}


static void no_room(enum sbc_srtp_suite suite)
{
	_Alignas(4) uint8_t pkt[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL;
	const size_t tag = tag_len(suite);
	size_t len, plen;

	pair(&tx, &rx, suite);

	plen = len = rtp_make(pkt, 1, 1);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, plen + tag - 1),
			 ENOSPC);
	assert_int_equal(len, plen);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, plen - 1), ENOSPC);
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, plen + tag), 0);
	assert_int_equal(len, plen + tag);

	plen = len = sr_make(pkt, 0);
	assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len,
					       plen + 4 + tag - 1), ENOSPC);
	assert_int_equal(len, plen);
	assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len, plen + 4 + tag),
			 0);
	assert_int_equal(len, plen + 4 + tag);

	mem_deref(rx);
	mem_deref(tx);
}


static void test_no_room(void **state)
{
	(void)state;
	no_room(SBC_SRTP_AES128_CM_SHA1_80);
	no_room(SBC_SRTP_AEAD_AES_128_GCM);
}


static void test_misuse(void **state)
{
	struct sbc_srtp_key k = {.suite = 0};
	_Alignas(4) uint8_t pkt[PKT_MAX];
	struct sbc_srtp *tx = NULL, *rx = NULL, *s = NULL;
	size_t len;

	(void)state;

	assert_int_equal(sbc_srtp_alloc(&s, &k, true), EINVAL);
	assert_null(s);
	assert_int_equal(sbc_srtp_salt_len(SBC_SRTP_AES128_CM_SHA1_80), 14);
	assert_int_equal(sbc_srtp_salt_len(SBC_SRTP_AEAD_AES_128_GCM), 12);

	pair(&tx, &rx, SBC_SRTP_AES128_CM_SHA1_80);

	/* the wrong direction */
	len = rtp_make(pkt, 1, 1);
	assert_int_equal(sbc_srtp_protect(rx, pkt, &len, sizeof(pkt)),
			 EINVAL);
	assert_int_equal(sbc_srtp_unprotect(tx, pkt, &len), EINVAL);
	assert_int_equal(sbc_srtp_unprotect_rtcp(tx, pkt, &len), EINVAL);

	/* no RTP: too short, another version */
	len = 11;
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)),
			 EBADMSG);
	len = rtp_make(pkt, 1, 1);
	pkt[0] = 0x40;
	assert_int_equal(sbc_srtp_protect(tx, pkt, &len, sizeof(pkt)),
			 EBADMSG);
	len = 7;
	assert_int_equal(sbc_srtp_protect_rtcp(tx, pkt, &len, sizeof(pkt)),
			 EBADMSG);

	mem_deref(rx);
	mem_deref(tx);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_aes_cm_b2, unit_teardown),
		cmocka_unit_test_teardown(test_kdf_b3, unit_teardown),
		cmocka_unit_test_teardown(test_protect_b3, unit_teardown),
		cmocka_unit_test_teardown(test_round_trip_cm, unit_teardown),
		cmocka_unit_test_teardown(test_round_trip_gcm, unit_teardown),
		cmocka_unit_test_teardown(test_tamper_cm, unit_teardown),
		cmocka_unit_test_teardown(test_tamper_gcm, unit_teardown),
		cmocka_unit_test_teardown(test_replay_cm, unit_teardown),
		cmocka_unit_test_teardown(test_replay_gcm, unit_teardown),
		cmocka_unit_test_teardown(test_truncated, unit_teardown),
		cmocka_unit_test_teardown(test_no_room, unit_teardown),
		cmocka_unit_test_teardown(test_misuse, unit_teardown),
	};

	if (sbc_srtp_init() || sbc_srtp_init())
		return 1;

	return cmocka_run_group_tests(tests, NULL, NULL);
}
