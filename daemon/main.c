/*
 * sbcd: the session border controller's entry point.
 *
 * Reads the command line and the configuration, then hands over to the
 * supervisor. An invalid configuration stops sbcd here, with
 * `FILE:LINE: reason`, before anything is created; `-t` checks the
 * configuration and exits, for scripts and packaging.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
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


int main(int argc, char *argv[])
{
	struct sbc_config *cfg = NULL;
	char errbuf[SBC_CONFIG_ERR_SIZE];
	const char *path = NULL;
	bool test = false;
	int opt, err;

	sbc_log_init("supervisor", 0, SBC_LOG_INFO);

	while ((opt = getopt(argc, argv, "c:th")) != -1) {
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

		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	if (optind < argc) {
		usage(stderr);
		return EXIT_USAGE;
	}

	err = sbc_config_load(&cfg, path, errbuf, sizeof(errbuf));
	if (test) {
		if (err)
			(void)re_fprintf(stderr, "%s\n", errbuf);
		else
			(void)re_printf("%s: configuration OK\n",
					path ? path : "built-in defaults");
		goto out;
	}
	if (err) {
		sbc_error("%s", errbuf);
		goto out;
	}

	sbc_log_set_level(cfg->log_level);

	err = sbc_supervisor_run(cfg);

 out:
	mem_deref(cfg);

	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
