/*
 * Seals, facts and notes of the stress test.
 *
 * A seal is the last string field of a record: "w<writer> g<gen> s<seq>
 * <hash>", the hash taken over every other field. The writer computes it
 * before the put; every reader recomputes it over the copy the table gave
 * back. A record torn between two writes hashes to something else.
 *
 * A fact is what one worker knows of one key (see stress.h); a read is held
 * against it. A note is the one-line account of the first check that
 * failed in this process; the worker hands it to the parent, which prints it.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/ring.h"
#include "tests/stress/stress.h"


static char note[STRESS_NOTE_SIZE];


void stress_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
}


const char *stress_noted(void)
{
	return note;
}


uint64_t stress_hash(uint64_t h, const void *p, size_t n)
{
	return XXH3_64bits_withSeed(p, n, h);
}


/* Hash a string field up to its NUL: the bytes after it are not data. */
uint64_t stress_hash_str(uint64_t h, const char *field, size_t size)
{
	return stress_hash(h, field, strnlen(field, size));
}


int stress_seal_write(char *field, size_t size, const struct stress_tag *tag,
		      uint64_t hash)
{
	char seal[64];

	(void)snprintf(seal, sizeof(seal), "w%" PRIu32 " g%" PRIu32
		       " s%" PRIu32 " %016" PRIx64,
		       tag->writer, tag->gen, tag->seq, hash);

	return sbc_field_set_str(field, size, seal);
}


/*
 * Check a record's seal against the hash of its other fields, and that the
 * table did not show a record past its expiry. On success fills tag.
 */
int stress_seal_check(const char *field, size_t size, uint64_t hash,
		      uint64_t expires, uint64_t now, struct stress_tag *tag)
{
	uint64_t sealed;
	int end = 0;

	if (!sbc_field_valid(field, size)) {
		stress_note("torn record: seal without its NUL");
		return EBADMSG;
	}

	if (sscanf(field, "w%" SCNu32 " g%" SCNu32 " s%" SCNu32 " %16" SCNx64
		   "%n", &tag->writer, &tag->gen, &tag->seq, &sealed,
		   &end) != 4 || field[end]) {
		stress_note("torn record: unreadable seal '%.64s'", field);
		return EBADMSG;
	}

	if (sealed != hash) {
		stress_note("torn record: seal w%u g%u s%u says %016" PRIx64
			    ", fields hash to %016" PRIx64,
			    tag->writer, tag->gen, tag->seq, sealed, hash);
		return EBADMSG;
	}

	if (tag->writer < 1 || tag->writer > STRESS_WORKERS) {
		stress_note("record sealed by writer %u, not a worker",
			    tag->writer);
		return EBADMSG;
	}

	if (expires < now) {
		stress_note("record w%u g%u s%u shown %" PRIu64 " ms past its"
			    " expiry", tag->writer, tag->gen, tag->seq,
			    now - expires);
		return EBADMSG;
	}

	tag->expires = expires;

	return 0;
}


/*
 * Place a record a lookup returned among the members of its group. It must
 * belong to the group, and come only once: the table drops a key its walk
 * met twice (deleted behind it, written again ahead of it).
 */
int stress_collect(const struct stress_table *t, uint32_t group,
		   uint32_t key, const struct stress_tag *tag,
		   struct stress_tag *tagv)
{
	struct stress_tag *slot = &tagv[key % t->group];

	if (key / t->group != group) {
		stress_note("%s lookup of group %u returned key %u",
			    t->name, group, key);
		return EBADMSG;
	}

	if (slot->writer) {
		stress_note("%s lookup of group %u returned key %u twice"
			    " (w%u g%u s%u and w%u g%u s%u)", t->name, group,
			    key, slot->writer, slot->gen, slot->seq,
			    tag->writer, tag->gen, tag->seq);
		return EBADMSG;
	}

	*slot = *tag;

	return 0;
}


void stress_fact_set(struct stress_fact *f, const struct stress_tag *tag)
{
	f->expires = tag->expires;
	f->writer  = tag->writer;
	f->gen     = tag->gen;
	f->seq     = tag->seq;
	f->state   = STRESS_PRESENT;
}


void stress_fact_absent(struct stress_fact *f, uint32_t writer, uint32_t gen)
{
	f->expires = 0;
	f->writer  = writer;
	f->gen     = gen;
	f->seq     = 0;
	f->state   = STRESS_ABSENT;
}


/*
 * Whether a read (err 0 with tag, or ENOENT) agrees with a fact about a
 * key no one else writes. A present record may read ENOENT only once it has
 * expired, `after` being a time taken once the read returned.
 */
bool stress_fact_holds(const struct stress_fact *f, int err,
		       const struct stress_tag *tag, uint64_t after)
{
	switch (f->state) {

	case STRESS_PRESENT:
		if (err)
			return err == ENOENT && f->expires <= after;

		return tag->writer == f->writer && tag->gen == f->gen &&
			tag->seq == f->seq && tag->expires == f->expires;

	case STRESS_ABSENT:
		return err == ENOENT;

	default:
		return true;
	}
}


void stress_note_mismatch(const char *what, const struct stress_table *t,
			  uint32_t key, int err, const struct stress_tag *tag,
			  const struct stress_fact *f, uint64_t now)
{
	static const char *const state[] = {"unknown", "absent", "present"};
	char seen[96];

	if (err)
		(void)snprintf(seen, sizeof(seen), "%s", strerror(err));
	else
		(void)snprintf(seen, sizeof(seen), "w%u g%u s%u expiring in"
			       " %" PRId64 " ms", tag->writer, tag->gen,
			       tag->seq, (int64_t)(tag->expires - now));

	stress_note("%s: %s key %u reads %s, but the last write was %s"
		    " w%u g%u s%u expiring in %" PRId64 " ms", what, t->name,
		    key, seen, state[f->state % 3], f->writer, f->gen, f->seq,
		    f->state == STRESS_PRESENT ?
		    (int64_t)(f->expires - now) : 0);
}
