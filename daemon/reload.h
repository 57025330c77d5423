/*
 * Reloading the configuration (SIGHUP, `sbcctl reload`).
 *
 * Include <re.h>, "cfg/log.h", "shm/field.h", "shm/shm.h", "cfg/config.h"
 * and "daemon/pool.h" before this header.
 */

enum sbc_reload_result {
	SBC_RELOAD_UNCHANGED = 0,  /* the file says what runs */
	SBC_RELOAD_APPLIED,        /* every change applied, workers told */
	SBC_RELOAD_REFUSED,        /* a change needs a restart: workers keep
				    * the running configuration */
	SBC_RELOAD_INVALID,        /* the file is invalid: nothing changed */
	SBC_RELOAD_FAILED,         /* valid, but could not be passed on */
};

struct sbc_reload {
	struct mbuf *report;       /* one line per message, or NULL */
	enum sbc_reload_result result;
	uint32_t sent;             /* workers that were sent the new config */
};

int sbc_reload(struct sbc_config **runp, struct sbc_pool *pool,
	       struct sbc_shm *shm, struct sbc_reload *rl);
const char *sbc_reload_result_name(enum sbc_reload_result res);
