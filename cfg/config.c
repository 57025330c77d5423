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

enum {
	WORKERS_MAX       = 64,
	REG_MAX_DEFAULT   = 10000,
	REG_MAX_LIMIT     = 10000000,
	DLG_MAX_DEFAULT   = 10000,
	DLG_MAX_LIMIT     = 2000000,
};

enum key_type {
	KEY_GROUP,
	KEY_INT,      /* uint32_t in struct sbc_config, within [min, max] */
	KEY_LEVEL,    /* enum sbc_log_level, written as its name */
	KEY_BOOL,     /* bool in struct sbc_config */
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
};


static void config_destructor(void *arg)
{
	struct sbc_config *cfg = arg;

	mem_deref(cfg->path);
}


/* The built-in defaults: one worker per online CPU (at most 64). */
static void config_defaults(struct sbc_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		cpus = 1;

	cfg->workers   = cpus > WORKERS_MAX ? WORKERS_MAX : (uint32_t)cpus;
	cfg->reg_max   = REG_MAX_DEFAULT;
	cfg->dlg_max   = DLG_MAX_DEFAULT;
	cfg->log_level = SBC_LOG_INFO;
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

	config_defaults(cfg);

	if (!path)
		goto out;

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
