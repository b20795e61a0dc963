/* SPDX-License-Identifier: MIT */
/*
 * analysis.c - trees and aggregates, in linear passes over the spans.
 *
 *  1. parent links from parent ids; orphans (parent never begun) and
 *     self-parents become roots, counted;
 *  2. cycles cut: a walk up the parent links that meets itself makes the
 *     node it met a root (each node is walked once);
 *  3. children in begin order (counting sort into one array, then a sort
 *     per parent);
 *  4. durations (open spans end at the last timestamp seen: truncated) and
 *     self time: duration minus the union of the children's intervals, so
 *     concurrent children are not counted twice;
 *  5. a pre-order from every root, then the reverse of it, which visits
 *     children before parents without recursion: critical-path bound and
 *     parallel groups;
 *  6. aggregates per category, operation, model, thread and name path.
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

void ap_analysis_free(struct ap_analysis *a)
{
	free(a->parent);
	free(a->child_off);
	free(a->child_idx);
	free(a->root_of);
	free(a->dur);
	free(a->self);
	free(a->best);
	free(a->truncated);
	free(a->roots);
	free(a->ops);
	free(a->groups);
	free(a->concs);
	free(a->models_used);
	free(a->threads);
	free(a->paths);
	free(a->findings);
	ap_map_free(&a->op_index);
	memset(a, 0, sizeof(*a));
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

static int has_begin(const struct ap_span *sp)
{
	return sp->have & AP_SPAN_HAVE_BEGIN;
}

static void link_parents(struct ap_analysis *a)
{
	const struct ap_spans *s = a->spans;

	for (uint32_t i = 0; i < s->n; i++) {
		const struct ap_span *sp = &s->v[i];
		const struct ap_span *p;

		a->parent[i] = AP_NONE;
		if (!has_begin(sp) || sp->parent == 0)
			continue;
		if (sp->parent == sp->id) {
			a->self_parents++;
			continue;
		}
		p = ap_spans_find(s, sp->parent);
		if (!p || !has_begin(p)) {
			a->orphans++;
			continue;
		}
		a->parent[i] = (uint32_t)(p - s->v);
	}
}

/* Cut every parent cycle. Returns 0 or -ENOMEM. */
static int cut_cycles(struct ap_analysis *a)
{
	uint32_t n = a->spans->n, *path = malloc((size_t)(n ? n : 1) * sizeof(*path));
	uint8_t *state = calloc(n ? n : 1, 1);	/* 0 new, 1 on the current walk, 2 done */

	if (!path || !state) {
		free(path);
		free(state);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = 0, cur = i;

		while (cur != AP_NONE && state[cur] == 0) {
			state[cur] = 1;
			path[len++] = cur;
			cur = a->parent[cur];
		}
		if (cur != AP_NONE && state[cur] == 1) {
			a->parent[cur] = AP_NONE;	/* the walk met itself */
			a->cycles++;
		}
		while (len)
			state[path[--len]] = 2;
	}
	free(path);
	free(state);
	return 0;
}

static int build_children(struct ap_analysis *a)
{
	uint32_t n = a->spans->n, *fill;

	fill = calloc((size_t)n + 1, sizeof(*fill));
	if (!fill)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (a->parent[i] != AP_NONE)
			a->child_off[a->parent[i] + 1]++;
	for (uint32_t i = 0; i < n; i++)
		a->child_off[i + 1] += a->child_off[i];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = a->parent[i];

		if (p != AP_NONE)
			a->child_idx[a->child_off[p] + fill[p]++] = i;
	}
	free(fill);
	sort_spans = a->spans->v;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = a->child_off[i + 1] - a->child_off[i];

		if (k > 1)
			qsort(&a->child_idx[a->child_off[i]], k, sizeof(uint32_t), by_begin);
	}
	return 0;
}

static void durations(struct ap_analysis *a)
{
	const struct ap_spans *s = a->spans;

	a->t_last = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->v[i].t_begin > a->t_last)
			a->t_last = s->v[i].t_begin;
		if ((s->v[i].have & AP_SPAN_HAVE_END) && s->v[i].t_end > a->t_last)
			a->t_last = s->v[i].t_end;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		const struct ap_span *sp = &s->v[i];
		uint64_t end = (sp->have & AP_SPAN_HAVE_END) ? sp->t_end : a->t_last;

		a->truncated[i] = has_begin(sp) && !(sp->have & AP_SPAN_HAVE_END);
		a->truncated_spans += a->truncated[i];
		a->dur[i] = has_begin(sp) ? ap_ticks_delta_ns(&a->clock, sp->t_begin, end) : 0;
	}
}

static uint64_t end_ticks(const struct ap_analysis *a, uint32_t i)
{
	const struct ap_span *sp = &a->spans->v[i];

	return (sp->have & AP_SPAN_HAVE_END) ? sp->t_end : a->t_last;
}

/* Self time: duration minus the union of the children's intervals. */
static void self_times(struct ap_analysis *a)
{
	const struct ap_spans *s = a->spans;

	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t b = s->v[i].t_begin, e = end_ticks(a, i), covered = 0;
		uint64_t cur_b = 0, cur_e = 0;
		int open = 0;

		for (uint32_t k = a->child_off[i]; k < a->child_off[i + 1]; k++) {
			uint32_t c = a->child_idx[k];
			uint64_t cb = s->v[c].t_begin, ce = end_ticks(a, c);

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

/* Pre-order of every tree into order[]; fills root_of. Returns its length. */
static uint32_t preorder(struct ap_analysis *a, uint32_t *order, uint32_t *stack)
{
	uint32_t len = 0;

	for (uint32_t r = 0; r < a->nroots; r++) {
		uint32_t sp = 0, root = a->roots[r];

		stack[sp++] = root;
		while (sp) {
			uint32_t i = stack[--sp];

			order[len++] = i;
			a->root_of[i] = root;
			/* Push in reverse so that children come out in begin order. */
			for (uint32_t k = a->child_off[i + 1]; k-- > a->child_off[i];)
				stack[sp++] = a->child_idx[k];
		}
	}
	return len;
}

struct deps {
	uint32_t *off, *idx;	/* sibling dependencies of span i: idx[off[i] .. off[i + 1]) */
	uint32_t *declared;	/* dependencies declared by span i, siblings or not */
};

static int build_deps(struct ap_analysis *a, struct deps *d)
{
	const struct ap_spans *s = a->spans;
	uint32_t n = s->n, *fill, *from, *to, m = 0;

	d->off = calloc((size_t)n + 1, sizeof(uint32_t));
	d->declared = calloc(n ? n : 1, sizeof(uint32_t));
	from = malloc(((size_t)s->ndeps + 1) * sizeof(uint32_t));
	to = malloc(((size_t)s->ndeps + 1) * sizeof(uint32_t));
	fill = calloc((size_t)n + 1, sizeof(uint32_t));
	d->idx = malloc(((size_t)s->ndeps + 1) * sizeof(uint32_t));
	if (!d->off || !d->declared || !from || !to || !fill || !d->idx) {
		free(from);
		free(to);
		free(fill);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < s->ndeps; k++) {
		const struct ap_span *x = ap_spans_find(s, s->deps[k].span);
		const struct ap_span *y = ap_spans_find(s, s->deps[k].on_span);
		uint32_t xi, yi;

		if (!x || !y) {
			a->deps_ignored++;
			continue;
		}
		xi = (uint32_t)(x - s->v);
		yi = (uint32_t)(y - s->v);
		d->declared[xi]++;
		if (a->parent[xi] == AP_NONE || a->parent[xi] != a->parent[yi]) {
			a->deps_ignored++;	/* not siblings: outside the sibling graph */
			continue;
		}
		from[m] = xi;
		to[m] = yi;
		m++;
		d->off[xi + 1]++;
	}
	for (uint32_t i = 0; i < n; i++)
		d->off[i + 1] += d->off[i];
	for (uint32_t k = 0; k < m; k++)
		d->idx[d->off[from[k]] + fill[from[k]]++] = to[k];
	free(from);
	free(to);
	free(fill);
	return 0;
}

static void add_group(struct ap_analysis *a, uint64_t parent_name, const uint32_t *members,
		      uint32_t k, int assumed, uint64_t seq, uint64_t par)
{
	const struct ap_span *v = a->spans->v;
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

/*
 * Children before parents (reverse pre-order): for span i, the finish time
 * of each child through the sibling dependency graph, its bound, its
 * levels and groups.
 */
static void parallelism(struct ap_analysis *a, const uint32_t *order, uint32_t len,
			const struct deps *d, uint64_t *finish, uint32_t *level, uint32_t *scratch)
{
	const struct ap_span *v = a->spans->v;

	for (uint32_t o = len; o-- > 0;) {
		uint32_t i = order[o], first = a->child_off[i], last = a->child_off[i + 1];
		uint64_t longest = 0, child_ns = 0, union_ns = 0, cur_e = 0;
		uint32_t max_level = 0;

		for (uint32_t k = first; k < last; k++) {
			uint32_t c = a->child_idx[k];
			uint64_t start = 0;

			level[c] = 0;
			for (uint32_t e = d->off[c]; e < d->off[c + 1]; e++) {
				uint32_t dep = d->idx[e];

				if (v[dep].t_begin > v[c].t_begin ||
				    (v[dep].t_begin == v[c].t_begin && v[dep].id >= v[c].id)) {
					a->deps_ignored++;	/* on a later sibling: no order known */
					continue;
				}
				if (finish[dep] > start)
					start = finish[dep];
				if (level[dep] + 1 > level[c])
					level[c] = level[dep] + 1;
			}
			finish[c] = start + a->best[c];
			if (finish[c] > longest)
				longest = finish[c];
			if (level[c] > max_level)
				max_level = level[c];
			/* Measured overlap: children sorted by begin. */
			child_ns += a->dur[c];
			{
				uint64_t cb = v[c].t_begin, ce = end_ticks(a, c);

				if (k == first || cb >= cur_e)
					union_ns += ap_ticks_delta_ns(&a->clock, cb, ce);
				else if (ce > cur_e)
					union_ns += ap_ticks_delta_ns(&a->clock, cur_e, ce);
				if (k == first || ce > cur_e)
					cur_e = ce;
			}
		}
		a->best[i] = a->self[i] + longest;
		if (last - first < 2)
			continue;
		add_conc(a, v[i].name, child_ns, union_ns);
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
				assumed |= d->declared[c] == 0;
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

static void add_model_use(struct ap_analysis *a, const struct ap_span *sp)
{
	struct ap_model_use *m = NULL;
	double pct;

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
	if (m->window) {
		pct = 100.0 * (double)sp->input_tokens / (double)m->window;
		if (pct > m->max_context_pct)
			m->max_context_pct = pct;
	}
}

static void add_thread(struct ap_analysis *a, const struct ap_span *sp, uint64_t self)
{
	struct ap_thread_row *t = NULL;

	for (uint32_t i = a->nthreads; i-- > 0 && !t;)
		if (a->threads[i].pid == sp->pid && a->threads[i].tid == sp->tid_begin)
			t = &a->threads[i];
	if (!t) {
		if (a->nthreads == THREADS_MAX) {
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

static void aggregates(struct ap_analysis *a, const uint32_t *order, uint32_t len, uint32_t *path_of)
{
	const struct ap_span *v = a->spans->v;
	struct ap_map paths;
	uint64_t slowest = 0;

	ap_map_init(&paths, 256, PATHS_MAX);
	for (uint32_t o = 0; o < len; o++) {
		uint32_t i = order[o], pp;
		const struct ap_span *sp = &v[i];
		struct ap_op *op = op_of(a, sp->name, sp->category);
		uint64_t key, *idx;

		a->spans_in_trees++;
		a->cat_self[sp->category] += a->self[i];
		a->total_self_ns += a->self[i];
		if (op) {
			op->count++;
			op->total_ns += a->dur[i];
			op->self_ns += a->self[i];
			op->input_tokens += sp->input_tokens;
			op->output_tokens += sp->output_tokens;
			ap_hist_add(&op->hist, a->dur[i]);
		} else {
			a->ops_over_cap++;
		}
		if (sp->have & AP_SPAN_HAVE_TOKENS) {
			a->llm_calls++;
			a->total_input += sp->input_tokens;
			a->total_output += sp->output_tokens;
			add_model_use(a, sp);
		}
		add_thread(a, sp, a->self[i]);
		if (a->parent[i] == AP_NONE) {
			a->total_trace_ns += a->dur[i];
			a->critical_ns += a->best[i];
			if (a->dur[i] >= slowest) {
				slowest = a->dur[i];
				a->slowest_root = i;
			}
		}
		/* Flame path: (parent path, name, category). */
		pp = a->parent[i] == AP_NONE ? AP_NONE : path_of[a->parent[i]];
		path_of[i] = AP_NONE;
		if (a->parent[i] != AP_NONE && pp == AP_NONE)
			continue;	/* the parent's path did not fit */
		key = ap_mix64(ap_mix64((uint64_t)pp + 2) ^ sp->name) ^ sp->category;
		key = key ? key : 1;
		idx = ap_map_get(&paths, key);
		if (!idx) {
			if (a->npaths == PATHS_MAX || ap_map_put(&paths, key, a->npaths)) {
				a->paths_over_cap++;
				continue;
			}
			a->paths[a->npaths] = (struct ap_path){ .parent = pp, .name = sp->name,
								 .category = sp->category };
			path_of[i] = a->npaths++;
		} else {
			path_of[i] = (uint32_t)*idx;
		}
		a->paths[path_of[i]].total_ns += a->dur[i];
		a->paths[path_of[i]].count++;
	}
	ap_map_free(&paths);
	/* A trace is complete when none of its spans is truncated. */
	for (uint32_t r = 0; r < a->nroots; r++)
		a->traces_complete++;
	for (uint32_t i = 0; i < a->spans->n; i++)
		if (a->truncated[i] && a->root_of[i] != AP_NONE && a->truncated[a->root_of[i]] != 2) {
			a->truncated[a->root_of[i]] |= 2;	/* mark the trace once */
			a->traces_complete--;
		}
	for (uint32_t i = 0; i < a->spans->n; i++)
		a->truncated[i] &= 1;
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
static void rules(struct ap_analysis *a)
{
	double total = (double)a->total_self_ns, traces = a->nroots ? (double)a->nroots : 1;
	const struct ap_op *top_llm = NULL;
	struct ap_finding *f;
	char buf[32];

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
		uint64_t slow = (uint64_t)(a->rules.slow_tool_ms * 1e6), over = 0, n_over = 0;

		if (op->category != AP_CAT_TOOL)
			continue;
		if (pct > a->rules.tool_pct && (f = finding(a, "tool_share", op->name))) {
			snprintf(f->message, sizeof(f->message), "%s takes %.0f%% of all time (threshold %.0f%%)",
				 f->span, pct, a->rules.tool_pct);
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "cache its results or start it alongside the LLM calls that do not need it; saving assumes half of it is avoided");
			f->saving_ms = ms(op->self_ns) / 2 / traces;
		}
		if (op->hist.max <= slow)
			continue;
		for (uint32_t k = 0; k < a->spans->n; k++)
			if (a->spans->v[k].name == op->name && a->spans->v[k].category == AP_CAT_TOOL &&
			    a->dur[k] > slow) {
				over += a->dur[k] - slow;
				n_over++;
			}
		if (n_over && (f = finding(a, "slow_tool", op->name))) {
			snprintf(f->message, sizeof(f->message), "%s took longer than %.0f ms in %llu of %llu calls (max %.1f ms)",
				 f->span, a->rules.slow_tool_ms, (unsigned long long)n_over,
				 (unsigned long long)op->count, ms(op->hist.max));
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "set a timeout of %.0f ms with a fallback, or run it asynchronously; saving is the time above it",
				 a->rules.slow_tool_ms);
			f->saving_ms = ms(over) / traces;
		}
	}
	/* LLM calls in sequence under one parent. */
	for (uint32_t p = 0; p < a->spans->n; p++) {
		uint32_t run = 0, best_run = 0;
		uint64_t prev_end = 0, run_ns = 0, best_ns = 0, shortest = UINT64_MAX;

		for (uint32_t k = a->child_off[p]; k < a->child_off[p + 1]; k++) {
			uint32_t c = a->child_idx[k];

			if (a->spans->v[c].category != AP_CAT_LLM)
				continue;
			if (run && a->spans->v[c].t_begin < prev_end)
				run = 0, run_ns = 0;
			run++;
			run_ns += a->dur[c];
			if (a->dur[c] < shortest)
				shortest = a->dur[c];
			prev_end = end_ticks(a, c);
			if (run > best_run) {
				best_run = run;
				best_ns = run_ns;
			}
		}
		if (best_run >= a->rules.llm_chain) {
			uint32_t j;

			for (j = 0; j < a->nfindings; j++)
				if (strcmp(a->findings[j].rule, "llm_chain") == 0 &&
				    strcmp(a->findings[j].span, ap_names_get(a->names, a->spans->v[p].name, buf)) == 0)
					break;
			if (j < a->nfindings || !(f = finding(a, "llm_chain", a->spans->v[p].name)))
				continue;
			snprintf(f->message, sizeof(f->message), "%u LLM calls run one after another under %s (%.1f ms)",
				 best_run, f->span, ms(best_ns));
			snprintf(f->suggestion, sizeof(f->suggestion),
				 "merge calls that share context into one prompt, or run independent ones concurrently; saving assumes the shortest call is absorbed");
			f->saving_ms = ms(shortest == UINT64_MAX ? 0 : shortest);
		}
	}
	/* Context window use. */
	for (uint32_t i = 0; i < a->spans->n; i++) {
		const struct ap_span *sp = &a->spans->v[i];
		uint64_t window;
		double pct;

		if (!(sp->have & AP_SPAN_HAVE_TOKENS) || !(window = ap_model_window(a, sp->model)))
			continue;
		pct = 100.0 * (double)sp->input_tokens / (double)window;
		if (pct <= a->rules.context_pct || !(f = finding(a, "context_window", sp->name)))
			continue;
		snprintf(f->message, sizeof(f->message), "%s used %.0f%% of its model's %llu-token window (%u input tokens)",
			 f->span, pct, (unsigned long long)window, sp->input_tokens);
		snprintf(f->suggestion, sizeof(f->suggestion),
			 "trim or summarise the context before the call; latency and cost grow with input tokens");
		f->saving_ms = 0;
		break;	/* one finding for the rule; the tokens section lists every call */
	}
}

int ap_analyze(struct ap_analysis *a, const struct ap_spans *s, const struct ap_names *names,
	       const struct ap_clock_cal *clock, const struct ap_rules *r,
	       const struct ap_model *models, uint32_t nmodels)
{
	uint32_t n = s->n, sz = n ? n : 1, *order = NULL, *stack = NULL, *level = NULL, len;
	uint64_t *finish = NULL;
	struct deps d = { 0 };
	int ret = -ENOMEM;

	memset(a, 0, sizeof(*a));
	a->spans = s;
	a->names = names;
	a->clock = *clock;
	a->rules = *r;
	a->models = models;
	a->nmodels = nmodels;
	a->slowest_root = AP_NONE;
	a->parent = malloc(sz * sizeof(uint32_t));
	a->child_off = calloc((size_t)n + 1, sizeof(uint32_t));
	a->child_idx = malloc(sz * sizeof(uint32_t));
	a->root_of = malloc(sz * sizeof(uint32_t));
	a->dur = calloc(sz, sizeof(uint64_t));
	a->self = calloc(sz, sizeof(uint64_t));
	a->best = calloc(sz, sizeof(uint64_t));
	a->truncated = calloc(sz, 1);
	a->roots = malloc(sz * sizeof(uint32_t));
	a->groups = malloc(GROUPS_MAX * sizeof(*a->groups));
	a->concs = malloc(CONCS_MAX * sizeof(*a->concs));
	a->models_used = malloc(MODELS_USED_MAX * sizeof(*a->models_used));
	a->threads = malloc(THREADS_MAX * sizeof(*a->threads));
	a->paths = malloc(PATHS_MAX * sizeof(*a->paths));
	a->findings = malloc(FINDINGS_MAX * sizeof(*a->findings));
	order = malloc(sz * sizeof(uint32_t));
	stack = malloc(sz * sizeof(uint32_t));
	level = calloc(sz, sizeof(uint32_t));
	finish = calloc(sz, sizeof(uint64_t));
	if (!a->parent || !a->child_off || !a->child_idx || !a->root_of || !a->dur || !a->self ||
	    !a->best || !a->truncated || !a->roots || !a->groups || !a->concs || !a->models_used ||
	    !a->threads || !a->paths || !a->findings || !order || !stack || !level || !finish ||
	    ap_map_init(&a->op_index, 64, OPS_MAX))
		goto out;
	for (uint32_t i = 0; i < n; i++)
		a->root_of[i] = AP_NONE;
	link_parents(a);
	if (cut_cycles(a) || build_children(a))
		goto out;
	for (uint32_t i = 0; i < n; i++)
		if (has_begin(&s->v[i]) && a->parent[i] == AP_NONE)
			a->roots[a->nroots++] = i;
	durations(a);
	self_times(a);
	len = preorder(a, order, stack);
	if (build_deps(a, &d))
		goto out;
	parallelism(a, order, len, &d, finish, level, stack);
	aggregates(a, order, len, level /* reused as path_of */);
	rules(a);
	ret = 0;
out:
	free(order);
	free(stack);
	free(level);
	free(finish);
	free(d.off);
	free(d.idx);
	free(d.declared);
	return ret;
}
