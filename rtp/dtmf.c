/*
 * telephone-event (RFC 4733) between parties that number it differently.
 *
 * Each party's SDP says on which payload type it takes DTMF events, per
 * clock rate (8000 Hz beside G.711 and G.722, 48000 Hz beside Opus).
 * RFC 3264 lets an answer number a format otherwise than the offer, and
 * each party should then send with the number the other one declared;
 * browsers (126 and 110) and softphones (101) often differ, and some
 * senders use their own number anyway. So a stream keeps, per side, the
 * payload types its party declared, and maps a packet from side X whose
 * payload type is X's own telephone-event number, at a rate where the
 * other party declared another number that X's number is not already
 * used for, to the other party's number. A sender that follows RFC 3264
 * already uses the receiver's number and is never touched; audio never
 * is. The marker bit is kept.
 */

#include <string.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"


static bool declared(const struct rformats *f, int pt)
{
	return f->declared[pt / 8] & (1u << (pt % 8));
}


/* The payload types the packets from `side` leave with. */
static void map_build(struct rstream *st, enum sbc_side side)
{
	const struct rformats *from = &st->fmt[side];
	const struct rformats *to = &st->fmt[!side];

	st->pt_mapped[side] = false;
	for (unsigned pt = 0; pt < RTP_PTS; pt++)
		st->pt_map[side][pt] = (uint8_t)pt;

	for (unsigned r = 0; r < SBC_SDP_DTMF_RATES; r++) {
		const int own = from->dtmf[r], want = to->dtmf[r];

		if (own < 0 || want < 0 || own == want || declared(to, own))
			continue;

		st->pt_map[side][own] = (uint8_t)want;
		st->pt_mapped[side] = true;
	}
}


/* What the party on `side` declared for this stream, in its last SDP. */
void sbc_rstream_formats(struct rstream *st, enum sbc_side side,
			 const struct sbc_sdp_stream *ss)
{
	struct rformats *f = &st->fmt[side];
	struct pl fmts = ss->fmts;
	uint32_t pt;

	memset(f->declared, 0, sizeof(f->declared));
	while (ss->is_rtp && sbc_sdp_fmt_next(&fmts, &pt))
		f->declared[pt / 8] |= (uint8_t)(1u << (pt % 8));

	for (unsigned r = 0; r < SBC_SDP_DTMF_RATES; r++)
		f->dtmf[r] = ss->is_rtp ? ss->dtmf[r] : -1;

	map_build(st, SBC_SIDE_ACCESS);
	map_build(st, SBC_SIDE_CORE);
}
