/*
 * Crossing between the profiles (see sdp.h): what the rewriter
 * (sdp_print.c) does to an m-section when its sender and its receiver
 * differ, and the lines it writes for the relay's end of a browser's leg.
 *
 * The relay ends ICE, DTLS and SRTP on a browser's leg, so:
 * - toward a plain party, a browser's RTP stream (PLAIN) loses every
 *   attribute of its transport and of what the plain party would read
 *   as a promise the relay does not keep (feedback, header extensions,
 *   SSRC and stream ids, BUNDLE, keys): see to_plain below. Its other
 *   lines (rtpmap, fmtp, ptime, direction, b=, ...) pass unchanged;
 * - toward a browser, an RTP stream (WEBRTC) loses its sender's transport
 *   attributes (to_webrtc below; a browser's a=ssrc, a=msid, a=rtcp-fb
 *   and a=extmap stay, they describe the media the relay forwards as it
 *   is) and gets the relay's, written at the end of its m-section:
 *     a=mid:<mid>
 *     a=ice-ufrag:<loc->ice_ufrag>
 *     a=ice-pwd:<loc->ice_pwd>
 *     a=fingerprint:<loc->fingerprint>
 *     a=setup:<loc->setup>
 *     a=rtcp-mux
 *     a=candidate:1 1 udp 2130706431 <relay> <port> typ host
 *     a=end-of-candidates
 *   and, at session level before the first m-line, a=ice-lite and, when
 *   loc->bundle, "a=group:BUNDLE" with the mids of the streams not
 *   declined, which then all share the port of the first of them;
 * - what the receiver cannot carry (REFUSE: a browser's data channel
 *   toward a plain party, anything but RTP toward a browser: the relay
 *   does not end SCTP, nor T.38 toward a browser) is declined, port 0,
 *   and keeps only its direction; toward a browser every m-section,
 *   declined or not, gets its a=mid (JSEP matches m-sections by mid).
 * The mid of m-line i is loc->mid[i], else its own a=mid, else "<i>".
 */

#include <string.h>
#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"

/* Removed toward a plain party from a browser's part (besides ICE's). */
static const char *const to_plain[] = {
	"rtcp", "fingerprint", "setup", "ssrc", "ssrc-group", "msid",
	"msid-semantic", "extmap", "extmap-allow-mixed", "rtcp-fb",
	"rtcp-rsize", "rtcp-mux", "rtcp-mux-only", "mid", "group",
	"bundle-only", "tls-id", "identity", "crypto", "sctp-port",
	"sctpmap", "max-message-size",
};

/* Removed toward a browser (besides ICE's): the sender's transport,
 * which the relay's replaces, and its SDES keys, never forwarded. */
static const char *const to_webrtc[] = {
	"rtcp", "fingerprint", "setup", "rtcp-mux", "rtcp-mux-only", "mid",
	"group", "bundle-only", "tls-id", "identity", "crypto",
};


static bool name_in(const struct pl *name, const char *const *list,
		    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!pl_strcmp(name, list[i]))
			return true;
	}

	return false;
}


bool sbc_sdp_attr_dropped(enum sbc_sdp_xlate xl, const struct pl *name)
{
	if (sbc_sdp_attr_is_ice(name))
		return true;

	switch (xl) {

	case SBC_SDP_XL_KEEP:
		return false;

	case SBC_SDP_XL_PLAIN:
		return name_in(name, to_plain, ARRAY_SIZE(to_plain));

	case SBC_SDP_XL_WEBRTC:
		return name_in(name, to_webrtc, ARRAY_SIZE(to_webrtc));

	default:
		return true;
	}
}


enum sbc_sdp_xlate sbc_sdp_xlate(const struct sbc_sdp_printer *pr,
				 unsigned i)
{
	const struct sbc_sdp_stream *st = &pr->sdp->streams[i];

	if (pr->loc->profile == SBC_SDP_WEBRTC)
		return st->is_rtp ? SBC_SDP_XL_WEBRTC : SBC_SDP_XL_REFUSE;

	if (!st->dtls)
		return SBC_SDP_XL_KEEP;

	return st->is_rtp ? SBC_SDP_XL_PLAIN : SBC_SDP_XL_REFUSE;
}


bool sbc_sdp_out_declined(const struct sbc_sdp_printer *pr, unsigned i)
{
	switch (sbc_sdp_xlate(pr, i)) {

	case SBC_SDP_XL_KEEP:   return !pr->sdp->streams[i].port;
	case SBC_SDP_XL_REFUSE: return true;
	default:                return sbc_sdp_declined(pr->sdp, i);
	}
}


/* A string of the relay's, checked as the parser checks a browser's. */
static bool str_valid(const char *s, bool (*valid)(const struct pl *))
{
	struct pl pl;

	if (!s)
		return false;

	pl_set_str(&pl, s);

	return valid(&pl);
}


static int credentials_check(const struct sbc_sdp_local *loc)
{
	if (!str_valid(loc->ice_ufrag, sbc_sdp_ice_valid) ||
	    !str_valid(loc->ice_pwd, sbc_sdp_ice_valid) ||
	    !str_valid(loc->fingerprint, sbc_sdp_fingerprint_valid))
		return EINVAL;

	switch (loc->setup) {

	case SBC_SDP_SETUP_ACTPASS:
	case SBC_SDP_SETUP_ACTIVE:
	case SBC_SDP_SETUP_PASSIVE:
		return 0;

	default:
		return EINVAL;
	}
}


/* The mid of m-line i into pr->mid[i]. */
static int mid_make(struct sbc_sdp_printer *pr, unsigned i)
{
	const char *mine = pr->loc->mid[i];
	const struct pl *own = &pr->sdp->streams[i].mid;
	char *mid = pr->mid[i];

	if (!mine[0] && own->l)
		return pl_strcpy(own, mid, SBC_SDP_MID_SIZE);

	if (!mine[0]) {
		(void)re_snprintf(mid, SBC_SDP_MID_SIZE, "%u", i);
		return 0;
	}

	if (!memchr(mine, '\0', SBC_SDP_MID_SIZE) ||
	    !str_valid(mine, sbc_sdp_mid_valid))
		return EINVAL;

	str_ncpy(mid, mine, SBC_SDP_MID_SIZE);

	return 0;
}


int sbc_sdp_webrtc_begin(struct sbc_sdp_printer *pr)
{
	unsigned i, j;
	int err;

	err = credentials_check(pr->loc);
	if (err)
		return err;

	for (i = 0; i < pr->sdp->count; i++) {
		err = mid_make(pr, i);
		if (err)
			return err;

		for (j = 0; j < i; j++) {
			if (!strcmp(pr->mid[i], pr->mid[j]))
				return EBADMSG;
		}

		if (pr->first < 0 && !sbc_sdp_out_declined(pr, i))
			pr->first = (int)i;
	}

	return 0;
}


/* "a=group:BUNDLE" and the mids of the streams not declined. */
static int group_print(struct sbc_sdp_printer *pr)
{
	char grp[SBC_SDP_STREAMS_MAX * SBC_SDP_MID_SIZE + 1];
	size_t n = 0;
	unsigned i;

	grp[0] = '\0';
	for (i = 0; i < pr->sdp->count; i++) {
		if (sbc_sdp_out_declined(pr, i))
			continue;
		n += (size_t)re_snprintf(grp + n, sizeof(grp) - n, " %s",
					 pr->mid[i]);
	}

	return sbc_sdp_put(pr, "a=group:BUNDLE%s", grp);
}


int sbc_sdp_webrtc_session(struct sbc_sdp_printer *pr)
{
	int err;

	err = sbc_sdp_put(pr, "a=ice-lite");
	if (err || !pr->loc->bundle || pr->first < 0)
		return err;

	return group_print(pr);
}


int sbc_sdp_webrtc_media(struct sbc_sdp_printer *pr, unsigned i)
{
	const struct sbc_sdp_local *loc = pr->loc;
	unsigned port;
	int err;

	err = sbc_sdp_put(pr, "a=mid:%s", pr->mid[i]);
	if (err || sbc_sdp_out_declined(pr, i))
		return err;

	port = loc->rtp[loc->bundle ? (unsigned)pr->first : i];

	err = sbc_sdp_put(pr, "a=ice-ufrag:%s", loc->ice_ufrag);
	if (!err)
		err = sbc_sdp_put(pr, "a=ice-pwd:%s", loc->ice_pwd);
	if (!err)
		err = sbc_sdp_put(pr, "a=fingerprint:%s", loc->fingerprint);
	if (!err)
		err = sbc_sdp_put(pr, "a=setup:%s",
				  sbc_sdp_setup_name(loc->setup));
	if (!err)
		err = sbc_sdp_put(pr, "a=rtcp-mux");
	if (!err)
		err = sbc_sdp_put(pr, "a=candidate:1 1 udp 2130706431 %j %u "
				  "typ host", &loc->addr, port);
	if (!err)
		err = sbc_sdp_put(pr, "a=end-of-candidates");

	return err;
}
