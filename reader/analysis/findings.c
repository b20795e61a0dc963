/* SPDX-License-Identifier: MIT */
/*
 * findings.c - the bottleneck rules, run over the aggregates when an
 * analysis ends. Savings are per trace (means over the traces), and each
 * suggestion states the assumption its saving rests on: an LLM call 2x
 * faster (llm_dominant), half of a tool's time avoided (tool_share), the
 * time above the threshold (slow_tool), the shortest call absorbed
 * (llm_chain), the time spent in calls that failed (error_rate: a failed
 * call is usually retried or its work lost).
 */
#include <stdio.h>
#include <string.h>

#include "analysis_internal.h"

static struct ap_finding *finding(struct ap_analysis *a, const char *rule, uint64_t name)
{
	struct ap_finding *f;
	char buf[32];

	if (a->nfindings == FINDINGS_MAX)
		return NULL;
	f = &a->findings[a->nfindings++];
	memset(f, 0, sizeof(*f));
	snprintf(f->rule, sizeof(f->rule), "%s", rule);
	snprintf(f->span, sizeof(f->span), "%s", ap_names_get(a->names, name, buf));
	return f;
}

void ap_an_findings(struct ap_analysis *a)
{
	double total = (double)a->total_self_ns, traces = a->traces ? (double)a->traces : 1;
	const struct ap_op *top_llm = NULL;
	struct ap_finding *f;

	a->nfindings = 0;
	if (total <= 0)
		return;
	for (uint32_t i = 0; i < a->nops; i++)
		if (a->ops[i].category == AP_CAT_LLM && (!top_llm || a->ops[i].total_ns > top_llm->total_ns))
			top_llm = &a->ops[i];
	if (top_llm && 100.0 * (double)a->cat_self[AP_CAT_LLM] / total > a->rules.llm_self_pct &&
	    (f = finding(a, "llm_dominant", top_llm->name))) {
		snprintf(f->message, sizeof(f->message), "LLM calls take %.0f%% of all time (threshold %.0f%%); %s is the largest",
			 100.0 * (double)a->cat_self[AP_CAT_LLM] / total, a->rules.llm_self_pct, f->span);
		snprintf(f->suggestion, sizeof(f->suggestion),
			 "route simple steps to a smaller model or cache repeated prompts; saving assumes %s runs 2x faster",
			 f->span);
		f->saving_ms = ap_an_ms(top_llm->total_ns) / 2 / traces;
	}
	for (uint32_t i = 0; i < a->nops; i++) {
		const struct ap_op *op = &a->ops[i];
		double pct = 100.0 * (double)op->self_ns / total;

		if (op->category != AP_CAT_TOOL)
			continue;
		if (pct > a->rules.tool_pct && (f = finding(a, "tool_share", op->name))) {
			snprintf(f->message, sizeof(f->message), "%s takes %.0f%% of all time (threshold %.0f%%)",
				 f->span, pct, a->rules.tool_pct);
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "cache its results or start it alongside the LLM calls that do not need it; saving assumes half of it is avoided");
			f->saving_ms = ap_an_ms(op->self_ns) / 2 / traces;
		}
		if (op->slow_n && (f = finding(a, "slow_tool", op->name))) {
			snprintf(f->message, sizeof(f->message), "%s took longer than %.0f ms in %llu of %llu calls (max %.1f ms)",
				 f->span, a->rules.slow_tool_ms, (unsigned long long)op->slow_n,
				 (unsigned long long)op->count, ap_an_ms(op->hist.max));
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "set a timeout of %.0f ms with a fallback, or run it asynchronously; saving is the time above it",
				 a->rules.slow_tool_ms);
			f->saving_ms = ap_an_ms(op->slow_over_ns) / traces;
		}
	}
	for (uint32_t i = 0; i < a->nops; i++) {
		const struct ap_op *op = &a->ops[i];
		uint64_t calls = op->count + op->truncated;
		double pct = calls ? 100.0 * (double)op->errors / (double)calls : 0;

		if (!op->errors || !(pct > a->rules.error_pct) || !(f = finding(a, "error_rate", op->name)))
			continue;
		snprintf(f->message, sizeof(f->message), "%s failed in %llu of %llu calls (%.0f%%, threshold %.0f%%)",
			 f->span, (unsigned long long)op->errors, (unsigned long long)calls, pct, a->rules.error_pct);
		snprintf(f->suggestion, sizeof(f->suggestion),
			 "look at the errors of the failed traces kept in the report; saving assumes the failed calls' time is not spent again");
		f->saving_ms = op->count ? ap_an_ms(op->total_ns) / (double)op->count * (double)op->errors / traces : 0;
	}
	for (uint32_t i = 0; i < a->nchains; i++) {
		const struct ap_chain *c = &a->chains[i];

		if (!(f = finding(a, "llm_chain", c->parent_name)))
			break;
		snprintf(f->message, sizeof(f->message),
			 "%u LLM calls run one after another under %s (%.1f ms on average, in %llu of %llu traces)",
			 c->run, f->span, ap_an_ms(c->run_ns) / (double)c->occurrences,
			 (unsigned long long)c->occurrences, (unsigned long long)a->traces);
		snprintf(f->suggestion, sizeof(f->suggestion),
			 "merge calls that share context into one prompt, or run independent ones concurrently; saving assumes the shortest call is absorbed");
		f->saving_ms = ap_an_ms(c->shortest_ns) / traces;
	}
	if (a->have_context_hit && (f = finding(a, "context_window", a->context_hit.name))) {
		double pct = 100.0 * (double)a->context_hit.input / (double)a->context_window;

		snprintf(f->message, sizeof(f->message), "%s used %.0f%% of its model's %llu-token window (%u input tokens)",
			 f->span, pct, (unsigned long long)a->context_window, a->context_hit.input);
		snprintf(f->suggestion, sizeof(f->suggestion),
			 "trim or summarise the context before the call; latency and cost grow with input tokens");
		f->saving_ms = 0;
	}
}
