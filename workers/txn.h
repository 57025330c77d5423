/*
 * Proxy transactions, private to workers/ (see txn.c).
 * Include "workers/timer.h" before this header.
 */

struct sbc_failover;

struct sbc_stx {
	struct le he;                /* in core->stx, by key */
	struct sbc_core *core;
	struct sbc_in in;            /* the request as received (msg held) */
	char *key;
	bool invite;
	bool to_backend;             /* silence means 503, not 408 */
	bool cancelled;
	uint16_t final;              /* final status sent upstream, or 0 */
	struct mbuf *last;           /* last response sent upstream */
	struct mbuf *best;           /* best non-2xx final so far */
	uint16_t best_code;
	unsigned pending;            /* branches without a final */
	struct list branches;        /* struct sbc_ctx */
	struct sbc_timer linger;
	void *reg;                   /* registrar state for a REGISTER */
	struct sbc_dialog *dlg;      /* the dialog it sets up or ends */
	bool dlg_bye;                /* a party's BYE of dlg */
	struct sbc_failover *fo;     /* a new call to a backend set */
};

struct sbc_ctx {
	struct le le;                /* in stx->branches */
	struct le he;                /* in core->ctx, by branch */
	struct sbc_stx *stx;
	char branch[48];
	struct sbc_dest dst;
	struct mbuf *req;            /* as sent, until the final */
	struct mbuf *ack;            /* ACK of a non-2xx final */
	struct mbuf *cancel;         /* CANCEL sent, until answered */
	struct sbc_timer retx;       /* A or E */
	struct sbc_timer timeout;    /* B or F, then C */
	struct sbc_timer cancel_retx;
	uint32_t interval;
	uint32_t cancel_interval;
	uint16_t code;               /* highest status seen */
	bool final;
	bool cancel_wanted;
	bool unreachable;            /* its connection was gone */
	bool abandoned;              /* failed over: absorbs what comes */
	bool bk_held;                /* holds a place on backend slot bk */
	uint16_t bk;                 /* backend slot, or SBC_BK_NONE */
};

/* txn.c, for failover.c */
int sbc_txn_branch_backend(struct sbc_stx *stx, const struct sbc_dest *dst,
			   const struct sbc_fwd *fwd, uint16_t slot);

/* failover.c */
int sbc_failover_start(struct sbc_stx *stx, uint32_t set,
		       const struct sbc_fwd *fwd);
int sbc_failover_next(struct sbc_stx *stx);

/* orphan.c */
void sbc_orphan_ack(struct sbc_core *core, const struct sbc_dest *dst,
		    const struct sip_msg *rsp);
void sbc_orphan_end(struct sbc_core *core, const struct sbc_dest *dst,
		    const struct sip_msg *rsp);

/* txn_msg.c */
int sbc_txn_hop_print(struct mbuf **mbp, struct mbuf *req, const char *met,
		      const struct pl *to);
