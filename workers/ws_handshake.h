/*
 * The WebSocket opening handshake, server side (RFC 6455 section 4.2), for
 * SIP over WebSocket (RFC 7118): the client's HTTP/1.1 GET must ask for an
 * upgrade to websocket, version 13, with a key and the subprotocol "sip";
 * the answer is 101 with the key's accept value and "sip", or an HTTP
 * error after which the connection is closed.
 *
 * Pure functions over buffers: parse the request, print the answer.
 */

enum {
	SBC_WS_HS_MAX = 8192,     /* longest upgrade request accepted */
	SBC_WS_ACCEPT_SIZE = 29,  /* base64 of a SHA-1 digest, and a NUL */
};

struct sbc_ws_hs {
	uint16_t status;          /* 101 to accept, else the error to answer */
	const char *reason;       /* what was wrong, for the log */
	char accept[SBC_WS_ACCEPT_SIZE];   /* Sec-WebSocket-Accept (101) */
};

int sbc_ws_hs_parse(const uint8_t *buf, size_t len, struct sbc_ws_hs *hs,
		    size_t *usedp);
int sbc_ws_hs_response(char *buf, size_t size, const struct sbc_ws_hs *hs,
		       size_t *lenp);
int sbc_ws_hs_accept(char accept[SBC_WS_ACCEPT_SIZE], const struct pl *key);
