/*
 * Writing the SDP for the other party (see sdp.h).
 *
 * The input is walked again with the parser's own line reader
 * (sdp_line.h), so the rewriter sees the lines the parser saw; the parsed
 * sdp gives the number of streams and which are declined. A few kinds of
 * line are rewritten, every other one is copied byte for byte and ended
 * with CRLF:
 * - o=: the origin's address becomes the relay's, "IN IP4" or "IN IP6"
 *   after the family of loc->addr; user, session id and version are kept;
 * - c=: the relay's address, except a null one (0.0.0.0, ::), kept as it
 *   is so a stream on hold stays on hold, at session level as in a stream;
 * - m=: the port becomes loc->rtp[i]; a declined stream's 0 stays 0;
 * - a=rtcp: "a=rtcp:<loc->rtcp[i]> IN IP4|IP6 <relay>"; in a declined
 *   m-section it is removed (a declined stream has no RTCP);
 * - the ICE attributes, which point around the relay, are removed.
 * Empty lines are dropped. No line is added: the parser refuses an SDP in
 * which an m-line has no c= in force, so a session c= is never missing.
 *
 * The result is bounded as the input was: a line longer than
 * SBC_SDP_LINE_MAX or a whole longer than SBC_SDP_SIZE_MAX (a bare-LF
 * input grows by its CRs, an IPv6 address is longer than the one it
 * replaces) is EOVERFLOW, and mb is then left as it was.
 */

#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"

struct printer {
	struct mbuf *mb;
	const struct sbc_sdp *sdp;
	const struct sbc_sdp_local *loc;
	const char *ip;        /* "IP4" or "IP6", after loc->addr */
	unsigned n;            /* m-lines written */
};


static int copy_line(struct printer *pr, const struct sbc_sdp_line *line)
{
	return mbuf_printf(pr->mb, "%c=%r\r\n", line->type, &line->val);
}


static int origin_print(struct printer *pr, const struct pl *val)
{
	struct pl head;

	if (sbc_sdp_origin_split(val, &head))
		return EBADMSG;

	return mbuf_printf(pr->mb, "o=%r IN %s %j\r\n", &head, pr->ip,
			   &pr->loc->addr);
}


static int conn_print(struct printer *pr, const struct sbc_sdp_line *line)
{
	struct sa sa;
	bool null;

	if (sbc_sdp_conn_decode(&line->val, &sa, &null))
		return EBADMSG;

	if (null)
		return copy_line(pr, line);

	return mbuf_printf(pr->mb, "c=IN %s %j\r\n", pr->ip, &pr->loc->addr);
}


static int media_print(struct printer *pr, const struct pl *val)
{
	struct pl media, port, proto, fmts;
	unsigned i = pr->n++;
	unsigned rtp;

	if (i >= pr->sdp->count)
		return EINVAL;

	if (sbc_sdp_media_split(val, &media, &port, &proto, &fmts))
		return EBADMSG;

	rtp = pr->sdp->streams[i].port ? pr->loc->rtp[i] : 0;

	return mbuf_printf(pr->mb, "m=%r %u %r %r\r\n", &media, rtp, &proto,
			   &fmts);
}


static int attr_print(struct printer *pr, const struct sbc_sdp_line *line)
{
	struct pl name, value;
	unsigned i;

	sbc_sdp_attr_split(&line->val, &name, &value);

	if (sbc_sdp_attr_is_ice(&name))
		return 0;

	if (pl_strcmp(&name, "rtcp"))
		return copy_line(pr, line);

	if (!pr->n)
		return EBADMSG;         /* a=rtcp is media-level only */

	i = pr->n - 1;
	if (!pr->sdp->streams[i].port)
		return 0;

	return mbuf_printf(pr->mb, "a=rtcp:%u IN %s %j\r\n",
			   (unsigned)pr->loc->rtcp[i], pr->ip, &pr->loc->addr);
}


static int line_print(struct printer *pr, const struct sbc_sdp_line *line)
{
	switch (line->type) {

	case 'o': return origin_print(pr, &line->val);
	case 'c': return conn_print(pr, line);
	case 'm': return media_print(pr, &line->val);
	case 'a': return attr_print(pr, line);
	default:  return copy_line(pr, line);
	}
}


/*
 * Write at mb->pos the SDP text, parsed into sdp, as the relay's side loc
 * advertises it. EINVAL if sdp is not the parse of text (another number
 * of m-lines) or loc->addr is unset; EOVERFLOW if the result would pass
 * the bounds. On error mb's pos and end are put back.
 */
int sbc_sdp_print(struct mbuf *mb, const struct pl *text,
		  const struct sbc_sdp *sdp, const struct sbc_sdp_local *loc)
{
	struct sbc_sdp_line line;
	struct printer pr;
	struct pl rest;
	size_t start, end, pos;
	int err;

	if (!mb || !text || !sdp || !loc || (!text->p && text->l))
		return EINVAL;

	if (sdp->count > SBC_SDP_STREAMS_MAX || !sa_isset(&loc->addr, SA_ADDR))
		return EINVAL;

	if (text->l > SBC_SDP_SIZE_MAX)
		return EBADMSG;

	pr.mb = mb;
	pr.sdp = sdp;
	pr.loc = loc;
	pr.ip = sa_af(&loc->addr) == AF_INET6 ? "IP6" : "IP4";
	pr.n = 0;

	start = mb->pos;
	end = mb->end;
	rest = *text;

	while (!(err = sbc_sdp_line_next(&rest, &line))) {
		pos = mb->pos;
		err = line_print(&pr, &line);
		if (err)
			break;
		if (mb->pos - pos > SBC_SDP_LINE_MAX + 2 ||
		    mb->pos - start > SBC_SDP_SIZE_MAX) {
			err = EOVERFLOW;
			break;
		}
	}

	if (err == ENOENT)
		err = pr.n == sdp->count ? 0 : EINVAL;

	if (err) {
		mb->pos = start;
		mb->end = end;
	}

	return err;
}
