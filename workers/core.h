/*
 * The SIP core of a worker, private to workers/.
 *
 * One `struct sbc_core` per worker process holds everything the proxy and
 * registrar need: the config, the shared tables, the transport, the
 * mailboxes of the other workers and this worker's transactions. All of it
 * runs in one thread, on libre's event loop: messages of one Call-ID are
 * handled by one worker only (input.c), so nothing here takes a lock.
 *
 * Include <re.h>, "shm/field.h", "shm/shm.h", "cfg/log.h" and
 * "cfg/config.h" before this header.
 */

struct sbc_tp;
struct sbc_stats;
struct sbc_stx;
struct sbc_bk_view;
struct sbc_probes;
struct sbc_callmedia;

/* Where a message goes, or where it came from. */
struct sbc_dest {
	uint16_t listener;           /* index in cfg->listeners */
	uint64_t conn;               /* 0 for UDP */
	struct sa addr;              /* the peer */
	enum sbc_transport tp;
};

/* A SIP message this worker handles, with where it came from. */
struct sbc_in {
	struct sip_msg *msg;         /* libre's parse; msg->mb holds the bytes */
	struct sbc_dest src;
	enum sbc_side side;
	struct pl body;              /* bounded by what was really received */
	bool media_done;             /* its SDP went through the relay */
	uint32_t media;              /* the relay's session record + 1 */
};

struct sbc_core {
	struct sbc_config *cfg;      /* current config (a reload replaces it) */
	struct sbc_shm *shm;
	struct sbc_writer *w;
	struct sbc_stats *stats;
	struct sbc_tp *tp;
	uint32_t index;              /* this worker */
	uint32_t workers;
	int mbox_fd;                 /* this worker's mailbox, read end */
	const int *peer_fds;         /* mailbox write ends, by worker */
	uint8_t *mbox_buf;           /* one mailbox record's data */
	struct hash *stx;            /* server transactions, by key */
	struct hash *ctx;            /* client branches, by our branch */
	struct hash *holds;          /* connection -> bindings (holds.c) */
	struct hash *uac;            /* sbcd's own requests, by branch */
	struct hash *dlgs;           /* dialogs, by Call-ID (dialog.c) */
	struct sbc_bk_view *bk;      /* the backends (backend.c) */
	struct sbc_probes *probes;   /* probing of backends (probe.c) */
	uint32_t dialogs;            /* of which not ended */
	struct sbc_callmedia *cm;    /* the relays (callmedia.c) */
	int cdr_fd;                  /* cdr.file, or -1 */
	uint64_t branch_seq;
	uint64_t branch_salt;        /* random per incarnation */
	uint32_t txns;               /* server transactions, lingering too */
	uint32_t active;             /* of which not answered yet */
	bool draining;               /* SIGTERM: no new calls */
};

/* Names of the parameters sbcd puts in its own URIs. */
#define SBC_PARAM_BINDING "sbcb"   /* Contact at the backend: binding */
#define SBC_PARAM_USER    "sbcu"   /* Record-Route: the access-side peer */
#define SBC_PARAM_BACKEND "sbcn"   /* Record-Route: the backend's index */
#define SBC_BRANCH_PREFIX "z9hG4bKsbc"

/* input.c: every complete message, from the network or a mailbox */
void sbc_core_input(struct sbc_core *core, const struct sbc_dest *src,
		    const uint8_t *buf, size_t len, bool handed_over);
uint32_t sbc_core_owner(const struct sbc_core *core, const struct pl *callid);
int  sbc_pl_u32(const struct pl *pl, uint32_t *vp);
int  sbc_callid_scan(const uint8_t *buf, size_t len, struct pl *callid);

void sbc_core_reinput(struct sbc_core *core, const struct sbc_dest *src,
		      struct mbuf *mb, uint32_t media);

/* callmedia.c: a call's SDP through the RTP relay (DESIGN.md 6) */
int  sbc_callmedia_init(struct sbc_core *core);
void sbc_callmedia_close(struct sbc_core *core);
bool sbc_callmedia_intercept(struct sbc_core *core, const struct sbc_in *in);
void sbc_callmedia_end(struct sbc_core *core, const char *call_id,
		       uint32_t media);
struct sbc_dlg;
int  sbc_callmedia_print(struct re_printf *pf, const struct sbc_core *core,
			 const struct sbc_dlg *rec);

/* mailbox.c: the other workers */
int  sbc_mbox_listen(struct sbc_core *core);
int  sbc_mbox_handover(struct sbc_core *core, uint32_t owner,
		       const struct sbc_dest *src, const uint8_t *buf,
		       size_t len);
int  sbc_mbox_send(struct sbc_core *core, const struct sbc_dest *dst,
		   const uint8_t *buf, size_t len);
int  sbc_mbox_hold(struct sbc_core *core, uint64_t conn, uint64_t until,
		   const char *aor, const char *instance);

/* dest.c: sending, listeners, advertised addresses */
int  sbc_core_send(struct sbc_core *core, const struct sbc_dest *dst,
		   struct mbuf *mb);
enum sbc_side sbc_listener_side(const struct sbc_core *core, uint16_t l);
int  sbc_listener_find(const struct sbc_core *core, enum sbc_side side,
		       enum sbc_transport tp, int af, uint16_t *lp);
struct sbc_hostport {
	const struct sbc_core *core;
	uint16_t listener;
};
int  sbc_listener_hostport(struct re_printf *pf,
			   const struct sbc_hostport *hp);
#define SBC_HOSTPORT(core, l) \
	sbc_listener_hostport, &(struct sbc_hostport){(core), (l)}
const char *sbc_via_transport(enum sbc_transport tp);
bool sbc_core_is_local(const struct sbc_core *core, const struct uri *uri);

/* backend.c: backend slots (shm/backend.h) by address; more in
 * balance.h */
bool sbc_backend_find(const struct sbc_core *core, const struct sa *addr,
		      bool match_port, uint16_t *slotp);
int  sbc_backend_dest(const struct sbc_core *core, uint16_t slot,
		      const struct sa *addr, struct sbc_dest *dst);

/* reply.c: responses sbcd makes itself */
int  sbc_reply(struct sbc_core *core, const struct sbc_in *in,
	       uint16_t scode, const char *reason, const char *extra);
int  sbc_reply_print(struct mbuf *mb, const struct sbc_in *in,
		     uint16_t scode, const char *reason, const char *extra);
bool sbc_reply_acked(const struct sip_msg *ack);

/* fwd.c: forwarded requests and responses */
void sbc_pf_mbuf(struct re_printf *pf, struct mbuf *mb);
int  sbc_params_print(struct re_printf *pf, const struct pl *params,
		      const char *const skip[], unsigned *skipped);
struct sbc_fwd {
	const char *ruri;            /* new Request-URI, NULL: unchanged */
	const struct sbc_dest *dst;  /* where it goes (for our Via) */
	const char *branch;          /* our Via branch */
	unsigned routes_popped;      /* leading Route values that were ours */
	bool record_route;
	const struct sbc_dest *rr_user; /* Record-Route: the access-side peer */
	uint16_t rr_backend;         /* its slot */
	bool rewrite_contact;        /* access side: Contact -> source */
	uint32_t cseq;               /* CSeq number to send, 0: unchanged */
	re_printf_h *contact_h;      /* or: print Contact values with this */
	void *contact_arg;
};
int  sbc_fwd_request(struct mbuf **mbp, const struct sbc_core *core,
		     const struct sbc_in *in, const struct sbc_fwd *fwd);
int  sbc_fwd_response(struct mbuf **mbp, const struct sbc_in *rsp,
		      const struct sbc_in *req, re_printf_h *contact_h,
		      void *contact_arg);

/* via.c: the Vias of a request, for its responses */
int  sbc_fwd_print_via(struct re_printf *pf, const struct sbc_in *in,
		       const struct sip_hdr *hdr, bool top);
int  sbc_via_print_all(struct re_printf *pf, const struct sbc_in *req);

/* route.c: Record-Route and Route */
struct sbc_route {
	unsigned popped;             /* leading Route values that were ours */
	bool has_user;               /* SBC_PARAM_USER found */
	struct sbc_dest user;
	bool has_backend;
	uint16_t backend;
	const struct sip_hdr *next;  /* first Route that is not ours */
};
int  sbc_route_print_rr(struct re_printf *pf, const struct sbc_core *core,
			uint16_t listener, const struct sbc_dest *user,
			uint16_t backend);
void sbc_route_scan(const struct sbc_core *core, const struct sip_msg *msg,
		    struct sbc_route *rt);

/* txn.c: proxy transactions */
int  sbc_txn_init(struct sbc_core *core);
bool sbc_txn_request(struct sbc_core *core, const struct sbc_in *in);
void sbc_txn_response(struct sbc_core *core, const struct sbc_in *in);
int  sbc_txn_new(struct sbc_stx **stxp, struct sbc_core *core,
		 const struct sbc_in *in, bool to_backend);
int  sbc_txn_branch(struct sbc_stx *stx, const struct sbc_dest *dst,
		    const struct sbc_fwd *fwd);
void sbc_txn_fail(struct sbc_stx *stx, uint16_t scode, const char *reason);
void sbc_txn_flush(struct sbc_core *core);

/* proxy.c: where a request goes */
void sbc_proxy_request(struct sbc_core *core, const struct sbc_in *in);

/* registrar.c: REGISTER through sbcd, and the 2xx that saves it */
void sbc_registrar_request(struct sbc_core *core, const struct sbc_in *in);
int  sbc_registrar_response(struct sbc_stx *stx, const struct sbc_in *rsp,
			    re_printf_h **contact_hp, void **argp);

/* locate.c: a request from the core side for a user */
void sbc_locate_request(struct sbc_core *core, const struct sbc_in *in);
bool sbc_locate_is_webrtc(struct sbc_core *core, const struct sip_msg *msg);

/* holds.c: connections that carry registrations */
int  sbc_holds_init(struct sbc_core *core);
void sbc_holds_add(struct sbc_core *core, uint64_t conn, uint64_t until,
		   const char *aor, const char *instance);
void sbc_holds_closed(struct sbc_core *core, uint64_t conn);
void sbc_holds_purge(struct sbc_core *core, uint32_t incarnation);
