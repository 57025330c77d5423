/*
 * The relay's data path: receiving and sending datagrams on every media
 * socket of one relay process, in batches.
 *
 * Two implementations behind one interface, chosen by `rtp.io`:
 * - io_uring (io_uring.c): one multishot recvmsg per socket over a ring of
 *   provided buffers; a forwarded packet is sent from the very buffer it
 *   arrived in (no copy), and all sends of a batch go in one submit;
 * - epoll (io_epoll.c): recvmmsg on each readable socket, the batch's
 *   sends with one sendmmsg per socket, for hosts whose seccomp profile
 *   refuses io_uring.
 *
 * Both are driven from libre's event loop: the io registers one fd (the
 * ring's or the epoll instance's) with fd_listen and handles everything
 * that is ready when it fires. The relay never blocks in here.
 *
 * Ownership: a socket handed to sbc_rtp_io_add belongs to the io from then
 * on; sbc_rtp_io_remove stops receiving on it and closes it as soon as no
 * request of the kernel refers to it any more (with io_uring, after the
 * cancelled receive completed), so its port is free again after that.
 *
 * Include <re.h> before this header.
 */

enum sbc_rtp_io_kind {
	SBC_RTP_IO_URING = 0,
	SBC_RTP_IO_EPOLL,
};

enum {
	SBC_RTP_PKT_SIZE = 2048,   /* largest datagram relayed; longer ones
				    * are dropped and counted */
};

/* A datagram received. Its buffer stays valid until the receive handler
 * returns; the handler may pass it to sbc_rtp_io_send() once. buf has
 * room for SBC_RTP_PKT_SIZE bytes: the handler may rewrite the packet in
 * place, or change buf and len within that room, before sending it. */
struct sbc_rtp_pkt {
	uint8_t *buf;
	size_t len;
	struct sa src;              /* where it came from */
	uint64_t rx_ns;             /* CLOCK_MONOTONIC when read, for the
				     * timeout and statistics */
};

struct sbc_rtp_io;

/* One datagram read on a socket added with sock_arg. */
typedef void (sbc_rtp_recv_h)(void *sock_arg, struct sbc_rtp_pkt *pkt,
			      void *arg);

/* sockets_max: how many sockets the io holds at a time (io_uring keeps
 * some room for the removed ones not closed yet). With SBC_RTP_IO_URING,
 * an error (ENOSYS, EPERM, ...) where the kernel refuses io_uring: fall
 * back to epoll. */
int  sbc_rtp_io_alloc(struct sbc_rtp_io **iop, enum sbc_rtp_io_kind kind,
		      uint32_t sockets_max, sbc_rtp_recv_h *recvh, void *arg);

/* On success the io owns fd (EALREADY: added already, ENOSPC: full); on
 * error the caller still does. */
int  sbc_rtp_io_add(struct sbc_rtp_io *io, int fd, void *sock_arg);

/* No handler call for fd after this, not even for datagrams already read;
 * may be called from a receive handler, for any socket. */
void sbc_rtp_io_remove(struct sbc_rtp_io *io, int fd);

/* Only from the receive handler, with the pkt it was given, from a socket
 * fd of this io (ENOENT otherwise). The datagram leaves at the end of the
 * batch; after this call the packet is the io's, not to be touched. A
 * datagram the kernel refuses is counted in sbc_rtp_io_drops. dst NULL:
 * fd is connected (connect(2)) and the datagram goes to its peer, which
 * spares the kernel a route lookup per packet. */
int  sbc_rtp_io_send(struct sbc_rtp_io *io, int fd, struct sbc_rtp_pkt *pkt,
		     const struct sa *dst);
enum sbc_rtp_io_kind sbc_rtp_io_kind(const struct sbc_rtp_io *io);

/* CLOCK_MONOTONIC in ns: the clock of sbc_rtp_pkt.rx_ns. */
uint64_t sbc_rtp_now_ns(void);

/* Datagrams lost in here: too long, refused by the kernel on sending, and
 * (io_uring) each time the buffer pool ran dry under a socket. */
uint64_t sbc_rtp_io_drops(const struct sbc_rtp_io *io);
