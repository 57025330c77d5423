/*
 * The WebSocket opening handshake (see ws_handshake.h).
 *
 * The request comes from anyone: it must end within SBC_WS_HS_MAX bytes,
 * every header line must have a name and a colon, and the key must be the
 * base64 of 16 bytes. A request that is HTTP but not an acceptable upgrade
 * gets a status (400, or 426 for a version other than 13) so the client
 * learns why; the connection is closed after it either way.
 */

#include <string.h>
#include <openssl/sha.h>
#include <re.h>
#include "workers/ws_handshake.h"

/* RFC 6455 section 1.3: appended to the key before hashing. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum {
	WS_KEY_LEN = 24,          /* base64 of 16 bytes */
};

/* What the headers said. */
struct hs_req {
	bool upgrade;             /* Upgrade lists websocket */
	bool connection;          /* Connection lists Upgrade */
	bool sip;                 /* Sec-WebSocket-Protocol lists sip */
	unsigned keys;            /* Sec-WebSocket-Key headers seen */
	struct pl key;
	struct pl version;
};


static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}


static void pl_trim_ows(struct pl *pl)
{
	while (pl->l && is_ows(pl->p[0]))
		pl_advance(pl, 1);

	while (pl->l && is_ows(pl->p[pl->l - 1]))
		--pl->l;
}


/* Does the comma-separated list hold the token (any case)? */
static bool list_has(const struct pl *list, const char *token)
{
	struct pl rest = *list, item;
	const char *comma;

	while (rest.l) {
		comma = pl_strchr(&rest, ',');
		item.p = rest.p;
		item.l = comma ? (size_t)(comma - rest.p) : rest.l;
		pl_advance(&rest, (ssize_t)(comma ? item.l + 1 : rest.l));

		pl_trim_ows(&item);
		if (!pl_strcasecmp(&item, token))
			return true;
	}

	return false;
}


static bool key_valid(const struct pl *key)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	if (key->l != WS_KEY_LEN || memcmp(key->p + WS_KEY_LEN - 2, "==", 2))
		return false;

	for (i = 0; i < WS_KEY_LEN - 2; i++) {
		if (!key->p[i] || !strchr(b64, key->p[i]))
			return false;
	}

	return true;
}


/* Sec-WebSocket-Accept: base64(SHA-1(key GUID)). */
int sbc_ws_hs_accept(char accept[SBC_WS_ACCEPT_SIZE], const struct pl *key)
{
	uint8_t in[WS_KEY_LEN + sizeof(ws_guid)];
	uint8_t digest[SHA_DIGEST_LENGTH];
	size_t olen = SBC_WS_ACCEPT_SIZE - 1;
	int err;

	if (!accept || !key || key->l > WS_KEY_LEN)
		return EINVAL;

	memcpy(in, key->p, key->l);
	memcpy(in + key->l, ws_guid, sizeof(ws_guid) - 1);
	SHA1(in, key->l + sizeof(ws_guid) - 1, digest);

	err = base64_encode(digest, sizeof(digest), accept, &olen);
	if (err)
		return err;

	accept[olen] = '\0';
	return 0;
}


/* One header line "name: value"; false if it is not one. */
static bool header_line(struct hs_req *req, const struct pl *line)
{
	const char *colon = pl_strchr(line, ':');
	struct pl name, val;

	if (!colon || colon == line->p || is_ows(line->p[0]))
		return false;

	name.p = line->p;
	name.l = (size_t)(colon - line->p);
	val.p = colon + 1;
	val.l = line->l - name.l - 1;
	pl_trim_ows(&val);

	if (!pl_strcasecmp(&name, "Upgrade"))
		req->upgrade |= list_has(&val, "websocket");
	else if (!pl_strcasecmp(&name, "Connection"))
		req->connection |= list_has(&val, "Upgrade");
	else if (!pl_strcasecmp(&name, "Sec-WebSocket-Protocol"))
		req->sip |= list_has(&val, "sip");
	else if (!pl_strcasecmp(&name, "Sec-WebSocket-Key")) {
		req->key = val;
		++req->keys;
	}
	else if (!pl_strcasecmp(&name, "Sec-WebSocket-Version"))
		req->version = val;

	return true;
}


/* "GET target HTTP/1.1" */
static bool request_line(const struct pl *line)
{
	static const char get[] = "GET ", version[] = " HTTP/1.1";
	const size_t vlen = sizeof(version) - 1;

	if (line->l <= sizeof(get) - 1 + vlen)
		return false;

	return !memcmp(line->p, get, sizeof(get) - 1) &&
	       !memcmp(line->p + line->l - vlen, version, vlen);
}


static void hs_verdict(struct sbc_ws_hs *hs, const struct hs_req *req)
{
	hs->status = 400;

	if (!req->upgrade || !req->connection)
		hs->reason = "not an upgrade to websocket";
	else if (pl_strcmp(&req->version, "13")) {
		hs->status = 426;
		hs->reason = "not WebSocket version 13";
	}
	else if (req->keys != 1 || !key_valid(&req->key))
		hs->reason = "no valid Sec-WebSocket-Key";
	else if (!req->sip)
		hs->reason = "subprotocol sip not offered";
	else if (sbc_ws_hs_accept(hs->accept, &req->key))
		hs->reason = "cannot compute the accept value";
	else {
		hs->status = 101;
		hs->reason = "upgraded";
	}
}


/*
 * Read the upgrade request at the front of buf[0..len). Returns ENODATA
 * while it is incomplete, EMSGSIZE when it does not end within
 * SBC_WS_HS_MAX bytes, else 0 with hs->status (101 or an HTTP error to
 * answer) and *usedp, the request's length: what follows it is already
 * WebSocket frames.
 */
int sbc_ws_hs_parse(const uint8_t *buf, size_t len, struct sbc_ws_hs *hs,
		    size_t *usedp)
{
	const char *p = (const char *)buf, *end, *eol;
	struct hs_req req;
	struct pl line;
	bool ok;

	if ((!buf && len) || !hs || !usedp)
		return EINVAL;

	memset(hs, 0, sizeof(*hs));
	memset(&req, 0, sizeof(req));

	end = len ? memmem(p, len < SBC_WS_HS_MAX ? len : SBC_WS_HS_MAX,
			   "\r\n\r\n", 4) : NULL;
	if (!end)
		return len >= SBC_WS_HS_MAX ? EMSGSIZE : ENODATA;

	*usedp = (size_t)(end - p) + 4;
	end += 2;           /* the last header line's CRLF */

	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	line.p = p;
	line.l = (size_t)(eol - p);
	ok = request_line(&line);

	for (p = eol + 2; ok && p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		line.p = p;
		line.l = (size_t)(eol - p);
		ok = header_line(&req, &line);
	}

	if (ok)
		hs_verdict(hs, &req);
	else {
		hs->status = 400;
		hs->reason = "not an HTTP/1.1 GET request";
	}

	return 0;
}


/* Print the answer to a parsed request into buf[0..size). */
int sbc_ws_hs_response(char *buf, size_t size, const struct sbc_ws_hs *hs,
		       size_t *lenp)
{
	int n;

	if (!buf || !hs || !lenp)
		return EINVAL;

	switch (hs->status) {

	case 101:
		n = re_snprintf(buf, size,
				"HTTP/1.1 101 Switching Protocols\r\n"
				"Upgrade: websocket\r\n"
				"Connection: Upgrade\r\n"
				"Sec-WebSocket-Accept: %s\r\n"
				"Sec-WebSocket-Protocol: sip\r\n"
				"\r\n", hs->accept);
		break;

	case 426:
		n = re_snprintf(buf, size,
				"HTTP/1.1 426 Upgrade Required\r\n"
				"Sec-WebSocket-Version: 13\r\n"
				"Connection: close\r\n"
				"Content-Length: 0\r\n"
				"\r\n");
		break;

	default:
		n = re_snprintf(buf, size,
				"HTTP/1.1 400 Bad Request\r\n"
				"Connection: close\r\n"
				"Content-Length: 0\r\n"
				"\r\n");
		break;
	}

	if (n < 0)
		return ENOSPC;

	*lenp = (size_t)n;
	return 0;
}
