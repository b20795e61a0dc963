/* SPDX-License-Identifier: MIT */
/*
 * run.h - struct ap_run, the one record of a run that every report is
 * rendered from.
 *
 * A live session fills one for the run so far and a second one for the
 * current interval (--interval); a replay of an event log fills one from the
 * log; `diff` reads two of them. Every renderer (reader/render/) takes a
 * const struct ap_run * and a stream, and reads nothing else: what a report
 * says is exactly what is in the record. The record points into its
 * filler's memory (the analysis, the process rows) and is valid until the
 * filler changes them; renderers run right after it is filled.
 *
 * Counts follow the report's rule: events unless named spans_* or traces_*.
 * For an interval, the drain's totals and the span counts are those of the
 * interval; the processes, the segment and the assembler's structure counts
 * are the run's.
 */
#ifndef AP_RUN_H
#define AP_RUN_H

#include <stdint.h>

#include "analysis.h"
#include "assemble.h"
#include "clock.h"
#include "drain.h"
#include "spans.h"

/* The profiler's own cost, as the writers measured it. */
struct ap_overhead {
	uint64_t events;	/* events recorded (read) */
	double ns_per_event;	/* median of the writers' measurements, 0: none */
	uint64_t cost16;	/* the same in clock ticks x 16, as the writers sent it
				 * (0: not known, e.g. a replay of a version 1 log) */
	uint64_t measurements;	/* writer threads that measured */
	uint64_t profiled_ns;	/* time the report covers: sum of trace durations */
	uint64_t workload_cpu_ns; /* CPU time of the workload's processes, 0: unknown */
	uint64_t setup_ns;	/* writers' time getting ready: attach, lane claims */
	uint64_t capacity_ns;	/* the run's wall time x online CPUs */
	uint64_t cpus;
	/* The reader's RSS sampling (--memory-interval), 0: off. Its cost is
	 * the reader's, not the writers': stated beside theirs, not added. */
	uint64_t mem_interval_ns, mem_sample_ns, mem_sample_reads;
};

/* The profiler's own time: every event at the measured cost, and the
 * writers' setup. */
static inline double ap_overhead_ns(const struct ap_overhead *ov)
{
	return ov->ns_per_event * (double)ov->events + (double)ov->setup_ns;
}

/* What was lost, for the text report's last section. */
struct ap_loss {
	uint64_t dropped_full, dropped_no_lane, dropped_reentrant, rejected, quarantined_lanes;
	uint64_t end_without_begin, duplicates, over_cap;
	uint64_t traces_timed_out, late_events;
};

struct ap_run_quarantine {
	uint32_t lane;
	const char *reason;
	uint64_t events_read;
};

/* An interval of a run: its sequence number and its span of the run. */
struct ap_run_interval {
	uint64_t seq;
	uint64_t start_ns, end_ns;	/* since the run began */
};

/* Periodic dumps (--interval). */
struct ap_run_dumps {
	uint64_t interval_ns;
	const char *io, *io_note;	/* the I/O path, and why not io_uring (NULL: it is) */
	uint64_t reports, files_written, files_failed, files_skipped_busy, bytes;
	uint64_t render_ns, merges_failed;
	int last_err;			/* -errno, 0 */
	const char *last_err_file;
};

/* serve took the segment over from a reader that died. */
struct ap_run_takeover {
	uint32_t from_reader_pid;
	uint32_t lanes_adopted;
	uint64_t lanes_unaccounted;	/* lanes whose dead reader's marks made no sense */
	uint64_t reported_seq;		/* the dead reader's last report.json known on disk
					 * (its dumps.reports): what was lost is counted from it */
	uint64_t report_in_flight_seq;	/* its report.json being written when it died, 0: none;
					 * if that one is on disk, the events it covers past
					 * reported_seq's are in it and counted here again */
};

/* Processes that still held lanes when a serve stopped (SIGINT, SIGTERM):
 * what their lanes held at the stop (all of it was read before the
 * report), and whether they let go of their lanes in the grace that
 * follows the retirement of the segment. */
struct ap_run_attached {
	uint32_t pid;
	uint32_t lanes;			/* lanes it owned at the stop */
	uint64_t in_lanes;		/* events published, not yet read, at the stop */
	int released;			/* it noticed the retirement and let go of its lanes */
};

#define AP_ATTACHED_MAX	64

/* The event log: written by this run (--log), or the one it was replayed from. */
struct ap_run_log {
	int replayed;
	const char *path;
	/* written */
	const char *io;
	uint64_t blocks, bytes, events, blocks_dropped;
	int err;			/* the log's first write error, -errno */
	/* replayed */
	uint32_t version;		/* of the log's format */
	int settings_rejected;		/* settings out of range in it: the defaults were used */
	int complete;			/* its TOTALS block was read */
	uint64_t blocks_damaged, blocks_missing, blocks_out_of_order, records_bad, bytes_skipped;
	uint64_t blocks_unchecked;	/* candidates not hashed: the scan's budget was spent */
	uint64_t events_replayed;	/* events of the log's intact blocks, fed to the assembler */
	/* both */
	uint64_t events_not_logged;
};

/* The OTLP/HTTP sender (--otlp): every span handed to it is in one place,
 *   spans_queued = spans_sent + spans_dropped_queue_full + spans_dropped_shutdown
 *                  + spans_rejected + spans_failed + spans_in_queue
 * (spans_in_queue is 0 once the run is over). spans_not_sent were never
 * queued: spans never begun (no name, no start) and spans of traces the
 * encoder had no memory for. */
struct ap_run_otlp {
	const char *endpoint;		/* without credentials */
	const char *protocol;		/* "http/protobuf", "http/json" */
	int gzip;
	uint32_t batch_spans, batch_ms;
	uint64_t queue_bytes_max;
	uint64_t spans_queued, spans_sent, batches_sent, retries, timeouts;
	uint64_t spans_dropped_queue_full, spans_dropped_shutdown, spans_rejected, spans_failed;
	uint64_t spans_in_queue, batches_failed, queue_peak_bytes, bytes_sent, spans_not_sent;
	uint64_t encode_ns;		/* the sender thread's time encoding them */
	const char *last_error;		/* NULL: none */
};

struct ap_run {
	/* What ran. */
	const char *label;		/* the workload, for headings */
	char *const *argv;		/* the command, NULL-terminated; NULL: none */
	const char *segment;
	uint32_t lanes, lane_events;
	uint64_t seg_bytes, attaches;
	struct ap_clock_cal clock;
	int64_t mono_to_unix_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC during the run;
					 * 0: unknown (a replayed log) */
	int exit_known, exit_status;	/* the workload's, as record exits with it */
	uint64_t duration_ns;		/* what the report covers: the run, or the interval */
	uint64_t run_ns;		/* the whole run so far */
	/* The reader's own cost (the process that renders). */
	int reader_known;
	uint64_t reader_rss_kib;
	double reader_cpu_ms;
	/* Counts. */
	struct ap_drain_totals totals;
	struct ap_span_counts spans;
	uint64_t duplicate_begin, duplicate_end, spans_over_cap, spans_in_flight_peak;
	uint64_t rejected_time, ends_before_begin;	/* events outside the clock window;
							 * ENDs before their BEGIN */
	uint64_t traces_timed_out, late_events;		/* the trace timeout: traces handed on,
							 * and events of theirs that came later */
	uint64_t names_invalid, names_not_utf8, procs_over_cap;
	const struct ap_proc_row *procs;
	uint32_t nprocs;
	const struct ap_run_quarantine *quarantined;
	uint32_t nquarantined;
	struct ap_overhead ov;
	/* The analysis; NULL when there is none (counts only). */
	const struct ap_analysis *analysis;
	/* RSS samples per process (memory.h); NULL when memory was not sampled. */
	const struct ap_memory *memory;
	/* Sections that only some runs have; NULL when absent. */
	const struct ap_run_interval *interval;
	const struct ap_run_dumps *dumps;
	const struct ap_run_takeover *takeover;
	const struct ap_run_log *log;
	/* serve stopped with workers attached: up to AP_ATTACHED_MAX of them. */
	const struct ap_run_attached *attached;
	uint32_t nattached, attached_over_cap;
	const struct ap_run_otlp *otlp;
};

/* What the assembler counted, into r: spans handed on, duplicates, spans
 * over its cap, its peak. */
void ap_run_assembler(struct ap_run *r, const struct ap_assembler *as);

/* The loss section's figures of a run. */
void ap_run_loss(const struct ap_run *r, struct ap_loss *loss);

/* The reader's peak RSS and CPU time now, into r. */
void ap_run_reader_usage(struct ap_run *r);

/* agentprof's exit code for a workload's wait status: its exit status, 128
 * + signal, or AP_EXIT_INTERNAL for anything else. */
int ap_exit_code(int wait_status);

#define AP_EXIT_INTERNAL	125	/* agentprof itself failed (as env(1), timeout(1)) */
#define AP_EXIT_USAGE		2	/* bad arguments, or input that is not ours */

#endif /* AP_RUN_H */
