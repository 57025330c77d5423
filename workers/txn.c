/*
 * Proxy transactions (RFC 3261 sections 16 and 17, as a stateful proxy).
 *
 * A server transaction (`struct sbc_stx`) is a request sbcd received and
 * must answer; it has one or more client branches (`struct sbc_ctx`), the
 * copies sbcd sent on, several when a user's bindings are called in
 * parallel. The server side absorbs retransmissions (answering them with
 * the last response), sends 100 Trying for INVITE at once, matches CANCEL
 * and the ACK of a non-2xx final. A branch retransmits over UDP (timers
 * A/E), gives up after 64*T1 (timers B/F: 503 when the silent peer is a
 * backend, 408 for a user), waits at most Timer C once a provisional came,
 * sends the ACK of a non-2xx final itself (hop by hop) and sends CANCEL
 * when asked, once the branch has had a provisional.
 *
 * Provisionals and every 2xx go upstream at once; the other finals are
 * collected until every branch has ended and the best one goes up (6xx,
 * then 3xx, 4xx, 5xx). After its final, a transaction lingers to absorb
 * retransmissions, for 64*T1 after an INVITE (2xx retransmissions and
 * their ACKs), T4 after anything else, then everything is freed at once.
 *
 * The files around: proxy.c decides where a request goes, txn_msg.c
 * prints CANCEL and ACK, registrar.c sees a REGISTER's 2xx before it
 * goes up, dialog.c sees an initial INVITE (its early dialog), its first
 * 2xx and its final, and the final of a party's BYE.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/stats.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "workers/txn.h"
#include "shm/dlg.h"
#include "workers/uac.h"
#include "workers/dialog.h"

enum {
	HASH_BUCKETS = 16384,
	TIMER_C_MS   = 180000,
	T2_MS        = 4000,
	T4_MS        = 5000,
};


static uint32_t t1(const struct sbc_core *core)
{
	return core->cfg->t1_ms;
}


static void stx_destructor(void *arg)
{
	struct sbc_stx *stx = arg;

	sbc_timer_cancel(&stx->linger);
	hash_unlink(&stx->he);
	list_flush(&stx->branches);
	mem_deref(stx->last);
	mem_deref(stx->best);
	mem_deref(stx->reg);
	mem_deref(stx->dlg);
	mem_deref(stx->fo);
	mem_deref(stx->key);
	mem_deref(stx->in.msg);

	if (!stx->final && stx->core->active)
		--stx->core->active;
	if (stx->core->txns)
		--stx->core->txns;
	sbc_stats_set(stx->core->stats, stx->core->index, SBC_STAT_TXNS_NOW,
		      stx->core->txns);
}


/* The branch lets go of its place on its backend. */
static void ctx_release(struct sbc_ctx *ctx)
{
	struct sbc_core *core = ctx->stx->core;

	if (ctx->bk_held)
		sbc_bk_release(sbc_bk_slot(core->shm, ctx->bk),
			       sbc_writer_index(core->w));
	ctx->bk_held = false;
}


static void ctx_destructor(void *arg)
{
	struct sbc_ctx *ctx = arg;

	ctx_release(ctx);
	sbc_timer_cancel(&ctx->retx);
	sbc_timer_cancel(&ctx->timeout);
	sbc_timer_cancel(&ctx->cancel_retx);
	hash_unlink(&ctx->he);
	list_unlink(&ctx->le);
	mem_deref(ctx->req);
	mem_deref(ctx->cancel);
	mem_deref(ctx->ack);
}


int sbc_txn_init(struct sbc_core *core)
{
	int err;

	err = hash_alloc(&core->stx, HASH_BUCKETS);
	if (!err)
		err = hash_alloc(&core->ctx, HASH_BUCKETS);

	return err;
}


/* Free every transaction now (the worker is exiting). */
void sbc_txn_flush(struct sbc_core *core)
{
	hash_flush(core->stx);
}


/*
 * The key of a server transaction: top Via branch and sent-by, and the
 * method, ACK counting as INVITE (RFC 3261 17.2.3). CANCEL is matched
 * against the INVITE's key by its caller.
 */
static int stx_key(char **keyp, const struct sip_msg *msg, const char *met)
{
	if (met)
		return re_sdprintf(keyp, "%r|%r|%s", &msg->via.branch,
				   &msg->via.sentby, met);

	if (!pl_strcmp(&msg->met, "ACK"))
		return re_sdprintf(keyp, "%r|%r|INVITE", &msg->via.branch,
				   &msg->via.sentby);

	return re_sdprintf(keyp, "%r|%r|%r", &msg->via.branch,
			   &msg->via.sentby, &msg->met);
}


static bool stx_key_cmp(struct le *le, void *arg)
{
	const struct sbc_stx *stx = le->data;

	return 0 == strcmp(stx->key, arg);
}


static struct sbc_stx *stx_find(struct sbc_core *core,
				const struct sip_msg *msg, const char *met)
{
	struct le *le;
	char *key = NULL;

	if (stx_key(&key, msg, met))
		return NULL;

	le = hash_lookup(core->stx, hash_joaat_str(key), stx_key_cmp, key);
	mem_deref(key);

	return le ? le->data : NULL;
}


/*
 * The transaction's final is known: what it means for its dialog. Then
 * the transaction lets go of it: an INVITE lingers 64*T1, and a call rate
 * of thousands per second would otherwise keep that many seconds of ended
 * dialogs in memory.
 */
static void stx_dialog_final(struct sbc_stx *stx, uint16_t scode)
{
	if (!stx->dlg)
		return;

	if (!stx->dlg_bye)
		sbc_dialog_setup_final(stx->dlg, scode);
	else if (scode != 401 && scode != 407)
		sbc_dialog_bye_final(stx->dlg, &stx->in);

	stx->dlg = mem_deref(stx->dlg);
}


/* Send a response upstream and keep it for retransmitted requests. */
static void stx_send(struct sbc_stx *stx, struct mbuf *mb, uint16_t scode)
{
	mem_deref(stx->last);
	stx->last = mem_ref(mb);

	(void)sbc_core_send(stx->core, &stx->in.src, mb);

	if (scode >= 200 && !stx->final) {
		stx->final = scode;
		--stx->core->active;
		stx_dialog_final(stx, scode);
	}
}


static void linger_handler(void *arg)
{
	mem_deref(arg);
}


/*
 * What a completed non-INVITE transaction needs while it lingers: its key,
 * where the request came from and the final to answer retransmissions
 * with. The request, its branches and the registrar's state go now: a
 * REGISTER storm keeps T4's worth of transactions lingering, and each
 * would otherwise hold kilobytes it will never read again. An INVITE's
 * branches stay, to pass 2xx retransmissions on and to resend the ACK of
 * a non-2xx final.
 */
static void stx_slim(struct sbc_stx *stx)
{
	if (stx->invite)
		return;

	list_flush(&stx->branches);
	stx->best = mem_deref(stx->best);
	stx->reg = mem_deref(stx->reg);
	stx->in.msg = mem_deref(stx->in.msg);
	stx->in.body = pl_null;
}


/* Every branch has ended and the final went up: linger, then free. */
static void stx_linger(struct sbc_stx *stx)
{
	uint64_t ms = stx->invite ? 64ull * t1(stx->core) :
		(t1(stx->core) * 64ull < T4_MS ? t1(stx->core) * 64ull :
		 T4_MS);

	stx_slim(stx);
	sbc_timer_start(&stx->linger, ms, linger_handler, stx);
}


/* A response sbcd makes itself for the transaction, sent upstream. */
static void stx_reply(struct sbc_stx *stx, uint16_t scode,
		      const char *reason)
{
	struct mbuf *mb = mbuf_alloc(512);

	if (!mb)
		return;

	if (!sbc_reply_print(mb, &stx->in, scode, reason, NULL))
		stx_send(stx, mb, scode);

	mem_deref(mb);
}


static int best_rank(uint16_t scode)
{
	switch (scode / 100) {

	case 6:  return 0;
	case 3:  return 1;
	case 4:  return 2;
	default: return 3;
	}
}


/* Keep the best final so far (already printed for upstream). */
static void stx_best(struct sbc_stx *stx, struct mbuf *mb, uint16_t scode)
{
	if (stx->best && best_rank(scode) >= best_rank(stx->best_code))
		return;

	mem_deref(stx->best);
	stx->best = mem_ref(mb);
	stx->best_code = scode;
}


/* A branch ended: when it was the last, the best final goes up. */
static void stx_branch_done(struct sbc_stx *stx)
{
	if (stx->pending)
		--stx->pending;

	if (stx->pending)
		return;

	if (!stx->final) {
		if (stx->cancelled && (!stx->best || stx->best_code < 600))
			stx_reply(stx, 487, "Request Terminated");
		else if (stx->best)
			stx_send(stx, stx->best, stx->best_code);
		else
			stx_reply(stx, 500, "Server Internal Error");
	}

	stx_linger(stx);
}


static void ctx_cancel(struct sbc_ctx *ctx);


/* Cancel every branch still pending but `except`. */
static void stx_cancel_others(struct sbc_stx *stx, struct sbc_ctx *except)
{
	struct le *le;

	for (le = stx->branches.head; le; le = le->next) {
		struct sbc_ctx *ctx = le->data;

		if (ctx != except && !ctx->final)
			ctx_cancel(ctx);
	}
}


/* The branch ends with a final of sbcd's own (timeout, send failure). */
static void ctx_fail(struct sbc_ctx *ctx, uint16_t scode, const char *reason)
{
	struct sbc_stx *stx = ctx->stx;
	struct mbuf *mb;

	ctx->final = true;
	sbc_timer_cancel(&ctx->retx);
	sbc_timer_cancel(&ctx->timeout);
	ctx->req = mem_deref(ctx->req);
	ctx_release(ctx);

	mb = mbuf_alloc(512);
	if (mb && !sbc_reply_print(mb, &stx->in, scode, reason, NULL))
		stx_best(stx, mb, scode);
	mem_deref(mb);

	stx_branch_done(stx);
}


/* The branch's backend failed: counted, its place given back; the call
 * goes on to the next backend, or gets 503 when none is left. */
static void ctx_failed_over(struct sbc_ctx *ctx)
{
	struct sbc_stx *stx = ctx->stx;
	struct sbc_bk *bk = sbc_bk_slot(stx->core->shm, ctx->bk);
	struct mbuf *mb;

	if (bk)
		atomic_fetch_add(&bk->failures, 1);
	ctx_release(ctx);

	if (!sbc_failover_next(stx))
		return;

	mb = mbuf_alloc(512);
	if (mb && !sbc_reply_print(mb, &stx->in, 503, "Service Unavailable",
				   NULL))
		stx_best(stx, mb, 503);
	mem_deref(mb);
}


/*
 * No response at all from the backend within failover.timeout: the call
 * moves on. The branch stays to absorb what the backend may still send:
 * a provisional gets CANCEL, a non-2xx final its ACK, a 2xx ACK and BYE.
 */
static void ctx_abandon(struct sbc_ctx *ctx)
{
	sbc_info("no answer from backend %J within %u ms: next backend (%r)",
		 &ctx->dst.addr, ctx->stx->core->cfg->failover_timeout,
		 &ctx->stx->in.msg->callid);

	ctx->abandoned = true;
	ctx->cancel_wanted = true;
	sbc_timer_cancel(&ctx->retx);

	ctx_failed_over(ctx);
	stx_branch_done(ctx->stx);
}


static void ctx_timeout_handler(void *arg)
{
	struct sbc_ctx *ctx = arg;

	if (ctx->unreachable) {
		ctx_fail(ctx, 480, "Temporarily Unavailable");
		return;
	}

	if (ctx->code >= 100) {          /* Timer C */
		ctx_cancel(ctx);
		ctx_fail(ctx, 408, "Request Timeout");
		return;
	}

	if (ctx->stx->fo) {
		ctx_abandon(ctx);
		return;
	}

	sbc_info("no answer from %J to %r (%r)", &ctx->dst.addr,
		 &ctx->stx->in.msg->met, &ctx->stx->in.msg->callid);

	if (ctx->stx->to_backend)
		ctx_fail(ctx, 503, "Service Unavailable");
	else
		ctx_fail(ctx, 408, "Request Timeout");
}


static void ctx_retx_handler(void *arg)
{
	struct sbc_ctx *ctx = arg;

	if (!ctx->req)
		return;

	(void)sbc_core_send(ctx->stx->core, &ctx->dst, ctx->req);

	ctx->interval *= 2;
	if (!ctx->stx->invite && ctx->interval > T2_MS)
		ctx->interval = T2_MS;

	sbc_timer_start(&ctx->retx, ctx->interval, ctx_retx_handler, ctx);
}


static void cancel_retx_handler(void *arg)
{
	struct sbc_ctx *ctx = arg;
	uint32_t limit = 64 * t1(ctx->stx->core);

	if (!ctx->cancel || ctx->cancel_interval > limit)
		return;

	(void)sbc_core_send(ctx->stx->core, &ctx->dst, ctx->cancel);

	ctx->cancel_interval *= 2;
	sbc_timer_start(&ctx->cancel_retx, ctx->cancel_interval,
		  cancel_retx_handler, ctx);
}


/* Send CANCEL on the branch now if it had a provisional, else when one
 * comes (RFC 3261 9.1). */
static void ctx_cancel(struct sbc_ctx *ctx)
{
	if (ctx->final || ctx->cancel || !ctx->stx->invite)
		return;

	ctx->cancel_wanted = true;
	if (ctx->code < 100 || !ctx->req)
		return;

	if (sbc_txn_hop_print(&ctx->cancel, ctx->req, "CANCEL", NULL))
		return;

	(void)sbc_core_send(ctx->stx->core, &ctx->dst, ctx->cancel);

	if (ctx->dst.tp == SBC_TP_UDP) {
		ctx->cancel_interval = t1(ctx->stx->core);
		sbc_timer_start(&ctx->cancel_retx, ctx->cancel_interval,
			  cancel_retx_handler, ctx);
	}
}


static bool ctx_cmp(struct le *le, void *arg)
{
	const struct sbc_ctx *ctx = le->data;
	const struct pl *branch = arg;

	return 0 == pl_strcmp(branch, ctx->branch);
}


/*
 * Create the server transaction for a new request. `to_backend`: a branch
 * that times out means the backend is silent (503) rather than the user
 * unreachable (408). INVITE gets 100 Trying at once; an initial one gets
 * its early dialog first: ENOSPC when the dialog table is full.
 */
int sbc_txn_new(struct sbc_stx **stxp, struct sbc_core *core,
		const struct sbc_in *in, bool to_backend)
{
	struct sbc_stx *stx;
	int err;

	stx = mem_zalloc(sizeof(*stx), stx_destructor);
	if (!stx)
		return ENOMEM;

	stx->core = core;
	stx->in   = *in;
	stx->in.msg = mem_ref(in->msg);
	stx->invite = !pl_strcmp(&in->msg->met, "INVITE");
	stx->to_backend = to_backend;
	sbc_timer_init(&stx->linger);
	list_init(&stx->branches);

	++core->txns;
	++core->active;
	sbc_stats_set(core->stats, core->index, SBC_STAT_TXNS_NOW,
		      core->txns);

	if (stx->invite && !pl_isset(&in->msg->to.tag)) {
		err = sbc_dialog_new(&stx->dlg, core, in);
		if (err)
			goto out;
	}

	err = stx_key(&stx->key, in->msg, NULL);
	if (err)
		goto out;

	hash_append(core->stx, hash_joaat_str(stx->key), &stx->he, stx);

	if (stx->invite)
		stx_reply(stx, 100, "Trying");

 out:
	if (err)
		mem_deref(stx);
	else
		*stxp = stx;

	return err;
}


/* Answer the transaction with a final of sbcd's own (no branch started). */
void sbc_txn_fail(struct sbc_stx *stx, uint16_t scode, const char *reason)
{
	if (!stx)
		return;

	stx_reply(stx, scode, reason);
	if (!stx->pending)
		stx_linger(stx);
}


/* Start a branch: the request as fwd prints it, sent to dst. A branch to
 * backend slot (not SBC_BK_NONE) holds the place taken there, and one
 * that may fail over waits failover.timeout for a first response. */
static int branch_start(struct sbc_stx *stx, const struct sbc_dest *dst,
			const struct sbc_fwd *fwd, uint16_t slot)
{
	struct sbc_core *core = stx->core;
	uint64_t timeout = 64ull * t1(core);
	struct sbc_fwd f = *fwd;
	struct sbc_ctx *ctx;
	int err;

	ctx = mem_zalloc(sizeof(*ctx), ctx_destructor);
	if (!ctx)
		return ENOMEM;

	ctx->stx = stx;
	ctx->dst = *dst;
	ctx->bk  = slot;
	sbc_timer_init(&ctx->retx);
	sbc_timer_init(&ctx->timeout);
	sbc_timer_init(&ctx->cancel_retx);
	(void)re_snprintf(ctx->branch, sizeof(ctx->branch),
			  SBC_BRANCH_PREFIX "%016llx%x",
			  (unsigned long long)core->branch_salt,
			  (unsigned)++core->branch_seq);

	f.dst    = &ctx->dst;
	f.branch = ctx->branch;

	err = sbc_fwd_request(&ctx->req, core, &stx->in, &f);
	if (err) {
		mem_deref(ctx);
		return err;
	}

	if (slot != SBC_BK_NONE) {
		ctx->bk_held = true;
		atomic_fetch_add(&sbc_bk_slot(core->shm, slot)->attempts, 1);
	}
	if (stx->fo && core->cfg->failover_timeout < timeout)
		timeout = core->cfg->failover_timeout;

	list_append(&stx->branches, &ctx->le, ctx);
	hash_append(core->ctx, hash_joaat_str(ctx->branch), &ctx->he, ctx);
	++stx->pending;

	sbc_timer_start(&ctx->timeout, timeout, ctx_timeout_handler, ctx);
	if (dst->tp == SBC_TP_UDP) {
		ctx->interval = t1(core);
		sbc_timer_start(&ctx->retx, ctx->interval, ctx_retx_handler, ctx);
	}

	err = sbc_core_send(core, &ctx->dst, ctx->req);
	if (err && dst->conn) {
		/* the connection is gone: the user cannot be reached on it;
		 * ended from the loop, after every branch has started */
		ctx->unreachable = true;
		sbc_timer_cancel(&ctx->retx);
		sbc_timer_start(&ctx->timeout, 0, ctx_timeout_handler, ctx);
	}

	return 0;
}


int sbc_txn_branch(struct sbc_stx *stx, const struct sbc_dest *dst,
		   const struct sbc_fwd *fwd)
{
	return branch_start(stx, dst, fwd, SBC_BK_NONE);
}


/* A branch to backend slot, with the place sbc_backend_pick() took
 * there: given back if the branch cannot start. */
int sbc_txn_branch_backend(struct sbc_stx *stx, const struct sbc_dest *dst,
			   const struct sbc_fwd *fwd, uint16_t slot)
{
	struct sbc_core *core = stx->core;
	int err = branch_start(stx, dst, fwd, slot);

	if (err)
		sbc_bk_release(sbc_bk_slot(core->shm, slot),
			       sbc_writer_index(core->w));

	return err;
}


/* CANCEL for an INVITE this worker proxies. */
static void txn_cancel(struct sbc_core *core, const struct sbc_in *in)
{
	struct sbc_stx *stx = stx_find(core, in->msg, "INVITE");

	if (!stx) {
		(void)sbc_reply(core, in, 481, "Call/Transaction Does Not "
				"Exist", NULL);
		return;
	}

	(void)sbc_reply(core, in, 200, "OK", NULL);

	if (stx->final)
		return;

	stx->cancelled = true;
	stx_cancel_others(stx, NULL);
}


/*
 * A request that belongs to an existing transaction: a retransmission, a
 * CANCEL, the ACK of a non-2xx final. Returns false for a new request.
 */
bool sbc_txn_request(struct sbc_core *core, const struct sbc_in *in)
{
	const struct sip_msg *msg = in->msg;
	struct sbc_stx *stx;

	if (!pl_strcmp(&msg->met, "CANCEL")) {
		txn_cancel(core, in);
		return true;
	}

	stx = stx_find(core, msg, NULL);
	if (!stx)
		return false;

	if (!pl_strcmp(&msg->met, "ACK"))
		return stx->final >= 300;   /* a 2xx ACK is a new request */

	if (stx->last)
		(void)sbc_core_send(core, &stx->in.src, stx->last);

	return true;
}


/* Forward a provisional or 2xx response upstream now. */
static void ctx_forward(struct sbc_ctx *ctx, const struct sbc_in *rsp)
{
	struct sbc_stx *stx = ctx->stx;
	re_printf_h *contact_h = NULL;
	void *contact_arg = NULL;
	struct mbuf *mb = NULL;

	if (stx->reg && rsp->msg->scode >= 200 &&
	    sbc_registrar_response(stx, rsp, &contact_h, &contact_arg))
		return;

	if (!sbc_fwd_response(&mb, rsp, &stx->in, contact_h,
			      contact_arg))
		stx_send(stx, mb, rsp->msg->scode);

	mem_deref(mb);
	mem_deref(contact_arg);
}


static void ctx_provisional(struct sbc_ctx *ctx, const struct sbc_in *rsp)
{
	uint16_t scode = rsp->msg->scode;

	sbc_timer_cancel(&ctx->retx);

	if (ctx->code < 100 && ctx->stx->invite)
		sbc_timer_start(&ctx->timeout, TIMER_C_MS, ctx_timeout_handler, ctx);

	if (scode > ctx->code)
		ctx->code = scode;

	if (ctx->cancel_wanted)
		ctx_cancel(ctx);

	if (scode > 100 && !ctx->stx->final)
		ctx_forward(ctx, rsp);
}


/* ACK a non-2xx final hop by hop, and keep the ACK for its
 * retransmissions. */
static void ctx_ack(struct sbc_ctx *ctx, const struct sbc_in *rsp)
{
	if (!ctx->stx->invite || !ctx->req || ctx->ack)
		return;

	if (!sbc_txn_hop_print(&ctx->ack, ctx->req, "ACK",
			       &rsp->msg->to.val))
		(void)sbc_core_send(ctx->stx->core, &ctx->dst, ctx->ack);
}


static void ctx_final(struct sbc_ctx *ctx, const struct sbc_in *rsp)
{
	struct sbc_stx *stx = ctx->stx;
	uint16_t scode = rsp->msg->scode;
	struct mbuf *mb = NULL;

	ctx->final = true;
	ctx->code  = scode;
	sbc_timer_cancel(&ctx->retx);
	sbc_timer_cancel(&ctx->timeout);

	if (scode < 300) {
		if (ctx->bk_held && stx->dlg && !stx->dlg_bye) {
			sbc_dialog_hold_backend(stx->dlg, ctx->bk);
			ctx->bk_held = false;
		}
		ctx_release(ctx);     /* an untracked call holds no place */
		if (stx->dlg && !stx->dlg_bye)
			sbc_dialog_answered(stx->dlg, &ctx->dst, rsp);
		ctx_forward(ctx, rsp);
		if (stx->invite)
			stx_cancel_others(stx, ctx);
	}
	else if (stx->fo && sbc_codes_has(&stx->core->cfg->failover_codes,
					  scode)) {
		ctx_ack(ctx, rsp);
		ctx_failed_over(ctx);
	}
	else {
		ctx_ack(ctx, rsp);
		ctx_release(ctx);
		if (scode >= 600)
			stx_cancel_others(stx, ctx);
		if (!sbc_fwd_response(&mb, rsp, &stx->in, NULL,
				      NULL))
			stx_best(stx, mb, scode);
		mem_deref(mb);
	}

	/* an ACK was built from it: nothing will be resent any more */
	ctx->req = mem_deref(ctx->req);
	stx_branch_done(stx);
}


/* A retransmitted final: pass a 2xx on again, ACK a non-2xx again. */
static void ctx_final_again(struct sbc_ctx *ctx, const struct sbc_in *rsp)
{
	struct sbc_stx *stx = ctx->stx;
	struct mbuf *mb = NULL;

	if (rsp->msg->scode >= 300) {
		if (ctx->ack)
			(void)sbc_core_send(stx->core, &ctx->dst, ctx->ack);
		return;
	}

	if (!sbc_fwd_response(&mb, rsp, &stx->in, NULL, NULL))
		(void)sbc_core_send(stx->core, &stx->in.src, mb);

	mem_deref(mb);
}


/* A response on a branch that failed over: it is ended, never passed on. */
static void ctx_late(struct sbc_ctx *ctx, const struct sbc_in *rsp)
{
	uint16_t scode = rsp->msg->scode;

	if (scode < 200) {
		if (scode > ctx->code)
			ctx->code = scode;
		ctx_cancel(ctx);
		return;
	}

	if (ctx->final) {
		if (scode < 300)
			sbc_orphan_ack(ctx->stx->core, &ctx->dst, rsp->msg);
		else if (ctx->ack)
			(void)sbc_core_send(ctx->stx->core, &ctx->dst,
					    ctx->ack);
		return;
	}

	ctx->final = true;
	if (scode >= 300)
		ctx_ack(ctx, rsp);
	else
		sbc_orphan_end(ctx->stx->core, &ctx->dst, rsp->msg);
}


/* A response: to one of this worker's branches, or dropped. */
void sbc_txn_response(struct sbc_core *core, const struct sbc_in *in)
{
	const struct sip_msg *msg = in->msg;
	struct sbc_ctx *ctx;
	struct le *le;

	le = hash_lookup(core->ctx, hash_joaat_pl(&msg->via.branch), ctx_cmp,
			 (void *)(uintptr_t)&msg->via.branch);
	if (!le) {
		if (sbc_uac_response(core, msg))
			return;
		sbc_debug("response %u to no transaction of ours from %J "
			  "(%r)", msg->scode, &in->src.addr, &msg->callid);
		return;
	}

	ctx = le->data;

	if (!pl_strcmp(&msg->cseq.met, "CANCEL")) {
		ctx->cancel = mem_deref(ctx->cancel);
		sbc_timer_cancel(&ctx->cancel_retx);
		return;
	}

	if (ctx->abandoned) {
		ctx_late(ctx, in);
		return;
	}

	if (ctx->final)
		ctx_final_again(ctx, in);
	else if (msg->scode < 200)
		ctx_provisional(ctx, in);
	else
		ctx_final(ctx, in);
}
