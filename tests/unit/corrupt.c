/* SPDX-License-Identifier: MIT */
/*
 * corrupt.c - the reader against a segment it cannot trust.
 *
 *  - Hand-made events in one lane: bad kinds, categories and ids are
 *    rejected and counted; each lane invariant (head behind tail, head more
 *    than a ring ahead, counters going backwards, a bad CLAIM) quarantines
 *    that lane with its reason, and the other lanes keep draining.
 *  - A misbehaving worker writes random bytes over its own lane header and
 *    ring and over free lanes' headers, again and again, while good workers
 *    record: the reader never crashes (the suite also runs under ASan and
 *    UBSan), quarantines, and the good workers' counts stay exact.
 *  - A streaming writer's page is left alone: a lane whose head moved a page
 *    (64 events) or more since the last pass is read up to the start of the
 *    page its head is in, the rest on the next pass that finds the head
 *    where it was; a slow writer is read to its head at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "name.h"
#include "writer_internal.h"

static struct ap_event *slot(struct t_reader *r, uint32_t lane, uint64_t pos)
{
	return &ap_seg_ring(&r->seg, lane)[pos & (r->seg.lane_capacity - 1)];
}

static void put_claim(struct t_reader *r, uint32_t lane, uint64_t pos, uint64_t pid)
{
	struct ap_event *e = slot(r, lane, pos);

	memset(e, 0, sizeof(*e));
	e->kind = AP_EV_CLAIM;
	e->tid = 77;
	e->u.claim.pid = pid;
}

static void put_begin(struct t_reader *r, uint32_t lane, uint64_t pos, uint64_t id, uint8_t cat)
{
	struct ap_event *e = slot(r, lane, pos);

	memset(e, 0, sizeof(*e));
	e->kind = AP_EV_BEGIN;
	e->category = cat;
	e->span_id = id;
	e->u.begin.name_id = 5;
}

static void test_invariants_quarantine_each_lane(void)
{
	struct t_reader r;
	struct ap_event *e;

	CU_ASSERT_FATAL(t_reader_open(&r, 6, 16) == 0);
	/* Lane 0: a valid CLAIM, then three bad events and one good one. */
	put_claim(&r, 0, 0, 4242);
	e = slot(&r, 0, 1);
	memset(e, 0xee, sizeof(*e));			/* kind 0xee */
	put_begin(&r, 0, 2, 9, 200);			/* category out of range */
	put_begin(&r, 0, 3, 0, AP_CAT_TOOL);		/* span id 0 */
	put_begin(&r, 0, 4, 9, AP_CAT_TOOL);		/* valid */
	atomic_store(&r.seg.lanes[0].head, 5);
	/* Lane 1: events before any CLAIM are rejected. */
	put_begin(&r, 1, 0, 10, AP_CAT_TOOL);
	atomic_store(&r.seg.lanes[1].head, 1);
	/* Lane 2: head more than a ring ahead. */
	atomic_store(&r.seg.lanes[2].head, 17);
	/* Lane 3: a CLAIM with pid 0. */
	put_claim(&r, 3, 0, 0);
	atomic_store(&r.seg.lanes[3].head, 1);
	/* Lane 4: a CLAIM that says more was dropped than the lane counted. */
	put_claim(&r, 4, 0, 4243);
	slot(&r, 4, 0)->u.claim.dropped_full = 99;
	atomic_store(&r.seg.lanes[4].head, 1);

	ap_drain_pass(&r.drain);
	CU_ASSERT_EQUAL(r.drain.lanes[0].rejected, 3);
	CU_ASSERT_EQUAL(r.drain.lanes[0].events, 4);
	CU_ASSERT_PTR_NOT_NULL(ap_asm_find(&r.as, 9));	/* in flight: its trace is open */
	CU_ASSERT_EQUAL(r.drain.lanes[1].rejected, 1);
	CU_ASSERT_PTR_NULL(r.drain.lanes[0].quarantined);
	CU_ASSERT_PTR_NULL(r.drain.lanes[1].quarantined);
	CU_ASSERT_STRING_EQUAL(r.drain.lanes[2].quarantined, "head more than a ring ahead of tail");
	CU_ASSERT_STRING_EQUAL(r.drain.lanes[3].quarantined, "invalid CLAIM event");
	CU_ASSERT_STRING_EQUAL(r.drain.lanes[4].quarantined, "invalid CLAIM event");

	/* Lane 0: head moves backwards. Lane 1: a drop counter goes backwards. */
	atomic_store(&r.seg.lanes[0].head, 2);
	atomic_store(&r.seg.lanes[1].dropped_full, 50);
	put_claim(&r, 1, 1, 4244);
	atomic_store(&r.seg.lanes[1].head, 2);
	ap_drain_pass(&r.drain);
	CU_ASSERT_STRING_EQUAL(r.drain.lanes[0].quarantined, "head moved backwards");
	CU_ASSERT_PTR_NULL(r.drain.lanes[1].quarantined);
	atomic_store(&r.seg.lanes[1].dropped_full, 10);
	put_begin(&r, 1, 2, 11, AP_CAT_LLM);
	atomic_store(&r.seg.lanes[1].head, 3);
	ap_drain_pass(&r.drain);
	CU_ASSERT_STRING_EQUAL(r.drain.lanes[1].quarantined, "drop counter went backwards");
	CU_ASSERT_EQUAL(r.drain.quarantined_lanes, 5);

	/* Lane 5 is healthy and still drains. */
	put_claim(&r, 5, 0, 4245);
	put_begin(&r, 5, 1, 12, AP_CAT_MEMORY);
	atomic_store(&r.seg.lanes[5].head, 2);
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 2);
	CU_ASSERT_PTR_NOT_NULL(ap_asm_find(&r.as, 12));
	t_reader_close(&r);
}

/* Name slots whose string does not hash to the id are refused. */
static void test_names_verified(void)
{
	struct t_reader r;
	struct ap_name_slot *s;
	char buf[32];
	uint64_t good = ap_name_hash("real:name", 9);

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 16) == 0);
	s = &r.seg.names[0];
	atomic_store(&s->key, good);
	s->len = 9;
	memcpy(s->str, "real:name", 10);
	atomic_store(&s->ready, good);
	s = &r.seg.names[1];
	atomic_store(&s->key, 12345);
	s->len = 4;
	memcpy(s->str, "fake", 5);
	atomic_store(&s->ready, 12345);
	s = &r.seg.names[2];
	atomic_store(&s->key, 777);
	s->len = 5000;			/* longer than a slot */
	atomic_store(&s->ready, 777);
	ap_names_load(&r.names, &r.seg);
	CU_ASSERT_STRING_EQUAL(ap_names_get(&r.names, good, buf), "real:name");
	CU_ASSERT_STRING_EQUAL(ap_names_get(&r.names, 12345, buf), "name#0000000000003039");
	CU_ASSERT_EQUAL(r.names.invalid, 2);
	t_reader_close(&r);
}

#define GOOD 3
#define GOOD_SPANS 20000

struct garg {
	const char *seg;
	int ready_fd;
};

static int good_worker(void *arg)
{
	struct garg *g = arg;
	uint64_t name;
	char c = 'g';

	if (ap_attach(g->seg) != 0)
		return 2;
	name = ap_name("corrupt:good");
	ap_end(ap_begin(name, AP_CAT_TOOL));	/* lane claimed */
	if (write(g->ready_fd, &c, 1) != 1)
		return 3;
	for (int i = 1; i < GOOD_SPANS; i++) {
		ap_end(ap_begin(name, AP_CAT_TOOL));
		if (i % 2000 == 0)
			t_sleep_ms(1);
	}
	return 0;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int bad_worker(void *arg)
{
	struct ap_segment seg;
	uint64_t s = 0x5eed, me;
	uint32_t pid = (uint32_t)getpid();

	if (ap_attach(arg) != 0)
		return 2;
	ap_end(ap_begin(ap_name("corrupt:bad"), AP_CAT_TOOL));	/* own a lane */
	if (ap_seg_attach(&seg, arg) != 0)
		return 3;
	for (int round = 0; round < 3000; round++) {
		for (uint32_t i = 0; i < seg.lane_count; i++) {
			struct ap_lane *lane = &seg.lanes[i];
			uint64_t owner = atomic_load(&lane->owner);
			unsigned char *p;

			me = AP_OWNER_PID(owner);
			if (owner != 0 && me != pid)
				continue;	/* a good worker's lane: leave it */
			p = (unsigned char *)lane;
			for (int k = 0; k < 8; k++)
				p[rnd(&s) % sizeof(*lane)] = (unsigned char)rnd(&s);
			if (owner != 0 || rnd(&s) % 2) {
				unsigned char *ring = (unsigned char *)ap_seg_ring(&seg, i);
				size_t bytes = (size_t)seg.lane_capacity * sizeof(struct ap_event);

				for (int k = 0; k < 64; k++)
					ring[rnd(&s) % bytes] = (unsigned char)rnd(&s);
			}
		}
		if (round % 100 == 0)
			t_sleep_ms(1);
	}
	return 0;
}

static void test_scribbling_worker(void)
{
	struct t_reader r;
	struct garg g[GOOD];
	pid_t pids[GOOD + 1];
	int codes[GOOD + 1], fds[2];
	char c;

	/* Lanes hold a good worker's whole output: no drop is possible. */
	CU_ASSERT_FATAL(t_reader_open(&r, 8, 65536) == 0);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	for (int i = 0; i < GOOD; i++) {
		g[i].seg = r.seg.name;
		g[i].ready_fd = fds[1];
		pids[i] = t_fork(good_worker, &g[i]);
	}
	for (int i = 0; i < GOOD; i++) {
		while (read(fds[0], &c, 1) != 1)
			ap_drain_pass(&r.drain);
	}
	pids[GOOD] = t_fork(bad_worker, r.seg.name);
	t_reader_run(&r, pids, GOOD + 1, codes);
	for (int i = 0; i <= GOOD; i++)
		CU_ASSERT_EQUAL(codes[i], 0);
	for (int i = 0; i < GOOD; i++) {
		const struct ap_proc_row *p = t_proc(&r, (uint32_t)pids[i]);

		CU_ASSERT_FATAL(p != NULL);
		if (p->events != 2 * GOOD_SPANS)
			fprintf(stderr, "\n    good %d: events %llu spans %llu dropped %llu code %d\n", i,
				(unsigned long long)p->events, (unsigned long long)p->spans,
				(unsigned long long)p->dropped, codes[i]);
		CU_ASSERT_EQUAL(p->events, 2 * GOOD_SPANS);
		CU_ASSERT_EQUAL(p->spans, GOOD_SPANS);
		CU_ASSERT_EQUAL(p->dropped, 0);
	}
	CU_ASSERT(r.tot.quarantined_lanes >= 1);
	close(fds[0]);
	close(fds[1]);
	t_reader_close(&r);
}

/* Events [from, to) of lane 0: BEGINs of spans 2k + 1. */
static void put_run(struct t_reader *r, uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k < to; k++)
		put_begin(r, 0, k, 2 * k + 1, AP_CAT_TOOL);
	atomic_store(&r->seg.lanes[0].head, to);
}

static void test_streaming_page_left_alone(void)
{
	struct t_reader r;

	CU_ASSERT_FATAL(t_reader_open(&r, 1, 1024) == 0);
	put_claim(&r, 0, 0, 4246);
	put_run(&r, 1, 200);
	/* Moved 200: read to the start of the page holding event 199. */
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 192);
	CU_ASSERT_EQUAL(atomic_load(&r.seg.lanes[0].tail), 192);
	/* The head stayed: the writer paused; the rest is read. */
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 8);
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 0);
	/* A slow writer (under a page per pass) is read to its head. */
	put_run(&r, 200, 210);
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 10);
	/* Streaming again, across the ring's end: up to event 1216's page. */
	put_run(&r, 210, 1217);
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 1216 - 210);
	CU_ASSERT_EQUAL(atomic_load(&r.seg.lanes[0].tail), 1216);
	CU_ASSERT_EQUAL(ap_drain_pass(&r.drain), 1);
	ap_drain_totals(&r.drain, &r.tot);
	CU_ASSERT_EQUAL(r.tot.read, 1216);
	CU_ASSERT_EQUAL(r.tot.claims, 1);
	CU_ASSERT_EQUAL(r.tot.in_ring, 0);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	CU_ASSERT_PTR_NULL(r.drain.lanes[0].quarantined);
	t_reader_close(&r);
}

void t_register_corrupt(void)
{
	CU_pSuite s = CU_add_suite("corrupt", NULL, NULL);

	T_ADD(s, test_invariants_quarantine_each_lane);
	T_ADD(s, test_names_verified);
	T_ADD(s, test_scribbling_worker);
	T_ADD(s, test_streaming_page_left_alone);
}
