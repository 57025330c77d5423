/*
 * Where a new request goes (DESIGN.md section 3).
 *
 * In order:
 * 0. The ACK of a final sbcd sent statelessly stops here.
 * 1. Max-Forwards 0: 483. A request carrying a branch of one of this
 *    worker's live branches came back to sbcd: 482.
 * 2. OPTIONS for sbcd itself (keepalive checks): 200.
 * 3. REGISTER from the access side: the registrar. From the core: 403.
 * 4. The core side is trusted by address: another source gets 403.
 * 5. Draining after SIGTERM: a new dialog or transaction gets 503.
 * 6. A Route naming sbcd: an in-dialog request, loose-routed. From the
 *    core it goes to the user recorded in sbcd's Record-Route; from the
 *    access side to a backend and nowhere else.
 * 7. Otherwise, from the access side: to a backend of the set its route
 *    picks (balance.c), a new call with failover (failover.c); nothing
 *    from the access side is routed anywhere but a backend (no open
 *    relay). From the core side: to a registered user (locate.c).
 *
 * A request inside a tracked dialog shows the call is alive and may get
 * a new CSeq number (dialog.c); a party's BYE ends the dialog when it is
 * answered.
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

static const char allow_hdr[] =
	"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK, "
	"REFER, NOTIFY, SUBSCRIBE, MESSAGE, REGISTER\r\n"
	"Accept: application/sdp\r\n";


static bool is_method(const struct sip_msg *msg, const char *met)
{
	return 0 == pl_strcmp(&msg->met, met);
}


/* The request names sbcd itself and no user (RFC 3261 11 OPTIONS). */
static bool for_sbcd(const struct sbc_core *core, const struct sip_msg *msg)
{
	return !pl_isset(&msg->uri.user) && !pl_isset(&msg->to.tag) &&
		sbc_core_is_local(core, &msg->uri);
}


static bool maxfwd_exhausted(const struct sip_msg *msg)
{
	uint32_t mf;

	return !sbc_pl_u32(&msg->maxfwd, &mf) && mf == 0;
}


static bool ctx_branch_cmp(struct le *le, void *arg)
{
	const struct sbc_ctx *ctx = le->data;

	return 0 == pl_strcmp(arg, ctx->branch);
}


/* One of the request's Vias is a live branch of ours: it looped. */
static bool looped(const struct sbc_core *core, const struct sip_msg *msg)
{
	struct le *le;

	for (le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct sip_via via;

		if (hdr->id != SIP_HDR_VIA || sip_via_decode(&via, &hdr->val))
			continue;

		if (via.branch.l < sizeof(SBC_BRANCH_PREFIX) - 1 ||
		    memcmp(via.branch.p, SBC_BRANCH_PREFIX,
			   sizeof(SBC_BRANCH_PREFIX) - 1))
			continue;

		if (hash_lookup(core->ctx, hash_joaat_pl(&via.branch),
				ctx_branch_cmp, &via.branch))
			return true;
	}

	return false;
}


/* Start the transaction and its one branch, or answer the failure.
 * bye_dlg: the dialog a party's BYE ends. */
static void proxy_forward(struct sbc_core *core, const struct sbc_in *in,
			  const struct sbc_dest *dst,
			  const struct sbc_fwd *fwd, bool to_backend,
			  struct sbc_dialog *bye_dlg)
{
	struct sbc_stx *stx = NULL;
	int err;

	err = sbc_txn_new(&stx, core, in, to_backend);
	if (err == ENOSPC) {
		sbc_debug("dialog table full: INVITE refused (%r)",
			  &in->msg->callid);
		(void)sbc_reply(core, in, 503, "Service Unavailable", NULL);
		return;
	}
	if (err) {
		(void)sbc_reply(core, in, 500, "Server Internal Error", NULL);
		return;
	}

	if (bye_dlg) {
		stx->dlg = mem_ref(bye_dlg);
		stx->dlg_bye = true;
	}

	err = sbc_txn_branch(stx, dst, fwd);
	if (err) {
		sbc_warn("cannot forward %r to %J: %m (%r)", &in->msg->met,
			 &dst->addr, err, &in->msg->callid);
		sbc_txn_fail(stx, 500, "Server Internal Error");
	}
}


/* ACK of a 2xx: a request of its own, forwarded without a transaction. */
static void proxy_stateless(struct sbc_core *core, const struct sbc_in *in,
			    const struct sbc_dest *dst,
			    const struct sbc_fwd *fwd)
{
	struct sbc_fwd f = *fwd;
	struct mbuf *mb = NULL;
	char branch[48];

	(void)re_snprintf(branch, sizeof(branch),
			  SBC_BRANCH_PREFIX "%016llxa%x",
			  (unsigned long long)core->branch_salt,
			  (unsigned)++core->branch_seq);
	f.dst = dst;
	f.branch = branch;

	if (!sbc_fwd_request(&mb, core, in, &f))
		(void)sbc_core_send(core, dst, mb);

	mem_deref(mb);
}


static void proxy_send(struct sbc_core *core, const struct sbc_in *in,
		       const struct sbc_dest *dst, const struct sbc_fwd *fwd,
		       bool to_backend)
{
	struct sbc_fwd f = *fwd;
	struct sbc_dialog *dlg = sbc_dialog_request(core, in, &f.cseq);

	if (is_method(in->msg, "ACK"))
		proxy_stateless(core, in, dst, &f);
	else
		proxy_forward(core, in, dst, &f, to_backend,
			      is_method(in->msg, "BYE") ? dlg : NULL);
}


/* A new call from the access side: to a backend of its set, with
 * failover (failover.c); 503 when no backend can take it. */
static void proxy_call(struct sbc_core *core, const struct sbc_in *in)
{
	uint32_t set = sbc_backend_route(core, in->msg);
	struct sbc_stx *stx = NULL;
	struct sbc_fwd fwd;
	int err;

	sbc_stats_add(core->stats, core->index, SBC_STAT_CALLS, 1);

	err = sbc_txn_new(&stx, core, in, true);
	if (err) {
		(void)sbc_reply(core, in, err == ENOSPC ? 503 : 500,
				err == ENOSPC ? "Service Unavailable" :
				"Server Internal Error", NULL);
		return;
	}

	memset(&fwd, 0, sizeof(fwd));
	fwd.record_route    = true;
	fwd.rewrite_contact = true;

	err = sbc_failover_start(stx, set, &fwd);
	if (err) {
		sbc_info("no backend of set %s can take a call (%r)",
			 core->cfg->sets[set].name, &in->msg->callid);
		sbc_txn_fail(stx, 503, "Service Unavailable");
	}
}


/*
 * The backend an access-side request goes to: the next Route or the
 * Request-URI when either is a backend, else the dialog's (from sbcd's
 * Record-Route, or the tracked call's), else the one its set picks.
 */
static int access_backend(struct sbc_core *core,
			  const struct sbc_in *in, const struct sbc_route *rt,
			  struct sbc_dest *dst)
{
	const struct sip_msg *msg = in->msg;
	struct sbc_pick pick = {.set = 0};
	struct sip_addr next;
	struct sa sa;
	uint16_t idx;
	char key[256];
	int err;

	if (rt->next) {
		if (sip_addr_decode(&next, &rt->next->val) ||
		    sa_set(&sa, &next.uri.host,
			   next.uri.port ? next.uri.port : 5060) ||
		    !sbc_backend_find(core, &sa, false, &idx))
			return EPERM;
		return sbc_backend_dest(core, idx, &sa, dst);
	}

	if (rt->popped && !sa_set(&sa, &msg->uri.host,
				  msg->uri.port ? msg->uri.port : 5060) &&
	    sbc_backend_find(core, &sa, false, &idx))
		return sbc_backend_dest(core, idx, &sa, dst);

	if (rt->has_backend)
		return sbc_backend_dest(core, rt->backend, NULL, dst);

	/* in a dialog, from a user agent that ignored sbcd's Record-Route:
	 * to the call's backend, not to a new pick */
	if (pl_isset(&msg->to.tag)) {
		const struct sbc_dialog *dlg =
			sbc_dialog_find_callid(core, &msg->callid);

		if (dlg && dlg->rec.backend != SBC_BK_NONE)
			return sbc_backend_dest(core, dlg->rec.backend, NULL,
						dst);
		pick.by_aor = true;
	}

	if (re_snprintf(key, sizeof(key), "%H", sbc_pick_aor_print, msg) < 0)
		key[0] = '\0';
	pick.set    = sbc_backend_route(core, msg);
	pick.callid = msg->callid;
	pl_set_str(&pick.aor, key);
	err = sbc_backend_pick(core, &pick, &idx);
	if (err)
		return err;

	return sbc_backend_dest(core, idx, NULL, dst);
}


static void proxy_from_access(struct sbc_core *core, const struct sbc_in *in,
			      const struct sbc_route *rt)
{
	struct sbc_dest dst;
	struct sbc_fwd fwd;
	int err;

	if (!rt->popped && !pl_isset(&in->msg->to.tag) &&
	    is_method(in->msg, "INVITE")) {
		proxy_call(core, in);
		return;
	}

	err = access_backend(core, in, rt, &dst);
	if (err == EPERM) {
		(void)sbc_reply(core, in, 403, "Forbidden", NULL);
		return;
	}
	if (err) {
		(void)sbc_reply(core, in, 503, "Service Unavailable", NULL);
		return;
	}

	memset(&fwd, 0, sizeof(fwd));
	fwd.routes_popped   = rt->popped;
	fwd.record_route    = !rt->popped;
	fwd.rr_user         = &in->src;
	fwd.rr_backend      = SBC_BK_NONE;
	fwd.rewrite_contact = true;
	(void)sbc_backend_find(core, &dst.addr, false, &fwd.rr_backend);

	proxy_send(core, in, &dst, &fwd, true);
}


/* In-dialog from a backend: to the user sbcd's Record-Route names. */
static void proxy_to_user(struct sbc_core *core, const struct sbc_in *in,
			  const struct sbc_route *rt)
{
	struct sbc_fwd fwd;

	if (!rt->has_user) {
		(void)sbc_reply(core, in, 404, "Not Found", NULL);
		return;
	}

	memset(&fwd, 0, sizeof(fwd));
	fwd.routes_popped = rt->popped;

	proxy_send(core, in, &rt->user, &fwd, false);
}


void sbc_proxy_request(struct sbc_core *core, const struct sbc_in *in)
{
	const struct sip_msg *msg = in->msg;
	struct sbc_route rt;

	/* the ACK of a final sbcd sent itself ends here */
	if (is_method(msg, "ACK") && sbc_reply_acked(msg))
		return;

	if (maxfwd_exhausted(msg)) {
		(void)sbc_reply(core, in, 483, "Too Many Hops", NULL);
		return;
	}

	if (looped(core, msg)) {
		(void)sbc_reply(core, in, 482, "Loop Detected", NULL);
		return;
	}

	sbc_route_scan(core, msg, &rt);

	if (!rt.popped && for_sbcd(core, msg) && is_method(msg, "OPTIONS")) {
		(void)sbc_reply(core, in, 200, "OK", allow_hdr);
		return;
	}

	if (is_method(msg, "REGISTER")) {
		if (in->side == SBC_SIDE_ACCESS && !core->draining)
			sbc_registrar_request(core, in);
		else
			(void)sbc_reply(core, in, in->side == SBC_SIDE_CORE ?
					403 : 503, in->side == SBC_SIDE_CORE ?
					"Forbidden" : "Service Unavailable",
					NULL);
		return;
	}

	if (in->side == SBC_SIDE_CORE &&
	    !sbc_backend_find(core, &in->src.addr, false, NULL)) {
		(void)sbc_reply(core, in, 403, "Forbidden", NULL);
		return;
	}

	if (core->draining && !pl_isset(&msg->to.tag)) {
		(void)sbc_reply(core, in, 503, "Service Unavailable", NULL);
		return;
	}

	if (in->side == SBC_SIDE_ACCESS)
		proxy_from_access(core, in, &rt);
	else if (rt.popped)
		proxy_to_user(core, in, &rt);
	else if (pl_isset(&msg->to.tag))
		(void)sbc_reply(core, in, 481, "Call/Transaction Does Not "
				"Exist", NULL);
	else
		sbc_locate_request(core, in);
}
