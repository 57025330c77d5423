/*
 * Unit tests of the shared tables: every operation of the registration and
 * dialog tables, expiry, a full table, fields too long, hash collisions,
 * the change ring and its wrap-around, the sweep and the checker.
 *
 * The checker's tests use the slot control words and count notes directly
 * (shm's private headers) to lay down the states a killed writer or a bug
 * would leave; the last one kills a real writer process instead.
 */

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <re.h>
#include "shm/shm.h"
#include "shm/field.h"
#include "shm/reg.h"
#include "shm/dlg.h"
#include "shm/ring.h"
#include "shm/check.h"
#include "shm/layout.h"
#include "shm/handle.h"
#include "shm/ctl.h"
#include "shm/table.h"


enum {
	TTL = 60000,         /* ms */
};

/* "now" for the tests: the real time, as the checker judges expiry by it */
static uint64_t T0;

struct fixture {
	struct sbc_shm *shm;
	struct sbc_writer *w;
};


static int fixture_make(void **state, uint32_t reg_max, uint32_t ring_size)
{
	struct sbc_shm_conf conf = {
		.reg_max = reg_max, .dlg_max = 64, .writers = 4,
		.ring_size = ring_size,
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || sbc_shm_create(&f->shm, &conf) ||
	    sbc_writer_attach(&f->w, f->shm, 0)) {
		free(f);
		return -1;
	}

	*state = f;
	return 0;
}


static int setup(void **state)
{
	return fixture_make(state, 1000, 1024);
}


static int setup_small(void **state)
{
	return fixture_make(state, 32, 16);
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	mem_deref(f->w);
	mem_deref(f->shm);
	free(f);

	return 0;
}


static void reg_make(struct sbc_reg *r, const char *aor, const char *inst,
		     uint64_t expires)
{
	memset(r, 0, sizeof(*r));
	r->expires = expires;
	r->updated = T0;
	r->transport = SBC_TP_UDP;
	assert_int_equal(0, SBC_FIELD_SET_STR(r->aor, aor));
	assert_int_equal(0, SBC_FIELD_SET_STR(r->instance, inst));
	assert_int_equal(0, SBC_FIELD_SET_STR(r->contact, inst));
}


static int reg_get(const struct fixture *f, const char *aor, const char *inst,
		   uint64_t now, struct sbc_reg *out)
{
	struct pl a, i;

	pl_set_str(&a, aor);
	pl_set_str(&i, inst);

	return sbc_reg_get(f->shm, &a, &i, now, out);
}


static int reg_del(const struct fixture *f, const char *aor, const char *inst,
		   uint64_t now)
{
	struct pl a, i;

	pl_set_str(&a, aor);
	pl_set_str(&i, inst);

	return sbc_reg_del(f->w, &a, &i, now);
}


static size_t reg_count_aor(const struct fixture *f, const char *aor,
			    uint64_t now)
{
	struct sbc_reg v[128];
	struct pl a;
	size_t n = 0;

	pl_set_str(&a, aor);
	assert_int_equal(0, sbc_reg_lookup_aor(f->shm, &a, now, v, 128, &n));

	return n;
}


static void check_clean(const struct fixture *f, uint32_t live)
{
	struct sbc_check_report rep;

	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(0, rep.errors);
	assert_int_equal(0, rep.reclaimed);
	assert_int_equal(live, rep.live);
}


static void test_create_attach(void **state)
{
	struct fixture *f = *state;
	struct sbc_shm_conf bad = {.reg_max = 10, .dlg_max = 10, .writers = 2,
				   .ring_size = 100};
	struct sbc_shm *other = NULL;
	struct sbc_reg r, out;

	assert_int_equal(EINVAL, sbc_shm_create(&other, &bad));

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	/* a second mapping of the same segment sees the same table */
	assert_int_equal(0, sbc_shm_attach(&other, sbc_shm_fd(f->shm)));
	assert_int_equal(sbc_shm_size(f->shm), sbc_shm_size(other));
	assert_int_equal(1000, sbc_shm_max(other, SBC_TBL_REG));
	assert_true(sbc_shm_slots(other, SBC_TBL_REG) >= 1250);
	assert_int_equal(0, sbc_reg_get(other, &(struct pl)PL("sip:alice@example.com"),
					&(struct pl)PL("<urn:uuid:1>"), T0, &out));
	assert_string_equal("<urn:uuid:1>", out.contact);
	other = mem_deref(other);

	/* a header that is not ours is refused */
	f->shm->hdr->layout = SBC_SHM_LAYOUT + 1;
	assert_int_equal(EPROTO, sbc_shm_attach(&other, sbc_shm_fd(f->shm)));
	f->shm->hdr->layout = SBC_SHM_LAYOUT;
	assert_null(other);
}


static void test_insert_lookup(void **state)
{
	struct fixture *f = *state;
	struct sbc_reg r, out;
	struct sa sa;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sa_set_str(&sa, "192.0.2.7", 5062));
	assert_int_equal(0, sbc_addr_set(&r.source, &sa));
	r.cseq = 7;

	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	assert_int_equal(0, reg_get(f, "sip:alice@example.com", "<urn:uuid:1>",
				    T0, &out));
	assert_memory_equal(&r, &out, sizeof(r));

	assert_int_equal(0, sbc_addr_get(&out.source, &sa));
	assert_int_equal(5062, sa_port(&sa));

	assert_int_equal(ENOENT, reg_get(f, "sip:alice@example.com",
					 "<urn:uuid:2>", T0, &out));
	assert_int_equal(ENOENT, reg_get(f, "sip:bob@example.com",
					 "<urn:uuid:1>", T0, &out));
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));
	check_clean(f, 1);
}


static void test_update(void **state)
{
	struct fixture *f = *state;
	struct sbc_reg r, out;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	r.cseq = 8;
	r.expires = T0 + 2 * TTL;
	assert_int_equal(0, SBC_FIELD_SET_STR(r.user_agent, "phone/2"));
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0 + 1));

	assert_int_equal(0, reg_get(f, "sip:alice@example.com", "<urn:uuid:1>",
				    T0 + TTL + 1, &out));
	assert_int_equal(8, out.cseq);
	assert_string_equal("phone/2", out.user_agent);
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));
	check_clean(f, 1);
}


static void test_lookup_aor(void **state)
{
	struct fixture *f = *state;
	struct sbc_reg r, v[2];
	struct pl aor = PL("sip:alice@example.com");
	size_t n;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:2>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	reg_make(&r, "sip:alice@example.com", "sip:a@192.0.2.1", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	reg_make(&r, "sip:alice@example.org", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	assert_int_equal(3, reg_count_aor(f, "sip:alice@example.com", T0));
	assert_int_equal(1, reg_count_aor(f, "sip:alice@example.org", T0));
	assert_int_equal(0, reg_count_aor(f, "sip:carol@example.com", T0));

	/* more bindings than room: the ones that fit, and ENOBUFS */
	assert_int_equal(ENOBUFS, sbc_reg_lookup_aor(f->shm, &aor, T0, v, 2, &n));
	assert_int_equal(2, n);
	assert_string_equal("sip:alice@example.com", v[0].aor);
	assert_string_equal("sip:alice@example.com", v[1].aor);
}


static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct sbc_reg r, out;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:2>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	assert_int_equal(0, reg_del(f, "sip:alice@example.com", "<urn:uuid:1>",
				    T0));
	assert_int_equal(ENOENT, reg_del(f, "sip:alice@example.com",
					 "<urn:uuid:1>", T0));
	assert_int_equal(ENOENT, reg_get(f, "sip:alice@example.com",
					 "<urn:uuid:1>", T0, &out));
	assert_int_equal(0, reg_get(f, "sip:alice@example.com", "<urn:uuid:2>",
				    T0, &out));
	assert_int_equal(1, reg_count_aor(f, "sip:alice@example.com", T0));
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));

	/* the tombstone is reused by the next insert on its chain */
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	assert_int_equal(2, reg_count_aor(f, "sip:alice@example.com", T0));
	check_clean(f, 2);
}


static void test_expiry(void **state)
{
	struct fixture *f = *state;
	struct sbc_sweep_report sw;
	struct sbc_reg r, out;
	uint32_t slots = sbc_shm_slots(f->shm, SBC_TBL_REG);

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + 100);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:2>", T0 + 1000);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	/* an expiry in the past is refused */
	reg_make(&r, "sip:bob@example.com", "<urn:uuid:1>", T0);
	assert_int_equal(EINVAL, sbc_reg_put(f->w, &r, T0));

	/* invisible the moment it passes */
	assert_int_equal(0, reg_get(f, "sip:alice@example.com", "<urn:uuid:1>",
				    T0 + 99, &out));
	assert_int_equal(ENOENT, reg_get(f, "sip:alice@example.com",
					 "<urn:uuid:1>", T0 + 100, &out));
	assert_int_equal(1, reg_count_aor(f, "sip:alice@example.com", T0 + 100));

	/* the sweep gives the slot back */
	assert_int_equal(0, sbc_shm_sweep(f->w, SBC_TBL_REG, T0 + 100, slots,
					  &sw));
	assert_int_equal(1, sw.expired);
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));

	/* a put over an expired record of the same key revives it in place */
	assert_int_equal(ENOENT, reg_get(f, "sip:alice@example.com",
					 "<urn:uuid:2>", T0 + 1000, &out));
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:2>", T0 + 5000);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0 + 1000));
	assert_int_equal(0, reg_get(f, "sip:alice@example.com", "<urn:uuid:2>",
				    T0 + 1000, &out));
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));
}


static void test_full_table(void **state)
{
	struct fixture *f = *state;
	struct sbc_reg r, out;
	char aor[64];
	int i;

	for (i = 0; i < 32; i++) {
		re_snprintf(aor, sizeof(aor), "sip:user%d@example.com", i);
		reg_make(&r, aor, "<urn:uuid:1>", T0 + TTL);
		assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	}

	reg_make(&r, "sip:one-too-many@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(ENOSPC, sbc_reg_put(f->w, &r, T0));
	assert_int_equal(ENOENT, reg_get(f, "sip:one-too-many@example.com",
					 "<urn:uuid:1>", T0, &out));

	/* nothing was overwritten, and updates still work when full */
	for (i = 0; i < 32; i++) {
		re_snprintf(aor, sizeof(aor), "sip:user%d@example.com", i);
		assert_int_equal(0, reg_get(f, aor, "<urn:uuid:1>", T0, &out));
	}
	reg_make(&r, "sip:user3@example.com", "<urn:uuid:1>", T0 + 2 * TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	/* room made by a delete is room again */
	assert_int_equal(0, reg_del(f, "sip:user5@example.com", "<urn:uuid:1>",
				    T0));
	reg_make(&r, "sip:one-too-many@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	check_clean(f, 32);
}


static void test_too_long(void **state)
{
	struct fixture *f = *state;
	char longer[SBC_REG_AOR_SIZE + 1];
	struct sbc_reg r, out;
	struct pl aor, inst = PL("<urn:uuid:1>");
	size_t n;

	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';

	/* one byte over is refused, exactly full fits */
	memset(&r, 0, sizeof(r));
	assert_int_equal(EOVERFLOW, SBC_FIELD_SET_STR(r.aor, longer));
	assert_int_equal('\0', r.aor[0]);
	longer[SBC_REG_AOR_SIZE - 1] = '\0';
	assert_int_equal(0, SBC_FIELD_SET_STR(r.aor, longer));

	pl_set_str(&aor, longer);
	aor.l = SBC_REG_AOR_SIZE;
	assert_int_equal(EOVERFLOW, sbc_reg_get(f->shm, &aor, &inst, T0, &out));
	assert_int_equal(EOVERFLOW, sbc_reg_del(f->w, &aor, &inst, T0));
	assert_int_equal(EOVERFLOW,
			 sbc_reg_lookup_aor(f->shm, &aor, T0, &out, 1, &n));

	/* a record whose string runs off its field is refused whole */
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	memset(r.contact, 'c', sizeof(r.contact));
	assert_int_equal(EINVAL, sbc_reg_put(f->w, &r, T0));

	/* so is one without a key */
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	r.instance[0] = '\0';
	assert_int_equal(EINVAL, sbc_reg_put(f->w, &r, T0));
	assert_int_equal(0, sbc_shm_count(f->shm, SBC_TBL_REG));
}


/* 100 instances of one AOR: one probe chain, and 6 bits of signature to
 * tell them apart, so full signature collisions are certain. */
static void test_collisions_one_aor(void **state)
{
	struct fixture *f = *state;
	struct sbc_reg r, out;
	char inst[64];
	int i;

	for (i = 0; i < 100; i++) {
		re_snprintf(inst, sizeof(inst), "<urn:uuid:%d>", i);
		reg_make(&r, "sip:pbx@example.com", inst, T0 + TTL);
		r.cseq = (uint32_t)i;
		assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	}

	assert_int_equal(100, reg_count_aor(f, "sip:pbx@example.com", T0));

	for (i = 0; i < 100; i += 2) {
		re_snprintf(inst, sizeof(inst), "<urn:uuid:%d>", i);
		assert_int_equal(0, reg_del(f, "sip:pbx@example.com", inst, T0));
	}

	for (i = 0; i < 100; i++) {
		re_snprintf(inst, sizeof(inst), "<urn:uuid:%d>", i);
		if (i % 2) {
			assert_int_equal(0, reg_get(f, "sip:pbx@example.com",
						    inst, T0, &out));
			assert_int_equal(i, out.cseq);
		}
		else {
			assert_int_equal(ENOENT, reg_get(f, "sip:pbx@example.com",
							 inst, T0, &out));
		}
	}

	assert_int_equal(50, reg_count_aor(f, "sip:pbx@example.com", T0));
	check_clean(f, 50);
}


/* Keys that do not sit in their home slot: collisions of home slots. */
static uint32_t displaced(const struct fixture *f)
{
	const struct sbc_table *t = &f->shm->tbl[SBC_TBL_REG];
	_Alignas(8) uint8_t keybuf[SBC_KEY_MAX];
	uint32_t s, n = 0;

	for (s = 0; s < t->slots; s++) {
		struct sbc_tkey tk;

		if (sbc_ctl_state(t->ctl[s]) != SBC_SLOT_LIVE)
			continue;

		t->ops->key_of(sbc_table_rec(t, s), &tk, keybuf);
		if (sbc_table_home(t, &tk) != s)
			++n;
	}

	return n;
}


/* A table filled to 90 % of max, emptied and filled again, five times. */
static void test_collisions_home(void **state)
{
	struct fixture *f = *state;
	struct sbc_sweep_report sw;
	struct sbc_reg r, out;
	char aor[64];
	int round, i;

	for (round = 0; round < 5; round++) {

		for (i = 0; i < 900; i++) {
			re_snprintf(aor, sizeof(aor), "sip:%d-%d@x", round, i);
			reg_make(&r, aor, "i", T0 + TTL);
			assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
		}

		assert_true(displaced(f) > 100);

		for (i = 0; i < 900; i++) {
			re_snprintf(aor, sizeof(aor), "sip:%d-%d@x", round, i);
			assert_int_equal(0, reg_get(f, aor, "i", T0, &out));
			assert_string_equal(aor, out.aor);
		}

		for (i = 0; i < 900; i++) {
			re_snprintf(aor, sizeof(aor), "sip:%d-%d@x", round, i);
			assert_int_equal(0, reg_del(f, aor, "i", T0));
		}

		assert_int_equal(0, sbc_shm_sweep(f->w, SBC_TBL_REG, T0, 1000,
						  &sw));
	}

	check_clean(f, 0);
}


static void dlg_make(struct sbc_dlg *d, const char *call_id,
		     const char *from_tag, const char *to_tag)
{
	memset(d, 0, sizeof(*d));
	d->expires = T0 + TTL;
	d->setup = T0;
	d->state = SBC_DLG_EARLY;
	assert_int_equal(0, SBC_FIELD_SET_STR(d->call_id, call_id));
	assert_int_equal(0, SBC_FIELD_SET_STR(d->from_tag, from_tag));
	assert_int_equal(0, SBC_FIELD_SET_STR(d->to_tag, to_tag));
	assert_int_equal(0, SBC_FIELD_SET_STR(d->caller.route,
					      "<sip:192.0.2.1;lr>"));
}


static void test_dialogs(void **state)
{
	struct fixture *f = *state;
	struct sbc_dlg d, out, v[4];
	struct sbc_dlg_key key = {
		.call_id = PL("a84b4c76e66710@pc33"),
		.from_tag = PL("1928301774"),
		.to_tag = PL("b2"),
	};
	struct pl cid = PL("a84b4c76e66710@pc33");
	size_t n;

	/* an INVITE forked to two callees makes two early dialogs */
	dlg_make(&d, "a84b4c76e66710@pc33", "1928301774", "b1");
	assert_int_equal(0, sbc_dlg_put(f->w, &d, T0));
	dlg_make(&d, "a84b4c76e66710@pc33", "1928301774", "b2");
	assert_int_equal(0, sbc_dlg_put(f->w, &d, T0));
	dlg_make(&d, "other@pc33", "1928301774", "b2");
	assert_int_equal(0, sbc_dlg_put(f->w, &d, T0));

	assert_int_equal(0, sbc_dlg_lookup_callid(f->shm, &cid, T0, v, 4, &n));
	assert_int_equal(2, n);

	/* one answers: confirmed, with the answer time */
	dlg_make(&d, "a84b4c76e66710@pc33", "1928301774", "b2");
	d.state = SBC_DLG_CONFIRMED;
	d.answer = T0 + 5;
	assert_int_equal(0, sbc_dlg_put(f->w, &d, T0 + 5));
	assert_int_equal(0, sbc_dlg_get(f->shm, &key, T0 + 5, &out));
	assert_int_equal(SBC_DLG_CONFIRMED, out.state);
	assert_string_equal("<sip:192.0.2.1;lr>", out.caller.route);

	/* the other early dialog goes */
	key.to_tag = (struct pl)PL("b1");
	assert_int_equal(0, sbc_dlg_del(f->w, &key, T0 + 5));
	assert_int_equal(ENOENT, sbc_dlg_get(f->shm, &key, T0 + 5, &out));
	assert_int_equal(0, sbc_dlg_lookup_callid(f->shm, &cid, T0, v, 4, &n));
	assert_int_equal(1, n);
	assert_string_equal("b2", v[0].to_tag);
	assert_int_equal(2, sbc_shm_count(f->shm, SBC_TBL_DLG));

	/* a field too long is refused */
	dlg_make(&d, "x", "1", "2");
	assert_int_equal(EOVERFLOW, SBC_FIELD_SET_STR(d.from_tag,
		"0123456789012345678901234567890123456789012345678901234567890123"));
	check_clean(f, 2);
}


static void test_ring(void **state)
{
	struct fixture *f = *state;
	struct sbc_ring_reader rd;
	struct sbc_change chg;
	struct sbc_reg r, out;

	sbc_ring_follow(&rd, f->shm, 0);
	assert_int_equal(ENOENT, sbc_ring_next(&rd, f->shm, &chg));

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	r.cseq = 2;
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	assert_int_equal(0, sbc_ring_next(&rd, f->shm, &chg));
	assert_int_equal(SBC_CHG_INSERT, chg.kind);
	assert_int_equal(SBC_TBL_REG, chg.table);

	/* the follower re-reads the slot it was told about */
	assert_int_equal(0, sbc_ring_next(&rd, f->shm, &chg));
	assert_int_equal(SBC_CHG_UPDATE, chg.kind);
	assert_int_equal(0, sbc_reg_read_slot(f->shm, chg.slot, T0, &out));
	assert_int_equal(2, out.cseq);
	assert_int_equal(ENOENT, sbc_ring_next(&rd, f->shm, &chg));

	assert_int_equal(0, reg_del(f, "sip:alice@example.com", "<urn:uuid:1>",
				    T0));
	assert_int_equal(0, sbc_ring_next(&rd, f->shm, &chg));
	assert_int_equal(SBC_CHG_DELETE, chg.kind);
	assert_string_equal("delete", sbc_chg_name(chg.kind));
	assert_int_equal(ENOENT, sbc_reg_read_slot(f->shm, chg.slot, T0, &out));

	assert_int_equal(ENOENT, sbc_ring_next(&rd, f->shm, &chg));
}


/* Ring of 16: a follower 16 behind reads them all, one more is lost. */
static void test_ring_wrap(void **state)
{
	struct fixture *f = *state;
	struct sbc_ring_reader rd;
	struct sbc_change chg;
	struct sbc_reg r;
	int i, round;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	sbc_ring_follow(&rd, f->shm, 0);

	for (round = 0; round < 3; round++) {

		for (i = 0; i < 16; i++) {
			r.cseq = (uint32_t)i;
			assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
		}

		for (i = 0; i < 16; i++)
			assert_int_equal(0, sbc_ring_next(&rd, f->shm, &chg));

		assert_int_equal(ENOENT, sbc_ring_next(&rd, f->shm, &chg));
	}

	for (i = 0; i < 17; i++)
		assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	assert_int_equal(EOVERFLOW, sbc_ring_next(&rd, f->shm, &chg));

	/* after the overflow it follows from the head again */
	assert_int_equal(ENOENT, sbc_ring_next(&rd, f->shm, &chg));
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	assert_int_equal(0, sbc_ring_next(&rd, f->shm, &chg));
	assert_int_equal(SBC_CHG_UPDATE, chg.kind);
}


static void test_compaction(void **state)
{
	struct fixture *f = *state;
	struct sbc_check_report rep;
	struct sbc_sweep_report sw;
	const struct sbc_table *t = &f->shm->tbl[SBC_TBL_REG];
	struct sbc_reg r, out;
	char aor[64];
	int i;

	for (i = 0; i < 900; i++) {
		re_snprintf(aor, sizeof(aor), "sip:%d@x", i);
		reg_make(&r, aor, "i", T0 + TTL);
		assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	}

	for (i = 0; i < 900; i += 3) {
		re_snprintf(aor, sizeof(aor), "sip:%d@x", i);
		assert_int_equal(0, reg_del(f, aor, "i", T0));
	}

	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(300, rep.tombs);

	assert_int_equal(0, sbc_shm_sweep(f->w, SBC_TBL_REG, T0, t->slots,
					  &sw));
	assert_true(sw.compacted > 0);
	assert_int_equal(0, atomic_load(&t->hdr->gen) & 1);

	/* what remains is reachable, and tombstones only stand in chains */
	for (i = 0; i < 900; i++) {
		re_snprintf(aor, sizeof(aor), "sip:%d@x", i);
		assert_int_equal(i % 3 ? 0 : ENOENT,
				 reg_get(f, aor, "i", T0, &out));
	}

	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(0, rep.errors);
	assert_int_equal(600, rep.live);
	assert_int_equal(300 - sw.compacted, rep.tombs);
}


static uint32_t slot_of(const struct fixture *f, const char *aor)
{
	const struct sbc_table *t = &f->shm->tbl[SBC_TBL_REG];
	uint32_t s;

	for (s = 0; s < t->slots; s++) {
		const struct sbc_reg *r = sbc_table_rec(t, s);

		if (sbc_ctl_state(t->ctl[s]) == SBC_SLOT_LIVE &&
		    !strcmp(r->aor, aor))
			return s;
	}

	fail_msg("%s not in the table", aor);
	return SBC_NOSLOT;
}


/* A slot left odd by writer 2, which never attached (no live process). */
static void test_check_reclaims_half_written(void **state)
{
	struct fixture *f = *state;
	const struct sbc_table *t = &f->shm->tbl[SBC_TBL_REG];
	struct sbc_check_report rep;
	struct sbc_reg r, out;
	uint32_t s;
	uint64_t c;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	reg_make(&r, "sip:bob@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	s = slot_of(f, "sip:alice@example.com");
	c = t->ctl[s];
	t->ctl[s] = sbc_ctl_make(sbc_ctl_ver(c) + 1, sbc_ctl_sig(c), 2,
				 SBC_SLOT_LIVE);
	memset(sbc_table_rec(t, s), 0xa5, 40);

	/* readers neither hang nor see the torn record */
	assert_int_equal(EAGAIN, reg_get(f, "sip:alice@example.com",
					 "<urn:uuid:1>", T0, &out));
	assert_int_equal(0, reg_get(f, "sip:bob@example.com", "<urn:uuid:1>",
				    T0, &out));

	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(1, rep.reclaimed);
	assert_int_equal(0, rep.errors);
	assert_int_equal(1, rep.live);
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));

	/* the half-written update is lost; the key can be written again */
	assert_int_equal(ENOENT, reg_get(f, "sip:alice@example.com",
					 "<urn:uuid:1>", T0, &out));
	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	check_clean(f, 2);
}


/* An EMPTY slot inside a chain (a bug) hides a record: the checker mends. */
static void test_check_repairs_broken_chain(void **state)
{
	struct fixture *f = *state;
	const struct sbc_table *t = &f->shm->tbl[SBC_TBL_REG];
	struct sbc_check_report rep;
	struct sbc_reg r, out;
	uint32_t s;
	char inst[16];
	int i, found;

	/* four bindings of one AOR share a chain */
	for (i = 0; i < 4; i++) {
		re_snprintf(inst, sizeof(inst), "i%d", i);
		reg_make(&r, "sip:alice@example.com", inst, T0 + TTL);
		assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	}

	s = slot_of(f, "sip:alice@example.com");
	t->ctl[s] = sbc_ctl_make(sbc_ctl_ver(t->ctl[s]) + 2, 0, 0,
				 SBC_SLOT_EMPTY);
	assert_int_equal(0, reg_count_aor(f, "sip:alice@example.com", T0));

	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_true(rep.errors >= 1);
	assert_int_equal(3, rep.live);
	assert_int_equal(3, reg_count_aor(f, "sip:alice@example.com", T0));

	found = 0;
	for (i = 0; i < 4; i++) {
		re_snprintf(inst, sizeof(inst), "i%d", i);
		if (reg_get(f, "sip:alice@example.com", inst, T0, &out) == 0) {
			assert_string_equal(inst, out.instance);
			++found;
		}
	}
	assert_int_equal(3, found);
}


static void test_writers(void **state)
{
	struct fixture *f = *state;
	struct sbc_writer *w1 = NULL, *again = NULL;
	pid_t pid;
	int status;

	assert_int_equal(EINVAL, sbc_writer_attach(&w1, f->shm, 4));
	assert_int_equal(EBUSY, sbc_writer_attach(&again, f->shm, 0));

	/* a child holds index 1 while it lives */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbc_writer *cw = NULL;

		if (sbc_writer_attach(&cw, f->shm, 1))
			_exit(1);
		pause();
		_exit(0);
	}

	while (!sbc_writer_alive(f->shm, 1))
		usleep(1000);
	assert_int_equal(EBUSY, sbc_writer_attach(&w1, f->shm, 1));

	assert_int_equal(0, kill(pid, SIGKILL));
	assert_int_equal(pid, waitpid(pid, &status, 0));
	sbc_writer_gone(f->shm, 1);
	assert_false(sbc_writer_alive(f->shm, 1));

	assert_int_equal(0, sbc_writer_attach(&w1, f->shm, 1));
	assert_int_equal(1, sbc_writer_index(w1));
	w1 = mem_deref(w1);
	assert_false(sbc_writer_alive(f->shm, 1));
}


/*
 * A child writer removes a binding as sbc_reg_del() does, but dies after
 * `steps` of its three steps: note the change, make it, count it.
 */
static void child_dies_in_delete(struct fixture *f, int steps)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		const struct sbc_table *t = &f->shm->tbl[SBC_TBL_REG];
		struct sbc_writer *cw = NULL;
		uint32_t s = slot_of(f, "sip:alice@example.com");
		uint64_t c = t->ctl[s], tomb;

		if (sbc_writer_attach(&cw, f->shm, 1))
			_exit(1);

		tomb = sbc_ctl_tomb(c, 1);
		sbc_count_begin(cw, SBC_TBL_REG, s, tomb, -1);
		if (steps > 1)
			atomic_store(&t->ctl[s], tomb);
		_exit(0);
	}

	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sbc_writer_gone(f->shm, 1);
}


static void test_count_settles_dead_delete(void **state)
{
	struct fixture *f = *state;
	struct sbc_check_report rep;
	struct sbc_reg r;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	/* noted, not made: the record stays, and so does its count */
	child_dies_in_delete(f, 1);
	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(0, rep.unsettled);
	assert_int_equal(1, rep.live);
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));

	/* made, not counted: the checker counts it */
	child_dies_in_delete(f, 2);
	assert_int_equal(1, sbc_shm_count(f->shm, SBC_TBL_REG));
	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(0, rep.unsettled);
	assert_int_equal(0, rep.live);
	assert_int_equal(0, sbc_shm_count(f->shm, SBC_TBL_REG));

	/* settled once: a second check changes nothing */
	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(0, sbc_shm_count(f->shm, SBC_TBL_REG));
}


/* Another writer reused the slot before the checker ran: unknowable. */
static void test_count_unsettled(void **state)
{
	struct fixture *f = *state;
	struct sbc_check_report rep;
	struct sbc_reg r;

	reg_make(&r, "sip:alice@example.com", "<urn:uuid:1>", T0 + TTL);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	child_dies_in_delete(f, 2);
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));

	assert_int_equal(0, sbc_shm_check(f->w, &rep));
	assert_int_equal(1, rep.unsettled);
	assert_int_equal(1, rep.live);
}


/* A real writer process killed while it writes: the checker reclaims. */
static void test_check_after_kill(void **state)
{
	struct fixture *f = *state;
	struct pl aor = PL("sip:hot@example.com"), inst = PL("<urn:uuid:1>");
	struct sbc_check_report rep;
	uint32_t reclaimed = 0;
	struct sbc_reg r;
	int attempt;

	reg_make(&r, "sip:hot@example.com", "<urn:uuid:1>", UINT64_MAX);

	for (attempt = 0; attempt < 500 && (attempt < 50 || !reclaimed);
	     attempt++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct sbc_writer *cw = NULL;

			if (sbc_writer_attach(&cw, f->shm, 1))
				_exit(1);
			for (;;) {
				++r.cseq;
				sbc_reg_put(cw, &r, T0);
				if (r.cseq % 2)
					sbc_reg_del(cw, &aor, &inst, T0);
			}
		}

		usleep(1000 + (unsigned)(rand() % 3000));
		assert_int_equal(0, kill(pid, SIGKILL));
		assert_int_equal(pid, waitpid(pid, &status, 0));
		assert_true(WIFSIGNALED(status));
		sbc_writer_gone(f->shm, 1);

		assert_int_equal(0, sbc_shm_check(f->w, &rep));
		assert_int_equal(0, rep.errors);
		assert_int_equal(0, rep.busy);
		assert_int_equal(0, rep.unsettled);
		assert_int_equal(rep.live + rep.expired,
				 sbc_shm_count(f->shm, SBC_TBL_REG));
		reclaimed += rep.reclaimed;
	}

	print_message("killed %d writers, %u slots reclaimed\n", attempt,
		      reclaimed);
	assert_true(reclaimed > 0);

	/* the table keeps serving */
	r.expires = T0 + TTL;
	assert_int_equal(0, sbc_reg_put(f->w, &r, T0));
	assert_int_equal(0, reg_del(f, "sip:hot@example.com", "<urn:uuid:1>",
				    T0));
	check_clean(f, 0);
	assert_int_equal(0, sbc_shm_count(f->shm, SBC_TBL_REG));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_attach, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_insert_lookup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_aor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_table, setup_small,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collisions_one_aor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_collisions_home, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dialogs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wrap, setup_small,
						teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check_reclaims_half_written,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_repairs_broken_chain,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_settles_dead_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_unsettled, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check_after_kill, setup,
						teardown),
	};

	T0 = sbc_now_ms();

	return cmocka_run_group_tests(tests, NULL, NULL);
}
