/*
 * sbcctl health (see show.h): the answer keepalived's track_script
 * wants, fast and cheap enough to ask every second.
 *
 * Healthy when the supervisor answers (it is the one answering), every
 * worker and every RTP relay is running and its loop beat within
 * BEAT_MAX_MS (a worker stopped
 * with SIGSTOP or stuck in a loop does not), and every backend set has at
 * least one backend up. Otherwise the answer fails with the first reason
 * found, in one line.
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "shm/shm.h"
#include "shm/stats.h"
#include "shm/backend.h"
#include "daemon/control.h"
#include "daemon/pool.h"
#include "daemon/show.h"

enum {
	BEAT_MAX_MS = 1000,
};


/* A process running, its loop beating: 0, or EAGAIN and why not. `row`
 * is its row of counters (workers first, then relays). */
static int process_check(char *why, size_t size, const struct sbc_show *s,
			 const char *role, uint32_t index, uint32_t row,
			 const struct sbc_worker_info *pi)
{
	const uint64_t now = sbc_now_ms();
	uint64_t beat;

	if (pi->state != SBC_WORKER_RUNNING) {
		(void)re_snprintf(why, size, "%s %u is %s", role, index,
				  sbc_worker_state_name(pi->state));
		return EAGAIN;
	}

	beat = sbc_stats_last_beat(s->stats, row);
	if (now > beat + BEAT_MAX_MS) {
		(void)re_snprintf(why, size, "%s %u (pid %d): no heartbeat "
				  "for %.1f s", role, index, (int)pi->pid,
				  beat ? (double)(now - beat) / 1000.0 : 0.0);
		return EAGAIN;
	}

	return 0;
}


/* Every worker, then every relay, running and beating. */
static int processes_check(char *why, size_t size, const struct sbc_show *s)
{
	const uint32_t workers = sbc_pool_size(s->pool);
	struct sbc_worker_info pi;
	int err;

	for (uint32_t i = 0; i < workers; i++) {
		if (sbc_pool_info(s->pool, i, &pi))
			return EINVAL;

		err = process_check(why, size, s, "worker", i, i, &pi);
		if (err)
			return err;
	}

	for (uint32_t i = 0; i < sbc_pool_relays(s->pool); i++) {
		if (sbc_pool_relay_info(s->pool, i, &pi))
			return EINVAL;

		err = process_check(why, size, s, "relay", i, workers + i,
				    &pi);
		if (err)
			return err;
	}

	return 0;
}


static bool set_up(const struct sbc_show *s, const struct sbc_set_conf *set)
{
	const bool probing = s->cfg->probe_interval > 0;

	for (uint32_t i = set->first; i < set->first + set->count; i++) {
		uint16_t slot;

		if (!sbc_bk_find(s->shm, s->cfg->backends[i].uri, &slot) &&
		    sbc_bk_up(sbc_bk_slot(s->shm, slot), probing))
			return true;
	}

	return false;
}


static int sets_check(char *why, size_t size, const struct sbc_show *s)
{
	for (uint32_t i = 0; i < s->cfg->set_count; i++) {
		const struct sbc_set_conf *set = &s->cfg->sets[i];

		if (!set_up(s, set)) {
			(void)re_snprintf(why, size, "set %s: no backend up",
					  set->name);
			return EAGAIN;
		}
	}

	return 0;
}


void sbc_show_health(struct sbc_ctl_reply *rep, const struct sbc_show *s,
		     bool json)
{
	char why[SBC_CTL_NOTE_SIZE] = "";
	int err;

	err = processes_check(why, sizeof(why), s);
	if (!err)
		err = sets_check(why, sizeof(why), s);

	if (err) {
		rep->failed = true;
		str_ncpy(rep->note, why[0] ? why : "cannot read the workers",
			 sizeof(rep->note));
		if (json)
			(void)mbuf_printf(rep->body, "{\"healthy\":false,"
					  "\"reason\":\"%s\"}\n", why);
		return;
	}

	if (json)
		(void)mbuf_printf(rep->body, "{\"healthy\":true,\"workers\":%u,"
				  "\"relays\":%u,\"sets\":%u}\n",
				  sbc_pool_size(s->pool),
				  sbc_pool_relays(s->pool), s->cfg->set_count);
	else
		(void)mbuf_printf(rep->body, "healthy: %u workers and %u "
				  "relays beating, %u backend sets with a "
				  "backend up\n", sbc_pool_size(s->pool),
				  sbc_pool_relays(s->pool), s->cfg->set_count);
}
