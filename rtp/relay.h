/*
 * An RTP relay process (DESIGN.md section 6).
 *
 * The supervisor starts each relay as `sbcd -R INDEX,INCARNATION`, like a
 * worker, with everything it needs on fixed fds. A relay owns every media
 * socket of the calls the Call-ID hash gives it (shm/media.h), answers the
 * workers' SDP requests on their channels and moves the packets; it never
 * parses SIP. It maps the shared segment only to read the dialog table,
 * to find sessions whose call is gone.
 */

enum {
	SBC_RFD_SHM     = 3,   /* the shared memory segment (memfd) */
	SBC_RFD_STATS   = 4,   /* the counters: its heartbeat row */
	SBC_RFD_CONFIG  = 5,   /* the validated config text (sealed memfd) */
	SBC_RFD_CTL     = 6,   /* command channel with the supervisor */
	SBC_RFD_MEDIA   = 7,   /* the session records (shm/media.h) */
	SBC_RFD_WORKER0 = 8,   /* channel with worker 0 .. workers-1 */
};

struct sbc_relay_args {
	uint32_t index;        /* 0 .. rtp.workers-1 */
	uint32_t incarnation;
};

int sbc_relay_main(const struct sbc_relay_args *args);
