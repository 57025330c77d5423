/*
 * Unit tests of how a call picks its backend (workers/balance.c): each
 * algorithm's spread, hashes stable for one key and moving only the keys
 * of a backend that goes down, capacity taken with compare-and-swap and
 * given back, backups only when no other member can take the call, and
 * the members a call has tried skipped. The backend slots are real: a
 * small shared segment, as the supervisor makes it.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/backend.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/balance.h"

struct fixture {
	struct sbc_core core;
	char path[64];
};


static void fixture_free(struct fixture *f)
{
	mem_deref(f->core.bk);
	mem_deref(f->core.w);
	mem_deref(f->core.shm);
	mem_deref(f->core.cfg);
	if (f->path[0])
		unlink(f->path);
	free(f);
}


/* A worker's core on a segment whose slots hold the backends of text. */
static struct fixture *fixture_new(const char *text)
{
	const struct sbc_shm_conf sc = {
		.reg_max = 16, .dlg_max = 16, .writers = 2, .ring_size = 16,
	};
	struct fixture *f = calloc(1, sizeof(*f));
	char err[SBC_CONFIG_ERR_SIZE];
	int fd;

	assert_non_null(f);
	str_ncpy(f->path, "/tmp/sbcd-balance-XXXXXX", sizeof(f->path));
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);

	if (sbc_config_load(&f->core.cfg, f->path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(sbc_shm_create(&f->core.shm, &sc), 0);
	assert_int_equal(sbc_writer_attach(&f->core.w, f->core.shm, 1), 0);

	for (uint32_t i = 0; i < f->core.cfg->backend_count; i++) {
		const struct sbc_backend_conf *b = &f->core.cfg->backends[i];
		uint16_t slot;

		assert_int_equal(sbc_bk_claim(f->core.shm, b->uri, &b->addr,
					      &slot), 0);
	}

	f->core.workers = 1;
	assert_int_equal(sbc_backend_apply(&f->core), 0);

	return f;
}


/* The index in cfg->backends of the member a pick chose. */
static uint32_t pick_index(struct fixture *f, struct sbc_pick *p)
{
	uint16_t slot;

	assert_int_equal(sbc_backend_pick(&f->core, p, &slot), 0);

	for (uint32_t i = 0; i < f->core.cfg->backend_count; i++) {
		if (f->core.bk->by_backend[i] == slot)
			return i;
	}

	fail_msg("slot %u is no member", slot);
	return 0;
}


static struct sbc_bk *member_slot(struct fixture *f, uint32_t i)
{
	return sbc_bk_slot(f->core.shm, f->core.bk->by_backend[i]);
}


static const char three[] =
	"backends = ( { name = \"s\"; algorithm = \"%s\"; members = (\n"
	"  { uri = \"sip:10.0.0.1\"; weight = 1; capacity = %u; },\n"
	"  { uri = \"sip:10.0.0.2\"; weight = 2; capacity = %u; },\n"
	"  { uri = \"sip:10.0.0.3\"; weight = 3; capacity = %u; } ); } );\n"
	"probe = { interval = 1; };\n";


static struct fixture *three_new(const char *alg, unsigned c1, unsigned c2,
				 unsigned c3)
{
	char text[512];

	assert_true(re_snprintf(text, sizeof(text), three, alg, c1, c2,
				c3) > 0);

	return fixture_new(text);
}


static void test_round_robin(void **state)
{
	struct fixture *f = three_new("round-robin", 0, 0, 0);
	struct sbc_pick p = {.set = 0};
	unsigned n[3] = {0};

	(void)state;

	for (int i = 0; i < 300; i++)
		++n[pick_index(f, &p)];

	assert_int_equal(n[0], 100);
	assert_int_equal(n[1], 100);
	assert_int_equal(n[2], 100);

	fixture_free(f);
}


static void test_weighted(void **state)
{
	struct fixture *f = three_new("weighted", 0, 0, 0);
	struct sbc_pick p = {.set = 0};
	unsigned n[3] = {0}, last = 9, runs = 0;

	(void)state;

	for (int i = 0; i < 600; i++) {
		uint32_t k = pick_index(f, &p);

		++n[k];
		runs += k == 2 && last == 2;
		last = k;
	}

	assert_int_equal(n[0], 100);
	assert_int_equal(n[1], 200);
	assert_int_equal(n[2], 300);
	/* smooth: the heaviest is never picked three times running */
	assert_true(runs <= 100);

	fixture_free(f);
}


static void test_call_id_hash(void **state)
{
	struct fixture *f = three_new("call-id", 0, 0, 0);
	struct sbc_pick p = {.set = 0};
	unsigned n[3] = {0}, moved = 0;
	uint32_t first[3000];
	char id[32];

	(void)state;

	for (int i = 0; i < 3000; i++) {
		(void)re_snprintf(id, sizeof(id), "call-%d@host", i);
		pl_set_str(&p.callid, id);
		first[i] = pick_index(f, &p);
		assert_int_equal(pick_index(f, &p), first[i]);
		++n[first[i]];
	}

	/* weighted 1:2:3: 500, 1000, 1500 expected */
	assert_in_range(n[0], 400, 600);
	assert_in_range(n[1], 880, 1120);
	assert_in_range(n[2], 1380, 1620);

	/* member 1 down: only its calls move */
	atomic_store(&member_slot(f, 1)->down, 1);
	for (int i = 0; i < 3000; i++) {
		uint32_t k;

		(void)re_snprintf(id, sizeof(id), "call-%d@host", i);
		pl_set_str(&p.callid, id);
		k = pick_index(f, &p);
		assert_int_not_equal(k, 1);
		moved += k != first[i];
		if (first[i] != 1)
			assert_int_equal(k, first[i]);
	}
	assert_int_equal(moved, n[1]);

	fixture_free(f);
}


static void test_least_loaded(void **state)
{
	struct fixture *f = three_new("least-loaded", 10, 20, 30);
	struct sbc_pick p = {.set = 0, .reserve = true};
	uint16_t slot;

	(void)state;

	for (int i = 0; i < 30; i++)
		(void)pick_index(f, &p);

	assert_int_equal(atomic_load(&member_slot(f, 0)->calls), 5);
	assert_int_equal(atomic_load(&member_slot(f, 1)->calls), 10);
	assert_int_equal(atomic_load(&member_slot(f, 2)->calls), 15);

	for (int i = 0; i < 30; i++)
		(void)pick_index(f, &p);
	assert_int_equal(sbc_backend_pick(&f->core, &p, &slot), ENOENT);
	assert_int_equal(atomic_load(&member_slot(f, 0)->calls), 10);

	sbc_bk_release(member_slot(f, 0), 1);
	assert_int_equal(pick_index(f, &p), 0);

	fixture_free(f);
}


/* A full backend is skipped; the writer's places go back at its restart. */
static void test_capacity(void **state)
{
	struct fixture *f = three_new("round-robin", 2, 0, 0);
	struct sbc_pick p = {.set = 0, .reserve = true};
	unsigned n[3] = {0};

	(void)state;

	for (int i = 0; i < 30; i++)
		++n[pick_index(f, &p)];

	assert_int_equal(n[0], 2);
	assert_int_equal(n[1] + n[2], 28);

	sbc_bk_writer_reset(f->core.shm, 1);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&member_slot(f, i)->calls), 0);

	fixture_free(f);
}


static void test_backup_and_skip(void **state)
{
	struct fixture *f = fixture_new(
		"backends = ( { name = \"s\"; algorithm = \"round-robin\";\n"
		"  members = ( \"sip:10.0.0.1\", \"sip:10.0.0.2\",\n"
		"    { uri = \"sip:10.0.0.9\"; backup = true; } ); } );\n"
		"probe = { interval = 1; };\n");
	struct sbc_pick p = {.set = 0};
	struct sbc_bk_mask tried;
	uint16_t slot;

	(void)state;

	for (int i = 0; i < 10; i++)
		assert_int_not_equal(pick_index(f, &p), 2);

	memset(&tried, 0, sizeof(tried));
	sbc_bk_mask_add(&tried, f->core.bk->by_backend[0]);
	p.skip = &tried;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pick_index(f, &p), 1);

	atomic_store(&member_slot(f, 1)->down, 1);
	assert_int_equal(pick_index(f, &p), 2);

	sbc_bk_mask_add(&tried, f->core.bk->by_backend[2]);
	assert_int_equal(sbc_backend_pick(&f->core, &p, &slot), ENOENT);

	fixture_free(f);
}


/* Probes: down after down_after failures, up after up_after successes. */
static void test_probe_state(void **state)
{
	struct fixture *f = three_new("round-robin", 0, 0, 0);
	struct sbc_bk *bk = member_slot(f, 0);
	struct sbc_bk_probe fail = {.code = 0, .down_after = 2, .up_after = 3};
	struct sbc_bk_probe ok = {.code = 200, .alive = true, .rtt_us = 400,
				  .down_after = 2, .up_after = 3};

	(void)state;

	assert_false(sbc_bk_probed(bk, &fail, 1));
	assert_true(sbc_bk_probed(bk, &fail, 2));
	assert_false(sbc_bk_up(bk, true));
	assert_true(sbc_bk_up(bk, false));
	assert_false(sbc_bk_probed(bk, &ok, 3));
	assert_false(sbc_bk_probed(bk, &ok, 4));
	assert_true(sbc_bk_probed(bk, &ok, 5));
	assert_true(sbc_bk_up(bk, true));
	assert_int_equal(atomic_load(&bk->probes), 5);
	assert_int_equal(atomic_load(&bk->probe_failures), 2);
	assert_int_equal(atomic_load(&bk->rtt_us), 400);

	fixture_free(f);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_call_id_hash),
		cmocka_unit_test(test_least_loaded),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_backup_and_skip),
		cmocka_unit_test(test_probe_state),
	};

	return cmocka_run_group_tests_name("balance", tests, NULL, NULL);
}
