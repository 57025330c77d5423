/*
 * The check of the tables a stress round left behind, once every worker
 * has exited and the consistency checker has run.
 *
 * Three views of each table, taken at one instant `now`, must agree: a
 * read of every slot, a get of every key and a lookup of every AOR or
 * Call-ID. The slot read finds torn records and second copies of a key.
 *
 * Then every key is held against what the workers that wrote it knew:
 * - a private key shows its owner's last write, or is absent if that was a
 *   delete or has expired: an update lost is a failure (a worker started in
 *   place of a killed one took over the key as the checker left it);
 * - a shared key that holds the record of a surviving worker holds that
 *   worker's last write of it (a later write by anyone would have replaced
 *   it);
 * - in a round where no worker was killed, a shared key is absent only if
 *   some worker's last operation on it deleted it, or its last put expired.
 */

#include <string.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


static bool tag_eq(const struct stress_tag *a, const struct stress_tag *b)
{
	return a->writer == b->writer && a->gen == b->gen &&
		a->seq == b->seq && a->expires == b->expires;
}


/* Read every slot: each live record is sealed and is the only one of its
 * key. seen[key] gets its tag; writer 0 where there is none. */
static int read_slots(const struct sbc_shm *shm, const struct stress_table *t,
		      uint64_t now, struct stress_tag *seen)
{
	uint32_t slots = sbc_shm_slots(shm, t->tbl);
	struct stress_tag tag;
	uint32_t key;
	int err;

	for (uint32_t slot = 0; slot < slots; slot++) {

		err = t->read_slot(shm, slot, now, &key, &tag);
		if (err == ENOENT)
			continue;

		if (err == EBADMSG)
			return err;

		if (err) {
			stress_note("%s slot %u with no writer running: %s",
				    t->name, slot, strerror(err));
			return err;
		}

		if (seen[key].writer) {
			stress_note("%s key %u held twice: w%u g%u s%u and, in"
				    " slot %u, w%u g%u s%u", t->name, key,
				    seen[key].writer, seen[key].gen,
				    seen[key].seq, slot, tag.writer, tag.gen,
				    tag.seq);
			return EBADMSG;
		}

		seen[key] = tag;
	}

	return 0;
}


static int gets_agree(const struct sbc_shm *shm, const struct stress_table *t,
		      uint64_t now, const struct stress_tag *seen)
{
	struct stress_tag tag;
	int err;

	for (uint32_t key = 0; key < STRESS_KEYS; key++) {

		err = t->get(shm, key, now, &tag);
		if (err == EBADMSG)
			return err;

		if (seen[key].writer ? err || !tag_eq(&tag, &seen[key]) :
		    err != ENOENT) {
			stress_note("%s key %u: get answers %s w%u s%u, the"
				    " slots hold w%u s%u", t->name, key,
				    err ? strerror(err) : "", err ? 0 :
				    tag.writer, err ? 0 : tag.seq,
				    seen[key].writer, seen[key].seq);
			return EBADMSG;
		}
	}

	return 0;
}


static int lookups_agree(const struct sbc_shm *shm,
			 const struct stress_table *t, uint64_t now,
			 const struct stress_tag *seen)
{
	struct stress_tag tagv[STRESS_GROUP_MAX];
	int err;

	for (uint32_t group = 0; group < STRESS_KEYS / t->group; group++) {

		err = t->lookup(shm, group, now, tagv);
		if (err == EBADMSG)
			return EBADMSG;

		if (err) {
			stress_note("%s lookup of group %u: %s", t->name,
				    group, strerror(err));
			return err;
		}

		for (uint32_t m = 0; m < t->group; m++) {

			const struct stress_tag *s = &seen[group * t->group + m];

			if (tag_eq(&tagv[m], s) ||
			    (!tagv[m].writer && !s->writer))
				continue;

			stress_note("%s lookup of group %u: member %u reads"
				    " w%u s%u, the slots hold w%u s%u",
				    t->name, group, m, tagv[m].writer,
				    tagv[m].seq, s->writer, s->seq);
			return EBADMSG;
		}
	}

	return 0;
}


/* May a shared key that no record holds be absent? Yes if a worker's last
 * operation on it deleted it, its last put expired, or no one touched it. */
static bool absence_explained(const struct stress_ctl *ctl,
			      enum sbc_tbl tbl, uint32_t key, uint64_t now)
{
	bool touched = false;

	for (uint32_t w = 1; w <= STRESS_WORKERS; w++) {

		const struct stress_fact *f = &ctl->rep[w].fact[tbl][key];

		if (f->state == STRESS_ABSENT ||
		    (f->state == STRESS_PRESENT && f->expires <= now))
			return true;

		touched |= f->state != STRESS_UNKNOWN;
	}

	return !touched;
}


static int shared_holds(const struct stress_ctl *ctl,
			const struct stress_table *t, uint32_t key,
			const struct stress_tag *seen, bool exact,
			uint64_t now)
{
	const struct stress_fact *f;

	if (!seen->writer) {
		if (!exact || absence_explained(ctl, t->tbl, key, now))
			return 0;

		stress_note("shared %s key %u is absent, but every worker's"
			    " last operation on it was a put still live",
			    t->name, key);
		return EBADMSG;
	}

	if (seen->gen != ctl->rep[seen->writer].gen)
		return 0;    /* written by a worker since killed */

	f = &ctl->rep[seen->writer].fact[t->tbl][key];
	if (f->state == STRESS_PRESENT && stress_fact_holds(f, 0, seen, now))
		return 0;

	stress_note_mismatch("lost update of shared key", t, key, 0, seen, f,
			     now);
	return EBADMSG;
}


static int facts_hold(const struct stress_ctl *ctl,
		      const struct stress_table *t, uint64_t now,
		      const struct stress_tag *seen, bool exact)
{
	const struct stress_fact *f;
	uint32_t owner;
	int err;

	for (uint32_t key = 0; key < STRESS_KEYS; key++) {

		owner = stress_key_owner(key);
		if (!owner) {
			err = shared_holds(ctl, t, key, &seen[key], exact, now);
			if (err)
				return err;

			continue;
		}

		err = seen[key].writer ? 0 : ENOENT;
		f = &ctl->rep[owner].fact[t->tbl][key];
		if (stress_fact_holds(f, err, &seen[key], now))
			continue;

		stress_note_mismatch("lost update of private key", t, key, err,
				     &seen[key], f, now);
		return EBADMSG;
	}

	return 0;
}


static int verify_table(struct sbc_shm *shm, const struct stress_ctl *ctl,
			const struct stress_table *t, bool exact, uint64_t now,
			struct stress_tag *seen, uint32_t live[SBC_TBL_COUNT])
{
	int err;

	memset(seen, 0, STRESS_KEYS * sizeof(*seen));

	err = read_slots(shm, t, now, seen);
	if (err)
		return err;

	err = gets_agree(shm, t, now, seen);
	if (err)
		return err;

	err = lookups_agree(shm, t, now, seen);
	if (err)
		return err;

	err = facts_hold(ctl, t, now, seen, exact);
	if (err)
		return err;

	for (uint32_t key = 0; key < STRESS_KEYS; key++)
		live[t->tbl] += seen[key].writer != 0;

	return 0;
}


/*
 * Verify both tables as they are at `now`. `exact` when no worker was
 * killed in the round. Returns 0, or an error with a note; live[] counts
 * the records found.
 */
int stress_verify(struct sbc_shm *shm, const struct stress_ctl *ctl,
		  bool exact, uint64_t now, uint32_t live[SBC_TBL_COUNT])
{
	struct stress_tag *seen;
	int err = 0;

	seen = mem_zalloc(STRESS_KEYS * sizeof(*seen), NULL);
	if (!seen)
		return ENOMEM;

	memset(live, 0, SBC_TBL_COUNT * sizeof(*live));

	for (int tbl = 0; tbl < SBC_TBL_COUNT && !err; tbl++)
		err = verify_table(shm, ctl, stress_table(tbl), exact, now,
				   seen, live);

	mem_deref(seen);

	return err;
}
