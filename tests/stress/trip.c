/*
 * The table keeps serving after a stress round: the supervisor puts, reads
 * back and deletes a binding and a dialog of its own. A table the round
 * left full must refuse the put with ENOSPC, and take it once a record is
 * deleted.
 */

#include <string.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/reg.h"
#include "shm/dlg.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


/* Delete the first record of the key universe there is, to free a slot. */
static int make_room(struct sbc_writer *w, const struct stress_table *t,
		     uint64_t now)
{
	for (uint32_t key = 0; key < STRESS_KEYS; key++) {

		int err = t->del(w, key, now);

		if (err != ENOENT)
			return err;
	}

	return ENOSPC;
}


static int reg_round_trip(struct sbc_shm *shm, struct sbc_writer *w,
			  uint64_t now)
{
	struct sbc_reg reg, got;
	struct pl aor, instance;
	int err = 0;

	memset(&reg, 0, sizeof(reg));
	reg.expires = now + 60000;
	err |= SBC_FIELD_SET_STR(reg.aor, "sip:supervisor@stress.example");
	err |= SBC_FIELD_SET_STR(reg.instance, "<urn:uuid:round-trip>");
	err |= SBC_FIELD_SET_STR(reg.contact, "sip:supervisor@127.0.0.1");
	err |= SBC_FIELD_SET_STR(reg.user_agent, "round trip");
	if (err)
		return err;

	pl_set_str(&aor, reg.aor);
	pl_set_str(&instance, reg.instance);

	err = sbc_reg_put(w, &reg, now);
	if (err == ENOSPC) {
		err = make_room(w, &stress_reg_table, now);
		if (!err)
			err = sbc_reg_put(w, &reg, now);
	}
	if (err)
		return err;

	err = sbc_reg_get(shm, &aor, &instance, now, &got);
	if (err)
		return err;

	if (strcmp(got.contact, reg.contact) || got.expires != reg.expires)
		return EBADMSG;

	err = sbc_reg_del(w, &aor, &instance, now);
	if (err)
		return err;

	err = sbc_reg_get(shm, &aor, &instance, now, &got);

	return err == ENOENT ? 0 : EBADMSG;
}


static int dlg_round_trip(struct sbc_shm *shm, struct sbc_writer *w,
			  uint64_t now)
{
	struct sbc_dlg dlg, got;
	struct sbc_dlg_key key;
	int err = 0;

	memset(&dlg, 0, sizeof(dlg));
	dlg.expires = now + 60000;
	err |= SBC_FIELD_SET_STR(dlg.call_id, "round-trip@stress.example");
	err |= SBC_FIELD_SET_STR(dlg.from_tag, "rt-from");
	err |= SBC_FIELD_SET_STR(dlg.to_tag, "rt-to");
	err |= SBC_FIELD_SET_STR(dlg.callee.route, "<sip:core;lr>");
	if (err)
		return err;

	pl_set_str(&key.call_id, dlg.call_id);
	pl_set_str(&key.from_tag, dlg.from_tag);
	pl_set_str(&key.to_tag, dlg.to_tag);

	err = sbc_dlg_put(w, &dlg, now);
	if (err == ENOSPC) {
		err = make_room(w, &stress_dlg_table, now);
		if (!err)
			err = sbc_dlg_put(w, &dlg, now);
	}
	if (err)
		return err;

	err = sbc_dlg_get(shm, &key, now, &got);
	if (err)
		return err;

	if (strcmp(got.callee.route, dlg.callee.route) ||
	    got.expires != dlg.expires)
		return EBADMSG;

	err = sbc_dlg_del(w, &key, now);
	if (err)
		return err;

	err = sbc_dlg_get(shm, &key, now, &got);

	return err == ENOENT ? 0 : EBADMSG;
}


/* Returns 0, or an error with a note. */
int stress_round_trip(struct sbc_shm *shm, struct sbc_writer *w)
{
	uint64_t now = sbc_now_ms();
	int err;

	err = reg_round_trip(shm, w, now);
	if (err) {
		stress_note("round trip of a binding: %s", strerror(err));
		return err;
	}

	err = dlg_round_trip(shm, w, now);
	if (err)
		stress_note("round trip of a dialog: %s", strerror(err));

	return err;
}
