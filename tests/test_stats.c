/*
 * Unit tests of the per-worker counters (shm/stats.c): create and attach,
 * rows that do not overlap, gauges that go down, counts from another
 * process, and attach refusing a memfd that is not counters.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <re.h>
#include "shm/stats.h"

enum {
	WORKERS = 3,
	CHILD_ADDS = 100000,
};


static void leak_check(void)
{
	struct memstat st;

	/* libre built without MEM_DEBUG answers ENOSYS: LeakSanitizer then
	 * covers leaks in the sanitizer build */
	if (0 == mem_get_stat(&st))
		assert_int_equal(st.blocks_cur, 0);
}


static void test_create_attach(void **state)
{
	struct sbc_stats *st = NULL, *at = NULL;
	(void)state;

	assert_int_equal(0, sbc_stats_create(&st, WORKERS));
	assert_int_equal(WORKERS, sbc_stats_workers(st));
	assert_true(sbc_stats_fd(st) >= 0);

	for (uint32_t w = 0; w < WORKERS; w++)
		for (int s = 0; s < SBC_STAT_COUNT; s++)
			assert_int_equal(0, sbc_stats_get(st, w, s));

	sbc_stats_add(st, 1, SBC_STAT_RX, 5);

	assert_int_equal(0, sbc_stats_attach(&at, sbc_stats_fd(st)));
	assert_int_equal(WORKERS, sbc_stats_workers(at));
	assert_int_equal(5, sbc_stats_get(at, 1, SBC_STAT_RX));

	sbc_stats_add(at, 2, SBC_STAT_CALLS, 7);
	assert_int_equal(7, sbc_stats_get(st, 2, SBC_STAT_CALLS));

	mem_deref(at);
	mem_deref(st);
	leak_check();
}


/* Every counter of every row is its own: setting one touches no other. */
static void test_rows_apart(void **state)
{
	struct sbc_stats *st = NULL;
	(void)state;

	assert_int_equal(0, sbc_stats_create(&st, WORKERS));

	for (uint32_t w = 0; w < WORKERS; w++)
		for (int s = 0; s < SBC_STAT_COUNT; s++)
			sbc_stats_set(st, w, s, w * 1000 + (uint64_t)s);

	for (uint32_t w = 0; w < WORKERS; w++)
		for (int s = 0; s < SBC_STAT_COUNT; s++)
			assert_int_equal(w * 1000 + (uint64_t)s,
					 sbc_stats_get(st, w, s));

	mem_deref(st);
	leak_check();
}


static void test_gauge_and_bounds(void **state)
{
	struct sbc_stats *st = NULL;
	(void)state;

	assert_int_equal(0, sbc_stats_create(&st, WORKERS));

	sbc_stats_add(st, 0, SBC_STAT_CONNS_NOW, 3);
	sbc_stats_add(st, 0, SBC_STAT_CONNS_NOW, -2);
	assert_int_equal(1, sbc_stats_get(st, 0, SBC_STAT_CONNS_NOW));

	/* out of range: ignored, read as 0 */
	sbc_stats_add(st, WORKERS, SBC_STAT_RX, 1);
	sbc_stats_set(st, 0, SBC_STAT_COUNT, 1);
	assert_int_equal(0, sbc_stats_get(st, WORKERS, SBC_STAT_RX));
	assert_int_equal(0, sbc_stats_get(st, 0, SBC_STAT_COUNT));
	assert_int_equal(0, sbc_stats_get(NULL, 0, SBC_STAT_RX));

	assert_string_equal("rx", sbc_stats_name(SBC_STAT_RX));
	assert_string_equal("txns_now", sbc_stats_name(SBC_STAT_TXNS_NOW));
	assert_string_equal("?", sbc_stats_name(SBC_STAT_COUNT));

	for (int s = 0; s < SBC_STAT_COUNT; s++)
		assert_non_null(sbc_stats_name(s));

	assert_int_equal(EINVAL, sbc_stats_create(&st, 0));
	assert_int_equal(EINVAL, sbc_stats_create(&st, 256));

	mem_deref(st);
	leak_check();
}


/* A child writes its row through the shared mapping; the parent sees it. */
static void test_other_process(void **state)
{
	struct sbc_stats *st = NULL;
	int status;
	pid_t pid;
	(void)state;

	assert_int_equal(0, sbc_stats_create(&st, WORKERS));

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbc_stats *at = NULL;

		if (sbc_stats_attach(&at, sbc_stats_fd(st)))
			_exit(1);

		for (int i = 0; i < CHILD_ADDS; i++)
			sbc_stats_add(at, 1, SBC_STAT_TX, 1);
		_exit(0);
	}

	for (int i = 0; i < CHILD_ADDS; i++)
		sbc_stats_add(st, 0, SBC_STAT_TX, 1);

	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(CHILD_ADDS, sbc_stats_get(st, 1, SBC_STAT_TX));
	assert_int_equal(CHILD_ADDS, sbc_stats_get(st, 0, SBC_STAT_TX));

	mem_deref(st);
	leak_check();
}


/* A memfd that is not counters, or counters the wrong size, is refused;
 * the sealed memfd cannot be resized. */
static void test_attach_refuses(void **state)
{
	struct sbc_stats *st = NULL, *at = NULL;
	char junk[4096];
	int fd;
	(void)state;

	fd = memfd_create("junk", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(EPROTO, sbc_stats_attach(&at, fd));

	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(sizeof(junk), write(fd, junk, sizeof(junk)));
	assert_int_equal(EPROTO, sbc_stats_attach(&at, fd));
	assert_null(at);
	close(fd);

	assert_int_equal(0, sbc_stats_create(&st, WORKERS));
	assert_int_equal(-1, ftruncate(sbc_stats_fd(st), 64));
	assert_int_equal(-1, ftruncate(sbc_stats_fd(st), 1 << 20));
	assert_int_equal(EINVAL, sbc_stats_attach(&at, -1));

	mem_deref(st);
	leak_check();
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_attach),
		cmocka_unit_test(test_rows_apart),
		cmocka_unit_test(test_gauge_and_bounds),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_attach_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
