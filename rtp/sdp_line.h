/*
 * The insides of rtp/'s SDP code, shared between its files and nobody
 * else:
 * - the pieces of SDP text that both the parser (sdp.c) and the rewriter
 *   (sdp_print.c, sdp_webrtc.c) read (sdp_line.c): lines, and the fields
 *   of the lines the relay rewrites (o=, c=, m=, a=). Sharing them is what
 *   keeps the rewriter's idea of a line identical to the parser's, so it
 *   never rewrites a line the parser read differently;
 * - the grammar of the WebRTC transport attributes (sdp_transport.c),
 *   which the parser applies to what it reads and the rewriter to what
 *   the relay gives it to write;
 * - the rewriter's state, walked by sdp_print.c and written into by
 *   sdp_webrtc.c when the SDP crosses from one profile to the other.
 *
 * Every function here that reads text reads bytes from the network: it
 * bounds and checks them and answers EBADMSG (or false) for anything
 * malformed.
 *
 * Include <re.h> and "rtp/sdp.h" before this header.
 */

/* One SDP line "<type>=<val>", its end of line (CRLF or LF) removed. */
struct sbc_sdp_line {
	char type;           /* 'v', 'o', 's', 'c', 'm', 'a', ... */
	struct pl val;       /* what follows "<type>=", possibly empty */
};

/*
 * Take the next line off the front of rest. Empty lines are skipped.
 * ENOENT when rest holds no more lines; EBADMSG for a line longer than
 * SBC_SDP_LINE_MAX, one that holds a NUL or a CR other than before its
 * LF, or one that does not start with a known type letter and '='.
 */
int sbc_sdp_line_next(struct pl *rest, struct sbc_sdp_line *line);

/*
 * The value of an o= line: "<user> <sess-id> <sess-version> IN IP4|IP6
 * <address>". head is set to "<user> <sess-id> <sess-version>".
 */
int sbc_sdp_origin_split(const struct pl *val, struct pl *head);

/*
 * The value of a c= line (or the address part of an a=rtcp): "IN IP4
 * <IPv4>" or "IN IP6 <IPv6>", a numeric unicast address (port 0 in sa).
 * A multicast address, a TTL or count suffix ("/127"), a host name, or an
 * address of the other family are EBADMSG. *nullp tells a null address
 * (0.0.0.0 or ::), the RFC 2543 way of putting a stream on hold.
 */
int sbc_sdp_conn_decode(const struct pl *val, struct sa *sa, bool *nullp);

/*
 * The value of an m= line: "<media> <port> <proto> <fmts>", fields
 * separated by one space; fmts is the rest of the line (not empty),
 * trailing white space removed. The port is not checked here.
 */
int sbc_sdp_media_split(const struct pl *val, struct pl *media,
			struct pl *port, struct pl *proto, struct pl *fmts);

/*
 * The value of an a= line: "<name>" or "<name>:<value>". Trailing white
 * space is removed from a name without value.
 */
void sbc_sdp_attr_split(const struct pl *val, struct pl *name,
			struct pl *value);

/* Is this attribute one of ICE's (RFC 8839), removed by the rewriter? */
bool sbc_sdp_attr_is_ice(const struct pl *name);

/* Is this attribute a direction (a=sendrecv, ...)? Which, in *dirp. */
bool sbc_sdp_dir_decode(const struct pl *name, enum sbc_sdp_dir *dirp);

/* Remove trailing spaces and tabs. */
void sbc_sdp_trim(struct pl *pl);

/* Take a non-empty token ending at one space (or at the end) off rest;
 * EBADMSG if rest is empty or begins with a space. */
int sbc_sdp_token_next(struct pl *rest, struct pl *tok);


/* sdp_transport.c: the WebRTC transport attributes. */

/* An a=mid value (RFC 5888 identification-tag): a token (RFC 4566) of 1
 * to SBC_SDP_MID_SIZE - 1 bytes. */
bool sbc_sdp_mid_valid(const struct pl *mid);

/* An a=ice-ufrag or a=ice-pwd value: 1 to SBC_SDP_ICE_MAX ice-chars
 * (RFC 8839: ALPHA, DIGIT, '+', '/'). */
bool sbc_sdp_ice_valid(const struct pl *s);

/* An a=fingerprint value (RFC 8122): "<hash> XX:XX:...", a hash name
 * of 1 to 16 token bytes, one space, 1 to 64 hex bytes (either case)
 * joined by ':'. */
bool sbc_sdp_fingerprint_valid(const struct pl *fp);

/* An a=setup value: actpass, active, passive or holdconn. */
int sbc_sdp_setup_decode(const struct pl *val, enum sbc_sdp_setup *setup);

/*
 * Read the a=<name>:<value> line if it is one of the WebRTC transport
 * attributes the parser keeps (mid, ice-ufrag, ice-pwd, fingerprint,
 * setup, bundle-only) into st; *usedp tells whether it was. For the
 * session level st holds the session's values and sess is true: a=mid
 * and a=bundle-only are EBADMSG there. A malformed value, or a second
 * a=mid, a=ice-ufrag, a=ice-pwd or a=setup at one level, is EBADMSG.
 */
int sbc_sdp_transport_attr(struct sbc_sdp_stream *st, bool sess,
			   const struct pl *name, const struct pl *value,
			   bool *usedp);

/*
 * Once every line is read: check that no two m-lines have one mid, and
 * set each stream's bundle from the BUNDLE groups (the values of the
 * session's a=group:BUNDLE lines, "BUNDLE <mid> ..."). A mid no m-line
 * has, or one named twice, is EBADMSG.
 */
int sbc_sdp_bundle_resolve(struct sbc_sdp *sdp, const struct pl *groups,
			   unsigned ngroups);


/* The rewriter (sdp_print.c, sdp_webrtc.c). */

/* What becomes of one m-section (or of the session part). */
enum sbc_sdp_xlate {
	SBC_SDP_XL_KEEP = 0, /* plain toward plain: the rewrite of sdp.h */
	SBC_SDP_XL_PLAIN,    /* a browser's RTP toward a plain party */
	SBC_SDP_XL_WEBRTC,   /* RTP toward a browser */
	SBC_SDP_XL_REFUSE,   /* what the receiver's profile cannot carry:
			      * declined, only its direction kept */
};

struct sbc_sdp_printer {
	struct mbuf *mb;
	const struct sbc_sdp *sdp;
	const struct sbc_sdp_local *loc;
	const char *ip;        /* "IP4" or "IP6", after loc->addr */
	size_t start;          /* mb->pos when it began */
	unsigned n;            /* m-lines written */
	enum sbc_sdp_xlate xl; /* of the part being written */
	bool any_dtls;         /* some stream is dtls */
	bool sess_dir;         /* a direction attribute at session level */
	bool sess_null;        /* the session's c= was written null */
	bool sec_dir;          /* the same in the m-section being written */
	bool sec_c;            /* it has a c= of its own */
	bool sec_null;         /* written null */
	int first;             /* toward WebRTC: the first stream not
				* declined, whose port they share; -1 */
	char mid[SBC_SDP_STREAMS_MAX][SBC_SDP_MID_SIZE];  /* toward WebRTC */
};

/* Write one line (fmt without its CRLF); EOVERFLOW past the bounds. */
int sbc_sdp_put(struct sbc_sdp_printer *pr, const char *fmt, ...);

/* The translation of stream i toward loc->profile. */
enum sbc_sdp_xlate sbc_sdp_xlate(const struct sbc_sdp_printer *pr,
				 unsigned i);

/* Is stream i declined in what is written? */
bool sbc_sdp_out_declined(const struct sbc_sdp_printer *pr, unsigned i);

/* Is the attribute name, read in a part translated by xl, dropped? */
bool sbc_sdp_attr_dropped(enum sbc_sdp_xlate xl, const struct pl *name);

/* Toward WebRTC: check loc's credentials, fill pr->mid and pr->first.
 * EINVAL for a credential missing or malformed, EBADMSG for two m-lines
 * that would get one mid. */
int sbc_sdp_webrtc_begin(struct sbc_sdp_printer *pr);

/* Toward WebRTC, just before the first m-line: a=ice-lite, the group. */
int sbc_sdp_webrtc_session(struct sbc_sdp_printer *pr);

/* Toward WebRTC, at the end of m-section i: the relay's transport, or
 * only the mid of a declined stream. */
int sbc_sdp_webrtc_media(struct sbc_sdp_printer *pr, unsigned i);
