/*
 * The edge registrar: REGISTER through sbcd to the user's backend.
 *
 * The backend authenticates and decides; sbcd remembers where the user
 * really is. A REGISTER from the access side goes to the backend chosen by
 * hash of the AOR, every Contact replaced by one of sbcd's core address:
 *
 *     <sip:alice%40example.com@CORE:PORT;sbcb=TOKEN>;expires=...
 *
 * The user part is the AOR, so a request the backend sends there names its
 * user; the token (a hash of AOR and instance) tells one binding from
 * another of the same AOR. Nothing of the user's own Contact reaches the
 * backend: not `transport=ws`, not a `.invalid` host (seed 001).
 *
 * 401/407 pass through untouched. Only on the backend's 2xx is a binding
 * stored (or removed, for expires 0 or `Contact: *`), with the expiry the
 * backend granted, the address and port the REGISTER really came from, the
 * transport and, on a connection, the connection, which is then held open
 * as long as the binding lives. The 2xx goes back to the user with its own
 * Contacts and their granted expiry.
 */

#include <string.h>
#include <re.h>
#include <xxhash.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/reg.h"
#include "shm/stats.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "workers/txn.h"

enum {
	CONTACTS_MAX     = 8,
	EXPIRES_DEFAULT  = 3600,
	EXPIRES_MAX      = 86400 * 7,
	AOR_BINDINGS_MAX = 64,
	PARAMS_SIZE      = 256,
};

struct binding {
	char instance[SBC_REG_INSTANCE_SIZE];
	char contact[SBC_REG_CONTACT_SIZE];   /* the user's Contact URI */
	char params[PARAMS_SIZE];             /* its header parameters */
	char token[SBC_REG_TOKEN_SIZE];
	int64_t expires;                      /* asked for, -1: not said */
	uint32_t granted;
};

struct reg_state {
	const struct sbc_core *core;
	uint16_t listener;           /* core listener the REGISTER left on */
	char aor[SBC_REG_AOR_SIZE];
	bool star;
	int64_t expires;             /* the request's Expires, -1: none */
	int err;                     /* while reading the Contacts */
	unsigned max;                /* room in b: the Contacts counted */
	unsigned n;
	struct binding b[];          /* a REGISTER's lives with the
				      * transaction: sized to what came */
};


static int64_t expires_value(const struct pl *pl)
{
	uint32_t v;

	return sbc_pl_u32(pl, &v) ? -1 : (int64_t)v;
}


/* The instance: +sip.instance without quotes and angle brackets, or the
 * Contact URI itself. */
static int binding_instance(struct binding *b, const struct sip_addr *addr)
{
	struct pl inst;

	if (!msg_param_decode(&addr->params, "+sip.instance", &inst)) {
		if (inst.l >= 2 && inst.p[0] == '"') {
			inst.p++;
			inst.l -= 2;
		}
		if (inst.l >= 2 && inst.p[0] == '<') {
			inst.p++;
			inst.l -= 2;
		}
		return SBC_FIELD_SET(b->instance, &inst);
	}

	return SBC_FIELD_SET(b->instance, &addr->auri);
}


static void binding_token(struct binding *b, const char *aor)
{
	uint64_t h = XXH3_64bits(aor, strlen(aor));

	h = XXH3_64bits_withSeed(b->instance, strlen(b->instance), h);
	(void)re_snprintf(b->token, sizeof(b->token), "%016llx",
			  (unsigned long long)h);
}


static bool contact_count(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	(void)hdr;
	(void)msg;

	return ++*(unsigned *)arg > CONTACTS_MAX;
}


static bool contact_read(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	struct reg_state *st = arg;
	struct binding *b;
	struct sip_addr addr;
	struct pl exp;
	(void)msg;

	if (!pl_strcmp(&hdr->val, "*")) {
		st->star = true;
		return false;
	}

	if (st->n >= st->max) {
		st->err = E2BIG;
		return true;
	}

	b = &st->b[st->n];
	if (sip_addr_decode(&addr, &hdr->val)) {
		st->err = EBADMSG;
		return true;
	}

	st->err = SBC_FIELD_SET(b->contact, &addr.auri);
	st->err |= SBC_FIELD_SET(b->params, &addr.params);
	st->err |= binding_instance(b, &addr);
	if (st->err)
		return true;

	b->expires = -1;
	if (!msg_param_decode(&addr.params, "expires", &exp))
		b->expires = expires_value(&exp);

	binding_token(b, st->aor);
	++st->n;

	return false;
}


/* The AOR as stored: user@host, the host in lower case. */
static int aor_read(struct reg_state *st, const struct sip_msg *msg)
{
	const struct uri *to = &msg->to.uri;
	char host[SBC_REG_AOR_SIZE];

	if (!pl_isset(&to->user) || !pl_isset(&to->host))
		return EBADMSG;

	if (to->user.l + to->host.l + 2 > sizeof(st->aor))
		return EOVERFLOW;

	(void)pl_strcpy(&to->host, host, sizeof(host));
	for (char *p = host; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}

	(void)re_snprintf(st->aor, sizeof(st->aor), "%r@%s", &to->user, host);

	return 0;
}


static int aor_escaped(struct re_printf *pf, void *arg)
{
	const char *aor = arg;

	return uri_user_escape(pf, &(struct pl){aor, strlen(aor)});
}


/* Contact parameters the backend does not get (outbound, RFC 5626:
 * the flow is sbcd's business), and the user gets anew. */
static const char *const core_skip[] = {"+sip.instance", "reg-id", NULL};
static const char *const user_skip[] = {"expires", NULL};


/* The Contacts the backend sees: sbcd's core address, one per binding. */
static int contacts_core_print(struct re_printf *pf, void *arg)
{
	const struct reg_state *st = arg;
	int err = 0;

	if (st->star)
		return re_hprintf(pf, "Contact: *\r\n");

	for (unsigned i = 0; i < st->n && !err; i++) {
		const struct binding *b = &st->b[i];

		err = re_hprintf(pf, "Contact: <sip:%H@%H;" SBC_PARAM_BINDING
				 "=%s>", aor_escaped, st->aor,
				 SBC_HOSTPORT(st->core, st->listener),
				 b->token);
		err |= sbc_params_print(pf, &(struct pl){b->params,
					strlen(b->params)}, core_skip, NULL);
		err |= re_hprintf(pf, "\r\n");
	}

	return err;
}


/* The Contacts the user sees in the 2xx: its own, with what was granted. */
static int contacts_user_print(struct re_printf *pf, void *arg)
{
	const struct reg_state *st = arg;
	int err = 0;

	for (unsigned i = 0; i < st->n && !err; i++) {
		const struct binding *b = &st->b[i];

		if (!b->granted)
			continue;

		err = re_hprintf(pf, "Contact: <%s>", b->contact);
		err |= sbc_params_print(pf, &(struct pl){b->params,
					strlen(b->params)}, user_skip, NULL);
		err |= re_hprintf(pf, ";expires=%u\r\n", b->granted);
	}

	return err;
}


/* What the backend granted one binding: the expires of its Contact in the
 * 2xx (found by token). */
static bool granted_read(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	struct reg_state *st = arg;
	struct sip_addr addr;
	struct pl tok, exp;
	int64_t v;
	(void)msg;

	if (sip_addr_decode(&addr, &hdr->val) ||
	    msg_param_decode(&addr.uri.params, SBC_PARAM_BINDING, &tok) ||
	    msg_param_decode(&addr.params, "expires", &exp))
		return false;

	v = expires_value(&exp);
	if (v < 0)
		return false;

	for (unsigned i = 0; i < st->n; i++) {
		if (!pl_strcmp(&tok, st->b[i].token))
			st->b[i].granted = v > EXPIRES_MAX ? EXPIRES_MAX :
				(uint32_t)v;
	}

	return false;
}


static void granted_all(struct reg_state *st, const struct sip_msg *rsp)
{
	int64_t hdr = expires_value(&rsp->expires);

	for (unsigned i = 0; i < st->n; i++) {
		struct binding *b = &st->b[i];
		int64_t v = hdr >= 0 ? hdr : b->expires >= 0 ? b->expires :
			st->expires >= 0 ? st->expires : EXPIRES_DEFAULT;

		b->granted = v > EXPIRES_MAX ? EXPIRES_MAX : (uint32_t)v;
	}

	(void)sip_msg_hdr_apply(rsp, true, SIP_HDR_CONTACT, granted_read, st);
}


/* Informational fields are cut to fit; keys never are (see field.h). */
static void field_fit(char *field, size_t size, const struct pl *val)
{
	struct pl v = *val;

	if (v.l >= size)
		v.l = size - 1;

	(void)sbc_field_set(field, size, &v);
}


static int binding_save(struct sbc_core *core, const struct sbc_in *req,
			const struct reg_state *st, const struct binding *b,
			uint16_t backend, uint64_t now)
{
	const struct sip_hdr *ua = sip_msg_hdr(req->msg, SIP_HDR_USER_AGENT);
	struct sbc_reg reg;
	int err;

	memset(&reg, 0, sizeof(reg));
	reg.expires   = now + b->granted * 1000ull;
	reg.updated   = now;
	reg.conn      = req->src.conn;
	reg.cseq      = req->msg->cseq.num;
	reg.backend   = backend;
	reg.listener  = req->src.listener;
	reg.transport = (uint8_t)req->src.tp;

	err = sbc_addr_set(&reg.source, &req->src.addr);
	err |= SBC_FIELD_SET_STR(reg.aor, st->aor);
	err |= SBC_FIELD_SET_STR(reg.instance, b->instance);
	err |= SBC_FIELD_SET_STR(reg.contact, b->contact);
	err |= SBC_FIELD_SET_STR(reg.token, b->token);
	if (err)
		return EOVERFLOW;

	field_fit(reg.call_id, sizeof(reg.call_id), &req->msg->callid);
	if (ua)
		field_fit(reg.user_agent, sizeof(reg.user_agent), &ua->val);

	err = sbc_reg_put(core->w, &reg, now);
	if (err)
		return err;

	sbc_stats_add(core->stats, core->index, SBC_STAT_REGISTERED, 1);

	if (!reg.conn)
		return 0;

	if (sbc_conn_worker(reg.conn) == core->index)
		sbc_holds_add(core, reg.conn, reg.expires, st->aor,
			      b->instance);
	else
		(void)sbc_mbox_hold(core, reg.conn, reg.expires, st->aor,
				    b->instance);

	return 0;
}


static void binding_remove(struct sbc_core *core, const char *aor,
			   const char *instance, uint64_t now)
{
	if (!sbc_reg_del(core->w, &(struct pl){aor, strlen(aor)},
			 &(struct pl){instance, strlen(instance)}, now))
		sbc_stats_add(core->stats, core->index,
			      SBC_STAT_UNREGISTERED, 1);
}


/* Contact: * with expires 0: every binding of the AOR goes. */
static void bindings_remove_all(struct sbc_core *core, const char *aor,
				uint64_t now)
{
	struct sbc_reg *regv;
	size_t n = 0;

	regv = mem_alloc(AOR_BINDINGS_MAX * sizeof(*regv), NULL);
	if (!regv)
		return;

	(void)sbc_reg_lookup_aor(core->shm, &(struct pl){aor, strlen(aor)},
				 now, regv, AOR_BINDINGS_MAX, &n);

	for (size_t i = 0; i < n && i < AOR_BINDINGS_MAX; i++)
		binding_remove(core, aor, regv[i].instance, now);

	mem_deref(regv);
}


/*
 * The backend's final to a REGISTER, before it goes to the user: on 2xx,
 * store or remove the bindings and hand back (in *contact_hp, *argp, a
 * reference the caller releases) the printer of the user's Contacts.
 */
int sbc_registrar_response(struct sbc_stx *stx, const struct sbc_in *rsp,
			   re_printf_h **contact_hp, void **argp)
{
	struct sbc_core *core = stx->core;
	struct reg_state *st = stx->reg;
	uint64_t now = sbc_now_ms();
	uint16_t backend = SBC_BK_NONE;

	if (rsp->msg->scode >= 300)
		return 0;

	(void)sbc_backend_find(core, &rsp->src.addr, false, &backend);

	if (st->star) {
		bindings_remove_all(core, st->aor, now);
		return 0;
	}

	granted_all(st, rsp->msg);

	for (unsigned i = 0; i < st->n; i++) {
		const struct binding *b = &st->b[i];
		int err;

		if (!b->granted) {
			binding_remove(core, st->aor, b->instance, now);
			continue;
		}

		err = binding_save(core, &stx->in, st, b, backend, now);
		if (err)
			sbc_warn("binding of %s not saved: %m (%r)", st->aor,
				 err, &stx->in.msg->callid);
	}

	*contact_hp = contacts_user_print;
	*argp = mem_ref(st);

	return 0;
}


static int registrar_reject(struct sbc_core *core, const struct sbc_in *in,
			    int err)
{
	const char *why = err == E2BIG ? "too many Contacts" :
		err == EOVERFLOW ? "a field is too long" : "bad To or Contact";

	sbc_debug("REGISTER refused: %s (%r)", why, &in->msg->callid);

	return sbc_reply(core, in, 400, "Bad Request", NULL);
}


void sbc_registrar_request(struct sbc_core *core, const struct sbc_in *in)
{
	const struct sip_msg *msg = in->msg;
	struct sbc_stx *stx = NULL;
	struct reg_state *st;
	struct sbc_dest dst;
	struct sbc_fwd fwd;
	struct sbc_pick pick = {.set = 0};
	unsigned contacts = 0;
	uint16_t slot;
	int err;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_count,
				&contacts);
	if (contacts > CONTACTS_MAX) {
		(void)registrar_reject(core, in, E2BIG);
		return;
	}

	st = mem_zalloc(sizeof(*st) + contacts * sizeof(st->b[0]), NULL);
	if (!st)
		return;

	st->max = contacts;
	st->core = core;
	st->expires = expires_value(&msg->expires);

	err = aor_read(st, msg);
	if (!err) {
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					contact_read, st);
		err = st->err;
	}
	if (err) {
		(void)registrar_reject(core, in, err);
		goto out;
	}

	pick.set = sbc_backend_route(core, msg);
	pl_set_str(&pick.aor, st->aor);
	pick.by_aor = true;
	err = sbc_backend_pick(core, &pick, &slot);
	if (!err)
		err = sbc_backend_dest(core, slot, NULL, &dst);
	if (err) {
		(void)sbc_reply(core, in, 503, "Service Unavailable", NULL);
		goto out;
	}

	st->listener = dst.listener;

	err = sbc_txn_new(&stx, core, in, true);
	if (err)
		goto out;

	stx->reg = mem_ref(st);

	memset(&fwd, 0, sizeof(fwd));
	fwd.contact_h   = contacts_core_print;
	fwd.contact_arg = st;

	err = sbc_txn_branch(stx, &dst, &fwd);
	if (err)
		sbc_txn_fail(stx, 500, "Server Internal Error");

 out:
	mem_deref(st);
}
