/*
 * Inside the transport: what its files share. transport.h is the contract
 * with the SIP core; this header is how the parts below it meet.
 *
 *   tp.c         the object, the public calls, ids and counters
 *   tp_listen.c  binding every listener, draining
 *   tp_sock.c    socket options (SO_REUSEPORT, IP_FREEBIND, ...)
 *   tp_udp.c     recvmmsg batches and sendto
 *   tp_accept.c  the per-worker accept loop
 *   tp_conn.c    a connection's life: accept, events, deadlines, close
 *   tp_io.c      reading and writing a connection, plain or TLS
 *   tp_tls.c     OpenSSL: the worker's context and a connection's session
 *   tp_stream.c  SIP over TCP/TLS: framing and CRLF keepalives
 *   tp_ws.c      SIP over WS/WSS: upgrade, frames, pings
 *
 * Include <re.h>, "shm/field.h", "shm/stats.h", "workers/transport.h",
 * "workers/frame.h", "workers/ws.h" and "workers/tp_buf.h" before it.
 */

struct ssl_st;
struct ssl_ctx_st;
struct sbc_listener_conf;

enum {
	TP_UDP_BATCH       = 32,        /* datagrams per recvmmsg */
	TP_ACCEPT_BATCH    = 32,        /* connections accepted per event */
	TP_READS           = 8,         /* reads per event of a connection */
	TP_READ_CHUNK      = 16384,     /* bytes asked for by one read */
	TP_OUT_MAX         = 1 << 20,   /* output queued before closing */
	TP_HANDSHAKE_MS    = 10000,     /* TLS and WebSocket upgrade */
	TP_LINGER_MS       = 2000,      /* a last answer's time to leave */
	TP_ACCEPT_PAUSE_MS = 100,       /* no fd left: accept again after */
	TP_TIMER_MAX_MS    = 3600000,   /* longest sleep of a connection */
	TP_CONN_BUCKETS    = 4096,
};

struct tp_udp;

struct tp_listener {
	struct sbc_tp *tp;
	const struct sbc_listener_conf *conf;
	struct tmr pause;            /* accepting resumes (out of fds) */
	uint16_t index;
	int fd;                      /* -1 once drained */
};

struct sbc_tp {
	const struct sbc_config *cfg;
	struct sbc_stats *stats;     /* may be NULL: nothing counted */
	uint32_t worker;
	uint64_t id_base;            /* (worker + 1) << 56 | incarn. << 40 */
	uint64_t seq;                /* last connection sequence number */
	struct tp_listener *lsnv;
	uint16_t lsnc;
	struct hash *conns;          /* struct tp_conn by id */
	uint32_t nconns;
	struct tp_udp *udp;          /* receive buffers, if a UDP listener */
	struct ssl_ctx_st *ssl_ctx;  /* if a TLS or WSS listener */
	sbc_tp_recv_h *recvh;
	sbc_tp_close_h *closeh;
	void *arg;
};

enum tp_conn_state {
	TP_CONN_TLS_HS = 0,   /* TLS handshake under way */
	TP_CONN_WS_HS,        /* waiting for the HTTP upgrade request */
	TP_CONN_OPEN,         /* carrying SIP */
	TP_CONN_LINGER,       /* a last answer queued: close once it left */
};

struct tp_conn {
	struct le he;                /* in tp->conns */
	struct sbc_tp *tp;
	uint64_t id;
	int fd;
	int fd_flags;                /* as last given to fd_listen */
	uint16_t listener;
	enum sbc_transport kind;
	enum tp_conn_state state;
	struct sa peer;
	struct ssl_st *ssl;          /* TLS and WSS */
	bool tls_want_write;         /* OpenSSL waits for writability */
	bool tls_broken;             /* fatal TLS error: no close_notify */
	bool known;                  /* handed to recvh: closeh is owed */
	int err;                     /* set: closing at the next chance */
	struct tp_buf in;
	struct tp_buf out;
	struct sbc_frame frame;      /* TCP, TLS */
	struct sbc_ws_rx wsrx;       /* WS, WSS */
	struct tmr tmr;              /* the next deadline */
	struct tmr kick;             /* deferred work: close, TLS leftovers */
	uint64_t started;            /* monotonic ms: accepted */
	uint64_t last_use;           /* SIP either way, or a peer keepalive */
	uint64_t last_rx;            /* any bytes (TCP) or frame (WS) read */
	uint64_t next_ping;          /* WS: when to ping */
	uint64_t linger_until;
	uint64_t hold_until;         /* wall clock ms (sbc_now_ms) */
};

/* tp.c */
void tp_count(struct sbc_tp *tp, enum sbc_stat stat, int64_t delta);
uint64_t tp_now(void);
const char *tp_name(enum sbc_transport kind);
bool tp_is_stream(enum sbc_transport kind);
bool tp_is_tls(enum sbc_transport kind);
bool tp_is_ws(enum sbc_transport kind);

/* tp_listen.c */
int  tp_listen_all(struct sbc_tp *tp);
void tp_listen_close(struct tp_listener *l);

/* tp_sock.c */
int tp_sock_bind(int *fdp, const struct sa *addr, int type);
int tp_sock_nodelay(int fd);

/* tp_udp.c */
int  tp_udp_alloc(struct tp_udp **udpp, size_t max_message);
void tp_udp_readable(int flags, void *arg);
int  tp_udp_send(struct tp_listener *l, const struct sa *dst,
		 const uint8_t *buf, size_t len);

/* tp_accept.c */
void tp_accept_ready(int flags, void *arg);

/* tp_conn.c */
int  tp_conn_accept(struct tp_listener *l, int fd, const struct sa *peer);
struct tp_conn *tp_conn_find(const struct sbc_tp *tp, uint64_t id);
void tp_conn_deliver(struct tp_conn *c, const uint8_t *buf, size_t len);
void tp_conn_fail(struct tp_conn *c, int err);
void tp_conn_linger(struct tp_conn *c);
void tp_conn_schedule(struct tp_conn *c);
void tp_conn_opened(struct tp_conn *c);
int  tp_conn_watch(struct tp_conn *c);

/* tp_io.c */
int  tp_io_read(struct tp_conn *c);
int  tp_io_queue(struct tp_conn *c, const void *p, size_t n);
int  tp_io_flush(struct tp_conn *c);
int  tp_io_send(struct tp_conn *c, const void *p, size_t n);

/* tp_tls.c */
int  tp_tls_ctx(struct ssl_ctx_st **ctxp, const struct sbc_config *cfg);
int  tp_tls_start(struct tp_conn *c);
int  tp_tls_handshake(struct tp_conn *c);
int  tp_tls_read(struct tp_conn *c, uint8_t *p, size_t size, size_t *np);
int  tp_tls_write(struct tp_conn *c, const uint8_t *p, size_t len,
		  size_t *np);
bool tp_tls_pending(const struct tp_conn *c);
void tp_tls_close(struct tp_conn *c);

/* tp_stream.c */
int tp_stream_input(struct tp_conn *c);

/* tp_ws.c */
int tp_ws_upgrade(struct tp_conn *c);
int tp_ws_input(struct tp_conn *c);
int tp_ws_send(struct tp_conn *c, enum sbc_ws_op op, const void *p,
	       size_t n);
int tp_ws_tick(struct tp_conn *c, uint64_t now);
