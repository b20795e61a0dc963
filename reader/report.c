/* SPDX-License-Identifier: MIT */
/*
 * report.c - the analysis as report.json sections and as the text report.
 *
 * Both walk trees iteratively. JSON trees are cut at TREE_DEPTH levels and
 * TREE_NODES nodes per trace (deeper or further nodes are counted in
 * "children_omitted"), so that any tree yields a file every JSON parser can
 * read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define TREE_DEPTH	24
#define TREE_NODES	2000
#define BAR		40
#define FLAME_W		50
#define FLAME_LINES	40

static const char *cat_name(uint8_t c)
{
	static const char *n[] = { "internal", "llm", "tool", "memory" };

	return c < AP_CAT_COUNT ? n[c] : "?";
}

static const char *cat_fill(uint8_t c)
{
	static const char *f[] = { "\u2588", "\u2593", "\u2592", "\u2591" };	/* █ ▓ ▒ ░ */

	return c < AP_CAT_COUNT ? f[c] : "#";
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static const char *nm(const struct ap_analysis *a, uint64_t id, char buf[32])
{
	return ap_names_get(a->names, id, buf);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */

static void json_node_fields(struct ap_json *j, const struct ap_analysis *a, const struct ap_kept *k,
			     uint32_t i, uint64_t t0)
{
	const struct ap_span *sp = &k->v[i];
	char buf[32];

	ap_json_str(j, "name", nm(a, sp->name, buf));
	ap_json_str(j, "category", cat_name(sp->category));
	ap_json_u64(j, "pid", sp->pid);
	ap_json_u64(j, "tid", sp->tid_begin);
	ap_json_u64(j, "start_ns", ap_ticks_delta_ns(&a->clock, t0, sp->t_begin));
	ap_json_u64(j, "dur_ns", k->dur[i]);
	ap_json_u64(j, "self_ns", k->self[i]);
	if (sp->have & AP_SPAN_HAVE_TOKENS)
		ap_json_str(j, "model", nm(a, sp->model, buf));
	else
		ap_json_null(j, "model");
	ap_json_u64(j, "input_tokens", sp->input_tokens);
	ap_json_u64(j, "output_tokens", sp->output_tokens);
	ap_json_bool(j, "truncated", k->truncated[i]);
}

static void json_tree(struct ap_json *j, const struct ap_analysis *a, const struct ap_kept *k,
		      uint32_t *stack, uint32_t *pos)
{
	uint32_t root = k->root;
	uint64_t t0 = k->v[root].t_begin;
	uint32_t depth = 0, written = 1;

	ap_json_obj(j, NULL);
	ap_json_str(j, "kept_by", ap_keep_rule_name(k->rule));
	json_node_fields(j, a, k, root, t0);
	ap_json_arr(j, "children");
	stack[0] = root;
	pos[0] = k->child_off[root];
	for (;;) {
		uint32_t i = stack[depth];

		if (pos[depth] < k->child_off[i + 1] && depth + 1 < TREE_DEPTH && written < TREE_NODES) {
			uint32_t c = k->child_idx[pos[depth]++];

			ap_json_obj(j, NULL);
			json_node_fields(j, a, k, c, t0);
			written++;
			depth++;
			stack[depth] = c;
			pos[depth] = k->child_off[c];
			ap_json_arr(j, "children");
			continue;
		}
		ap_json_end_arr(j);
		ap_json_u64(j, "children_omitted", k->child_off[i + 1] - pos[depth]);
		ap_json_end_obj(j);
		if (depth == 0)
			break;
		depth--;
	}
}

/* The profiler's own time: every event at the measured cost, and the
 * writers' setup. */
static double overhead_ns(const struct ap_overhead *ov)
{
	return ov->ns_per_event * (double)ov->events + (double)ov->setup_ns;
}

void ap_report_json(struct ap_json *j, const struct ap_analysis *a, const struct ap_overhead *ov)
{
	char buf[32];
	uint32_t *stack, *pos;

	ap_json_obj(j, "structure");
	ap_json_u64(j, "traces", a->traces);
	ap_json_u64(j, "traces_complete", a->traces_complete);
	ap_json_u64(j, "spans_in_trees", a->spans_in_trees);
	ap_json_u64(j, "truncated", a->truncated_spans);
	ap_json_u64(j, "orphans", a->orphans);
	ap_json_u64(j, "self_parents", a->self_parents);
	ap_json_u64(j, "cycles", a->cycles);
	ap_json_u64(j, "deps_ignored", a->deps_ignored);
	ap_json_u64(j, "largest_trace_spans", a->largest_trace);
	ap_json_u64(j, "traces_skipped", a->traces_skipped);
	ap_json_u64(j, "spans_skipped", a->spans_skipped);
	ap_json_num(j, "total_trace_ms", ms(a->total_trace_ns), 3);
	ap_json_num(j, "total_self_ms", ms(a->total_self_ns), 3);
	ap_json_end_obj(j);

	ap_json_obj(j, "retention");
	ap_json_u64(j, "recorded", a->traces_recorded);
	ap_json_u64(j, "retained", a->nkept);
	ap_json_u64(j, "sampled_out", a->traces_sampled_out);
	ap_json_u64(j, "capped_out", a->traces_recorded - a->nkept);
	ap_json_obj(j, "retained_by");
	for (int r = AP_KEEP_TRUNCATED; r < AP_KEEP_RULES; r++)
		ap_json_u64(j, ap_keep_rule_name(r), a->kept_by[r]);
	ap_json_end_obj(j);
	ap_json_u64(j, "retained_spans", a->kept_spans);
	ap_json_u64(j, "root_names_over_cap", a->root_names_over_cap);
	ap_json_u64(j, "not_kept_no_memory", a->traces_not_kept_nomem);
	ap_json_u64(j, "max_traces", a->keep.max_traces);
	ap_json_u64(j, "max_per_root", a->keep.max_per_root);
	ap_json_u64(j, "keep_slowest", a->keep.slowest);
	ap_json_u64(j, "keep_tokens", a->keep.token_threshold);
	ap_json_u64(j, "max_kept_spans", a->keep.max_spans);
	ap_json_end_obj(j);

	ap_json_obj(j, "by_category");
	for (uint8_t c = 0; c < AP_CAT_COUNT; c++) {
		ap_json_obj(j, cat_name(c));
		ap_json_num(j, "self_ms", ms(a->cat_self[c]), 3);
		ap_json_num(j, "pct", pct(a->cat_self[c], a->total_self_ns), 2);
		ap_json_end_obj(j);
	}
	ap_json_end_obj(j);

	ap_json_arr(j, "operations");
	for (uint32_t i = 0; i < a->nops; i++) {
		const struct ap_op *op = &a->ops[i];

		ap_json_obj(j, NULL);
		ap_json_str(j, "name", nm(a, op->name, buf));
		ap_json_str(j, "category", cat_name(op->category));
		ap_json_u64(j, "count", op->count);
		ap_json_num(j, "total_ms", ms(op->total_ns), 3);
		ap_json_num(j, "self_ms", ms(op->self_ns), 3);
		ap_json_num(j, "mean_ms", op->count ? ms(op->total_ns) / (double)op->count : 0, 3);
		ap_json_num(j, "p50_ms", ms(ap_hist_quantile(&op->hist, 0.50)), 3);
		ap_json_num(j, "p95_ms", ms(ap_hist_quantile(&op->hist, 0.95)), 3);
		ap_json_num(j, "p99_ms", ms(ap_hist_quantile(&op->hist, 0.99)), 3);
		ap_json_num(j, "max_ms", ms(op->hist.max), 3);
		ap_json_num(j, "pct", pct(op->total_ns, a->total_self_ns), 2);
		ap_json_u64(j, "input_tokens", op->input_tokens);
		ap_json_u64(j, "output_tokens", op->output_tokens);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "operations_over_cap", a->ops_over_cap);

	ap_json_arr(j, "bottlenecks");
	for (uint32_t i = 0; i < a->nfindings; i++) {
		const struct ap_finding *f = &a->findings[i];

		ap_json_obj(j, NULL);
		ap_json_str(j, "rule", f->rule);
		ap_json_str(j, "span", f->span);
		ap_json_str(j, "message", f->message);
		ap_json_str(j, "suggestion", f->suggestion);
		ap_json_num(j, "saving_ms", f->saving_ms, 3);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);

	ap_json_obj(j, "tokens");
	ap_json_arr(j, "calls");
	for (uint32_t i = 0; i < a->ncalls; i++) {
		const struct ap_call *c = &a->calls[i];
		uint64_t w = ap_model_window(a, c->model);

		ap_json_obj(j, NULL);
		ap_json_str(j, "span", nm(a, c->name, buf));
		ap_json_str(j, "model", nm(a, c->model, buf));
		ap_json_u64(j, "input", c->input);
		ap_json_u64(j, "output", c->output);
		if (w)
			ap_json_num(j, "context_pct", 100.0 * c->input / (double)w, 2);
		else
			ap_json_null(j, "context_pct");
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "calls_not_listed", a->calls_over_cap);
	ap_json_arr(j, "by_model");
	for (uint32_t i = 0; i < a->nmodels_used; i++) {
		const struct ap_model_use *m = &a->models_used[i];

		ap_json_obj(j, NULL);
		ap_json_str(j, "model", nm(a, m->model, buf));
		ap_json_u64(j, "calls", m->calls);
		ap_json_u64(j, "input", m->input);
		ap_json_u64(j, "output", m->output);
		ap_json_u64(j, "total", m->input + m->output);
		if (m->window) {
			ap_json_u64(j, "window", m->window);
			ap_json_num(j, "mean_context_pct", 100.0 * (double)m->input / (double)m->calls / (double)m->window, 2);
			ap_json_num(j, "max_context_pct", m->max_context_pct, 2);
		} else {
			ap_json_null(j, "window");
			ap_json_null(j, "mean_context_pct");
			ap_json_null(j, "max_context_pct");
		}
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "calls_total", a->llm_calls);
	ap_json_u64(j, "total_input", a->total_input);
	ap_json_u64(j, "total_output", a->total_output);
	ap_json_end_obj(j);

	ap_json_arr(j, "parallelism");
	for (uint32_t i = 0; i < a->ngroups; i++) {
		const struct ap_group *g = &a->groups[i];
		double seq = ms(g->seq_ns) / (double)g->occurrences, par = ms(g->par_ns) / (double)g->occurrences;

		ap_json_obj(j, NULL);
		ap_json_str(j, "parent", nm(a, g->parent_name, buf));
		ap_json_arr(j, "spans");
		for (uint32_t k = 0; k < g->nmembers; k++)
			ap_json_str(j, NULL, nm(a, g->members[k], buf));
		ap_json_end_arr(j);
		ap_json_u64(j, "occurrences", g->occurrences);
		ap_json_num(j, "sequential_ms", seq, 3);
		ap_json_num(j, "parallel_ms", par, 3);
		ap_json_num(j, "saving_ms", seq - par, 3);
		ap_json_num(j, "speedup", par > 0 ? seq / par : 0, 3);
		ap_json_bool(j, "assumed_independent", g->assumed);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_arr(j, "concurrency");
	for (uint32_t i = 0; i < a->nconcs; i++) {
		const struct ap_conc *c = &a->concs[i];

		ap_json_obj(j, NULL);
		ap_json_str(j, "parent", nm(a, c->parent_name, buf));
		ap_json_u64(j, "occurrences", c->occurrences);
		ap_json_num(j, "children_ms", ms(c->child_ns), 3);
		ap_json_num(j, "covered_ms", ms(c->union_ns), 3);
		ap_json_num(j, "factor", c->union_ns ? (double)c->child_ns / (double)c->union_ns : 0, 3);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_obj(j, "critical_path");
	ap_json_num(j, "traces_ms", ms(a->total_trace_ns), 3);
	ap_json_num(j, "bound_ms", ms(a->critical_ns), 3);
	ap_json_num(j, "speedup", a->critical_ns ? (double)a->total_trace_ns / (double)a->critical_ns : 0, 3);
	ap_json_end_obj(j);

	ap_json_arr(j, "threads");
	for (uint32_t i = 0; i < a->nthreads; i++) {
		ap_json_obj(j, NULL);
		ap_json_u64(j, "pid", a->threads[i].pid);
		ap_json_u64(j, "tid", a->threads[i].tid);
		ap_json_u64(j, "spans", a->threads[i].spans);
		ap_json_num(j, "busy_ms", ms(a->threads[i].busy_ns), 3);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);

	ap_json_obj(j, "overhead");
	ap_json_u64(j, "events", ov->events);
	if (ov->ns_per_event > 0) {
		ap_json_num(j, "ns_per_event", ov->ns_per_event, 2);
		ap_json_num(j, "pct", ov->profiled_ns ? 100.0 * overhead_ns(ov) / (double)ov->profiled_ns : 0, 6);
		if (ov->workload_cpu_ns)
			ap_json_num(j, "pct_of_cpu", 100.0 * overhead_ns(ov) / (double)ov->workload_cpu_ns, 6);
		else
			ap_json_null(j, "pct_of_cpu");
		if (ov->capacity_ns)
			ap_json_num(j, "pct_of_machine", 100.0 * overhead_ns(ov) / (double)ov->capacity_ns, 6);
		else
			ap_json_null(j, "pct_of_machine");
	} else {
		ap_json_null(j, "ns_per_event");
		ap_json_null(j, "pct");
		ap_json_null(j, "pct_of_cpu");
		ap_json_null(j, "pct_of_machine");
	}
	ap_json_num(j, "setup_ms", ms(ov->setup_ns), 3);
	ap_json_u64(j, "machine_cpus", ov->cpus);
	ap_json_num(j, "workload_cpu_ms", ms(ov->workload_cpu_ns), 3);
	ap_json_u64(j, "measurements", ov->measurements);
	ap_json_end_obj(j);

	stack = malloc(TREE_DEPTH * sizeof(*stack));
	pos = malloc(TREE_DEPTH * sizeof(*pos));
	ap_json_arr(j, "traces");
	for (uint32_t t = 0; t < a->nkept && stack && pos; t++)
		json_tree(j, a, ap_analysis_kept(a, t), stack, pos);
	ap_json_end_arr(j);
	free(stack);
	free(pos);
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */

static void heading(FILE *f, int color, const char *title)
{
	if (color)
		fprintf(f, "\n\033[1m%s\033[0m\n", title);
	else
		fprintf(f, "\n%s\n", title);
}

static void bar(FILE *f, const char *fill, double frac, int width)
{
	int n = (int)(frac * width + 0.5);

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
	int o = (int)(off * FLAME_W + 0.5), w = (int)(width * FLAME_W + 0.5);

	snprintf(lab, sizeof(lab), "%*s%s", depth * 2, "", label);
	fprintf(f, "  %-34.34s ", lab);
	if (w < 1)
		w = 1;
	if (o + w > FLAME_W)
		o = FLAME_W - w > 0 ? FLAME_W - w : 0;
	fprintf(f, "%*s", o, "");
	bar(f, cat_fill(cat), 1.0, w);
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
			flame_line(f, nm(a, s->name, buf), (int)(d < 12 ? d : 12), s->category,
				   (double)ap_ticks_delta_ns(&a->clock, t0, s->t_begin) / (double)total,
				   (double)k->dur[i] / (double)total, ms(k->dur[i]),
				   k->truncated[i] ? " (truncated)" : "");
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
		flame_line(f, nm(a, ph->name, buf), (int)(d < 12 ? d : 12), ph->category, off,
			   (double)ph->total_ns / (double)top, ms(ph->total_ns), "");
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
	char buf[32], buf2[32];

	heading(f, color, "Time by category (self time)");
	for (uint8_t c = 0; c < AP_CAT_COUNT; c++) {
		double p = pct(a->cat_self[c], a->total_self_ns);

		fprintf(f, "  %-9s %12.1f ms %6.1f%%  ", cat_name(c), ms(a->cat_self[c]), p);
		bar(f, cat_fill(c), p / 100.0, BAR);
		fputc('\n', f);
	}

	heading(f, color, "Top operations (by total time; % of all self time)");
	fprintf(f, "  %-24s %-8s %6s %11s %9s %9s %9s %9s %9s %6s\n", "name", "category", "count",
		"total ms", "mean", "p50", "p95", "p99", "max", "%");
	sorted = malloc((a->nops ? a->nops : 1) * sizeof(*sorted));
	for (uint32_t i = 0; sorted && i < a->nops; i++)
		sorted[i] = &a->ops[i];
	if (sorted)
		qsort(sorted, a->nops, sizeof(*sorted), by_total_desc);
	for (uint32_t i = 0; sorted && i < a->nops && i < 20; i++) {
		const struct ap_op *op = sorted[i];

		fprintf(f, "  %-24.24s %-8s %6" PRIu64 " %11.1f %9.1f %9.1f %9.1f %9.1f %9.1f %6.1f\n",
			nm(a, op->name, buf), cat_name(op->category), op->count, ms(op->total_ns),
			ms(op->total_ns) / (double)op->count, ms(ap_hist_quantile(&op->hist, 0.5)),
			ms(ap_hist_quantile(&op->hist, 0.95)), ms(ap_hist_quantile(&op->hist, 0.99)),
			ms(op->hist.max), pct(op->total_ns, a->total_self_ns));
	}
	if (a->nops > 20)
		fprintf(f, "  (%u more operations in report.json)\n", a->nops - 20);
	free(sorted);

	heading(f, color, "Bottlenecks and suggestions");
	if (!a->nfindings)
		fprintf(f, "  none over the thresholds\n");
	for (uint32_t i = 0; i < a->nfindings; i++) {
		const struct ap_finding *fd = &a->findings[i];

		fprintf(f, "  [%s] %s\n    -> %s", fd->rule, fd->message, fd->suggestion);
		if (fd->saving_ms > 0)
			fprintf(f, " (saving about %.1f ms per trace)", fd->saving_ms);
		fputc('\n', f);
	}

	heading(f, color, "Tokens");
	fprintf(f, "  %-26s %6s %10s %9s %10s %9s %9s\n", "model", "calls", "input", "output", "total",
		"window", "context");
	for (uint32_t i = 0; i < a->nmodels_used; i++) {
		const struct ap_model_use *m = &a->models_used[i];

		fprintf(f, "  %-26.26s %6" PRIu64 " %10" PRIu64 " %9" PRIu64 " %10" PRIu64, nm(a, m->model, buf),
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
				nm(a, c->parent_name, buf), factor);
	}
	for (uint32_t i = 0; i < a->ngroups; i++) {
		const struct ap_group *g = &a->groups[i];
		double seq = ms(g->seq_ns) / (double)g->occurrences, par = ms(g->par_ns) / (double)g->occurrences;

		fprintf(f, "  opportunity under %s: ", nm(a, g->parent_name, buf));
		for (uint32_t k = 0; k < g->nmembers; k++)
			fprintf(f, "%s%s", k ? " + " : "", nm(a, g->members[k], buf2));
		fprintf(f, "\n    ran one after another: %.1f ms -> %.1f ms together, saving %.1f ms, %.2fx%s\n",
			seq, par, seq - par, par > 0 ? seq / par : 0,
			g->assumed ? "  (assumed independent: no dependency declared)" : "");
	}
	fprintf(f, "  critical-path bound over all traces: %.1f ms -> %.1f ms (%.2fx)\n", ms(a->total_trace_ns),
		ms(a->critical_ns), a->critical_ns ? (double)a->total_trace_ns / (double)a->critical_ns : 0);

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
			a->threads[i].spans, ms(a->threads[i].busy_ns));
	if (a->nthreads > 32)
		fprintf(f, "  (%u more threads in report.json)\n", a->nthreads - 32);

	heading(f, color, "Overhead and loss");
	if (ov->ns_per_event > 0)
		fprintf(f, "  %" PRIu64 " events x %.1f ns (measured by the writer library here) + %.3f ms getting "
			   "ready (attach, lanes) = %.3f ms, %.4f%% of %.1f ms profiled\n", ov->events, ov->ns_per_event,
			ms(ov->setup_ns), overhead_ns(ov) / 1e6,
			ov->profiled_ns ? 100.0 * overhead_ns(ov) / (double)ov->profiled_ns : 0, ms(ov->profiled_ns));
	if (ov->ns_per_event > 0 && ov->workload_cpu_ns && ov->capacity_ns)
		fprintf(f, "  the same is %.4f%% of the workload's %.1f ms of CPU time, %.4f%% of this machine "
			   "(%" PRIu64 " CPUs over the run)\n",
			100.0 * overhead_ns(ov) / (double)ov->workload_cpu_ns, ms(ov->workload_cpu_ns),
			100.0 * overhead_ns(ov) / (double)ov->capacity_ns, ov->cpus);
	if (ov->ns_per_event <= 0)
		fprintf(f, "  %" PRIu64 " events; no writer measurement received\n", ov->events);
	fprintf(f, "  dropped %" PRIu64 " (full %" PRIu64 ", no lane %" PRIu64 ", reentrant %" PRIu64
		   "), rejected %" PRIu64 ", quarantined lanes %" PRIu64 "\n",
		loss->dropped_full + loss->dropped_no_lane + loss->dropped_reentrant, loss->dropped_full,
		loss->dropped_no_lane, loss->dropped_reentrant, loss->rejected, loss->quarantined_lanes);
	fprintf(f, "  spans truncated %" PRIu64 ", orphaned %" PRIu64 ", self-parent %" PRIu64 ", in cycles %" PRIu64
		   ", end without begin %" PRIu64 ", duplicate ids %" PRIu64 ", over cap %" PRIu64 "\n",
		a->truncated_spans, a->orphans, a->self_parents, a->cycles, loss->end_without_begin,
		loss->duplicates, loss->over_cap);
	fprintf(f, "  traces: %" PRIu64 " recorded (all in the figures above), %" PRIu64 " sampled out by the "
		   "writers; %u kept whole (truncated %" PRIu64 ", tokens %" PRIu64 ", slowest %" PRIu64
		   ", reservoir %" PRIu64 "), %" PRIu64 " capped out\n",
		a->traces_recorded, a->traces_sampled_out, a->nkept, a->kept_by[AP_KEEP_TRUNCATED],
		a->kept_by[AP_KEEP_TOKENS], a->kept_by[AP_KEEP_SLOWEST], a->kept_by[AP_KEEP_RESERVOIR],
		a->traces_recorded - a->nkept);
}
