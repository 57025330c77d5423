/*
 * Media sessions of one relay process: one per Call-ID, made by a new
 * call's offer, found by every later SDP of the call, deleted when the
 * call ends (or when the reaper finds its call gone, sweep.c).
 *
 * A session holds one record of the relay's slice of the media table
 * (shm/media.h), where its counters live for workers and sbcctl to read.
 * Its sockets belong to the data path once added; deleting a session
 * removes them from it, and the data path closes them.
 */

#include <string.h>
#include <unistd.h>
#include <re.h>
#include <stdatomic.h>
#include "shm/field.h"
#include "shm/shm.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "shm/media.h"
#include "rtp/io.h"
#include "rtp/sdp.h"
#include "rtp/relay_priv.h"


static void leg_close(struct sbc_relay *r, struct rleg *leg)
{
	for (unsigned k = 0; k < RSOCK_KINDS; k++) {
		if (leg->sock[k].fd < 0)
			continue;
		sbc_rtp_io_remove(r->io, leg->sock[k].fd);
		leg->sock[k].fd = -1;
	}
}


static void session_destructor(void *arg)
{
	struct rsession *s = arg;
	struct sbc_relay *r = s->relay;

	hash_unlink(&s->he);

	/* first: a DTLS association may still send its close_notify */
	for (unsigned side = 0; side < SBC_SIDE_COUNT; side++)
		s->webrtc[side] = mem_deref(s->webrtc[side]);

	for (unsigned i = 0; i < s->count; i++) {
		for (unsigned side = 0; side < SBC_SIDE_COUNT; side++)
			leg_close(r, &s->streams[i]->leg[side]);
		mem_deref(s->streams[i]);
	}

	if (s->rec) {
		sbc_media_rec_close(s->rec);
		r->by_slot[s->slot] = NULL;
		r->free_slots[r->nfree++] = s->slot;
	}

}


static bool callid_cmp(struct le *le, void *arg)
{
	const struct rsession *s = le->data;

	return 0 == strcmp(s->call_id, arg);
}


struct rsession *sbc_rsession_find(struct sbc_relay *r, const char *call_id)
{
	return list_ledata(hash_lookup(r->sessions, hash_joaat_str(call_id),
				       callid_cmp, (void *)(uintptr_t)call_id));
}


static int session_new(struct sbc_relay *r, const char *call_id,
		       uint32_t worker, struct rsession **sp)
{
	struct rsession *s;

	if (!r->nfree)
		return ENOMEM;

	s = mem_zalloc(sizeof(*s), session_destructor);
	if (!s)
		return ENOMEM;

	s->relay   = r;
	s->worker  = worker;
	s->created = r->now;
	str_ncpy(s->call_id, call_id, sizeof(s->call_id));

	s->slot = r->free_slots[--r->nfree];
	s->rec  = sbc_media_rec(r->media, r->index, s->slot);
	sbc_media_rec_open(s->rec, call_id, r->now);
	r->by_slot[s->slot] = s;

	hash_append(r->sessions, hash_joaat_str(call_id), &s->he, s);

	*sp = s;

	return 0;
}


/*
 * The session of call_id; with `create`, a new one if there is none.
 * ENOENT: none and not to be made; ENOMEM: no record left.
 */
int sbc_rsession_get(struct sbc_relay *r, const char *call_id, bool create,
		     uint32_t worker, struct rsession **sp)
{
	struct rsession *s = sbc_rsession_find(r, call_id);

	if (s) {
		s->worker = worker;
		*sp = s;
		return 0;
	}

	if (!create)
		return ENOENT;

	return session_new(r, call_id, worker, sp);
}


void sbc_rsession_delete(struct rsession *s, const char *why)
{
	if (!s)
		return;

	sbc_debug("media session deleted: %s (%s)", why, s->call_id);
	mem_deref(s);
}


static int leg_open(struct rsession *s, struct rstream *st,
		    enum sbc_side side)
{
	struct sbc_relay *r = s->relay;
	struct rleg *leg = &st->leg[side];
	int fds[RSOCK_KINDS] = {-1, -1};
	int err;

	err = sbc_ports_take(r->ports, &r->cfg->rtp.addr[side], &leg->port,
			     fds);
	if (err)
		return err;

	for (unsigned k = 0; k < RSOCK_KINDS; k++) {
		leg->sock[k].st   = st;
		leg->sock[k].side = (uint8_t)side;
		leg->sock[k].kind = (uint8_t)k;
		leg->sock[k].fd   = fds[k];

		err = sbc_rtp_io_add(r->io, fds[k], &leg->sock[k]);
		if (err) {
			leg->sock[k].fd = -1;
			(void)close(fds[k]);
			if (k == RSOCK_RTP)
				(void)close(fds[RSOCK_RTCP]);
			return err;
		}
	}

	return 0;
}


static int stream_new(struct rsession *s, struct rstream **stp)
{
	struct rstream *st;
	int err = 0;

	st = mem_zalloc(sizeof(*st), NULL);
	if (!st)
		return ENOMEM;

	st->s = s;
	st->index = s->count;
	for (unsigned side = 0; side < SBC_SIDE_COUNT; side++) {
		st->leg[side].sock[RSOCK_RTP].fd = -1;
		st->leg[side].sock[RSOCK_RTCP].fd = -1;
		for (unsigned r = 0; r < SBC_SDP_DTMF_RATES; r++)
			st->fmt[side].dtmf[r] = -1;
	}

	for (unsigned side = 0; side < SBC_SIDE_COUNT && !err; side++)
		err = leg_open(s, st, (enum sbc_side)side);

	if (err) {
		for (unsigned side = 0; side < SBC_SIDE_COUNT; side++)
			leg_close(s->relay, &st->leg[side]);
		mem_deref(st);
		return err;
	}

	*stp = st;

	return 0;
}


/* At least `count` streams, each with its ports on both sides. Streams
 * are never taken away: an m-line keeps its place (RFC 3264 8). */
int sbc_rsession_streams(struct rsession *s, unsigned count)
{
	if (count > SBC_SDP_STREAMS_MAX)
		return E2BIG;

	while (s->count < count) {
		int err = stream_new(s, &s->streams[s->count]);

		if (err)
			return err;

		++s->count;
	}

	s->rec->streams = s->count;

	return 0;
}


/* The record's addresses: each side's first stream, as it stands. */
void sbc_rsession_leg_stats(struct rsession *s)
{
	if (!s->count)
		return;

	for (unsigned side = 0; side < SBC_SIDE_COUNT; side++) {
		const struct rleg *leg = &s->streams[0]->leg[side];
		struct sbc_media_leg *ml = &s->rec->leg[side];
		struct sa local = s->relay->cfg->rtp.addr[side];

		sa_set_port(&local, leg->port);
		(void)sbc_addr_set(&ml->local, &local);

		if (leg->is_latched[RSOCK_RTP])
			(void)sbc_addr_set(&ml->remote,
					   &leg->latched[RSOCK_RTP]);
		else if (sa_isset(&leg->sdp[RSOCK_RTP], SA_ALL))
			(void)sbc_addr_set(&ml->remote, &leg->sdp[RSOCK_RTP]);
		else
			memset(&ml->remote, 0, sizeof(ml->remote));

		atomic_store_explicit(&ml->latched,
				      leg->is_latched[RSOCK_RTP],
				      memory_order_relaxed);

		if (s->webrtc[side])
			sbc_rwebrtc_stats(s->webrtc[side], ml);
	}
}
