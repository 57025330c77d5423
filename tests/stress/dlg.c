/*
 * The dialog table under stress: sealed dialogs.
 *
 * Key k is the dialog with to-tag k among the forks of Call-ID k / FORKS
 * (one from-tag per Call-ID). Every field derives from the key and the seal
 * (writer, generation, sequence); the URIs' lengths vary with the sequence.
 * The seal lives in the callee leg's route set.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/dlg.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


enum {
	FORKS  = 4,
	GROUPS = STRESS_KEYS / FORKS,
};

_Static_assert((int)FORKS <= (int)STRESS_GROUP_MAX, "group too large");
_Static_assert(STRESS_SHARED % FORKS == 0 &&
	       STRESS_PRIVATE % FORKS == 0, "a group has one owner");

static char callid_str[GROUPS][32];
static char fromtag_str[GROUPS][8];
static char totag_str[STRESS_KEYS][8];


void stress_dlg_keys_build(void)
{
	for (uint32_t g = 0; g < GROUPS; g++) {
		(void)snprintf(callid_str[g], sizeof(callid_str[g]),
			       "c%04u@stress.example", g);
		(void)snprintf(fromtag_str[g], sizeof(fromtag_str[g]),
			       "f%04u", g);
	}

	for (uint32_t k = 0; k < STRESS_KEYS; k++)
		(void)snprintf(totag_str[k], sizeof(totag_str[k]), "t%05u", k);
}


static void key_of_index(uint32_t key, struct sbc_dlg_key *dk)
{
	pl_set_str(&dk->call_id, callid_str[key / FORKS]);
	pl_set_str(&dk->from_tag, fromtag_str[key / FORKS]);
	pl_set_str(&dk->to_tag, totag_str[key]);
}


/* The key a dialog is for, or STRESS_KEYS if it is none of ours. */
static uint32_t key_of(const struct sbc_dlg *d)
{
	unsigned long k;

	if (d->to_tag[0] != 't')
		return STRESS_KEYS;

	k = strtoul(d->to_tag + 1, NULL, 10);
	if (k >= STRESS_KEYS || strcmp(d->to_tag, totag_str[k]) ||
	    strcmp(d->call_id, callid_str[k / FORKS]) ||
	    strcmp(d->from_tag, fromtag_str[k / FORKS]))
		return STRESS_KEYS;

	return (uint32_t)k;
}


static uint64_t leg_hash(uint64_t h, const struct sbc_dlg_leg *leg,
			 bool route)
{
	h = stress_hash(h, &leg->conn, sizeof(leg->conn));
	h = stress_hash(h, &leg->addr, sizeof(leg->addr));
	h = stress_hash(h, &leg->cseq, sizeof(leg->cseq));
	h = stress_hash(h, &leg->transport, sizeof(leg->transport));
	h = stress_hash_str(h, leg->contact, sizeof(leg->contact));
	if (route)
		h = stress_hash_str(h, leg->route, sizeof(leg->route));

	return h;
}


/* Every field but the seal (the callee's route). */
static uint64_t dlg_hash(const struct sbc_dlg *d)
{
	uint64_t h = 0;

	h = stress_hash(h, &d->expires, sizeof(d->expires));
	h = stress_hash(h, &d->setup, sizeof(d->setup));
	h = stress_hash(h, &d->answer, sizeof(d->answer));
	h = stress_hash(h, &d->end, sizeof(d->end));
	h = stress_hash(h, &d->media, sizeof(d->media));
	h = stress_hash(h, &d->backend, sizeof(d->backend));
	h = stress_hash(h, &d->state, sizeof(d->state));
	h = stress_hash_str(h, d->call_id, sizeof(d->call_id));
	h = stress_hash_str(h, d->from_tag, sizeof(d->from_tag));
	h = stress_hash_str(h, d->to_tag, sizeof(d->to_tag));
	h = stress_hash_str(h, d->from_uri, sizeof(d->from_uri));
	h = stress_hash_str(h, d->to_uri, sizeof(d->to_uri));
	h = leg_hash(h, &d->caller, true);

	return leg_hash(h, &d->callee, false);
}


static int leg_fill(struct sbc_dlg_leg *leg, const struct stress_tag *t,
		    uint8_t side)
{
	char text[SBC_DLG_ROUTE_SIZE];
	int err = 0;

	leg->conn = (uint64_t)t->gen << 32 | t->seq;
	leg->addr.family = AF_INET;
	leg->addr.port   = (uint16_t)(5060 + side + t->seq % 1000);
	leg->addr.ip[0]  = 172;
	leg->addr.ip[1]  = side;
	leg->addr.ip[2]  = (uint8_t)(t->seq >> 8);
	leg->addr.ip[3]  = (uint8_t)t->seq;
	leg->cseq        = t->seq + side;
	leg->transport   = (uint8_t)(SBC_TP_UDP + (t->seq + side) % 5);

	(void)snprintf(text, sizeof(text), "sip:leg%u-w%u-s%u@172.%u.%u.%u",
		       side, t->writer, t->seq, side, leg->addr.ip[2],
		       leg->addr.ip[3]);
	err |= SBC_FIELD_SET_STR(leg->contact, text);

	(void)snprintf(text, sizeof(text),
		       "<sip:edge%u.stress.example;lr>,<sip:s%u.core;lr>",
		       side, t->seq);
	err |= SBC_FIELD_SET_STR(leg->route, text);

	return err;
}


static int dlg_fill(struct sbc_dlg *d, uint32_t key,
		    const struct stress_tag *t)
{
	char uri[SBC_DLG_URI_SIZE];
	char pad[96];
	size_t len = 4 + t->seq % 80;
	int err = 0;

	memset(d, 0, sizeof(*d));
	memset(pad, 'a' + (int)(t->seq % 26), len);
	pad[len] = '\0';

	d->expires = t->expires;
	d->setup   = t->seq;
	d->answer  = t->seq % 3 ? (uint64_t)t->seq + 1 : 0;
	d->media   = t->seq;
	d->backend = (uint16_t)t->writer;
	d->state   = (uint8_t)(t->seq % 4);

	err |= SBC_FIELD_SET_STR(d->call_id, callid_str[key / FORKS]);
	err |= SBC_FIELD_SET_STR(d->from_tag, fromtag_str[key / FORKS]);
	err |= SBC_FIELD_SET_STR(d->to_tag, totag_str[key]);

	(void)snprintf(uri, sizeof(uri), "sip:caller-g%u@a.example;x=%s",
		       t->gen, pad);
	err |= SBC_FIELD_SET_STR(d->from_uri, uri);

	(void)snprintf(uri, sizeof(uri), "sip:callee-s%u@b.example", t->seq);
	err |= SBC_FIELD_SET_STR(d->to_uri, uri);

	err |= leg_fill(&d->caller, t, 1);
	err |= leg_fill(&d->callee, t, 2);
	if (err)
		return err;

	return stress_seal_write(d->callee.route, sizeof(d->callee.route), t,
				 dlg_hash(d));
}


static bool leg_valid(const struct sbc_dlg_leg *leg)
{
	return sbc_field_valid(leg->contact, sizeof(leg->contact)) &&
		sbc_field_valid(leg->route, sizeof(leg->route));
}


/* Check a dialog the table returned: every string ends in its array, the
 * seal matches, the key is one of ours and the dialog has not expired. */
static int dlg_check(const struct sbc_dlg *d, uint64_t now, uint32_t *key,
		     struct stress_tag *tag)
{
	if (!sbc_field_valid(d->call_id, sizeof(d->call_id)) ||
	    !sbc_field_valid(d->from_tag, sizeof(d->from_tag)) ||
	    !sbc_field_valid(d->to_tag, sizeof(d->to_tag)) ||
	    !sbc_field_valid(d->from_uri, sizeof(d->from_uri)) ||
	    !sbc_field_valid(d->to_uri, sizeof(d->to_uri)) ||
	    !leg_valid(&d->caller) || !sbc_field_valid(d->callee.contact,
						      sizeof(d->callee.contact))) {
		stress_note("torn dialog: a string without its NUL");
		return EBADMSG;
	}

	*key = key_of(d);
	if (*key == STRESS_KEYS) {
		stress_note("dialog of a key never written: '%.32s' '%.8s'"
			    " '%.8s'", d->call_id, d->from_tag, d->to_tag);
		return EBADMSG;
	}

	return stress_seal_check(d->callee.route, sizeof(d->callee.route),
				 dlg_hash(d), d->expires, now, tag);
}


static int dlg_put(struct sbc_writer *w, uint32_t key,
		   const struct stress_tag *tag, uint64_t now)
{
	struct sbc_dlg d;
	int err;

	err = dlg_fill(&d, key, tag);
	if (err)
		return err;

	return sbc_dlg_put(w, &d, now);
}


static int dlg_get(const struct sbc_shm *shm, uint32_t key, uint64_t now,
		   struct stress_tag *tag)
{
	struct sbc_dlg_key dk;
	struct sbc_dlg d;
	uint32_t found;
	int err;

	key_of_index(key, &dk);

	err = sbc_dlg_get(shm, &dk, now, &d);
	if (err)
		return err;

	err = dlg_check(&d, now, &found, tag);
	if (err)
		return err;

	if (found != key) {
		stress_note("dialog get of key %u returned key %u", key, found);
		return EBADMSG;
	}

	return 0;
}


static int dlg_del(struct sbc_writer *w, uint32_t key, uint64_t now)
{
	struct sbc_dlg_key dk;

	key_of_index(key, &dk);

	return sbc_dlg_del(w, &dk, now);
}


/* Every live dialog of Call-ID `group`, into tagv by fork. The vector has
 * room for twice the group, so a duplicate shows instead of hiding. */
static int dlg_lookup(const struct sbc_shm *shm, uint32_t group,
		      uint64_t now, struct stress_tag *tagv)
{
	struct sbc_dlg dlgv[2 * FORKS];
	struct stress_tag tag;
	struct pl call_id;
	size_t n = 0;
	uint32_t key;
	int err;

	memset(tagv, 0, FORKS * sizeof(*tagv));
	pl_set_str(&call_id, callid_str[group]);

	err = sbc_dlg_lookup_callid(shm, &call_id, now, dlgv,
				    ARRAY_SIZE(dlgv), &n);
	if (err == ENOENT)
		return 0;
	if (err)
		return err;

	for (size_t i = 0; i < n; i++) {

		err = dlg_check(&dlgv[i], now, &key, &tag);
		if (err)
			return err;

		err = stress_collect(&stress_dlg_table, group, key, &tag,
				     tagv);
		if (err)
			return err;
	}

	return 0;
}


static int dlg_read_slot(const struct sbc_shm *shm, uint32_t slot,
			 uint64_t now, uint32_t *key, struct stress_tag *tag)
{
	struct sbc_dlg d;
	int err;

	err = sbc_dlg_read_slot(shm, slot, now, &d);
	if (err)
		return err;

	return dlg_check(&d, now, key, tag);
}


const struct stress_table stress_dlg_table = {
	.tbl       = SBC_TBL_DLG,
	.name      = "dialog",
	.group     = FORKS,
	.put       = dlg_put,
	.get       = dlg_get,
	.del       = dlg_del,
	.lookup    = dlg_lookup,
	.read_slot = dlg_read_slot,
};
