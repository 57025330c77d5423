/*
 * The media relay's shared state: its session records, and the records
 * workers and relays exchange on their channels.
 *
 * Session records live in a memfd the supervisor creates before it forks
 * (`rtp.workers` slices of `rtp.max_sessions` records). Each relay process
 * writes its own slice only; workers read a call's record when they write
 * its CDR, the supervisor when sbcctl asks. Counters are single-writer
 * relaxed atomics: every read is whole, nothing orders one counter against
 * another. A record's identity (Call-ID, start) changes only while its
 * `gen` is odd: a reader copies the record and keeps the copy only if gen
 * was even and unchanged around the copy.
 *
 * Channels: one SOCK_SEQPACKET socketpair per (worker, relay), made by the
 * supervisor and kept for the life of sbcd, so a restarted worker or relay
 * finds them where they were. A record is a struct sbc_media_msg and, for
 * SDP, the SDP's bytes after it. An offer and an answer are one request,
 * SBC_MEDIA_SDP (what matters is the side the SDP came from); a query
 * needs none: whoever wants a session's state reads its record.
 *
 * Include <stdatomic.h> and "shm/field.h" before this header.
 */

struct pl;
struct re_printf;
struct sbc_media;

enum {
	SBC_MEDIA_MAGIC = 0x53424d44,   /* "SBMD" */
	SBC_MEDIA_SDP_MAX = 32768,
	SBC_MEDIA_CALLID_SIZE = 128,    /* as SBC_DLG_CALLID_SIZE */
	SBC_MEDIA_LEGS = 2,             /* by enum sbc_side */
};

enum sbc_media_op {
	SBC_MEDIA_SDP = 1,   /* worker -> relay: the SDP a party on `side`
			      * sent; the reply carries the SDP for the
			      * other side. `create`: a new call's offer */
	SBC_MEDIA_DELETE,    /* worker -> relay: the call ended; no reply */
	SBC_MEDIA_REPLY,     /* relay -> worker: `err`, the SDP, `slot` */
	SBC_MEDIA_TIMEOUT,   /* relay -> worker: no media for rtp.timeout */
};

struct sbc_media_msg {
	uint32_t magic;
	uint16_t op;               /* enum sbc_media_op */
	uint8_t  side;             /* enum sbc_side the SDP came from */
	uint8_t  create;
	uint32_t seq;              /* the worker's request number, echoed */
	int32_t  err;              /* reply: 0 or an errno (below) */
	uint32_t slot;             /* reply: record index + 1 in the relay's
				    * slice, 0: none */
	uint32_t worker;           /* the sender, or the addressee */
	uint32_t sdp_len;          /* bytes of SDP after the record */
	uint32_t relay;            /* the relay's index */
	uint8_t  webrtc;           /* SDP: enum sbc_media_webrtc bits */
	uint8_t  pad[3];
	char call_id[SBC_MEDIA_CALLID_SIZE];
};

/* Which parties of an SDP request are on WS/WSS (DESIGN.md 6: a leg's
 * profile follows its transport, or the SDP it sent). The destination is
 * known for requests only; a relay keeps a leg WebRTC once told. */
enum sbc_media_webrtc {
	SBC_MEDIA_FROM_WEBRTC = 1,   /* the sender */
	SBC_MEDIA_TO_WEBRTC   = 2,   /* the party the message goes to */
};
/* Reply errors: ENOENT no session for a non-creating SDP (the call is not
 * relayed: pass the SDP untouched), ENOSPC no port left, ENOMEM no session
 * record left, EBADMSG an SDP the relay cannot read, EPROTO an answer whose
 * streams do not match the offer. */

/* One side of a session, summed over its streams. `in` is what the party
 * on this side sent to the relay, `out` what the relay sent to it. */
struct sbc_media_leg {
	_Atomic uint64_t pkts_in;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t pkts_out;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t last_in;      /* sbc_now_ms of its last packet */
	_Atomic uint32_t rtcp_lost;    /* cumulative lost, from its RTCP */
	_Atomic uint32_t rtcp_jitter;  /* interarrival jitter, timestamp
					* units, from its RTCP */
	_Atomic uint32_t rtcp_reports; /* report blocks read */
	_Atomic uint32_t latched;      /* 1 once its source is latched */
	_Atomic uint32_t srtp_auth_fail;  /* SRTP/SRTCP that failed
					   * authentication: dropped */
	_Atomic uint32_t srtp_replay;  /* SRTP/SRTCP replayed: dropped */
	_Atomic uint8_t  webrtc;       /* 1: WebRTC profile, 0: plain */
	_Atomic uint8_t  dtls;         /* enum sbc_media_dtls */
	_Atomic uint8_t  consent;      /* 1 while ICE consent holds */
	uint8_t pad[5];
	struct sbc_addr local;         /* relay's first RTP socket, this side */
	struct sbc_addr remote;        /* where its first stream's media go */
};

struct sbc_media_rec {
	_Atomic uint32_t gen;          /* odd while its identity changes */
	uint32_t streams;              /* m-lines relayed */
	uint64_t created;              /* sbc_now_ms */
	char call_id[SBC_MEDIA_CALLID_SIZE];  /* "" when free */
	struct sbc_media_leg leg[SBC_MEDIA_LEGS];
};

/* A WebRTC side's DTLS association, as the record tells it. */
enum sbc_media_dtls {
	SBC_MEDIA_DTLS_NONE = 0,
	SBC_MEDIA_DTLS_NEW,
	SBC_MEDIA_DTLS_CONNECTING,
	SBC_MEDIA_DTLS_CONNECTED,
	SBC_MEDIA_DTLS_FAILED,
	SBC_MEDIA_DTLS_CLOSED,
};

/* A copy as a reader sees it. */
struct sbc_media_leg_view {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out, last_in;
	uint32_t rtcp_lost, rtcp_jitter, rtcp_reports;
	bool latched;
	uint32_t srtp_auth_fail, srtp_replay;
	bool webrtc, consent;
	enum sbc_media_dtls dtls;
	struct sbc_addr local, remote;
};

struct sbc_media_view {
	uint32_t relay;
	uint32_t slot;
	uint32_t streams;
	uint64_t created;
	char call_id[SBC_MEDIA_CALLID_SIZE];
	struct sbc_media_leg_view leg[SBC_MEDIA_LEGS];
};

int  sbc_media_create(struct sbc_media **mp, uint32_t relays,
		      uint32_t per_relay);
int  sbc_media_attach(struct sbc_media **mp, int fd);
int  sbc_media_fd(const struct sbc_media *m);
uint32_t sbc_media_relays(const struct sbc_media *m);
uint32_t sbc_media_per_relay(const struct sbc_media *m);
struct sbc_media_rec *sbc_media_rec(struct sbc_media *m, uint32_t relay,
				    uint32_t slot);
void sbc_media_rec_open(struct sbc_media_rec *rec, const char *call_id,
			uint64_t now);
void sbc_media_rec_close(struct sbc_media_rec *rec);
int  sbc_media_read(const struct sbc_media *m, uint32_t relay, uint32_t slot,
		    struct sbc_media_view *v);
uint32_t sbc_media_relay_of(const struct pl *call_id, uint32_t relays);

int  sbc_media_json(struct re_printf *pf, void *view);
const char *sbc_media_dtls_name(enum sbc_media_dtls st);

int  sbc_media_send(int fd, struct sbc_media_msg *msg, const void *sdp,
		    size_t len);
int  sbc_media_recv(int fd, struct sbc_media_msg *msg, uint8_t *sdp,
		    size_t size);

static inline void sbc_media_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
			      memory_order_relaxed) + v, memory_order_relaxed);
}
