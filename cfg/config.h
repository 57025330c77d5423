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
 * Include <re.h>, "shm/field.h" and "cfg/log.h" before this header.
 */

/* The two sides of the edge (DESIGN.md section 3). */
enum sbc_side {
	SBC_SIDE_ACCESS = 0,   /* user agents and browsers: trusted by none */
	SBC_SIDE_CORE,         /* the backend set: trusted by address */
	SBC_SIDE_COUNT
};

/* One listening socket, written "udp:127.0.0.1:5060" or "wss:[::1]:8443".
 * Listeners are numbered in the order of the file, access side first. */
struct sbc_listener_conf {
	enum sbc_side side;
	enum sbc_transport transport;  /* shm/field.h */
	struct sa addr;                /* address and port bound */
	char *name;                    /* as written, for logs and sbcctl */
	unsigned line;                 /* in the config file, for messages */
};

/* One backend, written "sip:127.0.0.1:5080" (an IP literal, optional port,
 * 5060 by default). */
struct sbc_backend_conf {
	char *uri;                     /* as written */
	struct sa addr;
};

struct sbc_config {
	char *path;                 /* file read, NULL for built-in defaults */
	char *text;                 /* the exact text validated, NULL without
				     * a file: workers parse these bytes */
	uint32_t workers;           /* workers: SIP worker processes */
	uint32_t reg_max;           /* registrations.max: bindings held */
	uint32_t dlg_max;           /* dialogs.max: dialogs held */
	bool huge_pages;            /* memory.huge_pages: 2 MiB pages */
	enum sbc_log_level log_level;   /* log.level */
	bool log_syslog;            /* log.target: "stderr" or "syslog" */

	char *control_socket;       /* control.socket: sbcctl's unix socket */
	char *pid_file;             /* control.pid_file */

	struct sbc_listener_conf *listeners;   /* access.listen, core.listen */
	uint32_t listener_count;
	char *advertise[SBC_SIDE_COUNT];  /* access.advertise, core.advertise:
					   * host put in Via, Record-Route and
					   * Contact; NULL: the listener's own */
	struct sbc_backend_conf *backends;     /* backends */
	uint32_t backend_count;

	char *tls_certificate;      /* tls.certificate: PEM file, for tls/wss */
	char *tls_key;              /* tls.key: PEM file */

	uint32_t max_message;       /* sip.max_message_size: bytes */
	uint32_t t1_ms;             /* sip.t1: RFC 3261 T1, ms; B/F = 64*T1 */
	uint32_t idle_timeout;      /* connections.idle_timeout: s without
				     * traffic nor registration before a
				     * connection is closed */
	uint32_t ws_ping_interval;  /* connections.ws_ping_interval: s */
	uint32_t shutdown_grace;    /* shutdown.grace: s to finish
				     * transactions after SIGTERM */
	uint32_t ping_interval;     /* dialog.ping_interval: s between
				     * in-dialog OPTIONS to each leg, 0 off */
	uint32_t max_duration;      /* dialog.max_duration: s a call may
				     * last, 0 for no limit */
	char *cdr_file;             /* cdr.file: JSON lines, NULL for none */
};

enum {
	SBC_CONFIG_ERR_SIZE = 512,  /* enough for any error message */
};

int sbc_config_load(struct sbc_config **cfgp, const char *path,
		    char *errbuf, size_t errsz);
const char *sbc_side_name(enum sbc_side side);
const char *sbc_transport_name(enum sbc_transport tp);
