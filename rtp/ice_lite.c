/*
 * ICE-lite: answering a browser's connectivity checks (RFC 8445 2.5 and
 * 7.3, RFC 5389), on libre's STUN codec.
 *
 * libre 1.1.0's ICE agent refuses lite mode, and a relay needs no agent:
 * a lite endpoint never sends checks, it only answers Binding requests
 * that prove they come from the peer of the SDP exchange. A request is
 * answered only when all of this holds, else it is dropped (a check the
 * browser will retry, never an answer an attacker can use):
 *
 *   - a STUN Binding request with the magic cookie, that libre decodes;
 *   - FINGERPRINT present and right (RFC 7983 demultiplexes by the first
 *     byte; the fingerprint says it really is STUN);
 *   - USERNAME is "<our ufrag>:<the browser's ufrag>";
 *   - MESSAGE-INTEGRITY right with our password (short-term credential).
 *
 * The answer is a Binding success response with the same transaction id,
 * XOR-MAPPED-ADDRESS = where the request came from, MESSAGE-INTEGRITY
 * with our password and FINGERPRINT. The caller learns whether the check
 * nominated the pair (USE-CANDIDATE), for latching (a leg latches only to
 * an address that passed a check) and consent freshness (RFC 7675).
 */

#include <string.h>
#include <re.h>
#include "rtp/ice_lite.h"


/* USERNAME "lufrag:rufrag", the second part checked when known. */
static bool username_ok(const char *user, const struct sbc_ice_lite *ice)
{
	const size_t ll = strlen(ice->lufrag);

	if (!user || strncmp(user, ice->lufrag, ll) || user[ll] != ':')
		return false;

	return !ice->rufrag || 0 == strcmp(user + ll + 1, ice->rufrag);
}


static int request_check(const struct stun_msg *msg,
			 const struct sbc_ice_lite *ice)
{
	const struct stun_attr *user;

	if (stun_msg_method(msg) != STUN_METHOD_BINDING ||
	    stun_msg_class(msg) != STUN_CLASS_REQUEST ||
	    !stun_msg_mcookie(msg))
		return EBADMSG;

	if (stun_msg_chk_fingerprint(msg))
		return EBADMSG;

	user = stun_msg_attr(msg, STUN_ATTR_USERNAME);
	if (!user || !username_ok(user->v.username, ice))
		return EACCES;

	if (stun_msg_chk_mi(msg, (const uint8_t *)ice->lpwd,
			    strlen(ice->lpwd)))
		return EACCES;

	return 0;
}


/*
 * The answer to the check in buf (len bytes, from src), in out, and what
 * it said in *check. EBADMSG: not a STUN Binding request or a malformed
 * one; EACCES: not from the peer of the SDP exchange (username or
 * integrity). Nothing is to be sent back on an error.
 */
int sbc_ice_lite_answer(struct mbuf *out, const uint8_t *buf, size_t len,
			const struct sa *src, const struct sbc_ice_lite *ice,
			struct sbc_ice_check *check)
{
	struct stun_msg *msg = NULL;
	const struct stun_attr *prio;
	struct mbuf *mb;
	int err;

	if (!out || !buf || !src || !ice || !ice->lufrag || !ice->lpwd ||
	    !check)
		return EINVAL;

	/* libre's decoded message holds a reference to its buffer: a copy
	 * (checks come once a second or so, never per media packet) */
	mb = mbuf_alloc(len);
	if (!mb)
		return ENOMEM;

	err = mbuf_write_mem(mb, buf, len);
	if (err)
		goto out;
	mb->pos = 0;

	err = stun_msg_decode(&msg, mb, NULL);
	if (err) {
		err = EBADMSG;
		goto out;
	}

	err = request_check(msg, ice);
	if (err)
		goto out;

	memset(check, 0, sizeof(*check));
	check->use_candidate = stun_msg_attr(msg, STUN_ATTR_USE_CAND) != NULL;
	prio = stun_msg_attr(msg, STUN_ATTR_PRIORITY);
	if (prio)
		check->priority = prio->v.priority;

	if (ice->software)
		err = stun_msg_encode(out, STUN_METHOD_BINDING,
				      STUN_CLASS_SUCCESS_RESP,
				      stun_msg_tid(msg), NULL,
				      (const uint8_t *)ice->lpwd,
				      strlen(ice->lpwd), true, 0x20, 2,
				      STUN_ATTR_SOFTWARE, ice->software,
				      STUN_ATTR_XOR_MAPPED_ADDR, src);
	else
		err = stun_msg_encode(out, STUN_METHOD_BINDING,
				      STUN_CLASS_SUCCESS_RESP,
				      stun_msg_tid(msg), NULL,
				      (const uint8_t *)ice->lpwd,
				      strlen(ice->lpwd), true, 0x20, 1,
				      STUN_ATTR_XOR_MAPPED_ADDR, src);

 out:
	mem_deref(msg);
	mem_deref(mb);
	return err;
}
