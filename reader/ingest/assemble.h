/* SPDX-License-Identifier: MIT */
/*
 * assemble.h - stream events into traces and hand each trace on when it is
 * complete (reader-private).
 *
 * A span lives here only while its trace is in flight: from its first event
 * until its trace completes (its root has ended, none of its spans is open,
 * and none is still expected), when the whole trace is passed to a callback
 * and freed. Memory is bounded by the spans of traces in flight (max_nodes,
 * counted when exceeded), not by the length of the run.
 *
 * Events of one trace can come in any order across lanes: an END before its
 * BEGIN (ended on another thread), a child before its parent (another lane,
 * another process). The first event of an unknown span creates a
 * placeholder, in a trace of its own, marked as expected; when the missing
 * BEGIN comes, the two traces are merged, the smaller moved into the larger
 * so that any arrival order costs O(n log n).
 *
 * At the end of the run, finish() hands on every trace still in flight:
 * open spans are truncated, placeholders never begun are counted (ends
 * without a begin, tokens for a span never begun), and children of a parent
 * never begun are orphans.
 *
 * Timestamps come from other processes and are checked: an event whose
 * timestamp is outside the run's clock window (ap_asm_window()) is rejected
 * and counted (ts_rejected), and so is an END before its own BEGIN
 * (ends_before_begin; the span stays open, so truncated). A truncated span
 * ends at the last moment its own process was known to be running: its last
 * event, or the last time the reader saw it alive (ap_asm_seen), whichever
 * is later, and never before its begin; not at the run's end: a span of a
 * process killed early keeps its length whatever the run does after it.
 */
#ifndef AP_ASSEMBLE_H
#define AP_ASSEMBLE_H

#include <stdint.h>

#include "ap_shm.h"
#include "drain.h"
#include "hmap.h"
#include "spans.h"

#define AP_NONE UINT32_MAX

/* A trace as handed on: spans in no particular order, parents as indices. */
struct ap_trace_view {
	const struct ap_span *v;
	const uint32_t *parent;		/* index into v, AP_NONE for roots */
	uint32_t n;
	const struct ap_dep *deps;	/* span ids, both in this trace */
	uint32_t ndeps;
	int complete;			/* 0: handed on by finish() */
	uint64_t t_last;		/* latest timestamp of the run so far: end of open spans */
};

typedef void (*ap_trace_fn)(void *ctx, const struct ap_trace_view *t);

struct ap_node;
struct ap_trace_rec;

struct ap_assembler {
	struct ap_node *nodes;
	uint32_t nodes_cap, nodes_used, free_node, max_nodes;
	struct ap_trace_rec *traces;
	uint32_t traces_cap, free_trace;
	uint32_t *direct;		/* direct-mapped span id -> node (assemble.c) */
	struct ap_map index;		/* span id -> node index + 1, when not direct */
	uint32_t *ready;		/* traces complete, handed on at the end of a pass */
	uint32_t nready, ready_cap;
	struct ap_dep *deps;		/* pool of dependencies, linked per trace */
	uint32_t *dep_next;
	uint32_t deps_cap, deps_used, free_dep;
	ap_trace_fn on_trace;
	void *ctx;
	/* Scratch for handing a trace on. */
	struct ap_span *out_v;
	uint32_t *out_parent;
	uint32_t *out_fix;		/* spans whose parent link is resolved last */
	struct ap_dep *out_deps;
	uint32_t out_cap, out_deps_cap;
	/* Counts: events, unless named for spans or traces. */
	uint64_t begins, ends, tokens, depends, errors;
	uint64_t duplicate_begin, duplicate_end, duplicate_tokens;
	uint64_t invalid;		/* events rejected by field checks (ap_event_ok) */
	uint64_t over_cap;		/* events of spans past max_nodes */
	uint64_t deps_ignored;		/* depends on a span not in flight */
	uint64_t self_parents, cycles, orphans;	/* spans */
	uint64_t spans_complete, spans_open, end_without_begin, tokens_only;	/* spans handed on */
	uint64_t traces_complete, traces_incomplete, merges;
	uint64_t peak_nodes;
	uint64_t t_max;			/* latest BEGIN or END timestamp of the spans handed
					 * on, and at finish() of all spans */
	uint64_t ts_lo, ts_hi;		/* the clock window events must fall in (ticks) */
	uint64_t ts_rejected;		/* events outside it */
	uint64_t ends_before_begin;	/* ENDs earlier than their span's BEGIN: rejected */
	struct ap_map pid_last;		/* pid + 1 -> the latest moment it was known running:
					 * its events' timestamps, ap_asm_seen() */
	/* Trace timeout (ap_asm_expire). */
	uint64_t traces_timed_out;	/* traces handed on because no event came for the timeout */
	uint64_t late_events;		/* events of a timed-out trace that came after it: counted,
					 * never a new trace */
	uint64_t expired_forgotten;	/* ids of timed-out traces forgotten (AP_EXPIRED_IDS) */
	struct ap_map expired[2];	/* span ids of timed-out traces, two generations */
	uint32_t expired_gen;
};

/* Span ids of timed-out traces remembered per generation (two generations:
 * 32,768 to 65,536 ids, about 2 MiB at most). */
#define AP_EXPIRED_IDS	32768u

/* max_nodes caps the spans in flight. Returns 0 or -ENOMEM. */
int ap_asm_init(struct ap_assembler *as, uint32_t max_nodes, ap_trace_fn fn, void *ctx);
void ap_asm_free(struct ap_assembler *as);
/* The clock window, in the segment's ticks: events outside [lo, hi] are
 * rejected. The live reader sets it from the segment's creation to now, and
 * moves hi with the clock; a replay sets it once, from the log's start to
 * its end. AP_CLOCK_SLACK_NS is allowed on either side (counters of two
 * CPUs, a reader that took its clock reading a moment early). Initially
 * every timestamp passes. */
#define AP_CLOCK_SLACK_NS	1000000000u	/* 1 s */
#define AP_LOG_SPAN_MAX_NS	(30ull * 86400 * 1000000000ull)	/* a log cut short: its events within 30 days */
static inline void ap_asm_window(struct ap_assembler *as, uint64_t lo, uint64_t hi)
{
	as->ts_lo = lo;
	as->ts_hi = hi;
}
/* Drain callback (ap_event_fn): checks each event as ap_event_ok() does
 * and takes those that pass. */
void ap_asm_events(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
		   struct ap_batch_result *res);
/* Process pid was running at `ticks` (its owner seen alive then): its open
 * spans are truncated no earlier (ap_seen_fn, converted to ticks). */
void ap_asm_seen(struct ap_assembler *as, uint32_t pid, uint64_t ticks);
/* One event from elsewhere (tests, tools): validated here; 0, or -1 when
 * rejected (counted in invalid). */
int ap_asm_event(struct ap_assembler *as, uint32_t pid, const struct ap_event *ev);
/* Hand on the traces that completed since the last call (end of a drain pass:
 * a TOKENS event right after its span's END is still in the same pass). */
void ap_asm_flush(struct ap_assembler *as);
/* End of the run: hand on every trace still in flight. */
void ap_asm_finish(struct ap_assembler *as);
/* Trace timeout: flush, then hand on as incomplete every trace in flight
 * whose latest event is older than `cutoff` (ticks), its open spans
 * truncated at that latest event; each is counted in traces_timed_out, and
 * a later event of one of its spans (or a BEGIN under one) in late_events.
 * O(traces in flight). Returns the traces handed on. A replay calls it at
 * the same point of the event sequence with the same cutoff (the event
 * log's expiry record), so it hands on the same traces. */
uint32_t ap_asm_expire(struct ap_assembler *as, uint64_t cutoff);
/* The span with id if it is in flight (its trace not yet handed on), else NULL. */
const struct ap_span *ap_asm_find(const struct ap_assembler *as, uint64_t id);
/* The spans handed on so far, by how they ended. */
void ap_asm_span_counts(const struct ap_assembler *as, struct ap_span_counts *sc);
/* Call fn for every span in flight that has begun and not ended (the live
 * view's stuck calls); returns the traces in flight. O(spans in flight). */
uint32_t ap_asm_each_open(const struct ap_assembler *as, void (*fn)(void *ctx, const struct ap_span *sp),
			  void *ctx);
/* Spans in flight now. */
static inline uint32_t ap_asm_in_flight(const struct ap_assembler *as)
{
	return as->nodes_used;
}

#endif /* AP_ASSEMBLE_H */
