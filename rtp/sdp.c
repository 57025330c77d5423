/*
 * Reading an SDP (see sdp.h): the few things the relay needs, checked.
 *
 * The text is walked once, line by line (CRLF or bare LF). The first
 * three lines must be v=0, o= and s= (RFC 4566 section 5); after them the
 * parser keeps the session-level c= and direction, then fills one stream
 * per m-line. A stream is settled when the next m-line or the end of the
 * text arrives, because only then is it known whether it had a c= of its
 * own (else the session's applies) and an a=rtcp (else RTCP goes to the
 * RTP port + 1). Other lines are only checked for shape: a known type
 * letter, '=', no NUL, no stray CR, at most SBC_SDP_LINE_MAX bytes. Past
 * the first three, the order of the session lines is not enforced (a
 * missing t= is let through), and empty lines are skipped.
 *
 * Where RFC 4566 allows more than a unicast relay can serve, the parser
 * refuses with EBADMSG rather than guess: a multicast c= (with or without
 * its "/ttl" suffix), a host name in c=, an m= port with a count
 * ("49170/2": the relay would carry the first port only), two c= at one
 * level, a=rtcp at session level or twice in an m-section, and an m= port
 * of 65535 with no a=rtcp (no port above it for RTCP). Seventeen m-lines
 * or more are E2BIG. On any error *sdp is left zeroed.
 *
 * The line, c=, o=, m= and a= readers are shared with sdp_print.c
 * (sdp_line.h), so the rewriter reads each line exactly as parsed here.
 */

#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"

/* The type letters of RFC 4566 section 5; any other is malformed. */
static const char line_types[] = "vosiuepcbtrzkam";

/* What is being read: the session part, then one m-section at a time. */
struct parser {
	struct sbc_sdp *sdp;
	struct sbc_sdp_stream *st;    /* the m-section being read, or NULL */
	struct sa sess_addr;          /* session-level c= */
	bool sess_c;
	bool sess_null;
	enum sbc_sdp_dir sess_dir;
	struct sa addr;               /* the m-section's own c= */
	bool has_c;
	bool null;
	uint16_t rtcp_port;           /* its a=rtcp port; 0: none */
	struct sa rtcp;               /* its a=rtcp address; unset: none */
	bool rtcp_null;
};


const char *sbc_sdp_dir_name(enum sbc_sdp_dir dir)
{
	switch (dir) {

	case SBC_SDP_SENDRECV: return "sendrecv";
	case SBC_SDP_SENDONLY: return "sendonly";
	case SBC_SDP_RECVONLY: return "recvonly";
	case SBC_SDP_INACTIVE: return "inactive";
	default:               return "?";
	}
}


static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}


static void trim_end(struct pl *pl)
{
	while (pl->l && is_wsp(pl->p[pl->l - 1]))
		--pl->l;
}


/* Take a non-empty token ending at one space (or at the end) off rest. */
static int token_next(struct pl *rest, struct pl *tok)
{
	const char *sp = pl_strchr(rest, ' ');

	tok->p = rest->p;
	tok->l = sp ? (size_t)(sp - rest->p) : rest->l;
	if (!tok->l)
		return EBADMSG;

	pl_advance(rest, sp ? tok->l + 1 : tok->l);

	return 0;
}


/* Cut the next line off rest, without its LF or CRLF. */
static void line_cut(struct pl *rest, struct pl *raw)
{
	const char *lf = memchr(rest->p, '\n', rest->l);

	raw->p = rest->p;
	raw->l = lf ? (size_t)(lf - rest->p) : rest->l;
	pl_advance(rest, lf ? raw->l + 1 : raw->l);

	if (raw->l && raw->p[raw->l - 1] == '\r')
		--raw->l;
}


int sbc_sdp_line_next(struct pl *rest, struct sbc_sdp_line *line)
{
	struct pl raw;

	do {
		if (!rest->l)
			return ENOENT;
		line_cut(rest, &raw);
	} while (!raw.l);

	if (raw.l > SBC_SDP_LINE_MAX)
		return EBADMSG;

	if (memchr(raw.p, '\0', raw.l) || memchr(raw.p, '\r', raw.l))
		return EBADMSG;

	if (raw.l < 2 || raw.p[1] != '=' || !strchr(line_types, raw.p[0]))
		return EBADMSG;

	line->type = raw.p[0];
	line->val.p = raw.p + 2;
	line->val.l = raw.l - 2;

	return 0;
}


/* "IN" then "IP4" or "IP6": the address family, or 0 if neither. */
static int addr_family(const struct pl *net, const struct pl *type)
{
	if (pl_strcmp(net, "IN"))
		return 0;
	if (!pl_strcmp(type, "IP4"))
		return AF_INET;
	if (!pl_strcmp(type, "IP6"))
		return AF_INET6;

	return 0;
}


int sbc_sdp_origin_split(const struct pl *val, struct pl *head)
{
	struct pl rest = *val, tok, net, type;
	int i;

	trim_end(&rest);

	for (i = 0; i < 3; i++) {
		if (token_next(&rest, &tok))
			return EBADMSG;
	}

	head->p = val->p;
	head->l = (size_t)(tok.p + tok.l - val->p);

	if (token_next(&rest, &net) || token_next(&rest, &type))
		return EBADMSG;

	if (!addr_family(&net, &type) || token_next(&rest, &tok) || rest.l)
		return EBADMSG;

	return 0;
}


static bool is_multicast(const struct sa *sa)
{
	if (sa_af(sa) == AF_INET)
		return (ntohl(sa->u.in.sin_addr.s_addr) >> 28) == 0xe;

	return IN6_IS_ADDR_MULTICAST(&sa->u.in6.sin6_addr);
}


int sbc_sdp_conn_decode(const struct pl *val, struct sa *sa, bool *nullp)
{
	char buf[INET6_ADDRSTRLEN];
	struct pl rest = *val, net, type, addr;
	int af;

	trim_end(&rest);

	if (token_next(&rest, &net) || token_next(&rest, &type) ||
	    token_next(&rest, &addr) || rest.l)
		return EBADMSG;

	af = addr_family(&net, &type);
	if (!af || addr.l >= sizeof(buf))
		return EBADMSG;

	(void)pl_strcpy(&addr, buf, sizeof(buf));
	if (sa_set_str(sa, buf, 0) || sa_af(sa) != af || is_multicast(sa))
		return EBADMSG;

	*nullp = sa_is_any(sa);

	return 0;
}


int sbc_sdp_media_split(const struct pl *val, struct pl *media,
			struct pl *port, struct pl *proto, struct pl *fmts)
{
	struct pl rest = *val;

	if (token_next(&rest, media) || token_next(&rest, port) ||
	    token_next(&rest, proto))
		return EBADMSG;

	trim_end(&rest);
	if (!rest.l)
		return EBADMSG;

	*fmts = rest;

	return 0;
}


void sbc_sdp_attr_split(const struct pl *val, struct pl *name,
			struct pl *value)
{
	const char *colon = pl_strchr(val, ':');

	*name = *val;
	value->p = val->p + val->l;
	value->l = 0;

	if (!colon) {
		trim_end(name);
		return;
	}

	name->l = (size_t)(colon - val->p);
	value->p = colon + 1;
	value->l = val->l - name->l - 1;
}


bool sbc_sdp_attr_is_ice(const struct pl *name)
{
	static const char *const ice[] = {
		"candidate", "ice-ufrag", "ice-pwd", "ice-options",
		"ice-lite", "remote-candidates", "end-of-candidates",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ice); i++) {
		if (!pl_strcmp(name, ice[i]))
			return true;
	}

	return false;
}


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


/* Settle the m-section being read, if any: its addresses. */
static int stream_end(struct parser *ps)
{
	struct sbc_sdp_stream *st = ps->st;
	const struct sa *c = ps->has_c ? &ps->addr : &ps->sess_addr;

	if (!st)
		return 0;

	if (!ps->has_c && !ps->sess_c)
		return EBADMSG;

	st->null_addr = ps->has_c ? ps->null : ps->sess_null;
	if (st->null_addr)
		return 0;               /* on hold: addr and rtcp unset */

	st->addr = *c;
	sa_set_port(&st->addr, st->port);

	return stream_rtcp(ps, c);
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

	trim_end(&rest);
	if (token_next(&rest, &port) ||
	    port_decode(&port, false, &ps->rtcp_port))
		return EBADMSG;

	if (!rest.l)
		return 0;

	return sbc_sdp_conn_decode(&rest, &ps->rtcp, &ps->rtcp_null);
}


/* Is name a direction attribute? Its direction in *dirp if so. */
static bool dir_decode(const struct pl *name, enum sbc_sdp_dir *dirp)
{
	enum sbc_sdp_dir dir;

	for (dir = SBC_SDP_SENDRECV; dir <= SBC_SDP_INACTIVE; dir++) {
		if (!pl_strcmp(name, sbc_sdp_dir_name(dir))) {
			*dirp = dir;
			return true;
		}
	}

	return false;
}


static int attr_line(struct parser *ps, const struct pl *val)
{
	struct pl name, value;
	enum sbc_sdp_dir dir;

	sbc_sdp_attr_split(val, &name, &value);

	if (dir_decode(&name, &dir)) {
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

	return 0;
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

	if (err)
		memset(sdp, 0, sizeof(*sdp));

	return err;
}
