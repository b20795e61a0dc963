/* SPDX-License-Identifier: MIT */
/*
 * html_memory.c - report.html's memory next to time: the RSS of the
 * processes the reader sampled (memory.h), from the series trace.json's
 * counter tracks read (ap_mem_window) plus the exact start, peak and end
 * the series keeps whatever it dropped, so the peak printed is a point of
 * the line.
 *
 *   svg.memstrip  under the slowest trace's timeline, one per process of
 *                 that trace (at most AP_HTML_MEM_STRIPS): the RSS over the
 *                 trace on the timeline's own x axis (the same name column
 *                 and chart width), so a sample sits under the spans that
 *                 ran when it was taken
 *   svg.mem       the Memory panel: one chart per process over the run, all
 *                 on one axis (the run's first sample to its last), at most
 *                 AP_HTML_MEM_CHARTS, largest growth first as in the text
 *                 report; beside each its peak, start, end, slope and fit,
 *                 and under it the memory_growth finding when the report
 *                 has one for it; then the processes left out, by pid and
 *                 counted, the processes with no sample and the samples
 *                 past the series cap, so nothing is left out unsaid
 *
 * Each sample is a column of its chart with a <title>: its time and RSS
 * in MiB on hover, without the script (which leaves these pictures alone:
 * they have no data-width, so no zoom). y runs from 0 to a round ceiling
 * above the largest value drawn, printed at the plot's top right. Printed,
 * the captions carry the figures.
 *
 * Nothing here trusts the samples (a replayed log may carry any time and
 * any RSS): every coordinate is clamped into its plot, every width is
 * that of two clamped edges, and a picture holds at most PTS_MAX samples,
 * which ap_export_bound counts.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "html.h"
#include "labels.h"
#include "memory.h"

#define PTS_MAX	(AP_MEM_SAMPLES + AP_MEM_RECENT + 3u)	/* a window, and the exact first, peak, last */
#define W	AP_HTML_CHART_W
#define LEFT	AP_HTML_LABEL_W
#define MEM_H	64.0	/* px of a panel chart's plot */
#define STRIP_H	36.0	/* px of a strip's plot */

struct chart {
	uint32_t pid;
	double top, h;		/* px of the plot, below the time axis */
	double total;		/* ns across the chart's width, >= 1 */
	double ceil_kib;	/* KiB at the top of the plot, >= 1024 */
	int in_trace;		/* times as ms into the trace (strips), else s since the first sample */
};

struct xy {
	double t, kib;
};

/* Scratch for one picture: the samples, their times, the clipped line. */
struct bufs {
	struct ap_mem_sample p[PTS_MAX];
	double t[PTS_MAX];
	struct xy v[PTS_MAX + 2];
};

static int sampled(const struct ap_run *r)
{
	return r->memory && r->memory->interval_ns;
}

/* v in [lo, hi]; lo for NaN. */
static double clampd(double v, double lo, double hi)
{
	return !(v >= lo) ? lo : v > hi ? hi : v;
}

static double xpx(const struct chart *c, double t)
{
	return LEFT + clampd(t / c->total * W, 0, W);
}

static double ypx(const struct chart *c, double kib)
{
	return c->top + c->h - clampd(kib / c->ceil_kib * c->h, 0, c->h);
}

/* ticks as ns since origin, negative before it. */
static double rel_ns(const struct ap_clock_cal *clk, uint64_t origin, uint64_t ticks)
{
	return ticks >= origin ? (double)ap_ticks_delta_ns(clk, origin, ticks) :
				 -(double)ap_ticks_delta_ns(clk, ticks, origin);
}

static double mib(double kib)
{
	return kib / 1024.0;
}

/* The smallest 1, 2 or 5 x 10^k MiB (GiB from 1 GiB on) at or above kib,
 * 1 MiB at least, in KiB; its label into b. kib is at most 2^32 (a
 * uint32_t sample), so the loop ends within a few rounds. */
static double ceiling(double kib, char *b, size_t cap)
{
	int gib = kib > 1024.0 * 1024.0;
	double unit = gib ? 1024.0 * 1024.0 : 1024.0, v = kib / unit, step = 1;

	for (int k = 0; k < 40 && step < v; k++) {
		if (step * 2 >= v) {
			step *= 2;
			break;
		}
		if (step * 5 >= v) {
			step *= 5;
			break;
		}
		step *= 10;
	}
	snprintf(b, cap, "%g %s", step, gib ? "GiB" : "MiB");
	return step * unit;
}

/* A rate in MiB per hour: one decimal, or three digits when it is huge (a
 * hostile log), so a caption stays short. */
static void rate(char *b, size_t cap, double kib_per_s)
{
	double v = kib_per_s * 3600.0 / 1024.0;

	snprintf(b, cap, v > -1e6 && v < 1e6 ? "%+.1f MiB/h" : "%+.3g MiB/h", v);
}

/*
 * s's samples from `from` to `to` (ticks) in time order, with the one
 * before and the one after where there are (ap_mem_window), and the exact
 * first, peak and last of the series where they fall in the window and
 * the kept samples lack them (a long run drops samples, never those
 * three). At most PTS_MAX into p.
 */
static uint32_t points(const struct ap_mem_series *s, uint64_t from, uint64_t to, struct ap_mem_sample *p)
{
	const struct ap_mem_sample *ex[3] = { &s->first, &s->peak, &s->last };
	uint32_t n = ap_mem_window(s, from, to, p, AP_MEM_SAMPLES + AP_MEM_RECENT);

	for (int e = 0; e < 3 && s->taken; e++) {
		uint32_t i = 0, j;

		if (ex[e]->ticks < from || ex[e]->ticks > to)
			continue;
		while (i < n && p[i].ticks < ex[e]->ticks)
			i++;
		for (j = i; j < n && p[j].ticks == ex[e]->ticks && p[j].rss_kib != ex[e]->rss_kib; j++)
			;
		if (j < n && p[j].ticks == ex[e]->ticks)
			continue;	/* there already */
		memmove(p + i + 1, p + i, (n - i) * sizeof(*p));
		p[i] = *ex[e];
		n++;
	}
	return n;
}

static double lerp(double t0, double k0, double t1, double k1, double at)
{
	return k0 + (k1 - k0) * ((at - t0) / (t1 - t0));	/* t1 > t0 where it is called */
}

/* The samples p[0..n) at times t[] (ns since the chart's origin, in order)
 * clipped to [0, total]: where a segment crosses an edge, its value there.
 * At most n + 2 points into v. */
static uint32_t clip(const struct chart *c, const struct ap_mem_sample *p, const double *t, uint32_t n,
		     struct xy *v)
{
	uint32_t m = 0;

	for (uint32_t i = 0; i < n; i++) {
		double k = p[i].rss_kib;

		if (t[i] < 0)
			continue;
		if (i > 0 && t[i - 1] < 0 && t[i] > 0)
			v[m++] = (struct xy){ 0, lerp(t[i - 1], p[i - 1].rss_kib, t[i], k, 0) };
		if (t[i] > c->total) {
			if (i > 0 && t[i - 1] < c->total)
				v[m++] = (struct xy){ c->total, lerp(t[i - 1], p[i - 1].rss_kib, t[i], k, c->total) };
			break;
		}
		v[m++] = (struct xy){ t[i], k };
	}
	return m;
}

/* The plot's frame: its top, middle and bottom as light lines. */
static void frame(FILE *f, const struct chart *c)
{
	for (int q = 0; q <= 2; q++)
		fprintf(f, "<line class=\"mg\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", LEFT, c->top + q * c->h / 2,
			LEFT + W, c->top + q * c->h / 2);
	fputc('\n', f);
}

/* The clipped series v[0..m) as an area and a line; one point as a dot. */
static void plot(FILE *f, const struct chart *c, const struct xy *v, uint32_t m)
{
	double base = c->top + c->h;

	if (m == 1)
		fprintf(f, "<circle class=\"mp\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>\n", xpx(c, v[0].t), ypx(c, v[0].kib));
	if (m < 2)
		return;
	fprintf(f, "<path class=\"ma\" d=\"M%.1f %.1f", xpx(c, v[0].t), base);
	for (uint32_t i = 0; i < m; i++)
		fprintf(f, "L%.1f %.1f", xpx(c, v[i].t), ypx(c, v[i].kib));
	fprintf(f, "L%.1f %.1fZ\"/>\n<path class=\"ml\" d=\"", xpx(c, v[m - 1].t), base);
	for (uint32_t i = 0; i < m; i++)
		fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', xpx(c, v[i].t), ypx(c, v[i].kib));
	fputs("\"/>\n", f);
}

static void sample_text(FILE *f, const struct chart *c, double t, const struct ap_mem_sample *s)
{
	if (c->in_trace)
		fprintf(f, "pid %" PRIu32 ", %.1f ms into the trace", c->pid, t / 1e6);
	else
		fprintf(f, "pid %" PRIu32 " at %.3f s", c->pid, t / 1e9);
	fprintf(f, ": RSS %.3f MiB, anon %.3f MiB", mib(s->rss_kib), mib(s->anon_kib));
}

/* One column per sample inside the chart, from halfway to the previous
 * sample to halfway to the next, the height of the plot: transparent,
 * shaded under the pointer, its <title> the sample. */
static void columns(FILE *f, const struct chart *c, const struct ap_mem_sample *p, const double *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		double x, x0, x1;

		if (t[i] < 0 || t[i] > c->total)
			continue;
		x = xpx(c, t[i]);
		x0 = i > 0 && t[i - 1] >= 0 ? (xpx(c, t[i - 1]) + x) / 2 : LEFT;
		x1 = i + 1 < n && t[i + 1] <= c->total ? (x + xpx(c, t[i + 1])) / 2 : LEFT + W;
		fprintf(f, "<rect class=\"mh\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"><title>", x0, c->top,
			x1 > x0 ? x1 - x0 : 0, c->h);
		sample_text(f, c, t[i], &p[i]);
		fputs("</title></rect>\n", f);
	}
}

static void svg_open(FILE *f, const char *cls, uint32_t pid, double h)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"%s\" id=\"%s-%" PRIu32 "\" data-pid=\"%" PRIu32
		"\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", cls, cls, pid, pid, LEFT + W, h);
}

/* The memory_growth finding of process pid, NULL when none: the findings
 * name their process as "process PID grew" (memattr.c). */
static const struct ap_finding *growth_finding(const struct ap_analysis *a, uint32_t pid)
{
	for (uint32_t i = 0; a && i < a->nfindings; i++) {
		unsigned p;

		if (strcmp(a->findings[i].rule, "memory_growth") == 0 &&
		    sscanf(a->findings[i].message, "process %u grew", &p) == 1 && p == pid)
			return &a->findings[i];
	}
	return NULL;
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/* The distinct pids of k's spans, sorted, into a new array (*n of them);
 * NULL when k has none or there is no memory for it. */
static uint32_t *trace_pids(const struct ap_kept *k, uint32_t *n)
{
	uint32_t *v, m = 0;

	*n = 0;
	if (!k || !k->n || !(v = malloc(k->n * sizeof(*v))))
		return NULL;
	for (uint32_t i = 0; i < k->n; i++)
		v[i] = k->v[i].pid;
	qsort(v, k->n, sizeof(*v), u32_cmp);
	for (uint32_t i = 0; i < k->n; i++)
		if (!m || v[m - 1] != v[i])
			v[m++] = v[i];
	*n = m;
	return v;
}

/* ------------------------------------------------------------------------ */
/* Under the slowest trace's timeline.                                       */

static void strip(FILE *f, const struct ap_run *r, uint32_t pid, uint64_t from, double total, struct bufs *b)
{
	const struct ap_memory *m = r->memory;
	const struct ap_mem_series *s = ap_mem_find(m, pid);
	struct chart c = { .pid = pid, .top = AP_HTML_AXIS_H, .h = STRIP_H, .total = total, .in_trace = 1 };
	uint64_t d = ap_ns_to_ticks(&m->clock, (uint64_t)total), to = from > UINT64_MAX - d ? UINT64_MAX : from + d;
	double h = AP_HTML_AXIS_H + STRIP_H + 4, maxk = 0;
	uint32_t n, nv;
	char scale[32];

	if (!s) {
		fprintf(f, "<p class=\"note\">pid %" PRIu32 ": no RSS sample (it lived for less than a round, or came "
			"past the cap of %u series).</p>\n", pid, AP_MEM_PROCS);
		return;
	}
	n = points(s, from, to, b->p);
	for (uint32_t i = 0; i < n; i++)
		b->t[i] = rel_ns(&m->clock, from, b->p[i].ticks);
	nv = clip(&c, b->p, b->t, n, b->v);
	for (uint32_t i = 0; i < nv; i++)
		if (b->v[i].kib > maxk)
			maxk = b->v[i].kib;
	c.ceil_kib = ceiling(maxk, scale, sizeof(scale));
	svg_open(f, "memstrip", pid, h);
	fprintf(f, "<text class=\"mt\" x=\"4\" y=\"%.1f\">RSS, pid %" PRIu32 "</text>", AP_HTML_AXIS_H + 13, pid);
	if (nv)
		fprintf(f, "<text x=\"4\" y=\"%.1f\">%.1f to %.1f MiB over the trace</text>\n", AP_HTML_AXIS_H + 30,
			mib(b->v[0].kib), mib(b->v[nv - 1].kib));
	else
		fprintf(f, "<text x=\"4\" y=\"%.1f\">no sample while it ran</text>\n", AP_HTML_AXIS_H + 30);
	ap_html_axis(f, LEFT, total, h);
	frame(f, &c);
	plot(f, &c, b->v, nv);
	fprintf(f, "<text class=\"ax sc\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0 to %s</text>\n", LEFT + W - 3,
		c.top + 10, scale);
	columns(f, &c, b->p, b->t, n);
	fputs("</svg>\n", f);
}

void ap_html_memory_strips(FILE *f, const struct ap_run *r, const struct ap_kept *k)
{
	uint32_t np, drawn = 0, *pids;
	struct bufs *b;
	uint32_t root_pid;
	double total;

	if (!sampled(r) || !k || !k->n || k->root >= k->n)
		return;
	pids = trace_pids(k, &np);
	b = malloc(sizeof(*b));
	if (!pids || !b)
		goto out;
	root_pid = k->v[k->root].pid;
	total = k->dur[k->root] ? (double)k->dur[k->root] : 1;
	/* The root's process first, then the others by pid. */
	strip(f, r, root_pid, k->v[k->root].t_begin, total, b);
	drawn = 1;
	for (uint32_t i = 0; i < np && drawn < AP_HTML_MEM_STRIPS; i++)
		if (pids[i] != root_pid) {
			strip(f, r, pids[i], k->v[k->root].t_begin, total, b);
			drawn++;
		}
	fprintf(f, "<p class=\"note\">Above: RSS of the trace's %s on the timeline's time axis, sampled every %"
		PRIu64 " ms (y from 0; hover a column for its sample).</p>\n", np == 1 ? "process" : "processes",
		r->memory->interval_ns / 1000000u);
	if (np > drawn) {
		uint32_t listed = 0, seen = 0;

		fprintf(f, "<p class=\"note\">%" PRIu32 " more processes of this trace not drawn here:", np - drawn);
		for (uint32_t i = 0; i < np && listed < AP_HTML_MEM_LISTED; i++) {
			if (pids[i] == root_pid || seen++ < drawn - 1)
				continue;
			fprintf(f, "%s pid %" PRIu32, listed ? "," : "", pids[i]);
			listed++;
		}
		if (np - drawn > listed)
			fprintf(f, " and %" PRIu32 " more", np - drawn - listed);
		fputs(" (the Memory panel below, and report.json, have every process).</p>\n", f);
	}
out:
	free(pids);
	free(b);
}

/* ------------------------------------------------------------------------ */
/* The Memory panel.                                                         */

static int64_t growth(const struct ap_mem_series *s)
{
	return (int64_t)s->last.rss_kib - (int64_t)s->first.rss_kib;
}

/* Largest growth first (the text report's order), then the larger peak. */
static int by_growth_desc(const void *x, const void *y)
{
	const struct ap_mem_series *a = *(const struct ap_mem_series *const *)x;
	const struct ap_mem_series *b = *(const struct ap_mem_series *const *)y;
	int64_t ga = growth(a), gb = growth(b);

	if (ga != gb)
		return ga > gb ? -1 : 1;
	if (a->peak.rss_kib != b->peak.rss_kib)
		return a->peak.rss_kib > b->peak.rss_kib ? -1 : 1;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

struct panel {
	uint64_t t0;			/* ticks of the run's first sample: x = 0 */
	double total;			/* ns to its last sample, >= 1 */
	const struct ap_kept *slow;	/* the slowest kept trace, NULL: none */
	const uint32_t *slow_pids;	/* its processes, sorted */
	uint32_t nslow;
};

static void chart(FILE *f, const struct ap_run *r, const struct panel *pn, const struct ap_mem_series *s,
		  struct bufs *b)
{
	const struct ap_memory *m = r->memory;
	const struct ap_finding *fd = growth_finding(r->analysis, s->pid);
	struct chart c = { .pid = s->pid, .top = AP_HTML_AXIS_H, .h = MEM_H, .total = pn->total };
	double h = AP_HTML_AXIS_H + MEM_H + 4, maxk = s->peak.rss_kib, slope, r2, tp;
	int steady = ap_mem_steady_growth(m, s, &slope, &r2);
	uint32_t n = points(s, 0, UINT64_MAX, b->p), nv;
	char scale[32], rt[48];

	for (uint32_t i = 0; i < n; i++) {
		b->t[i] = rel_ns(&m->clock, pn->t0, b->p[i].ticks);
		if (b->p[i].rss_kib > maxk)
			maxk = b->p[i].rss_kib;
	}
	c.ceil_kib = ceiling(maxk, scale, sizeof(scale));
	tp = rel_ns(&m->clock, pn->t0, s->peak.ticks);
	rate(rt, sizeof(rt), slope);
	svg_open(f, "mem", s->pid, h);
	fprintf(f, "<text class=\"mt\" x=\"4\" y=\"14\">pid %" PRIu32 "</text>\n"
		"<text class=\"pk\" x=\"4\" y=\"30\">peak %.1f MiB at %.1f s</text>\n"
		"<text x=\"4\" y=\"46\">start %.1f, end %.1f MiB</text>\n", s->pid, mib(s->peak.rss_kib), tp / 1e9,
		mib(s->first.rss_kib), mib(s->last.rss_kib));
	if (steady)
		fprintf(f, "<text class=\"warn\" x=\"4\" y=\"62\">steady growth: %s, fit r&#178; %.2f</text>\n", rt, r2);
	else
		fprintf(f, "<text x=\"4\" y=\"62\">%s, fit r&#178; %.2f</text>\n", rt, r2);
	fprintf(f, "<text class=\"d\" x=\"4\" y=\"78\">%" PRIu64 " samples, %" PRIu64 " traces</text>\n", s->taken,
		s->traces);
	ap_html_axis(f, LEFT, pn->total, h);
	frame(f, &c);
	if (pn->slow && bsearch(&s->pid, pn->slow_pids, pn->nslow, sizeof(uint32_t), u32_cmp)) {
		const struct ap_span *root = &pn->slow->v[pn->slow->root];
		double x0 = xpx(&c, rel_ns(&m->clock, pn->t0, root->t_begin));
		double x1 = xpx(&c, rel_ns(&m->clock, pn->t0, root->t_begin) + (double)pn->slow->dur[pn->slow->root]);

		fprintf(f, "<rect class=\"mb\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"3\"/>\n", x0, c.top,
			x1 > x0 ? x1 - x0 : 0);
	}
	nv = clip(&c, b->p, b->t, n, b->v);
	plot(f, &c, b->v, nv);
	fprintf(f, "<text class=\"ax sc\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0 to %s</text>\n", LEFT + W - 3,
		c.top + 10, scale);
	columns(f, &c, b->p, b->t, n);
	if (s->taken)
		fprintf(f, "<circle class=\"mp\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>pid %" PRIu32 ": peak %.3f MiB at "
			"%.3f s</title></circle>\n", xpx(&c, tp), ypx(&c, s->peak.rss_kib), s->pid,
			mib(s->peak.rss_kib), tp / 1e9);
	fputs("</svg>\n", f);
	if (fd) {
		fputs("<p class=\"memf\"><b>memory_growth</b>: ", f);
		ap_xml_esc(f, fd->message);
		fputs(". Suggestion: ", f);
		ap_xml_esc(f, fd->suggestion);
		fputs(".</p>\n", f);
	}
}

void ap_html_memory_panel(FILE *f, const struct ap_run *r)
{
	const struct ap_memory *m = r->memory;
	const struct ap_analysis *a = r->analysis;
	const struct ap_mem_series **v = NULL;
	struct bufs *b = NULL;
	struct panel pn = { 0 };
	uint32_t *pids = NULL, shown, nosample = 0;
	uint64_t t1 = 0;
	char tl[32];

	fputs("<h2 id=\"memory\">Memory: RSS per process</h2>\n", f);
	if (!sampled(r)) {
		fputs("<p class=\"note\" id=\"memory-off\">Memory was not sampled (--memory-interval 0, or a log recorded "
		      "without memory samples).</p>\n", f);
		return;
	}
	pn.t0 = UINT64_MAX;
	for (uint32_t i = 0; i < m->nseries; i++) {
		if (!m->series[i].taken)
			continue;
		if (m->series[i].first.ticks < pn.t0)
			pn.t0 = m->series[i].first.ticks;
		if (m->series[i].last.ticks > t1)
			t1 = m->series[i].last.ticks;
	}
	if (pn.t0 > t1)
		pn.t0 = t1;
	pn.total = (double)ap_ticks_delta_ns(&m->clock, pn.t0, t1);
	if (pn.total < 1)
		pn.total = 1;
	ap_html_time_label(tl, sizeof(tl), pn.total);
	fprintf(f, "<p class=\"note\">Resident set size, sampled by the reader from /proc every %" PRIu64 " ms: %" PRIu64
		" samples of %" PRIu32 " processes over %s. x: time since the run's first sample, one axis for every "
		"chart; y: from 0 to the scale at the top right. Hover a column for its sample's time and RSS, the dot "
		"for the peak; orange along the top: while the slowest trace ran.</p>\n", m->interval_ns / 1000000u, m->samples,
		m->nseries, tl);
	if (a && a->nkept) {
		pn.slow = ap_analysis_kept(a, 0);
		if (pn.slow && pn.slow->n && pn.slow->root < pn.slow->n)
			pids = trace_pids(pn.slow, &pn.nslow);
		pn.slow_pids = pids;
		if (!pids)
			pn.slow = NULL;
	}
	v = malloc((m->nseries ? m->nseries : 1) * sizeof(*v));
	b = malloc(sizeof(*b));
	if (!v || !b) {
		fputs("<p class=\"note\">No memory to draw the charts: report.json has every figure.</p>\n", f);
		goto out;
	}
	for (uint32_t i = 0; i < m->nseries; i++)
		v[i] = &m->series[i];
	qsort(v, m->nseries, sizeof(*v), by_growth_desc);
	shown = m->nseries < AP_HTML_MEM_CHARTS ? m->nseries : AP_HTML_MEM_CHARTS;
	for (uint32_t i = 0; i < shown; i++)
		chart(f, r, &pn, v[i], b);
	if (!m->nseries)
		fputs("<p class=\"note\">No process has a sample: each lived for less than a round.</p>\n", f);
	if (m->nseries > shown) {
		uint32_t listed = m->nseries - shown < AP_HTML_MEM_LISTED ? m->nseries - shown : AP_HTML_MEM_LISTED;

		fprintf(f, "<p class=\"note\" id=\"memory-more\">%" PRIu32 " more processes not drawn (smaller growth; "
			"report.json's memory.processes has every one):", m->nseries - shown);
		for (uint32_t i = 0; i < listed; i++)
			fprintf(f, "%s pid %" PRIu32, i ? "," : "", v[shown + i]->pid);
		if (m->nseries - shown > listed)
			fprintf(f, " and %" PRIu32 " more", m->nseries - shown - listed);
		fputs(".</p>\n", f);
	}
	for (uint32_t i = 0; r->procs && i < r->nprocs; i++)
		nosample += !ap_mem_find(m, r->procs[i].pid);
	if (nosample) {
		uint32_t listed = 0;

		fprintf(f, "<p class=\"note\">%" PRIu32 " of the run's processes have no RSS series (one that lived for "
			"less than a round has no sample; past the cap of %u series, samples are only counted):", nosample,
			AP_MEM_PROCS);
		for (uint32_t i = 0; i < r->nprocs && listed < AP_HTML_MEM_LISTED; i++)
			if (!ap_mem_find(m, r->procs[i].pid))
				fprintf(f, "%s pid %" PRIu32, listed++ ? "," : "", r->procs[i].pid);
		if (nosample > listed)
			fprintf(f, " and %" PRIu32 " more", nosample - listed);
		fputs(".</p>\n", f);
	}
	if (m->procs_over_cap)
		fprintf(f, "<p class=\"note\">%" PRIu64 " samples of processes past the cap of %u series were not kept.</p>\n",
			m->procs_over_cap, AP_MEM_PROCS);
	if (m->samples_bad)
		fprintf(f, "<p class=\"note\">%" PRIu64 " samples refused (pid 0, or a time before the process's previous "
			"sample).</p>\n", m->samples_bad);
out:
	free(pids);
	free(v);
	free(b);
}

void ap_html_memory_summary(FILE *f, const struct ap_run *r)
{
	const struct ap_memory *m = r->memory;
	const struct ap_mem_series *top = NULL;
	uint32_t steady = 0;

	if (!sampled(r) || !m->nseries)
		return;
	for (uint32_t i = 0; i < m->nseries; i++) {
		const struct ap_mem_series *s = &m->series[i];
		double slope, r2;

		if (!top || s->peak.rss_kib > top->peak.rss_kib)
			top = s;
		steady += ap_mem_steady_growth(m, s, &slope, &r2) != 0;
	}
	fprintf(f, "<p>Memory: %" PRIu32 " processes sampled every %" PRIu64 " ms; the largest peak RSS is %.1f MiB "
		"(pid %" PRIu32 ")", m->nseries, m->interval_ns / 1000000u, mib(top->peak.rss_kib), top->pid);
	if (steady)
		fprintf(f, "; <span class=\"warn\">%" PRIu32 " grew steadily (memory_growth)</span>", steady);
	else
		fputs("; none grew steadily", f);
	fputs(". <a href=\"#memory\">RSS per process</a></p>\n", f);
}
