/* SPDX-License-Identifier: MIT */
/*
 * session.h - one profiled run: create the segment (or take over a dead
 * reader's), start the workload, drain until it and every process attached
 * to the segment are gone (serve: until SIGINT or SIGTERM), write the
 * reports, remove the segment.
 *
 * The folder: session.c (open, the loop, signals, takeover, the end),
 * interval.c (--interval: the interval's analysis and the periodic dumps),
 * emit.c (a run's final reports written and printed, shared with
 * `agentprof report`).
 */
#ifndef AP_SESSION_H
#define AP_SESSION_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "aio.h"
#include "analysis.h"
#include "assemble.h"
#include "drain.h"
#include "dump.h"
#include "evlog.h"
#include "fanout.h"
#include "live.h"
#include "names.h"
#include "otlp.h"
#include "otlp_http.h"
#include "run.h"
#include "segment.h"

struct ap_run_opts {
	const char *out_dir;		/* report directory, default ./agentprof-out */
	struct ap_seg_config seg;
	struct ap_settings set;		/* what the analysis is configured with */
	int quiet;			/* no summary on stdout */
	int json_stdout;		/* print report.json instead of the summary */
	char *const *argv;		/* the command (record), for the report */
	const char *label;		/* what ran, for the summary */
	const char *log_path;		/* --log FILE: every drained event */
	int io_sync;			/* log and reports: force the writer-thread path (tests) */
	const char *segment_name;	/* serve: this segment, created or taken over from a
					 * dead reader; NULL: a unique name (record) */
	int serving;			/* serve: no workload; drains until SIGINT or SIGTERM */
	uint64_t interval_ns;		/* --interval: dump the reports this often; 0: never */
	uint32_t log_block;		/* payload bytes per log block (tests) */
	uint32_t formats;		/* --formats: files a report writes, a mask of
					 * ap_formats() indexes (AP_FORMATS_ALL) */
	int live;			/* keep the live view and write its snapshot (serve; record --top) */
	int top_tty;			/* record --top: draw the live view on the terminal */
	uint64_t trace_timeout_ns;	/* --trace-timeout: a trace with no event for this long
					 * is handed on as incomplete; 0: never (default 300 s) */
	/* --otlp URL (NULL: the OTEL_EXPORTER_OTLP_* variables decide);
	 * ap_session_run loads the sender's configuration into otlp (NULL: off) */
	const char *otlp_url;
	struct ap_otlp_cfg *otlp;
	uint32_t otlp_batch_spans;	/* --otlp-batch N[,MS]: at most N spans (512) */
	uint32_t otlp_batch_ms;		/*   or MS ms (1000) per batch */
	uint64_t otlp_queue_bytes;	/* --otlp-queue-mib (64 MiB; fractions allowed) */
	uint32_t otlp_drain_s;		/* --otlp-drain-s (5): at the end, send for at most this */
};

#define AP_TRACE_TIMEOUT_DEFAULT_NS	(300ull * 1000000000ull)

/* Start the workload with the segment named `segment` and return the pid
 * whose exit ends the run (its exit status becomes the run's). 0 or -errno;
 * *exec_errno is set when the command could not be executed at all. serve
 * has none. */
typedef int (*ap_spawn_fn)(void *ctx, const char *segment, pid_t *pid, int *exec_errno);

/* Report files a session replaces: the run's formats, then the interval's. */
#define AP_REPORT_SLOTS	AP_DUMP_FILES_MAX

struct ap_session {
	struct ap_run_opts opts;
	struct ap_segment seg;
	struct ap_aio aio;		/* the one I/O engine: log, dumps, final report */
	int aio_on;
	struct ap_dump dump;		/* the report directory */
	int dump_on;
	struct ap_fanout fan;		/* drain -> log, assembler; assembler -> analysis */
	struct ap_drain drain;
	struct ap_assembler as;		/* events -> traces, handed to analysis */
	struct ap_names names;
	struct ap_drain_totals totals;
	struct ap_span_counts span_counts;
	struct ap_analysis analysis;	/* the run's */
	int analysed;
	pid_t main_pid;
	int main_status;		/* wait status */
	int main_done;
	uint64_t t0_ns, t1_ns;		/* CLOCK_MONOTONIC start and end */
	int64_t mono_to_unix_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at the start */
	uint64_t workload_cpu_ns;	/* user + system CPU of the reaped workload, 0: unknown */
	uint64_t cost16;		/* writers' median cost per event, ticks x 16, 0: none */
	double cost_ns;			/* the same in ns */
	uint64_t setup_ns;		/* writers' time getting ready (attach, lane claims) */
	uint64_t cpus;			/* online CPUs: the machine's capacity is duration x cpus */
	uint64_t cost_measurements;
	struct ap_run_quarantine *quarantined;	/* the lanes quarantined so far */
	uint32_t nquarantined;
	/* --log */
	struct ap_log log;
	int logging;
	int log_err;			/* the log's first write error, -errno */
	size_t names_logged;		/* bytes of the name pool already logged */
	uint32_t checks;
	struct ap_run_log log_rec;
	uint64_t passes, idle_sleeps;
	/* --interval: the cumulative report and the interval's, dumped */
	int dumping;
	int dump_failure_said;		/* the first failure is said on stderr, once */
	struct ap_analysis iv;		/* traces completed in the current interval */
	int iv_on;
	uint64_t merge_failed;		/* intervals whose flame paths did not fit in memory */
	uint64_t iv_t0_ns, next_dump_ns, dumps, render_ns;
	struct ap_drain_totals iv_base;	/* totals at the interval's start */
	struct ap_span_counts iv_base_spans;
	uint64_t iv_base_setup_ns;
	struct ap_run_dumps dumps_rec;
	struct ap_run_interval iv_rec;
	/* --memory-interval (memsample.c): the samples, the traces held until a
	 * round has sampled past their end, scratch for a round */
	struct ap_memory mem;
	int mem_on;
	struct ap_mem_hold hold;
	uint32_t *mem_pids;
	struct ap_log_mem_sample *mem_samples;
	uint64_t next_mem_ns;
	/* serve: the segment was taken over from a reader that died */
	struct ap_run_takeover takeover;
	int took_over;
	/* --trace-timeout */
	uint64_t next_expire_ns;
	/* the live view (`agentprof top`) */
	struct ap_live live;
	int live_on;
	struct ap_top top;
	uint64_t next_live_ns;
	char live_path[300];
	int top_drawn;			/* record --top drew on the alternate screen */
	int report_marked;		/* a report.json covering the drain's mark is in flight */
	uint64_t report_marked_seq;	/* its dumps.reports */
	/* serve stopped: processes that still held lanes (ap_session_retire) */
	struct ap_run_attached attached[AP_ATTACHED_MAX];
	uint32_t nattached, attached_over_cap;
	/* --otlp: every completed trace, batched, encoded here, sent by the
	 * sender's thread (otlp_out.c) */
	int otlp_on;
	struct ap_otlp otlp;
	struct ap_otlp_resource otlp_res;	/* read by the sender's thread */
	struct ap_otlp_clock otlp_clk;		/* read by the sender's thread */
	struct ap_otlp_batch otlp_batch;	/* the sender thread's encoding scratch */
	struct ap_otlp_raw *otlp_raw;		/* the batch being filled (drain thread) */
	uint64_t otlp_batch_t0;		/* when it got its first span */
	uint64_t otlp_nomem, otlp_unsendable, otlp_names_at;
	struct ap_run_otlp otlp_rec;
	char otlp_err[160];
};

/* Fill opts with defaults. */
void ap_run_opts_default(struct ap_run_opts *o);

/* Run a session. Returns the exit status for agentprof: the workload's
 * (128 + signal if it was killed), 126/127 when it could not be executed,
 * AP_EXIT_INTERNAL when agentprof itself failed (message on stderr). */
int ap_session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx);

/* Pieces, for tests and the bench that drive a session step by step. */
int ap_session_open(struct ap_session *s, const struct ap_run_opts *o);
void ap_session_finish(struct ap_session *s);	/* final drain, totals, names */
void ap_session_close(struct ap_session *s);	/* unmap and remove the segment */
/* The reader stops: note who still holds lanes and what they hold, mark the
 * segment retired, and drain while the writers let go of their lanes (at
 * most AP_RETIRE_GRACE_NS), so that the final drain reads every event a
 * writer published before it noticed. */
void ap_session_retire(struct ap_session *s);
#define AP_RETIRE_GRACE_NS	1000000000u	/* 1 s */
/* End the run's analysis for a report (after finish, or at a dump). */
void ap_session_analyse(struct ap_session *s);
/* The run so far as a run record (after ap_session_analyse). */
void ap_session_run_view(struct ap_session *s, struct ap_run *r);
/* What the run counted so far: totals, span counts, names, writers' cost. */
void ap_session_take_stock(struct ap_session *s);

/* interval.c. --interval: set up the interval's analysis; dump the run's
 * reports and the interval's now (`final`: the last interval only, the
 * run's report is written by the caller). */
int ap_session_interval_start(struct ap_session *s);
void ap_session_dump(struct ap_session *s, int final);
/* A takeover after this reader dies re-reads what its last report does not
 * cover: once report.json of a dump is on disk, store the positions it
 * covers in the lanes (ap_drain_mark). Called after each I/O poll. */
void ap_session_publish_reported(struct ap_session *s);

/* memsample.c. --memory-interval: set up (after the analyses), free; one
 * sampling round (logged, then the held traces it passed are made ready);
 * the end of the run (every held trace analysed). The loop starts the next
 * round an interval later, or 20 times the last round's cost when that is
 * longer: sampling takes at most 5% of the reader's time. */
int ap_session_mem_start(struct ap_session *s);
void ap_session_mem_free(struct ap_session *s);
uint64_t ap_session_mem_round(struct ap_session *s);	/* returns its cost, ns */
void ap_session_mem_end(struct ap_session *s);
/* The traces a round made ready, analysed for about budget_ns from now
 * (the loop's share between two drain passes). Returns the traces still
 * ready: the next round analyses them first, before its samples. */
uint32_t ap_session_mem_work(struct ap_session *s, uint64_t now, uint64_t budget_ns);
/* session.c. A complete trace into the current analysis (an ap_mem_trace_fn). */
void ap_session_analyse_trace(void *ctx, const struct ap_trace_view *t);

/* emit.c. Format fmt of run r rendered into memory (malloc'd, *len bytes);
 * NULL with *err set when it failed. */
struct ap_format;
char *ap_render_format(const struct ap_format *fmt, const struct ap_run *r, size_t *len, int *err);

/* emit.c. The run's final reports into the report directory through d, and
 * the text, JSON or summary on stdout as opts say. Returns `code`, or
 * AP_EXIT_INTERNAL when a report could not be written (said on stderr). */
int ap_emit_reports(struct ap_dump *d, const struct ap_run *r, const struct ap_run_opts *o, int code);

/* Where serve keeps the live view's snapshot for segment `name`: next to
 * the segment, /dev/shm/NAME.top (live.c says why a file). */
void ap_live_path(const char *segment, char *out, size_t cap);
/* Remove the snapshots (same user) whose segment is gone; how many. */
int ap_live_remove_stale(void);

/* live.c (session): refresh the snapshot file now. */
void ap_session_live(struct ap_session *s, uint64_t now);
/* record --top: leave the alternate screen. */
void ap_session_live_end(struct ap_session *s);
/* otlp_out.c. --otlp: start the sender (0 or -errno, said on stderr); the
 * assembler's trace consumer; a pass (a batch older than its time goes);
 * the end (the last batch, then the queue for at most --otlp-drain-s);
 * the record for the report. */
int ap_session_otlp_start(struct ap_session *s);
void ap_session_otlp_trace(void *ctx, const struct ap_trace_view *t);
void ap_session_otlp_pass(struct ap_session *s, uint64_t now);
void ap_session_otlp_stop(struct ap_session *s);
void ap_session_otlp_view(struct ap_session *s, struct ap_run *r);

/* CLOCK_MONOTONIC ns. */
uint64_t ap_session_now(void);

#endif /* AP_SESSION_H */
