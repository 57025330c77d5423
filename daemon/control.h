/*
 * The control socket: the unix stream socket sbcctl talks to.
 *
 * One request line per connection, `COMMAND [ARG] [json]`; the answer
 * starts with one status line and the connection is closed after it:
 *
 *   ok                       the body follows
 *   ok: NOTE                 the body follows; NOTE says it is partial
 *   error: MESSAGE           the request failed; a body may follow
 *
 * Include <re.h> before this header.
 */

enum sbc_ctl_cmd {
	SBC_CTL_STATUS = 0,
	SBC_CTL_WORKERS,
	SBC_CTL_REGISTRATIONS,
	SBC_CTL_RELOAD,
	SBC_CTL_DIALOGS,
	SBC_CTL_DIALOG_END,           /* "dialog end CALL-ID" */
	SBC_CTL_BACKENDS,
	SBC_CTL_HEALTH,
	SBC_CTL_MEDIA,
};

enum {
	SBC_CTL_ARG_SIZE  = 256,
	SBC_CTL_NOTE_SIZE = 256,
};

struct sbc_ctl_req {
	enum sbc_ctl_cmd cmd;
	char arg[SBC_CTL_ARG_SIZE];   /* "" when none */
	bool json;
};

/* What a request handler fills in: the body, and a note or an error. */
struct sbc_ctl_reply {
	struct mbuf *body;
	char note[SBC_CTL_NOTE_SIZE];
	bool failed;
};

typedef void (sbc_ctl_req_h)(struct sbc_ctl_reply *reply,
			     const struct sbc_ctl_req *req, void *arg);

struct sbc_control;

int sbc_control_alloc(struct sbc_control **ctlp, const char *path,
		      sbc_ctl_req_h *reqh, void *arg);
int sbc_ctl_req_parse(struct sbc_ctl_req *req, const char *line);
const char *sbc_ctl_cmd_name(enum sbc_ctl_cmd cmd);
