/* SPDX-License-Identifier: MIT */
/*
 * live.h - the fleet as it is now, for `agentprof top` (reader-private).
 *
 * Lanes are single-consumer, so a live view is a view of the reader, not a
 * second reader. struct ap_live rides along the drain as one more event
 * consumer (after the assembler, so that an END finds its span, name and
 * begin there) and one more trace consumer. An operation's errors are its
 * spans that failed (an ERROR event, ap_set_error) and its spans handed on
 * truncated (the process died or the trace timed out: a failure the reader
 * sees though nobody reported it). It
 * keeps, per operation (name and category), one-second buckets over the
 * last AP_LIVE_WINDOW seconds: starts, completions, truncations, busy time,
 * and the last AP_LIVE_SAMPLES durations for P50/P95. The spans in flight
 * are not copied: the snapshot scans the assembler's (O(spans in flight),
 * once a second).
 *
 * struct ap_top is the snapshot: plain numbers and short strings, filled by
 * the reader (ap_live_snapshot) and written as JSON, and filled back from
 * that JSON by `agentprof top`, which trusts nothing in it. Both sides and
 * the frame renderer (reader/render/top.c) use this one struct.
 */
#ifndef AP_LIVE_H
#define AP_LIVE_H

#include <stdint.h>

#include "assemble.h"
#include "clock.h"
#include "drain.h"
#include "hmap.h"
#include "names.h"

#define AP_LIVE_WINDOW		5u	/* seconds the rates and percentiles cover */
#define AP_LIVE_OPS_MAX		512u	/* operations tracked; more are counted */
#define AP_LIVE_SAMPLES		128u	/* durations kept per operation */
#define AP_LIVE_PROCS_MAX	1024u

#define AP_TOP_NAME_MAX		104u	/* bytes of a name, NUL included */
#define AP_TOP_IN_FLIGHT_MAX	100u	/* in-flight spans listed (all are counted) */
#define AP_TOP_OPS_MAX		AP_LIVE_OPS_MAX
#define AP_TOP_PROCS_MAX	64u

struct ap_top_span {
	char name[AP_TOP_NAME_MAX];
	uint8_t category;
	uint32_t pid, tid;
	uint64_t age_ms;
};

struct ap_top_op {
	char name[AP_TOP_NAME_MAX];
	uint8_t category;
	double starts_per_s, completions_per_s;
	double p50_ms, p95_ms;		/* over the last completions in the window; -1: none */
	double busy_ms_per_s;		/* summed duration of the completions, per second */
	uint64_t errors;		/* spans failed (ap_set_error) or handed on truncated
					 * (process died, timed out) in the window */
	uint64_t in_flight;
};

struct ap_top_proc {
	uint32_t pid;
	double spans_per_s;
	uint64_t in_flight;
	uint64_t lanes;
};

struct ap_top {
	char segment[AP_TOP_NAME_MAX];
	uint64_t pid;			/* the reader */
	double uptime_s, window_s;
	uint32_t lanes, lanes_in_use;
	double events_per_s, spans_per_s, tokens_per_s;
	double dropped_full_per_s, dropped_no_lane_per_s, dropped_reentrant_per_s;
	uint64_t reader_lag;		/* events published, not yet read */
	double reader_cpu_pct;		/* of one CPU, over the last snapshot's interval */
	uint64_t reader_rss_kib;
	double overhead_pct;		/* writers' measured cost x event rate, of the machine */
	uint64_t traces_in_flight, traces_timed_out;
	struct ap_top_span in_flight[AP_TOP_IN_FLIGHT_MAX];	/* oldest first */
	uint32_t n_in_flight;
	uint64_t in_flight_total;	/* every span open now */
	struct ap_top_op *ops;		/* AP_TOP_OPS_MAX */
	uint32_t nops;
	uint64_t ops_over_cap;
	struct ap_top_proc procs[AP_TOP_PROCS_MAX];
	uint32_t nprocs;
	uint64_t procs_over_cap;
};

/* 0 or -ENOMEM; ap_top_free. */
int ap_top_init(struct ap_top *t);
void ap_top_free(struct ap_top *t);

struct ap_live_op;

struct ap_live {
	const struct ap_assembler *as;
	const struct ap_clock_cal *clock;
	struct ap_live_op *ops;
	uint32_t nops;
	uint64_t ops_over_cap;
	struct ap_map op_index;		/* key(name, category) -> index + 1 */
	struct ap_map procs;		/* pid -> index + 1 into proc_starts */
	uint64_t (*proc_starts)[AP_LIVE_WINDOW + 1];	/* [0..W): buckets, [W]: pid */
	uint32_t nprocs;
	uint64_t sec;			/* the current second since the start */
	uint64_t bucket_sec[AP_LIVE_WINDOW];
	uint64_t events[AP_LIVE_WINDOW], tokens[AP_LIVE_WINDOW];
	uint64_t t0_ns;
	/* For the per-second deltas of the snapshot. */
	uint64_t last_ns, last_cpu_ns;
	struct ap_drain_totals last_totals;
	int have_last;
	double drop_rate[3], cpu_pct;
};

/* as: the assembler whose spans the events become (END looks its span up
 * there); clock: the segment's. 0 or -ENOMEM. */
int ap_live_init(struct ap_live *l, const struct ap_assembler *as, const struct ap_clock_cal *clock,
		 uint64_t now_ns);
void ap_live_free(struct ap_live *l);
/* The reader's clock before a drain pass: moves the window. */
void ap_live_tick(struct ap_live *l, uint64_t now_ns);
/* Consumers (fan-out): events after the assembler, traces. */
void ap_live_events(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n, struct ap_batch_result *res);
void ap_live_traces(void *ctx, const struct ap_trace_view *t);

/* The reader's side of a snapshot: what the drain and the process know. */
struct ap_live_reader {
	const char *segment;
	const struct ap_segment *seg;
	const struct ap_drain *drain;
	const struct ap_names *names;
	struct ap_drain_totals totals;
	double cost_ns;			/* writers' cost per event */
	uint64_t cpus;
	uint64_t uptime_ns;
	uint64_t cpu_ns, rss_kib;	/* the reader's own, now */
};

/* Fill t from l, the assembler's spans in flight and rd, at now_ns. */
void ap_live_snapshot(struct ap_live *l, const struct ap_live_reader *rd, uint64_t now_ns, struct ap_top *t);

#endif /* AP_LIVE_H */
