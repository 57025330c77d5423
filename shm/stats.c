/*
 * Per-worker counters in a small shared memfd (see stats.h).
 *
 *   header (one cache line) | row of worker 0 | row of worker 1 | ...
 *
 * Each row holds SBC_STAT_COUNT 64-bit counters and is padded to whole
 * cache lines, so a worker bumping its own counters never shares a line
 * with another worker's. Only a row's worker writes it, so relaxed atomics
 * are enough: they keep every read whole, and nobody orders one counter
 * against another.
 *
 * The memfd is sealed against growing and shrinking once it has its size:
 * a process that maps it can trust its length, and no child can shrink it
 * under the supervisor (whose next read would then die of SIGBUS).
 */

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "shm/stats.h"

#define STATS_MAGIC 0x31305453434253ull   /* "SBCST01" little-endian */

enum {
	STATS_LAYOUT = 2,     /* 2: heartbeats */
	CACHELINE = 64,
	WORKERS_MAX = 255,
};

struct stats_hdr {
	uint64_t magic;
	uint32_t layout;
	uint32_t workers;
	uint32_t row_size;     /* bytes per row, whole cache lines */
	uint32_t count;        /* counters per row: SBC_STAT_COUNT */
	uint64_t size;         /* of the whole memfd */
	uint8_t  fill[CACHELINE - 32];
};

struct stats_row {
	_Atomic uint64_t v[SBC_STAT_COUNT];
	_Atomic uint64_t beat;  /* the worker's last heartbeat, sbc_now_ms */
};

_Static_assert(sizeof(struct stats_hdr) == CACHELINE, "stats header size");

#define ROW_SIZE ((sizeof(struct stats_row) + CACHELINE - 1) / CACHELINE * \
		  CACHELINE)

struct sbc_stats {
	uint8_t *base;
	uint64_t size;
	uint32_t workers;
	int fd;
};

static const char *stat_names[SBC_STAT_COUNT] = {
	[SBC_STAT_RX]             = "rx",
	[SBC_STAT_TX]             = "tx",
	[SBC_STAT_RX_BAD]         = "rx_bad",
	[SBC_STAT_RX_TOO_BIG]     = "rx_too_big",
	[SBC_STAT_HANDOVER_OUT]   = "handover_out",
	[SBC_STAT_HANDOVER_IN]    = "handover_in",
	[SBC_STAT_HANDOVER_LOST]  = "handover_lost",
	[SBC_STAT_REGISTERED]     = "registered",
	[SBC_STAT_UNREGISTERED]   = "unregistered",
	[SBC_STAT_CALLS]          = "calls",
	[SBC_STAT_CONNS_NOW]      = "conns_now",
	[SBC_STAT_TXNS_NOW]       = "txns_now",
	[SBC_STAT_DIALOGS_NOW]    = "dialogs_now",
	[SBC_STAT_DIALOGS_FULL]   = "dialogs_full",
};


static void stats_destructor(void *arg)
{
	struct sbc_stats *st = arg;

	if (st->base)
		munmap(st->base, st->size);

	if (st->fd >= 0)
		close(st->fd);
}


static uint64_t stats_size(uint32_t workers)
{
	return sizeof(struct stats_hdr) + (uint64_t)workers * ROW_SIZE;
}


static int stats_map(struct sbc_stats *st)
{
	void *p = mmap(NULL, st->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       st->fd, 0);

	if (p == MAP_FAILED)
		return errno;

	st->base = p;

	return 0;
}


static struct stats_row *stats_row(const struct sbc_stats *st,
				   uint32_t worker)
{
	return (struct stats_row *)(void *)(st->base +
		sizeof(struct stats_hdr) + (uint64_t)worker * ROW_SIZE);
}


static int stats_alloc(struct sbc_stats **stp)
{
	struct sbc_stats *st = mem_zalloc(sizeof(*st), stats_destructor);

	if (!st)
		return ENOMEM;

	st->fd = -1;
	*stp = st;

	return 0;
}


/* Create the counters of `workers` workers, all zero. Call before fork. */
int sbc_stats_create(struct sbc_stats **statsp, uint32_t workers)
{
	struct sbc_stats *st;
	struct stats_hdr *hdr;
	int err;

	if (!statsp || !workers || workers > WORKERS_MAX)
		return EINVAL;

	err = stats_alloc(&st);
	if (err)
		return err;

	st->workers = workers;
	st->size = stats_size(workers);

	st->fd = memfd_create("sbcd-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (st->fd < 0) {
		err = errno;
		goto out;
	}

	if (ftruncate(st->fd, (off_t)st->size) < 0 ||
	    fcntl(st->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK |
		  F_SEAL_SEAL) < 0) {
		err = errno;
		goto out;
	}

	err = stats_map(st);
	if (err)
		goto out;

	hdr = (struct stats_hdr *)(void *)st->base;
	hdr->magic    = STATS_MAGIC;
	hdr->layout   = STATS_LAYOUT;
	hdr->workers  = workers;
	hdr->row_size = ROW_SIZE;
	hdr->count    = SBC_STAT_COUNT;
	hdr->size     = st->size;

 out:
	if (err)
		mem_deref(st);
	else
		*statsp = st;

	return err;
}


static bool hdr_valid(const struct stats_hdr *hdr, uint64_t size)
{
	return hdr->magic == STATS_MAGIC && hdr->layout == STATS_LAYOUT &&
		hdr->workers && hdr->workers <= WORKERS_MAX &&
		hdr->row_size == ROW_SIZE && hdr->count == SBC_STAT_COUNT &&
		hdr->size == size && size == stats_size(hdr->workers);
}


/*
 * Map counters another process created, from their fd (which stays the
 * caller's). EPROTO if the memfd is not counters of this layout.
 */
int sbc_stats_attach(struct sbc_stats **statsp, int fd)
{
	struct sbc_stats *st;
	struct stat sb;
	int err;

	if (!statsp || fd < 0)
		return EINVAL;

	if (fstat(fd, &sb) < 0)
		return errno;

	if ((uint64_t)sb.st_size < sizeof(struct stats_hdr) ||
	    (uint64_t)sb.st_size > stats_size(WORKERS_MAX))
		return EPROTO;

	err = stats_alloc(&st);
	if (err)
		return err;

	st->size = (uint64_t)sb.st_size;
	st->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (st->fd < 0) {
		err = errno;
		goto out;
	}

	err = stats_map(st);
	if (err)
		goto out;

	if (!hdr_valid((struct stats_hdr *)(void *)st->base, st->size)) {
		err = EPROTO;
		goto out;
	}

	st->workers = ((struct stats_hdr *)(void *)st->base)->workers;

 out:
	if (err)
		mem_deref(st);
	else
		*statsp = st;

	return err;
}


int sbc_stats_fd(const struct sbc_stats *stats)
{
	return stats ? stats->fd : -1;
}


uint32_t sbc_stats_workers(const struct sbc_stats *stats)
{
	return stats ? stats->workers : 0;
}


static bool stat_ok(const struct sbc_stats *stats, uint32_t worker,
		    enum sbc_stat stat)
{
	return stats && worker < stats->workers && stat < SBC_STAT_COUNT;
}


/* Add delta (negative for a gauge going down); wraps like any uint64. */
void sbc_stats_add(struct sbc_stats *stats, uint32_t worker,
		   enum sbc_stat stat, int64_t delta)
{
	if (!stat_ok(stats, worker, stat))
		return;

	atomic_fetch_add_explicit(&stats_row(stats, worker)->v[stat],
				  (uint64_t)delta, memory_order_relaxed);
}


void sbc_stats_set(struct sbc_stats *stats, uint32_t worker,
		   enum sbc_stat stat, uint64_t value)
{
	if (!stat_ok(stats, worker, stat))
		return;

	atomic_store_explicit(&stats_row(stats, worker)->v[stat], value,
			      memory_order_relaxed);
}


/* A counter's value; 0 for a worker or counter that does not exist. */
uint64_t sbc_stats_get(const struct sbc_stats *stats, uint32_t worker,
		       enum sbc_stat stat)
{
	if (!stat_ok(stats, worker, stat))
		return 0;

	return atomic_load_explicit(&stats_row(stats, worker)->v[stat],
				    memory_order_relaxed);
}


/* The counter's name in sbcctl's output, or "?" for none. */
const char *sbc_stats_name(enum sbc_stat stat)
{
	return stat < SBC_STAT_COUNT ? stat_names[stat] : "?";
}


/* The worker's loop ran at `now` (ms): what `sbcctl health` looks at. */
void sbc_stats_beat(struct sbc_stats *stats, uint32_t worker, uint64_t now)
{
	if (stats && worker < stats->workers)
		atomic_store_explicit(&stats_row(stats, worker)->beat, now,
				      memory_order_relaxed);
}


/* The worker's last heartbeat, 0 for none yet. */
uint64_t sbc_stats_last_beat(const struct sbc_stats *stats, uint32_t worker)
{
	if (!stats || worker >= stats->workers)
		return 0;

	return atomic_load_explicit(&stats_row(stats, worker)->beat,
				    memory_order_relaxed);
}
