/*
 * The segment's layout, private to shm/.
 *
 *   header | writer blocks (each with its change ring) | reg table | dlg table
 *   | backend slots
 *
 * Every part is addressed by an offset from the start of the segment and
 * aligned to a cache line. A table is an array of 64-bit slot control words
 * followed by an array of fixed-size records; slot i of one is slot i of the
 * other. Probing touches only the control words (eight to a cache line) and
 * reads a record only when its signature matches.
 */

#include <stdalign.h>
#include <stddef.h>
#include <stdatomic.h>

#define SBC_SHM_MAGIC 0x31304d5344434253ull  /* "SBCDSM01" little-endian */

enum {
	SBC_SHM_LAYOUT = 3,   /* 3: backend slots */
	SBC_CACHELINE  = 64,
};

/* A change ring entry: `tag` is (position + 1) << 8 | table << 4 | kind and
 * is written last, so a follower can tell an entry from one overwritten. */
struct sbc_ring_ent {
	_Atomic uint64_t tag;
	_Atomic uint64_t data;    /* slot << 32 | version */
};

struct sbc_wblk {
	_Atomic int32_t  pid;     /* 0: no live process holds this index */
	uint32_t         pad;
	_Atomic uint64_t count[SBC_TBL_COUNT]; /* records << 24 | last seq */
	_Atomic uint64_t pend;    /* the change being counted (count.c) */
	_Atomic uint64_t pend_ctl; /* the word it leaves in its slot */
	_Atomic uint64_t head;    /* next ring position */
	alignas(SBC_CACHELINE) struct sbc_ring_ent ring[];
};

struct sbc_tbl_hdr {
	_Atomic uint64_t gen;     /* compaction generation: odd while compacting */
	uint64_t ctl_off;
	uint64_t rec_off;
	uint32_t slots;
	uint32_t max;
	uint32_t rec_size;
	uint32_t pad;
	uint8_t  fill[SBC_CACHELINE - 40];
};

struct sbc_shm_hdr {
	uint64_t magic;
	uint32_t layout;
	uint32_t writers;
	uint64_t size;
	uint64_t wblk_off;
	uint64_t wblk_size;       /* bytes per writer block, ring included */
	uint32_t ring_size;
	uint32_t pad;
	uint64_t bk_off;          /* SBC_BK_SLOTS records of struct sbc_bk */
	uint32_t bk_size;         /* bytes per record */
	uint32_t pad2;
	struct sbc_tbl_hdr tbl[SBC_TBL_COUNT];
};

_Static_assert(sizeof(struct sbc_ring_ent) == 16, "ring entry size");
_Static_assert(sizeof(struct sbc_tbl_hdr) == SBC_CACHELINE, "table header");
_Static_assert(sizeof(struct sbc_shm_hdr) == SBC_CACHELINE * 3, "header");
_Static_assert(offsetof(struct sbc_wblk, ring) == SBC_CACHELINE, "wblk");
