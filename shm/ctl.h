/*
 * Slot control words, private to shm/.
 *
 * Each slot of a table has one 64-bit word that says everything a reader or
 * writer must know before touching the record, and that changes only by
 * compare-and-swap or by the release-store of the process that owns it:
 *
 *   bits  0..31  version: odd while a writer owns the slot (a seqlock)
 *   bits 32..53  signature of the key (22 bits of its hashes)
 *   bits 54..61  index of the writer that owns the slot, while odd
 *   bits 62..63  state: EMPTY, LIVE, TOMB, or NEW (claimed for an insert)
 *
 * A version is odd exactly while the slot is LIVE (being updated) or NEW
 * (being inserted). Because the owner's index is in the word, the checker
 * can tell a slot a dead writer left half-written from one being written.
 */

#include <sched.h>

enum sbc_slot_state {
	SBC_SLOT_EMPTY = 0,  /* never used since the last compaction: ends a probe */
	SBC_SLOT_LIVE  = 1,
	SBC_SLOT_TOMB  = 2,  /* deleted: a probe goes on past it */
	SBC_SLOT_NEW   = 3,  /* claimed by an insert, not yet published */
};

enum {
	SBC_SIG_PRIMARY_BITS   = 16,  /* from the AOR or Call-ID hash */
	SBC_SIG_SECONDARY_BITS = 6,   /* from the instance or tags hash */
	SBC_SIG_BITS = SBC_SIG_PRIMARY_BITS + SBC_SIG_SECONDARY_BITS,
	SBC_NOSLOT = UINT32_MAX,
};

static inline uint32_t sbc_ctl_ver(uint64_t c)
{
	return (uint32_t)c;
}

static inline bool sbc_ctl_busy(uint64_t c)
{
	return c & 1;
}

static inline uint32_t sbc_ctl_sig(uint64_t c)
{
	return (uint32_t)(c >> 32) & ((1u << SBC_SIG_BITS) - 1);
}

static inline uint32_t sbc_ctl_writer(uint64_t c)
{
	return (uint32_t)(c >> 54) & 0xff;
}

static inline enum sbc_slot_state sbc_ctl_state(uint64_t c)
{
	return (enum sbc_slot_state)(c >> 62);
}

static inline uint64_t sbc_ctl_make(uint32_t ver, uint32_t sig,
				    uint32_t writer, enum sbc_slot_state st)
{
	return (uint64_t)ver | (uint64_t)sig << 32 |
		(uint64_t)(writer & 0xff) << 54 | (uint64_t)st << 62;
}

/* The word a slot gets when writer w makes it a tombstone, from even or
 * odd. The writer's index makes the word its own (see count.c). */
static inline uint64_t sbc_ctl_tomb(uint64_t c, uint32_t w)
{
	return sbc_ctl_make((sbc_ctl_ver(c) | 1) + 1, 0, w, SBC_SLOT_TOMB);
}

/* The word that publishes slot word `own`, held odd by its writer. */
static inline uint64_t sbc_ctl_published(uint64_t own)
{
	return sbc_ctl_make(sbc_ctl_ver(own) + 1, sbc_ctl_sig(own), 0,
			    SBC_SLOT_LIVE);
}

static inline bool sbc_ctl_primary_eq(uint64_t c, uint32_t sig)
{
	return sbc_ctl_sig(c) >> SBC_SIG_SECONDARY_BITS ==
		sig >> SBC_SIG_SECONDARY_BITS;
}

static inline void sbc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}
