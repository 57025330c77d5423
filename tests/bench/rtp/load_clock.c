/*
 * The RTP load generators' clocks (load_clock.h).
 */

#include <string.h>
#include <time.h>
#include "load_clock.h"


static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


uint64_t load_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}


/* Read between two monotonic reads, against their middle. */
int64_t load_realtime_offset(void)
{
	const uint64_t m0 = load_now_ns();
	const uint64_t r = clock_ns(CLOCK_REALTIME);
	const uint64_t m1 = load_now_ns();

	return (int64_t)r - (int64_t)(m0 + (m1 - m0) / 2);
}


uint64_t load_rx_time(struct msghdr *mh, int64_t real_off)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c;
	     c = CMSG_NXTHDR(mh, c)) {
		struct timespec ts;

		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		return (uint64_t)ts.tv_sec * 1000000000ull +
			(uint64_t)ts.tv_nsec - (uint64_t)real_off;
	}

	return 0;
}
