/*
 * Writing the SDP for the other party (see sdp.h).
 *
 * The input is walked again with the parser's own line reader
 * (sdp_line.h), so the rewriter sees the lines the parser saw; the parsed
 * sdp gives the number of streams, which are declined and what each one
 * carries. Each m-section, and the session part, is translated for the
 * receiver's profile (sbc_sdp_xlate(), sdp_webrtc.c): plain toward plain
 * is kept as it was (KEEP), a browser's RTP toward a plain party becomes
 * RTP/AVP (PLAIN), any RTP toward a browser becomes UDP/TLS/RTP/SAVPF on
 * the relay's transport (WEBRTC), and what the receiver cannot carry is
 * declined (REFUSE). A few kinds of line are rewritten, every other one
 * is copied byte for byte and ended with CRLF:
 * - o=: the origin's address becomes the relay's, "IN IP4" or "IN IP6"
 *   after the family of loc->addr; user, session id and version are kept;
 * - c=: the relay's address; a null one (0.0.0.0, ::) is kept as it is
 *   only in KEEP, so a plain stream on hold stays on hold, at session
 *   level as in a stream. Elsewhere a null c= is a browser's ICE default,
 *   not a hold, or a plain hold a browser would not understand: in the
 *   latter case the m-section gets a=inactive if neither it nor the
 *   session has a direction attribute;
 * - m=: the port becomes loc->rtp[i], 0 for a declined stream; PLAIN
 *   writes proto RTP/AVP, WEBRTC UDP/TLS/RTP/SAVPF, others keep theirs;
 * - a=rtcp: in KEEP "a=rtcp:<loc->rtcp[i]> IN IP4|IP6 <relay>", removed
 *   from a declined m-section (a declined stream has no RTCP); PLAIN
 *   removes the browser's and writes that line at the end of the section,
 *   WEBRTC removes it (rtcp-mux);
 * - removed: the ICE attributes, which point around the relay, and in
 *   PLAIN and WEBRTC the other attributes of the sender's transport
 *   (sbc_sdp_attr_dropped()); a REFUSE section keeps only its direction;
 * - added toward a browser: the relay's ICE-lite, BUNDLE group and, at
 *   the end of each m-section, its mid and transport (sdp_webrtc.c).
 * Empty lines are dropped. The parser refuses an SDP in which an m-line
 * has no c= in force, so a session c= is never missing.
 *
 * The result is bounded as the input was: a line longer than
 * SBC_SDP_LINE_MAX or a whole longer than SBC_SDP_SIZE_MAX (a bare-LF
 * input grows by its CRs, an IPv6 address is longer than the one it
 * replaces, the relay's attributes add lines) is EOVERFLOW, and mb is
 * then left as it was.
 */

#include <stdarg.h>
#include <string.h>
#include <re.h>
#include "rtp/sdp.h"
#include "rtp/sdp_line.h"


int sbc_sdp_put(struct sbc_sdp_printer *pr, const char *fmt, ...)
{
	const size_t pos = pr->mb->pos;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = mbuf_vprintf(pr->mb, fmt, ap);
	va_end(ap);
	if (!err)
		err = mbuf_write_str(pr->mb, "\r\n");
	if (err)
		return err;

	if (pr->mb->pos - pos > SBC_SDP_LINE_MAX + 2 ||
	    pr->mb->pos - pr->start > SBC_SDP_SIZE_MAX)
		return EOVERFLOW;

	return 0;
}


static int copy_line(struct sbc_sdp_printer *pr,
		     const struct sbc_sdp_line *line)
{
	return sbc_sdp_put(pr, "%c=%r", line->type, &line->val);
}


static int origin_print(struct sbc_sdp_printer *pr, const struct pl *val)
{
	struct pl head;

	if (sbc_sdp_origin_split(val, &head))
		return EBADMSG;

	return sbc_sdp_put(pr, "o=%r IN %s %j", &head, pr->ip, &pr->loc->addr);
}


static int conn_print(struct sbc_sdp_printer *pr,
		      const struct sbc_sdp_line *line)
{
	const bool sec = pr->n > 0;
	struct sa sa;
	bool null;

	if (sbc_sdp_conn_decode(&line->val, &sa, &null))
		return EBADMSG;

	null = null && pr->xl == SBC_SDP_XL_KEEP;
	if (sec) {
		pr->sec_c = true;
		pr->sec_null = null;
	}
	else {
		pr->sess_null = null;
	}

	if (null)
		return copy_line(pr, line);

	return sbc_sdp_put(pr, "c=IN %s %j", pr->ip, &pr->loc->addr);
}


static int media_print(struct sbc_sdp_printer *pr, const struct pl *val)
{
	const struct sbc_sdp_local *loc = pr->loc;
	struct pl media, port, proto, fmts;
	const unsigned i = pr->n;
	unsigned rtp;

	if (i >= pr->sdp->count)
		return EINVAL;

	if (sbc_sdp_media_split(val, &media, &port, &proto, &fmts))
		return EBADMSG;

	pr->n++;
	pr->xl = sbc_sdp_xlate(pr, i);
	pr->sec_dir = false;
	pr->sec_c = false;
	pr->sec_null = false;

	if (sbc_sdp_out_declined(pr, i))
		rtp = 0;
	else if (pr->xl == SBC_SDP_XL_WEBRTC && loc->bundle)
		rtp = loc->rtp[pr->first];
	else
		rtp = loc->rtp[i];

	if (pr->xl == SBC_SDP_XL_PLAIN)
		pl_set_str(&proto, "RTP/AVP");
	else if (pr->xl == SBC_SDP_XL_WEBRTC)
		pl_set_str(&proto, "UDP/TLS/RTP/SAVPF");

	return sbc_sdp_put(pr, "m=%r %u %r %r", &media, rtp, &proto, &fmts);
}


/* a=rtcp in KEEP: the relay's RTCP port, none if declined. */
static int rtcp_print(struct sbc_sdp_printer *pr)
{
	unsigned i;

	if (!pr->n)
		return EBADMSG;         /* a=rtcp is media-level only */

	i = pr->n - 1;
	if (!pr->sdp->streams[i].port)
		return 0;

	return sbc_sdp_put(pr, "a=rtcp:%u IN %s %j",
			   (unsigned)pr->loc->rtcp[i], pr->ip, &pr->loc->addr);
}


static int attr_print(struct sbc_sdp_printer *pr,
		      const struct sbc_sdp_line *line)
{
	struct pl name, value;
	enum sbc_sdp_dir dir;

	sbc_sdp_attr_split(&line->val, &name, &value);

	if (sbc_sdp_dir_decode(&name, &dir)) {
		if (pr->n)
			pr->sec_dir = true;
		else
			pr->sess_dir = true;
		return copy_line(pr, line);
	}

	if (sbc_sdp_attr_dropped(pr->xl, &name))
		return 0;

	if (pr->xl == SBC_SDP_XL_KEEP && !pl_strcmp(&name, "rtcp"))
		return rtcp_print(pr);

	return copy_line(pr, line);
}


static int line_print(struct sbc_sdp_printer *pr,
		      const struct sbc_sdp_line *line)
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
 * Did the written c= take stream i off hold? It was held by a null c=
 * that is not written null, and says no direction of its own: the
 * receiver is told a=inactive instead.
 */
static bool hold_lost(const struct sbc_sdp_printer *pr, unsigned i)
{
	const bool written_null = pr->sec_c ? pr->sec_null : pr->sess_null;

	if (!pr->sdp->streams[i].null_addr || written_null)
		return false;

	return !sbc_sdp_out_declined(pr, i) && !pr->sec_dir && !pr->sess_dir;
}


/* The end of the part being written: the session part, or a section. */
static int part_end(struct sbc_sdp_printer *pr)
{
	const bool webrtc = pr->loc->profile == SBC_SDP_WEBRTC;
	unsigned i;
	int err;

	if (!pr->n)
		return webrtc ? sbc_sdp_webrtc_session(pr) : 0;

	i = pr->n - 1;
	if (hold_lost(pr, i)) {
		err = sbc_sdp_put(pr, "a=inactive");
		if (err)
			return err;
	}

	if (webrtc)
		return sbc_sdp_webrtc_media(pr, i);

	if (pr->xl != SBC_SDP_XL_PLAIN || sbc_sdp_out_declined(pr, i))
		return 0;

	return sbc_sdp_put(pr, "a=rtcp:%u IN %s %j", (unsigned)pr->loc->rtcp[i],
			   pr->ip, &pr->loc->addr);
}


static void printer_init(struct sbc_sdp_printer *pr, struct mbuf *mb,
			 const struct sbc_sdp *sdp,
			 const struct sbc_sdp_local *loc)
{
	unsigned i;

	memset(pr, 0, sizeof(*pr));
	pr->mb = mb;
	pr->sdp = sdp;
	pr->loc = loc;
	pr->ip = sa_af(&loc->addr) == AF_INET6 ? "IP6" : "IP4";
	pr->start = mb->pos;
	pr->first = -1;

	for (i = 0; i < sdp->count; i++)
		pr->any_dtls = pr->any_dtls || sdp->streams[i].dtls;

	if (loc->profile == SBC_SDP_WEBRTC)
		pr->xl = SBC_SDP_XL_WEBRTC;
	else
		pr->xl = pr->any_dtls ? SBC_SDP_XL_PLAIN : SBC_SDP_XL_KEEP;
}


/*
 * Write at mb->pos the SDP text, parsed into sdp, as the relay's side loc
 * advertises it to a party of profile loc->profile. EINVAL if sdp is not
 * the parse of text (another number of m-lines), loc->addr is unset, or,
 * toward WebRTC, loc's credentials, setup or mids are missing or
 * malformed; EBADMSG if two m-lines would get one mid; EOVERFLOW if the
 * result would pass the bounds. On error mb's pos and end are put back.
 */
int sbc_sdp_print(struct mbuf *mb, const struct pl *text,
		  const struct sbc_sdp *sdp, const struct sbc_sdp_local *loc)
{
	struct sbc_sdp_printer pr;
	struct sbc_sdp_line line;
	struct pl rest;
	size_t end;
	int err = 0;

	if (!mb || !text || !sdp || !loc || (!text->p && text->l))
		return EINVAL;

	if (sdp->count > SBC_SDP_STREAMS_MAX || !sa_isset(&loc->addr, SA_ADDR))
		return EINVAL;

	if (loc->profile != SBC_SDP_PLAIN && loc->profile != SBC_SDP_WEBRTC)
		return EINVAL;

	if (text->l > SBC_SDP_SIZE_MAX)
		return EBADMSG;

	printer_init(&pr, mb, sdp, loc);
	end = mb->end;
	rest = *text;

	if (loc->profile == SBC_SDP_WEBRTC)
		err = sbc_sdp_webrtc_begin(&pr);

	while (!err && !(err = sbc_sdp_line_next(&rest, &line))) {
		if (line.type == 'm')
			err = part_end(&pr);
		if (!err)
			err = line_print(&pr, &line);
	}

	if (err == ENOENT)
		err = pr.n == sdp->count ? part_end(&pr) : EINVAL;

	if (err) {
		mb->pos = pr.start;
		mb->end = end;
	}

	return err;
}
