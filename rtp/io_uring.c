/*
 * The data path over io_uring (io.h): the relay's default.
 *
 * Receiving: every socket has one multishot recvmsg in the kernel that
 * takes a buffer from a ring of UR_BUFS provided buffers (one group) for
 * each datagram; a buffer holds the io_uring_recvmsg_out header, the
 * source address and up to SBC_RTP_PKT_SIZE bytes of payload. When the
 * pool runs dry the receive ends with -ENOBUFS (counted as a drop) and
 * the socket joins the end of a queue of sockets waiting to be armed
 * again (ur_arm_waiting): at the end of every wakeup, the head of that
 * queue is armed, one socket for every UR_PER_ARM buffers that came back
 * during the wakeup. In the order they ran dry, so under overload every
 * socket gets its turn (the loss is spread over all calls, as on the
 * epoll path) and none starves while others keep their receives armed;
 * when the overload passes, the queue empties within a few wakeups. A
 * receive that ends for any other reason is armed again at once: a
 * socket is never given up on.
 *
 * Sending: a forwarded packet leaves from the buffer it arrived in (no
 * copy) with a sendmsg whose msghdr, iovec and destination live in that
 * buffer's slot, so the buffer id in the send's user_data finds them;
 * the buffer returns to the ring when the send completes. A packet the
 * handler does not send returns at once.
 *
 * Waking: the ring's fd is in libre's loop (it polls readable when CQEs
 * wait). A wakeup drains the CQ in chunks (UR_WAKE_MAX at most: the rest
 * keeps the fd readable for the next turn) and all the SQEs it produced
 * (sends, re-armed receives) go out in one io_uring_submit at its end, or
 * earlier if the SQ would fill. The ring is COOP_TASKRUN (no IPI when a
 * datagram lands; a sleeping loop is still woken). Not DEFER_TASKRUN:
 * its completions wait for an io_uring_enter, and nothing wakes a poller
 * of the ring's fd for them (tests/test_rtp_io.c's wakeup case fails).
 *
 * Files: every socket is in the ring's table of registered files, at its
 * record's index, and every request names it there (IOSQE_FIXED_FILE):
 * the kernel takes no reference on the file per request (fget was the
 * single largest cost of a send after the network stack itself).
 *
 * Removing: the socket's receive is cancelled and its fd closed only
 * when that receive has completed for good and no send from it is in
 * flight, after it left the table; until then the kernel holds the file
 * and the port is not free.
 *
 * user_data tells CQEs apart: a receive carries its socket record's
 * index and generation (a CQE of an earlier life of the record is
 * recognised), a send its buffer id, a cancel nothing.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <liburing.h>
#include <re.h>
#include "rtp/io.h"
#include "rtp/io_impl.h"

enum {
	UR_BUFS    = 8192,   /* provided buffers, a power of two <= 32768:
			      * 17 MiB, some 50 ms of a relay's top rate */
	UR_BGID    = 0,
	UR_CHUNK   = 256,    /* CQEs taken at a time */
	UR_WAKE_MAX = 2048,  /* CQEs per wakeup, so that libre's timers and
			      * other fds get their turn under overload */
	UR_PER_ARM = 8,      /* buffers back per waiting receive armed */
	UR_NAMELEN = sizeof(struct sockaddr_in6),
	/* what the kernel may fill: a byte more and it says MSG_TRUNC */
	UR_BUFLEN  = sizeof(struct io_uring_recvmsg_out) + UR_NAMELEN +
		     SBC_RTP_PKT_SIZE,
	UR_BUFSZ   = (UR_BUFLEN + 63) & ~63u,    /* buffer to buffer */
	UR_SQ_MIN  = 1024,
	UR_SQ_MAX  = 8192,
	UR_CQ_MAX  = 65536,
	UR_DRAIN_MS = 1000,  /* destructor: wait for the kernel this long */
};

enum ud_kind {
	UD_RECV   = 1,
	UD_SEND   = 2,
	UD_CANCEL = 3,
};

static const uint32_t UR_NONE = UINT32_MAX;
static const uint32_t GEN_MASK = 0x3fffffff;

struct ur_sock {
	int fd;              /* -1: free */
	uint32_t gen;        /* changes when the record is released */
	void *arg;
	uint32_t sends;      /* sends from it in flight */
	bool armed;          /* a receive is in the kernel (or in the SQ) */
	bool closing;        /* removed: close when !armed && !sends */
	bool waiting;        /* in the list of those to arm again */
	uint32_t next_wait;
	uint32_t next_free;
};

/* One provided buffer's packet and the send it may carry. */
struct ur_slot {
	struct sbc_rtp_pkt pkt;
	struct msghdr msg;
	struct iovec iov;
	struct sa dst;
	uint32_t sock;       /* record of the sending socket */
	bool busy;           /* handed to a send */
};

struct ur_io {
	struct sbc_rtp_io io;    /* first: see io_impl.h */
	struct io_uring ring;
	bool ring_up;
	bool listening;

	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	unsigned br_added;       /* given back since the last advance */
	struct msghdr rx_msg;    /* layout of a received buffer */
	struct ur_slot *slots;

	struct ur_sock *socks;
	uint32_t socks_max;
	uint32_t free_head;
	uint32_t live;           /* records not free */
	uint32_t wait_head;      /* sockets whose receive waits to be armed, */
	uint32_t wait_tail;      /* oldest first */
	uint32_t returned;       /* buffers back since the last arming */
	uint32_t sending;        /* buffers held by sends in flight */
	struct sbc_rtp_fdtab fdtab;

	struct ur_slot *cur;     /* the packet being handled */
	bool in_wakeup;
	struct io_uring_cqe *cqes[UR_CHUNK];
};


static inline uint64_t ud_recv(uint32_t idx, uint32_t gen)
{
	return (uint64_t)UD_RECV << 62 | (uint64_t)(gen & GEN_MASK) << 32 |
		idx;
}


static inline uint8_t *ur_buf(const struct ur_io *ur, uint32_t bid)
{
	return ur->bufs + (size_t)bid * UR_BUFSZ;
}


/* Back to the kernel, made visible by ur_give_flush(). */
static void ur_give(struct ur_io *ur, uint32_t bid)
{
	ur->returned++;
	io_uring_buf_ring_add(ur->br, ur_buf(ur, bid), UR_BUFLEN,
			      (unsigned short)bid,
			      io_uring_buf_ring_mask(UR_BUFS),
			      (int)ur->br_added++);
}


static void ur_give_flush(struct ur_io *ur)
{
	if (!ur->br_added)
		return;

	io_uring_buf_ring_advance(ur->br, (int)ur->br_added);
	ur->br_added = 0;
}


/* An SQE, submitting what is queued if the SQ is full. NULL only if the
 * kernel refused that submit. */
static struct io_uring_sqe *ur_sqe(struct ur_io *ur)
{
	struct io_uring_sqe *sqe;

	sqe = io_uring_get_sqe(&ur->ring);
	if (sqe)
		return sqe;

	(void)io_uring_submit(&ur->ring);

	return io_uring_get_sqe(&ur->ring);
}


/* Outside a wakeup nothing else would submit: do it now. */
static void ur_submit_idle(struct ur_io *ur)
{
	if (!ur->in_wakeup)
		(void)io_uring_submit(&ur->ring);
}


/* To be armed by ur_arm_waiting(), after those that wait already. */
static void ur_wait(struct ur_io *ur, struct ur_sock *s)
{
	const uint32_t idx = (uint32_t)(s - ur->socks);

	if (s->waiting)
		return;

	s->waiting   = true;
	s->next_wait = UR_NONE;

	if (ur->wait_head == UR_NONE)
		ur->wait_head = idx;
	else
		ur->socks[ur->wait_tail].next_wait = idx;
	ur->wait_tail = idx;
}


static void ur_arm(struct ur_io *ur, struct ur_sock *s)
{
	struct io_uring_sqe *sqe;

	sqe = ur_sqe(ur);
	if (!sqe) {
		ur_wait(ur, s);
		return;
	}

	io_uring_prep_recvmsg_multishot(sqe, (int)(s - ur->socks),
					&ur->rx_msg, 0);
	sqe->flags    |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	io_uring_sqe_set_data64(sqe, ud_recv((uint32_t)(s - ur->socks),
					      s->gen));
	s->armed = true;
}


/*
 * Arms receives that wait, oldest first: those the SQ could not take and
 * those ended by a dry pool, one for every UR_PER_ARM buffers back since
 * the last time (all of them when no buffer is out with a send: the pool
 * is as full as it gets). A receive armed on a socket with a backlog
 * takes a buffer per datagram at once: arming them all into a pool that
 * just ran dry would only end most of them again. Meanwhile their
 * datagrams wait in the socket buffers, and overflow there, as overload
 * should.
 */
static void ur_arm_waiting(struct ur_io *ur)
{
	uint32_t budget = ur->sending ? ur->returned / UR_PER_ARM : UINT32_MAX;

	ur->returned = 0;

	while (ur->wait_head != UR_NONE && budget) {
		struct ur_sock *s = &ur->socks[ur->wait_head];

		ur->wait_head = s->next_wait;
		s->waiting = false;
		if (s->fd < 0 || s->closing || s->armed)
			continue;

		ur_arm(ur, s);
		if (!s->armed)
			break;   /* the SQ refused it: it waits at the end */
		--budget;
	}
}


/* A removed socket whose receive ended and whose sends completed: its fd
 * is closed (the port is free) and its record free for another. */
static void ur_finish(struct ur_io *ur, struct ur_sock *s)
{
	const int none = -1;

	if (!s->closing || s->armed || s->sends)
		return;

	(void)io_uring_register_files_update(&ur->ring,
					     (unsigned)(s - ur->socks), &none,
					     1);
	(void)close(s->fd);
	s->fd      = -1;
	s->arg     = NULL;
	s->closing = false;
	s->gen     = (s->gen + 1) & GEN_MASK;
	s->next_free  = ur->free_head;
	ur->free_head = (uint32_t)(s - ur->socks);
	ur->live--;
}


/* A datagram in buffer bid, res bytes of it used: to the handler, then
 * back to the ring unless the handler sent it. */
static void ur_deliver(struct ur_io *ur, struct ur_sock *s, uint32_t bid,
		       int res, uint64_t now)
{
	struct ur_slot *sl = &ur->slots[bid];
	struct io_uring_recvmsg_out *o;

	o = io_uring_recvmsg_validate(ur_buf(ur, bid), res, &ur->rx_msg);
	if (!o || (o->flags & MSG_TRUNC) || o->namelen > UR_NAMELEN) {
		ur->io.drops++;
		ur_give(ur, bid);
		return;
	}

	sl->pkt.buf = io_uring_recvmsg_payload(o, &ur->rx_msg);
	sl->pkt.len = io_uring_recvmsg_payload_length(o, res, &ur->rx_msg);
	memcpy(&sl->pkt.src.u, io_uring_recvmsg_name(o), o->namelen);
	sl->pkt.src.len = o->namelen;
	sl->pkt.rx_ns   = now;
	sl->busy        = false;

	ur->cur = sl;
	ur->io.recvh(s->arg, &sl->pkt, ur->io.arg);
	ur->cur = NULL;

	if (!sl->busy)
		ur_give(ur, bid);
}


static void ur_recv_cqe(struct ur_io *ur, const struct io_uring_cqe *cqe,
			uint64_t now)
{
	const uint32_t idx = (uint32_t)cqe->user_data;
	const uint32_t gen = (uint32_t)(cqe->user_data >> 32) & GEN_MASK;
	const bool buf = cqe->flags & IORING_CQE_F_BUFFER;
	const uint32_t bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	struct ur_sock *s;

	if (idx >= ur->socks_max || ur->socks[idx].gen != gen ||
	    ur->socks[idx].fd < 0) {
		if (buf)
			ur_give(ur, bid);   /* cannot happen: a stale life */
		return;
	}

	s = &ur->socks[idx];

	if (cqe->res == -ENOBUFS)
		ur->io.drops++;

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		s->armed = false;
		if (s->closing)
			ur_finish(ur, s);
		else if (cqe->res == -ENOBUFS)
			ur_wait(ur, s);
		else
			ur_arm(ur, s);
	}

	if (!buf)
		return;

	if (cqe->res < 0 || s->fd < 0 || s->closing)
		ur_give(ur, bid);
	else
		ur_deliver(ur, s, bid, cqe->res, now);
}


static void ur_send_cqe(struct ur_io *ur, const struct io_uring_cqe *cqe)
{
	const uint32_t bid = (uint32_t)cqe->user_data & (UR_BUFS - 1);
	struct ur_slot *sl = &ur->slots[bid];
	struct ur_sock *s = &ur->socks[sl->sock];

	if (cqe->res < 0)
		ur->io.drops++;

	sl->busy = false;
	ur_give(ur, bid);
	ur->sending--;

	s->sends--;
	ur_finish(ur, s);
}


static void ur_cqe(struct ur_io *ur, const struct io_uring_cqe *cqe,
		   uint64_t now)
{
	switch (cqe->user_data >> 62) {

	case UD_RECV:
		ur_recv_cqe(ur, cqe, now);
		break;

	case UD_SEND:
		ur_send_cqe(ur, cqe);
		break;

	default:
		break;   /* a cancel: its receive's own CQE says the rest */
	}
}


/* Handles up to max CQEs; returns how many there were. */
static unsigned ur_reap(struct ur_io *ur, unsigned max)
{
	unsigned n, i, done = 0;
	uint64_t now;

	while (done < max) {
		n = io_uring_peek_batch_cqe(&ur->ring, ur->cqes, UR_CHUNK);
		if (!n)
			break;

		/* each CQE makes two SQEs at most: a send, a re-arm */
		if (io_uring_sq_space_left(&ur->ring) < 2 * n)
			(void)io_uring_submit(&ur->ring);

		now = sbc_rtp_now_ns();
		for (i = 0; i < n; i++)
			ur_cqe(ur, ur->cqes[i], now);

		io_uring_cq_advance(&ur->ring, n);
		ur_give_flush(ur);
		done += n;
	}

	return done;
}


static void ur_ready(int flags, void *arg)
{
	struct ur_io *ur = arg;

	(void)flags;

	ur->in_wakeup = true;
	(void)ur_reap(ur, UR_WAKE_MAX);
	ur_arm_waiting(ur);
	ur->in_wakeup = false;

	(void)io_uring_submit(&ur->ring);
}


int sbc_rtp_uring_send(struct sbc_rtp_io *io, int fd, struct sbc_rtp_pkt *pkt,
		       const struct sa *dst)
{
	struct ur_io *ur = (struct ur_io *)io;
	struct ur_slot *sl = ur->cur;
	struct io_uring_sqe *sqe;
	int64_t idx;

	if (!sl || pkt != &sl->pkt)
		return EINVAL;

	if (sl->busy)
		return EALREADY;

	idx = sbc_rtp_fdtab_get(&ur->fdtab, fd);
	if (idx < 0)
		return ENOENT;

	sqe = ur_sqe(ur);
	if (!sqe) {
		ur->io.drops++;
		return ENOBUFS;
	}

	sl->sock = (uint32_t)idx;
	sl->busy = true;
	ur->socks[idx].sends++;
	ur->sending++;

	if (dst) {
		sl->dst = *dst;
		sl->msg.msg_namelen = dst->len;
		sl->iov.iov_base    = pkt->buf;
		sl->iov.iov_len     = pkt->len;
		io_uring_prep_sendmsg(sqe, (int)idx, &sl->msg, MSG_DONTWAIT);
	}
	else {
		io_uring_prep_send(sqe, (int)idx, pkt->buf, pkt->len,
				   MSG_DONTWAIT);
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, (uint64_t)UD_SEND << 62 |
				(uint64_t)(sl - ur->slots));

	return 0;
}


int sbc_rtp_uring_add(struct sbc_rtp_io *io, int fd, void *sock_arg)
{
	struct ur_io *ur = (struct ur_io *)io;
	struct ur_sock *s;
	uint32_t idx;
	int err, r;

	if (sbc_rtp_fdtab_get(&ur->fdtab, fd) >= 0)
		return EALREADY;

	if (ur->free_head == UR_NONE)
		return ENOSPC;

	idx = ur->free_head;
	s = &ur->socks[idx];

	r = io_uring_register_files_update(&ur->ring, idx, &fd, 1);
	if (r < 0)
		return -r;

	err = sbc_rtp_fdtab_set(&ur->fdtab, fd, idx);
	if (err) {
		const int none = -1;

		(void)io_uring_register_files_update(&ur->ring, idx, &none, 1);
		return err;
	}

	ur->free_head = s->next_free;
	ur->live++;
	s->fd    = fd;
	s->arg   = sock_arg;
	s->sends = 0;

	ur_arm(ur, s);
	ur_submit_idle(ur);

	return 0;
}


/* Cancels the receive of a record; ur_finish closes it when all is
 * done. */
static void ur_close_sock(struct ur_io *ur, struct ur_sock *s)
{
	struct io_uring_sqe *sqe;

	sbc_rtp_fdtab_clear(&ur->fdtab, s->fd);
	s->closing = true;

	if (s->armed) {
		sqe = ur_sqe(ur);
		if (sqe) {
			io_uring_prep_cancel64(sqe, ud_recv((uint32_t)
					       (s - ur->socks), s->gen), 0);
			io_uring_sqe_set_data64(sqe, (uint64_t)UD_CANCEL << 62);
		}
		else {
			/* no SQE: cancel the slow way, it waits */
			struct io_uring_sync_cancel_reg reg = {
				.addr = ud_recv((uint32_t)(s - ur->socks),
						s->gen),
				.timeout = {.tv_sec = -1, .tv_nsec = -1},
			};

			(void)io_uring_register_sync_cancel(&ur->ring, &reg);
		}
	}

	ur_finish(ur, s);
}


void sbc_rtp_uring_remove(struct sbc_rtp_io *io, int fd)
{
	struct ur_io *ur = (struct ur_io *)io;
	int64_t idx;

	idx = sbc_rtp_fdtab_get(&ur->fdtab, fd);
	if (idx < 0)
		return;

	ur_close_sock(ur, &ur->socks[idx]);
	ur_submit_idle(ur);
}


/* Cancels every receive and waits (a bounded time) for the kernel to let
 * go of the sockets and buffers. */
static void ur_drain(struct ur_io *ur)
{
	struct __kernel_timespec ts = {.tv_nsec = 10 * 1000 * 1000};
	struct io_uring_cqe *cqe;
	uint32_t i;
	int ms;

	ur->in_wakeup = true;   /* no submit per socket */
	for (i = 0; i < ur->socks_max; i++) {
		if (ur->socks[i].fd >= 0 && !ur->socks[i].closing)
			ur_close_sock(ur, &ur->socks[i]);
	}
	ur->in_wakeup = false;

	for (ms = 0; ur->live && ms < UR_DRAIN_MS; ms += 10) {
		(void)io_uring_submit_and_wait_timeout(&ur->ring, &cqe, 1,
						       &ts, NULL);
		(void)ur_reap(ur, UINT32_MAX);
	}
}


static void ur_destructor(void *arg)
{
	struct ur_io *ur = arg;
	uint32_t i;

	if (ur->listening)
		fd_close(ur->ring.ring_fd);

	if (ur->ring_up && ur->socks && ur->slots && ur->br)
		ur_drain(ur);

	for (i = 0; ur->socks && i < ur->socks_max; i++) {
		if (ur->socks[i].fd >= 0)
			(void)close(ur->socks[i].fd);
	}

	if (ur->ring_up)
		io_uring_queue_exit(&ur->ring);

	if (ur->br)
		(void)munmap(ur->br, UR_BUFS * sizeof(struct io_uring_buf));
	if (ur->bufs)
		(void)munmap(ur->bufs, (size_t)UR_BUFS * UR_BUFSZ);

	mem_deref(ur->slots);
	mem_deref(ur->socks);
	sbc_rtp_fdtab_reset(&ur->fdtab);
}


static uint32_t pow2_clamp(uint64_t v, uint32_t lo, uint32_t hi)
{
	uint32_t p = lo;

	while (p < v && p < hi)
		p *= 2;

	return p;
}


/* The ring: an SQ for every socket's receive plus two chunks, a CQ for
 * every buffer's receive and send plus every socket's re-arm and cancel.
 * Flags a kernel does not know are dropped, one step at a time. */
static int ur_ring_init(struct ur_io *ur)
{
	static const unsigned extra[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_SUBMIT_ALL,
		0,
	};
	struct io_uring_params p;
	uint32_t sq;
	size_t i;
	int r = -EINVAL;

	sq = pow2_clamp((uint64_t)ur->socks_max + 2 * UR_CHUNK, UR_SQ_MIN,
			UR_SQ_MAX);

	for (i = 0; i < ARRAY_SIZE(extra); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | extra[i];
		p.cq_entries = pow2_clamp(2 * (uint64_t)UR_BUFS +
					  2 * (uint64_t)ur->socks_max,
					  2 * sq, UR_CQ_MAX);

		r = io_uring_queue_init_params(sq, &ur->ring, &p);
		if (r != -EINVAL)
			break;
	}

	if (r < 0)
		return -r;

	ur->ring_up = true;

	return 0;
}


static int ur_bufs_init(struct ur_io *ur)
{
	struct io_uring_buf_reg reg;
	void *m;
	uint32_t i;
	int r;

	m = mmap(NULL, UR_BUFS * sizeof(struct io_uring_buf),
		 PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (m == MAP_FAILED)
		return errno;
	ur->br = m;

	m = mmap(NULL, (size_t)UR_BUFS * UR_BUFSZ, PROT_READ | PROT_WRITE,
		 MAP_ANONYMOUS | MAP_PRIVATE | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return errno;
	ur->bufs = m;

	io_uring_buf_ring_init(ur->br);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr    = (uint64_t)(uintptr_t)ur->br;
	reg.ring_entries = UR_BUFS;
	reg.bgid         = UR_BGID;

	r = io_uring_register_buf_ring(&ur->ring, &reg, 0);
	if (r < 0)
		return -r;

	for (i = 0; i < UR_BUFS; i++)
		ur_give(ur, i);
	ur_give_flush(ur);

	return 0;
}


static int ur_tables_alloc(struct ur_io *ur, uint32_t sockets_max)
{
	uint32_t i;

	ur->socks = mem_zalloc((size_t)sockets_max * sizeof(*ur->socks),
			       NULL);
	ur->slots = mem_zalloc(UR_BUFS * sizeof(*ur->slots), NULL);
	if (!ur->socks || !ur->slots)
		return ENOMEM;

	for (i = 0; i < sockets_max; i++) {
		ur->socks[i].fd  = -1;
		ur->socks[i].gen = 1;
		ur->socks[i].next_free = i + 1 < sockets_max ? i + 1 : UR_NONE;
	}
	ur->socks_max = sockets_max;
	ur->free_head = 0;
	ur->wait_head = UR_NONE;
	ur->wait_tail = UR_NONE;

	for (i = 0; i < UR_BUFS; i++) {
		ur->slots[i].msg.msg_name   = &ur->slots[i].dst.u;
		ur->slots[i].msg.msg_iov    = &ur->slots[i].iov;
		ur->slots[i].msg.msg_iovlen = 1;
	}

	/* what the kernel lays out in each buffer: header, name, payload */
	ur->rx_msg.msg_namelen = UR_NAMELEN;

	return 0;
}


/* The registered file table may not pass the descriptor limit. */
static uint32_t files_max(uint32_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return want;

	return (uint32_t)rl.rlim_cur;
}


int sbc_rtp_uring_alloc(struct sbc_rtp_io **iop, uint32_t sockets_max)
{
	struct ur_io *ur;
	int err, r;

	ur = mem_zalloc(sizeof(*ur), ur_destructor);
	if (!ur)
		return ENOMEM;

	/* room for the removed whose receive has not ended yet */
	err = ur_tables_alloc(ur, files_max(sockets_max + sockets_max / 4 +
					    16));
	if (err)
		goto out;

	err = ur_ring_init(ur);
	if (err)
		goto out;

	err = ur_bufs_init(ur);
	if (err)
		goto out;

	r = io_uring_register_files_sparse(&ur->ring, ur->socks_max);
	if (r < 0) {
		err = -r;
		goto out;
	}

	err = fd_listen(ur->ring.ring_fd, FD_READ, ur_ready, ur);
	if (err)
		goto out;
	ur->listening = true;

 out:
	if (err)
		mem_deref(ur);
	else
		*iop = &ur->io;

	return err;
}
