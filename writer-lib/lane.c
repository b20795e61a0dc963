/* SPDX-License-Identifier: MIT */
/*
 * lane.c - a thread's lane: claim, prefault, cost measurement, release.
 *
 * A thread claims a free lane once, with one CAS on its owner word, and only
 * a lane the reader has drained (head == tail), so the CLAIM event that
 * starts the new owner's run always fits. The CLAIM says who owns the lane
 * from here on (pid, start time), the lane's drop counters at the hand-over
 * (which split them exactly between owners), and what this thread measured
 * recording costs here. The thread owns the lane until it exits (a pthread
 * key destructor releases it) or the process detaches.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "state.h"

void ap_w_lane_release(struct ap_thread *t)
{
	uint64_t mine = AP_OWNER(ap_p.pid, ap_p.start_time);

	if (!t->lane)
		return;
	t->recorded_base += t->head - t->claim_head;
	/* Release: every head store above is visible before the lane looks free. */
	ap_cas_release(&t->lane->owner, &mine, 0);
	t->lane = NULL;
	t->ring = NULL;
	ap_w_go(t);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Map the lane's ring into this process's page tables now, on the slow path,
 * instead of taking a minor fault every 64 events of the first lap (measured:
 * that alone made a span cost several times the floor on a fresh lane).
 * MADV_POPULATE_WRITE (Linux 5.14) does it in one call; elsewhere touch each
 * page. The lane is drained and ours, so rewriting a byte with its own value
 * disturbs nothing.
 */
static void prefault(void *p, size_t bytes)
{
	volatile unsigned char *c = p;

	if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
		return;
	for (size_t off = 0; off < bytes; off += 4096)
		c[off] = c[off];
}

#define COST_EVENTS 512u	/* events timed per measurement */
#define SCRATCH_EVENTS 1024u

/*
 * The cost of recording an event on this machine, measured by running the
 * write path (clock read, the event's stores, store-release of head) over a
 * private scratch ring. Done once per lane claim, on the slow path; the
 * result travels in the CLAIM event and lets every report state the
 * profiler's own cost from a measurement, not an assumption. Returns ticks
 * per event x 16, 0 when the scratch ring could not be allocated.
 */
static uint64_t measure_cost16(struct ap_thread *t)
{
	struct ap_lane *lane = &ap_p.scratch_lane;
	uint64_t t0, t1, h = 0;

	if (!ap_p.scratch) {
		/* mmap, not malloc: the first claim may be in a signal handler. */
		void *p = mmap(NULL, SCRATCH_EVENTS * sizeof(struct ap_event), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 0;
		ap_p.scratch = p;
	}
	t0 = now_ticks();
	for (uint32_t k = 0; k < COST_EVENTS; k += 2, h += 2) {
		struct ap_event *e = &ap_p.scratch[h & (SCRATCH_EVENTS - 1)];

		put_head(e, AP_EV_BEGIN, AP_CAT_TOOL, 0, t->tid, now_ticks(), t->next_id + h);
		e->u.begin.parent_id = h;
		e->u.begin.trace_hi = t->trace_hi;
		e->u.begin.trace_lo = k;
		e->u.begin.name_id = t0;
		e->u.begin.reserved = 0;
		ap_store_release(&lane->head, h + 1);
		e = &ap_p.scratch[(h + 1) & (SCRATCH_EVENTS - 1)];
		put_head(e, AP_EV_END, 0, 0, t->tid, now_ticks(), t->next_id + h);
		ap_store_release(&lane->head, h + 2);
	}
	t1 = now_ticks();
	return t1 > t0 ? (t1 - t0) * 16 / COST_EVENTS : 0;
}

int ap_w_lane_claim(struct ap_thread *t)
{
	const struct ap_segment *seg = &ap_p.seg;
	uint64_t me = AP_OWNER(ap_p.pid, ap_p.start_time);
	uint32_t n = seg->lane_count;
	uint32_t first = (uint32_t)ap_mix64(t->tid) % n;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (first + k) % n;
		struct ap_lane *lane = &seg->lanes[i];
		uint64_t zero = 0, h, tl, cost16, setup_us;
		struct ap_event *e;

		if (ap_load_relaxed(&lane->owner) != 0)
			continue;
		if (ap_load_relaxed(&lane->head) != ap_load_relaxed(&lane->tail))
			continue;	/* the reader has not drained the last owner yet */
		if (!ap_cas_acq_rel(&lane->owner, &zero, me))
			continue;
		/* Only an owner writes head, and we own it now: this head is final. */
		h = ap_load_relaxed(&lane->head);
		tl = ap_load_acquire(&lane->tail);
		if (h != tl) {
			ap_store_release(&lane->owner, 0);
			continue;
		}
		t->lane = lane;
		t->ring = ap_seg_ring(seg, i);
		prefault(t->ring, (size_t)seg->lane_capacity * sizeof(struct ap_event));
		cost16 = measure_cost16(t);
		t->mask = seg->lane_capacity - 1;
		t->tail_cache = tl;
		t->dropped_full = ap_load_relaxed(&lane->dropped_full);

		/* CLAIM: the reader learns the new owner in-band, in order. */
		e = &t->ring[h & t->mask];
		memset(e, 0, sizeof(*e));
		put_head(e, AP_EV_CLAIM, 0, 0, t->tid, now_ticks(), 0);
		e->claim_no_reader = t->no_reader_unsent;	/* the next reader reports the gap */
		t->no_reader_unsent = 0;
		e->u.claim.pid = ap_p.pid;
		e->u.claim.start_time = ap_p.start_time;
		e->u.claim.dropped_full = t->dropped_full;
		e->u.claim.dropped_reentrant = ap_load_relaxed(&lane->dropped_reentrant);
		setup_us = (ap_w_thread_cpu_ns() - t->ready_cpu0) / 1000;
		e->u.claim.cost = (cost16 & 0xffffffffu) | (setup_us > 0xffffffffu ? 0xffffffffu : setup_us) << 32;
		t->head = h + 1;
		t->claim_head = h + 1;
		ap_store_release(&lane->head, h + 1);	/* (B) */
		ap_w_go(t);
		return 1;
	}
	return 0;
}

void ap_w_thread_exit(void *arg)
{
	struct ap_thread *t = arg;

	if (t->pid != ap_p.pid) {
		ap_w_self_recycle(t);
		return;
	}
	t->busy = 1;
	ap_w_lane_release(t);
	ap_add_relaxed(&ap_p.exited_recorded, t->recorded_base);
	ap_add_relaxed(&ap_p.exited_full, t->my_dropped_full);
	ap_add_relaxed(&ap_p.exited_no_lane, t->my_dropped_no_lane);
	ap_add_relaxed(&ap_p.exited_reentrant, ap_load_relaxed(&t->my_dropped_reentrant));
	ap_add_relaxed(&ap_p.exited_no_reader, t->my_no_reader);
	t->my_no_reader = t->no_reader_unsent = 0;
	t->recorded_base = t->my_dropped_full = t->my_dropped_no_lane = 0;
	ap_store_relaxed(&t->my_dropped_reentrant, 0);
	t->pid = 0;
	t->busy = 0;
	ap_w_self_recycle(t);
}
