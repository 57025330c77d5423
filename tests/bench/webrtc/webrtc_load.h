/*
 * webrtc_load: the WebRTC media benchmark's generator and sink (see
 * webrtc_load.c), private to its two files.
 *
 * A call has two parties, each with a UDP socket on 127.0.0.1: the
 * browser (WL_BROWSER), which talks ICE, DTLS and SRTP to the relay's
 * access port (webrtc_peer.c), and the plain party (WL_PLAIN), which
 * sends and receives plain RTP on the relay's core port. Stream d of a
 * call is the one its party d sends: WL_B2P the browser's, received by
 * the plain party, WL_P2B the plain party's, received by the browser.
 *
 * Include <re.h>, "rtp/srtp.h" and "rtp/dtls.h" before this header.
 */

enum wl_party { WL_BROWSER = 0, WL_PLAIN, WL_PARTIES };
enum wl_dir   { WL_B2P = 0, WL_P2B, WL_DIRS };

enum {
	WL_UFRAG_LEN = 8,          /* the browser's ICE ufrag, random */
	WL_PWD_LEN   = 24,         /* its password: 144 bits */
	WL_CRED_MAX  = 256,        /* the relay's ufrag, pwd, fingerprint */
	WL_PKT_SIZE  = 256,        /* a packet's buffer: RTP + SRTP tag */
};

/* One direction's counters over the measured window. */
struct wl_stream {
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint64_t sent;             /* marked packets sent */
	uint64_t recv;             /* marked packets received */
};

struct wl_peers;

struct wl_call {
	uint32_t id;
	struct wl_peers *peers;    /* set by wl_peer_start() */
	bool webrtc;               /* false: the browser's side is plain RTP */
	bool started;
	bool own_fd;               /* fd[] are its own, not shared */
	int fd[WL_PARTIES];
	uint16_t port[WL_PARTIES];           /* ours */
	struct sockaddr_in relay[WL_PARTIES];  /* the relay's port for each */
	struct wl_call *next;      /* in its pacing slot */

	/* ICE (ours, then the relay's from its answer) and DTLS-SRTP */
	char lufrag[WL_UFRAG_LEN + 1];
	char lpwd[WL_PWD_LEN + 1];
	char rufrag[WL_CRED_MAX];
	char rpwd[WL_CRED_MAX];
	char rfp[WL_CRED_MAX];
	uint8_t tid[STUN_TID_SIZE];          /* the check in flight */
	bool check_open;           /* its answer has not come */
	uint32_t check_tries;      /* sends of the first check */
	uint64_t check_due;        /* next check, ns */
	struct sbc_dtls *dtls;
	struct sbc_srtp *tx, *rx;
	enum sbc_srtp_suite suite;

	/* when, CLOCK_MONOTONIC ns (0: not yet) */
	uint64_t t_invite;         /* the INVITE left (the orchestrator's) */
	uint64_t t_start;          /* its start line came: the 200 was in */
	uint64_t t_ice;            /* the first check answered */
	uint64_t t_dtls;           /* DTLS-SRTP up */
	uint64_t t_first[WL_DIRS]; /* the first media packet came, each way */

	struct wl_stream st[WL_DIRS];
};

/* What the browser sides did, over the whole run. */
struct wl_peer_stats {
	uint64_t checks_sent, checks_ok, checks_bad, checks_lost;
	uint64_t dtls_up, dtls_fail, dtls_in;
	uint64_t auth_fail, replay, nokey, protect_fail, rtcp_in;
};

struct wl_peers {
	struct sbc_dtls_cert *cert;
	struct mbuf *mb;           /* a check or its answer */
	uint64_t consent_ns;       /* checks once a call is up */
	uint64_t retry_ns;         /* first check's retransmissions */
	uint32_t tries_max;        /* then at the consent interval */
	struct wl_peer_stats stats;
};

int  wl_ice_chars(char *buf, size_t len);

/* webrtc_peer.c */
int  wl_peers_init(struct wl_peers *p, const char *suite);
void wl_peers_close(struct wl_peers *p);
int  wl_peer_start(struct wl_peers *p, struct wl_call *c);
void wl_peer_tick(struct wl_peers *p, struct wl_call *c, uint64_t now);
bool wl_peer_input(struct wl_peers *p, struct wl_call *c, uint8_t *buf,
		   size_t *lenp);
bool wl_peer_protect(struct wl_peers *p, struct wl_call *c, uint8_t *buf,
		     size_t *lenp);
void wl_peer_close(struct wl_call *c);
