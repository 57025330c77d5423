/*
 * The data path's front (io.h): checks the arguments once, then hands
 * each call to the implementation the io was made with, io_uring.c or
 * io_epoll.c. Also what both need and is not about either: the fd table
 * that maps a socket to its record, and the monotonic clock of pkt->rx_ns.
 *
 * Choosing is the caller's business: sbc_rtp_io_alloc with
 * SBC_RTP_IO_URING fails (ENOSYS, EPERM, ...) where the kernel refuses
 * io_uring, and the relay then asks for SBC_RTP_IO_EPOLL and logs it.
 */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "rtp/io.h"
#include "rtp/io_impl.h"

enum {
	SOCKETS_LIMIT = 1 << 22,   /* far above any relay: a bound on memory */
	FDTAB_MIN     = 256,
};


int sbc_rtp_io_alloc(struct sbc_rtp_io **iop, enum sbc_rtp_io_kind kind,
		     uint32_t sockets_max, sbc_rtp_recv_h *recvh, void *arg)
{
	struct sbc_rtp_io *io = NULL;
	int err;

	if (!iop || !recvh || !sockets_max || sockets_max > SOCKETS_LIMIT)
		return EINVAL;

	switch (kind) {

	case SBC_RTP_IO_URING:
		err = sbc_rtp_uring_alloc(&io, sockets_max);
		break;

	case SBC_RTP_IO_EPOLL:
		err = sbc_rtp_epoll_alloc(&io, sockets_max);
		break;

	default:
		return EINVAL;
	}

	if (err)
		return err;

	io->kind  = kind;
	io->recvh = recvh;
	io->arg   = arg;
	*iop = io;

	return 0;
}


/* On success the io owns fd; on error the caller still does. */
int sbc_rtp_io_add(struct sbc_rtp_io *io, int fd, void *sock_arg)
{
	if (!io || fd < 0)
		return EINVAL;

	if (io->kind == SBC_RTP_IO_URING)
		return sbc_rtp_uring_add(io, fd, sock_arg);

	return sbc_rtp_epoll_add(io, fd, sock_arg);
}


void sbc_rtp_io_remove(struct sbc_rtp_io *io, int fd)
{
	if (!io || fd < 0)
		return;

	if (io->kind == SBC_RTP_IO_URING)
		sbc_rtp_uring_remove(io, fd);
	else
		sbc_rtp_epoll_remove(io, fd);
}


int sbc_rtp_io_send(struct sbc_rtp_io *io, int fd, struct sbc_rtp_pkt *pkt,
		    const struct sa *dst)
{
	if (!io || !pkt || (dst && (!dst->len || dst->len > sizeof(dst->u))) ||
	    pkt->len > SBC_RTP_PKT_SIZE)
		return EINVAL;

	if (io->kind == SBC_RTP_IO_URING)
		return sbc_rtp_uring_send(io, fd, pkt, dst);

	return sbc_rtp_epoll_send(io, fd, pkt, dst);
}


enum sbc_rtp_io_kind sbc_rtp_io_kind(const struct sbc_rtp_io *io)
{
	return io ? io->kind : SBC_RTP_IO_EPOLL;
}


uint64_t sbc_rtp_io_drops(const struct sbc_rtp_io *io)
{
	return io ? io->drops : 0;
}


/* Grows the table to hold fd (to a power of two, at least FDTAB_MIN). */
int sbc_rtp_fdtab_set(struct sbc_rtp_fdtab *t, int fd, uint32_t idx)
{
	uint32_t *v;
	size_t n;

	if (fd < 0)
		return EINVAL;

	if ((size_t)fd >= t->n) {
		for (n = t->n ? t->n : FDTAB_MIN; n <= (size_t)fd; n *= 2)
			;
		/* libre's mem_realloc wants an existing block */
		v = t->v ? mem_realloc(t->v, n * sizeof(*v)) :
			   mem_alloc(n * sizeof(*v), NULL);
		if (!v)
			return ENOMEM;
		memset(v + t->n, 0, (n - t->n) * sizeof(*v));
		t->v = v;
		t->n = n;
	}

	t->v[fd] = idx + 1;

	return 0;
}


void sbc_rtp_fdtab_clear(struct sbc_rtp_fdtab *t, int fd)
{
	if (fd >= 0 && (size_t)fd < t->n)
		t->v[fd] = 0;
}


void sbc_rtp_fdtab_reset(struct sbc_rtp_fdtab *t)
{
	t->v = mem_deref(t->v);
	t->n = 0;
}


uint64_t sbc_rtp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
