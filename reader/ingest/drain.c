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

static uint64_t drain_lane(struct ap_drain *d, uint32_t i)
{
	const struct ap_segment *seg = d->seg;
	struct ap_lane_view *v = &d->lanes[i];
	struct ap_lane *lane = &seg->lanes[i];
	const struct ap_event *ring = ap_seg_ring(seg, i);
	uint64_t mask = seg->lane_capacity - 1;
	uint64_t head, n;

	head = ap_load_acquire(&lane->head);	/* (C) */
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
	if (n > d->batch)
		n = d->batch;
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
		}
		if (m > run)
			deliver(d, v, run, m - run);
		v->events += m - claims;
		k += m;
	}
	v->tail += n;
	ap_store_relaxed(&lane->claims, v->claims_base + v->claims);	/* for a takeover */
	ap_store_release(&lane->tail, v->tail);	/* (E) */
	return n;
}

int ap_drain_mark(struct ap_drain *d)
{
	uint32_t n = d->seg->lane_count;

	if (!d->mark && !(d->mark = calloc((size_t)n * 3, sizeof(*d->mark))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct ap_lane_view *v = &d->lanes[i];

		d->mark[3 * i] = v->tail;
		d->mark[3 * i + 1] = v->claims_base + v->claims;
		d->mark[3 * i + 2] = v->owner_pid;
	}
	return 0;
}

void ap_drain_publish_mark(struct ap_drain *d)
{
	if (!d->mark)
		return;
	for (uint32_t i = 0; i < d->seg->lane_count; i++) {
		struct ap_lane *lane = &d->seg->lanes[i];

		if (d->lanes[i].quarantined)
			continue;
		ap_store_relaxed(&lane->reported_claims, d->mark[3 * i + 1]);
		ap_store_relaxed(&lane->reported_pid, d->mark[3 * i + 2]);
		ap_store_release(&lane->reported, d->mark[3 * i]);
	}
}

/*
 * After a takeover: the events of lane i the dead reader consumed after its
 * last report, [reported, tail), are read again where the ring still holds
 * them. The writer may be overwriting them as we copy (the shared tail is
 * past them), so the copy is checked afterwards: slot of position p is
 * intact when its next overwrite, p + capacity, is beyond the head loaded
 * after the copy (every event before that head is complete, and none after
 * it had begun when the copy was made). The rest is counted as lost, for
 * the lane and for its owner. The marks are the dead reader's: checked
 * against each other before they are used, a lane whose marks make no sense
 * is counted (lanes_unaccounted) and not read again.
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
	uint64_t rpid = ap_load_relaxed(&lane->reported_pid), lo, h, keep, after, claims_copy = 0, got = 0;
	uint32_t pid, row;

	v->claims_base = c;
	if (r == t)
		return;
	if (r > t || rc > c || c - rc > t - r || rpid > PID_MAX) {
		d->lanes_unaccounted++;
		return;
	}
	after = (t - r) - (c - rc);	/* events, not CLAIMs, no report covers */
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
	for (uint64_t p = keep; p < t; p++)
		claims_copy += copy[p - lo].kind == AP_EV_CLAIM;
	/* Who wrote [keep, t) before its first CLAIM: the owner at the mark,
	 * unless a CLAIM fell in the part that is lost. */
	pid = claims_copy == c - rc ? (uint32_t)rpid : 0;
	row = pid ? proc_row(d, pid) : UINT32_MAX;
	for (uint64_t p = keep; p < t; p++) {
		const struct ap_event *ev = &copy[p - lo];
		struct ap_batch_result res = { 0, 0 };

		if (ev->kind == AP_EV_CLAIM) {
			/* Its counters are history (the lane's are newer): only its
			 * owner and its gap count. */
			if (ev->u.claim.pid < 1 || ev->u.claim.pid > PID_MAX ||
			    ev->claim_no_reader > AP_NO_READER_MAX)
				break;	/* scribbled: what follows is lost */
			pid = (uint32_t)ev->u.claim.pid;
			row = proc_row(d, pid);
			d->spans_no_reader += ev->claim_no_reader;
			if (row != UINT32_MAX) {
				d->procs[row].spans_no_reader += ev->claim_no_reader;
				d->procs[row].lanes_claimed++;
			}
			continue;
		}
		if (!pid)
			continue;	/* its owner is not known: lost */
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
	v->lost_dead = after > got ? after - got : 0;
	if (v->lost_dead) {
		pid = rpid >= 1 && rpid <= PID_MAX ? (uint32_t)rpid : v->owner_pid;
		row = pid ? proc_row(d, pid) : UINT32_MAX;
		if (row != UINT32_MAX)
			d->procs[row].lost_with_dead_reader += v->lost_dead;
	}
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

		read_counters(d, v, lane);
		v->base_full = v->claim_full = v->settled_full = v->dropped_full;
		v->base_reentrant = v->claim_reentrant = v->settled_reentrant = v->dropped_reentrant;
		v->base_sampled_out = v->sampled_out;
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
