/*
 * Unit tests of workers/ws.c and workers/ws_handshake.c: a client's
 * frames as a peer may send them (masked or not, cut anywhere, 7, 16 and
 * 64-bit lengths, fragmented around control frames, oversized, broken),
 * the server's headers, and the opening handshake.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "tests/unit.h"
#include "workers/ws.h"
#include "workers/ws_handshake.h"

enum {
	MAX = 100000,
	FRAME_MAX = MAX + SBC_WS_HDR_MAX,
};

static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};


/* A client frame into out: header with the given length field (7, 16 or
 * 64 bits, by len), mask if masked, payload masked. Returns its size. */
static size_t frame(uint8_t *out, bool fin, uint8_t op, bool masked,
		    const void *payload, size_t len)
{
	size_t n = 0, i;

	out[n++] = (fin ? 0x80 : 0) | op;

	if (len < 126)
		out[n++] = (uint8_t)len;
	else if (len <= 0xffff) {
		out[n++] = 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	}
	else {
		out[n++] = 127;
		for (i = 0; i < 8; i++)
			out[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}

	if (masked) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}

	memcpy(out + n, payload, len);
	if (masked)
		sbc_ws_unmask(out + n, len, mask);

	return n + len;
}


static int next(struct sbc_ws_rx *rx, uint8_t *buf, size_t len,
		struct sbc_ws_cut *cut)
{
	return sbc_ws_next(rx, buf, len, MAX, cut);
}


static void test_text(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[64];
	size_t n;

	(void)state;

	n = frame(buf, true, SBC_WS_OP_TEXT, true, "OPTIONS", 7);
	assert_int_equal(n, 2 + 4 + 7);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_MSG);
	assert_int_equal(cut.opcode, SBC_WS_OP_TEXT);
	assert_int_equal(cut.used, n);
	assert_int_equal(cut.len, 7);
	assert_memory_equal(cut.data, "OPTIONS", 7);

	n = frame(buf, true, SBC_WS_OP_BINARY, true, "\0\1", 2);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_MSG);
	assert_int_equal(cut.opcode, SBC_WS_OP_BINARY);
	assert_memory_equal(cut.data, "\0\1", 2);
}


static void test_unmasked(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[64];
	size_t n;

	(void)state;

	n = frame(buf, true, SBC_WS_OP_TEXT, false, "OPTIONS", 7);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
	n = frame(buf, true, SBC_WS_OP_PING, false, "", 0);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
}


static void test_partial(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t *buf = malloc(FRAME_MAX), *payload = malloc(MAX);
	const size_t sizes[] = {5, 125, 126, 300, 65535, 65536, 70000};
	size_t s, n, i;

	(void)state;

	assert_non_null(buf);
	assert_non_null(payload);
	for (i = 0; i < MAX; i++)
		payload[i] = (uint8_t)('a' + i % 26);

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		n = frame(buf, true, SBC_WS_OP_TEXT, true, payload, sizes[s]);

		/* every cut short of the whole frame waits for more;
		 * the header sizes tell 7, 16 and 64-bit lengths apart */
		for (i = 0; i < n; i += i < 16 ? 1 : 997) {
			assert_int_equal(next(&rx, buf, i, &cut), 0);
			assert_int_equal(cut.kind, SBC_WS_MORE);
			assert_int_equal(cut.used, 0);
		}

		assert_int_equal(next(&rx, buf, n, &cut), 0);
		assert_int_equal(cut.kind, SBC_WS_MSG);
		assert_int_equal(cut.len, sizes[s]);
		assert_int_equal(cut.used, n);
		assert_memory_equal(cut.data, payload, sizes[s]);
	}

	free(buf);
	free(payload);
}


static void test_two_in_one(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[64];
	size_t n;

	(void)state;

	n  = frame(buf, true, SBC_WS_OP_TEXT, true, "first", 5);
	n += frame(buf + n, true, SBC_WS_OP_TEXT, true, "second", 6);

	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_memory_equal(cut.data, "first", 5);
	assert_int_equal(next(&rx, buf + cut.used, n - cut.used, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_MSG);
	assert_memory_equal(cut.data, "second", 6);
}


static void test_lengths(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t hdr[] = {0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};

	(void)state;

	/* 2^40 bytes announced: refused from the header alone */
	hdr[4] = 1;
	assert_int_equal(next(&rx, hdr, sizeof(hdr), &cut), EMSGSIZE);

	/* the top bit of a 64-bit length must be clear */
	hdr[2] = 0x80;
	hdr[4] = 0;
	assert_int_equal(next(&rx, hdr, sizeof(hdr), &cut), EBADMSG);

	/* MAX + 1 in 64 bits, and in 16 bits against a small max */
	hdr[2] = 0;
	hdr[7] = (MAX + 1) >> 16;
	hdr[8] = (uint8_t)((MAX + 1) >> 8);
	hdr[9] = (uint8_t)(MAX + 1);
	assert_int_equal(next(&rx, hdr, sizeof(hdr), &cut), EMSGSIZE);

	hdr[1] = 0x80 | 126;
	hdr[2] = 1;
	hdr[3] = 0;
	assert_int_equal(sbc_ws_next(&rx, hdr, 8, 255, &cut), EMSGSIZE);
	assert_int_equal(sbc_ws_next(&rx, hdr, 8, 256, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_MORE);
}


static void test_fragments(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[256];
	size_t n = 0, off = 0;
	const enum sbc_ws_kind want[] = {
		SBC_WS_PART, SBC_WS_PING, SBC_WS_PART, SBC_WS_PONG, SBC_WS_MSG,
	};
	size_t i;

	(void)state;

	n += frame(buf + n, false, SBC_WS_OP_TEXT, true, "REGI", 4);
	n += frame(buf + n, true, SBC_WS_OP_PING, true, "hb", 2);
	n += frame(buf + n, false, SBC_WS_OP_CONT, true, "STER", 4);
	n += frame(buf + n, true, SBC_WS_OP_PONG, true, "", 0);
	n += frame(buf + n, true, SBC_WS_OP_CONT, true, " sip:x", 6);

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(next(&rx, buf + off, n - off, &cut), 0);
		assert_int_equal(cut.kind, want[i]);
		off += cut.used;
	}

	assert_int_equal(off, n);
	assert_int_equal(cut.opcode, SBC_WS_OP_TEXT);
	assert_int_equal(cut.len, 14);
	assert_memory_equal(cut.data, "REGISTER sip:x", 14);

	/* the next message starts afresh */
	n = frame(buf, true, SBC_WS_OP_TEXT, true, "BYE", 3);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_MSG);
	assert_memory_equal(cut.data, "BYE", 3);
	assert_null(rx.frag);
}


static void test_fragments_bad(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[256];
	size_t n;

	(void)state;

	/* a continuation with no message started */
	n = frame(buf, true, SBC_WS_OP_CONT, true, "x", 1);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);

	/* a new message while one is being reassembled */
	n = frame(buf, false, SBC_WS_OP_TEXT, true, "x", 1);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_PART);
	n = frame(buf, true, SBC_WS_OP_BINARY, true, "y", 1);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
	sbc_ws_rx_reset(&rx);

	/* fragments that add up to more than max */
	n = frame(buf, false, SBC_WS_OP_TEXT, true, "0123456789", 10);
	assert_int_equal(sbc_ws_next(&rx, buf, n, 15, &cut), 0);
	n = frame(buf, false, SBC_WS_OP_CONT, true, "01234", 5);
	assert_int_equal(sbc_ws_next(&rx, buf, n, 15, &cut), 0);
	n = frame(buf, true, SBC_WS_OP_CONT, true, "0", 1);
	assert_int_equal(sbc_ws_next(&rx, buf, n, 15, &cut), EMSGSIZE);
	sbc_ws_rx_reset(&rx);
	assert_null(rx.frag);
}


static void test_control(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[256], payload[126] = {0};
	size_t n;

	(void)state;

	n = frame(buf, true, SBC_WS_OP_PING, true, "abc", 3);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_PING);
	assert_memory_equal(cut.data, "abc", 3);

	n = frame(buf, true, SBC_WS_OP_PING, true, payload, 125);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_PING);

	/* control frames: at most 125 bytes, never fragmented */
	n = frame(buf, true, SBC_WS_OP_PING, true, payload, 126);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
	n = frame(buf, false, SBC_WS_OP_PING, true, "a", 1);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);

	/* reserved bits and opcodes */
	n = frame(buf, true, SBC_WS_OP_TEXT, true, "a", 1);
	buf[0] |= 0x40;
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
	n = frame(buf, true, 0x3, true, "a", 1);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
	n = frame(buf, true, 0xb, true, "a", 1);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
}


static void test_close(void **state)
{
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t buf[64];
	size_t n;

	(void)state;

	n = frame(buf, true, SBC_WS_OP_CLOSE, true, "\x03\xe8" "bye", 5);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_CLOSE);
	assert_int_equal(cut.len, 5);
	assert_memory_equal(cut.data, "\x03\xe8", 2);

	n = frame(buf, true, SBC_WS_OP_CLOSE, true, "", 0);
	assert_int_equal(next(&rx, buf, n, &cut), 0);
	assert_int_equal(cut.kind, SBC_WS_CLOSE);
	assert_int_equal(cut.len, 0);

	/* a status code is two bytes */
	n = frame(buf, true, SBC_WS_OP_CLOSE, true, "\x03", 1);
	assert_int_equal(next(&rx, buf, n, &cut), EBADMSG);
}


static void test_header(void **state)
{
	const struct {
		uint64_t len;
		size_t size;
		uint8_t b1;
	} cases[] = {
		{0, 2, 0}, {125, 2, 125}, {126, 4, 126}, {65535, 4, 126},
		{65536, 10, 127}, {(uint64_t)1 << 40, 10, 127},
	};
	struct sbc_ws_rx rx = {0};
	struct sbc_ws_cut cut;
	uint8_t hdr[SBC_WS_HDR_MAX];
	uint8_t masked[SBC_WS_HDR_MAX + 4];
	size_t i, n;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		n = sbc_ws_header(hdr, SBC_WS_OP_TEXT, cases[i].len);
		assert_int_equal(n, cases[i].size);
		assert_int_equal(hdr[0], 0x81);
		assert_int_equal(hdr[1], cases[i].b1);

		/* the same header, masked, decodes to the same length */
		memcpy(masked, hdr, n);
		masked[1] |= 0x80;
		memcpy(masked + n, mask, 4);
		assert_int_equal(sbc_ws_next(&rx, masked, n + 4, SIZE_MAX,
					     &cut), 0);
		if (cases[i].len)
			assert_int_equal(cut.kind, SBC_WS_MORE);
		else
			assert_int_equal(cut.kind, SBC_WS_MSG);
	}

	n = sbc_ws_header(hdr, SBC_WS_OP_PONG, 300);
	assert_int_equal(hdr[0], 0x8a);
	assert_int_equal(hdr[2], 1);
	assert_int_equal(hdr[3], 44);
}


static const char request[] =
	"GET /ws HTTP/1.1\r\n"
	"Host: sbc.example.com\r\n"
	"Upgrade: websocket\r\n"
	"Connection: keep-alive, Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Origin: http://www.example.com\r\n"
	"Sec-WebSocket-Protocol: chat, sip\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"\r\n";


/* The request with one header line replaced (or removed: to ""). */
static void request_with(char *out, size_t size, const char *name,
			 const char *line)
{
	const char *start = strstr(request, name);
	const char *end = strstr(start, "\r\n") + 2;

	assert_true(re_snprintf(out, size, "%b%s%s", request,
				(size_t)(start - request), line, end) > 0);
}


static uint16_t hs_status(const char *req)
{
	struct sbc_ws_hs hs;
	size_t used;

	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)req, strlen(req),
					 &hs, &used), 0);
	assert_int_equal(used, strlen(req));

	return hs.status;
}


static void test_handshake(void **state)
{
	struct sbc_ws_hs hs;
	char buf[1024], resp[512];
	size_t used, len;

	(void)state;

	/* RFC 6455 section 1.3's example key */
	re_snprintf(buf, sizeof(buf), "%sframes", request);
	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)buf, strlen(buf),
					 &hs, &used), 0);
	assert_int_equal(hs.status, 101);
	assert_int_equal(used, strlen(request));
	assert_string_equal(hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

	assert_int_equal(sbc_ws_hs_response(resp, sizeof(resp), &hs, &len), 0);
	assert_int_equal(len, strlen(resp));
	assert_non_null(strstr(resp, "HTTP/1.1 101 "));
	assert_non_null(strstr(resp, "\r\nSec-WebSocket-Accept: "
			       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_non_null(strstr(resp, "\r\nSec-WebSocket-Protocol: sip\r\n"));
	assert_memory_equal(resp + len - 4, "\r\n\r\n", 4);

	/* too small a buffer */
	assert_int_equal(sbc_ws_hs_response(resp, 40, &hs, &len), ENOSPC);

	/* incomplete */
	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)request,
					 strlen(request) - 1, &hs, &used),
			 ENODATA);
	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)request, 0, &hs,
					 &used), ENODATA);
}


static void test_handshake_refused(void **state)
{
	char buf[1024], resp[512];
	struct sbc_ws_hs hs = {.status = 426};
	size_t len;

	(void)state;

	request_with(buf, sizeof(buf), "Sec-WebSocket-Protocol",
		     "Sec-WebSocket-Protocol: chat, sips\r\n");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "Sec-WebSocket-Protocol", "");
	assert_int_equal(hs_status(buf), 400);

	request_with(buf, sizeof(buf), "Sec-WebSocket-Version",
		     "Sec-WebSocket-Version: 8\r\n");
	assert_int_equal(hs_status(buf), 426);

	request_with(buf, sizeof(buf), "Sec-WebSocket-Key", "");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "Sec-WebSocket-Key",
		     "Sec-WebSocket-Key: short==\r\n");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "Sec-WebSocket-Key",
		     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
	assert_int_equal(hs_status(buf), 400);

	request_with(buf, sizeof(buf), "Upgrade", "Upgrade: h2c\r\n");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "Connection", "Connection: close\r\n");
	assert_int_equal(hs_status(buf), 400);

	request_with(buf, sizeof(buf), "GET", "POST /ws HTTP/1.1\r\n");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "GET", "GET /ws HTTP/1.0\r\n");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "Origin", "no colon here\r\n");
	assert_int_equal(hs_status(buf), 400);
	request_with(buf, sizeof(buf), "Origin", " folded: line\r\n");
	assert_int_equal(hs_status(buf), 400);
	assert_int_equal(hs_status("\r\n\r\n"), 400);

	assert_int_equal(sbc_ws_hs_response(resp, sizeof(resp), &hs, &len), 0);
	assert_non_null(strstr(resp, "HTTP/1.1 426 "));
	assert_non_null(strstr(resp, "\r\nSec-WebSocket-Version: 13\r\n"));
	hs.status = 400;
	assert_int_equal(sbc_ws_hs_response(resp, sizeof(resp), &hs, &len), 0);
	assert_non_null(strstr(resp, "HTTP/1.1 400 "));
}


static void test_handshake_long(void **state)
{
	char *buf = malloc(SBC_WS_HS_MAX + 10);
	struct sbc_ws_hs hs;
	size_t used;

	(void)state;

	assert_non_null(buf);
	memset(buf, 'a', SBC_WS_HS_MAX + 10);

	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)buf,
					 SBC_WS_HS_MAX - 1, &hs, &used),
			 ENODATA);
	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)buf, SBC_WS_HS_MAX,
					 &hs, &used), EMSGSIZE);

	/* the end just beyond the bound does not count */
	memcpy(buf + SBC_WS_HS_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(sbc_ws_hs_parse((const uint8_t *)buf,
					 SBC_WS_HS_MAX + 10, &hs, &used),
			 EMSGSIZE);

	free(buf);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_text, unit_teardown),
		cmocka_unit_test_teardown(test_unmasked, unit_teardown),
		cmocka_unit_test_teardown(test_partial, unit_teardown),
		cmocka_unit_test_teardown(test_two_in_one, unit_teardown),
		cmocka_unit_test_teardown(test_lengths, unit_teardown),
		cmocka_unit_test_teardown(test_fragments, unit_teardown),
		cmocka_unit_test_teardown(test_fragments_bad, unit_teardown),
		cmocka_unit_test_teardown(test_control, unit_teardown),
		cmocka_unit_test_teardown(test_close, unit_teardown),
		cmocka_unit_test_teardown(test_header, unit_teardown),
		cmocka_unit_test_teardown(test_handshake, unit_teardown),
		cmocka_unit_test_teardown(test_handshake_refused, unit_teardown),
		cmocka_unit_test_teardown(test_handshake_long, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
