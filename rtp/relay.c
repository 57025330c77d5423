/*
 * An RTP relay process's lifecycle (see relay.h).
 *
 * Start: read the config the supervisor validated, map the shared segment
 * (to read dialogs), the counters (its heartbeat) and the session records
 * (its slice, cleared: sessions do not survive a relay), open the data
 * path (io_uring, or epoll when rtp.io says so or the host refuses
 * io_uring), listen on every worker's channel and tell the supervisor it
 * is ready. Run: libre's loop, fed by the data path, the channels, the
 * beat and the sweep. Stop: SIGTERM, or the supervisor gone, ends it at
 * once: a relay has nothing to finish, its calls' media end with it.
 */

#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <re.h>
#include <stdatomic.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "shm/shm.h"
#include "shm/stats.h"
#include "shm/channel.h"
#include "cfg/config.h"
#include "cfg/fdlimit.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/srtp.h"
#include "rtp/dtls.h"
#include "rtp/relay.h"
#include "rtp/relay_priv.h"

enum {
	BEAT_MS       = 200,
	SESSION_BUCKETS_MAX = 65536,
	FDS_MAX       = 1 << 20,
	STUN_ANSWER_MAX = 512,     /* an ICE check's answer: ~80 bytes */
	FDS_RESERVED  = 64,       /* channels, the segment, libre's own */
};

struct relay_proc {
	struct sbc_relay r;
	int err;
};


static void relay_destructor(void *arg)
{
	struct relay_proc *rp = arg;
	struct sbc_relay *r = &rp->r;

	tmr_cancel(&r->beat);
	tmr_cancel(&r->sweep);
	fd_close(SBC_RFD_CTL);
	sbc_relay_ctl_close(r);
	hash_flush(r->sessions);
	mem_deref(r->sessions);
	mem_deref(r->io);
	mem_deref(r->ports);
	mem_deref(r->free_slots);
	mem_deref(r->by_slot);
	mem_deref(r->sdp_buf);
	mem_deref(r->out);
	mem_deref(r->stun);
	mem_deref(r->cert);
	mem_deref(r->media);
	mem_deref(r->stats);
	mem_deref(r->shm);
	mem_deref(r->cfg);
}


static void signal_handler(int sig)
{
	if (sig == SIGTERM)
		re_cancel();
}


/* The supervisor's channel closes when it is gone: so does the relay. */
static void ctl_handler(int flags, void *arg)
{
	struct relay_proc *rp = arg;
	uint8_t buf[SBC_CHAN_DATA_MAX];
	struct sbc_chan_hdr hdr;
	int fd = -1, err;
	(void)flags;

	err = sbc_chan_recv(SBC_RFD_CTL, &hdr, buf, sizeof(buf), &fd);
	if (fd >= 0)
		(void)close(fd);

	if (err == ENOTCONN || err == ECONNRESET) {
		sbc_error("the supervisor has gone, exiting");
		rp->err = err;
		re_cancel();
	}
}


static void beat_handler(void *arg)
{
	struct sbc_relay *r = arg;

	sbc_stats_beat(r->stats, r->workers + r->index, sbc_now_ms());
	tmr_start(&r->beat, BEAT_MS, beat_handler, r);
}


static int config_read(struct sbc_relay *r)
{
	char errbuf[SBC_CONFIG_ERR_SIZE];
	char path[32];
	int err;

	(void)re_snprintf(path, sizeof(path), "/proc/self/fd/%d",
			  SBC_RFD_CONFIG);

	err = sbc_config_load(&r->cfg, path, errbuf, sizeof(errbuf));
	if (err)
		sbc_error("config from the supervisor refused: %s", errbuf);

	return err;
}


static int attach(struct sbc_relay *r)
{
	int err;

	err = sbc_shm_attach(&r->shm, SBC_RFD_SHM);
	if (err) {
		sbc_error("cannot attach to the shared segment: %m", err);
		return err;
	}

	err = sbc_stats_attach(&r->stats, SBC_RFD_STATS);
	if (err) {
		sbc_error("cannot attach to the counters: %m", err);
		return err;
	}

	err = sbc_media_attach(&r->media, SBC_RFD_MEDIA);
	if (err) {
		sbc_error("cannot attach to the session records: %m", err);
		return err;
	}

	if (r->index >= sbc_media_relays(r->media) ||
	    r->workers + r->index >= sbc_stats_workers(r->stats))
		return EINVAL;

	return 0;
}


/* Every record of this relay's slice free, every slot on the stack. */
static int slots_init(struct sbc_relay *r)
{
	const uint32_t n = sbc_media_per_relay(r->media);

	r->free_slots = mem_alloc(n * sizeof(*r->free_slots), NULL);
	r->by_slot = mem_zalloc(n * sizeof(*r->by_slot), NULL);
	if (!r->free_slots || !r->by_slot)
		return ENOMEM;

	for (uint32_t i = 0; i < n; i++) {
		sbc_media_rec_close(sbc_media_rec(r->media, r->index, i));
		r->free_slots[i] = n - 1 - i;
	}
	r->nfree = n;

	return 0;
}


/* The sockets the relay may hold: those of its sessions, within the
 * descriptor limit (a session of one stream takes four). */
static uint32_t sockets_max(const struct sbc_relay *r)
{
	const uint64_t want = (uint64_t)sbc_media_per_relay(r->media) *
		SBC_SDP_STREAMS_MAX * SBC_SIDE_COUNT * RSOCK_KINDS;
	struct rlimit rl;
	uint64_t max = min(want, (uint64_t)FDS_MAX);

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < max) {
		max = rl.rlim_cur > FDS_RESERVED ?
			rl.rlim_cur - FDS_RESERVED : rl.rlim_cur;
		if (max / (SBC_SIDE_COUNT * RSOCK_KINDS) <
		    sbc_media_per_relay(r->media))
			sbc_notice("the descriptor limit (%llu) holds %llu "
				   "one-stream calls, fewer than "
				   "rtp.max_sessions: raise it (LimitNOFILE)",
				   (unsigned long long)rl.rlim_cur,
				   (unsigned long long)(max / (SBC_SIDE_COUNT *
							 RSOCK_KINDS)));
	}

	return (uint32_t)max;
}


static int io_open(struct sbc_relay *r)
{
	const uint32_t max = sockets_max(r);
	int err;

	if (r->cfg->rtp.io == SBC_RTP_IO_CONF_URING) {
		err = sbc_rtp_io_alloc(&r->io, SBC_RTP_IO_URING, max,
				       sbc_relay_packet, r);
		if (!err)
			return 0;

		sbc_warn("io_uring refused (%m): the epoll data path is used",
			 err);
	}

	return sbc_rtp_io_alloc(&r->io, SBC_RTP_IO_EPOLL, max,
				sbc_relay_packet, r);
}


/* libre's hash wants a power of two: about one bucket per session. */
/* The browsers' legs: SRTP, and the certificate every DTLS association
 * of this relay shows, made afresh at each start (its fingerprint goes
 * in the SDPs, so nothing needs to keep it). */
static int webrtc_init(struct sbc_relay *r)
{
	int err = sbc_srtp_init();

	if (!err)
		err = sbc_dtls_cert_alloc(&r->cert);
	if (err)
		sbc_error("cannot set up DTLS-SRTP for WebRTC legs: %m", err);

	return err;
}


static uint32_t buckets(uint32_t sessions)
{
	uint32_t n = 16;

	while (n < sessions && n < SESSION_BUCKETS_MAX)
		n *= 2;

	return n;
}


static int relay_start(struct relay_proc *rp, const struct sbc_relay_args *a)
{
	struct sbc_relay *r = &rp->r;
	struct sbc_chan_hdr ready = {.kind = SBC_CHAN_READY, .from = a->index};
	int err;

	err = config_read(r);
	if (err)
		return err;

	sbc_log_set_level(r->cfg->log_level);
	sbc_log_set_syslog(r->cfg->log_syslog);
	r->index = a->index;
	r->workers = r->cfg->workers;

	err = sbc_fd_limit_raise(FDS_MAX);
	if (!err)
		err = attach(r);
	if (!err)
		err = slots_init(r);
	if (!err)
		err = sbc_ports_alloc(&r->ports, &r->cfg->rtp, r->index,
				      r->cfg->rtp.workers);
	if (!err)
		err = hash_alloc(&r->sessions, buckets(sbc_media_per_relay(
						 r->media)));
	if (err)
		return err;

	r->sdp_buf = mem_alloc(SBC_MEDIA_SDP_MAX, NULL);
	r->out = mbuf_alloc(SBC_MEDIA_SDP_MAX);
	r->stun = mbuf_alloc(STUN_ANSWER_MAX);
	if (!r->sdp_buf || !r->out || !r->stun)
		return ENOMEM;

	err = webrtc_init(r);
	if (err)
		return err;

	err = io_open(r);
	if (err) {
		sbc_error("cannot open the data path: %m", err);
		return err;
	}

	beat_handler(r);
	sbc_relay_sweep_start(r);

	err = sbc_relay_ctl_listen(r);
	if (!err)
		err = fd_listen(SBC_RFD_CTL, FD_READ, ctl_handler, rp);
	if (!err)
		err = sbc_chan_send(SBC_RFD_CTL, &ready, NULL, 0, -1);
	if (err)
		return err;

	sbc_info("relaying: %s data path, ports %u..%u shared by %u "
		 "relay(s), %u sessions at most, incarnation %u",
		 sbc_rtp_io_kind(r->io) == SBC_RTP_IO_URING ? "io_uring" :
		 "epoll", r->cfg->rtp.port_min, r->cfg->rtp.port_max,
		 r->cfg->rtp.workers, sbc_media_per_relay(r->media),
		 a->incarnation);

	return 0;
}


/* The relay process: its exit status. */
int sbc_relay_main(const struct sbc_relay_args *args)
{
	struct relay_proc *rp;
	int err;

	if (!args)
		return EXIT_FAILURE;

	sbc_log_init("relay", args->index, SBC_LOG_INFO);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);

	err = libre_init();
	if (err) {
		sbc_error("cannot initialise libre: %m", err);
		return EXIT_FAILURE;
	}

	rp = mem_zalloc(sizeof(*rp), relay_destructor);
	if (!rp) {
		err = ENOMEM;
		goto out;
	}

	tmr_init(&rp->r.beat);
	tmr_init(&rp->r.sweep);

	err = relay_start(rp, args);
	if (err) {
		sbc_error("cannot start: %m", err);
		goto out;
	}

	err = re_main(signal_handler);
	if (!err)
		err = rp->err;

 out:
	mem_deref(rp);
	libre_close();

	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
