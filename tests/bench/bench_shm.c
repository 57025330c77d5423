/*
 * bench_shm: how fast the shared tables are and how much segment they take.
 *
 * Prints a markdown table of lookups, inserts and updates per second with
 * one and two processes, at 50 % and 90 % fill, for the registration and
 * the dialog table; the bytes of segment per record; and the time to insert
 * 1,000,000 registrations into an empty table that holds that many. What
 * each figure means is printed under the table. `-q` runs small sizes in a
 * few seconds: the bench-smoke test runs it so the program cannot rot.
 *
 * The timed processes are forked children, each on a writer index of its
 * own, started together (bench_measure.c); the parent (writer 0) fills the
 * table beforehand and sweeps it afterwards, outside any timing. Keys are
 * built before anything is timed (bench_tables.c).
 */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/check.h"
#include "tests/bench/bench_shm.h"


enum {
	OTHER_MAX      = 1000,     /* the table not being measured */
	TARGET_LOOKUPS = 5000000,  /* per second per core, at 50 % fill */
	TARGET_INSERTS = 2000000,
	TARGET_BYTES   = 1 << 30,  /* segment for 1,000,000 registrations */
	DESIGN_REGS    = 1000000,  /* DESIGN.md section 2 */
	DESIGN_DLGS    = 200000,
};

/* The config's default sizes, whose tables fit in the caches, and the
 * sizes DESIGN.md asks for, whose tables are mostly in main memory. */
static const struct bench_sizes full_sizes[] = {
	{10000,   10000,  2000000, 200000, 1000000},
	{1000000, 200000, 2000000, 200000, 1000000},
};
static const struct bench_sizes quick_sizes[] = {
	{20000, 10000, 100000, 20000, 20000},
};

/* One line of the table; rates summed over the processes. */
struct row {
	const char *table;
	uint32_t fill;
	uint32_t procs;
	double rate[BENCH_OPS];
};



/* The parent puts keys up to the fill level, untimed. */
static int fill_to(struct bench *b, uint32_t pct)
{
	const uint64_t now = sbc_now_ms();
	const uint32_t target = (uint32_t)((uint64_t)b->max * pct / 100);
	int err;

	for (; b->filled < target; b->filled++) {

		err = b->t->put(b->w, b->filled, 0, now + BENCH_LIFE_MS, now);
		if (err)
			return err;
	}

	return 0;
}


/* Compact the tombstones the insert batches left, as the supervisor's
 * sweep would have meanwhile. */
static int sweep_all(const struct bench *b)
{
	const uint32_t slots = sbc_shm_slots(b->shm, b->t->tbl);
	struct sbc_sweep_report rep;
	uint64_t scanned = 0;
	int err;

	while (scanned < slots) {

		err = sbc_shm_sweep(b->w, b->t->tbl, sbc_now_ms(), slots,
				    &rep);
		if (err)
			return err;

		scanned += rep.scanned;
	}

	return 0;
}


static int measure_row(struct bench *b, uint32_t fill, uint32_t procs,
		       struct row *row)
{
	int err;

	row->table = b->t->name;
	row->fill  = fill;
	row->procs = procs;

	for (int op = 0; op < BENCH_OPS; op++) {

		err = bench_measure(b, op, procs, &row->rate[op]);
		if (err)
			return err;

		if (op == BENCH_INSERT) {
			err = sweep_all(b);
			if (err)
				return err;
		}
	}

	return 0;
}


static int segment_open(struct bench *b, uint32_t reg_max, uint32_t dlg_max)
{
	const struct sbc_shm_conf conf = {
		.reg_max    = reg_max,
		.dlg_max    = dlg_max,
		.writers    = 1 + BENCH_PROCS_MAX,
		.ring_size  = SBC_SHM_RING_DEFAULT,
		.huge_pages = true,
	};
	int err;

	err = sbc_shm_create(&b->shm, &conf);
	if (err)
		return err;

	return sbc_writer_attach(&b->w, b->shm, 0);
}


static void segment_close(struct bench *b)
{
	b->w   = mem_deref(b->w);
	b->shm = mem_deref(b->shm);
}


/* Four rows for one table: 50 and 90 % fill, one and two processes. */
static int bench_table(struct bench *b, const struct bench_table *t,
		       struct row *rows, uint64_t *bytes_per)
{
	static const uint32_t fills[] = {50, 90};
	const bool reg = t->tbl == SBC_TBL_REG;
	int err;

	b->t      = t;
	b->max    = reg ? b->sz->reg_max : b->sz->dlg_max;
	b->filled = 0;
	b->batch  = b->max / 100 ? b->max / 100 : 1;

	err = t->build(b->max + BENCH_PROCS_MAX * b->batch);
	if (err)
		return err;

	err = segment_open(b, reg ? b->max : OTHER_MAX,
			   reg ? OTHER_MAX : b->max);
	if (err)
		goto out;

	*bytes_per = sbc_shm_table_bytes(b->shm, t->tbl) / b->max;

	for (size_t f = 0; f < ARRAY_SIZE(fills); f++) {

		err = fill_to(b, fills[f]);
		if (err)
			goto out;

		for (uint32_t procs = 1; procs <= BENCH_PROCS_MAX; procs++) {

			err = measure_row(b, fills[f], procs, rows++);
			if (err)
				goto out;
		}
	}

 out:
	segment_close(b);
	t->release();

	return err;
}


/* sz->big registrations into an empty table of as many, one process. */
static int bench_big(struct bench *b, double *secs, uint64_t *size,
		     bool *huge)
{
	uint64_t t0 = 0, t1 = 0;
	int err;

	b->t      = &bench_reg_table;
	b->max    = b->sz->big;
	b->filled = 0;

	err = b->t->build(b->max);
	if (err)
		return err;

	err = segment_open(b, b->max, OTHER_MAX);
	if (err)
		goto out;

	*size = sbc_shm_size(b->shm);
	*huge = sbc_shm_huge(b->shm);

	err = bench_ns(&t0);
	if (err)
		goto out;

	err = fill_to(b, 100);
	if (err)
		goto out;

	err = bench_ns(&t1);
	if (err)
		goto out;

	*secs = (t1 - t0) / 1e9;

 out:
	segment_close(b);
	b->t->release();

	return err;
}


/* The segment DESIGN.md sizes for: 1,000,000 bindings, 200,000 dialogs. */
static int design_size(struct bench *b, uint64_t *size)
{
	int err;

	err = segment_open(b, DESIGN_REGS, DESIGN_DLGS);
	if (!err)
		*size = sbc_shm_size(b->shm);

	segment_close(b);

	return err;
}


static const char *verdict(bool met)
{
	return met ? "met" : "MISSED";
}


static double mega(double v)
{
	return v / 1e6;
}


static double gib(uint64_t v)
{
	return v / (double)(1u << 30);
}


static void print_header(void)
{
	printf("| table        |  fill | procs | lookups/s | inserts/s |"
	       " updates/s |\n");
	printf("|--------------|------:|------:|----------:|----------:|"
	       "----------:|\n");
}


static void print_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("| %-12s | %3u %% | %5u | %7.2f M | %7.2f M |"
		       " %7.2f M |\n", rows[i].table, rows[i].fill,
		       rows[i].procs, mega(rows[i].rate[BENCH_LOOKUP]),
		       mega(rows[i].rate[BENCH_INSERT]),
		       mega(rows[i].rate[BENCH_UPDATE]));
}


static void print_legend(const struct bench_sizes *sz, long cpus)
{
	printf("\nlookups: sbc_reg_get / sbc_dlg_get of keys present in the"
	       " table, %u per process; keys are pre-built strings read in"
	       " order, the slots they hash to spread over the table.\n",
	       sz->ops);
	printf("inserts: put of keys not in the table, in batches of 1 %% of"
	       " max per process, %u per process; each batch is deleted"
	       " again, untimed, so the fill stays within 2 %% of its"
	       " level.\n", sz->inserts);
	printf("updates: put of keys present in the table, in the same way"
	       " (each process its own half of them), %u per process.\n",
	       sz->ops);
	printf("fill: live records / max. procs: forked processes on writer"
	       " indices of their own, started together, rates summed; this"
	       " machine has %ld CPUs, so per core = the 2-process rate / 2."
	       "\nM = million operations per second; the clock is read once"
	       " per batch, not per operation.\n", cpus);
}


/* The targets are per core at 50 % fill; rows 0 and 1 are 50 % fill. */
static void print_targets(const struct row *reg, const struct row *dlg)
{
	for (int i = 0; i < 2; i++) {

		const struct row *r[2] = {&reg[i], &dlg[i]};

		printf("\nper core, %u process%s at 50 %% fill:", r[0]->procs,
		       r[0]->procs > 1 ? "es" : "");

		for (int j = 0; j < 2; j++) {
			double lk = r[j]->rate[BENCH_LOOKUP] / r[j]->procs;
			double in = r[j]->rate[BENCH_INSERT] / r[j]->procs;

			printf(" %s lookups %.2f M/s (target >= %.0f M: %s),"
			       " inserts %.2f M/s (target >= %.0f M: %s)%s",
			       r[j]->table, mega(lk), mega(TARGET_LOOKUPS),
			       verdict(lk >= TARGET_LOOKUPS), mega(in),
			       mega(TARGET_INSERTS),
			       verdict(in >= TARGET_INSERTS), j ? "" : ";");
		}
	}

	printf("\n");
}


/* Measure and print the rates of both tables at one size. */
static int rates(struct bench *b, const struct bench_sizes *sz, bool quick)
{
	struct row reg[4], dlg[4];
	uint64_t reg_bytes = 0, dlg_bytes = 0;
	int err;

	b->sz = sz;

	err = bench_table(b, &bench_reg_table, reg, &reg_bytes);
	if (!err)
		err = bench_table(b, &bench_dlg_table, dlg, &dlg_bytes);
	if (err)
		return err;

	printf("# sbcd shared tables%s: registrations max %u, dialogs max"
	       " %u\n\n", quick ? " (quick run, small sizes)" : "",
	       sz->reg_max, sz->dlg_max);
	print_header();
	print_rows(reg, ARRAY_SIZE(reg));
	print_rows(dlg, ARRAY_SIZE(dlg));
	if (!quick)
		print_targets(reg, dlg);

	printf("\nsegment per record (table bytes / max, slack slots"
	       " included): registration %" PRIu64 " B, dialog %" PRIu64
	       " B\n\n", reg_bytes, dlg_bytes);

	return 0;
}


static int run(const struct bench_sizes *sizes, size_t n, bool quick)
{
	const struct bench_sizes *last = &sizes[n - 1];
	uint64_t big_size = 0, design = 0;
	struct bench b = {.sz = last};
	double big_secs = 0, latency = 0;
	bool huge = false;
	size_t i;
	int err = 0;

	b.sh = mmap(NULL, sizeof(*b.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b.sh == MAP_FAILED)
		return errno;

	for (i = 0; i < n && !err; i++)
		err = rates(&b, &sizes[i], quick);

	b.sz = last;
	if (!err)
		err = bench_big(&b, &big_secs, &big_size, &huge);
	if (!err && !quick)
		err = design_size(&b, &design);
	if (!err)
		err = bench_latency(&latency);

	if (munmap(b.sh, sizeof(*b.sh)) && !err)
		err = errno;
	if (err)
		return err;

	print_legend(last, sysconf(_SC_NPROCESSORS_ONLN));

	printf("\nsegments use %s pages; one dependent access to main memory"
	       " takes %.0f ns on this machine (pointer chase over 256 MiB),"
	       " which bounds lookups in a table larger than the caches near"
	       " %.2f M/s per core.\n", huge ? "2 MiB" : "4 KiB", latency,
	       mega(1e9 / latency));
	printf("%u registrations inserted into an empty table with"
	       " reg_max %u, one process: %.3f s (%.2f M/s)\n", last->big,
	       last->big, big_secs, mega(last->big / big_secs));
	printf("segment with reg_max %u (dialogs max %u): %.3f GiB",
	       last->big, OTHER_MAX, gib(big_size));
	if (!quick)
		printf(" (target <= 1 GiB: %s)",
		       verdict(big_size <= (uint64_t)TARGET_BYTES));
	printf("\n");

	if (!quick)
		printf("segment with reg_max %u and dlg_max %u (DESIGN.md"
		       " section 2): %.3f GiB\n", DESIGN_REGS, DESIGN_DLGS,
		       gib(design));

	return 0;
}


static void usage(void)
{
	fprintf(stderr, "usage: bench_shm [-q]\n"
		"  -q  quick run with small tables (a smoke test)\n");
}


int main(int argc, char *argv[])
{
	const struct bench_sizes *sizes = full_sizes;
	size_t n = ARRAY_SIZE(full_sizes);
	int opt, err;

	while ((opt = getopt(argc, argv, "qh")) != -1) {

		switch (opt) {

		case 'q':
			sizes = quick_sizes;
			n = ARRAY_SIZE(quick_sizes);
			break;

		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}

	err = run(sizes, n, sizes == quick_sizes);
	if (err) {
		fprintf(stderr, "bench_shm: %s\n", strerror(err));
		return 1;
	}

	return 0;
}
