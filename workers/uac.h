/*
 * sbcd's own client transactions, private to workers/ (see uac.c).
 */

struct sbc_uac;

/* The final: err 0 and its status, or with scode 0 ETIMEDOUT, or
 * ENOTCONN when the connection it went to turned out gone. */
typedef void (sbc_uac_h)(int err, uint16_t scode, void *arg);

int  sbc_uac_alloc(struct sbc_uac **uacp, struct sbc_core *core,
		   const struct sbc_dest *dst, sbc_uac_h *h, void *arg);
const char *sbc_uac_branch(const struct sbc_uac *uac);
int  sbc_uac_start(struct sbc_uac *uac, struct mbuf *req,
		   uint64_t timeout_ms);
bool sbc_uac_response(struct sbc_core *core, const struct sip_msg *msg);
void sbc_uac_unsent(struct sbc_core *core, const struct pl *branch);
