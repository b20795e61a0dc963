/* SPDX-License-Identifier: MIT */
/*
 * memattr.c - a trace's share of its processes' RSS changes (memory.h says
 * the rule): per process of the trace, one sweep over its spans' begins and
 * ends (each sorted once, O(n log n)) and the samples around the trace,
 * keeping the set of innermost open spans (open, with no open child in the
 * same process) as a list with positions, so each sample pair costs the
 * spans it is split between. Then the figures roll up to the parents in the
 * same process (reverse pre-order), and each span is given its figure only
 * where the samples could measure it.
 *
 * Floating point: a change split three ways is accumulated in double and
 * rounded to KiB once per span, in an order fixed by the input, so a replay
 * gets the same figures.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"

struct mkey {
	uint32_t pid, idx;
	uint64_t t;
};

static int by_pid_time(const void *x, const void *y)
{
	const struct mkey *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Most traces are a few spans, nearly in begin order already: insertion
 * sort there (qsort's setup cost more than the sort, measured with
 * callgrind on the bench's 7-span traces), qsort above. */
static void sort_keys(struct mkey *k, uint32_t n)
{
	if (n > 32) {
		qsort(k, n, sizeof(*k), by_pid_time);
		return;
	}
	for (uint32_t i = 1; i < n; i++) {
		struct mkey x = k[i];
		uint32_t j = i;

		for (; j > 0 && by_pid_time(&k[j - 1], &x) > 0; j--)
			k[j] = k[j - 1];
		k[j] = x;
	}
}

#define MEM_WINDOW	(AP_MEM_SAMPLES + AP_MEM_RECENT + 2u)
#define GAP_SCAN	64u	/* a span over this many samples is long enough */

/* The per-span scratch (not the samples' window, which has a fixed size). */
static void free_spans(struct ap_analysis *a)
{
	free(a->rss);
	free(a->macc);
	free(a->mkeys);
	free(a->mends);
	free(a->mkids);
	free(a->mpos);
	free(a->minner);
	free(a->mflags);
}

static int mem_grow(struct ap_analysis *a, uint32_t n)
{
	if (n <= a->mcap && a->msamp)
		return 0;
	free_spans(a);
	a->rss = malloc(n * sizeof(*a->rss));
	a->macc = malloc(n * sizeof(*a->macc));
	a->mkeys = malloc(n * sizeof(struct mkey));
	a->mends = malloc(n * sizeof(struct mkey));
	a->mkids = malloc(n * sizeof(*a->mkids));
	a->mpos = malloc(n * sizeof(*a->mpos));
	a->minner = malloc(n * sizeof(*a->minner));
	a->mflags = malloc(n * sizeof(*a->mflags));
	if (!a->msamp)
		a->msamp = malloc(MEM_WINDOW * sizeof(*a->msamp));
	a->mcap = n;
	if (!a->rss || !a->macc || !a->mkeys || !a->mends || !a->mkids || !a->mpos || !a->minner || !a->mflags ||
	    !a->msamp) {
		a->mcap = 0;
		return -ENOMEM;
	}
	return 0;
}

#define F_OPEN		1u
#define F_COUNTED	2u	/* counted in its parent's open children */

static void update(struct ap_analysis *a, uint32_t i)
{
	int want = (a->mflags[i] & F_OPEN) && a->mkids[i] == 0;

	if (want && a->mpos[i] == AP_NONE) {
		a->mpos[i] = a->ninner;
		a->minner[a->ninner++] = i;
	} else if (!want && a->mpos[i] != AP_NONE) {
		uint32_t last = a->minner[--a->ninner];

		a->minner[a->mpos[i]] = last;
		a->mpos[last] = a->mpos[i];
		a->mpos[i] = AP_NONE;
	}
}

static void span_open(struct ap_analysis *a, uint32_t i)
{
	uint32_t p = a->parent[i];

	a->mflags[i] |= F_OPEN;
	if (p != AP_NONE && a->v[p].pid == a->v[i].pid && (a->mflags[p] & F_OPEN)) {
		a->mkids[p]++;
		a->mflags[i] |= F_COUNTED;
		update(a, p);
	}
	update(a, i);
}

static void span_close(struct ap_analysis *a, uint32_t i)
{
	a->mflags[i] &= (uint8_t)~F_OPEN;
	if (a->mflags[i] & F_COUNTED) {
		uint32_t p = a->parent[i];

		a->mkids[p]--;
		a->mflags[i] &= (uint8_t)~F_COUNTED;
		update(a, p);
	}
	update(a, i);
}

/* Whether span i can be measured by samples s[0..ns): samples on both
 * sides, and no gap between the samples around it wider than the span. */
static int measurable(const struct ap_analysis *a, uint32_t i, const struct ap_mem_sample *s, uint32_t ns,
		      uint64_t iv)
{
	uint64_t b = a->v[i].t_begin, e = ap_an_end_ticks(a, i), dur = e - b, gap = 0;
	uint32_t kb = 0, ke;

	if (a->truncated[i] || dur < iv || ns < 2 || s[0].ticks > b || s[ns - 1].ticks < e)
		return 0;
	while (kb + 1 < ns && s[kb + 1].ticks <= b)
		kb++;
	for (ke = kb; ke < ns && s[ke].ticks < e; ke++) {
		if (ke - kb > GAP_SCAN)
			return 1;
		if (ke + 1 < ns && s[ke + 1].ticks - s[ke].ticks > gap)
			gap = s[ke + 1].ticks - s[ke].ticks;
	}
	return gap <= dur;
}

static void one_process(struct ap_analysis *a, const struct mkey *g, uint32_t ng, uint8_t *ok, uint64_t iv)
{
	const struct ap_mem_series *ser = ap_mem_find(a->mem, g[0].pid);
	struct ap_mem_sample *s = a->msamp;
	struct mkey *ge = a->mends;
	uint64_t lo = UINT64_MAX, hi = 0;
	uint32_t ns, bp = 0, ep = 0;

	if (!ser)
		return;
	for (uint32_t k = 0; k < ng; k++) {
		uint32_t i = g[k].idx;
		uint64_t e = ap_an_end_ticks(a, i);

		ge[k] = (struct mkey){ g[k].pid, i, e };
		lo = a->v[i].t_begin < lo ? a->v[i].t_begin : lo;
		hi = e > hi ? e : hi;
		a->mkids[i] = 0;
		a->mpos[i] = AP_NONE;
		a->mflags[i] = 0;
	}
	sort_keys(ge, ng);
	ns = ap_mem_window(ser, lo, hi, s, MEM_WINDOW);
	a->ninner = 0;
	for (uint32_t k = 0; k + 1 < ns; k++) {
		uint64_t mid = s[k].ticks + (s[k + 1].ticks - s[k].ticks) / 2;
		int64_t delta = (int64_t)s[k + 1].rss_kib - (int64_t)s[k].rss_kib;

		while (bp < ng && a->v[g[bp].idx].t_begin <= mid)
			span_open(a, g[bp++].idx);
		while (ep < ng && ge[ep].t <= mid)
			span_close(a, ge[ep++].idx);
		if (a->ninner && delta) {
			double share = (double)delta / (double)a->ninner;

			for (uint32_t j = 0; j < a->ninner; j++)
				a->macc[a->minner[j]] += share;
		}
	}
	for (uint32_t k = 0; k < ng; k++)
		ok[g[k].idx] = (uint8_t)measurable(a, g[k].idx, s, ns, iv);
}

/* The sampling interval in ticks, the shortest span measurable(): a 128-bit
 * division, worked out once per interval rather than once per trace. */
static uint64_t interval_ticks(struct ap_analysis *a)
{
	if (a->mem_iv_ns != a->mem->interval_ns) {
		a->mem_iv_ns = a->mem->interval_ns;
		a->mem_iv_ticks = ap_ns_to_ticks(&a->clock, a->mem_iv_ns);
	}
	return a->mem_iv_ticks;
}

void ap_an_memory(struct ap_analysis *a, uint32_t len)
{
	struct mkey *keys;
	uint8_t *ok;
	uint32_t n = a->n;
	uint64_t iv, lo = UINT64_MAX, hi = 0;

	a->trace_rss = 0;
	if (!a->mem || !a->mem->interval_ns || !n)
		return;
	/* A trace that lasts less than one interval has no figure: each of its
	 * spans is shorter than the interval, and measurable() gives such a span
	 * none (AP_RSS_NONE, whatever share it got). trace_rss 0 says the same
	 * to its two readers (ap_an_memory_op counts every span not measurable,
	 * a kept copy has no rss[]), so the usual trace of a busy fleet, a few
	 * spans over microseconds, skips the sort, the lookup and the window. */
	iv = interval_ticks(a);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = ap_an_end_ticks(a, i);

		lo = a->v[i].t_begin < lo ? a->v[i].t_begin : lo;
		hi = e > hi ? e : hi;
	}
	if (hi - lo < iv)
		return;
	/* No series for any of its processes (the usual case of one): no
	 * figures, nothing to sort. */
	{
		uint32_t i, pid = a->v[0].pid;

		for (i = 1; i < n && a->v[i].pid == pid; i++)
			;
		if (i == n && !ap_mem_find(a->mem, pid))
			return;
	}
	if (mem_grow(a, n))
		return;
	keys = a->mkeys;
	ok = (uint8_t *)a->rss;		/* borrowed until the figures are written */
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = (struct mkey){ a->v[i].pid, i, a->v[i].t_begin };
		a->macc[i] = 0;
	}
	sort_keys(keys, n);
	memset(ok, 0, n);
	for (uint32_t g0 = 0, g1; g0 < n; g0 = g1) {
		for (g1 = g0 + 1; g1 < n && keys[g1].pid == keys[g0].pid; g1++)
			;
		if (keys[g0].pid)
			one_process(a, keys + g0, g1 - g0, ok, iv);
	}
	/* Inclusive: children into parents of the same process. */
	for (uint32_t o = len; o-- > 0;) {
		uint32_t i = a->order[o], p = a->parent[i];

		if (p != AP_NONE && a->v[p].pid == a->v[i].pid)
			a->macc[p] += a->macc[i];
	}
	/* ok[] lives in the first n bytes of rss[]: write from the end. */
	for (uint32_t i = n; i-- > 0;)
		a->rss[i] = ok[i] ? (int64_t)llround(a->macc[i]) : AP_RSS_NONE;
	a->trace_rss = 1;
}

void ap_an_memory_free(struct ap_analysis *a)
{
	free_spans(a);
	free(a->msamp);
}

/* A span's figure into its operation's row (aggregate.c calls it with the
 * row its one upsert found). */
void ap_an_memory_op(struct ap_analysis *a, struct ap_op *op, uint32_t i)
{
	if (!a->mem || !a->mem->interval_ns)
		return;
	if (!op->mem && !(op->mem = calloc(1, sizeof(*op->mem)))) {
		a->mem_rows_nomem++;
		return;
	}
	if (a->trace_rss && a->rss[i] != AP_RSS_NONE)
		ap_op_mem_add(op->mem, a->rss[i]);
	else
		op->mem->not_measurable++;
}

/* ------------------------------------------------------------------------ */
/* Findings: a process whose RSS grew steadily (memory.h's rule), the
 * largest growths first, at most MEM_FINDINGS of them.                      */

#define MEM_FINDINGS	8u

static void human_time(double s, char *out, size_t n)
{
	if (s >= 5400)
		snprintf(out, n, "%.1f h", s / 3600);
	else if (s >= 90)
		snprintf(out, n, "%.1f min", s / 60);
	else
		snprintf(out, n, "%.1f s", s);
}

void ap_an_memory_findings(struct ap_analysis *a)
{
	const struct ap_memory *m = a->mem;
	const struct ap_op *top = NULL;
	uint32_t said[MEM_FINDINGS], nsaid = 0;

	if (!m || !m->interval_ns)
		return;
	for (uint32_t i = 0; i < a->nops; i++) {
		const struct ap_op *op = &a->ops[i];

		if (op->mem && op->mem->total_kib > 0 && (!top || op->mem->total_kib > top->mem->total_kib))
			top = op;
	}
	while (nsaid < MEM_FINDINGS && a->nfindings < FINDINGS_MAX) {
		uint32_t best = AP_NONE;
		int64_t best_growth = 0;
		const struct ap_mem_series *s;
		struct ap_finding *f;
		double slope, r2, secs;
		char when[32], per[96] = "", buf[32];
		int64_t growth;

		for (uint32_t i = 0; i < m->nseries; i++) {
			uint32_t k;

			s = &m->series[i];
			growth = (int64_t)s->last.rss_kib - (int64_t)s->first.rss_kib;
			for (k = 0; k < nsaid && said[k] != i; k++)
				;
			if (k < nsaid || growth <= best_growth || !ap_mem_steady_growth(m, s, &slope, &r2))
				continue;
			best = i;
			best_growth = growth;
		}
		if (best == AP_NONE)
			break;
		said[nsaid++] = best;
		s = &m->series[best];
		ap_mem_steady_growth(m, s, &slope, &r2);
		secs = (double)ap_ticks_delta_ns(&m->clock, s->first.ticks, s->last.ticks) / 1e9;
		human_time(secs, when, sizeof(when));
		if (s->traces)
			snprintf(per, sizeof(per), ", %.1f MiB per 1,000 traces",
				 (double)best_growth / 1024.0 / (double)s->traces * 1000.0);
		f = &a->findings[a->nfindings++];
		memset(f, 0, sizeof(*f));
		snprintf(f->rule, sizeof(f->rule), "memory_growth");
		snprintf(f->span, sizeof(f->span), "%s", top ? ap_names_get(a->names, top->name, buf) : "");
		snprintf(f->message, sizeof(f->message),
			 "process %u grew %.1f MiB over %s (%.1f to %.1f MiB)%s, steadily: %.1f MiB per hour, fit r^2 %.2f",
			 s->pid, (double)best_growth / 1024.0, when, (double)s->first.rss_kib / 1024.0,
			 (double)s->last.rss_kib / 1024.0, per, slope * 3600.0 / 1024.0, r2);
		if (top)
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "look for caches, buffers or histories that grow per call and are never freed; %s grew "
				 "most (%.1f KiB per call on average)",
				 f->span, (double)top->mem->total_kib / (double)top->mem->measured);
		else
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "look for caches, buffers or histories that grow per call and are never freed");
	}
}
