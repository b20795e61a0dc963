/* SPDX-License-Identifier: MIT */
/*
 * report_text.c - the analysis as the text report's sections: time by
 * category, top operations, bottlenecks, tokens, parallelism, flame charts,
 * processes and threads, overhead and loss. Trees are walked iteratively
 * with bounded stacks; what does not fit is counted on the page.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "report.h"

#define BAR		40
#define FLAME_W		50
#define FLAME_LINES	40

static void heading(FILE *f, int color, const char *title)
{
	if (color)
		fprintf(f, "\n\033[1m%s\033[0m\n", title);
	else
		fprintf(f, "\n%s\n", title);
}

static void bar(FILE *f, const char *fill, double frac, int width)
{
	int n;

	if (!(frac > 0))	/* NaN too */
		frac = 0;
	if (frac > 1)
		frac = 1;
	n = (int)(frac * width + 0.5);

	for (int k = 0; k < n && k < width; k++)
		fputs(fill, f);
}

static int by_total_desc(const void *x, const void *y)
{
	const struct ap_op *a = *(const struct ap_op *const *)x, *b = *(const struct ap_op *const *)y;

	return (a->total_ns < b->total_ns) - (a->total_ns > b->total_ns);
}

static void flame_line(FILE *f, const char *label, int depth, uint8_t cat, double off, double width,
		       double dur_ms, const char *note)
{
	char lab[40];
	int o, w;

	if (depth > 12)
		depth = 12;

	/* Offsets and widths are shares of the chart: whatever the spans say
	 * (a child longer than its root), a line is FLAME_W wide. */
	if (!(off > 0))
		off = 0;
	if (off > 1)
		off = 1;
	if (!(width > 0))
		width = 0;
	if (width > 1)
		width = 1;
	o = (int)(off * FLAME_W + 0.5);
	w = (int)(width * FLAME_W + 0.5);

	snprintf(lab, sizeof(lab), "%*s", depth * 2, "");
	fprintf(f, "  %s%s ", lab, ap_tcell(label, 34 - depth * 2));
	if (w < 1)
		w = 1;
	if (o + w > FLAME_W)
		o = FLAME_W - w > 0 ? FLAME_W - w : 0;
	fprintf(f, "%*s", o, "");
	bar(f, ap_cat_fill(cat), 1.0, w);
	fprintf(f, "%*s %9.1f ms%s\n", FLAME_W - o - w, "", dur_ms, note);
}

static void flame_trace(FILE *f, const struct ap_analysis *a, const struct ap_kept *k)
{
	uint32_t stack[64], dstack[64], sp = 0, lines = 0, hidden = 0, root = k->root;
	uint64_t t0 = k->v[root].t_begin, total = k->dur[root] ? k->dur[root] : 1;
	char buf[32];

	stack[sp] = root;
	dstack[sp++] = 0;
	while (sp) {
		uint32_t i = stack[--sp], d = dstack[sp];
		const struct ap_span *s = &k->v[i];

		if (lines == FLAME_LINES) {
			hidden++;
		} else {
			flame_line(f, ap_nm(a, s->name, buf), (int)(d < 12 ? d : 12), s->category,
				   (double)ap_ticks_delta_ns(&a->clock, t0, s->t_begin) / (double)total,
				   (double)k->dur[i] / (double)total, ap_ms(k->dur[i]),
				   k->truncated[i] ? " (truncated)" : (s->have & AP_SPAN_HAVE_ERROR) ? " (failed)" : "");
			lines++;
		}
		for (uint32_t c = k->child_off[i + 1]; c-- > k->child_off[i];) {
			if (sp == 64) {
				hidden++;
				continue;
			}
			stack[sp] = k->child_idx[c];
			dstack[sp++] = d + 1;
		}
	}
	if (hidden)
		fprintf(f, "  (%u more spans not shown)\n", hidden);
}

static void flame_paths(FILE *f, const struct ap_analysis *a)
{
	uint32_t stack[64], sp = 0, lines = 0, hidden = 0;
	double offs[64], depth_of[64];
	uint64_t top = 1;
	char buf[32];

	for (uint32_t p = 0; p < a->npaths; p++)
		if (a->paths[p].parent == AP_NONE && a->paths[p].total_ns > top)
			top = a->paths[p].total_ns;
	/* Roots, then children in path order (paths are created parent first). */
	for (uint32_t r = a->npaths; r-- > 0;) {
		if (a->paths[r].parent != AP_NONE || sp == 64)
			continue;
		stack[sp] = r;
		offs[sp] = 0;
		depth_of[sp++] = 0;
	}
	while (sp) {
		uint32_t p = stack[--sp];
		double off = offs[sp], d = depth_of[sp], child_off = off;
		const struct ap_path *ph = &a->paths[p];
		uint32_t first = sp;

		if (lines == FLAME_LINES) {
			hidden++;
			continue;
		}
		flame_line(f, ap_nm(a, ph->name, buf), (int)(d < 12 ? d : 12), ph->category, off,
			   (double)ph->total_ns / (double)top, ap_ms(ph->total_ns), "");
		lines++;
		for (uint32_t c = p + 1; c < a->npaths; c++) {
			if (a->paths[c].parent != p)
				continue;
			if (sp == 64) {
				hidden++;
				continue;
			}
			stack[sp] = c;
			offs[sp] = child_off;
			depth_of[sp++] = d + 1;
			child_off += (double)a->paths[c].total_ns / (double)top;
		}
		/* Reverse the children just pushed so they come out in order. */
		for (uint32_t lo = first, hi = sp; hi > lo + 1; lo++, hi--) {
			uint32_t ts = stack[lo];
			double to = offs[lo], td = depth_of[lo];

			stack[lo] = stack[hi - 1];
			offs[lo] = offs[hi - 1];
			depth_of[lo] = depth_of[hi - 1];
			stack[hi - 1] = ts;
			offs[hi - 1] = to;
			depth_of[hi - 1] = td;
		}
	}
	if (hidden)
		fprintf(f, "  (%u more paths not shown)\n", hidden);
}

void ap_report_text(FILE *f, const struct ap_analysis *a, const struct ap_overhead *ov,
		    const struct ap_loss *loss, int color)
{
	const struct ap_op **sorted;

	heading(f, color, "Time by category (self time)");
	for (uint8_t c = 0; c < AP_CAT_COUNT; c++) {
		double p = ap_pct(a->cat_self[c], a->total_self_ns);

		fprintf(f, "  %-9s %12.1f ms %6.1f%%  ", ap_cat_name(c), ap_ms(a->cat_self[c]), p);
		bar(f, ap_cat_fill(c), p / 100.0, BAR);
		fputc('\n', f);
	}

	heading(f, color, "Top operations (by total time; self% = share of all self time)");
	fprintf(f, "  percentiles: %s\n", AP_PCTL_DEFINITION);
	fprintf(f, "  %-24s %-8s %6s %11s %10s %9s %9s %9s %9s %9s %6s\n", "name", "category", "count",
		"total ms", "self ms", "mean", "p50", "p95", "p99", "max", "self%");
	sorted = malloc((a->nops ? a->nops : 1) * sizeof(*sorted));
	for (uint32_t i = 0; sorted && i < a->nops; i++)
		sorted[i] = &a->ops[i];
	if (sorted)
		qsort(sorted, a->nops, sizeof(*sorted), by_total_desc);
	for (uint32_t i = 0; sorted && i < a->nops && i < 20; i++) {
		const struct ap_op *op = sorted[i];

		fprintf(f, "  %s %-8s %6" PRIu64 " %11.1f %10.1f %9.1f %9.1f %9.1f %9.1f %9.1f %6.1f\n",
			ap_tname(a, op->name, 24), ap_cat_name(op->category), op->count, ap_ms(op->total_ns),
			ap_ms(op->self_ns), op->count ? ap_ms(op->total_ns) / (double)op->count : 0,
			ap_ms(ap_hist_quantile(&op->hist, 0.5)), ap_ms(ap_hist_quantile(&op->hist, 0.95)),
			ap_ms(ap_hist_quantile(&op->hist, 0.99)), ap_ms(op->hist.max), ap_pct(op->self_ns, a->total_self_ns));
	}
	if (a->nops > 20)
		fprintf(f, "  (%u more operations in report.json)\n", a->nops - 20);
	for (uint32_t i = 0; sorted && a->errors && i < a->nops; i++) {
		const struct ap_op *op = sorted[i];
		uint64_t calls = op->count + op->truncated;

		if (op->errors)
			fprintf(f, "  failed: %s %" PRIu64 " of %" PRIu64 " calls (%.1f%%)\n", ap_tname(a, op->name, -1),
				op->errors, calls, calls ? 100.0 * (double)op->errors / (double)calls : 0);
	}
	if (a->errors)
		fprintf(f, "  %" PRIu64 " failed spans in %" PRIu64 " traces\n", a->errors, a->traces_failed);
	free(sorted);

	heading(f, color, "Bottlenecks and suggestions");
	if (!a->nfindings)
		fprintf(f, "  rules: none over the thresholds\n");
	for (uint32_t i = 0; i < a->nfindings; i++) {
		const struct ap_finding *fd = &a->findings[i];

		fprintf(f, "  [%s] %s\n    -> %s", fd->rule, ap_tcell(fd->message, -1), ap_tcell(fd->suggestion, -1));
		if (fd->saving_ms > 0)
			fprintf(f, " (saving about %.1f ms per trace)", fd->saving_ms);
		fputc('\n', f);
	}
	{
		const struct ap_op *top[AP_TOP_SELF];
		uint32_t n = ap_top_self(a, top, AP_TOP_SELF);

		if (n)
			fprintf(f, "  top %u operations by self time:\n", n);
		for (uint32_t i = 0; i < n; i++)
			fprintf(f, "  %u. %s (%s): %.1f ms self, %.1f%% of all self time, %" PRIu64 " calls, %.1f ms mean\n"
				   "    -> %s\n", i + 1, ap_tname(a, top[i]->name, -1), ap_cat_name(top[i]->category),
				ap_ms(top[i]->self_ns), ap_pct(top[i]->self_ns, a->total_self_ns), top[i]->count,
				top[i]->count ? ap_ms(top[i]->total_ns) / (double)top[i]->count : 0,
				ap_cat_suggestion(top[i]->category));
	}

	heading(f, color, "Tokens");
	fprintf(f, "  %-26s %6s %10s %9s %10s %9s %9s\n", "model", "calls", "input", "output", "total",
		"window", "context");
	for (uint32_t i = 0; i < a->nmodels_used; i++) {
		const struct ap_model_use *m = &a->models_used[i];

		fprintf(f, "  %s %6" PRIu64 " %10" PRIu64 " %9" PRIu64 " %10" PRIu64, ap_tname(a, m->model, 26),
			m->calls, m->input, m->output, m->input + m->output);
		if (m->window)
			fprintf(f, " %9" PRIu64 " %8.1f%%\n", m->window,
				100.0 * (double)m->input / (double)m->calls / (double)m->window);
		else
			fprintf(f, " %9s %9s\n", "unknown", "-");
	}
	fprintf(f, "  %-26s %6" PRIu64 " %10" PRIu64 " %9" PRIu64 " %10" PRIu64 "\n", "total", a->llm_calls,
		a->total_input, a->total_output, a->total_input + a->total_output);

	heading(f, color, "Parallelism");
	for (uint32_t i = 0; i < a->nconcs; i++) {
		const struct ap_conc *c = &a->concs[i];
		double factor = c->union_ns ? (double)c->child_ns / (double)c->union_ns : 0;

		if (factor > 1.01)
			fprintf(f, "  measured: children of %s overlapped, %.2fx concurrency\n",
				ap_tname(a, c->parent_name, -1), factor);
	}
	for (uint32_t i = 0; i < a->ngroups; i++) {
		const struct ap_group *g = &a->groups[i];
		double seq = ap_ms(g->seq_ns) / (double)g->occurrences, par = ap_ms(g->par_ns) / (double)g->occurrences;

		fprintf(f, "  opportunity under %s: ", ap_tname(a, g->parent_name, -1));
		for (uint32_t k = 0; k < g->nmembers; k++)
			fprintf(f, "%s%s", k ? " + " : "", ap_tname(a, g->members[k], -1));
		fprintf(f, "\n    ran one after another: %.1f ms -> %.1f ms together, saving %.1f ms, %.2fx%s\n",
			seq, par, seq - par, par > 0 ? seq / par : 0,
			g->assumed ? "  (assumed independent: no dependency declared)" : "");
	}
	fprintf(f, "  critical-path bound over all traces: %.1f ms -> %.1f ms (%.2fx)\n", ap_ms(a->total_trace_ns),
		ap_ms(a->critical_ns), a->critical_ns ? (double)a->total_trace_ns / (double)a->critical_ns : 0);

	if (a->nkept) {
		heading(f, color, "Flame chart: slowest trace (internal \u2588, llm \u2593, tool \u2592, memory \u2591)");
		flame_trace(f, a, ap_analysis_kept(a, 0));
		heading(f, color, "Flame chart: all traces merged by name path");
		flame_paths(f, a);
	}

	heading(f, color, "Processes and threads");
	fprintf(f, "  %-8s %-8s %7s %12s\n", "pid", "tid", "spans", "busy ms");
	for (uint32_t i = 0; i < a->nthreads && i < 32; i++)
		fprintf(f, "  %-8u %-8u %7" PRIu64 " %12.1f\n", a->threads[i].pid, a->threads[i].tid,
			a->threads[i].spans, ap_ms(a->threads[i].busy_ns));
	if (a->nthreads > 32)
		fprintf(f, "  (%u more threads in report.json)\n", a->nthreads - 32);

	heading(f, color, "Overhead and loss");
	if (ov->ns_per_event > 0) {
		char p1[16], p2[16], p3[16];

		fprintf(f, "  profiler cost: %" PRIu64 " events x %.1f ns (measured by the writer library here) = %.3f ms, "
			   "plus %.3f ms getting ready (attach, lane claims: once per thread) = %.3f ms\n",
			ov->events, ov->ns_per_event, ov->ns_per_event * (double)ov->events / 1e6, ap_ms(ov->setup_ns),
			ap_overhead_ns(ov) / 1e6);
		fprintf(f, "  that is %s%% of the %.1f ms of traces profiled (wall time)",
			ap_pct_text(ov->profiled_ns ? 100.0 * ap_overhead_ns(ov) / (double)ov->profiled_ns : 0, p1),
			ap_ms(ov->profiled_ns));
		if (ov->workload_cpu_ns && ov->capacity_ns)
			fprintf(f, ", %s%% of the workload's %.1f ms of CPU time%s, %s%% of this machine (%" PRIu64
				   " CPUs over the run)",
				ap_pct_text(100.0 * ap_overhead_ns(ov) / (double)ov->workload_cpu_ns, p2),
				ap_ms(ov->workload_cpu_ns),
				(double)ov->setup_ns > ov->ns_per_event * (double)ov->events ? " (mostly the one-time setup)" : "",
				ap_pct_text(100.0 * ap_overhead_ns(ov) / (double)ov->capacity_ns, p3), ov->cpus);
		fputc('\n', f);
	}
	if (ov->ns_per_event <= 0)
		fprintf(f, "  %" PRIu64 " events; no writer measurement received\n", ov->events);
	if (ov->mem_interval_ns) {
		double per = ov->mem_sample_reads ? (double)ov->mem_sample_ns / (double)ov->mem_sample_reads : 0;

		fprintf(f, "  memory sampling (the reader's, not the writers'): %" PRIu64 " processes read from /proc "
			   "in %.3f ms, %.1f us each: %.4f%% of a core per process sampled every %" PRIu64 " ms\n",
			ov->mem_sample_reads, (double)ov->mem_sample_ns / 1e6, per / 1e3,
			100.0 * per / (double)ov->mem_interval_ns, ov->mem_interval_ns / 1000000u);
	}
	fprintf(f, "  dropped %" PRIu64 " (full %" PRIu64 ", no lane %" PRIu64 ", reentrant %" PRIu64
		   "), rejected %" PRIu64 ", quarantined lanes %" PRIu64 "\n",
		loss->dropped_full + loss->dropped_no_lane + loss->dropped_reentrant, loss->dropped_full,
		loss->dropped_no_lane, loss->dropped_reentrant, loss->rejected, loss->quarantined_lanes);
	fprintf(f, "  spans truncated %" PRIu64 ", orphaned %" PRIu64 ", self-parent %" PRIu64 ", in cycles %" PRIu64
		   ", end without begin %" PRIu64 ", duplicate ids %" PRIu64 ", over cap %" PRIu64 "\n",
		a->truncated_spans, a->orphans, a->self_parents, a->cycles, loss->end_without_begin,
		loss->duplicates, loss->over_cap);
	if (loss->traces_timed_out || loss->late_events)
		fprintf(f, "  traces timed out %" PRIu64 " (no event for --trace-timeout: reported incomplete, "
			   "open spans truncated at their last event), late events of them %" PRIu64 "\n",
			loss->traces_timed_out, loss->late_events);
	if (a->ops_over_cap || a->groups_over_cap || a->concs_over_cap || a->chains_over_cap ||
	    a->models_over_cap || a->threads_over_cap || a->paths_over_cap || a->calls_over_cap)
		fprintf(f, "  not kept, tables full: operations %" PRIu64 " spans, parallel groups %" PRIu64
			   ", concurrency %" PRIu64 ", LLM chains %" PRIu64 ", models %" PRIu64 " calls, threads %" PRIu64
			   " spans, flame paths %" PRIu64 " spans, LLM calls listed %" PRIu64 " (all in the totals)\n",
			a->ops_over_cap, a->groups_over_cap, a->concs_over_cap, a->chains_over_cap, a->models_over_cap,
			a->threads_over_cap, a->paths_over_cap, a->calls_over_cap);
	fprintf(f, "  traces: %" PRIu64 " recorded (all in the figures above), %" PRIu64 " sampled out by the "
		   "writers; %u kept whole (failed %" PRIu64 ", truncated %" PRIu64 ", tokens %" PRIu64 ", slowest %" PRIu64
		   ", reservoir %" PRIu64 "), %" PRIu64 " capped out\n",
		a->traces_recorded, a->traces_sampled_out, a->nkept, a->kept_by[AP_KEEP_ERROR], a->kept_by[AP_KEEP_TRUNCATED],
		a->kept_by[AP_KEEP_TOKENS], a->kept_by[AP_KEEP_SLOWEST], a->kept_by[AP_KEEP_RESERVOIR],
		a->traces_recorded - a->nkept);
}
