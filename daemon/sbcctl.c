/*
 * sbcctl: the command line client of sbcd's control socket.
 *
 *   sbcctl [-s SOCKET | -c CONFIG] [--json] status|workers|
 *          registrations [AOR]|dialogs|dialog end CALL-ID|backends|
 *          health|reload
 *
 * The socket is the one given with -s, else control.socket of the config
 * file given with -c, else the built-in default. sbcctl sends one request
 * line, prints the answer's body on stdout and exits 0, or prints the
 * error on stderr and exits 1 (a note on a partial answer goes to stderr
 * too, with exit 0). The protocol is in daemon/control.h.
 *
 * `health` is for keepalived's track_script, run every second: it waits
 * at most HEALTH_TIMEOUT_MS for sbcd, and a supervisor that does not answer
 * in that time is unhealthy.
 */

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"

enum {
	EXIT_USAGE = 2,
	TIMEOUT_MS = 30000,              /* for each read of the answer */
	HEALTH_TIMEOUT_MS = 800,         /* for the whole health answer */
	ANSWER_MAX = 256 * 1024 * 1024,  /* bytes kept of an answer */
	REQ_SIZE = 512,
};


static void usage(FILE *out)
{
	(void)re_fprintf(out,
		"usage: sbcctl [-s SOCKET | -c CONFIG] [--json] COMMAND\n"
		"  -s SOCKET  sbcd's control socket\n"
		"  -c CONFIG  the config file whose control.socket to use\n"
		"             (default: the built-in control.socket)\n"
		"  -j, --json answer in JSON\n"
		"  -h, --help print this help and exit\n"
		"commands:\n"
		"  status               version, uptime, workers, relays,"
		" listeners, backends\n"
		"  workers              each worker's state and counters\n"
		"  registrations [AOR]  live bindings, all or one AOR's\n"
		"  dialogs              calls: state, age, legs, last pings\n"
		"  dialog end CALL-ID   end a call: BYE to both legs\n"
		"  backends             each backend: state, calls, probes\n"
		"  media                media sessions: each side's addresses"
		" and counters\n"
		"  health               exit 0 if sbcd is healthy, else 1 "
		"and why\n"
		"  reload               re-read the configuration file\n");
}


/* The socket path from -c CONFIG, or the built-in default (NULL path). */
static int socket_from_config(char **sockp, const char *path)
{
	struct sbc_config *cfg = NULL;
	char errbuf[SBC_CONFIG_ERR_SIZE];
	int err;

	err = sbc_config_load(&cfg, path, errbuf, sizeof(errbuf));
	if (err) {
		(void)re_fprintf(stderr, "sbcctl: %s\n", errbuf);
		return err;
	}

	if (!cfg->control_socket) {
		(void)re_fprintf(stderr, "sbcctl: %s sets no control "
				 "socket\n", path ? path : "the default "
				 "configuration");
		err = ENOENT;
	}
	else {
		err = str_dup(sockp, cfg->control_socket);
	}

	mem_deref(cfg);

	return err;
}


static int request_build(char *req, size_t size, int argc, char *argv[],
			 bool json)
{
	const char *cmd = argv[0];
	const char *arg = argc > 1 ? argv[1] : NULL;
	bool known = !strcmp(cmd, "status") || !strcmp(cmd, "workers") ||
		!strcmp(cmd, "registrations") || !strcmp(cmd, "reload") ||
		!strcmp(cmd, "dialogs") || !strcmp(cmd, "backends") ||
		!strcmp(cmd, "health") || !strcmp(cmd, "media");

	if (!strcmp(cmd, "dialog")) {
		/* the only two-word command: "dialog end CALL-ID" */
		if (argc != 3 || strcmp(argv[1], "end") ||
		    strpbrk(argv[2], " \t\r\n"))
			return EINVAL;
		return re_snprintf(req, size, "dialog end %s%s\n", argv[2],
				   json ? " json" : "") < 0 ? EINVAL : 0;
	}

	if (!known || argc > 2 ||
	    (arg && strcmp(cmd, "registrations")) ||
	    (arg && strpbrk(arg, " \t\r\n")))
		return EINVAL;

	if (re_snprintf(req, size, "%s%s%s%s\n", cmd, arg ? " " : "",
			arg ? arg : "", json ? " json" : "") < 0)
		return EINVAL;

	return 0;
}


static int connect_to(int *fdp, const char *path)
{
	struct sockaddr_un sun;
	int fd, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		(void)re_fprintf(stderr, "sbcctl: %s: path too long\n", path);
		return ENAMETOOLONG;
	}
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		if (err == ENOENT || err == ECONNREFUSED)
			(void)re_fprintf(stderr, "sbcctl: sbcd is not running "
					 "(nothing listens on %s: %m)\n",
					 path, err);
		else
			(void)re_fprintf(stderr, "sbcctl: cannot connect to "
					 "%s: %m\n", path, err);
		(void)close(fd);
		return err;
	}

	*fdp = fd;

	return 0;
}


static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}

	return 0;
}


/* Read until sbcd closes the connection, each read bounded in time, and
 * the whole answer too when deadline (ms, tmr_jiffies) is set. */
static int answer_read(struct mbuf *mb, int fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = tmr_jiffies();
		uint8_t buf[65536];
		ssize_t n;
		int r;

		if (deadline && now >= deadline)
			return ETIMEDOUT;

		r = poll(&pfd, 1, deadline ? (int)(deadline - now) :
			 TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return ETIMEDOUT;

		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET && mb->end)
			return 0;    /* sbcd answered, then reset: "busy" */
		if (n < 0)
			return errno;
		if (n == 0)
			return 0;

		if (mb->end + (size_t)n > ANSWER_MAX)
			return EFBIG;

		if (mbuf_write_mem(mb, buf, (size_t)n))
			return ENOMEM;
	}
}


/* Split the status line off, print the body; the exit status. */
static int answer_print(struct mbuf *mb)
{
	const char *p = (const char *)mb->buf;
	const char *nl = memchr(p, '\n', mb->end);
	size_t hlen;

	if (!nl) {
		(void)re_fprintf(stderr, "sbcctl: no answer from sbcd\n");
		return EXIT_FAILURE;
	}

	hlen = (size_t)(nl - p);

	if (hlen + 1 < mb->end &&
	    fwrite(nl + 1, 1, mb->end - hlen - 1, stdout) !=
	    mb->end - hlen - 1)
		return EXIT_FAILURE;

	if (hlen >= 7 && !strncmp(p, "error: ", 7)) {
		(void)re_fprintf(stderr, "sbcctl: %b\n", p + 7, hlen - 7);
		return EXIT_FAILURE;
	}

	if (hlen >= 4 && !strncmp(p, "ok: ", 4))
		(void)re_fprintf(stderr, "sbcctl: %b\n", p + 4, hlen - 4);
	else if (hlen != 2 || strncmp(p, "ok", 2)) {
		(void)re_fprintf(stderr, "sbcctl: unexpected answer: %b\n",
				 p, hlen);
		return EXIT_FAILURE;
	}

	return EXIT_SUCCESS;
}


static int run(const char *sock, const char *req, uint64_t limit_ms)
{
	uint64_t deadline = limit_ms ? tmr_jiffies() + limit_ms : 0;
	struct mbuf *mb;
	int fd = -1, err, status = EXIT_FAILURE;

	mb = mbuf_alloc(4096);
	if (!mb)
		return EXIT_FAILURE;

	err = connect_to(&fd, sock);
	if (err)
		goto out;

	/* sbcd may answer and close before it reads the request ("busy"):
	 * a request it did not take is no error, its answer says why */
	err = send_all(fd, req, strlen(req));
	if (!err || err == EPIPE || err == ECONNRESET)
		err = answer_read(mb, fd, deadline);
	if (err == ETIMEDOUT && limit_ms) {
		(void)re_fprintf(stderr, "sbcctl: sbcd does not answer within "
				 "%llu ms\n", (unsigned long long)limit_ms);
		goto out;
	}
	if (err) {
		(void)re_fprintf(stderr, "sbcctl: %s: %m\n", sock, err);
		goto out;
	}

	status = answer_print(mb);

 out:
	if (fd >= 0)
		(void)close(fd);
	mem_deref(mb);

	return status;
}


int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *config = NULL;
	char req[REQ_SIZE], *cfgsock = NULL;
	bool json = false;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "s:c:jh", longopts,
				  NULL)) != -1) {
		switch (opt) {

		case 's':
			sock = optarg;
			break;

		case 'c':
			config = optarg;
			break;

		case 'j':
			json = true;
			break;

		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;

		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	if ((sock && config) || optind >= argc ||
	    request_build(req, sizeof(req), argc - optind, argv + optind,
			  json)) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if (!sock) {
		if (socket_from_config(&cfgsock, config))
			return EXIT_FAILURE;
		sock = cfgsock;
	}

	status = run(sock, req, !strcmp(argv[optind], "health") ?
		     HEALTH_TIMEOUT_MS : 0);
	mem_deref(cfgsock);

	return status;
}
