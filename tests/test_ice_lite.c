/*
 * Unit tests of rtp/ice_lite.c against the test vectors of RFC 5769: the
 * sample request (2.1) is accepted with its password and its USERNAME,
 * refused with another password, another ufrag or any byte changed; the
 * answer to it, given the vector's mapped address and SOFTWARE, is the
 * sample IPv4 response (2.2) byte for byte.
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
#include "rtp/ice_lite.h"

/* RFC 5769 2.1: USERNAME "evtj:h6vY", password below */
static const uint8_t request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
	0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
	0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
	0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56,
	0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04,
	0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: SOFTWARE "test vector", XOR-MAPPED-ADDRESS
 * 192.0.2.1:32853 */
static const uint8_t response[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08,
	0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

static const char password[] = "VOkJxbRl1RmTxUk/WvJxBt";


static int answer(const uint8_t *buf, size_t len,
		  const struct sbc_ice_lite *ice, struct mbuf *out,
		  struct sbc_ice_check *check)
{
	struct sa src;

	assert_int_equal(sa_set_str(&src, "192.0.2.1", 32853), 0);
	mbuf_reset(out);

	return sbc_ice_lite_answer(out, buf, len, &src, ice, check);
}


static void test_vector(void **state)
{
	const struct sbc_ice_lite ice = {"evtj", password, "h6vY",
					 "test vector"};
	struct sbc_ice_check check;
	struct mbuf *out = mbuf_alloc(256);

	(void)state;
	assert_non_null(out);

	assert_int_equal(answer(request, sizeof(request), &ice, out, &check),
			 0);
	assert_int_equal(out->end, sizeof(response));
	assert_memory_equal(out->buf, response, sizeof(response));
	assert_false(check.use_candidate);
	assert_int_equal(check.priority, 0x6e0001ff);

	mem_deref(out);
}


static void test_without_software(void **state)
{
	const struct sbc_ice_lite ice = {"evtj", password, NULL, NULL};
	struct sbc_ice_check check;
	struct stun_msg *msg = NULL;
	struct mbuf *out = mbuf_alloc(256);
	const struct stun_attr *a;

	(void)state;
	assert_non_null(out);

	/* the browser's ufrag unknown yet: any is taken */
	assert_int_equal(answer(request, sizeof(request), &ice, out, &check),
			 0);

	out->pos = 0;
	assert_int_equal(stun_msg_decode(&msg, out, NULL), 0);
	assert_int_equal(stun_msg_class(msg), STUN_CLASS_SUCCESS_RESP);
	assert_memory_equal(stun_msg_tid(msg), request + 8, 12);
	assert_null(stun_msg_attr(msg, STUN_ATTR_SOFTWARE));
	a = stun_msg_attr(msg, STUN_ATTR_XOR_MAPPED_ADDR);
	assert_non_null(a);
	assert_int_equal(sa_port(&a->v.xor_mapped_addr), 32853);
	assert_int_equal(stun_msg_chk_mi(msg, (const uint8_t *)password,
					 strlen(password)), 0);
	assert_int_equal(stun_msg_chk_fingerprint(msg), 0);

	mem_deref(msg);
	mem_deref(out);
}


static void test_refused(void **state)
{
	const struct sbc_ice_lite good = {"evtj", password, "h6vY", NULL};
	const struct sbc_ice_lite bad_pwd = {"evtj", "VOkJxbRl1RmTxUk/WvJxBu",
					     "h6vY", NULL};
	const struct sbc_ice_lite bad_ufrag = {"evtJ", password, NULL, NULL};
	const struct sbc_ice_lite bad_remote = {"evtj", password, "h6vX",
						NULL};
	struct sbc_ice_check check;
	struct mbuf *out = mbuf_alloc(256);
	uint8_t copy[sizeof(request)];

	(void)state;
	assert_non_null(out);

	assert_int_equal(answer(request, sizeof(request), &bad_pwd, out,
				&check), EACCES);
	assert_int_equal(answer(request, sizeof(request), &bad_ufrag, out,
				&check), EACCES);
	assert_int_equal(answer(request, sizeof(request), &bad_remote, out,
				&check), EACCES);
	assert_int_equal(out->end, 0);

	/* any byte changed: refused, whatever the change breaks */
	for (size_t i = 0; i < sizeof(request); i++) {
		memcpy(copy, request, sizeof(copy));
		copy[i] ^= 0x01;
		assert_int_not_equal(answer(copy, sizeof(copy), &good, out,
					    &check), 0);
	}

	/* cut short anywhere */
	for (size_t n = 0; n < sizeof(request); n++)
		assert_int_not_equal(answer(request, n, &good, out, &check),
				     0);

	/* a response is no check */
	assert_int_equal(answer(response, sizeof(response), &good, out,
				&check), EBADMSG);

	mem_deref(out);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_vector, unit_teardown),
		cmocka_unit_test_teardown(test_without_software, unit_teardown),
		cmocka_unit_test_teardown(test_refused, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
