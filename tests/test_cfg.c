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

	if (f->path[0])
		unlink(f->path);

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


static void test_sip_defaults(void **state)
{
	struct fixture *f = *state;
	const struct sbc_config *c;

	assert_int_equal(sbc_config_load(&f->cfg, NULL, f->err,
					 sizeof(f->err)), 0);
	c = f->cfg;
	assert_null(c->text);
	assert_int_equal(c->listener_count, 4);
	assert_string_equal(c->listeners[0].name, "udp:127.0.0.1:5060");
	assert_string_equal(c->listeners[1].name, "tcp:127.0.0.1:5060");
	assert_string_equal(c->listeners[2].name, "ws:127.0.0.1:8080");
	assert_string_equal(c->listeners[3].name, "udp:127.0.0.1:5062");
	assert_int_equal(c->listeners[2].transport, SBC_TP_WS);
	assert_int_equal(c->listeners[3].side, SBC_SIDE_CORE);
	assert_int_equal(sa_port(&c->listeners[3].addr), 5062);
	assert_int_equal(c->backend_count, 1);
	assert_int_equal(sa_port(&c->backends[0].addr), 5080);
	assert_null(c->advertise[SBC_SIDE_ACCESS]);
	assert_null(c->tls_certificate);
	assert_string_equal(c->control_socket, "/run/sbcd/sbcd.ctl");
	assert_string_equal(c->pid_file, "/run/sbcd/sbcd.pid");
	assert_int_equal(c->max_message, 65535);
	assert_int_equal(c->t1_ms, 500);
	assert_int_equal(c->idle_timeout, 600);
	assert_int_equal(c->ws_ping_interval, 30);
	assert_int_equal(c->shutdown_grace, 10);
	assert_int_equal(c->ping_interval, 30);
	assert_int_equal(c->max_duration, 0);
	assert_null(c->cdr_file);
	assert_false(c->log_syslog);
}


static void test_sip_valid(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		"core = { listen = [ \"udp:[::1]:7000\", "
		"\"tcp:10.0.0.1:7000\" ]; advertise = \"10.9.9.9\"; };\n"
		"access = { listen = [ \"udp:192.0.2.1:5060\" ];\n"
		"  advertise = \"sbc.example.com\"; };\n"
		"backends = [ \"sip:10.0.0.2\", \"sip:[2001:db8::1]:5080\" ];\n"
		"control = { socket = \"/tmp/x.ctl\"; };\n"
		"log = { target = \"syslog\"; };\n"
		"sip = { t1 = 100; max_message_size = 4096; };\n"
		"connections = { idle_timeout = 5; ws_ping_interval = 2; };\n"
		"shutdown = { grace = 0; };\n"
		"dialog = { ping_interval = 0; max_duration = 7200; };\n"
		"cdr = { file = \"/var/log/sbcd/cdr.jsonl\"; };\n";
	const struct sbc_config *c;

	conf_write(f, text);
	if (sbc_config_load(&f->cfg, f->path, f->err, sizeof(f->err)))
		fail_msg("%s", f->err);
	c = f->cfg;

	assert_string_equal(c->text, text);
	assert_int_equal(c->listener_count, 3);
	assert_int_equal(c->listeners[0].side, SBC_SIDE_ACCESS);
	assert_int_equal(sa_af(&c->listeners[1].addr), AF_INET6);
	assert_int_equal(c->listeners[1].line, 1);
	assert_int_equal(c->listeners[2].transport, SBC_TP_TCP);
	assert_string_equal(c->advertise[SBC_SIDE_ACCESS], "sbc.example.com");
	assert_string_equal(c->advertise[SBC_SIDE_CORE], "10.9.9.9");
	assert_int_equal(c->backend_count, 2);
	assert_int_equal(sa_port(&c->backends[0].addr), 5060);
	assert_int_equal(sa_port(&c->backends[1].addr), 5080);
	assert_string_equal(c->control_socket, "/tmp/x.ctl");
	assert_string_equal(c->pid_file, "/run/sbcd/sbcd.pid");
	assert_true(c->log_syslog);
	assert_int_equal(c->t1_ms, 100);
	assert_int_equal(c->max_message, 4096);
	assert_int_equal(c->shutdown_grace, 0);
	assert_int_equal(c->ping_interval, 0);
	assert_int_equal(c->max_duration, 7200);
	assert_string_equal(c->cdr_file, "/var/log/sbcd/cdr.jsonl");
}


static void test_sip_errors(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "\naccess = { listen = [ \"sctp:127.0.0.1:1\" ]; };",
		     EINVAL, 2, "access.listen");
	expect_error(f, "access = { listen = [ \"udp:127.0.0.1:0\" ]; };",
		     EINVAL, 1, "udp:127.0.0.1:0");
	expect_error(f, "access = { listen = [ \"udp:::1:5060\" ]; };",
		     EINVAL, 1, "IPv6 in brackets");
	expect_error(f, "access = { listen = [ \"udp:localhost:5060\" ]; };",
		     EINVAL, 1, "not transport:address:port");
	expect_error(f, "access = { listen = [ ]; };", EINVAL, 1,
		     "non-empty");
	expect_error(f, "access = { listen = [ \"tcp:127.0.0.1:9\",\n"
		     "\"ws:127.0.0.1:9\" ]; };", EINVAL, 1, "takes the socket");
	expect_error(f, "core = { listen = [ \"tcp:127.0.0.1:9\" ]; };",
		     EINVAL, 1, "needs a udp listener");
	expect_error(f, "\n\naccess = { listen = [ \"wss:127.0.0.1:9\" ]; };",
		     EINVAL, 3, "tls.certificate");
	expect_error(f, "tls = { certificate = \"/nonexistent.pem\";\n"
		     "key = \"/nonexistent.key\"; };\n"
		     "access = { listen = [ \"tls:127.0.0.1:9\" ]; };",
		     EINVAL, 3, "cannot be read");
	expect_error(f, "backends = [ \"sip:pbx.example.com\" ];", EINVAL,
		     1, "sip:address[:port]");
	expect_error(f, "backends = [ \"sip:u@10.0.0.1\" ];", EINVAL, 1,
		     "backends");
	expect_error(f, "control = { socket = \"\"; };", EINVAL, 1,
		     "must not be empty");
	expect_error(f, "dialog = { ping_interval = 3601; };", EINVAL, 1,
		     "'dialog.ping_interval' is 3601");
	expect_error(f, "dialog = { max_duration = -1; };", EINVAL, 1,
		     "'dialog.max_duration' is -1");
	expect_error(f, "log = { target = \"file\"; };", EINVAL, 1,
		     "\"syslog\"");
	expect_error(f, "sip = { t1 = 5; };", EINVAL, 1, "sip.t1");
}


/* The default backend set, probing and failover. */
static void test_backends_defaults(void **state)
{
	struct fixture *f = *state;
	const struct sbc_config *c;

	assert_int_equal(sbc_config_load(&f->cfg, NULL, f->err,
					 sizeof(f->err)), 0);
	c = f->cfg;
	assert_int_equal(c->set_count, 1);
	assert_string_equal(c->sets[0].name, "default");
	assert_int_equal(c->sets[0].algorithm, SBC_ALG_AOR);
	assert_int_equal(c->sets[0].count, 1);
	assert_int_equal(c->backends[0].weight, 1);
	assert_int_equal(c->backends[0].capacity, 0);
	assert_false(c->backends[0].backup);
	assert_int_equal(c->route_count, 0);
	assert_int_equal(c->probe_interval, 10);
	assert_int_equal(c->probe_down_after, 3);
	assert_int_equal(c->probe_up_after, 2);
	assert_false(sbc_codes_has(&c->probe_alive, 404));
	assert_true(sbc_codes_has(&c->failover_codes, 408));
	assert_true(sbc_codes_has(&c->failover_codes, 503));
	assert_false(sbc_codes_has(&c->failover_codes, 486));
	assert_int_equal(c->failover_timeout, 3000);
	assert_int_equal(c->failover_attempts, 3);
}


static void test_backends_sets(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		"routes = ( { prefix = \"00\"; set = \"pstn\"; },\n"
		"  { domain = \"b.example.com\"; set = \"pbx\"; } );\n"
		"backends = (\n"
		"  { name = \"pbx\"; algorithm = \"least-loaded\";\n"
		"    members = ( { uri = \"sip:10.0.0.1\"; weight = 2;\n"
		"                  capacity = 10; },\n"
		"                \"sip:10.0.0.2:5080\",\n"
		"                { uri = \"sip:10.0.0.3\"; backup = true; } );"
		" },\n"
		"  { name = \"pstn\"; members = [ \"sip:10.0.1.1\" ]; } );\n"
		"probe = { interval = 0; down_after = 5; alive = [ 404, 405 ]; };"
		"\nfailover = { codes = [ 486 ]; timeout = 500; attempts = 1; };"
		"\n";
	const struct sbc_config *c;

	conf_write(f, text);
	if (sbc_config_load(&f->cfg, f->path, f->err, sizeof(f->err)))
		fail_msg("%s", f->err);
	c = f->cfg;

	assert_int_equal(c->set_count, 2);
	assert_int_equal(c->backend_count, 4);
	assert_int_equal(c->sets[0].algorithm, SBC_ALG_LEAST_LOADED);
	assert_int_equal(c->sets[0].first, 0);
	assert_int_equal(c->sets[0].count, 3);
	assert_int_equal(c->sets[1].first, 3);
	assert_int_equal(c->sets[1].count, 1);
	assert_int_equal(c->backends[0].weight, 2);
	assert_int_equal(c->backends[0].capacity, 10);
	assert_int_equal(sa_port(&c->backends[1].addr), 5080);
	assert_true(c->backends[2].backup);
	assert_int_equal(c->backends[3].set, 1);
	assert_int_equal(c->route_count, 2);
	assert_string_equal(c->routes[0].prefix, "00");
	assert_int_equal(c->routes[0].set, 1);
	assert_string_equal(c->routes[1].domain, "b.example.com");
	assert_int_equal(c->routes[1].set, 0);
	assert_int_equal(c->probe_interval, 0);
	assert_int_equal(c->probe_down_after, 5);
	assert_true(sbc_codes_has(&c->probe_alive, 405));
	assert_true(sbc_codes_has(&c->failover_codes, 486));
	assert_false(sbc_codes_has(&c->failover_codes, 503));
	assert_int_equal(c->failover_timeout, 500);
	assert_int_equal(c->failover_attempts, 1);
}


static void test_backends_errors(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "backends = ( { name = \"a\"; algorithm = \"random\";"
		     " members = [ \"sip:10.0.0.1\" ]; } );", EINVAL, 1,
		     "must be one of round-robin");
	expect_error(f, "backends = ( { name = \"a\";\n members = [ ]; } );",
		     EINVAL, 2, "'members' must be a non-empty list");
	expect_error(f, "backends = ( { members = [ \"sip:10.0.0.1\" ]; } );",
		     EINVAL, 1, "needs 'name'");
	expect_error(f, "backends = ( { name = \"a\"; members = "
		     "[ \"sip:10.0.0.1\" ]; },\n{ name = \"a\"; members = "
		     "[ \"sip:10.0.0.2\" ]; } );", EINVAL, 2, "two sets");
	expect_error(f, "backends = ( { name = \"a\"; members = "
		     "[ \"sip:10.0.0.1\" ]; },\n{ name = \"b\"; members = "
		     "[ \"sip:10.0.0.1\" ]; } );", EINVAL, 2,
		     "already in set \"a\"");
	expect_error(f, "backends = ( { name = \"a\"; members = (\n"
		     "{ uri = \"sip:10.0.0.1\"; weight = 0; } ); } );", EINVAL,
		     2, "'weight' is 0");
	expect_error(f, "backends = ( { name = \"a\"; members = (\n"
		     "{ uri = \"sip:10.0.0.1\"; wieght = 2; } ); } );", EINVAL,
		     2, "unknown key 'wieght'");
	expect_error(f, "backends = ( \"sip:10.0.0.1\", 5 );", EINVAL, 1,
		     "not both");
	expect_error(f, "routes = ( { prefix = \"9\"; set = \"nope\"; } );",
		     EINVAL, 1, "no such set");
	expect_error(f, "routes = ( { prefix = \"9\"; } );", EINVAL, 1,
		     "needs 'set'");
	expect_error(f, "probe = { alive = [ 99 ]; };", EINVAL, 1,
		     "'probe.alive' holds status codes");
	expect_error(f, "failover = { attempts = 0; };", EINVAL, 1,
		     "'failover.attempts' is 0");
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
	assert_int_equal(f->cfg->log_syslog, def->log_syslog);
	assert_string_equal(f->cfg->control_socket, def->control_socket);
	assert_string_equal(f->cfg->pid_file, def->pid_file);
	assert_int_equal(f->cfg->listener_count, def->listener_count);
	for (uint32_t i = 0; i < def->listener_count; i++) {
		assert_string_equal(f->cfg->listeners[i].name,
				    def->listeners[i].name);
		assert_int_equal(f->cfg->listeners[i].side,
				 def->listeners[i].side);
	}
	assert_int_equal(f->cfg->backend_count, def->backend_count);
	assert_string_equal(f->cfg->backends[0].uri, def->backends[0].uri);
	assert_null(f->cfg->advertise[SBC_SIDE_ACCESS]);
	assert_null(f->cfg->advertise[SBC_SIDE_CORE]);
	assert_null(f->cfg->tls_certificate);
	assert_int_equal(f->cfg->max_message, def->max_message);
	assert_int_equal(f->cfg->t1_ms, def->t1_ms);
	assert_int_equal(f->cfg->idle_timeout, def->idle_timeout);
	assert_int_equal(f->cfg->ws_ping_interval, def->ws_ping_interval);
	assert_int_equal(f->cfg->shutdown_grace, def->shutdown_grace);
	assert_int_equal(f->cfg->ping_interval, def->ping_interval);
	assert_int_equal(f->cfg->max_duration, def->max_duration);
	assert_null(f->cfg->cdr_file);
	assert_int_equal(f->cfg->set_count, def->set_count);
	assert_string_equal(f->cfg->sets[0].name, def->sets[0].name);
	assert_int_equal(f->cfg->sets[0].algorithm, def->sets[0].algorithm);
	assert_int_equal(f->cfg->probe_interval, def->probe_interval);
	assert_int_equal(f->cfg->probe_down_after, def->probe_down_after);
	assert_int_equal(f->cfg->probe_up_after, def->probe_up_after);
	assert_memory_equal(&f->cfg->probe_alive, &def->probe_alive,
			    sizeof(def->probe_alive));
	assert_memory_equal(&f->cfg->failover_codes, &def->failover_codes,
			    sizeof(def->failover_codes));
	assert_int_equal(f->cfg->failover_timeout, def->failover_timeout);
	assert_int_equal(f->cfg->failover_attempts, def->failover_attempts);

	mem_deref(def);
}


static void test_rtp(void **state)
{
	struct fixture *f = *state;
	const struct sbc_rtp_conf *rtp;

	assert_int_equal(sbc_config_load(&f->cfg, NULL, f->err,
					 sizeof(f->err)), 0);
	rtp = &f->cfg->rtp;
	assert_int_equal(rtp->workers, 1);
	assert_int_equal(rtp->port_min, 16384);
	assert_int_equal(rtp->port_max, 32767);
	assert_int_equal(rtp->io, SBC_RTP_IO_CONF_URING);
	assert_int_equal(rtp->timeout, 0);
	assert_true(sa_isset(&rtp->addr[SBC_SIDE_ACCESS], SA_ADDR));
	assert_false(sa_isset(&rtp->advertise[SBC_SIDE_CORE], SA_ADDR));
	assert_true(f->cfg->sets[0].media);
	f->cfg = mem_deref(f->cfg);

	conf_write(f,
		"rtp = { workers = 2; port_min = 20001; port_max = 20100;\n"
		"  core_address = \"::1\"; access_advertise = \"192.0.2.7\";\n"
		"  io = \"epoll\"; timeout = 30; };\n"
		"backends = ( { name = \"fs\"; media = false;\n"
		"  members = [ \"sip:127.0.0.1:5080\" ]; } );\n");
	assert_int_equal(sbc_config_load(&f->cfg, f->path, f->err,
					 sizeof(f->err)), 0);
	rtp = &f->cfg->rtp;
	assert_int_equal(rtp->workers, 2);
	assert_int_equal(rtp->io, SBC_RTP_IO_CONF_EPOLL);
	assert_int_equal(rtp->timeout, 30);
	assert_int_equal(sa_af(&rtp->addr[SBC_SIDE_CORE]), AF_INET6);
	assert_true(sa_isset(&rtp->advertise[SBC_SIDE_ACCESS], SA_ADDR));
	assert_false(f->cfg->sets[0].media);
}


static void test_rtp_errors(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "rtp = {\n io = \"poll\"; };\n", EINVAL, 2,
		     "'rtp.io'");
	expect_error(f, "rtp = {\n core_address = \"0.0.0.0\"; };\n",
		     EINVAL, 2, "not a wildcard");
	expect_error(f, "rtp = {\n access_address = \"relay.example\"; };\n",
		     EINVAL, 2, "'rtp.access_address'");
	expect_error(f, "rtp = {\n workers = 17; };\n", EINVAL, 2,
		     "'rtp.workers' is 17");
	expect_error(f, "rtp = {\n port_min = 80; };\n", EINVAL, 2,
		     "'rtp.port_min' is 80");
	expect_error(f, "backends = ( { name = \"a\";\n media = 1;\n"
		     " members = [ \"sip:127.0.0.1\" ]; } );\n", EINVAL, 2,
		     "'media' must be true or false");

	/* a range with room for too few pairs: no line is the culprit */
	conf_write(f, "rtp = { workers = 2; port_min = 20000; "
		   "port_max = 20005; };\n");
	assert_int_equal(sbc_config_load(&f->cfg, f->path, f->err,
					 sizeof(f->err)), EINVAL);
	assert_null(f->cfg);
	assert_non_null(strstr(f->err, "holds too few port pairs"));
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
		cmocka_unit_test_setup_teardown(test_sip_defaults, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sip_valid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sip_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backends_defaults, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backends_sets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backends_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtp_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shipped_is_default, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
