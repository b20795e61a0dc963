/* SPDX-License-Identifier: MIT */
/*
 * session.c - one profiled run, from segment creation to the report.
 *
 * The loop drains every lane, reaps children, checks lane owners every
 * 20 ms, and sleeps 100 us whenever a pass found nothing (a reader that
 * busy-polls the heads doubles the writers' cost through cache-line
 * traffic). The run ends when the workload's main process has exited, no
 * lane has a live owner and every ring is drained. agentprof makes itself a
 * child subreaper, so descendants that outlive their parent are reaped here
 * and never linger as zombies that look alive.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are passed on to the workload unless
 * they came from the terminal (which already sent them to the whole
 * foreground group). Once the workload is gone, a signal stops the wait for
 * other attached processes; a third signal ends the run at once. Every way
 * out removes the segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentprof.h"
#include "json.h"
#include "report.h"
#include "session.h"

#define IDLE_SLEEP_NS		100000u		/* 100 us */
#define OWNER_CHECK_NS		20000000u	/* 20 ms */
#define STRAGGLER_NOTE_NS	2000000000u	/* say who we wait for after 2 s */

static volatile sig_atomic_t sig_count;
static volatile sig_atomic_t sig_pending_forward;
static volatile sig_atomic_t sig_last;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sig_count++;
	sig_last = sig;
	/* SI_KERNEL: from the terminal, the workload got it too. */
	if (!si || si->si_code != SI_KERNEL)
		sig_pending_forward = sig;
}

uint64_t ap_session_now(void)
{
	return ap_mono_ns();
}

void ap_run_opts_default(struct ap_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->out_dir = "agentprof-out";
	ap_seg_config_default(&o->seg);
	o->max_spans = AP_DEFAULT_MAX_SPANS;
	o->label = "workload";
	ap_rules_default(&o->rules);
	ap_keep_default(&o->keep);
	o->nmodels = ap_models_default(o->models, sizeof(o->models) / sizeof(o->models[0]));
}

static int mkdir_p(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ap_session_open(struct ap_session *s, const struct ap_run_opts *o)
{
	char name[64];
	uint32_t r = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)ap_mono_ns();
	snprintf(name, sizeof(name), "/agentprof-%d-%08x", (int)getpid(), r);
	ret = ap_seg_create(&s->seg, name, &o->seg);
	if (ret) {
		if (ret == -ENOSPC)
			fprintf(stderr, "agentprof: cannot create segment %s: no room in /dev/shm for "
				"%" PRIu64 " MiB (lower --lanes or --lane-events)\n",
				name, ap_seg_size(&o->seg) >> 20);
		else
			fprintf(stderr, "agentprof: cannot create segment %s: %s\n", name, ap_strerror(ret));
		return ret;
	}
	if (ap_analysis_init(&s->analysis, &s->names, &s->seg.clock, &s->opts.rules, s->opts.models,
			     s->opts.nmodels, &s->opts.keep) ||
	    ap_asm_init(&s->as, o->max_spans, ap_analysis_add, &s->analysis) || ap_names_init(&s->names) ||
	    ap_drain_init(&s->drain, &s->seg, ap_asm_events, &s->as)) {
		fprintf(stderr, "agentprof: out of memory\n");
		ap_session_close(s);
		return -ENOMEM;
	}
	s->t0_ns = ap_mono_ns();
	return 0;
}

void ap_session_close(struct ap_session *s)
{
	if (s->seg.base) {
		ap_seg_unlink(s->seg.name);
		ap_seg_unmap(&s->seg);
	}
	ap_drain_free(&s->drain);
	ap_asm_free(&s->as);
	ap_names_free(&s->names);
	ap_analysis_free(&s->analysis);
	s->analyzed = 0;
}

int ap_session_analyze(struct ap_session *s)
{
	ap_analysis_end(&s->analysis, &s->as);
	s->analysis.traces_sampled_out = s->totals.sampled_out;
	s->analyzed = 1;
	return 0;
}

static void overhead_of(struct ap_session *s, struct ap_overhead *ov, struct ap_loss *loss)
{
	memset(ov, 0, sizeof(*ov));
	ov->events = s->totals.read;
	ov->ns_per_event = ap_drain_cost_ns(&s->drain);
	ov->measurements = s->drain.ncosts;
	ov->profiled_ns = s->analyzed ? s->analysis.total_trace_ns : 0;
	ov->workload_cpu_ns = s->workload_cpu_ns;
	if (loss) {
		memset(loss, 0, sizeof(*loss));
		loss->dropped_full = s->totals.dropped_full;
		loss->dropped_no_lane = s->totals.dropped_no_lane;
		loss->dropped_reentrant = s->totals.dropped_reentrant;
		loss->rejected = s->totals.rejected;
		loss->quarantined_lanes = s->totals.quarantined_lanes;
		loss->end_without_begin = s->span_counts.unmatched_end;
		loss->duplicates = s->as.duplicate_begin + s->as.duplicate_end;
		loss->over_cap = s->as.over_cap;
	}
}

/* Write via tmp + fsync + rename, so a reader of path sees old or new. */
static int write_atomically(const char *path, void (*fill)(FILE *f, void *ctx), void *ctx)
{
	char tmp[4300];
	FILE *f;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fill(f, ctx);
	if (ferror(f))
		ret = -EIO;
	if (fflush(f) == EOF && !ret)
		ret = -errno;
	if (!ret && fsync(fileno(f)) < 0)
		ret = -errno;
	if (fclose(f) == EOF && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

struct text_ctx {
	struct ap_session *s;
	int color;
};

static void fill_text(FILE *f, void *ctx)
{
	struct text_ctx *t = ctx;
	struct ap_overhead ov;
	struct ap_loss loss;

	overhead_of(t->s, &ov, &loss);
	fprintf(f, "agentprof report: %s, %llu traces (%llu complete), %llu spans, %u processes, %.2f s\n",
		t->s->opts.label, (unsigned long long)t->s->analysis.traces,
		(unsigned long long)t->s->analysis.traces_complete,
		(unsigned long long)t->s->analysis.spans_in_trees, t->s->drain.nprocs,
		(double)(t->s->t1_ns - t->s->t0_ns) / 1e9);
	ap_report_text(f, &t->s->analysis, &ov, &loss, t->color);
}

int ap_session_write_text(struct ap_session *s, const char *path)
{
	struct text_ctx t = { s, 0 };

	if (!s->analyzed)
		return -EINVAL;
	return write_atomically(path, fill_text, &t);
}

/* Reap every child that has exited; note the main one. */
static void reap(struct ap_session *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->main_pid) {
			s->main_status = status;
			s->main_done = 1;
		}
	}
	if (pid < 0 && errno == ECHILD && s->main_pid > 0 && !s->main_done) {
		/* Cannot happen for our own child; do not wait forever if it does. */
		s->main_done = 1;
	}
}

void ap_session_finish(struct ap_session *s)
{
	/* Bounded: a live straggler could publish forever. */
	uint64_t limit = (uint64_t)s->seg.lane_count * s->seg.lane_capacity * 4;
	uint64_t got, total = 0;

	do {
		got = ap_drain_pass(&s->drain);
		ap_asm_flush(&s->as);
		total += got;
	} while (got && total < limit);
	ap_drain_check_owners(&s->drain, ap_mono_ns(), 0);
	ap_drain_totals(&s->drain, &s->totals, 1);
	ap_asm_finish(&s->as);
	s->span_counts.complete = s->as.spans_complete;
	s->span_counts.open = s->as.spans_open;
	s->span_counts.unmatched_end = s->as.end_without_begin;
	s->span_counts.tokens_only = s->as.tokens_only;
	ap_names_load(&s->names, &s->seg);
	s->t1_ns = ap_mono_ns();
	/* The workload's CPU time: every process of it that was waited for. The
	 * overhead is stated against it as well as against traced time. */
	{
		struct rusage ru;

		if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
			s->workload_cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u +
					     (uint64_t)ru.ru_utime.tv_usec * 1000u +
					     (uint64_t)ru.ru_stime.tv_sec * 1000000000u +
					     (uint64_t)ru.ru_stime.tv_usec * 1000u;
	}
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return AP_EXIT_INTERNAL;
}

static void note_stragglers(struct ap_session *s)
{
	fprintf(stderr, "agentprof: %s has exited; waiting for processes still attached:", s->opts.label);
	for (uint32_t i = 0, shown = 0; i < s->seg.lane_count && shown < 8; i++) {
		uint64_t o = atomic_load_explicit(&s->seg.lanes[i].owner, memory_order_relaxed);

		if (o && !s->drain.lanes[i].quarantined) {
			fprintf(stderr, " %u", AP_OWNER_PID(o));
			shown++;
		}
	}
	fprintf(stderr, " (Ctrl-C stops waiting)\n");
}

static void loop(struct ap_session *s)
{
	struct timespec idle = { 0, IDLE_SLEEP_NS };
	uint64_t next_check = 0, done_at = 0;
	int noted = 0, forwarded_count = 0;

	for (;;) {
		uint64_t got = ap_drain_pass(&s->drain);
		uint64_t now = ap_mono_ns();

		ap_asm_flush(&s->as);	/* complete traces go to the analysis now */
		s->passes++;
		atomic_store_explicit(&s->seg.hdr->reader_heartbeat_ns, now, memory_order_relaxed);
		reap(s);
		if (sig_pending_forward && !s->main_done && s->main_pid > 0) {
			kill(s->main_pid, sig_pending_forward);
			sig_pending_forward = 0;
		}
		if (sig_count != forwarded_count) {
			forwarded_count = sig_count;
			if (sig_count >= 3 || s->main_done)
				break;		/* stop waiting */
		}
		if (now >= next_check) {
			uint32_t alive = ap_drain_check_owners(&s->drain, now, 0);

			next_check = now + OWNER_CHECK_NS;
			if (s->main_done) {
				if (!done_at)
					done_at = now;
				if (alive == 0 && ap_drain_pending(&s->drain) == 0)
					break;
				if (!noted && now - done_at > STRAGGLER_NOTE_NS) {
					note_stragglers(s);
					noted = 1;
				}
			}
		}
		if (got == 0) {
			s->idle_sleeps++;
			nanosleep(&idle, NULL);
		}
	}
}

static void print_summary(struct ap_session *s, int code, const char *report_path)
{
	const struct ap_drain_totals *t = &s->totals;
	uint64_t threads = 0;

	for (uint32_t i = 0; i < s->drain.nprocs; i++)
		threads += s->drain.procs[i].threads;
	printf("agentprof: %s exited with status %d after %.2f s\n", s->opts.label, code,
	       (double)(s->t1_ns - s->t0_ns) / 1e9);
	printf("  events     written %" PRIu64 "  read %" PRIu64 "  dropped %" PRIu64
	       " (full %" PRIu64 ", no lane %" PRIu64 ", reentrant %" PRIu64 ")  rejected %" PRIu64 "\n",
	       t->written, t->read, t->dropped_full + t->dropped_no_lane + t->dropped_reentrant,
	       t->dropped_full, t->dropped_no_lane, t->dropped_reentrant, t->rejected);
	printf("  spans      complete %" PRIu64 "  open (truncated) %" PRIu64 "  end without begin %" PRIu64 "\n",
	       s->span_counts.complete, s->span_counts.open, s->span_counts.unmatched_end);
	printf("  processes  %u  threads %" PRIu64 "  lanes quarantined %" PRIu64 "\n",
	       s->drain.nprocs, threads, t->quarantined_lanes);
	if (report_path)
		printf("  report     %s\n", report_path);
	fflush(stdout);
}

int ap_session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct ap_session *s;
	char path[4200];
	int ret, code, exec_errno = 0;

	ret = mkdir_p(o->out_dir);
	if (ret) {
		fprintf(stderr, "agentprof: cannot create output directory %s: %s\n", o->out_dir, strerror(-ret));
		return AP_EXIT_INTERNAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "agentprof: out of memory\n");
		return AP_EXIT_INTERNAL;
	}
	if (ap_session_open(s, o)) {
		free(s);
		return AP_EXIT_INTERNAL;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sig_count = 0;
	sig_pending_forward = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	ret = spawn(ctx, s->seg.name, &s->main_pid, &exec_errno);
	if (ret || exec_errno) {
		int err = exec_errno ? exec_errno : -ret;

		fprintf(stderr, "agentprof: cannot run %s: %s\n", o->label, strerror(err));
		code = (err == ENOENT) ? 127 : 126;
		reap(s);
		ap_session_close(s);
		free(s);
		goto out;
	}
	loop(s);
	ap_session_finish(s);
	code = s->main_done ? exit_code(s->main_status) : 128 + (sig_last ? sig_last : SIGTERM);
	if (ap_session_analyze(s))
		fprintf(stderr, "agentprof: out of memory building the analysis; report.json has counts only\n");
	snprintf(path, sizeof(path), "%s/report.txt", o->out_dir);
	ret = s->analyzed ? ap_session_write_text(s, path) : 0;
	if (ret) {
		fprintf(stderr, "agentprof: cannot write %s: %s\n", path, strerror(-ret));
		code = AP_EXIT_INTERNAL;
	}
	snprintf(path, sizeof(path), "%s/report.json", o->out_dir);
	ret = ap_session_write_report(s, path);
	if (ret) {
		fprintf(stderr, "agentprof: cannot write %s: %s\n", path, strerror(-ret));
		if (!o->quiet && !o->json_stdout)
			print_summary(s, code, NULL);
		code = AP_EXIT_INTERNAL;
	} else if (code == AP_EXIT_INTERNAL) {
		if (!o->quiet && !o->json_stdout)
			print_summary(s, code, NULL);
	} else if (o->json_stdout) {
		FILE *f = fopen(path, "r");
		char buf[65536];
		size_t n;

		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, stdout);
		if (f)
			fclose(f);
		fflush(stdout);
	} else if (!o->quiet) {
		if (s->analyzed) {
			struct text_ctx t = { s, isatty(1) && !getenv("NO_COLOR") };

			fill_text(stdout, &t);
			putchar('\n');
		}
		print_summary(s, code, path);
	}
	ap_session_close(s);
	free(s);
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return code;
}

/* ------------------------------------------------------------------------ */
/* report.json                                                               */

static const char *clock_name(uint32_t source)
{
	switch (source) {
	case AP_CLOCK_TSC:	return "tsc";
	case AP_CLOCK_CNTVCT:	return "cntvct";
	default:		return "monotonic";
	}
}

static void write_counts(struct ap_json *j, struct ap_session *s)
{
	const struct ap_drain_totals *t = &s->totals;

	ap_json_obj(j, "counts");
	ap_json_u64(j, "written", t->written);
	ap_json_u64(j, "read", t->read);
	ap_json_u64(j, "dropped_full", t->dropped_full);
	ap_json_u64(j, "dropped_no_lane", t->dropped_no_lane);
	ap_json_u64(j, "dropped_reentrant", t->dropped_reentrant);
	ap_json_u64(j, "rejected", t->rejected);
	ap_json_u64(j, "quarantined_lanes", t->quarantined_lanes);
	ap_json_u64(j, "traces_sampled_out", t->sampled_out);
	ap_json_u64(j, "spans_complete", s->span_counts.complete);
	ap_json_u64(j, "spans_open", s->span_counts.open);
	ap_json_u64(j, "spans_end_without_begin", s->span_counts.unmatched_end);
	ap_json_u64(j, "spans_tokens_only", s->span_counts.tokens_only);
	ap_json_u64(j, "duplicate_begin", s->as.duplicate_begin);
	ap_json_u64(j, "duplicate_end", s->as.duplicate_end);
	ap_json_u64(j, "spans_over_cap", s->as.over_cap);
	ap_json_u64(j, "spans_in_flight_peak", s->as.peak_nodes);
	ap_json_u64(j, "in_ring", t->in_ring);
	ap_json_u64(j, "lost_quarantined", t->lost_quarantined);
	ap_json_u64(j, "lane_claims", t->claims);
	ap_json_u64(j, "lanes_reclaimed", t->reclaimed_lanes);
	ap_json_u64(j, "names_full", t->names_full);
	ap_json_u64(j, "names_invalid", s->names.invalid);
	ap_json_u64(j, "processes_over_cap", s->drain.procs_over_cap);
	ap_json_end_obj(j);
}

int ap_session_write_report(struct ap_session *s, const char *path)
{
	char tmp[4300];
	struct ap_json j;
	FILE *f;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	ap_json_init(&j, f);
	ap_json_obj(&j, NULL);
	ap_json_obj(&j, "agentprof");
	ap_json_str(&j, "version", "0.1.0");
	ap_json_u64(&j, "abi", AP_ABI_VERSION);
	ap_json_end_obj(&j);

	ap_json_obj(&j, "run");
	ap_json_arr(&j, "command");
	for (char *const *a = s->opts.argv; a && *a; a++)
		ap_json_str(&j, NULL, *a);
	ap_json_end_arr(&j);
	ap_json_str(&j, "segment", s->seg.name);
	if (s->main_done)
		ap_json_i64(&j, "exit_status", exit_code(s->main_status));
	else
		ap_json_null(&j, "exit_status");
	ap_json_num(&j, "duration_ms", (double)(s->t1_ns - s->t0_ns) / 1e6, 3);
	ap_json_str(&j, "clock", clock_name(s->seg.clock.source));
	ap_json_u64(&j, "clock_hz", s->seg.clock.hz);
	ap_json_end_obj(&j);

	{
		/* The reader's own cost: its peak memory and CPU time. */
		struct rusage ru;

		ap_json_obj(&j, "reader");
		if (getrusage(RUSAGE_SELF, &ru) == 0) {
			ap_json_u64(&j, "peak_rss_kib", (uint64_t)ru.ru_maxrss);
			ap_json_num(&j, "cpu_ms", (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
					 (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3, 1);
		}
		ap_json_end_obj(&j);
	}

	ap_json_obj(&j, "segment");
	ap_json_u64(&j, "lanes", s->seg.lane_count);
	ap_json_u64(&j, "lane_events", s->seg.lane_capacity);
	ap_json_u64(&j, "bytes", s->seg.size);
	ap_json_u64(&j, "attaches", s->totals.attaches);
	ap_json_end_obj(&j);

	write_counts(&j, s);

	ap_json_arr(&j, "quarantined");
	for (uint32_t i = 0; i < s->seg.lane_count; i++) {
		if (!s->drain.lanes[i].quarantined)
			continue;
		ap_json_obj(&j, NULL);
		ap_json_u64(&j, "lane", i);
		ap_json_str(&j, "reason", s->drain.lanes[i].quarantined);
		ap_json_u64(&j, "events_read", s->drain.lanes[i].events);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);

	ap_json_arr(&j, "processes");
	for (uint32_t i = 0; i < s->drain.nprocs; i++) {
		const struct ap_proc_row *p = &s->drain.procs[i];

		ap_json_obj(&j, NULL);
		ap_json_u64(&j, "pid", p->pid);
		ap_json_u64(&j, "threads", p->threads);
		ap_json_u64(&j, "spans", p->spans);
		ap_json_u64(&j, "events", p->events);
		ap_json_u64(&j, "dropped", p->dropped);
		ap_json_u64(&j, "lanes_claimed", p->lanes_claimed);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);
	if (s->analyzed) {
		struct ap_overhead ov;

		overhead_of(s, &ov, NULL);
		ap_report_json(&j, &s->analysis, &ov);
	}
	ap_json_end_obj(&j);

	ret = j.err;
	if (fflush(f) == EOF && !ret)
		ret = -errno;
	if (!ret && fsync(fileno(f)) < 0)
		ret = -errno;
	if (fclose(f) == EOF && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
