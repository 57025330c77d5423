/*
 * Unit tests of the supervisor's small parts: escaping what came from the
 * network for JSON and for a terminal, parsing control requests, aligned
 * text tables, sealed config memfds, the PID file and its lock, and
 * creating a file's directories. The supervisor as a whole, its workers
 * and sbcctl are tested against the real daemon in tests/it/.
 */

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <re.h>
#include "cfg/json.h"
#include "daemon/texttab.h"
#include "daemon/control.h"
#include "daemon/cfgfd.h"
#include "daemon/pidfile.h"
#include "daemon/path.h"

enum {
	OUT_SIZE = 1024,
};


static void leak_check(void)
{
	struct memstat st;

	/* libre built without MEM_DEBUG answers ENOSYS: LeakSanitizer then
	 * covers leaks in the sanitizer build */
	if (0 == mem_get_stat(&st))
		assert_int_equal(st.blocks_cur, 0);
}


static void json_is(const char *in, const char *want)
{
	char out[OUT_SIZE];

	assert_true(re_snprintf(out, sizeof(out), "%H", sbc_json_str,
				in) >= 0);
	assert_string_equal(want, out);
}


static void test_json(void **state)
{
	(void)state;

	json_is(NULL, "null");
	json_is("", "\"\"");
	json_is("plain text", "\"plain text\"");
	json_is("q\"b\\s/", "\"q\\\"b\\\\s/\"");
	json_is("\b\f\n\r\t\x01\x1b\x7f", "\"\\b\\f\\n\\r\\t\\u0001\\u001b"
		"\\u007f\"");
	/* valid UTF-8 passes: e acute, euro sign, a 4-byte emoji */
	json_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* not UTF-8: a stray byte, a cut sequence, an overlong form, a
	 * surrogate, above U+10FFFF */
	json_is("a\xff" "b", "\"a\\ufffdb\"");
	json_is("\xe2\x82", "\"\\ufffd\\ufffd\"");
	json_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	json_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	json_is("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}


static void test_text_safe(void **state)
{
	char out[OUT_SIZE];
	(void)state;

	assert_true(re_snprintf(out, sizeof(out), "%H", sbc_text_safe,
				"ok \x1b[31m\\x \xc3\xa9\t") >= 0);
	assert_string_equal("ok \\x1b[31m\\x5cx \\xc3\\xa9\\x09", out);

	assert_true(re_snprintf(out, sizeof(out), "%H", sbc_text_safe,
				NULL) >= 0);
	assert_string_equal("-", out);
}


static void req_ok(const char *line, enum sbc_ctl_cmd cmd, const char *arg,
		   bool json)
{
	struct sbc_ctl_req req;

	assert_int_equal(0, sbc_ctl_req_parse(&req, line));
	assert_int_equal(cmd, req.cmd);
	assert_string_equal(arg, req.arg);
	assert_int_equal(json, req.json);
}


static void test_request(void **state)
{
	struct sbc_ctl_req req;
	char longarg[400];
	const char *bad[] = {
		"", "   ", "json", "stats", "status now", "workers alice",
		"reload json json", "registrations a b",
		"registrations a b json", "STATUS", "dialog", "dialog end",
		"dialogs x", "dialog stop abc",
		"dialog end a b", "dialog end json",
	};
	(void)state;

	req_ok("status", SBC_CTL_STATUS, "", false);
	req_ok("  status json\r", SBC_CTL_STATUS, "", true);
	req_ok("workers\tjson", SBC_CTL_WORKERS, "", true);
	req_ok("reload", SBC_CTL_RELOAD, "", false);
	req_ok("registrations", SBC_CTL_REGISTRATIONS, "", false);
	req_ok("registrations json", SBC_CTL_REGISTRATIONS, "", true);
	req_ok("registrations sip:alice@example.com json",
	       SBC_CTL_REGISTRATIONS, "sip:alice@example.com", true);
	req_ok("dialogs", SBC_CTL_DIALOGS, "", false);
	req_ok("dialogs json", SBC_CTL_DIALOGS, "", true);
	req_ok("dialog end a84b@10.0.0.1", SBC_CTL_DIALOG_END,
	       "a84b@10.0.0.1", false);
	req_ok("dialog end a84b@10.0.0.1 json", SBC_CTL_DIALOG_END,
	       "a84b@10.0.0.1", true);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(EINVAL, sbc_ctl_req_parse(&req, bad[i]));

	memset(longarg, 'a', sizeof(longarg) - 1);
	memcpy(longarg, "registrations ", 14);
	longarg[sizeof(longarg) - 1] = '\0';
	assert_int_equal(EINVAL, sbc_ctl_req_parse(&req, longarg));
	assert_int_equal(EINVAL, sbc_ctl_req_parse(&req, NULL));

	assert_string_equal("registrations",
			    sbc_ctl_cmd_name(SBC_CTL_REGISTRATIONS));
}


static void test_texttab(void **state)
{
	static const char *const heads[] = {"name", "n", "note"};
	struct sbc_texttab *tab = NULL;
	char out[OUT_SIZE];
	(void)state;

	assert_int_equal(0, sbc_texttab_alloc(&tab, heads, 3));
	assert_int_equal(0, sbc_texttab_cell(tab, "%s", "x"));
	assert_int_equal(0, sbc_texttab_cell(tab, "%u", 12345u));
	assert_int_equal(0, sbc_texttab_cell(tab, "%s", "first"));
	assert_int_equal(0, sbc_texttab_cell(tab, "%s", "longer\x1b"));
	assert_int_equal(0, sbc_texttab_cell(tab, "%d", 7));
	assert_int_equal(0, sbc_texttab_cell(tab, "%s", ""));
	/* an incomplete row is not printed */
	assert_int_equal(0, sbc_texttab_cell(tab, "%s", "half"));
	assert_int_equal(2, sbc_texttab_rows(tab));

	assert_true(re_snprintf(out, sizeof(out), "%H", sbc_texttab_print,
				tab) >= 0);
	assert_string_equal("name        n      note\n"
			    "x           12345  first\n"
			    "longer\\x1b  7      \n", out);

	tab = mem_deref(tab);
	assert_int_equal(EINVAL, sbc_texttab_alloc(&tab, heads, 0));
	leak_check();
}


static void test_cfgfd(void **state)
{
	const char *text = "workers = 2;\n";
	char buf[64];
	int fd, fd2, seals;
	(void)state;

	assert_int_equal(0, sbc_cfgfd_create(&fd, text));
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals & F_SEAL_WRITE);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_SEAL);
	assert_int_equal(-1, write(fd, "x", 1));
	assert_int_equal(-1, ftruncate(fd, 0));
	assert_int_equal(-1, fcntl(fd, F_ADD_SEALS, 0));

	/* a description of its own: its own offset, read-only */
	assert_int_equal(0, sbc_cfgfd_reopen(&fd2, fd));
	assert_int_equal(5, read(fd2, buf, 5));
	assert_int_equal(0, lseek(fd, 0, SEEK_CUR));
	assert_int_equal(-1, write(fd2, "x", 1));
	assert_int_equal(strlen(text) - 5, read(fd2, buf + 5, sizeof(buf) - 5));
	assert_memory_equal(text, buf, strlen(text));
	(void)close(fd2);
	(void)close(fd);

	/* the built-in defaults: an empty file */
	assert_int_equal(0, sbc_cfgfd_create(&fd, NULL));
	assert_int_equal(0, read(fd, buf, sizeof(buf)));
	(void)close(fd);

	assert_int_equal(EINVAL, sbc_cfgfd_reopen(&fd2, -1));
}


static void tmpdir_make(char *dir, size_t size)
{
	const char *base = getenv("TMPDIR");

	assert_true(re_snprintf(dir, size, "%s/sbcd-daemon-XXXXXX",
				base && *base ? base : "/tmp") > 0);
	assert_non_null(mkdtemp(dir));
}


static void pidfile_names(const char *path, pid_t pid)
{
	char buf[32];
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	(void)fclose(f);
	assert_int_equal(pid, atoi(buf));
}


static void test_pidfile(void **state)
{
	struct sbc_pidfile *pf = NULL, *pf2 = NULL;
	char dir[256], path[300];
	FILE *f;
	pid_t child;
	(void)state;

	tmpdir_make(dir, sizeof(dir));
	assert_true(re_snprintf(path, sizeof(path), "%s/run/sub/sbcd.pid",
				dir) > 0);

	/* the directories are made, the file names this process */
	assert_int_equal(0, sbc_pidfile_create(&pf, path));
	pidfile_names(path, getpid());

	/* held: a second one is refused and leaves the file as it was */
	assert_int_equal(EEXIST, sbc_pidfile_create(&pf2, path));
	assert_null(pf2);
	pidfile_names(path, getpid());

	pf = mem_deref(pf);
	assert_int_equal(-1, access(path, F_OK));

	/* a file naming a live process is refused, a dead one's is not */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}

	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)child);
	(void)fclose(f);
	assert_int_equal(EEXIST, sbc_pidfile_create(&pf, path));

	assert_int_equal(0, kill(child, SIGKILL));
	assert_int_equal(child, waitpid(child, NULL, 0));
	assert_int_equal(0, sbc_pidfile_create(&pf, path));
	pidfile_names(path, getpid());
	pf = mem_deref(pf);

	assert_true(re_snprintf(path, sizeof(path), "rm -rf '%s'", dir) > 0);
	assert_int_equal(0, system(path));
	leak_check();
}


static void test_mkparent(void **state)
{
	char dir[256], path[300];
	struct stat st;
	(void)state;

	tmpdir_make(dir, sizeof(dir));
	assert_true(re_snprintf(path, sizeof(path), "%s/a/b/c/file", dir) > 0);

	assert_int_equal(0, sbc_path_mkparent(path));
	assert_int_equal(0, sbc_path_mkparent(path));
	*strrchr(path, '/') = '\0';
	assert_int_equal(0, stat(path, &st));
	assert_true(S_ISDIR(st.st_mode));

	assert_int_equal(EINVAL, sbc_path_mkparent(""));
	assert_int_equal(0, sbc_path_mkparent("relative-file"));

	assert_true(re_snprintf(path, sizeof(path), "rm -rf '%s'", dir) > 0);
	assert_int_equal(0, system(path));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text_safe),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_texttab),
		cmocka_unit_test(test_cfgfd),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_mkparent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
