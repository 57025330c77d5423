/*
 * Transaction timers in O(1), private to workers/ (see timer.c).
 */

struct timer_queue;

typedef void (sbc_timer_h)(void *arg);

struct sbc_timer {
	struct le le;                /* in its queue */
	uint64_t due;                /* tmr_jiffies() when it fires */
	sbc_timer_h *h;              /* NULL when not running */
	void *arg;
	struct timer_queue *q;
	struct tmr fallback;         /* when every queue is taken */
};

void sbc_timer_init(struct sbc_timer *t);
void sbc_timer_start(struct sbc_timer *t, uint64_t delay, sbc_timer_h *h,
		     void *arg);
void sbc_timer_cancel(struct sbc_timer *t);
bool sbc_timer_running(const struct sbc_timer *t);
void sbc_timer_close(void);
