/*
 * Unit tests of rtp/sdp*.c: reading an SDP and rewriting it for the
 * other party, plain toward plain.
 *
 * The corpus (tests/sdp/, found through SBC_SDP_CORPUS) holds SDPs shaped
 * as real products emit them, and hostile ones named bad_*. Each good one
 * from a plain product is parsed, rewritten for an IPv4 and for an IPv6
 * relay address, and the result parsed back and compared with the input
 * field by field: the same streams, only the addresses and ports are the
 * relay's, no ICE attribute is left, and every line the rewriter does not
 * own came through unchanged and in order. A few files are then checked
 * against values written by hand, the hostile files against their errors,
 * and every prefix and many mutations of every good file, a browser's
 * too, rewritten for a plain party and for a browser, must neither crash
 * (see the sanitizer build) nor give a rewrite that does not parse back.
 * What crosses between the profiles is checked in test_sdp_webrtc.c,
 * which also reads the browsers' files (sdp_browser_files).
 */

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "tests/unit.h"
#include "rtp/sdp.h"
#include "tests/sdp_check.h"

enum {
	FILE_MAX = 65536,
	LINES_MAX = 2048,
	MUTATIONS = 400,
};

static const char local4[] = "192.0.2.1";
static const char local6[] = "2001:db8::1";


#define GOOD_COUNT (sdp_plain_count + sdp_browser_count)

static const struct {
	const char *file;
	int err;
} bad_files[] = {
	{"bad_truncated_mline.sdp", EBADMSG},
	{"bad_port_99999.sdp",      EBADMSG},
	{"bad_17_mlines.sdp",       E2BIG},
	{"bad_long_line.sdp",       EBADMSG},
	{"bad_missing_c.sdp",       EBADMSG},
	{"bad_multicast_ttl.sdp",   EBADMSG},
	{"bad_port_count.sdp",      EBADMSG},
	{"bad_fqdn_c.sdp",          EBADMSG},
	{"bad_family_c.sdp",        EBADMSG},
	{"bad_rtcp_port.sdp",       EBADMSG},
	{"bad_order.sdp",           EBADMSG},
};

/* ICE's attributes (RFC 8839, 8840), none of which may be forwarded. */
static const char *const ice_attrs[] = {
	"candidate", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite",
	"remote-candidates", "end-of-candidates",
};

struct lines {
	struct pl v[LINES_MAX];
	unsigned n;
};

static struct lines in_lines, out_lines;


/* Good file i of both lists, the plain products' first. */
static const char *good_file(size_t i)
{
	if (i < sdp_plain_count)
		return sdp_plain_files[i];

	return sdp_browser_files[i - sdp_plain_count];
}


static void local_make(struct sbc_sdp_local *loc, const char *addr)
{
	unsigned i;

	memset(loc, 0, sizeof(*loc));
	assert_int_equal(sa_set_str(&loc->addr, addr, 0), 0);

	/* RTCP ports apart from RTP + 1, to see which one was used */
	for (i = 0; i < SBC_SDP_STREAMS_MAX; i++) {
		loc->rtp[i] = (uint16_t)(20000 + 10 * i);
		loc->rtcp[i] = (uint16_t)(30001 + 10 * i);
	}
}


/* The relay's end of a browser's leg. */
static void local_webrtc(struct sbc_sdp_local *loc, const char *addr)
{
	local_make(loc, addr);
	loc->profile = SBC_SDP_WEBRTC;
	loc->ice_ufrag = "Rly0ufrg";
	loc->ice_pwd = "Rly0pwd0123456789abcdefg";
	loc->fingerprint = "sha-256 3A:7F:00:C1:5E:92:B4:08:D6:1B:E3:4A:"
		"9C:27:F0:85:6D:B2:13:C8:4F:E9:70:2A:95:DB:06:1C:E7:38:A4:5F";
	loc->setup = SBC_SDP_SETUP_ACTPASS;
	loc->bundle = true;
}


static void assert_has(const struct mbuf *mb, const char *s)
{
	if (!memmem(mb->buf, mb->end, s, strlen(s)))
		fail_msg("\"%s\" not in the rewrite", s);
}


/* The non-empty lines of text, without their CRLF or LF. */
static void lines_split(struct lines *ls, const struct pl *text)
{
	const char *p = text->p, *end = text->p + text->l, *lf;
	struct pl line;

	ls->n = 0;
	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		line.p = p;
		line.l = lf ? (size_t)(lf - p) : (size_t)(end - p);
		p += line.l + (lf ? 1 : 0);
		if (line.l && line.p[line.l - 1] == '\r')
			--line.l;
		if (!line.l)
			continue;
		assert_true(ls->n < LINES_MAX);
		ls->v[ls->n++] = line;
	}
}


static bool is_ice(const struct pl *line)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ice_attrs); i++) {
		if (sdp_is_attr(line, ice_attrs[i]))
			return true;
	}

	return false;
}


/* The lines the rewriter owns: o=, c=, m=, a=rtcp and ICE's. */
static bool is_rewritten(const struct pl *line)
{
	return sdp_is_type(line, 'o') || sdp_is_type(line, 'c') ||
	       sdp_is_type(line, 'm') || sdp_is_attr(line, "rtcp") || is_ice(line);
}


/* Every line not rewritten is in the output, unchanged and in order. */
static void check_kept(const struct lines *in, const struct lines *out)
{
	unsigned i = 0, j = 0;

	for (;;) {
		while (i < in->n && is_rewritten(&in->v[i]))
			++i;
		while (j < out->n && is_rewritten(&out->v[j]))
			++j;
		if (i == in->n || j == out->n)
			break;
		if (pl_cmp(&in->v[i], &out->v[j]))
			fail_msg("line \"%.*s\" became \"%.*s\"",
				 (int)in->v[i].l, in->v[i].p,
				 (int)out->v[j].l, out->v[j].p);
		++i;
		++j;
	}

	assert_int_equal(i, in->n);
	assert_int_equal(j, out->n);
}


/* Split a line's value (after "x=") at single spaces. */
static unsigned tokens(const struct pl *line, struct pl *tok, unsigned max)
{
	struct pl rest = {line->p + 2, line->l - 2};
	const char *sp;
	unsigned n = 0;

	while (rest.l && n < max) {
		sp = pl_strchr(&rest, ' ');
		tok[n].p = rest.p;
		tok[n].l = sp ? (size_t)(sp - rest.p) : rest.l;
		pl_advance(&rest, tok[n].l + (sp ? 1 : 0));
		++n;
	}

	return n;
}


/* o=: user, session id and version kept, the relay's address. */
static void check_origin(const struct lines *in, const struct lines *out,
			 const struct sbc_sdp_local *loc)
{
	struct pl a[8], b[8];
	char addr[64];
	int i;

	assert_true(sdp_is_type(&in->v[1], 'o') && sdp_is_type(&out->v[1], 'o'));
	assert_int_equal(tokens(&in->v[1], a, 8), 6);
	assert_int_equal(tokens(&out->v[1], b, 8), 6);

	for (i = 0; i < 3; i++)
		assert_int_equal(pl_cmp(&a[i], &b[i]), 0);

	re_snprintf(addr, sizeof(addr), "%j", &loc->addr);
	sdp_assert_pl(&b[3], "IN");
	sdp_assert_pl(&b[4], sa_af(&loc->addr) == AF_INET ? "IP4" : "IP6");
	sdp_assert_pl(&b[5], addr);
}


static bool is_null_conn(const struct pl *line)
{
	struct pl t[4];

	if (tokens(line, t, 4) != 3)
		return false;

	return !pl_strcmp(&t[2], "0.0.0.0") || !pl_strcmp(&t[2], "::");
}


/* c=: as many as in the input, null ones kept, the others the relay's. */
static void check_conns(const struct lines *in, const struct lines *out,
			const struct sbc_sdp_local *loc)
{
	char mine[80];
	unsigned i, j = 0;

	re_snprintf(mine, sizeof(mine), "c=IN %s %j",
		    sa_af(&loc->addr) == AF_INET ? "IP4" : "IP6", &loc->addr);

	for (i = 0; i < in->n; i++) {
		if (!sdp_is_type(&in->v[i], 'c'))
			continue;
		while (j < out->n && !sdp_is_type(&out->v[j], 'c'))
			++j;
		assert_true(j < out->n);
		if (is_null_conn(&in->v[i]))
			assert_int_equal(pl_cmp(&in->v[i], &out->v[j]), 0);
		else
			sdp_assert_pl(&out->v[j], mine);
		++j;
	}

	while (j < out->n)
		assert_false(sdp_is_type(&out->v[j++], 'c'));
}


/* Which m-sections hold an a=rtcp. */
static void rtcp_lines(const struct lines *ls, bool has[SBC_SDP_STREAMS_MAX])
{
	int m = -1;
	unsigned i;

	memset(has, 0, SBC_SDP_STREAMS_MAX * sizeof(*has));
	for (i = 0; i < ls->n; i++) {
		if (sdp_is_type(&ls->v[i], 'm'))
			++m;
		else if (sdp_is_attr(&ls->v[i], "rtcp") && m >= 0 &&
			 m < SBC_SDP_STREAMS_MAX)
			has[m] = true;
	}
}


static void check_fields(const struct sbc_sdp_stream *in,
			 const struct sbc_sdp_stream *out,
			 const struct sbc_sdp_local *loc, unsigned i)
{
	assert_int_equal(pl_cmp(&in->media, &out->media), 0);
	assert_int_equal(pl_cmp(&in->proto, &out->proto), 0);
	assert_int_equal(pl_cmp(&in->fmts, &out->fmts), 0);
	assert_int_equal(in->dir, out->dir);
	assert_int_equal(in->rtcp_mux, out->rtcp_mux);
	assert_int_equal(in->null_addr, out->null_addr);
	assert_int_equal(out->port, in->port ? loc->rtp[i] : 0);
}


static void check_addrs(const struct sbc_sdp_stream *in,
			const struct sbc_sdp_stream *out,
			const struct sbc_sdp_local *loc, unsigned i,
			bool in_rtcp)
{
	struct sa exp = loc->addr;

	if (in->null_addr) {
		assert_false(sa_isset(&out->addr, SA_ADDR));
		assert_false(sa_isset(&out->rtcp, SA_ADDR));
		return;
	}

	sa_set_port(&exp, out->port);
	assert_true(sa_cmp(&out->addr, &exp, SA_ALL));

	if (!in->port) {
		assert_false(sa_isset(&out->rtcp, SA_ADDR));
		return;
	}

	sa_set_port(&exp, in_rtcp ? loc->rtcp[i] : loc->rtp[i] + 1);
	assert_true(sa_cmp(&out->rtcp, &exp, SA_ALL));
}


static void check_streams(const struct sbc_sdp *in, const struct sbc_sdp *out,
			  const struct sbc_sdp_local *loc)
{
	bool in_rtcp[SBC_SDP_STREAMS_MAX], out_rtcp[SBC_SDP_STREAMS_MAX];
	unsigned i;

	rtcp_lines(&in_lines, in_rtcp);
	rtcp_lines(&out_lines, out_rtcp);

	assert_int_equal(in->count, out->count);
	for (i = 0; i < in->count; i++) {
		check_fields(&in->streams[i], &out->streams[i], loc, i);
		check_addrs(&in->streams[i], &out->streams[i], loc, i,
			    in_rtcp[i]);
		/* a declined stream's a=rtcp is dropped, none is added */
		assert_int_equal(out_rtcp[i],
				 in_rtcp[i] && in->streams[i].port);
	}
}


/* CRLF everywhere, no bare CR or LF, no empty line, no ICE. */
static void check_text(const struct mbuf *mb)
{
	size_t i;

	assert_true(mb->end >= 2);
	assert_memory_equal(mb->buf + mb->end - 2, "\r\n", 2);
	assert_null(memmem(mb->buf, mb->end, "\r\n\r\n", 4));

	for (i = 0; i < mb->end; i++) {
		if (mb->buf[i] == '\n')
			assert_true(i > 0 && mb->buf[i - 1] == '\r');
		if (mb->buf[i] == '\r')
			assert_true(i + 1 < mb->end && mb->buf[i + 1] == '\n');
	}

	for (i = 0; i < out_lines.n; i++)
		assert_false(is_ice(&out_lines.v[i]));
}


/* Rewrite text for the relay at addr; the rewrite in a new mbuf. */
static struct mbuf *rewrite(const struct pl *text, const struct sbc_sdp *in,
			    struct sbc_sdp_local *loc, const char *addr)
{
	struct mbuf *mb = mbuf_alloc(1024);

	assert_non_null(mb);
	local_make(loc, addr);
	assert_int_equal(sbc_sdp_print(mb, text, in, loc), 0);
	assert_int_equal(mb->pos, mb->end);

	return mb;
}


static void roundtrip(const struct pl *text, const char *addr)
{
	struct sbc_sdp in, out;
	struct sbc_sdp_local loc;
	struct mbuf *mb;
	struct pl res;

	assert_int_equal(sbc_sdp_parse(&in, text), 0);
	mb = rewrite(text, &in, &loc, addr);

	res.p = (const char *)mb->buf;
	res.l = mb->end;
	assert_int_equal(sbc_sdp_parse(&out, &res), 0);

	lines_split(&in_lines, text);
	lines_split(&out_lines, &res);

	check_text(mb);
	check_streams(&in, &out, &loc);
	check_kept(&in_lines, &out_lines);
	check_origin(&in_lines, &out_lines, &loc);
	check_conns(&in_lines, &out_lines, &loc);

	mem_deref(mb);
}


static void test_corpus_roundtrip(void **state)
{
	struct pl text;
	char *buf;
	size_t i;

	(void)state;

	for (i = 0; i < sdp_plain_count; i++) {
		print_message("  %s\n", sdp_plain_files[i]);
		buf = sdp_corpus_read(sdp_plain_files[i], &text);
		roundtrip(&text, local4);
		roundtrip(&text, local6);
		free(buf);
	}
}


static void test_corpus_hostile(void **state)
{
	struct sbc_sdp sdp;
	struct pl text;
	char *buf;
	size_t i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad_files); i++) {
		buf = sdp_corpus_read(bad_files[i].file, &text);
		sdp.count = 99;
		if (sbc_sdp_parse(&sdp, &text) != bad_files[i].err)
			fail_msg("%s: not refused with %d", bad_files[i].file,
				 bad_files[i].err);
		assert_int_equal(sdp.count, 0);
		free(buf);
	}
}


static bool is_listed(const char *name)
{
	size_t i;

	for (i = 0; i < GOOD_COUNT; i++) {
		if (!strcmp(name, good_file(i)))
			return true;
	}
	for (i = 0; i < ARRAY_SIZE(bad_files); i++) {
		if (!strcmp(name, bad_files[i].file))
			return true;
	}

	return false;
}


/* No file of the corpus escapes the tests. */
static void test_corpus_listed(void **state)
{
	const char *dir = getenv("SBC_SDP_CORPUS");
	struct dirent *de;
	DIR *d;

	(void)state;

	assert_non_null(dir);
	d = opendir(dir);
	assert_non_null(d);

	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!is_listed(de->d_name))
			fail_msg("%s is in no list", de->d_name);
	}

	closedir(d);
}


/* SDPs written by hand start with this session part. */
#define HDR "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n" \
	"c=IN IP4 192.0.2.10\r\nt=0 0\r\n"


/* Streams of the corpus as read by hand. */
static const struct expect {
	const char *file;
	unsigned count;
	unsigned i;
	const char *media;
	const char *fmts;
	const char *addr;        /* NULL: unset (null address) */
	uint16_t port;
	const char *rtcp;        /* NULL: unset */
	uint16_t rtcp_port;
	enum sbc_sdp_dir dir;
	bool mux;
} expects[] = {
	/* a=rtcp:9 IN IP4 0.0.0.0: RTCP is muxed, there is no other */
	{"chrome_offer.sdp", 2, 0, "audio", "111 63 9 0 8 13 110 126",
	 "203.0.113.77", 54400, NULL, 0, SBC_SDP_SENDRECV, true},
	{"chrome_offer.sdp", 2, 1, "video", "96 97 102 103 104 105 106 107 "
	 "108 109 127 125 39 40 45 46 98 99 100 101 112 113 116 117 118",
	 "203.0.113.77", 54400, NULL, 0, SBC_SDP_SENDRECV, true},
	/* no a=rtcp: port + 1, as sdp.h says, muxed or not */
	{"firefox_offer.sdp", 2, 0, "audio", "109 9 0 8 101",
	 "198.51.100.33", 51830, "198.51.100.33", 51831, 0, true},
	{"firefox_offer.sdp", 2, 1, "video", "120 124 121 125 126 127 97 98",
	 "198.51.100.33", 51830, "198.51.100.33", 51831, 0, true},
	/* a=rtcp:7079 without address: on the c= address */
	{"linphone_ice_offer.sdp", 1, 0, "audio", "96 97 98 0 8 18 101 99 100",
	 "192.168.1.23", 7078, "192.168.1.23", 7079, 0, false},
	{"hold_sendonly.sdp", 1, 0, "audio", "8 0 101", "192.168.1.50",
	 13290, "192.168.1.50", 13291, SBC_SDP_SENDONLY, false},
	{"hold_zero_addr.sdp", 1, 0, "audio", "0 8 18 101", NULL, 29338,
	 NULL, 0, SBC_SDP_SENDRECV, false},
	{"inactive.sdp", 1, 0, "audio", "0 101", "203.0.113.10", 24716,
	 "203.0.113.10", 24717, SBC_SDP_INACTIVE, false},
	/* Polycom states the direction at session level */
	{"polycom_offer.sdp", 1, 0, "audio", "9 102 0 8 18 127",
	 "10.20.30.41", 2222, "10.20.30.41", 2223, SBC_SDP_SENDRECV, false},
	{"video_audio.sdp", 2, 0, "audio", "0 8 9 101", "192.168.2.60", 5004,
	 "192.168.2.60", 5005, 0, false},
	{"video_audio.sdp", 2, 1, "video", "99", "192.168.2.61", 5006,
	 "192.168.2.61", 5007, 0, false},
	{"session_c_only.sdp", 2, 0, "audio", "0 8 101", "172.16.0.9", 6000,
	 "172.16.0.9", 6001, 0, false},
	{"session_c_only.sdp", 2, 1, "video", "96 97", "172.16.0.9", 6002,
	 "172.16.0.9", 6003, SBC_SDP_RECVONLY, false},
	{"rtcp_attr.sdp", 1, 0, "audio", "0 101", "10.47.16.5", 49170,
	 "126.16.64.4", 53020, 0, false},
	{"cisco_offer.sdp", 1, 0, "audio", "18 0 101 19", "10.1.1.1", 16384,
	 "10.1.1.1", 16385, 0, false},
	{"bare_lf.sdp", 1, 0, "audio", "8 0 101", "172.20.1.5", 30000,
	 "172.20.1.5", 30001, 0, false},
	{"declined_video.sdp", 2, 1, "video", "99", "192.168.10.105", 0,
	 NULL, 0, 0, false},
	{"ipv6.sdp", 1, 0, "audio", "9 0 8 101",
	 "2001:db8:85a3::8a2e:370:7334", 40000,
	 "2001:db8:85a3::8a2e:370:7334", 40001, 0, false},
};

/* What the rewrite of a corpus file for a relay address must hold. */
static const struct excerpt {
	const char *file;
	const char *local;
	const char *text;
} excerpts[] = {
	/* a browser's toward a plain party: RTP/AVP, its transport gone
	 * (BUNDLE, extmap-allow-mixed, msid-semantic at session level) */
	{"chrome_offer.sdp", local4,
	 "o=- 4611731400430051336 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
	 "m=audio 20000 RTP/AVP 111 63 9 0 8 13 110 126\r\n"
	 "c=IN IP4 192.0.2.1\r\na=sendrecv\r\n"
	 "a=rtpmap:111 opus/48000/2\r\n"
	 "a=fmtp:111 minptime=10;useinbandfec=1\r\n"},
	{"chrome_offer.sdp", local4,
	 "\r\na=rtpmap:126 telephone-event/8000\r\n"
	 "a=rtcp:30001 IN IP4 192.0.2.1\r\nm=video 20010 RTP/AVP 96 "},
	{"firefox_offer.sdp", local6,
	 "o=mozilla...THIS_IS_SDPARTA-115.3.0 7052848360639826063 0 IN IP6 "
	 "2001:db8::1\r\ns=-\r\nt=0 0\r\n"
	 "m=audio 20000 RTP/AVP 109 9 0 8 101\r\n"
	 "c=IN IP6 2001:db8::1\r\na=sendrecv\r\na=fmtp:109 "},
	{"linphone_ice_offer.sdp", local4,
	 "\r\nt=0 0\r\na=rtcp-xr:rcvr-rtt=all:10000 "},
	{"linphone_ice_offer.sdp", local4,
	 "\r\na=rtpmap:100 telephone-event/8000\r\n"
	 "a=rtcp:30001 IN IP4 192.0.2.1\r\na=rtcp-fb:* trr-int 1000\r\n"},
	/* a null address stays, whatever the relay's family */
	{"hold_zero_addr.sdp", local6,
	 "o=Cisco-SIPUA 17648 12458 IN IP6 2001:db8::1\r\ns=SIP Call\r\n"
	 "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 8 18 101\r\n"},
	{"declined_video.sdp", local4, "\r\nm=video 0 RTP/AVP 99\r\n"},
	{"ipv6.sdp", local4,
	 "o=- 3912 3913 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"},
	{"ipv6.sdp", local4, "\r\na=rtcp:30001 IN IP4 192.0.2.1\r\n"},
	{"ipv6.sdp", local6, "\r\na=rtcp:30001 IN IP6 2001:db8::1\r\n"},
	{"cisco_offer.sdp", local4,
	 "c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 18 0 101 19"
	 "\r\nc=IN IP4 192.0.2.1\r\n"},
};


static void roundtrip_str(const char *s)
{
	struct pl text;

	pl_set_str(&text, s);
	roundtrip(&text, local4);
	roundtrip(&text, local6);
}


static void check_expect(const struct expect *e, const struct sbc_sdp *sdp)
{
	const struct sbc_sdp_stream *st = &sdp->streams[e->i];

	assert_int_equal(sdp->count, e->count);
	sdp_assert_pl(&st->media, e->media);
	sdp_assert_pl(&st->fmts, e->fmts);
	assert_int_equal(st->port, e->port);
	assert_int_equal(st->dir, e->dir);
	assert_int_equal(st->rtcp_mux, e->mux);
	assert_int_equal(st->null_addr, !e->addr);

	if (e->addr)
		sdp_assert_sa(&st->addr, e->addr, e->port);
	else
		assert_false(sa_isset(&st->addr, SA_ADDR));

	if (e->rtcp)
		sdp_assert_sa(&st->rtcp, e->rtcp, e->rtcp_port);
	else
		assert_false(sa_isset(&st->rtcp, SA_ADDR));
}


static void test_values(void **state)
{
	struct sbc_sdp sdp;
	struct pl text;
	char *buf;
	size_t i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(expects); i++) {
		print_message("  %s %u\n", expects[i].file, expects[i].i);
		buf = sdp_corpus_read(expects[i].file, &text);
		assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
		check_expect(&expects[i], &sdp);
		free(buf);
	}
}


static void test_excerpts(void **state)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp sdp;
	struct mbuf *mb;
	struct pl text;
	char *buf;
	size_t i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(excerpts); i++) {
		buf = sdp_corpus_read(excerpts[i].file, &text);
		assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
		mb = rewrite(&text, &sdp, &loc, excerpts[i].local);
		assert_has(mb, excerpts[i].text);
		mem_deref(mb);
		free(buf);
	}
}


/* Addresses of the sender that must not reach the other party. */
static void test_hidden(void **state)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp sdp;
	struct mbuf *mb;
	struct pl text;
	char *buf;

	(void)state;

	buf = sdp_corpus_read("linphone_ice_offer.sdp", &text);
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	mb = rewrite(&text, &sdp, &loc, local4);
	assert_null(memmem(mb->buf, mb->end, "192.168.1.23", 12));
	assert_null(memmem(mb->buf, mb->end, "203.0.113.45", 12));
	mem_deref(mb);
	free(buf);
}


static void test_hold(void **state)
{
	static const char s[] = HDR "m=audio 4000 RTP/AVP 0\r\n"
		"c=IN IP6 ::\r\na=rtcp:4001\r\nm=video 4002 RTP/AVP 31\r\n";
	struct sbc_sdp sdp;

	(void)state;

	/* one stream held by its own null c=, the other not */
	assert_int_equal(sdp_parse_str(s, &sdp), 0);
	assert_true(sdp.streams[0].null_addr);
	assert_false(sa_isset(&sdp.streams[0].addr, SA_ADDR));
	assert_false(sa_isset(&sdp.streams[0].rtcp, SA_ADDR));
	assert_false(sdp.streams[1].null_addr);
	sdp_assert_sa(&sdp.streams[1].addr, "192.0.2.10", 4002);
	roundtrip_str(s);
}


static void test_direction(void **state)
{
	static const char s[] = HDR "a=sendonly\r\n"
		"m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n"
		"m=audio 4002 RTP/AVP 0\r\n"
		"m=audio 4004 RTP/AVP 0\r\na=inactive\r\n"
		"m=audio 4006 RTP/AVP 0\r\na=sendrecv\r\n";
	struct sbc_sdp sdp;

	(void)state;

	/* a media-level direction overrides the session's */
	assert_int_equal(sdp_parse_str(s, &sdp), 0);
	assert_int_equal(sdp.count, 4);
	assert_int_equal(sdp.streams[0].dir, SBC_SDP_RECVONLY);
	assert_int_equal(sdp.streams[1].dir, SBC_SDP_SENDONLY);
	assert_int_equal(sdp.streams[2].dir, SBC_SDP_INACTIVE);
	assert_int_equal(sdp.streams[3].dir, SBC_SDP_SENDRECV);
	roundtrip_str(s);
}


static void test_declined(void **state)
{
	static const char s[] = HDR "m=audio 4000 RTP/AVP 0\r\na=rtcp:4001\r\n"
		"m=video 0 RTP/AVP 31\r\na=rtcp:4003\r\na=sendrecv\r\n";
	struct sbc_sdp_local loc;
	struct sbc_sdp sdp;
	struct mbuf *mb;
	struct pl text;

	(void)state;

	/* a declined stream's a=rtcp is dropped */
	pl_set_str(&text, s);
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	mb = rewrite(&text, &sdp, &loc, local4);
	assert_has(mb, "m=audio 20000 RTP/AVP 0\r\n"
		   "a=rtcp:30001 IN IP4 192.0.2.1\r\n"
		   "m=video 0 RTP/AVP 31\r\na=sendrecv\r\n");
	mem_deref(mb);
	roundtrip_str(s);
}


/* telephone-event's payload types per clock rate, as the relay maps
 * them (rtp/dtmf.c), and the formats an m-line declares. */
static void test_dtmf(void **state)
{
	static const char s[] = HDR
		"m=audio 4000 RTP/AVP 111 0 110 126 webrtc\r\n"
		"a=rtpmap:111 opus/48000/2\r\n"
		"a=rtpmap:110 TELEPHONE-EVENT/48000\r\n"
		"a=rtpmap:126 telephone-event/8000\r\n"
		"a=rtpmap:99x telephone-event/8000\r\n"
		"m=audio 4002 RTP/AVP 0\r\n"
		"a=rtpmap:300 telephone-event/8000\r\n";
	static const uint32_t want[] = {111, 0, 110, 126};
	struct sbc_sdp sdp;
	struct pl text, fmts;
	uint32_t pt;
	size_t n = 0;

	(void)state;

	pl_set_str(&text, s);
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	assert_int_equal(sdp.streams[0].dtmf[SBC_SDP_DTMF_8K], 126);
	assert_int_equal(sdp.streams[0].dtmf[SBC_SDP_DTMF_48K], 110);
	assert_int_equal(sdp.streams[1].dtmf[SBC_SDP_DTMF_8K], -1);
	assert_int_equal(sdp.streams[1].dtmf[SBC_SDP_DTMF_48K], -1);

	fmts = sdp.streams[0].fmts;
	while (sbc_sdp_fmt_next(&fmts, &pt)) {
		assert_true(n < ARRAY_SIZE(want));
		assert_int_equal(pt, want[n++]);
	}
	assert_int_equal(n, ARRAY_SIZE(want));
}


static void test_dir_name(void **state)
{
	(void)state;

	assert_string_equal(sbc_sdp_dir_name(SBC_SDP_SENDRECV), "sendrecv");
	assert_string_equal(sbc_sdp_dir_name(SBC_SDP_SENDONLY), "sendonly");
	assert_string_equal(sbc_sdp_dir_name(SBC_SDP_RECVONLY), "recvonly");
	assert_string_equal(sbc_sdp_dir_name(SBC_SDP_INACTIVE), "inactive");
	assert_string_equal(sbc_sdp_dir_name((enum sbc_sdp_dir)9), "?");
}


#define M "m=audio 4000 RTP/AVP 0\r\n"

/* Hand-written SDPs and what parsing them gives. */
static const struct {
	const char *sdp;
	int err;
} cases[] = {
	/* lines: no final end of line, empty lines, mixed ends are fine */
	{HDR "m=audio 4000 RTP/AVP 0",                       0},
	{HDR "\r\n" M "\r\n\n",                               0},
	{"v=0\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\nc=IN IP4 192.0.2.10\r\n"
	 "t=0 0\n" M,                                          0},
	{HDR "a=x\ry\r\n",                                    EBADMSG},
	{HDR "a=x\r\r\n",                                     EBADMSG},
	{HDR "x=1\r\n",                                       EBADMSG},
	{HDR "A=1\r\n",                                       EBADMSG},
	{HDR "a\r\n",                                         EBADMSG},
	{HDR " a=b\r\n",                                      EBADMSG},
	{HDR "=b\r\n",                                        EBADMSG},
	/* the head: v=0, o=, s=, in this order, once */
	{"",                                                  EBADMSG},
	{"v=0\r\n",                                           EBADMSG},
	{"v=1\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n",       EBADMSG},
	{"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\nt=0 0\r\n",     EBADMSG},
	{"v=0\r\no=- 1 IN IP4 192.0.2.10\r\ns=-\r\n",         EBADMSG},
	{"v=0\r\no=- 1 1 XX IP4 192.0.2.10\r\ns=-\r\n",       EBADMSG},
	{"v=0\r\no=- 1 1 IN IP5 192.0.2.10\r\ns=-\r\n",       EBADMSG},
	{HDR "v=0\r\n",                                       EBADMSG},
	{HDR "o=- 1 1 IN IP4 1.2.3.4\r\n",                    EBADMSG},
	{HDR "s=-\r\n",                                       EBADMSG},
	/* c= */
	{HDR M "c=IN IP4 192.0.2.11 \r\n",                    0},
	{HDR "c=IN IP4 192.0.2.11\r\n",                       EBADMSG},
	{HDR M "c=IN IP4 192.0.2.11\r\nc=IN IP4 192.0.2.12\r\n", EBADMSG},
	{HDR M "c=IN IP4 224.2.1.1\r\n",                      EBADMSG},
	{HDR M "c=IN IP6 ff0e::101\r\n",                      EBADMSG},
	{HDR M "c=IN IP6 FF15::101/3\r\n",                    EBADMSG},
	{HDR M "c=IN IP6 fe80::1%eth0\r\n",                   EBADMSG},
	{HDR M "c=IN IP4 1.2.3\r\n",                          EBADMSG},
	{HDR M "c=IN IP4\r\n",                                EBADMSG},
	{HDR M "c=IN IP4  1.2.3.4\r\n",                       EBADMSG},
	{HDR M "c=IN IP4 1.2.3.4 x\r\n",                      EBADMSG},
	{HDR M "c=ATM NSAP 47.0005.80\r\n",                   EBADMSG},
	{HDR M "c=IN IP6 0000:0000:0000:0000:0000:0000:0000:0000:0001\r\n",
	 EBADMSG},
	/* a=rtcp */
	{HDR "a=rtcp:4001\r\n" M,                             EBADMSG},
	{HDR M "a=rtcp:0\r\n",                                EBADMSG},
	{HDR M "a=rtcp:\r\n",                                 EBADMSG},
	{HDR M "a=rtcp:4001x\r\n",                            EBADMSG},
	{HDR M "a=rtcp:4001\r\na=rtcp:4001\r\n",              EBADMSG},
	{HDR M "a=rtcp:4001 IN IP4 h.example\r\n",            EBADMSG},
	{HDR M "a=rtcp:4001 IN IP4 224.0.0.1\r\n",            EBADMSG},
	{HDR M "a=rtcp:4001 IN\r\n",                          EBADMSG},
	/* m= */
	{HDR "m=audio 00000 RTP/AVP 0\r\n",                   0},
	{HDR "m=audio +123 RTP/AVP 0\r\n",                    EBADMSG},
	{HDR "m=audio -1 RTP/AVP 0\r\n",                      EBADMSG},
	{HDR "m=audio 123456 RTP/AVP 0\r\n",                  EBADMSG},
	{HDR "m=audio 65536 RTP/AVP 0\r\n",                   EBADMSG},
	{HDR "m=audio  RTP/AVP 0\r\n",                        EBADMSG},
	{HDR "m=audio 0x10 RTP/AVP 0\r\n",                    EBADMSG},
	{HDR "m=audio 4000/2 RTP/AVP 0\r\n",                  EBADMSG},
	{HDR "m=audio 4000 RTP/AVP\r\n",                      EBADMSG},
	{HDR "m=audio 4000 RTP/AVP \r\n",                     EBADMSG},
	{HDR "m=audio\r\n",                                   EBADMSG},
	{HDR "m=\r\n",                                        EBADMSG},
	/* RTCP cannot be on port + 1 above 65535 */
	{HDR "m=audio 65535 RTP/AVP 0\r\n",                   EBADMSG},
	{HDR "m=audio 65535 RTP/AVP 0\r\na=rtcp:5000\r\n",    0},
};


static void test_cases(void **state)
{
	struct sbc_sdp sdp;
	size_t i;
	int err;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sdp.count = 99;
		err = sdp_parse_str(cases[i].sdp, &sdp);
		if (err != cases[i].err)
			fail_msg("%d, not %d: %s", err, cases[i].err,
				 cases[i].sdp);
		if (err)
			assert_int_equal(sdp.count, 0);
		else
			assert_int_equal(sdp.count, 1);
	}
}


static int parse_mem(const char *p, size_t len)
{
	struct sbc_sdp sdp;
	struct pl text = {p, len};

	return sbc_sdp_parse(&sdp, &text);
}


/* HDR, an m-line, then an attribute line of exactly len bytes. */
static int parse_long_line(size_t len)
{
	static const char head[] = HDR M;
	char *buf = malloc(sizeof(head) + len + 2);
	int err;

	assert_non_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	memcpy(buf + sizeof(head) - 1, "a=", 2);
	memset(buf + sizeof(head) + 1, 'x', len - 2);
	memcpy(buf + sizeof(head) - 1 + len, "\r\n", 2);
	err = parse_mem(buf, sizeof(head) - 1 + len + 2);
	free(buf);

	return err;
}


/* The bounds: a line, the whole, the m-lines; and what a string cannot. */
static void test_bounds(void **state)
{
	static const char nul[] = HDR M "a=x\0y\r\n";
	struct sbc_sdp sdp;
	char buf[512], *p;
	char *big;
	unsigned i;

	(void)state;

	assert_int_equal(parse_long_line(SBC_SDP_LINE_MAX), 0);
	assert_int_equal(parse_long_line(SBC_SDP_LINE_MAX + 1), EBADMSG);
	assert_int_equal(parse_mem(nul, sizeof(nul) - 1), EBADMSG);
	assert_int_equal(parse_mem(NULL, 0), EBADMSG);

	big = malloc(SBC_SDP_SIZE_MAX + 1);
	assert_non_null(big);
	memset(big, '\n', SBC_SDP_SIZE_MAX + 1);
	memcpy(big, HDR, sizeof(HDR) - 1);
	assert_int_equal(parse_mem(big, SBC_SDP_SIZE_MAX), 0);
	assert_int_equal(parse_mem(big, SBC_SDP_SIZE_MAX + 1), EBADMSG);
	free(big);

	/* sixteen m-lines, not one more */
	p = buf + re_snprintf(buf, sizeof(buf), HDR);
	for (i = 0; i < SBC_SDP_STREAMS_MAX; i++)
		p += re_snprintf(p, 16, "m=a %u x 0\n", 1000 + 2 * i);
	assert_int_equal(sdp_parse_str(buf, &sdp), 0);
	assert_int_equal(sdp.count, SBC_SDP_STREAMS_MAX);
	re_snprintf(p, 16, "m=a 9 x 0\n");
	assert_int_equal(sdp_parse_str(buf, &sdp), E2BIG);
	assert_int_equal(sdp.count, 0);

	/* an RTCP port of its own above 65535 */
	assert_int_equal(sdp_parse_str(HDR "m=audio 65535 RTP/AVP 0\r\n"
				   "a=rtcp:5000\r\n", &sdp), 0);
	sdp_assert_sa(&sdp.streams[0].addr, "192.0.2.10", 65535);
	sdp_assert_sa(&sdp.streams[0].rtcp, "192.0.2.10", 5000);
}


static void test_print_bounds(void **state)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp sdp;
	struct mbuf *mb;
	struct pl text;
	char *big;
	size_t n;

	(void)state;

	mb = mbuf_alloc(64);
	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, "prefix"), 0);
	local_make(&loc, local6);

	/* a bare-LF SDP within bounds whose CRLFs would pass them */
	big = malloc(SBC_SDP_SIZE_MAX);
	assert_non_null(big);
	n = re_snprintf(big, SBC_SDP_SIZE_MAX, "%s", HDR
			"m=audio 4000 RTP/AVP 0\n");
	while (n + 10 <= SBC_SDP_SIZE_MAX)
		n += re_snprintf(big + n, 11, "a=x:12345\n");
	text.p = big;
	text.l = n;
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &loc), EOVERFLOW);
	assert_int_equal(mb->pos, 6);
	assert_int_equal(mb->end, 6);

	/* an o= line within bounds, but not with an IPv6 address in it */
	n = re_snprintf(big, SBC_SDP_SIZE_MAX, "v=0\r\no=");
	memset(big + n, 'u', SBC_SDP_LINE_MAX - 21);
	n += SBC_SDP_LINE_MAX - 21;
	n += re_snprintf(big + n, 64, " 1 1 IN IP4 1.1.1.1\r\ns=-\r\n");
	text.l = n;
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &loc), EOVERFLOW);
	local_make(&loc, "1.2.3.4");
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &loc), 0);

	/* written after what mb held */
	assert_memory_equal(mb->buf, "prefixv=0\r\no=uuu", 16);

	free(big);
	mem_deref(mb);
}


static void test_print_args(void **state)
{
	struct sbc_sdp_local loc, unset;
	struct sbc_sdp sdp, other;
	struct mbuf *mb;
	struct pl text;

	(void)state;

	mb = mbuf_alloc(64);
	assert_non_null(mb);
	local_make(&loc, local4);
	memset(&unset, 0, sizeof(unset));
	pl_set_str(&text, HDR "m=audio 4000 RTP/AVP 0\r\n");
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	assert_int_equal(sdp_parse_str(HDR "m=audio 4000 RTP/AVP 0\r\n"
				   "m=video 4002 RTP/AVP 31\r\n", &other), 0);

	assert_int_equal(sbc_sdp_print(NULL, &text, &sdp, &loc), EINVAL);
	assert_int_equal(sbc_sdp_print(mb, NULL, &sdp, &loc), EINVAL);
	assert_int_equal(sbc_sdp_print(mb, &text, NULL, &loc), EINVAL);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, NULL), EINVAL);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &unset), EINVAL);
	assert_int_equal(sbc_sdp_parse(NULL, &text), EINVAL);
	assert_int_equal(sbc_sdp_parse(&sdp, NULL), EINVAL);

	/* sdp must be the parse of text */
	assert_int_equal(sbc_sdp_print(mb, &text, &other, &loc), EINVAL);
	other.count = 0;
	assert_int_equal(sbc_sdp_print(mb, &text, &other, &loc), EINVAL);
	other.count = SBC_SDP_STREAMS_MAX + 1;
	assert_int_equal(sbc_sdp_print(mb, &text, &other, &loc), EINVAL);
	pl_set_str(&text, HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 x\r\n");
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &loc), EBADMSG);
	assert_int_equal(mb->end, 0);

	mem_deref(mb);
}


/* Toward a browser: every RTP stream on the relay's DTLS transport. */
static void check_webrtc(const struct sbc_sdp *in, const struct sbc_sdp *out)
{
	unsigned i;

	assert_true(out->ice_lite);
	for (i = 0; i < out->count; i++) {
		const struct sbc_sdp_stream *st = &out->streams[i];

		assert_true(st->mid.l > 0);
		if (!st->port)
			continue;
		assert_true(in->streams[i].is_rtp && st->dtls && st->rtcp_mux);
		assert_true(st->ice_ufrag.l && st->fingerprint.l);
	}
}


/* Rewrite for loc: it overflows, it is refused (toward a browser: two
 * m-lines with one mid), or it gives what parses. */
static void reprint_to(const struct pl *text, const struct sbc_sdp *in,
		       const struct sbc_sdp_local *loc, struct mbuf *mb)
{
	struct sbc_sdp out;
	struct pl res;
	int err;

	mbuf_rewind(mb);
	err = sbc_sdp_print(mb, text, in, loc);
	if (err == EOVERFLOW ||
	    (err == EBADMSG && loc->profile == SBC_SDP_WEBRTC)) {
		assert_int_equal(mb->end, 0);
		return;
	}

	assert_int_equal(err, 0);
	res.p = (const char *)mb->buf;
	res.l = mb->end;
	assert_int_equal(sbc_sdp_parse(&out, &res), 0);
	assert_int_equal(out.count, in->count);

	if (loc->profile == SBC_SDP_WEBRTC)
		check_webrtc(in, &out);
}


/* Whatever parses rewrites, for either profile, as reprint_to says. */
static void reprint(const struct pl *text, struct mbuf *mb)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp in;

	if (sbc_sdp_parse(&in, text)) {
		assert_int_equal(in.count, 0);
		return;
	}

	local_make(&loc, local6);
	reprint_to(text, &in, &loc, mb);
	local_webrtc(&loc, local4);
	reprint_to(text, &in, &loc, mb);
	loc.bundle = false;
	reprint_to(text, &in, &loc, mb);
}


static void test_prefixes(void **state)
{
	struct mbuf *mb = mbuf_alloc(8192);
	struct pl text, part;
	size_t i;
	char *buf;

	(void)state;

	assert_non_null(mb);
	for (i = 0; i < GOOD_COUNT; i++) {
		buf = sdp_corpus_read(good_file(i), &text);
		for (part = text, part.l = 0; part.l <= text.l; part.l++)
			reprint(&part, mb);
		free(buf);
	}

	mem_deref(mb);
}


static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;

	return *x;
}


/* Change a few bytes of text, often into bytes SDP gives meaning to. */
static void mutate(char *p, size_t len, uint32_t *x)
{
	static const char special[] = " \r\n\0=:/0.9a";
	const size_t n = sizeof(special) - 1;
	unsigned k = 1 + rnd(x) % 4;
	uint32_t r;

	while (k--) {
		r = rnd(x);
		p[r % len] = (r >> 24) & 1 ? special[(r >> 16) % n] :
					      (char)(r >> 8);
	}
}


static void test_mutations(void **state)
{
	struct mbuf *mb = mbuf_alloc(8192);
	struct pl text, mut;
	uint32_t x = 2463534242u;
	char *buf, *copy;
	size_t i, j;

	(void)state;

	assert_non_null(mb);
	copy = malloc(FILE_MAX);
	assert_non_null(copy);
	for (i = 0; i < GOOD_COUNT; i++) {
		buf = sdp_corpus_read(good_file(i), &text);
		for (j = 0; j < MUTATIONS; j++) {
			memcpy(copy, text.p, text.l);
			mutate(copy, text.l, &x);
			mut.p = copy;
			mut.l = text.l;
			reprint(&mut, mb);
		}
		free(buf);
	}

	free(copy);
	mem_deref(mb);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_corpus_listed, unit_teardown),
		cmocka_unit_test_teardown(test_corpus_roundtrip, unit_teardown),
		cmocka_unit_test_teardown(test_corpus_hostile, unit_teardown),
		cmocka_unit_test_teardown(test_values, unit_teardown),
		cmocka_unit_test_teardown(test_excerpts, unit_teardown),
		cmocka_unit_test_teardown(test_hidden, unit_teardown),
		cmocka_unit_test_teardown(test_hold, unit_teardown),
		cmocka_unit_test_teardown(test_direction, unit_teardown),
		cmocka_unit_test_teardown(test_declined, unit_teardown),
		cmocka_unit_test_teardown(test_dtmf, unit_teardown),
		cmocka_unit_test_teardown(test_dir_name, unit_teardown),
		cmocka_unit_test_teardown(test_cases, unit_teardown),
		cmocka_unit_test_teardown(test_bounds, unit_teardown),
		cmocka_unit_test_teardown(test_print_bounds, unit_teardown),
		cmocka_unit_test_teardown(test_print_args, unit_teardown),
		cmocka_unit_test_teardown(test_prefixes, unit_teardown),
		cmocka_unit_test_teardown(test_mutations, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
