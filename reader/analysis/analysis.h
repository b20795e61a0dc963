/* SPDX-License-Identifier: MIT */
/*
 * analysis.h - span trees and what they say: time by category, operations
 * with percentiles, tokens, parallelism, bottlenecks, flame paths; and which
 * traces are kept whole.
 *
 * Input is one trace at a time, as the assembler hands them on; the
 * aggregates cover every trace, and the slowest few are kept whole for the
 * flame chart and the trees in report.json. Every walk is iterative and
 * every table has a cap and a counter for what did not fit, so any shape of
 * trace (a 100,000-deep chain, a 100,000-wide fan-out) costs time linear in
 * its size and cannot recurse, hang or crash the reader.
 */
#ifndef AP_ANALYSIS_H
#define AP_ANALYSIS_H

#include <stdint.h>

#include "agentprof.h"
#include "clock.h"
#include "hist.h"
#include "hmap.h"
#include "memory.h"
#include "names.h"
#include "assemble.h"
#include "spans.h"

/* The tables' caps: what a report lists can be no longer (each table counts
 * what did not fit), so a report's size follows from them. */
#define AP_OPS_MAX		4096u
#define AP_GROUPS_MAX		256u
#define AP_CONCS_MAX		256u
#define AP_MODELS_USED_MAX	256u
#define AP_THREADS_MAX		4096u
#define AP_PATHS_MAX		4096u
#define AP_FINDINGS_MAX		64u

/* Thresholds of the bottleneck rules (--rule NAME=VALUE). */
struct ap_rules {
	double llm_self_pct;	/* LLM self time above this % of total (80) */
	double tool_pct;	/* one tool above this % of total (30) */
	uint32_t llm_chain;	/* this many LLM calls in sequence under one parent (2) */
	double slow_tool_ms;	/* a tool call slower than this (500) */
	double context_pct;	/* a call using more than this % of its model's window (50) */
	double error_pct;	/* an operation failing in more than this % of its calls (10) */
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
	uint64_t count;		/* spans that ended; the figures below are theirs */
	uint64_t truncated;	/* spans that never ended: counted apart, in no figure */
	uint64_t total_ns;	/* sum of durations */
	uint64_t self_ns;
	uint64_t input_tokens, output_tokens;
	uint64_t slow_n, slow_over_ns;	/* calls above slow_tool_ms, time above it */
	uint64_t errors;	/* spans that failed (ap_set_error), ended or truncated */
	struct ap_hist hist;	/* durations */
	struct ap_op_mem *mem;	/* RSS changes, when memory is sampled (memory.h); NULL */
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
	uint64_t self_ns;	/* sum of self times: the folded stacks and pprof */
	uint64_t tokens;	/* input + output */
	uint64_t model;		/* the model of its calls, 0: none; AP_PATH_MIXED: more than one */
	uint32_t pid;		/* the process of its spans; AP_PATH_MIXED32: more than one */
};
#define AP_PATH_MIXED	UINT64_MAX
#define AP_PATH_MIXED32	UINT32_MAX

struct ap_finding {
	char rule[24];
	char span[AP_NAME_MAX + 1];
	char message[256];
	char suggestion[256];
	double saving_ms;
};

/*
 * Which traces are kept whole (retained) for the report. Every trace is
 * folded into the aggregates; at most max_traces are kept, at most
 * max_per_root of one root name, and at most max_spans spans in all. Within
 * those caps a trace is kept by the first rule that takes it:
 *   error       some span of it failed: the slowest such, max_traces / 10
 *               (as a collector's tail sampling keeps status ERROR first)
 *   truncated   it has truncated spans: the slowest such, max_traces / 10
 *   tokens      it used >= token_threshold tokens: the heaviest, max_traces / 10
 *   slowest     among the `slowest` slowest of its root name (at most
 *               max_traces / 2 slots over all names)
 *   reservoir   the rest: a uniform sample (reservoir sampling, seeded, so a
 *               replayed log keeps the same traces), in the slots the rules
 *               leave; a rule that needs a slot evicts a random member. A
 *               root name at its cap samples within its own members (a
 *               uniform sample per root name).
 * A trace with more than AP_KEPT_SPANS_MAX spans is analysed, never kept.
 */
#define AP_KEPT_SPANS_MAX 131072u
enum ap_keep_rule { AP_KEEP_NONE, AP_KEEP_ERROR, AP_KEEP_TRUNCATED, AP_KEEP_TOKENS, AP_KEEP_SLOWEST,
		    AP_KEEP_RESERVOIR, AP_KEEP_RULES };
const char *ap_keep_rule_name(int rule);

struct ap_keep_cfg {
	uint32_t max_traces;	/* --max-traces (100); 0 keeps none */
	uint32_t max_per_root;	/* --max-per-root (20) */
	uint32_t slowest;	/* --keep-slowest per root name (5) */
	uint64_t token_threshold; /* --keep-tokens: input + output (100,000); 0: rule off */
	uint64_t max_spans;	/* --max-kept-spans (262,144) */
	uint64_t seed;		/* reservoir */
};
void ap_keep_default(struct ap_keep_cfg *c);

/* What an analysis of a run is configured with: the reader's settings, which
 * an event log records so that a replay analyses as the run did. */
#define AP_MODELS_MAX		64u
#define AP_DEFAULT_MAX_SPANS	(1u << 18)	/* spans in flight (traces not yet complete) */
struct ap_settings {
	uint32_t max_spans;		/* spans of traces in flight the assembler holds */
	struct ap_rules rules;		/* bottleneck thresholds */
	struct ap_keep_cfg keep;	/* traces kept whole */
	struct ap_model models[AP_MODELS_MAX];	/* model context windows */
	uint32_t nmodels;
	uint64_t memory_interval_ns;	/* --memory-interval; 0 (the default here): not sampled */
};
void ap_settings_default(struct ap_settings *s);

struct ap_kept {
	struct ap_span *v;
	uint32_t *parent, *child_off, *child_idx;
	uint64_t *dur, *self;
	uint8_t *truncated;
	int64_t *rss;		/* RSS change per span, KiB, AP_RSS_NONE; NULL: none */
	uint32_t *dep_off, *dep_idx;	/* span i waited on the siblings dep_idx[dep_off[i] ..
					 * dep_off[i + 1]) (ap_depends) */
	uint32_t n;
	uint32_t root;		/* the slowest root of the trace */
	uint64_t root_dur;
	uint64_t root_name;
	uint64_t tokens;	/* input + output over the trace */
	uint8_t rule;		/* enum ap_keep_rule */
};

/* Per root name, for the caps and the slowest rule. */
struct ap_root_stat {
	uint64_t name;
	uint32_t kept;		/* traces of this root name retained */
	uint32_t slowest;	/* of which by the slowest rule */
	uint64_t slowest_min;	/* shortest root duration among those */
	uint32_t res_kept;	/* of which in the reservoir */
	uint64_t res_seen;	/* traces of this name offered to the reservoir */
};

/* One LLM call, for the tokens section (the first AP_CALLS_MAX are listed). */
#define AP_CALLS_MAX 1000u
struct ap_call {
	uint64_t name, model;
	uint32_t input, output;
};

/* Per parent name: the longest run of LLM calls one after another. */
struct ap_chain {
	uint64_t parent_name;
	uint32_t run;
	uint64_t run_ns, shortest_ns;
	uint64_t occurrences;
};

struct ap_analysis {
	const struct ap_names *names;
	struct ap_clock_cal clock;
	struct ap_rules rules;
	const struct ap_model *models;
	uint32_t nmodels;
	struct ap_keep_cfg keep;	/* which traces are kept whole */
	struct ap_analysis *retain_too;	/* also decides, for every trace, whether it keeps it */

	/* The trace being folded in, and scratch for it, grown to the largest. */
	const struct ap_span *v;
	const uint32_t *parent;
	uint32_t n;
	uint64_t t_last;		/* end of its truncated spans (ticks) */
	uint32_t scap;
	uint32_t *child_off, *child_idx, *order, *stack, *level, *dep_off, *dep_idx, *declared;
	uint32_t *roots, *path_of;
	uint64_t *dur, *self, *best, *finish;
	uint8_t *truncated;
	struct ap_map local;		/* span id -> index, for dependencies */
	uint32_t *dep_from, *dep_to;
	uint32_t dcap;
	uint32_t deps_zero;		/* dep_off[] and declared[] are 0 below it */
	/* The rows the last lookups of each table found, index + 1 (0: none):
	 * consecutive spans and traces often share them (one process's
	 * traces of one root name, one thread's spans). Rows never move or go. */
	struct {
		uint64_t op_name, path_name, root_name;
		uint32_t op, thread, path, root;
		uint32_t pid, tid, path_parent;
		uint8_t op_cat, path_cat;
	} memo;

	/* Structure counts. traces: trees (roots); traces_complete: trees with
	 * no truncated span. */
	uint64_t traces, traces_complete, spans_in_trees, truncated_spans, deps_ignored;
	uint64_t deps_ignored_own;	/* by the analysis; deps_ignored adds the assembler's */
	uint64_t largest_trace;
	uint64_t traces_incomplete_handed;	/* trace views handed on at the end of the run */
	uint64_t orphans, self_parents, cycles;	/* spans, as the assembler counted them */

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
	uint64_t concs_over_cap;	/* occurrences of parents that found no row */
	struct ap_chain *chains;
	uint32_t nchains;
	uint64_t chains_over_cap;	/* occurrences */
	struct ap_model_use *models_used;
	uint32_t nmodels_used;
	uint64_t models_over_cap;	/* LLM calls of models that found no row */
	uint64_t total_input, total_output, llm_calls;
	struct ap_call *calls;
	uint32_t ncalls;
	uint64_t calls_over_cap;
	struct ap_thread_row *threads;
	uint32_t nthreads;
	uint64_t threads_over_cap;
	struct ap_map thread_index;
	struct ap_path *paths;
	uint32_t npaths;
	uint64_t paths_over_cap;
	struct ap_map path_index;
	struct ap_call context_hit;	/* first call over context_pct */
	uint64_t context_window;
	int have_context_hit;
	struct ap_kept *kept;		/* in no order: see ap_analysis_kept() */
	uint32_t *kept_order;		/* kept indexes, slowest first, as of ap_analysis_end() */
	uint32_t nkept;
	uint64_t trace_tokens;		/* of the trace being folded in */
	int trace_truncated;
	uint64_t trace_errors;		/* failed spans of the trace being folded in */
	uint64_t errors;		/* failed spans of every trace */
	uint64_t traces_failed;		/* traces with a failed span */
	uint64_t traces_recorded;	/* trace views folded in */
	uint64_t kept_by[AP_KEEP_RULES];	/* retained now, per rule */
	uint64_t kept_spans;
	uint64_t pool_min[AP_KEEP_RULES];	/* smallest key in the truncated and tokens pools */
	uint64_t res_seen;		/* traces offered to the reservoir */
	int res_full;			/* some offered trace was not taken */
	uint64_t rng;
	struct ap_root_stat *root_stats;
	uint32_t nroot_stats;
	struct ap_map root_index;	/* root name -> index + 1 */
	uint64_t root_names_over_cap;	/* traces whose root name found no row: not kept */
	uint64_t traces_not_kept_nomem;
	uint64_t traces_sampled_out;	/* writers' head sampling, set by the session */
	struct ap_finding *findings;
	uint32_t nfindings;
	uint64_t traces_skipped;	/* no memory to analyse them: counted, not folded in */
	uint64_t spans_skipped;

	/* Memory (memory.h): the samples, set by the owner after init (NULL:
	 * no memory figures); per span of the trace being folded, its RSS
	 * change (memattr.c), and scratch for working it out. */
	const struct ap_memory *mem;
	int trace_rss;			/* rss[] holds this trace's figures */
	int64_t *rss;
	double *macc;
	void *mkeys, *mends;
	uint32_t *mkids, *mpos, *minner, ninner, mcap;
	uint8_t *mflags;
	struct ap_mem_sample *msamp;
	uint64_t mem_iv_ns, mem_iv_ticks;	/* the interval, and in ticks (memattr.c) */
	uint64_t mem_rows_nomem;	/* spans whose operation found no memory for its RSS row */
};

void ap_rules_default(struct ap_rules *r);

/* The ranges every threshold must be in, from the command line or from a
 * log: percentages 0 to 100 (error_pct too), slow_tool_ms 0 to a day, llm_chain 1 to 1,000.
 * 0 or -EINVAL (NaN and infinities are out of every range). */
#define AP_RULE_SLOW_MS_MAX	86400000.0
#define AP_RULE_CHAIN_MAX	1000u
int ap_rules_check(const struct ap_rules *r);
/* Round the thresholds to what an event log keeps (1e-6 %, 1 ns), so that
 * a replay compares exactly as the run did. */
void ap_rules_round(struct ap_rules *r);

/* Built-in model windows (gpt-4o, gpt-4o-mini, claude-sonnet-4-20250514, claude-haiku-3-5). */
uint32_t ap_models_default(struct ap_model *out, uint32_t max);
/* Add "NAME WINDOW" lines of a file to the table. Returns models added, or
 * -errno / -EINVAL with *line set to the first bad line. */
int ap_models_load(const char *path, struct ap_model *out, uint32_t *n, uint32_t max, int *line);

/* Start an analysis; keep NULL: ap_keep_default(). 0, -EINVAL or -ENOMEM. */
int ap_analysis_init(struct ap_analysis *a, const struct ap_names *names, const struct ap_clock_cal *clock,
		     const struct ap_rules *rules, const struct ap_model *models, uint32_t nmodels,
		     const struct ap_keep_cfg *keep);
/* Fold one trace in (an ap_trace_fn: ctx is the analysis). */
void ap_analysis_add(void *ctx, const struct ap_trace_view *t);
/* After the last trace: the assembler's structure counts, and the
 * bottleneck findings. */
void ap_analysis_end(struct ap_analysis *a, const struct ap_assembler *as);
void ap_analysis_free(struct ap_analysis *a);

/* Fold src's aggregates (not its kept traces) into dst, as if dst had been
 * fed src's traces after its own: periodic reports analyse each interval
 * and fold it into the run's analysis, which sets src->retain_too = dst so
 * that the run's kept traces are chosen from every trace as they come.
 * 0, or -ENOMEM (flame paths of src then missing from dst). */
int ap_analysis_merge(struct ap_analysis *dst, const struct ap_analysis *src);

/* The i-th slowest kept trace as of the last ap_analysis_end(), NULL past
 * the end. ap_analysis_end() may be called again after more traces (a
 * periodic report): it never moves the kept traces. */
const struct ap_kept *ap_analysis_kept(const struct ap_analysis *a, uint32_t i);

/* The kept trace and index of span id, for tests; NULL when not kept. */
const struct ap_kept *ap_analysis_find(const struct ap_analysis *a, uint64_t id, uint32_t *idx);

/* Window of a model id, 0 when unknown. */
uint64_t ap_model_window(const struct ap_analysis *a, uint64_t model);

#endif /* AP_ANALYSIS_H */
