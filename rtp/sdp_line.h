/*
 * The pieces of SDP text that both the parser (sdp.c) and the rewriter
 * (sdp_print.c) read: lines, and the fields of the lines the relay
 * rewrites (o=, c=, m=, a=). Internal to rtp/: sharing them is what keeps
 * the rewriter's idea of a line identical to the parser's, so it never
 * rewrites a line the parser read differently.
 *
 * Every function here reads bytes from the network: it bounds and checks
 * them and answers EBADMSG for anything malformed.
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
