/*
 * Registration bindings (see reg.h) on the table engine.
 *
 * The home slot and the high bits of the signature come from the AOR alone,
 * so every binding of one AOR lies on one probe chain; the low bits come
 * from the instance, to tell one binding from another without reading it.
 * Keys are compared byte for byte: the registrar normalises AORs first.
 */

#include <stddef.h>
#include <string.h>
#include <xxhash.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/reg.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/ctl.h"
#include "shm/table.h"


struct reg_key {
	struct pl aor;
	struct pl instance;
};

_Static_assert(offsetof(struct sbc_reg, expires) == 0, "expiry comes first");
_Static_assert(sizeof(struct sbc_reg) % 8 == 0, "record alignment");
_Static_assert(sizeof(struct sbc_reg) <= SBC_REC_MAX, "record size");
_Static_assert(sizeof(struct reg_key) <= SBC_KEY_MAX, "key size");


static void reg_tkey(struct sbc_tkey *tk, const struct reg_key *key)
{
	sbc_tkey_set(tk, XXH3_64bits(key->aor.p, key->aor.l),
		     XXH3_64bits(key->instance.p, key->instance.l), key);
}


/* A key that cannot fit its fields cannot be in the table. */
static int reg_key_check(const struct reg_key *key)
{
	if (!pl_isset(&key->aor) || !pl_isset(&key->instance))
		return EINVAL;

	if (key->aor.l >= SBC_REG_AOR_SIZE ||
	    key->instance.l >= SBC_REG_INSTANCE_SIZE)
		return EOVERFLOW;

	return 0;
}


static bool reg_valid(const void *rec)
{
	const struct sbc_reg *r = rec;

	return r->aor[0] && r->instance[0] &&
		sbc_field_valid(r->aor, sizeof(r->aor)) &&
		sbc_field_valid(r->instance, sizeof(r->instance)) &&
		sbc_field_valid(r->contact, sizeof(r->contact)) &&
		sbc_field_valid(r->token, sizeof(r->token)) &&
		sbc_field_valid(r->call_id, sizeof(r->call_id)) &&
		sbc_field_valid(r->user_agent, sizeof(r->user_agent));
}


static bool reg_match_primary(const void *rec, const void *key)
{
	const struct sbc_reg *r = rec;
	const struct reg_key *k = key;

	return sbc_field_eq(r->aor, sizeof(r->aor), &k->aor);
}


static bool reg_match(const void *rec, const void *key)
{
	const struct sbc_reg *r = rec;
	const struct reg_key *k = key;

	return reg_match_primary(rec, key) &&
		sbc_field_eq(r->instance, sizeof(r->instance), &k->instance);
}


/* The key of a valid record, pointing into the record. */
static void reg_key_of(const void *rec, struct sbc_tkey *tk, void *keybuf)
{
	const struct sbc_reg *r = rec;
	struct reg_key *k = keybuf;

	pl_set_str(&k->aor, r->aor);
	pl_set_str(&k->instance, r->instance);
	reg_tkey(tk, k);
}


const struct sbc_table_ops sbc_reg_ops = {
	.tbl           = SBC_TBL_REG,
	.rec_size      = sizeof(struct sbc_reg),
	.valid         = reg_valid,
	.match         = reg_match,
	.match_primary = reg_match_primary,
	.key_of        = reg_key_of,
};


/*
 * Store a binding, inserting it or replacing the one with its key. Its
 * expiry must lie in the future. ENOSPC when the table is full.
 */
int sbc_reg_put(struct sbc_writer *w, const struct sbc_reg *reg, uint64_t now)
{
	struct sbc_tkey tk;
	struct reg_key key;

	if (!w || !reg || !reg_valid(reg) || reg->expires <= now)
		return EINVAL;

	reg_key_of(reg, &tk, &key);

	return sbc_table_put(&w->shm->tbl[SBC_TBL_REG], w, &tk, reg, now);
}


int sbc_reg_get(const struct sbc_shm *shm, const struct pl *aor,
		const struct pl *instance, uint64_t now, struct sbc_reg *reg)
{
	struct reg_key key;
	struct sbc_tkey tk;
	int err;

	if (!shm || !aor || !instance || !reg)
		return EINVAL;

	key.aor = *aor;
	key.instance = *instance;
	err = reg_key_check(&key);
	if (err)
		return err;

	reg_tkey(&tk, &key);

	return sbc_table_get(&shm->tbl[SBC_TBL_REG], &tk, now, reg);
}


int sbc_reg_del(struct sbc_writer *w, const struct pl *aor,
		const struct pl *instance, uint64_t now)
{
	struct reg_key key;
	struct sbc_tkey tk;
	int err;

	if (!w || !aor || !instance)
		return EINVAL;

	key.aor = *aor;
	key.instance = *instance;
	err = reg_key_check(&key);
	if (err)
		return err;

	reg_tkey(&tk, &key);

	return sbc_table_del(&w->shm->tbl[SBC_TBL_REG], w, &tk, now);
}


/*
 * Every live binding of an AOR, at most max of them into regv. ENOBUFS when
 * there were more; EAGAIN when a binding being written may be missing. *n
 * counts the bindings copied in both cases.
 */
int sbc_reg_lookup_aor(const struct sbc_shm *shm, const struct pl *aor,
		       uint64_t now, struct sbc_reg *regv, size_t max,
		       size_t *n)
{
	struct reg_key key;
	struct sbc_tkey tk;

	if (!shm || !aor || !regv || !n)
		return EINVAL;

	*n = 0;

	if (!pl_isset(aor))
		return EINVAL;

	if (aor->l >= SBC_REG_AOR_SIZE)
		return EOVERFLOW;

	key.aor = *aor;
	pl_set_str(&key.instance, "");
	reg_tkey(&tk, &key);

	return sbc_table_get_all(&shm->tbl[SBC_TBL_REG], &tk, now, regv, max, n);
}


/* The binding in one slot, as a change ring follower re-reads it. */
int sbc_reg_read_slot(const struct sbc_shm *shm, uint32_t slot, uint64_t now,
		      struct sbc_reg *reg)
{
	if (!shm || !reg)
		return EINVAL;

	return sbc_table_read_slot(&shm->tbl[SBC_TBL_REG], slot, now, reg);
}
