/*
 * Transaction timers in O(1).
 *
 * libre 1.1.0 keeps its timers in one sorted list and inserts by walking
 * it. A proxy at thousands of calls per second holds hundreds of
 * thousands of timers (every answered INVITE lingers 64*T1), and a short
 * retransmission timer inserted behind all of them costs a walk over all
 * of them. But a transaction uses only a few distinct durations (T1 and
 * its doublings, T2, 64*T1, Timer C, the lingers), and timers of the same
 * duration expire in the order they were started. So each duration gets a
 * FIFO queue, and only the head of each queue is a libre timer: starting
 * and cancelling a timer is a list append and unlink.
 *
 * The queues belong to the process, as libre's timer list does: one
 * worker, one event loop.
 */

#include <re.h>
#include "workers/timer.h"

enum {
	QUEUES_MAX = 32,   /* distinct durations; more fall back to libre */
};

struct timer_queue {
	uint64_t delay;
	struct list timers;      /* struct sbc_timer, oldest first */
	struct tmr tmr;          /* armed for the head */
};

static struct timer_queue queues[QUEUES_MAX];
static unsigned queue_count;


static void queue_arm(struct timer_queue *q);


static void queue_handler(void *arg)
{
	struct timer_queue *q = arg;
	uint64_t now = tmr_jiffies();
	struct le *le;

	/* fire what is due; a handler may start or cancel any timer */
	while ((le = list_head(&q->timers)) != NULL) {
		struct sbc_timer *t = le->data;
		sbc_timer_h *h = t->h;

		if (t->due > now)
			break;

		list_unlink(&t->le);
		t->h = NULL;
		t->q = NULL;
		h(t->arg);
	}

	queue_arm(q);
}


static void queue_arm(struct timer_queue *q)
{
	struct le *le = list_head(&q->timers);
	uint64_t now;

	if (!le) {
		tmr_cancel(&q->tmr);
		return;
	}

	now = tmr_jiffies();
	tmr_start(&q->tmr, ((struct sbc_timer *)le->data)->due > now ?
		  ((struct sbc_timer *)le->data)->due - now : 0,
		  queue_handler, q);
}


static struct timer_queue *queue_get(uint64_t delay)
{
	for (unsigned i = 0; i < queue_count; i++) {
		if (queues[i].delay == delay)
			return &queues[i];
	}

	if (queue_count == QUEUES_MAX) {
		/* an idle queue of a duration used once (a dialog's
		 * remaining time) serves the new one */
		for (unsigned i = 0; i < queue_count; i++) {
			if (list_isempty(&queues[i].timers)) {
				queues[i].delay = delay;
				return &queues[i];
			}
		}
		return NULL;
	}

	queues[queue_count].delay = delay;
	list_init(&queues[queue_count].timers);
	tmr_init(&queues[queue_count].tmr);

	return &queues[queue_count++];
}


static void libre_handler(void *arg)
{
	struct sbc_timer *t = arg;
	sbc_timer_h *h = t->h;

	t->h = NULL;
	h(t->arg);
}


void sbc_timer_init(struct sbc_timer *t)
{
	t->h = NULL;
	t->q = NULL;
	tmr_init(&t->fallback);
}


/* Start (or restart) t: h(arg) runs after delay ms, from the loop. */
void sbc_timer_start(struct sbc_timer *t, uint64_t delay, sbc_timer_h *h,
		     void *arg)
{
	struct timer_queue *q;

	sbc_timer_cancel(t);

	if (!h)
		return;

	t->h   = h;
	t->arg = arg;
	t->due = tmr_jiffies() + delay;

	q = queue_get(delay);
	if (!q) {
		tmr_start(&t->fallback, delay, libre_handler, t);
		return;
	}

	t->q = q;
	list_append(&q->timers, &t->le, t);
	if (list_head(&q->timers) == &t->le)
		queue_arm(q);
}


void sbc_timer_cancel(struct sbc_timer *t)
{
	struct timer_queue *q = t->q;

	tmr_cancel(&t->fallback);

	if (t->h && q) {
		bool head = list_head(&q->timers) == &t->le;

		list_unlink(&t->le);
		if (head)
			queue_arm(q);
	}

	t->h = NULL;
	t->q = NULL;
}


bool sbc_timer_running(const struct sbc_timer *t)
{
	return t->h != NULL;
}


/* The worker is exiting: no queue keeps a libre timer. */
void sbc_timer_close(void)
{
	for (unsigned i = 0; i < queue_count; i++)
		tmr_cancel(&queues[i].tmr);

	queue_count = 0;
}
