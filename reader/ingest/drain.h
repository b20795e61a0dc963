/* SPDX-License-Identifier: MIT */
/*
 * drain.h - the reader's side of the lanes: copy events out, validate them,
 * account for every event, reclaim the lanes of dead processes.
 */
#ifndef AP_DRAIN_H
#define AP_DRAIN_H

#include <stdint.h>

#include "agentprof.h"
#include "ap_shm.h"
#include "hmap.h"
#include "segment.h"

/* Reader-private state of one lane. Nothing here is read back from the
 * segment: tail is ours, counters are the last values that passed checks. */
struct ap_lane_view {
	uint64_t tail;			/* next event to read */
	uint64_t seen_head;		/* head as the last pass loaded it */
	uint64_t events;		/* non-CLAIM events read, valid or rejected */
	uint64_t claims;		/* CLAIM events read */
	uint64_t rejected;		/* events that failed validation */
	uint64_t dropped_full;		/* last validated lane counters */
	uint64_t dropped_reentrant;
	uint64_t sampled_out;		/* traces not sampled, last validated */
	uint64_t base_full, base_reentrant, base_sampled_out;	/* at a takeover: the previous reader's */
	uint64_t claim_full;		/* counters at the current owner's claim */
	uint64_t claim_reentrant;
	uint64_t settled_full;		/* counters up to which drops were attributed to owners */
	uint64_t settled_reentrant;
	uint64_t owner_checked_ns;	/* last liveness check */
	uint64_t owner_alive_ns;	/* last check that found the owner alive, 0: none yet */
	int owner_gone_said;		/* its death was reported (on_seen) */
	uint32_t owner_pid;		/* from the last valid CLAIM, 0: none */
	uint32_t owner_proc;		/* index in ap_drain.procs */
	const char *quarantined;	/* reason, NULL while healthy */
	uint64_t claims_base;		/* CLAIMs before our first read (a takeover) */
	uint64_t lost_dead;		/* events a dead reader consumed after its last
					 * report and that could not be read again */
	uint64_t reread;		/* events read again after a takeover */
	uint64_t last_claim;		/* position of the last CLAIM read + 1, 0: none */
	uint32_t reported_pid;		/* owner at the published report mark */
	uint32_t mark_pid;		/* owner at the mark not yet published */
};

/* Per-process figures, as the report lists them. */
struct ap_proc_row {
	uint32_t pid;
	uint32_t threads;		/* distinct thread ids that claimed lanes */
	uint64_t spans;			/* BEGIN events */
	uint64_t events;		/* events read (not CLAIMs) */
	uint64_t dropped;		/* dropped_full + dropped_reentrant while it owned lanes */
	uint64_t lanes_claimed;
	uint64_t spans_no_reader;	/* spans it could not record for want of a reader,
					 * sent with its CLAIMs in this segment */
	uint64_t lost_with_dead_reader;	/* events of it a dead reader consumed after its
					 * last report, no longer in the ring */
};

/* Totals. Once every lane is drained:
 * written == read + dropped_full + dropped_no_lane + dropped_reentrant. */
struct ap_drain_totals {
	uint64_t written, read, dropped_full, dropped_no_lane, dropped_reentrant;
	uint64_t rejected, claims, in_ring, quarantined_lanes, reclaimed_lanes;
	uint64_t names_full, attaches;
	uint64_t lost_quarantined;	/* events a quarantined lane claimed to hold, unread */
	uint64_t sampled_out;		/* traces the writers decided not to record */
	uint64_t spans_no_reader;	/* spans the writers could not record before this
					 * reader (segment missing or retired), per their CLAIMs */
	uint64_t lost_with_dead_reader;	/* events a dead reader consumed after its last
					 * report and no longer in the ring (takeover) */
	uint64_t reread_after_takeover;	/* events a dead reader consumed after its last
					 * report, read again from the ring (in `read`) */
	uint64_t lost_unattributed;	/* of lost_with_dead_reader, owner not known */
};

/* A CLAIM's spans_no_reader above this is not a count (quarantined). */
#define AP_NO_READER_MAX	(UINT64_C(1) << 48)

/* Whether a non-CLAIM event is well formed: a known kind, a span id that a
 * writer can produce, fields in range. Consumers apply exactly this rule
 * (the assembler inside its own dispatch on the kind, to look at each event
 * once) and report what failed it. */
static inline int ap_event_ok(const struct ap_event *ev)
{
	if (ev->span_id - 1 >= UINT64_MAX - 1)	/* 0 or UINT64_MAX */
		return 0;
	switch (ev->kind) {
	case AP_EV_BEGIN:
		return ev->category < AP_CAT_COUNT && !(ev->flags & ~AP_EVF_ALL);
	case AP_EV_END:
	case AP_EV_TOKENS:
	case AP_EV_ERROR:
		return 1;
	case AP_EV_DEPENDS:
		return ev->u.depends.on_span != 0 && ev->u.depends.on_span != ev->span_id;
	default:
		return 0;
	}
}

/* What a consumer did with a batch: events that failed ap_event_ok()
 * (counted as rejected on the lane) and BEGINs it accepted. */
struct ap_batch_result {
	uint32_t rejected;
	uint32_t begins;
};

/* Receives the non-CLAIM events of one lane with a valid owner, n at a
 * time, in lane order, from the drain's private copy (never the shared
 * ring); validates each (ap_event_ok) and fills *res. */
typedef void (*ap_event_fn)(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
			    struct ap_batch_result *res);

/* The latest moment (CLOCK_MONOTONIC ns) a process was known to be running:
 * told when the drain finds it gone (its last check alive) and, through
 * ap_drain_report_running(), for every process still running. Its open
 * spans are truncated there (assemble.h). */
typedef void (*ap_seen_fn)(void *ctx, uint32_t pid, uint64_t alive_ns);

#define AP_DRAIN_CHUNK	64u		/* events copied out of the ring at once */

struct ap_drain {
	struct ap_segment *seg;		/* the reader's view (geometry from create) */
	struct ap_lane_view *lanes;
	uint32_t batch;			/* events per lane per pass */
	ap_event_fn on_event;
	void *ctx;
	ap_seen_fn on_seen;		/* optional */
	void *seen_ctx;
	uint64_t quarantined_lanes;
	uint64_t reclaimed_lanes;
	uint64_t lost_quarantined;
	struct ap_proc_row *procs;
	uint32_t nprocs, procs_cap;
	uint64_t procs_over_cap;	/* CLAIMs of processes past the table's cap */
	struct ap_map proc_index;	/* pid -> index + 1 */
	struct ap_map threads;		/* pid << 32 | tid -> 1 */
	uint64_t *costs;		/* writers' measured cost per event, ticks x 16 */
	uint32_t ncosts;
	struct ap_event *buf;		/* AP_DRAIN_CHUNK events, private copy */
	uint64_t pass_max;		/* most events one lane held in the last pass */
	uint64_t setup_ns;		/* writers' CPU time getting ready, summed over claims */
	uint64_t spans_no_reader;	/* summed over the CLAIMs read */
	uint64_t lanes_unaccounted;	/* takeover: lanes whose report marks were not sane */
	uint64_t lost_unattributed;	/* takeover: lost events whose owner is not known
					 * (a lane changed hands more than once unreported) */
	/* The lanes' positions at the report being written (ap_drain_mark). */
	uint64_t *mark;			/* lane_count x (tail, claims, dropped_full, dropped_reentrant) */
};

int ap_drain_init(struct ap_drain *d, struct ap_segment *seg, ap_event_fn fn, void *ctx);
void ap_drain_free(struct ap_drain *d);

/* One pass over every lane, at most `batch` events each. Returns the number
 * of events consumed (0: every lane was empty). */
uint64_t ap_drain_pass(struct ap_drain *d);

/* Check lane owners: a lane whose owner process is gone (or was never a
 * valid pid) is released once drained. Checks each lane at most every
 * `interval_ns` unless interval_ns is 0. Returns the number of lanes whose
 * owner is alive. */
uint32_t ap_drain_check_owners(struct ap_drain *d, uint64_t now_ns, uint64_t interval_ns);

/* Tell on_seen, for every lane whose owner the last check found alive, that
 * its process was running then (the end of a run). */
void ap_drain_report_running(struct ap_drain *d);

/* Events published but not yet read, over the healthy lanes. */
uint64_t ap_drain_pending(const struct ap_drain *d);

/* Median of the writers' measured cost per event, clock ticks x 16 (as the
 * CLAIM events carry it), 0 when none. */
uint64_t ap_drain_cost16(const struct ap_drain *d);

/* A cost in ticks x 16 as ns per event on clock c. */
static inline double ap_cost16_ns(const struct ap_clock_cal *c, uint64_t cost16)
{
	return (double)ap_ticks_delta_ns(c, 0, cost16) / 16.0;
}

/* Taking over the segment of a reader that died: lanes it read into are
 * attributed to the owner in their owner word (their CLAIM was read), and the
 * drop counters start from their present values. What the dead reader
 * consumed after its last report (the lane's `reported` mark) is read again
 * where the ring still holds it (reread_after_takeover, handed on like any
 * event) and counted where it does not (lost_with_dead_reader, per lane and
 * process). Returns lanes adopted. */
uint32_t ap_drain_adopt(struct ap_drain *d);

/*
 * A report (report.json) covering everything read so far is being written:
 * ap_drain_mark() notes each lane's position, CLAIMs and owner now; once
 * the report is on disk, ap_drain_publish_mark() stores them in the lanes
 * (reported, reported_claims, reported_pid), so that a reader taking over
 * after this one dies knows what no report covers. 0 or -ENOMEM.
 */
int ap_drain_mark(struct ap_drain *d);
void ap_drain_publish_mark(struct ap_drain *d);
#define AP_MARK_WORDS	4u

/* Totals now, and the drops of every lane's owner attributed to its process
 * row as far as they go (any number of calls: each adds only what is new). */
void ap_drain_totals(struct ap_drain *d, struct ap_drain_totals *t);

#endif /* AP_DRAIN_H */
