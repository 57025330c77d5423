/*
 * webrtc_load: generator and sink of the WebRTC media benchmark
 * (bench_webrtc.py), modelled on tests/bench/rtp/rtp_load.c.
 *
 * It plays both parties of WebRTC-to-plain calls through the relay: per
 * call a browser (its own UDP socket; ICE check, DTLS client handshake,
 * then SRTP, webrtc_peer.c) on the relay's access port, and a plain
 * party (its own socket, plain RTP) on the relay's core port. Each sends
 * a G.711 stream (PT 0, 160 bytes of payload every period, 50 packets/s
 * by default, 172-byte RTP) and receives the other's: the browser the
 * relay's SRTP, which it unprotects, the plain party the RTP the relay
 * decrypted. A "plain" call has plain RTP on both sides (the yardstick
 * the SRTP path is compared with).
 *
 * Sockets: by default each party of each call has its own, as a browser
 * and a media server would. With -k K the calls share K sockets per
 * party (call i the i mod K-th), so that a tick's packets leave in
 * sendmmsg runs and come back in recvmmsg batches: a generator that is
 * cheaper per packet, for when it, not the relay, would be the limit.
 * The relay still has its own ports per call, and the calls sharing a
 * socket are told apart by the relay port their datagrams come from.
 *
 * It runs for as long as its orchestrator needs, in libre's loop (the
 * DTLS timers are libre timers), driven by lines on stdin:
 *
 *   open N        N new calls: two sockets each on 127.0.0.1 (ports the
 *                 system picks) and the browser's ICE ufrag and password;
 *                 answers "call ID BROWSER_PORT PLAIN_PORT UFRAG PWD" per
 *                 call, then "ok open"
 *   start ID T RELAY_IP ACCESS_PORT CORE_PORT UFRAG PWD HASH FINGERPRINT
 *                 the relay answered call ID (its SDP toward the caller
 *                 gave ACCESS_PORT, its ICE credentials and certificate
 *                 fingerprint; the one toward the backend CORE_PORT); T is
 *                 when the INVITE left, CLOCK_MONOTONIC ns. The browser
 *                 checks and handshakes, the plain party starts sending.
 *   plain ID T RELAY_IP ACCESS_PORT CORE_PORT
 *                 the same for a call plain on both sides
 *   measure WARMUP SECONDS DRAIN_MS
 *                 a measured window after WARMUP s: prints "# measure"
 *                 when it opens and "# drain" when it closes (the
 *                 orchestrator samples the relay's CPU on them), then one
 *                 JSON line with the figures
 *   setup FROM TO per call of ids FROM..TO that started: microseconds
 *                 from its INVITE to the answer, the check answered, DTLS
 *                 up and the first media packet each way (-1: not yet),
 *                 one JSON line
 *   stats         the counters since the start, one JSON line
 *   sync          "ok sync" once every line before it is done
 *   quit          the end (so is the end of stdin)
 *
 * It prints "fingerprint sha-256 ..." (its certificate, for the SDP
 * offers) and "ready" when it starts.
 *
 * Pacing: call ID sends in slot ID mod P of the P-ms period (P = 20 at
 * 50 packets/s), every period, from its start on: a 1 ms libre timer
 * runs the slots of every millisecond past (catching up 200 ms at most),
 * so the offered load is even over the period whatever the number of
 * calls. Both parties of a call send in its slot; the browser only once
 * DTLS-SRTP is up, as a browser does. A tick's packets are queued and
 * sent at its end, grouped by socket. Checks (retransmissions of the
 * first, then consent every 5 s) go from the slots too.
 *
 * Measuring: packets sent in the window are marked with its id and
 * counted per stream when sent and when received back on the other
 * party's socket. After the window a drain lets late packets in; lost =
 * sent - received, late = later than -L ms (100), as a jitter buffer
 * would drop it. A call whose browser was not sending in the window (no
 * DTLS-SRTP) is "down": the orchestrator counts it as a failure, its
 * packets not being counted at all. One-way latency is the kernel's
 * receive timestamp (SO_TIMESTAMPNS) minus the CLOCK_MONOTONIC time
 * written in the packet when it was made, before it was protected and
 * queued (a tick's packets leave within well under a millisecond): for the
 * browser's stream it includes the relay's decryption, for the plain
 * party's the relay's encryption (the browser's decryption, after the
 * timestamp, is not in it).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <re.h>
#include "load_clock.h"
#include "rtp/srtp.h"
#include "rtp/dtls.h"
#include "webrtc_load.h"

enum {
	RTP_HDR    = 12,
	PAYLOAD    = 160,      /* 20 ms of PCMU at 8 kHz */
	PKT        = RTP_HDR + PAYLOAD,
	PERIOD_MAX = 1000,     /* ms: slots of the pacing wheel */
	CATCHUP_MS = 200,      /* slots run late at most; older ones skipped */
	BATCH      = 16,       /* messages per recvmmsg */
	RX_SIZE    = 2048,     /* a datagram: DTLS flights are up to 1200 */
	EVENTS     = 256,
	HIST_US    = 1000000,  /* latency histogram: 1 µs buckets to 1 s */
	MAGIC      = 0x53425754,
	MEASURED   = 1,
	SOCK_BUF   = 1 << 20,  /* a call's socket */
	SHARED_BUF = 4 << 20,  /* a socket shared by calls */
	SHARED_MAX = 256,      /* sockets per party when shared */
	KEY_SHARED = 1u << 31, /* epoll key of a shared socket */
	TX_MAX     = 4096,     /* packets a tick queues before it sends */
	TX_BATCH   = 64,       /* messages per sendmmsg */
	LINE_MAX   = 4096,
	FIRST_MAX  = 8,        /* ids listed of silent streams, down calls */
};

/* What a packet carries after its RTP header (host byte order: the sink
 * is the same program). */
struct mark {
	uint32_t magic;
	uint32_t stream;       /* call id * 2 + direction */
	uint32_t flags;
	uint32_t window;       /* the measured window it was sent in */
	uint32_t run;          /* this process's id: older packets are stale */
	uint32_t pad;
	uint64_t sent_ns;      /* CLOCK_MONOTONIC, before protect and send */
};

enum phase { IDLE = 0, WARMUP, MEASURE, DRAIN };

/* A packet a tick queued, sent at its end. */
struct txpkt {
	uint32_t buf[WL_PKT_SIZE / 4];
	size_t len;
	struct wl_call *c;
	uint8_t party;
	bool measured;
	int32_t next;          /* the next of its shared socket's, -1: none */
};

struct opts {
	uint32_t period_ms;    /* between two packets of a stream */
	uint32_t late_ms;      /* later than this: as good as lost */
	const char *suite;     /* SRTP: "any", "gcm", "cm" */
	uint32_t shared;       /* sockets per party for all calls; 0: one
				* per call and party */
	uint32_t bound_s;      /* the process's life at most */
};

struct gen {
	struct opts o;
	struct wl_peers peers;
	struct wl_call **calls;
	uint32_t ncalls, cap;
	struct wl_call *slot[PERIOD_MAX];
	int ep;
	int sfd[WL_PARTIES][SHARED_MAX];     /* the shared sockets */
	uint16_t sport[WL_PARTIES][SHARED_MAX];
	int32_t *by_port;          /* the relay's port -> call id * 2 + party */

	/* a tick's packets, chained per shared socket */
	struct txpkt *tx;
	uint32_t ntx;
	int32_t head[WL_PARTIES * SHARED_MAX], tail[WL_PARTIES * SHARED_MAX];
	uint16_t touched[WL_PARTIES * SHARED_MAX];
	uint32_t ntouched;
	struct mmsghdr tx_msg[TX_BATCH];
	struct iovec tx_iov[TX_BATCH];
	uint32_t tx_slot[TX_BATCH];
	struct tmr tick;
	uint64_t ms_done;          /* the last millisecond whose slot ran */
	uint64_t skipped_ms;
	uint64_t next_off;
	int64_t real_off;          /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint32_t run_id;
	char in[LINE_MAX];
	size_t inlen;

	/* the measured window */
	enum phase phase;
	uint32_t window;
	double seconds;
	uint32_t drain_ms;
	uint64_t t_meas, t_end, t_drain;
	double cpu0, cpu;
	int64_t behind_max;
	uint64_t send_err, misrouted, stale, foreign, rx_warm;
	uint32_t *hist;
	uint64_t nlat;
	struct wl_peer_stats at_meas;  /* the peers' counters when it opened */

	/* the receive buffers */
	uint32_t rx_buf[BATCH][RX_SIZE / 4];  /* 4-byte aligned: libsrtp */
	struct sockaddr_in rx_src[BATCH];
	struct mmsghdr rx_msg[BATCH];
	struct iovec rx_iov[BATCH];
	uint8_t rx_ctl[BATCH][CMSG_SPACE(sizeof(struct timespec))];
};


/* len random ICE characters (RFC 8839 5.4) and a NUL into buf. */
int wl_ice_chars(char *buf, size_t len)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
		"rstuvwxyz0123456789+/";
	uint8_t rnd[64];

	if (len > sizeof(rnd) || getrandom(rnd, len, 0) != (ssize_t)len)
		return EIO;

	for (size_t i = 0; i < len; i++)
		buf[i] = set[rnd[i] & 63];
	buf[len] = '\0';

	return 0;
}


static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


/* A socket on 127.0.0.1, port chosen by the system, receive buffer buf,
 * in the epoll set with key. Returns 0 or errno. */
static int sock_open(struct gen *g, uint32_t key, int buf, int *fdp,
		     uint16_t *portp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = key};
	const int one = 1;
	int fd, err = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	/* FORCE goes past rmem_max when we may; the plain one otherwise */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) ||
	    epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev))
		err = errno;

	if (err) {
		close(fd);
		return err;
	}

	*fdp = fd;
	*portp = ntohs(sa.sin_port);
	return 0;
}


static void call_free(struct wl_call *c)
{
	wl_peer_close(c);
	for (int p = 0; p < WL_PARTIES && c->own_fd; p++) {
		if (c->fd[p] >= 0)
			close(c->fd[p]);
	}
	free(c);
}


/* The shared sockets, when calls share them: -k K, K per party. */
static int shared_open(struct gen *g)
{
	for (uint32_t j = 0; j < g->o.shared; j++) {
		for (unsigned p = 0; p < WL_PARTIES; p++) {
			const int err = sock_open(g, KEY_SHARED | p << 16 | j,
						  SHARED_BUF, &g->sfd[p][j],
						  &g->sport[p][j]);

			if (err)
				return err;
		}
	}

	return 0;
}


/* A new call, its sockets open, its ICE credentials made. */
static int call_new(struct gen *g, struct wl_call **cp)
{
	const uint32_t id = g->ncalls;
	struct wl_call *c;
	int err = 0;

	if (g->ncalls == g->cap) {
		const uint32_t cap = g->cap ? 2 * g->cap : 1024;
		void *p = realloc(g->calls, cap * sizeof(*g->calls));

		if (!p)
			return ENOMEM;
		g->calls = p;
		g->cap = cap;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->id = id;
	c->fd[WL_BROWSER] = c->fd[WL_PLAIN] = -1;
	c->own_fd = !g->o.shared;

	for (unsigned p = 0; p < WL_PARTIES && !err; p++) {
		if (g->o.shared) {
			c->fd[p] = g->sfd[p][id % g->o.shared];
			c->port[p] = g->sport[p][id % g->o.shared];
		}
		else {
			err = sock_open(g, 2 * id + p, SOCK_BUF, &c->fd[p],
					&c->port[p]);
		}
	}
	if (!err)
		err = wl_ice_chars(c->lufrag, WL_UFRAG_LEN) ||
			wl_ice_chars(c->lpwd, WL_PWD_LEN) ? EIO : 0;
	if (err) {
		call_free(c);
		return err;
	}

	for (int d = 0; d < WL_DIRS; d++) {
		struct wl_stream *s = &c->st[d];

		s->ssrc = 0x5b000000u ^ (2 * id + (uint32_t)d) * 2654435761u;
		s->seq = (uint16_t)(s->ssrc >> 7);
		s->ts = s->ssrc * 7u;
	}

	g->calls[g->ncalls++] = c;
	*cp = c;
	return 0;
}


/* Counts a packet gone. */
static void tx_done(struct gen *g, const struct txpkt *t, bool sent)
{
	if (!sent)
		++g->send_err;
	else if (t->measured)
		++t->c->st[t->party].sent;
}


/*
 * Sends what the tick queued: a call's own socket's packets one by one,
 * a shared socket's in sendmmsg runs (in the order they were queued).
 */
static void tx_flush(struct gen *g)
{
	for (uint32_t i = 0; i < g->ntx; i++) {
		struct txpkt *t = &g->tx[i];
		const struct wl_call *c = t->c;
		unsigned grp;

		if (c->own_fd) {
			tx_done(g, t, sendto(c->fd[t->party], t->buf, t->len, 0,
					     (const struct sockaddr *)
					     &c->relay[t->party],
					     sizeof(c->relay[t->party])) >= 0);
			continue;
		}

		grp = t->party * g->o.shared + c->id % g->o.shared;
		t->next = -1;
		if (g->tail[grp] < 0) {
			g->head[grp] = (int32_t)i;
			g->touched[g->ntouched++] = (uint16_t)grp;
		}
		else {
			g->tx[g->tail[grp]].next = (int32_t)i;
		}
		g->tail[grp] = (int32_t)i;
	}

	for (uint32_t k = 0; k < g->ntouched; k++) {
		const unsigned grp = g->touched[k];
		const int fd = g->sfd[grp / g->o.shared][grp % g->o.shared];
		int32_t i = g->head[grp];

		while (i >= 0) {
			uint32_t n = 0, done = 0;

			for (; i >= 0 && n < TX_BATCH; i = g->tx[i].next, n++) {
				struct txpkt *t = &g->tx[i];

				g->tx_iov[n].iov_base = t->buf;
				g->tx_iov[n].iov_len = t->len;
				g->tx_msg[n].msg_hdr = (struct msghdr){
					.msg_name = (void *)
						&t->c->relay[t->party],
					.msg_namelen = sizeof(struct
							      sockaddr_in),
					.msg_iov = &g->tx_iov[n],
					.msg_iovlen = 1,
				};
				g->tx_slot[n] = (uint32_t)i;
			}
			while (done < n) {
				const int r = sendmmsg(fd, g->tx_msg + done,
						       n - done, 0);

				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0) {
					/* drop this one, try the rest */
					tx_done(g, &g->tx[g->tx_slot[done++]],
						false);
					continue;
				}
				for (int j = 0; j < r; j++)
					tx_done(g, &g->tx[g->tx_slot[done + j]],
						true);
				done += (uint32_t)r;
			}
		}
		g->head[grp] = g->tail[grp] = -1;
	}

	g->ntouched = 0;
	g->ntx = 0;
}


/* Queues party d's next packet of call c (stream d): marked when the
 * window is open, protected when it is the browser's of a WebRTC call.
 * A browser without keys sends nothing. The time in the mark is when it
 * was made, before protect; a tick's packets leave together at its end. */
static void media_queue(struct gen *g, struct wl_call *c, unsigned d)
{
	struct txpkt *t;
	uint8_t *buf;
	struct wl_stream *s = &c->st[d];
	struct mark m = {.magic = MAGIC, .stream = 2 * c->id + d,
			 .window = g->window, .run = g->run_id};

	if (d == WL_B2P && c->webrtc && !c->tx)
		return;

	if (g->ntx == TX_MAX)
		tx_flush(g);
	t = &g->tx[g->ntx];
	buf = (uint8_t *)t->buf;
	t->len = PKT;
	t->c = c;
	t->party = (uint8_t)d;     /* party d sends stream d */

	buf[0] = 0x80;                      /* V=2 */
	buf[1] = 0;                         /* M=0, PT=0 PCMU */
	buf[2] = (uint8_t)(s->seq >> 8);
	buf[3] = (uint8_t)s->seq;
	buf[4] = (uint8_t)(s->ts >> 24);
	buf[5] = (uint8_t)(s->ts >> 16);
	buf[6] = (uint8_t)(s->ts >> 8);
	buf[7] = (uint8_t)s->ts;
	buf[8] = (uint8_t)(s->ssrc >> 24);
	buf[9] = (uint8_t)(s->ssrc >> 16);
	buf[10] = (uint8_t)(s->ssrc >> 8);
	buf[11] = (uint8_t)s->ssrc;
	++s->seq;
	s->ts += PAYLOAD;

	if (g->phase == MEASURE)
		m.flags = MEASURED;
	t->measured = m.flags & MEASURED;
	memset(buf + RTP_HDR, 0xff, PAYLOAD);   /* PCMU silence */
	m.sent_ns = load_now_ns();
	memcpy(buf + RTP_HDR, &m, sizeof(m));

	if (d == WL_B2P && c->webrtc &&
	    !wl_peer_protect(&g->peers, c, buf, &t->len))
		return;

	++g->ntx;
}


/* Runs slot ms % period: every call in it that had started by then sends
 * (and checks, if its time has come). */
static void slot_run(struct gen *g, uint64_t ms, uint64_t now)
{
	for (struct wl_call *c = g->slot[ms % g->o.period_ms]; c;
	     c = c->next) {
		if (c->t_start / 1000000 > ms)
			continue;
		if (c->webrtc)
			wl_peer_tick(&g->peers, c, now);
		media_queue(g, c, WL_B2P);
		media_queue(g, c, WL_P2B);
	}
}


/* Every call's marked packets are back. */
static bool all_back(const struct gen *g)
{
	for (uint32_t i = 0; i < g->ncalls; i++) {
		const struct wl_call *c = g->calls[i];

		for (int d = 0; d < WL_DIRS; d++)
			if (c->st[d].recv < c->st[d].sent)
				return false;
	}

	return true;
}


static void window_open(struct gen *g, uint64_t now)
{
	++g->window;
	for (uint32_t i = 0; i < g->ncalls; i++)
		for (int d = 0; d < WL_DIRS; d++)
			g->calls[i]->st[d].sent = g->calls[i]->st[d].recv = 0;
	memset(g->hist, 0, HIST_US * sizeof(*g->hist));
	g->nlat = 0;
	g->behind_max = 0;
	g->send_err = g->misrouted = g->stale = g->foreign = g->rx_warm = 0;
	g->skipped_ms = 0;
	g->at_meas = g->peers.stats;
	g->cpu0 = cpu_s();
	g->t_meas = now;
	g->t_end = now + (uint64_t)(g->seconds * 1e9);
	g->phase = MEASURE;
	printf("# measure\n");
	fflush(stdout);
}


static void report(struct gen *g);

/* The window's transitions due by now. */
static void window_step(struct gen *g, uint64_t now)
{
	switch (g->phase) {

	case WARMUP:
		if (now >= g->t_meas)
			window_open(g, now);
		break;

	case MEASURE:
		if (now < g->t_end)
			break;
		g->t_end = now;
		g->cpu = cpu_s() - g->cpu0;
		g->t_drain = now + g->drain_ms * 1000000ull;
		g->phase = DRAIN;
		printf("# drain\n");
		fflush(stdout);
		break;

	case DRAIN:
		if (now >= g->t_drain ||
		    ((now / 1000000) % 10 == 0 && all_back(g))) {
			report(g);
			g->phase = IDLE;
		}
		break;

	default:
		break;
	}
}


/* Every millisecond: the window's transitions, then the slots of the
 * milliseconds past. */
static void tick_h(void *arg)
{
	struct gen *g = arg;
	const uint64_t now = load_now_ns();
	const uint64_t ms = now / 1000000;

	tmr_start(&g->tick, 1, tick_h, g);

	if (now >= g->next_off) {
		g->real_off = load_realtime_offset();
		g->next_off = now + 1000000000ull;
	}

	window_step(g, now);

	if (!g->ms_done || ms - g->ms_done > CATCHUP_MS) {
		if (g->ms_done)
			g->skipped_ms += ms - CATCHUP_MS - g->ms_done;
		g->ms_done = ms - (g->ms_done ? CATCHUP_MS : 1);
	}

	for (uint64_t m = g->ms_done + 1; m <= ms; m++) {
		const int64_t lag = (int64_t)(now - m * 1000000);

		if (g->phase == MEASURE && g->slot[m % g->o.period_ms] &&
		    lag > g->behind_max)
			g->behind_max = lag;
		slot_run(g, m, now);
	}
	g->ms_done = ms;
	tx_flush(g);
}


/* RTP of stream d of call c came back (decrypted if it was SRTP). */
static void media_rx(struct gen *g, struct wl_call *c, unsigned d,
		     const uint8_t *buf, size_t len, uint64_t t)
{
	struct mark m;
	uint64_t us;

	if (len < RTP_HDR + sizeof(m)) {
		++g->foreign;
		return;
	}
	memcpy(&m, buf + RTP_HDR, sizeof(m));
	if (m.magic != MAGIC) {
		++g->foreign;
		return;
	}
	if (m.run != g->run_id) {
		++g->stale;
		return;
	}
	if (m.stream != 2 * c->id + d) {
		++g->misrouted;
		return;
	}

	if (!c->t_first[d])
		c->t_first[d] = t;

	if (!(m.flags & MEASURED) || m.window != g->window ||
	    (g->phase != MEASURE && g->phase != DRAIN)) {
		++g->rx_warm;
		return;
	}

	++c->st[d].recv;
	us = t > m.sent_ns ? (t - m.sent_ns) / 1000 : 0;
	++g->hist[us < HIST_US ? us : HIST_US - 1];
	++g->nlat;
}


/* Reads what waits on socket fd of party p: call c's own, or (c NULL)
 * a shared one, whose datagrams say their call by the relay port they
 * come from. */
static void sock_recv(struct gen *g, int fd, struct wl_call *c, unsigned p)
{
	for (;;) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			struct msghdr *mh = &g->rx_msg[i].msg_hdr;

			mh->msg_namelen = sizeof(g->rx_src[i]);
			mh->msg_controllen = sizeof(g->rx_ctl[i]);
			mh->msg_flags = 0;
		}
		n = recvmmsg(fd, g->rx_msg, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;

		for (int i = 0; i < n; i++) {
			const struct sockaddr_in *src = &g->rx_src[i];
			const int32_t key = g->by_port[ntohs(src->sin_port)];
			struct wl_call *rc = c;
			uint8_t *buf = (uint8_t *)g->rx_buf[i];
			size_t len = g->rx_msg[i].msg_len;
			uint64_t t = load_rx_time(&g->rx_msg[i].msg_hdr,
						  g->real_off);

			if (!t)
				t = load_now_ns();

			if (!rc && key >= 0 && (unsigned)key % 2 == p)
				rc = g->calls[key / 2];

			/* only the relay's port of this party counts */
			if (!rc || !rc->started ||
			    src->sin_port != rc->relay[p].sin_port ||
			    src->sin_addr.s_addr !=
			    rc->relay[p].sin_addr.s_addr) {
				++g->foreign;
				continue;
			}
			if (p == WL_BROWSER && rc->webrtc &&
			    !wl_peer_input(&g->peers, rc, buf, &len))
				continue;

			media_rx(g, rc, p == WL_PLAIN ? WL_B2P : WL_P2B, buf,
				 len, t);
		}

		if (n < BATCH)
			return;
	}
}


static void ep_readable(int flags, void *arg)
{
	struct gen *g = arg;
	struct epoll_event ev[EVENTS];
	int n;

	(void)flags;

	n = epoll_wait(g->ep, ev, EVENTS, 0);
	for (int i = 0; i < n; i++) {
		const uint32_t key = ev[i].data.u32;

		if (key & KEY_SHARED) {
			const unsigned p = (key >> 16) & 1;

			sock_recv(g, g->sfd[p][key & 0xffff], NULL, p);
		}
		else if (key / 2 < g->ncalls) {
			struct wl_call *c = g->calls[key / 2];

			sock_recv(g, c->fd[key % 2], c, key % 2);
		}
	}
}


/* The latency under which a fraction q of the measured packets came, µs. */
static double pct_us(const struct gen *g, double q)
{
	const uint64_t want = (uint64_t)((double)g->nlat * q);
	uint64_t acc = 0;

	if (!g->nlat)
		return -1;
	for (uint32_t i = 0; i < HIST_US; i++) {
		acc += g->hist[i];
		if (acc > want)
			return i;
	}

	return HIST_US - 1;
}


static const char *suite_name(enum sbc_srtp_suite s)
{
	switch (s) {

	case SBC_SRTP_AES128_CM_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
	case SBC_SRTP_AEAD_AES_128_GCM:  return "AEAD_AES_128_GCM";
	default:                         return "-";
	}
}


/* Appends item to a list of at most FIRST_MAX, ", "-separated; counts
 * it in *n even when the list is full. */
static void first_add(char *buf, size_t size, size_t *len, uint32_t *n,
		      const char *item)
{
	if (++*n > FIRST_MAX || *len + strlen(item) + 3 > size)
		return;
	*len += (size_t)snprintf(buf + *len, size - *len, "%s%s",
				 *len ? ", " : "", item);
}


/* The window's result line: counts per direction, latency percentiles,
 * what the browsers saw, the generator's own CPU. */
static void report(struct gen *g)
{
	const double secs = (double)(g->t_end - g->t_meas) / 1e9;
	const uint64_t late_us = g->o.late_ms * 1000ull;
	const struct wl_peer_stats *a = &g->at_meas, *b = &g->peers.stats;
	uint64_t sent[WL_DIRS] = {0}, recv[WL_DIRS] = {0}, dup = 0, late = 0;
	uint32_t started = 0, webrtc = 0, down = 0, silent = 0, lossy = 0;
	char down_first[128] = "", silent_first[160] = "", item[32];
	size_t dl = 0, sl = 0;
	enum sbc_srtp_suite suite = 0;
	uint64_t tsent, trecv;
	uint32_t max_us = 0;

	for (uint32_t i = 0; i < g->ncalls; i++) {
		const struct wl_call *c = g->calls[i];

		if (!c->started)
			continue;
		++started;
		webrtc += c->webrtc;
		if (c->tx)
			suite = c->suite;
		/* a browser that did not send: its call is down */
		if (!c->st[WL_B2P].sent) {
			snprintf(item, sizeof(item), "%u", c->id);
			first_add(down_first, sizeof(down_first), &dl, &down,
				  item);
		}

		for (int d = 0; d < WL_DIRS; d++) {
			const struct wl_stream *s = &c->st[d];

			sent[d] += s->sent;
			recv[d] += s->recv > s->sent ? s->sent : s->recv;
			if (s->recv > s->sent)
				dup += s->recv - s->sent;
			if (s->sent && !s->recv) {
				snprintf(item, sizeof(item), "\"%u/%d\"",
					 c->id, d);
				first_add(silent_first, sizeof(silent_first),
					  &sl, &silent, item);
			}
			else if (s->recv < s->sent)
				++lossy;
		}
	}
	for (uint32_t i = 0; i < HIST_US; i++) {
		if (!g->hist[i])
			continue;
		max_us = i;
		if (i > late_us)
			late += g->hist[i];
	}
	tsent = sent[0] + sent[1];
	trecv = recv[0] + recv[1];
	if (late > trecv)
		late = trecv;

	printf("{\"calls\": %u, \"webrtc_calls\": %u, \"calls_down\": %u, "
	       "\"down_first\": [%s], \"pps_per_stream\": %g, "
	       "\"target_pps\": %.0f, \"seconds\": %.3f, "
	       "\"offered_pps\": %.0f, \"forwarded_pps\": %.0f, "
	       "\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", "
	       "\"lost\": %" PRIu64 ", \"loss_pct\": %.4f, "
	       "\"b2p_sent\": %" PRIu64 ", \"b2p_received\": %" PRIu64 ", "
	       "\"p2b_sent\": %" PRIu64 ", \"p2b_received\": %" PRIu64 ", "
	       "\"late_ms\": %u, \"late\": %" PRIu64 ", \"late_pct\": %.4f, "
	       "\"send_errors\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", "
	       "\"misrouted\": %" PRIu64 ", \"stale\": %" PRIu64 ", "
	       "\"foreign\": %" PRIu64 ", \"warmup_received\": %" PRIu64 ", "
	       "\"streams_silent\": %u, \"silent_first\": [%s], "
	       "\"streams_lossy\": %u, \"lat_p50_us\": %.0f, "
	       "\"lat_p90_us\": %.0f, \"lat_p99_us\": %.0f, "
	       "\"lat_p999_us\": %.0f, \"lat_max_us\": %u, "
	       "\"behind_max_us\": %.0f, \"skipped_ms\": %" PRIu64 ", "
	       "\"gen_cpu_s\": %.3f, \"gen_us_per_pkt\": %.2f, "
	       "\"suite\": \"%s\", \"auth_fail\": %" PRIu64 ", "
	       "\"replay\": %" PRIu64 ", \"nokey\": %" PRIu64 ", "
	       "\"protect_fail\": %" PRIu64 ", \"checks_sent\": %" PRIu64
	       ", \"checks_ok\": %" PRIu64 ", \"checks_lost\": %" PRIu64 ", "
	       "\"checks_bad\": %" PRIu64 ", \"dtls_up\": %" PRIu64 ", "
	       "\"dtls_fail\": %" PRIu64 "}\n",
	       started, webrtc, down, down_first, 1000.0 / g->o.period_ms,
	       2.0 * started * 1000.0 / g->o.period_ms, secs,
	       secs > 0 ? (double)tsent / secs : 0,
	       secs > 0 ? (double)trecv / secs : 0, tsent, trecv,
	       tsent - trecv,
	       tsent ? 100.0 * (double)(tsent - trecv) / (double)tsent : 100.0,
	       sent[WL_B2P], recv[WL_B2P], sent[WL_P2B], recv[WL_P2B],
	       g->o.late_ms, late,
	       tsent ? 100.0 * (double)late / (double)tsent : 0.0,
	       g->send_err, dup, g->misrouted, g->stale, g->foreign,
	       g->rx_warm, silent, silent_first, lossy, pct_us(g, 0.50),
	       pct_us(g, 0.90), pct_us(g, 0.99), pct_us(g, 0.999), max_us,
	       (double)g->behind_max / 1e3, g->skipped_ms, g->cpu,
	       tsent ? g->cpu * 1e6 / (double)tsent : 0, suite_name(suite),
	       b->auth_fail - a->auth_fail, b->replay - a->replay,
	       b->nokey - a->nokey, b->protect_fail - a->protect_fail,
	       b->checks_sent - a->checks_sent, b->checks_ok - a->checks_ok,
	       b->checks_lost - a->checks_lost,
	       b->checks_bad - a->checks_bad, b->dtls_up - a->dtls_up,
	       b->dtls_fail - a->dtls_fail);
	fflush(stdout);
}


static long us_since(uint64_t t0, uint64_t t)
{
	return t && t >= t0 ? (long)((t - t0) / 1000) : -1;
}


/* "setup FROM TO": per started call, µs from its INVITE to each step. */
static void setup_report(const struct gen *g, uint32_t from, uint32_t to)
{
	bool first = true;

	printf("{\"setup\": [");
	for (uint32_t i = from; i <= to && i < g->ncalls; i++) {
		const struct wl_call *c = g->calls[i];

		if (!c->started)
			continue;
		printf("%s[%u, %ld, %ld, %ld, %ld, %ld]", first ? "" : ", ",
		       c->id, us_since(c->t_invite, c->t_start),
		       us_since(c->t_invite, c->t_ice),
		       us_since(c->t_invite, c->t_dtls),
		       us_since(c->t_invite, c->t_first[WL_B2P]),
		       us_since(c->t_invite, c->t_first[WL_P2B]));
		first = false;
	}
	printf("]}\n");
	fflush(stdout);
}


static void stats_report(const struct gen *g)
{
	const struct wl_peer_stats *s = &g->peers.stats;
	uint32_t started = 0;

	for (uint32_t i = 0; i < g->ncalls; i++)
		started += g->calls[i]->started;

	printf("{\"calls\": %u, \"started\": %u, \"checks_sent\": %" PRIu64
	       ", \"checks_ok\": %" PRIu64 ", \"checks_bad\": %" PRIu64 ", "
	       "\"checks_lost\": %" PRIu64 ", \"dtls_up\": %" PRIu64 ", "
	       "\"dtls_fail\": %" PRIu64 ", \"dtls_in\": %" PRIu64 ", "
	       "\"auth_fail\": %" PRIu64 ", \"replay\": %" PRIu64 ", "
	       "\"nokey\": %" PRIu64 ", \"rtcp_in\": %" PRIu64 "}\n",
	       g->ncalls, started, s->checks_sent, s->checks_ok,
	       s->checks_bad, s->checks_lost, s->dtls_up, s->dtls_fail,
	       s->dtls_in, s->auth_fail, s->replay, s->nokey, s->rtcp_in);
	fflush(stdout);
}


static int cmd_open(struct gen *g, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct wl_call *c;
		const int err = call_new(g, &c);

		if (err)
			return err;
		printf("call %u %u %u %s %s\n", c->id, c->port[WL_BROWSER],
		       c->port[WL_PLAIN], c->lufrag, c->lpwd);
	}

	printf("ok open\n");
	fflush(stdout);
	return 0;
}


/* "start ..." or "plain ...": the call's relay ports, and credentials. */
static int cmd_start(struct gen *g, const char *line, bool webrtc)
{
	char ip[64], hash[16] = "", fp[WL_CRED_MAX - 32];
	unsigned id, ap, cp;
	uint64_t t;
	struct in_addr addr;
	struct wl_call *c;
	int n, err = 0;

	if (webrtc) {
		char ufrag[WL_CRED_MAX], pwd[WL_CRED_MAX];

		n = sscanf(line, "start %u %" SCNu64 " %63s %u %u %255s %255s "
			   "%15s %223s", &id, &t, ip, &ap, &cp, ufrag, pwd, hash,
			   fp);
		if (n != 9 || id >= g->ncalls)
			return EINVAL;
		c = g->calls[id];
		str_ncpy(c->rufrag, ufrag, sizeof(c->rufrag));
		str_ncpy(c->rpwd, pwd, sizeof(c->rpwd));
		(void)snprintf(c->rfp, sizeof(c->rfp), "%s %s", hash, fp);
	}
	else {
		n = sscanf(line, "plain %u %" SCNu64 " %63s %u %u", &id, &t, ip,
			   &ap, &cp);
		if (n != 5 || id >= g->ncalls)
			return EINVAL;
		c = g->calls[id];
	}

	if (c->started || !ap || ap > 65535 || !cp || cp > 65535 ||
	    inet_pton(AF_INET, ip, &addr) != 1)
		return EINVAL;

	/* a relay port is one call's: a second call on it would be the
	 * relay's mistake, and would make shared sockets ambiguous */
	if (g->by_port[ap] >= 0 || g->by_port[cp] >= 0 || ap == cp)
		return EADDRINUSE;
	g->by_port[ap] = (int32_t)(2 * id + WL_BROWSER);
	g->by_port[cp] = (int32_t)(2 * id + WL_PLAIN);

	for (int p = 0; p < WL_PARTIES; p++) {
		c->relay[p].sin_family = AF_INET;
		c->relay[p].sin_addr = addr;
		c->relay[p].sin_port = htons((uint16_t)(p == WL_BROWSER ? ap :
							 cp));
	}
	c->webrtc = webrtc;
	c->t_invite = t;
	c->t_start = load_now_ns();
	c->started = true;

	if (webrtc)
		err = wl_peer_start(&g->peers, c);
	if (err)
		return err;

	c->next = g->slot[c->id % g->o.period_ms];
	g->slot[c->id % g->o.period_ms] = c;
	return 0;
}


static void cmd_measure(struct gen *g, const char *line)
{
	double warmup, seconds;
	unsigned drain;

	if (g->phase != IDLE ||
	    sscanf(line, "measure %lf %lf %u", &warmup, &seconds, &drain) != 3
	    || warmup < 0 || warmup > 600 || seconds <= 0 || seconds > 3600 ||
	    drain > 60000) {
		printf("error measure: %s\n", g->phase != IDLE ? "busy" :
		       "bad arguments");
		fflush(stdout);
		return;
	}

	g->seconds = seconds;
	g->drain_ms = drain;
	g->t_meas = load_now_ns() + (uint64_t)(warmup * 1e9);
	g->phase = WARMUP;
}


/* One line of stdin. */
static void command(struct gen *g, const char *line)
{
	unsigned a, b;
	int err = 0;

	if (!strncmp(line, "start ", 6))
		err = cmd_start(g, line, true);
	else if (!strncmp(line, "plain ", 6))
		err = cmd_start(g, line, false);
	else if (sscanf(line, "open %u", &a) == 1)
		err = cmd_open(g, a);
	else if (!strncmp(line, "measure ", 8))
		cmd_measure(g, line);
	else if (sscanf(line, "setup %u %u", &a, &b) == 2)
		setup_report(g, a, b);
	else if (!strcmp(line, "stats"))
		stats_report(g);
	else if (!strcmp(line, "sync"))
		printf("ok sync\n");
	else if (!strcmp(line, "quit"))
		re_cancel();
	else if (line[0])
		err = EINVAL;

	if (err) {
		fprintf(stderr, "webrtc_load: %s: %s\n", line, strerror(err));
		printf("error %s: %s\n", strerror(err), line);
	}
	fflush(stdout);
}


static void stdin_readable(int flags, void *arg)
{
	struct gen *g = arg;
	ssize_t n;
	char *nl;

	(void)flags;

	n = read(STDIN_FILENO, g->in + g->inlen, sizeof(g->in) - 1 - g->inlen);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		fd_close(STDIN_FILENO);
		re_cancel();
		return;
	}
	g->inlen += (size_t)n;
	g->in[g->inlen] = '\0';

	while ((nl = strchr(g->in, '\n'))) {
		*nl = '\0';
		command(g, g->in);
		g->inlen -= (size_t)(nl + 1 - g->in);
		memmove(g->in, nl + 1, g->inlen + 1);
	}

	if (g->inlen == sizeof(g->in) - 1) {
		fprintf(stderr, "webrtc_load: a line too long, dropped\n");
		g->inlen = 0;
	}
}


static void signal_h(int sig)
{
	(void)sig;
	re_cancel();
}


static int buffers_alloc(struct gen *g)
{
	g->hist = calloc(HIST_US, sizeof(*g->hist));
	g->by_port = malloc(65536 * sizeof(*g->by_port));
	g->tx = calloc(TX_MAX, sizeof(*g->tx));
	if (!g->hist || !g->by_port || !g->tx)
		return ENOMEM;
	memset(g->by_port, 0xff, 65536 * sizeof(*g->by_port));
	for (unsigned i = 0; i < WL_PARTIES * SHARED_MAX; i++)
		g->head[i] = g->tail[i] = -1;

	for (int i = 0; i < BATCH; i++) {
		g->rx_iov[i].iov_base = g->rx_buf[i];
		g->rx_iov[i].iov_len = sizeof(g->rx_buf[i]);
		g->rx_msg[i].msg_hdr = (struct msghdr){
			.msg_name = &g->rx_src[i],
			.msg_namelen = sizeof(g->rx_src[i]),
			.msg_iov = &g->rx_iov[i],
			.msg_iovlen = 1,
			.msg_control = g->rx_ctl[i],
			.msg_controllen = sizeof(g->rx_ctl[i]),
		};
	}

	return 0;
}


/* Two sockets per call: as many descriptors as the hard limit allows. */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}


static void usage(void)
{
	fprintf(stderr,
		"usage: webrtc_load [-p PERIOD_MS] [-L LATE_MS] "
		"[-S any|gcm|cm] [-k SOCKETS] [-c CONSENT_S] "
		"[-T SECONDS_MAX]\n"
		"  -k K: K sockets per party shared by all calls (0, the "
		"default: one per call and party)\n"
		"  commands on stdin: open, start, plain, measure, setup, "
		"stats, sync, quit (see webrtc_load.c)\n");
}


int main(int argc, char *argv[])
{
	static struct gen g = {.o = {.period_ms = 20, .late_ms = 100,
				     .suite = "any", .bound_s = 7200}};
	double consent_s = 5;
	int c, err;

	while ((c = getopt(argc, argv, "p:L:S:k:c:T:h")) != -1) {
		switch (c) {
		case 'p': g.o.period_ms = (uint32_t)atoi(optarg); break;
		case 'L': g.o.late_ms = (uint32_t)atoi(optarg); break;
		case 'S': g.o.suite = optarg; break;
		case 'k': g.o.shared = (uint32_t)atoi(optarg); break;
		case 'c': consent_s = atof(optarg); break;
		case 'T': g.o.bound_s = (uint32_t)atoi(optarg); break;
		default:
			usage();
			return 2;
		}
	}
	if (!g.o.period_ms || g.o.period_ms > PERIOD_MAX || !g.o.late_ms ||
	    g.o.late_ms > 900 || consent_s < 0.5 || consent_s > 25 ||
	    !g.o.bound_s || g.o.shared > SHARED_MAX) {
		usage();
		return 2;
	}

	g.peers.consent_ns = (uint64_t)(consent_s * 1e9);
	g.peers.retry_ns = 100000000ull;    /* 100 ms */
	g.peers.tries_max = 20;
	g.run_id = (uint32_t)getpid() ^ (uint32_t)load_now_ns();
	g.real_off = load_realtime_offset();
	nofile_raise();

	err = libre_init();
	if (err) {
		fprintf(stderr, "webrtc_load: libre_init: %s\n", strerror(err));
		return 1;
	}

	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		err = errno;
	if (!err)
		err = buffers_alloc(&g);
	if (!err)
		err = wl_peers_init(&g.peers, g.o.suite);
	if (!err)
		err = shared_open(&g);
	if (!err)
		err = fd_listen(g.ep, FD_READ, ep_readable, &g);
	if (!err)
		err = fd_listen(STDIN_FILENO, FD_READ, stdin_readable, &g);
	if (err) {
		fprintf(stderr, "webrtc_load: %s\n", strerror(err));
		goto out;
	}

	printf("fingerprint %s\nready\n",
	       sbc_dtls_cert_fingerprint(g.peers.cert));
	fflush(stdout);

	/* the time bound: libre's loop takes SIGALRM as a signal to stop */
	alarm(g.o.bound_s);
	tmr_start(&g.tick, 1, tick_h, &g);
	err = re_main(signal_h);

 out:
	tmr_cancel(&g.tick);
	fd_close(STDIN_FILENO);
	if (g.ep >= 0) {
		fd_close(g.ep);
		close(g.ep);
	}
	for (uint32_t i = 0; i < g.ncalls; i++)
		call_free(g.calls[i]);
	for (uint32_t j = 0; j < g.o.shared; j++)
		for (int p = 0; p < WL_PARTIES; p++)
			if (g.sfd[p][j] > 0)
				close(g.sfd[p][j]);
	free(g.calls);
	free(g.hist);
	free(g.by_port);
	free(g.tx);
	wl_peers_close(&g.peers);
	libre_close();

	return err ? 1 : 0;
}
