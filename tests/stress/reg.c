/*
 * The registration table under stress: sealed bindings.
 *
 * Key k is instance k of AOR k / INSTANCES. Every field of the binding
 * derives from the key and the seal (writer, generation, sequence), and the
 * Contact's length varies with the sequence, so two writes of one key differ
 * over most of the record. The seal lives in user_agent.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/reg.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


enum {
	INSTANCES = 8,
	GROUPS    = STRESS_KEYS / INSTANCES,
};

_Static_assert((int)INSTANCES <= (int)STRESS_GROUP_MAX, "group too large");
_Static_assert(STRESS_SHARED % INSTANCES == 0 &&
	       STRESS_PRIVATE % INSTANCES == 0, "a group has one owner");

#define INSTANCE_PREFIX "<urn:uuid:5e1f0000-0000-4000-8000-"

static char aor_str[GROUPS][32];
static char instance_str[STRESS_KEYS][48];


void stress_reg_keys_build(void)
{
	for (uint32_t g = 0; g < GROUPS; g++)
		(void)snprintf(aor_str[g], sizeof(aor_str[g]),
			       "sip:g%04u@stress.example", g);

	for (uint32_t k = 0; k < STRESS_KEYS; k++)
		(void)snprintf(instance_str[k], sizeof(instance_str[k]),
			       INSTANCE_PREFIX "%012u>", k);
}


static void key_pl(uint32_t key, struct pl *aor, struct pl *instance)
{
	pl_set_str(aor, aor_str[key / INSTANCES]);
	pl_set_str(instance, instance_str[key]);
}


/* The key a binding is for, or STRESS_KEYS if it is none of ours. */
static uint32_t key_of(const struct sbc_reg *r)
{
	const size_t plen = sizeof(INSTANCE_PREFIX) - 1;
	unsigned long k;

	if (strncmp(r->instance, INSTANCE_PREFIX, plen))
		return STRESS_KEYS;

	k = strtoul(r->instance + plen, NULL, 10);
	if (k >= STRESS_KEYS || strcmp(r->instance, instance_str[k]) ||
	    strcmp(r->aor, aor_str[k / INSTANCES]))
		return STRESS_KEYS;

	return (uint32_t)k;
}


static uint64_t reg_hash(const struct sbc_reg *r)
{
	uint64_t h = 0;

	h = stress_hash(h, &r->expires, sizeof(r->expires));
	h = stress_hash(h, &r->updated, sizeof(r->updated));
	h = stress_hash(h, &r->conn, sizeof(r->conn));
	h = stress_hash(h, &r->source, sizeof(r->source));
	h = stress_hash(h, &r->cseq, sizeof(r->cseq));
	h = stress_hash(h, &r->backend, sizeof(r->backend));
	h = stress_hash(h, &r->listener, sizeof(r->listener));
	h = stress_hash(h, &r->transport, sizeof(r->transport));
	h = stress_hash_str(h, r->aor, sizeof(r->aor));
	h = stress_hash_str(h, r->instance, sizeof(r->instance));
	h = stress_hash_str(h, r->contact, sizeof(r->contact));
	h = stress_hash_str(h, r->token, sizeof(r->token));
	h = stress_hash_str(h, r->call_id, sizeof(r->call_id));

	return h;
}


static int reg_fill(struct sbc_reg *r, uint32_t key,
		    const struct stress_tag *t)
{
	char contact[SBC_REG_CONTACT_SIZE];
	char text[SBC_REG_CALLID_SIZE];
	char pad[160];
	size_t len = 10 + t->seq % 150;
	int err = 0;

	memset(r, 0, sizeof(*r));
	memset(pad, 'a' + (int)(t->seq % 26), len);
	pad[len] = '\0';

	r->expires   = t->expires;
	r->updated   = t->seq;
	r->conn      = (uint64_t)t->gen << 32 | t->seq;
	r->source.family = AF_INET;
	r->source.port   = (uint16_t)(1024 + t->seq % 60000);
	r->source.ip[0]  = 10;
	r->source.ip[1]  = (uint8_t)t->writer;
	r->source.ip[2]  = (uint8_t)(t->seq >> 8);
	r->source.ip[3]  = (uint8_t)t->seq;
	r->cseq      = t->seq;
	r->backend   = (uint16_t)t->writer;
	r->listener  = (uint16_t)t->gen;
	r->transport = (uint8_t)(SBC_TP_UDP + t->seq % 5);

	(void)snprintf(contact, sizeof(contact),
		       "sip:w%u-%u@10.%u.%u.%u:%u;ob;x=%s", t->writer, t->gen,
		       r->source.ip[1], r->source.ip[2], r->source.ip[3],
		       r->source.port, pad);

	err |= SBC_FIELD_SET_STR(r->aor, aor_str[key / INSTANCES]);
	err |= SBC_FIELD_SET_STR(r->instance, instance_str[key]);
	err |= SBC_FIELD_SET_STR(r->contact, contact);

	(void)snprintf(text, sizeof(text), "%08x%08x", key, t->seq);
	err |= SBC_FIELD_SET_STR(r->token, text);

	(void)snprintf(text, sizeof(text), "%u.%u.%u@stress.example",
		       t->writer, t->gen, t->seq);
	err |= SBC_FIELD_SET_STR(r->call_id, text);
	if (err)
		return err;

	return stress_seal_write(r->user_agent, sizeof(r->user_agent), t,
				 reg_hash(r));
}


/* Check a binding the table returned: every string ends in its array, the
 * seal matches, the key is one of ours and the binding has not expired. */
static int reg_check(const struct sbc_reg *r, uint64_t now, uint32_t *key,
		     struct stress_tag *tag)
{
	if (!sbc_field_valid(r->aor, sizeof(r->aor)) ||
	    !sbc_field_valid(r->instance, sizeof(r->instance)) ||
	    !sbc_field_valid(r->contact, sizeof(r->contact)) ||
	    !sbc_field_valid(r->token, sizeof(r->token)) ||
	    !sbc_field_valid(r->call_id, sizeof(r->call_id))) {
		stress_note("torn binding: a string without its NUL");
		return EBADMSG;
	}

	*key = key_of(r);
	if (*key == STRESS_KEYS) {
		stress_note("binding of a key never written: '%.40s' '%.48s'",
			    r->aor, r->instance);
		return EBADMSG;
	}

	return stress_seal_check(r->user_agent, sizeof(r->user_agent),
				 reg_hash(r), r->expires, now, tag);
}


static int reg_put(struct sbc_writer *w, uint32_t key,
		   const struct stress_tag *tag, uint64_t now)
{
	struct sbc_reg r;
	int err;

	err = reg_fill(&r, key, tag);
	if (err)
		return err;

	return sbc_reg_put(w, &r, now);
}


static int reg_get(const struct sbc_shm *shm, uint32_t key, uint64_t now,
		   struct stress_tag *tag)
{
	struct pl aor, instance;
	struct sbc_reg r;
	uint32_t found;
	int err;

	key_pl(key, &aor, &instance);

	err = sbc_reg_get(shm, &aor, &instance, now, &r);
	if (err)
		return err;

	err = reg_check(&r, now, &found, tag);
	if (err)
		return err;

	if (found != key) {
		stress_note("registration get of key %u returned key %u",
			    key, found);
		return EBADMSG;
	}

	return 0;
}


static int reg_del(struct sbc_writer *w, uint32_t key, uint64_t now)
{
	struct pl aor, instance;

	key_pl(key, &aor, &instance);

	return sbc_reg_del(w, &aor, &instance, now);
}


/* Every live binding of AOR `group`, into tagv by instance. The vector
 * has room for twice the group, so a key returned twice shows. */
static int reg_lookup(const struct sbc_shm *shm, uint32_t group,
		      uint64_t now, struct stress_tag *tagv)
{
	struct sbc_reg regv[2 * INSTANCES];
	struct stress_tag tag;
	struct pl aor;
	size_t n = 0;
	uint32_t key;
	int err;

	memset(tagv, 0, INSTANCES * sizeof(*tagv));
	pl_set_str(&aor, aor_str[group]);

	err = sbc_reg_lookup_aor(shm, &aor, now, regv, ARRAY_SIZE(regv),
				 &n);
	if (err == ENOENT)
		return 0;
	if (err)
		return err;

	for (size_t i = 0; i < n; i++) {

		err = reg_check(&regv[i], now, &key, &tag);
		if (err)
			return err;

		err = stress_collect(&stress_reg_table, group, key, &tag,
				     tagv);
		if (err)
			return err;
	}

	return 0;
}


static int reg_read_slot(const struct sbc_shm *shm, uint32_t slot,
			 uint64_t now, uint32_t *key, struct stress_tag *tag)
{
	struct sbc_reg r;
	int err;

	err = sbc_reg_read_slot(shm, slot, now, &r);
	if (err)
		return err;

	return reg_check(&r, now, key, tag);
}


const struct stress_table stress_reg_table = {
	.tbl       = SBC_TBL_REG,
	.name      = "registration",
	.group     = INSTANCES,
	.put       = reg_put,
	.get       = reg_get,
	.del       = reg_del,
	.lookup    = reg_lookup,
	.read_slot = reg_read_slot,
};
