/*
 * relay_probe: a browser's transport, played toward sbcd's relay for
 * test_relay.py, one command at a time.
 *
 * It does on its UDP socket what a browser does on its one bundled
 * transport toward an ICE-lite relay that answered its offer with
 * a=setup:passive: ICE checks (it is the controlling agent), a DTLS
 * client handshake, SRTP both ways, on the relay's own rtp/dtls.c and
 * rtp/srtp.c. Nothing happens on its own: the test says what to send and
 * when, so it can also do what a browser would not (a wrong password, a
 * tampered or replayed packet, media from a second socket, no checks for
 * 30 s) and see the relay's reaction.
 *
 * One command per line on stdin, one JSON object per line on stdout for
 * each, with "cmd" and "ok" (false: "error" says why):
 *
 *   cert                    make a certificate: {"fingerprint"}; the next
 *                           dtls shows it (the current association and
 *                           its keys stay until then)
 *   bind PORT               the main socket on 127.0.0.1:PORT (0: any):
 *                           {"port"}
 *   check HOST PORT LUFRAG RUFRAG PWD [use] [from=P]
 *                           a Binding request to HOST:PORT, USERNAME
 *                           "LUFRAG:RUFRAG" (the relay's ufrag, then
 *                           ours: RFC 8445 7.2.2), PRIORITY, ICE-
 *                           CONTROLLING, USE-CANDIDATE with "use",
 *                           MESSAGE-INTEGRITY keyed with PWD (the relay's
 *                           password), FINGERPRINT; waits 500 ms for the
 *                           answer: {"from", "answered", "integrity",
 *                           "fingerprint", "mapped", "mapped_ok"}
 *   dtls HOST PORT FINGERPRINT [ms=T]
 *                           a DTLS client handshake with the current
 *                           certificate, the relay's checked against
 *                           FINGERPRINT ("sha-256 AB:..."), at most T ms
 *                           (5000): {"state": connected, failed or
 *                           timeout, "suite"}; once connected its keys
 *                           replace the old ones
 *   send N [plain] [tamper] [replay] [from=P]
 *                           N packets, 20 ms apart, to the last check's
 *                           or dtls's HOST:PORT: SRTP of G.711 (PT 0);
 *                           with plain, the RTP unprotected; with tamper,
 *                           one payload bit flipped after protect; with
 *                           replay, the last protected packet again.
 *                           {"sent", "from", "ssrc", "first_seq",
 *                           "last_seq"}
 *   recv MS                 runs MS ms, then tells what came on the main
 *                           socket since the last recv: {"srtp" (SRTP
 *                           that unprotected), "failed", "replayed",
 *                           "nokey" (SRTP before keys), "rtcp", "stun",
 *                           "dtls", "stray" (from elsewhere than the
 *                           relay), "other" (on the from= sockets),
 *                           "seqs" (of the first 256), "first" (the
 *                           first unprotected packet, hex)}
 *   quit
 *
 * from=P sends from a second socket of the probe, on 127.0.0.1:P, opened
 * on first use (from=0: one on a port of the kernel's choice), to play a
 * third party or a browser that moved.
 *
 * The RTP it sends: version 2, PT 0, SSRC 0x5bcd7e57, sequence numbers
 * from 1 on across all sends, timestamp 160 * seq, 160 bytes of payload
 * where byte k is (seq + k) mod 256: the test rebuilds each packet from
 * its sequence number.
 *
 * The loop is libre's, run only while a command lasts (re_main until a
 * timer or the awaited event calls re_cancel): DTLS retransmissions and
 * reads happen then; between commands datagrams wait in the sockets.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <re.h>
#include "rtp/srtp.h"
#include "rtp/dtls.h"

enum {
	SSRC = 0x5bcd7e57,
	PAYLOAD = 160,             /* G.711, 20 ms */
	RTP_HDR = 12,
	PKT_SIZE = 256,            /* RTP + SRTP tag */
	CHECK_MS = 500,
	DTLS_MS = 5000,
	PACE_MS = 20,
	EXTRA_MAX = 4,             /* from= sockets */
	SEQS_MAX = 256,
	LINE_SIZE = 1024,
	RTCP_PT_MIN = 192,
	RTCP_PT_MAX = 223,
	/* a peer-reflexive candidate's priority (RFC 8445 5.1.2.1) */
	PRIORITY = (110u << 24) | (65535u << 8) | 255u,
};

struct sock {
	int fd;                    /* -1: not open */
	uint16_t want;             /* the port asked for (0: any) */
	struct sa local;
	bool main;
};

/* What came on the main socket since the last recv. */
struct rx_stats {
	unsigned srtp, failed, replayed, nokey, rtcp, stun, dtls, stray;
	unsigned other;
	uint16_t seqs[SEQS_MAX];
	unsigned nseqs;
	uint8_t first[PKT_SIZE];
	size_t first_len;
};

struct probe {
	struct sock main;
	struct sock extra[EXTRA_MAX];
	struct sa relay;           /* where checks, DTLS and media go */
	struct sbc_dtls_cert *cert;
	struct sbc_dtls *dtls;
	int dtls_err;              /* the handshake's outcome, -1: none yet */
	struct sbc_srtp *tx, *rx;
	enum sbc_srtp_suite suite;
	uint16_t seq;
	_Alignas(4) uint8_t last[PKT_SIZE];   /* the last protected packet */
	size_t last_len;

	/* the check in flight */
	struct sock *check_sock;
	uint8_t tid[STUN_TID_SIZE];
	const char *check_pwd;
	bool answered, integrity, fingerprint, mapped_ok;
	struct sa mapped;

	struct rx_stats rx_stats;
	struct mbuf *mb;
};

static struct probe P;


static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}


/* Runs libre's loop for ms, or until a handler calls re_cancel(). */
static void loop_run(uint64_t ms)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, stop_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}


static void check_answer(struct probe *p, struct sock *s, const uint8_t *buf,
			 size_t len)
{
	struct stun_msg *msg = NULL;
	const struct stun_attr *xma;

	if (s != p->check_sock || p->answered)
		return;

	mbuf_reset(p->mb);
	if (mbuf_write_mem(p->mb, buf, len))
		return;
	p->mb->pos = 0;

	if (stun_msg_decode(&msg, p->mb, NULL) ||
	    stun_msg_class(msg) != STUN_CLASS_SUCCESS_RESP ||
	    memcmp(stun_msg_tid(msg), p->tid, sizeof(p->tid)))
		goto out;

	p->answered = true;
	p->fingerprint = !stun_msg_chk_fingerprint(msg);
	p->integrity = !stun_msg_chk_mi(msg, (const uint8_t *)p->check_pwd,
					strlen(p->check_pwd));
	xma = stun_msg_attr(msg, STUN_ATTR_XOR_MAPPED_ADDR);
	if (xma) {
		p->mapped = xma->v.xor_mapped_addr;
		p->mapped_ok = sa_cmp(&p->mapped, &s->local, SA_ALL);
	}
	re_cancel();

 out:
	mem_deref(msg);
}


static void srtp_in(struct probe *p, uint8_t *buf, size_t len)
{
	struct rx_stats *st = &p->rx_stats;
	int err;

	if (!p->rx) {
		++st->nokey;
		return;
	}

	if (len >= 8 && buf[1] >= RTCP_PT_MIN && buf[1] <= RTCP_PT_MAX) {
		if (!sbc_srtp_unprotect_rtcp(p->rx, buf, &len))
			++st->rtcp;
		else
			++st->failed;
		return;
	}

	err = sbc_srtp_unprotect(p->rx, buf, &len);
	if (err == EALREADY) {
		++st->replayed;
		return;
	}
	if (err) {
		++st->failed;
		return;
	}

	if (!st->srtp++) {
		st->first_len = min(len, sizeof(st->first));
		memcpy(st->first, buf, st->first_len);
	}
	if (st->nseqs < SEQS_MAX)
		st->seqs[st->nseqs++] = (uint16_t)(buf[2] << 8 | buf[3]);
}


/* A datagram on one of our sockets, demultiplexed by its first byte
 * (RFC 7983). */
static void sock_readable(int flags, void *arg)
{
	struct sock *s = arg;
	struct probe *p = &P;
	_Alignas(4) uint8_t buf[2048];
	struct sa src;
	ssize_t n;

	(void)flags;

	for (;;) {
		sa_init(&src, AF_INET);
		n = recvfrom(s->fd, buf, sizeof(buf), 0, &src.u.sa, &src.len);
		if (n <= 0)
			return;

		if (buf[0] <= 3)
			check_answer(p, s, buf, (size_t)n);

		if (!s->main) {
			++p->rx_stats.other;
			continue;
		}
		if (!sa_cmp(&src, &p->relay, SA_ALL)) {
			++p->rx_stats.stray;
			continue;
		}

		if (buf[0] <= 3)
			++p->rx_stats.stun;
		else if (buf[0] >= 20 && buf[0] <= 63) {
			++p->rx_stats.dtls;
			if (p->dtls)
				(void)sbc_dtls_input(p->dtls, buf, (size_t)n);
		}
		else if (buf[0] >= 128 && buf[0] <= 191)
			srtp_in(p, buf, (size_t)n);
	}
}


static int sock_open(struct sock *s, uint16_t port, bool is_main)
{
	int err;

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return errno;

	sa_set_str(&s->local, "127.0.0.1", port);
	if (bind(s->fd, &s->local.u.sa, s->local.len) ||
	    getsockname(s->fd, &s->local.u.sa, &s->local.len)) {
		err = errno;
		goto out;
	}

	s->want = port;
	s->main = is_main;
	err = fd_listen(s->fd, FD_READ, sock_readable, s);

 out:
	if (err) {
		(void)close(s->fd);
		s->fd = -1;
	}
	return err;
}


static void sock_close(struct sock *s)
{
	if (s->fd < 0)
		return;

	fd_close(s->fd);
	(void)close(s->fd);
	s->fd = -1;
}


/* The socket of from=PORT, opened on first use; the main one without. */
static struct sock *sock_from(struct probe *p, int from)
{
	struct sock *free_slot = NULL;

	if (from < 0)
		return p->main.fd >= 0 ? &p->main : NULL;

	for (size_t i = 0; i < EXTRA_MAX; i++) {
		if (p->extra[i].fd >= 0 && p->extra[i].want == from)
			return &p->extra[i];
		if (p->extra[i].fd < 0 && !free_slot)
			free_slot = &p->extra[i];
	}

	if (!free_slot || sock_open(free_slot, (uint16_t)from, false))
		return NULL;

	return free_slot;
}


static void probe_dtls_send(const uint8_t *buf, size_t len, void *arg)
{
	struct probe *p = arg;

	(void)sendto(p->main.fd, buf, len, 0, &p->relay.u.sa, p->relay.len);
}


/* The handshake's outcome: on success the new keys replace the old. */
static void probe_dtls_estab(int err, void *arg)
{
	struct probe *p = arg;
	struct sbc_srtp_key tx, rx;
	struct sbc_srtp *ntx = NULL, *nrx = NULL;

	if (!err)
		err = sbc_dtls_srtp_keys(p->dtls, &tx, &rx);
	if (!err)
		err = sbc_srtp_alloc(&ntx, &tx, false);
	if (!err)
		err = sbc_srtp_alloc(&nrx, &rx, true);

	if (err) {
		mem_deref(ntx);
		mem_deref(nrx);
	}
	else {
		mem_deref(p->tx);
		mem_deref(p->rx);
		p->tx = ntx;
		p->rx = nrx;
		p->suite = tx.suite;
	}

	p->dtls_err = err;
	re_cancel();
}


/* The next packet of our stream, plain, into buf: its length. */
static size_t rtp_make(struct probe *p, uint8_t *buf)
{
	const uint16_t seq = htons(++p->seq);
	const uint32_t ts = htonl(160u * p->seq), ssrc = htonl(SSRC);

	buf[0] = 0x80;             /* version 2 */
	buf[1] = 0;                /* PCMU */
	memcpy(buf + 2, &seq, 2);
	memcpy(buf + 4, &ts, 4);
	memcpy(buf + 8, &ssrc, 4);
	for (size_t k = 0; k < PAYLOAD; k++)
		buf[RTP_HDR + k] = (uint8_t)(p->seq + k);

	return RTP_HDR + PAYLOAD;
}


/* Where the relay is: HOST PORT. */
static int relay_set(struct probe *p, const char *host, const char *port)
{
	return sa_set_str(&p->relay, host, (uint16_t)atoi(port));
}


/* Options after a command's arguments: flags, from= and ms=. */
struct opts {
	bool use, plain, tamper, replay;
	int from;                  /* -1: the main socket */
	int ms;                    /* -1: the default */
};

static int opts_read(struct opts *o, char **tok, size_t n)
{
	memset(o, 0, sizeof(*o));
	o->from = -1;
	o->ms = -1;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(tok[i], "use"))
			o->use = true;
		else if (!strcmp(tok[i], "plain"))
			o->plain = true;
		else if (!strcmp(tok[i], "tamper"))
			o->tamper = true;
		else if (!strcmp(tok[i], "replay"))
			o->replay = true;
		else if (!strncmp(tok[i], "from=", 5))
			o->from = atoi(tok[i] + 5);
		else if (!strncmp(tok[i], "ms=", 3))
			o->ms = atoi(tok[i] + 3);
		else
			return EINVAL;
	}

	return 0;
}


static const char *json_bool(bool b)
{
	return b ? "true" : "false";
}


static int cmd_check(struct probe *p, char **arg, const struct opts *o)
{
	const uint32_t prio = PRIORITY;
	const uint64_t tiebreaker = 0x5342435052424550ull;
	char user[256];
	struct sock *s;
	int err;

	err = relay_set(p, arg[0], arg[1]);
	if (err)
		return err;

	s = sock_from(p, o->from);
	if (!s)
		return ENOTSOCK;

	(void)re_snprintf(user, sizeof(user), "%s:%s", arg[2], arg[3]);
	rand_bytes(p->tid, sizeof(p->tid));
	mbuf_reset(p->mb);
	err = stun_msg_encode(p->mb, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			      p->tid, NULL, (const uint8_t *)arg[4],
			      strlen(arg[4]), true, 0x20, 4,
			      STUN_ATTR_USERNAME, user,
			      STUN_ATTR_PRIORITY, &prio,
			      STUN_ATTR_CONTROLLING, &tiebreaker,
			      STUN_ATTR_USE_CAND, o->use ? &o->use : NULL);
	if (err)
		return err;

	p->check_sock = s;
	p->check_pwd = arg[4];
	p->answered = p->integrity = p->fingerprint = p->mapped_ok = false;
	sa_init(&p->mapped, AF_INET);

	if (sendto(s->fd, p->mb->buf, p->mb->end, 0, &p->relay.u.sa,
		   p->relay.len) < 0)
		return errno;

	loop_run(CHECK_MS);
	p->check_sock = NULL;

	(void)re_printf("{\"cmd\":\"check\",\"ok\":true,\"from\":%u,"
			"\"answered\":%s,\"integrity\":%s,\"fingerprint\":%s,"
			"\"mapped\":\"%J\",\"mapped_ok\":%s}\n",
			sa_port(&s->local), json_bool(p->answered),
			json_bool(p->integrity), json_bool(p->fingerprint),
			&p->mapped, json_bool(p->mapped_ok));
	return 0;
}


static const char *suite_name(enum sbc_srtp_suite suite)
{
	return suite == SBC_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" :
		"AES128_CM_SHA1_80";
}


static int cmd_dtls(struct probe *p, char **arg, const struct opts *o)
{
	char fpbuf[256];
	struct pl fp;
	int err;

	if (!p->cert || p->main.fd < 0)
		return EINVAL;

	err = relay_set(p, arg[0], arg[1]);
	if (err)
		return err;

	/* the fingerprint is "<hash> <hex>": two tokens of the line */
	(void)re_snprintf(fpbuf, sizeof(fpbuf), "%s %s", arg[2], arg[3]);
	pl_set_str(&fp, fpbuf);

	p->dtls = mem_deref(p->dtls);
	p->dtls_err = -1;
	err = sbc_dtls_alloc(&p->dtls, p->cert, SBC_DTLS_CLIENT, probe_dtls_send,
			     probe_dtls_estab, p);
	if (!err)
		err = sbc_dtls_set_peer_fingerprint(p->dtls, &fp);
	if (!err)
		err = sbc_dtls_start(p->dtls);
	if (err) {
		p->dtls = mem_deref(p->dtls);
		return err;
	}

	if (p->dtls_err < 0)
		loop_run(o->ms >= 0 ? (uint64_t)o->ms : DTLS_MS);

	if (p->dtls_err == 0) {
		(void)re_printf("{\"cmd\":\"dtls\",\"ok\":true,"
				"\"state\":\"connected\",\"suite\":\"%s\"}\n",
				suite_name(p->suite));
		return 0;
	}

	/* a handshake that did not finish must not go on behind the next
	 * commands' backs */
	(void)re_printf("{\"cmd\":\"dtls\",\"ok\":true,\"state\":\"%s\","
			"\"error\":\"%s\"}\n", p->dtls_err < 0 ? "timeout" :
			"failed", p->dtls_err < 0 ? "no answer" :
			strerror(p->dtls_err));
	p->dtls = mem_deref(p->dtls);
	return 0;
}


static int cmd_send(struct probe *p, char **arg, const struct opts *o)
{
	const int n = atoi(arg[0]);
	_Alignas(4) uint8_t buf[PKT_SIZE];
	uint16_t first = 0;
	struct sock *s;
	size_t len;
	int err;

	if (n < 0 || !sa_isset(&p->relay, SA_ALL))
		return EINVAL;
	if (!o->plain && !o->replay && !p->tx)
		return ENOKEY;
	if (o->replay && !p->last_len)
		return ENOENT;

	s = sock_from(p, o->from);
	if (!s)
		return ENOTSOCK;

	for (int i = 0; i < n; i++) {
		if (o->replay) {
			memcpy(buf, p->last, p->last_len);
			len = p->last_len;
		}
		else {
			len = rtp_make(p, buf);
			if (!first)
				first = p->seq;
		}

		if (!o->plain && !o->replay) {
			err = sbc_srtp_protect(p->tx, buf, &len, sizeof(buf));
			if (err)
				return err;
			memcpy(p->last, buf, len);
			p->last_len = len;
			if (o->tamper)
				buf[RTP_HDR + 10] ^= 0x01;
		}

		if (sendto(s->fd, buf, len, 0, &p->relay.u.sa,
			   p->relay.len) < 0)
			return errno;

		if (i + 1 < n)
			loop_run(PACE_MS);
	}

	(void)re_printf("{\"cmd\":\"send\",\"ok\":true,\"sent\":%d,"
			"\"from\":%u,\"ssrc\":%u,\"first_seq\":%u,"
			"\"last_seq\":%u}\n", n, sa_port(&s->local),
			(unsigned)SSRC, first, first ? p->seq : 0);
	return 0;
}


static int cmd_recv(struct probe *p, char **arg)
{
	const struct rx_stats *st = &p->rx_stats;
	const int ms = atoi(arg[0]);

	if (ms < 0)
		return EINVAL;

	loop_run((uint64_t)ms);

	(void)re_printf("{\"cmd\":\"recv\",\"ok\":true,\"srtp\":%u,"
			"\"failed\":%u,\"replayed\":%u,\"nokey\":%u,"
			"\"rtcp\":%u,\"stun\":%u,\"dtls\":%u,\"stray\":%u,"
			"\"other\":%u,\"seqs\":[", st->srtp, st->failed,
			st->replayed, st->nokey, st->rtcp, st->stun, st->dtls,
			st->stray, st->other);
	for (unsigned i = 0; i < st->nseqs; i++)
		(void)re_printf("%s%u", i ? "," : "", st->seqs[i]);
	(void)re_printf("],\"first\":\"%w\"}\n", st->first, st->first_len);

	memset(&p->rx_stats, 0, sizeof(p->rx_stats));
	return 0;
}


static int cmd_cert(struct probe *p)
{
	struct sbc_dtls_cert *c;
	int err;

	err = sbc_dtls_cert_alloc(&c);
	if (err)
		return err;

	mem_deref(p->cert);
	p->cert = c;

	(void)re_printf("{\"cmd\":\"cert\",\"ok\":true,\"fingerprint\":"
			"\"%s\"}\n", sbc_dtls_cert_fingerprint(c));
	return 0;
}


static int cmd_bind(struct probe *p, char **arg)
{
	int err;

	sock_close(&p->main);
	err = sock_open(&p->main, (uint16_t)atoi(arg[0]), true);
	if (err)
		return err;

	(void)re_printf("{\"cmd\":\"bind\",\"ok\":true,\"port\":%u}\n",
			sa_port(&p->main.local));
	return 0;
}


/* One line: false for quit. Each command takes so many arguments
 * (the fingerprint is two: hash and hex), then options. */
static bool command(struct probe *p, char *line)
{
	static const struct {
		const char *name;
		size_t args;
	} cmds[] = {
		{"cert", 0}, {"bind", 1}, {"check", 5}, {"dtls", 4},
		{"send", 1}, {"recv", 1}, {"quit", 0},
	};
	char *tok[16];
	size_t n = 0, c;
	struct opts o;
	int err;

	for (char *t = strtok(line, " \t\r\n"); t && n < ARRAY_SIZE(tok);
	     t = strtok(NULL, " \t\r\n"))
		tok[n++] = t;

	if (!n)
		return true;

	for (c = 0; c < ARRAY_SIZE(cmds); c++)
		if (!strcmp(tok[0], cmds[c].name))
			break;

	if (c == ARRAY_SIZE(cmds))
		err = ENOSYS;
	else if (n < 1 + cmds[c].args)
		err = EINVAL;
	else
		err = opts_read(&o, tok + 1 + cmds[c].args,
				n - 1 - cmds[c].args);
	if (err)
		goto out;

	switch (c) {

	case 0:  err = cmd_cert(p);                break;
	case 1:  err = cmd_bind(p, tok + 1);       break;
	case 2:  err = cmd_check(p, tok + 1, &o);  break;
	case 3:  err = cmd_dtls(p, tok + 1, &o);   break;
	case 4:  err = cmd_send(p, tok + 1, &o);   break;
	case 5:  err = cmd_recv(p, tok + 1);       break;
	default:
		(void)re_printf("{\"cmd\":\"quit\",\"ok\":true}\n");
		return false;
	}

 out:
	if (err)
		(void)re_printf("{\"cmd\":\"%s\",\"ok\":false,"
				"\"error\":\"%s\"}\n", tok[0], strerror(err));

	return true;
}


int main(void)
{
	struct probe *p = &P;
	char line[LINE_SIZE];
	int err;

	p->main.fd = -1;
	for (size_t i = 0; i < EXTRA_MAX; i++)
		p->extra[i].fd = -1;
	sa_init(&p->relay, AF_INET);

	err = libre_init();
	if (!err)
		err = sbc_srtp_init();
	p->mb = mbuf_alloc(512);
	if (err || !p->mb) {
		fprintf(stderr, "relay_probe: cannot start: %s\n",
			strerror(err ? err : ENOMEM));
		return 1;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);

	while (fgets(line, sizeof(line), stdin) && command(p, line))
		;

	sock_close(&p->main);
	for (size_t i = 0; i < EXTRA_MAX; i++)
		sock_close(&p->extra[i]);
	p->dtls = mem_deref(p->dtls);
	p->tx = mem_deref(p->tx);
	p->rx = mem_deref(p->rx);
	p->cert = mem_deref(p->cert);
	p->mb = mem_deref(p->mb);
	libre_close();

	return 0;
}
