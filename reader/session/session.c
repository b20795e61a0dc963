/* SPDX-License-Identifier: MIT */
/*
 * session.c - one profiled run, from segment creation to the report.
 *
 * The loop drains every lane, reaps children, checks lane owners every
 * 20 ms, and sleeps between passes for as long as the fullest lane takes
 * to fill a sixteenth of its ring at its last rate (50 us to 1 ms). A reader
 * that busy-polls the heads doubles the writers' cost through cache-line
 * traffic; one that wakes 10,000 times a second costs CPU-bound workers on
 * the same cores about 3% (measured: preemption and cache pollution). The
 * run ends when the workload's main process has exited, no lane has a live
 * owner and every ring is drained. agentprof makes itself a child
 * subreaper, so descendants that outlive their parent are reaped here and
 * never linger as zombies that look alive.
 *
 * Drain first, analyse in shares. A lane is drained at most one batch
 * (1,024 events) per pass, so the loop must come back to it before it
 * fills: 4,096 events at 2.25 M events/s take 1.8 ms. Draining and
 * assembling are per event and cheap; the analysis is not, and with
 * memory sampled (the default) it comes in bursts: traces wait in the
 * hold for the next round (memory.h), and a round makes every trace of
 * the last 20 ms ready at once, 45,000 single-span traces at 4.5 M
 * events/s, 6 to 10 ms of analysis (about 140 to 240 ns a trace). Done in
 * one go, that kept the reader off the lanes for several fills, and
 * bench-rate lost 22% of its events at 4.5 M/s where it lost 1.5% with
 * sampling off. So after each pass the
 * loop analyses ready traces only for as long as the fullest lane, at
 * the rate it filled since the last pass, takes to fill half a batch
 * (50 us to 1 ms; 50 us when a lane held more than a batch: it is behind),
 * and does not sleep while any is ready. The burst then waits in the
 * reader's own memory, never in a lane. That memory is bounded: a round's
 * ready spans plus at most AP_MEM_HOLD_SPANS waiting; past that cap the
 * hold is analysed at once and counted (traces_analysed_early), as
 * before; nothing is dropped. No figure moves either: the next round
 * (and a periodic dump, for its interval: interval.c) analyses whatever
 * is left before it takes its samples, so each trace
 * is analysed against the series it was made ready with and in the
 * order of an unbounded release, which is what a replay of the event log
 * does (memory.h). Measured, bench-rate 2 s, --lanes 4, runs of the two
 * readers interleaved on this 2-vCPU host: at 4.5 M events/s 22-28% of
 * the events dropped before, 0.05-0.13% after; at 2 M/s 5-6% before, none
 * after. What drops remain come from the scheduler, not the loop: with
 * the loop timed phase by phase, the ones we looked at followed a phase or
 * a sleep stretched to 2 ms or more by preemption, or writers idle for a
 * while and then catching up (bench-rate keeps its average rate, so a
 * writer kept off the CPU writes its backlog faster than any reader
 * drains). Without memory sampling, traces are analysed as a pass
 * flushes them, at most a batch of events per lane: no burst to bound.
 * Following the fill rate with a decaying average instead of the last
 * pass's (for this share and for the sleep) made no difference that the
 * host's noise did not swamp, so the loop keeps the simpler rule.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are passed on to the workload unless
 * they came from the terminal (which already sent them to the whole
 * foreground group). Once the workload is gone, a signal stops the wait for
 * other attached processes; a third signal ends the run at once. Every way
 * out removes the segment.
 *
 * Plumbing: the drain hands events to a fan-out (the event log, then the
 * assembler); the assembler hands complete traces to the interval's
 * analysis (--interval) or the run's. Everything written goes through the
 * one I/O engine: the log's blocks, the dumps, the final report.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ap_atomic.h"
#include "file.h"
#include "logcodec.h"
#include "otlp.h"
#include "session.h"

#define IDLE_SLEEP_NS		50000u		/* 50 us */
#define IDLE_SLEEP_MAX_NS	1000000u	/* 1 ms */
#define OWNER_CHECK_NS		20000000u	/* 20 ms */
#define STRAGGLER_NOTE_NS	2000000000u	/* say who we wait for after 2 s */
#define WORK_MIN_NS		50000u		/* held traces analysed per pass: at least 50 us */
#define WORK_MAX_NS		1000000u	/* and at most 1 ms */

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
	ap_settings_default(&o->set);
	o->label = "workload";
	o->formats = UINT32_MAX;	/* AP_FORMATS_ALL */
	o->trace_timeout_ns = AP_TRACE_TIMEOUT_DEFAULT_NS;
	o->otlp_batch_spans = 512;
	o->otlp_batch_ms = 1000;
	o->otlp_queue_bytes = 64ull << 20;
	o->otlp_drain_s = 5;
}

static void log_names(struct ap_session *s)
{
	ap_names_load(&s->names, &s->seg);
	if (s->names.used > s->names_logged) {
		ap_log_names(&s->log, s->names.pool + s->names_logged, s->names.used - s->names_logged);
		s->names_logged = s->names.used;
	}
}

static int log_start(struct ap_session *s)
{
	const struct ap_run_opts *o = &s->opts;
	size_t n;
	uint8_t *p;
	int ret = ap_log_open(&s->log, &s->aio, o->log_path, o->log_block ? o->log_block : AP_LOG_BLOCK_DEFAULT);

	if (ret) {
		fprintf(stderr, "agentprof: cannot write the event log %s: %s\n", o->log_path,
			ret == -EEXIST ? "it exists (a log is never overwritten)" : strerror(-ret));
		return ret;
	}
	p = ap_log_header(&s->seg, &o->set, &n);
	if (!p) {
		ap_log_close(&s->log);
		return -ENOMEM;
	}
	signal(SIGXFSZ, SIG_IGN);	/* a file size limit is a write error, not death */
	ap_log_block(&s->log, AP_LOG_HEADER, p, (uint32_t)n);
	free(p);
	s->logging = 1;
	return 0;
}

/* The last block: what the drain counted, for a replay's report. */
static void log_totals(struct ap_session *s)
{
	struct ap_run r;
	size_t n;
	uint8_t *p;

	ap_session_run_view(s, &r);
	p = ap_log_totals(&s->seg, &s->opts.set, &r, s->log.events_not_logged, s->log.block_cap, &n);
	if (!p)
		return;
	ap_log_block(&s->log, AP_LOG_TOTALS, p, (uint32_t)n);
	free(p);
}

/* The drain found a process gone, or the run ends with it running: its open
 * spans end no earlier than that (assemble.h), and a replay learns the same
 * moment from the log. */
static void on_seen(void *ctx, uint32_t pid, uint64_t alive_ns)
{
	struct ap_session *s = ctx;
	const struct ap_clock_cal *c = &s->seg.clock;
	uint64_t ticks = alive_ns >= c->ref_ns ? c->ref_ticks + ap_ns_to_ticks(c, alive_ns - c->ref_ns) :
			 c->ref_ticks - ap_ns_to_ticks(c, c->ref_ns - alive_ns);

	ap_asm_seen(&s->as, pid, ticks);
	if (s->logging)
		ap_log_seen(&s->log, pid, ticks);
}

/* With --interval each trace is analysed once, into the interval's
 * analysis, which is folded into the run's at each dump; the run's analysis
 * still chooses its kept traces from every trace as it comes (retain_too).
 * Without an interval analysis (no memory for a fresh one) traces go to the
 * run's analysis directly. */
void ap_session_analyse_trace(void *ctx, const struct ap_trace_view *t)
{
	struct ap_session *s = ctx;

	if (s->mem_on)
		ap_mem_count_roots(&s->mem, t);
	ap_analysis_add(s->iv_on ? &s->iv : &s->analysis, t);
}

/* With memory sampled, a trace waits for the next round (memory.h). */
static void analyse(void *ctx, const struct ap_trace_view *t)
{
	struct ap_session *s = ctx;

	ap_mem_offer(&s->mem, &s->hold, t, ap_session_analyse_trace, s);
}

/*
 * serve: the segment exists. It is ours to drain only when the reader named
 * in it (the one that took it over last, else its creator) is gone; then we
 * swap ourselves in with a CAS, so that of two readers racing for it one
 * wins, and go on from the tails the dead reader stored.
 */
static int take_over(struct ap_session *s, const char *name)
{
	struct ap_seg_header *h;
	uint64_t r, me, start = 0, mine = 0;
	uint32_t pid;
	int ret, live;

	ret = ap_seg_attach(&s->seg, name);
	if (ret) {
		fprintf(stderr, "agentprof: segment %s exists and is not one to take over: %s\n", name,
			ap_seg_strerror(ret));
		return ret;
	}
	h = s->seg.hdr;
	r = ap_load_acquire(&h->reader);
	pid = r ? AP_OWNER_PID(r) : h->creator_pid;
	live = pid && ap_proc_start_time(pid, &start) == 0 &&
	       (r ? (uint32_t)start == AP_OWNER_START(r) : start == h->creator_start);
	ap_proc_start_time((uint32_t)getpid(), &mine);
	me = AP_OWNER((uint32_t)getpid(), mine);
	if (live || !ap_cas_acq_rel(&h->reader, &r, me)) {
		fprintf(stderr, "agentprof: segment %s is drained by a live reader (pid %u); stop it first, "
			"or serve another segment\n", name, pid);
		ap_seg_unmap(&s->seg);
		return -EBUSY;
	}
	s->took_over = 1;
	s->takeover.from_reader_pid = pid ? pid : UINT32_MAX;
	return 0;
}

static int io_start(struct ap_session *s)
{
	const struct ap_run_opts *o = &s->opts;
	int ret = ap_aio_init(&s->aio, AP_REPORT_SLOTS, o->io_sync);

	if (ret) {
		fprintf(stderr, "agentprof: cannot set up the I/O engine (io_uring): %s\n", strerror(-ret));
		return ret;
	}
	s->aio_on = 1;
	if (!s->aio.forced_sync && s->aio.why_sync && (o->log_path || o->interval_ns))
		fprintf(stderr, "agentprof: %s; the event log and reports are written by a thread with plain writes\n",
			s->aio.why_sync);
	ret = ap_dump_init(&s->dump, &s->aio, o->out_dir);
	if (ret) {
		fprintf(stderr, "agentprof: cannot write reports into %s: %s\n", o->out_dir, strerror(-ret));
		return ret;
	}
	s->dump_on = 1;
	return 0;
}

int ap_session_open(struct ap_session *s, const struct ap_run_opts *o)
{
	const struct ap_settings *set = &o->set;
	char name[AP_SEG_NAME_MAX + 1];
	uint32_t r = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	{
		uint64_t bytes;
		int n = ap_seg_remove_stale(&bytes);

		if (n)
			fprintf(stderr, "agentprof: removed %d segment%s that a killed agentprof left in /dev/shm "
				"(%" PRIu64 " MiB)\n", n, n == 1 ? "" : "s", bytes >> 20);
		ap_live_remove_stale();	/* and the live views of segments gone (NAME.top, a few KiB) */
	}
	if (o->segment_name) {
		snprintf(name, sizeof(name), "%s", o->segment_name);
	} else {
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint32_t)ap_mono_ns();
		snprintf(name, sizeof(name), "/agentprof-%d-%08x", (int)getpid(), r);
	}
	ret = ap_seg_create(&s->seg, name, &o->seg);
	if (ret == -EEXIST && o->segment_name)
		ret = take_over(s, name);
	else if (ret) {
		if (ret == -ENOSPC)
			fprintf(stderr, "agentprof: cannot create segment %s: no room in /dev/shm for "
				"%" PRIu64 " MiB (lower --lanes or --lane-events)\n",
				name, ap_seg_size(&o->seg) >> 20);
		else
			fprintf(stderr, "agentprof: cannot create segment %s: %s\n", name, ap_seg_strerror(ret));
	}
	if (ret)
		return ret;
	s->quarantined = calloc(s->seg.lane_count, sizeof(*s->quarantined));
	if (!s->quarantined ||
	    ap_analysis_init(&s->analysis, &s->names, &s->seg.clock, &s->opts.set.rules, s->opts.set.models,
			     s->opts.set.nmodels, &s->opts.set.keep) ||
	    (o->interval_ns && ap_session_interval_start(s)) ||
	    ap_session_mem_start(s) ||
	    ap_asm_init(&s->as, set->max_spans, ap_fanout_traces, &s->fan) ||
	    ap_fanout_add_traces(&s->fan, analyse, s) ||
	    (o->otlp && ap_fanout_add_traces(&s->fan, ap_session_otlp_trace, s)) ||
	    ap_names_init(&s->names) ||
	    (o->log_path && ap_fanout_add_events(&s->fan, ap_log_consume, &s->log)) ||
	    ap_fanout_add_events(&s->fan, ap_asm_events, &s->as) ||
	    (o->live && (ap_live_init(&s->live, &s->as, &s->seg.clock, ap_mono_ns()) || !(s->live_on = 1) ||
			 ap_top_init(&s->top) || ap_fanout_add_events(&s->fan, ap_live_events, &s->live) ||
			 ap_fanout_add_traces(&s->fan, ap_live_traces, &s->live))) ||
	    ap_drain_init(&s->drain, &s->seg, ap_fanout_events, &s->fan)) {
		fprintf(stderr, "agentprof: out of memory\n");
		ap_session_close(s);
		return -ENOMEM;
	}
	s->drain.on_seen = on_seen;
	s->drain.seen_ctx = s;
	if ((ret = io_start(s)) || (o->log_path && (ret = log_start(s))) ||
	    (o->otlp && (ret = ap_session_otlp_start(s)))) {
		ap_session_close(s);
		return ret;
	}
	/* After the log is open: the events read again go into it too. */
	if (s->took_over) {
		s->takeover.lanes_adopted = ap_drain_adopt(&s->drain);
		s->takeover.lanes_unaccounted = s->drain.lanes_unaccounted;
		s->takeover.reported_seq = ap_load_acquire(&s->seg.hdr->reported_seq);
		s->takeover.report_in_flight_seq = ap_load_acquire(&s->seg.hdr->pending_seq);
		if (s->takeover.report_in_flight_seq == s->takeover.reported_seq)
			s->takeover.report_in_flight_seq = 0;
		if (s->logging)
			ap_log_mark(&s->log);
		ap_asm_flush(&s->as);
	}
	s->dumping = o->interval_ns != 0;
	s->t0_ns = s->iv_t0_ns = ap_mono_ns();
	s->mono_to_unix_ns = ap_otlp_mono_to_unix();
	s->next_dump_ns = s->t0_ns + o->interval_ns;
	s->next_expire_ns = s->t0_ns;
	s->next_live_ns = s->t0_ns + 200000000u;	/* a first snapshot soon */
	if (s->live_on)
		ap_live_path(s->seg.name, s->live_path, sizeof(s->live_path));
	return 0;
}

void ap_session_close(struct ap_session *s)
{
	if (s->otlp_on) {
		ap_otlp_stop(&s->otlp, 0);
		s->otlp_on = 0;
	}
	if (s->otlp_raw) {
		ap_otlp_raw_free(s->otlp_raw);
		free(s->otlp_raw);
		s->otlp_raw = NULL;
	}
	ap_otlp_batch_free(&s->otlp_batch);
	ap_otlp_resource_free(&s->otlp_res);
	if (s->seg.base) {
		ap_seg_retire(&s->seg);	/* workers still attached look for the next reader */
		ap_seg_unlink(s->seg.name);
		ap_seg_unmap(&s->seg);
	}
	if (s->logging) {
		s->log_err = ap_log_close(&s->log);
		s->logging = 0;
	}
	if (s->dump_on) {
		ap_dump_close(&s->dump);
		s->dump_on = 0;
	}
	if (s->aio_on) {
		ap_aio_close(&s->aio);
		s->aio_on = 0;
	}
	s->dumping = 0;
	if (s->live_on) {
		if (s->live_path[0])
			unlink(s->live_path);
		ap_live_free(&s->live);
		ap_top_free(&s->top);
		s->live_on = 0;
	}
	ap_drain_free(&s->drain);
	ap_asm_free(&s->as);
	ap_names_free(&s->names);
	ap_analysis_free(&s->analysis);
	if (s->iv_on)
		ap_analysis_free(&s->iv);
	s->iv_on = 0;
	ap_session_mem_free(s);
	free(s->quarantined);
	s->quarantined = NULL;
	s->analysed = 0;
}

void ap_session_analyse(struct ap_session *s)
{
	ap_analysis_end(&s->analysis, &s->as);
	s->analysis.traces_sampled_out = s->totals.sampled_out;
	s->analysed = 1;
}

void ap_session_run_view(struct ap_session *s, struct ap_run *r)
{
	memset(r, 0, sizeof(*r));
	r->label = s->opts.label;
	r->argv = s->opts.argv;
	r->segment = s->seg.name;
	r->lanes = s->seg.lane_count;
	r->lane_events = s->seg.lane_capacity;
	r->seg_bytes = s->seg.size;
	r->attaches = s->totals.attaches;
	r->clock = s->seg.clock;
	r->mono_to_unix_ns = s->mono_to_unix_ns;
	r->exit_known = s->main_done;
	r->exit_status = s->main_done ? ap_exit_code(s->main_status) : 0;
	r->duration_ns = r->run_ns = s->t1_ns - s->t0_ns;
	r->totals = s->totals;
	ap_run_assembler(r, &s->as);
	r->spans = s->span_counts;
	r->names_invalid = s->names.invalid;
	r->names_not_utf8 = s->names.not_utf8;
	r->procs_over_cap = s->drain.procs_over_cap;
	r->procs = s->drain.procs;
	r->nprocs = s->drain.nprocs;
	r->quarantined = s->quarantined;
	r->nquarantined = s->nquarantined;
	r->ov.events = s->totals.read;
	r->ov.ns_per_event = s->cost_ns;
	r->ov.cost16 = s->cost16;
	r->ov.measurements = s->cost_measurements;
	r->ov.profiled_ns = s->analysed ? s->analysis.total_trace_ns : 0;
	r->ov.workload_cpu_ns = s->workload_cpu_ns;
	r->ov.setup_ns = s->setup_ns;
	r->ov.capacity_ns = (s->t1_ns - s->t0_ns) * s->cpus;
	r->ov.cpus = s->cpus;
	r->analysis = s->analysed ? &s->analysis : NULL;
	r->memory = s->mem_on ? &s->mem : NULL;
	if (s->mem_on) {
		s->mem.traces_early = s->hold.released_early;
		r->ov.mem_interval_ns = s->mem.interval_ns;
		r->ov.mem_sample_ns = s->mem.sample_ns;
		r->ov.mem_sample_reads = s->mem.sample_reads;
	}
	if (s->dumping) {
		struct ap_run_dumps *d = &s->dumps_rec;

		d->interval_ns = s->opts.interval_ns;
		d->io = s->aio.io;
		d->io_note = s->aio.why_sync;
		d->reports = s->dumps;
		d->files_written = s->dump.written;
		d->files_failed = s->dump.failed;
		d->files_skipped_busy = s->dump.skipped_busy;
		d->bytes = s->dump.bytes;
		d->render_ns = s->render_ns;
		d->merges_failed = s->merge_failed;
		d->last_err = s->dump.last_err;
		d->last_err_file = s->dump.last_err_file;
		r->dumps = d;
	}
	if (s->took_over)
		r->takeover = &s->takeover;
	if (s->opts.serving && s->nattached) {
		r->attached = s->attached;
		r->nattached = s->nattached;
		r->attached_over_cap = s->attached_over_cap;
	}
	if (s->opts.log_path) {
		struct ap_run_log *l = &s->log_rec;

		memset(l, 0, sizeof(*l));
		l->path = s->opts.log_path;
		l->io = s->aio.io;
		l->blocks = s->log.blocks;
		l->bytes = s->log.bytes;
		l->events = s->log.events;
		l->events_not_logged = s->log.events_not_logged;
		l->blocks_dropped = s->log.blocks_dropped;
		l->err = s->log_err;
		r->log = l;
	}
	ap_session_otlp_view(s, r);
	ap_run_reader_usage(r);
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

void ap_session_take_stock(struct ap_session *s)
{
	ap_drain_totals(&s->drain, &s->totals);
	ap_asm_span_counts(&s->as, &s->span_counts);
	if (s->logging)
		log_names(s);
	else
		ap_names_load(&s->names, &s->seg);
	s->cost16 = ap_drain_cost16(&s->drain);
	s->cost_ns = ap_cost16_ns(&s->seg.clock, s->cost16);
	s->cost_measurements = s->drain.ncosts;
	s->setup_ns = s->drain.setup_ns;
	s->nquarantined = 0;
	for (uint32_t i = 0; i < s->seg.lane_count; i++) {
		const struct ap_lane_view *v = &s->drain.lanes[i];

		if (v->quarantined)
			s->quarantined[s->nquarantined++] = (struct ap_run_quarantine){ i, v->quarantined, v->events };
	}
	{
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		s->cpus = n > 0 ? (uint64_t)n : 1;
	}
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

/* Events must carry a time between the segment's creation and now
 * (assemble.h): the window moves with the clock. */
static void move_window(struct ap_session *s)
{
	const struct ap_clock_cal *c = &s->seg.clock;
	uint64_t slack = ap_ns_to_ticks(c, AP_CLOCK_SLACK_NS);
	uint64_t lo = c->ref_ticks > slack ? c->ref_ticks - slack : 0;

	ap_asm_window(&s->as, lo, ap_clock_read(c->source) + slack);
}

void ap_session_finish(struct ap_session *s)
{
	/* Bounded: a live straggler could publish forever. */
	uint64_t limit = (uint64_t)s->seg.lane_count * s->seg.lane_capacity * 4;
	uint64_t got, total = 0;

	do {
		move_window(s);
		got = ap_drain_pass(&s->drain);
		if (s->logging)
			ap_log_mark(&s->log);
		ap_asm_flush(&s->as);
		total += got;
	} while (got && total < limit);
	ap_drain_check_owners(&s->drain, ap_mono_ns(), 0);
	ap_session_mem_round(s);	/* the end of every process still running */
	ap_drain_report_running(&s->drain);
	ap_drain_totals(&s->drain, &s->totals);
	ap_asm_finish(&s->as);
	ap_session_mem_end(s);
	ap_session_take_stock(s);
}

/*
 * The trace timeout, checked every eighth of it (at most every second): a
 * trace is handed on between `timeout` and `timeout` + one step after its
 * last event. The cutoff is in the segment's clock, where the events' times
 * are; the event log records it when it handed a trace on, so that a
 * replay hands on the same traces at the same point.
 */
static void expire_traces(struct ap_session *s, uint64_t now)
{
	const struct ap_clock_cal *c = &s->seg.clock;
	uint64_t timeout = s->opts.trace_timeout_ns, step = timeout / 8, t, span;

	if (!timeout || now < s->next_expire_ns)
		return;
	s->next_expire_ns = now + (step < 1000000000u ? step : 1000000000u);
	t = ap_clock_read(c->source);
	span = ap_ns_to_ticks(c, timeout);
	if (t <= span)
		return;
	if (ap_asm_expire(&s->as, t - span) && s->logging)
		ap_log_expire(&s->log, t - span);
}

/* Lanes owned now, by process: what they hold (head - our tail). */
static void note_attached(struct ap_session *s)
{
	s->nattached = s->attached_over_cap = 0;
	for (uint32_t i = 0; i < s->seg.lane_count; i++) {
		const struct ap_lane_view *v = &s->drain.lanes[i];
		uint64_t o = ap_load_acquire(&s->seg.lanes[i].owner), head, held = 0;
		uint32_t pid = AP_OWNER_PID(o), k;

		if (!o || v->quarantined)
			continue;
		head = ap_load_acquire(&s->seg.lanes[i].head);
		if (head > v->tail && head - v->tail <= s->seg.lane_capacity)
			held = head - v->tail;
		for (k = 0; k < s->nattached && s->attached[k].pid != pid; k++)
			;
		if (k == s->nattached) {
			if (k == AP_ATTACHED_MAX) {
				s->attached_over_cap++;
				continue;
			}
			s->attached[s->nattached++] = (struct ap_run_attached){ pid, 0, 0, 0 };
		}
		s->attached[k].lanes++;
		s->attached[k].in_lanes += held;
	}
}

void ap_session_retire(struct ap_session *s)
{
	uint64_t t0 = ap_mono_ns(), now = t0;
	struct timespec ms = { 0, 1000000 };

	note_attached(s);
	ap_seg_retire(&s->seg);
	/* A writer sees `retired` at its next call and releases its lane
	 * (store-release of the owner word after its last head store), or it
	 * dies; wait for that, draining, so that nothing it published before
	 * is left behind. One that makes no call holds its lane: after the
	 * grace it is reported as still attached. */
	while (now - t0 < AP_RETIRE_GRACE_NS) {
		uint32_t alive;

		move_window(s);
		ap_drain_pass(&s->drain);
		if (s->logging)
			ap_log_mark(&s->log);
		ap_asm_flush(&s->as);
		now = ap_mono_ns();
		alive = ap_drain_check_owners(&s->drain, now, 0);
		if (alive == 0)
			break;
		nanosleep(&ms, NULL);
	}
	for (uint32_t k = 0; k < s->nattached; k++) {
		uint32_t still = 0;

		for (uint32_t i = 0; i < s->seg.lane_count; i++) {
			uint64_t o = ap_load_acquire(&s->seg.lanes[i].owner);

			if (o && AP_OWNER_PID(o) == s->attached[k].pid && !s->drain.lanes[i].quarantined)
				still++;
		}
		s->attached[k].released = still == 0;
	}
}

/* serve stopped with workers attached: say who, and what their lanes held. */
static void say_attached(const struct ap_session *s)
{
	uint32_t released = 0;

	if (!s->nattached)
		return;
	fprintf(stderr, "agentprof: stopped with %u process%s attached to %s:", s->nattached + s->attached_over_cap,
		s->nattached + s->attached_over_cap == 1 ? "" : "es", s->seg.name);
	for (uint32_t k = 0; k < s->nattached; k++) {
		fprintf(stderr, "%s pid %u (%u lane%s, %" PRIu64 " event%s in them, read)", k ? "," : "",
			s->attached[k].pid, s->attached[k].lanes, s->attached[k].lanes == 1 ? "" : "s",
			s->attached[k].in_lanes, s->attached[k].in_lanes == 1 ? "" : "s");
		released += s->attached[k].released;
	}
	if (s->attached_over_cap)
		fprintf(stderr, " and %u more", s->attached_over_cap);
	fprintf(stderr, ".\nagentprof: %u let go of their lanes when the segment was retired; they record "
		"nothing until a new `agentprof serve --segment %s` starts, count what they could not record "
		"(spans_no_reader) and send it to that reader%s\n", released, s->seg.name,
		released < s->nattached ? "; the others made no call in the last second and will do the same "
		"at their next one" : "");
}

void ap_session_publish_reported(struct ap_session *s)
{
	const struct ap_dump_file *f = &s->dump.f[0];	/* report.json */

	if (!s->report_marked || f->busy)
		return;
	if (f->result == 0) {
		ap_drain_publish_mark(&s->drain);
		ap_store_release(&s->seg.hdr->reported_seq, s->report_marked_seq);
	} else {
		ap_store_release(&s->seg.hdr->pending_seq, ap_load_relaxed(&s->seg.hdr->reported_seq));
	}
	s->report_marked = 0;
}

static void note_stragglers(struct ap_session *s)
{
	uint32_t shown[8], n = 0, more = 0;

	fprintf(stderr, "agentprof: %s has exited; waiting for processes still attached:", s->opts.label);
	for (uint32_t i = 0; i < s->seg.lane_count; i++) {
		uint64_t o = ap_load_relaxed(&s->seg.lanes[i].owner);
		uint32_t pid = AP_OWNER_PID(o), k;

		if (!o || s->drain.lanes[i].quarantined)
			continue;
		for (k = 0; k < n && shown[k] != pid; k++)
			;
		if (k < n)
			continue;	/* one process, several lanes (threads) */
		if (n == 8) {
			more++;
			continue;
		}
		shown[n++] = pid;
		fprintf(stderr, " %u", pid);
	}
	if (more)
		fprintf(stderr, " and more");
	fprintf(stderr, " (Ctrl-C stops waiting)\n");
}

static void loop(struct ap_session *s)
{
	struct timespec idle = { 0, IDLE_SLEEP_NS };
	uint64_t next_check = 0, done_at = 0, sleep_ns = 0, last_pass = ap_mono_ns();
	int noted = 0, forwarded_count = 0;

	for (;;) {
		uint64_t now;

		move_window(s);
		if (s->live_on)
			ap_live_tick(&s->live, ap_mono_ns());
		ap_drain_pass(&s->drain);
		now = ap_mono_ns();

		if (s->logging)
			ap_log_mark(&s->log);	/* a replay flushes where we do */
		ap_aio_poll(&s->aio);
		ap_session_publish_reported(s);
		ap_asm_flush(&s->as);	/* complete traces go to the analysis now */
		expire_traces(s, now);
		if (s->live_on && now >= s->next_live_ns) {
			ap_session_live(s, now);
			s->next_live_ns = now + 1000000000u;
		}
		if (s->otlp_on)
			ap_session_otlp_pass(s, now);
		s->passes++;
		ap_store_relaxed(&s->seg.hdr->reader_heartbeat_ns, now);
		reap(s);
		if (sig_pending_forward && !s->main_done && s->main_pid > 0) {
			kill(s->main_pid, sig_pending_forward);
			sig_pending_forward = 0;
		}
		if (sig_count != forwarded_count) {
			forwarded_count = sig_count;
			if (sig_count >= 3 || s->main_done || s->opts.serving)
				break;		/* stop waiting; serve: the way to stop */
		}
		if (s->dumping) {
			if (s->dump.failed && !s->dump_failure_said) {
				fprintf(stderr, "agentprof: a report dump failed (%s: %s); the previous file is kept "
					"and later dumps try again (counted in dumps.files_failed)\n",
					s->dump.last_err_file, strerror(-s->dump.last_err));
				s->dump_failure_said = 1;
			}
			if (now >= s->next_dump_ns) {
				ap_session_dump(s, 0);
				s->next_dump_ns = now + s->opts.interval_ns;
			}
		}
		if (now >= next_check) {
			uint32_t alive = ap_drain_check_owners(&s->drain, now, 0);

			next_check = now + OWNER_CHECK_NS;
			if (s->logging && ++s->checks % 50 == 0)
				log_names(s);	/* about once a second */
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
		if (s->mem_on && now >= s->next_mem_ns) {
			uint64_t cost = ap_session_mem_round(s) * 20;

			s->next_mem_ns = now + (cost > s->opts.set.memory_interval_ns ? cost :
						s->opts.set.memory_interval_ns);
		}
		/* A round's traces, for as long as the fullest lane takes to
		 * fill half a batch at its last rate (see the top). */
		if (s->hold.nready) {
			uint64_t budget = WORK_MAX_NS;

			if (s->drain.pass_max > s->drain.batch)
				budget = WORK_MIN_NS;
			else if (s->drain.pass_max)
				budget = (uint64_t)(s->drain.batch / 2) * (now - last_pass) / s->drain.pass_max;
			budget = budget < WORK_MIN_NS ? WORK_MIN_NS : budget > WORK_MAX_NS ? WORK_MAX_NS : budget;
			ap_session_mem_work(s, now, budget);
		}
		/* Sleep for as long as the fullest lane, at the rate it filled
		 * since the last pass, takes to fill a sixteenth of its ring:
		 * from 50 us up to 1 ms (idle lanes). Over a quarter full,
		 * holding more than one pass takes, or with traces still ready,
		 * drain again at once. */
		if (s->drain.pass_max >= s->seg.lane_capacity / 4 || s->drain.pass_max > s->drain.batch ||
		    s->hold.nready) {
			sleep_ns = 0;
		} else if (s->drain.pass_max == 0) {
			sleep_ns = IDLE_SLEEP_MAX_NS;
		} else {
			sleep_ns = (uint64_t)(s->seg.lane_capacity / 16) * (now - last_pass) / s->drain.pass_max;
			sleep_ns = sleep_ns < IDLE_SLEEP_NS ? IDLE_SLEEP_NS :
				   sleep_ns > IDLE_SLEEP_MAX_NS ? IDLE_SLEEP_MAX_NS : sleep_ns;
		}
		last_pass = now;
		if (sleep_ns) {
			idle.tv_nsec = (long)sleep_ns;
			s->idle_sleeps++;
			nanosleep(&idle, NULL);
		}
	}
}

static int session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx);

int ap_session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx)
{
	struct ap_run_opts oo = *o;
	struct ap_otlp_cfg ocfg;
	const char *why = NULL;
	int ret;

	/* --otlp and the OTEL_* variables: a bad value is a usage error before
	 * anything runs. */
	ret = o->otlp ? 0 : ap_otlp_cfg_load(&ocfg, o->otlp_url, &why);
	if (ret < 0) {
		fprintf(stderr, "agentprof: %s\n", why);
		ap_otlp_cfg_free(&ocfg);
		return AP_EXIT_USAGE;
	}
	if (ret == 0 && o->otlp_url && !o->otlp)
		fprintf(stderr, "agentprof: --otlp is off: %s\n", why);
	if (ret > 0)
		oo.otlp = &ocfg;
	o = &oo;
	ret = session_run(o, spawn, ctx);
	if (oo.otlp == &ocfg)
		ap_otlp_cfg_free(&ocfg);
	return ret;
}

static int session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct ap_session *s;
	struct ap_run run;
	int ret, code, exec_errno = 0;

	ret = ap_mkdir_p(o->out_dir);
	if (ret) {
		fprintf(stderr, "agentprof: cannot create output directory %s: %s\n", o->out_dir, strerror(-ret));
		return AP_EXIT_INTERNAL;
	}
	/* Before the workload runs, not after: a report that cannot be written
	 * is known now. */
	ret = ap_dir_writable(o->out_dir);
	if (ret) {
		fprintf(stderr, "agentprof: cannot write reports into %s: %s\n", o->out_dir, strerror(-ret));
		return AP_EXIT_INTERNAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "agentprof: out of memory\n");
		return AP_EXIT_INTERNAL;
	}
	ret = ap_session_open(s, o);
	if (ret) {
		free(s);
		/* serve: a live reader owns the segment, or it is not ours */
		return o->segment_name && ret != -ENOMEM && ret != -ENOSPC ? AP_EXIT_USAGE : AP_EXIT_INTERNAL;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (s->opts.top_tty && !isatty(2)) {
		s->opts.top_tty = 0;	/* the snapshot is still written: agentprof top --segment */
		fprintf(stderr, "agentprof: --top needs a terminal on stderr; `agentprof top --segment %s` shows "
			"the run\n", s->seg.name);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sig_count = 0;
	sig_pending_forward = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	if (o->serving) {
		if (!o->quiet)
			fprintf(stderr, "agentprof: %s segment %s: start workers with AGENTPROF_SHM=%s; "
				"SIGINT or SIGTERM writes the final report and removes the segment\n",
				s->took_over ? "took over" : "serving", s->seg.name, s->seg.name);
		ret = 0;
	} else {
		ret = spawn(ctx, s->seg.name, &s->main_pid, &exec_errno);
	}
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
	ap_session_live_end(s);
	ap_session_retire(s);
	ap_session_finish(s);
	if (o->serving && !o->quiet)
		say_attached(s);
	ap_session_otlp_stop(s);	/* the last traces, and the queue for --otlp-drain-s */
	code = o->serving ? 0 : s->main_done ? ap_exit_code(s->main_status) : 128 + (sig_last ? sig_last : SIGTERM);
	if (s->dumping)
		ap_session_dump(s, 1);	/* the last interval; the run's report is written below */
	if (s->logging) {
		log_totals(s);
		s->log_err = ap_log_close(&s->log);
		s->logging = 0;
		if (s->log_err) {
			fprintf(stderr, "agentprof: the event log %s is incomplete: %s (%" PRIu64
				" events not logged); the report has every event drained\n",
				o->log_path, strerror(-s->log_err), s->log.events_not_logged);
			code = AP_EXIT_INTERNAL;
		}
	}
	ap_session_analyse(s);
	ap_session_run_view(s, &run);
	code = ap_emit_reports(&s->dump, &run, &s->opts, code);
	ap_session_close(s);
	free(s);
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return code;
}
