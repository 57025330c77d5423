/*
 * sbcd: the session border controller's entry point.
 *
 * Reads the command line and the configuration, then hands over to the
 * supervisor. An invalid configuration stops sbcd here, with
 * `FILE:LINE: reason`, before anything is created; `-t` checks the
 * configuration and exits, for scripts and packaging.
 *
 * `-W INDEX,INCARNATION` and `-R INDEX,INCARNATION` are internal: they are
 * how the supervisor starts a worker or an RTP relay (daemon/spawn.c),
 * with everything it needs on the fixed fds of workers/worker.h or
 * rtp/relay.h. They are left out of the usage text.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/config.h"
#include "workers/worker.h"
#include "rtp/relay.h"
#include "daemon/supervisor.h"

enum {
	EXIT_USAGE = 2,
};


static void usage(FILE *out)
{
	(void)re_fprintf(out,
		"usage: sbcd [-c FILE] [-t] [-h]\n"
		"  -c FILE  configuration file (default: built-in defaults,"
		" as in cfg/sbcd.conf)\n"
		"  -t       check the configuration, print the result and"
		" exit (0 if valid, 1 if not)\n"
		"  -h       print this help and exit\n");
}


/* A decimal number of at most 9 digits, ending at `end`. */
static int number(uint32_t *v, const char *s, char end, const char **next)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 9; i++)
		n = n * 10 + (uint64_t)(s[i] - '0');

	if (!i || s[i] != end)
		return EINVAL;

	*v = (uint32_t)n;
	*next = s + i + 1;

	return 0;
}


/* "INDEX,INCARNATION": INDEX below `limit`, INCARNATION >= 1. */
static int process_args(uint32_t *index, uint32_t *incarnation,
			const char *s, uint32_t limit)
{
	const char *p;

	if (number(index, s, ',', &p) || number(incarnation, p, '\0', &p))
		return EINVAL;

	if (*index >= limit || !*incarnation)
		return EINVAL;

	return 0;
}


static int config_run(const char *path, bool test)
{
	struct sbc_config *cfg = NULL;
	char errbuf[SBC_CONFIG_ERR_SIZE];
	int err, status;

	err = sbc_config_load(&cfg, path, errbuf, sizeof(errbuf));
	if (test) {
		if (err)
			(void)re_fprintf(stderr, "%s\n", errbuf);
		else
			(void)re_printf("%s: configuration OK\n",
					path ? path : "built-in defaults");
		mem_deref(cfg);
		return err ? EXIT_FAILURE : EXIT_SUCCESS;
	}

	if (err) {
		sbc_error("%s", errbuf);
		return EXIT_FAILURE;
	}

	sbc_log_set_level(cfg->log_level);
	sbc_log_set_syslog(cfg->log_syslog);

	status = sbc_supervisor_run(cfg);
	mem_deref(cfg);

	return status;
}


int main(int argc, char *argv[])
{
	struct sbc_worker_args wargs;
	struct sbc_relay_args rargs;
	const char *path = NULL, *worker = NULL, *relay = NULL;
	bool test = false;
	int opt;

	sbc_log_init("supervisor", 0, SBC_LOG_INFO);

	while ((opt = getopt(argc, argv, "c:thW:R:")) != -1) {
		switch (opt) {

		case 'c':
			path = optarg;
			break;

		case 't':
			test = true;
			break;

		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;

		case 'W':
			worker = optarg;
			break;

		case 'R':
			relay = optarg;
			break;

		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	if (optind < argc || ((worker || relay) && (path || test)) ||
	    (worker && relay)) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if (relay) {
		if (process_args(&rargs.index, &rargs.incarnation, relay,
				 SBC_RTP_WORKERS_MAX)) {
			sbc_error("-R %s: expected INDEX,INCARNATION", relay);
			return EXIT_USAGE;
		}
		return sbc_relay_main(&rargs);
	}

	if (worker) {
		if (process_args(&wargs.index, &wargs.incarnation, worker,
				 SBC_SHM_WRITERS_MAX - 1)) {
			sbc_error("-W %s: expected INDEX,INCARNATION", worker);
			return EXIT_USAGE;
		}
		return sbc_worker_main(&wargs);
	}

	return config_run(path, test);
}
