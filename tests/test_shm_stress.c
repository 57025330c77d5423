/*
 * The multi-process stress test of the shared tables (DESIGN.md section 2).
 *
 * The test process plays the supervisor: it forks STRESS_WORKERS writers
 * that put, delete, get and look up overlapping keys of both tables, every
 * record sealed with a checksum that every read checks, and after each round
 * holds the tables against what each surviving writer knows it wrote. The
 * parts are in stress/ (stress.h says which does what).
 *
 * stress_no_kill: one round in which every worker lives to the end. The
 * checker, run every 50 ms during the round and after it, must find no
 * error and nothing to reclaim, and the tables' record counts must be
 * exact.
 *
 * stress_with_kills: ten rounds, each on a fresh segment, in which a random
 * worker is killed with SIGKILL every 20 to 150 ms, reaped, declared gone,
 * the checker run (no error allowed) and a new worker started on its index,
 * as the supervisor does. The half-written slots the checker reclaimed are
 * summed and printed.
 *
 * SBC_STRESS_SEED=<n> replays a run's random choices (not, of course, the
 * processes' interleaving).
 */

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


enum {
	ROUNDS        = 10,
	NO_KILL_MS    = 3000,
	KILL_ROUND_MS = 2500,
};


static void totals_add(struct stress_totals *sum,
		       const struct stress_totals *t)
{
	stress_counts_add(&sum->counts, &t->counts);
	sum->ms              += t->ms;
	sum->rounds          += t->rounds;
	sum->kills           += t->kills;
	sum->checks          += t->checks;
	sum->reclaimed       += t->reclaimed;
	sum->swept           += t->swept;
	sum->compacted       += t->compacted;
	sum->changes         += t->changes;
	sum->reclaim_changes += t->reclaim_changes;
	sum->overflows       += t->overflows;
	sum->overflows_parent += t->overflows_parent;
	sum->drift           += t->drift;
	sum->unsettled       += t->unsettled;

	for (int i = 0; i < SBC_TBL_COUNT; i++)
		sum->live[i] += t->live[i];
}


static void print_totals(const char *what, const struct stress_totals *t)
{
	const struct stress_counts *c = &t->counts;
	double secs = t->ms / 1000.0;

	print_message("%s: %u round(s), %.1f s, %u workers: %" PRIu64 " ops"
		      " (%.2f M/s: %" PRIu64 " puts, %" PRIu64 " deletes,"
		      " %" PRIu64 " gets, %" PRIu64 " lookups)\n", what,
		      t->rounds, secs, STRESS_WORKERS, c->ops,
		      secs > 0 ? c->ops / secs / 1e6 : 0.0, c->puts, c->dels,
		      c->gets, c->lookups);
	print_message("%s: EAGAIN %" PRIu64 ", ENOSPC %" PRIu64 ", swept %"
		      PRIu64 " expired, compacted %" PRIu64 " tombstones,"
		      " followed %" PRIu64 " changes (%" PRIu64 " overflows)\n",
		      what, c->eagain, c->enospc, t->swept, t->compacted,
		      t->changes, t->overflows);
	print_message("%s: %u kills, %u checker runs, %" PRIu64 " half-written"
		      " slots reclaimed (%" PRIu64 " reclaims in the ring),"
		      " count drift %" PRId64 " (%" PRIu64 " unsettled),"
		      " %u bindings and %u dialogs left\n", what, t->kills,
		      t->checks, t->reclaimed, t->reclaim_changes, t->drift,
		      t->unsettled, t->live[SBC_TBL_REG],
		      t->live[SBC_TBL_DLG]);
}


static void run_or_fail(struct stress_sup *s, uint32_t round, uint32_t ms,
			struct stress_totals *tot)
{
	int err = stress_round_run(s, round, ms, tot);

	if (err)
		fail_msg("round %u (SBC_STRESS_SEED=%" PRIu64 "): %s", round,
			 s->seed, stress_noted());

	/* every reclaim is told to the followers, unless they fell behind */
	if (!tot->overflows_parent)
		assert_int_equal(tot->reclaimed, tot->reclaim_changes);
}


static void stress_no_kill(void **state)
{
	struct stress_sup *s = *state;
	struct stress_totals tot;

	s->kills = false;
	run_or_fail(s, 0, NO_KILL_MS, &tot);

	print_totals("stress_no_kill", &tot);
	assert_int_equal(tot.reclaimed, 0);
	assert_true(tot.counts.enospc > 0);     /* the tables did fill */
}


static void stress_with_kills(void **state)
{
	struct stress_sup *s = *state;
	struct stress_totals sum, tot;

	memset(&sum, 0, sizeof(sum));
	s->kills = true;

	for (uint32_t round = 1; round <= ROUNDS; round++) {

		run_or_fail(s, round, KILL_ROUND_MS, &tot);

		print_message("round %2u: %3u kills, %3" PRIu64 " reclaimed,"
			      " %" PRIu64 " ops, EAGAIN %" PRIu64 ", drift %"
			      PRId64 "\n", round, tot.kills, tot.reclaimed,
			      tot.counts.ops, tot.counts.eagain, tot.drift);
		totals_add(&sum, &tot);
	}

	print_totals("stress_with_kills", &sum);
	assert_int_equal(sum.rounds, ROUNDS);
	assert_true(sum.counts.enospc > 0);
}


static uint64_t pick_seed(void)
{
	const char *env = getenv("SBC_STRESS_SEED");
	struct timespec ts;

	if (env)
		return strtoull(env, NULL, 0);

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return 1;

	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


static int suite_setup(void **state)
{
	struct stress_sup *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;

	s->ctl = mmap(NULL, sizeof(*s->ctl), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->ctl == MAP_FAILED) {
		free(s);
		return -1;
	}

	s->seed = pick_seed();
	print_message("SBC_STRESS_SEED=%" PRIu64 "\n", s->seed);

	*state = s;

	return 0;
}


static int suite_teardown(void **state)
{
	struct stress_sup *s = *state;
	int err = 0;

	stress_round_free(s);

	if (munmap(s->ctl, sizeof(*s->ctl)))
		err = -1;

	free(s);

	return err;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stress_no_kill,
						suite_setup, suite_teardown),
		cmocka_unit_test_setup_teardown(stress_with_kills,
						suite_setup, suite_teardown),
	};
	struct memstat before, after;
	bool counted;
	int failed;

	stress_reg_keys_build();
	stress_dlg_keys_build();

	counted = mem_get_stat(&before) == 0;

	failed = cmocka_run_group_tests(tests, NULL, NULL);

	if (counted && !mem_get_stat(&after) &&
	    after.blocks_cur != before.blocks_cur) {
		print_error("libre blocks leaked: %zu\n",
			    after.blocks_cur - before.blocks_cur);
		++failed;
	}

	return failed;
}
