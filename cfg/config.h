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

/* How a set picks a backend for a new call (DESIGN.md section 5). */
enum sbc_algorithm {
	SBC_ALG_AOR = 0,       /* hash of the caller's AOR: a user, a backend */
	SBC_ALG_ROUND_ROBIN,   /* each in turn */
	SBC_ALG_WEIGHTED,      /* in proportion to the weights */
	SBC_ALG_CALL_ID,       /* hash of the Call-ID */
	SBC_ALG_LEAST_LOADED,  /* fewest calls relative to capacity */
	SBC_ALG_COUNT
};

/* One backend, written "sip:127.0.0.1:5080" (an IP literal, optional port,
 * 5060 by default), member of exactly one set. */
struct sbc_backend_conf {
	char *uri;                     /* as written */
	struct sa addr;
	uint32_t set;                  /* index in sets */
	uint32_t weight;               /* 1..1000 */
	uint32_t capacity;             /* concurrent calls, 0: no limit */
	bool backup;                   /* only when no other member can */
	unsigned line;
};

/* A backend set: its members are backends[first .. first + count). */
struct sbc_set_conf {
	char *name;
	enum sbc_algorithm algorithm;
	uint32_t first;
	uint32_t count;
	bool media;                    /* its calls' media go through the
					* relay (default true) */
};

/* A routing rule: new requests that match go to set. */
struct sbc_route_conf {
	char *prefix;                  /* Request-URI user starts with it */
	char *domain;                  /* Request-URI host is it */
	char *set_name;                /* as written */
	uint32_t set;                  /* index in sets */
	unsigned line;
};

/* The media relay (DESIGN.md section 6), the `rtp` group. */
enum sbc_rtp_io_conf {
	SBC_RTP_IO_CONF_URING = 0,   /* io_uring, epoll if the host refuses */
	SBC_RTP_IO_CONF_EPOLL,
};

enum {
	SBC_RTP_WORKERS_MAX    = 16,
	SBC_RTP_SESSIONS_LIMIT = 1000000,
};

struct sbc_rtp_conf {
	uint32_t workers;           /* rtp.workers: relay processes, 0: SDP
				     * passes untouched, no media relayed */
	uint32_t port_min;          /* rtp.port_min, even */
	uint32_t port_max;          /* rtp.port_max */
	struct sa addr[SBC_SIDE_COUNT];      /* rtp.access_address,
					      * rtp.core_address: bound */
	struct sa advertise[SBC_SIDE_COUNT]; /* rtp.*_advertise: put in SDP;
					      * unset: the bound address */
	enum sbc_rtp_io_conf io;    /* rtp.io */
	uint32_t timeout;           /* rtp.timeout: s without media before
				     * the call is ended, 0: never */
	uint32_t control_timeout;   /* rtp.control_timeout: ms a worker waits
				     * for the relay's answer */
	uint32_t max_sessions;      /* rtp.max_sessions: per relay process */
};

/* A set of SIP status codes, 100..699. */
struct sbc_codes {
	uint64_t bits[11];
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
	struct sbc_backend_conf *backends;     /* backends: every member of */
	uint32_t backend_count;                /* every set, set by set */
	struct sbc_set_conf *sets;             /* backends */
	uint32_t set_count;
	struct sbc_route_conf *routes;         /* routes */
	uint32_t route_count;
	uint32_t probe_interval;    /* probe.interval: s between OPTIONS to
				     * each backend, 0: none */
	uint32_t probe_down_after;  /* probe.down_after: failures, then down */
	uint32_t probe_up_after;    /* probe.up_after: successes, then up */
	struct sbc_codes probe_alive;  /* probe.alive: besides 2xx */
	struct sbc_codes failover_codes;  /* failover.codes */
	uint32_t failover_timeout;  /* failover.timeout: ms with no response */
	uint32_t failover_attempts; /* failover.attempts: backends per call */

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

	struct sbc_rtp_conf rtp;    /* rtp.*: the media relay (cfg/rtp.c) */
};

enum {
	SBC_CONFIG_ERR_SIZE = 512,  /* enough for any error message */
};

int sbc_config_load(struct sbc_config **cfgp, const char *path,
		    char *errbuf, size_t errsz);
const char *sbc_side_name(enum sbc_side side);
const char *sbc_transport_name(enum sbc_transport tp);
const char *sbc_algorithm_name(enum sbc_algorithm alg);
bool sbc_codes_has(const struct sbc_codes *codes, uint16_t scode);
