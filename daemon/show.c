/*
 * sbcctl status and sbcctl workers (see show.h).
 *
 * status: the version, how long sbcd has run, the workers configured and
 * running, every listener and every backend of the running configuration.
 * workers: one row per worker (pid, state, incarnation, restarts, uptime)
 * and its counters from the shared stats (shm/stats.h).
 *
 * Text is aligned tables for people; JSON (`json` requests) is for
 * scripts, with durations in seconds and addresses split from ports.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/stats.h"
#include "daemon/control.h"
#include "daemon/pool.h"
#include "cfg/json.h"
#include "daemon/texttab.h"
#include "daemon/show.h"

#ifndef SBCD_VERSION
#error "SBCD_VERSION must be defined (daemon/meson.build)"
#endif

enum {
	ADDR_SIZE = 64,
};


/* "3d 4h 5m 6s", the larger units only when non-zero. */
static int duration_print(struct re_printf *pf, void *arg)
{
	uint64_t s = *(const uint64_t *)arg;
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
	int err = 0;

	if (d)
		err |= re_hprintf(pf, "%llud ", (unsigned long long)d);
	if (d || h)
		err |= re_hprintf(pf, "%lluh ", (unsigned long long)h);
	if (d || h || m)
		err |= re_hprintf(pf, "%llum ", (unsigned long long)m);

	return err | re_hprintf(pf, "%llus", (unsigned long long)(s % 60));
}


static void addr_text(char *buf, size_t size, const struct sa *sa)
{
	if (re_snprintf(buf, size, "%j", sa) < 0)
		str_ncpy(buf, "?", size);
}


static int status_text(struct mbuf *mb, const struct sbc_show *s,
		       uint64_t up)
{
	static const char *const lheads[] = {"side", "transport", "address",
					     "port"};
	static const char *const bheads[] = {"backend", "address", "port"};
	const struct sbc_config *cfg = s->cfg;
	struct sbc_texttab *lt = NULL, *bt = NULL;
	char addr[ADDR_SIZE];
	int err;

	err = sbc_texttab_alloc(&lt, lheads, ARRAY_SIZE(lheads));
	err |= sbc_texttab_alloc(&bt, bheads, ARRAY_SIZE(bheads));
	if (err)
		goto out;

	for (uint32_t i = 0; i < cfg->listener_count && !err; i++) {
		const struct sbc_listener_conf *l = &cfg->listeners[i];

		addr_text(addr, sizeof(addr), &l->addr);
		err |= sbc_texttab_cell(lt, "%s", sbc_side_name(l->side));
		err |= sbc_texttab_cell(lt, "%s",
					sbc_transport_name(l->transport));
		err |= sbc_texttab_cell(lt, "%s", addr);
		err |= sbc_texttab_cell(lt, "%u", sa_port(&l->addr));
	}

	for (uint32_t i = 0; i < cfg->backend_count && !err; i++) {
		const struct sbc_backend_conf *b = &cfg->backends[i];

		addr_text(addr, sizeof(addr), &b->addr);
		err |= sbc_texttab_cell(bt, "%s", b->uri);
		err |= sbc_texttab_cell(bt, "%s", addr);
		err |= sbc_texttab_cell(bt, "%u", sa_port(&b->addr));
	}
	if (err)
		goto out;

	err = mbuf_printf(mb, "sbcd %s\nuptime:    %H\nworkers:   %u "
			  "configured, %u running\nrelays:    %u configured, "
			  "%u running\nconfig:    %H\n\n%H\n%H",
			  SBCD_VERSION, duration_print, &up, cfg->workers,
			  sbc_pool_running(s->pool), cfg->rtp.workers,
			  sbc_pool_relays_running(s->pool), sbc_text_safe,
			  cfg->path ? cfg->path : "built-in defaults",
			  sbc_texttab_print, lt, sbc_texttab_print, bt);

 out:
	mem_deref(lt);
	mem_deref(bt);

	return err;
}


static int status_json(struct mbuf *mb, const struct sbc_show *s,
		       uint64_t up)
{
	const struct sbc_config *cfg = s->cfg;
	char addr[ADDR_SIZE];
	int err;

	err = mbuf_printf(mb, "{\"version\":%H,\"uptime\":%llu,\"config\":%H,"
			  "\"workers\":{\"configured\":%u,\"running\":%u},"
			  "\"relays\":{\"configured\":%u,\"running\":%u},"
			  "\"listeners\":[", sbc_json_str, SBCD_VERSION,
			  (unsigned long long)up, sbc_json_str, cfg->path,
			  cfg->workers, sbc_pool_running(s->pool),
			  cfg->rtp.workers, sbc_pool_relays_running(s->pool));

	for (uint32_t i = 0; i < cfg->listener_count && !err; i++) {
		const struct sbc_listener_conf *l = &cfg->listeners[i];

		addr_text(addr, sizeof(addr), &l->addr);
		err = mbuf_printf(mb, "%s{\"name\":%H,\"side\":\"%s\","
				  "\"transport\":\"%s\",\"address\":%H,"
				  "\"port\":%u}", i ? "," : "", sbc_json_str,
				  l->name, sbc_side_name(l->side),
				  sbc_transport_name(l->transport),
				  sbc_json_str, addr, sa_port(&l->addr));
	}

	err |= mbuf_printf(mb, "],\"backends\":[");

	for (uint32_t i = 0; i < cfg->backend_count && !err; i++) {
		const struct sbc_backend_conf *b = &cfg->backends[i];

		addr_text(addr, sizeof(addr), &b->addr);
		err = mbuf_printf(mb, "%s{\"uri\":%H,\"address\":%H,"
				  "\"port\":%u}", i ? "," : "", sbc_json_str,
				  b->uri, sbc_json_str, addr,
				  sa_port(&b->addr));
	}

	return err | mbuf_printf(mb, "]}\n");
}


void sbc_show_status(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		     bool json)
{
	uint64_t up = (tmr_jiffies() - s->started) / 1000;
	int err;

	err = json ? status_json(rep->body, s, up) :
		status_text(rep->body, s, up);
	if (err) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note),
				  "cannot build the answer: %m", err);
	}
}


static int workers_text(struct mbuf *mb, const struct sbc_show *s)
{
	static const char *const wheads[] = {"worker", "pid", "state",
					     "incarnation", "restarts",
					     "uptime"};
	const char *cheads[1 + SBC_STAT_COUNT];
	struct sbc_texttab *wt = NULL, *ct = NULL;
	uint32_t n = sbc_pool_size(s->pool);
	int err;

	cheads[0] = "worker";
	for (int i = 0; i < SBC_STAT_COUNT; i++)
		cheads[1 + i] = sbc_stats_name((enum sbc_stat)i);

	err = sbc_texttab_alloc(&wt, wheads, ARRAY_SIZE(wheads));
	err |= sbc_texttab_alloc(&ct, cheads, ARRAY_SIZE(cheads));

	for (uint32_t i = 0; i < n && !err; i++) {
		struct sbc_worker_info wi;
		uint64_t up;

		err = sbc_pool_info(s->pool, i, &wi);
		if (err)
			break;

		up = wi.uptime_ms / 1000;
		err |= sbc_texttab_cell(wt, "%u", i);
		err |= wi.pid ? sbc_texttab_cell(wt, "%d", (int)wi.pid) :
			sbc_texttab_cell(wt, "-");
		err |= sbc_texttab_cell(wt, "%s",
					sbc_worker_state_name(wi.state));
		err |= sbc_texttab_cell(wt, "%u", wi.incarnation);
		err |= sbc_texttab_cell(wt, "%u", wi.restarts);
		err |= wi.pid ? sbc_texttab_cell(wt, "%H", duration_print,
						 &up) :
			sbc_texttab_cell(wt, "-");

		err |= sbc_texttab_cell(ct, "%u", i);
		for (int k = 0; k < SBC_STAT_COUNT; k++)
			err |= sbc_texttab_cell(ct, "%llu", (unsigned long long)
				sbc_stats_get(s->stats, i, (enum sbc_stat)k));
	}

	if (!err)
		err = mbuf_printf(mb, "%H\n%H", sbc_texttab_print, wt,
				  sbc_texttab_print, ct);

	mem_deref(wt);
	mem_deref(ct);

	return err;
}


static int worker_json(struct mbuf *mb, const struct sbc_show *s, uint32_t i)
{
	struct sbc_worker_info wi;
	int err;

	err = sbc_pool_info(s->pool, i, &wi);
	if (err)
		return err;

	err = mbuf_printf(mb, "%s{\"index\":%u,\"pid\":", i ? "," : "", i);
	err |= wi.pid ? mbuf_printf(mb, "%d", (int)wi.pid) :
		mbuf_printf(mb, "null");
	err |= mbuf_printf(mb, ",\"state\":\"%s\",\"incarnation\":%u,"
			   "\"restarts\":%u,\"uptime\":%llu,\"counters\":{",
			   sbc_worker_state_name(wi.state), wi.incarnation,
			   wi.restarts,
			   (unsigned long long)(wi.uptime_ms / 1000));

	for (int k = 0; k < SBC_STAT_COUNT; k++)
		err |= mbuf_printf(mb, "%s\"%s\":%llu", k ? "," : "",
				   sbc_stats_name((enum sbc_stat)k),
				   (unsigned long long)sbc_stats_get(s->stats,
						i, (enum sbc_stat)k));

	return err | mbuf_printf(mb, "}}");
}


void sbc_show_workers(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		      bool json)
{
	int err = 0;

	if (json) {
		err = mbuf_printf(rep->body, "[");
		for (uint32_t i = 0; i < sbc_pool_size(s->pool) && !err; i++)
			err = worker_json(rep->body, s, i);
		err |= mbuf_printf(rep->body, "]\n");
	}
	else {
		err = workers_text(rep->body, s);
	}

	if (err) {
		rep->failed = true;
		(void)re_snprintf(rep->note, sizeof(rep->note),
				  "cannot build the answer: %m", err);
	}
}
