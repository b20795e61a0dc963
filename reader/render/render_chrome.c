/* SPDX-License-Identifier: MIT */
/*
 * render_chrome.c - trace.json: the kept traces as Chrome Trace Event JSON,
 * for Perfetto (ui.perfetto.dev) and the DevTools Performance panel.
 *
 * Every span of a kept trace's tree is one complete ("X") event on its real
 * pid and the tid that began it. Timestamps are microseconds with three
 * decimals (the nanoseconds kept), since the earliest kept trace's start: an
 * epoch-based timebase cannot hold nanosecond decimals in a double. Begin
 * and end are both converted from clock ticks on that one timeline, so
 * spans nest in nanoseconds exactly as they nest in ticks; report.json
 * rounds each start (since its root) and each duration on its own, so the
 * two may differ by 1 ns.
 *
 * The trace viewers nest the slices of a thread by time, so spans of one
 * thread that overlap without nesting (async code, a span ended on another
 * thread) would break the nesting and be dropped without a word. Each
 * thread's spans are therefore sorted by start (longest first) and laid on
 * lanes: a span goes on the first lane where it nests in what is open, and
 * what it nests in is its ancestor in the trace (two traces interleaved on
 * one thread by an event loop do not nest in each other); a
 * lane after the first is a thread of its own, tid = lane << 32 | tid,
 * named "tid T (overlap L)". Only the first LANE_SEARCH lanes are searched;
 * a span that fits none opens a new lane.
 *
 * The viewers add ts + dur in doubles: with ts = 1000001.001 and dur =
 * 2.006 the end comes out 1000003.0070000001 and a child that ends with its
 * parent in nanoseconds ends after it in doubles (and is dropped). So dur
 * is written so that ts + dur, in doubles, is exactly the double of the
 * end: when the three-decimal duration does not add up, the difference of
 * the two doubles is written with 17 digits. Ends then compare in doubles
 * as they do in nanoseconds.
 *
 * A few names make the DevTools trace engine crash or switch to browser
 * mode (it dispatches on the event name alone: CpuProfile, Paint, ...):
 * those get "span " in front. Process and thread names are "M" events.
 *
 * With memory sampled (--memory-interval), each process shown gets a
 * counter track ("C" events named "RSS", args rss_mib and anon_mib): its
 * samples from the first kept trace's start on, the series as the memory
 * module keeps it (downsampled over long runs, the recent ones at full
 * rate), so at most AP_MEM_SAMPLES + AP_MEM_RECENT events per process.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "json.h"
#include "labels.h"
#include "memory.h"
#include "render.h"

#define LANE_SEARCH	64

struct item {
	const struct ap_kept *k;
	uint32_t i;		/* span in k */
	uint32_t pid, tid;
	uint32_t lane;
	uint32_t seq;		/* kept traces in order, each in pre-order */
	uint64_t start, dur;	/* ns since t0 */
};

static int by_thread_time(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->dur != b->dur)
		return a->dur > b->dur ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);	/* pre-order: a parent before its child */
}

/* Names the DevTools trace engine treats as its own events. */
static const char *const reserved[] = {
	"CpuProfile", "Profile", "ProfileChunk", "ResourceSendRequest", "ResourceReceiveResponse",
	"ResourceReceivedData", "ResourceFinish", "ResourceWillSendRequest", "ResourceChangePriority",
	"TimerInstall", "TimerFire", "TimerRemove", "Paint", "Layout", "UpdateLayoutTree", "TracingStartedInBrowser",
	"TracingStartedInPage", "TracingSessionIdForWorker", "RunTask", "FunctionCall", "EventDispatch",
	"v8.compile", "EvaluateScript", "ParseHTML", "Screenshot", "LayoutShift", "navigationStart",
	"firstContentfulPaint", "largestContentfulPaint::Candidate", "AuctionWorklet", "Animation",
	"CommitLoad", "FrameCommittedInBrowser", "thread_name", "process_name",
};

static const char *ap_chrome_name(const char *name, char *buf, size_t cap)
{
	for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
		if (strcmp(name, reserved[r]) == 0) {
			snprintf(buf, cap, "span %s", name);
			return buf;
		}
	return name;
}

/* Lanes of one thread: each a stack of the spans open on it (indexes into
 * the thread's items), innermost last. */
struct lanes {
	uint32_t **open;
	uint32_t *depth, *cap;
	uint32_t n, alloc;
};

/* Whether span a of k is an ancestor of span d (at most ANCESTOR_HOPS up:
 * deeper, the span takes a lane of its own). */
#define ANCESTOR_HOPS	256
static int is_ancestor(const struct ap_kept *k, uint32_t a, uint32_t d)
{
	for (int hops = 0; hops < ANCESTOR_HOPS && d != AP_NONE && d < k->n; hops++) {
		d = k->parent[d];
		if (d == a)
			return 1;
	}
	return 0;
}

/* Span s nests on lane ln: whatever is open there that ended before s began
 * is closed, and what remains open (if anything) holds s in time and is
 * its ancestor in the trace, so that a viewer's thread nesting says what
 * the trace says. */
static int lane_fits(struct lanes *l, uint32_t ln, const struct item *it, uint32_t s)
{
	const struct item *top;

	while (l->depth[ln] && it[l->open[ln][l->depth[ln] - 1]].start + it[l->open[ln][l->depth[ln] - 1]].dur <=
				       it[s].start)
		l->depth[ln]--;
	if (!l->depth[ln])
		return 1;
	top = &it[l->open[ln][l->depth[ln] - 1]];
	return it[s].start + it[s].dur <= top->start + top->dur && top->k == it[s].k &&
	       is_ancestor(it[s].k, top->i, it[s].i);
}

static int lane_push(struct lanes *l, uint32_t ln, uint32_t s)
{
	if (l->depth[ln] == l->cap[ln]) {
		uint32_t c = l->cap[ln] ? 2 * l->cap[ln] : 8;
		uint32_t *p = realloc(l->open[ln], c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->open[ln] = p;
		l->cap[ln] = c;
	}
	l->open[ln][l->depth[ln]++] = s;
	return 0;
}

static int lane_new(struct lanes *l)
{
	if (l->n == l->alloc) {
		uint32_t c = l->alloc ? 2 * l->alloc : 8;
		uint32_t **o = realloc(l->open, c * sizeof(*o));
		uint32_t *d, *cp;

		if (!o)
			return -ENOMEM;
		l->open = o;
		d = realloc(l->depth, c * sizeof(*d));
		if (!d)
			return -ENOMEM;
		l->depth = d;
		cp = realloc(l->cap, c * sizeof(*cp));
		if (!cp)
			return -ENOMEM;
		l->cap = cp;
		l->alloc = c;
	}
	l->open[l->n] = NULL;
	l->depth[l->n] = l->cap[l->n] = 0;
	return (int)l->n++;
}

static void lanes_free(struct lanes *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		free(l->open[i]);
	free(l->open);
	free(l->depth);
	free(l->cap);
	memset(l, 0, sizeof(*l));
}

/* Lay one thread's spans it[0..n) (sorted) on lanes; *nlanes gets the
 * thread's lane count. */
static int assign_lanes(struct item *it, uint32_t n, uint32_t *nlanes)
{
	struct lanes l = { 0 };
	int ret = 0;

	for (uint32_t s = 0; s < n && !ret; s++) {
		uint32_t ln, lim = l.n < LANE_SEARCH ? l.n : LANE_SEARCH;
		int got = -1;

		for (ln = 0; ln < lim; ln++)
			if (lane_fits(&l, ln, it, s)) {
				got = (int)ln;
				break;
			}
		if (got < 0)
			got = lane_new(&l);
		if (got < 0) {
			ret = got;
			break;
		}
		it[s].lane = (uint32_t)got;
		ret = lane_push(&l, (uint32_t)got, s);
	}
	*nlanes = l.n;
	lanes_free(&l);
	return ret;
}

/* ns as microseconds with three decimals. */
static void us3(char *b, size_t cap, uint64_t ns)
{
	snprintf(b, cap, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

/* dur such that (double)ts + (double)dur == (double)end, in doubles. */
static void dur_text(char *b, size_t cap, uint64_t start, uint64_t dur)
{
	double ts = (double)start / 1000.0, end = (double)(start + dur) / 1000.0, d;

	if (ts + (double)dur / 1000.0 == end) {
		us3(b, cap, dur);
		return;
	}
	d = end - ts;
	for (int k = 0; k < 8 && ts + d != end; k++)
		d = nextafter(d, ts + d > end ? 0.0 : end);
	snprintf(b, cap, "%.17g", d);
}

static void hex_id(char *b, size_t cap, uint64_t hi, uint64_t lo)
{
	if (hi)
		snprintf(b, cap, "%016" PRIx64 "%016" PRIx64, hi, lo);
	else
		snprintf(b, cap, "%016" PRIx64, lo);
}

static void meta(struct ap_json *j, const char *what, uint32_t pid, uint64_t tid, const char *name)
{
	ap_json_obj(j, NULL);
	ap_json_str(j, "name", what);
	ap_json_str(j, "ph", "M");
	ap_json_u64(j, "pid", pid);
	ap_json_u64(j, "tid", tid);
	ap_json_obj(j, "args");
	ap_json_str(j, "name", name);
	ap_json_end_obj(j);
	ap_json_end_obj(j);
}

/* The RSS counter track of pid, samples at or after t0 (ticks). */
static void rss_track(struct ap_json *j, const struct ap_run *r, uint32_t pid, uint64_t t0)
{
	struct ap_mem_sample smp[AP_MEM_SAMPLES + AP_MEM_RECENT];
	const struct ap_mem_series *ser;
	const struct ap_analysis *a = r->analysis;
	uint32_t n;
	char num[40];

	if (!r->memory || !(ser = ap_mem_find(r->memory, pid)))
		return;
	n = ap_mem_window(ser, t0, UINT64_MAX, smp, AP_MEM_SAMPLES + AP_MEM_RECENT);
	for (uint32_t q = 0; q < n; q++) {
		if (smp[q].ticks < t0)
			continue;	/* the one sample before the window */
		ap_json_obj(j, NULL);
		ap_json_str(j, "name", "RSS");
		ap_json_str(j, "cat", "memory");
		ap_json_str(j, "ph", "C");
		ap_json_u64(j, "pid", pid);
		ap_json_u64(j, "tid", pid);	/* a process's counter: on its main thread */
		us3(num, sizeof(num), ap_ticks_delta_ns(&a->clock, t0, smp[q].ticks));
		ap_json_raw(j, "ts", num);
		ap_json_obj(j, "args");
		snprintf(num, sizeof(num), "%.3f", smp[q].rss_kib / 1024.0);
		ap_json_raw(j, "rss_mib", num);
		snprintf(num, sizeof(num), "%.3f", smp[q].anon_kib / 1024.0);
		ap_json_raw(j, "anon_mib", num);
		ap_json_end_obj(j);
		ap_json_end_obj(j);
	}
}

int ap_render_chrome(const struct ap_run *r, FILE *f)
{
	const struct ap_analysis *a = r->analysis;
	struct item *it = NULL;
	uint32_t *order = NULL, n = 0, cap = 0;
	uint64_t t0;
	struct ap_json j;
	int ret = 0;

	if (!a)
		return -EINVAL;
	t0 = ap_kept_t0(a);
	for (uint32_t t = 0; t < a->nkept; t++)
		cap += ap_analysis_kept(a, t)->n;
	it = malloc((cap ? cap : 1) * sizeof(*it));
	order = malloc((cap ? cap : 1) * sizeof(*order));
	if (!it || !order) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t t = 0; t < a->nkept; t++) {
		const struct ap_kept *k = ap_analysis_kept(a, t);
		uint32_t m = ap_kept_preorder(k, order, NULL, k->n);

		for (uint32_t q = 0; q < m; q++) {
			const struct ap_span *s = &k->v[order[q]];

			uint64_t end = (s->have & AP_SPAN_HAVE_END) ? s->t_end :
				       s->t_end > s->t_begin ? s->t_end :
				       s->t_begin + ap_ns_to_ticks(&a->clock, k->dur[order[q]]);
			uint64_t b = ap_kept_start_ns(a, t0, s);

			it[n] = (struct item){ .k = k, .i = order[q], .pid = s->pid, .tid = s->tid_begin, .seq = n,
					       .start = b, .dur = ap_ticks_delta_ns(&a->clock, t0, end) - b };
			n++;
		}
	}
	qsort(it, n, sizeof(*it), by_thread_time);

	ap_json_init(&j, f);
	ap_json_obj(&j, NULL);
	ap_json_arr(&j, "traceEvents");
	for (uint32_t s = 0; s < n && !ret;) {
		uint32_t e = s, nl = 0;
		char name[64];

		while (e < n && it[e].pid == it[s].pid && it[e].tid == it[s].tid)
			e++;
		ret = assign_lanes(it + s, e - s, &nl);
		if (s == 0 || it[s - 1].pid != it[s].pid) {
			snprintf(name, sizeof(name), "pid %" PRIu32, it[s].pid);
			meta(&j, "process_name", it[s].pid, it[s].tid, name);
			rss_track(&j, r, it[s].pid, t0);
		}
		for (uint32_t ln = 0; ln < nl; ln++) {
			if (ln)
				snprintf(name, sizeof(name), "tid %" PRIu32 " (overlap %" PRIu32 ")", it[s].tid, ln);
			else
				snprintf(name, sizeof(name), "tid %" PRIu32, it[s].tid);
			meta(&j, "thread_name", it[s].pid, (uint64_t)ln << 32 | it[s].tid, name);
		}
		for (uint32_t q = s; q < e; q++) {
			const struct ap_kept *k = it[q].k;
			const struct ap_span *sp = &k->v[it[q].i];
			char b[32], nb[AP_NAME_MAX + 8], num[40];
			const char *nm = ap_nm(a, sp->name, b);

			ap_json_obj(&j, NULL);
			ap_json_str(&j, "name", ap_chrome_name(nm, nb, sizeof(nb)));
			ap_json_str(&j, "cat", ap_cat_name(sp->category));
			ap_json_str(&j, "ph", "X");
			ap_json_u64(&j, "pid", it[q].pid);
			ap_json_u64(&j, "tid", (uint64_t)it[q].lane << 32 | it[q].tid);
			us3(num, sizeof(num), it[q].start);
			ap_json_raw(&j, "ts", num);
			dur_text(num, sizeof(num), it[q].start, it[q].dur);
			ap_json_raw(&j, "dur", num);
			ap_json_obj(&j, "args");
			ap_json_str(&j, "category", ap_cat_name(sp->category));
			hex_id(num, sizeof(num), sp->trace_hi, sp->trace_lo);
			ap_json_str(&j, "trace_id", num);
			hex_id(num, sizeof(num), 0, sp->id);
			ap_json_str(&j, "span_id", num);
			if (k->parent[it[q].i] != AP_NONE) {
				hex_id(num, sizeof(num), 0, k->v[k->parent[it[q].i]].id);
				ap_json_str(&j, "parent_id", num);
			}
			ap_json_u64(&j, "self_ns", k->self[it[q].i]);
			if (sp->have & AP_SPAN_HAVE_TOKENS) {
				ap_json_str(&j, "model", ap_nm(a, sp->model, b));
				ap_json_u64(&j, "input_tokens", sp->input_tokens);
				ap_json_u64(&j, "output_tokens", sp->output_tokens);
			}
			if (sp->have & AP_SPAN_HAVE_ERROR)
				ap_json_str(&j, "error", sp->error ? ap_nm(a, sp->error, b) : "error");
			else if (k->truncated[it[q].i])
				ap_json_str(&j, "error", "truncated: the span never ended");
			ap_json_end_obj(&j);
			ap_json_end_obj(&j);
		}
		s = e;
	}
	ap_json_end_arr(&j);
	ap_json_str(&j, "displayTimeUnit", "ns");
	ap_json_obj(&j, "otherData");
	ap_json_str(&j, "producer", "agentprof " AGENTPROF_VERSION);
	ap_json_str(&j, "workload", r->label ? r->label : "");
	ap_json_u64(&j, "traces_kept", a->nkept);
	ap_json_u64(&j, "traces_recorded", a->traces_recorded);
	ap_json_end_obj(&j);
	ap_json_end_obj(&j);
	if (!ret)
		ret = j.err;
out:
	free(it);
	free(order);
	if (!ret && ferror(f))
		ret = -EIO;
	return ret;
}
