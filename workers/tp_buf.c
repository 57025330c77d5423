/*
 * Bounded byte queues (see tp_buf.h).
 *
 * Pending bytes move to the front of the storage before it grows, so the
 * storage never exceeds the bound however the peer paces its bytes; it
 * doubles when it grows, so a slow trickle costs few reallocations.
 */

#include <string.h>
#include <re.h>
#include "workers/tp_buf.h"

enum {
	TP_BUF_MIN  = 2048,     /* first allocation */
	TP_BUF_KEEP = 16384,    /* storage an empty queue keeps */
};


void tp_buf_init(struct tp_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}


/* Release the storage and every pending byte. */
void tp_buf_reset(struct tp_buf *b)
{
	b->p = mem_deref(b->p);
	b->head = b->tail = b->size = 0;
}


/* Make the storage hold at least need bytes from its start. */
static int buf_grow(struct tp_buf *b, size_t need)
{
	size_t size = b->size ? b->size : TP_BUF_MIN;
	uint8_t *p;

	while (size < need)
		size *= 2;
	if (size > b->max)
		size = b->max;

	p = mem_reallocarray(b->p, size, 1, NULL);
	if (!p)
		return ENOMEM;

	b->p = p;
	b->size = size;
	return 0;
}


/*
 * Room to write at the tail: *pp and *roomp, at least one byte and at most
 * want (less when the bound is near). ENOSPC when the queue holds max
 * bytes already. Commit what was written with tp_buf_fill().
 */
int tp_buf_space(struct tp_buf *b, size_t want, uint8_t **pp, size_t *roomp)
{
	size_t len = tp_buf_len(b), need;
	int err;

	if (len >= b->max || !want)
		return ENOSPC;

	need = want < b->max - len ? len + want : b->max;

	if (b->tail + (need - len) > b->size && b->head) {
		memmove(b->p, b->p + b->head, len);
		b->head = 0;
		b->tail = len;
	}

	if (need > b->size) {
		err = buf_grow(b, need);
		if (err)
			return err;
	}

	*pp = b->p + b->tail;
	*roomp = b->size - b->tail;
	if (*roomp > want)
		*roomp = want;

	return 0;
}


void tp_buf_fill(struct tp_buf *b, size_t n)
{
	b->tail += n;
}


/* Queue n bytes; ENOBUFS if that would pass the bound (nothing queued). */
int tp_buf_append(struct tp_buf *b, const void *p, size_t n)
{
	uint8_t *dst;
	size_t room;
	int err;

	if (n > b->max - tp_buf_len(b))
		return ENOBUFS;

	if (!n)
		return 0;

	err = tp_buf_space(b, n, &dst, &room);
	if (err)
		return err;

	memcpy(dst, p, n);
	tp_buf_fill(b, n);

	return 0;
}


/* Consume n bytes at the head (n at most the pending length). */
void tp_buf_drop(struct tp_buf *b, size_t n)
{
	if (n > tp_buf_len(b))
		n = tp_buf_len(b);

	b->head += n;
	if (b->head < b->tail)
		return;

	b->head = b->tail = 0;
	if (b->size > TP_BUF_KEEP)
		tp_buf_reset(b);
}
