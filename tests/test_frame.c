/*
 * Unit tests of workers/frame.c: cutting SIP messages out of a stream.
 * Whole messages, a message arriving a byte at a time, several in one
 * read, CRLF keepalives, the size bound, and every kind of Content-Length
 * a peer can get wrong.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "tests/unit.h"
#include "workers/frame.h"

enum {
	MAX = 1000,
};


/* One call on a fresh state: the error, and the cut. */
static int cut_str(const char *s, size_t max, struct sbc_frame_cut *cut)
{
	struct sbc_frame fr = {0};

	return sbc_frame_next(&fr, (const uint8_t *)s, strlen(s), max, cut);
}


static void expect_cut(const char *s, enum sbc_frame_kind kind, size_t len)
{
	struct sbc_frame_cut cut;

	assert_int_equal(cut_str(s, MAX, &cut), 0);
	assert_int_equal(cut.kind, kind);
	assert_int_equal(cut.len, len);
}


static void expect_err(const char *s, size_t max, int err)
{
	struct sbc_frame_cut cut;

	assert_int_equal(cut_str(s, max, &cut), err);
}


static void test_whole(void **state)
{
	const char *msg = "MESSAGE sip:a@b SIP/2.0\r\n"
			  "Content-Length: 5\r\n"
			  "\r\n"
			  "hello";

	(void)state;

	expect_cut(msg, SBC_FRAME_MSG, strlen(msg));
}


static void test_no_content_length(void **state)
{
	const char *msg = "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n";
	char buf[200];

	(void)state;

	/* on a stream, no Content-Length means no body */
	re_snprintf(buf, sizeof(buf), "%sjunk after", msg);
	expect_cut(buf, SBC_FRAME_MSG, strlen(msg));

	/* a start line and nothing else */
	expect_cut("OPTIONS sip:a@b SIP/2.0\r\n\r\n", SBC_FRAME_MSG, 27);
}


static void test_forms(void **state)
{
	(void)state;

	expect_cut("A\r\nl: 2\r\n\r\nxy", SBC_FRAME_MSG, 13);
	expect_cut("A\r\nL:2\r\n\r\nxy", SBC_FRAME_MSG, 12);
	expect_cut("A\r\ncontent-length \t:  2 \t\r\n\r\nxy",
		   SBC_FRAME_MSG, 31);
	/* a value folded onto the next line */
	expect_cut("A\r\nContent-Length:\r\n 2\r\n\r\nxy", SBC_FRAME_MSG, 28);
	/* look-alikes are other headers */
	expect_cut("A\r\nContent-Length-X: abc\r\nX-l: -1\r\n\r\n",
		   SBC_FRAME_MSG, 37);
	/* only the header part is read, never the body */
	expect_cut("A\r\nl: 19\r\n\r\nContent-Length: abc", SBC_FRAME_MSG, 31);
}


static void test_partial(void **state)
{
	const char *msg = "INVITE sip:a@b SIP/2.0\r\n"
			  "Via: SIP/2.0/TCP h\r\n"
			  "Content-Length: 10\r\n"
			  "\r\n"
			  "0123456789";
	const size_t len = strlen(msg);
	struct sbc_frame fr = {0};
	struct sbc_frame_cut cut;
	size_t i;

	(void)state;

	/* the stream delivers one more byte each time */
	for (i = 1; i < len; i++) {
		assert_int_equal(sbc_frame_next(&fr, (const uint8_t *)msg, i,
						MAX, &cut), 0);
		assert_int_equal(cut.kind, SBC_FRAME_MORE);
	}

	assert_int_equal(sbc_frame_next(&fr, (const uint8_t *)msg, len, MAX,
					&cut), 0);
	assert_int_equal(cut.kind, SBC_FRAME_MSG);
	assert_int_equal(cut.len, len);

	/* the state was reset for the next message */
	assert_int_equal(fr.scanned, 0);
	assert_int_equal(fr.total, 0);
}


static void test_several(void **state)
{
	const char *s = "A\r\nl: 1\r\n\r\nx"
			"\r\n\r\n"
			"\r\n"
			"B\r\n\r\n"
			"C\r\nl: 3\r\n\r\nab";
	const uint8_t *p = (const uint8_t *)s;
	const struct {
		enum sbc_frame_kind kind;
		size_t len;
	} want[] = {
		{SBC_FRAME_MSG, 12},
		{SBC_FRAME_PING, 4},
		{SBC_FRAME_SKIP, 2},
		{SBC_FRAME_MSG, 5},
		{SBC_FRAME_MORE, 0},
	};
	struct sbc_frame fr = {0};
	struct sbc_frame_cut cut;
	size_t len = strlen(s), i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(sbc_frame_next(&fr, p, len, MAX, &cut), 0);
		assert_int_equal(cut.kind, want[i].kind);
		assert_int_equal(cut.len, want[i].len);
		p += cut.len;
		len -= cut.len;
	}

	/* the last message waits for its third byte */
	assert_int_equal(len, 13);
}


static void test_crlf(void **state)
{
	(void)state;

	expect_cut("\r", SBC_FRAME_MORE, 0);
	expect_cut("\r\n", SBC_FRAME_MORE, 0);     /* maybe a ping */
	expect_cut("\r\n\r", SBC_FRAME_MORE, 0);
	expect_cut("\r\n\r\n", SBC_FRAME_PING, 4);
	expect_cut("\r\n\r\n\r\n", SBC_FRAME_PING, 4);
	expect_cut("\r\nA", SBC_FRAME_SKIP, 2);
	expect_cut("\r\n\rA", SBC_FRAME_SKIP, 2);
	expect_cut("", SBC_FRAME_MORE, 0);
}


static void test_size(void **state)
{
	char buf[MAX + 100];
	size_t hlen;

	(void)state;

	/* no header end within max bytes */
	memset(buf, 'a', MAX);
	buf[MAX] = '\0';
	expect_err(buf, MAX, EMSGSIZE);
	buf[MAX - 1] = '\0';
	expect_cut(buf, SBC_FRAME_MORE, 0);

	/* a body that would pass max, announced before it arrives */
	expect_err("A\r\nl: 988\r\n\r\n", MAX, EMSGSIZE);

	/* exactly max is fine */
	hlen = strlen("A\r\nl: 987\r\n\r\n");
	assert_int_equal(hlen, 13);
	re_snprintf(buf, sizeof(buf), "A\r\nl: 987\r\n\r\n");
	memset(buf + hlen, 'b', MAX - hlen);
	buf[MAX] = '\0';
	expect_cut(buf, SBC_FRAME_MSG, MAX);
}


static void test_bad_length(void **state)
{
	(void)state;

	expect_err("A\r\nl: -1\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl: +1\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl: abc\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl: 12abc\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl: 1 2\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl: 0x10\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl:\r\n\r\n", MAX, EBADMSG);
	expect_err("A\r\nl: 1, 2\r\n\r\n", MAX, EBADMSG);

	/* huge, of any number of digits: too big, never wrapped around */
	expect_err("A\r\nl: 4294967297\r\n\r\n", MAX, EMSGSIZE);
	expect_err("A\r\nl: 18446744073709551617\r\n\r\n", MAX, EMSGSIZE);
	expect_err("A\r\nl: 9999999999999999999999999999999999999999\r\n\r\n",
		   MAX, EMSGSIZE);

	/* duplicated: the same value is harmless, two values are not */
	expect_cut("A\r\nl: 1\r\nContent-Length: 1\r\n\r\nx",
		   SBC_FRAME_MSG, 31);
	expect_err("A\r\nl: 1\r\nContent-Length: 2\r\n\r\nxy", MAX, EBADMSG);
	expect_err("A\r\nl: 0\r\nl: 0\r\nl: 1\r\n\r\nx", MAX, EBADMSG);
}


static void test_args(void **state)
{
	struct sbc_frame fr = {0};
	struct sbc_frame_cut cut;

	(void)state;

	assert_int_equal(sbc_frame_next(NULL, (const uint8_t *)"x", 1, MAX,
					&cut), EINVAL);
	assert_int_equal(sbc_frame_next(&fr, NULL, 1, MAX, &cut), EINVAL);
	assert_int_equal(sbc_frame_next(&fr, (const uint8_t *)"x", 1, MAX,
					NULL), EINVAL);
	assert_int_equal(sbc_frame_next(&fr, (const uint8_t *)"x", 1, 3,
					&cut), EINVAL);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_whole, unit_teardown),
		cmocka_unit_test_teardown(test_no_content_length, unit_teardown),
		cmocka_unit_test_teardown(test_forms, unit_teardown),
		cmocka_unit_test_teardown(test_partial, unit_teardown),
		cmocka_unit_test_teardown(test_several, unit_teardown),
		cmocka_unit_test_teardown(test_crlf, unit_teardown),
		cmocka_unit_test_teardown(test_size, unit_teardown),
		cmocka_unit_test_teardown(test_bad_length, unit_teardown),
		cmocka_unit_test_teardown(test_args, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
