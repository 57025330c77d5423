/*
 * Unit tests of rtp/rtcp.c: what a party's RTCP reports about the media
 * it receives. Sender and receiver reports, a compound packet whose
 * report comes second, the signed cumulative loss, and packets that lie
 * about their length or end too early, which must change nothing.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "tests/unit.h"
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"

enum {
	PT_SR   = 200,
	PT_RR   = 201,
	PT_SDES = 202,
	BUF     = 256,
};


/* What each test works on: a leg's record, a packet buffer. */
struct fixture {
	struct sbc_media_leg leg;
	uint8_t p[BUF];
};


static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	*state = &f;

	return 0;
}


static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}


/* An RTCP header at p: `count` in the first byte, `words` 32-bit words
 * after the header word. Returns the packet's length in bytes. */
static size_t header(uint8_t *p, uint8_t pt, unsigned count, unsigned words)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = pt;
	p[2] = (uint8_t)(words >> 8);
	p[3] = (uint8_t)words;
	put32(p + 4, 0x11223344);         /* the sender's SSRC */

	return 4 + 4 * (size_t)words;
}


/* A report block at p: lost (24 bits, as on the wire) and jitter. */
static void block(uint8_t *p, uint32_t lost, uint32_t jitter)
{
	put32(p, 0x55667788);             /* the source reported on */
	put32(p + 4, 0x10u << 24 | (lost & 0xffffff));
	put32(p + 8, 1000);               /* extended highest sequence */
	put32(p + 12, jitter);
	put32(p + 16, 0);
	put32(p + 20, 0);
}


/* A receiver report with one block. */
static size_t rr(uint8_t *p, uint32_t lost, uint32_t jitter)
{
	size_t len = header(p, PT_RR, 1, 7);

	block(p + 8, lost, jitter);

	return len;
}


static void expect(const struct sbc_media_leg *leg, uint32_t lost,
		   uint32_t jitter, uint32_t reports)
{
	assert_int_equal(atomic_load(&leg->rtcp_lost), lost);
	assert_int_equal(atomic_load(&leg->rtcp_jitter), jitter);
	assert_int_equal(atomic_load(&leg->rtcp_reports), reports);
}


static void test_receiver_report(void **state)
{
	struct fixture *f = *state;
	struct sbc_media_leg *leg = &f->leg;
	uint8_t *p = f->p;
	size_t len;

	len = rr(p, 17, 240);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 17, 240, 1);

	/* the next report replaces the figures, the count goes on */
	len = rr(p, 20, 80);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 20, 80, 2);
}


static void test_sender_report(void **state)
{
	struct fixture *f = *state;
	struct sbc_media_leg *leg = &f->leg;
	uint8_t *p = f->p;
	size_t len;

	/* header, 20 bytes of sender info, one block */
	len = header(p, PT_SR, 1, 12);
	memset(p + 8, 0xaa, 20);
	block(p + 28, 3, 9);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 3, 9, 1);

	/* a sender report without blocks says nothing of loss */
	memset(leg, 0, sizeof(*leg));
	len = header(p, PT_SR, 0, 6);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 0, 0, 0);
}


static void test_compound(void **state)
{
	struct fixture *f = *state;
	struct sbc_media_leg *leg = &f->leg;
	uint8_t *p = f->p;
	size_t len;

	/* an SDES first (skipped by its length), then the report */
	len = header(p, PT_SDES, 1, 3);
	len += rr(p + len, 5, 33);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 5, 33, 1);
}


static void test_negative_loss(void **state)
{
	struct fixture *f = *state;
	struct sbc_media_leg *leg = &f->leg;
	uint8_t *p = f->p;
	size_t len;

	/* duplicates make the cumulative loss negative: none lost */
	len = rr(p, 0xfffffe, 12);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 0, 12, 1);
}


static void test_hostile(void **state)
{
	struct fixture *f = *state;
	struct sbc_media_leg *leg = &f->leg;
	uint8_t *p = f->p;
	size_t len;

	len = rr(p, 17, 240);

	/* cut short anywhere: nothing read past what arrived */
	for (size_t n = 0; n < len; n++)
		sbc_rtcp_read(leg, p, n);
	expect(leg, 0, 0, 0);

	/* a length longer than the packet */
	p[3] = 60;
	sbc_rtcp_read(leg, p, len);
	expect(leg, 0, 0, 0);

	/* a block count the length has no room for */
	len = header(p, PT_RR, 2, 1);
	sbc_rtcp_read(leg, p, len);
	expect(leg, 0, 0, 0);

	/* not version 2 */
	len = rr(p, 17, 240);
	p[0] = 0x41;
	sbc_rtcp_read(leg, p, len);
	expect(leg, 0, 0, 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receiver_report, setup,
						unit_teardown),
		cmocka_unit_test_setup_teardown(test_sender_report, setup,
						unit_teardown),
		cmocka_unit_test_setup_teardown(test_compound, setup,
						unit_teardown),
		cmocka_unit_test_setup_teardown(test_negative_loss, setup,
						unit_teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup,
						unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
