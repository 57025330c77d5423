/*
 * The `rtp` group: the media relay's processes, ports and addresses.
 *
 * The default port range, 16384..32767, stays below the kernel's ephemeral
 * range (32768..60999 on Linux): no socket the host opens without naming a
 * port (a capture agent, a resolver, sbcd's own probes) can land in it, so
 * a port the relay needs is taken by another program only when that
 * program chose it (seed 004). Each side has its own relay address, and
 * may advertise another one in SDP (a public address before a NAT, or a
 * VIP).
 */

#include <string.h>
#include <libconfig.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "cfg/source.h"
#include "cfg/rtp.h"

enum {
	PORT_MIN_DEFAULT  = 16384,
	PORT_MAX_DEFAULT  = 32767,
	CONTROL_TIMEOUT_DEFAULT = 1000,
	SESSIONS_DEFAULT  = 10000,
	PAIRS_MIN         = 2,
};

static const char addr_default[] = "127.0.0.1";


int sbc_config_rtp_defaults(struct sbc_rtp_conf *rtp)
{
	int err;

	rtp->workers  = 1;
	rtp->port_min = PORT_MIN_DEFAULT;
	rtp->port_max = PORT_MAX_DEFAULT;
	rtp->io       = SBC_RTP_IO_CONF_URING;
	rtp->control_timeout = CONTROL_TIMEOUT_DEFAULT;
	rtp->max_sessions    = SESSIONS_DEFAULT;

	err = sa_set_str(&rtp->addr[SBC_SIDE_ACCESS], addr_default, 0);
	if (!err)
		err = sa_set_str(&rtp->addr[SBC_SIDE_CORE], addr_default, 0);

	return err;
}


/* An IP address (no port, no brackets); "" leaves *sa unset unless the
 * key is required. */
int sbc_config_addr(struct sa *sa, const config_setting_t *s,
		    const char *name, bool required, const char *path,
		    char *errbuf, size_t errsz)
{
	unsigned line = config_setting_source_line(s);
	const char *v = config_setting_get_string(s);

	if (!v) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be a string",
				       path, line, name);
	}

	if (!*v && !required) {
		sa_init(sa, AF_UNSPEC);
		return 0;
	}

	if (sa_set_str(sa, v, 0) || sa_is_any(sa)) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' is \"%s\", must be an IP "
				       "address (IPv6 without brackets), not "
				       "a wildcard", path, line, name, v);
	}

	return 0;
}


int sbc_config_rtp_io(struct sbc_rtp_conf *rtp, const config_setting_t *s,
		      const char *name, const char *path, char *errbuf,
		      size_t errsz)
{
	const char *v = config_setting_get_string(s);

	if (v && !strcmp(v, "io_uring"))
		rtp->io = SBC_RTP_IO_CONF_URING;
	else if (v && !strcmp(v, "epoll"))
		rtp->io = SBC_RTP_IO_CONF_EPOLL;
	else
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: '%s' must be \"io_uring\" or "
				       "\"epoll\"", path,
				       config_setting_source_line(s), name);

	return 0;
}


/* The rules between the rtp keys. */
int sbc_config_rtp_check(const struct sbc_rtp_conf *rtp, const char *path,
			 char *errbuf, size_t errsz)
{
	uint32_t first = (rtp->port_min + 1) & ~1u;

	if (rtp->port_max < first + 2 * PAIRS_MIN - 1 ||
	    (rtp->port_max - first + 1) / 2 < PAIRS_MIN * rtp->workers) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s: 'rtp.port_min' %u .. 'rtp.port_max'"
				       " %u holds too few port pairs for %u "
				       "relay(s) (at least %u each)", path,
				       rtp->port_min, rtp->port_max,
				       rtp->workers, PAIRS_MIN);
	}

	return 0;
}
