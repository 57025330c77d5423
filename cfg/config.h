/*
 * The daemon's configuration.
 *
 * One declarative file, read by libconfig and checked against a schema:
 * an unknown key, a value of the wrong type or out of range stops sbcd
 * before it creates or binds anything, with `FILE:LINE: reason`. Without a
 * file every key has its built-in default, which runs a loopback node with
 * no external service (cfg/sbcd.conf spells those defaults out).
 *
 * The struct is public and read-only after loading: it is a record of
 * values that every part reads, not an object with behaviour.
 * Include "cfg/log.h" before this header.
 */

struct sbc_config {
	char *path;                 /* file read, NULL for built-in defaults */
	uint32_t workers;           /* workers: SIP worker processes */
	uint32_t reg_max;           /* registrations.max: bindings held */
	uint32_t dlg_max;           /* dialogs.max: dialogs held */
	bool huge_pages;            /* memory.huge_pages: 2 MiB pages */
	enum sbc_log_level log_level;   /* log.level */
};

enum {
	SBC_CONFIG_ERR_SIZE = 512,  /* enough for any error message */
};

int sbc_config_load(struct sbc_config **cfgp, const char *path,
		    char *errbuf, size_t errsz);
