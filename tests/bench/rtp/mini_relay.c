/*
 * mini_relay: the yardstick of the RTP relay benchmark — what a plain,
 * minimal UDP relay costs on this machine.
 *
 * One thread, one level-triggered epoll, two sockets per pair of ports.
 * What arrives on port X of a pair (recvmmsg, a batch at a time) goes out
 * of port Y (sendmmsg) to the address last seen sending to Y, and the
 * other way round; the sender's address is latched on every batch.
 * Packets for a side that has not sent anything yet are dropped. Nothing
 * else: no parsing, no timers, no statistics per packet beyond counts.
 *
 *	mini_relay [-a ADDR] [-f PAIRS_FILE] [-T SECONDS] [X Y]...
 *
 * PAIRS_FILE: one pair "X Y" per line. It prints "ready N" on stdout once
 * every port is bound, and the counts on stderr when SIGTERM or SIGINT
 * ends it, or after SECONDS (default 3600): it never outlives a run.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>


enum {
	BATCH  = 64,
	EVENTS = 256,
	BUF    = 2048,
};

struct side {
	int fd;
	uint16_t port;
	bool latched;
	struct sockaddr_in peer;  /* who last sent to this port */
};

static volatile sig_atomic_t quit;


static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}


/* Appends a pair of ports to *sides (two entries). Returns 0 or errno. */
static int pair_add(struct side **sides, uint32_t *n, uint32_t *cap,
		    unsigned x, unsigned y)
{
	if (!x || !y || x > 65535 || y > 65535 || x == y)
		return EINVAL;
	if (*n + 2 > *cap) {
		const uint32_t ncap = *cap ? *cap * 2 : 256;
		struct side *s = realloc(*sides, ncap * sizeof(*s));

		if (!s)
			return ENOMEM;
		*sides = s;
		*cap = ncap;
	}
	memset(&(*sides)[*n], 0, 2 * sizeof(**sides));
	(*sides)[*n].port = (uint16_t)x;
	(*sides)[*n + 1].port = (uint16_t)y;
	*n += 2;
	return 0;
}


static int pairs_read(const char *path, struct side **sides, uint32_t *n,
		      uint32_t *cap)
{
	char line[128];
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return errno;
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned x, y;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%u %u", &x, &y) != 2)
			err = EBADMSG;
		else
			err = pair_add(sides, n, cap, x, y);
	}
	fclose(f);
	return err;
}


/* Binds side i to addr:port and adds it to the epoll set. */
static int side_open(struct side *s, uint32_t i, struct in_addr addr,
		     int ep)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = addr,
				 .sin_port = htons(s->port)};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return errno;
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev))
		return errno;
	return 0;
}


int main(int argc, char *argv[])
{
	static uint8_t buf[BATCH][BUF];
	static struct sockaddr_in from[BATCH];
	static struct mmsghdr in[BATCH], out[BATCH];
	static struct iovec iov[BATCH], oiov[BATCH];
	struct epoll_event ev[EVENTS];
	struct side *sides = NULL;
	uint32_t n = 0, cap = 0;
	struct in_addr addr = {htonl(INADDR_LOOPBACK)};
	uint64_t fwd = 0, drop = 0;
	unsigned lifetime = 3600;
	struct sigaction sa = {.sa_handler = on_signal};
	int ep, c, err = 0;

	while ((c = getopt(argc, argv, "a:f:T:h")) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &addr) != 1)
				err = EINVAL;
			break;
		case 'f':
			err = pairs_read(optarg, &sides, &n, &cap);
			break;
		case 'T':
			lifetime = (unsigned)atoi(optarg);
			break;
		default:
			err = EINVAL;
		}
		if (err)
			break;
	}
	for (int i = optind; !err && i + 1 < argc; i += 2)
		err = pair_add(&sides, &n, &cap, (unsigned)atoi(argv[i]),
			       (unsigned)atoi(argv[i + 1]));
	if (err || !n || (argc - optind) % 2) {
		fprintf(stderr, "usage: mini_relay [-a ADDR] [-f PAIRS_FILE] "
			"[-T SECONDS] [X Y]...%s%s\n", err ? ": " : "",
			err ? strerror(err) : "");
		return 2;
	}

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	alarm(lifetime);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("mini_relay: epoll_create1");
		return 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		err = side_open(&sides[i], i, addr, ep);
		if (err) {
			fprintf(stderr, "mini_relay: port %u: %s\n",
				sides[i].port, strerror(err));
			return 1;
		}
	}

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){buf[i], BUF};
		in[i].msg_hdr = (struct msghdr){
			.msg_name = &from[i], .msg_iov = &iov[i],
			.msg_iovlen = 1};
		oiov[i].iov_base = buf[i];
		out[i].msg_hdr = (struct msghdr){
			.msg_iov = &oiov[i], .msg_iovlen = 1};
	}
	printf("ready %u\n", n / 2);
	fflush(stdout);

	while (!quit) {
		const int nev = epoll_wait(ep, ev, EVENTS, -1);

		for (int e = 0; e < nev; e++) {
			struct side *x = &sides[ev[e].data.u32];
			struct side *y = &sides[ev[e].data.u32 ^ 1];
			int got, sent = 0;

			for (int i = 0; i < BATCH; i++)
				in[i].msg_hdr.msg_namelen = sizeof(from[i]);
			got = recvmmsg(x->fd, in, BATCH, MSG_DONTWAIT, NULL);
			if (got <= 0)
				continue;

			x->peer = from[got - 1];
			x->latched = true;
			if (!y->latched) {
				drop += (uint64_t)got;
				continue;
			}
			for (int i = 0; i < got; i++) {
				oiov[i].iov_len = in[i].msg_len;
				out[i].msg_hdr.msg_name = &y->peer;
				out[i].msg_hdr.msg_namelen = sizeof(y->peer);
			}
			while (sent < got) {
				const int r = sendmmsg(y->fd, out + sent,
						       (unsigned)(got - sent),
						       0);
				if (r < 0) {
					if (errno == EINTR)
						continue;
					++drop;
					++sent;
					continue;
				}
				sent += r;
				fwd += (uint64_t)r;
			}
		}
	}

	fprintf(stderr, "mini_relay: %u pairs, %" PRIu64 " forwarded, %"
		PRIu64 " dropped\n", n / 2, fwd, drop);
	return 0;
}
