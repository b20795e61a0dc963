/* SPDX-License-Identifier: MIT */
/*
 * analysis.c - trees and aggregates, one trace at a time, in linear passes.
 *
 * The assembler hands each trace on with its parent links resolved (orphans,
 * self-parents and cycles are roots there, counted). Per trace, in order:
 * children and durations, dependencies, the pre-order, parallelism (tree.c),
 * the aggregates (aggregate.c), whether to keep it whole (retain.c). At the
 * end, the bottleneck rules (findings.c). analysis_internal.h maps the
 * folder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"

void ap_analysis_free(struct ap_analysis *a)
{
	free(a->child_off);
	free(a->child_idx);
	free(a->order);
	free(a->stack);
	free(a->level);
	free(a->dep_off);
	free(a->dep_idx);
	free(a->declared);
	free(a->roots);
	free(a->path_of);
	free(a->dur);
	free(a->self);
	free(a->best);
	free(a->finish);
	free(a->truncated);
	free(a->dep_from);
	free(a->dep_to);
	for (uint32_t i = 0; a->ops && i < a->nops; i++)
		free(a->ops[i].mem);
	ap_an_memory_free(a);
	free(a->ops);
	free(a->groups);
	free(a->concs);
	free(a->chains);
	free(a->models_used);
	free(a->calls);
	free(a->threads);
	free(a->paths);
	free(a->findings);
	for (uint32_t i = 0; i < a->nkept; i++)
		ap_an_kept_free(&a->kept[i]);
	free(a->kept);
	free(a->kept_order);
	free(a->root_stats);
	ap_map_free(&a->root_index);
	ap_map_free(&a->op_index);
	ap_map_free(&a->thread_index);
	ap_map_free(&a->path_index);
	memset(a, 0, sizeof(*a));
}

int ap_analysis_init(struct ap_analysis *a, const struct ap_names *names, const struct ap_clock_cal *clock,
		     const struct ap_rules *r, const struct ap_model *models, uint32_t nmodels,
		     const struct ap_keep_cfg *keep)
{
	memset(a, 0, sizeof(*a));
	if (keep)
		a->keep = *keep;
	else
		ap_keep_default(&a->keep);
	if (a->keep.max_per_root == 0 || a->keep.max_traces > (1u << 20))
		return -EINVAL;
	if (a->keep.slowest > a->keep.max_per_root)
		a->keep.slowest = a->keep.max_per_root;
	a->rng = a->keep.seed ^ UINT64_C(0x6a09e667f3bcc909);
	a->names = names;
	a->clock = *clock;
	a->rules = *r;
	a->models = models;
	a->nmodels = nmodels;
	a->groups = malloc(GROUPS_MAX * sizeof(*a->groups));
	a->concs = malloc(CONCS_MAX * sizeof(*a->concs));
	a->chains = malloc(CHAINS_MAX * sizeof(*a->chains));
	a->models_used = malloc(MODELS_USED_MAX * sizeof(*a->models_used));
	a->calls = malloc(AP_CALLS_MAX * sizeof(*a->calls));
	a->threads = malloc(THREADS_MAX * sizeof(*a->threads));
	a->paths = malloc(PATHS_MAX * sizeof(*a->paths));
	a->findings = malloc(FINDINGS_MAX * sizeof(*a->findings));
	a->kept = calloc(a->keep.max_traces ? a->keep.max_traces : 1, sizeof(*a->kept));
	a->kept_order = calloc(a->keep.max_traces ? a->keep.max_traces : 1, sizeof(*a->kept_order));
	a->root_stats = malloc(ROOTS_MAX * sizeof(*a->root_stats));
	if (!a->groups || !a->concs || !a->chains || !a->models_used || !a->calls || !a->threads ||
	    !a->paths || !a->findings || !a->kept || !a->kept_order || !a->root_stats ||
	    ap_map_init(&a->root_index, 64, ROOTS_MAX) || ap_map_init(&a->op_index, 64, OPS_MAX) ||
	    ap_map_init(&a->thread_index, 64, THREADS_MAX) || ap_map_init(&a->path_index, 256, PATHS_MAX)) {
		ap_analysis_free(a);
		return -ENOMEM;
	}
	return 0;
}

void ap_analysis_add(void *ctx, const struct ap_trace_view *t)
{
	struct ap_analysis *a = ctx;
	uint32_t nroots, len, root;

	if (!t->n)
		return;
	if (ap_an_grow(a, t->n, t->ndeps)) {
		a->traces_skipped++;
		a->spans_skipped += t->n;
		return;
	}
	a->v = t->v;
	a->parent = t->parent;
	a->n = t->n;
	a->t_last = t->t_last;
	a->traces_recorded++;
	a->trace_tokens = 0;
	a->trace_truncated = 0;
	a->trace_errors = 0;
	if (!t->complete)
		a->traces_incomplete_handed++;
	if (t->n > a->largest_trace)
		a->largest_trace = t->n;
	nroots = ap_an_children(a);
	ap_an_durations(a);
	if (ap_an_deps(a, t)) {
		a->traces_skipped++;
		a->spans_skipped += t->n;
		return;
	}
	len = ap_an_preorder(a, nroots);
	ap_an_memory(a, len);
	ap_an_parallelism(a, len);
	root = ap_an_aggregates(a, len);
	if (root != AP_NONE)
		ap_an_keep(a, root);
	if (root != AP_NONE && a->retain_too)
		ap_an_keep_for(a->retain_too, a, root);
	a->v = NULL;
	a->parent = NULL;
}

void ap_analysis_end(struct ap_analysis *a, const struct ap_assembler *as)
{
	ap_an_order_kept(a);
	a->orphans = as->orphans;
	a->self_parents = as->self_parents;
	a->cycles = as->cycles;
	a->deps_ignored = a->deps_ignored_own + as->deps_ignored;
	ap_an_findings(a);
	ap_an_memory_findings(a);
}
