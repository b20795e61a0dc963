/* SPDX-License-Identifier: MIT */
/*
 * session.h - one profiled run: create the segment, start the workload,
 * drain until it and every process attached to the segment are gone, write
 * the report, remove the segment.
 */
#ifndef AP_SESSION_H
#define AP_SESSION_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "analysis.h"
#include "assemble.h"
#include "drain.h"
#include "dump.h"
#include "evlog.h"
#include "names.h"
#include "segment.h"
#include "spans.h"

#define AP_DEFAULT_MAX_SPANS	(1u << 18)	/* spans in flight (traces not yet complete) */
#define AP_EXIT_INTERNAL	125	/* agentprof itself failed (as env(1), timeout(1)) */
#define AP_EXIT_USAGE		2	/* bad arguments or input that is not ours */

struct ap_run_opts {
	const char *out_dir;		/* report directory, default ./agentprof-out */
	struct ap_seg_config seg;
	uint32_t max_spans;		/* spans kept in memory */
	int quiet;			/* no summary on stdout */
	int json_stdout;		/* print report.json instead of the summary */
	char *const *argv;		/* the command (record), for the report */
	const char *label;		/* what ran, for the summary */
	struct ap_rules rules;		/* bottleneck thresholds */
	struct ap_keep_cfg keep;	/* traces kept whole */
	struct ap_model models[64];	/* model context windows */
	uint32_t nmodels;
	const char *log_path;		/* --log FILE: every drained event */
	int io_sync;			/* log and dumps: force the writer-thread path (tests) */
	const char *segment_name;	/* serve: this segment, created or taken over from a
					 * dead reader; NULL: a unique name (record) */
	int serving;			/* serve: no workload; drains until SIGINT or SIGTERM */
	uint64_t interval_ns;		/* --interval: dump the reports this often; 0: never */
	uint32_t log_block;		/* payload bytes per log block (tests) */
};

/* serve: spawn is NULL. */
/* Start the workload with the segment named `segment` and return the pid
 * whose exit ends the run (its exit status becomes the run's). 0 or -errno;
 * *exec_errno is set when the command could not be executed at all. */
typedef int (*ap_spawn_fn)(void *ctx, const char *segment, pid_t *pid, int *exec_errno);

struct ap_session {
	struct ap_run_opts opts;
	struct ap_segment seg;
	struct ap_drain drain;
	struct ap_assembler as;		/* events -> traces, handed to analysis */
	struct ap_names names;
	struct ap_drain_totals totals;
	struct ap_span_counts span_counts;
	struct ap_analysis analysis;
	int analyzed;
	pid_t main_pid;
	int main_status;		/* wait status */
	int main_done;
	int signals;			/* stop signals received */
	uint64_t t0_ns, t1_ns;		/* CLOCK_MONOTONIC start and end */
	uint64_t workload_cpu_ns;	/* user + system CPU of the reaped workload, 0: unknown */
	double cost_ns;			/* writers' median cost per event, 0: none */
	uint64_t setup_ns;		/* writers' time getting ready (attach, lane claims) */
	uint64_t cpus;			/* online CPUs: the machine's capacity is duration x cpus */
	uint64_t cost_measurements;
	/* --log */
	struct ap_log log;
	int logging;
	int log_err;			/* the log's first write error, -errno */
	size_t names_logged;		/* bytes of the name pool already logged */
	uint32_t checks;
	/* `agentprof report FILE` */
	int replayed;
	int replay_complete;		/* the log's TOTALS block was read */
	struct ap_log_scan scan;
	uint64_t events_not_logged;
	char (*qreason)[48];
	uint64_t passes, idle_sleeps;
	/* --interval: the cumulative report and the interval's, dumped */
	struct ap_dump dump;
	int dumping;
	int dump_failure_said;		/* the first failure is said on stderr, once */
	struct ap_analysis iv;		/* traces completed in the current interval */
	int iv_on;
	uint64_t merge_failed;		/* intervals whose flame paths did not fit in memory */
	int rendering_iv;		/* the report writers render the interval */
	uint64_t iv_t0_ns, next_dump_ns, dumps, render_ns;
	struct ap_drain_totals iv_base;	/* totals at the interval's start */
	struct ap_span_counts iv_base_spans;
	uint64_t iv_base_setup_ns;
	/* serve: the segment was taken over from a reader that died */
	uint32_t took_over_from, lanes_adopted;
};

/* Fill opts with defaults. */
void ap_run_opts_default(struct ap_run_opts *o);

/* Run a session. Returns the exit status for agentprof: the workload's
 * (128 + signal if it was killed), 126/127 when it could not be executed,
 * AP_EXIT_INTERNAL when agentprof itself failed (message on stderr). */
int ap_session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx);

/* Pieces, for tests that drive a session step by step. */
int ap_session_open(struct ap_session *s, const struct ap_run_opts *o);
void ap_session_finish(struct ap_session *s);	/* final drain, totals, names */
void ap_session_close(struct ap_session *s);	/* unmap and remove the segment */
int ap_session_write_report(struct ap_session *s, const char *path);
/* report.json into f; 0 or the first write error. */
int ap_session_json(struct ap_session *s, FILE *f);
/* --interval: dump the run's report and the interval's now (the drain loop
 * does it every interval_ns; the bench drives it). */
void ap_session_dump(struct ap_session *s);
/* Build the trees and the analysis (after finish). 0 or -ENOMEM. */
int ap_session_analyze(struct ap_session *s);
/* Write the text report to path (tmp + fsync + rename). 0 or -errno. */
int ap_session_write_text(struct ap_session *s, const char *path);

/* `agentprof report FILE`: the report of an event log, written and printed
 * as record would. Returns 0, 1 when the log was damaged or cut short (the
 * report covers its intact blocks), AP_EXIT_USAGE when FILE is not a log
 * that can be read, AP_EXIT_INTERNAL when agentprof failed. */
int ap_report_log(const struct ap_run_opts *o, const char *file);

/* Rebuild a run from an event log held in buf: the session is then ready
 * for ap_session_analyze() and the report writers. 0; -EINVAL when buf has
 * no intact header or totals to say what it is (message in *why); -ENOMEM. */
int ap_session_replay(struct ap_session *s, const struct ap_run_opts *o, const uint8_t *buf, size_t len,
		      const char **why);

/* CLOCK_MONOTONIC ns. */
uint64_t ap_session_now(void);

#endif /* AP_SESSION_H */
