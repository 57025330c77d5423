/*
 * The segment: its layout, its creation by the supervisor and its mapping
 * by any other process (see shm.h and layout.h).
 *
 * The segment is a memfd: it needs no name in /dev/shm, so nothing is left
 * behind when sbcd stops, however it stops. Its memory is reserved with
 * fallocate() when it is made, so a segment larger than the host can hold
 * fails at start with ENOSPC instead of killing a worker with SIGBUS later.
 *
 * Page tables are filled in advance too: a minor fault costs microseconds
 * (over 10 on virtual machines), and a forked child does not inherit its
 * parent's page tables for a shared mapping. So the creator and every
 * process that attaches populate the mapping for writing, every forked
 * process calls sbc_shm_populate() once, and no table operation waits on a
 * page fault. (MAP_POPULATE would not do: it maps shared pages read-only,
 * and the first write still faults.)
 *
 * With huge_pages the segment asks for 2 MiB pages, which the host has only
 * if the operator reserved them (vm.nr_hugepages). Random lookups in a
 * large table then miss the TLB far less: on a virtual machine, where a TLB
 * miss walks two sets of page tables, they are several times faster. If
 * none are reserved it falls back to normal pages; the layout line says
 * which it got.
 */

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/field.h"
#include "shm/backend.h"


enum {
	/* Slots beyond max keep probes short at max fill (80 % at most) and
	 * leave room for the overshoot table_full() allows per writer. */
	SLACK_PER_WRITER = 64,
	HUGE_PAGE = 2 * 1024 * 1024,
	RING_MAX = 1u << 24,
	TABLE_MAX = 10000000,
};


static const struct sbc_table_ops *table_ops(enum sbc_tbl tbl)
{
	return tbl == SBC_TBL_REG ? &sbc_reg_ops : &sbc_dlg_ops;
}


static uint64_t align_line(uint64_t v)
{
	return (v + SBC_CACHELINE - 1) & ~(uint64_t)(SBC_CACHELINE - 1);
}


static uint32_t slots_for(uint32_t max, uint32_t writers)
{
	return max + max / 4 + SLACK_PER_WRITER * writers;
}


static bool conf_valid(const struct sbc_shm_conf *conf)
{
	return conf->reg_max && conf->reg_max <= TABLE_MAX &&
		conf->dlg_max && conf->dlg_max <= TABLE_MAX &&
		conf->writers && conf->writers <= SBC_SHM_WRITERS_MAX &&
		conf->ring_size >= 2 && conf->ring_size <= RING_MAX &&
		!(conf->ring_size & (conf->ring_size - 1));
}


/* Lay the segment out from the conf: offsets and sizes, into the header. */
static void layout_make(struct sbc_shm_hdr *hdr, const struct sbc_shm_conf *conf)
{
	const uint32_t max[SBC_TBL_COUNT] = {conf->reg_max, conf->dlg_max};
	uint64_t off;
	int i;

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic     = SBC_SHM_MAGIC;
	hdr->layout    = SBC_SHM_LAYOUT;
	hdr->writers   = conf->writers;
	hdr->ring_size = conf->ring_size;
	hdr->wblk_off  = sizeof(*hdr);
	hdr->wblk_size = align_line(sizeof(struct sbc_wblk) +
		(uint64_t)conf->ring_size * sizeof(struct sbc_ring_ent));

	off = hdr->wblk_off + hdr->wblk_size * conf->writers;

	for (i = 0; i < SBC_TBL_COUNT; i++) {
		struct sbc_tbl_hdr *th = &hdr->tbl[i];

		th->max      = max[i];
		th->slots    = slots_for(max[i], conf->writers);
		th->rec_size = (uint32_t)table_ops(i)->rec_size;
		th->ctl_off  = off;
		th->rec_off  = align_line(off + (uint64_t)th->slots * 8);
		off = align_line(th->rec_off +
				 (uint64_t)th->slots * th->rec_size);
	}

	hdr->bk_off  = off;
	hdr->bk_size = (uint32_t)align_line(sizeof(struct sbc_bk));
	off += (uint64_t)hdr->bk_size * SBC_BK_SLOTS;

	hdr->size = off;
}


static bool span_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off % SBC_CACHELINE == 0 && off <= size && len <= size - off;
}


/* Everything a process checks before it trusts a segment it mapped. */
static bool layout_valid(const struct sbc_shm_hdr *hdr, uint64_t size)
{
	int i;

	if (hdr->magic != SBC_SHM_MAGIC || hdr->layout != SBC_SHM_LAYOUT ||
	    hdr->size != size || !hdr->writers ||
	    hdr->writers > SBC_SHM_WRITERS_MAX ||
	    hdr->ring_size < 2 || hdr->ring_size > RING_MAX ||
	    (hdr->ring_size & (hdr->ring_size - 1)) ||
	    hdr->wblk_size < sizeof(struct sbc_wblk) +
			     (uint64_t)hdr->ring_size * 16 ||
	    !span_ok(hdr->wblk_off, hdr->wblk_size * hdr->writers, size) ||
	    hdr->bk_size != align_line(sizeof(struct sbc_bk)) ||
	    !span_ok(hdr->bk_off, (uint64_t)hdr->bk_size * SBC_BK_SLOTS,
		     size))
		return false;

	for (i = 0; i < SBC_TBL_COUNT; i++) {
		const struct sbc_tbl_hdr *th = &hdr->tbl[i];

		if (th->rec_size != table_ops(i)->rec_size ||
		    !th->max || th->slots < th->max ||
		    !span_ok(th->ctl_off, (uint64_t)th->slots * 8, size) ||
		    !span_ok(th->rec_off, (uint64_t)th->slots * th->rec_size,
			     size))
			return false;
	}

	return true;
}


static void handle_init(struct sbc_shm *shm)
{
	int i;

	shm->hdr = (struct sbc_shm_hdr *)shm->base;

	for (i = 0; i < SBC_TBL_COUNT; i++) {
		struct sbc_tbl_hdr *th = &shm->hdr->tbl[i];
		struct sbc_table *t = &shm->tbl[i];

		t->hdr   = th;
		t->ctl   = (_Atomic uint64_t *)(shm->base + th->ctl_off);
		t->rec   = shm->base + th->rec_off;
		t->slots = th->slots;
		t->max   = th->max;
		t->ops   = table_ops(i);
	}
}


static int shm_map(struct sbc_shm *shm)
{
	void *p = mmap(NULL, shm->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, shm->fd, 0);

	if (p == MAP_FAILED)
		return errno;

	shm->base = p;

	return 0;
}


static void segment_free(struct sbc_shm *shm)
{
	if (shm->base)
		munmap(shm->base, shm->size);

	if (shm->fd >= 0)
		close(shm->fd);

	shm->base = NULL;
	shm->fd = -1;
}


static void shm_destructor(void *arg)
{
	segment_free(arg);
}


static int segment_alloc(struct sbc_shm *shm, bool huge)
{
	int err;

	shm->fd = memfd_create("sbcd-shm", MFD_CLOEXEC |
			       (huge ? MFD_HUGETLB : 0));
	if (shm->fd < 0)
		return errno;

	if (ftruncate(shm->fd, (off_t)shm->size) < 0)
		return errno;

	err = posix_fallocate(shm->fd, 0, (off_t)shm->size);
	if (err)
		return err;

	err = shm_map(shm);
	if (err)
		return err;

	shm->huge = huge;

	return sbc_shm_populate(shm);
}


/* Create the segment. Call before forking: children share the mapping. */
int sbc_shm_create(struct sbc_shm **shmp, const struct sbc_shm_conf *conf)
{
	struct sbc_shm_hdr hdr;
	struct sbc_shm *shm;
	int err = ENOMEM;

	if (!shmp || !conf || !conf_valid(conf))
		return EINVAL;

	layout_make(&hdr, conf);

	shm = mem_zalloc(sizeof(*shm), shm_destructor);
	if (!shm)
		return ENOMEM;

	shm->fd = -1;

	if (conf->huge_pages) {
		shm->size = (hdr.size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
		err = segment_alloc(shm, true);
		if (err)
			segment_free(shm);
	}

	if (err) {
		shm->size = hdr.size;
		err = segment_alloc(shm, false);
		if (err)
			goto out;
	}

	/* the rest is zero: EMPTY slots, empty rings, no writers */
	hdr.size = shm->size;
	memcpy(shm->base, &hdr, sizeof(hdr));
	handle_init(shm);

 out:
	if (err)
		mem_deref(shm);
	else
		*shmp = shm;

	return err;
}


/* Map a segment another process created; EPROTO if its layout is not ours. */
int sbc_shm_attach(struct sbc_shm **shmp, int fd)
{
	struct sbc_shm *shm;
	struct stat st;
	int err;

	if (!shmp || fd < 0)
		return EINVAL;

	if (fstat(fd, &st) < 0)
		return errno;

	if ((uint64_t)st.st_size < sizeof(struct sbc_shm_hdr))
		return EPROTO;

	shm = mem_zalloc(sizeof(*shm), shm_destructor);
	if (!shm)
		return ENOMEM;

	shm->size = (uint64_t)st.st_size;
	shm->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (shm->fd < 0) {
		err = errno;
		goto out;
	}

	err = shm_map(shm);
	if (err)
		goto out;

	if (!layout_valid((struct sbc_shm_hdr *)shm->base, shm->size)) {
		err = EPROTO;
		goto out;
	}

	err = sbc_shm_populate(shm);
	if (err)
		goto out;

	handle_init(shm);

 out:
	if (err)
		mem_deref(shm);
	else
		*shmp = shm;

	return err;
}


/*
 * Fault the whole segment into this process's page tables. Call it once in
 * each process forked after the segment was made, before serving. A kernel
 * older than 5.14 cannot (EINVAL): pages are then faulted in as they are
 * first used, which is slower but just as correct.
 */
int sbc_shm_populate(const struct sbc_shm *shm)
{
	if (!shm)
		return EINVAL;

	if (madvise(shm->base, shm->size, MADV_POPULATE_WRITE) < 0 &&
	    errno != EINVAL)
		return errno;

	return 0;
}


struct sbc_wblk *sbc_shm_wblk(const struct sbc_shm *shm, uint32_t index)
{
	return (struct sbc_wblk *)(shm->base + shm->hdr->wblk_off +
				   shm->hdr->wblk_size * index);
}


bool sbc_shm_huge(const struct sbc_shm *shm)
{
	return shm && shm->huge;
}


int sbc_shm_fd(const struct sbc_shm *shm)
{
	return shm ? shm->fd : -1;
}


uint64_t sbc_shm_size(const struct sbc_shm *shm)
{
	return shm ? shm->size : 0;
}


uint32_t sbc_shm_writers(const struct sbc_shm *shm)
{
	return shm ? shm->hdr->writers : 0;
}


uint32_t sbc_shm_max(const struct sbc_shm *shm, enum sbc_tbl tbl)
{
	return shm && tbl < SBC_TBL_COUNT ? shm->tbl[tbl].max : 0;
}


uint32_t sbc_shm_slots(const struct sbc_shm *shm, enum sbc_tbl tbl)
{
	return shm && tbl < SBC_TBL_COUNT ? shm->tbl[tbl].slots : 0;
}


/* Bytes one table takes in the segment: control words and records. */
uint64_t sbc_shm_table_bytes(const struct sbc_shm *shm, enum sbc_tbl tbl)
{
	const struct sbc_table *t;

	if (!shm || tbl >= SBC_TBL_COUNT)
		return 0;

	t = &shm->tbl[tbl];

	return (uint64_t)t->slots * (8 + t->ops->rec_size);
}


const char *sbc_tbl_name(enum sbc_tbl tbl)
{
	switch (tbl) {

	case SBC_TBL_REG: return "registrations";
	case SBC_TBL_DLG: return "dialogs";
	default:          return "?";
	}
}


static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}


int sbc_shm_layout_print(struct re_printf *pf, const struct sbc_shm *shm)
{
	const struct sbc_shm_hdr *hdr;
	int err, i;

	if (!shm)
		return 0;

	hdr = shm->hdr;
	err = re_hprintf(pf, "segment %.1f MiB (memfd, %s pages, layout %u):",
			 mib(shm->size), shm->huge ? "2 MiB" : "4 KiB",
			 hdr->layout);

	for (i = 0; i < SBC_TBL_COUNT; i++) {
		const struct sbc_table *t = &shm->tbl[i];

		err |= re_hprintf(pf, " %s max %u in %u slots x %zu B"
				  " = %.1f MiB;", sbc_tbl_name(i), t->max,
				  t->slots, t->ops->rec_size + 8,
				  mib(sbc_shm_table_bytes(shm, i)));
	}

	err |= re_hprintf(pf, " backends %u slots x %u B = %.1f MiB;",
			  SBC_BK_SLOTS, hdr->bk_size,
			  mib((uint64_t)hdr->bk_size * SBC_BK_SLOTS));
	err |= re_hprintf(pf, " %u writers x %u-change ring = %.1f MiB",
			  hdr->writers, hdr->ring_size,
			  mib(hdr->wblk_size * hdr->writers));

	return err;
}
