/*
 * Channels between processes: SOCK_SEQPACKET socketpairs.
 *
 * A seqpacket socket keeps record boundaries like a datagram socket, so one
 * send is one message even when several processes write into the same end,
 * but it is connection-oriented: the queue is bounded by the socket buffer,
 * not by net.unix.max_dgram_qlen (10 on many hosts), which would refuse a
 * burst of hand-overs long before memory is short.
 *
 * Both ends are nonblocking: a worker never waits on another one. A full
 * mailbox gives EAGAIN to the sender, which counts the loss; SIP recovers
 * a lost UDP message by retransmission.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <re.h>
#include "shm/field.h"
#include "shm/channel.h"


/* Ask for large buffers; the kernel caps them at net.core.[rw]mem_max,
 * which is fine: the request is a wish, not a requirement. */
static int chan_buffers(int fd)
{
	int size = SBC_CHAN_BUFSIZE;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
		return errno;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		return errno;

	return 0;
}


/* Create a channel: fds[0] is the reading end, fds[1] the writing end. */
int sbc_chan_pair(int fds[2])
{
	int err;

	if (!fds)
		return EINVAL;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, fds))
		return errno;

	err = chan_buffers(fds[0]);
	if (!err)
		err = chan_buffers(fds[1]);

	if (err) {
		(void)close(fds[0]);
		(void)close(fds[1]);
		fds[0] = fds[1] = -1;
	}

	return err;
}


/*
 * Send one record: the header (its magic and len are filled in here), then
 * `len` bytes of data, and `pass_fd` when it is not -1. Returns EAGAIN when
 * the channel is full, EMSGSIZE for data over SBC_CHAN_DATA_MAX.
 */
int sbc_chan_send(int fd, struct sbc_chan_hdr *hdr, const void *data,
		  size_t len, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;

	if (fd < 0 || !hdr || (len && !data))
		return EINVAL;

	if (len > SBC_CHAN_DATA_MAX)
		return EMSGSIZE;

	hdr->magic = SBC_CHAN_MAGIC;
	hdr->len   = (uint32_t)len;

	iov[0].iov_base = hdr;
	iov[0].iov_len  = sizeof(*hdr);
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len  = len;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov    = iov;
	mh.msg_iovlen = len ? 2 : 1;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control    = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type  = SCM_RIGHTS;
		cm->cmsg_len   = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}

	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return errno;

	return (size_t)n == sizeof(*hdr) + len ? 0 : EMSGSIZE;
}


/* The descriptor passed with a record, or -1. */
static int chan_fd_take(struct msghdr *mh)
{
	struct cmsghdr *cm;
	int fd = -1;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;

		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		break;
	}

	return fd;
}


/*
 * Receive one record into *hdr and buf (hdr->len bytes). A passed
 * descriptor is returned in *fdp (the caller owns it; -1 if none; fdp may
 * be NULL only when none is expected, else it is closed here).
 * Returns EAGAIN when nothing is queued, ENOTCONN when every writer has
 * gone, EBADMSG for a record that is not one of ours or does not fit.
 */
int sbc_chan_recv(int fd, struct sbc_chan_hdr *hdr, void *buf, size_t size,
		  int *fdp)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;
	int pfd;

	if (fd < 0 || !hdr || (size && !buf))
		return EINVAL;

	if (fdp)
		*fdp = -1;

	iov[0].iov_base = hdr;
	iov[0].iov_len  = sizeof(*hdr);
	iov[1].iov_base = buf;
	iov[1].iov_len  = size;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov        = iov;
	mh.msg_iovlen     = 2;
	mh.msg_control    = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);

	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno;
	if (n == 0)
		return ENOTCONN;

	pfd = chan_fd_take(&mh);
	if (pfd >= 0) {
		if (fdp)
			*fdp = pfd;
		else
			(void)close(pfd);
	}

	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof(*hdr) || hdr->magic != SBC_CHAN_MAGIC ||
	    hdr->len != (size_t)n - sizeof(*hdr)) {
		if (fdp && *fdp >= 0) {
			(void)close(*fdp);
			*fdp = -1;
		}
		return EBADMSG;
	}

	return 0;
}
