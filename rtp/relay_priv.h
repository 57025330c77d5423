/*
 * A relay process's insides, private to rtp/.
 *
 * A session is one call: per m-line a stream, and per stream two legs,
 * one per side of the edge (enum sbc_side). A leg has its own RTP and RTCP
 * sockets on its side's relay address, the party's address from its SDP,
 * and the address its packets really come from once latched. A packet read
 * on leg L of a stream goes out of the other leg's socket of the same kind
 * to the other party.
 *
 * A side whose party is a browser has the WebRTC profile (struct rwebrtc,
 * webrtc.c): all its streams share one transport, the RTP socket of its
 * first stream's leg (BUNDLE, rtcp-mux), where the relay answers ICE
 * checks, runs DTLS and turns SRTP into RTP and back.
 *
 * Include <re.h>, <stdatomic.h>, "shm/field.h", "cfg/config.h",
 * "shm/media.h", "rtp/io.h" and "rtp/sdp.h" before this header.
 */

struct sbc_shm;
struct sbc_stats;
struct sbc_ports;
struct sbc_dtls;
struct sbc_dtls_cert;
struct sbc_srtp;
struct rstream;

enum rsock_kind {
	RSOCK_RTP = 0,
	RSOCK_RTCP,
	RSOCK_KINDS,
};

/* One media socket: what the data path hands back with each packet. */
struct rsock {
	struct rstream *st;
	uint8_t side;              /* enum sbc_side */
	uint8_t kind;              /* enum rsock_kind */
	int fd;                    /* -1 when none; the io owns it */
};

struct rleg {
	struct rsock sock[RSOCK_KINDS];
	uint16_t port;             /* local RTP port; RTCP is port + 1 */
	struct sa sdp[RSOCK_KINDS];      /* from its SDP; unset: none/hold */
	struct sa latched[RSOCK_KINDS];  /* where its packets come from */
	bool is_latched[RSOCK_KINDS];
	bool connected[RSOCK_KINDS];     /* the socket is connected to it */
	bool declined;             /* its SDP gave port 0 */
};

enum {
	RTP_PTS = 128,
};

/* What a party's SDP declared for a stream (dtmf.c). */
struct rformats {
	uint8_t declared[RTP_PTS / 8];   /* payload types, a bit each */
	int16_t dtmf[SBC_SDP_DTMF_RATES];  /* telephone-event's; -1: none */
};

struct rstream {
	struct rsession *s;
	unsigned index;            /* its m-line */
	struct rleg leg[SBC_SIDE_COUNT];
	struct rformats fmt[SBC_SIDE_COUNT];
	uint8_t pt_map[SBC_SIDE_COUNT][RTP_PTS];  /* a packet from a side
				    * leaves with these payload types */
	bool pt_mapped[SBC_SIDE_COUNT];  /* some are not the same */
};

enum {
	RWEBRTC_UFRAG_LEN  = 8,      /* the relay's ICE ufrag: 48 random bits */
	RWEBRTC_PWD_LEN    = 24,     /* its password: 144 bits (RFC 8839 5.4
				      * asks for 128 at least) */
	/* the browser's ufrag or fingerprint, as the parser bounds them */
	RWEBRTC_REMOTE_MAX = SBC_SDP_ICE_MAX + 1,
	RWEBRTC_CONSENT_MS = 30000,  /* RFC 7675: no valid check for this
				      * long, and the relay stops sending */
};

/* The relay's end of a browser's media: one transport for all its
 * streams, the RTP socket of stream 0's leg on its side. */
struct rwebrtc {
	struct rsession *s;
	enum sbc_side side;
	char lufrag[RWEBRTC_UFRAG_LEN + 1];  /* ours, in its SDP */
	char lpwd[RWEBRTC_PWD_LEN + 1];
	char rufrag[RWEBRTC_REMOTE_MAX];     /* the browser's, "": unknown */
	char rfp[RWEBRTC_REMOTE_MAX];        /* its a=fingerprint */
	enum sbc_sdp_setup rsetup;           /* its last SDP's a=setup */
	bool rbundle;                        /* its last SDP had BUNDLE */
	char mid[SBC_SDP_STREAMS_MAX][SBC_SDP_MID_SIZE];  /* its mids */
	uint8_t pt_stream[RTP_PTS];          /* payload type -> stream + 1 */
	uint32_t ssrc[SBC_SDP_STREAMS_MAX];  /* its RTP's per stream */
	struct sa peer;                      /* where a valid check came from:
					      * the only source taken, the
					      * only destination */
	uint64_t consent_ms;                 /* last valid check, monotonic */
	bool consent;                        /* a check within 30 s */
	bool client;                         /* the relay's DTLS role */
	struct sbc_dtls *dtls;
	struct sbc_srtp *tx;                 /* protects what it is sent */
	struct sbc_srtp *rx;                 /* unprotects what it sends */
};

struct rsession {
	struct le he;              /* in relay->sessions, by Call-ID */
	struct sbc_relay *relay;
	char call_id[SBC_MEDIA_CALLID_SIZE];
	uint32_t slot;             /* its record in the media table */
	struct sbc_media_rec *rec;
	uint32_t worker;           /* the Call-ID's owner: gets TIMEOUT */
	struct rstream *streams[SBC_SDP_STREAMS_MAX];
	unsigned count;
	bool held[SBC_SIDE_COUNT]; /* that side's last SDP held every stream */
	struct rwebrtc *webrtc[SBC_SIDE_COUNT];  /* NULL: plain profile */
	uint64_t created;          /* sbc_now_ms */
	uint64_t timeout_told;     /* when TIMEOUT was last sent, 0: never */
};

/* A worker's channel. */
struct rchan {
	struct sbc_relay *relay;
	uint32_t worker;
	int fd;
};

struct sbc_relay {
	struct sbc_config *cfg;
	struct sbc_shm *shm;
	struct sbc_stats *stats;
	struct sbc_media *media;
	struct sbc_ports *ports;
	struct sbc_rtp_io *io;
	struct hash *sessions;
	struct rchan *chans;       /* by worker */
	uint32_t *free_slots;      /* stack of free record slots */
	uint32_t nfree;
	uint32_t index;
	uint32_t workers;
	uint8_t *sdp_buf;          /* a request's SDP */
	struct mbuf *out;          /* a reply's SDP */
	struct mbuf *stun;         /* an ICE check's answer */
	struct sbc_dtls_cert *cert;  /* for every DTLS association */
	struct tmr sweep;
	uint32_t reap_cursor;      /* next slot the reaper looks at */
	uint64_t drops_told;       /* the data path's drops last logged */
	uint32_t rounds;           /* of the sweep */
	struct rsession **by_slot; /* the session holding each record */
	uint64_t now;              /* sbc_now_ms, at the last timer */
	uint64_t mono_to_wall;     /* sbc_now_ms minus CLOCK_MONOTONIC ms */
	struct tmr beat;
};

/* ports.c */
int  sbc_ports_alloc(struct sbc_ports **pp, const struct sbc_rtp_conf *rtp,
		     uint32_t relay, uint32_t relays);
int  sbc_ports_take(struct sbc_ports *p, const struct sa *addr,
		    uint16_t *portp, int fds[RSOCK_KINDS]);

/* session.c */
int  sbc_rsession_get(struct sbc_relay *r, const char *call_id, bool create,
		      uint32_t worker, struct rsession **sp);
void sbc_rsession_delete(struct rsession *s, const char *why);
struct rsession *sbc_rsession_find(struct sbc_relay *r, const char *call_id);
int  sbc_rsession_streams(struct rsession *s, unsigned count);
void sbc_rsession_leg_stats(struct rsession *s);

/* session_sdp.c */
int  sbc_rsession_sdp(struct rsession *s, enum sbc_side from,
		      const struct pl *sdp, struct mbuf *out);
int  sbc_rsession_webrtc(struct rsession *s, enum sbc_side side);

/* webrtc.c */
int  sbc_rwebrtc_alloc(struct rwebrtc **wp, struct rsession *s,
		       enum sbc_side side);
int  sbc_rwebrtc_remote(struct rwebrtc *w, const struct sbc_sdp *sdp);
void sbc_rwebrtc_local(const struct rwebrtc *w, struct sbc_sdp_local *loc);
void sbc_rwebrtc_formats(struct rwebrtc *w, const struct sbc_sdp *sdp);
struct sbc_dtls *sbc_rwebrtc_dtls(struct rwebrtc *w);
void sbc_rwebrtc_sweep(struct rwebrtc *w, uint64_t now_ms);
void sbc_rwebrtc_stats(const struct rwebrtc *w, struct sbc_media_leg *ml);

/* webrtc_pkt.c */
bool sbc_rwebrtc_input(struct rwebrtc *w, const struct rsock *sk,
		       struct sbc_rtp_pkt *pkt, unsigned *streamp,
		       bool *rtcpp);
bool sbc_rwebrtc_output(struct rwebrtc *w, struct sbc_rtp_pkt *pkt,
			bool rtcp, int *fdp, const struct sa **dstp);

/* dtmf.c */
void sbc_rstream_formats(struct rstream *st, enum sbc_side side,
			 const struct sbc_sdp_stream *ss);

/* forward.c */
void sbc_relay_packet(void *sock_arg, struct sbc_rtp_pkt *pkt, void *arg);
void sbc_rleg_unlatch(struct rleg *leg);

/* rtcp.c */
void sbc_rtcp_read(struct sbc_media_leg *leg, const uint8_t *buf,
		   size_t len);

/* ctl.c */
int  sbc_relay_ctl_listen(struct sbc_relay *r);
void sbc_relay_ctl_close(struct sbc_relay *r);
void sbc_relay_tell_timeout(struct sbc_relay *r, struct rsession *s);

/* sweep.c */
void sbc_relay_sweep_start(struct sbc_relay *r);
