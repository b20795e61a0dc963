/* SPDX-License-Identifier: MIT */
/*
 * report_json.c - the analysis as report.json sections (everything from
 * "structure" on), trees included.
 *
 * Trees are walked iteratively and cut at TREE_DEPTH levels and TREE_NODES
 * nodes per trace (deeper or further nodes are counted in
 * "children_omitted"), so that any tree yields a file every JSON parser can
 * read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "report.h"


static void json_node_fields(struct ap_json *j, const struct ap_analysis *a, const struct ap_kept *k,
			     uint32_t i, uint64_t t0)
{
	const struct ap_span *sp = &k->v[i];
	char buf[32];

	ap_json_str(j, "name", ap_nm(a, sp->name, buf));
	snprintf(buf, sizeof(buf), "%016" PRIx64, sp->id);
	ap_json_str(j, "span_id", buf);
	ap_json_str(j, "category", ap_cat_name(sp->category));
	ap_json_u64(j, "pid", sp->pid);
	ap_json_u64(j, "tid", sp->tid_begin);
	ap_json_u64(j, "start_ns", ap_ticks_delta_ns(&a->clock, t0, sp->t_begin));
	ap_json_u64(j, "dur_ns", k->dur[i]);
	ap_json_u64(j, "self_ns", k->self[i]);
	if (sp->have & AP_SPAN_HAVE_TOKENS)
		ap_json_str(j, "model", ap_nm(a, sp->model, buf));
	else
		ap_json_null(j, "model");
	ap_json_u64(j, "input_tokens", sp->input_tokens);
	ap_json_u64(j, "output_tokens", sp->output_tokens);
	ap_json_bool(j, "truncated", k->truncated[i]);
	if (sp->have & AP_SPAN_HAVE_ERROR)
		ap_json_str(j, "error", sp->error ? ap_nm(a, sp->error, buf) : "error");
	else
		ap_json_null(j, "error");
	if (k->rss && k->rss[i] != AP_RSS_NONE)
		ap_json_i64(j, "rss_delta_kib", k->rss[i]);
}

static void json_tree(struct ap_json *j, const struct ap_analysis *a, const struct ap_kept *k,
		      uint32_t *stack, uint32_t *pos)
{
	uint32_t root = k->root;
	uint64_t t0 = k->v[root].t_begin;
	uint32_t depth = 0, written = 1;
	char id[40];

	ap_json_obj(j, NULL);
	ap_json_str(j, "kept_by", ap_keep_rule_name(k->rule));
	/* The W3C ids, as the OTLP sender sends them: the trace's, and the
	 * root's parent in another process ("": none). */
	snprintf(id, sizeof(id), "%016" PRIx64 "%016" PRIx64, k->v[root].trace_hi, k->v[root].trace_lo);
	ap_json_str(j, "trace_id", id);
	if (k->v[root].parent)
		snprintf(id, sizeof(id), "%016" PRIx64, k->v[root].parent);
	else
		id[0] = 0;
	ap_json_str(j, "parent_id", id);
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

void ap_report_json(struct ap_json *j, const struct ap_analysis *a, const struct ap_overhead *ov)
{
	char buf[32];
	uint32_t *stack, *pos;

	ap_json_obj(j, "structure");
	ap_json_u64(j, "traces", a->traces);
	ap_json_u64(j, "traces_complete", a->traces_complete);
	ap_json_u64(j, "spans_in_trees", a->spans_in_trees);
	ap_json_u64(j, "truncated", a->truncated_spans);
	ap_json_u64(j, "errors", a->errors);
	ap_json_u64(j, "traces_failed", a->traces_failed);
	ap_json_u64(j, "orphans", a->orphans);
	ap_json_u64(j, "self_parents", a->self_parents);
	ap_json_u64(j, "cycles", a->cycles);
	ap_json_u64(j, "deps_ignored", a->deps_ignored);
	ap_json_u64(j, "largest_trace_spans", a->largest_trace);
	ap_json_u64(j, "traces_skipped", a->traces_skipped);
	ap_json_u64(j, "spans_skipped", a->spans_skipped);
	ap_json_num(j, "total_trace_ms", ap_ms(a->total_trace_ns), 3);
	ap_json_num(j, "total_self_ms", ap_ms(a->total_self_ns), 3);
	ap_json_end_obj(j);

	ap_json_obj(j, "retention");
	ap_json_u64(j, "recorded", a->traces_recorded);
	ap_json_u64(j, "retained", a->nkept);
	ap_json_u64(j, "sampled_out", a->traces_sampled_out);
	ap_json_u64(j, "capped_out", a->traces_recorded - a->nkept);
	ap_json_obj(j, "retained_by");
	for (int r = AP_KEEP_ERROR; r < AP_KEEP_RULES; r++)
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
		ap_json_obj(j, ap_cat_name(c));
		ap_json_num(j, "self_ms", ap_ms(a->cat_self[c]), 3);
		ap_json_num(j, "pct", ap_pct(a->cat_self[c], a->total_self_ns), 2);
		ap_json_end_obj(j);
	}
	ap_json_end_obj(j);

	ap_json_arr(j, "operations");
	for (uint32_t i = 0; i < a->nops; i++) {
		const struct ap_op *op = &a->ops[i];

		ap_json_obj(j, NULL);
		ap_json_str(j, "name", ap_nm(a, op->name, buf));
		ap_json_str(j, "category", ap_cat_name(op->category));
		ap_json_u64(j, "count", op->count);
		ap_json_u64(j, "truncated", op->truncated);
		ap_json_u64(j, "errors", op->errors);
		ap_json_num(j, "total_ms", ap_ms(op->total_ns), 3);
		ap_json_num(j, "self_ms", ap_ms(op->self_ns), 3);
		ap_json_num(j, "mean_ms", op->count ? ap_ms(op->total_ns) / (double)op->count : 0, 3);
		ap_json_num(j, "p50_ms", ap_ms(ap_hist_quantile(&op->hist, 0.50)), 3);
		ap_json_num(j, "p95_ms", ap_ms(ap_hist_quantile(&op->hist, 0.95)), 3);
		ap_json_num(j, "p99_ms", ap_ms(ap_hist_quantile(&op->hist, 0.99)), 3);
		ap_json_num(j, "min_ms", ap_ms(op->hist.min), 3);
		ap_json_num(j, "max_ms", ap_ms(op->hist.max), 3);
		ap_json_num(j, "self_pct", ap_pct(op->self_ns, a->total_self_ns), 2);
		ap_json_u64(j, "input_tokens", op->input_tokens);
		ap_json_u64(j, "output_tokens", op->output_tokens);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "operations_over_cap", a->ops_over_cap);
	ap_json_str(j, "percentiles", AP_PCTL_DEFINITION);
	{
		const struct ap_op *top[AP_TOP_SELF];
		uint32_t n = ap_top_self(a, top, AP_TOP_SELF);

		ap_json_arr(j, "top_self_time");
		for (uint32_t i = 0; i < n; i++) {
			ap_json_obj(j, NULL);
			ap_json_str(j, "name", ap_nm(a, top[i]->name, buf));
			ap_json_str(j, "category", ap_cat_name(top[i]->category));
			ap_json_num(j, "self_ms", ap_ms(top[i]->self_ns), 3);
			ap_json_num(j, "self_pct", ap_pct(top[i]->self_ns, a->total_self_ns), 2);
			ap_json_u64(j, "count", top[i]->count);
			ap_json_str(j, "suggestion", ap_cat_suggestion(top[i]->category));
			ap_json_end_obj(j);
		}
		ap_json_end_arr(j);
	}

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
	ap_json_u64(j, "llm_chains_over_cap", a->chains_over_cap);

	ap_json_obj(j, "tokens");
	ap_json_arr(j, "calls");
	for (uint32_t i = 0; i < a->ncalls; i++) {
		const struct ap_call *c = &a->calls[i];
		uint64_t w = ap_model_window(a, c->model);

		ap_json_obj(j, NULL);
		ap_json_str(j, "span", ap_nm(a, c->name, buf));
		ap_json_str(j, "model", ap_nm(a, c->model, buf));
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
		ap_json_str(j, "model", ap_nm(a, m->model, buf));
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
	ap_json_u64(j, "models_over_cap", a->models_over_cap);
	ap_json_u64(j, "calls_total", a->llm_calls);
	ap_json_u64(j, "total_input", a->total_input);
	ap_json_u64(j, "total_output", a->total_output);
	ap_json_end_obj(j);

	ap_json_arr(j, "parallelism");
	for (uint32_t i = 0; i < a->ngroups; i++) {
		const struct ap_group *g = &a->groups[i];
		double seq = ap_ms(g->seq_ns) / (double)g->occurrences, par = ap_ms(g->par_ns) / (double)g->occurrences;

		ap_json_obj(j, NULL);
		ap_json_str(j, "parent", ap_nm(a, g->parent_name, buf));
		ap_json_arr(j, "spans");
		for (uint32_t k = 0; k < g->nmembers; k++)
			ap_json_str(j, NULL, ap_nm(a, g->members[k], buf));
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
	ap_json_u64(j, "parallelism_over_cap", a->groups_over_cap);
	ap_json_arr(j, "concurrency");
	for (uint32_t i = 0; i < a->nconcs; i++) {
		const struct ap_conc *c = &a->concs[i];

		ap_json_obj(j, NULL);
		ap_json_str(j, "parent", ap_nm(a, c->parent_name, buf));
		ap_json_u64(j, "occurrences", c->occurrences);
		ap_json_num(j, "children_ms", ap_ms(c->child_ns), 3);
		ap_json_num(j, "covered_ms", ap_ms(c->union_ns), 3);
		ap_json_num(j, "factor", c->union_ns ? (double)c->child_ns / (double)c->union_ns : 0, 3);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "concurrency_over_cap", a->concs_over_cap);
	ap_json_obj(j, "critical_path");
	ap_json_num(j, "traces_ms", ap_ms(a->total_trace_ns), 3);
	ap_json_num(j, "bound_ms", ap_ms(a->critical_ns), 3);
	ap_json_num(j, "speedup", a->critical_ns ? (double)a->total_trace_ns / (double)a->critical_ns : 0, 3);
	ap_json_end_obj(j);

	ap_json_arr(j, "threads");
	for (uint32_t i = 0; i < a->nthreads; i++) {
		ap_json_obj(j, NULL);
		ap_json_u64(j, "pid", a->threads[i].pid);
		ap_json_u64(j, "tid", a->threads[i].tid);
		ap_json_u64(j, "spans", a->threads[i].spans);
		ap_json_num(j, "busy_ms", ap_ms(a->threads[i].busy_ns), 3);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "threads_over_cap", a->threads_over_cap);
	ap_json_u64(j, "flame_paths_over_cap", a->paths_over_cap);

	ap_json_obj(j, "overhead");
	ap_json_u64(j, "events", ov->events);
	if (ov->ns_per_event > 0) {
		ap_json_num(j, "ns_per_event", ov->ns_per_event, 2);
		ap_json_num(j, "pct", ov->profiled_ns ? 100.0 * ap_overhead_ns(ov) / (double)ov->profiled_ns : 0, 6);
		if (ov->workload_cpu_ns)
			ap_json_num(j, "pct_of_cpu", 100.0 * ap_overhead_ns(ov) / (double)ov->workload_cpu_ns, 6);
		else
			ap_json_null(j, "pct_of_cpu");
		if (ov->capacity_ns)
			ap_json_num(j, "pct_of_machine", 100.0 * ap_overhead_ns(ov) / (double)ov->capacity_ns, 6);
		else
			ap_json_null(j, "pct_of_machine");
	} else {
		ap_json_null(j, "ns_per_event");
		ap_json_null(j, "pct");
		ap_json_null(j, "pct_of_cpu");
		ap_json_null(j, "pct_of_machine");
	}
	ap_json_num(j, "setup_ms", ap_ms(ov->setup_ns), 3);
	ap_json_u64(j, "machine_cpus", ov->cpus);
	ap_json_num(j, "workload_cpu_ms", ap_ms(ov->workload_cpu_ns), 3);
	ap_json_u64(j, "measurements", ov->measurements);
	if (ov->mem_interval_ns) {
		double per = ov->mem_sample_reads ? (double)ov->mem_sample_ns / (double)ov->mem_sample_reads : 0;

		ap_json_obj(j, "memory_sampling");
		ap_json_num(j, "ms", (double)ov->mem_sample_ns / 1e6, 3);
		ap_json_u64(j, "reads", ov->mem_sample_reads);
		ap_json_num(j, "us_per_read", per / 1e3, 2);
		ap_json_num(j, "pct_of_core_per_process", 100.0 * per / (double)ov->mem_interval_ns, 6);
		ap_json_end_obj(j);
	}
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

