/*
 * SDP as the relay sees it (RFC 4566, RFC 3264 offer/answer).
 *
 * The relay does not rebuild an SDP: it rewrites the lines that carry
 * addresses and ports and passes every other line through unchanged, so
 * codecs, their parameters and any attribute it does not know reach the
 * other party as the sender wrote them.
 *
 * sbc_sdp_parse() reads what the relay needs from an SDP: per m-line its
 * media, port, protocol, the connection address in force for it (its own
 * c= line, else the session's), its RTCP port and address (a=rtcp, else
 * port + 1 on the same address), direction and rtcp-mux. Input comes from
 * the network: every length is bounded, a line too long, an m-line too
 * many or a malformed c=/m=/a=rtcp line is EBADMSG or E2BIG, never a
 * crash or a guess.
 *
 * sbc_sdp_print() writes the SDP for the other party: the origin's
 * address and every c= line name the relay's address on that side
 * (session-level c= added if the input had none at session level and
 * any m-line lacks one), each m-line's port is the relay's RTP port for
 * that stream, a=rtcp names the relay's RTCP port and address, and the ICE
 * attributes of the sender (a=candidate, a=ice-ufrag, a=ice-pwd,
 * a=ice-options, a=ice-lite, a=remote-candidates, a=end-of-candidates),
 * which point around the relay, are removed. A declined stream (port 0)
 * stays port 0; a stream on hold by a null address (c=0.0.0.0 or ::)
 * keeps its null address, so the other party sees the hold.
 *
 * Include <re.h> before this header.
 */

enum {
	SBC_SDP_STREAMS_MAX = 16,
	SBC_SDP_LINE_MAX    = 4096,  /* a longer line is EBADMSG */
	SBC_SDP_SIZE_MAX    = 32768, /* a longer SDP is EBADMSG */
};

enum sbc_sdp_dir {
	SBC_SDP_SENDRECV = 0,
	SBC_SDP_SENDONLY,
	SBC_SDP_RECVONLY,
	SBC_SDP_INACTIVE,
};

struct sbc_sdp_stream {
	struct pl media;         /* "audio", "video", "application", ... */
	struct pl proto;         /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", ... */
	struct pl fmts;          /* the formats after the protocol */
	uint16_t port;           /* m= port; 0: declined */
	struct sa addr;          /* connection address, port = the m= port;
				  * unset (sa_isset false) when null (hold) */
	struct sa rtcp;          /* where its RTCP goes: a=rtcp, else
				  * addr with port + 1; unset when null */
	bool null_addr;          /* c= was 0.0.0.0 or :: (RFC 2543 hold) */
	bool rtcp_mux;           /* a=rtcp-mux */
	enum sbc_sdp_dir dir;    /* the m-line's, else the session's */
};

struct sbc_sdp {
	struct sbc_sdp_stream streams[SBC_SDP_STREAMS_MAX];
	unsigned count;          /* m-lines */
};

/* The relay's side of each stream, for sbc_sdp_print(). */
struct sbc_sdp_local {
	struct sa addr;          /* advertised address (its port unused) */
	uint16_t rtp[SBC_SDP_STREAMS_MAX];   /* RTP port per m-line */
	uint16_t rtcp[SBC_SDP_STREAMS_MAX];  /* RTCP port per m-line */
};

int sbc_sdp_parse(struct sbc_sdp *sdp, const struct pl *text);
int sbc_sdp_print(struct mbuf *mb, const struct pl *text,
		  const struct sbc_sdp *sdp, const struct sbc_sdp_local *loc);
const char *sbc_sdp_dir_name(enum sbc_sdp_dir dir);
