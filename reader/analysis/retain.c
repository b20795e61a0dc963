/* SPDX-License-Identifier: MIT */
/*
 * retain.c - which traces are kept whole (analysis.h has the rules): top-N
 * pools for the failed, truncated, token-heavy and slowest traces, and a seeded
 * reservoir over the rest.
 *
 * The pools cache their smallest key, so a trace that no rule wants costs
 * one hash lookup (its root name) and one random draw; the O(kept) scans run
 * only when a trace is admitted, which becomes rare as a run goes on. The
 * reservoir is Algorithm R over the traces no rule took; evicting a random
 * member keeps it a uniform sample, one smaller, so the rules can take slots
 * from it at any time. Kept traces never move once kept: reports order them
 * through an index (ap_an_order_kept), so a replay keeps what the run kept.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"

void ap_an_kept_free(struct ap_kept *k)
{
	free(k->v);
	free(k->parent);
	free(k->child_off);
	free(k->child_idx);
	free(k->dur);
	free(k->self);
	free(k->truncated);
	free(k->rss);
	free(k->dep_off);
	free(k->dep_idx);
	memset(k, 0, sizeof(*k));
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
	static const char *const names[AP_KEEP_RULES] = { "none", "error", "truncated", "tokens", "slowest", "reservoir" };

	return rule >= 0 && rule < AP_KEEP_RULES ? names[rule] : "none";
}

static uint64_t rng_below(struct ap_analysis *a, uint64_t n)
{
	a->rng += UINT64_C(0x9e3779b97f4a7c15);
	return ap_mix64(a->rng) % n;	/* n is small: the bias is below 2^-40 */
}

static struct ap_root_stat *root_stat(struct ap_analysis *a, uint64_t name)
{
	uint64_t *v;
	struct ap_root_stat *r;

	if (a->memo.root && a->memo.root_name == name)
		return &a->root_stats[a->memo.root - 1];
	v = ap_map_get(&a->root_index, name);
	a->memo.root_name = name;
	a->memo.root = 0;
	if (v) {
		a->memo.root = (uint32_t)*v;
		return &a->root_stats[*v - 1];
	}
	if (a->nroot_stats == ROOTS_MAX || ap_map_put_new(&a->root_index, name, a->nroot_stats + 1))
		return NULL;
	a->memo.root = a->nroot_stats + 1;
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
	ap_an_kept_free(k);
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
	    DUP(k.truncated, a->truncated, n) || (a->trace_rss && DUP(k.rss, a->rss, n)) ||
	    DUP(k.dep_off, a->dep_off, n + 1) || DUP(k.dep_idx, a->dep_idx, a->dep_off[n] ? a->dep_off[n] : 1)) {
		ap_an_kept_free(&k);
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
void ap_an_keep(struct ap_analysis *a, uint32_t root)
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
	if (a->trace_errors && offer_pool(a, rs, root, AP_KEEP_ERROR, a->dur[root]))
		return;
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
	SWAP(dep_off);
	SWAP(dep_idx);
	SWAP(trace_tokens);
	SWAP(trace_truncated);
	SWAP(trace_errors);
	SWAP(rss);
	SWAP(trace_rss);
#undef SWAP
}

/* dst decides whether to keep the trace src has just analysed, from src's
 * per-trace arrays: only keep() reads them, and only for this call. */
void ap_an_keep_for(struct ap_analysis *dst, struct ap_analysis *src, uint32_t root)
{
	swap_trace(dst, src);
	ap_an_keep(dst, root);
	swap_trace(dst, src);
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
void ap_an_order_kept(struct ap_analysis *a)
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

