/* SPDX-License-Identifier: MIT */
/*
 * tree.c - the passes over one trace, each linear in its size and none
 * recursive:
 *  1. roots, and children in begin order (counting sort into one array,
 *     then a sort per parent unless already in order);
 *  2. durations (open spans end at the last timestamp seen: truncated) and
 *     self time: duration minus the union of the children's intervals, so
 *     concurrent children are not counted twice;
 *  3. a pre-order from every root, then the reverse of it, which visits
 *     children before parents: critical-path bound and parallel groups.
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
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "span_union.h"

#define GROW(ptr, n) do {						\
	void *p_ = realloc((ptr), (size_t)(n) * sizeof(*(ptr)));	\
	if (!p_)							\
		return -ENOMEM;						\
	(ptr) = p_;							\
} while (0)

int ap_an_grow(struct ap_analysis *a, uint32_t n, uint32_t nd)
{
	if (n + 2 > a->scap) {		/* child_off: n + 2 while children are placed */
		uint32_t cap = n + 2 > 2 * a->scap ? n + 2 : 2 * a->scap;

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

/* Children by begin time, then span id: qsort_r's comparator, the spans
 * passed as its argument (no process-global sort state). */
static int by_begin(const void *x, const void *y, void *arg)
{
	const struct ap_span *v = arg;
	const struct ap_span *a = &v[*(const uint32_t *)x];
	const struct ap_span *b = &v[*(const uint32_t *)y];

	if (a->t_begin != b->t_begin)
		return a->t_begin < b->t_begin ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Counting sort by parent, in index order within a parent: the children of
 * p are counted in child_off[p + 2], summed so that child_off[p + 1] is
 * where they start, and placed with child_off[p + 1]++, which leaves it
 * where they end, the start of p + 1's. */
uint32_t ap_an_children(struct ap_analysis *a)
{
	uint32_t n = a->n, nroots = 0, *off = a->child_off;
	void *spans = (void *)a->v;

	memset(off, 0, ((size_t)n + 2) * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		if (a->parent[i] != AP_NONE)
			off[a->parent[i] + 2]++;
		else
			a->roots[nroots++] = i;
	}
	for (uint32_t i = 2; i < n + 2; i++)
		off[i] += off[i - 1];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = a->parent[i];

		if (p != AP_NONE)
			a->child_idx[off[p + 1]++] = i;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t first = a->child_off[i], k = a->child_off[i + 1] - first, sorted = 1;

		for (uint32_t j = 1; j < k && sorted; j++)
			sorted = by_begin(&a->child_idx[first + j - 1], &a->child_idx[first + j], spans) <= 0;
		if (!sorted)
			qsort_r(&a->child_idx[first], k, sizeof(uint32_t), by_begin, spans);
	}
	return nroots;
}

void ap_an_durations(struct ap_analysis *a)
{
	const struct ap_span *v = a->v;

	for (uint32_t i = 0; i < a->n; i++)
		if ((v[i].have & AP_SPAN_HAVE_END) && v[i].t_end > a->t_last)
			a->t_last = v[i].t_end;
	for (uint32_t i = 0; i < a->n; i++) {
		a->truncated[i] = !(v[i].have & AP_SPAN_HAVE_END);
		a->truncated_spans += a->truncated[i];
		a->dur[i] = ap_ticks_delta_ns(&a->clock, v[i].t_begin, ap_an_end_ticks(a, i));
	}
	for (uint32_t i = 0; i < a->n; i++) {
		struct ap_span_union u;
		uint64_t covered;

		ap_span_union_init(&u, v[i].t_begin, ap_an_end_ticks(a, i));
		for (uint32_t k = a->child_off[i]; k < a->child_off[i + 1]; k++) {
			uint32_t c = a->child_idx[k];

			ap_span_union_add(&u, v[c].t_begin, ap_an_end_ticks(a, c));
		}
		covered = ap_ticks_delta_ns(&a->clock, 0, ap_span_union_total(&u));
		a->self[i] = a->dur[i] > covered ? a->dur[i] - covered : 0;
	}
}

uint32_t ap_an_preorder(struct ap_analysis *a, uint32_t nroots)
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
int ap_an_deps(struct ap_analysis *a, const struct ap_trace_view *t)
{
	uint32_t n = a->n, m = 0, *fill = a->order + 0;
	int ret = 0;

	/* Most traces declare none: dep_off and declared are then zero, and
	 * stay so for the next such trace; only what a larger trace needs
	 * beyond that is zeroed. */
	if (n + 1 > a->deps_zero) {
		memset(a->dep_off + a->deps_zero, 0, ((size_t)n + 1 - a->deps_zero) * sizeof(uint32_t));
		memset(a->declared + a->deps_zero, 0, ((size_t)n + 1 - a->deps_zero) * sizeof(uint32_t));
		a->deps_zero = n + 1;
	}
	if (!t->ndeps)
		return 0;
	a->deps_zero = 0;	/* written below */
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
	/* order[] is rebuilt by the pre-order after this; use it as fill. */
	memset(fill, 0, (size_t)n * sizeof(uint32_t));
	for (uint32_t k = 0; k < m; k++)
		a->dep_idx[a->dep_off[a->dep_from[k]] + fill[a->dep_from[k]]++] = a->dep_to[k];
out:
	ap_map_free(&a->local);
	return ret;
}

/* Siblings `members` (k of them) of a parent named parent_name ran one after
 * another: one occurrence of their group. */
static void add_group(struct ap_analysis *a, uint64_t parent_name, const uint32_t *members,
		      uint32_t k, int assumed, uint64_t seq, uint64_t par)
{
	uint64_t names[AP_GROUP_MAX_MEMBERS];
	struct ap_group *g;

	if (k > AP_GROUP_MAX_MEMBERS)
		k = AP_GROUP_MAX_MEMBERS;
	for (uint32_t j = 0; j < k; j++)
		names[j] = a->v[members[j]].name;
	g = ap_an_group(a, parent_name, names, k);
	if (!g) {
		a->groups_over_cap++;
		return;
	}
	g->assumed |= assumed;
	g->occurrences++;
	g->seq_ns += seq;
	g->par_ns += par;
}

static void add_conc(struct ap_analysis *a, uint64_t parent_name, uint64_t child_ns, uint64_t union_ns)
{
	struct ap_conc *c = ap_an_conc(a, parent_name);

	if (!c) {
		a->concs_over_cap++;
		return;
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
	struct ap_chain *c;

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
		prev_end = ap_an_end_ticks(a, ch);
		if (run > best_run) {
			best_run = run;
			best_ns = run_ns;
		}
	}
	if (best_run < a->rules.llm_chain || best_run < 2)
		return;
	c = ap_an_chain(a, v[i].name);
	if (!c) {
		a->chains_over_cap++;
		return;
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
void ap_an_parallelism(struct ap_analysis *a, uint32_t len)
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
			ce = ap_an_end_ticks(a, c);
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
				prev_end = ap_an_end_ticks(a, c);
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
