/* SPDX-License-Identifier: MIT */
/*
 * drain.c - copy events out of the lanes without trusting the segment.
 *
 * Each pass visits every healthy lane once and reads at most `batch` events
 * from it, so one busy lane cannot starve the others and a pass is bounded.
 * For a lane: load-acquire head once (C), check it against our private tail
 * (head may not be behind tail, nor more than a ring ahead), copy each slot
 * into a local event (D) and validate only the copy, then store-release the
 * new tail (E). A lane that breaks an invariant is quarantined: counted,
 * reported with the reason, and never read again; the other lanes go on.
 *
 * Staying out of the writer's way. A writer costs what the hardware costs
 * only while the cache lines it stores to are its own: a line the reader
 * has loaded must be taken back before the store completes, and stores
 * complete in order, so one such line per event stalls every store behind
 * it. The lines in question are the head word, the slot being written and
 * the slots just ahead of it (the reader's hardware prefetcher follows a
 * sequential copy into them). So a lane whose writer is streaming is read
 * in whole pages (AP_DRAIN_CHUNK events = 4 KiB, rings are page-aligned),
 * never the page head is in:
 *
 *   W (writer)                         R (drain_lane)
 *   W1 write slot h (A)                R1 load-acquire head -> H (C)
 *   W2 store-release head = h + 1 (B)  R2 moved = H - seen_head; seen_head = H
 *                                      R3 limit = H, or when moved >= one
 *                                         page: the start of H - 1's page
 *   W3 private tail says full:         R4 copy slots [tail, limit) (D)
 *      load-acquire tail (F)           R5 store-release tail = limit (E)
 *
 * Correctness is the pairing ap_shm.h states, unchanged: limit <= H, and
 * every slot below H was complete before W2 published it (B -> C), so R4
 * copies only complete slots; W overwrites a slot only after F sees the
 * tail of R5 past it (E -> F). R3 only ever reads less than it may.
 * Interleavings that matter:
 *  - W writes slot s while R4 runs: s >= H >= limit, and limit is a page
 *    boundary below H's page, so R neither loads s's line nor (the
 *    prefetcher does not cross a 4 KiB page) prefetches it.
 *  - W pauses (or exits, or is killed): the next pass loads the same H,
 *    moved = 0, limit = H: everything is read. A lane is never left
 *    holding events, so lane reuse (head == tail) and the end of the run
 *    (passes until one reads nothing) behave as before; only the last
 *    partial page of a stream waits for one pass.
 *  - W writes fewer than a page of events between two passes (a slow
 *    writer): limit = H, read at once, as before: its events are not held
 *    back, and at that rate the reader's loads cost it nothing measurable.
 *  - A page held back shrinks the ring the writer sees by at most
 *    AP_DRAIN_CHUNK - 1 events (64 of 4,096 by default): a drop happens a
 *    sixty-fourth of a ring sooner, not at a lower sustained rate.
 * R1 loads the head once per pass; R sleeps between passes (session.c), so
 * the head's line changes hands at most once per pass.
 *
 * Ownership is in-band: a lane's events belong to the process named by the
 * last CLAIM event before them, so a lane handed from one thread to another
 * is attributed exactly. Drop counters live in the lane header; each CLAIM
 * carries their values at the hand-over, which splits them between owners.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ap_atomic.h"
#include "drain.h"

#define PROCS_MAX	65536u
#define COSTS_MAX	4096u
#define PID_MAX		0x3fffffffu

int ap_drain_init(struct ap_drain *d, struct ap_segment *seg, ap_event_fn fn, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->seg = seg;
	d->batch = 1024;
	d->on_event = fn;
	d->ctx = ctx;
	d->lanes = calloc(seg->lane_count, sizeof(*d->lanes));
	d->costs = calloc(COSTS_MAX, sizeof(*d->costs));
	d->buf = malloc(AP_DRAIN_CHUNK * sizeof(*d->buf));
	if (!d->lanes || !d->costs || !d->buf || ap_map_init(&d->proc_index, 64, PROCS_MAX) ||
	    ap_map_init(&d->threads, 256, 4 * PROCS_MAX)) {
		ap_drain_free(d);
		return -ENOMEM;
	}
	/* The lanes of a fresh segment start at 0; take the segment's word only
	 * as far as it is sane (a reader taking over an old segment, later). */
	for (uint32_t i = 0; i < seg->lane_count; i++) {
		uint64_t tl = ap_load_relaxed(&seg->lanes[i].tail);

		d->lanes[i].tail = tl;
	}
	return 0;
}

void ap_drain_free(struct ap_drain *d)
{
	free(d->lanes);
	free(d->procs);
	free(d->costs);
	free(d->buf);
	free(d->mark);
	d->mark = NULL;
	d->costs = NULL;
	d->buf = NULL;
	ap_map_free(&d->proc_index);
	ap_map_free(&d->threads);
	d->lanes = NULL;
	d->procs = NULL;
}

static void quarantine(struct ap_drain *d, struct ap_lane_view *v, const char *why, uint64_t unread)
{
	if (v->quarantined)
		return;
	v->quarantined = why;
	d->quarantined_lanes++;
	d->lost_quarantined += unread;
}

/* Index of pid's row, creating it; UINT32_MAX when the table is full. */
static uint32_t proc_row(struct ap_drain *d, uint32_t pid)
{
	uint64_t *idx = ap_map_get(&d->proc_index, pid);

	if (idx)
		return (uint32_t)(*idx - 1);
	if (d->nprocs == d->procs_cap) {
		uint32_t cap = d->procs_cap ? d->procs_cap * 2 : 64;
		struct ap_proc_row *p;

		if (cap > PROCS_MAX)
			return UINT32_MAX;
		p = realloc(d->procs, cap * sizeof(*p));
		if (!p)
			return UINT32_MAX;
		d->procs = p;
		d->procs_cap = cap;
	}
	if (ap_map_put(&d->proc_index, pid, d->nprocs + 1))
		return UINT32_MAX;
	memset(&d->procs[d->nprocs], 0, sizeof(d->procs[0]));
	d->procs[d->nprocs].pid = pid;
	return d->nprocs++;
}

/* Drops of the current owner not yet attributed to it, up to counters
 * (full, reent): what they grew by since the last settlement (its claim, or
 * an earlier call). Idempotent: settling twice at the same counters adds
 * nothing. */
static void settle_owner(struct ap_drain *d, struct ap_lane_view *v, uint64_t full, uint64_t reent)
{
	if (full < v->settled_full || reent < v->settled_reentrant)
		return;
	if (v->owner_pid && v->owner_proc != UINT32_MAX)
		d->procs[v->owner_proc].dropped += (full - v->settled_full) + (reent - v->settled_reentrant);
	v->settled_full = full;
	v->settled_reentrant = reent;
}

static void on_claim(struct ap_drain *d, struct ap_lane_view *v, const struct ap_event *ev)
{
	uint64_t pid = ev->u.claim.pid;
	uint32_t row;

	settle_owner(d, v, ev->u.claim.dropped_full, ev->u.claim.dropped_reentrant);
	v->claim_full = v->settled_full = ev->u.claim.dropped_full;
	v->claim_reentrant = v->settled_reentrant = ev->u.claim.dropped_reentrant;
	v->owner_pid = (uint32_t)pid;
	v->owner_alive_ns = 0;
	v->owner_gone_said = 0;
	d->spans_no_reader += ev->claim_no_reader;	/* the gap before this reader */
	/* Cost per event (ticks x 16) and the thread's setup (CPU us). */
	if ((uint32_t)ev->u.claim.cost && d->ncosts < COSTS_MAX)
		d->costs[d->ncosts++] = (uint32_t)ev->u.claim.cost;
	d->setup_ns += (ev->u.claim.cost >> 32) * 1000;
	row = proc_row(d, (uint32_t)pid);
	v->owner_proc = row;
	if (row == UINT32_MAX) {
		d->procs_over_cap++;
		return;
	}
	d->procs[row].lanes_claimed++;
	d->procs[row].spans_no_reader += ev->claim_no_reader;
	if (!ap_map_get(&d->threads, pid << 32 | ev->tid) &&
	    ap_map_put(&d->threads, pid << 32 | ev->tid, 1) == 0)
		d->procs[row].threads++;
}

/* Validate a copied CLAIM against what we know of the lane. */
static int claim_ok(const struct ap_lane_view *v, const struct ap_event *ev)
{
	return ev->u.claim.pid >= 1 && ev->u.claim.pid <= PID_MAX &&
	       ev->claim_no_reader <= AP_NO_READER_MAX &&
	       ev->u.claim.dropped_full >= v->claim_full &&
	       ev->u.claim.dropped_reentrant >= v->claim_reentrant &&
	       ev->u.claim.dropped_full <= v->dropped_full &&
	       ev->u.claim.dropped_reentrant <= v->dropped_reentrant;
}

static void read_counters(struct ap_drain *d, struct ap_lane_view *v, struct ap_lane *lane)
{
	uint64_t full = ap_load_relaxed(&lane->dropped_full);
	uint64_t reent = ap_load_relaxed(&lane->dropped_reentrant);
	uint64_t unsampled = ap_load_relaxed(&lane->sampled_out);

	if (full < v->dropped_full || reent < v->dropped_reentrant) {
		quarantine(d, v, "drop counter went backwards", 0);
		return;
	}
	v->dropped_full = full;
	v->dropped_reentrant = reent;
	/* Not an event count: a bad value is ignored, not a reason to quarantine. */
	if (unsampled >= v->sampled_out)
		v->sampled_out = unsampled;
}

/* Hand n events of buf from `first` on, and count them for the lane and
 * its owner. */
static void deliver(struct ap_drain *d, struct ap_lane_view *v, uint32_t first, uint32_t n)
{
	struct ap_batch_result res = { 0, 0 };

	if (v->owner_pid == 0) {
		v->rejected += n;	/* no valid CLAIM yet: nobody to attribute them to */
		return;
	}
	d->on_event(d->ctx, v->owner_pid, d->buf + first, n, &res);
	v->rejected += res.rejected;
	if (v->owner_proc != UINT32_MAX) {
		d->procs[v->owner_proc].events += n - res.rejected;
		d->procs[v->owner_proc].spans += res.begins;
	}
}

/* What a reader taking over needs to know of the CLAIMs read (ap_shm.h). */
static void publish_claims(const struct ap_lane_view *v, struct ap_lane *lane)
{
	ap_store_relaxed(&lane->claims, v->claims_base + v->claims);
	ap_store_relaxed(&lane->last_claim, v->last_claim);
	ap_store_relaxed(&lane->pids, (uint64_t)v->owner_pid << 32 | v->reported_pid);
}

static uint64_t drain_lane(struct ap_drain *d, uint32_t i)
{
	const struct ap_segment *seg = d->seg;
	struct ap_lane_view *v = &d->lanes[i];
	struct ap_lane *lane = &seg->lanes[i];
	const struct ap_event *ring = ap_seg_ring(seg, i);
	uint64_t mask = seg->lane_capacity - 1;
	uint64_t head, n;

	head = ap_load_acquire(&lane->head);	/* (C), R1 */
	if (head == v->tail)
		return 0;
	if (head < v->tail) {
		quarantine(d, v, "head moved backwards", 0);
		return 0;
	}
	if (head - v->tail > seg->lane_capacity) {
		quarantine(d, v, "head more than a ring ahead of tail", 0);
		return 0;
	}
	/* Counters before events: a CLAIM read below never shows more than this. */
	read_counters(d, v, lane);
	if (v->quarantined)
		return 0;
	n = head - v->tail;
	if (n > d->pass_max)
		d->pass_max = n;	/* what the lane held, for the reader's sleep */
	/* R2, R3: a streaming writer's page is left alone (see the top). */
	if (head - v->seen_head >= AP_DRAIN_CHUNK && seg->lane_capacity >= 4 * AP_DRAIN_CHUNK) {
		uint64_t limit = (head - 1) & ~(uint64_t)(AP_DRAIN_CHUNK - 1);

		n = limit > v->tail ? limit - v->tail : 0;
	}
	v->seen_head = head;
	if (n > d->batch)
		n = d->batch;
	if (n == 0)
		return 0;
	for (uint64_t k = 0; k < n;) {
		uint64_t pos = (v->tail + k) & mask;
		uint32_t m = AP_DRAIN_CHUNK, run = 0, claims = 0;

		if (m > n - k)
			m = (uint32_t)(n - k);
		if (m > seg->lane_capacity - pos)
			m = (uint32_t)(seg->lane_capacity - pos);
		memcpy(d->buf, &ring[pos], m * sizeof(*d->buf));	/* (D) */
		for (uint32_t j = 0; j < m; j++) {
			const struct ap_event *ev = &d->buf[j];

			if (ev->kind != AP_EV_CLAIM)
				continue;
			/* Events before it belong to the previous owner. */
			if (j > run)
				deliver(d, v, run, j - run);
			run = j + 1;
			claims++;
			v->claims++;
			if (!claim_ok(v, ev)) {
				/* Written by our own library only: a bad one is a scribble. */
				v->events += j + 1 - claims;
				v->tail += k + j + 1;
				ap_store_release(&lane->tail, v->tail);
				quarantine(d, v, "invalid CLAIM event", head - v->tail);
				return k + j + 1;
			}
			on_claim(d, v, ev);
			v->last_claim = v->tail + k + j + 1;
		}
		if (m > run)
			deliver(d, v, run, m - run);
		v->events += m - claims;
		k += m;
	}
	v->tail += n;
	if (v->last_claim > v->tail - n)	/* a CLAIM in this pass: for a takeover */
		publish_claims(v, lane);
	ap_store_release(&lane->tail, v->tail);	/* (E) */
	return n;
}

int ap_drain_mark(struct ap_drain *d)
{
	uint32_t n = d->seg->lane_count;

	if (!d->mark && !(d->mark = calloc((size_t)n * AP_MARK_WORDS, sizeof(*d->mark))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct ap_lane_view *v = &d->lanes[i];
		uint64_t *m = &d->mark[AP_MARK_WORDS * i];

		m[0] = v->tail;
		m[1] = v->claims_base + v->claims;
		m[2] = v->dropped_full;		/* as the report's totals took them */
		m[3] = v->dropped_reentrant;
		v->mark_pid = v->owner_pid;
	}
	return 0;
}

void ap_drain_publish_mark(struct ap_drain *d)
{
	if (!d->mark)
		return;
	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		struct ap_lane *lane = &d->seg->lanes[i];

		struct ap_lane_view *v = &d->lanes[i];
		const uint64_t *m = &d->mark[AP_MARK_WORDS * i];

		if (v->quarantined)
			continue;
		v->reported_pid = v->mark_pid;
		ap_store_relaxed(&lane->reported_claims, m[1]);
		ap_store_relaxed(&lane->reported_full, m[2]);
		ap_store_relaxed(&lane->reported_reentrant, m[3]);
		publish_claims(v, lane);
		ap_store_release(&lane->reported, m[0]);
	}
}

/* n lost events of pid (0: not known), for the lane and the process. */
static void lose(struct ap_drain *d, struct ap_lane_view *v, uint32_t pid, uint64_t n)
{
	uint32_t row;

	if (!n)
		return;
	v->lost_dead += n;
	row = pid >= 1 && pid <= PID_MAX ? proc_row(d, pid) : UINT32_MAX;
	if (row != UINT32_MAX)
		d->procs[row].lost_with_dead_reader += n;
	else
		d->lost_unattributed += n;
}

/*
 * After a takeover: the events of lane i the dead reader consumed after its
 * last report, [reported, tail), are read again where the ring still holds
 * them. The writer may be overwriting them as we copy (the shared tail is
 * past them), so the copy is checked afterwards: the slot of position p is
 * intact when its next overwrite, p + capacity, is beyond the head loaded
 * after the copy (every event before that head is complete, and none after
 * it had begun when the copy was made). The rest, [reported, keep), is lost
 * and counted for its owner: the owner at the mark when no CLAIM fell in it,
 * the mark's owner before and the last CLAIM's after when that one CLAIM
 * did; otherwise (the lane changed hands twice) the owner is not known and
 * the loss is counted for the lane only (lost_unattributed). The marks are
 * the dead reader's: checked against each other first; a lane whose marks
 * make no sense is counted (lanes_unaccounted) and not read again.
 */
static void reread_lane(struct ap_drain *d, uint32_t i, struct ap_event *copy)
{
	const struct ap_segment *seg = d->seg;
	struct ap_lane_view *v = &d->lanes[i];
	struct ap_lane *lane = &seg->lanes[i];
	const struct ap_event *ring = ap_seg_ring(seg, i);
	uint64_t cap = seg->lane_capacity, mask = cap - 1;
	uint64_t t = v->tail, r = ap_load_acquire(&lane->reported);
	uint64_t c = ap_load_relaxed(&lane->claims), rc = ap_load_relaxed(&lane->reported_claims);
	uint64_t lc = ap_load_relaxed(&lane->last_claim), pids = ap_load_relaxed(&lane->pids);
	uint32_t rpid = (uint32_t)pids, tpid = (uint32_t)(pids >> 32), pid, row;
	uint64_t lo, h, keep, cc = 0, lost_claims, nonclaim_lost, got = 0;

	v->claims_base = c;
	v->last_claim = lc;
	v->reported_pid = rpid;
	if (r == t)
		return;
	if (r > t || rc > c || c - rc > t - r || lc > t || (c > rc && lc <= r) || rpid > PID_MAX || tpid > PID_MAX) {
		d->lanes_unaccounted++;
		return;
	}
	lo = t - r > cap ? t - cap : r;
	for (uint64_t p = lo; p < t; p++)
		copy[p - lo] = ring[p & mask];
	atomic_thread_fence(memory_order_acquire);
	h = ap_load_acquire(&lane->head);
	keep = h >= cap ? h - cap + 1 : 0;
	if (h < t || h - t > cap)
		keep = t;	/* a head that makes no sense: read nothing again */
	if (keep < lo)
		keep = lo;
	if (keep > t)
		keep = t;	/* the writer is a whole ring past the tail: all of it is gone */
	for (uint64_t p = keep; p < t; p++)
		cc += copy[p - lo].kind == AP_EV_CLAIM;
	lost_claims = cc <= c - rc ? c - rc - cc : 0;
	nonclaim_lost = (keep - r) - lost_claims;
	/* The lost part, [r, keep), and who owned the start of [keep, t). */
	if (lost_claims == 0) {
		lose(d, v, rpid, nonclaim_lost);
		pid = rpid;
	} else if (lost_claims == 1 && cc == 0 && lc > r && lc <= keep) {
		/* One CLAIM, the last one read, at lc - 1: split there. */
		lose(d, v, rpid, lc - 1 - r);
		lose(d, v, tpid, keep - lc);
		pid = tpid;
	} else {
		lose(d, v, 0, nonclaim_lost);
		pid = 0;
	}
	row = pid ? proc_row(d, pid) : UINT32_MAX;
	for (uint64_t p = keep; p < t; p++) {
		const struct ap_event *ev = &copy[p - lo];
		struct ap_batch_result res = { 0, 0 };

		if (ev->kind == AP_EV_CLAIM) {
			/* Its counters are history (the lane's are newer): only its
			 * owner and its gap count. */
			if (ev->u.claim.pid < 1 || ev->u.claim.pid > PID_MAX ||
			    ev->claim_no_reader > AP_NO_READER_MAX) {
				for (uint64_t q = p + 1; q < t; q++)
					lose(d, v, 0, copy[q - lo].kind != AP_EV_CLAIM);
				break;	/* scribbled: what follows is lost */
			}
			pid = (uint32_t)ev->u.claim.pid;
			row = proc_row(d, pid);
			d->spans_no_reader += ev->claim_no_reader;
			if (row != UINT32_MAX) {
				d->procs[row].spans_no_reader += ev->claim_no_reader;
				d->procs[row].lanes_claimed++;
			}
			continue;
		}
		if (!pid) {
			lose(d, v, 0, 1);	/* its owner is not known */
			continue;
		}
		d->on_event(d->ctx, pid, ev, 1, &res);
		got++;
		v->events++;
		v->rejected += res.rejected;
		if (row != UINT32_MAX) {
			d->procs[row].events += 1 - res.rejected;
			d->procs[row].spans += res.begins;
		}
	}
	v->reread = got;
}

uint32_t ap_drain_adopt(struct ap_drain *d)
{
	uint32_t adopted = 0;
	struct ap_event *copy = malloc((size_t)d->seg->lane_capacity * sizeof(*copy));

	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		struct ap_lane_view *v = &d->lanes[i];
		struct ap_lane *lane = &d->seg->lanes[i];
		uint64_t o = ap_load_acquire(&lane->owner);
		uint32_t pid = AP_OWNER_PID(o), row;

		uint64_t rf = ap_load_relaxed(&lane->reported_full), rr = ap_load_relaxed(&lane->reported_reentrant);
		uint32_t tpid = (uint32_t)(ap_load_relaxed(&lane->pids) >> 32);

		read_counters(d, v, lane);
		/* Drops count from what the dead reader's last report counted
		 * (when that is sane), so that those since are not lost either;
		 * they go to the owner now, or to the last one read if the lane is
		 * free. */
		if (rf > v->dropped_full || rr > v->dropped_reentrant)
			rf = v->dropped_full, rr = v->dropped_reentrant;
		v->base_full = v->claim_full = v->settled_full = rf;
		v->base_reentrant = v->claim_reentrant = v->settled_reentrant = rr;
		v->base_sampled_out = v->sampled_out;
		if (!o && tpid >= 1 && tpid <= PID_MAX && v->tail) {
			v->owner_pid = tpid;
			v->owner_proc = proc_row(d, tpid);
		}
		/* A lane read from 0 gets its CLAIM in band; one the previous
		 * reader read into belongs to the owner its word names. */
		if (!o || v->tail == 0 || pid < 1 || pid > PID_MAX)
			continue;
		v->owner_pid = pid;
		row = proc_row(d, pid);
		v->owner_proc = row;
		if (row == UINT32_MAX) {
			d->procs_over_cap++;
			continue;
		}
		d->procs[row].lanes_claimed++;
		adopted++;
	}
	/* Then what the dead reader consumed after its last report. */
	for (uint32_t i = 0; copy && i < d->seg->lane_count; i++)
		reread_lane(d, i, copy);
	free(copy);
	return adopted;
}

uint64_t ap_drain_pass(struct ap_drain *d)
{
	uint64_t total = 0;

	d->pass_max = 0;
	for (uint32_t i = 0; i < d->seg->lane_count; i++)
		if (!d->lanes[i].quarantined)
			total += drain_lane(d, i);
	return total;
}

uint64_t ap_drain_pending(const struct ap_drain *d)
{
	uint64_t pending = 0;

	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		const struct ap_lane_view *v = &d->lanes[i];
		uint64_t head;

		if (v->quarantined)
			continue;
		head = ap_load_acquire(&d->seg->lanes[i].head);
		if (head > v->tail && head - v->tail <= d->seg->lane_capacity)
			pending += head - v->tail;
	}
	return pending;
}

uint32_t ap_drain_check_owners(struct ap_drain *d, uint64_t now_ns, uint64_t interval_ns)
{
	uint32_t alive = 0;

	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		struct ap_lane_view *v = &d->lanes[i];
		struct ap_lane *lane = &d->seg->lanes[i];
		uint64_t owner = ap_load_acquire(&lane->owner);
		uint64_t start = 0, head;
		uint32_t pid;
		int ret;

		if (owner == 0 || v->quarantined)
			continue;
		if (interval_ns && now_ns - v->owner_checked_ns < interval_ns) {
			alive++;	/* assume alive until the next check */
			continue;
		}
		v->owner_checked_ns = now_ns;
		pid = AP_OWNER_PID(owner);
		ret = ap_proc_start_time(pid, &start);
		/* A writer that could not read its start time stores 0: then only a
		 * pid that also sent this lane's last CLAIM counts, so a scribbled
		 * owner word naming some live pid cannot hold the run open. */
		if (ret == 0 && ((uint32_t)start == AP_OWNER_START(owner) ||
				 (AP_OWNER_START(owner) == 0 && v->owner_pid == pid))) {
			v->owner_alive_ns = now_ns;
			alive++;
			continue;
		}
		if (ret != 0 && ret != -ESRCH && ret != -EINVAL) {
			alive++;	/* cannot tell (e.g. /proc unreadable): keep waiting */
			continue;
		}
		/* Owner gone (or the pid was reused by another process): say when
		 * it was last seen running, once; release the lane once we have
		 * read everything it published. */
		if (!v->owner_gone_said) {
			v->owner_gone_said = 1;
			if (d->on_seen && v->owner_alive_ns && v->owner_pid == pid)
				d->on_seen(d->seen_ctx, pid, v->owner_alive_ns);
		}
		head = ap_load_acquire(&lane->head);
		if (head != v->tail)
			continue;
		if (ap_cas_acq_rel(&lane->owner, &owner, 0))
			d->reclaimed_lanes++;
	}
	return alive;
}

void ap_drain_report_running(struct ap_drain *d)
{
	for (uint32_t i = 0; i < d->seg->lane_count && d->on_seen; i++) {
		const struct ap_lane_view *v = &d->lanes[i];

		if (v->owner_pid && v->owner_alive_ns && !v->owner_gone_said && !v->quarantined)
			d->on_seen(d->seen_ctx, v->owner_pid, v->owner_alive_ns);
	}
}

void ap_drain_totals(struct ap_drain *d, struct ap_drain_totals *t)
{
	struct ap_seg_header *h = d->seg->hdr;

	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		struct ap_lane_view *v = &d->lanes[i];

		if (!v->quarantined) {
			read_counters(d, v, &d->seg->lanes[i]);
			if (!v->quarantined)
				settle_owner(d, v, v->dropped_full, v->dropped_reentrant);
		}
		t->read += v->events;
		t->claims += v->claims;
		t->rejected += v->rejected;
		t->dropped_full += v->dropped_full - v->base_full;
		t->dropped_reentrant += v->dropped_reentrant - v->base_reentrant;
		t->sampled_out += v->sampled_out - v->base_sampled_out;
	}
	t->in_ring = ap_drain_pending(d);
	t->dropped_no_lane = ap_load_relaxed(&h->dropped_no_lane);
	t->names_full = ap_load_relaxed(&h->names_full);
	t->attaches = ap_load_relaxed(&h->attaches);
	t->written = t->read + t->in_ring + t->dropped_full + t->dropped_no_lane + t->dropped_reentrant;
	t->quarantined_lanes = d->quarantined_lanes;
	t->reclaimed_lanes = d->reclaimed_lanes;
	t->lost_quarantined = d->lost_quarantined;
	t->spans_no_reader = d->spans_no_reader;
	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		t->lost_with_dead_reader += d->lanes[i].lost_dead;
		t->reread_after_takeover += d->lanes[i].reread;
	}
	t->lost_unattributed = d->lost_unattributed;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

uint64_t ap_drain_cost16(const struct ap_drain *d)
{
	uint64_t *v, med;

	if (!d->ncosts)
		return 0;
	v = malloc(d->ncosts * sizeof(*v));
	if (!v)
		return 0;
	memcpy(v, d->costs, d->ncosts * sizeof(*v));
	qsort(v, d->ncosts, sizeof(*v), cmp_u64);
	med = v[d->ncosts / 2];
	free(v);
	return med;
}
