/*
 * The data path over epoll, recvmmsg and sendmmsg (io.h), for hosts that
 * refuse io_uring.
 *
 * Every socket of the relay sits in one epoll instance, level-triggered;
 * only that instance's fd is known to libre's loop. When it fires we take
 * the ready sockets (epoll_wait, no waiting) and read them in rounds: one
 * recvmmsg per socket per round, at most EP_ROUNDS rounds, so a flooded
 * socket gets its share and no more. What is still queued afterwards
 * keeps the epoll fd readable and is read on the next turn of the loop:
 * a socket is never given up on, so loss follows overload and stops with
 * it.
 *
 * Datagrams land in a pool of EP_POOL preallocated buffers. The receive
 * handler may send the packet it is given; the send is only queued (the
 * buffer is not copied: it stays untouched until the queue is flushed),
 * chained per sending socket, and the queue goes out with one sendmmsg
 * per socket when the pool must be reused or the wakeup ends. A send the
 * kernel refuses (EAGAIN, ENOBUFS: buffers full) is a drop, counted.
 *
 * Socket records carry a generation, part of the epoll event's data, so
 * a socket the handler removed (or removed and replaced) in the middle
 * of a wakeup is recognised and not read or delivered for again.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <re.h>
#include "rtp/io.h"
#include "rtp/io_impl.h"

enum {
	EP_VLEN   = 64,     /* datagrams per recvmmsg */
	EP_POOL   = 256,    /* receive buffers, queued sends: one batch */
	EP_EVENTS = 256,    /* ready sockets taken per wakeup */
	EP_ROUNDS = 4,      /* recvmmsg per socket per wakeup, at most */
};

static const uint64_t EP_DONE = UINT64_MAX;   /* event data: drained */
static const uint32_t EP_NONE = UINT32_MAX;   /* end of the free list */

struct ep_sock {
	int fd;                  /* -1: free */
	uint32_t gen;            /* changes when the record is released */
	void *arg;
	uint64_t tx_batch;       /* batch its queued sends belong to */
	uint32_t tx_head;        /* first and last queued send (slot) */
	uint32_t tx_tail;
	uint32_t tx_n;
	uint32_t next_free;
};

/* One receive buffer's packet and the send it may carry. */
struct ep_slot {
	struct sbc_rtp_pkt pkt;
	struct iovec rx_iov;
	struct iovec tx_iov;
	struct sa dst;
	uint32_t tx_next;
	bool queued;
};

struct ep_io {
	struct sbc_rtp_io io;    /* first: see io_impl.h */
	int epfd;
	bool listening;

	struct ep_sock *socks;
	uint32_t socks_max;
	uint32_t free_head;
	struct sbc_rtp_fdtab fdtab;

	struct ep_slot *cur;     /* the packet being handled */
	uint32_t used;           /* slots filled in this batch */
	uint64_t tx_batch;
	uint32_t ntx;            /* sockets with queued sends */
	uint32_t txs[EP_POOL];

	struct epoll_event ev[EP_EVENTS];
	struct mmsghdr rx[EP_POOL];
	struct mmsghdr tx[EP_POOL];
	struct ep_slot slot[EP_POOL];
	uint8_t buf[EP_POOL][SBC_RTP_PKT_SIZE];
};


static void ep_sendmmsg(struct ep_io *ep, int fd, struct mmsghdr *mm,
			uint32_t n)
{
	int r;

	while (n) {
		r = sendmmsg(fd, mm, n, MSG_DONTWAIT);
		if (r > 0) {
			mm += r;
			n  -= (uint32_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;

		/* buffers full: the rest waits no better; anything else
		 * (a route, a filter) concerns this datagram only */
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			ep->io.drops += n;
			return;
		}
		ep->io.drops++;
		mm++;
		n--;
	}
}


/* Sends what the batch queued, one sendmmsg per sending socket. The
 * receive buffers are left alone: the batch may go on using them. */
static void ep_flush(struct ep_io *ep)
{
	struct ep_sock *s;
	struct ep_slot *sl;
	struct mmsghdr *mm;
	uint32_t g, i, c, k = 0, start;

	for (g = 0; g < ep->ntx; g++) {
		s = &ep->socks[ep->txs[g]];
		start = k;

		for (i = s->tx_head, c = 0; c < s->tx_n; c++, i = sl->tx_next) {
			sl = &ep->slot[i];
			mm = &ep->tx[k++];
			mm->msg_hdr.msg_name    = sl->dst.len ? &sl->dst.u :
				NULL;
			mm->msg_hdr.msg_namelen = sl->dst.len;
			mm->msg_hdr.msg_iov     = &sl->tx_iov;
			mm->msg_hdr.msg_iovlen  = 1;
		}

		ep_sendmmsg(ep, s->fd, &ep->tx[start], k - start);
	}

	ep->ntx = 0;
	ep->tx_batch++;
}


static void ep_deliver(struct ep_io *ep, struct ep_sock *s, uint32_t first,
		       int n, uint64_t now)
{
	const uint32_t gen = s->gen;
	struct mmsghdr *mm;
	struct ep_slot *sl;
	int j;

	for (j = 0; j < n; j++) {
		mm = &ep->rx[first + j];
		sl = &ep->slot[first + j];

		if (mm->msg_hdr.msg_flags & MSG_TRUNC) {
			ep->io.drops++;
			continue;
		}

		sl->pkt.buf     = ep->buf[first + j];
		sl->pkt.len     = mm->msg_len;
		sl->pkt.src.len = mm->msg_hdr.msg_namelen;
		sl->pkt.rx_ns   = now;
		sl->queued      = false;

		ep->cur = sl;
		ep->io.recvh(s->arg, &sl->pkt, ep->io.arg);
		ep->cur = NULL;

		/* removed by the handler: the rest is not its any more */
		if (s->gen != gen)
			break;
	}
}


/* One recvmmsg on the socket of an event, and its datagrams handled.
 * Returns true if the socket may hold more. */
static bool ep_read(struct ep_io *ep, uint64_t data)
{
	const uint32_t idx = (uint32_t)data, gen = (uint32_t)(data >> 32);
	struct ep_sock *s = &ep->socks[idx];
	uint32_t first, j;
	int n;

	if (s->fd < 0 || s->gen != gen)
		return false;

	if (EP_POOL - ep->used < EP_VLEN) {
		ep_flush(ep);
		ep->used = 0;
	}

	first = ep->used;
	for (j = first; j < first + EP_VLEN; j++)
		ep->rx[j].msg_hdr.msg_namelen = sizeof(ep->slot[j].pkt.src.u);

	n = recvmmsg(s->fd, &ep->rx[first], EP_VLEN, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return false;   /* EAGAIN, or an error the next read retries */

	ep->used += (uint32_t)n;
	ep_deliver(ep, s, first, n, sbc_rtp_now_ns());

	return n == EP_VLEN && s->fd >= 0 && s->gen == gen;
}


static void ep_readable(int flags, void *arg)
{
	struct ep_io *ep = arg;
	bool more = true;
	int n, i, round;

	(void)flags;

	n = epoll_wait(ep->epfd, ep->ev, EP_EVENTS, 0);

	for (round = 0; more && round < EP_ROUNDS; round++) {
		more = false;
		for (i = 0; i < n; i++) {
			if (ep->ev[i].data.u64 == EP_DONE)
				continue;
			if (ep_read(ep, ep->ev[i].data.u64))
				more = true;
			else
				ep->ev[i].data.u64 = EP_DONE;
		}
	}

	ep_flush(ep);
	ep->used = 0;
}


int sbc_rtp_epoll_send(struct sbc_rtp_io *io, int fd, struct sbc_rtp_pkt *pkt,
		       const struct sa *dst)
{
	struct ep_io *ep = (struct ep_io *)io;
	struct ep_slot *sl = ep->cur;
	struct ep_sock *s;
	int64_t idx;
	uint32_t i;

	if (!sl || pkt != &sl->pkt)
		return EINVAL;

	if (sl->queued)
		return EALREADY;

	idx = sbc_rtp_fdtab_get(&ep->fdtab, fd);
	if (idx < 0)
		return ENOENT;

	s = &ep->socks[idx];
	i = (uint32_t)(sl - ep->slot);

	sl->queued = true;
	if (dst)
		sl->dst = *dst;
	else
		sl->dst.len = 0;   /* a connected socket */
	sl->tx_iov.iov_base = pkt->buf;
	sl->tx_iov.iov_len  = pkt->len;

	if (s->tx_batch != ep->tx_batch) {
		s->tx_batch = ep->tx_batch;
		s->tx_head  = i;
		s->tx_n     = 0;
		ep->txs[ep->ntx++] = (uint32_t)idx;
	}
	else {
		ep->slot[s->tx_tail].tx_next = i;
	}
	s->tx_tail = i;
	s->tx_n++;

	return 0;
}


int sbc_rtp_epoll_add(struct sbc_rtp_io *io, int fd, void *sock_arg)
{
	struct ep_io *ep = (struct ep_io *)io;
	struct epoll_event ev = {.events = EPOLLIN};
	struct ep_sock *s;
	uint32_t idx;
	int err;

	if (sbc_rtp_fdtab_get(&ep->fdtab, fd) >= 0)
		return EALREADY;

	if (ep->free_head == EP_NONE)
		return ENOSPC;

	idx = ep->free_head;
	s = &ep->socks[idx];

	err = sbc_rtp_fdtab_set(&ep->fdtab, fd, idx);
	if (err)
		return err;

	ev.data.u64 = (uint64_t)s->gen << 32 | idx;
	if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = errno;
		sbc_rtp_fdtab_clear(&ep->fdtab, fd);
		return err;
	}

	ep->free_head = s->next_free;
	s->fd  = fd;
	s->arg = sock_arg;
	s->tx_batch = 0;

	return 0;
}


static void ep_release(struct ep_io *ep, uint32_t idx)
{
	struct ep_sock *s = &ep->socks[idx];

	sbc_rtp_fdtab_clear(&ep->fdtab, s->fd);
	(void)epoll_ctl(ep->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	(void)close(s->fd);

	s->fd  = -1;
	s->arg = NULL;
	s->gen++;
	if (!s->gen)
		s->gen = 1;
	s->next_free  = ep->free_head;
	ep->free_head = idx;
}


void sbc_rtp_epoll_remove(struct sbc_rtp_io *io, int fd)
{
	struct ep_io *ep = (struct ep_io *)io;
	int64_t idx;

	idx = sbc_rtp_fdtab_get(&ep->fdtab, fd);
	if (idx < 0)
		return;

	/* sends queued from it (handler of this batch) leave first */
	if (ep->ntx)
		ep_flush(ep);

	ep_release(ep, (uint32_t)idx);
}


static void ep_destructor(void *arg)
{
	struct ep_io *ep = arg;
	uint32_t i;

	if (ep->listening)
		fd_close(ep->epfd);

	for (i = 0; ep->socks && i < ep->socks_max; i++) {
		if (ep->socks[i].fd >= 0)
			(void)close(ep->socks[i].fd);
	}

	if (ep->epfd >= 0)
		(void)close(ep->epfd);

	mem_deref(ep->socks);
	sbc_rtp_fdtab_reset(&ep->fdtab);
}


static int ep_socks_alloc(struct ep_io *ep, uint32_t n)
{
	uint32_t i;

	ep->socks = mem_zalloc((size_t)n * sizeof(*ep->socks), NULL);
	if (!ep->socks)
		return ENOMEM;

	for (i = 0; i < n; i++) {
		ep->socks[i].fd  = -1;
		ep->socks[i].gen = 1;
		ep->socks[i].next_free = i + 1 < n ? i + 1 : EP_NONE;
	}

	ep->socks_max = n;
	ep->free_head = 0;

	return 0;
}


/* The receive side of every slot points at its buffer once and for all. */
static void ep_slots_init(struct ep_io *ep)
{
	struct msghdr *mh;
	uint32_t i;

	for (i = 0; i < EP_POOL; i++) {
		ep->slot[i].rx_iov.iov_base = ep->buf[i];
		ep->slot[i].rx_iov.iov_len  = SBC_RTP_PKT_SIZE;

		mh = &ep->rx[i].msg_hdr;
		mh->msg_name   = &ep->slot[i].pkt.src.u;
		mh->msg_iov    = &ep->slot[i].rx_iov;
		mh->msg_iovlen = 1;
	}
}


int sbc_rtp_epoll_alloc(struct sbc_rtp_io **iop, uint32_t sockets_max)
{
	struct ep_io *ep;
	int err;

	ep = mem_zalloc(sizeof(*ep), ep_destructor);
	if (!ep)
		return ENOMEM;

	ep->tx_batch = 1;
	ep->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ep->epfd < 0) {
		err = errno;
		goto out;
	}

	err = ep_socks_alloc(ep, sockets_max);
	if (err)
		goto out;

	ep_slots_init(ep);

	err = fd_listen(ep->epfd, FD_READ, ep_readable, ep);
	if (err)
		goto out;
	ep->listening = true;

 out:
	if (err)
		mem_deref(ep);
	else
		*iop = &ep->io;

	return err;
}
