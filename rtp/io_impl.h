/*
 * What the data path's own files share (io.c, io_uring.c, io_epoll.c),
 * and nobody else: the head every implementation's object starts with,
 * so that io.c can dispatch on its kind and count drops in one place,
 * the fd-to-socket table both keep, and each implementation's entry
 * points. The relay includes io.h only.
 *
 * Include <re.h> and "rtp/io.h" before this header.
 */

/* The first member of each implementation's object: a pointer to one is
 * a pointer to the other, and the object is one libre allocation. */
struct sbc_rtp_io {
	enum sbc_rtp_io_kind kind;
	sbc_rtp_recv_h *recvh;
	void *arg;
	uint64_t drops;
};

/* fd -> index of the io's socket record, grown when a socket is added
 * (never per packet). Holds index + 1, so that 0 means "not ours". */
struct sbc_rtp_fdtab {
	uint32_t *v;
	size_t n;
};

int  sbc_rtp_fdtab_set(struct sbc_rtp_fdtab *t, int fd, uint32_t idx);
void sbc_rtp_fdtab_clear(struct sbc_rtp_fdtab *t, int fd);
void sbc_rtp_fdtab_reset(struct sbc_rtp_fdtab *t);


/* The socket record of fd, or -1 if fd is not one of the io's. */
static inline int64_t sbc_rtp_fdtab_get(const struct sbc_rtp_fdtab *t,
					int fd)
{
	if (fd < 0 || (size_t)fd >= t->n || !t->v[fd])
		return -1;

	return (int64_t)t->v[fd] - 1;
}


int  sbc_rtp_uring_alloc(struct sbc_rtp_io **iop, uint32_t sockets_max);
int  sbc_rtp_uring_add(struct sbc_rtp_io *io, int fd, void *sock_arg);
void sbc_rtp_uring_remove(struct sbc_rtp_io *io, int fd);
int  sbc_rtp_uring_send(struct sbc_rtp_io *io, int fd,
			struct sbc_rtp_pkt *pkt, const struct sa *dst);

int  sbc_rtp_epoll_alloc(struct sbc_rtp_io **iop, uint32_t sockets_max);
int  sbc_rtp_epoll_add(struct sbc_rtp_io *io, int fd, void *sock_arg);
void sbc_rtp_epoll_remove(struct sbc_rtp_io *io, int fd);
int  sbc_rtp_epoll_send(struct sbc_rtp_io *io, int fd,
			struct sbc_rtp_pkt *pkt, const struct sa *dst);
