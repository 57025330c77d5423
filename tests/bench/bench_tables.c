/*
 * The benchmark's view of the two tables: pre-built keys and the put, get
 * and delete of one key by its number.
 *
 * Keys have fixed widths, so a put copies them into a record template with
 * one memcpy per field, the whole array including its NUL padding; what a
 * put, get or delete costs beyond that is the table's.
 */

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/reg.h"
#include "shm/dlg.h"
#include "tests/bench/bench_shm.h"


/* "sip:u0000001@bench.example" and its instance */
struct reg_key {
	char aor[32];
	char instance[48];
};

/* "bench-0000001@host.example", "f0000001", "t0000001" */
struct dlg_key {
	char call_id[32];
	char from_tag[16];
	char to_tag[16];
};

enum {
	AOR_LEN      = 26,
	INSTANCE_LEN = 47,
	CALLID_LEN   = 26,
	TAG_LEN      = 8,
	KEYS_MAX     = 10000000,
};

static struct reg_key *reg_keys;
static struct dlg_key *dlg_keys;
static struct sbc_reg reg_tmpl;
static struct sbc_dlg dlg_tmpl;
static struct sbc_reg reg_out;
static struct sbc_dlg dlg_out;


static int reg_build(uint32_t n)
{
	int err = 0;

	if (n > KEYS_MAX)
		return EINVAL;

	reg_keys = mem_zalloc(n * sizeof(*reg_keys), NULL);
	if (!reg_keys)
		return ENOMEM;

	for (uint32_t k = 0; k < n; k++) {
		(void)snprintf(reg_keys[k].aor, sizeof(reg_keys[k].aor),
			       "sip:u%07u@bench.example", k);
		(void)snprintf(reg_keys[k].instance,
			       sizeof(reg_keys[k].instance),
			       "<urn:uuid:00000000-0000-4000-8000-%012u>", k);
	}

	memset(&reg_tmpl, 0, sizeof(reg_tmpl));
	err |= SBC_FIELD_SET_STR(reg_tmpl.contact,
				 "sip:alice@192.0.2.10:5060;transport=udp");
	err |= SBC_FIELD_SET_STR(reg_tmpl.token, "a1b2c3d4e5f6");
	err |= SBC_FIELD_SET_STR(reg_tmpl.call_id,
				 "843e5f9a7c2d41b8@192.0.2.10");
	err |= SBC_FIELD_SET_STR(reg_tmpl.user_agent, "bench_shm");
	reg_tmpl.transport = SBC_TP_UDP;
	reg_tmpl.source.family = AF_INET;
	reg_tmpl.source.port = 5060;

	return err;
}


static void reg_release(void)
{
	reg_keys = mem_deref(reg_keys);
}


static int reg_put(struct sbc_writer *w, uint32_t key, uint32_t stamp,
		   uint64_t expires, uint64_t now)
{
	memcpy(reg_tmpl.aor, reg_keys[key].aor, sizeof(reg_keys[key].aor));
	memcpy(reg_tmpl.instance, reg_keys[key].instance,
	       sizeof(reg_keys[key].instance));
	reg_tmpl.expires = expires;
	reg_tmpl.updated = now;
	reg_tmpl.cseq    = stamp;

	return sbc_reg_put(w, &reg_tmpl, now);
}


static void reg_pl(uint32_t key, struct pl *aor, struct pl *instance)
{
	aor->p = reg_keys[key].aor;
	aor->l = AOR_LEN;
	instance->p = reg_keys[key].instance;
	instance->l = INSTANCE_LEN;
}


static int reg_get(const struct sbc_shm *shm, uint32_t key, uint64_t now)
{
	struct pl aor, instance;

	reg_pl(key, &aor, &instance);

	return sbc_reg_get(shm, &aor, &instance, now, &reg_out);
}


static int reg_del(struct sbc_writer *w, uint32_t key, uint64_t now)
{
	struct pl aor, instance;

	reg_pl(key, &aor, &instance);

	return sbc_reg_del(w, &aor, &instance, now);
}


static int dlg_build(uint32_t n)
{
	int err = 0;

	if (n > KEYS_MAX)
		return EINVAL;

	dlg_keys = mem_zalloc(n * sizeof(*dlg_keys), NULL);
	if (!dlg_keys)
		return ENOMEM;

	for (uint32_t k = 0; k < n; k++) {
		(void)snprintf(dlg_keys[k].call_id, sizeof(dlg_keys[k].call_id),
			       "bench-%07u@host.example", k);
		(void)snprintf(dlg_keys[k].from_tag,
			       sizeof(dlg_keys[k].from_tag), "f%07u", k);
		(void)snprintf(dlg_keys[k].to_tag, sizeof(dlg_keys[k].to_tag),
			       "t%07u", k);
	}

	memset(&dlg_tmpl, 0, sizeof(dlg_tmpl));
	err |= SBC_FIELD_SET_STR(dlg_tmpl.from_uri, "sip:alice@example.com");
	err |= SBC_FIELD_SET_STR(dlg_tmpl.to_uri, "sip:bob@example.com");
	err |= SBC_FIELD_SET_STR(dlg_tmpl.caller.contact,
				 "sip:alice@192.0.2.10:5060");
	err |= SBC_FIELD_SET_STR(dlg_tmpl.caller.route,
				 "<sip:edge.example.com;lr>");
	err |= SBC_FIELD_SET_STR(dlg_tmpl.callee.contact,
				 "sip:bob@192.0.2.20:5060");
	err |= SBC_FIELD_SET_STR(dlg_tmpl.callee.route,
				 "<sip:core.example.com;lr>");
	dlg_tmpl.state = SBC_DLG_CONFIRMED;

	return err;
}


static void dlg_release(void)
{
	dlg_keys = mem_deref(dlg_keys);
}


static int dlg_put(struct sbc_writer *w, uint32_t key, uint32_t stamp,
		   uint64_t expires, uint64_t now)
{
	memcpy(dlg_tmpl.call_id, dlg_keys[key].call_id,
	       sizeof(dlg_keys[key].call_id));
	memcpy(dlg_tmpl.from_tag, dlg_keys[key].from_tag,
	       sizeof(dlg_keys[key].from_tag));
	memcpy(dlg_tmpl.to_tag, dlg_keys[key].to_tag,
	       sizeof(dlg_keys[key].to_tag));
	dlg_tmpl.expires     = expires;
	dlg_tmpl.setup       = now;
	dlg_tmpl.caller.cseq = stamp;

	return sbc_dlg_put(w, &dlg_tmpl, now);
}


static void dlg_key_pl(uint32_t key, struct sbc_dlg_key *dk)
{
	dk->call_id.p  = dlg_keys[key].call_id;
	dk->call_id.l  = CALLID_LEN;
	dk->from_tag.p = dlg_keys[key].from_tag;
	dk->from_tag.l = TAG_LEN;
	dk->to_tag.p   = dlg_keys[key].to_tag;
	dk->to_tag.l   = TAG_LEN;
}


static int dlg_get(const struct sbc_shm *shm, uint32_t key, uint64_t now)
{
	struct sbc_dlg_key dk;

	dlg_key_pl(key, &dk);

	return sbc_dlg_get(shm, &dk, now, &dlg_out);
}


static int dlg_del(struct sbc_writer *w, uint32_t key, uint64_t now)
{
	struct sbc_dlg_key dk;

	dlg_key_pl(key, &dk);

	return sbc_dlg_del(w, &dk, now);
}


const struct bench_table bench_reg_table = {
	.tbl     = SBC_TBL_REG,
	.name    = "registration",
	.build   = reg_build,
	.release = reg_release,
	.put     = reg_put,
	.get     = reg_get,
	.del     = reg_del,
};

const struct bench_table bench_dlg_table = {
	.tbl     = SBC_TBL_DLG,
	.name    = "dialog",
	.build   = dlg_build,
	.release = dlg_release,
	.put     = dlg_put,
	.get     = dlg_get,
	.del     = dlg_del,
};
