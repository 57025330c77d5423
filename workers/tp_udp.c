/*
 * SIP over UDP: a batch of datagrams per readiness, read with one
 * recvmmsg(2), and sendto(2) from the listener's own socket so replies
 * leave from the address the peer wrote to.
 *
 * Each buffer is one byte longer than the largest message allowed, so a
 * datagram that fills it (or that the kernel truncated) is known to be too
 * big: it is dropped and counted, never handed up cut short. A datagram of
 * nothing but CR and LF is a keepalive and is dropped silently.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"

struct tp_udp {
	uint8_t *bufs;                        /* TP_UDP_BATCH buffers */
	size_t size;                          /* of each: max_message + 1 */
	struct mmsghdr msgs[TP_UDP_BATCH];
	struct iovec iov[TP_UDP_BATCH];
	struct sa src[TP_UDP_BATCH];
};


static void udp_destructor(void *arg)
{
	struct tp_udp *udp = arg;

	mem_deref(udp->bufs);
}


int tp_udp_alloc(struct tp_udp **udpp, size_t max_message)
{
	struct tp_udp *udp;
	int err = 0;

	udp = mem_zalloc(sizeof(*udp), udp_destructor);
	if (!udp)
		return ENOMEM;

	udp->size = max_message + 1;
	udp->bufs = mem_reallocarray(NULL, TP_UDP_BATCH, udp->size, NULL);
	if (!udp->bufs) {
		err = ENOMEM;
		goto out;
	}

 out:
	if (err)
		mem_deref(udp);
	else
		*udpp = udp;

	return err;
}


static void udp_arm(struct tp_udp *udp)
{
	size_t i;

	for (i = 0; i < TP_UDP_BATCH; i++) {
		struct msghdr *h = &udp->msgs[i].msg_hdr;

		udp->iov[i].iov_base = udp->bufs + i * udp->size;
		udp->iov[i].iov_len  = udp->size;

		memset(h, 0, sizeof(*h));
		h->msg_name    = &udp->src[i].u;
		h->msg_namelen = sizeof(udp->src[i].u);
		h->msg_iov     = &udp->iov[i];
		h->msg_iovlen  = 1;
	}
}


static bool only_crlf(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	}

	return true;
}


static void udp_one(struct tp_listener *l, struct tp_udp *udp, size_t i)
{
	struct sbc_tp *tp = l->tp;
	const struct mmsghdr *m = &udp->msgs[i];
	struct sbc_rx rx;

	if (m->msg_len > tp->cfg->max_message ||
	    (m->msg_hdr.msg_flags & MSG_TRUNC)) {
		tp_count(tp, SBC_STAT_RX_TOO_BIG, 1);
		return;
	}

	if (only_crlf(udp->iov[i].iov_base, m->msg_len))
		return;

	memset(&rx, 0, sizeof(rx));
	rx.buf = udp->iov[i].iov_base;
	rx.len = m->msg_len;
	rx.tp = SBC_TP_UDP;
	rx.listener = l->index;
	rx.src = udp->src[i];
	rx.src.len = m->msg_hdr.msg_namelen;

	tp_count(tp, SBC_STAT_RX, 1);
	tp->recvh(&rx, tp->arg);
}


/* fd handler of a UDP listener: one batch; more wait for the next poll,
 * so one busy socket never starves the others. */
void tp_udp_readable(int flags, void *arg)
{
	struct tp_listener *l = arg;
	struct tp_udp *udp = l->tp->udp;
	int n, i;

	(void)flags;

	udp_arm(udp);

	n = recvmmsg(l->fd, udp->msgs, TP_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			sbc_debug("udp %s: recvmmsg: %m", l->conf->name, errno);
		return;
	}

	for (i = 0; i < n; i++)
		udp_one(l, udp, (size_t)i);
}


/* One datagram to dst; EAGAIN when the socket buffer is full (dropped:
 * SIP over UDP retransmits). */
int tp_udp_send(struct tp_listener *l, const struct sa *dst,
		const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (!dst || !sa_isset(dst, SA_ADDR | SA_PORT))
		return EINVAL;

	n = sendto(l->fd, buf, len, MSG_DONTWAIT, &dst->u.sa, dst->len);
	if (n < 0)
		return errno;

	return (size_t)n == len ? 0 : EMSGSIZE;
}
