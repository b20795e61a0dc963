/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared pieces of the test suites.
 *
 * The test process is the reader. Everything that records spans runs in a
 * forked child (the library's state is per process), which reports through
 * its exit status: 0 pass, 1 fail (liburing's convention), and through pipes
 * where it has numbers to tell.
 */
#ifndef AP_TEST_HELPERS_H
#define AP_TEST_HELPERS_H

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <sys/types.h>

#include "analysis.h"
#include "assemble.h"
#include "drain.h"
#include "names.h"
#include "segment.h"
#include "span_store.h"

/* A reader over a test segment: the record path (drain, assembler,
 * analysis), and every span handed on also kept in `spans` to inspect. */
struct t_reader {
	struct ap_segment seg;
	struct ap_drain drain;
	struct ap_assembler as;
	struct ap_analysis analysis;
	struct ap_rules rules;
	struct ap_model models[8];
	uint32_t nmodels;
	struct ap_spans spans;
	struct ap_names names;
	struct ap_drain_totals tot;
	struct ap_span_counts counts;
};

/* Create a uniquely named segment and a reader over it. */
int t_reader_open(struct t_reader *r, uint32_t lanes, uint32_t lane_events);
/* The reader over r->seg, already created. 0 or -ENOMEM. */
int t_reader_init(struct t_reader *r);
/* Unmap and remove the segment, free the reader. */
void t_reader_close(struct t_reader *r);
/* Drain until every pid has exited (and reaped), collecting exit codes
 * (128 + signal when killed); then drain the rest and compute totals. */
void t_reader_run(struct t_reader *r, const pid_t *pids, int n, int *codes);
/* Final drain, owner check, totals, traces handed on, span counts, names,
 * analysis ended. */
void t_reader_finish(struct t_reader *r);
/* Per-process row of pid, or NULL. */
const struct ap_proc_row *t_proc(const struct t_reader *r, uint32_t pid);

/* An ap_trace_fn: keep the trace's spans in r->spans, then analyse it. */
void t_collect(void *ctx, const struct ap_trace_view *t);

/* Fork a child that runs fn(arg) and exits with its return value. */
pid_t t_fork(int (*fn)(void *), void *arg);
/* One worker process over r's segment: what it needs, and a pipe for what it
 * knows (at most a pipe's buffer, 64 KiB: it is read after the worker ends). */
struct t_job {
	const char *seg;
	int out_fd;
};
/* Fork fn(job) (a struct t_job *), drain until it exits, then read the n bytes it wrote with
 * t_job_write into out. Its exit code; -1 when it wrote short or could not
 * be started. */
int t_run_job(struct t_reader *r, int (*fn)(void *job), void *out, size_t n);
/* The same for a worker whose output varies in length: reads at most n
 * bytes, their count (or -1) in *got; returns the worker's exit code. */
int t_run_job_upto(struct t_reader *r, int (*fn)(void *job), void *out, size_t n, ssize_t *got);
int t_job_write(struct t_job *job, const void *p, size_t n);
/* Wait for pid; returns its exit code, or 128 + signal. */
int t_wait(pid_t pid);
/* Run fn(dir) in a forked child where dir is a 64 KiB tmpfs of a private
 * mount namespace (a disk that fills up). Returns fn's result; 0 with a
 * note on stderr when no tmpfs can be mounted here. */
int t_on_full_disk(const char *tag, int (*fn)(void *dir));
/* This test could not exercise what it is for here (no tmpfs, not root):
 * reported as skipped, with the reason, not as passed. */
void t_skip(const char *reason);
/* Sleep ms milliseconds. */
void t_sleep_ms(unsigned ms);

/* Suites, one per behaviour file. */
void t_register_abi(void);
void t_register_attach(void);
void t_register_multiproc(void);
void t_register_drops(void);
void t_register_killed(void);
void t_register_corrupt(void);
void t_register_off(void);
void t_register_traceparent(void);
void t_register_reentrant(void);
void t_register_inproc(void);
void t_register_lane_reuse(void);
void t_register_record(void);
void t_register_hmap(void);
void t_register_hist(void);
void t_register_clock(void);
void t_register_trees(void);
void t_register_sampling(void);
void t_register_retain(void);
void t_register_evlog(void);
void t_register_diff(void);
void t_register_memory(void);
void t_register_memattr(void);
void t_register_html_memory(void);
void t_register_serve(void);
void t_register_pb(void);
void t_register_ctx(void);
void t_register_timeout(void);
void t_register_fastpath(void);
void t_register_fleet(void);
void t_register_top(void);

#define T_ADD(suite, fn) CU_add_test(suite, #fn, fn)

#endif /* AP_TEST_HELPERS_H */
