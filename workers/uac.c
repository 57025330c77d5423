/*
 * sbcd's own client transactions (RFC 3261 17.1.2, non-INVITE): the
 * keepalive OPTIONS and the BYEs of a call sbcd ends.
 *
 * The caller prints the request with the branch this file chose (it is in
 * sbcd's Via, and the response comes back to this worker by Call-ID like
 * any other). Over UDP the request is sent again at T1, doubling up to T2,
 * so a lost packet never fails it; after `timeout` ms without a final the
 * transaction fails with ETIMEDOUT, and at once with ENOTCONN when the
 * connection it went to is gone (here, or in the worker owning it). The
 * handler runs exactly once, with the final status or the error, and may
 * free the transaction.
 */

#include <errno.h>
#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/timer.h"
#include "workers/uac.h"

enum {
	T2_MS = 4000,
};

struct sbc_uac {
	struct le he;                /* in core->uac, by branch */
	struct sbc_core *core;
	char branch[48];
	struct sbc_dest dst;
	struct mbuf *req;
	struct sbc_timer retx;
	struct sbc_timer timeout;
	uint32_t interval;
	sbc_uac_h *h;
	void *arg;
};


static void uac_destructor(void *arg)
{
	struct sbc_uac *uac = arg;

	sbc_timer_cancel(&uac->retx);
	sbc_timer_cancel(&uac->timeout);
	hash_unlink(&uac->he);
	mem_deref(uac->req);
}


/* The transaction is over: nothing of it runs again. */
static void uac_done(struct sbc_uac *uac, int err, uint16_t scode)
{
	sbc_uac_h *h = uac->h;

	sbc_timer_cancel(&uac->retx);
	sbc_timer_cancel(&uac->timeout);
	hash_unlink(&uac->he);
	uac->h = NULL;

	if (h)
		h(err, scode, uac->arg);   /* may free uac: touch nothing after */
}


static void retx_handler(void *arg)
{
	struct sbc_uac *uac = arg;

	(void)sbc_core_send(uac->core, &uac->dst, uac->req);

	uac->interval = uac->interval * 2 > T2_MS ? T2_MS : uac->interval * 2;
	sbc_timer_start(&uac->retx, uac->interval, retx_handler, uac);
}


static void timeout_handler(void *arg)
{
	uac_done(arg, ETIMEDOUT, 0);
}


int sbc_uac_alloc(struct sbc_uac **uacp, struct sbc_core *core,
		  const struct sbc_dest *dst, sbc_uac_h *h, void *arg)
{
	struct sbc_uac *uac;

	if (!uacp || !core || !dst || !h)
		return EINVAL;

	uac = mem_zalloc(sizeof(*uac), uac_destructor);
	if (!uac)
		return ENOMEM;

	uac->core = core;
	uac->dst  = *dst;
	uac->h    = h;
	uac->arg  = arg;
	sbc_timer_init(&uac->retx);
	sbc_timer_init(&uac->timeout);
	(void)re_snprintf(uac->branch, sizeof(uac->branch),
			  SBC_BRANCH_PREFIX "%016llxu%x",
			  (unsigned long long)core->branch_salt,
			  (unsigned)++core->branch_seq);

	*uacp = uac;

	return 0;
}


const char *sbc_uac_branch(const struct sbc_uac *uac)
{
	return uac ? uac->branch : "";
}


/*
 * Send req (printed with sbc_uac_branch) and wait at most timeout_ms for
 * its final. ENOTCONN: its connection is gone, nothing was started and the
 * handler is not called. Any other failure to send (a full mailbox or
 * socket buffer) is a lost packet: retransmissions and the timeout decide.
 */
int sbc_uac_start(struct sbc_uac *uac, struct mbuf *req, uint64_t timeout_ms)
{
	struct sbc_core *core;
	int err;

	if (!uac || !req)
		return EINVAL;

	core = uac->core;
	uac->req = mem_ref(req);

	err = sbc_core_send(core, &uac->dst, req);
	if (err == ENOTCONN)
		return err;

	hash_append(core->uac, hash_joaat_str(uac->branch), &uac->he, uac);
	sbc_timer_start(&uac->timeout, timeout_ms, timeout_handler, uac);

	if (uac->dst.tp == SBC_TP_UDP) {
		uac->interval = core->cfg->t1_ms;
		sbc_timer_start(&uac->retx, uac->interval, retx_handler, uac);
	}

	return 0;
}


static bool uac_cmp(struct le *le, void *arg)
{
	const struct sbc_uac *uac = le->data;

	return 0 == pl_strcmp(arg, uac->branch);
}


/* A response to one of sbcd's own requests? Then it is consumed here. */
bool sbc_uac_response(struct sbc_core *core, const struct sip_msg *msg)
{
	struct sbc_uac *uac;
	struct le *le;

	le = hash_lookup(core->uac, hash_joaat_pl(&msg->via.branch), uac_cmp,
			 (void *)(uintptr_t)&msg->via.branch);
	if (!le)
		return false;

	uac = le->data;

	if (msg->scode < 200) {
		/* RFC 3261 17.1.2.2: keep retransmitting, at T2 */
		uac->interval = T2_MS;
		return true;
	}

	uac_done(uac, 0, msg->scode);

	return true;
}


/* The worker owning the connection found it gone: the request never left,
 * and the transaction fails now rather than at its timeout. */
void sbc_uac_unsent(struct sbc_core *core, const struct pl *branch)
{
	struct le *le;

	le = hash_lookup(core->uac, hash_joaat_pl(branch), uac_cmp,
			 (void *)(uintptr_t)branch);
	if (le)
		uac_done(le->data, ENOTCONN, 0);
}
