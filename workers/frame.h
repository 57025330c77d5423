/*
 * SIP over a byte stream (TCP, TLS): cutting complete messages.
 *
 * A stream carries messages back to back, each one a header part ended by
 * an empty line (CRLFCRLF) and a body of Content-Length bytes (a stream
 * message without Content-Length has no body, RFC 3261 section 18.3).
 * Between messages a peer may send CRLFs: a lone CRLF is skipped, a double
 * CRLF is an RFC 5626 keepalive ping that is answered with one CRLF.
 *
 * The cutter is a pure function over the bytes not yet consumed: it reads
 * the buffer, says what its front holds, and the caller drops that many
 * bytes. The little state it keeps lets it resume the search for the end of
 * the headers where it stopped, so a peer that sends a byte at a time costs
 * linear, not quadratic, work.
 */

enum sbc_frame_kind {
	SBC_FRAME_MORE = 0,  /* nothing complete at the front: read more */
	SBC_FRAME_SKIP,      /* a CRLF between messages: drop it */
	SBC_FRAME_PING,      /* a double CRLF: drop it, answer one CRLF */
	SBC_FRAME_MSG,       /* a whole SIP message: hand it up, drop it */
};

/* What the front of the buffer holds: len bytes of kind. */
struct sbc_frame_cut {
	enum sbc_frame_kind kind;
	size_t len;
};

/* State kept between calls on one stream; zero is the initial state. */
struct sbc_frame {
	size_t scanned;   /* bytes searched for CRLFCRLF without finding it */
	size_t total;     /* length of the message once its headers are read */
};

int  sbc_frame_next(struct sbc_frame *fr, const uint8_t *buf, size_t len,
		    size_t max, struct sbc_frame_cut *cut);
void sbc_frame_reset(struct sbc_frame *fr);
