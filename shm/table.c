/*
 * The lock-free table engine (see table.h).
 *
 * How it stays correct without a lock, with any number of writer processes:
 *
 * - Readers never write. They copy a LIVE record between two loads of its
 *   control word and copy again when the version moved (a seqlock).
 * - A writer owns a slot from the compare-and-swap that makes its version odd
 *   to the release-store that makes it even again; nobody else writes the
 *   record meanwhile. A reader or writer that meets an odd slot with its
 *   key's signature waits a bounded time, then answers EAGAIN: a writer that
 *   was killed holding a slot never stalls anyone for long, and the checker
 *   reclaims its slot.
 * - Records never move. A probe runs from the key's home slot to the first
 *   EMPTY slot, so every slot between a record's home and the record stays
 *   non-EMPTY while the record lives. Only compaction (sweep.c) turns slots
 *   back to EMPTY, inside an odd compaction generation; a reader that missed
 *   while the generation moved looks again.
 * - An insert claims a free slot (the chain's first tombstone, or the EMPTY
 *   slot that ends it) and then scans the chain once more before it
 *   publishes. Another copy of its key, or an earlier claim with its
 *   signature, makes it give the slot back as a tombstone and start over; a
 *   later claim with its signature is waited for. The claim and the scan are
 *   sequentially consistent, so of two inserts of one key at least one sees
 *   the other: they never both publish. An EMPTY slot before its own means a
 *   compaction ran under it: it starts over too.
 * - A step that fails because the table moved (ESTALE here) starts over, a
 *   bounded number of times.
 */

#include <string.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/ctl.h"
#include "shm/table.h"


enum {
	SETTLE_SPINS  = 1024, /* pauses while a busy slot's writer finishes */
	SETTLE_YIELDS = 64,   /* then yields, for a writer preempted on our core */
	COPY_TRIES    = 64,   /* seqlock copies before a reader gives up */
	RETRIES       = 64,   /* fresh probes after the table moved under us */
	SUM_EVERY     = 64,   /* own inserts between sums of all writers' counts */
};

/* Where a key was found, or a free slot: the slot and the word seen there. */
struct found {
	uint32_t slot;
	uint64_t ctl;
};

struct put_probe {
	struct found hit;     /* the key's own slot, or SBC_NOSLOT */
	bool hit_expired;
	struct found free;    /* the chain's first free slot, or SBC_NOSLOT */
};


void sbc_tkey_set(struct sbc_tkey *k, uint64_t primary, uint64_t secondary,
		  const void *key)
{
	k->home = (uint32_t)primary;
	k->sig  = (uint32_t)(primary >> (64 - SBC_SIG_PRIMARY_BITS))
			<< SBC_SIG_SECONDARY_BITS
		| (uint32_t)(secondary >> (64 - SBC_SIG_SECONDARY_BITS));
	k->key  = key;
}


/* Multiply-shift maps the hash onto any slot count without a division. */
uint32_t sbc_table_home(const struct sbc_table *t, const struct sbc_tkey *k)
{
	return (uint32_t)(((uint64_t)k->home * t->slots) >> 32);
}


bool sbc_rec_expired(const void *rec, uint64_t now)
{
	uint64_t expires;

	memcpy(&expires, rec, sizeof(expires));

	return expires <= now;
}


static uint64_t ctl_load(const struct sbc_table *t, uint32_t s)
{
	return atomic_load_explicit(&t->ctl[s], memory_order_acquire);
}


static bool ctl_cas(const struct sbc_table *t, uint32_t s, uint64_t old,
		    uint64_t new)
{
	return atomic_compare_exchange_strong_explicit(&t->ctl[s], &old, new,
						       memory_order_seq_cst,
						       memory_order_relaxed);
}


/* Wait, bounded, for a busy slot's writer to finish; returns the word. */
static uint64_t slot_settle(const struct sbc_table *t, uint32_t s, uint64_t c)
{
	unsigned n;

	for (n = 0; sbc_ctl_busy(c) && n < SETTLE_SPINS + SETTLE_YIELDS; n++) {

		if (n < SETTLE_SPINS)
			sbc_cpu_relax();
		else
			sched_yield();

		c = ctl_load(t, s);
	}

	return c;
}


/*
 * Copy slot s's record if it is LIVE. *c is the word the caller last saw
 * there and is updated to the word the copy was taken at. Returns 0 with a
 * consistent copy, ENOENT when the slot is not LIVE (any more), EAGAIN when
 * a writer held it longer than we wait.
 */
int sbc_table_copy(const struct sbc_table *t, uint32_t s, uint64_t *c,
		   void *rec)
{
	uint64_t w = *c;
	unsigned n;

	for (n = 0; n < COPY_TRIES; n++) {
		uint64_t again;

		w = slot_settle(t, s, w);
		if (sbc_ctl_busy(w))
			break;

		if (sbc_ctl_state(w) != SBC_SLOT_LIVE) {
			*c = w;
			return ENOENT;
		}

		memcpy(rec, sbc_table_rec(t, s), t->ops->rec_size);
		atomic_thread_fence(memory_order_acquire);
		again = atomic_load_explicit(&t->ctl[s], memory_order_relaxed);
		if (again == w) {
			*c = w;
			return 0;
		}

		w = again;
	}

	*c = w;
	return EAGAIN;
}


/* A miss is trusted only if no compaction overlapped the probe. */
static bool gen_unmoved(const struct sbc_table *t, uint64_t gen)
{
	return !(gen & 1) &&
		atomic_load_explicit(&t->hdr->gen, memory_order_acquire) == gen;
}


static bool slot_holds(const struct sbc_table *t, uint64_t c,
		       const struct sbc_tkey *k, const void *rec)
{
	return sbc_ctl_sig(c) == k->sig && t->ops->match(rec, k->key);
}


/*
 * Probe for k from its home slot to the end of its chain. Returns 0 with the
 * slot and word where it is (rec holds a copy, which may have expired),
 * ENOENT when it is not there, EAGAIN when a slot that may hold it stayed
 * busy.
 */
static int probe_find(const struct sbc_table *t, const struct sbc_tkey *k,
		      struct found *f, void *rec)
{
	uint32_t s = sbc_table_home(t, k);
	bool busy = false;
	uint32_t n;

	for (n = 0; n < t->slots; n++, s = sbc_table_next(t, s)) {
		uint64_t c = ctl_load(t, s);
		int err;

		if (sbc_ctl_state(c) == SBC_SLOT_EMPTY)
			break;

		if (sbc_ctl_state(c) == SBC_SLOT_TOMB || sbc_ctl_sig(c) != k->sig)
			continue;

		err = sbc_table_copy(t, s, &c, rec);
		if (err == EAGAIN)
			busy = true;

		if (err || !slot_holds(t, c, k, rec))
			continue;

		f->slot = s;
		f->ctl  = c;
		return 0;
	}

	return busy ? EAGAIN : ENOENT;
}


static int find(const struct sbc_table *t, const struct sbc_tkey *k,
		struct found *f, void *rec)
{
	int err = ENOENT;
	unsigned n;

	for (n = 0; n < RETRIES; n++) {
		uint64_t gen = atomic_load_explicit(&t->hdr->gen,
						    memory_order_acquire);

		err = probe_find(t, k, f, rec);
		if (err != ENOENT || gen_unmoved(t, gen))
			break;
	}

	return err;
}


int sbc_table_get(const struct sbc_table *t, const struct sbc_tkey *k,
		  uint64_t now, void *rec)
{
	struct found f;
	int err;

	err = find(t, k, &f, rec);
	if (err)
		return err;

	return sbc_rec_expired(rec, now) ? ENOENT : 0;
}


/*
 * A walk along a chain is not a snapshot: a key deleted behind it and
 * written again ahead of it is met twice. If rec's key is among the n
 * records of recv already, the later copy, the newer one, replaces it.
 */
static bool met_before(const struct sbc_table *t, uint8_t *recv, size_t n,
		       const void *rec)
{
	_Alignas(8) uint8_t keybuf[SBC_KEY_MAX];
	struct sbc_tkey tk;
	size_t i;

	t->ops->key_of(rec, &tk, keybuf);

	for (i = 0; i < n; i++) {
		uint8_t *old = recv + i * t->ops->rec_size;

		if (t->ops->match(old, tk.key)) {
			memcpy(old, rec, t->ops->rec_size);
			return true;
		}
	}

	return false;
}


/*
 * Copy every live record whose primary key matches k's into recv. A
 * record's chain starts at its primary key's home slot, so one probe finds
 * them all. Returns ENOBUFS when more than max matched, EAGAIN when a slot
 * that may match stayed busy; *n counts the records copied either way.
 */
static int probe_all(const struct sbc_table *t, const struct sbc_tkey *k,
		     uint64_t now, uint8_t *recv, size_t max, size_t *np)
{
	_Alignas(8) uint8_t spare[SBC_REC_MAX];
	uint32_t s = sbc_table_home(t, k);
	bool busy = false, more = false;
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < t->slots; i++, s = sbc_table_next(t, s)) {
		uint64_t c = ctl_load(t, s);
		void *rec = n < max ? recv + n * t->ops->rec_size : spare;
		int err;

		if (sbc_ctl_state(c) == SBC_SLOT_EMPTY)
			break;

		if (sbc_ctl_state(c) == SBC_SLOT_TOMB ||
		    !sbc_ctl_primary_eq(c, k->sig))
			continue;

		err = sbc_table_copy(t, s, &c, rec);
		if (err == EAGAIN)
			busy = true;

		if (err || !sbc_ctl_primary_eq(c, k->sig) ||
		    !t->ops->match_primary(rec, k->key) ||
		    sbc_rec_expired(rec, now) || met_before(t, recv, n, rec))
			continue;

		if (n < max)
			++n;
		else
			more = true;
	}

	*np = n;

	if (busy)
		return EAGAIN;

	return more ? ENOBUFS : 0;
}


int sbc_table_get_all(const struct sbc_table *t, const struct sbc_tkey *k,
		      uint64_t now, void *recv, size_t max, size_t *n)
{
	int err = 0;
	unsigned i;

	for (i = 0; i < RETRIES; i++) {
		uint64_t gen = atomic_load_explicit(&t->hdr->gen,
						    memory_order_acquire);

		err = probe_all(t, k, now, recv, max, n);
		if (gen_unmoved(t, gen))
			break;
	}

	return err;
}


int sbc_table_read_slot(const struct sbc_table *t, uint32_t slot,
			uint64_t now, void *rec)
{
	uint64_t c;
	int err;

	if (slot >= t->slots)
		return EINVAL;

	c = ctl_load(t, slot);
	err = sbc_table_copy(t, slot, &c, rec);
	if (err)
		return err;

	return sbc_rec_expired(rec, now) ? ENOENT : 0;
}


/*
 * Summing every writer's count costs a cache miss per writer, so a writer
 * trusts its last sum until it has inserted SUM_EVERY records or the sum
 * comes near the limit. Concurrent writers may so overshoot max by at most
 * SUM_EVERY each; the slots beyond max leave room for that.
 */
static bool table_full(const struct sbc_table *t, struct sbc_writer *w)
{
	const enum sbc_tbl tbl = t->ops->tbl;
	const int64_t margin = (int64_t)SUM_EVERY * sbc_shm_writers(w->shm);

	if (w->since_sum[tbl] < SUM_EVERY &&
	    w->used_sum[tbl] + w->since_sum[tbl] + margin < t->max)
		return false;

	w->used_sum[tbl]  = sbc_shm_count(w->shm, tbl);
	w->since_sum[tbl] = 0;

	return w->used_sum[tbl] >= t->max;
}


static void take_free(struct put_probe *p, uint32_t s, uint64_t c)
{
	if (p->free.slot != SBC_NOSLOT)
		return;

	p->free.slot = s;
	p->free.ctl  = c;
}


/* Probe for k before a put: its slot if it is there, else a free slot. */
static int probe_put(const struct sbc_table *t, const struct sbc_tkey *k,
		     uint64_t now, struct put_probe *p, void *spare)
{
	uint32_t s = sbc_table_home(t, k);
	uint32_t n;

	p->hit.slot  = SBC_NOSLOT;
	p->free.slot = SBC_NOSLOT;

	for (n = 0; n < t->slots; n++, s = sbc_table_next(t, s)) {
		uint64_t c = ctl_load(t, s);
		int err;

		switch (sbc_ctl_state(c)) {

		case SBC_SLOT_EMPTY:
			take_free(p, s, c);
			return 0;

		case SBC_SLOT_TOMB:
			take_free(p, s, c);
			continue;

		default:
			break;
		}

		if (sbc_ctl_sig(c) != k->sig)
			continue;

		err = sbc_table_copy(t, s, &c, spare);
		if (err == ENOENT)
			return ESTALE;
		if (err)
			return err;

		if (slot_holds(t, c, k, spare)) {
			p->hit.slot = s;
			p->hit.ctl  = c;
			p->hit_expired = sbc_rec_expired(spare, now);
			return 0;
		}
	}

	return 0;
}


/*
 * An insert's second look at its chain, after claiming slot `mine` and
 * before publishing it (the rules are at the top of this file). Returns 0
 * when the slot may be published, ESTALE when the insert must give it back
 * and start over, EAGAIN when a later claim never finished.
 */
static int verify_claim(const struct sbc_table *t, const struct sbc_tkey *k,
			uint32_t mine, void *spare)
{
	uint32_t s = sbc_table_home(t, k);
	bool past = false;
	uint32_t n;

	for (n = 0; n < t->slots; n++, s = sbc_table_next(t, s)) {
		uint64_t c;
		int err;

		if (s == mine) {
			past = true;
			continue;
		}

		c = atomic_load_explicit(&t->ctl[s], memory_order_seq_cst);
		if (sbc_ctl_state(c) == SBC_SLOT_EMPTY)
			return past ? 0 : ESTALE;

		if (sbc_ctl_state(c) == SBC_SLOT_TOMB || sbc_ctl_sig(c) != k->sig)
			continue;

		if (sbc_ctl_busy(c) && !past)
			return ESTALE;

		err = sbc_table_copy(t, s, &c, spare);
		if (err == EAGAIN)
			return EAGAIN;

		if (err == ENOENT && sbc_ctl_state(c) == SBC_SLOT_EMPTY)
			return past ? 0 : ESTALE;

		if (!err && slot_holds(t, c, k, spare))
			return ESTALE;
	}

	return 0;
}


/* Write the record of slot s, owned by us, and publish it as word pub. */
static void publish(const struct sbc_table *t, uint32_t s, uint64_t pub,
		    const void *rec)
{
	/* the record's stores must not become visible before the odd version */
	atomic_thread_fence(memory_order_release);
	memcpy(sbc_table_rec(t, s), rec, t->ops->rec_size);
	atomic_store_explicit(&t->ctl[s], pub, memory_order_release);
}


static int update(const struct sbc_table *t, struct sbc_writer *w,
		  const struct put_probe *p, const void *rec)
{
	const struct found *hit = &p->hit;
	uint64_t own, pub;

	own = sbc_ctl_make(sbc_ctl_ver(hit->ctl) + 1, sbc_ctl_sig(hit->ctl),
			   w->index, SBC_SLOT_LIVE);
	if (!ctl_cas(t, hit->slot, hit->ctl, own))
		return ESTALE;

	pub = sbc_ctl_published(own);
	publish(t, hit->slot, pub, rec);

	/* an expired record was invisible: for a follower this is new */
	sbc_ring_append(w, t->ops->tbl, hit->slot, sbc_ctl_ver(pub),
			p->hit_expired ? SBC_CHG_INSERT : SBC_CHG_UPDATE);

	return 0;
}


static int insert(const struct sbc_table *t, struct sbc_writer *w,
		  const struct sbc_tkey *k, const struct found *free,
		  const void *rec, void *spare)
{
	uint64_t own, pub;
	int err;

	own = sbc_ctl_make(sbc_ctl_ver(free->ctl) + 1, k->sig, w->index,
			   SBC_SLOT_NEW);
	if (!ctl_cas(t, free->slot, free->ctl, own))
		return ESTALE;

	err = verify_claim(t, k, free->slot, spare);
	if (err) {
		/* give it back as a tombstone: a probe may have passed it */
		atomic_store_explicit(&t->ctl[free->slot],
				      sbc_ctl_tomb(own, w->index),
				      memory_order_release);
		return err;
	}

	pub = sbc_ctl_published(own);
	sbc_count_begin(w, t->ops->tbl, free->slot, pub, +1);
	publish(t, free->slot, pub, rec);
	sbc_count_commit(w, t->ops->tbl, +1);
	sbc_ring_append(w, t->ops->tbl, free->slot, sbc_ctl_ver(pub),
			SBC_CHG_INSERT);

	return 0;
}


static int put_once(struct sbc_table *t, struct sbc_writer *w,
		    const struct sbc_tkey *k, const void *rec, uint64_t now,
		    void *spare)
{
	struct put_probe p;
	int err;

	err = probe_put(t, k, now, &p, spare);
	if (err)
		return err;

	if (p.hit.slot != SBC_NOSLOT)
		return update(t, w, &p, rec);

	if (p.free.slot == SBC_NOSLOT || table_full(t, w))
		return ENOSPC;

	return insert(t, w, k, &p.free, rec, spare);
}


/*
 * Insert or update the record keyed k. Returns 0, ENOSPC when the table
 * holds max records (or has no free slot at all), EAGAIN when a slot of the
 * key's chain stayed busy or the table kept moving under us.
 */
int sbc_table_put(struct sbc_table *t, struct sbc_writer *w,
		  const struct sbc_tkey *k, const void *rec, uint64_t now)
{
	_Alignas(8) uint8_t spare[SBC_REC_MAX];
	unsigned n;

	for (n = 0; n < RETRIES; n++) {
		int err = put_once(t, w, k, rec, now, spare);

		if (err != ESTALE)
			return err;
	}

	return EAGAIN;
}


/*
 * Make slot s, seen as word c, writer w's tombstone: counted (count.c) and
 * told to the ring as `kind`. Returns false if the slot changed meanwhile.
 * Sweep and checker remove through here too, so a count is kept one way.
 */
bool sbc_table_remove(const struct sbc_table *t, struct sbc_writer *w,
		      uint32_t s, uint64_t c, enum sbc_chg_kind kind)
{
	const enum sbc_tbl tbl = t->ops->tbl;
	uint64_t tomb = sbc_ctl_tomb(c, w->index);
	/* a LIVE record was counted; a NEW one, still being inserted, not */
	int delta = sbc_ctl_state(c) == SBC_SLOT_LIVE ? -1 : 0;

	if (delta)
		sbc_count_begin(w, tbl, s, tomb, delta);

	if (!ctl_cas(t, s, c, tomb))
		return false;

	if (delta)
		sbc_count_commit(w, tbl, delta);

	sbc_ring_append(w, tbl, s, sbc_ctl_ver(tomb), kind);

	return true;
}


/*
 * Remove the record keyed k. Removing one that expired reclaims its slot
 * and still answers ENOENT: it was already gone for every reader.
 */
int sbc_table_del(struct sbc_table *t, struct sbc_writer *w,
		  const struct sbc_tkey *k, uint64_t now)
{
	_Alignas(8) uint8_t spare[SBC_REC_MAX];
	unsigned n;

	for (n = 0; n < RETRIES; n++) {
		struct found f;
		bool expired;
		int err;

		err = find(t, k, &f, spare);
		if (err)
			return err;

		expired = sbc_rec_expired(spare, now);
		if (!sbc_table_remove(t, w, f.slot, f.ctl, expired ?
				      SBC_CHG_EXPIRE : SBC_CHG_DELETE))
			continue;

		return expired ? ENOENT : 0;
	}

	return EAGAIN;
}
