/*
 * Unit tests of the SDP rewrite between the two profiles (rtp/sdp.h):
 * a browser's SDP for a plain party, a plain party's (or another
 * browser's) for a browser, and what the parser reads of WebRTC's
 * transport attributes.
 *
 * Every browser SDP of the corpus (tests/sdp/, SBC_SDP_CORPUS) is
 * rewritten for a plain party and every SDP of the corpus for a browser,
 * for an IPv4 and an IPv6 relay, and the result is parsed back and
 * checked field by field against the rules, not against the code's own
 * lists: toward a plain party RTP/AVP on the relay's ports and none of the
 * attributes a plain party must not see; toward a browser
 * UDP/TLS/RTP/SAVPF, ports shared under BUNDLE, each m-section with its
 * mid and exactly one set of the relay's credentials, ICE-lite at session
 * level, a BUNDLE group that names the mids. Either way the codecs (m=
 * formats, a=rtpmap and a=fmtp lines) and every other line the rewrite
 * does not own come through byte for byte, in order. Two rewrites are
 * compared whole with text written by hand; the parser's new checks and
 * the printer's new arguments are tried with hand-written SDPs. The fuzz
 * of both profiles over the whole corpus is in test_sdp.c.
 */

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
	LINES_MAX = 2048,
	PARTS_MAX = SBC_SDP_STREAMS_MAX + 1,
};

static const char local4[] = "192.0.2.1";
static const char local6[] = "2001:db8::1";
static const char relay_fp[] = "sha-256 3A:7F:00:C1:5E:92:B4:08:D6:1B:E3:"
	"4A:9C:27:F0:85:6D:B2:13:C8:4F:E9:70:2A:95:DB:06:1C:E7:38:A4:5F";


/* Rule 2: none of these reaches a plain party from a browser. */
static const char *const plain_forbidden[] = {
	"candidate", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite",
	"remote-candidates", "end-of-candidates", "fingerprint", "setup",
	"ssrc", "ssrc-group", "msid", "msid-semantic", "extmap",
	"extmap-allow-mixed", "rtcp-fb", "rtcp-rsize", "rtcp-mux",
	"rtcp-mux-only", "mid", "group", "bundle-only", "tls-id", "identity",
	"crypto", "sctp-port", "sctpmap", "max-message-size",
};

/* Rule 3: the sender's transport, which the relay's replaces (its SDES
 * keys too: never forwarded). */
static const char *const webrtc_replaced[] = {
	"candidate", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite",
	"remote-candidates", "end-of-candidates", "fingerprint", "setup",
	"rtcp-mux", "rtcp-mux-only", "rtcp", "mid", "group", "bundle-only",
	"tls-id", "identity", "crypto",
};

/* Rule 3: none of these is in what a browser gets: the sender's, gone,
 * and none the relay writes (they are counted elsewhere). */
static const char *const webrtc_gone[] = {
	"ice-options", "remote-candidates", "rtcp", "rtcp-mux-only",
	"bundle-only", "tls-id", "identity", "crypto",
};

/* What the relay writes in each m-section toward a browser, once. */
static const char *const webrtc_once[] = {
	"mid", "ice-ufrag", "ice-pwd", "fingerprint", "setup", "rtcp-mux",
	"candidate", "end-of-candidates",
};

/* An SDP's lines and its parts: part 0 the session, part k + 1 the
 * m-section k; part k is lines [at[k], at[k + 1]). */
struct text {
	struct pl v[LINES_MAX];
	unsigned n;
	unsigned at[PARTS_MAX + 1];
	unsigned parts;
};

static struct text tin, tout;


static bool is_attr_in(const struct pl *line, const char *const *list,
		       size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (sdp_is_attr(line, list[i]))
			return true;
	}

	return false;
}


static bool is_dir(const struct pl *line)
{
	return sdp_is_attr(line, "sendrecv") || sdp_is_attr(line, "sendonly") ||
	       sdp_is_attr(line, "recvonly") || sdp_is_attr(line, "inactive");
}


/* The non-empty lines of text, without their CRLF or LF, in parts. */
static void text_split(struct text *t, const struct pl *text)
{
	const char *p = text->p, *end = text->p + text->l, *lf;
	struct pl line;

	t->n = 0;
	t->parts = 1;
	t->at[0] = 0;
	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		line.p = p;
		line.l = lf ? (size_t)(lf - p) : (size_t)(end - p);
		p += line.l + (lf ? 1 : 0);
		if (line.l && line.p[line.l - 1] == '\r')
			--line.l;
		if (!line.l)
			continue;
		assert_true(t->n < LINES_MAX);
		if (sdp_is_type(&line, 'm')) {
			assert_true(t->parts < PARTS_MAX);
			t->at[t->parts++] = t->n;
		}
		t->v[t->n++] = line;
	}
	t->at[t->parts] = t->n;
}


static unsigned attr_count(const struct text *t, unsigned part,
			   const char *name)
{
	unsigned i, n = 0;

	for (i = t->at[part]; i < t->at[part + 1]; i++)
		n += sdp_is_attr(&t->v[i], name);

	return n;
}


/* The line of the part that is a=<name>..., which must be there once. */
static const struct pl *attr_line(const struct text *t, unsigned part,
				  const char *name)
{
	unsigned i;

	assert_int_equal(attr_count(t, part, name), 1);
	for (i = t->at[part]; !sdp_is_attr(&t->v[i], name); i++)
		;

	return &t->v[i];
}


typedef bool (keep_h)(const struct pl *line, bool refused);

/*
 * Part k of in and of out hold the same lines where keep says so, in the
 * same order; out may have after them the lines in extra, in any order.
 */
static void check_part(unsigned k, keep_h *keep, bool refused,
		       const char *const *extra, size_t nextra)
{
	unsigned i = tin.at[k], j = tout.at[k];

	for (;;) {
		while (i < tin.at[k + 1] && !keep(&tin.v[i], refused))
			++i;
		while (j < tout.at[k + 1] && !keep(&tout.v[j], refused))
			++j;
		if (i == tin.at[k + 1] || j == tout.at[k + 1])
			break;
		if (pl_cmp(&tin.v[i], &tout.v[j]))
			fail_msg("line \"%.*s\" became \"%.*s\"",
				 (int)tin.v[i].l, tin.v[i].p,
				 (int)tout.v[j].l, tout.v[j].p);
		++i;
		++j;
	}

	assert_int_equal(i, tin.at[k + 1]);
	for (; j < tout.at[k + 1]; j++) {
		if (keep(&tout.v[j], refused) &&
		    !is_attr_in(&tout.v[j], extra, nextra))
			fail_msg("line \"%.*s\" added", (int)tout.v[j].l,
				 tout.v[j].p);
	}
}


/* What a rewrite cannot have changed: the other lines are o=, c=, m=
 * and the attributes the rules remove, replace or add. */
static bool plain_keeps(const struct pl *line, bool refused)
{
	if (sdp_is_type(line, 'o') || sdp_is_type(line, 'c') || sdp_is_type(line, 'm'))
		return false;
	if (refused)
		return !sdp_is_type(line, 'a') || is_dir(line);

	return !is_attr_in(line, plain_forbidden,
			   ARRAY_SIZE(plain_forbidden)) &&
	       !sdp_is_attr(line, "rtcp");
}


static bool webrtc_keeps(const struct pl *line, bool refused)
{
	if (sdp_is_type(line, 'o') || sdp_is_type(line, 'c') || sdp_is_type(line, 'm'))
		return false;
	if (refused)
		return !sdp_is_type(line, 'a') || is_dir(line);

	return !is_attr_in(line, webrtc_replaced,
			   ARRAY_SIZE(webrtc_replaced));
}


/* Fail, showing the rewrite (cmocka's printf knows no %b). */
static void fail_dump(const struct mbuf *mb, const char *what)
{
	re_fprintf(stderr, "%s:\n%b\n", what, mb->buf, mb->end);
	fail();
}


static struct mbuf *print_ok(const struct pl *text, const struct sbc_sdp *in,
			     const struct sbc_sdp_local *loc,
			     struct sbc_sdp *out)
{
	struct mbuf *mb = mbuf_alloc(4096);
	struct pl res;

	assert_non_null(mb);
	assert_int_equal(sbc_sdp_print(mb, text, in, loc), 0);
	res.p = (const char *)mb->buf;
	res.l = mb->end;
	assert_int_equal(sbc_sdp_parse(out, &res), 0);
	assert_int_equal(out->count, in->count);

	text_split(&tin, text);
	text_split(&tout, &res);
	assert_int_equal(tin.parts, tout.parts);

	return mb;
}


static void local_plain(struct sbc_sdp_local *loc, const char *addr)
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


static void local_webrtc(struct sbc_sdp_local *loc, const char *addr,
			 bool bundle, enum sbc_sdp_setup setup)
{
	local_plain(loc, addr);
	loc->profile = SBC_SDP_WEBRTC;
	loc->ice_ufrag = "Rly0ufrg";
	loc->ice_pwd = "Rly0pwd0123456789abcdefg";
	loc->fingerprint = relay_fp;
	loc->setup = setup;
	loc->bundle = bundle;
}


/* Rule 2: a browser's stream i as a plain party gets it. */
static void check_plain_stream(const struct sbc_sdp *in,
			       const struct sbc_sdp *out,
			       const struct sbc_sdp_local *loc, unsigned i)
{
	const struct sbc_sdp_stream *a = &in->streams[i];
	const struct sbc_sdp_stream *b = &out->streams[i];
	const bool refused = a->dtls && !a->is_rtp;
	const bool live = !refused && !sbc_sdp_declined(in, i);
	struct sa exp = loc->addr;

	assert_int_equal(pl_cmp(&a->media, &b->media), 0);
	assert_int_equal(pl_cmp(&a->fmts, &b->fmts), 0);
	if (a->dtls && a->is_rtp)
		sdp_assert_pl(&b->proto, "RTP/AVP");
	else
		assert_int_equal(pl_cmp(&a->proto, &b->proto), 0);

	assert_int_equal(b->port, live ? loc->rtp[i] : 0);
	assert_int_equal(b->dir, a->dir);
	assert_int_equal(b->dtls, refused);
	assert_false(b->rtcp_mux || b->null_addr);
	assert_false(b->mid.l || b->ice_ufrag.l || b->ice_pwd.l ||
		     b->fingerprint.l || b->setup || b->bundle_only);
	assert_int_equal(b->bundle, -1);

	sa_set_port(&exp, b->port);
	assert_true(sa_cmp(&b->addr, &exp, SA_ALL));
	assert_int_equal(attr_count(&tout, i + 1, "rtcp"), live);
	if (live)
		assert_true(sa_cmp(&b->rtcp, &exp, SA_ADDR) &&
			    sa_port(&b->rtcp) == loc->rtcp[i]);

	/* the codecs, telephone-event among them, byte for byte */
	check_part(i + 1, plain_keeps, refused, NULL, 0);
	if (!refused)
		assert_int_equal(attr_count(&tout, i + 1, "rtpmap"),
				 attr_count(&tin, i + 1, "rtpmap"));
}


static void to_plain(const struct pl *text, const char *addr)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp in, out;
	struct mbuf *mb;
	unsigned i;

	assert_int_equal(sbc_sdp_parse(&in, text), 0);
	local_plain(&loc, addr);
	mb = print_ok(text, &in, &loc, &out);

	assert_false(out.ice_lite);
	for (i = 0; i < tout.n; i++) {
		if (is_attr_in(&tout.v[i], plain_forbidden,
			       ARRAY_SIZE(plain_forbidden)))
			fail_msg("\"%.*s\" toward a plain party",
				 (int)tout.v[i].l, tout.v[i].p);
	}

	check_part(0, plain_keeps, false, NULL, 0);
	for (i = 0; i < in.count; i++)
		check_plain_stream(&in, &out, &loc, i);

	mem_deref(mb);
}


static void test_to_plain(void **state)
{
	struct pl text;
	char *buf;
	size_t i;

	(void)state;

	for (i = 0; i < sdp_browser_count; i++) {
		print_message("  %s\n", sdp_browser_files[i]);
		buf = sdp_corpus_read(sdp_browser_files[i], &text);
		to_plain(&text, local4);
		to_plain(&text, local6);
		free(buf);
	}
}


/* The mid stream i of in must get toward a browser. */
static void mid_expected(const struct sbc_sdp *in, unsigned i, char *mid)
{
	if (in->streams[i].mid.l)
		(void)pl_strcpy(&in->streams[i].mid, mid, SBC_SDP_MID_SIZE);
	else
		re_snprintf(mid, SBC_SDP_MID_SIZE, "%u", i);
}


/* Did in hold stream i by a null c= without a direction attribute? */
static bool held_silently(const struct sbc_sdp *in, unsigned i)
{
	unsigned k;

	if (!in->streams[i].null_addr)
		return false;

	for (k = tin.at[0]; k < tin.at[1]; k++) {
		if (is_dir(&tin.v[k]))
			return false;
	}
	for (k = tin.at[i + 1]; k < tin.at[i + 2]; k++) {
		if (is_dir(&tin.v[k]))
			return false;
	}

	return true;
}


/* The relay's transport in m-section i, once each. */
static void check_credentials(const struct sbc_sdp_stream *b,
			      const struct sbc_sdp_local *loc, unsigned i,
			      uint16_t port)
{
	char cand[128];
	size_t k;

	for (k = 0; k < ARRAY_SIZE(webrtc_once); k++)
		assert_int_equal(attr_count(&tout, i + 1, webrtc_once[k]), 1);

	sdp_assert_pl(&b->ice_ufrag, loc->ice_ufrag);
	sdp_assert_pl(&b->ice_pwd, loc->ice_pwd);
	sdp_assert_pl(&b->fingerprint, loc->fingerprint);
	assert_int_equal(b->setup, loc->setup);
	assert_true(b->rtcp_mux);

	re_snprintf(cand, sizeof(cand), "a=candidate:1 1 udp 2130706431 %j "
		    "%u typ host", &loc->addr, port);
	sdp_assert_pl(attr_line(&tout, i + 1, "candidate"), cand);
}


/* Rule 3: stream i as a browser gets it; first: the first live one. */
static void check_webrtc_stream(const struct sbc_sdp *in,
				const struct sbc_sdp *out,
				const struct sbc_sdp_local *loc, unsigned i,
				int first)
{
	static const char *const added[] = {"inactive"};
	const struct sbc_sdp_stream *a = &in->streams[i];
	const struct sbc_sdp_stream *b = &out->streams[i];
	const bool live = a->is_rtp && !sbc_sdp_declined(in, i);
	const bool hold = live && held_silently(in, i);
	char mid[SBC_SDP_MID_SIZE];
	uint16_t port;

	assert_int_equal(pl_cmp(&a->media, &b->media), 0);
	assert_int_equal(pl_cmp(&a->fmts, &b->fmts), 0);
	if (a->is_rtp)
		sdp_assert_pl(&b->proto, "UDP/TLS/RTP/SAVPF");
	else
		assert_int_equal(pl_cmp(&a->proto, &b->proto), 0);

	mid_expected(in, i, mid);
	sdp_assert_pl(&b->mid, mid);
	assert_int_equal(attr_count(&tout, i + 1, "mid"), 1);
	assert_false(b->null_addr);
	assert_int_equal(b->dir, hold ? SBC_SDP_INACTIVE : a->dir);
	check_part(i + 1, webrtc_keeps, !a->is_rtp, added,
		   hold ? ARRAY_SIZE(added) : 0);

	if (!live) {
		assert_int_equal(b->port, 0);
		assert_int_equal(b->bundle, -1);
		assert_int_equal(attr_count(&tout, i + 1, "ice-ufrag"), 0);
		assert_int_equal(attr_count(&tout, i + 1, "candidate"), 0);
		return;
	}

	port = loc->rtp[loc->bundle ? (unsigned)first : i];
	assert_int_equal(b->port, port);
	assert_int_equal(b->bundle, loc->bundle ? first : -1);
	check_credentials(b, loc, i, port);
}


/* a=ice-lite, and the group with the mids of the live streams. */
static void check_webrtc_session(const struct sbc_sdp *out,
				 const struct sbc_sdp_local *loc, int first)
{
	static const char *const added[] = {"ice-lite", "group"};
	char group[SBC_SDP_STREAMS_MAX * SBC_SDP_MID_SIZE + 16];
	size_t n;
	unsigned i;

	assert_true(out->ice_lite);
	assert_int_equal(attr_count(&tout, 0, "ice-lite"), 1);
	for (i = 0; i < ARRAY_SIZE(webrtc_once); i++)
		assert_int_equal(attr_count(&tout, 0, webrtc_once[i]), 0);
	check_part(0, webrtc_keeps, false, added, ARRAY_SIZE(added));

	if (!loc->bundle || first < 0) {
		assert_int_equal(attr_count(&tout, 0, "group"), 0);
		return;
	}

	n = (size_t)re_snprintf(group, sizeof(group), "a=group:BUNDLE");
	for (i = 0; i < out->count; i++) {
		if (out->streams[i].port)
			n += (size_t)re_snprintf(group + n, sizeof(group) - n,
						 " %r", &out->streams[i].mid);
	}
	sdp_assert_pl(attr_line(&tout, 0, "group"), group);
}


static void to_webrtc(const struct pl *text, const char *addr, bool bundle,
		      enum sbc_sdp_setup setup)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp in, out;
	struct mbuf *mb;
	int first = -1;
	unsigned i;

	assert_int_equal(sbc_sdp_parse(&in, text), 0);
	local_webrtc(&loc, addr, bundle, setup);
	mb = print_ok(text, &in, &loc, &out);

	for (i = 0; i < tout.n; i++) {
		if (is_attr_in(&tout.v[i], webrtc_gone,
			       ARRAY_SIZE(webrtc_gone)))
			fail_msg("\"%.*s\" toward a browser",
				 (int)tout.v[i].l, tout.v[i].p);
	}

	for (i = 0; i < in.count && first < 0; i++) {
		if (in.streams[i].is_rtp && !sbc_sdp_declined(&in, i))
			first = (int)i;
	}

	check_webrtc_session(&out, &loc, first);
	for (i = 0; i < in.count; i++)
		check_webrtc_stream(&in, &out, &loc, i, first);

	mem_deref(mb);
}


static void webrtc_all(const char *file)
{
	struct pl text;
	char *buf;

	print_message("  %s\n", file);
	buf = sdp_corpus_read(file, &text);
	to_webrtc(&text, local4, true, SBC_SDP_SETUP_ACTPASS);
	to_webrtc(&text, local6, true, SBC_SDP_SETUP_PASSIVE);
	to_webrtc(&text, local4, false, SBC_SDP_SETUP_ACTIVE);
	free(buf);
}


static void test_to_webrtc(void **state)
{
	size_t i;

	(void)state;

	for (i = 0; i < sdp_plain_count; i++)
		webrtc_all(sdp_plain_files[i]);
	for (i = 0; i < sdp_browser_count; i++)
		webrtc_all(sdp_browser_files[i]);
}


/* What the parser reads of the browsers' files, by hand. */
static const struct wexpect {
	const char *file;
	unsigned i;
	const char *mid;
	const char *ufrag;
	const char *fp_head;     /* the fingerprint's first bytes */
	enum sbc_sdp_setup setup;
	int bundle;
	bool bundle_only;
	bool dtls;
	bool is_rtp;
	const char *addr;        /* NULL: null_addr */
	uint16_t port;
} wexpects[] = {
	/* trickling: c=0.0.0.0 and port 9 are ICE's default, no hold */
	{"chrome_audio_offer.sdp", 0, "0", "f2Kq", "sha-256 3E:9A:41",
	 SBC_SDP_SETUP_ACTPASS, 0, false, true, true, "0.0.0.0", 9},
	{"chrome_av_offer.sdp", 1, "1", "Tn6R", "sha-256 0F:6B:D2",
	 SBC_SDP_SETUP_ACTPASS, 0, false, true, true, "192.0.2.44", 50312},
	{"chrome_maxbundle_offer.sdp", 1, "1", "Ya5D", "sha-256 92:D7",
	 SBC_SDP_SETUP_ACTPASS, 0, true, true, true, "0.0.0.0", 0},
	{"chrome_answer.sdp", 0, "0", "Qz8n", "sha-256 C8:4E",
	 SBC_SDP_SETUP_ACTIVE, 0, false, true, true, "192.0.2.55", 60218},
	/* Firefox: the fingerprint at session level */
	{"firefox_answer.sdp", 0, "0", "92c0e4a7", "sha-256 7E:C1:34",
	 SBC_SDP_SETUP_ACTIVE, 0, false, true, true, "0.0.0.0", 9},
	{"firefox_offer.sdp", 1, "1", "6e1f3a2b", "sha-256 4A:1F",
	 SBC_SDP_SETUP_ACTPASS, 0, false, true, true, "198.51.100.33", 51830},
	{"chrome_datachannel_offer.sdp", 1, "1", "Lm3e", "sha-256 5D:E2",
	 SBC_SDP_SETUP_ACTPASS, 0, false, true, false, "0.0.0.0", 9},
	/* plain: the session's ICE credentials, nothing of DTLS */
	{"linphone_ice_offer.sdp", 0, "", "8e5a0f2c", "",
	 SBC_SDP_SETUP_NONE, -1, false, false, true, "192.168.1.23", 7078},
	{"t38_offer.sdp", 0, "", "", "", SBC_SDP_SETUP_NONE, -1, false,
	 false, false, "192.0.2.30", 4002},
	{"hold_zero_addr.sdp", 0, "", "", "", SBC_SDP_SETUP_NONE, -1, false,
	 false, true, NULL, 29338},
};


static void check_wexpect(const struct wexpect *e, const struct sbc_sdp *sdp)
{
	const struct sbc_sdp_stream *st = &sdp->streams[e->i];

	assert_true(e->i < sdp->count);
	sdp_assert_pl(&st->mid, e->mid);
	sdp_assert_pl(&st->ice_ufrag, e->ufrag);
	assert_true(st->fingerprint.l >= strlen(e->fp_head));
	assert_memory_equal(st->fingerprint.p, e->fp_head, strlen(e->fp_head));
	assert_int_equal(st->setup, e->setup);
	assert_int_equal(st->bundle, e->bundle);
	assert_int_equal(st->bundle_only, e->bundle_only);
	assert_int_equal(st->dtls, e->dtls);
	assert_int_equal(st->is_rtp, e->is_rtp);
	assert_int_equal(st->null_addr, !e->addr);
	assert_false(sbc_sdp_declined(sdp, e->i));
	if (e->addr)
		sdp_assert_sa(&st->addr, e->addr, e->port);
	assert_int_equal(st->port, e->port);
	if (st->ice_ufrag.l)
		assert_true(st->ice_pwd.l > 0);
	assert_false(sdp->ice_lite);
}


static void test_values(void **state)
{
	struct sbc_sdp sdp;
	struct pl text;
	char *buf;
	size_t i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(wexpects); i++) {
		print_message("  %s %u\n", wexpects[i].file, wexpects[i].i);
		buf = sdp_corpus_read(wexpects[i].file, &text);
		assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
		check_wexpect(&wexpects[i], &sdp);
		free(buf);
	}
}


/* Two rewrites whole, as a reader would check them. */
static const char asterisk_to_browser[] =
	"v=0\r\n"
	"o=- 1718866600 1718866602 IN IP4 192.0.2.1\r\n"
	"s=Asterisk\r\n"
	"c=IN IP4 192.0.2.1\r\n"
	"t=0 0\r\n"
	"a=ice-lite\r\n"
	"a=group:BUNDLE 0\r\n"
	"m=audio 20000 UDP/TLS/RTP/SAVPF 0 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"a=ptime:20\r\n"
	"a=maxptime:150\r\n"
	"a=sendrecv\r\n"
	"a=mid:0\r\n"
	"a=ice-ufrag:Rly0ufrg\r\n"
	"a=ice-pwd:Rly0pwd0123456789abcdefg\r\n"
	"a=fingerprint:sha-256 3A:7F:00:C1:5E:92:B4:08:D6:1B:E3:4A:9C:27:F0:"
	"85:6D:B2:13:C8:4F:E9:70:2A:95:DB:06:1C:E7:38:A4:5F\r\n"
	"a=setup:passive\r\n"
	"a=rtcp-mux\r\n"
	"a=candidate:1 1 udp 2130706431 192.0.2.1 20000 typ host\r\n"
	"a=end-of-candidates\r\n";

static const char chrome_to_plain[] =
	"v=0\r\n"
	"o=- 6819237465012347821 2 IN IP6 2001:db8::1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"m=audio 20000 RTP/AVP 111 63 9 0 8 13 110 126\r\n"
	"c=IN IP6 2001:db8::1\r\n"
	"a=sendrecv\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:63 red/48000/2\r\n"
	"a=fmtp:63 111/111\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:13 CN/8000\r\n"
	"a=rtpmap:110 telephone-event/48000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=rtcp:30001 IN IP6 2001:db8::1\r\n";


static void print_equal(const char *file, const struct sbc_sdp_local *loc,
			const char *exp)
{
	struct mbuf *mb = mbuf_alloc(1024);
	struct sbc_sdp sdp;
	struct pl text;
	char *buf;

	assert_non_null(mb);
	buf = sdp_corpus_read(file, &text);
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, loc), 0);
	if (mb->end != strlen(exp) || memcmp(mb->buf, exp, mb->end))
		fail_dump(mb, file);
	free(buf);
	mem_deref(mb);
}


static void test_whole(void **state)
{
	struct sbc_sdp_local loc;

	(void)state;

	/* the answer to a browser's offer */
	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_PASSIVE);
	print_equal("asterisk_answer.sdp", &loc, asterisk_to_browser);

	local_plain(&loc, local6);
	print_equal("chrome_audio_offer.sdp", &loc, chrome_to_plain);
}


/* SDPs written by hand start with this session part. */
#define HDR "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n" \
	"c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
#define MA "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
#define FP "a=fingerprint:sha-256 AB:CD:EF:01\r\n"
#define MID31 "abcdefghijklmnopqrstuvwxyz01234"

/* Hand-written SDPs and what parsing them gives. */
static const struct {
	const char *sdp;
	int err;
} cases[] = {
	/* groups: anywhere in the session part, resolved at the end */
	{HDR "a=group:BUNDLE 0\r\n" MA "a=mid:0\r\n",                 0},
	{HDR "a=group:BUNDLE\r\n" MA,                                 0},
	{HDR "a=group:BUNDLE 0 \r\n" MA "a=mid:0\r\n",                0},
	{HDR "a=group:LS 0 7\r\n" MA,                                 0},
	{HDR MA "a=group:BUNDLE 7\r\n",                               0},
	{HDR "a=group:BUNDLE 1\r\n" MA "a=mid:0\r\n",                 EBADMSG},
	{HDR "a=group:BUNDLE 0\r\n" MA,                               EBADMSG},
	{HDR "a=group:BUNDLE 0 0\r\n" MA "a=mid:0\r\n",               EBADMSG},
	{HDR "a=group:BUNDLE 0\r\na=group:BUNDLE 0\r\n" MA "a=mid:0\r\n",
	 EBADMSG},
	{HDR "a=group:BUNDLE  0\r\n" MA "a=mid:0\r\n",                EBADMSG},
	{HDR "a=group:\r\n" MA,                                       EBADMSG},
	{HDR "a=group:bundle 0\r\n" MA,                               0},
	/* mids: a token, once per m-section, one m-section each */
	{HDR MA "a=mid:" MID31 "\r\n",                                0},
	{HDR MA "a=mid:" MID31 "5\r\n",                               EBADMSG},
	{HDR MA "a=mid:sdparta_0\r\n",                                0},
	{HDR MA "a=mid:0 \r\n",                                       0},
	{HDR MA "a=mid:\r\n",                                         EBADMSG},
	{HDR MA "a=mid\r\n",                                          EBADMSG},
	{HDR MA "a=mid:a b\r\n",                                      EBADMSG},
	{HDR MA "a=mid:a/b\r\n",                                      EBADMSG},
	{HDR MA "a=mid:a\tb\r\n",                                     EBADMSG},
	{HDR MA "a=mid:\x80\r\n",                                     EBADMSG},
	{HDR MA "a=mid:0\r\na=mid:1\r\n",                             EBADMSG},
	{HDR MA "a=mid:0\r\n" MA "a=mid:0\r\n",                       EBADMSG},
	{HDR "a=mid:0\r\n" MA,                                        EBADMSG},
	{HDR "a=bundle-only\r\n" MA,                                  EBADMSG},
	/* ICE credentials: ice-chars, once per level */
	{HDR "a=ice-ufrag:abcd\r\n" MA "a=ice-ufrag:ef+/\r\n",        0},
	{HDR MA "a=ice-ufrag:ab-c\r\n",                               EBADMSG},
	{HDR MA "a=ice-ufrag:\r\n",                                   EBADMSG},
	{HDR MA "a=ice-ufrag:abcd\r\na=ice-ufrag:abcd\r\n",           EBADMSG},
	{HDR "a=ice-ufrag:abcd\r\na=ice-ufrag:abcd\r\n" MA,           EBADMSG},
	{HDR MA "a=ice-pwd:abc def\r\n",                              EBADMSG},
	{HDR MA "a=ice-pwd:abc=\r\n",                                 EBADMSG},
	/* fingerprints: "<hash> XX:XX..." */
	{HDR FP MA FP,                                                0},
	{HDR MA "a=fingerprint:sha-256 ab:cd\r\n",                    0},
	{HDR MA "a=fingerprint:sha-256\r\n",                          EBADMSG},
	{HDR MA "a=fingerprint:sha-256 \r\n",                         EBADMSG},
	{HDR MA "a=fingerprint:sha-256  AB\r\n",                      EBADMSG},
	{HDR MA "a=fingerprint:sha-256 AB:C\r\n",                     EBADMSG},
	{HDR MA "a=fingerprint:sha-256 AB:CD:\r\n",                   EBADMSG},
	{HDR MA "a=fingerprint:sha-256 AB;CD\r\n",                    EBADMSG},
	{HDR MA "a=fingerprint:sha-256 GG\r\n",                       EBADMSG},
	{HDR MA "a=fingerprint:sha/256 AB\r\n",                       EBADMSG},
	{HDR MA "a=fingerprint:sha-256-and-more-x AB\r\n",            EBADMSG},
	{HDR MA "a=fingerprint: AB\r\n",                              EBADMSG},
	{HDR MA FP "a=fingerprint:x\r\n",                             EBADMSG},
	/* setup: one of four, once per level */
	{HDR "a=setup:actpass\r\n" MA "a=setup:active\r\n",           0},
	{HDR MA "a=setup:holdconn\r\n",                               0},
	{HDR MA "a=setup:ACTPASS\r\n",                                EBADMSG},
	{HDR MA "a=setup:\r\n",                                       EBADMSG},
	{HDR MA "a=setup:active\r\na=setup:passive\r\n",              EBADMSG},
	/* the protocols */
	{HDR "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",  0},
	{HDR "m=application 9 DTLS/SCTP 5000\r\n",                    0},
	{HDR "m=image 9 udptl t38\r\n",                               0},
};


static unsigned mlines(const char *s)
{
	unsigned n = 0;

	while ((s = strstr(s, "\nm="))) {
		++n;
		++s;
	}

	return n;
}


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
		assert_int_equal(sdp.count, err ? 0 : mlines(cases[i].sdp));
	}
}


/* Which transport each protocol names. */
static void test_protos(void **state)
{
	static const struct {
		const char *proto;
		bool dtls, rtp;
	} protos[] = {
		{"UDP/TLS/RTP/SAVPF",  true,  true},
		{"UDP/TLS/RTP/SAVP",   true,  true},
		{"UDP/DTLS/SCTP",      true,  false},
		{"DTLS/SCTP",          true,  false},
		{"TCP/DTLS/SCTP",      false, false},
		{"RTP/AVP",            false, true},
		{"RTP/SAVPF",          false, true},
		{"udptl",              false, false},
		{"UDP/TLSX",           false, false},
	};
	struct sbc_sdp sdp;
	char buf[256];
	size_t i;

	(void)state;

	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		re_snprintf(buf, sizeof(buf), HDR "m=x 4000 %s 0\r\n",
			    protos[i].proto);
		assert_int_equal(sdp_parse_str(buf, &sdp), 0);
		assert_int_equal(sdp.streams[0].dtls, protos[i].dtls);
		assert_int_equal(sdp.streams[0].is_rtp, protos[i].rtp);
	}
}


/* Session values, media overrides, several groups, ice-lite. */
static void test_levels(void **state)
{
	static const char s[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
		"a=group:BUNDLE b a\r\na=ice-lite\r\n"
		"c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
		"a=ice-ufrag:sess\r\na=ice-pwd:sesspwd\r\na=setup:actpass\r\n"
		"a=fingerprint:sha-1 01:02\r\na=group:BUNDLE c\r\n"
		MA "a=mid:a\r\na=ice-lite\r\n"
		MA "a=mid:b\r\na=ice-ufrag:mine\r\na=setup:passive\r\n"
		FP "a=fingerprint:sha-1 03:04\r\n"
		MA "a=mid:c\r\n" MA "a=mid:d\r\n" MA;
	const struct sbc_sdp_stream *st;
	struct sbc_sdp sdp;

	(void)state;

	assert_int_equal(sdp_parse_str(s, &sdp), 0);
	assert_int_equal(sdp.count, 5);
	assert_true(sdp.ice_lite);

	st = sdp.streams;
	sdp_assert_pl(&st[0].ice_ufrag, "sess");
	sdp_assert_pl(&st[0].ice_pwd, "sesspwd");
	sdp_assert_pl(&st[0].fingerprint, "sha-1 01:02");
	assert_int_equal(st[0].setup, SBC_SDP_SETUP_ACTPASS);
	sdp_assert_pl(&st[1].ice_ufrag, "mine");
	sdp_assert_pl(&st[1].ice_pwd, "sesspwd");
	sdp_assert_pl(&st[1].fingerprint, "sha-256 AB:CD:EF:01");
	assert_int_equal(st[1].setup, SBC_SDP_SETUP_PASSIVE);

	/* "b a": b's group, its first named m-line */
	assert_int_equal(st[0].bundle, 1);
	assert_int_equal(st[1].bundle, 1);
	assert_int_equal(st[2].bundle, 2);
	assert_int_equal(st[3].bundle, -1);
	assert_int_equal(st[4].bundle, -1);
	sdp_assert_pl(&st[4].mid, "");
}


/* Sixteen BUNDLE groups, not one more; ICE credentials of 256 bytes. */
static void test_bounds(void **state)
{
	char buf[2048], *p;
	struct sbc_sdp sdp;
	unsigned i;

	(void)state;

	p = buf + re_snprintf(buf, sizeof(buf), HDR);
	for (i = 0; i < SBC_SDP_STREAMS_MAX; i++)
		p += re_snprintf(p, 32, "a=group:BUNDLE\r\n");
	re_snprintf(p, 64, MA);
	assert_int_equal(sdp_parse_str(buf, &sdp), 0);
	re_snprintf(p, 64, "a=group:BUNDLE\r\n" MA);
	assert_int_equal(sdp_parse_str(buf, &sdp), EBADMSG);

	p = buf + re_snprintf(buf, sizeof(buf), HDR MA "a=ice-pwd:");
	memset(p, 'x', SBC_SDP_ICE_MAX);
	re_snprintf(p + SBC_SDP_ICE_MAX, 8, "\r\n");
	assert_int_equal(sdp_parse_str(buf, &sdp), 0);
	assert_int_equal(sdp.streams[0].ice_pwd.l, SBC_SDP_ICE_MAX);
	re_snprintf(p + SBC_SDP_ICE_MAX, 8, "x\r\n");
	assert_int_equal(sdp_parse_str(buf, &sdp), EBADMSG);

	/* a sha-512 fingerprint, and one byte more */
	p = buf + re_snprintf(buf, sizeof(buf), HDR MA "a=fingerprint:"
			      "sha-512 AB");
	for (i = 1; i < 64; i++)
		p += re_snprintf(p, 8, ":%02X", i);
	re_snprintf(p, 8, "\r\n");
	assert_int_equal(sdp_parse_str(buf, &sdp), 0);
	re_snprintf(p, 8, ":FF\r\n");
	assert_int_equal(sdp_parse_str(buf, &sdp), EBADMSG);
}


/* A dtls stream's null c= is ICE's default; a plain one's a hold. */
static void test_null_addr(void **state)
{
	static const char s[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
		"c=IN IP4 0.0.0.0\r\nt=0 0\r\n" MA "a=sendonly\r\n"
		"m=audio 4000 RTP/AVP 0\r\n";
	struct sbc_sdp sdp;

	(void)state;

	assert_int_equal(sdp_parse_str(s, &sdp), 0);
	assert_false(sdp.streams[0].null_addr);
	sdp_assert_sa(&sdp.streams[0].addr, "0.0.0.0", 9);
	sdp_assert_sa(&sdp.streams[0].rtcp, "0.0.0.0", 10);
	assert_int_equal(sdp.streams[0].dir, SBC_SDP_SENDONLY);
	assert_true(sdp.streams[1].null_addr);
	assert_false(sa_isset(&sdp.streams[1].addr, SA_ADDR));
}


/* Rewrite the hand-written s for loc; the rewrite in a new mbuf. */
static struct mbuf *print_str(const char *s, const struct sbc_sdp_local *loc,
			      struct sbc_sdp *out)
{
	struct sbc_sdp in;
	struct pl text;

	pl_set_str(&text, s);
	assert_int_equal(sbc_sdp_parse(&in, &text), 0);

	return print_ok(&text, &in, loc, out);
}


static void assert_has(const struct mbuf *mb, const char *s)
{
	if (!memmem(mb->buf, mb->end, s, strlen(s)))
		fail_dump(mb, s);
}


static void assert_hasnt(const struct mbuf *mb, const char *s)
{
	if (memmem(mb->buf, mb->end, s, strlen(s)))
		fail_dump(mb, s);
}


/* A plain hold (c=0.0.0.0) is a direction for a browser. */
static void test_hold(void **state)
{
	static const char held[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n"
		"s=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\n"
		"m=audio 4002 RTP/AVP 0\r\na=sendonly\r\n"
		"m=audio 4004 RTP/AVP 0\r\nc=IN IP4 192.0.2.10\r\n";
	static const char sess_dir[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n"
		"s=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=recvonly\r\n"
		"m=audio 4000 RTP/AVP 0\r\n";
	/* a plain stream held under a browser's session c=: toward a
	 * plain party the c= is the relay's, the hold a=inactive */
	static const char mixed[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n"
		"s=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" MA
		"m=audio 4000 RTP/AVP 0\r\n";
	struct sbc_sdp_local loc;
	struct sbc_sdp out;
	struct mbuf *mb;

	(void)state;

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	mb = print_str(held, &loc, &out);
	assert_has(mb, "c=IN IP4 192.0.2.1\r\nt=0 0\r\n");
	assert_int_equal(out.streams[0].dir, SBC_SDP_INACTIVE);
	assert_int_equal(out.streams[1].dir, SBC_SDP_SENDONLY);
	assert_int_equal(out.streams[2].dir, SBC_SDP_SENDRECV);
	assert_int_equal(attr_count(&tout, 1, "inactive"), 1);
	assert_int_equal(attr_count(&tout, 2, "inactive"), 0);
	mem_deref(mb);

	mb = print_str(sess_dir, &loc, &out);
	assert_int_equal(out.streams[0].dir, SBC_SDP_RECVONLY);
	assert_hasnt(mb, "a=inactive");
	mem_deref(mb);

	local_plain(&loc, local4);
	mb = print_str(mixed, &loc, &out);
	assert_hasnt(mb, "0.0.0.0");
	assert_false(out.streams[0].null_addr || out.streams[1].null_addr);
	assert_int_equal(out.streams[0].dir, SBC_SDP_SENDRECV);
	assert_int_equal(out.streams[1].dir, SBC_SDP_INACTIVE);
	mem_deref(mb);
}


/* What neither side can carry is declined; a browser still gets mids. */
static void test_refused(void **state)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp out, in;
	struct mbuf *mb;
	struct pl text;
	char *buf;

	(void)state;

	local_plain(&loc, local4);
	buf = sdp_corpus_read("chrome_datachannel_offer.sdp", &text);
	assert_int_equal(sbc_sdp_parse(&in, &text), 0);
	mb = print_ok(&text, &in, &loc, &out);
	assert_has(mb, "\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel"
		   "\r\nc=IN IP4 192.0.2.1\r\n");
	assert_int_equal(tout.at[3] - tout.at[2], 2);
	mem_deref(mb);

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	mb = print_ok(&text, &in, &loc, &out);
	assert_has(mb, "a=group:BUNDLE 0\r\nm=audio 20000 ");
	assert_has(mb, "\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel"
		   "\r\nc=IN IP4 192.0.2.1\r\na=mid:1\r\n");
	mem_deref(mb);
	free(buf);

	/* T.38 toward a browser: no live stream, no group */
	buf = sdp_corpus_read("t38_offer.sdp", &text);
	assert_int_equal(sbc_sdp_parse(&in, &text), 0);
	mb = print_ok(&text, &in, &loc, &out);
	assert_has(mb, "t=0 0\r\na=ice-lite\r\nm=image 0 udptl t38\r\n"
		   "a=mid:0\r\n");
	assert_hasnt(mb, "a=group");
	assert_hasnt(mb, "T38");
	mem_deref(mb);
	free(buf);
}


/* A browser's bundle-only m-section is live: toward a plain party it has
 * its own port, toward a browser the group's. */
static void test_bundle_only(void **state)
{
	struct sbc_sdp_local loc;
	struct sbc_sdp out, in;
	struct mbuf *mb;
	struct pl text;
	char *buf;

	(void)state;

	buf = sdp_corpus_read("chrome_maxbundle_offer.sdp", &text);
	assert_int_equal(sbc_sdp_parse(&in, &text), 0);
	assert_int_equal(in.streams[1].port, 0);

	local_plain(&loc, local4);
	mb = print_ok(&text, &in, &loc, &out);
	assert_int_equal(out.streams[1].port, loc.rtp[1]);
	assert_has(mb, "\r\nm=video 20010 RTP/AVP 96 97 102 103\r\n");
	mem_deref(mb);

	local_webrtc(&loc, local6, true, SBC_SDP_SETUP_PASSIVE);
	mb = print_ok(&text, &in, &loc, &out);
	assert_int_equal(out.streams[1].port, loc.rtp[0]);
	assert_has(mb, "a=group:BUNDLE 0 1\r\n");
	assert_hasnt(mb, "bundle-only");
	mem_deref(mb);
	free(buf);
}


/* Toward a browser the relay's mids may be given, and must differ. */
static void test_mids(void **state)
{
	static const char clash[] = HDR "m=audio 4000 RTP/AVP 0\r\n"
		"m=audio 4002 RTP/AVP 0\r\na=mid:0\r\n";
	struct sbc_sdp_local loc;
	struct sbc_sdp out, in;
	struct mbuf *mb;

	(void)state;

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	mb = mbuf_alloc(256);
	assert_non_null(mb);
	assert_int_equal(sdp_parse_str(clash, &in), 0);
	assert_int_equal(sbc_sdp_print(mb, &(struct pl)PL(clash), &in, &loc),
			 EBADMSG);
	assert_int_equal(mb->end, 0);

	str_ncpy(loc.mid[0], "audio", sizeof(loc.mid[0]));
	str_ncpy(loc.mid[1], "audio", sizeof(loc.mid[1]));
	assert_int_equal(sbc_sdp_print(mb, &(struct pl)PL(clash), &in, &loc),
			 EBADMSG);
	mem_deref(mb);

	str_ncpy(loc.mid[1], "audio2", sizeof(loc.mid[1]));
	mb = print_str(clash, &loc, &out);
	assert_has(mb, "a=group:BUNDLE audio audio2\r\n");
	sdp_assert_pl(&out.streams[0].mid, "audio");
	sdp_assert_pl(&out.streams[1].mid, "audio2");
	mem_deref(mb);
}


/* Rewrite a plain SDP after "prefix" in mb: err, and when refused mb
 * as it was. */
static void print_refused(struct sbc_sdp_local *loc, int err)
{
	static const char s[] = HDR "m=audio 4000 RTP/AVP 0\r\n";
	struct mbuf *mb = mbuf_alloc(64);
	struct sbc_sdp sdp;

	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, "prefix"), 0);
	assert_int_equal(sdp_parse_str(s, &sdp), 0);
	assert_int_equal(sbc_sdp_print(mb, &(struct pl)PL(s), &sdp, loc), err);
	if (err) {
		assert_int_equal(mb->pos, 6);
		assert_int_equal(mb->end, 6);
	}
	mem_deref(mb);
}


static void test_print_args(void **state)
{
	struct sbc_sdp_local loc;

	(void)state;

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	loc.ice_ufrag = NULL;
	print_refused(&loc, EINVAL);
	loc.ice_ufrag = "has space";
	print_refused(&loc, EINVAL);
	loc.ice_ufrag = "";
	print_refused(&loc, EINVAL);

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	loc.ice_pwd = NULL;
	print_refused(&loc, EINVAL);

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	loc.fingerprint = "sha-256";
	print_refused(&loc, EINVAL);
	loc.fingerprint = NULL;
	print_refused(&loc, EINVAL);

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_NONE);
	print_refused(&loc, EINVAL);
	loc.setup = SBC_SDP_SETUP_HOLDCONN;
	print_refused(&loc, EINVAL);
	loc.setup = (enum sbc_sdp_setup)9;
	print_refused(&loc, EINVAL);

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	loc.profile = (enum sbc_sdp_profile)2;
	print_refused(&loc, EINVAL);

	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	str_ncpy(loc.mid[0], "a:b", sizeof(loc.mid[0]));
	print_refused(&loc, EINVAL);
	memset(loc.mid[0], 'a', sizeof(loc.mid[0]));
	print_refused(&loc, EINVAL);

	/* the credentials are not read toward a plain party */
	local_plain(&loc, local4);
	loc.setup = SBC_SDP_SETUP_HOLDCONN;
	str_ncpy(loc.mid[0], "a:b", sizeof(loc.mid[0]));
	print_refused(&loc, 0);
}


/* The relay's lines count in the bounds. */
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
	big = malloc(SBC_SDP_SIZE_MAX);
	assert_non_null(big);

	/* within bounds toward a plain party, not with the relay's lines */
	n = re_snprintf(big, SBC_SDP_SIZE_MAX, "%s", HDR
			"m=audio 4000 RTP/AVP 0\r\n");
	while (n + 11 <= SBC_SDP_SIZE_MAX - 200)
		n += re_snprintf(big + n, 12, "a=x:12345\r\n");
	text.p = big;
	text.l = n;
	assert_int_equal(sbc_sdp_parse(&sdp, &text), 0);
	local_plain(&loc, local4);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &loc), 0);
	mbuf_rewind(mb);
	local_webrtc(&loc, local4, true, SBC_SDP_SETUP_ACTPASS);
	assert_int_equal(sbc_sdp_print(mb, &text, &sdp, &loc), EOVERFLOW);
	assert_int_equal(mb->end, 0);

	free(big);
	mem_deref(mb);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_to_plain, unit_teardown),
		cmocka_unit_test_teardown(test_to_webrtc, unit_teardown),
		cmocka_unit_test_teardown(test_values, unit_teardown),
		cmocka_unit_test_teardown(test_whole, unit_teardown),
		cmocka_unit_test_teardown(test_cases, unit_teardown),
		cmocka_unit_test_teardown(test_protos, unit_teardown),
		cmocka_unit_test_teardown(test_levels, unit_teardown),
		cmocka_unit_test_teardown(test_bounds, unit_teardown),
		cmocka_unit_test_teardown(test_null_addr, unit_teardown),
		cmocka_unit_test_teardown(test_hold, unit_teardown),
		cmocka_unit_test_teardown(test_refused, unit_teardown),
		cmocka_unit_test_teardown(test_bundle_only, unit_teardown),
		cmocka_unit_test_teardown(test_mids, unit_teardown),
		cmocka_unit_test_teardown(test_print_args, unit_teardown),
		cmocka_unit_test_teardown(test_print_bounds, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
