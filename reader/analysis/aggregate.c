/* SPDX-License-Identifier: MIT */
/*
 * aggregate.c - the analysis's tables, and folding one analysis into
 * another.
 *
 * Each table has one upsert (find the row of a key, or create it within the
 * table's cap; the per-span ones static inline here, where the fold runs),
 * and both ways of filling a table go through it: one span at
 * a time (ap_an_aggregates, tree.c's groups), and a whole analysis at once
 * (ap_analysis_merge, for periodic reports). So a key formula, a cap or a
 * first-seen order exists once, and an interval folded into the run lands in
 * exactly the rows a single pass would have made. What does not fit a table
 * is counted in its *_over_cap, in the unit the table counts (spans, calls,
 * occurrences), whichever way it arrived.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"

static uint64_t op_key(uint64_t name, uint8_t cat)
{
	uint64_t k = ap_mix64(name ^ ((uint64_t)cat + 1) * UINT64_C(0x9e3779b97f4a7c15));

	return k ? k : 1;
}

static inline struct ap_op *op_upsert(struct ap_analysis *a, uint64_t name, uint8_t cat)
{
	uint64_t key, *idx;
	struct ap_op *op;

	if (a->memo.op && a->memo.op_name == name && a->memo.op_cat == cat)
		return &a->ops[a->memo.op - 1];
	key = op_key(name, cat);
	idx = ap_map_get(&a->op_index, key);
	a->memo.op_name = name;
	a->memo.op_cat = cat;
	if (idx) {
		a->memo.op = (uint32_t)*idx + 1;
		return &a->ops[*idx];
	}
	a->memo.op = 0;
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
	a->memo.op = a->nops;
	return op;
}

struct ap_group *ap_an_group(struct ap_analysis *a, uint64_t parent_name, const uint64_t *members, uint32_t k)
{
	struct ap_group *g;

	for (uint32_t i = 0; i < a->ngroups; i++) {
		g = &a->groups[i];
		if (g->parent_name == parent_name && g->nmembers == k &&
		    !memcmp(g->members, members, k * sizeof(members[0])))
			return g;
	}
	if (a->ngroups == GROUPS_MAX)
		return NULL;
	g = &a->groups[a->ngroups++];
	memset(g, 0, sizeof(*g));
	g->parent_name = parent_name;
	g->nmembers = k;
	memcpy(g->members, members, k * sizeof(members[0]));
	return g;
}

struct ap_conc *ap_an_conc(struct ap_analysis *a, uint64_t parent_name)
{
	struct ap_conc *c;

	for (uint32_t i = 0; i < a->nconcs; i++)
		if (a->concs[i].parent_name == parent_name)
			return &a->concs[i];
	if (a->nconcs == CONCS_MAX)
		return NULL;
	c = &a->concs[a->nconcs++];
	memset(c, 0, sizeof(*c));
	c->parent_name = parent_name;
	return c;
}

struct ap_chain *ap_an_chain(struct ap_analysis *a, uint64_t parent_name)
{
	struct ap_chain *c;

	for (uint32_t i = 0; i < a->nchains; i++)
		if (a->chains[i].parent_name == parent_name)
			return &a->chains[i];
	if (a->nchains == CHAINS_MAX)
		return NULL;
	c = &a->chains[a->nchains++];
	memset(c, 0, sizeof(*c));
	c->parent_name = parent_name;
	return c;
}

struct ap_model_use *ap_an_model(struct ap_analysis *a, uint64_t model)
{
	struct ap_model_use *m;

	for (uint32_t i = 0; i < a->nmodels_used; i++)
		if (a->models_used[i].model == model)
			return &a->models_used[i];
	if (a->nmodels_used == MODELS_USED_MAX)
		return NULL;
	m = &a->models_used[a->nmodels_used++];
	memset(m, 0, sizeof(*m));
	m->model = model;
	m->window = ap_model_window(a, model);
	return m;
}

static inline struct ap_thread_row *thread_upsert(struct ap_analysis *a, uint32_t pid, uint32_t tid)
{
	uint64_t key, *idx;
	struct ap_thread_row *t;

	if (a->memo.thread && a->memo.pid == pid && a->memo.tid == tid)
		return &a->threads[a->memo.thread - 1];
	key = ((uint64_t)pid << 32 | tid) ^ (UINT64_C(1) << 63);
	idx = ap_map_get(&a->thread_index, key);
	a->memo.pid = pid;
	a->memo.tid = tid;
	a->memo.thread = 0;
	if (idx) {
		a->memo.thread = (uint32_t)*idx + 1;
		return &a->threads[*idx];
	}
	if (a->nthreads == THREADS_MAX || ap_map_put(&a->thread_index, key, a->nthreads))
		return NULL;
	t = &a->threads[a->nthreads++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	a->memo.thread = a->nthreads;
	return t;
}

/* A flame path is (its parent's path, name, category). Paths are made
 * parents first, so a parent's index is below its children's. */
static inline uint32_t path_upsert(struct ap_analysis *a, uint32_t pp, uint64_t name, uint8_t cat)
{
	uint64_t key, *idx;

	if (a->memo.path && a->memo.path_parent == pp && a->memo.path_name == name && a->memo.path_cat == cat)
		return a->memo.path - 1;
	key = ap_mix64(ap_mix64((uint64_t)pp + 2) ^ name) ^ cat;
	key = key ? key : 1;
	idx = ap_map_get(&a->path_index, key);
	a->memo.path_parent = pp;
	a->memo.path_name = name;
	a->memo.path_cat = cat;
	a->memo.path = 0;
	if (idx) {
		a->memo.path = (uint32_t)*idx + 1;
		return (uint32_t)*idx;
	}
	if (a->npaths == PATHS_MAX || ap_map_put(&a->path_index, key, a->npaths))
		return AP_NONE;
	a->paths[a->npaths] = (struct ap_path){ .parent = pp, .name = name, .category = cat };
	a->memo.path = a->npaths + 1;
	return a->npaths++;
}

/* ------------------------------------------------------------------------ */
/* One span at a time                                                        */

static void add_tokens(struct ap_analysis *a, const struct ap_span *sp)
{
	struct ap_model_use *m;
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
	m = ap_an_model(a, sp->model);
	if (!m) {
		a->models_over_cap++;
		return;
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
	struct ap_thread_row *t = thread_upsert(a, sp->pid, sp->tid_begin);

	if (!t) {
		a->threads_over_cap++;
		return;
	}
	t->spans++;
	t->busy_ns += self;
}

/* Fold a span's (or another path's) figures into path p: model and pid
 * stay one value while every span agrees, else AP_PATH_MIXED. */
static void path_fold(struct ap_path *p, uint64_t count, uint64_t total, uint64_t self, uint64_t tokens,
		      uint64_t model, uint32_t pid)
{
	if (!p->count)
		p->pid = pid;
	else if (p->pid != pid)
		p->pid = AP_PATH_MIXED32;
	if (model && !p->model)
		p->model = model;
	else if (model && p->model != model)
		p->model = AP_PATH_MIXED;
	p->count += count;
	p->total_ns += total;
	p->self_ns += self;
	p->tokens += tokens;
}

static void add_path(struct ap_analysis *a, uint32_t i)
{
	const struct ap_span *sp = &a->v[i];
	uint32_t pp = a->parent[i] == AP_NONE ? AP_NONE : a->path_of[a->parent[i]];

	a->path_of[i] = AP_NONE;
	if (a->parent[i] != AP_NONE && pp == AP_NONE)
		return;		/* the parent's path did not fit (counted there) */
	a->path_of[i] = path_upsert(a, pp, sp->name, sp->category);
	if (a->path_of[i] == AP_NONE) {
		a->paths_over_cap++;
		return;
	}
	path_fold(&a->paths[a->path_of[i]], 1, a->dur[i], a->self[i],
		  (uint64_t)sp->input_tokens + sp->output_tokens,
		  (sp->have & AP_SPAN_HAVE_TOKENS) ? sp->model : 0, sp->pid);
}

uint32_t ap_an_aggregates(struct ap_analysis *a, uint32_t len)
{
	const struct ap_span *v = a->v;
	uint64_t slow = (uint64_t)(a->rules.slow_tool_ms * 1e6), slowest = 0;
	uint32_t slowest_root = AP_NONE, tree_truncated = 0;

	for (uint32_t o = 0; o < len; o++) {
		uint32_t i = a->order[o];
		const struct ap_span *sp = &v[i];
		struct ap_op *op = op_upsert(a, sp->name, sp->category);

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
		if (sp->have & AP_SPAN_HAVE_ERROR) {
			a->trace_errors++;
			a->errors++;
			if (op)
				op->errors++;
		}
		a->spans_in_trees++;
		a->cat_self[sp->category] += a->self[i];
		a->total_self_ns += a->self[i];
		if (op && a->truncated[i]) {
			/* Its length is only a lower bound: out of every figure
			 * of the operation (percentiles, regressions), counted. */
			op->truncated++;
			op->input_tokens += sp->input_tokens;
			op->output_tokens += sp->output_tokens;
		} else if (op) {
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
			ap_an_memory_op(a, op, i);
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
	a->traces_failed += a->trace_errors != 0;
	return slowest_root;
}

/* ------------------------------------------------------------------------ */
/* A whole analysis at once, in src's order of first appearance, so that dst
 * ends as if it had been fed src's traces itself.                           */

static void merge_ops(struct ap_analysis *dst, const struct ap_analysis *src)
{
	for (uint32_t i = 0; i < src->nops; i++) {
		const struct ap_op *s = &src->ops[i];
		struct ap_op *d = op_upsert(dst, s->name, s->category);

		if (!d) {
			dst->ops_over_cap += s->count + s->truncated;
			continue;
		}
		d->count += s->count;
		d->truncated += s->truncated;
		d->total_ns += s->total_ns;
		d->self_ns += s->self_ns;
		d->input_tokens += s->input_tokens;
		d->output_tokens += s->output_tokens;
		d->slow_n += s->slow_n;
		d->slow_over_ns += s->slow_over_ns;
		d->errors += s->errors;
		ap_hist_merge(&d->hist, &s->hist);
		if (s->mem) {
			if (!d->mem && !(d->mem = calloc(1, sizeof(*d->mem))))
				dst->mem_rows_nomem += s->mem->measured + s->mem->not_measurable;
			else
				ap_op_mem_merge(d->mem, s->mem);
		}
	}
	dst->mem_rows_nomem += src->mem_rows_nomem;
	dst->ops_over_cap += src->ops_over_cap;
}

static void merge_structure(struct ap_analysis *dst, const struct ap_analysis *src)
{
	for (uint32_t i = 0; i < src->ngroups; i++) {
		const struct ap_group *s = &src->groups[i];
		struct ap_group *g = ap_an_group(dst, s->parent_name, s->members, s->nmembers);

		if (!g) {
			dst->groups_over_cap += s->occurrences;
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
		struct ap_conc *c = ap_an_conc(dst, s->parent_name);

		if (!c) {
			dst->concs_over_cap += s->occurrences;
			continue;
		}
		c->occurrences += s->occurrences;
		c->child_ns += s->child_ns;
		c->union_ns += s->union_ns;
	}
	dst->concs_over_cap += src->concs_over_cap;
	for (uint32_t i = 0; i < src->nchains; i++) {
		const struct ap_chain *s = &src->chains[i];
		struct ap_chain *c = ap_an_chain(dst, s->parent_name);

		if (!c) {
			dst->chains_over_cap += s->occurrences;
			continue;
		}
		if (s->run > c->run)
			c->run = s->run;
		c->occurrences += s->occurrences;
		c->run_ns += s->run_ns;
		c->shortest_ns += s->shortest_ns;
	}
	dst->chains_over_cap += src->chains_over_cap;
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
		struct ap_model_use *m = ap_an_model(dst, s->model);

		if (!m) {
			dst->models_over_cap += s->calls;
			continue;
		}
		m->calls += s->calls;
		m->input += s->input;
		m->output += s->output;
		if (s->max_context_pct > m->max_context_pct)
			m->max_context_pct = s->max_context_pct;
	}
	dst->models_over_cap += src->models_over_cap;
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
		struct ap_thread_row *t = thread_upsert(dst, s->pid, s->tid);

		if (!t) {
			dst->threads_over_cap += s->spans;
			continue;
		}
		t->spans += s->spans;
		t->busy_ns += s->busy_ns;
	}
	dst->threads_over_cap += src->threads_over_cap;
}

/* Parents come before their children, so one pass maps src's path indexes
 * to dst's. */
static int merge_paths(struct ap_analysis *dst, const struct ap_analysis *src)
{
	uint32_t *map = malloc((src->npaths ? src->npaths : 1) * sizeof(*map));

	if (!map)
		return -ENOMEM;
	for (uint32_t i = 0; i < src->npaths; i++) {
		const struct ap_path *s = &src->paths[i];
		uint32_t pp = s->parent == AP_NONE ? AP_NONE : map[s->parent];

		map[i] = AP_NONE;
		if (s->parent != AP_NONE && pp == AP_NONE)
			continue;
		map[i] = path_upsert(dst, pp, s->name, s->category);
		if (map[i] == AP_NONE) {
			dst->paths_over_cap += s->count;
			continue;
		}
		path_fold(&dst->paths[map[i]], s->count, s->total_ns, s->self_ns, s->tokens, s->model, s->pid);
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
	dst->errors += src->errors;
	dst->traces_failed += src->traces_failed;
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
