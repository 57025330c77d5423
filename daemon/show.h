/*
 * The answers to sbcctl's status, workers, registrations and dialogs
 * requests, as aligned text or JSON, and its dialog end.
 *
 * Include <re.h>, "cfg/log.h", "shm/field.h", "cfg/config.h",
 * "daemon/control.h" and "daemon/pool.h" before this header.
 */

struct sbc_shm;
struct sbc_stats;
struct sbc_media;

/* What the answers read: the supervisor's, borrowed for one request. */
struct sbc_show {
	const struct sbc_config *cfg;    /* the running configuration */
	const struct sbc_pool *pool;
	const struct sbc_stats *stats;
	const struct sbc_shm *shm;
	const struct sbc_media *media;   /* NULL without relays */
	uint64_t started;                /* tmr_jiffies() at start */
};

void sbc_show_status(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		     bool json);
void sbc_show_workers(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		      bool json);
void sbc_show_registrations(struct sbc_ctl_reply *rep,
			    const struct sbc_show *s, const char *aor,
			    bool json);
void sbc_show_dialogs(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		      bool json);
void sbc_show_backends(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		       bool json);
void sbc_show_media(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		    bool json);
void sbc_show_health(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		     bool json);
void sbc_show_dialog_end(struct sbc_ctl_reply *rep, const struct sbc_show *s,
			 struct sbc_pool *pool, const char *callid, bool json);
