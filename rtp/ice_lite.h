/*
 * ICE-lite (RFC 8445 2.5): the relay's side of a WebRTC leg answers the
 * browser's connectivity checks and makes none of its own (ice_lite.c).
 * Include <re.h> before this header.
 */

/* A leg's credentials: its own ufrag and password (what its SDP gave the
 * browser), and the browser's ufrag once known (NULL: not checked). */
struct sbc_ice_lite {
	const char *lufrag;
	const char *lpwd;
	const char *rufrag;
	const char *software;      /* SOFTWARE in answers, NULL: none */
};

/* What a valid check said besides "I am here". */
struct sbc_ice_check {
	bool use_candidate;        /* USE-CANDIDATE: nominated */
	uint32_t priority;         /* PRIORITY of the browser's candidate */
};

int sbc_ice_lite_answer(struct mbuf *out, const uint8_t *buf, size_t len,
			const struct sa *src, const struct sbc_ice_lite *ice,
			struct sbc_ice_check *check);
