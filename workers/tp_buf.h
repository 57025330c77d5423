/*
 * A connection's byte queue: what was read and not yet cut into
 * messages, or what was queued and not yet written.
 *
 * Bytes are appended at the tail and consumed at the head. The storage
 * grows on demand up to a fixed bound, so a peer can never make a
 * connection hold more than that; an empty queue gives large storage back,
 * so thousands of idle connections cost little memory.
 */

struct tp_buf {
	uint8_t *p;
	size_t head;     /* first pending byte */
	size_t tail;     /* one past the last */
	size_t size;     /* storage allocated */
	size_t max;      /* most pending bytes allowed */
};

void tp_buf_init(struct tp_buf *b, size_t max);
void tp_buf_reset(struct tp_buf *b);
int  tp_buf_space(struct tp_buf *b, size_t want, uint8_t **pp,
		  size_t *roomp);
void tp_buf_fill(struct tp_buf *b, size_t n);
int  tp_buf_append(struct tp_buf *b, const void *p, size_t n);
void tp_buf_drop(struct tp_buf *b, size_t n);


static inline uint8_t *tp_buf_data(const struct tp_buf *b)
{
	return b->p ? b->p + b->head : NULL;
}


static inline size_t tp_buf_len(const struct tp_buf *b)
{
	return b->tail - b->head;
}
