/*
 * The media relay's session records and channel records (see media.h).
 *
 *   header (one cache line) | relay 0's slice | relay 1's slice | ...
 *
 * A slice is `per_relay` records. Only the relay that owns a slice writes
 * it, so records need no compare-and-swap: a relay (re)opens a record by
 * making gen odd, setting its identity, and making gen even again; readers
 * retry or give up while gen is odd or moved. The memfd is sealed against
 * growing and shrinking, as the counters' memfd is, so a reader can trust
 * its length.
 */

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <re.h>
#include <xxhash.h>
#include "shm/field.h"
#include "shm/media.h"

#define MEDIA_MAGIC 0x31304d44434253ull   /* "SBCDM01" little-endian */

enum {
	MEDIA_LAYOUT = 1,
	CACHELINE = 64,
	RELAYS_MAX = 64,
	READ_TRIES = 8,
	RELAY_SEED = 0x5eed,
};

struct media_hdr {
	uint64_t magic;
	uint32_t layout;
	uint32_t relays;
	uint32_t per_relay;
	uint32_t rec_size;
	uint64_t size;
	uint8_t  fill[CACHELINE - 32];
};

_Static_assert(sizeof(struct media_hdr) == CACHELINE, "media header size");
_Static_assert(sizeof(struct sbc_media_rec) % 8 == 0, "media record size");

struct sbc_media {
	uint8_t *base;
	uint64_t size;
	uint32_t relays;
	uint32_t per_relay;
	int fd;
};


static void media_destructor(void *arg)
{
	struct sbc_media *m = arg;

	if (m->base)
		munmap(m->base, m->size);

	if (m->fd >= 0)
		close(m->fd);
}


static uint64_t media_size(uint32_t relays, uint32_t per_relay)
{
	return sizeof(struct media_hdr) +
		(uint64_t)relays * per_relay * sizeof(struct sbc_media_rec);
}


static int media_map(struct sbc_media *m)
{
	void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       m->fd, 0);

	if (p == MAP_FAILED)
		return errno;

	m->base = p;

	return 0;
}


static int media_alloc(struct sbc_media **mp)
{
	struct sbc_media *m = mem_zalloc(sizeof(*m), media_destructor);

	if (!m)
		return ENOMEM;

	m->fd = -1;
	*mp = m;

	return 0;
}


/* The records of `relays` relays of `per_relay` sessions each, all free.
 * Call before fork. */
int sbc_media_create(struct sbc_media **mp, uint32_t relays,
		     uint32_t per_relay)
{
	struct sbc_media *m;
	struct media_hdr *hdr;
	int err;

	if (!mp || !relays || relays > RELAYS_MAX || !per_relay)
		return EINVAL;

	err = media_alloc(&m);
	if (err)
		return err;

	m->relays = relays;
	m->per_relay = per_relay;
	m->size = media_size(relays, per_relay);

	m->fd = memfd_create("sbcd-media", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->fd < 0) {
		err = errno;
		goto out;
	}

	if (ftruncate(m->fd, (off_t)m->size) < 0 ||
	    fcntl(m->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK |
		  F_SEAL_SEAL) < 0) {
		err = errno;
		goto out;
	}

	err = media_map(m);
	if (err)
		goto out;

	hdr = (struct media_hdr *)(void *)m->base;
	hdr->magic     = MEDIA_MAGIC;
	hdr->layout    = MEDIA_LAYOUT;
	hdr->relays    = relays;
	hdr->per_relay = per_relay;
	hdr->rec_size  = sizeof(struct sbc_media_rec);
	hdr->size      = m->size;

 out:
	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}


/* Map the records another process created, from their fd (which stays
 * the caller's). EPROTO if the memfd is not records of this layout. */
int sbc_media_attach(struct sbc_media **mp, int fd)
{
	const struct media_hdr *hdr;
	struct sbc_media *m;
	off_t end;
	int err;

	if (!mp || fd < 0)
		return EINVAL;

	end = lseek(fd, 0, SEEK_END);
	if (end < (off_t)sizeof(struct media_hdr))
		return end < 0 ? errno : EPROTO;

	err = media_alloc(&m);
	if (err)
		return err;

	m->size = (uint64_t)end;
	m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (m->fd < 0) {
		err = errno;
		goto out;
	}

	err = media_map(m);
	if (err)
		goto out;

	hdr = (const struct media_hdr *)(void *)m->base;
	if (hdr->magic != MEDIA_MAGIC || hdr->layout != MEDIA_LAYOUT ||
	    hdr->rec_size != sizeof(struct sbc_media_rec) ||
	    !hdr->relays || hdr->relays > RELAYS_MAX || !hdr->per_relay ||
	    hdr->size != m->size ||
	    m->size != media_size(hdr->relays, hdr->per_relay)) {
		err = EPROTO;
		goto out;
	}

	m->relays = hdr->relays;
	m->per_relay = hdr->per_relay;

 out:
	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}


int sbc_media_fd(const struct sbc_media *m)
{
	return m ? m->fd : -1;
}


uint32_t sbc_media_relays(const struct sbc_media *m)
{
	return m ? m->relays : 0;
}


uint32_t sbc_media_per_relay(const struct sbc_media *m)
{
	return m ? m->per_relay : 0;
}


/* Record `slot` (0-based) of relay `relay`, or NULL out of range. */
struct sbc_media_rec *sbc_media_rec(struct sbc_media *m, uint32_t relay,
				    uint32_t slot)
{
	if (!m || relay >= m->relays || slot >= m->per_relay)
		return NULL;

	return (struct sbc_media_rec *)(void *)(m->base +
		sizeof(struct media_hdr) + ((uint64_t)relay * m->per_relay +
		slot) * sizeof(struct sbc_media_rec));
}


/* Give a record to a new session (the owning relay only). */
void sbc_media_rec_open(struct sbc_media_rec *rec, const char *call_id,
			uint64_t now)
{
	uint32_t gen = atomic_load_explicit(&rec->gen, memory_order_relaxed);

	atomic_store_explicit(&rec->gen, gen | 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);

	memset((uint8_t *)rec + sizeof(rec->gen), 0,
	       sizeof(*rec) - sizeof(rec->gen));
	str_ncpy(rec->call_id, call_id, sizeof(rec->call_id));
	rec->created = now;

	atomic_store_explicit(&rec->gen, (gen | 1) + 1, memory_order_release);
}


/* Free a record (the owning relay only). */
void sbc_media_rec_close(struct sbc_media_rec *rec)
{
	uint32_t gen = atomic_load_explicit(&rec->gen, memory_order_relaxed);

	atomic_store_explicit(&rec->gen, gen | 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	rec->call_id[0] = '\0';
	atomic_store_explicit(&rec->gen, (gen | 1) + 1, memory_order_release);
}


static void leg_copy(struct sbc_media_view *v, unsigned i,
		     const struct sbc_media_leg *l)
{
	v->leg[i].pkts_in  = atomic_load_explicit(&l->pkts_in,
						  memory_order_relaxed);
	v->leg[i].bytes_in = atomic_load_explicit(&l->bytes_in,
						  memory_order_relaxed);
	v->leg[i].pkts_out = atomic_load_explicit(&l->pkts_out,
						  memory_order_relaxed);
	v->leg[i].bytes_out = atomic_load_explicit(&l->bytes_out,
						   memory_order_relaxed);
	v->leg[i].last_in  = atomic_load_explicit(&l->last_in,
						  memory_order_relaxed);
	v->leg[i].rtcp_lost = atomic_load_explicit(&l->rtcp_lost,
						   memory_order_relaxed);
	v->leg[i].rtcp_jitter = atomic_load_explicit(&l->rtcp_jitter,
						     memory_order_relaxed);
	v->leg[i].rtcp_reports = atomic_load_explicit(&l->rtcp_reports,
						      memory_order_relaxed);
	v->leg[i].latched  = atomic_load_explicit(&l->latched,
						  memory_order_relaxed) != 0;
	v->leg[i].srtp_auth_fail = atomic_load_explicit(&l->srtp_auth_fail,
							memory_order_relaxed);
	v->leg[i].srtp_replay = atomic_load_explicit(&l->srtp_replay,
						     memory_order_relaxed);
	v->leg[i].webrtc   = atomic_load_explicit(&l->webrtc,
						  memory_order_relaxed) != 0;
	v->leg[i].consent  = atomic_load_explicit(&l->consent,
						  memory_order_relaxed) != 0;
	v->leg[i].dtls     = atomic_load_explicit(&l->dtls,
						  memory_order_relaxed);
	v->leg[i].local    = l->local;
	v->leg[i].remote   = l->remote;
}


/*
 * Copy record `slot` of relay `relay`. ENOENT when it is free, EAGAIN when
 * its identity kept changing under the copy.
 */
int sbc_media_read(const struct sbc_media *m, uint32_t relay, uint32_t slot,
		   struct sbc_media_view *v)
{
	const struct sbc_media_rec *rec;

	rec = sbc_media_rec((struct sbc_media *)(uintptr_t)m, relay, slot);
	if (!rec || !v)
		return EINVAL;

	for (int t = 0; t < READ_TRIES; t++) {
		uint32_t g1, g2;

		g1 = atomic_load_explicit(&rec->gen, memory_order_acquire);
		if (g1 & 1)
			continue;

		memcpy(v->call_id, rec->call_id, sizeof(v->call_id));
		v->created = rec->created;
		v->streams = rec->streams;
		for (unsigned i = 0; i < SBC_MEDIA_LEGS; i++)
			leg_copy(v, i, &rec->leg[i]);

		atomic_thread_fence(memory_order_acquire);
		g2 = atomic_load_explicit(&rec->gen, memory_order_relaxed);
		if (g1 != g2)
			continue;

		v->call_id[sizeof(v->call_id) - 1] = '\0';
		if (!v->call_id[0])
			return ENOENT;

		v->relay = relay;
		v->slot = slot;
		return 0;
	}

	return EAGAIN;
}


/* The relay that carries a Call-ID's session: the same in every process. */
uint32_t sbc_media_relay_of(const struct pl *call_id, uint32_t relays)
{
	if (relays < 2)
		return 0;

	return (uint32_t)(XXH3_64bits_withSeed(call_id->p, call_id->l,
					       RELAY_SEED) % relays);
}


static int addr_json(struct re_printf *pf, void *arg)
{
	struct sa sa;

	if (sbc_addr_get(arg, &sa))
		return re_hprintf(pf, "null");

	return re_hprintf(pf, "\"%J\"", &sa);
}


const char *sbc_media_dtls_name(enum sbc_media_dtls st)
{
	switch (st) {

	case SBC_MEDIA_DTLS_NONE:       return "none";
	case SBC_MEDIA_DTLS_NEW:        return "new";
	case SBC_MEDIA_DTLS_CONNECTING: return "connecting";
	case SBC_MEDIA_DTLS_CONNECTED:  return "connected";
	case SBC_MEDIA_DTLS_FAILED:     return "failed";
	case SBC_MEDIA_DTLS_CLOSED:     return "closed";
	default:                        return "?";
	}
}


/* A WebRTC side's transport: ICE consent, DTLS, SRTP drops. */
static int webrtc_json(struct re_printf *pf, const struct sbc_media_view *v,
		       unsigned i)
{
	if (!v->leg[i].webrtc)
		return re_hprintf(pf, "\"profile\":\"plain\"");

	return re_hprintf(pf, "\"profile\":\"webrtc\",\"consent\":%s,"
			  "\"dtls\":\"%s\",\"srtp_auth_failed\":%u,"
			  "\"srtp_replayed\":%u",
			  v->leg[i].consent ? "true" : "false",
			  sbc_media_dtls_name(v->leg[i].dtls),
			  v->leg[i].srtp_auth_fail, v->leg[i].srtp_replay);
}


static int leg_json(struct re_printf *pf, const struct sbc_media_view *v,
		    unsigned i)
{
	int err;

	err = re_hprintf(pf, "{\"local\":%H,\"remote\":%H,\"latched\":%s,"
			 "\"packets_in\":%llu,\"bytes_in\":%llu,"
			 "\"packets_out\":%llu,\"bytes_out\":%llu,"
			 "\"rtcp_lost\":%u,\"rtcp_jitter\":%u,",
			 addr_json, &v->leg[i].local, addr_json,
			 &v->leg[i].remote, v->leg[i].latched ? "true" :
			 "false", (unsigned long long)v->leg[i].pkts_in,
			 (unsigned long long)v->leg[i].bytes_in,
			 (unsigned long long)v->leg[i].pkts_out,
			 (unsigned long long)v->leg[i].bytes_out,
			 v->leg[i].rtcp_lost, v->leg[i].rtcp_jitter);
	err |= webrtc_json(pf, v, i);
	err |= re_hprintf(pf, "}");

	return err;
}


static int access_json(struct re_printf *pf, void *arg)
{
	return leg_json(pf, arg, 0);
}


static int core_json(struct re_printf *pf, void *arg)
{
	return leg_json(pf, arg, 1);
}


/* A session's two sides as JSON, a %H handler on a struct
 * sbc_media_view: the CDR's, sbcctl media's and sbcctl dialogs' form. */
int sbc_media_json(struct re_printf *pf, void *view)
{
	return re_hprintf(pf, "{\"access\":%H,\"core\":%H}", access_json,
			  view, core_json, view);
}


/* Send one record (and its SDP) on a channel; never blocks: EAGAIN when
 * the channel is full. */
int sbc_media_send(int fd, struct sbc_media_msg *msg, const void *sdp,
		   size_t len)
{
	struct iovec iov[2];
	struct msghdr mh;

	if (len > SBC_MEDIA_SDP_MAX)
		return EOVERFLOW;

	msg->magic = SBC_MEDIA_MAGIC;
	msg->sdp_len = (uint32_t)len;

	iov[0].iov_base = msg;
	iov[0].iov_len = sizeof(*msg);
	iov[1].iov_base = (void *)(uintptr_t)sdp;
	iov[1].iov_len = len;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len ? 2 : 1;

	if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return errno;

	return 0;
}


/* Read one record; its SDP (sdp_len bytes) into sdp. EBADMSG for a record
 * that is not one of ours, whole; EAGAIN when there is none. */
int sbc_media_recv(int fd, struct sbc_media_msg *msg, uint8_t *sdp,
		   size_t size)
{
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;

	iov[0].iov_base = msg;
	iov[0].iov_len = sizeof(*msg);
	iov[1].iov_base = sdp;
	iov[1].iov_len = size;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;

	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return errno;
	if (n == 0)
		return ECONNRESET;

	if ((size_t)n < sizeof(*msg) || (mh.msg_flags & MSG_TRUNC) ||
	    msg->magic != SBC_MEDIA_MAGIC ||
	    msg->sdp_len != (size_t)n - sizeof(*msg) ||
	    msg->call_id[sizeof(msg->call_id) - 1] != '\0')
		return EBADMSG;

	return 0;
}
