/* SPDX-License-Identifier: MIT */
/*
 * analysis.c - trees and aggregates, one trace at a time, in linear passes.
 *
 * The assembler hands each trace on with its parent links resolved (orphans,
 * self-parents and cycles are roots there, counted). Per trace:
 *  1. roots, and children in begin order (counting sort into one array,
 *     then a sort per parent unless already in order);
 *  2. durations (open spans end at the last timestamp seen: truncated) and
 *     self time: duration minus the union of the children's intervals, so
 *     concurrent children are not counted twice;
 *  3. a pre-order from every root, then the reverse of it, which visits
 *     children before parents without recursion: critical-path bound and
 *     parallel groups;
 *  4. aggregates per category, operation, model, thread and name path.
 *
 * Parallelism. Among the children of one span, a declared dependency
 * (ap_depends) orders two siblings; siblings with no declared path between
 * them are assumed independent. A child's level is 0 without sibling
 * dependencies, else one more than the highest level it depends on. Children
 * of one level that ran one after another form a group: sequential time is
 * their sum, parallel time their longest. The critical-path bound of a span
 * is its self time plus the longest path through its children's dependency
 * graph, each child weighing its own bound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "writer_internal.h"

#define OPS_MAX		4096u
#define GROUPS_MAX	256u
#define CONCS_MAX	256u
#define MODELS_USED_MAX	256u
#define THREADS_MAX	4096u
#define PATHS_MAX	4096u
#define FINDINGS_MAX	64u
#define CHAINS_MAX	256u
#define ROOTS_MAX	4096u	/* root names tracked for the retention caps */

void ap_rules_default(struct ap_rules *r)
{
	r->llm_self_pct = 80;
	r->tool_pct = 30;
	r->llm_chain = 2;
	r->slow_tool_ms = 500;
	r->context_pct = 50;
}

static void set_model(struct ap_model *m, const char *name, uint64_t window)
{
	uint32_t len = ap_name_len(name);

	memcpy(m->name, name, len);
	m->name[len] = '\0';
	m->id = ap_name_hash(name, len);
	m->window = window;
}

uint32_t ap_models_default(struct ap_model *out, uint32_t max)
{
	static const struct { const char *name; uint64_t window; } def[] = {
		{ "gpt-4o", 128000 },
		{ "gpt-4o-mini", 128000 },
		{ "claude-sonnet-4-20250514", 200000 },
		{ "claude-haiku-3-5", 200000 },
	};
	uint32_t n = 0;

	for (; n < sizeof(def) / sizeof(def[0]) && n < max; n++)
		set_model(&out[n], def[n].name, def[n].window);
	return n;
}

int ap_models_load(const char *path, struct ap_model *out, uint32_t *n, uint32_t max, int *line)
{
	char buf[512], name[256];
	unsigned long long window;
	FILE *f = fopen(path, "r");
	int added = 0;

	*line = 0;
	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		char *p = buf;
		uint32_t i;

		(*line)++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (sscanf(p, "%255s %llu", name, &window) != 2 || window == 0 || window > (1ull << 40)) {
			fclose(f);
			return -EINVAL;
		}
		for (i = 0; i < *n; i++)
			if (strcmp(out[i].name, name) == 0)
				break;
		if (i == *n) {
			if (*n >= max) {
				fclose(f);
				return -ENOSPC;
			}
			(*n)++;
			added++;
		}
		set_model(&out[i], name, window);
	}
	fclose(f);
	return added;
}

uint64_t ap_model_window(const struct ap_analysis *a, uint64_t model)
{
	for (uint32_t i = 0; i < a->nmodels; i++)
		if (a->models[i].id == model)
			return a->models[i].window;
	return 0;
}

static void kept_free(struct ap_kept *k)
{
	free(k->v);
	free(k->parent);
	free(k->child_off);
	free(k->child_idx);
	free(k->dur);
	free(k->self);
	free(k->truncated);
	memset(k, 0, sizeof(*k));
}

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
		kept_free(&a->kept[i]);
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

#define GROW(ptr, n) do {						\
	void *p_ = realloc((ptr), (size_t)(n) * sizeof(*(ptr)));	\
	if (!p_)							\
		return -ENOMEM;						\
	(ptr) = p_;							\
} while (0)

/* Scratch for a trace of n spans and nd dependencies. 0 or -ENOMEM. */
static int grow_scratch(struct ap_analysis *a, uint32_t n, uint32_t nd)
{
	if (n + 1 > a->scap) {
		uint32_t cap = n + 1 > 2 * a->scap ? n + 1 : 2 * a->scap;

		GROW(a->child_off, cap);
		GROW(a->child_idx, cap);
		GROW(a->order, cap);
		GROW(a->stack, cap);
		GROW(a->level, cap);
		GROW(a->dep_off, cap);
		GROW(a->declared, cap);
		GROW(a->roots, cap);
		GROW(a->path_of, cap);
		GROW(a->dur, cap);
		GROW(a->self, cap);
		GROW(a->best, cap);
		GROW(a->finish, cap);
		GROW(a->truncated, cap);
		a->scap = cap;
	}
	if (nd + 1 > a->dcap) {
		uint32_t cap = nd + 1 > 2 * a->dcap ? nd + 1 : 2 * a->dcap;

		GROW(a->dep_from, cap);
		GROW(a->dep_to, cap);
		GROW(a->dep_idx, cap);
		a->dcap = cap;
	}
	return 0;
}

/* Sort context for children: qsort has no user pointer in C11. */
static const struct ap_span *sort_spans;

static int by_begin(const void *x, const void *y)
{
	const struct ap_span *a = &sort_spans[*(const uint32_t *)x];
	const struct ap_span *b = &sort_spans[*(const uint32_t *)y];

	if (a->t_begin != b->t_begin)
		return a->t_begin < b->t_begin ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Roots and children in begin order; returns the number of roots. */
static uint32_t build_children(struct ap_analysis *a)
{
	const struct ap_span *v = a->v;
	uint32_t n = a->n, nroots = 0, *fill = a->level;	/* level is free until parallelism() */

	memset(a->child_off, 0, ((size_t)n + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		if (a->parent[i] != AP_NONE)
			a->child_off[a->parent[i] + 1]++;
		else
			a->roots[nroots++] = i;
	}
	for (uint32_t i = 0; i < n; i++)
		a->child_off[i + 1] += a->child_off[i];
	memset(fill, 0, (size_t)n * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = a->parent[i];

		if (p != AP_NONE)
			a->child_idx[a->child_off[p] + fill[p]++] = i;
	}
	sort_spans = v;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t first = a->child_off[i], k = a->child_off[i + 1] - first, sorted = 1;

		for (uint32_t j = 1; j < k && sorted; j++)
			sorted = by_begin(&a->child_idx[first + j - 1], &a->child_idx[first + j]) <= 0;
		if (!sorted)
			qsort(&a->child_idx[first], k, sizeof(uint32_t), by_begin);
	}
	return nroots;
}

static uint64_t end_ticks(const struct ap_analysis *a, uint32_t i)
{
	const struct ap_span *sp = &a->v[i];

	if (sp->have & AP_SPAN_HAVE_END)
		return sp->t_end;
	return a->t_last > sp->t_begin ? a->t_last : sp->t_begin;
}

/* Durations (open spans end at the last timestamp of the run: truncated)
 * and self time: duration minus the union of the children's intervals. */
static void durations(struct ap_analysis *a)
{
	const struct ap_span *v = a->v;

	for (uint32_t i = 0; i < a->n; i++)
		if ((v[i].have & AP_SPAN_HAVE_END) && v[i].t_end > a->t_last)
			a->t_last = v[i].t_end;
	for (uint32_t i = 0; i < a->n; i++) {
		a->truncated[i] = !(v[i].have & AP_SPAN_HAVE_END);
		a->truncated_spans += a->truncated[i];
		a->dur[i] = ap_ticks_delta_ns(&a->clock, v[i].t_begin, end_ticks(a, i));
	}
	for (uint32_t i = 0; i < a->n; i++) {
		uint64_t b = v[i].t_begin, e = end_ticks(a, i), covered = 0;
		uint64_t cur_b = 0, cur_e = 0;
		int open = 0;

		for (uint32_t k = a->child_off[i]; k < a->child_off[i + 1]; k++) {
			uint32_t c = a->child_idx[k];
			uint64_t cb = v[c].t_begin, ce = end_ticks(a, c);

			if (cb < b)
				cb = b;
			if (ce > e)
				ce = e;
			if (ce <= cb)
				continue;
			if (open && cb <= cur_e) {
				if (ce > cur_e)
					cur_e = ce;
				continue;
			}
			if (open)
				covered += cur_e - cur_b;
			cur_b = cb;
			cur_e = ce;
			open = 1;
		}
		if (open)
			covered += cur_e - cur_b;
		covered = ap_ticks_delta_ns(&a->clock, 0, covered);
		a->self[i] = a->dur[i] > covered ? a->dur[i] - covered : 0;
	}
}

/* Pre-order of every tree of the trace into order[]. Returns its length. */
static uint32_t preorder(struct ap_analysis *a, uint32_t nroots)
{
	uint32_t len = 0, *stack = a->stack;

	for (uint32_t r = 0; r < nroots; r++) {
		uint32_t sp = 0;

		stack[sp++] = a->roots[r];
		while (sp) {
			uint32_t i = stack[--sp];

			a->order[len++] = i;
			/* Push in reverse so that children come out in begin order. */
			for (uint32_t k = a->child_off[i + 1]; k-- > a->child_off[i];)
				stack[sp++] = a->child_idx[k];
		}
	}
	return len;
}

/* Sibling dependencies: dep_idx[dep_off[i] .. dep_off[i + 1]) for span i;
 * declared[i]: dependencies span i declared, siblings or not. */
static int build_deps(struct ap_analysis *a, const struct ap_trace_view *t)
{
	uint32_t n = a->n, m = 0, *fill = a->order + 0;
	int ret = 0;

	memset(a->dep_off, 0, ((size_t)n + 1) * sizeof(uint32_t));
	memset(a->declared, 0, (size_t)n * sizeof(uint32_t));
	if (!t->ndeps)
		return 0;
	if (ap_map_init(&a->local, n * 2 + 16, 0))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (ap_map_put(&a->local, a->v[i].id, i)) {
			ret = -ENOMEM;
			goto out;
		}
	for (uint32_t k = 0; k < t->ndeps; k++) {
		uint64_t *x = ap_map_get(&a->local, t->deps[k].span);
		uint64_t *y = ap_map_get(&a->local, t->deps[k].on_span);
		uint32_t xi, yi;

		if (!x || !y) {
			a->deps_ignored_own++;	/* a placeholder: never begun */
			continue;
		}
		xi = (uint32_t)*x;
		yi = (uint32_t)*y;
		a->declared[xi]++;
		if (a->parent[xi] == AP_NONE || a->parent[xi] != a->parent[yi]) {
			a->deps_ignored_own++;	/* not siblings: outside the sibling graph */
			continue;
		}
		a->dep_from[m] = xi;
		a->dep_to[m] = yi;
		m++;
		a->dep_off[xi + 1]++;
	}
	for (uint32_t i = 0; i < n; i++)
		a->dep_off[i + 1] += a->dep_off[i];
	/* order[] is rebuilt by preorder() after this; use it as fill. */
	memset(fill, 0, (size_t)n * sizeof(uint32_t));
	for (uint32_t k = 0; k < m; k++)
		a->dep_idx[a->dep_off[a->dep_from[k]] + fill[a->dep_from[k]]++] = a->dep_to[k];
out:
	ap_map_free(&a->local);
	return ret;
}

static void add_group(struct ap_analysis *a, uint64_t parent_name, const uint32_t *members,
		      uint32_t k, int assumed, uint64_t seq, uint64_t par)
{
	const struct ap_span *v = a->v;
	struct ap_group *g = NULL;

	if (k > AP_GROUP_MAX_MEMBERS)
		k = AP_GROUP_MAX_MEMBERS;
	for (uint32_t i = 0; i < a->ngroups && !g; i++) {
		struct ap_group *c = &a->groups[i];
		uint32_t j = 0;

		if (c->parent_name != parent_name || c->nmembers != k)
			continue;
		while (j < k && c->members[j] == v[members[j]].name)
			j++;
		if (j == k)
			g = c;
	}
	if (!g) {
		if (a->ngroups == GROUPS_MAX) {
			a->groups_over_cap++;
			return;
		}
		g = &a->groups[a->ngroups++];
		memset(g, 0, sizeof(*g));
		g->parent_name = parent_name;
		g->nmembers = k;
		for (uint32_t j = 0; j < k; j++)
			g->members[j] = v[members[j]].name;
	}
	g->assumed |= assumed;
	g->occurrences++;
	g->seq_ns += seq;
	g->par_ns += par;
}

static void add_conc(struct ap_analysis *a, uint64_t parent_name, uint64_t child_ns, uint64_t union_ns)
{
	struct ap_conc *c = NULL;

	for (uint32_t i = 0; i < a->nconcs && !c; i++)
		if (a->concs[i].parent_name == parent_name)
			c = &a->concs[i];
	if (!c) {
		if (a->nconcs == CONCS_MAX)
			return;
		c = &a->concs[a->nconcs++];
		memset(c, 0, sizeof(*c));
		c->parent_name = parent_name;
	}
	c->occurrences++;
	c->child_ns += child_ns;
	c->union_ns += union_ns;
}

/* LLM calls one after another among the children of span i. */
static void add_chain(struct ap_analysis *a, uint32_t i)
{
	const struct ap_span *v = a->v;
	uint32_t run = 0, best_run = 0;
	uint64_t prev_end = 0, run_ns = 0, best_ns = 0, shortest = UINT64_MAX;
	struct ap_chain *c = NULL;

	for (uint32_t k = a->child_off[i]; k < a->child_off[i + 1]; k++) {
		uint32_t ch = a->child_idx[k];

		if (v[ch].category != AP_CAT_LLM)
			continue;
		if (run && v[ch].t_begin < prev_end)
			run = 0, run_ns = 0;
		run++;
		run_ns += a->dur[ch];
		if (a->dur[ch] < shortest)
			shortest = a->dur[ch];
		prev_end = end_ticks(a, ch);
		if (run > best_run) {
			best_run = run;
			best_ns = run_ns;
		}
	}
	if (best_run < a->rules.llm_chain || best_run < 2)
		return;
	for (uint32_t j = 0; j < a->nchains && !c; j++)
		if (a->chains[j].parent_name == v[i].name)
			c = &a->chains[j];
	if (!c) {
		if (a->nchains == CHAINS_MAX)
			return;
		c = &a->chains[a->nchains++];
		memset(c, 0, sizeof(*c));
		c->parent_name = v[i].name;
	}
	if (best_run > c->run)
		c->run = best_run;
	c->occurrences++;
	c->run_ns += best_ns;
	c->shortest_ns += shortest;
}

/*
 * Children before parents (reverse pre-order): for span i, the finish time
 * of each child through the sibling dependency graph, its bound, its
 * levels and groups.
 */
static void parallelism(struct ap_analysis *a, uint32_t len)
{
	const struct ap_span *v = a->v;
	uint32_t *level = a->level, *scratch = a->stack;

	for (uint32_t o = len; o-- > 0;) {
		uint32_t i = a->order[o], first = a->child_off[i], last = a->child_off[i + 1];
		uint64_t longest = 0, child_ns = 0, union_ns = 0, cur_e = 0;
		uint32_t max_level = 0;

		for (uint32_t k = first; k < last; k++) {
			uint32_t c = a->child_idx[k];
			uint64_t start = 0, cb, ce;

			level[c] = 0;
			for (uint32_t e = a->dep_off[c]; e < a->dep_off[c + 1]; e++) {
				uint32_t dep = a->dep_idx[e];

				if (v[dep].t_begin > v[c].t_begin ||
				    (v[dep].t_begin == v[c].t_begin && v[dep].id >= v[c].id)) {
					a->deps_ignored_own++;	/* on a later sibling: no order known */
					continue;
				}
				if (a->finish[dep] > start)
					start = a->finish[dep];
				if (level[dep] + 1 > level[c])
					level[c] = level[dep] + 1;
			}
			a->finish[c] = start + a->best[c];
			if (a->finish[c] > longest)
				longest = a->finish[c];
			if (level[c] > max_level)
				max_level = level[c];
			/* Measured overlap: children sorted by begin. */
			child_ns += a->dur[c];
			cb = v[c].t_begin;
			ce = end_ticks(a, c);
			if (k == first || cb >= cur_e)
				union_ns += ap_ticks_delta_ns(&a->clock, cb, ce);
			else if (ce > cur_e)
				union_ns += ap_ticks_delta_ns(&a->clock, cur_e, ce);
			if (k == first || ce > cur_e)
				cur_e = ce;
		}
		a->best[i] = a->self[i] + longest;
		if (last - first < 2)
			continue;
		add_conc(a, v[i].name, child_ns, union_ns);
		add_chain(a, i);
		/* Groups: children of one level that ran one after another. */
		for (uint32_t lv = 0; lv <= max_level && lv < 64; lv++) {
			uint32_t k = 0, sequential = 1, assumed = 0;
			uint64_t seq = 0, par = 0, prev_end = 0;

			for (uint32_t e = first; e < last; e++) {
				uint32_t c = a->child_idx[e];

				if (level[c] != lv)
					continue;
				if (k && v[c].t_begin < prev_end)
					sequential = 0;
				prev_end = end_ticks(a, c);
				scratch[k++] = c;
				seq += a->dur[c];
				if (a->dur[c] > par)
					par = a->dur[c];
				assumed |= a->declared[c] == 0;
			}
			if (k >= 2 && sequential)
				add_group(a, v[i].name, scratch, k, (int)assumed, seq, par);
		}
	}
}

static uint64_t op_key(uint64_t name, uint8_t cat)
{
	uint64_t k = ap_mix64(name ^ ((uint64_t)cat + 1) * UINT64_C(0x9e3779b97f4a7c15));

	return k ? k : 1;
}

static struct ap_op *op_of(struct ap_analysis *a, uint64_t name, uint8_t cat)
{
	uint64_t key = op_key(name, cat), *idx = ap_map_get(&a->op_index, key);
	struct ap_op *op;

	if (idx)
		return &a->ops[*idx];
	if (a->nops == a->ops_cap) {
		uint32_t cap = a->ops_cap ? a->ops_cap * 2 : 16;
		struct ap_op *p;

		if (cap > OPS_MAX || !(p = realloc(a->ops, cap * sizeof(*p))))
			return NULL;
		a->ops = p;
		a->ops_cap = cap;
	}
	if (ap_map_put(&a->op_index, key, a->nops))
		return NULL;
	op = &a->ops[a->nops++];
	memset(op, 0, sizeof(*op));
	op->name = name;
	op->category = cat;
	return op;
}

static void add_tokens(struct ap_analysis *a, const struct ap_span *sp)
{
	struct ap_model_use *m = NULL;
	uint64_t window;
	double pct = 0;

	a->llm_calls++;
	a->total_input += sp->input_tokens;
	a->total_output += sp->output_tokens;
	if (a->ncalls < AP_CALLS_MAX)
		a->calls[a->ncalls++] = (struct ap_call){ .name = sp->name, .model = sp->model,
							  .input = sp->input_tokens,
							  .output = sp->output_tokens };
	else
		a->calls_over_cap++;
	for (uint32_t i = 0; i < a->nmodels_used && !m; i++)
		if (a->models_used[i].model == sp->model)
			m = &a->models_used[i];
	if (!m) {
		if (a->nmodels_used == MODELS_USED_MAX)
			return;
		m = &a->models_used[a->nmodels_used++];
		memset(m, 0, sizeof(*m));
		m->model = sp->model;
		m->window = ap_model_window(a, sp->model);
	}
	m->calls++;
	m->input += sp->input_tokens;
	m->output += sp->output_tokens;
	window = m->window;
	if (!window)
		return;
	pct = 100.0 * (double)sp->input_tokens / (double)window;
	if (pct > m->max_context_pct)
		m->max_context_pct = pct;
	if (pct > a->rules.context_pct && !a->have_context_hit) {
		a->have_context_hit = 1;
		a->context_hit = (struct ap_call){ .name = sp->name, .model = sp->model,
						   .input = sp->input_tokens, .output = sp->output_tokens };
		a->context_window = window;
	}
}

static void add_thread(struct ap_analysis *a, const struct ap_span *sp, uint64_t self)
{
	uint64_t key = ((uint64_t)sp->pid << 32 | sp->tid_begin) ^ (UINT64_C(1) << 63);
	uint64_t *idx = ap_map_get(&a->thread_index, key);
	struct ap_thread_row *t;

	if (idx) {
		t = &a->threads[*idx];
	} else {
		if (a->nthreads == THREADS_MAX || ap_map_put(&a->thread_index, key, a->nthreads)) {
			a->threads_over_cap++;
			return;
		}
		t = &a->threads[a->nthreads++];
		memset(t, 0, sizeof(*t));
		t->pid = sp->pid;
		t->tid = sp->tid_begin;
	}
	t->spans++;
	t->busy_ns += self;
}

/* Flame path of span i: (parent's path, name, category). */
static void add_path(struct ap_analysis *a, uint32_t i)
{
	const struct ap_span *sp = &a->v[i];
	uint32_t pp = a->parent[i] == AP_NONE ? AP_NONE : a->path_of[a->parent[i]];
	uint64_t key, *idx;

	a->path_of[i] = AP_NONE;
	if (a->parent[i] != AP_NONE && pp == AP_NONE)
		return;		/* the parent's path did not fit (counted there) */
	key = ap_mix64(ap_mix64((uint64_t)pp + 2) ^ sp->name) ^ sp->category;
	key = key ? key : 1;
	idx = ap_map_get(&a->path_index, key);
	if (!idx) {
		if (a->npaths == PATHS_MAX || ap_map_put(&a->path_index, key, a->npaths)) {
			a->paths_over_cap++;
			return;
		}
		a->paths[a->npaths] = (struct ap_path){ .parent = pp, .name = sp->name,
							 .category = sp->category };
		a->path_of[i] = a->npaths++;
	} else {
		a->path_of[i] = (uint32_t)*idx;
	}
	a->paths[a->path_of[i]].total_ns += a->dur[i];
	a->paths[a->path_of[i]].count++;
}

/* Per-span aggregates, in pre-order (parents before children). Returns the
 * slowest root. */
static uint32_t aggregates(struct ap_analysis *a, uint32_t len)
{
	const struct ap_span *v = a->v;
	uint64_t slow = (uint64_t)(a->rules.slow_tool_ms * 1e6), slowest = 0;
	uint32_t slowest_root = AP_NONE, tree_truncated = 0;

	for (uint32_t o = 0; o < len; o++) {
		uint32_t i = a->order[o];
		const struct ap_span *sp = &v[i];
		struct ap_op *op = op_of(a, sp->name, sp->category);

		if (a->parent[i] == AP_NONE) {
			if (o)
				a->traces_complete += !tree_truncated;
			tree_truncated = 0;
			a->traces++;
			a->total_trace_ns += a->dur[i];
			a->critical_ns += a->best[i];
			if (slowest_root == AP_NONE || a->dur[i] > slowest) {
				slowest = a->dur[i];
				slowest_root = i;
			}
		}
		tree_truncated |= a->truncated[i];
		a->trace_truncated |= a->truncated[i];
		a->trace_tokens += (uint64_t)sp->input_tokens + sp->output_tokens;
		a->spans_in_trees++;
		a->cat_self[sp->category] += a->self[i];
		a->total_self_ns += a->self[i];
		if (op) {
			op->count++;
			op->total_ns += a->dur[i];
			op->self_ns += a->self[i];
			op->input_tokens += sp->input_tokens;
			op->output_tokens += sp->output_tokens;
			if (sp->category == AP_CAT_TOOL && a->dur[i] > slow) {
				op->slow_n++;
				op->slow_over_ns += a->dur[i] - slow;
			}
			ap_hist_add(&op->hist, a->dur[i]);
		} else {
			a->ops_over_cap++;
		}
		if (sp->have & AP_SPAN_HAVE_TOKENS)
			add_tokens(a, sp);
		add_thread(a, sp, a->self[i]);
		add_path(a, i);
	}
	if (len)
		a->traces_complete += !tree_truncated;
	return slowest_root;
}

/* Copy n elements of src into a new array at *dst. */
#define DUP(dst, src, n) (((dst) = malloc((size_t)(n) * sizeof(*(src)))) ? \
	(memcpy((dst), (src), (size_t)(n) * sizeof(*(src))), 0) : -1)

void ap_keep_default(struct ap_keep_cfg *c)
{
	c->max_traces = 100;
	c->max_per_root = 20;
	c->slowest = 5;
	c->token_threshold = 100000;
	c->max_spans = 262144;
	c->seed = 0x5eed;
}

const char *ap_keep_rule_name(int rule)
{
	static const char *const names[AP_KEEP_RULES] = { "none", "truncated", "tokens", "slowest", "reservoir" };

	return rule >= 0 && rule < AP_KEEP_RULES ? names[rule] : "none";
}

static uint64_t rng_below(struct ap_analysis *a, uint64_t n)
{
	a->rng += UINT64_C(0x9e3779b97f4a7c15);
	return ap_mix64(a->rng) % n;	/* n is small: the bias is below 2^-40 */
}

static struct ap_root_stat *root_stat(struct ap_analysis *a, uint64_t name)
{
	uint64_t *v = ap_map_get(&a->root_index, name);
	struct ap_root_stat *r;

	if (v)
		return &a->root_stats[*v - 1];
	if (a->nroot_stats == ROOTS_MAX || ap_map_put_new(&a->root_index, name, a->nroot_stats + 1))
		return NULL;
	r = &a->root_stats[a->nroot_stats++];
	r->name = name;
	r->kept = r->slowest = r->res_kept = 0;
	r->slowest_min = 0;
	r->res_seen = 0;
	return r;
}

/* The key a pool orders its members by. */
static uint64_t keep_key(const struct ap_kept *k)
{
	return k->rule == AP_KEEP_TOKENS ? k->tokens : k->root_dur;
}

/* Recompute the cached minimum of a pool (truncated, tokens) or of one root
 * name's slowest members. Runs on admissions only, which are rare. */
static void pool_refresh(struct ap_analysis *a, int rule, struct ap_root_stat *rs)
{
	uint64_t lo = UINT64_MAX;

	for (uint32_t i = 0; i < a->nkept; i++) {
		const struct ap_kept *k = &a->kept[i];

		if (k->rule == rule && (rule != AP_KEEP_SLOWEST || k->root_name == rs->name) && keep_key(k) < lo)
			lo = keep_key(k);
	}
	if (rule == AP_KEEP_SLOWEST)
		rs->slowest_min = lo;
	else
		a->pool_min[rule] = lo;
}

/* The pool member with the smallest key (the one a better trace replaces). */
static uint32_t pool_victim(const struct ap_analysis *a, int rule, uint64_t name)
{
	uint32_t v = AP_NONE;

	for (uint32_t i = 0; i < a->nkept; i++) {
		const struct ap_kept *k = &a->kept[i];

		if (k->rule == rule && (rule != AP_KEEP_SLOWEST || k->root_name == name) &&
		    (v == AP_NONE || keep_key(k) < keep_key(&a->kept[v])))
			v = i;
	}
	return v;
}

/* The j-th reservoir member (of name, when name is not 0). */
static uint32_t reservoir_member(const struct ap_analysis *a, uint64_t j, uint64_t name)
{
	for (uint32_t i = 0; i < a->nkept; i++)
		if (a->kept[i].rule == AP_KEEP_RESERVOIR && (!name || a->kept[i].root_name == name) && j-- == 0)
			return i;
	return AP_NONE;
}

static void drop_kept(struct ap_analysis *a, uint32_t i)
{
	struct ap_kept *k = &a->kept[i];
	struct ap_root_stat *rs = root_stat(a, k->root_name);

	a->kept_by[k->rule]--;
	a->kept_spans -= k->n;
	if (rs) {
		rs->kept--;
		rs->slowest -= k->rule == AP_KEEP_SLOWEST;
		rs->res_kept -= k->rule == AP_KEEP_RESERVOIR;
	}
	kept_free(k);
	a->kept[i] = a->kept[--a->nkept];
	memset(&a->kept[a->nkept], 0, sizeof(a->kept[a->nkept]));
}

/* Evict a random reservoir member (of rs's name when by_name); the
 * reservoir stays a uniform sample of what was offered to it, one smaller. */
static int evict_reservoir(struct ap_analysis *a, const struct ap_root_stat *rs, int by_name)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < a->nkept; i++)
		n += a->kept[i].rule == AP_KEEP_RESERVOIR && (!by_name || a->kept[i].root_name == rs->name);
	if (!n)
		return -1;
	i = reservoir_member(a, rng_below(a, n), by_name ? rs->name : 0);
	drop_kept(a, i);
	a->res_full = 1;
	return 0;
}

/* Make room for a new trace of rs's name with n spans, in place of `victim`
 * (AP_NONE: a new slot). Takes reservoir members where the caps require.
 * 0 when the trace fits now. */
static int make_room(struct ap_analysis *a, struct ap_root_stat *rs, uint32_t n, uint32_t victim)
{
	const struct ap_keep_cfg *c = &a->keep;

	if (victim != AP_NONE)
		drop_kept(a, victim);
	while (rs->kept >= c->max_per_root)
		if (evict_reservoir(a, rs, 1))
			return -1;
	while (a->nkept >= c->max_traces || a->kept_spans + n > c->max_spans)
		if (evict_reservoir(a, rs, 0))
			return -1;
	return 0;
}

static void keep_copy(struct ap_analysis *a, struct ap_root_stat *rs, uint32_t root, int rule)
{
	struct ap_kept k = { 0 };
	uint32_t n = a->n;

	if (DUP(k.v, a->v, n) || DUP(k.parent, a->parent, n) || DUP(k.child_off, a->child_off, n + 1) ||
	    DUP(k.child_idx, a->child_idx, n ? n : 1) || DUP(k.dur, a->dur, n) || DUP(k.self, a->self, n) ||
	    DUP(k.truncated, a->truncated, n)) {
		kept_free(&k);
		a->traces_not_kept_nomem++;
		return;
	}
	k.n = n;
	k.root = root;
	k.root_dur = a->dur[root];
	k.root_name = rs->name;
	k.tokens = a->trace_tokens;
	k.rule = (uint8_t)rule;
	a->kept[a->nkept++] = k;
	a->kept_by[rule]++;
	a->kept_spans += n;
	rs->kept++;
	rs->slowest += rule == AP_KEEP_SLOWEST;
	rs->res_kept += rule == AP_KEEP_RESERVOIR;
}

/* A pool member pushed out by a better trace moves to the reservoir while
 * the reservoir still takes every trace offered (nothing sampled out yet)
 * and the caps leave room for the newcomer too: a short run keeps every
 * trace that fits. 1 when it moved. */
static int demote(struct ap_analysis *a, uint32_t i)
{
	const struct ap_keep_cfg *c = &a->keep;
	struct ap_kept *k = &a->kept[i];
	struct ap_root_stat *vs = root_stat(a, k->root_name);

	if (a->res_full || !vs || a->nkept >= c->max_traces || a->kept_spans + a->n > c->max_spans)
		return 0;
	a->kept_by[k->rule]--;
	vs->slowest -= k->rule == AP_KEEP_SLOWEST;
	k->rule = AP_KEEP_RESERVOIR;
	a->kept_by[AP_KEEP_RESERVOIR]++;
	vs->res_kept++;
	vs->res_seen++;
	a->res_seen++;
	return 1;
}

/* Offer the trace to a top-N pool (truncated, tokens, or the slowest of its
 * root name). 1 when the pool took it. */
static int offer_pool(struct ap_analysis *a, struct ap_root_stat *rs, uint32_t root, int rule, uint64_t key)
{
	const struct ap_keep_cfg *c = &a->keep;
	uint32_t quota, held, victim = AP_NONE;
	uint64_t lo;
	int full;

	if (rule == AP_KEEP_SLOWEST) {
		quota = c->slowest;
		held = rs->slowest;
		lo = rs->slowest_min;
	} else {
		quota = c->max_traces / 10 ? c->max_traces / 10 : 1;
		held = (uint32_t)a->kept_by[rule];
		lo = a->pool_min[rule];
	}
	full = held >= quota;
	if (rule == AP_KEEP_SLOWEST && !full && a->kept_by[AP_KEEP_SLOWEST] >= c->max_traces / 2) {
		if (!held)
			return 0;	/* the rule's slots are all taken by other names */
		full = 1;
	}
	if (!quota)
		return 0;
	if (full) {
		if (key <= lo)
			return 0;
		victim = pool_victim(a, rule, rs->name);
		if (victim != AP_NONE && demote(a, victim))
			victim = AP_NONE;	/* it stays, in the reservoir */
	}
	if (make_room(a, rs, a->n, victim))
		return 0;
	keep_copy(a, rs, root, rule);
	pool_refresh(a, rule, rs);
	return 1;
}

/* Put the trace in place of reservoir member `victim` if the spans fit. */
static void replace_member(struct ap_analysis *a, struct ap_root_stat *rs, uint32_t root, uint32_t victim)
{
	if (victim == AP_NONE || a->kept_spans - a->kept[victim].n + a->n > a->keep.max_spans)
		return;
	drop_kept(a, victim);
	keep_copy(a, rs, root, AP_KEEP_RESERVOIR);
}

/*
 * Reservoir sampling over the traces no rule took. While every trace offered
 * has fitted, take the next; after that, the n-th trace offered replaces a
 * random member with probability size / n. A root name at its cap samples
 * the same way among its own members, so each root name's members are a
 * uniform sample of that name's traces.
 */
static void offer_reservoir(struct ap_analysis *a, struct ap_root_stat *rs, uint32_t root)
{
	const struct ap_keep_cfg *c = &a->keep;
	uint64_t size = a->kept_by[AP_KEEP_RESERVOIR], j;

	a->res_seen++;
	rs->res_seen++;
	if (rs->kept >= c->max_per_root) {
		if (rs->res_kept && (j = rng_below(a, rs->res_seen)) < rs->res_kept)
			replace_member(a, rs, root, reservoir_member(a, j, rs->name));
		return;
	}
	if (!a->res_full) {
		if (a->nkept < c->max_traces && a->kept_spans + a->n <= c->max_spans) {
			keep_copy(a, rs, root, AP_KEEP_RESERVOIR);
			return;
		}
		a->res_full = 1;
	}
	if (size && (j = rng_below(a, a->res_seen)) < size)
		replace_member(a, rs, root, reservoir_member(a, j, 0));
}

/* Decide whether the trace being folded in is kept whole, and by which rule. */
static void keep(struct ap_analysis *a, uint32_t root)
{
	const struct ap_keep_cfg *c = &a->keep;
	struct ap_root_stat *rs;

	if (!c->max_traces || a->n > AP_KEPT_SPANS_MAX || a->n > c->max_spans)
		return;
	rs = root_stat(a, a->v[root].name);
	if (!rs) {
		a->root_names_over_cap++;
		return;
	}
	if (a->trace_truncated && offer_pool(a, rs, root, AP_KEEP_TRUNCATED, a->dur[root]))
		return;
	if (c->token_threshold && a->trace_tokens >= c->token_threshold &&
	    offer_pool(a, rs, root, AP_KEEP_TOKENS, a->trace_tokens))
		return;
	if (c->slowest && (rs->slowest < c->slowest || a->dur[root] > rs->slowest_min) &&
	    offer_pool(a, rs, root, AP_KEEP_SLOWEST, a->dur[root]))
		return;
	offer_reservoir(a, rs, root);
}

/* Exchange the trace being folded in (its per-trace arrays) between a and b. */
static void swap_trace(struct ap_analysis *a, struct ap_analysis *b)
{
#define SWAP(f) do { __typeof__(a->f) t_ = a->f; a->f = b->f; b->f = t_; } while (0)
	SWAP(v);
	SWAP(parent);
	SWAP(n);
	SWAP(child_off);
	SWAP(child_idx);
	SWAP(dur);
	SWAP(self);
	SWAP(truncated);
	SWAP(trace_tokens);
	SWAP(trace_truncated);
#undef SWAP
}

/* dst decides whether to keep the trace src has just analysed, from src's
 * per-trace arrays: only keep() reads them, and only for this call. */
static void keep_for(struct ap_analysis *dst, struct ap_analysis *src, uint32_t root)
{
	swap_trace(dst, src);
	keep(dst, root);
	swap_trace(dst, src);
}

void ap_analysis_add(void *ctx, const struct ap_trace_view *t)
{
	struct ap_analysis *a = ctx;
	uint32_t nroots, len, root;

	if (!t->n)
		return;
	if (grow_scratch(a, t->n, t->ndeps)) {
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
	if (!t->complete)
		a->traces_incomplete_handed++;
	if (t->n > a->largest_trace)
		a->largest_trace = t->n;
	nroots = build_children(a);
	durations(a);
	if (build_deps(a, t)) {
		a->traces_skipped++;
		a->spans_skipped += t->n;
		return;
	}
	len = preorder(a, nroots);
	parallelism(a, len);
	root = aggregates(a, len);
	if (root != AP_NONE)
		keep(a, root);
	if (root != AP_NONE && a->retain_too)
		keep_for(a->retain_too, a, root);
	a->v = NULL;
	a->parent = NULL;
}

/* Fold what src counted into dst, in src's order of first appearance, so
 * that dst ends as if it had been fed src's traces itself. */
static void merge_ops(struct ap_analysis *dst, const struct ap_analysis *src)
{
	for (uint32_t i = 0; i < src->nops; i++) {
		const struct ap_op *s = &src->ops[i];
		struct ap_op *d = op_of(dst, s->name, s->category);

		if (!d) {
			dst->ops_over_cap += s->count;
			continue;
		}
		d->count += s->count;
		d->total_ns += s->total_ns;
		d->self_ns += s->self_ns;
		d->input_tokens += s->input_tokens;
		d->output_tokens += s->output_tokens;
		d->slow_n += s->slow_n;
		d->slow_over_ns += s->slow_over_ns;
		ap_hist_merge(&d->hist, &s->hist);
	}
	dst->ops_over_cap += src->ops_over_cap;
}

static void merge_structure(struct ap_analysis *dst, const struct ap_analysis *src)
{
	for (uint32_t i = 0; i < src->ngroups; i++) {
		const struct ap_group *s = &src->groups[i];
		struct ap_group *g = NULL;

		for (uint32_t k = 0; k < dst->ngroups && !g; k++)
			if (dst->groups[k].parent_name == s->parent_name && dst->groups[k].nmembers == s->nmembers &&
			    !memcmp(dst->groups[k].members, s->members, s->nmembers * sizeof(s->members[0])))
				g = &dst->groups[k];
		if (!g) {
			if (dst->ngroups == GROUPS_MAX) {
				dst->groups_over_cap += s->occurrences;
				continue;
			}
			g = &dst->groups[dst->ngroups++];
			*g = *s;
			continue;
		}
		g->assumed |= s->assumed;
		g->occurrences += s->occurrences;
		g->seq_ns += s->seq_ns;
		g->par_ns += s->par_ns;
	}
	dst->groups_over_cap += src->groups_over_cap;
	for (uint32_t i = 0; i < src->nconcs; i++) {
		const struct ap_conc *s = &src->concs[i];
		struct ap_conc *c = NULL;

		for (uint32_t k = 0; k < dst->nconcs && !c; k++)
			if (dst->concs[k].parent_name == s->parent_name)
				c = &dst->concs[k];
		if (!c) {
			if (dst->nconcs < CONCS_MAX)
				dst->concs[dst->nconcs++] = *s;
			continue;
		}
		c->occurrences += s->occurrences;
		c->child_ns += s->child_ns;
		c->union_ns += s->union_ns;
	}
	for (uint32_t i = 0; i < src->nchains; i++) {
		const struct ap_chain *s = &src->chains[i];
		struct ap_chain *c = NULL;

		for (uint32_t k = 0; k < dst->nchains && !c; k++)
			if (dst->chains[k].parent_name == s->parent_name)
				c = &dst->chains[k];
		if (!c) {
			if (dst->nchains < CHAINS_MAX)
				dst->chains[dst->nchains++] = *s;
			continue;
		}
		if (s->run > c->run)
			c->run = s->run;
		c->occurrences += s->occurrences;
		c->run_ns += s->run_ns;
		c->shortest_ns += s->shortest_ns;
	}
}

static void merge_tokens(struct ap_analysis *dst, const struct ap_analysis *src)
{
	uint32_t take = AP_CALLS_MAX - dst->ncalls;

	dst->llm_calls += src->llm_calls;
	dst->total_input += src->total_input;
	dst->total_output += src->total_output;
	if (take > src->ncalls)
		take = src->ncalls;
	memcpy(&dst->calls[dst->ncalls], src->calls, take * sizeof(src->calls[0]));
	dst->ncalls += take;
	dst->calls_over_cap += src->ncalls - take + src->calls_over_cap;
	for (uint32_t i = 0; i < src->nmodels_used; i++) {
		const struct ap_model_use *s = &src->models_used[i];
		struct ap_model_use *m = NULL;

		for (uint32_t k = 0; k < dst->nmodels_used && !m; k++)
			if (dst->models_used[k].model == s->model)
				m = &dst->models_used[k];
		if (!m) {
			if (dst->nmodels_used < MODELS_USED_MAX)
				dst->models_used[dst->nmodels_used++] = *s;
			continue;
		}
		m->calls += s->calls;
		m->input += s->input;
		m->output += s->output;
		if (s->max_context_pct > m->max_context_pct)
			m->max_context_pct = s->max_context_pct;
	}
	if (!dst->have_context_hit && src->have_context_hit) {
		dst->have_context_hit = 1;
		dst->context_hit = src->context_hit;
		dst->context_window = src->context_window;
	}
}

static void merge_threads(struct ap_analysis *dst, const struct ap_analysis *src)
{
	for (uint32_t i = 0; i < src->nthreads; i++) {
		const struct ap_thread_row *s = &src->threads[i];
		uint64_t key = ((uint64_t)s->pid << 32 | s->tid) ^ (UINT64_C(1) << 63);
		uint64_t *idx = ap_map_get(&dst->thread_index, key);
		struct ap_thread_row *t;

		if (idx) {
			t = &dst->threads[*idx];
		} else {
			if (dst->nthreads == THREADS_MAX || ap_map_put(&dst->thread_index, key, dst->nthreads)) {
				dst->threads_over_cap += s->spans;
				continue;
			}
			t = &dst->threads[dst->nthreads++];
			memset(t, 0, sizeof(*t));
			t->pid = s->pid;
			t->tid = s->tid;
		}
		t->spans += s->spans;
		t->busy_ns += s->busy_ns;
	}
	dst->threads_over_cap += src->threads_over_cap;
}

/* Paths are made parents first, so a parent's index is below its
 * children's: one pass maps src's indexes to dst's. */
static int merge_paths(struct ap_analysis *dst, const struct ap_analysis *src)
{
	uint32_t *map = malloc((src->npaths ? src->npaths : 1) * sizeof(*map));

	if (!map)
		return -ENOMEM;
	for (uint32_t i = 0; i < src->npaths; i++) {
		const struct ap_path *s = &src->paths[i];
		uint32_t pp = s->parent == AP_NONE ? AP_NONE : map[s->parent];
		uint64_t key, *idx;

		map[i] = AP_NONE;
		if (s->parent != AP_NONE && pp == AP_NONE)
			continue;
		key = ap_mix64(ap_mix64((uint64_t)pp + 2) ^ s->name) ^ s->category;
		key = key ? key : 1;
		idx = ap_map_get(&dst->path_index, key);
		if (!idx) {
			if (dst->npaths == PATHS_MAX || ap_map_put(&dst->path_index, key, dst->npaths)) {
				dst->paths_over_cap += s->count;
				continue;
			}
			dst->paths[dst->npaths] = (struct ap_path){ .parent = pp, .name = s->name,
								     .category = s->category };
			map[i] = dst->npaths++;
		} else {
			map[i] = (uint32_t)*idx;
		}
		dst->paths[map[i]].total_ns += s->total_ns;
		dst->paths[map[i]].count += s->count;
	}
	dst->paths_over_cap += src->paths_over_cap;
	free(map);
	return 0;
}

int ap_analysis_merge(struct ap_analysis *dst, const struct ap_analysis *src)
{
	dst->traces += src->traces;
	dst->traces_complete += src->traces_complete;
	dst->spans_in_trees += src->spans_in_trees;
	dst->truncated_spans += src->truncated_spans;
	dst->deps_ignored_own += src->deps_ignored_own;
	if (src->largest_trace > dst->largest_trace)
		dst->largest_trace = src->largest_trace;
	dst->traces_incomplete_handed += src->traces_incomplete_handed;
	dst->traces_recorded += src->traces_recorded;
	dst->traces_skipped += src->traces_skipped;
	dst->spans_skipped += src->spans_skipped;
	for (int c = 0; c < AP_CAT_COUNT; c++)
		dst->cat_self[c] += src->cat_self[c];
	dst->total_self_ns += src->total_self_ns;
	dst->total_trace_ns += src->total_trace_ns;
	dst->critical_ns += src->critical_ns;
	merge_ops(dst, src);
	merge_structure(dst, src);
	merge_tokens(dst, src);
	merge_threads(dst, src);
	return merge_paths(dst, src);
}

const struct ap_kept *ap_analysis_find(const struct ap_analysis *a, uint64_t id, uint32_t *idx)
{
	for (uint32_t k = 0; k < a->nkept; k++)
		for (uint32_t i = 0; i < a->kept[k].n; i++)
			if (a->kept[k].v[i].id == id) {
				*idx = i;
				return &a->kept[k];
			}
	return NULL;
}

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

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Bottleneck rules; savings are per trace (means over the traces). */
/* Slowest first; ties by root name, then span id: a stable order for the report. */
struct kept_key {
	uint64_t dur, name, id;
	uint32_t idx;
};

static int cmp_kept(const void *x, const void *y)
{
	const struct kept_key *p = x, *q = y;

	if (p->dur != q->dur)
		return p->dur < q->dur ? 1 : -1;
	if (p->name != q->name)
		return p->name < q->name ? -1 : 1;
	return (p->id > q->id) - (p->id < q->id);
}

/* The order of the kept traces, slowest first, without moving them: the
 * reservoir goes on drawing over the same positions after a periodic report,
 * so that a replay of the log keeps what the run kept. */
static void order_kept(struct ap_analysis *a)
{
	struct kept_key *k = malloc((a->nkept ? a->nkept : 1) * sizeof(*k));

	if (!k) {
		for (uint32_t i = 0; i < a->nkept; i++)
			a->kept_order[i] = i;	/* unsorted beats none */
		return;
	}
	for (uint32_t i = 0; i < a->nkept; i++)
		k[i] = (struct kept_key){ a->kept[i].root_dur, a->kept[i].root_name,
					  a->kept[i].v[a->kept[i].root].id, i };
	qsort(k, a->nkept, sizeof(*k), cmp_kept);
	for (uint32_t i = 0; i < a->nkept; i++)
		a->kept_order[i] = k[i].idx;
	free(k);
}

const struct ap_kept *ap_analysis_kept(const struct ap_analysis *a, uint32_t i)
{
	return i < a->nkept ? &a->kept[a->kept_order[i]] : NULL;
}

void ap_analysis_end(struct ap_analysis *a, const struct ap_assembler *as)
{
	double total = (double)a->total_self_ns, traces = a->traces ? (double)a->traces : 1;
	const struct ap_op *top_llm = NULL;
	struct ap_finding *f;

	order_kept(a);
	a->orphans = as->orphans;
	a->self_parents = as->self_parents;
	a->cycles = as->cycles;
	a->deps_ignored = a->deps_ignored_own + as->deps_ignored;
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
		f->saving_ms = ms(top_llm->total_ns) / 2 / traces;
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
			f->saving_ms = ms(op->self_ns) / 2 / traces;
		}
		if (op->slow_n && (f = finding(a, "slow_tool", op->name))) {
			snprintf(f->message, sizeof(f->message), "%s took longer than %.0f ms in %llu of %llu calls (max %.1f ms)",
				 f->span, a->rules.slow_tool_ms, (unsigned long long)op->slow_n,
				 (unsigned long long)op->count, ms(op->hist.max));
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "set a timeout of %.0f ms with a fallback, or run it asynchronously; saving is the time above it",
				 a->rules.slow_tool_ms);
			f->saving_ms = ms(op->slow_over_ns) / traces;
		}
	}
	for (uint32_t i = 0; i < a->nchains; i++) {
		const struct ap_chain *c = &a->chains[i];

		if (!(f = finding(a, "llm_chain", c->parent_name)))
			break;
		snprintf(f->message, sizeof(f->message),
			 "%u LLM calls run one after another under %s (%.1f ms on average, in %llu of %llu traces)",
			 c->run, f->span, ms(c->run_ns) / (double)c->occurrences,
			 (unsigned long long)c->occurrences, (unsigned long long)a->traces);
		snprintf(f->suggestion, sizeof(f->suggestion),
			 "merge calls that share context into one prompt, or run independent ones concurrently; saving assumes the shortest call is absorbed");
		f->saving_ms = ms(c->shortest_ns) / traces;
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
