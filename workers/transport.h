/*
 * A worker's sockets: every configured listener, and the connections it
 * accepted.
 *
 * Each worker binds every listener itself with SO_REUSEPORT (and
 * IP_FREEBIND, so a VIP that has not arrived yet can be bound), so the
 * kernel spreads datagrams and accepted connections over the workers.
 * libre 1.1.0 can neither set SO_REUSEPORT on its own sockets nor adopt an
 * accepted fd, so the transport owns its sockets and drives them with
 * libre's fd_listen(); TLS is OpenSSL used directly, WebSocket is RFC 6455
 * framing done here. Above this line everything is complete SIP messages.
 *
 * A connection lives in the worker that accepted it and is named by a
 * 64-bit id that says which worker that is (sbc_conn_worker), so another
 * worker that must send on it knows whom to ask.
 *
 * What the transport guarantees upward:
 * - recvh gets one complete SIP message at a time: a datagram, one message
 *   cut from a stream by its Content-Length (none on a stream means no
 *   body), or one WebSocket message (fragments reassembled, text or
 *   binary); never more than sip.max_message_size bytes (larger ones are
 *   dropped and counted in SBC_STAT_RX_TOO_BIG; a stream that announces
 *   one, or whose Content-Length cannot be trusted, is closed). rx->buf is
 *   valid only during the call;
 * - keepalives (CRLF on UDP/streams, RFC 5626 double CRLF answered with
 *   CRLF, WebSocket ping/pong) never reach recvh;
 * - closeh is called exactly once for every connection that was handed to
 *   recvh at least once, whoever closed it (peer, error, idle, dead
 *   WebSocket, full output queue), after the connection is gone:
 *   sbc_tp_conn_alive() is false and sbc_tp_send() answers ENOTCONN. A
 *   connection the core never saw (closed during its TLS or WebSocket
 *   handshake, or before its first message) gets no closeh. closeh only
 *   ever runs from the event loop, never inside sbc_tp_send(),
 *   sbc_tp_hold() or recvh; freeing the transport calls no closeh;
 * - a connection closes after connections.idle_timeout seconds without a
 *   SIP message either way nor a keepalive from the peer (a pong answering
 *   our ping does not count), unless sbc_tp_hold() keeps it: held until
 *   until_ms (sbc_now_ms() time), a later hold only extending it. A WS
 *   connection is pinged every connections.ws_ping_interval seconds and
 *   closed, held or not, when nothing came from it for two intervals.
 *   TLS and WebSocket handshakes must finish within 10 s;
 * - sending never blocks: what the socket does not take at once waits in
 *   the connection's output queue (1 MiB at most; beyond it the connection
 *   is closed and sbc_tp_send() answers ENOBUFS).
 *
 * recvh and closeh must not free the transport. sbc_tp_alloc() sets SIGPIPE
 * to ignored (OpenSSL writes with write(2)), and needs fd_setsize() raised
 * to the fd limit first: libre's loop refuses fds beyond it, and a
 * connection that gets such an fd is refused.
 */

struct sbc_config;
struct sbc_stats;
struct sbc_tp;

/* One complete SIP message as read from the network. */
struct sbc_rx {
	const uint8_t *buf;
	size_t len;
	enum sbc_transport tp;
	uint16_t listener;         /* index in cfg->listeners */
	struct sa src;             /* the peer's address, as seen */
	uint64_t conn;             /* 0 for UDP */
};

typedef void (sbc_tp_recv_h)(const struct sbc_rx *rx, void *arg);
typedef void (sbc_tp_close_h)(uint64_t conn, void *arg);

int  sbc_tp_alloc(struct sbc_tp **tpp, const struct sbc_config *cfg,
		  uint32_t worker, uint32_t incarnation,
		  struct sbc_stats *stats, sbc_tp_recv_h *recvh,
		  sbc_tp_close_h *closeh, void *arg);
int  sbc_tp_send(struct sbc_tp *tp, uint16_t listener, uint64_t conn,
		 const struct sa *dst, const uint8_t *buf, size_t len);
void sbc_tp_hold(struct sbc_tp *tp, uint64_t conn, uint64_t until_ms);
bool sbc_tp_conn_alive(const struct sbc_tp *tp, uint64_t conn);
void sbc_tp_drain(struct sbc_tp *tp);
uint32_t sbc_tp_conn_count(const struct sbc_tp *tp);

/* Connection ids: (worker + 1) << 56 | incarnation << 40 | sequence, so 0
 * is never a connection and a restarted worker never reuses an id. */
static inline uint32_t sbc_conn_worker(uint64_t conn)
{
	return (uint32_t)(conn >> 56) - 1;
}

static inline uint32_t sbc_conn_incarnation(uint64_t conn)
{
	return (uint32_t)(conn >> 40 & 0xffff);
}
