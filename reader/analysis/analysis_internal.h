/* SPDX-License-Identifier: MIT */
/*
 * analysis_internal.h - what the files of reader/analysis/ share, and no
 * other folder sees.
 *
 *   analysis.c   init, free, one trace in (the passes in order), end
 *   tree.c       per-trace passes: children in begin order, durations and
 *                self time, pre-order, sibling dependencies, parallelism
 *   aggregate.c  the tables (operations, groups, concurrency, chains,
 *                models, threads, flame paths): one upsert per table, used
 *                by both the per-span fold and the merge of two analyses
 *   retain.c     which traces are kept whole
 *   findings.c   the bottleneck rules
 *   models.c     rule defaults and the model table
 */
#ifndef AP_ANALYSIS_INTERNAL_H
#define AP_ANALYSIS_INTERNAL_H

#include "analysis.h"

#define OPS_MAX		AP_OPS_MAX
#define GROUPS_MAX	AP_GROUPS_MAX
#define CONCS_MAX	AP_CONCS_MAX
#define MODELS_USED_MAX	AP_MODELS_USED_MAX
#define THREADS_MAX	AP_THREADS_MAX
#define PATHS_MAX	AP_PATHS_MAX
#define FINDINGS_MAX	AP_FINDINGS_MAX
#define CHAINS_MAX	256u
#define ROOTS_MAX	4096u	/* root names tracked for the retention caps */

static inline double ap_an_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* tree.c. Scratch for a trace of n spans and nd dependencies: 0 or -ENOMEM. */
int ap_an_grow(struct ap_analysis *a, uint32_t n, uint32_t nd);
uint32_t ap_an_children(struct ap_analysis *a);		/* returns the number of roots */
/* Where span i ends: its END; for a truncated span the point the assembler
 * gave it (its process's last timestamp), or, for a trace that did not come
 * through the assembler, the latest timestamp of the trace; never before
 * its own begin. */
static inline uint64_t ap_an_end_ticks(const struct ap_analysis *a, uint32_t i)
{
	const struct ap_span *sp = &a->v[i];

	if (sp->have & AP_SPAN_HAVE_END)
		return sp->t_end;
	if (sp->t_end)
		return sp->t_end > sp->t_begin ? sp->t_end : sp->t_begin;
	return a->t_last > sp->t_begin ? a->t_last : sp->t_begin;
}
void ap_an_durations(struct ap_analysis *a);
uint32_t ap_an_preorder(struct ap_analysis *a, uint32_t nroots);
int ap_an_deps(struct ap_analysis *a, const struct ap_trace_view *t);
void ap_an_parallelism(struct ap_analysis *a, uint32_t len);

/* aggregate.c: find or create a row; NULL when the table is full, which the
 * caller counts in the table's *_over_cap. (The per-span tables' upserts,
 * operations, threads and flame paths, are static in aggregate.c.) */
struct ap_group *ap_an_group(struct ap_analysis *a, uint64_t parent_name, const uint64_t *members, uint32_t k);
struct ap_conc *ap_an_conc(struct ap_analysis *a, uint64_t parent_name);
struct ap_chain *ap_an_chain(struct ap_analysis *a, uint64_t parent_name);
struct ap_model_use *ap_an_model(struct ap_analysis *a, uint64_t model);
/* Per-span aggregates in pre-order; returns the slowest root. */
uint32_t ap_an_aggregates(struct ap_analysis *a, uint32_t len);

/* retain.c */
void ap_an_kept_free(struct ap_kept *k);
void ap_an_keep(struct ap_analysis *a, uint32_t root);
void ap_an_keep_for(struct ap_analysis *dst, struct ap_analysis *src, uint32_t root);
void ap_an_order_kept(struct ap_analysis *a);

/* memattr.c: the trace's RSS change per span into a->rss (after the
 * pre-order); one span's figure into its operation's row; scratch. */
void ap_an_memory(struct ap_analysis *a, uint32_t len);
void ap_an_memory_op(struct ap_analysis *a, struct ap_op *op, uint32_t i);
void ap_an_memory_free(struct ap_analysis *a);
/* memattr.c: steady RSS growth, after the other findings. */
void ap_an_memory_findings(struct ap_analysis *a);

/* findings.c */
void ap_an_findings(struct ap_analysis *a);

#endif /* AP_ANALYSIS_INTERNAL_H */
