/*
 * Call detail records: one JSON object per line, one line per dialog that
 * ended (answered or not), appended to cdr.file with a single write, so a
 * record is never split or interleaved with another worker's, and nothing
 * is left in a buffer when the process dies. The file is reopened on every
 * reload (SIGHUP after a log rotation starts a new one).
 *
 * {"call_id":"a84b4c76e66710","from":"sip:alice@example.com",
 *  "to":"sip:bob@example.com","backend":"sip:127.0.0.1:5080",
 *  "setup":"2026-12-04T10:00:00.000Z","answer":"2026-12-04T10:00:02.140Z",
 *  "end":"2026-12-04T10:05:02.140Z","duration":300.000,
 *  "ended_by":"caller","reason":"caller_bye","leg":null,"status":null,
 *  "media":null}
 *
 * With the relay, "media" holds for each side the relay's address there,
 * where that party's media went (latched: where its packets came from),
 * packets and bytes in (sent by that party) and out (sent to it), what
 * its RTCP reported, and its profile; a browser's side adds whether ICE
 * consent held, its DTLS state and the SRTP packets dropped (shm/media.c
 * prints it):
 *  "media":{"access":{"local":"192.0.2.10:16384",
 *  "remote":"198.51.100.7:40112","latched":true,"packets_in":15000,
 *  "bytes_in":2580000,"packets_out":14990,"bytes_out":2578280,
 *  "rtcp_lost":0,"rtcp_jitter":12,"profile":"webrtc","consent":true,
 *  "dtls":"connected","srtp_auth_failed":0,"srtp_replayed":0},
 *  "core":{...,"profile":"plain"}}  (null without a media session).
 *
 * ended_by is the party whose BYE ended the call, or "sbcd"; leg names the
 * leg a leg_unreachable is about; status is the final of a failed setup
 * (null when there was none, as after a worker's restart).
 */

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "cfg/json.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/dlg.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "shm/backend.h"
#include "workers/balance.h"
#include "workers/timer.h"
#include "workers/uac.h"
#include "workers/dialog.h"


void sbc_cdr_close(struct sbc_core *core)
{
	if (core->cdr_fd >= 0)
		(void)close(core->cdr_fd);
	core->cdr_fd = -1;
}


/* (Re)open cdr.file from the current config; none when it is unset. */
void sbc_cdr_open(struct sbc_core *core)
{
	const char *path = core->cfg->cdr_file;

	sbc_cdr_close(core);
	if (!path)
		return;

	core->cdr_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			    0640);
	if (core->cdr_fd < 0)
		sbc_error("cdr.file %s: cannot open it: %m; no CDRs are "
			  "written", path, errno);
}


/* A time as ISO 8601 UTC with milliseconds, or null for 0. */
static int time_print(struct re_printf *pf, void *arg)
{
	uint64_t ms = *(const uint64_t *)arg;
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&s, &tm))
		return re_hprintf(pf, "null");

	return re_hprintf(pf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"",
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			  tm.tm_hour, tm.tm_min, tm.tm_sec,
			  (unsigned)(ms % 1000));
}


static const char *ended_by(const struct sbc_dlg *rec)
{
	switch (rec->reason) {

	case SBC_DLG_CALLER_BYE: return "caller";
	case SBC_DLG_CALLEE_BYE: return "callee";
	case SBC_DLG_FAILED:     return rec->status ? "callee" : "sbcd";
	default:                 return "sbcd";
	}
}


static int cdr_print(struct re_printf *pf, const struct sbc_core *core,
		     const struct sbc_dlg *rec)
{
	const char *backend = sbc_backend_uri(core, rec->backend);
	uint64_t dur = rec->answer && rec->end > rec->answer ?
		rec->end - rec->answer : 0;
	int err;

	err = re_hprintf(pf, "{\"call_id\":%H,\"from\":%H,\"to\":%H,"
			 "\"backend\":%H,", sbc_json_str, rec->call_id,
			 sbc_json_str, rec->from_uri, sbc_json_str,
			 rec->to_uri, sbc_json_str, backend);
	err |= re_hprintf(pf, "\"setup\":%H,\"answer\":%H,\"end\":%H,"
			  "\"duration\":%llu.%03llu,", time_print,
			  &rec->setup, time_print, &rec->answer, time_print,
			  &rec->end, (unsigned long long)(dur / 1000),
			  (unsigned long long)(dur % 1000));
	err |= re_hprintf(pf, "\"ended_by\":\"%s\",\"reason\":\"%s\",",
			  ended_by(rec),
			  sbc_dlg_reason_name((enum sbc_dlg_reason)rec->reason));
	if (rec->reason == SBC_DLG_LEG_UNREACHABLE)
		err |= re_hprintf(pf, "\"leg\":\"%s\",", rec->leg ==
				  SBC_DLG_CALLER ? "caller" : "callee");
	else
		err |= re_hprintf(pf, "\"leg\":null,");
	if (rec->status)
		err |= re_hprintf(pf, "\"status\":%u,", rec->status);
	else
		err |= re_hprintf(pf, "\"status\":null,");
	err |= re_hprintf(pf, "\"media\":");
	err |= sbc_callmedia_print(pf, core, rec);
	err |= re_hprintf(pf, "}\n");

	return err;
}


void sbc_cdr_write(struct sbc_core *core, const struct sbc_dlg *rec)
{
	struct re_printf pf;
	struct mbuf *mb;
	ssize_t n;

	if (core->cdr_fd < 0)
		return;

	mb = mbuf_alloc(1024);
	if (!mb)
		return;

	sbc_pf_mbuf(&pf, mb);
	if (!cdr_print(&pf, core, rec)) {
		n = write(core->cdr_fd, mb->buf, mb->end);
		if (n != (ssize_t)mb->end)
			sbc_warn("dialog %s: CDR not written: %m", rec->call_id,
				 n < 0 ? errno : ENOSPC);
	}

	mem_deref(mb);
}
