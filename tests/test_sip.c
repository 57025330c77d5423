/*
 * Unit tests of the SIP core's message handling (workers/): what a
 * forwarded request and response look like, the Record-Route that brings
 * in-dialog requests back to the user, received/rport, and hostile input.
 * The proxy's behaviour end to end, with real peers, is tested in it/sip/.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "shm/backend.h"
#include "workers/core.h"
#include "workers/balance.h"

enum {
	L_ACCESS_UDP = 0,
	L_ACCESS_WS,
	L_CORE_UDP,
	L_COUNT
};

struct fixture {
	struct sbc_config cfg;
	struct sbc_listener_conf lst[L_COUNT];
	struct sbc_backend_conf be[1];
	struct sbc_bk_view view;       /* backend 0 in slot 0 */
	struct sbc_core core;
};


static void listener_set(struct sbc_listener_conf *l, enum sbc_side side,
			 enum sbc_transport tp, uint16_t port)
{
	l->side = side;
	l->transport = tp;
	assert_int_equal(sa_set_str(&l->addr, "127.0.0.1", port), 0);
}


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);

	listener_set(&f->lst[L_ACCESS_UDP], SBC_SIDE_ACCESS, SBC_TP_UDP, 5060);
	listener_set(&f->lst[L_ACCESS_WS], SBC_SIDE_ACCESS, SBC_TP_WS, 8080);
	listener_set(&f->lst[L_CORE_UDP], SBC_SIDE_CORE, SBC_TP_UDP, 5062);
	assert_int_equal(sa_set_str(&f->be[0].addr, "127.0.0.1", 5080), 0);

	f->cfg.listeners = f->lst;
	f->cfg.listener_count = L_COUNT;
	f->cfg.backends = f->be;
	f->cfg.backend_count = 1;
	f->cfg.t1_ms = 500;
	f->cfg.workers = 1;

	f->core.cfg = &f->cfg;
	f->core.workers = 1;
	f->view.slot[0].known = true;
	f->view.slot[0].addr = f->be[0].addr;
	f->view.known_count = 1;
	f->core.bk = &f->view;

	*state = f;

	return 0;
}


static int teardown(void **state)
{
	free(*state);

	return 0;
}


/* Parse `text` as received on listener l from ip:port. */
static void in_parse(struct sbc_in *in, const struct fixture *f,
		     const char *text, uint16_t l, const char *ip,
		     uint16_t port, uint64_t conn)
{
	struct mbuf *mb = mbuf_alloc(strlen(text));

	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, text), 0);
	mb->pos = 0;

	memset(in, 0, sizeof(*in));
	assert_int_equal(sip_msg_decode(&in->msg, mb), 0);
	mem_deref(mb);

	in->src.listener = l;
	in->src.conn = conn;
	in->src.tp = f->lst[l].transport;
	in->side = f->lst[l].side;
	assert_int_equal(sa_set_str(&in->src.addr, ip, port), 0);

	in->body.p = (const char *)mbuf_buf(in->msg->mb);
	in->body.l = mbuf_get_left(in->msg->mb);
}


static char *mb_str(struct mbuf *mb)
{
	char *s = NULL;

	mb->pos = 0;
	assert_int_equal(mbuf_strdup(mb, &s, mb->end), 0);

	return s;
}


static const char invite_ws[] =
	"INVITE sip:bob@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bK776asdhds\r\n"
	"Max-Forwards: 70\r\n"
	"To: <sip:bob@example.com>\r\n"
	"From: <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:alice@abc.invalid;transport=ws;ob>;+sip.ice\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 4\r\n"
	"\r\n"
	"v=0\n";


/* A WebSocket user's INVITE as the backend sees it: sbcd's Via only, the
 * Contact at the real source, a Record-Route pair, nothing of ws. */
static void test_fwd_request_hides_ws(void **state)
{
	struct fixture *f = *state;
	struct sbc_in in;
	struct sbc_dest dst = {.listener = L_CORE_UDP, .tp = SBC_TP_UDP};
	struct sbc_fwd fwd = {
		.dst = &dst, .branch = "z9hG4bKsbctest",
		.record_route = true, .rewrite_contact = true,
	};
	struct mbuf *mb = NULL;
	char *s;

	in_parse(&in, f, invite_ws, L_ACCESS_WS, "127.0.0.9", 40000,
		 0x0100000000000007ull);
	fwd.rr_user = &in.src;
	dst.addr = f->be[0].addr;

	assert_int_equal(sbc_fwd_request(&mb, &f->core, &in, &fwd), 0);
	s = mb_str(mb);

	assert_non_null(strstr(s, "INVITE sip:bob@example.com SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP 127.0.0.1:5062;"
			       "branch=z9hG4bKsbctest;rport\r\n"
			       "Max-Forwards: 69\r\n"));
	assert_null(strstr(s, "invalid"));
	assert_null(strstr(s, "WSS"));
	assert_null(strstr(s, "transport=ws"));
	assert_non_null(strstr(s, "Contact: <sip:alice@127.0.0.9:40000>"
			       ";+sip.ice\r\n"));
	assert_non_null(strstr(s, "Record-Route: <sip:127.0.0.1:5062;lr>\r\n"
			       "Record-Route: <sip:127.0.0.1:8080;"
			       "lr;sbcu=1-100000000000007-"
			       "40000-127.0.0.9;sbcn=0>\r\n"));
	assert_non_null(strstr(s, "Content-Length: 4\r\n\r\nv=0\n"));

	mem_deref(s);
	mem_deref(mb);
	mem_deref(in.msg);
}


/* The Record-Route sbcd printed comes back as Route: both values are
 * sbcd's, and the access one says where the user is. */
static void test_route_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct sbc_in in;
	struct sbc_route rt;
	static const char bye[] =
		"BYE sip:alice@127.0.0.9:40000 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbe1\r\n"
		"Route: <sip:127.0.0.1:5062;lr>\r\n"
		"Route: <sip:127.0.0.1:8080;lr;"
		"sbcu=1-100000000000007-40000-127.0.0.9;sbcn=0>\r\n"
		"Route: <sip:10.0.0.1;lr>\r\n"
		"To: <sip:alice@example.com>;tag=1\r\n"
		"From: <sip:bob@example.com>;tag=2\r\n"
		"Call-ID: c1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";

	in_parse(&in, f, bye, L_CORE_UDP, "127.0.0.1", 5080, 0);
	sbc_route_scan(&f->core, in.msg, &rt);

	assert_int_equal(rt.popped, 2);
	assert_true(rt.has_user);
	assert_int_equal(rt.user.listener, L_ACCESS_WS);
	assert_int_equal(rt.user.tp, SBC_TP_WS);
	assert_true(rt.user.conn == 0x0100000000000007ull);
	assert_int_equal(sa_port(&rt.user.addr), 40000);
	assert_true(rt.has_backend);
	assert_int_equal(rt.backend, 0);
	assert_non_null(rt.next);

	mem_deref(in.msg);
}


/* A forged user target on the core side's listener is refused. */
static void test_route_user_must_be_access(void **state)
{
	struct fixture *f = *state;
	struct sbc_in in;
	struct sbc_route rt;
	static const char bye[] =
		"BYE sip:x@10.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.9:5000;branch=z9hG4bKf1\r\n"
		"Route: <sip:127.0.0.1:5060;lr;sbcu=2-0-9-10.0.0.1>\r\n"
		"To: <sip:a@b>;tag=1\r\nFrom: <sip:c@d>;tag=2\r\n"
		"Call-ID: c2\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";

	in_parse(&in, f, bye, L_ACCESS_UDP, "127.0.0.9", 5000, 0);
	sbc_route_scan(&f->core, in.msg, &rt);

	assert_int_equal(rt.popped, 1);
	assert_false(rt.has_user);

	mem_deref(in.msg);
}


/* The response goes back with the request's own Vias, received/rport in
 * the top one, and sbcd's Via gone. */
static void test_fwd_response_restores_vias(void **state)
{
	struct fixture *f = *state;
	struct sbc_in req, rsp;
	struct mbuf *mb = NULL;
	char *s;
	static const char reg[] =
		"OPTIONS sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.168.1.2:5060;rport;branch=z9hG4bKa\r\n"
		"Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKb\r\n"
		"To: <sip:bob@example.com>\r\n"
		"From: <sip:alice@example.com>;tag=9\r\n"
		"Call-ID: c3\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	static const char ok[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKsbcx;rport\r\n"
		"To: <sip:bob@example.com>;tag=7\r\n"
		"From: <sip:alice@example.com>;tag=9\r\n"
		"Call-ID: c3\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

	in_parse(&req, f, reg, L_ACCESS_UDP, "203.0.113.5", 61000, 0);
	in_parse(&rsp, f, ok, L_CORE_UDP, "127.0.0.1", 5080, 0);

	assert_int_equal(sbc_fwd_response(&mb, &rsp, &req, NULL, NULL), 0);
	s = mb_str(mb);

	assert_non_null(strstr(s, "SIP/2.0 200 OK\r\n"
			       "Via: SIP/2.0/UDP 192.168.1.2:5060;"
			       "branch=z9hG4bKa;received=203.0.113.5;"
			       "rport=61000\r\n"
			       "Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKb\r\n"));
	assert_null(strstr(s, "z9hG4bKsbcx"));

	mem_deref(s);
	mem_deref(mb);
	mem_deref(req.msg);
	mem_deref(rsp.msg);
}


/* A reply of sbcd's own: a To tag, and the same tag for a retransmission. */
static void test_reply_tag_stable(void **state)
{
	struct fixture *f = *state;
	struct sbc_in in;
	struct mbuf *a = mbuf_alloc(512), *b = mbuf_alloc(512);
	char *sa, *sb;

	in_parse(&in, f, invite_ws, L_ACCESS_WS, "127.0.0.9", 40000, 0);

	assert_int_equal(sbc_reply_print(a, &in, 404, "Not Found", NULL), 0);
	assert_int_equal(sbc_reply_print(b, &in, 404, "Not Found", NULL), 0);
	sa = mb_str(a);
	sb = mb_str(b);

	assert_string_equal(sa, sb);
	assert_non_null(strstr(sa, "To: <sip:bob@example.com>;tag=sbc"));
	assert_non_null(strstr(sa, "CSeq: 314159 INVITE\r\n"));

	mem_deref(sa);
	mem_deref(sb);
	mem_deref(a);
	mem_deref(b);
	mem_deref(in.msg);
}


/* Max-Forwards: decremented, added when absent. */
static void test_max_forwards(void **state)
{
	struct fixture *f = *state;
	struct sbc_in in;
	struct sbc_dest dst = {.listener = L_CORE_UDP, .tp = SBC_TP_UDP};
	struct sbc_fwd fwd = {.dst = &dst, .branch = "z9hG4bKsbcmf"};
	struct mbuf *mb = NULL;
	char *s;
	static const char msg[] =
		"MESSAGE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.9:5000;branch=z9hG4bKm\r\n"
		"To: <sip:bob@example.com>\r\nFrom: <sip:a@b>;tag=2\r\n"
		"Call-ID: c4\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";

	in_parse(&in, f, msg, L_ACCESS_UDP, "127.0.0.9", 5000, 0);
	assert_int_equal(sbc_fwd_request(&mb, &f->core, &in, &fwd), 0);
	s = mb_str(mb);
	assert_non_null(strstr(s, "\r\nMax-Forwards: 70\r\n"));

	mem_deref(s);
	mem_deref(mb);
	mem_deref(in.msg);
}


/* In a dialog whose CSeqs sbcd shifted: the request gets its new number,
 * a PRACK's RAck the same shift, and the response the request's own. */
static void test_cseq_shift(void **state)
{
	struct fixture *f = *state;
	struct sbc_in req, rsp;
	struct sbc_dest dst = {.listener = L_CORE_UDP, .tp = SBC_TP_UDP};
	struct sbc_fwd fwd = {.dst = &dst, .branch = "z9hG4bKsbccs",
			      .cseq = 9};
	struct mbuf *mb = NULL;
	char *s;
	static const char prack[] =
		"PRACK sip:bob@10.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.9:5000;branch=z9hG4bKp\r\n"
		"To: <sip:bob@example.com>;tag=7\r\nFrom: <sip:a@b>;tag=2\r\n"
		"Call-ID: c5\r\nCSeq: 3 PRACK\r\nRAck: 1 2 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char ok[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKsbccs;rport\r\n"
		"To: <sip:bob@example.com>;tag=7\r\nFrom: <sip:a@b>;tag=2\r\n"
		"Call-ID: c5\r\nCSeq: 9 PRACK\r\nContent-Length: 0\r\n\r\n";

	in_parse(&req, f, prack, L_ACCESS_UDP, "127.0.0.9", 5000, 0);
	assert_int_equal(sbc_fwd_request(&mb, &f->core, &req, &fwd), 0);
	s = mb_str(mb);
	assert_non_null(strstr(s, "\r\nCSeq: 9 PRACK\r\n"));
	assert_non_null(strstr(s, "\r\nRAck: 1 8 INVITE\r\n"));
	mem_deref(s);
	mb = mem_deref(mb);

	in_parse(&rsp, f, ok, L_CORE_UDP, "127.0.0.1", 5080, 0);
	assert_int_equal(sbc_fwd_response(&mb, &rsp, &req, NULL, NULL), 0);
	s = mb_str(mb);
	assert_non_null(strstr(s, "\r\nCSeq: 3 PRACK\r\n"));

	mem_deref(s);
	mem_deref(mb);
	mem_deref(req.msg);
	mem_deref(rsp.msg);
}


/* An advertised host replaces the listener's address in what sbcd puts in
 * Via and Record-Route: a public address or a VIP in front of it. */
static void test_advertise(void **state)
{
	struct fixture *f = *state;
	struct sbc_in in;
	struct sbc_dest dst = {.listener = L_CORE_UDP, .tp = SBC_TP_UDP};
	struct sbc_fwd fwd = {
		.dst = &dst, .branch = "z9hG4bKsbcadv", .record_route = true,
	};
	struct mbuf *mb = NULL;
	char core_adv[] = "10.20.30.40", access_adv[] = "sbc.example.net";
	char *s;

	f->cfg.advertise[SBC_SIDE_CORE] = core_adv;
	f->cfg.advertise[SBC_SIDE_ACCESS] = access_adv;

	in_parse(&in, f, invite_ws, L_ACCESS_UDP, "127.0.0.9", 40000, 0);
	fwd.rr_user = &in.src;
	assert_int_equal(sbc_fwd_request(&mb, &f->core, &in, &fwd), 0);
	s = mb_str(mb);

	assert_non_null(strstr(s, "Via: SIP/2.0/UDP 10.20.30.40:5062;"));
	assert_non_null(strstr(s, "Record-Route: <sip:10.20.30.40:5062;lr>"));
	assert_non_null(strstr(s, "Record-Route: <sip:sbc.example.net:5060;"
			       "lr;sbcu="));
	assert_null(strstr(s, "127.0.0.1:506"));

	f->cfg.advertise[SBC_SIDE_CORE] = NULL;
	f->cfg.advertise[SBC_SIDE_ACCESS] = NULL;
	mem_deref(s);
	mem_deref(mb);
	mem_deref(in.msg);
}


static void scan_expect(const char *text, const char *callid)
{
	struct pl pl;
	int err = sbc_callid_scan((const uint8_t *)text, strlen(text), &pl);

	if (!callid) {
		assert_int_equal(err, ENOENT);
		return;
	}

	assert_int_equal(err, 0);
	assert_int_equal(pl.l, strlen(callid));
	assert_memory_equal(pl.p, callid, pl.l);
}


/* The Call-ID found before parsing decides the owner worker. */
static void test_callid_scan(void **state)
{
	(void)state;

	scan_expect("INVITE sip:a@b SIP/2.0\r\nVia: x\r\n"
		    "Call-ID:  abc@h \r\n\r\n", "abc@h");
	scan_expect("SIP/2.0 200 OK\r\ni : k1\r\n\r\n", "k1");
	scan_expect("BYE x SIP/2.0\r\nCALL-ID:\tq\r\n", "q");
	scan_expect("BYE x SIP/2.0\r\nX-Call-ID: no\r\n\r\n", NULL);
	scan_expect("BYE x SIP/2.0\r\nVia: v\r\n\r\nCall-ID: body\r\n",
		    NULL);
	scan_expect("BYE x SIP/2.0\r\nCall-ID:\r\n\r\n", NULL);
	scan_expect("BYE x SIP/2.0\r\nCall-ID: cut", NULL);
	scan_expect("no newline at all", NULL);
	scan_expect("", NULL);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fwd_request_hides_ws,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_roundtrip,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_user_must_be_access,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_fwd_response_restores_vias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_tag_stable,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_forwards,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cseq_shift, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_advertise, setup,
						teardown),
		cmocka_unit_test(test_callid_scan),
	};
	int fails;

	if (libre_init())
		return 1;

	fails = cmocka_run_group_tests(tests, NULL, NULL);

	libre_close();

	return fails;
}
