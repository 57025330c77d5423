/*
 * Writer registration.
 *
 * Each writing process holds one writer index: its pid is stored in that
 * index's block, its index is stamped into every slot it owns while writing.
 * When the supervisor reaps a dead child it declares the index gone
 * (sbc_writer_gone) and runs the checker, which then knows every slot still
 * stamped with that index was left half-written. A pid that no longer
 * exists counts as gone too, for a writer whose death nobody reported.
 */

#include <signal.h>
#include <unistd.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/ring.h"
#include "shm/layout.h"
#include "shm/handle.h"


static bool pid_exists(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}


static void writer_destructor(void *arg)
{
	struct sbc_writer *w = arg;
	int32_t pid = w->pid;

	/* a forked child holding its parent's handle must not release it */
	if (pid == getpid())
		atomic_compare_exchange_strong(&w->blk->pid, &pid, 0);
}


/* Take writer index `index` for this process; EBUSY if a live one has it. */
int sbc_writer_attach(struct sbc_writer **wp, struct sbc_shm *shm,
		      uint32_t index)
{
	struct sbc_writer *w;
	struct sbc_wblk *blk;
	int32_t old, pid = getpid();

	if (!wp || !shm || index >= sbc_shm_writers(shm))
		return EINVAL;

	blk = sbc_shm_wblk(shm, index);
	old = atomic_load(&blk->pid);
	if (pid_exists(old))
		return EBUSY;

	if (!atomic_compare_exchange_strong(&blk->pid, &old, pid))
		return EBUSY;

	w = mem_zalloc(sizeof(*w), writer_destructor);
	if (!w) {
		atomic_store(&blk->pid, 0);
		return ENOMEM;
	}

	w->shm   = shm;
	w->blk   = blk;
	w->index = index;
	w->pid   = pid;
	sbc_count_resume(w);

	*wp = w;

	return 0;
}


/* The supervisor reaped the process holding `index`. */
void sbc_writer_gone(struct sbc_shm *shm, uint32_t index)
{
	if (shm && index < sbc_shm_writers(shm))
		atomic_store(&sbc_shm_wblk(shm, index)->pid, 0);
}


bool sbc_writer_alive(const struct sbc_shm *shm, uint32_t index)
{
	if (!shm || index >= sbc_shm_writers(shm))
		return false;

	return pid_exists(atomic_load(&sbc_shm_wblk(shm, index)->pid));
}


uint32_t sbc_writer_index(const struct sbc_writer *w)
{
	return w ? w->index : 0;
}
