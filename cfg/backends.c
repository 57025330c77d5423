/*
 * The backend sets of a config file, its routing rules and its lists of
 * status codes (DESIGN.md section 5).
 *
 * `backends` has two forms. An array of URIs is one set, "default",
 * picking by hash of the AOR. A list of groups is a list of sets:
 *
 *   backends = ( { name = "pbx"; algorithm = "weighted";
 *                  members = ( { uri = "sip:10.0.0.1"; weight = 2;
 *                                capacity = 100; },
 *                              "sip:10.0.0.2",
 *                              { uri = "sip:10.0.0.3"; backup = true; } ); } );
 *
 * A backend belongs to one set only: its capacity and its calls are the
 * backend's, and two sets sharing it would each think they own them.
 * Every group is checked like the rest of the file: an unknown key, a
 * wrong type or a value out of range is an error naming its line.
 */

#include <string.h>
#include <libconfig.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "cfg/source.h"
#include "cfg/listen.h"
#include "cfg/backends.h"

enum {
	SETS_MAX     = 64,
	BACKENDS_MAX = 256,
	ROUTES_MAX   = 256,
	WEIGHT_MAX   = 1000,
	CAPACITY_MAX = 1000000,
	CODE_MIN     = 100,
	CODE_MAX     = 699,
};

static const char *const algorithm_names[SBC_ALG_COUNT] = {
	[SBC_ALG_AOR]          = "aor",
	[SBC_ALG_ROUND_ROBIN]  = "round-robin",
	[SBC_ALG_WEIGHTED]     = "weighted",
	[SBC_ALG_CALL_ID]      = "call-id",
	[SBC_ALG_LEAST_LOADED] = "least-loaded",
};

/* What the parse of one file needs to say where a problem is. */
struct where {
	const char *path;
	char *errbuf;
	size_t errsz;
};


const char *sbc_algorithm_name(enum sbc_algorithm alg)
{
	return alg < SBC_ALG_COUNT ? algorithm_names[alg] : "?";
}


bool sbc_codes_has(const struct sbc_codes *codes, uint16_t scode)
{
	if (scode < CODE_MIN || scode > CODE_MAX)
		return false;

	return codes->bits[scode / 64] & (1ull << (scode % 64));
}


void sbc_codes_add(struct sbc_codes *codes, uint16_t scode)
{
	if (scode >= CODE_MIN && scode <= CODE_MAX)
		codes->bits[scode / 64] |= 1ull << (scode % 64);
}


static unsigned line_of(const config_setting_t *s)
{
	return config_setting_source_line(s);
}


/* Every member of group is one of names[]. */
static int keys_known(const config_setting_t *group, const char *what,
		      const char *const *names, const struct where *w)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *m = config_setting_get_elem(group, i);
		const char *name = config_setting_name(m);
		bool known = false;

		for (size_t k = 0; names[k] && !known; k++)
			known = !strcmp(names[k], name);

		if (!known)
			return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
					       "%s:%u: unknown key '%s' in %s",
					       w->path, line_of(m), name,
					       what);
	}

	return 0;
}


/* An optional integer member in [min, max]; *vp unchanged when absent. */
static int member_int(const config_setting_t *group, const char *name,
		      long long min, long long max, uint32_t *vp,
		      const struct where *w)
{
	const config_setting_t *m = config_setting_get_member(group, name);
	long long v;

	if (!m)
		return 0;

	if (config_setting_type(m) != CONFIG_TYPE_INT &&
	    config_setting_type(m) != CONFIG_TYPE_INT64)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: '%s' must be an integer",
				       w->path, line_of(m), name);

	v = config_setting_get_int64(m);
	if (v < min || v > max)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: '%s' is %lld, must be between "
				       "%lld and %lld", w->path, line_of(m),
				       name, v, min, max);

	*vp = (uint32_t)v;

	return 0;
}


/* An optional string member; *vp NULL when absent. */
static int member_str(const config_setting_t *group, const char *name,
		      const char **vp, const struct where *w)
{
	const config_setting_t *m = config_setting_get_member(group, name);

	*vp = NULL;
	if (!m)
		return 0;

	*vp = config_setting_get_string(m);
	if (!*vp || !**vp)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: '%s' must be a non-empty string",
				       w->path, line_of(m), name);

	return 0;
}


static int member_bool(const config_setting_t *group, const char *name,
		       bool *vp, const struct where *w)
{
	const config_setting_t *m = config_setting_get_member(group, name);

	if (!m)
		return 0;

	if (config_setting_type(m) != CONFIG_TYPE_BOOL)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: '%s' must be true or false",
				       w->path, line_of(m), name);

	*vp = config_setting_get_bool(m) != 0;

	return 0;
}


static const struct sbc_backend_conf *
backend_known(const struct sbc_config *cfg, const struct sa *addr)
{
	for (uint32_t i = 0; i < cfg->backend_count; i++) {
		if (sa_cmp(&cfg->backends[i].addr, addr, SA_ALL))
			return &cfg->backends[i];
	}

	return NULL;
}


/* Append one backend to the last set. */
static int backend_add(struct sbc_config *cfg, struct sbc_backend_conf *b,
		       const struct where *w)
{
	const struct sbc_backend_conf *o = backend_known(cfg, &b->addr);
	struct sbc_backend_conf *v;

	if (o)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: backend \"%s\" is already in "
				       "set \"%s\" (line %u)", w->path,
				       b->line, b->uri,
				       cfg->sets[o->set].name, o->line);

	if (cfg->backend_count >= BACKENDS_MAX)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: more than %u backends", w->path,
				       b->line, BACKENDS_MAX);

	v = sbc_config_array_grow(cfg->backends, cfg->backend_count + 1, sizeof(*v));
	if (!v)
		return ENOMEM;

	b->set = cfg->set_count - 1;
	v[cfg->backend_count++] = *b;
	cfg->backends = v;
	++cfg->sets[b->set].count;

	return 0;
}


static int uri_parse(struct sbc_backend_conf *b, const char *uri,
		     unsigned line, const struct where *w)
{
	b->line = line;

	if (!uri || sbc_backend_parse(b, uri))
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: 'backends': \"%s\" is not "
				       "sip:address[:port] (an IP address, "
				       "IPv6 in brackets)", w->path, line,
				       uri ? uri : "");

	return 0;
}


/* A member: "sip:..." or { uri = ...; weight; capacity; backup; }. */
static int member_add(struct sbc_config *cfg, const config_setting_t *m,
		      const struct where *w)
{
	static const char *const keys[] = {"uri", "weight", "capacity",
					   "backup", NULL};
	struct sbc_backend_conf b;
	const char *uri;
	int err;

	memset(&b, 0, sizeof(b));
	b.weight = 1;

	if (config_setting_type(m) == CONFIG_TYPE_STRING) {
		err = uri_parse(&b, config_setting_get_string(m), line_of(m),
				w);
		goto add;
	}

	if (config_setting_type(m) != CONFIG_TYPE_GROUP)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: a member is \"sip:...\" or a "
				       "group { uri = \"sip:...\"; ... }",
				       w->path, line_of(m));

	err = keys_known(m, "a backend", keys, w);
	if (!err)
		err = member_str(m, "uri", &uri, w);
	if (!err && !uri)
		err = sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				      "%s:%u: a backend needs 'uri'",
				      w->path, line_of(m));
	if (!err)
		err = uri_parse(&b, uri, line_of(m), w);
	if (!err)
		err = member_int(m, "weight", 1, WEIGHT_MAX, &b.weight, w);
	if (!err)
		err = member_int(m, "capacity", 0, CAPACITY_MAX, &b.capacity,
				 w);
	if (!err)
		err = member_bool(m, "backup", &b.backup, w);

 add:
	if (!err)
		err = backend_add(cfg, &b, w);
	if (err)
		mem_deref(b.uri);

	return err;
}


static int set_new(struct sbc_config *cfg, const char *name, unsigned line,
		   const struct where *w)
{
	struct sbc_set_conf *v;

	for (uint32_t i = 0; i < cfg->set_count; i++) {
		if (!strcmp(cfg->sets[i].name, name))
			return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
					       "%s:%u: two sets named \"%s\"",
					       w->path, line, name);
	}

	if (cfg->set_count >= SETS_MAX)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: more than %u sets", w->path,
				       line, SETS_MAX);

	v = sbc_config_array_grow(cfg->sets, cfg->set_count + 1, sizeof(*v));
	if (!v)
		return ENOMEM;

	cfg->sets = v;
	memset(&v[cfg->set_count], 0, sizeof(*v));
	v[cfg->set_count].first = cfg->backend_count;
	v[cfg->set_count].media = true;

	if (str_dup(&v[cfg->set_count].name, name))
		return ENOMEM;

	++cfg->set_count;

	return 0;
}


static int algorithm_parse(enum sbc_algorithm *algp,
			   const config_setting_t *set, const struct where *w)
{
	const config_setting_t *m = config_setting_get_member(set, "algorithm");
	const char *v;

	if (!m)
		return 0;

	v = config_setting_get_string(m);
	for (int i = 0; v && i < SBC_ALG_COUNT; i++) {
		if (!strcmp(v, algorithm_names[i])) {
			*algp = (enum sbc_algorithm)i;
			return 0;
		}
	}

	return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
			       "%s:%u: 'algorithm' is %s%s%s, must be one of "
			       "round-robin, weighted, call-id, aor, "
			       "least-loaded", w->path, line_of(m),
			       v ? "\"" : "", v ? v : "not a string",
			       v ? "\"" : "");
}


/* A non-empty array or list; `what` names it in the message. */
static int list_check(const config_setting_t *s, const char *what,
		      const struct where *w)
{
	if ((config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	     config_setting_type(s) != CONFIG_TYPE_LIST) ||
	    config_setting_length(s) < 1)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: '%s' must be a non-empty list",
				       w->path, line_of(s), what);

	return 0;
}


static int set_parse(struct sbc_config *cfg, const config_setting_t *set,
		     const struct where *w)
{
	static const char *const keys[] = {"name", "algorithm", "members",
					   "media", NULL};
	const config_setting_t *members;
	const char *name;
	int err;

	if (config_setting_type(set) != CONFIG_TYPE_GROUP)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: 'backends' holds URIs or set "
				       "groups, not both", w->path,
				       line_of(set));

	err = keys_known(set, "a backend set", keys, w);
	if (!err)
		err = member_str(set, "name", &name, w);
	if (!err && !name)
		err = sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				      "%s:%u: a backend set needs 'name'",
				      w->path, line_of(set));
	if (!err)
		err = set_new(cfg, name, line_of(set), w);
	if (!err)
		err = algorithm_parse(&cfg->sets[cfg->set_count - 1].algorithm,
				      set, w);
	if (!err)
		err = member_bool(set, "media",
				  &cfg->sets[cfg->set_count - 1].media, w);
	if (err)
		return err;

	members = config_setting_get_member(set, "members");
	if (!members)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: set \"%s\" needs 'members'",
				       w->path, line_of(set), name);

	err = list_check(members, "members", w);
	for (int i = 0; !err && i < config_setting_length(members); i++)
		err = member_add(cfg, config_setting_get_elem(members, i), w);

	return err;
}


/* `backends`, in either form (see the top of this file). */
int sbc_config_backends(struct sbc_config *cfg, const config_setting_t *s,
			const char *path, char *errbuf, size_t errsz)
{
	const struct where w = {path, errbuf, errsz};
	const config_setting_t *first;
	int err;

	err = list_check(s, "backends", &w);
	if (err)
		return err;

	first = config_setting_get_elem(s, 0);
	if (config_setting_type(first) != CONFIG_TYPE_STRING) {
		for (int i = 0; !err && i < config_setting_length(s); i++)
			err = set_parse(cfg, config_setting_get_elem(s, i),
					&w);
		return err;
	}

	err = set_new(cfg, "default", line_of(s), &w);
	for (int i = 0; !err && i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: 'backends' holds URIs "
					       "or set groups, not both", path,
					       line_of(e));
		err = member_add(cfg, e, &w);
	}

	return err;
}


/* The built-in set when the file has no `backends`. */
int sbc_config_backends_default(struct sbc_config *cfg, const char *uri,
				const char *path, char *errbuf, size_t errsz)
{
	const struct where w = {path, errbuf, errsz};
	struct sbc_backend_conf b;
	int err;

	memset(&b, 0, sizeof(b));
	b.weight = 1;

	err = set_new(cfg, "default", 0, &w);
	if (!err)
		err = uri_parse(&b, uri, 0, &w);
	if (!err)
		err = backend_add(cfg, &b, &w);
	if (err)
		mem_deref(b.uri);

	return err;
}


static int route_parse(struct sbc_config *cfg, const config_setting_t *r,
		       const struct where *w)
{
	static const char *const keys[] = {"prefix", "domain", "set", NULL};
	struct sbc_route_conf *v, rc;
	const char *prefix, *domain, *set;
	int err;

	if (config_setting_type(r) != CONFIG_TYPE_GROUP)
		return sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				       "%s:%u: a route is a group { set = "
				       "\"...\"; prefix or domain }", w->path,
				       line_of(r));

	err = keys_known(r, "a route", keys, w);
	if (!err)
		err = member_str(r, "prefix", &prefix, w);
	if (!err)
		err = member_str(r, "domain", &domain, w);
	if (!err)
		err = member_str(r, "set", &set, w);
	if (!err && !set)
		err = sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				      "%s:%u: a route needs 'set'", w->path,
				      line_of(r));
	if (!err && cfg->route_count >= ROUTES_MAX)
		err = sbc_config_fail(w->errbuf, w->errsz, EINVAL,
				      "%s:%u: more than %u routes", w->path,
				      line_of(r), ROUTES_MAX);
	if (err)
		return err;

	memset(&rc, 0, sizeof(rc));
	rc.line = line_of(r);
	err = str_dup(&rc.set_name, set);
	if (!err && prefix)
		err = str_dup(&rc.prefix, prefix);
	if (!err && domain)
		err = str_dup(&rc.domain, domain);

	v = err ? NULL : sbc_config_array_grow(cfg->routes, cfg->route_count + 1,
				    sizeof(*v));
	if (!v) {
		mem_deref(rc.set_name);
		mem_deref(rc.prefix);
		mem_deref(rc.domain);
		return err ? err : ENOMEM;
	}

	v[cfg->route_count++] = rc;
	cfg->routes = v;

	return 0;
}


/* `routes`: a list of rules; their sets are resolved once the whole file
 * is read (it may name them before `backends`). */
int sbc_config_routes(struct sbc_config *cfg, const config_setting_t *s,
		      const char *path, char *errbuf, size_t errsz)
{
	const struct where w = {path, errbuf, errsz};
	int err = 0;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: 'routes' must be a list of "
				       "groups ( { ... }, ... )", path,
				       line_of(s));

	for (int i = 0; !err && i < config_setting_length(s); i++)
		err = route_parse(cfg, config_setting_get_elem(s, i), &w);

	return err;
}


int sbc_config_routes_resolve(struct sbc_config *cfg, const char *path,
			      char *errbuf, size_t errsz)
{
	for (uint32_t i = 0; i < cfg->route_count; i++) {
		struct sbc_route_conf *r = &cfg->routes[i];
		bool found = false;

		for (uint32_t k = 0; k < cfg->set_count && !found; k++) {
			if (!strcmp(cfg->sets[k].name, r->set_name)) {
				r->set = k;
				found = true;
			}
		}

		if (!found)
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: route to set \"%s\": no "
					       "such set in 'backends'", path,
					       r->line, r->set_name);
	}

	return 0;
}


/* An array of status codes, 100..699; it replaces the default. */
int sbc_config_codes(struct sbc_codes *codes, const config_setting_t *s,
		     const char *name, const char *path, char *errbuf,
		     size_t errsz)
{
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be an array of status "
				       "codes", path, line_of(s), name);

	memset(codes, 0, sizeof(*codes));

	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long v = config_setting_get_int64(e);

		if (config_setting_type(e) != CONFIG_TYPE_INT ||
		    v < CODE_MIN || v > CODE_MAX)
			return sbc_config_fail(errbuf, errsz, EINVAL,
					       "%s:%u: '%s' holds status codes "
					       "%u..%u", path, line_of(s),
					       name, CODE_MIN, CODE_MAX);

		sbc_codes_add(codes, (uint16_t)v);
	}

	return 0;
}


void sbc_config_backends_free(struct sbc_config *cfg)
{
	for (uint32_t i = 0; i < cfg->backend_count; i++)
		mem_deref(cfg->backends[i].uri);
	for (uint32_t i = 0; i < cfg->set_count; i++)
		mem_deref(cfg->sets[i].name);
	for (uint32_t i = 0; i < cfg->route_count; i++) {
		mem_deref(cfg->routes[i].prefix);
		mem_deref(cfg->routes[i].domain);
		mem_deref(cfg->routes[i].set_name);
	}

	mem_deref(cfg->backends);
	mem_deref(cfg->sets);
	mem_deref(cfg->routes);
}
