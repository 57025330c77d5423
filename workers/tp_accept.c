/*
 * The per-worker accept loop of the TCP, TLS, WS and WSS listeners.
 *
 * libre 1.1.0's tcp_sock cannot set SO_REUSEPORT nor adopt an fd, so each
 * worker accepts on its own listening socket (the kernel spread the
 * connections over the workers' sockets already) and hands every new fd
 * to tp_conn.c. A batch per readiness keeps one busy listener from
 * starving the rest of the loop. When the process runs out of file
 * descriptors the listener stops for a moment instead of spinning on an
 * error the level-triggered poll would repeat at once.
 */

#include <errno.h>
#include <unistd.h>
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


static void accept_resume(void *arg)
{
	struct tp_listener *l = arg;
	int err;

	if (l->fd < 0)
		return;

	err = fd_listen(l->fd, FD_READ, tp_accept_ready, l);
	if (err) {
		sbc_warn("%s: cannot watch the listener: %m", l->conf->name,
			 err);
		tmr_start(&l->pause, TP_ACCEPT_PAUSE_MS, accept_resume, l);
	}
}


static void accept_pause(struct tp_listener *l, int err)
{
	sbc_warn("%s: not accepting for %u ms: %m", l->conf->name,
		 TP_ACCEPT_PAUSE_MS, err);

	fd_close(l->fd);
	tmr_start(&l->pause, TP_ACCEPT_PAUSE_MS, accept_resume, l);
}


/* An accept error: true to go on with the batch. */
static bool accept_error(struct tp_listener *l, int err)
{
	switch (err) {

	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return false;

	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
		return true;

	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		accept_pause(l, err);
		return false;

	default:
		sbc_warn("%s: accept: %m", l->conf->name, err);
		return false;
	}
}


/* fd handler of a stream listener. */
void tp_accept_ready(int flags, void *arg)
{
	struct tp_listener *l = arg;
	struct sa peer;
	int i, fd, err;

	(void)flags;

	for (i = 0; i < TP_ACCEPT_BATCH && l->fd >= 0; i++) {

		sa_init(&peer, AF_UNSPEC);
		peer.len = sizeof(peer.u);

		fd = accept4(l->fd, &peer.u.sa, &peer.len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (accept_error(l, errno))
				continue;
			return;
		}

		err = tp_conn_accept(l, fd, &peer);
		if (err == EMFILE) {
			accept_pause(l, err);
			return;
		}
		if (err)
			sbc_warn("%s: connection refused: %m", l->conf->name,
				 err);
	}
}
