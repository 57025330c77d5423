/*
 * The other workers: hand-over, sends on their connections, holds.
 *
 * Each worker reads its own mailbox and writes into everyone's (see
 * shm/channel.h). Three kinds of record arrive here:
 * - SIP: a message another worker read whose Call-ID this worker owns;
 * - SEND: bytes to send on a connection this worker accepted (a TCP, TLS
 *   or WebSocket connection lives in one process, TLS state included);
 * - HOLD: a binding now lives on one of this worker's connections, which
 *   must stay open as long as it does and remove it when it closes;
 * - UNSENT: a request this worker had another send found that worker's
 *   connection gone: sbcd's own transaction (a BYE to a browser whose tab
 *   closed) fails now, not after its timeout.
 * A full mailbox refuses a record at once: the loss is counted, and SIP's
 * own retransmissions recover it on UDP.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/reg.h"
#include "shm/stats.h"
#include "shm/channel.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/core.h"
#include "workers/uac.h"

enum {
	RECORDS_PER_WAKEUP = 64,   /* then let the sockets have a turn */
};


static int mbox_put(struct sbc_core *core, uint32_t worker,
		    struct sbc_chan_hdr *hdr, const void *data, size_t len);


/* A SEND found its connection gone: tell the sender which request. */
static void unsent_tell(struct sbc_core *core, const struct sbc_chan_hdr *hdr)
{
	struct sbc_chan_hdr rep;
	struct pl branch;

	/* the first branch of a request is its top Via's: the sender's */
	if (re_regex((const char *)core->mbox_buf, hdr->len,
		     "branch=[^;, \t\r\n]+", &branch))
		return;

	memset(&rep, 0, sizeof(rep));
	rep.kind = SBC_CHAN_UNSENT;
	rep.conn = hdr->conn;

	(void)mbox_put(core, hdr->from, &rep, branch.p, branch.l);
}


static void mbox_record(struct sbc_core *core, const struct sbc_chan_hdr *hdr)
{
	struct sbc_dest src = {
		.listener = hdr->listener,
		.conn     = hdr->conn,
		.tp       = (enum sbc_transport)hdr->transport,
	};
	const char *aor, *inst;

	if (hdr->kind != SBC_CHAN_HOLD && hdr->kind != SBC_CHAN_UNSENT &&
	    (hdr->listener >= core->cfg->listener_count ||
	     sbc_addr_get(&hdr->peer, &src.addr)))
		return;

	switch (hdr->kind) {

	case SBC_CHAN_SIP:
		sbc_core_input(core, &src, core->mbox_buf, hdr->len, true);
		break;

	case SBC_CHAN_SEND:
		if (sbc_tp_send(core->tp, hdr->listener, hdr->conn, &src.addr,
				core->mbox_buf, hdr->len) == ENOTCONN)
			unsent_tell(core, hdr);
		break;

	case SBC_CHAN_UNSENT:
		sbc_uac_unsent(core, &(struct pl){(const char *)core->mbox_buf,
						   hdr->len});
		break;

	case SBC_CHAN_HOLD:
		/* "aor\0instance\0", both terminated inside the record */
		aor = (const char *)core->mbox_buf;
		inst = memchr(aor, '\0', hdr->len);
		if (!inst || !memchr(inst + 1, '\0',
				     hdr->len - (size_t)(inst + 1 - aor)))
			return;
		sbc_holds_add(core, hdr->conn, hdr->until, aor, inst + 1);
		break;

	default:
		break;
	}
}


static void mbox_handler(int flags, void *arg)
{
	struct sbc_core *core = arg;
	struct sbc_chan_hdr hdr;

	(void)flags;

	for (int i = 0; i < RECORDS_PER_WAKEUP; i++) {
		int err = sbc_chan_recv(core->mbox_fd, &hdr, core->mbox_buf,
					SBC_CHAN_DATA_MAX, NULL);
		if (err == EAGAIN)
			return;

		if (err) {
			sbc_warn("mailbox: %m", err);
			return;
		}

		mbox_record(core, &hdr);
	}
}


int sbc_mbox_listen(struct sbc_core *core)
{
	return fd_listen(core->mbox_fd, FD_READ, mbox_handler, core);
}


static int mbox_put(struct sbc_core *core, uint32_t worker,
		    struct sbc_chan_hdr *hdr, const void *data, size_t len)
{
	int err;

	if (worker >= core->workers)
		return EINVAL;

	hdr->from = core->index;

	err = sbc_chan_send(core->peer_fds[worker], hdr, data, len, -1);
	if (err) {
		sbc_stats_add(core->stats, core->index,
			      SBC_STAT_HANDOVER_LOST, 1);
		sbc_debug("mailbox of worker %u refused a record: %m",
			  worker, err);
	}

	return err;
}


static void mbox_hdr_from(struct sbc_chan_hdr *hdr, enum sbc_chan_kind kind,
			  const struct sbc_dest *d)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->kind      = (uint16_t)kind;
	hdr->listener  = d->listener;
	hdr->conn      = d->conn;
	hdr->transport = (uint8_t)d->tp;
	(void)sbc_addr_set(&hdr->peer, &d->addr);
}


/* Pass a message read here to the worker owning its Call-ID. */
int sbc_mbox_handover(struct sbc_core *core, uint32_t owner,
		      const struct sbc_dest *src, const uint8_t *buf,
		      size_t len)
{
	struct sbc_chan_hdr hdr;
	int err;

	mbox_hdr_from(&hdr, SBC_CHAN_SIP, src);

	err = mbox_put(core, owner, &hdr, buf, len);
	if (!err)
		sbc_stats_add(core->stats, core->index,
			      SBC_STAT_HANDOVER_OUT, 1);

	return err;
}


/* Ask the worker owning dst->conn to send these bytes on it. */
int sbc_mbox_send(struct sbc_core *core, const struct sbc_dest *dst,
		  const uint8_t *buf, size_t len)
{
	struct sbc_chan_hdr hdr;

	mbox_hdr_from(&hdr, SBC_CHAN_SEND, dst);

	return mbox_put(core, sbc_conn_worker(dst->conn), &hdr, buf, len);
}


/* Tell the worker owning `conn` that a binding lives on it until `until`. */
int sbc_mbox_hold(struct sbc_core *core, uint64_t conn, uint64_t until,
		  const char *aor, const char *instance)
{
	struct sbc_chan_hdr hdr;
	char data[SBC_REG_AOR_SIZE + SBC_REG_INSTANCE_SIZE];
	size_t alen = strlen(aor) + 1, ilen = strlen(instance) + 1;

	if (alen + ilen > sizeof(data))
		return EOVERFLOW;

	memcpy(data, aor, alen);
	memcpy(data + alen, instance, ilen);

	memset(&hdr, 0, sizeof(hdr));
	hdr.kind  = SBC_CHAN_HOLD;
	hdr.conn  = conn;
	hdr.until = until;

	return mbox_put(core, sbc_conn_worker(conn), &hdr, data,
			alen + ilen);
}
