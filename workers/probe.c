/*
 * Probing the backends (DESIGN.md section 5): OPTIONS to each backend
 * every probe.interval seconds; probe.down_after failures in a row mark
 * it down, probe.up_after successes up again (shm/backend.c). A 2xx, or a
 * code of probe.alive, is a success; any other final, or none within half
 * the interval (64*T1 at most), a failure: the result is in before the
 * next probe goes, so a dead backend is down within
 * (down_after + 1/2) intervals of its last answer, at most.
 *
 * Each backend is probed by one worker, its slot modulo the workers, so
 * the probes are spread and a backend gets one per interval whatever the
 * number of workers. A probe is sbcd's own request (uac.c) from the core
 * UDP listener, carrying the node's identity: From and Contact
 * `sip:sbcd@` the listener's advertised host and port, never a made-up
 * `localhost`. Its Call-ID is one this worker owns, so the answer comes
 * back here.
 */

#include <string.h>
#include <time.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/backend.h"
#include "cfg/config.h"
#include "workers/core.h"
#include "workers/balance.h"
#include "workers/uac.h"

enum {
	CALLID_SIZE = 96,
};

struct sbc_probes {
	struct sbc_core *core;
	struct tmr tmr;
	struct probe *inflight[SBC_BK_SLOTS];
	uint32_t seq;
};

/* One probe in flight. */
struct probe {
	struct sbc_probes *ps;
	struct sbc_uac *uac;
	uint64_t sent_us;
	uint16_t slot;
};


static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}


static void probe_destructor(void *arg)
{
	struct probe *p = arg;

	if (p->ps->inflight[p->slot] == p)
		p->ps->inflight[p->slot] = NULL;
	mem_deref(p->uac);
}


static void probes_destructor(void *arg)
{
	struct sbc_probes *ps = arg;

	tmr_cancel(&ps->tmr);
	for (uint32_t i = 0; i < SBC_BK_SLOTS; i++)
		mem_deref(ps->inflight[i]);
}


static void probe_log(const struct sbc_bk *bk, const struct sbc_bk_probe *r)
{
	if (atomic_load(&bk->down) && r->code)
		sbc_warn("backend %s is down: %u probes failed in a row "
			 "(last: status %u)", bk->uri,
			 atomic_load(&bk->fail_run), r->code);
	else if (atomic_load(&bk->down))
		sbc_warn("backend %s is down: %u probes failed in a row "
			 "(last: no answer)", bk->uri,
			 atomic_load(&bk->fail_run));
	else
		sbc_notice("backend %s is up: %u probes answered in a row",
			   bk->uri, atomic_load(&bk->ok_run));
}


static void probe_done(int err, uint16_t scode, void *arg)
{
	struct probe *p = arg;
	const struct sbc_config *cfg = p->ps->core->cfg;
	struct sbc_bk *bk = sbc_bk_slot(p->ps->core->shm, p->slot);
	struct sbc_bk_probe r = {
		.code = err ? 0 : scode,
		.rtt_us = now_us() - p->sent_us,
		.down_after = cfg->probe_down_after,
		.up_after = cfg->probe_up_after,
	};

	r.alive = r.code && (r.code / 100 == 2 ||
			     sbc_codes_has(&cfg->probe_alive, r.code));

	if (sbc_bk_probed(bk, &r, sbc_now_ms()))
		probe_log(bk, &r);

	mem_deref(p);
}


/* A Call-ID this worker owns, so that the answer is handled here. */
static void callid_make(struct sbc_probes *ps, char *buf, size_t size,
			uint16_t slot)
{
	struct sbc_core *core = ps->core;

	for (uint32_t i = 0; i < 64 * core->workers; i++) {
		struct pl pl;

		(void)re_snprintf(buf, size, "sbcd-probe-%u-%x-%016llx", slot,
				  ++ps->seq,
				  (unsigned long long)core->branch_salt);
		pl_set_str(&pl, buf);
		if (sbc_core_owner(core, &pl) == core->index)
			return;
	}
}


static int probe_print(struct mbuf *mb, const struct sbc_core *core,
		       const struct sbc_dest *dst, const char *uri,
		       const char *branch, const char *callid)
{
	struct sbc_hostport me = {core, dst->listener};

	return mbuf_printf(mb, "OPTIONS %s SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP %H;branch=%s;rport\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:sbcd@%H>;tag=%016llx\r\n"
			   "To: <%s>\r\n"
			   "Call-ID: %s\r\n"
			   "CSeq: 1 OPTIONS\r\n"
			   "Contact: <sip:sbcd@%H>\r\n"
			   "Accept: application/sdp\r\n"
			   "Content-Length: 0\r\n\r\n", uri,
			   sbc_listener_hostport, &me, branch,
			   sbc_listener_hostport, &me,
			   (unsigned long long)rand_u64(), uri, callid,
			   sbc_listener_hostport, &me);
}


static void probe_send(struct sbc_probes *ps, uint32_t i, uint16_t slot)
{
	struct sbc_core *core = ps->core;
	uint64_t timeout = core->cfg->probe_interval * 500ull;
	char callid[CALLID_SIZE];
	struct sbc_dest dst;
	struct mbuf *mb;
	struct probe *p;
	int err;

	if (timeout > 64ull * core->cfg->t1_ms)
		timeout = 64ull * core->cfg->t1_ms;

	if (sbc_backend_dest(core, slot, NULL, &dst))
		return;

	p = mem_zalloc(sizeof(*p), probe_destructor);
	mb = mbuf_alloc(512);
	if (!p || !mb)
		goto out;

	p->ps = ps;
	p->slot = slot;
	err = sbc_uac_alloc(&p->uac, core, &dst, probe_done, p);
	if (err)
		goto out;

	callid_make(ps, callid, sizeof(callid), slot);
	err = probe_print(mb, core, &dst, core->cfg->backends[i].uri,
			  sbc_uac_branch(p->uac), callid);
	if (err)
		goto out;

	p->sent_us = now_us();
	if (sbc_uac_start(p->uac, mb, timeout))
		goto out;

	ps->inflight[slot] = p;
	p = NULL;

 out:
	mem_deref(mb);
	mem_deref(p);
}


static void tick(void *arg)
{
	struct sbc_probes *ps = arg;
	struct sbc_core *core = ps->core;
	const struct sbc_config *cfg = core->cfg;

	if (!cfg->probe_interval || !core->bk)
		return;

	for (uint32_t i = 0; i < cfg->backend_count; i++) {
		uint16_t slot = core->bk->by_backend[i];

		if (slot != SBC_BK_NONE && slot % core->workers == core->index &&
		    !ps->inflight[slot])
			probe_send(ps, i, slot);
	}

	tmr_start(&ps->tmr, cfg->probe_interval * 1000ull, tick, ps);
}


/* Start probing, or start again with the configuration just loaded (the
 * first round goes now, so new backends are probed at once). */
int sbc_probe_start(struct sbc_core *core)
{
	if (!core->probes) {
		core->probes = mem_zalloc(sizeof(*core->probes),
					  probes_destructor);
		if (!core->probes)
			return ENOMEM;
		core->probes->core = core;
		tmr_init(&core->probes->tmr);
	}

	tmr_start(&core->probes->tmr, 0, tick, core->probes);

	return 0;
}
