/*
 * Dialogs (see dlg.h) on the table engine.
 *
 * The home slot and the high bits of the signature come from the Call-ID
 * alone, so all dialogs of one Call-ID lie on one probe chain; the low bits
 * come from the tags. An early dialog may have no to-tag yet; when it gets
 * one its key changes, which is a put of the new key and a delete of the
 * old one.
 */

#include <stddef.h>
#include <string.h>
#include <xxhash.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/dlg.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/ctl.h"
#include "shm/table.h"


_Static_assert(offsetof(struct sbc_dlg, expires) == 0, "expiry comes first");
_Static_assert(sizeof(struct sbc_dlg) % 8 == 0, "record alignment");
_Static_assert(sizeof(struct sbc_dlg) <= SBC_REC_MAX, "record size");
_Static_assert(sizeof(struct sbc_dlg_key) <= SBC_KEY_MAX, "key size");


static void dlg_tkey(struct sbc_tkey *tk, const struct sbc_dlg_key *key)
{
	uint64_t tags = XXH3_64bits_withSeed(key->from_tag.p, key->from_tag.l,
				XXH3_64bits(key->to_tag.p, key->to_tag.l));

	sbc_tkey_set(tk, XXH3_64bits(key->call_id.p, key->call_id.l), tags,
		     key);
}


static int dlg_key_check(const struct sbc_dlg_key *key)
{
	if (!pl_isset(&key->call_id))
		return EINVAL;

	if (key->call_id.l >= SBC_DLG_CALLID_SIZE ||
	    key->from_tag.l >= SBC_DLG_TAG_SIZE ||
	    key->to_tag.l >= SBC_DLG_TAG_SIZE)
		return EOVERFLOW;

	return 0;
}


static bool leg_valid(const struct sbc_dlg_leg *leg)
{
	return sbc_field_valid(leg->contact, sizeof(leg->contact)) &&
		sbc_field_valid(leg->route, sizeof(leg->route));
}


static bool dlg_valid(const void *rec)
{
	const struct sbc_dlg *d = rec;

	return d->call_id[0] &&
		sbc_field_valid(d->call_id, sizeof(d->call_id)) &&
		sbc_field_valid(d->from_tag, sizeof(d->from_tag)) &&
		sbc_field_valid(d->to_tag, sizeof(d->to_tag)) &&
		sbc_field_valid(d->from_uri, sizeof(d->from_uri)) &&
		sbc_field_valid(d->to_uri, sizeof(d->to_uri)) &&
		leg_valid(&d->caller) && leg_valid(&d->callee);
}


static bool dlg_match_primary(const void *rec, const void *key)
{
	const struct sbc_dlg *d = rec;
	const struct sbc_dlg_key *k = key;

	return sbc_field_eq(d->call_id, sizeof(d->call_id), &k->call_id);
}


static bool dlg_match(const void *rec, const void *key)
{
	const struct sbc_dlg *d = rec;
	const struct sbc_dlg_key *k = key;

	return dlg_match_primary(rec, key) &&
		sbc_field_eq(d->from_tag, sizeof(d->from_tag), &k->from_tag) &&
		sbc_field_eq(d->to_tag, sizeof(d->to_tag), &k->to_tag);
}


static void dlg_key_of(const void *rec, struct sbc_tkey *tk, void *keybuf)
{
	const struct sbc_dlg *d = rec;
	struct sbc_dlg_key *k = keybuf;

	pl_set_str(&k->call_id, d->call_id);
	pl_set_str(&k->from_tag, d->from_tag);
	pl_set_str(&k->to_tag, d->to_tag);
	dlg_tkey(tk, k);
}


const struct sbc_table_ops sbc_dlg_ops = {
	.tbl           = SBC_TBL_DLG,
	.rec_size      = sizeof(struct sbc_dlg),
	.valid         = dlg_valid,
	.match         = dlg_match,
	.match_primary = dlg_match_primary,
	.key_of        = dlg_key_of,
};


/* Store a dialog, inserting it or replacing the one with its key. */
int sbc_dlg_put(struct sbc_writer *w, const struct sbc_dlg *dlg, uint64_t now)
{
	struct sbc_dlg_key key;
	struct sbc_tkey tk;

	if (!w || !dlg || !dlg_valid(dlg) || dlg->expires <= now)
		return EINVAL;

	dlg_key_of(dlg, &tk, &key);

	return sbc_table_put(&w->shm->tbl[SBC_TBL_DLG], w, &tk, dlg, now);
}


int sbc_dlg_get(const struct sbc_shm *shm, const struct sbc_dlg_key *key,
		uint64_t now, struct sbc_dlg *dlg)
{
	struct sbc_tkey tk;
	int err;

	if (!shm || !key || !dlg)
		return EINVAL;

	err = dlg_key_check(key);
	if (err)
		return err;

	dlg_tkey(&tk, key);

	return sbc_table_get(&shm->tbl[SBC_TBL_DLG], &tk, now, dlg);
}


int sbc_dlg_del(struct sbc_writer *w, const struct sbc_dlg_key *key,
		uint64_t now)
{
	struct sbc_tkey tk;
	int err;

	if (!w || !key)
		return EINVAL;

	err = dlg_key_check(key);
	if (err)
		return err;

	dlg_tkey(&tk, key);

	return sbc_table_del(&w->shm->tbl[SBC_TBL_DLG], w, &tk, now);
}


/*
 * Every live dialog of a Call-ID, at most max of them into dlgv. ENOBUFS
 * when there were more; EAGAIN when a dialog being written may be missing.
 * *n counts the dialogs copied in both cases.
 */
int sbc_dlg_lookup_callid(const struct sbc_shm *shm, const struct pl *call_id,
			  uint64_t now, struct sbc_dlg *dlgv, size_t max,
			  size_t *n)
{
	struct sbc_dlg_key key;
	struct sbc_tkey tk;
	int err;

	if (!shm || !call_id || !dlgv || !n)
		return EINVAL;

	*n = 0;
	memset(&key, 0, sizeof(key));
	key.call_id = *call_id;
	err = dlg_key_check(&key);
	if (err)
		return err;

	dlg_tkey(&tk, &key);

	return sbc_table_get_all(&shm->tbl[SBC_TBL_DLG], &tk, now, dlgv, max,
				 n);
}


int sbc_dlg_read_slot(const struct sbc_shm *shm, uint32_t slot, uint64_t now,
		      struct sbc_dlg *dlg)
{
	if (!shm || !dlg)
		return EINVAL;

	return sbc_table_read_slot(&shm->tbl[SBC_TBL_DLG], slot, now, dlg);
}


const char *sbc_dlg_state_name(enum sbc_dlg_state state)
{
	static const char *const names[] = {
		[SBC_DLG_EARLY]       = "early",
		[SBC_DLG_CONFIRMED]   = "confirmed",
		[SBC_DLG_TERMINATING] = "terminating",
		[SBC_DLG_ENDED]       = "ended",
	};

	return (size_t)state < ARRAY_SIZE(names) ? names[state] : "?";
}


const char *sbc_dlg_reason_name(enum sbc_dlg_reason reason)
{
	static const char *const names[] = {
		[SBC_DLG_NOT_ENDED]       = "",
		[SBC_DLG_CALLER_BYE]      = "caller_bye",
		[SBC_DLG_CALLEE_BYE]      = "callee_bye",
		[SBC_DLG_LEG_UNREACHABLE] = "leg_unreachable",
		[SBC_DLG_MAX_DURATION]    = "max_duration",
		[SBC_DLG_OPERATOR]        = "operator",
		[SBC_DLG_SHUTDOWN]        = "shutdown",
		[SBC_DLG_FAILED]          = "failed",
		[SBC_DLG_EXPIRED]         = "expired",
		[SBC_DLG_MEDIA_TIMEOUT]   = "media_timeout",
	};

	return (size_t)reason < ARRAY_SIZE(names) ? names[reason] : "?";
}


const char *sbc_dlg_ping_name(enum sbc_dlg_ping ping)
{
	static const char *const names[] = {
		[SBC_DLG_PING_NONE]     = "none",
		[SBC_DLG_PING_OK]       = "ok",
		[SBC_DLG_PING_DEAD]     = "dead",
		[SBC_DLG_PING_TIMEOUT]  = "timeout",
		[SBC_DLG_PING_NO_ROUTE] = "no_route",
	};

	return (size_t)ping < ARRAY_SIZE(names) ? names[ping] : "?";
}
