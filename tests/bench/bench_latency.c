/*
 * The machine's memory latency, measured in the same run as the tables.
 *
 * A lookup in a table larger than the caches waits for at least one access
 * to main memory that nothing can overlap: the record's place depends on
 * the key. So the latency of one dependent access bounds lookups per second
 * per core, whatever the table does; printing it beside the rates says how
 * close to that bound they are. Measured by chasing pointers through a
 * random cycle of cache lines in a buffer far larger than any cache.
 */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <re.h>
#include "shm/shm.h"
#include "tests/bench/bench_shm.h"


enum {
	CHASE_BYTES = 256u << 20,
	LINE        = 64,
	STEPS       = 2000000,
};


/* A random cycle through every line: line i holds the index of the next. */
static void link_lines(uint64_t *mem, size_t lines)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < lines; i++)
		mem[i * (LINE / 8)] = i;

	/* Sattolo's shuffle makes one cycle of all lines */
	for (i = lines - 1; i > 0; i--) {
		size_t j, a = i * (LINE / 8);
		uint64_t tmp;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = (size_t)(seed % i) * (LINE / 8);

		tmp = mem[a];
		mem[a] = mem[j];
		mem[j] = tmp;
	}
}


/* Nanoseconds per dependent access to main memory. */
int bench_latency(double *ns)
{
	const size_t lines = CHASE_BYTES / LINE;
	uint64_t t0, t1, at = 0;
	uint64_t *mem;
	int err, i;

	mem = mmap(NULL, CHASE_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return errno;

	link_lines(mem, lines);

	err = bench_ns(&t0);
	for (i = 0; !err && i < STEPS; i++)
		at = mem[at * (LINE / 8)];
	if (!err)
		err = bench_ns(&t1);

	/* keep the chase from being optimised away */
	if (at == lines)
		err = EPROTO;

	if (munmap(mem, CHASE_BYTES) && !err)
		err = errno;

	if (!err)
		*ns = (double)(t1 - t0) / STEPS;

	return err;
}
