/* SPDX-License-Identifier: MIT */
/*
 * analysis.h - span trees and what they say: time by category, operations
 * with percentiles, tokens, parallelism, bottlenecks, flame paths.
 *
 * Input is the pairing store (spans.h) at the end of a run. Every walk is
 * iterative and every table has a cap and a counter for what did not fit,
 * so any shape of input (a 100,000-deep chain, a 100,000-wide fan-out,
 * cycles, self-parents) costs time linear in its size and cannot recurse,
 * hang or crash the reader.
 */
#ifndef AP_ANALYSIS_H
#define AP_ANALYSIS_H

#include <stdint.h>

#include "agentprof.h"
#include "clock.h"
#include "hist.h"
#include "hmap.h"
#include "names.h"
#include "spans.h"

#define AP_NONE UINT32_MAX

/* Thresholds of the bottleneck rules (--rule NAME=VALUE). */
struct ap_rules {
	double llm_self_pct;	/* LLM self time above this % of total (80) */
	double tool_pct;	/* one tool above this % of total (30) */
	uint32_t llm_chain;	/* this many LLM calls in sequence under one parent (2) */
	double slow_tool_ms;	/* a tool call slower than this (500) */
	double context_pct;	/* a call using more than this % of its model's window (50) */
};

struct ap_model {
	char name[AP_NAME_MAX + 1];
	uint64_t id;
	uint64_t window;	/* tokens */
};

/* Per operation: spans of one name and category. */
struct ap_op {
	uint64_t name;
	uint8_t category;
	uint64_t count;
	uint64_t total_ns;	/* sum of durations */
	uint64_t self_ns;
	uint64_t input_tokens, output_tokens;
	struct ap_hist hist;	/* durations */
};

/* Siblings that ran one after another and could have run together. */
#define AP_GROUP_MAX_MEMBERS 8
struct ap_group {
	uint64_t parent_name;
	uint64_t members[AP_GROUP_MAX_MEMBERS];	/* name ids, in begin order */
	uint32_t nmembers;
	int assumed;		/* some member declared no dependency at all */
	uint64_t occurrences;
	uint64_t seq_ns;	/* sums over occurrences */
	uint64_t par_ns;
};

/* Per parent name: measured overlap of its children. */
struct ap_conc {
	uint64_t parent_name;
	uint64_t occurrences;	/* parents with two or more children */
	uint64_t child_ns;	/* sum of child durations */
	uint64_t union_ns;	/* time covered by at least one child */
};

struct ap_model_use {
	uint64_t model;
	uint64_t calls, input, output;
	uint64_t window;	/* 0: unknown model */
	double max_context_pct;
};

struct ap_thread_row {
	uint32_t pid, tid;
	uint64_t spans;
	uint64_t busy_ns;	/* self time of the spans it began */
};

/* One node of the aggregate flame: a path of names from a root. */
struct ap_path {
	uint32_t parent;	/* path index, AP_NONE for a root */
	uint64_t name;
	uint8_t category;
	uint64_t total_ns;
	uint64_t count;
};

struct ap_finding {
	char rule[24];
	char span[AP_NAME_MAX + 1];
	char message[256];
	char suggestion[256];
	double saving_ms;
};

struct ap_analysis {
	const struct ap_spans *spans;
	const struct ap_names *names;
	struct ap_clock_cal clock;
	struct ap_rules rules;
	const struct ap_model *models;
	uint32_t nmodels;

	/* Per span (index into spans->v). */
	uint32_t *parent;
	uint32_t *child_off;	/* children of i: child_idx[child_off[i] .. child_off[i + 1]) */
	uint32_t *child_idx;	/* sorted by begin time */
	uint32_t *root_of;
	uint64_t *dur;		/* ns */
	uint64_t *self;		/* ns */
	uint64_t *best;		/* critical-path bound of the subtree, ns */
	uint8_t *truncated;

	uint32_t *roots;
	uint32_t nroots;
	uint64_t t_last;	/* latest timestamp seen (ticks): end of truncated spans */

	/* Structure counts. */
	uint64_t spans_in_trees, orphans, self_parents, cycles, truncated_spans;
	uint64_t traces_complete, deps_ignored;

	/* Aggregates. */
	uint64_t cat_self[AP_CAT_COUNT];
	uint64_t total_self_ns;
	uint64_t total_trace_ns;	/* sum of root durations */
	uint64_t critical_ns;		/* sum of root critical-path bounds */
	struct ap_op *ops;
	uint32_t nops, ops_cap;
	uint64_t ops_over_cap;
	struct ap_map op_index;
	struct ap_group *groups;
	uint32_t ngroups;
	uint64_t groups_over_cap;
	struct ap_conc *concs;
	uint32_t nconcs;
	struct ap_model_use *models_used;
	uint32_t nmodels_used;
	uint64_t total_input, total_output, llm_calls;
	struct ap_thread_row *threads;
	uint32_t nthreads;
	uint64_t threads_over_cap;
	struct ap_path *paths;
	uint32_t npaths;
	uint64_t paths_over_cap;
	uint32_t slowest_root;		/* AP_NONE when no trace */
	struct ap_finding *findings;
	uint32_t nfindings;
};

void ap_rules_default(struct ap_rules *r);
/* Built-in model windows (gpt-4o, gpt-4o-mini, claude-sonnet-4-20250514, claude-haiku-3-5). */
uint32_t ap_models_default(struct ap_model *out, uint32_t max);
/* Add "NAME WINDOW" lines of a file to the table. Returns models added, or
 * -errno / -EINVAL with *line set to the first bad line. */
int ap_models_load(const char *path, struct ap_model *out, uint32_t *n, uint32_t max, int *line);

/* Build trees and aggregates. Returns 0 or -ENOMEM. */
int ap_analyze(struct ap_analysis *a, const struct ap_spans *s, const struct ap_names *names,
	       const struct ap_clock_cal *clock, const struct ap_rules *rules,
	       const struct ap_model *models, uint32_t nmodels);
void ap_analysis_free(struct ap_analysis *a);

/* Window of a model id, 0 when unknown. */
uint64_t ap_model_window(const struct ap_analysis *a, uint64_t model);

#endif /* AP_ANALYSIS_H */
