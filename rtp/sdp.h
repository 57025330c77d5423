/*
 * SDP as the relay sees it (RFC 4566, RFC 3264 offer/answer).
 *
 * The relay does not rebuild an SDP: it rewrites the lines that carry
 * addresses, ports and transports and passes every other line through
 * unchanged, so codecs, their parameters and any attribute it does not
 * know reach the other party as the sender wrote them.
 *
 * sbc_sdp_parse() reads what the relay needs from an SDP: per m-line its
 * media, port, protocol, the connection address in force for it (its own
 * c= line, else the session's), its RTCP port and address (a=rtcp, else
 * port + 1 on the same address), direction and rtcp-mux; and what a
 * browser says of its end of a WebRTC transport (RFC 8829): a=mid, the
 * ICE credentials, the DTLS fingerprint and role (a=setup), the BUNDLE
 * groups, a=ice-lite. Input comes from the network: every length is
 * bounded, a line too long, an m-line too many or a malformed line the
 * relay reads is EBADMSG or E2BIG, never a crash or a guess.
 *
 * sbc_sdp_print() writes the SDP for the party on the other side. Each
 * party has a profile. A plain party (softphone, PBX: RTP/AVP, RTCP on
 * its own port) gets today's rewrite of a plain SDP: the origin's address
 * and every c= line name the relay's address on that side, each m-line's
 * port is the relay's RTP port for that stream, a=rtcp names the relay's
 * RTCP port and address, the sender's ICE attributes (a=candidate,
 * a=ice-ufrag, a=ice-pwd, a=ice-options, a=ice-lite, a=remote-candidates,
 * a=end-of-candidates), which point around the relay, are removed, a
 * declined stream (port 0) stays port 0 and a stream on hold by a null
 * address (c=0.0.0.0 or ::) keeps its null address. The relay ends ICE,
 * DTLS and SRTP on a browser's leg, so an SDP between the two profiles
 * describes the relay's end of the receiver's leg: a browser's streams
 * reach a plain party as RTP/AVP without the WebRTC transport attributes,
 * a plain party's streams reach a browser as UDP/TLS/RTP/SAVPF with the
 * relay's ICE-lite credentials, fingerprint, a=setup, rtcp-mux and
 * (optionally) one BUNDLE group. sdp_print.c and sdp_webrtc.c say it
 * line by line.
 *
 * Include <re.h> before this header.
 */

enum {
	SBC_SDP_STREAMS_MAX = 16,
	SBC_SDP_LINE_MAX    = 4096,  /* a longer line is EBADMSG */
	SBC_SDP_SIZE_MAX    = 32768, /* a longer SDP is EBADMSG */
	SBC_SDP_MID_SIZE    = 32,    /* a longer a=mid is EBADMSG */
	SBC_SDP_ICE_MAX     = 256,   /* RFC 8839: ice-ufrag, ice-pwd */
};

/* The clock rates of telephone-event (RFC 4733) the relay maps. */
enum sbc_sdp_dtmf_rate {
	SBC_SDP_DTMF_8K = 0,     /* with G.711, G.722 */
	SBC_SDP_DTMF_48K,        /* with Opus */
	SBC_SDP_DTMF_RATES,
};

enum sbc_sdp_dir {
	SBC_SDP_SENDRECV = 0,
	SBC_SDP_SENDONLY,
	SBC_SDP_RECVONLY,
	SBC_SDP_INACTIVE,
};

/* Who a party is: it decides how the SDP it gets is written. */
enum sbc_sdp_profile {
	SBC_SDP_PLAIN = 0,       /* RTP/AVP, RTCP on its own port */
	SBC_SDP_WEBRTC,          /* ICE, DTLS-SRTP, rtcp-mux, BUNDLE */
};

/* a=setup (RFC 4145, 8842): who opens the DTLS association. */
enum sbc_sdp_setup {
	SBC_SDP_SETUP_NONE = 0,
	SBC_SDP_SETUP_ACTPASS,
	SBC_SDP_SETUP_ACTIVE,
	SBC_SDP_SETUP_PASSIVE,
	SBC_SDP_SETUP_HOLDCONN,
};

struct sbc_sdp_stream {
	struct pl media;         /* "audio", "video", "application", ... */
	struct pl proto;         /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", ... */
	struct pl fmts;          /* the formats after the protocol */
	uint16_t port;           /* m= port; 0: declined, but for a
				  * bundle-only m-section (see
				  * sbc_sdp_declined()) */
	struct sa addr;          /* connection address, port = the m= port;
				  * unset (sa_isset false) when null (hold) */
	struct sa rtcp;          /* where its RTCP goes: a=rtcp, else
				  * addr with port + 1; unset when null */
	bool null_addr;          /* c= was 0.0.0.0 or :: (RFC 2543 hold);
				  * never for a dtls stream, whose c= is
				  * ICE's default (0.0.0.0 port 9 while a
				  * browser gathers): its addr and rtcp are
				  * set from it as from any address */
	bool rtcp_mux;           /* a=rtcp-mux */
	enum sbc_sdp_dir dir;    /* the m-line's, else the session's */
	bool dtls;               /* proto begins "UDP/TLS/" or is
				  * "UDP/DTLS/SCTP" or "DTLS/SCTP" */
	bool is_rtp;             /* proto carries RTP ("RTP/" in it) */
	struct pl mid;           /* a=mid (a token of at most
				  * SBC_SDP_MID_SIZE - 1 bytes); empty: none */
	struct pl ice_ufrag;     /* a=ice-ufrag, media level, else the
				  * session's; empty: none */
	struct pl ice_pwd;       /* a=ice-pwd, the same way */
	struct pl fingerprint;   /* a=fingerprint value "sha-256 AB:..",
				  * media level else session, the first at
				  * that level; empty: none */
	enum sbc_sdp_setup setup;  /* a=setup, media level else session */
	bool bundle_only;        /* a=bundle-only (RFC 8843) */
	int bundle;              /* the m-line named first in the BUNDLE
				  * group (a=group:BUNDLE mid...) that names
				  * this stream's mid; -1: not bundled */
	int16_t dtmf[SBC_SDP_DTMF_RATES];  /* payload type of its
				  * a=rtpmap telephone-event/8000 and /48000;
				  * -1: none */
};

struct sbc_sdp {
	struct sbc_sdp_stream streams[SBC_SDP_STREAMS_MAX];
	unsigned count;          /* m-lines */
	bool ice_lite;           /* session-level a=ice-lite */
};

/*
 * The relay's side of each stream, for sbc_sdp_print(): its end of the
 * leg of the party the SDP goes to.
 */
struct sbc_sdp_local {
	struct sa addr;          /* advertised address (its port unused) */
	uint16_t rtp[SBC_SDP_STREAMS_MAX];   /* RTP port per m-line */
	uint16_t rtcp[SBC_SDP_STREAMS_MAX];  /* RTCP port per m-line */
	enum sbc_sdp_profile profile;        /* of the party it goes to */

	/* SBC_SDP_WEBRTC only */
	const char *ice_ufrag;   /* one pair for the whole session */
	const char *ice_pwd;
	const char *fingerprint; /* "sha-256 AB:CD:..." */
	enum sbc_sdp_setup setup;  /* ACTPASS in an offer, ACTIVE or PASSIVE
				    * in an answer */
	bool bundle;             /* one a=group:BUNDLE of every stream not
				  * declined, all on the port of the first */
	char mid[SBC_SDP_STREAMS_MAX][SBC_SDP_MID_SIZE];  /* per m-line; "":
				  * the stream's own a=mid, else its index */
};

int sbc_sdp_parse(struct sbc_sdp *sdp, const struct pl *text);
int sbc_sdp_print(struct mbuf *mb, const struct pl *text,
		  const struct sbc_sdp *sdp, const struct sbc_sdp_local *loc);
bool sbc_sdp_declined(const struct sbc_sdp *sdp, unsigned i);
bool sbc_sdp_fmt_next(struct pl *fmts, uint32_t *ptp);
const char *sbc_sdp_dir_name(enum sbc_sdp_dir dir);
const char *sbc_sdp_setup_name(enum sbc_sdp_setup setup);
