/*
 * A request from a backend for a registered user.
 *
 * The backend knows a user by the Contact sbcd gave it at REGISTER:
 * sip:alice%40example.com@CORE;sbcb=TOKEN. The user part is the AOR, the
 * token picks one binding; without a token every live binding of the AOR
 * is called in parallel. Each branch goes to where the binding's REGISTER
 * really came from, on its listener and, for TCP/TLS/WS, its connection,
 * with the Request-URI the user itself registered.
 *
 * 404: the Request-URI names no user sbcd gave a Contact for (a plain
 * user part with no binding under user@To-host). 480: an AOR in sbcd's own
 * Contact form with no live binding (expired, removed, or its connection
 * gone): the user exists but cannot be reached now.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/reg.h"
#include "cfg/config.h"
#include "shm/backend.h"
#include "workers/core.h"
#include "workers/timer.h"
#include "workers/txn.h"

enum {
	FORK_MAX = 16,
};

struct located {
	char aor[SBC_REG_AOR_SIZE];
	bool ours;                  /* the AOR came in sbcd's Contact form */
	struct sbc_reg regv[FORK_MAX];
	size_t n;
};


static int unescape_user(struct re_printf *pf, void *arg)
{
	return uri_user_unescape(pf, arg);
}


/* The AOR a Request-URI names. */
static int locate_aor(struct located *loc, const struct sip_msg *msg)
{
	const struct pl *user = &msg->uri.user;
	char buf[SBC_REG_AOR_SIZE * 3];
	int n;

	if (!pl_isset(user))
		return ENOENT;

	if (re_regex(user->p, user->l, "%40")) {
		n = re_snprintf(buf, sizeof(buf), "%r@%r", user,
				&msg->to.uri.host);
	}
	else {
		loc->ours = true;
		n = re_snprintf(buf, sizeof(buf), "%H", unescape_user,
				(void *)(uintptr_t)user);
	}

	if (n < 0 || (size_t)n >= sizeof(loc->aor))
		return EOVERFLOW;

	memcpy(loc->aor, buf, (size_t)n + 1);

	return 0;
}


/* Keep only the binding a token names, when the Request-URI has one. */
static void locate_token(struct located *loc, const struct sip_msg *msg)
{
	struct pl tok;
	size_t k = 0;

	if (msg_param_decode(&msg->uri.params, SBC_PARAM_BINDING, &tok))
		return;

	for (size_t i = 0; i < loc->n; i++) {
		if (!pl_strcmp(&tok, loc->regv[i].token))
			loc->regv[k++] = loc->regv[i];
	}

	loc->n = k;
}


static int binding_dest(const struct sbc_core *core,
			const struct sbc_reg *reg, struct sbc_dest *dst)
{
	if (reg->listener >= core->cfg->listener_count ||
	    core->cfg->listeners[reg->listener].side != SBC_SIDE_ACCESS)
		return EINVAL;

	dst->listener = reg->listener;
	dst->conn     = reg->conn;
	dst->tp       = (enum sbc_transport)reg->transport;

	return sbc_addr_get(&reg->source, &dst->addr);
}


/* Fork to every binding found; 480 if none could be started. */
static void locate_fork(struct sbc_core *core, const struct sbc_in *in,
			const struct located *loc)
{
	struct sbc_stx *stx = NULL;
	uint16_t backend = SBC_BK_NONE;
	unsigned started = 0;
	int err;

	err = sbc_txn_new(&stx, core, in, false);
	if (err) {
		(void)sbc_reply(core, in, err == ENOSPC ? 503 : 500,
				err == ENOSPC ? "Service Unavailable" :
				"Server Internal Error", NULL);
		return;
	}

	(void)sbc_backend_find(core, &in->src.addr, false, &backend);

	for (size_t i = 0; i < loc->n; i++) {
		struct sbc_dest dst;
		struct sbc_fwd fwd;

		if (binding_dest(core, &loc->regv[i], &dst))
			continue;

		memset(&fwd, 0, sizeof(fwd));
		fwd.ruri         = loc->regv[i].contact;
		fwd.record_route = true;
		fwd.rr_user      = &dst;
		fwd.rr_backend   = backend;

		if (!sbc_txn_branch(stx, &dst, &fwd))
			++started;
	}

	if (!started)
		sbc_txn_fail(stx, 480, "Temporarily Unavailable");
}


/* The live bindings a request from the core side is for, in loc (none
 * is no error); an error when the Request-URI names no AOR. */
static int locate(struct sbc_core *core, const struct sip_msg *msg,
		  struct located *loc)
{
	int err = locate_aor(loc, msg);

	if (err)
		return err;

	/* n counts the bindings copied, also when more exist (ENOBUFS) or
	 * one was being written (EAGAIN): call the ones that were read */
	(void)sbc_reg_lookup_aor(core->shm, &(struct pl){loc->aor,
				 strlen(loc->aor)}, sbc_now_ms(), loc->regv,
				 FORK_MAX, &loc->n);
	if (loc->n > FORK_MAX)
		loc->n = FORK_MAX;

	locate_token(loc, msg);

	return 0;
}


/*
 * Does a request from the core side go to a user on WS/WSS, a browser,
 * whose media then take the WebRTC profile? A request forked to several
 * bindings takes the first one's: the relay has one leg per side.
 */
bool sbc_locate_is_webrtc(struct sbc_core *core, const struct sip_msg *msg)
{
	struct located *loc;
	bool ws = false;

	loc = mem_zalloc(sizeof(*loc), NULL);
	if (!loc)
		return false;

	if (!locate(core, msg, loc) && loc->n)
		ws = loc->regv[0].transport == SBC_TP_WS ||
			loc->regv[0].transport == SBC_TP_WSS;

	mem_deref(loc);

	return ws;
}


void sbc_locate_request(struct sbc_core *core, const struct sbc_in *in)
{
	struct located *loc;
	int err;

	loc = mem_zalloc(sizeof(*loc), NULL);
	if (!loc)
		return;

	err = locate(core, in->msg, loc);
	if (err) {
		(void)sbc_reply(core, in, 404, "Not Found", NULL);
		goto out;
	}

	if (!loc->n) {
		if (loc->ours)
			(void)sbc_reply(core, in, 480,
					"Temporarily Unavailable", NULL);
		else
			(void)sbc_reply(core, in, 404, "Not Found", NULL);
		goto out;
	}

	locate_fork(core, in, loc);

 out:
	mem_deref(loc);
}
