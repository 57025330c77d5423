/*
 * The listeners: every one of cfg->listeners, bound by this worker, and
 * the TCP-based ones closed again by a drain.
 *
 * A listener that cannot be bound fails sbc_tp_alloc(): the config asked
 * for it, and a worker without it would silently serve less than asked.
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


/* Stop listening: the socket is closed, the index stays valid. */
void tp_listen_close(struct tp_listener *l)
{
	tmr_cancel(&l->pause);

	if (l->fd < 0)
		return;

	fd_close(l->fd);
	(void)close(l->fd);
	l->fd = -1;
}


static int listen_one(struct tp_listener *l)
{
	const struct sbc_listener_conf *lc = l->conf;
	const bool stream = tp_is_stream(lc->transport);
	int err;

	if (lc->transport < SBC_TP_UDP || lc->transport > SBC_TP_WSS) {
		sbc_error("%s: no such transport", lc->name);
		return EINVAL;
	}

	err = tp_sock_bind(&l->fd, &lc->addr, stream ? SOCK_STREAM
						     : SOCK_DGRAM);
	if (err) {
		sbc_error("%s: cannot bind %J: %m", lc->name, &lc->addr, err);
		return err;
	}

	err = fd_listen(l->fd, FD_READ, stream ? tp_accept_ready
					       : tp_udp_readable, l);
	if (err) {
		sbc_error("%s: cannot watch the socket: %m", lc->name, err);
		return err;
	}

	sbc_debug("%s: listening on %J", lc->name, &lc->addr);
	return 0;
}


/* Bind every listener of the config, in its order. */
int tp_listen_all(struct sbc_tp *tp)
{
	const struct sbc_config *cfg = tp->cfg;
	uint32_t i;
	int err;

	if (cfg->listener_count > UINT16_MAX)
		return EINVAL;

	tp->lsnv = mem_zalloc(cfg->listener_count * sizeof(*tp->lsnv), NULL);
	if (!tp->lsnv && cfg->listener_count)
		return ENOMEM;

	for (i = 0; i < cfg->listener_count; i++) {
		struct tp_listener *l = &tp->lsnv[i];

		l->tp = tp;
		l->conf = &cfg->listeners[i];
		l->index = (uint16_t)i;
		l->fd = -1;
		++tp->lsnc;

		err = listen_one(l);
		if (err)
			return err;
	}

	return 0;
}
