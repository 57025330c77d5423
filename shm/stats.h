/*
 * Per-worker counters, shared so the supervisor and sbcctl can read them.
 *
 * A second small memfd beside the segment: one row of counters per worker,
 * each row written only by its worker (relaxed atomics, no contention),
 * read by anyone. Counters are cumulative across a worker's restarts;
 * gauges (the _NOW ones) are reset by the worker when it starts. Each row
 * also holds its worker's heartbeat, written every 200 ms by its loop.
 */

enum sbc_stat {
	SBC_STAT_RX = 0,          /* SIP messages read from the network */
	SBC_STAT_TX,              /* SIP messages sent */
	SBC_STAT_RX_BAD,          /* unparseable, answered 400 or dropped */
	SBC_STAT_RX_TOO_BIG,      /* over sip.max_message_size, dropped */
	SBC_STAT_HANDOVER_OUT,    /* messages passed to their Call-ID owner */
	SBC_STAT_HANDOVER_IN,     /* messages received from other workers */
	SBC_STAT_HANDOVER_LOST,   /* hand-overs refused by a full mailbox */
	SBC_STAT_REGISTERED,      /* bindings saved on a backend's 2xx */
	SBC_STAT_UNREGISTERED,    /* bindings removed (expires 0 or closed) */
	SBC_STAT_CALLS,           /* initial INVITEs proxied */
	SBC_STAT_CONNS_NOW,       /* open TCP/TLS/WS connections (gauge) */
	SBC_STAT_TXNS_NOW,        /* live proxy transactions (gauge) */
	SBC_STAT_DIALOGS_NOW,     /* dialogs tracked, not ended (gauge) */
	SBC_STAT_DIALOGS_FULL,    /* INVITEs refused: dialog table full */
	SBC_STAT_COUNT
};

struct sbc_stats;

int  sbc_stats_create(struct sbc_stats **statsp, uint32_t workers);
int  sbc_stats_attach(struct sbc_stats **statsp, int fd);
int  sbc_stats_fd(const struct sbc_stats *stats);
uint32_t sbc_stats_workers(const struct sbc_stats *stats);
void sbc_stats_add(struct sbc_stats *stats, uint32_t worker,
		   enum sbc_stat stat, int64_t delta);
void sbc_stats_set(struct sbc_stats *stats, uint32_t worker,
		   enum sbc_stat stat, uint64_t value);
uint64_t sbc_stats_get(const struct sbc_stats *stats, uint32_t worker,
		       enum sbc_stat stat);
const char *sbc_stats_name(enum sbc_stat stat);
void sbc_stats_beat(struct sbc_stats *stats, uint32_t worker, uint64_t now);
uint64_t sbc_stats_last_beat(const struct sbc_stats *stats, uint32_t worker);
