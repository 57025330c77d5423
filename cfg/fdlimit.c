/*
 * A worker accepts connections and a relay holds four sockets a call:
 * both raise their descriptor limit to the hard limit the host gives
 * them, and size libre's fd table to match (fd_listen refuses a
 * descriptor above it), at most `max`.
 */

#include <errno.h>
#include <sys/resource.h>
#include <re.h>
#include "cfg/fdlimit.h"


int sbc_fd_limit_raise(int max)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errno;

	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			return errno;
	}

	return fd_setsize(rl.rlim_cur > (rlim_t)max ? max : (int)rl.rlim_cur);
}
