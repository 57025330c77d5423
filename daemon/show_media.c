/*
 * sbcctl media (see show.h): every media session of every relay, from
 * the session records the relays keep in shared memory (shm/media.h).
 *
 * Per session its Call-ID, relay, age and streams, and per side (access,
 * core) the relay's address on that side, where that side's media go
 * (latched: where its packets come from; else its SDP's), packets and
 * bytes in (sent by that party) and out (sent to it), and the loss and
 * jitter its RTCP reports. A browser's side says so ("webrtc"), with its
 * DTLS state, whether ICE consent holds, and the SRTP packets dropped for
 * failed authentication or replay (the JSON has them all; the table, the
 * state and the drops). At most ROWS_MAX rows, like dialogs.
 */

#include <string.h>
#include <stdatomic.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/media.h"
#include "daemon/control.h"
#include "daemon/pool.h"
#include "cfg/json.h"
#include "daemon/texttab.h"
#include "daemon/show.h"

enum {
	ROWS_MAX = 10000,
	ADDR_SIZE = 64,
};

static const char *const heads[] = {"call_id", "relay", "age", "streams",
				    "access", "access_media", "access_in",
				    "access_out", "core", "core_media",
				    "core_in", "core_out"};


static void addr_text(char *buf, size_t size, const struct sbc_addr *a)
{
	struct sa sa;

	if (sbc_addr_get(a, &sa) || re_snprintf(buf, size, "%J", &sa) < 0)
		str_ncpy(buf, "-", size);
}


/* " webrtc dtls:connected" and any SRTP drops, after a browser's media
 * address. */
static int webrtc_text(struct re_printf *pf, void *arg)
{
	const struct sbc_media_leg_view *leg = arg;

	if (!leg->webrtc)
		return 0;

	return re_hprintf(pf, " webrtc dtls:%s%s srtp_drops:%u",
			  sbc_media_dtls_name(leg->dtls),
			  leg->consent ? "" : " no-consent",
			  leg->srtp_auth_fail + leg->srtp_replay);
}


static int row_text(struct sbc_texttab *tab, const struct sbc_media_view *v,
		    uint64_t age)
{
	int err = 0;

	err |= sbc_texttab_cell(tab, "%s", v->call_id);
	err |= sbc_texttab_cell(tab, "%u", v->relay);
	err |= sbc_texttab_cell(tab, "%llus", (unsigned long long)age);
	err |= sbc_texttab_cell(tab, "%u", v->streams);

	for (unsigned side = 0; side < SBC_SIDE_COUNT; side++) {
		char local[ADDR_SIZE], remote[ADDR_SIZE];

		addr_text(local, sizeof(local), &v->leg[side].local);
		addr_text(remote, sizeof(remote), &v->leg[side].remote);
		err |= sbc_texttab_cell(tab, "%s", local);
		err |= sbc_texttab_cell(tab, "%s%s%H", remote,
					v->leg[side].latched ? " latched" :
					"", webrtc_text, &v->leg[side]);
		err |= sbc_texttab_cell(tab, "%llu",
				(unsigned long long)v->leg[side].pkts_in);
		err |= sbc_texttab_cell(tab, "%llu",
				(unsigned long long)v->leg[side].pkts_out);
	}

	return err;
}


static int scan(struct sbc_ctl_reply *rep, struct sbc_texttab *tab,
		const struct sbc_media *media, uint32_t *rowsp)
{
	const uint64_t now = sbc_now_ms();
	uint32_t rows = 0, more = 0;
	struct sbc_media_view v;
	int err = 0;

	for (uint32_t r = 0; r < sbc_media_relays(media) && !err; r++) {
		for (uint32_t i = 0; i < sbc_media_per_relay(media) && !err;
		     i++) {
			uint64_t age;

			if (sbc_media_read(media, r, i, &v))
				continue;
			if (rows == ROWS_MAX) {
				++more;
				continue;
			}

			age = now > v.created ? (now - v.created) / 1000 : 0;
			if (tab)
				err = row_text(tab, &v, age);
			else
				err = mbuf_printf(rep->body, "%s{\"call_id\":%H,"
						  "\"relay\":%u,\"age\":%llu,"
						  "\"streams\":%u,\"sides\":%H}",
						  rows ? "," : "", sbc_json_str,
						  v.call_id, r,
						  (unsigned long long)age,
						  v.streams, sbc_media_json, &v);
			++rows;
		}
	}

	if (more)
		(void)re_snprintf(rep->note, sizeof(rep->note),
				  "the first %u of %u sessions are shown",
				  rows, rows + more);
	*rowsp = rows + more;

	return err;
}


void sbc_show_media(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		    bool json)
{
	struct sbc_texttab *tab = NULL;
	uint32_t count = 0;
	int err = 0;

	if (!s->media) {
		rep->failed = true;
		str_ncpy(rep->note, "no RTP relay (rtp.workers = 0)",
			 sizeof(rep->note));
		return;
	}

	if (json)
		err = mbuf_printf(rep->body, "{\"sessions\":[");
	else
		err = sbc_texttab_alloc(&tab, heads, ARRAY_SIZE(heads));
	if (!err)
		err = scan(rep, tab, s->media, &count);

	if (!err && json)
		err = mbuf_printf(rep->body, "],\"count\":%u}\n", count);
	else if (!err)
		err = mbuf_printf(rep->body, "%u media sessions\n%H", count,
				  sbc_texttab_print, tab);

	mem_deref(tab);

	if (err) {
		rep->failed = true;
		str_ncpy(rep->note, "out of memory", sizeof(rep->note));
	}
}
