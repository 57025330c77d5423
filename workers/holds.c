/*
 * Connections that carry registrations.
 *
 * A binding made over TCP, TLS or WebSocket can only be reached over that
 * connection, so the connection must live as long as the binding (seed
 * 001: a WebSocket closed at 120 s under a 180 s registration left the
 * browser silently unreachable), and when it closes anyway the binding is
 * worthless and goes. The worker owning the connection keeps, per
 * connection, the bindings that live on it: it extends the connection's
 * life with each (re-)registration and removes them when it closes, each
 * only if it still names this connection (a REGISTER on a new connection
 * may have moved it).
 */

#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/reg.h"
#include "shm/stats.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/core.h"

enum {
	HASH_BUCKETS = 4096,
	BINDINGS_PER_CONN_MAX = 64,
};

struct hold {
	struct le he;
	uint64_t conn;
	struct list bindings;       /* struct held */
};

struct held {
	struct le le;
	char aor[SBC_REG_AOR_SIZE];
	char instance[SBC_REG_INSTANCE_SIZE];
};


static void hold_destructor(void *arg)
{
	struct hold *h = arg;

	hash_unlink(&h->he);
	list_flush(&h->bindings);
}


static void held_destructor(void *arg)
{
	struct held *b = arg;

	list_unlink(&b->le);
}


int sbc_holds_init(struct sbc_core *core)
{
	return hash_alloc(&core->holds, HASH_BUCKETS);
}


static bool hold_cmp(struct le *le, void *arg)
{
	const struct hold *h = le->data;

	return h->conn == *(uint64_t *)arg;
}


static struct hold *hold_find(struct sbc_core *core, uint64_t conn)
{
	struct le *le = hash_lookup(core->holds, (uint32_t)(conn ^ conn >> 32),
				    hold_cmp, &conn);

	return le ? le->data : NULL;
}


static bool held_is(const struct held *b, const char *aor,
		    const char *instance)
{
	return !strcmp(b->aor, aor) && !strcmp(b->instance, instance);
}


static void binding_drop(struct sbc_core *core, uint64_t conn,
			 const char *aor, const char *instance)
{
	struct pl a = {aor, strlen(aor)}, i = {instance, strlen(instance)};
	uint64_t now = sbc_now_ms();
	struct sbc_reg reg;

	if (sbc_reg_get(core->shm, &a, &i, now, &reg) || reg.conn != conn)
		return;

	if (!sbc_reg_del(core->w, &a, &i, now)) {
		sbc_stats_add(core->stats, core->index,
			      SBC_STAT_UNREGISTERED, 1);
		sbc_info("binding %s removed: its connection closed", aor);
	}
}


/* A binding lives on `conn` (one of this worker's) until `until`. */
void sbc_holds_add(struct sbc_core *core, uint64_t conn, uint64_t until,
		   const char *aor, const char *instance)
{
	struct hold *h;
	struct held *b;
	struct le *le;

	if (sbc_conn_worker(conn) != core->index)
		return;

	if (!sbc_tp_conn_alive(core->tp, conn)) {
		/* closed before the backend's 2xx came back */
		binding_drop(core, conn, aor, instance);
		return;
	}

	sbc_tp_hold(core->tp, conn, until);

	h = hold_find(core, conn);
	if (!h) {
		h = mem_zalloc(sizeof(*h), hold_destructor);
		if (!h)
			return;
		h->conn = conn;
		list_init(&h->bindings);
		hash_append(core->holds, (uint32_t)(conn ^ conn >> 32),
			    &h->he, h);
	}

	for (le = h->bindings.head; le; le = le->next) {
		if (held_is(le->data, aor, instance))
			return;
	}

	if (list_count(&h->bindings) >= BINDINGS_PER_CONN_MAX)
		return;

	b = mem_zalloc(sizeof(*b), held_destructor);
	if (!b)
		return;

	if (SBC_FIELD_SET_STR(b->aor, aor) ||
	    SBC_FIELD_SET_STR(b->instance, instance)) {
		mem_deref(b);
		return;
	}

	list_append(&h->bindings, &b->le, b);
}


/*
 * At start: bindings left on connections of this worker's previous
 * incarnation died with it (the kernel closed those connections), so they
 * go now rather than at their expiry. One pass over the table.
 */
void sbc_holds_purge(struct sbc_core *core, uint32_t incarnation)
{
	uint32_t slots = sbc_shm_slots(core->shm, SBC_TBL_REG);
	uint64_t now = sbc_now_ms(), gone = 0;
	struct sbc_reg reg;

	for (uint32_t s = 0; s < slots; s++) {
		if (sbc_reg_read_slot(core->shm, s, now, &reg) || !reg.conn ||
		    sbc_conn_worker(reg.conn) != core->index ||
		    sbc_conn_incarnation(reg.conn) == (incarnation & 0xffff))
			continue;

		binding_drop(core, reg.conn, reg.aor, reg.instance);
		++gone;
	}

	if (gone)
		sbc_info("%llu bindings of the previous incarnation's "
			 "connections removed", (unsigned long long)gone);
}


/* `conn` closed: the bindings that still live on it go. */
void sbc_holds_closed(struct sbc_core *core, uint64_t conn)
{
	struct hold *h = hold_find(core, conn);
	struct le *le;

	if (!h)
		return;

	for (le = h->bindings.head; le; le = le->next) {
		const struct held *b = le->data;

		binding_drop(core, conn, b->aor, b->instance);
	}

	mem_deref(h);
}
