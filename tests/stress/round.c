/*
 * One round of the stress test, run as the supervisor runs its children.
 *
 * It creates a fresh segment and is writer 0; it forks STRESS_WORKERS
 * workers (worker.c) and, until the round's end, sweeps both tables, follows
 * every writer's change ring and reaps workers. With kills, it kills a
 * random worker every KILL_MIN_MS to KILL_MAX_MS with SIGKILL, reaps it,
 * declares its writer index gone, runs the consistency checker (no error
 * allowed) and starts a new worker on the index; without, it runs the
 * checker every CHECK_EVERY_MS while the workers write (nothing to
 * reclaim, no error). After the round it checks the tables (verify.c), their
 * record counts, and that they still serve (trip.c).
 *
 * Only the processes forked here are killed and reaped, also when a round
 * fails; every wait is bounded.
 */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/check.h"
#include "tests/stress/stress.h"


enum {
	TABLE_MAX      = 4096,
	KILL_MIN_MS    = 20,
	KILL_MAX_MS    = 150,
	CHECK_EVERY_MS = 50,
	TICK_NS        = 1000000,
	SWEEP_BUDGET   = 256,
	REAP_GRACE_MS  = 30000,
	MAX_OPS        = 50000000,
};


void stress_counts_add(struct stress_counts *sum, const struct stress_counts *c)
{
	sum->ops         += c->ops;
	sum->puts        += c->puts;
	sum->dels        += c->dels;
	sum->gets        += c->gets;
	sum->lookups     += c->lookups;
	sum->eagain      += c->eagain;
	sum->enospc      += c->enospc;
}


static int tick(void)
{
	struct timespec ts = {0, TICK_NS};

	if (nanosleep(&ts, NULL) && errno != EINTR)
		return errno;

	return 0;
}


/* waitpid, through EINTR. Returns 0 when reaped, EAGAIN when still
 * running (WNOHANG), or errno. */
static int reap(pid_t pid, int options, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, options);
	while (r < 0 && errno == EINTR);

	if (r < 0)
		return errno;

	return r ? 0 : EAGAIN;
}


static int spawn(struct stress_sup *s, uint32_t index)
{
	struct stress_report *rep = &s->ctl->rep[index];
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	rep->gen = s->gen[index]++;

	pid = fork();
	if (pid < 0) {
		stress_note("fork: %s", strerror(errno));
		return errno;
	}

	if (!pid)
		_exit(stress_worker_run(s->ctl, s->shm, index));

	s->pid[index] = pid;

	return 0;
}


/* A worker exits 0 only when all its checks held. */
static int exit_ok(const struct stress_sup *s, uint32_t index, int status)
{
	const struct stress_report *rep = &s->ctl->rep[index];

	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;

	if (WIFEXITED(status))
		stress_note("worker %u gen %u failed (exit %d): %.*s", index,
			    rep->gen, WEXITSTATUS(status),
			    (int)sizeof(rep->note), rep->note[0] ? rep->note :
			    "no note, see its stderr");
	else
		stress_note("worker %u gen %u died of signal %d", index,
			    rep->gen, WTERMSIG(status));

	return EPROTO;
}


/* After reaping a worker, as the supervisor does: take its counters and
 * declare its writer index gone. */
static void reaped(struct stress_sup *s, uint32_t index,
		   struct stress_totals *tot)
{
	stress_counts_add(&tot->counts, &s->ctl->rep[index].counts);
	s->pid[index] = 0;
	sbc_writer_gone(s->shm, index);
}


static int run_check(struct stress_sup *s, bool may_reclaim,
		     struct stress_totals *tot)
{
	struct sbc_check_report rep;
	int err;

	err = sbc_shm_check(s->w, &rep);
	if (err) {
		stress_note("checker: %s", strerror(err));
		return err;
	}

	++tot->checks;
	tot->reclaimed += rep.reclaimed;
	tot->unsettled += rep.unsettled;

	if (rep.errors) {
		stress_note("checker found %u errors (live %u, expired %u,"
			    " tombs %u, busy %u, reclaimed %u)", rep.errors,
			    rep.live, rep.expired, rep.tombs, rep.busy,
			    rep.reclaimed);
		return EBADMSG;
	}

	if ((rep.reclaimed || rep.unsettled) && !may_reclaim) {
		stress_note("checker reclaimed %u slots and left %u counts"
			    " unsettled, yet no writer died", rep.reclaimed,
			    rep.unsettled);
		return EBADMSG;
	}

	return 0;
}


static bool change_valid(const struct stress_sup *s, const struct sbc_change *c)
{
	return c->table < SBC_TBL_COUNT && c->kind >= SBC_CHG_INSERT &&
		c->kind <= SBC_CHG_REPAIR &&
		c->slot < sbc_shm_slots(s->shm, (enum sbc_tbl)c->table);
}


/* Follow every writer's change ring to its head, checking each change. */
static int follow_rings(struct stress_sup *s, struct stress_totals *tot)
{
	const uint32_t bound = 2 * SBC_SHM_RING_DEFAULT;
	struct sbc_change chg;
	int err;

	for (uint32_t i = 0; i <= STRESS_WORKERS; i++) {

		for (uint32_t n = 0; n < bound; n++) {

			err = sbc_ring_next(&s->ring[i], s->shm, &chg);
			if (err == ENOENT)
				break;

			if (err == EOVERFLOW) {
				++tot->overflows;
				tot->overflows_parent += i == 0;
				continue;
			}

			if (err) {
				stress_note("ring %u: %s", i, strerror(err));
				return err;
			}

			if (!change_valid(s, &chg)) {
				stress_note("ring %u: change %u of table %u"
					    " slot %u", i, chg.kind, chg.table,
					    chg.slot);
				return EBADMSG;
			}

			++tot->changes;
			tot->reclaim_changes += chg.kind == SBC_CHG_RECLAIM;
		}
	}

	return 0;
}


/* What the supervisor does on its timer: sweep both tables, follow the
 * rings and, while no one is being killed, run the checker now and then. */
static int maintain(struct stress_sup *s, uint64_t now,
		    struct stress_totals *tot)
{
	struct sbc_sweep_report rep;
	int err;

	for (int tbl = 0; tbl < SBC_TBL_COUNT; tbl++) {

		err = sbc_shm_sweep(s->w, tbl, now, SWEEP_BUDGET, &rep);
		if (err) {
			stress_note("sweep: %s", strerror(err));
			return err;
		}

		tot->swept     += rep.expired;
		tot->compacted += rep.compacted;
	}

	err = follow_rings(s, tot);
	if (err)
		return err;

	if (s->kills || now < s->next_check)
		return 0;

	s->next_check = now + CHECK_EVERY_MS;

	return run_check(s, false, tot);
}


/* Reap workers that exited on their own (the round's end): they must
 * have passed every check. */
static int reap_exited(struct stress_sup *s, struct stress_totals *tot)
{
	int status, err;

	for (uint32_t i = 1; i <= STRESS_WORKERS; i++) {

		if (!s->pid[i])
			continue;

		err = reap(s->pid[i], WNOHANG, &status);
		if (err == EAGAIN)
			continue;

		if (err) {
			stress_note("waitpid: %s", strerror(err));
			return err;
		}

		reaped(s, i, tot);

		err = exit_ok(s, i, status);
		if (err)
			return err;
	}

	return 0;
}


/*
 * Kill a random running worker, reap it, declare it gone, run the checker
 * and start a new worker on its index: the supervisor's restart. A worker
 * that had just finished on its own is only reaped.
 */
static int kill_one(struct stress_sup *s, uint64_t now,
		    struct stress_totals *tot)
{
	uint32_t index = 1 + stress_rand_below(&s->rng, STRESS_WORKERS);
	int status, err;

	s->next_kill = now + KILL_MIN_MS +
		stress_rand_below(&s->rng, KILL_MAX_MS - KILL_MIN_MS + 1);

	if (!s->pid[index])
		return 0;

	if (kill(s->pid[index], SIGKILL)) {
		stress_note("kill: %s", strerror(errno));
		return errno;
	}

	err = reap(s->pid[index], 0, &status);
	if (err) {
		stress_note("waitpid: %s", strerror(err));
		return err;
	}

	reaped(s, index, tot);

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		return exit_ok(s, index, status);

	++tot->kills;

	err = run_check(s, true, tot);
	if (err)
		return err;

	return spawn(s, index);
}


static int round_open(struct stress_sup *s, uint32_t round, uint32_t ms)
{
	const struct sbc_shm_conf conf = {
		.reg_max   = TABLE_MAX,
		.dlg_max   = TABLE_MAX,
		.writers   = 1 + STRESS_WORKERS,
		.ring_size = SBC_SHM_RING_DEFAULT,
	};
	int err;

	err = sbc_shm_create(&s->shm, &conf);
	if (err) {
		stress_note("segment: %s", strerror(err));
		return err;
	}

	err = sbc_writer_attach(&s->w, s->shm, 0);
	if (err) {
		stress_note("attach to writer 0: %s", strerror(err));
		return err;
	}

	for (uint32_t i = 0; i <= STRESS_WORKERS; i++)
		sbc_ring_follow(&s->ring[i], s->shm, i);

	memset(s->gen, 0, sizeof(s->gen));
	s->ctl->seed    = s->seed + round;
	s->ctl->start   = sbc_now_ms();
	s->ctl->end     = s->ctl->start + ms;
	s->ctl->max_ops = MAX_OPS;
	s->rng          = stress_seed(s->seed, 0, round);
	s->next_kill    = s->ctl->start + KILL_MIN_MS;
	s->next_check   = s->ctl->start + CHECK_EVERY_MS;

	for (uint32_t i = 1; i <= STRESS_WORKERS; i++) {

		err = spawn(s, i);
		if (err)
			return err;
	}

	return 0;
}


static int round_drive(struct stress_sup *s, struct stress_totals *tot)
{
	uint64_t now;
	int err;

	while ((now = sbc_now_ms()) < s->ctl->end) {

		err = tick();
		if (err)
			return err;

		err = maintain(s, now, tot);
		if (err)
			return err;

		err = reap_exited(s, tot);
		if (err)
			return err;

		if (s->kills && now >= s->next_kill) {
			err = kill_one(s, now, tot);
			if (err)
				return err;
		}
	}

	return 0;
}


/* Wait, bounded, for every worker to finish the round. */
static int round_wait(struct stress_sup *s, struct stress_totals *tot)
{
	uint64_t deadline = sbc_now_ms() + REAP_GRACE_MS;
	int err;

	for (;;) {
		bool running = false;

		err = reap_exited(s, tot);
		if (err)
			return err;

		for (uint32_t i = 1; i <= STRESS_WORKERS; i++)
			running |= s->pid[i] != 0;

		if (!running)
			return 0;

		if (sbc_now_ms() > deadline) {
			stress_note("workers still running %u ms after the"
				    " round's end", REAP_GRACE_MS);
			return ETIMEDOUT;
		}

		err = tick();
		if (err)
			return err;
	}
}


/* Sweep a whole table: expired records out, so what is counted is what
 * lives at `now`. */
static int sweep_all(struct stress_sup *s, enum sbc_tbl tbl, uint64_t now,
		     struct stress_totals *tot)
{
	uint32_t slots = sbc_shm_slots(s->shm, tbl);
	struct sbc_sweep_report rep;
	uint64_t scanned = 0;
	int err;

	while (scanned < slots) {

		err = sbc_shm_sweep(s->w, tbl, now, slots, &rep);
		if (err) {
			stress_note("sweep: %s", strerror(err));
			return err;
		}

		scanned        += rep.scanned;
		tot->swept     += rep.expired;
		tot->compacted += rep.compacted;
	}

	return 0;
}



/*
 * After the round: the checker passes and has nothing left to reclaim (it
 * ran after every kill), the tables hold what the surviving workers wrote,
 * every record is counted (after a round with kills a count may be off by
 * the few a killed writer had published but not yet counted, or removed
 * but not yet uncounted: reported, not failed), and the table still serves.
 */
static int round_close(struct stress_sup *s, struct stress_totals *tot)
{
	const bool exact = tot->kills == 0;
	uint64_t now;
	int err;

	err = follow_rings(s, tot);
	if (err)
		return err;

	err = run_check(s, false, tot);
	if (err)
		return err;

	now = sbc_now_ms();

	for (int tbl = 0; tbl < SBC_TBL_COUNT; tbl++) {

		err = sweep_all(s, tbl, now, tot);
		if (err)
			return err;
	}

	err = stress_verify(s->shm, s->ctl, exact, now, tot->live);
	if (err)
		return err;

	for (int tbl = 0; tbl < SBC_TBL_COUNT; tbl++)
		tot->drift += sbc_shm_count(s->shm, tbl) - tot->live[tbl];

	/* a count can be off only by what the checker said it could not
	 * settle: a dead writer's change to a key another writer reused */
	if ((uint64_t)llabs(tot->drift) > tot->unsettled) {
		stress_note("tables count %" PRId64 " records more than they"
			    " hold, %" PRIu64 " unsettled", tot->drift,
			    tot->unsettled);
		return EBADMSG;
	}

	err = stress_round_trip(s->shm, s->w);
	if (err)
		return err;

	return follow_rings(s, tot);
}


/* Kill and reap every worker still running: the teardown's, and a failed
 * round's, cleanup. */
static void stop_workers(struct stress_sup *s)
{
	int status, err;

	for (uint32_t i = 1; i <= STRESS_WORKERS; i++) {

		if (!s->pid[i])
			continue;

		if (kill(s->pid[i], SIGKILL) && errno != ESRCH)
			fprintf(stderr, "kill %d: %s\n", s->pid[i],
				strerror(errno));

		err = reap(s->pid[i], 0, &status);
		if (err)
			fprintf(stderr, "waitpid %d: %s\n", s->pid[i],
				strerror(err));

		s->pid[i] = 0;
	}
}


/* Stop the round's workers and release its segment; safe to repeat. */
void stress_round_free(struct stress_sup *s)
{
	stop_workers(s);
	s->w   = mem_deref(s->w);
	s->shm = mem_deref(s->shm);
}


/* Run round `round` for `ms`. Returns 0 when every check held, else an
 * error with a note; tot says what the round did either way. */
int stress_round_run(struct stress_sup *s, uint32_t round, uint32_t ms,
		     struct stress_totals *tot)
{
	int err;

	memset(tot, 0, sizeof(*tot));
	tot->rounds = 1;

	err = round_open(s, round, ms);
	if (!err)
		err = round_drive(s, tot);
	if (!err)
		err = round_wait(s, tot);

	tot->ms = sbc_now_ms() - s->ctl->start;

	if (!err)
		err = round_close(s, tot);

	stress_round_free(s);

	return err;
}
