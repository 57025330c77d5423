/*
 * Media ports of one relay process (seed 004).
 *
 * The range rtp.port_min..rtp.port_max is cut into pairs: RTP on an even
 * port, RTCP on the next. With several relays, relay r takes the pairs
 * whose number is r modulo the relays, so no two relays ever try the same
 * port. A pair is taken by binding both sockets; a port another program
 * holds makes bind fail, and the allocator moves on to the next pair, so a
 * port taken by someone else costs a skipped pair, never a call. Only when
 * every pair of the relay's share was tried does it fail (ENOSPC).
 *
 * The allocator goes round the range from where it stopped, so a port
 * given back is the last to be taken again: a late packet for an ended
 * call does not reach the next call.
 *
 * Sockets are bound with IP_FREEBIND, so a relay address may be a
 * keepalived VIP that this node does not hold yet.
 */

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"

struct sbc_ports {
	uint32_t first;      /* the relay's first RTP port */
	uint32_t step;       /* 2 * relays */
	uint32_t pairs;      /* in the relay's share */
	uint32_t next;       /* the next pair to try */
};


/* The share of relay `relay` of `relays` in the configured range. */
int sbc_ports_alloc(struct sbc_ports **pp, const struct sbc_rtp_conf *rtp,
		    uint32_t relay, uint32_t relays)
{
	uint32_t base = (rtp->port_min + 1) & ~1u;
	struct sbc_ports *p;

	if (!pp || !relays || relay >= relays)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), NULL);
	if (!p)
		return ENOMEM;

	p->first = base + 2 * relay;
	p->step  = 2 * relays;
	p->pairs = p->first + 1 <= rtp->port_max ?
		(rtp->port_max - p->first - 1) / p->step + 1 : 0;

	if (!p->pairs) {
		mem_deref(p);
		return ENOSPC;
	}

	*pp = p;

	return 0;
}


static int sock_bind(int *fdp, const struct sa *addr, uint16_t port)
{
	const int on = 1;
	struct sa sa = *addr;
	int fd;

	sa_set_port(&sa, port);

	fd = socket(sa_af(&sa), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (sa_af(&sa) == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
	else
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on,
				 sizeof(on));

	if (bind(fd, &sa.u.sa, sa.len) < 0) {
		int err = errno;

		(void)close(fd);
		return err;
	}

	*fdp = fd;

	return 0;
}


/* Bind the pair at `port`: both sockets, or neither. */
static int pair_bind(const struct sa *addr, uint16_t port,
		     int fds[RSOCK_KINDS])
{
	int err;

	err = sock_bind(&fds[RSOCK_RTP], addr, port);
	if (err)
		return err;

	err = sock_bind(&fds[RSOCK_RTCP], addr, port + 1);
	if (err) {
		(void)close(fds[RSOCK_RTP]);
		fds[RSOCK_RTP] = -1;
	}

	return err;
}


/*
 * Two bound sockets on `addr`, RTP on an even port (in *portp) and RTCP on
 * the next. ENOSPC when every pair of the share is held; another errno
 * when sockets cannot be made at all (no descriptors left).
 */
int sbc_ports_take(struct sbc_ports *p, const struct sa *addr,
		   uint16_t *portp, int fds[RSOCK_KINDS])
{
	for (uint32_t tries = 0; tries < p->pairs; tries++) {
		uint16_t port = (uint16_t)(p->first + p->next * p->step);
		int err;

		p->next = (p->next + 1) % p->pairs;

		err = pair_bind(addr, port, fds);
		if (!err) {
			*portp = port;
			return 0;
		}

		if (err != EADDRINUSE && err != EACCES)
			return err;

		sbc_debug("port pair %u held by another socket: skipped",
			  port);
	}

	return ENOSPC;
}
