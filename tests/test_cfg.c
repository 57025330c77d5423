/*
 * Unit tests of cfg/: the configuration's defaults, a valid file, and every
 * kind of error, each of which must name the file, the line and the key.
 * The shipped example (cfg/sbcd.conf, path in $SBCD_CONF) must load and
 * equal the built-in defaults, so the two never drift apart.
 */

#include <errno.h>
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
#include "cfg/config.h"

struct fixture {
	char path[256];
	char err[SBC_CONFIG_ERR_SIZE];
	struct sbc_config *cfg;
};


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	*state = f;
	return 0;
}


static int teardown(void **state)
{
	struct fixture *f = *state;
	struct memstat st;

	if (f->path[0])
		unlink(f->path);
	mem_deref(f->cfg);
	free(f);

	/* libre built without MEM_DEBUG answers ENOSYS: LeakSanitizer then
	 * covers leaks in the sanitizer build */
	if (0 == mem_get_stat(&st))
		assert_int_equal(st.blocks_cur, 0);

	return 0;
}


/* Write text to a new temporary file under $TMPDIR, its name in f->path. */
static void conf_write(struct fixture *f, const char *text)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	int fd;

	assert_true(re_snprintf(f->path, sizeof(f->path), "%s/sbcd-cfg-XXXXXX",
				dir && *dir ? dir : "/tmp") > 0);
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}


/* Load text, expect err, and a message that starts with PATH:LINE: and
 * names `what`. */
static void expect_error(struct fixture *f, const char *text, int err,
			 unsigned line, const char *what)
{
	char prefix[300];

	conf_write(f, text);
	assert_int_equal(sbc_config_load(&f->cfg, f->path, f->err,
					 sizeof(f->err)), err);
	assert_null(f->cfg);

	assert_true(re_snprintf(prefix, sizeof(prefix), "%s:%u: ",
				f->path, line) > 0);
	if (strncmp(f->err, prefix, strlen(prefix)))
		fail_msg("expected '%s...', got '%s'", prefix, f->err);
	if (what && !strstr(f->err, what))
		fail_msg("expected '%s' in '%s'", what, f->err);
}


static uint32_t cpus_clamped(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (uint32_t)n;
}


static void test_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(sbc_config_load(&f->cfg, NULL, f->err,
					 sizeof(f->err)), 0);
	assert_null(f->cfg->path);
	assert_int_equal(f->cfg->workers, cpus_clamped());
	assert_int_equal(f->cfg->reg_max, 10000);
	assert_int_equal(f->cfg->dlg_max, 10000);
	assert_int_equal(f->cfg->log_level, SBC_LOG_INFO);
	assert_false(f->cfg->huge_pages);
	assert_string_equal(f->err, "");
}


static void test_valid(void **state)
{
	struct fixture *f = *state;

	conf_write(f,
		"# a comment with a big number: 99999999999\n"
		"workers = 3;\n"
		"registrations = { max = 1000000; };\n"
		"dialogs: { max = 0x100; }  // hex, colon, no semicolon\n"
		"memory = { huge_pages = true; };\n"
		"log = {\n"
		"  level = \"debug\"; /* 4294967297 in a comment */\n"
		"};\n");

	assert_int_equal(sbc_config_load(&f->cfg, f->path, f->err,
					 sizeof(f->err)), 0);
	assert_string_equal(f->cfg->path, f->path);
	assert_int_equal(f->cfg->workers, 3);
	assert_int_equal(f->cfg->reg_max, 1000000);
	assert_int_equal(f->cfg->dlg_max, 256);
	assert_true(f->cfg->huge_pages);
	assert_int_equal(f->cfg->log_level, SBC_LOG_DEBUG);
}


static void test_partial(void **state)
{
	struct fixture *f = *state;

	conf_write(f, "registrations = { };\ndialogs = { max = 5L; };\n");

	assert_int_equal(sbc_config_load(&f->cfg, f->path, NULL, 0), 0);
	assert_int_equal(f->cfg->workers, cpus_clamped());
	assert_int_equal(f->cfg->reg_max, 10000);
	assert_int_equal(f->cfg->dlg_max, 5);
}


static void test_empty(void **state)
{
	struct fixture *f = *state;

	conf_write(f, "");

	assert_int_equal(sbc_config_load(&f->cfg, f->path, NULL, 0), 0);
	assert_int_equal(f->cfg->reg_max, 10000);
}


static void test_syntax(void **state)
{
	expect_error(*state, "workers = 2;\n\nlog = { level = ; };\n",
		     EBADMSG, 3, "syntax error");
}


static void test_duplicate(void **state)
{
	expect_error(*state, "workers = 2;\nworkers = 3;\n",
		     EBADMSG, 2, "duplicate");
}


static void test_unknown_key(void **state)
{
	expect_error(*state,
		     "registrations = {\n  max = 5;\n  mx = 6;\n};\n",
		     EINVAL, 3, "'registrations.mx'");
}


static void test_unknown_top(void **state)
{
	expect_error(*state, "worker = 2;\n", EINVAL, 1, "'worker'");
}


static void test_wrong_type(void **state)
{
	expect_error(*state, "# sbcd\nworkers = \"four\";\n",
		     EINVAL, 2, "'workers' must be an integer");
}


static void test_wrong_type_bool(void **state)
{
	expect_error(*state, "memory = {\n  huge_pages = 1;\n};\n",
		     EINVAL, 2, "'memory.huge_pages' must be true or false");
}


static void test_float_for_int(void **state)
{
	expect_error(*state, "dialogs = {\n max = 1.5;\n};\n",
		     EINVAL, 2, "'dialogs.max' must be an integer");
}


static void test_group_expected(void **state)
{
	expect_error(*state, "log = \"debug\";\n",
		     EINVAL, 1, "'log' must be a group");
}


static void test_range_low(void **state)
{
	expect_error(*state, "dialogs = {\n\n  max = 0;\n};\n",
		     EINVAL, 3, "'dialogs.max' is 0");
}


static void test_range_high(void **state)
{
	expect_error(*state, "workers = 65;\n", EINVAL, 1, "'workers' is 65");
}


static void test_range_int64(void **state)
{
	expect_error(*state, "registrations = { max = 10000001L; };\n",
		     EINVAL, 1, "'registrations.max'");
}


/* libconfig 1.5 would read 4294967297 as 1: it must be refused. */
static void test_wrapping_literal(void **state)
{
	expect_error(*state, "\nregistrations = { max = 4294967297; };\n",
		     EINVAL, 2, "4294967297");
}


static void test_bad_level(void **state)
{
	expect_error(*state, "log = { level = \"verbose\"; };\n",
		     EINVAL, 1, "'log.level'");
}


static void test_include_refused(void **state)
{
	expect_error(*state, "workers = 2;\n@include \"other.conf\"\n",
		     EINVAL, 2, "@include");
}


static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	const char *path = "/nonexistent/sbcd.conf";

	assert_int_equal(sbc_config_load(&f->cfg, path, f->err,
					 sizeof(f->err)), ENOENT);
	assert_null(f->cfg);
	assert_non_null(strstr(f->err, path));
}


static void test_shipped_is_default(void **state)
{
	struct fixture *f = *state;
	struct sbc_config *def = NULL;
	const char *path = getenv("SBCD_CONF");

	assert_non_null(path);

	assert_int_equal(sbc_config_load(&def, NULL, NULL, 0), 0);
	if (sbc_config_load(&f->cfg, path, f->err, sizeof(f->err)))
		fail_msg("%s", f->err);

	assert_int_equal(f->cfg->workers, def->workers);
	assert_int_equal(f->cfg->reg_max, def->reg_max);
	assert_int_equal(f->cfg->dlg_max, def->dlg_max);
	assert_int_equal(f->cfg->log_level, def->log_level);
	assert_int_equal(f->cfg->huge_pages, def->huge_pages);

	mem_deref(def);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_top, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type_bool, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_float_for_int, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_group_expected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_range_low, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_range_high, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_range_int64, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrapping_literal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_level, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_include_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shipped_is_default, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
