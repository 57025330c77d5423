/*
 * The transport's sockets: how a listener is made.
 *
 * Every worker binds every listener itself. SO_REUSEPORT lets them all
 * bind the same address, and the kernel then spreads datagrams and new
 * connections over them; IP_FREEBIND (IPV6_FREEBIND) lets a worker bind an
 * address the host does not hold yet, such as a keepalived VIP that moves
 * here later. An IPv6 listener is v6 only, so a v4 listener may take the
 * same port. Sockets are nonblocking and closed on exec.
 */

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"


static int sock_opt(int fd, int level, int name)
{
	int on = 1;

	if (setsockopt(fd, level, name, &on, sizeof(on)) < 0)
		return errno;

	return 0;
}


static int sock_options(int fd, int af, int type)
{
	int err;

	err = sock_opt(fd, SOL_SOCKET, SO_REUSEPORT);
	if (!err && type == SOCK_STREAM)
		err = sock_opt(fd, SOL_SOCKET, SO_REUSEADDR);
	if (!err && af == AF_INET6)
		err = sock_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY);
	if (!err)
		err = af == AF_INET6 ? sock_opt(fd, IPPROTO_IPV6, IPV6_FREEBIND)
				     : sock_opt(fd, IPPROTO_IP, IP_FREEBIND);

	return err;
}


/*
 * A bound socket of type SOCK_DGRAM or SOCK_STREAM (listening) on addr,
 * in *fdp. Returns an errno value (EADDRINUSE when a process that did not
 * set SO_REUSEPORT holds the address).
 */
int tp_sock_bind(int *fdp, const struct sa *addr, int type)
{
	int af = sa_af(addr);
	int fd, err;

	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	err = sock_options(fd, af, type);
	if (err)
		goto out;

	if (bind(fd, &addr->u.sa, addr->len) < 0) {
		err = errno;
		goto out;
	}

	if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
		err = errno;

 out:
	if (err)
		(void)close(fd);
	else
		*fdp = fd;

	return err;
}


/* SIP messages go out whole: no waiting to coalesce them. */
int tp_sock_nodelay(int fd)
{
	return sock_opt(fd, IPPROTO_TCP, TCP_NODELAY);
}
