/*
 * tp_echo: the transport alone, as a SIP echo, for the integration test
 * (tp_test.py).
 *
 *   tp_echo [-w WORKER] [-m MAX] [-i IDLE] [-p PING] [-c CERT -k KEY]
 *           udp:PORT tcp:PORT tls:PORT ws:PORT wss:PORT ...
 *
 * binds each listener on 127.0.0.1 through sbc_tp_alloc() with a config
 * built here, prints "ready PID" once they are bound, and sends every
 * message it receives back where it came from (the same listener or
 * connection). A few headers make it do more:
 *   X-Hold: N    hold the connection for N seconds (sbc_tp_hold)
 *   X-Drain: 1   close the TCP-based listeners (sbc_tp_drain)
 *   X-Stats: 1   answer with the counters instead of the echo
 * It also checks the transport's promises to the core: closeh comes once
 * for a connection recvh saw, never for another, and the connection is no
 * longer alive by then. SIGTERM or SIGINT stop it; it prints the counters
 * last ("stats: ...").
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <re.h>
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/stats.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"

enum {
	LISTENERS_MAX = 16,
	STATS_SIZE = 512,
};

struct echo {
	struct sbc_config cfg;
	struct sbc_listener_conf lsn[LISTENERS_MAX];
	struct sbc_stats *stats;
	struct sbc_tp *tp;
	struct hash *known;        /* connections seen by recvh */
	uint32_t worker;
	unsigned closed;           /* closeh calls */
	unsigned close_errors;     /* closeh broke a promise */
};

struct known {
	struct le he;
	uint64_t conn;
};


static void known_destructor(void *arg)
{
	struct known *k = arg;

	hash_unlink(&k->he);
}


static bool known_cmp(struct le *le, void *arg)
{
	const struct known *k = le->data;

	return k->conn == *(const uint64_t *)arg;
}


static struct known *known_find(const struct echo *e, uint64_t conn)
{
	struct le *le = hash_lookup(e->known, (uint32_t)conn, known_cmp,
				    &conn);

	return le ? le->data : NULL;
}


static void known_add(struct echo *e, uint64_t conn)
{
	struct known *k;

	if (known_find(e, conn))
		return;

	k = mem_zalloc(sizeof(*k), known_destructor);
	if (!k) {
		sbc_error("echo: out of memory");
		return;
	}

	k->conn = conn;
	hash_append(e->known, (uint32_t)conn, &k->he, k);
}


static void stats_reply(struct echo *e, const struct sbc_rx *rx)
{
	char buf[STATS_SIZE];
	int n;

	n = re_snprintf(buf, sizeof(buf),
			"SIP/2.0 200 OK\r\n"
			"X-Stats: rx=%llu tx=%llu too_big=%llu bad=%llu"
			" conns=%u conns_now=%llu closed=%u close_errors=%u\r\n"
			"Content-Length: 0\r\n\r\n",
			sbc_stats_get(e->stats, e->worker, SBC_STAT_RX),
			sbc_stats_get(e->stats, e->worker, SBC_STAT_TX),
			sbc_stats_get(e->stats, e->worker, SBC_STAT_RX_TOO_BIG),
			sbc_stats_get(e->stats, e->worker, SBC_STAT_RX_BAD),
			sbc_tp_conn_count(e->tp),
			sbc_stats_get(e->stats, e->worker, SBC_STAT_CONNS_NOW),
			e->closed, e->close_errors);
	if (n < 0)
		return;

	(void)sbc_tp_send(e->tp, rx->listener, rx->conn, &rx->src,
			  (const uint8_t *)buf, (size_t)n);
}


static void recv_h(const struct sbc_rx *rx, void *arg)
{
	struct echo *e = arg;
	struct pl val;
	int err;

	if (rx->conn)
		known_add(e, rx->conn);

	if (!re_regex((const char *)rx->buf, rx->len, "X-Hold:[ ]*[0-9]+", NULL,
		      &val))
		sbc_tp_hold(e->tp, rx->conn,
			    sbc_now_ms() + (uint64_t)pl_u32(&val) * 1000);

	if (!re_regex((const char *)rx->buf, rx->len, "X-Drain:", NULL))
		sbc_tp_drain(e->tp);

	if (!re_regex((const char *)rx->buf, rx->len, "X-Stats:", NULL)) {
		stats_reply(e, rx);
		return;
	}

	err = sbc_tp_send(e->tp, rx->listener, rx->conn, &rx->src, rx->buf,
			  rx->len);
	if (err)
		sbc_info("echo: cannot send back to %J: %m", &rx->src, err);
}


static void close_h(uint64_t conn, void *arg)
{
	struct echo *e = arg;
	struct known *k = known_find(e, conn);

	++e->closed;

	if (!k || sbc_tp_conn_alive(e->tp, conn)) {
		sbc_error("echo: closeh broke a promise for conn %llx", conn);
		++e->close_errors;
	}

	mem_deref(k);
}


static int listener_add(struct echo *e, const char *arg)
{
	static const struct {
		const char *name;
		enum sbc_transport tp;
	} kinds[] = {
		{"udp", SBC_TP_UDP}, {"tcp", SBC_TP_TCP}, {"tls", SBC_TP_TLS},
		{"ws", SBC_TP_WS}, {"wss", SBC_TP_WSS},
	};
	struct sbc_listener_conf *l = &e->lsn[e->cfg.listener_count];
	const char *colon = strchr(arg, ':');
	size_t i;

	if (!colon || e->cfg.listener_count >= LISTENERS_MAX)
		return EINVAL;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strlen(kinds[i].name) == (size_t)(colon - arg) &&
		    !strncmp(arg, kinds[i].name, (size_t)(colon - arg)))
			break;
	}
	if (i == ARRAY_SIZE(kinds))
		return EINVAL;

	l->side = SBC_SIDE_ACCESS;
	l->transport = kinds[i].tp;
	l->name = (char *)arg;
	if (sa_set_str(&l->addr, "127.0.0.1", (uint16_t)atoi(colon + 1)))
		return EINVAL;

	++e->cfg.listener_count;
	return 0;
}


static int args_parse(struct echo *e, int argc, char *argv[])
{
	int c, i;

	e->cfg.workers = 1;
	e->cfg.max_message = 4096;
	e->cfg.idle_timeout = 2;
	e->cfg.ws_ping_interval = 1;
	e->cfg.listeners = e->lsn;

	while ((c = getopt(argc, argv, "w:m:i:p:c:k:")) != -1) {
		switch (c) {

		case 'w': e->worker = (uint32_t)atoi(optarg); break;
		case 'm': e->cfg.max_message = (uint32_t)atoi(optarg); break;
		case 'i': e->cfg.idle_timeout = (uint32_t)atoi(optarg); break;
		case 'p': e->cfg.ws_ping_interval = (uint32_t)atoi(optarg);
			  break;
		case 'c': e->cfg.tls_certificate = optarg; break;
		case 'k': e->cfg.tls_key = optarg; break;
		default:  return EINVAL;
		}
	}

	for (i = optind; i < argc; i++) {
		if (listener_add(e, argv[i])) {
			fprintf(stderr, "tp_echo: bad listener %s\n", argv[i]);
			return EINVAL;
		}
	}

	return e->cfg.listener_count ? 0 : EINVAL;
}


/* libre's loop watches fds below fd_setsize(): raise it to the fd limit,
 * as the worker does (an unlimited one is taken as 2^20). */
static int loop_init(void)
{
	const rlim_t most = 1 << 20;
	struct rlimit rl;
	int err;

	err = libre_init();
	if (err)
		return err;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return errno;

	return fd_setsize((int)(rl.rlim_cur > most ? most : rl.rlim_cur));
}


static void signal_h(int sig)
{
	(void)sig;

	re_cancel();
}


static int echo_run(struct echo *e)
{
	int err;

	err = hash_alloc(&e->known, 256);
	if (!err)
		err = sbc_stats_create(&e->stats, e->worker + 1);
	if (!err)
		err = sbc_tp_alloc(&e->tp, &e->cfg, e->worker, 1, e->stats,
				   recv_h, close_h, e);
	if (err) {
		sbc_error("tp_echo: cannot start: %m", err);
		return err;
	}

	printf("ready %d\n", (int)getpid());
	fflush(stdout);

	err = re_main(signal_h);

	printf("stats: rx=%llu too_big=%llu bad=%llu closed=%u"
	       " close_errors=%u\n",
	       (unsigned long long)sbc_stats_get(e->stats, e->worker,
						 SBC_STAT_RX),
	       (unsigned long long)sbc_stats_get(e->stats, e->worker,
						 SBC_STAT_RX_TOO_BIG),
	       (unsigned long long)sbc_stats_get(e->stats, e->worker,
						 SBC_STAT_RX_BAD),
	       e->closed, e->close_errors);
	fflush(stdout);

	return err;
}


int main(int argc, char *argv[])
{
	struct echo e;
	int err;

	memset(&e, 0, sizeof(e));

	if (args_parse(&e, argc, argv)) {
		fprintf(stderr, "usage: tp_echo [-w WORKER] [-m MAX] [-i IDLE]"
			" [-p PING] [-c CERT -k KEY] KIND:PORT...\n");
		return 2;
	}

	sbc_log_init("tp_echo", e.worker, SBC_LOG_DEBUG);

	err = loop_init();
	if (!err)
		err = echo_run(&e);

	e.tp = mem_deref(e.tp);
	hash_flush(e.known);
	mem_deref(e.known);
	mem_deref(e.stats);
	libre_close();

	return err ? 1 : 0;
}
