/*
 * Per-worker counters in a memfd (see stats.h).
 *
 * Written on the transport branch only so its tests link: the stats
 * implementation of the supervisor's branch replaces this file at merge.
 * A header (magic, worker count) and one cache-line-aligned row of 64-bit
 * counters per worker, each row written by its worker only with relaxed
 * atomics, read by anyone.
 */

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "shm/stats.h"

#define STATS_MAGIC 0x3130545353434253ull  /* "SBCSST01" little-endian */

enum {
	STATS_WORKERS_MAX = 1024,
};

struct stats_row {
	_Atomic uint64_t v[SBC_STAT_COUNT];
} __attribute__((aligned(64)));

struct stats_hdr {
	uint64_t magic;
	uint32_t workers;
	uint32_t pad;
} __attribute__((aligned(64)));

struct sbc_stats {
	int fd;
	size_t size;
	struct stats_hdr *hdr;
	struct stats_row *rows;
};


static void stats_destructor(void *arg)
{
	struct sbc_stats *st = arg;

	if (st->hdr)
		(void)munmap(st->hdr, st->size);
	if (st->fd >= 0)
		(void)close(st->fd);
}


static size_t stats_size(uint32_t workers)
{
	return sizeof(struct stats_hdr) + workers * sizeof(struct stats_row);
}


static int stats_map(struct sbc_stats *st)
{
	void *p = mmap(NULL, st->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       st->fd, 0);

	if (p == MAP_FAILED)
		return errno;

	st->hdr = p;
	st->rows = (struct stats_row *)(st->hdr + 1);
	return 0;
}


int sbc_stats_create(struct sbc_stats **statsp, uint32_t workers)
{
	struct sbc_stats *st;
	int err;

	if (!statsp || !workers || workers > STATS_WORKERS_MAX)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), stats_destructor);
	if (!st)
		return ENOMEM;

	st->size = stats_size(workers);
	st->fd = memfd_create("sbcd-stats", MFD_CLOEXEC);
	if (st->fd < 0) {
		err = errno;
		goto out;
	}

	if (ftruncate(st->fd, (off_t)st->size) < 0) {
		err = errno;
		goto out;
	}

	err = stats_map(st);
	if (err)
		goto out;

	st->hdr->magic = STATS_MAGIC;
	st->hdr->workers = workers;

 out:
	if (err)
		mem_deref(st);
	else
		*statsp = st;

	return err;
}


int sbc_stats_attach(struct sbc_stats **statsp, int fd)
{
	struct sbc_stats *st;
	struct stat sb;
	int err;

	if (!statsp || fd < 0)
		return EINVAL;

	if (fstat(fd, &sb) < 0)
		return errno;

	if ((size_t)sb.st_size < stats_size(1))
		return EINVAL;

	st = mem_zalloc(sizeof(*st), stats_destructor);
	if (!st)
		return ENOMEM;

	st->fd = -1;
	st->size = (size_t)sb.st_size;

	err = stats_map(st);
	if (err)
		goto out;

	if (st->hdr->magic != STATS_MAGIC || !st->hdr->workers ||
	    st->hdr->workers > STATS_WORKERS_MAX ||
	    stats_size(st->hdr->workers) > st->size) {
		err = EINVAL;
		goto out;
	}

	st->fd = fd;

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
	return stats ? stats->hdr->workers : 0;
}


static _Atomic uint64_t *stat_cell(const struct sbc_stats *stats,
				   uint32_t worker, enum sbc_stat stat)
{
	if (!stats || worker >= stats->hdr->workers || stat >= SBC_STAT_COUNT)
		return NULL;

	return &stats->rows[worker].v[stat];
}


void sbc_stats_add(struct sbc_stats *stats, uint32_t worker,
		   enum sbc_stat stat, int64_t delta)
{
	_Atomic uint64_t *cell = stat_cell(stats, worker, stat);

	if (cell)
		atomic_fetch_add_explicit(cell, (uint64_t)delta,
					  memory_order_relaxed);
}


void sbc_stats_set(struct sbc_stats *stats, uint32_t worker,
		   enum sbc_stat stat, uint64_t value)
{
	_Atomic uint64_t *cell = stat_cell(stats, worker, stat);

	if (cell)
		atomic_store_explicit(cell, value, memory_order_relaxed);
}


uint64_t sbc_stats_get(const struct sbc_stats *stats, uint32_t worker,
		       enum sbc_stat stat)
{
	_Atomic uint64_t *cell = stat_cell(stats, worker, stat);

	return cell ? atomic_load_explicit(cell, memory_order_relaxed) : 0;
}


const char *sbc_stats_name(enum sbc_stat stat)
{
	static const char *names[SBC_STAT_COUNT] = {
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
	};

	return stat < SBC_STAT_COUNT && names[stat] ? names[stat] : "?";
}
