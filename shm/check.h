/*
 * The consistency checker and the maintenance sweep.
 *
 * Both are run by one process only, the supervisor (tests stand in for it):
 * the sweep's tombstone compaction relies on there being a single compactor.
 *
 * The checker walks the whole segment. It settles the count of the last
 * change of each dead writer, and reclaims the slots a dead writer left
 * half-written; it must run between a writer's death and the start of its
 * replacement. A live record that is unreachable from its home
 * slot, or a second copy of a key, would be a bug in the tables: it is
 * counted as an error and repaired, so the table keeps serving.
 */

struct sbc_writer;

struct sbc_check_report {
	uint32_t live;        /* visible records */
	uint32_t expired;     /* records past their expiry, not yet swept */
	uint32_t tombs;
	uint32_t busy;        /* being written by a live writer */
	uint32_t reclaimed;   /* half-written by a dead writer: reclaimed */
	uint32_t unsettled;   /* a dead writer's last change, count unknown */
	uint32_t errors;      /* bad state, unreachable or duplicate: repaired */
};

struct sbc_sweep_report {
	uint32_t scanned;
	uint32_t expired;     /* live records past their expiry, removed */
	uint32_t compacted;   /* tombstones turned back into free slots */
};

int sbc_shm_check(struct sbc_writer *w, struct sbc_check_report *rep);
int sbc_shm_sweep(struct sbc_writer *w, enum sbc_tbl tbl, uint64_t now,
		  uint32_t budget, struct sbc_sweep_report *rep);
