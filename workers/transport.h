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
 *   cut from a stream by its Content-Length, or one WebSocket message;
 *   never more than sip.max_message_size bytes (larger ones are dropped and
 *   counted, a stream that announces one is closed);
 * - keepalives (CRLF on UDP/streams, RFC 5626 double CRLF answered with
 *   CRLF, WebSocket ping/pong) never reach recvh;
 * - closeh is called once for every connection that closes, whoever
 *   closed it.
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
