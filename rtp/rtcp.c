/*
 * What a party's RTCP says about the media it receives (RFC 3550 6.4):
 * the first report block of its sender or receiver reports gives the
 * cumulative number of packets lost and the interarrival jitter, kept in
 * its leg's record for CDRs and sbcctl.
 *
 * The packet comes from the network: every length is checked against
 * what arrived, and a compound packet is walked one RTCP packet at a time
 * until it ends or stops making sense. The packet itself is relayed as it
 * is, whatever it holds.
 */

#include <stdatomic.h>
#include <re.h>
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"

enum {
	PT_SR = 200,
	PT_RR = 201,
	HDR_LEN = 8,          /* header and the sender's SSRC */
	SENDER_INFO = 20,
	BLOCK_LEN = 24,
};


static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


static void block_read(struct sbc_media_leg *leg, const uint8_t *b)
{
	uint32_t lost = be32(b + 4) & 0xffffff;

	/* cumulative lost is signed (duplicates make it negative) */
	if (lost & 0x800000)
		lost = 0;

	atomic_store_explicit(&leg->rtcp_lost, lost, memory_order_relaxed);
	atomic_store_explicit(&leg->rtcp_jitter, be32(b + 12),
			      memory_order_relaxed);
	atomic_store_explicit(&leg->rtcp_reports,
			      atomic_load_explicit(&leg->rtcp_reports,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
}


void sbc_rtcp_read(struct sbc_media_leg *leg, const uint8_t *buf, size_t len)
{
	while (len >= HDR_LEN && (buf[0] >> 6) == 2) {
		size_t plen = ((size_t)buf[2] << 8 | buf[3]) * 4 + 4;
		unsigned count = buf[0] & 0x1f;
		size_t off = HDR_LEN;

		if (plen > len)
			return;

		if (buf[1] == PT_SR)
			off += SENDER_INFO;

		if ((buf[1] == PT_SR || buf[1] == PT_RR) && count &&
		    off + BLOCK_LEN <= plen) {
			block_read(leg, buf + off);
			return;
		}

		buf += plen;
		len -= plen;
	}
}
