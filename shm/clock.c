/*
 * The time base of expiries: wall-clock milliseconds, so that an expiry
 * means the same in every process and, through Redis, on every node.
 */

#include <time.h>
#include <re.h>
#include "shm/shm.h"


uint64_t sbc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
