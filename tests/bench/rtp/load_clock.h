/*
 * Clocks of the RTP load generators (rtp_load.c, ../webrtc/webrtc_load.c,
 * load_clock.c): a packet's one-way latency is the kernel's receive
 * timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) against the CLOCK_MONOTONIC
 * time the sender wrote in it, so the two clocks are tied by an offset.
 */

#include <stdint.h>
#include <sys/socket.h>

uint64_t load_now_ns(void);          /* CLOCK_MONOTONIC */
int64_t  load_realtime_offset(void); /* CLOCK_REALTIME - CLOCK_MONOTONIC */

/* The kernel's receive time of a message, as CLOCK_MONOTONIC ns (real_off
 * from load_realtime_offset()); 0 if it carried none. */
uint64_t load_rx_time(struct msghdr *mh, int64_t real_off);
