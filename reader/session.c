/* SPDX-License-Identifier: MIT */
/*
 * session.c - one profiled run, from segment creation to the report.
 *
 * The loop drains every lane, reaps children, checks lane owners every
 * 20 ms, and sleeps between passes for as long as the fullest lane takes
 * to fill a sixteenth of its ring at its last rate (50 us to 1 ms). A reader that busy-polls
 * the heads doubles the writers' cost through cache-line traffic; one that
 * wakes 10,000 times a second costs CPU-bound workers on the same cores
 * about 3% (measured: preemption and cache pollution). The run ends when the workload's main process has exited, no
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
#include <sys/mman.h>
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
#include "writer_internal.h"

#define IDLE_SLEEP_NS		50000u		/* 50 us */
#define IDLE_SLEEP_MAX_NS	1000000u	/* 1 ms */
#define OWNER_CHECK_NS		20000000u	/* 20 ms */
#define STRAGGLER_NOTE_NS	2000000000u	/* say who we wait for after 2 s */

static int exit_code(int status);

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

/* The drain's consumer when logging: the log first, then the assembler. */
static void log_and_assemble(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
			     struct ap_batch_result *res)
{
	struct ap_session *s = ctx;

	ap_log_events(&s->log, pid, ev, n);
	ap_asm_events(&s->as, pid, ev, n, res);
}

static void log_names(struct ap_session *s)
{
	ap_names_load(&s->names, &s->seg);
	if (s->names.used > s->names_logged) {
		ap_log_names(&s->log, s->names.pool + s->names_logged, s->names.used - s->names_logged);
		s->names_logged = s->names.used;
	}
}

/* --interval: the dump directory and its I/O path. */
static int dump_start(struct ap_session *s)
{
	const char *io = getenv("AGENTPROF_IO");
	int forced = s->opts.io_sync || (io && strcmp(io, "sync") == 0);
	int ret = ap_dump_init(&s->dump, s->opts.out_dir, forced);

	if (ret) {
		fprintf(stderr, "agentprof: cannot dump reports into %s: %s\n", s->opts.out_dir, strerror(-ret));
		return ret;
	}
	if (!forced && s->dump.why_sync)
		fprintf(stderr, "agentprof: %s; reports are dumped by a thread with plain writes\n",
			s->dump.why_sync);
	s->dumping = 1;
	return 0;
}

static void put_geometry(const struct ap_session *s, struct ap_log_geometry *g)
{
	memset(g, 0, sizeof(*g));
	g->version = AP_LOG_VERSION;
	g->fingerprint = ap_layout_fingerprint();
	g->abi = AP_ABI_VERSION;
	g->lanes = s->seg.lane_count;
	g->lane_events = s->seg.lane_capacity;
	g->clock_source = s->seg.clock.source;
	g->seg_bytes = s->seg.size;
	g->clock_ref_ticks = s->seg.clock.ref_ticks;
	g->clock_ref_ns = s->seg.clock.ref_ns;
	g->clock_mult = s->seg.clock.mult;
	g->clock_hz = s->seg.clock.hz;
	memcpy(g->segment, s->seg.name, strnlen(s->seg.name, sizeof(g->segment) - 1));
}

static void put_settings(const struct ap_run_opts *o, struct ap_log_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->max_spans = o->max_spans;
	st->max_traces = o->keep.max_traces;
	st->max_per_root = o->keep.max_per_root;
	st->keep_slowest = o->keep.slowest;
	st->keep_tokens = o->keep.token_threshold;
	st->max_kept_spans = o->keep.max_spans;
	st->seed = o->keep.seed;
	st->llm_chain = o->rules.llm_chain;
	st->llm_self_pct = o->rules.llm_self_pct;
	st->tool_pct = o->rules.tool_pct;
	st->slow_tool_ms = o->rules.slow_tool_ms;
	st->context_pct = o->rules.context_pct;
}

/* The model table as "NAME WINDOW\n" lines; returns bytes written. */
static size_t put_models(const struct ap_run_opts *o, char *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < o->nmodels; i++) {
		int w = snprintf(out + n, cap - n, "%s %" PRIu64 "\n", o->models[i].name, o->models[i].window);

		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	return n;
}

static int log_start(struct ap_session *s)
{
	const struct ap_run_opts *o = &s->opts;
	uint8_t *p;
	size_t n;
	const char *io = getenv("AGENTPROF_IO");
	int forced = o->io_sync || (io && strcmp(io, "sync") == 0);
	int ret = ap_log_open(&s->log, o->log_path, o->log_block ? o->log_block : AP_LOG_BLOCK_DEFAULT, forced);

	if (ret == 0 && !forced && strcmp(s->log.io, "sync") == 0)
		fprintf(stderr, "agentprof: io_uring is not available here; the event log is written by a thread "
			"with plain writes\n");
	if (ret) {
		fprintf(stderr, "agentprof: cannot write the event log %s: %s\n", o->log_path,
			ret == -EEXIST ? "it exists (a log is never overwritten)" : strerror(-ret));
		return ret;
	}
	p = calloc(1, 65536);
	if (!p) {
		ap_log_close(&s->log);
		return -ENOMEM;
	}
	signal(SIGXFSZ, SIG_IGN);	/* a file size limit is a write error, not death */
	put_geometry(s, (struct ap_log_geometry *)p);
	put_settings(o, (struct ap_log_settings *)(p + sizeof(struct ap_log_geometry)));
	n = sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings);
	n += put_models(o, (char *)p + n, 65536 - n);
	ap_log_block(&s->log, AP_LOG_HEADER, p, (uint32_t)n);
	free(p);
	s->logging = 1;
	return 0;
}

/* The last block: what the drain counted, for a replay's report. */
static void log_totals(struct ap_session *s)
{
	const struct ap_drain_totals *t = &s->totals;
	uint32_t nq = 0, np = s->drain.nprocs;
	size_t n, cap;
	uint8_t *p;
	struct ap_log_totals *lt;

	for (uint32_t i = 0; i < s->seg.lane_count; i++)
		nq += s->drain.lanes[i].quarantined != NULL;
	cap = sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings) + sizeof(*lt) +
	      (size_t)np * sizeof(struct ap_log_proc) + (size_t)nq * sizeof(struct ap_log_quarantined) + 65536;
	if (cap > s->log.block_cap) {
		/* Too many processes for one block: keep the totals, drop rows. */
		np = 0;
		nq = 0;
		cap = sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings) + sizeof(*lt) + 65536;
	}
	p = calloc(1, cap);
	if (!p)
		return;
	put_geometry(s, (struct ap_log_geometry *)p);
	put_settings(&s->opts, (struct ap_log_settings *)(p + sizeof(struct ap_log_geometry)));
	n = sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings);
	lt = (struct ap_log_totals *)(p + n);
	lt->written = t->written;
	lt->read = t->read;
	lt->dropped_full = t->dropped_full;
	lt->dropped_no_lane = t->dropped_no_lane;
	lt->dropped_reentrant = t->dropped_reentrant;
	lt->rejected = t->rejected;
	lt->claims = t->claims;
	lt->in_ring = t->in_ring;
	lt->quarantined_lanes = t->quarantined_lanes;
	lt->reclaimed_lanes = t->reclaimed_lanes;
	lt->names_full = t->names_full;
	lt->attaches = t->attaches;
	lt->lost_quarantined = t->lost_quarantined;
	lt->sampled_out = t->sampled_out;
	lt->names_invalid = s->names.invalid;
	lt->procs_over_cap = s->drain.procs_over_cap + (s->drain.nprocs - np);
	lt->duration_ns = s->t1_ns - s->t0_ns;
	lt->workload_cpu_ns = s->workload_cpu_ns;
	lt->cost_ns = s->cost_ns;
	lt->setup_ns = s->setup_ns;
	lt->cpus = s->cpus;
	lt->cost_measurements = s->cost_measurements;
	lt->exit_status = s->main_done ? exit_code(s->main_status) : -1;
	lt->events_not_logged = s->log.events_not_logged;
	lt->nprocs = np;
	lt->nquarantined = nq;
	n += sizeof(*lt);
	for (uint32_t i = 0; i < np; i++) {
		const struct ap_proc_row *r = &s->drain.procs[i];
		struct ap_log_proc *lp = (struct ap_log_proc *)(p + n);

		lp->pid = r->pid;
		lp->threads = r->threads;
		lp->spans = r->spans;
		lp->events = r->events;
		lp->dropped = r->dropped;
		lp->lanes_claimed = r->lanes_claimed;
		n += sizeof(*lp);
	}
	for (uint32_t i = 0; i < s->seg.lane_count && nq; i++) {
		struct ap_log_quarantined *q = (struct ap_log_quarantined *)(p + n);

		if (!s->drain.lanes[i].quarantined)
			continue;
		q->lane = i;
		q->events_read = s->drain.lanes[i].events;
		snprintf(q->reason, sizeof(q->reason), "%s", s->drain.lanes[i].quarantined);
		n += sizeof(*q);
	}
	n += put_models(&s->opts, (char *)p + n, cap - n);
	ap_log_block(&s->log, AP_LOG_TOTALS, p, (uint32_t)n);
	free(p);
}

/* With --interval each trace is analysed once, into the interval's
 * analysis, which is folded into the run's at each dump; the run's analysis
 * still chooses its kept traces from every trace as it comes (retain_too).
 * Without an interval analysis (no memory for a fresh one) traces go to the
 * run's analysis directly. */
static void analyse(void *ctx, const struct ap_trace_view *t)
{
	struct ap_session *s = ctx;

	ap_analysis_add(s->iv_on ? &s->iv : &s->analysis, t);
}

static int iv_start(struct ap_session *s)
{
	s->iv_on = ap_analysis_init(&s->iv, &s->names, &s->seg.clock, &s->opts.rules, s->opts.models,
				    s->opts.nmodels, &s->opts.keep) == 0;
	if (s->iv_on)
		s->iv.retain_too = &s->analysis;
	return s->iv_on ? 0 : -ENOMEM;
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
			ap_strerror(ret));
		return ret;
	}
	h = s->seg.hdr;
	r = atomic_load_explicit(&h->reader, memory_order_acquire);
	pid = r ? AP_OWNER_PID(r) : h->creator_pid;
	live = pid && ap_proc_start_time(pid, &start) == 0 &&
	       (r ? (uint32_t)start == AP_OWNER_START(r) : start == h->creator_start);
	ap_proc_start_time((uint32_t)getpid(), &mine);
	me = AP_OWNER((uint32_t)getpid(), mine);
	if (live || !atomic_compare_exchange_strong(&h->reader, &r, me)) {
		fprintf(stderr, "agentprof: segment %s is drained by a live reader (pid %u); stop it first, "
			"or serve another segment\n", name, pid);
		ap_seg_unmap(&s->seg);
		return -EBUSY;
	}
	s->took_over_from = pid ? pid : UINT32_MAX;
	return 0;
}

int ap_session_open(struct ap_session *s, const struct ap_run_opts *o)
{
	char name[AP_SEG_NAME_MAX + 1];
	uint32_t r = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
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
			fprintf(stderr, "agentprof: cannot create segment %s: %s\n", name, ap_strerror(ret));
	}
	if (ret)
		return ret;
	if (ap_analysis_init(&s->analysis, &s->names, &s->seg.clock, &s->opts.rules, s->opts.models,
			     s->opts.nmodels, &s->opts.keep) ||
	    (o->interval_ns && iv_start(s)) ||
	    (o->interval_ns ? ap_asm_init(&s->as, o->max_spans, analyse, s) :
			      ap_asm_init(&s->as, o->max_spans, ap_analysis_add, &s->analysis)) ||
	    ap_names_init(&s->names) ||
	    (o->log_path ? ap_drain_init(&s->drain, &s->seg, log_and_assemble, s) :
			   ap_drain_init(&s->drain, &s->seg, ap_asm_events, &s->as))) {
		fprintf(stderr, "agentprof: out of memory\n");
		ap_session_close(s);
		return -ENOMEM;
	}
	if (s->took_over_from)
		s->lanes_adopted = ap_drain_adopt(&s->drain);
	if (o->log_path && (ret = log_start(s))) {
		ap_session_close(s);
		return ret;
	}
	if (o->interval_ns && (ret = dump_start(s))) {
		ap_session_close(s);
		return ret;
	}
	s->t0_ns = s->iv_t0_ns = ap_mono_ns();
	s->next_dump_ns = s->t0_ns + o->interval_ns;
	return 0;
}

void ap_session_close(struct ap_session *s)
{
	if (s->seg.base) {
		ap_seg_unlink(s->seg.name);
		ap_seg_unmap(&s->seg);
	}
	if (s->logging) {
		s->log_err = ap_log_close(&s->log);
		s->logging = 0;
	}
	if (s->dumping) {
		ap_dump_close(&s->dump);
		s->dumping = 0;
	}
	ap_drain_free(&s->drain);
	ap_asm_free(&s->as);
	ap_names_free(&s->names);
	ap_analysis_free(&s->analysis);
	if (s->iv_on)
		ap_analysis_free(&s->iv);
	s->iv_on = 0;
	free(s->qreason);
	s->qreason = NULL;
	s->analyzed = 0;
}

int ap_session_analyze(struct ap_session *s)
{
	ap_analysis_end(&s->analysis, &s->as);
	s->analysis.traces_sampled_out = s->totals.sampled_out;
	s->analyzed = 1;
	return 0;
}

/* What the report writers render: the run so far, or (rendering_iv) the
 * current interval, with every count taken since the interval began. */
static const struct ap_analysis *view_analysis(const struct ap_session *s)
{
	return s->rendering_iv ? &s->iv : &s->analysis;
}

static uint64_t since(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

static void view_counts(const struct ap_session *s, struct ap_drain_totals *t, struct ap_span_counts *sc)
{
	const struct ap_drain_totals *n = &s->totals, *b = &s->iv_base;

	*t = *n;
	*sc = s->span_counts;
	if (!s->rendering_iv)
		return;
	t->written = since(n->written, b->written);
	t->read = since(n->read, b->read);
	t->dropped_full = since(n->dropped_full, b->dropped_full);
	t->dropped_no_lane = since(n->dropped_no_lane, b->dropped_no_lane);
	t->dropped_reentrant = since(n->dropped_reentrant, b->dropped_reentrant);
	t->rejected = since(n->rejected, b->rejected);
	t->claims = since(n->claims, b->claims);
	t->quarantined_lanes = since(n->quarantined_lanes, b->quarantined_lanes);
	t->reclaimed_lanes = since(n->reclaimed_lanes, b->reclaimed_lanes);
	t->names_full = since(n->names_full, b->names_full);
	t->attaches = since(n->attaches, b->attaches);
	t->lost_quarantined = since(n->lost_quarantined, b->lost_quarantined);
	t->sampled_out = since(n->sampled_out, b->sampled_out);
	sc->complete = since(sc->complete, s->iv_base_spans.complete);
	sc->unmatched_end = since(sc->unmatched_end, s->iv_base_spans.unmatched_end);
	sc->tokens_only = since(sc->tokens_only, s->iv_base_spans.tokens_only);
}

static uint64_t view_t0(const struct ap_session *s)
{
	return s->rendering_iv ? s->iv_t0_ns : s->t0_ns;
}

static void overhead_of(struct ap_session *s, struct ap_overhead *ov, struct ap_loss *loss)
{
	struct ap_drain_totals t;
	struct ap_span_counts sc;

	view_counts(s, &t, &sc);
	memset(ov, 0, sizeof(*ov));
	ov->events = t.read;
	ov->ns_per_event = s->cost_ns;
	ov->measurements = s->cost_measurements;
	ov->profiled_ns = s->analyzed ? view_analysis(s)->total_trace_ns : 0;
	ov->workload_cpu_ns = s->rendering_iv ? 0 : s->workload_cpu_ns;
	ov->setup_ns = s->rendering_iv ? since(s->setup_ns, s->iv_base_setup_ns) : s->setup_ns;
	ov->capacity_ns = (s->t1_ns - view_t0(s)) * s->cpus;
	ov->cpus = s->cpus;
	if (loss) {
		memset(loss, 0, sizeof(*loss));
		loss->dropped_full = t.dropped_full;
		loss->dropped_no_lane = t.dropped_no_lane;
		loss->dropped_reentrant = t.dropped_reentrant;
		loss->rejected = t.rejected;
		loss->quarantined_lanes = t.quarantined_lanes;
		loss->end_without_begin = sc.unmatched_end;
		loss->duplicates = s->as.duplicate_begin + s->as.duplicate_end;
		loss->over_cap = s->as.over_cap;
	}
}

/* Write via tmp + fsync + rename, so a reader of path sees old or new. */
static int write_atomically(const char *path, int (*fill)(FILE *f, void *ctx), void *ctx)
{
	char tmp[4300];
	FILE *f;
	int ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	ret = fill(f, ctx);
	if (!ret && ferror(f))
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

/* The report writers, as write_atomically() and render() take them: ctx is a
 * struct text_ctx; 0 or the first write error. */
static int fill_text(FILE *f, void *ctx)
{
	struct text_ctx *t = ctx;
	struct ap_session *s = t->s;
	const struct ap_analysis *a = view_analysis(s);
	struct ap_overhead ov;
	struct ap_loss loss;

	overhead_of(s, &ov, &loss);
	fprintf(f, "agentprof %s: %s, %llu traces (%llu complete), %llu spans, %u processes, %.2f s\n",
		s->rendering_iv ? "interval report" : "report", s->opts.label, (unsigned long long)a->traces,
		(unsigned long long)a->traces_complete, (unsigned long long)a->spans_in_trees, s->drain.nprocs,
		(double)(s->t1_ns - view_t0(s)) / 1e9);
	if (s->rendering_iv)
		fprintf(f, "interval %" PRIu64 ": %.3f s to %.3f s of the run\n", s->dumps,
			(double)(s->iv_t0_ns - s->t0_ns) / 1e9, (double)(s->t1_ns - s->t0_ns) / 1e9);
	ap_report_text(f, a, &ov, &loss, t->color);
	if (s->dumping) {
		fprintf(f, "\nDumps: %" PRIu64 " reports every %.3f s through %s: %" PRIu64 " files written, %" PRIu64
			" failed, %" PRIu64 " skipped (previous still being written)", s->dumps,
			(double)s->opts.interval_ns / 1e9, s->dump.io, s->dump.written, s->dump.failed,
			s->dump.skipped_busy);
		if (s->dump.last_err)
			fprintf(f, "; last failure: %s: %s", s->dump.last_err_file, strerror(-s->dump.last_err));
		fputc('\n', f);
	}
	if (s->took_over_from)
		fprintf(f, "Taken over from reader pid %u, which died: %u lanes adopted; spans begun before "
			"are counted as END without BEGIN\n", s->took_over_from, s->lanes_adopted);
	return ferror(f) ? -EIO : 0;
}

static int fill_json(FILE *f, void *ctx)
{
	return ap_session_json(((struct text_ctx *)ctx)->s, f);
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

/* What the run counted so far: totals, span counts, names, writers' cost. */
static void take_stock(struct ap_session *s, int final)
{
	ap_drain_totals(&s->drain, &s->totals, final);
	s->span_counts.complete = s->as.spans_complete;
	s->span_counts.open = s->as.spans_open;
	s->span_counts.unmatched_end = s->as.end_without_begin;
	s->span_counts.tokens_only = s->as.tokens_only;
	if (s->logging)
		log_names(s);
	else
		ap_names_load(&s->names, &s->seg);
	s->cost_ns = ap_drain_cost_ns(&s->drain);
	s->cost_measurements = s->drain.ncosts;
	s->setup_ns = s->drain.setup_ns;
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

void ap_session_finish(struct ap_session *s)
{
	/* Bounded: a live straggler could publish forever. */
	uint64_t limit = (uint64_t)s->seg.lane_count * s->seg.lane_capacity * 4;
	uint64_t got, total = 0;

	do {
		got = ap_drain_pass(&s->drain);
		if (s->logging)
			ap_log_mark(&s->log);
		ap_asm_flush(&s->as);
		total += got;
	} while (got && total < limit);
	ap_drain_check_owners(&s->drain, ap_mono_ns(), 0);
	ap_drain_totals(&s->drain, &s->totals, 1);
	ap_asm_finish(&s->as);
	take_stock(s, 1);
}

static void dump_now(struct ap_session *s, int final);

void ap_session_dump(struct ap_session *s)
{
	dump_now(s, 0);
}

/* A growable buffer behind a FILE (fopencookie): stdio buffers the report
 * writers' many small writes and hands them over in large pieces, where an
 * open_memstream would copy them byte by byte. */
struct membuf {
	char *p;
	size_t len, cap;
};

static ssize_t membuf_write(void *c, const char *buf, size_t n)
{
	struct membuf *m = c;

	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		char *p;

		while (cap < m->len + n)
			cap *= 2;
		p = realloc(m->p, cap);
		if (!p)
			return -1;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, n);
	m->len += n;
	return (ssize_t)n;
}

/* A report into a malloc'd buffer, for the dumper. NULL when out of memory. */
static char *render(struct ap_session *s, int (*fill)(FILE *f, void *ctx), size_t *len)
{
	static const cookie_io_functions_t io = { .write = membuf_write };
	struct membuf m = { NULL, 0, 0 };
	struct text_ctx t = { s, 0 };
	FILE *f = fopencookie(&m, "w", io);
	int err;

	if (!f)
		return NULL;
	setvbuf(f, NULL, _IOFBF, 65536);
	err = fill(f, &t);
	if (fclose(f) == EOF || err || !m.p) {
		free(m.p);
		return NULL;
	}
	*len = m.len;
	return m.p;
}

static void dump_file(struct ap_session *s, uint32_t slot, const char *name, int (*fill)(FILE *f, void *ctx))
{
	size_t len = 0;
	char *buf = render(s, fill, &len);

	if (!buf) {
		s->dump.failed++;
		s->dump.last_err = -ENOMEM;
		snprintf(s->dump.last_err_file, sizeof(s->dump.last_err_file), "%s", name);
		return;
	}
	ap_dump_submit(&s->dump, slot, name, buf, len);
}

/*
 * --interval: the cumulative report (report.json, report.txt) and the
 * interval's (interval.json, interval.txt), rendered here and written by the
 * dumper without waiting for the disk. `final`: only the last interval; the
 * cumulative report is then written by emit().
 */
static void dump_now(struct ap_session *s, int final)
{
	uint64_t t = ap_mono_ns();

	if (!final)
		take_stock(s, 0);
	if (s->iv_on && ap_analysis_merge(&s->analysis, &s->iv))
		s->merge_failed++;
	ap_session_analyze(s);
	s->dumps++;
	if (!final) {
		dump_file(s, 0, "report.json", fill_json);
		dump_file(s, 1, "report.txt", fill_text);
	}
	if (s->iv_on) {
		ap_analysis_end(&s->iv, &s->as);
		s->iv.traces_sampled_out = s->totals.sampled_out - s->iv_base.sampled_out;
		s->rendering_iv = 1;
		dump_file(s, 2, "interval.json", fill_json);
		dump_file(s, 3, "interval.txt", fill_text);
		s->rendering_iv = 0;
		ap_analysis_free(&s->iv);
		iv_start(s);
	}
	s->iv_base = s->totals;
	s->iv_base_spans = s->span_counts;
	s->iv_base_setup_ns = s->setup_ns;
	s->iv_t0_ns = s->t1_ns;
	s->render_ns += ap_mono_ns() - t;
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
	uint64_t next_check = 0, done_at = 0, sleep_ns = 0, last_pass = ap_mono_ns();
	int noted = 0, forwarded_count = 0;

	for (;;) {
		uint64_t now;

		ap_drain_pass(&s->drain);
		now = ap_mono_ns();

		if (s->logging) {
			ap_log_mark(&s->log);	/* a replay flushes where we do */
			ap_log_poll(&s->log);
		}
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
			if (sig_count >= 3 || s->main_done || s->opts.serving)
				break;		/* stop waiting; serve: the way to stop */
		}
		if (s->dumping) {
			ap_dump_poll(&s->dump);
			if (s->dump.failed && !s->dump_failure_said) {
				fprintf(stderr, "agentprof: a report dump failed (%s: %s); the previous file is kept "
					"and later dumps try again (counted in dumps.files_failed)\n",
					s->dump.last_err_file, strerror(-s->dump.last_err));
				s->dump_failure_said = 1;
			}
			if (now >= s->next_dump_ns) {
				dump_now(s, 0);
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
		/* Sleep for as long as the fullest lane, at the rate it filled
		 * since the last pass, takes to fill a sixteenth of its ring:
		 * from 50 us up to 1 ms (idle lanes). Over a quarter full, or
		 * holding more than one pass takes, drain again at once. */
		if (s->drain.pass_max >= s->seg.lane_capacity / 4 || s->drain.pass_max > s->drain.batch) {
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

/* Analysis, report.txt, report.json, and the text or JSON on stdout.
 * Returns the exit code: `code`, or AP_EXIT_INTERNAL when a file failed. */
static int emit(struct ap_session *s, const struct ap_run_opts *o, int code)
{
	char path[4200];
	int ret;

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
	return code;
}

int ap_report_log(const struct ap_run_opts *o, const char *file)
{
	struct ap_session *s;
	struct stat st;
	const char *why;
	uint8_t *buf;
	int fd, ret, code = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "agentprof: cannot read %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return AP_EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		fprintf(stderr, "agentprof: %s: %s\n", file, S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
		close(fd);
		return AP_EXIT_USAGE;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "agentprof: cannot map %s: %s\n", file, strerror(errno));
		return AP_EXIT_USAGE;
	}
	ret = mkdir_p(o->out_dir);
	s = ret ? NULL : calloc(1, sizeof(*s));
	if (ret || !s) {
		fprintf(stderr, "agentprof: cannot create output directory %s: %s\n", o->out_dir,
			ret ? strerror(-ret) : "out of memory");
		munmap(buf, (size_t)st.st_size);
		return AP_EXIT_INTERNAL;
	}
	ret = ap_session_replay(s, o, buf, (size_t)st.st_size, &why);
	munmap(buf, (size_t)st.st_size);
	if (ret) {
		if (ret == -EINVAL)
			fprintf(stderr, "agentprof: %s: %s\n", file, why);
		else
			fprintf(stderr, "agentprof: out of memory replaying %s\n", file);
		ap_session_close(s);
		free(s);
		return ret == -EINVAL ? AP_EXIT_USAGE : AP_EXIT_INTERNAL;
	}
	s->opts.log_path = file;
	s->opts.label = file;
	if (!s->replay_complete || s->scan.bytes_skipped || s->scan.blocks_missing || s->scan.records_bad) {
		fprintf(stderr, "agentprof: %s is %s: %" PRIu64 " bytes skipped, %" PRIu64 " blocks damaged, %" PRIu64
			" blocks missing; the report covers the %" PRIu64 " intact blocks\n", file,
			s->replay_complete ? "damaged" : "incomplete (no totals block: cut short or still being written)",
			s->scan.bytes_skipped, s->scan.blocks_damaged, s->scan.blocks_missing, s->scan.blocks);
		code = 1;
	}
	code = emit(s, &s->opts, code);
	ap_session_close(s);
	free(s);
	return code;
}

int ap_session_run(const struct ap_run_opts *o, ap_spawn_fn spawn, void *ctx)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct ap_session *s;
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
	ret = ap_session_open(s, o);
	if (ret) {
		free(s);
		/* serve: a live reader owns the segment, or it is not ours */
		return o->segment_name && ret != -ENOMEM && ret != -ENOSPC ? AP_EXIT_USAGE : AP_EXIT_INTERNAL;
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

	if (o->serving) {
		if (!o->quiet)
			fprintf(stderr, "agentprof: %s segment %s: start workers with AGENTPROF_SHM=%s; "
				"SIGINT or SIGTERM writes the final report and removes the segment\n",
				s->took_over_from ? "took over" : "serving", s->seg.name, s->seg.name);
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
	ap_session_finish(s);
	code = o->serving ? 0 : s->main_done ? exit_code(s->main_status) : 128 + (sig_last ? sig_last : SIGTERM);
	if (s->dumping) {
		dump_now(s, 1);		/* the last interval; emit() writes the cumulative report */
		ap_dump_wait(&s->dump);
	}
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
	code = emit(s, o, code);
	ap_session_close(s);
	free(s);
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return code;
}

/* ------------------------------------------------------------------------ */
/* Replay of an event log (`agentprof report FILE`)                          */

/* Settings and models from a HEADER or TOTALS payload into opts. */
static void take_settings(struct ap_run_opts *o, const struct ap_log_settings *st)
{
	if (st->max_spans >= 1 && st->max_spans <= UINT32_MAX / 2)
		o->max_spans = (uint32_t)st->max_spans;
	if (st->max_per_root >= 1 && st->max_traces <= (1u << 20)) {
		o->keep.max_traces = st->max_traces;
		o->keep.max_per_root = st->max_per_root;
		o->keep.slowest = st->keep_slowest;
		o->keep.token_threshold = st->keep_tokens;
		o->keep.max_spans = st->max_kept_spans;
		o->keep.seed = st->seed;
	}
	if (st->llm_chain >= 1 && st->llm_self_pct >= 0 && st->tool_pct >= 0 && st->slow_tool_ms >= 0 &&
	    st->context_pct >= 0) {
		o->rules.llm_chain = st->llm_chain;
		o->rules.llm_self_pct = st->llm_self_pct;
		o->rules.tool_pct = st->tool_pct;
		o->rules.slow_tool_ms = st->slow_tool_ms;
		o->rules.context_pct = st->context_pct;
	}
}

static void take_models(struct ap_run_opts *o, const uint8_t *p, size_t len)
{
	const uint32_t max = sizeof(o->models) / sizeof(o->models[0]);
	char line[AP_NAME_MAX + 32];
	size_t i = 0;

	o->nmodels = 0;
	while (i < len && o->nmodels < max) {
		size_t e = i;
		char *sp, *end;
		unsigned long long w;

		while (e < len && p[e] != '\n')
			e++;
		if (e - i < sizeof(line)) {
			memcpy(line, p + i, e - i);
			line[e - i] = '\0';
			sp = strrchr(line, ' ');
			if (sp && sp != line && strlen(line) - strlen(sp) <= AP_NAME_MAX) {
				*sp = '\0';
				errno = 0;
				w = strtoull(sp + 1, &end, 10);
				if (!errno && !*end && w > 0 && !memchr(line, '\0', (size_t)(sp - line))) {
					struct ap_model *m = &o->models[o->nmodels++];
					uint32_t l = (uint32_t)strlen(line);

					memcpy(m->name, line, l + 1);
					m->id = ap_name_hash(line, l);
					m->window = w;
				}
			}
		}
		i = e + 1;
	}
}

static int take_geometry(struct ap_session *s, const struct ap_log_geometry *g)
{
	if (g->version != AP_LOG_VERSION || g->fingerprint != ap_layout_fingerprint() ||
	    g->lanes < AP_LANES_MIN || g->lanes > AP_LANES_MAX || g->lane_events < AP_LANE_EVENTS_MIN ||
	    g->lane_events > AP_LANE_EVENTS_MAX || (g->lane_events & (g->lane_events - 1)) ||
	    g->clock_mult == 0 || g->clock_source > AP_CLOCK_CNTVCT)
		return -1;
	s->seg.lane_count = g->lanes;
	s->seg.lane_capacity = g->lane_events;
	s->seg.size = g->seg_bytes;
	s->seg.clock.source = g->clock_source;
	s->seg.clock.ref_ticks = g->clock_ref_ticks;
	s->seg.clock.ref_ns = g->clock_ref_ns;
	s->seg.clock.mult = g->clock_mult;
	s->seg.clock.hz = g->clock_hz;
	memcpy(s->seg.name, g->segment, sizeof(g->segment) - 1 < AP_SEG_NAME_MAX ?
	       sizeof(g->segment) - 1 : AP_SEG_NAME_MAX);
	s->seg.name[strnlen(g->segment, sizeof(g->segment) - 1)] = '\0';
	return 0;
}

/* TOTALS into the session's counts, process rows and quarantined lanes. */
static int take_totals(struct ap_session *s, const uint8_t *p, size_t len)
{
	size_t off = sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings), need;
	struct ap_log_totals lt;
	struct ap_drain_totals *t = &s->totals;

	if (len < off + sizeof(lt))
		return -1;
	memcpy(&lt, p + off, sizeof(lt));
	off += sizeof(lt);
	need = (size_t)lt.nprocs * sizeof(struct ap_log_proc) + (size_t)lt.nquarantined * sizeof(struct ap_log_quarantined);
	if (lt.nprocs > len || lt.nquarantined > s->seg.lane_count || need > len - off)
		return -1;
	s->drain.procs = calloc(lt.nprocs ? lt.nprocs : 1, sizeof(*s->drain.procs));
	s->drain.lanes = calloc(s->seg.lane_count, sizeof(*s->drain.lanes));
	s->qreason = calloc(lt.nquarantined ? lt.nquarantined : 1, sizeof(*s->qreason));
	if (!s->drain.procs || !s->drain.lanes || !s->qreason)
		return -ENOMEM;
	for (uint32_t i = 0; i < lt.nprocs; i++, off += sizeof(struct ap_log_proc)) {
		struct ap_log_proc lp;
		struct ap_proc_row *r = &s->drain.procs[s->drain.nprocs++];

		memcpy(&lp, p + off, sizeof(lp));
		r->pid = lp.pid;
		r->threads = lp.threads;
		r->spans = lp.spans;
		r->events = lp.events;
		r->dropped = lp.dropped;
		r->lanes_claimed = lp.lanes_claimed;
	}
	for (uint32_t i = 0; i < lt.nquarantined; i++, off += sizeof(struct ap_log_quarantined)) {
		struct ap_log_quarantined q;

		memcpy(&q, p + off, sizeof(q));
		if (q.lane >= s->seg.lane_count)
			continue;
		memcpy(s->qreason[i], q.reason, sizeof(q.reason));
		s->qreason[i][sizeof(q.reason) - 1] = '\0';
		s->drain.lanes[q.lane].quarantined = s->qreason[i];
		s->drain.lanes[q.lane].events = q.events_read;
	}
	take_models(&s->opts, p + off, len - off);
	t->written = lt.written;
	t->read = lt.read;
	t->dropped_full = lt.dropped_full;
	t->dropped_no_lane = lt.dropped_no_lane;
	t->dropped_reentrant = lt.dropped_reentrant;
	t->rejected = lt.rejected;
	t->claims = lt.claims;
	t->in_ring = lt.in_ring;
	t->quarantined_lanes = lt.quarantined_lanes;
	t->reclaimed_lanes = lt.reclaimed_lanes;
	t->names_full = lt.names_full;
	t->attaches = lt.attaches;
	t->lost_quarantined = lt.lost_quarantined;
	t->sampled_out = lt.sampled_out;
	s->names.invalid = lt.names_invalid;
	s->drain.procs_over_cap = lt.procs_over_cap;
	s->t0_ns = 0;
	s->t1_ns = lt.duration_ns;
	s->workload_cpu_ns = lt.workload_cpu_ns;
	s->cost_ns = lt.cost_ns >= 0 && lt.cost_ns < 1e9 ? lt.cost_ns : 0;
	s->cost_measurements = lt.cost_measurements;
	s->setup_ns = lt.setup_ns;
	s->cpus = lt.cpus >= 1 && lt.cpus <= 1u << 20 ? lt.cpus : 1;
	s->events_not_logged = lt.events_not_logged;
	if (lt.exit_status >= 0 && lt.exit_status < 256) {
		s->main_done = 1;
		s->main_status = lt.exit_status >= 128 && lt.exit_status - 128 < 64 ?
				 (int)(lt.exit_status - 128) : (int)lt.exit_status << 8;
	}
	return 0;
}

/* Records of one DATA block into the assembler and the names. */
static void replay_data(struct ap_session *s, const uint8_t *p, uint32_t len, struct ap_event *scratch,
			uint64_t *events, uint64_t *rejected)
{
	uint32_t off = 0;

	while (off + sizeof(struct ap_log_rec) <= len) {
		struct ap_log_rec r;

		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.pid == 0 && r.n == 0) {
			ap_asm_flush(&s->as);
		} else if (r.pid == 0) {
			uint32_t padded = (r.n + 7) & ~7u, i = 0;

			if (r.n > len - off || padded > len - off) {
				s->scan.records_bad++;
				return;
			}
			while (i < r.n) {
				const char *str = (const char *)p + off + i;
				size_t l = strnlen(str, r.n - i);

				if (l == r.n - i || l > AP_NAME_MAX) {
					s->scan.records_bad++;
					break;
				}
				if (l)
					ap_names_add(&s->names, ap_name_hash(str, (uint32_t)l), str, (uint32_t)l);
				i += (uint32_t)l + 1;
			}
			off += padded;
		} else {
			struct ap_batch_result res = { 0, 0 };

			if (r.pid > (1u << 22) || r.n > (len - off) / sizeof(struct ap_event) ||
			    r.n > AP_LOG_BLOCK_MAX / sizeof(struct ap_event)) {
				s->scan.records_bad++;
				return;
			}
			memcpy(scratch, p + off, (size_t)r.n * sizeof(struct ap_event));
			ap_asm_events(&s->as, r.pid, scratch, r.n, &res);
			*events += r.n;
			*rejected += res.rejected;
			off += r.n * (uint32_t)sizeof(struct ap_event);
		}
	}
	if (off != len)
		s->scan.records_bad++;
}

int ap_session_replay(struct ap_session *s, const struct ap_run_opts *o, const uint8_t *buf, size_t len,
		      const char **why)
{
	struct ap_log_scan first = { 0 };
	struct ap_log_block h;
	const uint8_t *p, *header = NULL, *totals = NULL;
	uint32_t header_len = 0, totals_len = 0;
	struct ap_event *scratch;
	uint64_t events = 0, rejected = 0;
	size_t pos = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	s->replayed = 1;
	*why = NULL;
	/* Pass 1: what the log is (the first HEADER, the last TOTALS). */
	while ((p = ap_log_next(buf, len, &pos, &first, &h))) {
		if (h.type == AP_LOG_HEADER && !header) {
			header = p;
			header_len = h.len;
		} else if (h.type == AP_LOG_TOTALS) {
			totals = p;
			totals_len = h.len;
		}
	}
	{
		const uint8_t *g = header ? header : totals;
		uint32_t glen = header ? header_len : totals_len;
		struct ap_log_geometry geo;
		struct ap_log_settings st;

		if (!g || glen < sizeof(geo) + sizeof(st)) {
			*why = first.blocks ? "no intact header or totals block" : "not an agentprof event log";
			return -EINVAL;
		}
		memcpy(&geo, g, sizeof(geo));
		memcpy(&st, g + sizeof(geo), sizeof(st));
		if (take_geometry(s, &geo)) {
			*why = "log written by another version or architecture";
			return -EINVAL;
		}
		take_settings(&s->opts, &st);
		if (header)
			take_models(&s->opts, header + sizeof(geo) + sizeof(st), header_len - sizeof(geo) - sizeof(st));
	}
	scratch = malloc(AP_LOG_BLOCK_MAX);
	if (!scratch || ap_names_init(&s->names) ||
	    ap_analysis_init(&s->analysis, &s->names, &s->seg.clock, &s->opts.rules, s->opts.models,
			     s->opts.nmodels, &s->opts.keep) ||
	    ap_asm_init(&s->as, s->opts.max_spans, ap_analysis_add, &s->analysis)) {
		free(scratch);
		return -ENOMEM;
	}
	/* Pass 2: the events, in order, flushed where the live reader flushed. */
	pos = 0;
	while ((p = ap_log_next(buf, len, &pos, &s->scan, &h)))
		if (h.type == AP_LOG_DATA)
			replay_data(s, p, h.len, scratch, &events, &rejected);
	free(scratch);
	ap_asm_finish(&s->as);
	s->span_counts.complete = s->as.spans_complete;
	s->span_counts.open = s->as.spans_open;
	s->span_counts.unmatched_end = s->as.end_without_begin;
	s->span_counts.tokens_only = s->as.tokens_only;
	if (totals && (ret = take_totals(s, totals, totals_len)) == 0) {
		/* Models of the run (TOTALS) may differ from the defaults the
		 * analysis started with only when HEADER was lost. */
		s->replay_complete = 1;
	} else {
		if (totals && ret == -ENOMEM)
			return -ENOMEM;
		/* Cut short: the counts are what the log holds. */
		s->totals.read = events;
		s->totals.written = events;
		s->totals.rejected = rejected;
		free(s->drain.procs);
		free(s->drain.lanes);
		s->drain.procs = NULL;
		s->drain.lanes = calloc(s->seg.lane_count, sizeof(*s->drain.lanes));
		if (!s->drain.lanes)
			return -ENOMEM;
	}
	return 0;
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
	struct ap_drain_totals tt;
	struct ap_span_counts sc;
	const struct ap_drain_totals *t = &tt;

	view_counts(s, &tt, &sc);

	ap_json_obj(j, "counts");
	ap_json_u64(j, "written", t->written);
	ap_json_u64(j, "read", t->read);
	ap_json_u64(j, "dropped_full", t->dropped_full);
	ap_json_u64(j, "dropped_no_lane", t->dropped_no_lane);
	ap_json_u64(j, "dropped_reentrant", t->dropped_reentrant);
	ap_json_u64(j, "rejected", t->rejected);
	ap_json_u64(j, "quarantined_lanes", t->quarantined_lanes);
	ap_json_u64(j, "traces_sampled_out", t->sampled_out);
	ap_json_u64(j, "spans_complete", sc.complete);
	ap_json_u64(j, "spans_open", sc.open);
	ap_json_u64(j, "spans_end_without_begin", sc.unmatched_end);
	ap_json_u64(j, "spans_tokens_only", sc.tokens_only);
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

int ap_session_json(struct ap_session *s, FILE *f)
{
	struct ap_json j;

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
	ap_json_num(&j, "duration_ms", (double)(s->t1_ns - view_t0(s)) / 1e6, 3);
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

	if (s->rendering_iv) {
		ap_json_obj(&j, "interval");
		ap_json_u64(&j, "seq", s->dumps);
		ap_json_num(&j, "start_ms", (double)(s->iv_t0_ns - s->t0_ns) / 1e6, 3);
		ap_json_num(&j, "end_ms", (double)(s->t1_ns - s->t0_ns) / 1e6, 3);
		ap_json_end_obj(&j);
	}
	if (s->dumping) {
		ap_json_obj(&j, "dumps");
		ap_json_num(&j, "interval_s", (double)s->opts.interval_ns / 1e9, 3);
		ap_json_str(&j, "io", s->dump.io);
		if (s->dump.why_sync)
			ap_json_str(&j, "io_note", s->dump.why_sync);
		else
			ap_json_null(&j, "io_note");
		ap_json_u64(&j, "reports", s->dumps);
		ap_json_u64(&j, "files_written", s->dump.written);
		ap_json_u64(&j, "files_failed", s->dump.failed);
		ap_json_u64(&j, "files_skipped_busy", s->dump.skipped_busy);
		ap_json_u64(&j, "bytes", s->dump.bytes);
		ap_json_num(&j, "render_ms", (double)s->render_ns / 1e6, 3);
		ap_json_u64(&j, "merges_failed", s->merge_failed);
		if (s->dump.last_err) {
			char msg[160];

			snprintf(msg, sizeof(msg), "%s: %s", s->dump.last_err_file, strerror(-s->dump.last_err));
			ap_json_str(&j, "last_error", msg);
		} else {
			ap_json_null(&j, "last_error");
		}
		ap_json_end_obj(&j);
	}
	if (s->took_over_from) {
		ap_json_obj(&j, "takeover");
		ap_json_u64(&j, "from_reader_pid", s->took_over_from);
		ap_json_u64(&j, "lanes_adopted", s->lanes_adopted);
		ap_json_end_obj(&j);
	}

	if (s->replayed) {
		ap_json_obj(&j, "log");
		ap_json_str(&j, "replayed_from", s->opts.log_path);
		ap_json_bool(&j, "complete", s->replay_complete);
		ap_json_u64(&j, "blocks", s->scan.blocks);
		ap_json_u64(&j, "blocks_damaged", s->scan.blocks_damaged);
		ap_json_u64(&j, "blocks_missing", s->scan.blocks_missing);
		ap_json_u64(&j, "blocks_out_of_order", s->scan.blocks_out_of_order);
		ap_json_u64(&j, "records_bad", s->scan.records_bad);
		ap_json_u64(&j, "bytes_skipped", s->scan.bytes_skipped);
		ap_json_u64(&j, "events_not_logged", s->events_not_logged);
		ap_json_end_obj(&j);
	} else if (s->opts.log_path) {
		ap_json_obj(&j, "log");
		ap_json_str(&j, "path", s->opts.log_path);
		ap_json_str(&j, "io", s->log.io ? s->log.io : "none");
		ap_json_u64(&j, "blocks", s->log.blocks);
		ap_json_u64(&j, "bytes", s->log.bytes);
		ap_json_u64(&j, "events", s->log.events);
		ap_json_u64(&j, "events_not_logged", s->log.events_not_logged);
		ap_json_u64(&j, "blocks_dropped", s->log.blocks_dropped);
		if (s->log_err)
			ap_json_str(&j, "error", strerror(-s->log_err));
		else
			ap_json_null(&j, "error");
		ap_json_end_obj(&j);
	}

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
		ap_report_json(&j, view_analysis(s), &ov);
	}
	ap_json_end_obj(&j);
	return j.err;
}

int ap_session_write_report(struct ap_session *s, const char *path)
{
	struct text_ctx t = { s, 0 };

	return write_atomically(path, fill_json, &t);
}
