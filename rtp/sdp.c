/*
 * Reading an SDP (see sdp.h): the few things the relay needs, checked.
 *
 * The text is walked once, line by line (CRLF or bare LF). The first
 * three lines must be v=0, o= and s= (RFC 4566 section 5); after them the
 * parser keeps the session-level c=, direction and WebRTC transport
 * attributes (a=ice-ufrag, a=ice-pwd, a=fingerprint, a=setup, a=ice-lite,
 * a=group:BUNDLE), then fills one stream per m-line. A stream is settled
 * when the next m-line or the end of the text arrives, because only then
 * is it known whether it had a c= of its own (else the session's
 * applies), an a=rtcp (else RTCP goes to the RTP port + 1) and its own
 * transport attributes (else the session's). The BUNDLE groups name mids
 * of m-lines further down, so they are resolved once the text is read.
 * Other lines are only checked for shape: a known type letter, '=', no
 * NUL, no stray CR, at most SBC_SDP_LINE_MAX bytes. Past the first three,
 * the order of the session lines is not enforced (a missing t= is let
 * through), and empty lines are skipped.
 *
 * Where RFC 4566 allows more than a unicast relay can serve, the parser
 * refuses with EBADMSG rather than guess: a multicast c= (with or without
 * its "/ttl" suffix), a host name in c=, an m= port with a count
 * ("49170/2": the relay would carry the first port only), two c= at one
 * level, a=rtcp at session level or twice in an m-section, and an m= port
 * of 65535 with no a=rtcp (no port above it for RTCP). So are the WebRTC
 * attributes it keeps when malformed (sdp_transport.c), two m-lines with
 * one mid, a BUNDLE group naming a mid no m-line has or one another group
 * names, and more than SBC_SDP_STREAMS_MAX BUNDLE groups. Seventeen
 * m-lines or more are E2BIG. On any error *sdp is left zeroed.
 *
 * A dtls stream's null c= (0.0.0.0, which a browser writes with port 9
 * until it has gathered candidates) is not a hold: ICE, not c=, says
 * where its media goes. Its direction attributes still say what they say.
 *
 * The line, c=, o=, m= and a= readers are shared with sdp_print.c
 * (sdp_line.h), so the rewriter reads each line exactly as parsed here.
 */

#include <string.h>
#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"

/* What is being read: the session part, then one m-section at a time. */
struct parser {
	struct sbc_sdp *sdp;
	struct sbc_sdp_stream *st;    /* the m-section being read, or NULL */
	struct sa sess_addr;          /* session-level c= */
	bool sess_c;
	bool sess_null;
	enum sbc_sdp_dir sess_dir;
	struct sbc_sdp_stream sess;   /* the session's transport attributes */
	struct pl groups[SBC_SDP_STREAMS_MAX];  /* a=group:BUNDLE, the mids */
	unsigned ngroups;
	struct sa addr;               /* the m-section's own c= */
	bool has_c;
	bool null;
	uint16_t rtcp_port;           /* its a=rtcp port; 0: none */
	struct sa rtcp;               /* its a=rtcp address; unset: none */
	bool rtcp_null;
};


/* A decimal port, 1 to 5 digits, at most 65535; 0 only if zero_ok. */
static int port_decode(const struct pl *pl, bool zero_ok, uint16_t *portp)
{
	uint32_t v = 0;
	size_t i;

	if (!pl->l || pl->l > 5)
		return EBADMSG;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EBADMSG;
		v = v * 10 + (uint32_t)(pl->p[i] - '0');
	}

	if (v > UINT16_MAX || (!v && !zero_ok))
		return EBADMSG;

	*portp = (uint16_t)v;

	return 0;
}


/* Where the settled stream's RTCP goes; its address c is not null. */
static int stream_rtcp(struct parser *ps, const struct sa *c)
{
	struct sbc_sdp_stream *st = ps->st;

	if (!st->port)
		return 0;               /* declined: no RTCP */

	if (ps->rtcp_port) {
		if (ps->rtcp_null)
			return 0;
		st->rtcp = sa_isset(&ps->rtcp, SA_ADDR) ? ps->rtcp : *c;
		sa_set_port(&st->rtcp, ps->rtcp_port);
		return 0;
	}

	if (st->port == UINT16_MAX)
		return EBADMSG;

	st->rtcp = *c;
	sa_set_port(&st->rtcp, st->port + 1);

	return 0;
}


/* The session's transport attributes where the stream has none. */
static void stream_inherit(struct parser *ps, struct sbc_sdp_stream *st)
{
	if (!st->ice_ufrag.l)
		st->ice_ufrag = ps->sess.ice_ufrag;
	if (!st->ice_pwd.l)
		st->ice_pwd = ps->sess.ice_pwd;
	if (!st->fingerprint.l)
		st->fingerprint = ps->sess.fingerprint;
	if (!st->setup)
		st->setup = ps->sess.setup;
}


/* Settle the m-section being read, if any: its addresses, and the
 * session's transport attributes where it has none of its own. */
static int stream_end(struct parser *ps)
{
	struct sbc_sdp_stream *st = ps->st;
	const struct sa *c = ps->has_c ? &ps->addr : &ps->sess_addr;

	if (!st)
		return 0;

	if (!ps->has_c && !ps->sess_c)
		return EBADMSG;

	stream_inherit(ps, st);

	st->null_addr = !st->dtls && (ps->has_c ? ps->null : ps->sess_null);
	if (st->null_addr)
		return 0;               /* on hold: addr and rtcp unset */

	st->addr = *c;
	sa_set_port(&st->addr, st->port);

	return stream_rtcp(ps, c);
}


/* Does proto name one of WebRTC's DTLS transports (RFC 5764, 8841)? */
static bool proto_is_dtls(const struct pl *proto)
{
	static const char udp_tls[] = "UDP/TLS/";
	const size_t n = sizeof(udp_tls) - 1;

	if (proto->l >= n && !memcmp(proto->p, udp_tls, n))
		return true;

	return !pl_strcmp(proto, "UDP/DTLS/SCTP") ||
	       !pl_strcmp(proto, "DTLS/SCTP");
}


static bool proto_is_rtp(const struct pl *proto)
{
	return memmem(proto->p, proto->l, "RTP/", 4) != NULL;
}


static int media_begin(struct parser *ps, const struct pl *val)
{
	struct pl media, port, proto, fmts;
	struct sbc_sdp_stream *st;
	int err;

	err = stream_end(ps);
	if (err)
		return err;

	if (ps->sdp->count >= SBC_SDP_STREAMS_MAX)
		return E2BIG;

	if (sbc_sdp_media_split(val, &media, &port, &proto, &fmts))
		return EBADMSG;

	st = &ps->sdp->streams[ps->sdp->count++];
	if (port_decode(&port, true, &st->port))
		return EBADMSG;

	st->media = media;
	st->proto = proto;
	st->fmts = fmts;
	st->dir = ps->sess_dir;
	st->dtls = proto_is_dtls(&proto);
	st->is_rtp = proto_is_rtp(&proto);
	st->bundle = -1;
	for (unsigned r = 0; r < SBC_SDP_DTMF_RATES; r++)
		st->dtmf[r] = -1;

	ps->st = st;
	ps->has_c = false;
	ps->null = false;
	ps->rtcp_port = 0;
	ps->rtcp_null = false;
	sa_init(&ps->addr, AF_UNSPEC);
	sa_init(&ps->rtcp, AF_UNSPEC);

	return 0;
}


static int conn_line(struct parser *ps, const struct pl *val)
{
	if (!ps->st) {
		if (ps->sess_c)
			return EBADMSG;
		ps->sess_c = true;
		return sbc_sdp_conn_decode(val, &ps->sess_addr,
					   &ps->sess_null);
	}

	if (ps->has_c)
		return EBADMSG;
	ps->has_c = true;

	return sbc_sdp_conn_decode(val, &ps->addr, &ps->null);
}


/* a=rtcp:<port> [IN IP4|IP6 <address>] (RFC 3605). */
static int rtcp_attr(struct parser *ps, const struct pl *value)
{
	struct pl rest = *value, port;

	if (!ps->st || ps->rtcp_port)
		return EBADMSG;

	sbc_sdp_trim(&rest);
	if (sbc_sdp_token_next(&rest, &port) ||
	    port_decode(&port, false, &ps->rtcp_port))
		return EBADMSG;

	if (!rest.l)
		return 0;

	return sbc_sdp_conn_decode(&rest, &ps->rtcp, &ps->rtcp_null);
}


/* a=group:<semantics> <mid>... (RFC 5888): BUNDLE's kept, others not. */
static int group_attr(struct parser *ps, const struct pl *value)
{
	struct pl rest = *value, sem;

	if (ps->st)
		return 0;               /* session-level only: not a group */

	sbc_sdp_trim(&rest);
	if (sbc_sdp_token_next(&rest, &sem))
		return EBADMSG;

	if (pl_strcmp(&sem, "BUNDLE"))
		return 0;

	if (ps->ngroups >= ARRAY_SIZE(ps->groups))
		return EBADMSG;

	ps->groups[ps->ngroups++] = rest;

	return 0;
}


/* a=group and a=ice-lite: they mean something at session level only. */
static int sess_attr(struct parser *ps, const struct pl *name,
		     const struct pl *value)
{
	if (!pl_strcmp(name, "group"))
		return group_attr(ps, value);

	if (!ps->st && !pl_strcmp(name, "ice-lite"))
		ps->sdp->ice_lite = true;

	return 0;
}


/* a=rtpmap:<pt> telephone-event/<rate>: its payload type, kept for the
 * relay to map between the parties. Any other rtpmap, or one it cannot
 * read, is the parties' business: it passes as it is. */
static void rtpmap_attr(struct sbc_sdp_stream *st, const struct pl *value)
{
	struct pl pt, enc, rate;
	uint32_t n;

	if (re_regex(value->p, value->l, "[0-9]+[ ]+[^/]+/[0-9]+", &pt, NULL,
		     &enc, &rate) || pt.p != value->p || pt.l > 3 ||
	    pl_strcasecmp(&enc, "telephone-event"))
		return;

	n = pl_u32(&pt);
	if (n > 127)
		return;

	if (!pl_strcmp(&rate, "8000"))
		st->dtmf[SBC_SDP_DTMF_8K] = (int16_t)n;
	else if (!pl_strcmp(&rate, "48000"))
		st->dtmf[SBC_SDP_DTMF_48K] = (int16_t)n;
}


static int attr_line(struct parser *ps, const struct pl *val)
{
	struct pl name, value;
	enum sbc_sdp_dir dir;
	bool used;
	int err;

	sbc_sdp_attr_split(val, &name, &value);

	if (sbc_sdp_dir_decode(&name, &dir)) {
		if (ps->st)
			ps->st->dir = dir;
		else
			ps->sess_dir = dir;
		return 0;
	}

	if (!pl_strcmp(&name, "rtcp"))
		return rtcp_attr(ps, &value);

	if (ps->st && !pl_strcmp(&name, "rtcp-mux"))
		ps->st->rtcp_mux = true;

	if (ps->st && !pl_strcmp(&name, "rtpmap"))
		rtpmap_attr(ps->st, &value);

	err = sbc_sdp_transport_attr(ps->st ? ps->st : &ps->sess, !ps->st,
				     &name, &value, &used);
	if (err || used)
		return err;

	return sess_attr(ps, &name, &value);
}


static int line_parse(struct parser *ps, const struct sbc_sdp_line *line)
{
	switch (line->type) {

	case 'v':
	case 'o':
	case 's':
		return EBADMSG;         /* once each, at the top */

	case 'c':
		return conn_line(ps, &line->val);

	case 'm':
		return media_begin(ps, &line->val);

	case 'a':
		return attr_line(ps, &line->val);

	default:
		return 0;
	}
}


/* The next line, which must be of this type. */
static int line_expect(struct pl *rest, char type, struct sbc_sdp_line *line)
{
	if (sbc_sdp_line_next(rest, line) || line->type != type)
		return EBADMSG;

	return 0;
}


/* v=0, o= and s=, in this order, first. */
static int head_parse(struct pl *rest)
{
	struct sbc_sdp_line line;
	struct pl head;

	if (line_expect(rest, 'v', &line) || pl_strcmp(&line.val, "0"))
		return EBADMSG;

	if (line_expect(rest, 'o', &line) ||
	    sbc_sdp_origin_split(&line.val, &head))
		return EBADMSG;

	return line_expect(rest, 's', &line);
}


int sbc_sdp_parse(struct sbc_sdp *sdp, const struct pl *text)
{
	struct sbc_sdp_line line;
	struct parser ps;
	struct pl rest;
	int err;

	if (!sdp || !text || (!text->p && text->l))
		return EINVAL;

	memset(sdp, 0, sizeof(*sdp));
	if (text->l > SBC_SDP_SIZE_MAX)
		return EBADMSG;

	memset(&ps, 0, sizeof(ps));
	ps.sdp = sdp;
	rest = *text;

	err = head_parse(&rest);
	while (!err) {
		err = sbc_sdp_line_next(&rest, &line);
		if (!err)
			err = line_parse(&ps, &line);
	}

	if (err == ENOENT)
		err = stream_end(&ps);

	if (!err)
		err = sbc_sdp_bundle_resolve(sdp, ps.groups, ps.ngroups);

	if (err)
		memset(sdp, 0, sizeof(*sdp));

	return err;
}


static bool is_payload_type(const struct pl *fmt)
{
	if (!fmt->l || fmt->l > 3)
		return false;

	for (size_t i = 0; i < fmt->l; i++) {
		if (fmt->p[i] < '0' || fmt->p[i] > '9')
			return false;
	}

	return pl_u32(fmt) <= 127;
}


/*
 * Take the next RTP payload type (0..127) off the front of fmts, an
 * m-line's formats; false at the end. Formats that are no payload type
 * (a non-RTP m-line's "webrtc-datachannel", "t38") are skipped.
 */
bool sbc_sdp_fmt_next(struct pl *fmts, uint32_t *ptp)
{
	struct pl fmt;

	while (!re_regex(fmts->p, fmts->l, "[^ ]+", &fmt)) {
		pl_advance(fmts, (size_t)(fmt.p + fmt.l - fmts->p));

		if (is_payload_type(&fmt)) {
			*ptp = pl_u32(&fmt);
			return true;
		}
	}

	return false;
}
