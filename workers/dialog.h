/*
 * Dialogs of this worker's Call-IDs, private to workers/ (see dialog.c).
 * Include "shm/dlg.h", "shm/backend.h", "workers/core.h",
 * "workers/timer.h" and "workers/uac.h" first.
 */

struct sbc_uac;
struct sbc_stx;

struct sbc_dialog {
	struct le he;                /* in core->dlgs, by Call-ID */
	struct sbc_core *core;
	struct sbc_dlg rec;          /* the shared record, as last written */
	struct sbc_timer ping;       /* the next keepalive round */
	struct sbc_timer limit;      /* max_duration; with pings off, the
				      * day of silence that forgets it */
	struct sbc_uac *uac[2];      /* ping or BYE in flight, by leg */
	bool in_table;               /* rec is in the shared table */
	bool bk_held;                /* holds a place on rec.backend */
};

static inline struct sbc_dlg_leg *sbc_dialog_leg(struct sbc_dialog *dlg,
						 enum sbc_dlg_side side)
{
	return side == SBC_DLG_CALLER ? &dlg->rec.caller : &dlg->rec.callee;
}

/* dialog.c: the life of a dialog */
int  sbc_dialog_init(struct sbc_core *core);
void sbc_dialog_close(struct sbc_core *core);
int  sbc_dialog_new(struct sbc_dialog **dlgp, struct sbc_core *core,
		    const struct sbc_in *in);
void sbc_dialog_answered(struct sbc_dialog *dlg, const struct sbc_dest *dst,
			 const struct sbc_in *rsp);
void sbc_dialog_setup_final(struct sbc_dialog *dlg, uint16_t scode);
void sbc_dialog_hold_backend(struct sbc_dialog *dlg, uint16_t slot);
struct sbc_dialog *sbc_dialog_request(struct sbc_core *core,
				      const struct sbc_in *in,
				      uint32_t *cseqp);
void sbc_dialog_bye_final(struct sbc_dialog *dlg, const struct sbc_in *bye);
int  sbc_dialog_sync(struct sbc_dialog *dlg);
void sbc_dialog_finish(struct sbc_dialog *dlg);
int  sbc_dialog_adopt(struct sbc_dialog **dlgp, struct sbc_core *core,
		      const struct sbc_dlg *rec);
struct sbc_dialog *sbc_dialog_find_callid(struct sbc_core *core,
					  const struct pl *callid);

/* dialog_timers.c: keepalive and the call's limits */
void sbc_dialog_timers_start(struct sbc_dialog *dlg);
void sbc_dialog_timers_stop(struct sbc_dialog *dlg);
void sbc_dialog_timers_reload(struct sbc_core *core);
uint64_t sbc_dialog_expiry(const struct sbc_dialog *dlg, uint64_t now);

/* dialog_req.c: requests sbcd sends in a dialog */
int  sbc_dialog_send(struct sbc_dialog *dlg, enum sbc_dlg_side to,
		     const char *met, uint64_t timeout_ms, sbc_uac_h *h);

/* dialog_end.c: sbcd ends a call */
void sbc_dialog_end(struct sbc_dialog *dlg, enum sbc_dlg_reason reason,
		    enum sbc_dlg_side leg);
void sbc_dialog_end_all(struct sbc_core *core, enum sbc_dlg_reason reason);
int  sbc_dialog_end_callid(struct sbc_core *core, const struct pl *callid,
			   enum sbc_dlg_reason reason);

/* dialog_load.c: a new incarnation takes its Call-IDs' dialogs back */
void sbc_dialog_load(struct sbc_core *core);

/* cdr.c */
void sbc_cdr_open(struct sbc_core *core);
void sbc_cdr_close(struct sbc_core *core);
void sbc_cdr_write(struct sbc_core *core, const struct sbc_dlg *rec);
