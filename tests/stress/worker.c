/*
 * One writer process of the stress test.
 *
 * A worker attaches to its writer index, faults the segment in as every
 * forked process of sbcd does, and first learns the state of its
 * private keys from the table: a worker started in place of a killed one
 * inherits them as the checker left them. Then, until the round's end, it
 * runs a random mix of puts, deletes, gets and lookups on both tables, over
 * the shared keys and its own. Phases of PHASE_MS alternate between growing
 * and shrinking: ten puts to a delete would keep 91 % of the key universe,
 * more than a table holds, so the tables fill up (puts answered ENOSPC);
 * then a put to four and a half deletes empties them to a fifth.
 *
 * Every record read is checked against its seal; every read of a private
 * key must show exactly the worker's last write of it. What it knows of
 * each key is kept in its report, where the parent reads it after. The
 * worker returns 0 only when every check held; otherwise it leaves a note in
 * its report and returns 1, the process's exit status.
 */

#include <string.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


enum {
	PHASE_MS     = 300,
	LONG_LIFE_MS = 600000,
	SHORT_LIFE_MS = 20,     /* plus up to 300 ms */
	ADOPT_TRIES  = 1000,
	HOT_KEYS     = 8,
};

struct worker {
	const struct stress_ctl *ctl;
	struct stress_report *rep;
	const struct sbc_shm *shm;
	struct sbc_writer *w;
	uint32_t index;
	uint32_t seq;
	uint64_t rng;
};


static struct stress_fact *fact_of(struct worker *wk,
				   const struct stress_table *t, uint32_t key)
{
	return &wk->rep->fact[t->tbl][key];
}


static bool owns(const struct worker *wk, uint32_t key)
{
	return stress_key_owner(key) == wk->index;
}


/* Half the writes go to the shared keys, a few of those to HOT_KEYS of
 * them, so that writers often race on one key; half to the worker's own. */
static uint32_t pick_write_key(struct worker *wk)
{
	switch (stress_rand_below(&wk->rng, 8)) {

	case 0:
		return stress_rand_below(&wk->rng, HOT_KEYS);

	case 1:
	case 2:
	case 3:
		return stress_rand_below(&wk->rng, STRESS_SHARED);

	default:
		break;
	}

	return stress_key_private(wk->index,
				  stress_rand_below(&wk->rng, STRESS_PRIVATE));
}


/* Reads also look at the other workers' private keys. */
static uint32_t pick_read_key(struct worker *wk)
{
	switch (stress_rand_below(&wk->rng, 5)) {

	case 0:
	case 1:
		return stress_rand_below(&wk->rng, STRESS_SHARED);

	case 2:
	case 3:
		return stress_key_private(wk->index,
			stress_rand_below(&wk->rng, STRESS_PRIVATE));

	default:
		return stress_rand_below(&wk->rng, STRESS_KEYS);
	}
}


/* Most records live long; one in ten expires within the round. */
static uint64_t pick_life(struct worker *wk)
{
	if (stress_rand_below(&wk->rng, 10))
		return LONG_LIFE_MS;

	return SHORT_LIFE_MS + stress_rand_below(&wk->rng, 300);
}


/*
 * Hold one read of a key against what the worker knows. EAGAIN (a slot
 * under a write that did not finish) is allowed and counted; any other
 * error than ENOENT is a failure.
 */
static int check_read(struct worker *wk, const struct stress_table *t,
		      uint32_t key, int err, const struct stress_tag *tag,
		      uint64_t after)
{
	const struct stress_fact *f;

	if (err == EAGAIN) {
		wk->rep->counts.eagain++;
		return 0;
	}

	if (err == EBADMSG)
		return err;

	if (err && err != ENOENT) {
		stress_note("%s read of key %u: %s", t->name, key,
			    strerror(err));
		return err;
	}

	if (!owns(wk, key))
		return 0;

	f = fact_of(wk, t, key);
	if (stress_fact_holds(f, err, tag, after))
		return 0;

	stress_note_mismatch("own key", t, key, err, tag, f, after);

	return EBADMSG;
}


/*
 * A full table refuses new keys, never the update of a live one: a
 * registration refresh must not be answered 503 because others filled the
 * table.
 */
static int check_refusal(struct worker *wk, const struct stress_table *t,
			 uint32_t key, uint64_t now)
{
	const struct stress_fact *f = fact_of(wk, t, key);

	wk->rep->counts.enospc++;

	if (!owns(wk, key) || f->state != STRESS_PRESENT || f->expires <= now)
		return 0;

	stress_note("%s put of own live key %u (w%u g%u s%u) refused: %s",
		    t->name, key, f->writer, f->gen, f->seq, strerror(ENOSPC));

	return EBADMSG;
}


static int step_put(struct worker *wk, const struct stress_table *t,
		    uint32_t key)
{
	struct stress_tag tag = {
		.writer = wk->index,
		.gen = wk->rep->gen,
		.seq = ++wk->seq,
	};
	uint64_t now = sbc_now_ms();
	int err;

	tag.expires = now + pick_life(wk);
	wk->rep->counts.puts++;

	err = t->put(wk->w, key, &tag, now);
	switch (err) {

	case 0:
		stress_fact_set(fact_of(wk, t, key), &tag);
		return 0;

	case EAGAIN:
		wk->rep->counts.eagain++;
		return 0;

	case ENOSPC:
		return check_refusal(wk, t, key, now);

	default:
		stress_note("%s put of key %u: %s", t->name, key,
			    strerror(err));
		return err;
	}
}


static int step_del(struct worker *wk, const struct stress_table *t,
		    uint32_t key)
{
	struct stress_fact *f = fact_of(wk, t, key);
	uint64_t now = sbc_now_ms();
	int err;

	wk->rep->counts.dels++;

	err = t->del(wk->w, key, now);
	switch (err) {

	case 0:
	case ENOENT:
		if (owns(wk, key) && f->state != STRESS_UNKNOWN &&
		    (err ? !stress_fact_holds(f, err, NULL, sbc_now_ms()) :
		     f->state == STRESS_ABSENT)) {
			stress_note_mismatch("delete of own key", t, key, err,
					     NULL, f, now);
			return EBADMSG;
		}

		stress_fact_absent(f, wk->index, wk->rep->gen);
		return 0;

	case EAGAIN:
		wk->rep->counts.eagain++;
		return 0;

	default:
		stress_note("%s delete of key %u: %s", t->name, key,
			    strerror(err));
		return err;
	}
}


static int step_get(struct worker *wk, const struct stress_table *t,
		    uint32_t key)
{
	struct stress_tag tag;
	int err;

	wk->rep->counts.gets++;

	err = t->get(wk->shm, key, sbc_now_ms(), &tag);

	return check_read(wk, t, key, err, &tag, sbc_now_ms());
}


/*
 * A lookup of a whole AOR or Call-ID: each member is held against what the
 * worker knows, as a get of it would be. A key met twice is counted; on a
 * key only this worker writes, it cannot be the walk's doing (seal.c).
 */
static int step_lookup(struct worker *wk, const struct stress_table *t,
		       uint32_t group)
{
	struct stress_tag tagv[STRESS_GROUP_MAX];
	uint64_t after;
	int err;

	wk->rep->counts.lookups++;

	err = t->lookup(wk->shm, group, sbc_now_ms(), tagv);
	after = sbc_now_ms();
	if (err)
		return check_read(wk, t, group * t->group, err, NULL, after);

	for (uint32_t m = 0; m < t->group; m++) {

		uint32_t key = group * t->group + m;

		err = check_read(wk, t, key, tagv[m].writer ? 0 : ENOENT,
				 &tagv[m], after);
		if (err)
			return err;
	}

	return 0;
}


static int worker_step(struct worker *wk, uint64_t now)
{
	const struct stress_table *t =
		stress_table(stress_rand_below(&wk->rng, SBC_TBL_COUNT));
	bool grow = ((now - wk->ctl->start) / PHASE_MS) % 2 == 0;
	uint32_t puts = grow ? 50 : 10;
	uint32_t dels = grow ? 5 : 45;
	uint32_t roll = stress_rand_below(&wk->rng, 100);

	if (roll < puts)
		return step_put(wk, t, pick_write_key(wk));

	if (roll < puts + dels)
		return step_del(wk, t, pick_write_key(wk));

	if (roll < puts + dels + 25)
		return step_get(wk, t, pick_read_key(wk));

	return step_lookup(wk, t, pick_read_key(wk) / t->group);
}


/* Learn one private key's state from the table. A key that stays under an
 * unfinished write of another process stays unknown until written. */
static int adopt_key(struct worker *wk, const struct stress_table *t,
		     uint32_t key)
{
	struct stress_fact *f = fact_of(wk, t, key);
	struct stress_tag tag;
	int err = EAGAIN;

	for (int i = 0; err == EAGAIN && i < ADOPT_TRIES; i++)
		err = t->get(wk->shm, key, sbc_now_ms(), &tag);

	switch (err) {

	case 0:
		if (tag.writer != wk->index) {
			stress_note("%s private key %u of writer %u holds a"
				    " write of writer %u", t->name, key,
				    wk->index, tag.writer);
			return EBADMSG;
		}

		stress_fact_set(f, &tag);
		return 0;

	case ENOENT:
		stress_fact_absent(f, wk->index, wk->rep->gen);
		return 0;

	case EAGAIN:
		return 0;

	default:
		return check_read(wk, t, key, err, &tag, sbc_now_ms());
	}
}


static int adopt_private_keys(struct worker *wk)
{
	int err;

	for (int tbl = 0; tbl < SBC_TBL_COUNT; tbl++) {

		for (uint32_t n = 0; n < STRESS_PRIVATE; n++) {

			err = adopt_key(wk, stress_table(tbl),
					stress_key_private(wk->index, n));
			if (err)
				return err;
		}
	}

	return 0;
}


static int worker_loop(struct worker *wk)
{
	uint64_t now;
	int err;

	while ((now = sbc_now_ms()) < wk->ctl->end &&
	       wk->rep->counts.ops < wk->ctl->max_ops) {

		err = worker_step(wk, now);
		if (err)
			return err;

		wk->rep->counts.ops++;
	}

	return 0;
}


int stress_worker_run(struct stress_ctl *ctl, struct sbc_shm *shm,
		      uint32_t index)
{
	struct worker wk = {
		.ctl   = ctl,
		.rep   = &ctl->rep[index],
		.shm   = shm,
		.index = index,
	};
	int err;

	wk.rng = stress_seed(ctl->seed, index, wk.rep->gen);

	err = sbc_writer_attach(&wk.w, shm, index);
	if (err) {
		stress_note("attach to writer %u: %s", index, strerror(err));
		goto out;
	}

	err = sbc_shm_populate(shm);
	if (err) {
		stress_note("populate the segment: %s", strerror(err));
		goto out;
	}

	err = adopt_private_keys(&wk);
	if (err)
		goto out;

	err = worker_loop(&wk);

 out:
	mem_deref(wk.w);

	if (err)
		(void)re_snprintf(wk.rep->note, sizeof(wk.rep->note), "%s",
				  stress_noted());

	return err ? 1 : 0;
}
