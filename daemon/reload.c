/*
 * Reloading the configuration (see reload.h).
 *
 * The file the supervisor started with is read again and checked like at
 * start; an invalid file changes nothing (the error is logged and the
 * running configuration kept). A valid one is compared with the running
 * configuration key by key, each key being live or not:
 *
 * - live keys can change while calls go on: log.level, log.target,
 *   backends, routes, probe.*, failover.*, sip.t1, sip.max_message_size,
 *   connections.*, shutdown.grace, dialog.*, cdr.file (reopened on every
 *   reload, for log rotation);
 * - the others shape what exists (processes, the segment, sockets, TLS
 *   contexts, the control socket): workers, registrations.max,
 *   dialogs.max, memory.huge_pages, access.*, core.*, tls.*, control.*.
 *
 * The rule: when only live keys changed, the new file is applied whole:
 * the supervisor takes its log settings, and every worker gets the new
 * text in a sealed memfd (SBC_CHAN_RELOAD), as do workers started later.
 * When any key that is not live changed, each of those is refused with a
 * message naming it ("reload: workers changed 2 -> 3, needs a restart:
 * kept 2"), the supervisor still takes the new log settings (they are its
 * own), and the workers keep running the configuration they have, whole,
 * until sbcd is restarted. Workers never run a mix of two files: what
 * a worker parses is always a text the supervisor validated as a whole.
 */

#include <stddef.h>
#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "daemon/backends.h"
#include "shm/channel.h"
#include "daemon/cfgfd.h"
#include "daemon/pool.h"
#include "daemon/reload.h"

enum {
	LINE_SIZE = 1024,
};

enum kind {
	K_U32,
	K_BOOL,
	K_STR,
	K_LEVEL,
	K_TARGET,
	K_LISTEN,
	K_ADVERTISE,
	K_BACKENDS,
	K_ROUTES,
	K_CODES,
};

struct key {
	const char *name;
	enum kind kind;
	bool live;
	size_t off;              /* of the field: U32 BOOL STR LEVEL TARGET */
	enum sbc_side side;      /* for LISTEN and ADVERTISE */
};

/* A key's value in one configuration, for %H. */
struct kval {
	const struct key *key;
	const struct sbc_config *cfg;
};

#define OFF(f) offsetof(struct sbc_config, f)

static const struct key keys[] = {
	{"workers",              K_U32,       false, OFF(workers), 0},
	{"registrations.max",    K_U32,       false, OFF(reg_max), 0},
	{"dialogs.max",          K_U32,       false, OFF(dlg_max), 0},
	{"memory.huge_pages",    K_BOOL,      false, OFF(huge_pages), 0},
	{"access.listen",        K_LISTEN,    false, 0, SBC_SIDE_ACCESS},
	{"access.advertise",     K_ADVERTISE, false, 0, SBC_SIDE_ACCESS},
	{"core.listen",          K_LISTEN,    false, 0, SBC_SIDE_CORE},
	{"core.advertise",       K_ADVERTISE, false, 0, SBC_SIDE_CORE},
	{"tls.certificate",      K_STR,       false, OFF(tls_certificate), 0},
	{"tls.key",              K_STR,       false, OFF(tls_key), 0},
	{"control.socket",       K_STR,       false, OFF(control_socket), 0},
	{"control.pid_file",     K_STR,       false, OFF(pid_file), 0},
	{"log.level",            K_LEVEL,     true,  OFF(log_level), 0},
	{"log.target",           K_TARGET,    true,  OFF(log_syslog), 0},
	{"backends",             K_BACKENDS,  true,  0, 0},
	{"routes",               K_ROUTES,    true,  0, 0},
	{"probe.interval",       K_U32,       true,  OFF(probe_interval), 0},
	{"probe.down_after",     K_U32,       true,  OFF(probe_down_after), 0},
	{"probe.up_after",       K_U32,       true,  OFF(probe_up_after), 0},
	{"probe.alive",          K_CODES,     true,  OFF(probe_alive), 0},
	{"failover.codes",       K_CODES,     true,  OFF(failover_codes), 0},
	{"failover.timeout",     K_U32,       true,  OFF(failover_timeout), 0},
	{"failover.attempts",    K_U32,       true,  OFF(failover_attempts), 0},
	{"sip.t1",               K_U32,       true,  OFF(t1_ms), 0},
	{"sip.max_message_size", K_U32,       true,  OFF(max_message), 0},
	{"connections.idle_timeout", K_U32,   true,  OFF(idle_timeout), 0},
	{"connections.ws_ping_interval", K_U32, true, OFF(ws_ping_interval),
	 0},
	{"shutdown.grace",       K_U32,       true,  OFF(shutdown_grace), 0},
	{"dialog.ping_interval", K_U32,       true,  OFF(ping_interval), 0},
	{"dialog.max_duration",  K_U32,       true,  OFF(max_duration), 0},
	{"cdr.file",             K_STR,       true,  OFF(cdr_file), 0},
};

static const char *result_names[] = {
	[SBC_RELOAD_UNCHANGED] = "unchanged",
	[SBC_RELOAD_APPLIED]   = "applied",
	[SBC_RELOAD_REFUSED]   = "refused",
	[SBC_RELOAD_INVALID]   = "invalid",
	[SBC_RELOAD_FAILED]    = "failed",
};


static const void *field(const struct sbc_config *cfg, const struct key *k)
{
	return (const char *)cfg + k->off;
}


static uint32_t u32_of(const struct sbc_config *cfg, const struct key *k)
{
	return *(const uint32_t *)field(cfg, k);
}


static bool bool_of(const struct sbc_config *cfg, const struct key *k)
{
	return *(const bool *)field(cfg, k);
}


static const char *str_of(const struct sbc_config *cfg, const struct key *k)
{
	return *(char *const *)field(cfg, k);
}


/* Equal strings, NULL (unset) equal only to NULL; libre's str_cmp() calls
 * two NULLs different. */
static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}


static bool listeners_same(const struct sbc_config *a,
			   const struct sbc_config *b, enum sbc_side side)
{
	uint32_t i = 0, j = 0;

	for (;;) {
		while (i < a->listener_count && a->listeners[i].side != side)
			++i;
		while (j < b->listener_count && b->listeners[j].side != side)
			++j;

		if (i == a->listener_count || j == b->listener_count)
			return i == a->listener_count &&
				j == b->listener_count;

		if (a->listeners[i].transport != b->listeners[j].transport ||
		    !sa_cmp(&a->listeners[i].addr, &b->listeners[j].addr,
			    SA_ALL))
			return false;

		++i;
		++j;
	}
}


static bool backend_same(const struct sbc_backend_conf *a,
			 const struct sbc_backend_conf *b)
{
	return str_same(a->uri, b->uri) && a->set == b->set &&
		a->weight == b->weight && a->capacity == b->capacity &&
		a->backup == b->backup;
}


/* The same sets, in the same order, with the same members. */
static bool backends_same(const struct sbc_config *a,
			  const struct sbc_config *b)
{
	if (a->backend_count != b->backend_count ||
	    a->set_count != b->set_count)
		return false;

	for (uint32_t i = 0; i < a->set_count; i++) {
		if (!str_same(a->sets[i].name, b->sets[i].name) ||
		    a->sets[i].algorithm != b->sets[i].algorithm)
			return false;
	}

	for (uint32_t i = 0; i < a->backend_count; i++) {
		if (!backend_same(&a->backends[i], &b->backends[i]))
			return false;
	}

	return true;
}


static bool routes_same(const struct sbc_config *a,
			const struct sbc_config *b)
{
	if (a->route_count != b->route_count)
		return false;

	for (uint32_t i = 0; i < a->route_count; i++) {
		const struct sbc_route_conf *ra = &a->routes[i];
		const struct sbc_route_conf *rb = &b->routes[i];

		if (!str_same(ra->prefix, rb->prefix) ||
		    !str_same(ra->domain, rb->domain) ||
		    !str_same(ra->set_name, rb->set_name))
			return false;
	}

	return true;
}


static bool key_same(const struct key *k, const struct sbc_config *a,
		     const struct sbc_config *b)
{
	switch (k->kind) {

	case K_U32:
		return u32_of(a, k) == u32_of(b, k);

	case K_BOOL:
	case K_TARGET:
		return bool_of(a, k) == bool_of(b, k);

	case K_STR:
		return str_same(str_of(a, k), str_of(b, k));

	case K_LEVEL:
		return a->log_level == b->log_level;

	case K_LISTEN:
		return listeners_same(a, b, k->side);

	case K_ADVERTISE:
		return str_same(a->advertise[k->side], b->advertise[k->side]);

	case K_BACKENDS:
		return backends_same(a, b);

	case K_ROUTES:
		return routes_same(a, b);

	case K_CODES:
		return !memcmp(field(a, k), field(b, k),
			       sizeof(struct sbc_codes));
	}

	return false;
}


static int listeners_print(struct re_printf *pf, const struct sbc_config *cfg,
			   enum sbc_side side)
{
	const char *sep = "";
	int err = 0;

	for (uint32_t i = 0; i < cfg->listener_count; i++) {
		if (cfg->listeners[i].side != side)
			continue;
		err |= re_hprintf(pf, "%s%s", sep, cfg->listeners[i].name);
		sep = ", ";
	}

	return *sep ? err : re_hprintf(pf, "(none)");
}


/* "pbx (weighted): sip:10.0.0.1 w2 c100, sip:10.0.0.2; pstn (aor): ..." */
static int backends_print(struct re_printf *pf, const struct sbc_config *cfg)
{
	int err = 0;

	for (uint32_t s = 0; s < cfg->set_count; s++) {
		const struct sbc_set_conf *set = &cfg->sets[s];

		err |= re_hprintf(pf, "%s%s (%s): ", s ? "; " : "", set->name,
				  sbc_algorithm_name(set->algorithm));

		for (uint32_t i = set->first; i < set->first + set->count;
		     i++) {
			const struct sbc_backend_conf *b = &cfg->backends[i];

			err |= re_hprintf(pf, "%s%s", i > set->first ? ", " :
					  "", b->uri);
			if (b->weight != 1)
				err |= re_hprintf(pf, " w%u", b->weight);
			if (b->capacity)
				err |= re_hprintf(pf, " c%u", b->capacity);
			if (b->backup)
				err |= re_hprintf(pf, " backup");
		}
	}

	return err;
}


static int routes_print(struct re_printf *pf, const struct sbc_config *cfg)
{
	int err = 0;

	if (!cfg->route_count)
		return re_hprintf(pf, "(none)");

	for (uint32_t i = 0; i < cfg->route_count; i++) {
		const struct sbc_route_conf *r = &cfg->routes[i];

		err |= re_hprintf(pf, "%s%s%s%s%s -> %s", i ? ", " : "",
				  r->prefix ? "prefix " : "",
				  r->prefix ? r->prefix : "",
				  r->domain ? " domain " : "",
				  r->domain ? r->domain : "", r->set_name);
	}

	return err;
}


static int codes_print(struct re_printf *pf, const struct sbc_codes *codes)
{
	const char *sep = "";
	int err = 0;

	for (uint16_t c = 100; c < 700; c++) {
		if (!sbc_codes_has(codes, c))
			continue;
		err |= re_hprintf(pf, "%s%u", sep, c);
		sep = " ";
	}

	return *sep ? err : re_hprintf(pf, "(none)");
}


static int str_print(struct re_printf *pf, const char *s)
{
	return s ? re_hprintf(pf, "\"%s\"", s) : re_hprintf(pf, "(none)");
}


/* libre print handler: one key's value, as it reads in messages. */
static int kval_print(struct re_printf *pf, void *arg)
{
	const struct kval *kv = arg;
	const struct key *k = kv->key;
	const struct sbc_config *cfg = kv->cfg;

	switch (k->kind) {

	case K_U32:
		return re_hprintf(pf, "%u", u32_of(cfg, k));

	case K_BOOL:
		return re_hprintf(pf, "%s", bool_of(cfg, k) ? "true" : "false");

	case K_TARGET:
		return re_hprintf(pf, "%s", bool_of(cfg, k) ? "syslog" :
				  "stderr");

	case K_STR:
		return str_print(pf, str_of(cfg, k));

	case K_LEVEL:
		return re_hprintf(pf, "%s", sbc_log_level_name(cfg->log_level));

	case K_LISTEN:
		return listeners_print(pf, cfg, k->side);

	case K_ADVERTISE:
		return str_print(pf, cfg->advertise[k->side]);

	case K_BACKENDS:
		return backends_print(pf, cfg);

	case K_ROUTES:
		return routes_print(pf, cfg);

	case K_CODES:
		return codes_print(pf, field(cfg, k));
	}

	return EINVAL;
}


/* Log one message and add it to the report. */
static void say(struct sbc_reload *rl, enum sbc_log_level level,
		const char *fmt, ...)
{
	char line[LINE_SIZE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = re_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;

	sbc_log(level, "%s", line);

	if (rl->report)
		(void)mbuf_printf(rl->report, "%s\n", line);
}


/* Compare every key; say what changed. Counts live and refused changes. */
static void compare(struct sbc_reload *rl, const struct sbc_config *run,
		    const struct sbc_config *next, uint32_t *live,
		    uint32_t *refused)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		struct kval was = {k, run}, now = {k, next};

		if (key_same(k, run, next))
			continue;

		if (k->live) {
			say(rl, SBC_LOG_INFO, "reload: %s changed %H -> %H",
			    k->name, kval_print, &was, kval_print, &now);
			++*live;
		}
		else {
			say(rl, SBC_LOG_WARNING, "reload: %s changed %H -> %H, "
			    "needs a restart: kept %H", k->name, kval_print,
			    &was, kval_print, &now, kval_print, &was);
			++*refused;
		}
	}
}


/* The supervisor's own live keys. */
static void log_apply(const struct sbc_config *next)
{
	sbc_log_set_level(next->log_level);
	sbc_log_set_syslog(next->log_syslog);
}


/* No new configuration for the workers: they still reopen their CDR
 * files, so that SIGHUP after a log rotation starts new ones. */
static void reopen(struct sbc_pool *pool)
{
	for (uint32_t i = 0; i < sbc_pool_size(pool); i++)
		(void)sbc_pool_tell(pool, i, SBC_CHAN_REOPEN, NULL, 0);
}


/* Give the new backends their slots, hand the new configuration to the
 * pool, and make it the running one. */
static void apply(struct sbc_config **runp, struct sbc_pool *pool,
		  struct sbc_shm *shm, struct sbc_config *next, uint32_t live,
		  struct sbc_reload *rl)
{
	int fd, err;

	err = sbc_backends_assign(shm, next);
	if (err) {
		say(rl, SBC_LOG_ERROR, "reload: no room for the new backends: "
		    "%m; the running configuration is kept", err);
		rl->result = SBC_RELOAD_FAILED;
		mem_deref(next);
		return;
	}

	err = sbc_cfgfd_create(&fd, next->text);
	if (err) {
		say(rl, SBC_LOG_ERROR, "reload: cannot pass the configuration "
		    "to the workers: %m; the running one is kept", err);
		rl->result = SBC_RELOAD_FAILED;
		mem_deref(next);
		return;
	}

	rl->sent = sbc_pool_reload(pool, fd);
	mem_deref(*runp);
	*runp = next;
	rl->result = SBC_RELOAD_APPLIED;

	say(rl, SBC_LOG_NOTICE, "reload: %u change(s) applied, the new "
	    "configuration sent to %u worker(s)", live, rl->sent);
}


/*
 * Reload the file *runp came from (see the rule at the top). On
 * SBC_RELOAD_APPLIED *runp is the new configuration, the old one released.
 * Every message is logged, and added to rl->report if set. Returns EINVAL
 * for bad arguments only: the outcome is in rl->result.
 */
int sbc_reload(struct sbc_config **runp, struct sbc_pool *pool,
	       struct sbc_shm *shm, struct sbc_reload *rl)
{
	char errbuf[SBC_CONFIG_ERR_SIZE];
	struct sbc_config *next = NULL;
	uint32_t live = 0, refused = 0;
	const char *path;
	int err;

	if (!runp || !*runp || !pool || !shm || !rl)
		return EINVAL;

	rl->sent = 0;
	path = (*runp)->path;

	err = sbc_config_load(&next, path, errbuf, sizeof(errbuf));
	if (err) {
		say(rl, SBC_LOG_ERROR, "reload: %s; the running configuration "
		    "is kept", errbuf);
		rl->result = SBC_RELOAD_INVALID;
		return 0;
	}

	compare(rl, *runp, next, &live, &refused);

	if (!live && !refused) {
		say(rl, SBC_LOG_INFO, "reload: %s: no change",
		    path ? path : "built-in defaults");
		rl->result = SBC_RELOAD_UNCHANGED;
		mem_deref(next);
		reopen(pool);
		return 0;
	}

	log_apply(next);

	if (refused) {
		bool logs = next->log_level != (*runp)->log_level ||
			next->log_syslog != (*runp)->log_syslog;

		say(rl, SBC_LOG_WARNING, "reload: %u change(s) need a restart; "
		    "the workers keep the running configuration until then%s",
		    refused, logs ? " (the supervisor took the new log "
		    "settings)" : "");
		rl->result = SBC_RELOAD_REFUSED;
		mem_deref(next);
		reopen(pool);
		return 0;
	}

	apply(runp, pool, shm, next, live, rl);

	return 0;
}


const char *sbc_reload_result_name(enum sbc_reload_result res)
{
	return res <= SBC_RELOAD_FAILED ? result_names[res] : "?";
}
