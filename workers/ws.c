/*
 * WebSocket frames (see ws.h): decoding a client's frames and encoding
 * the server's headers.
 *
 * Every length here comes from the peer. A data frame longer than the
 * largest SIP message is refused from its header alone, before its payload
 * arrives, so a peer announcing 2^63 bytes costs nothing; fragments add up
 * to at most max bytes; control frames are at most 125 bytes and never
 * fragmented. No extension is ever negotiated, so a reserved bit is an
 * error. Text frames are not checked for UTF-8: the SIP parser above reads
 * the bytes, whatever frame carried them.
 */

#include <string.h>
#include <re.h>
#include "workers/ws.h"

struct ws_frame {
	bool fin;
	uint8_t op;
	uint8_t mask[4];
	uint64_t len;      /* payload */
	size_t hdr;        /* header, mask included */
};


void sbc_ws_unmask(uint8_t *p, size_t len, const uint8_t mask[4])
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] ^= mask[i & 3];
}


static uint64_t be_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;

	return v;
}


/* The payload length: 7 bits, or 126 and 16 bits, or 127 and 63 bits (the
 * top bit must be clear). ENODATA while the header is incomplete. */
static int frame_length(const uint8_t *buf, size_t len, struct ws_frame *f)
{
	size_t ext;

	f->len = buf[1] & 0x7f;
	ext = f->len == 126 ? 2 : f->len == 127 ? 8 : 0;
	f->hdr = 2 + ext + 4;

	if (len < f->hdr)
		return ENODATA;

	if (ext)
		f->len = be_read(buf + 2, ext);

	if (f->len >> 63)
		return EBADMSG;

	memcpy(f->mask, buf + 2 + ext, 4);
	return 0;
}


/* Decode and check the header at the front. ENODATA: incomplete;
 * EBADMSG: a frame this server does not accept; EMSGSIZE: too long. */
static int frame_decode(const uint8_t *buf, size_t len, size_t max,
			struct ws_frame *f)
{
	int err;

	if (len < 2)
		return ENODATA;

	f->fin = buf[0] & 0x80;
	f->op  = buf[0] & 0x0f;

	if (buf[0] & 0x70)             /* RSV1-3: no extension agreed */
		return EBADMSG;

	if (!(buf[1] & 0x80))          /* a client must mask every frame */
		return EBADMSG;

	err = frame_length(buf, len, f);
	if (err)
		return err;

	switch (f->op) {

	case SBC_WS_OP_CONT:
	case SBC_WS_OP_TEXT:
	case SBC_WS_OP_BINARY:
		return f->len > max ? EMSGSIZE : 0;

	case SBC_WS_OP_CLOSE:
		if (f->len == 1)       /* a status code is two bytes */
			return EBADMSG;
		/* fall through */
	case SBC_WS_OP_PING:
	case SBC_WS_OP_PONG:
		return f->fin && f->len <= SBC_WS_CTRL_MAX ? 0 : EBADMSG;

	default:
		return EBADMSG;
	}
}


void sbc_ws_rx_reset(struct sbc_ws_rx *rx)
{
	if (!rx)
		return;

	rx->frag = mem_deref(rx->frag);
	rx->frag_len = 0;
	rx->frag_size = 0;
	rx->frag_op = 0;
	rx->done = false;
}


/* Append a fragment; the reassembly buffer grows by doubling, up to max. */
static int frag_append(struct sbc_ws_rx *rx, const uint8_t *p, size_t n,
		       size_t max)
{
	size_t size;
	uint8_t *frag;

	if (n > max - rx->frag_len)
		return EMSGSIZE;

	if (rx->frag_len + n > rx->frag_size || !rx->frag) {
		size = rx->frag_size ? rx->frag_size : 512;
		while (size < rx->frag_len + n)
			size *= 2;
		if (size > max)
			size = max ? max : 1;

		frag = mem_reallocarray(rx->frag, size, 1, NULL);
		if (!frag)
			return ENOMEM;

		rx->frag = frag;
		rx->frag_size = size;
	}

	if (n)
		memcpy(rx->frag + rx->frag_len, p, n);
	rx->frag_len += n;

	return 0;
}


/* A data frame: a whole message, or a fragment of one. */
static int data_frame(struct sbc_ws_rx *rx, const struct ws_frame *f,
		      const uint8_t *payload, size_t max,
		      struct sbc_ws_cut *cut)
{
	int err;

	if (f->op == SBC_WS_OP_CONT ? !rx->frag_op : rx->frag_op)
		return EBADMSG;

	if (f->op != SBC_WS_OP_CONT && f->fin) {
		cut->kind = SBC_WS_MSG;
		cut->opcode = f->op;
		cut->data = payload;
		cut->len = (size_t)f->len;
		return 0;
	}

	err = frag_append(rx, payload, (size_t)f->len, max);
	if (err)
		return err;

	if (f->op != SBC_WS_OP_CONT)
		rx->frag_op = f->op;

	if (!f->fin) {
		cut->kind = SBC_WS_PART;
		return 0;
	}

	cut->kind = SBC_WS_MSG;
	cut->opcode = rx->frag_op;
	cut->data = rx->frag;
	cut->len = rx->frag_len;
	rx->done = true;

	return 0;
}


/*
 * Read the frame at the front of buf[0..len), unmasking its payload in
 * place. Returns 0 and sets *cut (kind MORE until a whole frame is there),
 * or EBADMSG for a protocol error (answer close 1002), EMSGSIZE for a
 * message over max bytes (close 1009), ENOMEM. After an error the
 * connection cannot be read on.
 */
int sbc_ws_next(struct sbc_ws_rx *rx, uint8_t *buf, size_t len, size_t max,
		struct sbc_ws_cut *cut)
{
	struct ws_frame f;
	uint8_t *payload;
	int err;

	if (!rx || (!buf && len) || !cut)
		return EINVAL;

	if (rx->done)
		sbc_ws_rx_reset(rx);

	memset(cut, 0, sizeof(*cut));

	err = frame_decode(buf, len, max, &f);
	if (err == ENODATA)
		return 0;
	if (err)
		return err;

	if (len - f.hdr < f.len)
		return 0;

	payload = buf + f.hdr;
	sbc_ws_unmask(payload, (size_t)f.len, f.mask);
	cut->used = f.hdr + (size_t)f.len;

	switch (f.op) {

	case SBC_WS_OP_PING:  cut->kind = SBC_WS_PING;  break;
	case SBC_WS_OP_PONG:  cut->kind = SBC_WS_PONG;  break;
	case SBC_WS_OP_CLOSE: cut->kind = SBC_WS_CLOSE; break;
	default:              return data_frame(rx, &f, payload, max, cut);
	}

	cut->data = payload;
	cut->len = (size_t)f.len;

	return 0;
}


/* A server frame header: FIN, opcode, length, no mask. Returns its size. */
size_t sbc_ws_header(uint8_t hdr[SBC_WS_HDR_MAX], enum sbc_ws_op op,
		     uint64_t len)
{
	size_t ext, i;

	hdr[0] = 0x80 | (uint8_t)op;

	if (len < 126) {
		hdr[1] = (uint8_t)len;
		return 2;
	}

	ext = len <= 0xffff ? 2 : 8;
	hdr[1] = ext == 2 ? 126 : 127;

	for (i = 0; i < ext; i++)
		hdr[2 + i] = (uint8_t)(len >> (8 * (ext - 1 - i)));

	return 2 + ext;
}
