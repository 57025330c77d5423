/*
 * The relay's once-a-second round over its sessions:
 *
 * - media timeout (rtp.timeout > 0): a session that relayed nothing for
 *   that long, while neither party holds the call, is reported to the
 *   Call-ID's owner worker, which ends the call on both legs. The report
 *   is repeated every timeout while the session lasts (an early call that
 *   the worker does not end yet, a report lost to a full channel).
 * - once a minute, the datagrams the data path dropped, if any.
 * - lost deletes: a session older than REAP_AGE_MS whose Call-ID has no
 *   dialog left in the shared table was missed by its DELETE (a worker
 *   killed between ending the call and telling the relay, a new call
 *   refused before its dialog was made): deleted. The dialog table
 *   lookups are bounded, REAP_PER_ROUND per round, from where the last
 *   round stopped, so a large table costs the same every second.
 */

#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/dlg.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"

enum {
	SWEEP_MS       = 1000,
	DROPS_ROUNDS   = 60,      /* the data path's drops, once a minute */
	REAP_AGE_MS    = 10000,   /* far longer than from a new call's offer
				   * to its dialog in the table */
	REAP_PER_ROUND = 1024,
};


/* When the session relayed its last packet: its sides' last ones, or its
 * start before any. */
static uint64_t last_media(const struct rsession *s)
{
	uint64_t last = s->created;

	for (unsigned i = 0; i < SBC_MEDIA_LEGS; i++)
		last = max(last, atomic_load_explicit(&s->rec->leg[i].last_in,
						      memory_order_relaxed));

	return last;
}


static void timeout_check(struct sbc_relay *r, struct rsession *s)
{
	const uint64_t limit = r->cfg->rtp.timeout * 1000ull;

	if (!limit || s->held[SBC_SIDE_ACCESS] || s->held[SBC_SIDE_CORE])
		return;

	if (r->now < last_media(s) + limit)
		return;

	if (s->timeout_told && r->now < s->timeout_told + limit)
		return;

	s->timeout_told = r->now;
	sbc_relay_tell_timeout(r, s);
}


static bool call_gone(struct sbc_relay *r, const struct rsession *s)
{
	struct pl callid;
	struct sbc_dlg dlg;
	size_t n = 0;

	pl_set_str(&callid, s->call_id);

	if (sbc_dlg_lookup_callid(r->shm, &callid, r->now, &dlg, 1, &n))
		return false;

	return n == 0 || dlg.state == SBC_DLG_ENDED;
}


static void reap_round(struct sbc_relay *r)
{
	const uint32_t slots = sbc_media_per_relay(r->media);

	uint32_t lookups = 0;

	for (uint32_t n = 0; n < slots && lookups < REAP_PER_ROUND; n++) {
		struct rsession *s = r->by_slot[r->reap_cursor];

		r->reap_cursor = (r->reap_cursor + 1) % slots;

		if (!s || r->now < s->created + REAP_AGE_MS)
			continue;

		++lookups;
		if (call_gone(r, s)) {
			sbc_notice("media session without a call: reaped (%s)",
				   s->call_id);
			sbc_rsession_delete(s, "its call is gone");
		}
	}
}


/* Datagrams the data path lost (overload, oversized ones), when any. */
static void drops_tell(struct sbc_relay *r)
{
	const uint64_t drops = sbc_rtp_io_drops(r->io);

	if (drops > r->drops_told)
		sbc_notice("data path: %llu drops in the last minute (a "
			   "full buffer pool or socket: overload; or "
			   "datagrams longer than %u bytes)",
			   (unsigned long long)(drops - r->drops_told),
			   SBC_RTP_PKT_SIZE);

	r->drops_told = drops;
}


static void sweep_handler(void *arg)
{
	struct sbc_relay *r = arg;
	const uint32_t slots = sbc_media_per_relay(r->media);

	const uint64_t mono = sbc_rtp_now_ns() / 1000000;

	r->now = sbc_now_ms();
	r->mono_to_wall = r->now - mono;

	for (uint32_t i = 0; i < slots; i++) {
		struct rsession *s = r->by_slot[i];

		if (!s)
			continue;

		if (r->cfg->rtp.timeout)
			timeout_check(r, s);

		for (unsigned side = 0; side < SBC_SIDE_COUNT; side++) {
			if (s->webrtc[side])
				sbc_rwebrtc_sweep(s->webrtc[side], mono);
		}
	}

	reap_round(r);

	if (++r->rounds % DROPS_ROUNDS == 0)
		drops_tell(r);

	tmr_start(&r->sweep, SWEEP_MS, sweep_handler, r);
}


void sbc_relay_sweep_start(struct sbc_relay *r)
{
	sweep_handler(r);
}
