/*
 * The timed processes of the benchmark.
 *
 * Each measurement forks its processes afresh: each attaches to a writer
 * index of its own, faults the segment in and waits at a start line until
 * all are ready, so they run together; each times only its own operations,
 * and the rates are summed. The parent waits; it declares each writer index
 * gone once it has reaped the child, as the supervisor does.
 */

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <re.h>
#include "shm/shm.h"
#include "tests/bench/bench_shm.h"


enum {
	READY_MS = 60000,
};

static const char *const op_name[BENCH_OPS] = {"lookups", "inserts",
					       "updates"};


int bench_ns(uint64_t *ns)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return errno;

	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;

	return 0;
}


/*
 * Present keys, n gets. Keys are taken in the order they were built, so
 * reading them streams through memory as a worker's packet buffer would;
 * the slots they hash to are spread over the whole table. (Picking keys at
 * random would add a cache and TLB miss on the key array to every lookup:
 * on this machine's VM that is about 300 ns, the benchmark's, not the
 * table's.) Process p starts p / procs of the way in.
 */
static int run_lookups(const struct bench *b, uint32_t p, uint32_t procs,
		       struct bench_result *r)
{
	const uint64_t now = sbc_now_ms();
	uint32_t key = (uint32_t)((uint64_t)b->filled * p / procs);
	uint64_t t0 = 0, t1 = 0;
	int err;

	err = bench_ns(&t0);
	if (err)
		return err;

	for (uint32_t i = 0; i < b->sz->ops; i++) {

		err = b->t->get(b->shm, key, now);
		if (err)
			return err;

		if (++key == b->filled)
			key = 0;
	}

	err = bench_ns(&t1);
	if (err)
		return err;

	r->ops = b->sz->ops;
	r->ns  = t1 - t0;

	return 0;
}


/* Present keys of this process's share (key mod procs), in order as for
 * lookups: n puts. */
static int run_updates(const struct bench *b, struct sbc_writer *w,
		       uint32_t p, uint32_t procs, struct bench_result *r)
{
	const uint64_t now = sbc_now_ms();
	uint64_t t0 = 0, t1 = 0;
	uint32_t key = p;
	int err;

	err = bench_ns(&t0);
	if (err)
		return err;

	for (uint32_t i = 0; i < b->sz->ops; i++) {

		err = b->t->put(w, key, i, now + BENCH_LIFE_MS, now);
		if (err)
			return err;

		key += procs;
		if (key >= b->filled)
			key = p;
	}

	err = bench_ns(&t1);
	if (err)
		return err;

	r->ops = b->sz->ops;
	r->ns  = t1 - t0;

	return 0;
}


/*
 * Keys not in the table, a batch at a time: each batch inserted (timed),
 * then deleted (untimed) so that the fill stays near its level.
 */
static int run_inserts(const struct bench *b, struct sbc_writer *w,
		       uint32_t p, struct bench_result *r)
{
	const uint64_t now = sbc_now_ms();
	const uint32_t first = b->filled + p * b->batch;
	uint64_t t0 = 0, t1 = 0;
	int err;

	for (uint32_t done = 0; done < b->sz->inserts; done += b->batch) {

		err = bench_ns(&t0);
		if (err)
			return err;

		for (uint32_t k = first; k < first + b->batch; k++) {

			err = b->t->put(w, k, k, now + BENCH_LIFE_MS, now);
			if (err)
				return err;
		}

		err = bench_ns(&t1);
		if (err)
			return err;

		r->ops += b->batch;
		r->ns  += t1 - t0;

		for (uint32_t k = first; k < first + b->batch; k++) {

			err = b->t->del(w, k, now);
			if (err)
				return err;
		}
	}

	return 0;
}


static int run_op(const struct bench *b, struct sbc_writer *w, enum bench_op op,
		  uint32_t p, uint32_t procs, struct bench_result *r)
{
	switch (op) {

	case BENCH_LOOKUP: return run_lookups(b, p, procs, r);
	case BENCH_INSERT: return run_inserts(b, w, p, r);
	case BENCH_UPDATE: return run_updates(b, w, p, procs, r);
	default:        return EINVAL;
	}
}


/* A timed child: attach, fault the segment in, wait for the start. */
static int child_main(const struct bench *b, enum bench_op op, uint32_t p,
		      uint32_t procs)
{
	struct bench_result *r = &b->sh->res[p];
	struct sbc_writer *w = NULL;
	int err;

	err = sbc_writer_attach(&w, b->shm, 1 + p);
	if (!err)
		err = sbc_shm_populate(b->shm);

	atomic_fetch_add(&b->sh->ready, 1);

	while (!err && !atomic_load(&b->sh->go))
		sched_yield();

	if (!err)
		err = run_op(b, w, op, p, procs, r);

	r->err = err;
	mem_deref(w);

	return err ? 1 : 0;
}


static int wait_ready(const struct bench *b, uint32_t procs)
{
	uint64_t deadline = sbc_now_ms() + READY_MS;
	struct timespec ts = {0, 1000000};

	while (atomic_load(&b->sh->ready) < procs) {

		if (sbc_now_ms() > deadline)
			return ETIMEDOUT;

		if (nanosleep(&ts, NULL) && errno != EINTR)
			return errno;
	}

	atomic_store(&b->sh->go, 1);

	return 0;
}


/* Reap the children; on a failure, kill the rest first. */
static int reap_children(const struct bench *b, const pid_t *pid,
			 uint32_t procs, bool failed)
{
	int status, err = 0;

	for (uint32_t p = 0; p < procs; p++) {

		if (failed && kill(pid[p], SIGKILL) && errno != ESRCH)
			err = errno;

		while (waitpid(pid[p], &status, 0) < 0) {
			if (errno != EINTR)
				return errno;
		}

		sbc_writer_gone(b->shm, 1 + p);

		if (!WIFEXITED(status) || WEXITSTATUS(status))
			err = b->sh->res[p].err ? b->sh->res[p].err : EPROTO;
	}

	return err;
}


/* Run op in `procs` children at once; *rate is their rates summed. */
int bench_measure(struct bench *b, enum bench_op op, uint32_t procs,
		  double *rate)
{
	pid_t pid[BENCH_PROCS_MAX];
	uint32_t started = 0;
	int err = 0;

	memset(b->sh, 0, sizeof(*b->sh));

	for (; started < procs; started++) {

		pid[started] = fork();
		if (pid[started] < 0) {
			err = errno;
			break;
		}

		if (!pid[started])
			_exit(child_main(b, op, started, procs));
	}

	if (!err)
		err = wait_ready(b, procs);

	if (reap_children(b, pid, started, err != 0) && !err)
		err = EPROTO;
	if (err) {
		fprintf(stderr, "bench_shm: %s %s, %u process(es), %u of %u"
			" keys: %s\n", b->t->name, op_name[op], procs,
			b->filled, b->max, strerror(err));
		return err;
	}

	*rate = 0;
	for (uint32_t p = 0; p < procs; p++)
		*rate += b->sh->res[p].ops * 1e9 / (double)b->sh->res[p].ns;

	return 0;
}
