/*
 * Unit tests of rtp/dtls.c and rtp/dtls_cert.c: two associations, a
 * client and a server with a certificate each, wired back to back in
 * memory. What one sends is queued and delivered to the other by the
 * test (never from inside the send handler), datagram by datagram, each
 * checked to fit the MTU. They connect with the fingerprints given before
 * the handshake or after it, and their SRTP keys match crosswise and
 * carry media; a wrong fingerprint fails them either way; a lost flight
 * is retransmitted by libre's timers (re_main); the give-up timer is
 * armed; truncated and random datagrams change nothing.
 */

#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "tests/unit.h"
#include "rtp/srtp.h"
#include "rtp/dtls.h"

enum { QMAX = 64, DGRAM = 1500, MTU = 1200, FP_LEN = 8 + 3 * 32 - 1 };

struct wire;

/* One side: its association, what it was told, what it sent. */
struct end {
	struct sbc_dtls *d;
	struct sbc_dtls_cert *cert;
	struct wire *w;
	int estab_err;
	unsigned estab_calls;
	unsigned sent;             /* datagrams sent */
	uint32_t drop;             /* bit n: lose the datagram sent n-th */
	uint8_t first[DGRAM];      /* the first datagram it sent */
	size_t first_len;
};

struct dgram {
	struct end *from;
	size_t len;
	uint8_t buf[DGRAM];
};

struct wire {
	struct end c, s;           /* client, server */
	struct dgram q[QMAX];
	size_t head, n;
	struct tmr tick;
	uint64_t deadline;
};

static struct wire wire;


static void send_h(const uint8_t *buf, size_t len, void *arg)
{
	struct end *e = arg;
	struct wire *w = e->w;
	struct dgram *g;
	const unsigned n = e->sent++;

	assert_true(len > 0 && len <= MTU);
	if (n == 0) {
		memcpy(e->first, buf, len);
		e->first_len = len;
	}
	if (n < 32 && (e->drop & (1u << n)))
		return;

	assert_true(w->n < QMAX);
	g = &w->q[(w->head + w->n++) % QMAX];
	g->from = e;
	g->len = len;
	memcpy(g->buf, buf, len);
}


static void estab_h(int err, void *arg)
{
	struct end *e = arg;

	e->estab_err = err;
	++e->estab_calls;
}


/* Hands every queued datagram to the other side, and what that sends
 * in return, until the wire is quiet. */
static void deliver(struct wire *w)
{
	struct dgram g;

	while (w->n) {
		g = w->q[w->head];
		w->head = (w->head + 1) % QMAX;
		--w->n;

		(void)sbc_dtls_input(g.from == &w->c ? w->s.d : w->c.d,
				     g.buf, g.len);
	}
}


static void end_init(struct end *e, struct wire *w, enum sbc_dtls_role r)
{
	e->w = w;
	assert_int_equal(sbc_dtls_cert_alloc(&e->cert), 0);
	assert_int_equal(sbc_dtls_alloc(&e->d, e->cert, r, send_h, estab_h,
					e), 0);
	assert_int_equal(sbc_dtls_state(e->d), SBC_DTLS_NEW);
}


static struct wire *wire_init(void)
{
	struct wire *w = &wire;

	memset(w, 0, sizeof(*w));
	end_init(&w->c, w, SBC_DTLS_CLIENT);
	end_init(&w->s, w, SBC_DTLS_SERVER);

	return w;
}


static void wire_close(struct wire *w)
{
	tmr_cancel(&w->tick);
	w->c.d = mem_deref(w->c.d);
	w->s.d = mem_deref(w->s.d);
	w->c.cert = mem_deref(w->c.cert);
	w->s.cert = mem_deref(w->s.cert);
}


static int set_fp(struct end *e, const char *fp)
{
	struct pl pl;

	pl_set_str(&pl, fp);
	return sbc_dtls_set_peer_fingerprint(e->d, &pl);
}


/* Each side given the other's fingerprint. */
static void fps_cross(struct wire *w)
{
	assert_int_equal(set_fp(&w->c, sbc_dtls_cert_fingerprint(w->s.cert)),
			 0);
	assert_int_equal(set_fp(&w->s, sbc_dtls_cert_fingerprint(w->c.cert)),
			 0);
}


static void assert_connected(const struct end *e)
{
	assert_int_equal(sbc_dtls_state(e->d), SBC_DTLS_CONNECTED);
	assert_int_equal(e->estab_calls, 1);
	assert_int_equal(e->estab_err, 0);
}


/* A packet protected with one side's tx, unprotected with the other's
 * rx. */
static void media(const struct sbc_srtp_key *tx,
		  const struct sbc_srtp_key *rx)
{
	_Alignas(4) uint8_t pkt[64 + SBC_SRTP_OVERHEAD];
	struct sbc_srtp *p = NULL, *u = NULL;
	size_t len = 64;

	memset(pkt, 0x5a, sizeof(pkt));
	pkt[0] = 0x80;

	assert_int_equal(sbc_srtp_alloc(&p, tx, false), 0);
	assert_int_equal(sbc_srtp_alloc(&u, rx, true), 0);
	assert_int_equal(sbc_srtp_protect(p, pkt, &len, sizeof(pkt)), 0);
	assert_int_equal(sbc_srtp_unprotect(u, pkt, &len), 0);
	assert_int_equal(len, 64);
	assert_int_equal(pkt[63], 0x5a);

	mem_deref(u);
	mem_deref(p);
}


static void keys_cross(const struct wire *w)
{
	struct sbc_srtp_key ctx, crx, stx, srx;

	assert_int_equal(sbc_dtls_srtp_keys(w->c.d, &ctx, &crx), 0);
	assert_int_equal(sbc_dtls_srtp_keys(w->s.d, &stx, &srx), 0);

	/* GCM offered first by both */
	assert_int_equal(ctx.suite, SBC_SRTP_AEAD_AES_128_GCM);
	assert_memory_equal(&ctx, &srx, sizeof(ctx));
	assert_memory_equal(&stx, &crx, sizeof(stx));
	assert_memory_not_equal(ctx.key, crx.key, sizeof(ctx.key));

	media(&ctx, &srx);
	media(&stx, &crx);
}


static void test_fingerprint(void **state)
{
	struct sbc_dtls_cert *a = NULL, *b = NULL;
	const char *fp;

	(void)state;

	assert_int_equal(sbc_dtls_cert_alloc(&a), 0);
	assert_int_equal(sbc_dtls_cert_alloc(&b), 0);

	fp = sbc_dtls_cert_fingerprint(a);
	assert_int_equal(strlen(fp), FP_LEN);
	assert_memory_equal(fp, "sha-256 ", 8);
	for (size_t i = 0; i < 32; i++) {
		const char *pair = fp + 8 + 3 * i;

		assert_non_null(strchr("0123456789ABCDEF", pair[0]));
		assert_non_null(strchr("0123456789ABCDEF", pair[1]));
		assert_int_equal(pair[2], i < 31 ? ':' : '\0');
	}
	assert_string_not_equal(fp, sbc_dtls_cert_fingerprint(b));

	mem_deref(b);
	mem_deref(a);
}


static void test_connect(void **state)
{
	struct wire *w = wire_init();
	struct sbc_srtp_key tx, rx;

	(void)state;

	fps_cross(w);
	assert_int_equal(sbc_dtls_srtp_keys(w->c.d, &tx, &rx), ENOTCONN);
	assert_int_equal(sbc_dtls_start(w->s.d), 0);
	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_NEW);
	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	assert_int_equal(sbc_dtls_state(w->c.d), SBC_DTLS_CONNECTING);
	assert_int_equal(sbc_dtls_start(w->c.d), EALREADY);
	deliver(w);

	assert_connected(&w->c);
	assert_connected(&w->s);
	keys_cross(w);

	/* two flights each way: no retransmission was needed */
	assert_int_equal(w->c.sent, 2);
	assert_int_equal(w->s.sent, 2);

	wire_close(w);
}


/* The browser's answer comes after its handshake: CONNECTED then. */
static void test_fingerprint_after(void **state)
{
	struct wire *w = wire_init();
	char lower[FP_LEN + 1];

	(void)state;

	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	deliver(w);
	assert_int_equal(sbc_dtls_state(w->c.d), SBC_DTLS_CONNECTING);
	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_CONNECTING);
	assert_int_equal(w->c.estab_calls + w->s.estab_calls, 0);

	/* case-insensitive, blanks around */
	strcpy(lower, sbc_dtls_cert_fingerprint(w->c.cert));
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	assert_int_equal(set_fp(&w->s, lower), 0);
	assert_connected(&w->s);
	assert_int_equal(sbc_dtls_state(w->c.d), SBC_DTLS_CONNECTING);
	assert_int_equal(set_fp(&w->c, sbc_dtls_cert_fingerprint(w->s.cert)),
			 0);
	assert_connected(&w->c);
	keys_cross(w);

	/* a re-INVITE's same fingerprint is fine, another one is not, and
	 * neither touches the association */
	assert_int_equal(set_fp(&w->s, lower), 0);
	assert_int_equal(set_fp(&w->s, sbc_dtls_cert_fingerprint(w->s.cert)),
			 EPERM);
	assert_connected(&w->s);

	wire_close(w);
}


/* Known during the handshake: the server refuses the client's
 * certificate there, the client hears its alert. */
static void test_mismatch_before(void **state)
{
	struct wire *w = wire_init();
	const uint8_t junk[] = {22, 0xfe, 0xfd};

	(void)state;

	assert_int_equal(set_fp(&w->c, sbc_dtls_cert_fingerprint(w->s.cert)),
			 0);
	assert_int_equal(set_fp(&w->s, sbc_dtls_cert_fingerprint(w->s.cert)),
			 0);
	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	deliver(w);

	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_FAILED);
	assert_int_equal(w->s.estab_calls, 1);
	assert_int_equal(w->s.estab_err, EPERM);
	assert_int_equal(sbc_dtls_state(w->c.d), SBC_DTLS_FAILED);
	assert_int_equal(w->c.estab_calls, 1);
	assert_int_not_equal(w->c.estab_err, 0);

	/* nothing more from either */
	assert_int_equal(sbc_dtls_input(w->s.d, junk, sizeof(junk)),
			 ENOTCONN);
	assert_int_equal(set_fp(&w->s, sbc_dtls_cert_fingerprint(w->c.cert)),
			 ENOTCONN);

	wire_close(w);
}


/* Known after the handshake: refused then, and the client, up already,
 * is closed by the server's close_notify. */
static void test_mismatch_after(void **state)
{
	struct wire *w = wire_init();
	struct sbc_srtp_key tx, rx;

	(void)state;

	assert_int_equal(set_fp(&w->c, sbc_dtls_cert_fingerprint(w->s.cert)),
			 0);
	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	deliver(w);
	assert_connected(&w->c);
	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_CONNECTING);

	assert_int_equal(set_fp(&w->s, sbc_dtls_cert_fingerprint(w->s.cert)),
			 EPERM);
	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_FAILED);
	assert_int_equal(w->s.estab_calls, 1);
	assert_int_equal(w->s.estab_err, EPERM);
	assert_int_equal(sbc_dtls_srtp_keys(w->s.d, &tx, &rx), ENOTCONN);

	deliver(w);
	assert_int_equal(sbc_dtls_state(w->c.d), SBC_DTLS_CLOSED);
	assert_int_equal(w->c.estab_calls, 1);
	assert_int_equal(sbc_dtls_srtp_keys(w->c.d, &tx, &rx), ENOTCONN);

	wire_close(w);
}


/* "<hash> " and n bytes in hex, pairs joined by sep. */
static void fp_make(char *out, const char *hash, size_t n, char sep)
{
	out += sprintf(out, "%s ", hash);
	for (size_t i = 0; i < n; i++)
		out += sprintf(out, i + 1 < n ? "%02X%c" : "%02X",
			       (unsigned)(i * 37 & 0xff), sep);
}


static void test_fingerprint_values(void **state)
{
	struct wire *w = wire_init();
	char fp[256];

	(void)state;

	fp_make(fp, "sha-1", 20, ':');
	assert_int_equal(set_fp(&w->s, fp), 0);
	fp_make(fp, "SHA-384", 48, ':');
	assert_int_equal(set_fp(&w->s, fp), 0);
	fp_make(fp + 2, "sha-512", 64, ':');
	memcpy(fp, " \t", 2);
	strcat(fp, " \r\n");
	assert_int_equal(set_fp(&w->s, fp), 0);

	fp_make(fp, "md5", 16, ':');
	assert_int_equal(set_fp(&w->s, fp), EINVAL);
	fp_make(fp, "sha-256", 31, ':');
	assert_int_equal(set_fp(&w->s, fp), EINVAL);
	fp_make(fp, "sha-256", 33, ':');
	assert_int_equal(set_fp(&w->s, fp), EINVAL);
	fp_make(fp, "sha-256", 32, '-');
	assert_int_equal(set_fp(&w->s, fp), EINVAL);
	fp_make(fp, "sha-256", 32, ':');
	strcat(fp, " more");
	assert_int_equal(set_fp(&w->s, fp), EINVAL);
	fp_make(fp, "sha-256", 32, ':');
	fp[10] = 'G';
	assert_int_equal(set_fp(&w->s, fp), EINVAL);
	assert_int_equal(set_fp(&w->s, "sha-256"), EINVAL);
	assert_int_equal(set_fp(&w->s, ""), EINVAL);
	assert_int_equal(sbc_dtls_set_peer_fingerprint(w->s.d, NULL), EINVAL);

	/* the last good one stands: sha-512, not the client's */
	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	deliver(w);
	assert_int_equal(w->s.estab_err, EPERM);

	wire_close(w);
}


static void tick_h(void *arg)
{
	struct wire *w = arg;

	deliver(w);

	if ((sbc_dtls_state(w->c.d) == SBC_DTLS_CONNECTED &&
	     sbc_dtls_state(w->s.d) == SBC_DTLS_CONNECTED) ||
	    tmr_jiffies() > w->deadline) {
		re_cancel();
		return;
	}

	tmr_start(&w->tick, 5, tick_h, w);
}


/* With datagram n of side e lost, libre's timers bring the two sides
 * together, e having sent more than the two flights of a clean run. */
static void lost(struct wire *w, struct end *e, unsigned n)
{
	e->drop = 1u << n;
	fps_cross(w);
	assert_int_equal(sbc_dtls_start(w->c.d), 0);

	w->deadline = tmr_jiffies() + 10000;
	tmr_start(&w->tick, 0, tick_h, w);
	assert_int_equal(re_main(NULL), 0);

	assert_connected(&w->c);
	assert_connected(&w->s);
	assert_true(e->sent > 2);
	keys_cross(w);
}


static void test_lost_client_hello(void **state)
{
	struct wire *w = wire_init();

	(void)state;
	lost(w, &w->c, 0);
	wire_close(w);
}


/* The server's last flight lost: the client sends its own again, which
 * the server, done already, answers from its post-handshake path
 * (OpenSSL retransmits a flight one message per datagram). */
static void test_lost_server_finished(void **state)
{
	struct wire *w = wire_init();

	(void)state;
	lost(w, &w->s, 1);
	assert_true(w->c.sent > 2);
	wire_close(w);
}


/* The delays of libre's running timers, from its status text. */
static size_t timers(uint64_t *ms, size_t max)
{
	char *st = NULL, *p;
	size_t n = 0;

	assert_int_equal(re_sdprintf(&st, "%H", tmr_status, NULL), 0);
	for (p = strstr(st, "expire="); p && n < max;
	     p = strstr(p + 1, "expire="))
		ms[n++] = strtoull(p + 7, NULL, 10);
	mem_deref(st);

	return n;
}


static bool giveup_armed(void)
{
	uint64_t ms[8];
	size_t n = timers(ms, 8);

	for (size_t i = 0; i < n; i++)
		if (ms[i] > 29000 && ms[i] <= 30000)
			return true;

	return false;
}


static void test_giveup_armed(void **state)
{
	struct wire *w = wire_init();
	uint64_t ms[8];

	(void)state;

	assert_false(giveup_armed());
	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	assert_true(giveup_armed());
	assert_int_equal(timers(ms, 8), 2);   /* and the retransmission */

	w->c.d = mem_deref(w->c.d);
	assert_int_equal(timers(ms, 8), 0);

	/* a server's starts with the first datagram */
	assert_int_equal(sbc_dtls_input(w->s.d, w->c.first, w->c.first_len),
			 0);
	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_CONNECTING);
	assert_true(giveup_armed());

	w->n = 0;
	wire_close(w);
	assert_int_equal(timers(ms, 8), 0);
}


/* Noise, the same every run (xorshift32 from seed), so that a run
 * that passes always does: DTLS by its first byte (RFC 7983), every
 * other one a DTLS 1.2 record header with random epoch and length. */
static void garbage(struct sbc_dtls *d, unsigned rounds, uint32_t seed)
{
	uint8_t buf[DGRAM];

	for (unsigned i = 0; i < rounds; i++) {
		size_t len;

		for (size_t j = 0; j < sizeof(buf); j++) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			buf[j] = (uint8_t)seed;
		}

		len = 1 + (buf[1] << 8 | buf[2]) % sizeof(buf);
		buf[0] = 20 + buf[0] % 44;
		if (i % 2) {
			buf[1] = 0xfe;
			buf[2] = 0xfd;
		}
		(void)sbc_dtls_input(d, buf, len);
	}
}


static void test_hostile(void **state)
{
	struct wire *w = wire_init();
	const uint8_t *hello;
	size_t hello_len;

	(void)state;

	assert_int_equal(sbc_dtls_input(w->c.d, (const uint8_t *)"x", 1),
			 ENOTCONN);
	assert_int_equal(sbc_dtls_input(w->s.d, (const uint8_t *)"", 0),
			 EBADMSG);

	fps_cross(w);
	assert_int_equal(sbc_dtls_start(w->c.d), 0);
	hello = w->c.first;
	hello_len = w->c.first_len;
	assert_int_equal(w->n, 1);
	w->n = 0;

	/* the ClientHello cut short anywhere, then whole */
	for (size_t n = 1; n < hello_len; n++) {
		uint8_t *cut = malloc(n);

		assert_non_null(cut);
		memcpy(cut, hello, n);
		assert_int_equal(sbc_dtls_input(w->s.d, cut, n), 0);
		free(cut);
	}
	assert_int_equal(w->n, 0);
	assert_int_equal(sbc_dtls_state(w->s.d), SBC_DTLS_CONNECTING);

	garbage(w->c.d, 500, 1);
	assert_int_equal(sbc_dtls_state(w->c.d), SBC_DTLS_CONNECTING);
	w->n = 0;

	assert_int_equal(sbc_dtls_input(w->s.d, hello, hello_len), 0);
	deliver(w);
	assert_connected(&w->c);
	assert_connected(&w->s);

	/* off-path noise does not bring a connected association down */
	garbage(w->s.d, 2000, 2);
	garbage(w->c.d, 2000, 3);
	deliver(w);
	assert_connected(&w->c);
	assert_connected(&w->s);
	keys_cross(w);

	wire_close(w);
}


static void test_state_names(void **state)
{
	(void)state;

	assert_string_equal(sbc_dtls_state_name(SBC_DTLS_NEW), "new");
	assert_string_equal(sbc_dtls_state_name(SBC_DTLS_CONNECTING),
			    "connecting");
	assert_string_equal(sbc_dtls_state_name(SBC_DTLS_CONNECTED),
			    "connected");
	assert_string_equal(sbc_dtls_state_name(SBC_DTLS_FAILED), "failed");
	assert_string_equal(sbc_dtls_state_name(SBC_DTLS_CLOSED), "closed");
}


static int group_setup(void **state)
{
	(void)state;

	return libre_init() || sbc_srtp_init();
}


static int group_teardown(void **state)
{
	(void)state;

	libre_close();
	return 0;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_fingerprint, unit_teardown),
		cmocka_unit_test_teardown(test_connect, unit_teardown),
		cmocka_unit_test_teardown(test_fingerprint_after, unit_teardown),
		cmocka_unit_test_teardown(test_mismatch_before, unit_teardown),
		cmocka_unit_test_teardown(test_mismatch_after, unit_teardown),
		cmocka_unit_test_teardown(test_fingerprint_values, unit_teardown),
		cmocka_unit_test_teardown(test_lost_client_hello, unit_teardown),
		cmocka_unit_test_teardown(test_lost_server_finished, unit_teardown),
		cmocka_unit_test_teardown(test_giveup_armed, unit_teardown),
		cmocka_unit_test_teardown(test_hostile, unit_teardown),
		cmocka_unit_test_teardown(test_state_names, unit_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
