/*
 * The pieces of SDP text that the parser and the rewriter both read (see
 * sdp_line.h): lines, tokens, and the fields of the o=, c=, m= and a=
 * lines. Nothing here keeps state; each function looks at the bytes it is
 * given, bounds them and answers EBADMSG for what it cannot read, so the
 * parser and the rewriter can never disagree on what a line says.
 */

#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"

/* The type letters of RFC 4566 section 5; any other is malformed. */
static const char line_types[] = "vosiuepcbtrzkam";


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


bool sbc_sdp_dir_decode(const struct pl *name, enum sbc_sdp_dir *dirp)
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


static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}


void sbc_sdp_trim(struct pl *pl)
{
	while (pl->l && is_wsp(pl->p[pl->l - 1]))
		--pl->l;
}


int sbc_sdp_token_next(struct pl *rest, struct pl *tok)
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

	sbc_sdp_trim(&rest);

	for (i = 0; i < 3; i++) {
		if (sbc_sdp_token_next(&rest, &tok))
			return EBADMSG;
	}

	head->p = val->p;
	head->l = (size_t)(tok.p + tok.l - val->p);

	if (sbc_sdp_token_next(&rest, &net) ||
	    sbc_sdp_token_next(&rest, &type))
		return EBADMSG;

	if (!addr_family(&net, &type) || sbc_sdp_token_next(&rest, &tok) ||
	    rest.l)
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

	sbc_sdp_trim(&rest);

	if (sbc_sdp_token_next(&rest, &net) ||
	    sbc_sdp_token_next(&rest, &type) ||
	    sbc_sdp_token_next(&rest, &addr) || rest.l)
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

	if (sbc_sdp_token_next(&rest, media) ||
	    sbc_sdp_token_next(&rest, port) ||
	    sbc_sdp_token_next(&rest, proto))
		return EBADMSG;

	sbc_sdp_trim(&rest);
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
		sbc_sdp_trim(name);
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
