/*
 * Dialogs in shared memory.
 *
 * A dialog is keyed by (Call-ID, from-tag, to-tag); every dialog of one
 * Call-ID (forked early dialogs) is found with one lookup. The record holds
 * what another process needs to end the call or take it over: both legs'
 * remote targets, route sets, CSeqs and addresses, and the call's times.
 *
 * The owner worker extends `expires` on every successful keepalive or
 * in-dialog request; the table only hides a dialog whose owner stopped
 * doing so.
 */

struct pl;
struct sbc_shm;
struct sbc_writer;

enum {
	SBC_DLG_CALLID_SIZE  = 128,
	SBC_DLG_TAG_SIZE     = 64,
	SBC_DLG_URI_SIZE     = 128,
	SBC_DLG_CONTACT_SIZE = 256,
	SBC_DLG_ROUTE_SIZE   = 256,
};

enum sbc_dlg_state {
	SBC_DLG_EARLY = 0,
	SBC_DLG_CONFIRMED,
	SBC_DLG_TERMINATING,
	SBC_DLG_ENDED,
};

/* Why a dialog ended (its CDR says it by name: sbc_dlg_reason_name). */
enum sbc_dlg_reason {
	SBC_DLG_NOT_ENDED = 0,
	SBC_DLG_CALLER_BYE,
	SBC_DLG_CALLEE_BYE,
	SBC_DLG_LEG_UNREACHABLE,
	SBC_DLG_MAX_DURATION,
	SBC_DLG_OPERATOR,
	SBC_DLG_SHUTDOWN,
	SBC_DLG_FAILED,         /* never answered: `status` says how */
	SBC_DLG_EXPIRED,        /* pings off and nothing heard for a day */
	SBC_DLG_MEDIA_TIMEOUT,  /* no media for rtp.timeout */
	SBC_DLG_REASON_COUNT
};

/* The last keepalive of a leg. */
enum sbc_dlg_ping {
	SBC_DLG_PING_NONE = 0,  /* none sent yet */
	SBC_DLG_PING_OK,        /* answered, `ping_code` */
	SBC_DLG_PING_DEAD,      /* 408 or 481 */
	SBC_DLG_PING_TIMEOUT,   /* no answer, retransmissions included */
	SBC_DLG_PING_NO_ROUTE,  /* its connection was gone */
};

enum sbc_dlg_side {
	SBC_DLG_CALLER = 0,
	SBC_DLG_CALLEE,
};

/* One side of the call, as sbcd must address it. */
struct sbc_dlg_leg {
	uint64_t conn;          /* connection (0 for UDP) */
	struct sbc_addr addr;   /* where its requests go */
	uint32_t cseq;          /* highest CSeq sent to it in this dialog */
	uint32_t cseq_shift;    /* added to the other party's CSeqs toward
				 * it, once sbcd's own requests took some */
	uint16_t listener;      /* the listener its requests leave from */
	uint8_t  transport;     /* enum sbc_transport */
	uint8_t  ping;          /* enum sbc_dlg_ping */
	uint16_t ping_code;     /* status of the last ping's answer */
	uint8_t  bye_done;      /* sbcd's BYE to it completed or timed out */
	uint8_t  pad[5];
	char contact[SBC_DLG_CONTACT_SIZE];  /* remote target */
	char route[SBC_DLG_ROUTE_SIZE];      /* route set toward it, as
					      * "<uri>,<uri>" */
};

struct sbc_dlg {
	uint64_t expires;      /* absolute, ms since the epoch (sbc_now_ms) */
	uint64_t setup;        /* INVITE received */
	uint64_t answer;       /* 2xx sent, 0 before */
	uint64_t end;          /* ended, 0 before */
	uint64_t last_ping;    /* last keepalive round sent, 0 before */
	uint32_t media;        /* media session record + 1 (relay * per
				* relay + slot, shm/media.h), 0 if none */
	uint16_t backend;      /* index in the config's backends */
	uint8_t  state;        /* enum sbc_dlg_state */
	uint8_t  reason;       /* enum sbc_dlg_reason */
	uint16_t status;       /* final status of a failed setup */
	uint8_t  leg;          /* enum sbc_dlg_side: the leg it is about */
	uint8_t  pad[5];
	char call_id[SBC_DLG_CALLID_SIZE];
	char from_tag[SBC_DLG_TAG_SIZE];
	char to_tag[SBC_DLG_TAG_SIZE];
	char from_uri[SBC_DLG_URI_SIZE];
	char to_uri[SBC_DLG_URI_SIZE];
	struct sbc_dlg_leg caller;
	struct sbc_dlg_leg callee;
};

struct sbc_dlg_key {
	struct pl call_id;
	struct pl from_tag;
	struct pl to_tag;
};

int sbc_dlg_put(struct sbc_writer *w, const struct sbc_dlg *dlg, uint64_t now);
int sbc_dlg_get(const struct sbc_shm *shm, const struct sbc_dlg_key *key,
		uint64_t now, struct sbc_dlg *dlg);
int sbc_dlg_del(struct sbc_writer *w, const struct sbc_dlg_key *key,
		uint64_t now);
int sbc_dlg_lookup_callid(const struct sbc_shm *shm, const struct pl *call_id,
			  uint64_t now, struct sbc_dlg *dlgv, size_t max,
			  size_t *n);
int sbc_dlg_read_slot(const struct sbc_shm *shm, uint32_t slot,
		      uint64_t now, struct sbc_dlg *dlg);
const char *sbc_dlg_state_name(enum sbc_dlg_state state);
const char *sbc_dlg_reason_name(enum sbc_dlg_reason reason);
const char *sbc_dlg_ping_name(enum sbc_dlg_ping ping);
