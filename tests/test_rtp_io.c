/*
 * Unit tests of the relay's data path (rtp/io.h), every case run over
 * io_uring and over epoll. Each builds a tiny relay on the io: sockets A
 * and B on 127.0.0.1, what A reads leaves from B to peer P2, what B reads
 * leaves from A to P1; the peers are plain sockets in libre's loop, which
 * runs under a 1 ms timer that paces the peers' traffic and stops the
 * loop when the case has seen what it waits for.
 *
 * Checked: datagrams arrive intact, in order and from the relay's
 * socket; an oversized one is dropped and counted; a removed socket's
 * port is free after a turn of the loop, also when the handler removes
 * its own socket; adding and removing hundreds of sockets leaks no fd;
 * a burst beyond the socket buffer loses some and the flow after it
 * loses none; after a flood of many sockets at once (io_uring: beyond
 * its buffer pool) every socket is read again; a datagram from another
 * thread wakes the sleeping loop. The io_uring cases skip where the
 * kernel refuses io_uring.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <re.h>
#include "rtp/io.h"

enum {
	N         = 1000,    /* datagrams each way in a flow */
	PER_TICK  = 50,      /* sent each way per 1 ms tick */
	LEN       = 172,     /* an RTP packet of 20 ms G.711 */
	BURST     = 20000,
	SOCKETS   = 256,
	CHURN     = 200,
	WAIT_MS   = 10000,
	PEER_BUF  = 4 << 20,
	SMALL_BUF = 4096,
	SMALL_PACE = 4,
	STORM     = 64,      /* sockets flooded at once */
	STORM_PKTS = 300,    /* each */
};

/* A relay socket: where what it reads goes, and what it saw. */
struct leg {
	int fd;
	int out;                /* the socket it leaves from */
	const struct sa *dst;   /* the peer it goes to */
	const struct sa *from;  /* the peer it hears */
	uint32_t got;
	uint32_t bad;           /* wrong source or time, refused send */
	uint32_t remove_at;     /* remove itself at this datagram (0: no) */
};

/* A peer: its socket and what it checks of what it hears. */
struct peer {
	int fd;
	struct sa addr;
	const struct sa *from;  /* the relay socket it must hear from */
	uint32_t base;          /* first sequence number of the phase */
	uint32_t next;          /* the one expected next */
	uint32_t got;           /* of this phase */
	uint32_t gaps;          /* missing ones, skipped over */
	uint32_t bad;           /* wrong source, size, content or order */
	size_t len;             /* size of this phase's datagrams */
	uint64_t last_ms;       /* when it last heard something */
	uint32_t stop_at;       /* stops the loop when got reaches it */
};

struct fixture {
	struct sbc_rtp_io *io;
	struct sa a_addr, b_addr;
	struct leg la, lb;
	struct peer p1, p2;
	struct tmr tick;
	uint64_t deadline;
	bool (*until)(const struct fixture *f);
	const struct leg *legs; /* test_storm's, for its until() */
	uint32_t to_send;       /* each way, paced */
	uint32_t per_tick;
	uint32_t sent;
	uint32_t seq;
};


static int udp_socket(struct sa *addr, int rcvbuf)
{
	struct sa any;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);

	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
					    &rcvbuf, sizeof(rcvbuf)), 0);

	assert_int_equal(sa_set_str(&any, "127.0.0.1", 0), 0);
	assert_int_equal(bind(fd, &any.u.sa, any.len), 0);

	addr->len = sizeof(addr->u);
	assert_int_equal(getsockname(fd, &addr->u.sa, &addr->len), 0);

	return fd;
}


static void peer_send(struct peer *p, const struct sa *to, uint32_t seq,
		      size_t len)
{
	uint8_t buf[SBC_RTP_PKT_SIZE + 100];
	uint32_t nseq = htonl(seq);
	size_t i;

	memcpy(buf, &nseq, 4);
	for (i = 4; i < len; i++)
		buf[i] = (uint8_t)(seq + i);

	(void)sendto(p->fd, buf, len, MSG_DONTWAIT, &to->u.sa, to->len);
}


static bool intact(const uint8_t *buf, size_t len, uint32_t seq)
{
	size_t i;

	for (i = 4; i < len; i++) {
		if (buf[i] != (uint8_t)(seq + i))
			return false;
	}

	return true;
}


static void peer_check(struct peer *p, const uint8_t *buf, size_t len,
		       const struct sa *src)
{
	uint32_t seq;

	if (len < 4) {
		p->bad++;
		return;
	}

	memcpy(&seq, buf, 4);
	seq = ntohl(seq);
	if (seq < p->base)
		return;    /* late, from an earlier phase */

	if (seq < p->next || len != p->len || !intact(buf, len, seq) ||
	    !sa_cmp(src, p->from, SA_ALL))
		p->bad++;

	if (seq >= p->next) {
		p->gaps += seq - p->next;
		p->next  = seq + 1;
	}
	p->got++;
}


static void peer_readable(int flags, void *arg)
{
	uint8_t buf[SBC_RTP_PKT_SIZE + 100];
	struct peer *p = arg;
	struct sa src;
	ssize_t n;

	(void)flags;

	for (;;) {
		src.len = sizeof(src.u);
		n = recvfrom(p->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     &src.u.sa, &src.len);
		if (n < 0)
			break;
		peer_check(p, buf, (size_t)n, &src);
		p->last_ms = tmr_jiffies();
		if (p->stop_at && p->got == p->stop_at)
			re_cancel();
	}
}


static void peer_phase(struct peer *p, uint32_t base, size_t len)
{
	p->base = base;
	p->next = base;
	p->len  = len;
	p->got  = 0;
	p->gaps = 0;
	p->bad  = 0;
}


static void relay_recv(void *sock_arg, struct sbc_rtp_pkt *pkt, void *arg)
{
	struct leg *l = sock_arg;
	struct fixture *f = arg;

	l->got++;
	if (!sa_cmp(&pkt->src, l->from, SA_ALL) || !pkt->rx_ns)
		l->bad++;

	if (l->got == l->remove_at) {
		sbc_rtp_io_remove(f->io, l->fd);
		l->fd = -1;
		return;
	}

	if (sbc_rtp_io_send(f->io, l->out, pkt, l->dst))
		l->bad++;

	/* once only */
	if (sbc_rtp_io_send(f->io, l->out, pkt, l->dst) != EALREADY)
		l->bad++;
}


static void fixture_destructor(void *arg)
{
	struct fixture *f = arg;

	tmr_cancel(&f->tick);
	mem_deref(f->io);   /* closes A and B */

	if (f->p1.fd >= 0) {
		fd_close(f->p1.fd);
		(void)close(f->p1.fd);
	}
	if (f->p2.fd >= 0) {
		fd_close(f->p2.fd);
		(void)close(f->p2.fd);
	}
}


static void leg_init(struct leg *l, int fd, int out, const struct peer *to,
		     const struct peer *from)
{
	l->fd   = fd;
	l->out  = out;
	l->dst  = &to->addr;
	l->from = &from->addr;
}


/* The relay of the kind asked for, A's receive buffer rcvbuf bytes (0:
 * the default); skips the case if the kernel refuses io_uring. */
static struct fixture *fixture(void **state, enum sbc_rtp_io_kind kind,
			       int rcvbuf)
{
	struct fixture *f;
	int a, b, err;

	f = mem_zalloc(sizeof(*f), fixture_destructor);
	assert_non_null(f);
	f->p1.fd = -1;
	f->p2.fd = -1;
	*state = f;

	err = sbc_rtp_io_alloc(&f->io, kind, SOCKETS, relay_recv, f);
	if (kind == SBC_RTP_IO_URING &&
	    (err == ENOSYS || err == EPERM || err == EOPNOTSUPP)) {
		print_message("io_uring refused by the kernel: %s\n",
			      strerror(err));
		skip();
	}
	assert_int_equal(err, 0);
	assert_int_equal(sbc_rtp_io_kind(f->io), kind);

	f->p1.fd = udp_socket(&f->p1.addr, PEER_BUF);
	f->p2.fd = udp_socket(&f->p2.addr, PEER_BUF);
	a = udp_socket(&f->a_addr, rcvbuf);
	b = udp_socket(&f->b_addr, 0);
	f->p1.from = &f->a_addr;
	f->p2.from = &f->b_addr;

	leg_init(&f->la, a, b, &f->p2, &f->p1);
	leg_init(&f->lb, b, a, &f->p1, &f->p2);
	assert_int_equal(sbc_rtp_io_add(f->io, a, &f->la), 0);
	assert_int_equal(sbc_rtp_io_add(f->io, b, &f->lb), 0);

	assert_int_equal(fd_listen(f->p1.fd, FD_READ, peer_readable, &f->p1),
			 0);
	assert_int_equal(fd_listen(f->p2.fd, FD_READ, peer_readable, &f->p2),
			 0);

	peer_phase(&f->p1, 0, LEN);
	peer_phase(&f->p2, 0, LEN);

	return f;
}


static int teardown(void **state)
{
	struct memstat st;

	*state = mem_deref(*state);

	/* ENOSYS without MEM_DEBUG: LeakSanitizer covers that build */
	if (0 == mem_get_stat(&st))
		assert_int_equal(st.blocks_cur, 0);

	return 0;
}


static void tick(void *arg)
{
	struct fixture *f = arg;
	uint32_t i;

	for (i = 0; i < f->per_tick && f->sent < f->to_send; i++, f->sent++) {
		peer_send(&f->p1, &f->a_addr, f->seq, LEN);
		peer_send(&f->p2, &f->b_addr, f->seq, LEN);
		f->seq++;
	}

	if ((f->until && f->until(f)) || tmr_jiffies() >= f->deadline) {
		re_cancel();
		return;
	}

	tmr_start(&f->tick, 1, tick, f);
}


/* Turns libre's loop until until(f) holds or max_ms passed. */
static void run(struct fixture *f, uint32_t max_ms,
		bool (*until)(const struct fixture *f))
{
	f->until    = until;
	f->deadline = tmr_jiffies() + max_ms;
	tmr_start(&f->tick, 0, tick, f);
	assert_int_equal(re_main(NULL), 0);
	tmr_cancel(&f->tick);
}


/* Starts a flow of n datagrams each way, per_tick a millisecond, in a
 * new phase. */
static void flow(struct fixture *f, uint32_t n, uint32_t per_tick)
{
	f->to_send  = n;
	f->per_tick = per_tick;
	f->sent     = 0;
	peer_phase(&f->p1, f->seq, LEN);
	peer_phase(&f->p2, f->seq, LEN);
}


static bool flow_done(const struct fixture *f)
{
	return f->p1.got >= f->to_send && f->p2.got >= f->to_send;
}


static bool quiet(const struct fixture *f)
{
	return tmr_jiffies() > f->p2.last_ms + 100;
}


static void expect_clean(const struct peer *p, uint32_t n)
{
	assert_int_equal(p->got, n);
	assert_int_equal(p->gaps, 0);
	assert_int_equal(p->bad, 0);
}


static void test_flow(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);

	flow(f, N, PER_TICK);
	run(f, WAIT_MS, flow_done);

	expect_clean(&f->p1, N);
	expect_clean(&f->p2, N);
	assert_int_equal(f->la.got, N);
	assert_int_equal(f->lb.got, N);
	assert_int_equal(f->la.bad, 0);
	assert_int_equal(f->lb.bad, 0);
	assert_int_equal(sbc_rtp_io_drops(f->io), 0);
}


static bool p2_got_one(const struct fixture *f)
{
	return f->p2.got >= 1;
}


static void test_oversize(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);

	/* one byte too many, then the largest that passes */
	peer_phase(&f->p2, 1, SBC_RTP_PKT_SIZE);
	peer_send(&f->p1, &f->a_addr, 1, SBC_RTP_PKT_SIZE + 1);
	peer_send(&f->p1, &f->a_addr, 2, SBC_RTP_PKT_SIZE);
	run(f, WAIT_MS, p2_got_one);
	run(f, 20, NULL);

	assert_int_equal(sbc_rtp_io_drops(f->io), 1);
	assert_int_equal(f->la.got, 1);
	assert_int_equal(f->p2.got, 1);
	assert_int_equal(f->p2.next, 3);
	assert_int_equal(f->p2.bad, 0);
}


static void rebind(const struct sa *addr)
{
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, &addr->u.sa, addr->len), 0);
	(void)close(fd);
}


static void test_remove(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);
	const int b = f->lb.fd;
	uint32_t i;

	/* B removed from outside a handler */
	sbc_rtp_io_remove(f->io, b);
	f->lb.fd = -1;
	run(f, 20, NULL);
	rebind(&f->b_addr);

	/* A removes itself while handling the 5th of 10 */
	f->la.remove_at = 5;
	for (i = 0; i < 10; i++)
		peer_send(&f->p1, &f->a_addr, i, LEN);
	run(f, 50, NULL);
	assert_int_equal(f->la.got, 5);
	rebind(&f->a_addr);
}


static uint32_t fd_count(void)
{
	struct dirent *de;
	uint32_t n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);

	return n;
}


static void test_churn(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);
	int fds[CHURN];
	uint32_t before, round, i;
	struct sa addr;

	before = fd_count();

	for (round = 0; round < 3; round++) {
		for (i = 0; i < CHURN; i++) {
			fds[i] = udp_socket(&addr, 0);
			assert_int_equal(sbc_rtp_io_add(f->io, fds[i], NULL),
					 0);
		}
		for (i = 0; i < CHURN; i++)
			sbc_rtp_io_remove(f->io, fds[i]);
		run(f, 20, NULL);
		assert_int_equal(fd_count(), before);
	}

	/* the relay still relays */
	flow(f, 100, PER_TICK);
	run(f, WAIT_MS, flow_done);
	expect_clean(&f->p2, 100);
}


static void test_burst(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, SMALL_BUF);
	uint32_t i;

	/* far more than A's buffer, with no loop turning */
	peer_phase(&f->p2, 0, LEN);
	for (i = 0; i < BURST; i++)
		peer_send(&f->p1, &f->a_addr, i, LEN);
	f->seq = BURST;
	f->p2.last_ms = tmr_jiffies();
	run(f, WAIT_MS, quiet);

	print_message("burst of %u: %u relayed, %llu drops counted\n",
		      BURST, f->p2.got,
		      (unsigned long long)sbc_rtp_io_drops(f->io));
	assert_true(f->p2.got > 0);
	assert_true(f->p2.got < BURST);
	assert_int_equal(f->p2.bad, 0);
	if (kind == SBC_RTP_IO_URING)
		assert_true(sbc_rtp_io_drops(f->io) > 0);

	/* the overload is over (a pace A's small buffer takes): nothing is
	 * lost any more */
	flow(f, N, SMALL_PACE);
	run(f, WAIT_MS, flow_done);
	expect_clean(&f->p1, N);
	expect_clean(&f->p2, N);
}


static bool storm_read(const struct fixture *f)
{
	uint32_t i;

	for (i = 0; i < STORM; i++) {
		if (!f->legs[i].got)
			return false;
	}

	return true;
}


/* Many sockets flooded at once (io_uring: far beyond the buffer pool,
 * every receive ends dry): afterwards each of them is read again. */
static void test_storm(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);
	struct leg legs[STORM];
	struct sa addr[STORM];
	uint32_t i, j;
	int fd;

	memset(legs, 0, sizeof(legs));
	for (i = 0; i < STORM; i++) {
		fd = udp_socket(&addr[i], 0);
		leg_init(&legs[i], fd, f->lb.fd, &f->p2, &f->p1);
		assert_int_equal(sbc_rtp_io_add(f->io, fd, &legs[i]), 0);
	}

	for (j = 0; j < STORM_PKTS; j++) {
		for (i = 0; i < STORM; i++)
			peer_send(&f->p1, &addr[i], j, LEN);
	}
	f->p2.last_ms = tmr_jiffies();
	run(f, WAIT_MS, quiet);
	if (kind == SBC_RTP_IO_URING)
		assert_true(sbc_rtp_io_drops(f->io) > 0);

	/* one more datagram to each: every socket still reads */
	for (i = 0; i < STORM; i++) {
		legs[i].got = 0;
		peer_send(&f->p1, &addr[i], STORM_PKTS, LEN);
	}
	f->legs = legs;
	run(f, WAIT_MS, storm_read);
	for (i = 0; i < STORM; i++) {
		assert_int_equal(legs[i].got, 1);
		assert_int_equal(legs[i].bad, 0);
	}
}


static void *late_sender(void *arg)
{
	struct fixture *f = arg;
	const struct timespec ts = {.tv_nsec = 50 * 1000 * 1000};
	uint32_t i;

	for (i = 0; i < 3; i++) {
		(void)nanosleep(&ts, NULL);
		peer_send(&f->p1, &f->a_addr, i, LEN);
	}

	return NULL;
}


static void stop(void *arg)
{
	(void)arg;
	re_cancel();
}


/* The loop sleeps with nothing else to wake it: datagrams sent by
 * another thread must wake it all the same, each at once. */
static void test_wakeup(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);
	uint64_t start, took;
	pthread_t th;

	start = tmr_jiffies();
	assert_int_equal(pthread_create(&th, NULL, late_sender, f), 0);

	/* no ticks: one timer long after the last datagram */
	f->p2.stop_at = 3;
	tmr_start(&f->tick, 1000, stop, NULL);
	assert_int_equal(re_main(NULL), 0);
	took = tmr_jiffies() - start;
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_int_equal(f->p2.got, 3);
	assert_true(took < 500);
}


static void test_misuse(void **state, enum sbc_rtp_io_kind kind)
{
	struct fixture *f = fixture(state, kind, 0);
	struct sbc_rtp_pkt pkt = {.buf = NULL};
	struct sbc_rtp_io *io = NULL;

	assert_int_equal(sbc_rtp_io_alloc(&io, kind, 0, relay_recv, f),
			 EINVAL);
	assert_int_equal(sbc_rtp_io_alloc(&io, kind, 1, NULL, f), EINVAL);
	assert_int_equal(sbc_rtp_io_add(f->io, f->la.fd, NULL), EALREADY);
	assert_int_equal(sbc_rtp_io_add(f->io, -1, NULL), EINVAL);

	/* a send outside a receive handler */
	assert_int_equal(sbc_rtp_io_send(f->io, f->la.fd, &pkt,
					 &f->p1.addr), EINVAL);

	/* removing what is not there */
	sbc_rtp_io_remove(f->io, 12345);
}


/* Each case over io_uring and over epoll. */
#define BOTH(name)							\
	static void name##_uring(void **state)				\
	{								\
		name(state, SBC_RTP_IO_URING);				\
	}								\
	static void name##_epoll(void **state)				\
	{								\
		name(state, SBC_RTP_IO_EPOLL);				\
	}

BOTH(test_flow)
BOTH(test_oversize)
BOTH(test_remove)
BOTH(test_churn)
BOTH(test_burst)
BOTH(test_storm)
BOTH(test_wakeup)
BOTH(test_misuse)

#define CASES(name)							\
	cmocka_unit_test_teardown(name##_uring, teardown),		\
	cmocka_unit_test_teardown(name##_epoll, teardown)


static int group_setup(void **state)
{
	(void)state;

	return libre_init();
}


static int group_teardown(void **state)
{
	(void)state;

	libre_close();

	return 0;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		CASES(test_flow),
		CASES(test_oversize),
		CASES(test_remove),
		CASES(test_churn),
		CASES(test_burst),
		CASES(test_storm),
		CASES(test_wakeup),
		CASES(test_misuse),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
