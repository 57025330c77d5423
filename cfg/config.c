/*
 * Loading the configuration: defaults, libconfig, and the schema.
 *
 * The schema below is the list of every key sbcd knows, with its type and
 * range. The parsed tree is walked once: a key not in the schema, a value of
 * another type or out of range is an error that names the file, the line
 * and the key, so a typo never silently leaves a default in force.
 * libconfig reports syntax errors (with their line) itself.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <libconfig.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "cfg/source.h"
#include "cfg/listen.h"
#include "cfg/backends.h"
#include "cfg/rtp.h"

enum {
	WORKERS_MAX       = 64,
	REG_MAX_DEFAULT   = 10000,
	REG_MAX_LIMIT     = 10000000,
	DLG_MAX_DEFAULT   = 10000,
	DLG_MAX_LIMIT     = 2000000,
	MESSAGE_MIN       = 1500,
	MESSAGE_MAX       = 65535,
	T1_DEFAULT        = 500,
	IDLE_DEFAULT      = 600,
	WS_PING_DEFAULT   = 30,
	GRACE_DEFAULT     = 10,
	PING_DEFAULT      = 30,
	LISTENERS_MAX     = 64,
	PROBE_DEFAULT     = 10,
	DOWN_AFTER_DEFAULT = 3,
	UP_AFTER_DEFAULT  = 2,
	FAILOVER_TIMEOUT_DEFAULT = 3000,
	FAILOVER_ATTEMPTS_DEFAULT = 3,
};

/* INVITE finals that move a call to the next backend, by default. */
static const uint16_t failover_default[] = {408, 500, 502, 503, 504};

/* The built-in node: loopback only, nothing external. */
static const char *const access_default[] = {
	"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060", "ws:127.0.0.1:8080",
};
static const char *const core_default[] = {"udp:127.0.0.1:5062"};
static const char backend_default[] = "sip:127.0.0.1:5080";
static const char control_socket_default[] = "/run/sbcd/sbcd.ctl";
static const char pid_file_default[] = "/run/sbcd/sbcd.pid";

enum key_type {
	KEY_GROUP,
	KEY_INT,      /* uint32_t in struct sbc_config, within [min, max] */
	KEY_LEVEL,    /* enum sbc_log_level, written as its name */
	KEY_BOOL,     /* bool in struct sbc_config */
	KEY_STRING,   /* char * in struct sbc_config, "" is NULL unless
		       * min is 1 (then it must not be empty) */
	KEY_TARGET,   /* log.target: "stderr" or "syslog" */
	KEY_LISTEN,   /* a side's listeners; min is the side */
	KEY_BACKENDS, /* the backend sets (backends.c) */
	KEY_ROUTES,   /* the routing rules (backends.c) */
	KEY_CODES,    /* struct sbc_codes: an array of status codes */
	KEY_ADDR,     /* struct sa in struct sbc_config: an IP address;
		       * min 1: must be given, 0: "" leaves it unset */
	KEY_RTP_IO,   /* rtp.io: "io_uring" or "epoll" */
};

struct key {
	const char *name;   /* dotted path from the root */
	enum key_type type;
	long long min;
	long long max;
	size_t off;         /* of the value in struct sbc_config */
};

static const struct key schema[] = {
	{"workers",           KEY_INT,   1, WORKERS_MAX,
	 offsetof(struct sbc_config, workers)},
	{"registrations",     KEY_GROUP, 0, 0, 0},
	{"registrations.max", KEY_INT,   1, REG_MAX_LIMIT,
	 offsetof(struct sbc_config, reg_max)},
	{"dialogs",           KEY_GROUP, 0, 0, 0},
	{"dialogs.max",       KEY_INT,   1, DLG_MAX_LIMIT,
	 offsetof(struct sbc_config, dlg_max)},
	{"memory",            KEY_GROUP, 0, 0, 0},
	{"memory.huge_pages", KEY_BOOL,  0, 0,
	 offsetof(struct sbc_config, huge_pages)},
	{"log",               KEY_GROUP, 0, 0, 0},
	{"log.level",         KEY_LEVEL, 0, 0,
	 offsetof(struct sbc_config, log_level)},
	{"log.target",        KEY_TARGET, 0, 0,
	 offsetof(struct sbc_config, log_syslog)},
	{"control",           KEY_GROUP, 0, 0, 0},
	{"control.socket",    KEY_STRING, 1, 0,
	 offsetof(struct sbc_config, control_socket)},
	{"control.pid_file",  KEY_STRING, 1, 0,
	 offsetof(struct sbc_config, pid_file)},
	{"access",            KEY_GROUP, 0, 0, 0},
	{"access.listen",     KEY_LISTEN, SBC_SIDE_ACCESS, 0, 0},
	{"access.advertise",  KEY_STRING, 0, 0,
	 offsetof(struct sbc_config, advertise[SBC_SIDE_ACCESS])},
	{"core",              KEY_GROUP, 0, 0, 0},
	{"core.listen",       KEY_LISTEN, SBC_SIDE_CORE, 0, 0},
	{"core.advertise",    KEY_STRING, 0, 0,
	 offsetof(struct sbc_config, advertise[SBC_SIDE_CORE])},
	{"backends",          KEY_BACKENDS, 0, 0, 0},
	{"routes",            KEY_ROUTES, 0, 0, 0},
	{"probe",             KEY_GROUP, 0, 0, 0},
	{"probe.interval",    KEY_INT,   0, 3600,
	 offsetof(struct sbc_config, probe_interval)},
	{"probe.down_after",  KEY_INT,   1, 100,
	 offsetof(struct sbc_config, probe_down_after)},
	{"probe.up_after",    KEY_INT,   1, 100,
	 offsetof(struct sbc_config, probe_up_after)},
	{"probe.alive",       KEY_CODES, 0, 0,
	 offsetof(struct sbc_config, probe_alive)},
	{"failover",          KEY_GROUP, 0, 0, 0},
	{"failover.codes",    KEY_CODES, 0, 0,
	 offsetof(struct sbc_config, failover_codes)},
	{"failover.timeout",  KEY_INT,   100, 64000,
	 offsetof(struct sbc_config, failover_timeout)},
	{"failover.attempts", KEY_INT,   1, 16,
	 offsetof(struct sbc_config, failover_attempts)},
	{"tls",               KEY_GROUP, 0, 0, 0},
	{"tls.certificate",   KEY_STRING, 0, 0,
	 offsetof(struct sbc_config, tls_certificate)},
	{"tls.key",           KEY_STRING, 0, 0,
	 offsetof(struct sbc_config, tls_key)},
	{"sip",               KEY_GROUP, 0, 0, 0},
	{"sip.max_message_size", KEY_INT, MESSAGE_MIN, MESSAGE_MAX,
	 offsetof(struct sbc_config, max_message)},
	{"sip.t1",            KEY_INT,   10, 10000,
	 offsetof(struct sbc_config, t1_ms)},
	{"connections",       KEY_GROUP, 0, 0, 0},
	{"connections.idle_timeout", KEY_INT, 1, 86400,
	 offsetof(struct sbc_config, idle_timeout)},
	{"connections.ws_ping_interval", KEY_INT, 1, 3600,
	 offsetof(struct sbc_config, ws_ping_interval)},
	{"shutdown",          KEY_GROUP, 0, 0, 0},
	{"shutdown.grace",    KEY_INT,   0, 600,
	 offsetof(struct sbc_config, shutdown_grace)},
	{"dialog",            KEY_GROUP, 0, 0, 0},
	{"dialog.ping_interval", KEY_INT, 0, 3600,
	 offsetof(struct sbc_config, ping_interval)},
	{"dialog.max_duration", KEY_INT, 0, 604800,
	 offsetof(struct sbc_config, max_duration)},
	{"cdr",               KEY_GROUP, 0, 0, 0},
	{"cdr.file",          KEY_STRING, 0, 0,
	 offsetof(struct sbc_config, cdr_file)},
	{"rtp",               KEY_GROUP, 0, 0, 0},
	{"rtp.workers",       KEY_INT,   0, SBC_RTP_WORKERS_MAX,
	 offsetof(struct sbc_config, rtp.workers)},
	{"rtp.port_min",      KEY_INT,   1024, 65534,
	 offsetof(struct sbc_config, rtp.port_min)},
	{"rtp.port_max",      KEY_INT,   1025, 65535,
	 offsetof(struct sbc_config, rtp.port_max)},
	{"rtp.access_address", KEY_ADDR, 1, 0,
	 offsetof(struct sbc_config, rtp.addr[SBC_SIDE_ACCESS])},
	{"rtp.core_address",  KEY_ADDR,  1, 0,
	 offsetof(struct sbc_config, rtp.addr[SBC_SIDE_CORE])},
	{"rtp.access_advertise", KEY_ADDR, 0, 0,
	 offsetof(struct sbc_config, rtp.advertise[SBC_SIDE_ACCESS])},
	{"rtp.core_advertise", KEY_ADDR, 0, 0,
	 offsetof(struct sbc_config, rtp.advertise[SBC_SIDE_CORE])},
	{"rtp.io",            KEY_RTP_IO, 0, 0,
	 offsetof(struct sbc_config, rtp.io)},
	{"rtp.timeout",       KEY_INT,   0, 86400,
	 offsetof(struct sbc_config, rtp.timeout)},
	{"rtp.control_timeout", KEY_INT, 50, 10000,
	 offsetof(struct sbc_config, rtp.control_timeout)},
	{"rtp.max_sessions",  KEY_INT,   1, SBC_RTP_SESSIONS_LIMIT,
	 offsetof(struct sbc_config, rtp.max_sessions)},
};


static void config_destructor(void *arg)
{
	struct sbc_config *cfg = arg;

	for (uint32_t i = 0; i < cfg->listener_count; i++)
		mem_deref(cfg->listeners[i].name);
	sbc_config_backends_free(cfg);
	mem_deref(cfg->listeners);
	mem_deref(cfg->advertise[SBC_SIDE_ACCESS]);
	mem_deref(cfg->advertise[SBC_SIDE_CORE]);
	mem_deref(cfg->tls_certificate);
	mem_deref(cfg->tls_key);
	mem_deref(cfg->control_socket);
	mem_deref(cfg->pid_file);
	mem_deref(cfg->cdr_file);
	mem_deref(cfg->text);
	mem_deref(cfg->path);
}


/* The built-in defaults: one worker per online CPU (at most 64). Listeners
 * and backends get theirs after parsing, for a side the file left out. */
static int config_defaults(struct sbc_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int err;

	if (cpus < 1)
		cpus = 1;

	cfg->workers   = cpus > WORKERS_MAX ? WORKERS_MAX : (uint32_t)cpus;
	cfg->reg_max   = REG_MAX_DEFAULT;
	cfg->dlg_max   = DLG_MAX_DEFAULT;
	cfg->log_level = SBC_LOG_INFO;
	cfg->max_message = MESSAGE_MAX;
	cfg->t1_ms     = T1_DEFAULT;
	cfg->idle_timeout = IDLE_DEFAULT;
	cfg->ws_ping_interval = WS_PING_DEFAULT;
	cfg->shutdown_grace = GRACE_DEFAULT;
	cfg->ping_interval = PING_DEFAULT;
	cfg->probe_interval = PROBE_DEFAULT;
	cfg->probe_down_after = DOWN_AFTER_DEFAULT;
	cfg->probe_up_after = UP_AFTER_DEFAULT;
	cfg->failover_timeout = FAILOVER_TIMEOUT_DEFAULT;
	cfg->failover_attempts = FAILOVER_ATTEMPTS_DEFAULT;
	for (size_t i = 0; i < ARRAY_SIZE(failover_default); i++)
		sbc_codes_add(&cfg->failover_codes, failover_default[i]);

	err = sbc_config_rtp_defaults(&cfg->rtp);
	if (!err)
		err = str_dup(&cfg->control_socket, control_socket_default);
	if (!err)
		err = str_dup(&cfg->pid_file, pid_file_default);

	return err;
}


/* The schema entry for member `name` of the group at `prefix`, or NULL. */
static const struct key *key_find(const char *prefix, const char *name)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; i < ARRAY_SIZE(schema); i++) {
		const char *kn = schema[i].name;

		if (plen && (strncmp(kn, prefix, plen) || kn[plen] != '.'))
			continue;

		if (0 == strcmp(kn + (plen ? plen + 1 : 0), name))
			return &schema[i];
	}

	return NULL;
}


static int check_group(struct sbc_config *cfg, const config_setting_t *group,
		       const char *prefix, const char *path,
		       char *errbuf, size_t errsz);


static int check_int(struct sbc_config *cfg, const struct key *key,
		     const config_setting_t *s, const char *path,
		     char *errbuf, size_t errsz)
{
	unsigned line = config_setting_source_line(s);
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be an integer",
				       path, line, key->name);
	}

	v = config_setting_get_int64(s);
	if (v < key->min || v > key->max) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' is %lld, must be "
				       "between %lld and %lld", path, line,
				       key->name, v, key->min, key->max);
	}

	*(uint32_t *)(void *)((char *)cfg + key->off) = (uint32_t)v;

	return 0;
}


static int check_level(struct sbc_config *cfg, const struct key *key,
		       const config_setting_t *s, const char *path,
		       char *errbuf, size_t errsz)
{
	unsigned line = config_setting_source_line(s);
	enum sbc_log_level level;
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be a string",
				       path, line, key->name);
	}

	v = config_setting_get_string(s);
	if (sbc_log_level_parse(&level, v)) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' is \"%s\", must be one "
				       "of debug, info, notice, warning, "
				       "error", path, line, key->name, v);
	}

	*(enum sbc_log_level *)(void *)((char *)cfg + key->off) = level;

	return 0;
}


static int check_bool(struct sbc_config *cfg, const struct key *key,
		      const config_setting_t *s, const char *path,
		      char *errbuf, size_t errsz)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be true or false",
				       path, config_setting_source_line(s),
				       key->name);
	}

	*(bool *)(void *)((char *)cfg + key->off) =
		config_setting_get_bool(s) != 0;

	return 0;
}


static int check_string(struct sbc_config *cfg, const struct key *key,
			const config_setting_t *s, const char *path,
			char *errbuf, size_t errsz)
{
	unsigned line = config_setting_source_line(s);
	char **field = (char **)(void *)((char *)cfg + key->off);
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be a string",
				       path, line, key->name);
	}

	v = config_setting_get_string(s);
	if (!*v && key->min) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must not be empty",
				       path, line, key->name);
	}

	*field = mem_deref(*field);

	return *v ? str_dup(field, v) : 0;
}


static int check_target(struct sbc_config *cfg, const struct key *key,
			const config_setting_t *s, const char *path,
			char *errbuf, size_t errsz)
{
	const char *v = config_setting_get_string(s);

	if (!v || (strcmp(v, "stderr") && strcmp(v, "syslog"))) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be \"stderr\" or "
				       "\"syslog\"", path,
				       config_setting_source_line(s),
				       key->name);
	}

	cfg->log_syslog = !strcmp(v, "syslog");

	return 0;
}


/* Two listeners on one address and port of the same socket type. */
static const struct sbc_listener_conf *
listener_clash(const struct sbc_config *cfg, const struct sbc_listener_conf *l)
{
	for (uint32_t i = 0; i < cfg->listener_count; i++) {
		const struct sbc_listener_conf *o = &cfg->listeners[i];

		if (sa_cmp(&o->addr, &l->addr, SA_ALL) &&
		    sbc_listen_stream(o->transport) ==
		    sbc_listen_stream(l->transport))
			return o;
	}

	return NULL;
}


static int listener_add(struct sbc_config *cfg, enum sbc_side side,
			const char *str, unsigned line, const char *path,
			char *errbuf, size_t errsz)
{
	struct sbc_listener_conf l, *v;
	const struct sbc_listener_conf *o;
	int err;

	memset(&l, 0, sizeof(l));
	err = sbc_listen_parse(&l, side, str);
	if (err) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s.listen': \"%s\" is not "
				       "transport:address:port (transport "
				       "udp, tcp, tls, ws or wss; an IP "
				       "address, IPv6 in brackets; a port "
				       "1..65535)", path, line,
				       sbc_side_name(side), str);
	}
	l.line = line;

	o = listener_clash(cfg, &l);
	if (o || cfg->listener_count >= LISTENERS_MAX) {
		mem_deref(l.name);
		if (!o)
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: more than %u listeners",
					       path, line, LISTENERS_MAX);
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: \"%s\" takes the socket of "
				       "\"%s\" (line %u)", path, line, str,
				       o->name, o->line);
	}

	v = sbc_config_array_grow(cfg->listeners, cfg->listener_count + 1, sizeof(*v));
	if (!v) {
		mem_deref(l.name);
		return ENOMEM;
	}

	v[cfg->listener_count++] = l;
	cfg->listeners = v;

	return 0;
}


/* A non-empty array of strings, each given to listener_add. */
static int check_list(struct sbc_config *cfg, const struct key *key,
		      const config_setting_t *s, const char *path,
		      char *errbuf, size_t errsz)
{
	unsigned line = config_setting_source_line(s);
	int n = config_setting_length(s);

	if ((config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	     config_setting_type(s) != CONFIG_TYPE_LIST) || n < 1) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be a non-empty "
				       "array of strings ([ \"...\" ])",
				       path, line, key->name);
	}

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v = config_setting_get_string(e);
		int err;

		if (!v) {
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: '%s' must hold strings",
					       path, line, key->name);
		}

		err = listener_add(cfg, (enum sbc_side)key->min, v, line,
				   path, errbuf, errsz);
		if (err)
			return err;
	}

	return 0;
}


static int check_setting(struct sbc_config *cfg, const config_setting_t *s,
			 const char *prefix, const char *path,
			 char *errbuf, size_t errsz)
{
	const char *name = config_setting_name(s);
	const struct key *key = key_find(prefix, name);
	unsigned line = config_setting_source_line(s);

	if (!key) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: unknown key '%s%s%s'", path,
				       line, prefix, *prefix ? "." : "", name);
	}

	switch (key->type) {

	case KEY_GROUP:
		if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: '%s' must be a group "
					       "({ ... })", path, line,
					       key->name);
		}
		return check_group(cfg, s, key->name, path, errbuf, errsz);

	case KEY_INT:
		return check_int(cfg, key, s, path, errbuf, errsz);

	case KEY_LEVEL:
		return check_level(cfg, key, s, path, errbuf, errsz);

	case KEY_BOOL:
		return check_bool(cfg, key, s, path, errbuf, errsz);

	case KEY_STRING:
		return check_string(cfg, key, s, path, errbuf, errsz);

	case KEY_TARGET:
		return check_target(cfg, key, s, path, errbuf, errsz);

	case KEY_LISTEN:
		return check_list(cfg, key, s, path, errbuf, errsz);

	case KEY_BACKENDS:
		if (cfg->set_count)
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: 'backends' given twice",
					       path, line);
		return sbc_config_backends(cfg, s, path, errbuf, errsz);

	case KEY_ROUTES:
		return sbc_config_routes(cfg, s, path, errbuf, errsz);

	case KEY_CODES:
		return sbc_config_codes((struct sbc_codes *)(void *)
					((char *)cfg + key->off), s,
					key->name, path, errbuf, errsz);

	case KEY_ADDR:
		return sbc_config_addr((struct sa *)(void *)
				       ((char *)cfg + key->off), s, key->name,
				       key->min != 0, path, errbuf, errsz);

	case KEY_RTP_IO:
		return sbc_config_rtp_io(&cfg->rtp, s, key->name, path,
					 errbuf, errsz);
	}

	return EINVAL;
}


static int check_group(struct sbc_config *cfg, const config_setting_t *group,
		       const char *prefix, const char *path,
		       char *errbuf, size_t errsz)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		int err = check_setting(cfg, config_setting_get_elem(group, i),
					prefix, path, errbuf, errsz);
		if (err)
			return err;
	}

	return 0;
}


static int config_parse(struct sbc_config *cfg, const char *text,
			const char *path, char *errbuf, size_t errsz)
{
	config_t lc;
	int err;

	config_init(&lc);

	if (!config_read_string(&lc, text)) {
		err = sbc_config_fail(errbuf, errsz, EBADMSG, "%s:%d: %s",
				      path, config_error_line(&lc),
				      config_error_text(&lc));
		goto out;
	}

	err = check_group(cfg, config_root_setting(&lc), "", path,
			  errbuf, errsz);

 out:
	config_destroy(&lc);
	return err;
}


static int listeners_default(struct sbc_config *cfg, enum sbc_side side,
			     const char *const *v, size_t n, const char *path,
			     char *errbuf, size_t errsz)
{
	for (uint32_t i = 0; i < cfg->listener_count; i++) {
		if (cfg->listeners[i].side == side)
			return 0;
	}

	for (size_t i = 0; i < n; i++) {
		int err = listener_add(cfg, side, v[i], 0, path, errbuf,
				       errsz);
		if (err)
			return err;
	}

	return 0;
}


/* Access listeners first, then core, each side in the file's order. */
static void listeners_order(struct sbc_config *cfg)
{
	for (uint32_t i = 1; i < cfg->listener_count; i++) {
		struct sbc_listener_conf l = cfg->listeners[i];
		uint32_t j = i;

		while (j > 0 && cfg->listeners[j - 1].side > l.side) {
			cfg->listeners[j] = cfg->listeners[j - 1];
			--j;
		}
		cfg->listeners[j] = l;
	}
}


static int file_readable(const char *file, const char *key, unsigned line,
			 const char *path, char *errbuf, size_t errsz)
{
	if (!file) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: a tls or wss listener needs "
				       "'%s'", path, line, key);
	}

	if (access(file, R_OK)) {
		int err = errno;

		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' \"%s\" cannot be read: "
				       "%m", path, line, key, file, err);
	}

	return 0;
}


/* What needs the whole file: defaults of the sides it left out, and the
 * rules between keys. */
static int config_complete(struct sbc_config *cfg, const char *path,
			   char *errbuf, size_t errsz)
{
	const char *name = path ? path : "built-in defaults";
	bool core_udp = false;
	unsigned core_line = 0;
	int err;

	err = listeners_default(cfg, SBC_SIDE_ACCESS, access_default,
				ARRAY_SIZE(access_default), name, errbuf,
				errsz);
	if (!err)
		err = listeners_default(cfg, SBC_SIDE_CORE, core_default,
					ARRAY_SIZE(core_default), name,
					errbuf, errsz);
	if (!err && !cfg->set_count)
		err = sbc_config_backends_default(cfg, backend_default, name,
						  errbuf, errsz);
	if (!err)
		err = sbc_config_routes_resolve(cfg, name, errbuf, errsz);
	if (err)
		return err;

	listeners_order(cfg);

	for (uint32_t i = 0; i < cfg->listener_count && !err; i++) {
		const struct sbc_listener_conf *l = &cfg->listeners[i];

		if (l->side == SBC_SIDE_CORE) {
			core_udp |= l->transport == SBC_TP_UDP;
			core_line = l->line;
		}

		if (l->transport != SBC_TP_TLS && l->transport != SBC_TP_WSS)
			continue;

		err = file_readable(cfg->tls_certificate, "tls.certificate",
				    l->line, name, errbuf, errsz);
		if (!err)
			err = file_readable(cfg->tls_key, "tls.key", l->line,
					    name, errbuf, errsz);
	}
	if (err)
		return err;

	if (!core_udp) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: 'core.listen' needs a udp "
				       "listener: backends are reached over "
				       "UDP", name, core_line);
	}

	return sbc_config_rtp_check(&cfg->rtp, name, errbuf, errsz);
}


/*
 * Load the configuration from `path`, or the built-in defaults when path is
 * NULL. On error nothing is returned in *cfgp and errbuf (if given) holds
 * `FILE:LINE: reason`. Returns EBADMSG for a syntax error, EINVAL for a
 * value the schema refuses, an errno when the file cannot be read.
 */
int sbc_config_load(struct sbc_config **cfgp, const char *path,
		    char *errbuf, size_t errsz)
{
	struct sbc_config *cfg;
	char *text = NULL;
	int err = 0;

	if (!cfgp)
		return EINVAL;

	if (errbuf && errsz)
		errbuf[0] = '\0';

	cfg = mem_zalloc(sizeof(*cfg), config_destructor);
	if (!cfg) {
		err = ENOMEM;
		goto out;
	}

	err = config_defaults(cfg);
	if (err || !path)
		goto complete;

	err = str_dup(&cfg->path, path);
	if (err)
		goto out;

	err = sbc_config_text_read(&text, path, errbuf, errsz);
	if (err)
		goto out;

	err = sbc_config_text_screen(text, path, errbuf, errsz);
	if (err)
		goto out;

	err = config_parse(cfg, text, path, errbuf, errsz);
	if (err)
		goto out;

	/* the workers parse these same bytes */
	cfg->text = mem_ref(text);

 complete:
	if (!err)
		err = config_complete(cfg, path, errbuf, errsz);

 out:
	mem_deref(text);

	if (err) {
		if (errbuf && errsz && !errbuf[0])
			sbc_config_fail(errbuf, errsz, err, "%s: %m",
					path ? path : "configuration", err);
		mem_deref(cfg);
	}
	else {
		*cfgp = cfg;
	}

	return err;
}
