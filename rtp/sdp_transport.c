/*
 * The WebRTC transport attributes as the parser reads them (see
 * sdp_line.h): a=mid (RFC 5888), a=ice-ufrag and a=ice-pwd (RFC 8839),
 * a=fingerprint (RFC 8122), a=setup (RFC 4145), a=bundle-only and the
 * BUNDLE groups (RFC 8843).
 *
 * The relay keeps these values (its ICE-lite answers checks against the
 * browser's ufrag, its DTLS checks the browser's certificate against the
 * fingerprint) and writes mids back into what the browser gets, so each
 * one is checked against its grammar and bounded here: a value that does
 * not fit is EBADMSG, never stored. The same checks tell whether the
 * credentials the relay gives the rewriter can be written.
 *
 * BUNDLE groups name mids, and the m-sections those mids belong to come
 * after the session-level a=group lines, so the groups are resolved once
 * the whole text is read (sbc_sdp_bundle_resolve).
 */

#include <string.h>
#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"

enum {
	HASH_NAME_MAX = 16,      /* "sha-512" and room for others */
	FP_BYTES_MAX  = 64,      /* sha-512 */
};


const char *sbc_sdp_setup_name(enum sbc_sdp_setup setup)
{
	switch (setup) {

	case SBC_SDP_SETUP_ACTPASS:  return "actpass";
	case SBC_SDP_SETUP_ACTIVE:   return "active";
	case SBC_SDP_SETUP_PASSIVE:  return "passive";
	case SBC_SDP_SETUP_HOLDCONN: return "holdconn";
	default:                     return "?";
	}
}


int sbc_sdp_setup_decode(const struct pl *val, enum sbc_sdp_setup *setup)
{
	enum sbc_sdp_setup s;

	for (s = SBC_SDP_SETUP_ACTPASS; s <= SBC_SDP_SETUP_HOLDCONN; s++) {
		if (!pl_strcmp(val, sbc_sdp_setup_name(s))) {
			*setup = s;
			return 0;
		}
	}

	return EBADMSG;
}


/* ASCII only, whatever the locale says. */
static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}


static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}


/* RFC 4566 token-char: visible ASCII but for "(),/:;<=>?@[\]. */
static bool is_token_char(char c)
{
	return c > ' ' && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]", c);
}


static bool is_token(const struct pl *pl, size_t max)
{
	size_t i;

	if (!pl->l || pl->l > max)
		return false;

	for (i = 0; i < pl->l; i++) {
		if (!is_token_char(pl->p[i]))
			return false;
	}

	return true;
}


bool sbc_sdp_mid_valid(const struct pl *mid)
{
	return is_token(mid, SBC_SDP_MID_SIZE - 1);
}


bool sbc_sdp_ice_valid(const struct pl *s)
{
	size_t i;

	if (!s->l || s->l > SBC_SDP_ICE_MAX)
		return false;

	for (i = 0; i < s->l; i++) {
		const char c = s->p[i];

		if (!is_alnum(c) && c != '+' && c != '/')
			return false;
	}

	return true;
}


bool sbc_sdp_fingerprint_valid(const struct pl *fp)
{
	struct pl rest = *fp, hash;
	size_t i;

	if (sbc_sdp_token_next(&rest, &hash) || !is_token(&hash, HASH_NAME_MAX))
		return false;

	/* "XX" then ":XX" at most FP_BYTES_MAX - 1 times */
	if (rest.l < 2 || rest.l > 3 * FP_BYTES_MAX - 1 || (rest.l + 1) % 3)
		return false;

	for (i = 0; i < rest.l; i++) {
		if (i % 3 == 2 ? rest.p[i] != ':' : !is_hex(rest.p[i]))
			return false;
	}

	return true;
}


/* An ICE credential, once per level. */
static int ice_set(struct pl *dst, const struct pl *v)
{
	if (dst->l || !sbc_sdp_ice_valid(v))
		return EBADMSG;

	*dst = *v;

	return 0;
}


/* The first a=fingerprint of a level is the one kept; all are checked. */
static int fingerprint_set(struct pl *dst, const struct pl *v)
{
	if (!sbc_sdp_fingerprint_valid(v))
		return EBADMSG;

	if (!dst->l)
		*dst = *v;

	return 0;
}


static int mid_set(struct sbc_sdp_stream *st, bool sess, const struct pl *v)
{
	if (sess || st->mid.l || !sbc_sdp_mid_valid(v))
		return EBADMSG;

	st->mid = *v;

	return 0;
}


int sbc_sdp_transport_attr(struct sbc_sdp_stream *st, bool sess,
			   const struct pl *name, const struct pl *value,
			   bool *usedp)
{
	struct pl v = *value;

	sbc_sdp_trim(&v);
	*usedp = true;

	if (!pl_strcmp(name, "mid"))
		return mid_set(st, sess, &v);

	if (!pl_strcmp(name, "ice-ufrag"))
		return ice_set(&st->ice_ufrag, &v);

	if (!pl_strcmp(name, "ice-pwd"))
		return ice_set(&st->ice_pwd, &v);

	if (!pl_strcmp(name, "fingerprint"))
		return fingerprint_set(&st->fingerprint, &v);

	if (!pl_strcmp(name, "setup")) {
		if (st->setup)
			return EBADMSG;
		return sbc_sdp_setup_decode(&v, &st->setup);
	}

	if (!pl_strcmp(name, "bundle-only")) {
		if (sess)
			return EBADMSG;
		st->bundle_only = true;
		return 0;
	}

	*usedp = false;

	return 0;
}


/* The m-line with this mid, or -1. */
static int mid_find(const struct sbc_sdp *sdp, const struct pl *mid)
{
	unsigned i;

	for (i = 0; i < sdp->count; i++) {
		if (sdp->streams[i].mid.l && !pl_cmp(&sdp->streams[i].mid, mid))
			return (int)i;
	}

	return -1;
}


/* One group's mids: the first named carries the others (RFC 8843). */
static int group_resolve(struct sbc_sdp *sdp, const struct pl *group)
{
	struct pl rest = *group, tok;
	int first = -1, i;

	while (rest.l) {
		if (sbc_sdp_token_next(&rest, &tok))
			return EBADMSG;

		i = mid_find(sdp, &tok);
		if (i < 0 || sdp->streams[i].bundle >= 0)
			return EBADMSG;

		if (first < 0)
			first = i;
		sdp->streams[i].bundle = first;
	}

	return 0;
}


int sbc_sdp_bundle_resolve(struct sbc_sdp *sdp, const struct pl *groups,
			   unsigned ngroups)
{
	unsigned i;
	int err;

	for (i = 0; i < sdp->count; i++) {
		const struct sbc_sdp_stream *st = &sdp->streams[i];

		if (st->mid.l && mid_find(sdp, &st->mid) != (int)i)
			return EBADMSG;   /* an earlier m-line has its mid */

		sdp->streams[i].bundle = -1;
	}

	for (i = 0; i < ngroups; i++) {
		err = group_resolve(sdp, &groups[i]);
		if (err)
			return err;
	}

	return 0;
}


/*
 * Is stream i of sdp declined? Port 0 declines a stream, except in a
 * bundle-only m-section (RFC 8843 6): port 0 and a=bundle-only, in a
 * group whose first m-line has a port, is a live stream on that group's
 * transport. Any i past the streams is declined.
 */
bool sbc_sdp_declined(const struct sbc_sdp *sdp, unsigned i)
{
	const struct sbc_sdp_stream *st;

	if (!sdp || i >= sdp->count)
		return true;

	st = &sdp->streams[i];
	if (st->port)
		return false;

	return !st->bundle_only || st->bundle < 0 ||
	       !sdp->streams[st->bundle].port;
}
