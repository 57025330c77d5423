/*
 * WebSocket framing (RFC 6455 section 5), server side, as SIP over
 * WebSocket (RFC 7118) uses it: every WebSocket message is one SIP message.
 *
 * The decoder is a pure function over the bytes not yet consumed: it reads
 * one frame at the front of the buffer, unmasks its payload in place, and
 * says what it was. Fragmented messages are reassembled in a buffer the
 * state owns; control frames may arrive between fragments. A client's
 * frames must be masked; a server's (built by sbc_ws_header) are not.
 */

enum {
	SBC_WS_HDR_MAX  = 14,    /* 2 + 8 bytes of length + 4 of mask */
	SBC_WS_CTRL_MAX = 125,   /* longest control frame payload */
};

enum sbc_ws_op {
	SBC_WS_OP_CONT   = 0x0,
	SBC_WS_OP_TEXT   = 0x1,
	SBC_WS_OP_BINARY = 0x2,
	SBC_WS_OP_CLOSE  = 0x8,
	SBC_WS_OP_PING   = 0x9,
	SBC_WS_OP_PONG   = 0xa,
};

/* Close status codes sent by the server (RFC 6455 section 7.4.1). */
enum sbc_ws_status {
	SBC_WS_CLOSE_NORMAL   = 1000,
	SBC_WS_CLOSE_GOING    = 1001,
	SBC_WS_CLOSE_PROTOCOL = 1002,
	SBC_WS_CLOSE_TOO_BIG  = 1009,
};

enum sbc_ws_kind {
	SBC_WS_MORE = 0,   /* no whole frame at the front: read more */
	SBC_WS_PART,       /* a fragment, kept: nothing to do */
	SBC_WS_MSG,        /* a whole message: data, len */
	SBC_WS_PING,       /* answer a pong with the same payload */
	SBC_WS_PONG,
	SBC_WS_CLOSE,      /* payload: empty, or status code and reason */
};

/* What the frame at the front was; the caller drops `used` bytes. data
 * points into the caller's buffer, or into the reassembly buffer for a
 * fragmented message: valid until the next call on the same state. */
struct sbc_ws_cut {
	enum sbc_ws_kind kind;
	size_t used;
	uint8_t opcode;        /* of a MSG: text or binary */
	const uint8_t *data;
	size_t len;
};

/* Reassembly state of one connection; zero is the initial state. */
struct sbc_ws_rx {
	uint8_t *frag;         /* fragments so far (libre memory), or NULL */
	size_t frag_len;
	size_t frag_size;
	uint8_t frag_op;       /* opcode of the message being reassembled */
	bool done;             /* frag was handed out: release on next call */
};

int  sbc_ws_next(struct sbc_ws_rx *rx, uint8_t *buf, size_t len, size_t max,
		 struct sbc_ws_cut *cut);
void sbc_ws_rx_reset(struct sbc_ws_rx *rx);
void sbc_ws_unmask(uint8_t *p, size_t len, const uint8_t mask[4]);
size_t sbc_ws_header(uint8_t hdr[SBC_WS_HDR_MAX], enum sbc_ws_op op,
		     uint64_t len);
