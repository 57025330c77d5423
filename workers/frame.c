/*
 * Cutting SIP messages out of a byte stream (see frame.h).
 *
 * Everything here reads bytes a peer chose, so every length is checked
 * against the buffer and against the largest message allowed: the header
 * part must end within max bytes, and the headers plus the announced body
 * must fit in max too, so the caller never needs more than max bytes of
 * buffer for one message. A Content-Length that is not a plain decimal
 * number, or two of them that disagree, make the stream unreadable: there
 * is no telling where the next message starts, so the stream is closed.
 */

#include <string.h>
#include <re.h>
#include "workers/frame.h"

static const char hdr_end[] = "\r\n\r\n";


void sbc_frame_reset(struct sbc_frame *fr)
{
	if (!fr)
		return;

	fr->scanned = 0;
	fr->total = 0;
}


static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}


/* Is the header name p[0..n) Content-Length, long or compact form? */
static bool is_clen_name(const uint8_t *p, size_t n)
{
	struct pl name;

	while (n && is_wsp(p[n - 1]))
		--n;

	name.p = (const char *)p;
	name.l = n;

	return !pl_strcasecmp(&name, "Content-Length") ||
	       !pl_strcasecmp(&name, "l");
}


/*
 * Parse a Content-Length value: white space (folding included), decimal
 * digits, white space. A value over max is EMSGSIZE, whatever its number
 * of digits; anything else than digits is EBADMSG.
 */
static int clen_value(const uint8_t *p, size_t n, size_t max, size_t *valp)
{
	size_t i = 0, v = 0, digits = 0;

	while (i < n && (is_wsp(p[i]) || p[i] == '\r' || p[i] == '\n'))
		++i;

	/* saturates past max: any number of digits is read without overflow */
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
		if (v > max || v > (SIZE_MAX - 9) / 10)
			v = SIZE_MAX;
		else
			v = v * 10 + (size_t)(p[i] - '0');
	}

	while (i < n && (is_wsp(p[i]) || p[i] == '\r' || p[i] == '\n'))
		++i;

	if (!digits || i != n)
		return EBADMSG;

	if (v > max)
		return EMSGSIZE;

	*valp = v;
	return 0;
}


/* One header (with its folded continuation lines) p[0..n): if it is a
 * Content-Length, merge its value into *clenp (SIZE_MAX: none yet). */
static int clen_header(const uint8_t *p, size_t n, size_t max, size_t *clenp)
{
	const uint8_t *colon = memchr(p, ':', n);
	size_t off, v;
	int err;

	if (!colon || !is_clen_name(p, (size_t)(colon - p)))
		return 0;

	off = (size_t)(colon - p) + 1;
	err = clen_value(p + off, n - off, max, &v);
	if (err)
		return err;

	if (*clenp != SIZE_MAX && *clenp != v)
		return EBADMSG;

	*clenp = v;
	return 0;
}


/*
 * Content-Length of the header part hdr[0..len), len ending just before
 * the empty line. The start line is skipped; a header continues on the
 * lines that start with white space. 0 when there is none.
 */
static int content_length(const uint8_t *hdr, size_t len, size_t max,
			  size_t *clenp)
{
	const uint8_t *end = hdr + len;
	const uint8_t *line = memchr(hdr, '\n', len);
	size_t clen = SIZE_MAX;
	int err;

	if (!line) {
		*clenp = 0;
		return 0;
	}

	++line;
	while (line < end) {
		const uint8_t *next = line, *nl;

		/* the header ends where a line does not start with WSP */
		do {
			nl = memchr(next, '\n', (size_t)(end - next));
			next = nl ? nl + 1 : end;
		} while (next < end && is_wsp(*next));

		err = clen_header(line, (size_t)(next - line), max, &clen);
		if (err)
			return err;

		line = next;
	}

	*clenp = clen == SIZE_MAX ? 0 : clen;
	return 0;
}


/* CRLFs before a message: SKIP one, PING for two, MORE while unsure. */
static bool leading_crlf(const uint8_t *buf, size_t len,
			 struct sbc_frame_cut *cut)
{
	if (buf[0] != '\r')
		return false;

	if (len < 2) {
		cut->kind = SBC_FRAME_MORE;
		return true;
	}

	if (buf[1] != '\n')
		return false;

	/* CRLF, maybe the start of a CRLFCRLF ping */
	if (len < 4 && !memcmp(buf + 2, hdr_end + 2, len - 2)) {
		cut->kind = SBC_FRAME_MORE;
		return true;
	}

	if (len >= 4 && !memcmp(buf, hdr_end, 4)) {
		cut->kind = SBC_FRAME_PING;
		cut->len = 4;
	}
	else {
		cut->kind = SBC_FRAME_SKIP;
		cut->len = 2;
	}

	return true;
}


/* Find the end of the header part within max bytes, resuming the search
 * where the last call stopped. Sets fr->total once found. */
static int find_headers(struct sbc_frame *fr, const uint8_t *buf, size_t len,
			size_t max)
{
	size_t lim = len < max ? len : max;
	const uint8_t *end;
	size_t hlen, clen;
	int err;

	if (fr->scanned >= lim)
		goto more;

	end = memmem(buf + fr->scanned, lim - fr->scanned, hdr_end, 4);
	if (!end) {
		fr->scanned = lim > 3 ? lim - 3 : 0;
		goto more;
	}

	hlen = (size_t)(end - buf) + 4;
	err = content_length(buf, hlen - 4, max, &clen);
	if (err)
		return err;

	if (clen > max - hlen)
		return EMSGSIZE;

	fr->total = hlen + clen;
	return 0;

 more:
	return len >= max ? EMSGSIZE : 0;
}


/*
 * What the front of buf[0..len) holds. Returns 0 and sets *cut, or
 * EMSGSIZE (a message larger than max: announced, or no header end within
 * max bytes) or EBADMSG (a Content-Length that cannot be trusted); after an
 * error the stream cannot be read on and must be closed. After a cut other
 * than MORE the caller drops cut->len bytes before the next call.
 */
int sbc_frame_next(struct sbc_frame *fr, const uint8_t *buf, size_t len,
		   size_t max, struct sbc_frame_cut *cut)
{
	int err;

	if (!fr || (!buf && len) || !cut || max < 4)
		return EINVAL;

	cut->kind = SBC_FRAME_MORE;
	cut->len = 0;

	if (!len)
		return 0;

	if (!fr->total && !fr->scanned && leading_crlf(buf, len, cut))
		return 0;

	if (!fr->total) {
		err = find_headers(fr, buf, len, max);
		if (err || !fr->total)
			return err;
	}

	if (len < fr->total)
		return 0;

	cut->kind = SBC_FRAME_MSG;
	cut->len = fr->total;
	sbc_frame_reset(fr);

	return 0;
}
