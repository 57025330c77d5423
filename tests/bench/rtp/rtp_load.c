/*
 * rtp_load: packet generator and sink of the RTP relay benchmark.
 *
 * Drives N G.711 calls through a relay: each call is two streams (A to B
 * and B to A) of valid RTP (PT 0 PCMU, 160 bytes of payload every 20 ms at
 * the default 50 packets/s, increasing sequence number and timestamp, an
 * SSRC per stream). The calls file says, one line per call,
 *
 *	A_local_port B_local_port relay_ip relay_port_for_A relay_port_for_B
 *
 * the socket bound to 127.0.0.1:A_local_port sends to relay_ip:
 * relay_port_for_A and receives the B-to-A stream; the one bound to
 * B_local_port sends to relay_port_for_B. Calls may share local ports:
 * one socket is opened per distinct port, and sharing lets the generator
 * batch its sendmmsg/recvmmsg (the relay still sees a port pair per call).
 *
 * Pacing: packet k of the run (stream k mod S, S = 2N) is due at
 * t0 + k / R, R = S x rate, so the offered rate is exact whatever the
 * wakeups; a round sends every packet due, grouped by socket, then the
 * sink reads what is ready (epoll, level-triggered, recvmmsg) until the
 * next round, at least a tick later. Packets due in the warm-up are sent
 * unmarked; those of the measured window are marked, counted per stream
 * when sent and when received back on the other socket of their call.
 * After the window, a drain time lets late packets in; lost = sent -
 * received, and a packet that came later than -L ms (100) is counted
 * late: a jitter buffer would have dropped it. A relay past its capacity
 * shows as late packets first, since its sockets queue seconds of a
 * stream before the kernel drops any. One-way latency is the kernel's
 * receive timestamp (SO_TIMESTAMPNS, taken when the relay's send reaches
 * the loopback) minus the CLOCK_MONOTONIC time written in the packet just
 * before its sendmmsg, in 1 µs buckets. Each run marks its packets with
 * an id of its own: what a relay still held from an earlier run is stale.
 *
 * Stdout: "# measure" when the window opens and "# drain" when it closes
 * (an orchestrator samples the relay's CPU on them), then one JSON line
 * with the figures. It stops by itself (an alarm backs the time bound).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "load_clock.h"


enum {
	RTP_HDR   = 12,
	PAYLOAD   = 160,       /* 20 ms of PCMU at 8 kHz */
	PKT       = RTP_HDR + PAYLOAD,
	BATCH     = 64,        /* messages per sendmmsg / recvmmsg */
	ROUND_MAX = 2048,      /* packets per send round at most */
	EVENTS    = 256,
	HIST_US   = 1000000,   /* latency histogram: 1 µs buckets to 1 s */
	MAGIC     = 0x53425254,
	MEASURED  = 1,
	SOCK_BUF  = 4 << 20,
};

/* What the generator writes after the RTP header (host byte order: the
 * sink is the same program). */
struct mark {
	uint32_t magic;
	uint32_t stream;
	uint32_t flags;
	uint32_t run;          /* this run's id: older packets are stale */
	uint64_t sent_ns;      /* CLOCK_MONOTONIC, just before sendmmsg */
};

struct stream {
	struct sockaddr_in dst;  /* the relay port it sends to */
	uint32_t sock;           /* the socket it sends from */
	uint32_t rx_sock;        /* the socket it must come back to */
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint64_t sent;           /* marked packets sent */
	uint64_t recv;           /* marked packets received */
};

struct sock {
	int fd;
	uint16_t port;
	int32_t head, tail;      /* this round's packets, chained */
};

struct opts {
	const char *calls;
	uint32_t max_calls;      /* 0: every line */
	double rate;             /* packets/s per stream */
	double warmup, duration; /* s */
	uint32_t drain_ms;
	uint32_t late_ms;        /* later than this: as good as lost */
	uint32_t tick_us;
};

struct load {
	struct opts o;
	struct stream *st;
	uint32_t nst;
	struct sock *sk;
	uint32_t nsk;
	int ep;

	double total_rate;       /* packets/s over all streams */
	uint64_t t0;
	uint64_t k;              /* next packet to send */
	uint64_t k_meas, k_end;  /* the measured window: [k_meas, k_end) */
	uint64_t t_meas, t_end;  /* when its first and last packet went */
	int64_t behind_max;      /* ns a round was behind its due time */
	uint32_t run_id;
	uint64_t send_err, misrouted, foreign, stale, rx_warm;
	int64_t real_off;        /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint32_t *hist;
	uint64_t nlat;

	/* one round's packets */
	uint8_t (*pkt)[PKT];
	int32_t *next;
	uint32_t *touched;
	struct mmsghdr *msg;
	struct iovec *iov;

	/* the sink's buffers */
	uint8_t (*rx_pkt)[256];
	struct mmsghdr rx_msg[BATCH];
	struct iovec rx_iov[BATCH];
	uint8_t rx_ctl[BATCH][CMSG_SPACE(sizeof(struct timespec))];
};


/* When packet k is due. */
static uint64_t due_ns(const struct load *l, uint64_t k)
{
	return l->t0 + (uint64_t)((double)k * 1e9 / l->total_rate);
}


/* The socket bound to 127.0.0.1:port, opened on first use; its index in
 * *idx. Returns 0 or errno. */
static int sock_get(struct load *l, int32_t *map, uint16_t port,
		    uint32_t *idx)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	const int one = 1, buf = SOCK_BUF;
	struct epoll_event ev = {.events = EPOLLIN};
	struct sock *s;
	int fd;

	if (map[port] >= 0) {
		*idx = (uint32_t)map[port];
		return 0;
	}

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* FORCE goes past rmem_max when we may; the plain one otherwise */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		const int err = errno;

		fprintf(stderr, "rtp_load: 127.0.0.1:%u: %s\n", port,
			strerror(err));
		close(fd);
		return err;
	}

	s = &l->sk[l->nsk];
	s->fd = fd;
	s->port = port;
	s->head = s->tail = -1;
	ev.data.u32 = l->nsk;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev))
		return errno;

	map[port] = (int32_t)l->nsk;
	*idx = l->nsk++;
	return 0;
}


/* Reads the calls file: two streams per line. Returns 0 or errno. */
static int calls_read(struct load *l)
{
	uint32_t cap = 1024, ncalls = 0;
	int32_t *map = NULL;
	FILE *f;
	char line[256];
	int err = 0;

	f = fopen(l->o.calls, "r");
	if (!f) {
		err = errno;
		fprintf(stderr, "rtp_load: %s: %s\n", l->o.calls,
			strerror(err));
		return err;
	}

	map = malloc(65536 * sizeof(*map));
	l->st = malloc(2 * cap * sizeof(*l->st));
	l->sk = malloc(2 * cap * sizeof(*l->sk));
	if (!map || !l->st || !l->sk) {
		err = ENOMEM;
		goto out;
	}
	memset(map, 0xff, 65536 * sizeof(*map));

	while (fgets(line, sizeof(line), f)) {
		unsigned a, b, pa, pb;
		char ip[64];
		struct in_addr relay;
		uint32_t sa, sb;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (l->o.max_calls && ncalls == l->o.max_calls)
			break;
		if (sscanf(line, "%u %u %63s %u %u", &a, &b, ip, &pa, &pb)
		    != 5 || !a || !b || !pa || !pb || a > 65535 ||
		    b > 65535 || pa > 65535 || pb > 65535 ||
		    inet_pton(AF_INET, ip, &relay) != 1) {
			fprintf(stderr, "rtp_load: %s: bad line: %s",
				l->o.calls, line);
			err = EBADMSG;
			goto out;
		}

		if (ncalls == cap) {
			void *st, *sk;

			cap *= 2;
			st = realloc(l->st, 2 * cap * sizeof(*l->st));
			if (st)
				l->st = st;
			sk = realloc(l->sk, 2 * cap * sizeof(*l->sk));
			if (sk)
				l->sk = sk;
			if (!st || !sk) {
				err = ENOMEM;
				goto out;
			}
		}

		err = sock_get(l, map, (uint16_t)a, &sa);
		if (!err)
			err = sock_get(l, map, (uint16_t)b, &sb);
		if (err)
			goto out;

		for (int d = 0; d < 2; d++) {
			struct stream *s = &l->st[2 * ncalls + d];

			memset(s, 0, sizeof(*s));
			s->dst.sin_family = AF_INET;
			s->dst.sin_addr = relay;
			s->dst.sin_port = htons((uint16_t)(d ? pb : pa));
			s->sock = d ? sb : sa;
			s->rx_sock = d ? sa : sb;
			s->ssrc = 0x5b000000u ^ (2 * ncalls + d) * 2654435761u;
			s->seq = (uint16_t)(s->ssrc >> 7);
			s->ts = s->ssrc * 7u;
		}
		++ncalls;
	}

	if (!ncalls) {
		fprintf(stderr, "rtp_load: %s: no calls\n", l->o.calls);
		err = EINVAL;
	}
	l->nst = 2 * ncalls;

 out:
	free(map);
	fclose(f);
	return err;
}


/* Puts the RTP header and the mark of packet k into buf; the send time
 * is written later. Returns the stream. */
static struct stream *pkt_build(struct load *l, uint64_t k, uint8_t *buf)
{
	const uint32_t si = (uint32_t)(k % l->nst);
	struct stream *s = &l->st[si];
	struct mark m = {.magic = MAGIC, .stream = si, .run = l->run_id};

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

	if (k >= l->k_meas && k < l->k_end)
		m.flags = MEASURED;
	memcpy(buf + RTP_HDR, &m, sizeof(m));
	return s;
}


/* Sends n messages of one socket, stamping them first; counts what went
 * into the streams' sent, what failed into send_err. */
static void sock_send(struct load *l, struct sock *sk, struct mmsghdr *msg,
		      const uint32_t *slot, uint32_t n)
{
	const uint64_t t = load_now_ns();
	uint32_t done = 0;

	for (uint32_t i = 0; i < n; i++)
		memcpy(l->pkt[slot[i]] + RTP_HDR +
		       offsetof(struct mark, sent_ns), &t, sizeof(t));

	while (done < n) {
		const int r = sendmmsg(sk->fd, msg + done,
				       n - done > BATCH ? BATCH : n - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* drop this one, try the rest */
			++l->send_err;
			++done;
			continue;
		}
		for (int i = 0; i < r; i++) {
			struct mark m;

			memcpy(&m, l->pkt[slot[done + i]] + RTP_HDR,
			       sizeof(m));
			if (m.flags & MEASURED)
				++l->st[m.stream].sent;
		}
		done += (uint32_t)r;
	}
}


/* Sends every packet due by now (ROUND_MAX at most), grouped by socket. */
static void send_round(struct load *l, uint64_t now)
{
	uint64_t due = (uint64_t)((double)(now - l->t0) * l->total_rate / 1e9)
		+ 1;
	uint32_t n, ntouched = 0;
	uint32_t slot[ROUND_MAX];

	if (due > l->k_end)
		due = l->k_end;
	if (due <= l->k)
		return;
	n = due - l->k > ROUND_MAX ? ROUND_MAX : (uint32_t)(due - l->k);

	if ((int64_t)(now - due_ns(l, l->k)) > l->behind_max)
		l->behind_max = (int64_t)(now - due_ns(l, l->k));
	if (l->k <= l->k_meas && l->k + n > l->k_meas) {
		l->t_meas = now;
		printf("# measure\n");
		fflush(stdout);
	}

	for (uint32_t i = 0; i < n; i++) {
		const struct stream *s = pkt_build(l, l->k + i, l->pkt[i]);
		struct sock *sk = &l->sk[s->sock];

		l->iov[i].iov_base = l->pkt[i];
		l->iov[i].iov_len = PKT;
		l->next[i] = -1;
		if (sk->tail < 0) {
			sk->head = (int32_t)i;
			l->touched[ntouched++] = s->sock;
		} else {
			l->next[sk->tail] = (int32_t)i;
		}
		sk->tail = (int32_t)i;
		/* the destination rides in msg_name of slot i's message */
		l->msg[i].msg_hdr = (struct msghdr){
			.msg_name = (void *)&s->dst,
			.msg_namelen = sizeof(s->dst),
			.msg_iov = &l->iov[i],
			.msg_iovlen = 1,
		};
	}

	/* one sendmmsg run per socket, in the order the socket came up */
	for (uint32_t t = 0; t < ntouched; t++) {
		struct sock *sk = &l->sk[l->touched[t]];
		struct mmsghdr run[ROUND_MAX];
		uint32_t m = 0;

		for (int32_t i = sk->head; i >= 0; i = l->next[i]) {
			run[m] = l->msg[i];
			slot[m++] = (uint32_t)i;
		}
		sk->head = sk->tail = -1;
		sock_send(l, sk, run, slot, m);
	}

	l->k += n;
	if (l->k == l->k_end) {
		l->t_end = load_now_ns();
		printf("# drain\n");
		fflush(stdout);
	}
}


/* Reads everything waiting on socket si. */
static void sock_recv(struct load *l, uint32_t si)
{
	for (;;) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			l->rx_msg[i].msg_hdr.msg_controllen =
				sizeof(l->rx_ctl[i]);
			l->rx_msg[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(l->sk[si].fd, l->rx_msg, BATCH, MSG_DONTWAIT,
			     NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;

		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &l->rx_msg[i].msg_hdr;
			const uint8_t *buf = l->rx_pkt[i];
			uint64_t t, us;
			struct mark m;

			if (l->rx_msg[i].msg_len < RTP_HDR + sizeof(m)) {
				++l->foreign;
				continue;
			}
			memcpy(&m, buf + RTP_HDR, sizeof(m));
			if (m.magic != MAGIC) {
				++l->foreign;
				continue;
			}
			if (m.run != l->run_id || m.stream >= l->nst) {
				++l->stale;
				continue;
			}
			if (l->st[m.stream].rx_sock != si) {
				++l->misrouted;
				continue;
			}
			if (!(m.flags & MEASURED)) {
				++l->rx_warm;
				continue;
			}
			++l->st[m.stream].recv;
			t = load_rx_time(mh, l->real_off);
			if (!t)
				t = load_now_ns();
			us = t > m.sent_ns ? (t - m.sent_ns) / 1000 : 0;
			++l->hist[us < HIST_US ? us : HIST_US - 1];
			++l->nlat;
		}

		if (n < BATCH)
			return;
	}
}


/* The latency under which a fraction q of the measured packets came, µs. */
static double pct_us(const struct load *l, double q)
{
	const uint64_t want = (uint64_t)((double)l->nlat * q);
	uint64_t acc = 0;

	if (!l->nlat)
		return -1;
	for (uint32_t i = 0; i < HIST_US; i++) {
		acc += l->hist[i];
		if (acc > want)
			return i;
	}

	return HIST_US - 1;
}


static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


/* The result line: counts over the measured window, latency
 * percentiles, the generator's CPU per packet (its send and its receive
 * of it). */
static void report(const struct load *l, double cpu)
{
	uint64_t sent = 0, recv = 0, dup = 0, silent = 0, lossy = 0, late = 0;
	const double secs = (double)(l->t_end - l->t_meas) / 1e9;
	const uint64_t late_us = l->o.late_ms * 1000ull;
	uint32_t max_us = 0;
	char first_silent[128] = "";
	size_t fs = 0;

	for (uint32_t i = 0; i < l->nst; i++) {
		const struct stream *s = &l->st[i];

		sent += s->sent;
		recv += s->recv > s->sent ? s->sent : s->recv;
		if (s->recv > s->sent)
			dup += s->recv - s->sent;
		if (s->sent && !s->recv) {
			/* the first few, as "call/direction" (0: A to B) */
			if (++silent <= 8 && fs < sizeof(first_silent) - 16)
				fs += (size_t)snprintf(first_silent + fs,
						       sizeof(first_silent) - fs,
						       "%s\"%u/%u\"",
						       fs ? ", " : "", i / 2,
						       i % 2);
		} else if (s->recv < s->sent) {
			++lossy;
		}
	}
	for (uint32_t i = 0; i < HIST_US; i++) {
		if (!l->hist[i])
			continue;
		max_us = i;
		if (i > late_us)
			late += l->hist[i];
	}
	if (late > recv)
		late = recv;

	printf("{\"calls\": %u, \"streams\": %u, \"sockets\": %u, "
	       "\"pps_per_stream\": %g, \"target_pps\": %.0f, "
	       "\"seconds\": %.3f, \"offered_pps\": %.0f, "
	       "\"forwarded_pps\": %.0f, \"sent\": %" PRIu64 ", "
	       "\"received\": %" PRIu64 ", \"lost\": %" PRIu64 ", "
	       "\"loss_pct\": %.4f, \"late_ms\": %u, \"late\": %" PRIu64
	       ", \"late_pct\": %.4f, \"send_errors\": %" PRIu64 ", "
	       "\"duplicates\": %" PRIu64 ", \"misrouted\": %" PRIu64 ", "
	       "\"stale\": %" PRIu64 ", \"foreign\": %" PRIu64 ", "
	       "\"warmup_received\": %" PRIu64 ", "
	       "\"streams_silent\": %" PRIu64 ", \"silent_first\": [%s], "
	       "\"streams_lossy\": %" PRIu64 ", \"lat_p50_us\": %.0f, "
	       "\"lat_p90_us\": %.0f, \"lat_p99_us\": %.0f, "
	       "\"lat_p999_us\": %.0f, "
	       "\"lat_max_us\": %u, \"behind_max_us\": %.0f, "
	       "\"gen_cpu_s\": %.3f, \"gen_us_per_pkt\": %.2f}\n",
	       l->nst / 2, l->nst, l->nsk, l->o.rate, l->total_rate, secs,
	       secs > 0 ? (double)sent / secs : 0,
	       secs > 0 ? (double)recv / secs : 0, sent, recv, sent - recv,
	       sent ? 100.0 * (double)(sent - recv) / (double)sent : 100.0,
	       l->o.late_ms, late,
	       sent ? 100.0 * (double)late / (double)sent : 0.0,
	       l->send_err, dup, l->misrouted, l->stale, l->foreign,
	       l->rx_warm, silent, first_silent, lossy, pct_us(l, 0.50),
	       pct_us(l, 0.90), pct_us(l, 0.99), pct_us(l, 0.999), max_us,
	       (double)l->behind_max / 1e3, cpu,
	       sent ? cpu * 1e6 / (double)sent : 0);
	fflush(stdout);
}


/* All marked packets back: the drain can stop early. */
static bool all_back(const struct load *l)
{
	for (uint32_t i = 0; i < l->nst; i++)
		if (l->st[i].recv < l->st[i].sent)
			return false;
	return true;
}


static int run(struct load *l)
{
	struct epoll_event ev[EVENTS];
	uint64_t next_send, drain_end = 0, next_off;
	double cpu0 = 0, cpu = 0;
	bool counted = false;

	l->total_rate = l->o.rate * l->nst;
	l->k_meas = (uint64_t)(l->o.warmup * l->total_rate);
	l->k_end = l->k_meas + (uint64_t)(l->o.duration * l->total_rate);
	l->real_off = load_realtime_offset();
	l->t0 = load_now_ns();
	next_send = l->t0;
	next_off = l->t0 + 1000000000ull;

	for (;;) {
		const uint64_t now = load_now_ns();
		uint64_t wake;
		struct timespec to;
		int n;

		if (l->k < l->k_end && now >= next_send) {
			if (l->k >= l->k_meas && !counted) {
				cpu0 = cpu_s();
				counted = true;
			}
			send_round(l, now);
			if (l->k == l->k_end) {
				cpu = cpu_s() - cpu0;
				drain_end = now + l->o.drain_ms * 1000000ull;
			} else {
				const uint64_t d = due_ns(l, l->k);
				const uint64_t tick = now + l->o.tick_us * 1000ull;

				next_send = d > tick ? d : tick;
			}
		}
		if (l->k == l->k_end &&
		    (now >= drain_end || all_back(l)))
			break;

		if (now >= next_off) {
			l->real_off = load_realtime_offset();
			next_off = now + 1000000000ull;
		}

		wake = l->k < l->k_end ? next_send : drain_end;
		if (wake > now + 100000000ull)
			wake = now + 100000000ull;
		to.tv_sec = 0;
		to.tv_nsec = wake > now ? (long)(wake - now) : 0;
		n = epoll_pwait2(l->ep, ev, EVENTS, &to, NULL);
		if (n < 0 && errno != EINTR) {
			perror("rtp_load: epoll_pwait2");
			return errno;
		}
		for (int i = 0; i < n; i++)
			sock_recv(l, ev[i].data.u32);
	}

	report(l, cpu);
	return 0;
}


static int buffers_alloc(struct load *l)
{
	l->hist = calloc(HIST_US, sizeof(*l->hist));
	l->pkt = calloc(ROUND_MAX, sizeof(*l->pkt));
	l->next = calloc(ROUND_MAX, sizeof(*l->next));
	l->touched = calloc(ROUND_MAX, sizeof(*l->touched));
	l->msg = calloc(ROUND_MAX, sizeof(*l->msg));
	l->iov = calloc(ROUND_MAX, sizeof(*l->iov));
	l->rx_pkt = calloc(BATCH, sizeof(*l->rx_pkt));
	if (!l->hist || !l->pkt || !l->next || !l->touched || !l->msg ||
	    !l->iov || !l->rx_pkt)
		return ENOMEM;

	/* payload: PCMU silence, the mark over its first bytes */
	for (uint32_t i = 0; i < ROUND_MAX; i++)
		memset(l->pkt[i] + RTP_HDR, 0xff, PAYLOAD);

	for (int i = 0; i < BATCH; i++) {
		l->rx_iov[i].iov_base = l->rx_pkt[i];
		l->rx_iov[i].iov_len = sizeof(l->rx_pkt[i]);
		l->rx_msg[i].msg_hdr = (struct msghdr){
			.msg_iov = &l->rx_iov[i],
			.msg_iovlen = 1,
			.msg_control = l->rx_ctl[i],
			.msg_controllen = sizeof(l->rx_ctl[i]),
		};
	}

	return 0;
}


static void usage(void)
{
	fprintf(stderr,
		"usage: rtp_load -c CALLS [-n CALLS_USED] [-r PPS_PER_STREAM]"
		" [-d SECONDS] [-w WARMUP_S] [-D DRAIN_MS] [-L LATE_MS]"
		" [-t TICK_US]\n"
		"  CALLS: lines 'A_port B_port relay_ip relay_port_A "
		"relay_port_B'\n");
}


int main(int argc, char *argv[])
{
	struct load l = {.o = {.rate = 50, .warmup = 1, .duration = 5,
			       .drain_ms = 500, .late_ms = 100,
			       .tick_us = 200}};
	double bound;
	int c, err;

	while ((c = getopt(argc, argv, "c:n:r:d:w:D:L:t:h")) != -1) {
		switch (c) {
		case 'c': l.o.calls = optarg; break;
		case 'n': l.o.max_calls = (uint32_t)atoi(optarg); break;
		case 'r': l.o.rate = atof(optarg); break;
		case 'd': l.o.duration = atof(optarg); break;
		case 'w': l.o.warmup = atof(optarg); break;
		case 'D': l.o.drain_ms = (uint32_t)atoi(optarg); break;
		case 'L': l.o.late_ms = (uint32_t)atoi(optarg); break;
		case 't': l.o.tick_us = (uint32_t)atoi(optarg); break;
		default:
			usage();
			return 2;
		}
	}
	if (!l.o.calls || l.o.rate <= 0 || l.o.rate > 10000 ||
	    l.o.duration <= 0 || l.o.duration > 3600 || l.o.warmup < 0 ||
	    l.o.warmup > 600 || l.o.drain_ms > 60000 || !l.o.late_ms ||
	    l.o.late_ms > 900 || l.o.tick_us > 100000) {
		usage();
		return 2;
	}

	/* the time bound, should the loop ever miss its own */
	bound = l.o.warmup + l.o.duration + l.o.drain_ms / 1e3 + 30;
	alarm((unsigned)bound);

	l.run_id = (uint32_t)getpid() ^ (uint32_t)load_now_ns();
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0) {
		perror("rtp_load: epoll_create1");
		return 1;
	}
	err = buffers_alloc(&l);
	if (!err)
		err = calls_read(&l);
	if (!err)
		err = run(&l);

	return err ? 1 : 0;
}
