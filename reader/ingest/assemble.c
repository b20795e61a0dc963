/* SPDX-License-Identifier: MIT */
/*
 * assemble.c - traces in flight, from events to complete traces.
 *
 * Each span is a node in one pool; each trace in flight is a record with the
 * list of its nodes, its root, and two counts: open (begun, not ended) and
 * pending (placeholders still waiting for their BEGIN). A trace is complete
 * when its root has begun and ended and both counts are zero. One hash map,
 * span id -> node, holds only the spans in flight, so it stays small and
 * in cache however long the run.
 *
 * The workload assumed: per thread, spans nest, so BEGIN and END of a span
 * come in one lane in stack order, and a trace completes a few events after
 * its root ends. Out-of-order arrivals (cross-lane ends, children before
 * parents) are rare and cost a merge of two traces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentprof.h"
#include "assemble.h"
#include "drain.h"

/* Whether any trace has been handed on by the timeout (the late-event
 * lookups run only then). */
static inline int unlikely_expired(const struct ap_assembler *as)
{
	return __builtin_expect(as->traces_timed_out != 0, 0);
}

/* Links first: with the span's id and flags they share one cache line. */
struct ap_node {
	uint32_t parent;	/* node index, AP_NONE */
	uint32_t trace;		/* trace record */
	uint32_t next;		/* next node of the trace, or of the free list */
	uint32_t local;		/* index while a trace is handed on */
	uint8_t hashed;		/* found through the hash map, not the direct table */
	uint8_t pad[7];
	struct ap_span sp;
};

/*
 * Finding a span by id. A thread's span ids are a random odd base plus a
 * step of 2, so (id >> 1) spreads the spans of one thread over consecutive
 * slots of a direct-mapped table: one load and one compare, no hashing. A
 * span whose slot is taken by another span in flight goes to the hash map
 * instead (other threads' ids, a long-lived root, hostile ids): the table
 * is a fast path, the map keeps lookups correct whatever the ids.
 */
#define DIRECT_BITS	14
#define PIDS_MAX	(1u << 20)	/* processes whose last timestamp is kept */

static inline uint32_t *direct_slot(const struct ap_assembler *as, uint64_t id)
{
	return &as->direct[(id >> 1) & ((1u << DIRECT_BITS) - 1)];
}

static inline uint32_t find(const struct ap_assembler *as, uint64_t id)
{
	uint32_t i = *direct_slot(as, id);
	uint64_t *v;

	if (i != AP_NONE && as->nodes[i].sp.id == id)
		return i;
	if (as->index.n && (v = ap_map_get(&as->index, id)))
		return (uint32_t)(*v - 1);
	return AP_NONE;
}

/* Whether id is certainly not in flight, without a full lookup: its slot
 * is free and nothing has gone to the hash map. */
static inline int surely_absent(const struct ap_assembler *as, uint64_t id)
{
	return *direct_slot(as, id) == AP_NONE && as->index.n == 0;
}

/* Make node i findable by id (known absent). 0 or -ENOSPC/-ENOMEM. */
static int index_add(struct ap_assembler *as, uint64_t id, uint32_t i)
{
	uint32_t *slot = direct_slot(as, id);
	int ret;

	if (*slot == AP_NONE) {
		*slot = i;
		as->nodes[i].hashed = 0;
		return 0;
	}
	ret = ap_map_put_new(&as->index, id, (uint64_t)i + 1);
	as->nodes[i].hashed = 1;
	return ret;
}

static inline void index_del(struct ap_assembler *as, uint32_t i)
{
	uint64_t id = as->nodes[i].sp.id;

	if (as->nodes[i].hashed)
		ap_map_del(&as->index, id);
	else
		*direct_slot(as, id) = AP_NONE;
	as->nodes[i].sp.id = 0;
}

struct ap_trace_rec {
	uint32_t root;		/* node */
	uint32_t head, tail;	/* node list */
	uint32_t n;		/* nodes */
	int32_t open;		/* begun, not ended */
	int32_t pending;	/* placeholders without BEGIN */
	uint32_t deps;		/* dependency list (dep pool index), AP_NONE */
	uint8_t live, queued;
	uint8_t pad[2];
	uint64_t last;		/* latest timestamp of any of its events (trace timeout) */
};

int ap_asm_init(struct ap_assembler *as, uint32_t max_nodes, ap_trace_fn fn, void *ctx)
{
	memset(as, 0, sizeof(*as));
	as->max_nodes = max_nodes ? max_nodes : 1;
	as->free_node = AP_NONE;
	as->free_trace = AP_NONE;
	as->free_dep = AP_NONE;
	as->on_trace = fn;
	as->ctx = ctx;
	as->ts_hi = UINT64_MAX;
	as->direct = malloc(sizeof(uint32_t) << DIRECT_BITS);
	if (!as->direct)
		return -ENOMEM;
	memset(as->direct, 0xff, sizeof(uint32_t) << DIRECT_BITS);	/* AP_NONE */
	if (ap_map_init(&as->pid_last, 64, PIDS_MAX) || ap_map_init(&as->expired[0], 64, AP_EXPIRED_IDS) ||
	    ap_map_init(&as->expired[1], 64, AP_EXPIRED_IDS))
		return -ENOMEM;
	return ap_map_init(&as->index, 1024, as->max_nodes);
}

void ap_asm_free(struct ap_assembler *as)
{
	free(as->nodes);
	free(as->traces);
	free(as->ready);
	free(as->deps);
	free(as->dep_next);
	free(as->out_v);
	free(as->out_parent);
	free(as->out_fix);
	free(as->out_deps);
	ap_map_free(&as->index);
	ap_map_free(&as->pid_last);
	ap_map_free(&as->expired[0]);
	ap_map_free(&as->expired[1]);
	free(as->direct);
	memset(as, 0, sizeof(*as));
}

static inline uint32_t node_alloc(struct ap_assembler *as, uint64_t id)
{
	struct ap_node *n;
	uint32_t i;

	if (as->nodes_used >= as->max_nodes)
		return AP_NONE;
	if (as->free_node != AP_NONE) {
		i = as->free_node;
		as->free_node = as->nodes[i].next;
	} else {
		if (as->nodes_cap == UINT32_MAX - 1)
			return AP_NONE;
		if (as->nodes_used == as->nodes_cap) {
			uint32_t cap = as->nodes_cap ? as->nodes_cap * 2 : 1024;
			struct ap_node *p;

			if (cap > as->max_nodes)
				cap = as->max_nodes;
			p = realloc(as->nodes, (size_t)cap * sizeof(*p));
			if (!p)
				return AP_NONE;
			as->nodes = p;
			as->nodes_cap = cap;
		}
		i = as->nodes_used;	/* the free list is empty: the pool is dense */
	}
	if (index_add(as, id, i)) {
		as->nodes[i].next = as->free_node;
		as->free_node = i;
		return AP_NONE;
	}
	as->nodes_used++;	/* peak_nodes: taken at flush, where the pool is fullest */
	n = &as->nodes[i];
	/* Only what a BEGIN does not set: set_begin() fills the rest, and a
	 * placeholder that never gets its BEGIN is not handed on. */
	n->sp.id = id;
	n->sp.have = 0;
	n->sp.model = 0;
	n->sp.input_tokens = n->sp.output_tokens = 0;
	n->sp.error = 0;
	n->sp.t_end = 0;
	n->sp.tid_end = 0;
	n->parent = AP_NONE;
	n->next = AP_NONE;
	n->local = AP_NONE;
	return i;
}

static uint32_t trace_alloc(struct ap_assembler *as, uint32_t root)
{
	struct ap_trace_rec *t;
	uint32_t i;

	if (as->free_trace == AP_NONE) {
		uint32_t old = as->traces_cap, cap = old ? old * 2 : 256;
		struct ap_trace_rec *p = realloc(as->traces, (size_t)cap * sizeof(*p));

		if (!p)
			return AP_NONE;
		as->traces = p;
		for (uint32_t k = cap; k-- > old;) {
			p[k].live = 0;
			p[k].head = as->free_trace;
			as->free_trace = k;
		}
		as->traces_cap = cap;
	}
	i = as->free_trace;
	as->free_trace = as->traces[i].head;
	t = &as->traces[i];
	memset(t, 0, sizeof(*t));
	t->live = 1;
	t->root = root;
	t->head = t->tail = root;
	t->n = 1;
	t->deps = AP_NONE;
	as->nodes[root].trace = i;
	as->nodes[root].next = AP_NONE;
	return i;
}

static void trace_release(struct ap_assembler *as, uint32_t ti)
{
	as->traces[ti].live = 0;
	as->traces[ti].head = as->free_trace;
	as->free_trace = ti;
}

static void queue_if_complete(struct ap_assembler *as, uint32_t ti)
{
	struct ap_trace_rec *t = &as->traces[ti];
	const struct ap_span *r = &as->nodes[t->root].sp;

	if (t->queued || t->open || t->pending ||
	    (r->have & (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END)) != (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END))
		return;
	if (as->nready == as->ready_cap) {
		uint32_t cap = as->ready_cap ? as->ready_cap * 2 : 256;
		uint32_t *p = realloc(as->ready, cap * sizeof(*p));

		if (!p)
			return;	/* stays in flight; finish() hands it on */
		as->ready = p;
		as->ready_cap = cap;
	}
	t->queued = 1;
	as->ready[as->nready++] = ti;
}

/* Trace ti had an event at ts: the trace timeout counts from its latest. */
static inline void touch(struct ap_assembler *as, uint32_t ti, uint64_t ts)
{
	if (ts > as->traces[ti].last)
		as->traces[ti].last = ts;
}

/*
 * Spans of traces handed on by the timeout: an event of one of them later
 * is late (counted in late_events), never the start of a new trace. Two
 * generations of AP_EXPIRED_IDS ids each: when the current one is full, the
 * older is forgotten and takes its place, so the memory is bounded and the
 * ids remembered are the latest 1 to 2 generations' worth. Looked up only
 * on the slow paths (an id not in flight), and only once a trace expired.
 */
static int is_expired(const struct ap_assembler *as, uint64_t id)
{
	return as->expired[0].n + as->expired[1].n &&
	       (ap_map_get(&as->expired[0], id) || ap_map_get(&as->expired[1], id));
}

static void remember_expired(struct ap_assembler *as, uint64_t id)
{
	struct ap_map *m = &as->expired[as->expired_gen];

	if (m->n >= AP_EXPIRED_IDS) {
		as->expired_gen ^= 1;
		m = &as->expired[as->expired_gen];
		as->expired_forgotten += m->n;
		ap_map_free(m);
		if (ap_map_init(m, 64, AP_EXPIRED_IDS))
			return;
	}
	ap_map_put(m, id, 1);
}

/* Merge traces a and b, moving the smaller into the larger (any arrival
 * order then costs O(n log n)); the result's root is `root`. Returns the
 * surviving record. */
static uint32_t merge(struct ap_assembler *as, uint32_t a, uint32_t b, uint32_t root)
{
	struct ap_trace_rec *into, *from;
	uint32_t keep = a, gone = b;

	if (as->traces[a].n < as->traces[b].n) {
		keep = b;
		gone = a;
	}
	into = &as->traces[keep];
	from = &as->traces[gone];
	for (uint32_t i = from->head; i != AP_NONE; i = as->nodes[i].next)
		as->nodes[i].trace = keep;
	as->nodes[into->tail].next = from->head;
	into->tail = from->tail;
	into->n += from->n;
	into->open += from->open;
	into->pending += from->pending;
	if (from->last > into->last)
		into->last = from->last;
	if (from->deps != AP_NONE) {
		uint32_t d = from->deps;

		while (as->dep_next[d] != AP_NONE)
			d = as->dep_next[d];
		as->dep_next[d] = into->deps;
		into->deps = from->deps;
	}
	into->root = root;
	trace_release(as, gone);	/* a stale ready entry of it is skipped: not live */
	as->merges++;
	return keep;
}

/* The node of id, or a new placeholder in a trace of its own (pending). */
static uint32_t node_or_placeholder(struct ap_assembler *as, uint64_t id)
{
	uint32_t i = find(as, id), t;

	if (i != AP_NONE)
		return i;
	i = node_alloc(as, id);
	if (i == AP_NONE)
		return AP_NONE;
	t = trace_alloc(as, i);
	if (t == AP_NONE) {
		index_del(as, i);
		as->nodes[i].next = as->free_node;
		as->free_node = i;
		as->nodes_used--;
		return AP_NONE;
	}
	as->traces[t].pending = 1;
	return i;
}

static inline void set_begin(struct ap_span *sp, uint32_t pid, const struct ap_event *ev)
{
	sp->have |= AP_SPAN_HAVE_BEGIN;
	sp->parent = ev->u.begin.parent_id;
	sp->trace_hi = ev->u.begin.trace_hi;
	sp->trace_lo = ev->u.begin.trace_lo;
	sp->name = ev->u.begin.name_id;
	sp->t_begin = ev->ts;
	sp->pid = pid;
	sp->tid_begin = ev->tid;
	sp->flags = ev->flags;
	sp->category = ev->category;
}

/*
 * The common BEGIN: a new root starts its own trace; a new span whose parent
 * is in flight joins the parent's trace directly (no trace of its own, no
 * merge). Returns 0 when taken, -1 when the general path must handle it.
 */
static inline int begin_under_parent(struct ap_assembler *as, uint32_t pid, const struct ap_event *ev)
{
	uint64_t parent = ev->u.begin.parent_id;
	uint32_t i, pi, ti;
	struct ap_node *n;
	struct ap_trace_rec *t;

	if (parent == ev->span_id || (!surely_absent(as, ev->span_id) && find(as, ev->span_id) != AP_NONE))
		return -1;
	if (parent == 0) {
		/* A root: a new trace of its own. */
		i = node_alloc(as, ev->span_id);
		if (i == AP_NONE)
			return -1;
		ti = trace_alloc(as, i);
		if (ti == AP_NONE) {
			index_del(as, i);
			as->nodes[i].next = as->free_node;
			as->free_node = i;
			as->nodes_used--;
			return -1;
		}
		as->traces[ti].open = 1;
		as->traces[ti].last = ev->ts;
		n = &as->nodes[i];
	} else {
		if ((pi = find(as, parent)) == AP_NONE)
			return -1;
		i = node_alloc(as, ev->span_id);
		if (i == AP_NONE)
			return -1;
		n = &as->nodes[i];
		ti = as->nodes[pi].trace;
		t = &as->traces[ti];
		n->parent = pi;
		n->trace = ti;
		as->nodes[t->tail].next = i;
		t->tail = i;
		t->n++;
		t->open++;
		if (ev->ts > t->last)
			t->last = ev->ts;
	}
	set_begin(&n->sp, pid, ev);
	as->begins++;
	return 0;
}

/* Every other BEGIN: placeholders, duplicates, orphans, cycles, merges. */
static int on_begin_slow(struct ap_assembler *as, uint32_t pid, const struct ap_event *ev)
{
	uint32_t i, ti, pi;
	struct ap_node *n;
	uint64_t parent = ev->u.begin.parent_id;

	if (unlikely_expired(as) && find(as, ev->span_id) == AP_NONE &&
	    (is_expired(as, ev->span_id) ||
	     (parent && parent != ev->span_id && find(as, parent) == AP_NONE && is_expired(as, parent)))) {
		as->late_events++;	/* of a trace handed on by the timeout, or under one */
		remember_expired(as, ev->span_id);
		return 0;
	}
	i = node_or_placeholder(as, ev->span_id);
	if (i == AP_NONE) {
		as->over_cap++;
		return 0;
	}
	n = &as->nodes[i];
	if (n->sp.have & AP_SPAN_HAVE_BEGIN) {
		as->duplicate_begin++;
		return 0;
	}
	ti = n->trace;
	as->traces[ti].pending--;	/* a placeholder until now (new nodes start pending too) */
	if ((n->sp.have & AP_SPAN_HAVE_END) && n->sp.t_end < ev->ts) {
		/* Its END came first and is earlier than this BEGIN: not a
		 * time this span can have ended; it is open, so truncated. */
		as->ends_before_begin++;
		as->ends--;
		n->sp.have &= (uint8_t)~AP_SPAN_HAVE_END;
		n->sp.t_end = 0;
	}
	if (!(n->sp.have & AP_SPAN_HAVE_END))
		as->traces[ti].open++;
	set_begin(&n->sp, pid, ev);
	touch(as, ti, ev->ts);
	as->begins++;

	if (parent == 0) {
		queue_if_complete(as, ti);
		return 0;
	}
	if (parent == ev->span_id) {
		as->self_parents++;
		queue_if_complete(as, ti);
		return 0;
	}
	pi = node_or_placeholder(as, parent);
	n = &as->nodes[i];	/* the pool may have moved */
	if (pi == AP_NONE) {
		as->orphans++;	/* no room for the parent's placeholder */
		queue_if_complete(as, ti);
		return 0;
	}
	if (as->nodes[pi].trace == ti) {
		as->cycles++;	/* the parent descends from this span */
		queue_if_complete(as, ti);
		return 0;
	}
	n->parent = pi;
	ti = merge(as, ti, as->nodes[pi].trace, as->traces[as->nodes[pi].trace].root);
	queue_if_complete(as, ti);
	return 0;
}

static inline int on_end(struct ap_assembler *as, const struct ap_event *ev)
{
	struct ap_node *n;
	uint32_t i = find(as, ev->span_id);

	if (i == AP_NONE && unlikely_expired(as) && is_expired(as, ev->span_id)) {
		as->late_events++;
		return 0;
	}
	if (i == AP_NONE)
		i = node_or_placeholder(as, ev->span_id);	/* its BEGIN is yet to come */
	if (i == AP_NONE) {
		as->over_cap++;
		return 0;
	}
	n = &as->nodes[i];
	if (n->sp.have & AP_SPAN_HAVE_END) {
		as->duplicate_end++;
		return 0;
	}
	if ((n->sp.have & AP_SPAN_HAVE_BEGIN) && ev->ts < n->sp.t_begin) {
		as->ends_before_begin++;	/* the span stays open: truncated */
		return -1;
	}
	n->sp.have |= AP_SPAN_HAVE_END;
	n->sp.t_end = ev->ts;
	n->sp.tid_end = ev->tid;
	touch(as, n->trace, ev->ts);
	as->ends++;
	/* Only an END that closes the trace's last open span can complete it
	 * (a placeholder's END leaves it pending). */
	if ((n->sp.have & AP_SPAN_HAVE_BEGIN) && --as->traces[n->trace].open == 0)
		queue_if_complete(as, n->trace);
	return 0;
}

static int on_tokens(struct ap_assembler *as, const struct ap_event *ev)
{
	uint32_t i;
	struct ap_node *n;

	if (unlikely_expired(as) && find(as, ev->span_id) == AP_NONE && is_expired(as, ev->span_id)) {
		as->late_events++;
		return 0;
	}
	i = node_or_placeholder(as, ev->span_id);

	if (i == AP_NONE) {
		as->over_cap++;
		return 0;
	}
	n = &as->nodes[i];
	if (n->sp.have & AP_SPAN_HAVE_TOKENS)
		as->duplicate_tokens++;
	n->sp.have |= AP_SPAN_HAVE_TOKENS;
	n->sp.model = ev->u.tokens.model_id;
	n->sp.input_tokens = ev->u.tokens.input_tokens;
	n->sp.output_tokens = ev->u.tokens.output_tokens;
	touch(as, n->trace, ev->ts);
	as->tokens++;
	return 0;
}

/* A span failed: kept on the span (a placeholder until its BEGIN comes).
 * A second ERROR for one span replaces the first's name (the last word on
 * why it failed) and is counted once as an error. */
static void on_error(struct ap_assembler *as, const struct ap_event *ev)
{
	uint32_t i = node_or_placeholder(as, ev->span_id);
	struct ap_node *n;

	if (i == AP_NONE) {
		as->over_cap++;
		return;
	}
	n = &as->nodes[i];
	if (!(n->sp.have & AP_SPAN_HAVE_ERROR))
		as->errors++;
	n->sp.have |= AP_SPAN_HAVE_ERROR;
	n->sp.error = ev->u.error.name_id;
}

static int on_depends(struct ap_assembler *as, const struct ap_event *ev)
{
	uint32_t a = find(as, ev->span_id), d, ti;

	if (a == AP_NONE && unlikely_expired(as) && is_expired(as, ev->span_id)) {
		as->late_events++;
		return 0;
	}
	if (a == AP_NONE || find(as, ev->u.depends.on_span) == AP_NONE) {
		as->deps_ignored++;	/* a span not in flight: nothing to order */
		return 0;
	}
	if (as->free_dep != AP_NONE) {
		d = as->free_dep;
		as->free_dep = as->dep_next[d];
	} else {
		if (as->deps_used == as->deps_cap) {
			uint32_t cap = as->deps_cap ? as->deps_cap * 2 : 256;
			struct ap_dep *p;
			uint32_t *q;

			if (cap > as->max_nodes * 4u || !(p = realloc(as->deps, cap * sizeof(*p)))) {
				as->over_cap++;
				return 0;
			}
			as->deps = p;
			if (!(q = realloc(as->dep_next, cap * sizeof(*q)))) {
				as->over_cap++;
				return 0;
			}
			as->dep_next = q;
			as->deps_cap = cap;
		}
		d = as->deps_used++;
	}
	ti = as->nodes[a].trace;
	touch(as, ti, ev->ts);
	as->deps[d].span = ev->span_id;
	as->deps[d].on_span = ev->u.depends.on_span;
	as->dep_next[d] = as->traces[ti].deps;
	as->traces[ti].deps = d;
	as->depends++;
	return 0;
}

/* One event: checked as ap_event_ok() does, and against the clock window,
 * in the same dispatch on its kind that handles it. Returns 0 when it failed
 * a check. */
static inline int one_event(struct ap_assembler *as, uint32_t pid, const struct ap_event *ev)
{
	if (ev->span_id - 1 >= UINT64_MAX - 1)	/* 0 or UINT64_MAX */
		return 0;
	if (__builtin_expect(ev->ts < as->ts_lo || ev->ts > as->ts_hi, 0)) {
		as->ts_rejected++;
		return 0;
	}
	switch (ev->kind) {
	case AP_EV_BEGIN:
		if (ev->category >= AP_CAT_COUNT || (ev->flags & ~AP_EVF_ALL))
			return 0;
		if (begin_under_parent(as, pid, ev) != 0)
			on_begin_slow(as, pid, ev);
		return 1;
	case AP_EV_END:
		return on_end(as, ev) == 0;
	case AP_EV_TOKENS:
		on_tokens(as, ev);
		return 1;
	case AP_EV_DEPENDS:
		if (ev->u.depends.on_span == 0 || ev->u.depends.on_span == ev->span_id)
			return 0;
		on_depends(as, ev);
		return 1;
	case AP_EV_ERROR:
		on_error(as, ev);
		return 1;
	default:
		return 0;
	}
}

/* The latest timestamp of pid's accepted events: where its truncated spans
 * end. One lookup per batch (a batch is one process's). */
static void note_last(struct ap_assembler *as, uint32_t pid, uint64_t ts)
{
	uint64_t *v = ap_map_get(&as->pid_last, (uint64_t)pid + 1);

	if (v) {
		if (ts > *v)
			*v = ts;
	} else {
		ap_map_put(&as->pid_last, (uint64_t)pid + 1, ts);	/* full: such spans end at their begin */
	}
}

void ap_asm_events(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
		   struct ap_batch_result *res)
{
	struct ap_assembler *as = ctx;
	uint32_t rejected = 0, begins = 0;
	uint64_t last = 0;

	for (uint32_t k = 0; k < n; k++) {
		int ok = one_event(as, pid, &ev[k]);

		rejected += !ok;
		begins += ok & (ev[k].kind == AP_EV_BEGIN);
		if (ok && ev[k].ts > last)
			last = ev[k].ts;
	}
	if (last)
		note_last(as, pid, last);
	as->invalid += rejected;
	res->rejected = rejected;
	res->begins = begins;
}

void ap_asm_seen(struct ap_assembler *as, uint32_t pid, uint64_t ticks)
{
	note_last(as, pid, ticks);
}

int ap_asm_event(struct ap_assembler *as, uint32_t pid, const struct ap_event *ev)
{
	if (!one_event(as, pid, ev)) {
		as->invalid++;
		return -1;
	}
	note_last(as, pid, ev->ts);
	return 0;
}

/* Where an open span of an incomplete trace ends: the last moment its
 * process was known running, and never before its own begin. */
static uint64_t truncation_point(const struct ap_assembler *as, const struct ap_span *sp)
{
	uint64_t *v = ap_map_get(&as->pid_last, (uint64_t)sp->pid + 1);

	return v && *v > sp->t_begin ? *v : sp->t_begin;
}

static int grow_out(struct ap_assembler *as, uint32_t n, uint32_t ndeps)
{
	if (n > as->out_cap) {
		struct ap_span *v = realloc(as->out_v, (size_t)n * sizeof(*v));
		uint32_t *p;

		if (!v)
			return -ENOMEM;
		as->out_v = v;
		p = realloc(as->out_parent, (size_t)n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		as->out_parent = p;
		p = realloc(as->out_fix, (size_t)n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		as->out_fix = p;
		as->out_cap = n;
	}
	if (ndeps > as->out_deps_cap) {
		struct ap_dep *d = realloc(as->out_deps, (size_t)ndeps * sizeof(*d));

		if (!d)
			return -ENOMEM;
		as->out_deps = d;
		as->out_deps_cap = ndeps;
	}
	return 0;
}

/*
 * Hand trace ti on and free it, in one walk of its node list. A node's
 * local index is AP_NONE from its allocation until this walk gives it one;
 * a parent usually comes before its children in the list (children join
 * the parent's trace after it), so its local is known when they are
 * copied. The few links that point forward (after merges) are fixed up
 * after the walk: freeing a node leaves its local intact.
 */
static void hand_on(struct ap_assembler *as, uint32_t ti, int complete, uint64_t cut)
{
	struct ap_trace_rec *t = &as->traces[ti];
	struct ap_trace_view view;
	uint32_t k = 0, nd = 0, nfix = 0, i, next;
	int ok;

	for (uint32_t d = t->deps; d != AP_NONE; d = as->dep_next[d])
		nd++;
	ok = grow_out(as, t->n, nd) == 0;
	if (ok) {
		nd = 0;
		for (uint32_t d = t->deps; d != AP_NONE; d = as->dep_next[d])
			as->out_deps[nd++] = as->deps[d];
	} else {
		as->over_cap += t->n;	/* no memory to hand it on: counted, dropped */
	}
	for (uint32_t d = t->deps; d != AP_NONE; d = next) {
		next = as->dep_next[d];
		as->dep_next[d] = as->free_dep;
		as->free_dep = d;
	}
	for (i = t->head; i != AP_NONE; i = next) {
		struct ap_node *n = &as->nodes[i];

		next = n->next;
		if (!ok) {
			/* nothing to copy */
		} else if (!(n->sp.have & AP_SPAN_HAVE_BEGIN)) {
			if (n->sp.have & AP_SPAN_HAVE_END)
				as->end_without_begin++;
			else if (n->sp.have & (AP_SPAN_HAVE_TOKENS | AP_SPAN_HAVE_ERROR))
				as->tokens_only++;	/* or an error: about a span never begun */
			n->local = AP_NONE;	/* a placeholder: not a span */
			if (cut)
				remember_expired(as, n->sp.id);
		} else {
			uint32_t p = n->parent;

			n->local = k;
			as->out_v[k] = n->sp;
			if (!(n->sp.have & AP_SPAN_HAVE_END))
				as->out_v[k].t_end = cut ? (cut > n->sp.t_begin ? cut : n->sp.t_begin) :
						     truncation_point(as, &n->sp);
			if (cut)
				remember_expired(as, n->sp.id);
			if (n->sp.t_begin > as->t_max)
				as->t_max = n->sp.t_begin;
			if (n->sp.t_end > as->t_max)
				as->t_max = n->sp.t_end;
			if (n->sp.have & AP_SPAN_HAVE_END)
				as->spans_complete++;
			else
				as->spans_open++;
			if (p == AP_NONE) {
				as->out_parent[k] = AP_NONE;
			} else if (as->nodes[p].local != AP_NONE) {
				as->out_parent[k] = as->nodes[p].local;
			} else {
				/* Later in the list, or a placeholder: after the walk.
				 * out_parent holds the node index until then. */
				as->out_parent[k] = p;
				as->out_fix[nfix++] = k;
			}
			k++;
		}
		index_del(as, i);
		n->next = as->free_node;
		as->free_node = i;
		as->nodes_used--;
	}
	for (uint32_t f = 0; f < nfix; f++) {
		uint32_t local = as->nodes[as->out_parent[as->out_fix[f]]].local;

		as->out_parent[as->out_fix[f]] = local;
		if (local == AP_NONE)
			as->orphans++;	/* its parent never began */
	}
	if (ok && k) {
		view.v = as->out_v;
		view.parent = as->out_parent;
		view.n = k;
		view.deps = as->out_deps;
		view.ndeps = nd;
		view.complete = complete;
		view.t_last = as->t_max;
		as->on_trace(as->ctx, &view);
		if (complete)
			as->traces_complete++;
		else
			as->traces_incomplete++;
	} else if (ok && complete) {
		as->traces_complete++;
	}
	trace_release(as, ti);
}

const struct ap_span *ap_asm_find(const struct ap_assembler *as, uint64_t id)
{
	uint32_t i = id ? find(as, id) : AP_NONE;

	return i != AP_NONE ? &as->nodes[i].sp : NULL;
}

void ap_asm_span_counts(const struct ap_assembler *as, struct ap_span_counts *sc)
{
	sc->complete = as->spans_complete;
	sc->open = as->spans_open;
	sc->unmatched_end = as->end_without_begin;
	sc->tokens_only = as->tokens_only;
}

void ap_asm_flush(struct ap_assembler *as)
{
	if (as->nodes_used > as->peak_nodes)
		as->peak_nodes = as->nodes_used;
	for (uint32_t r = 0; r < as->nready; r++) {
		uint32_t ti = as->ready[r];
		struct ap_trace_rec *t = &as->traces[ti];
		const struct ap_span *root;

		if (!t->live || !t->queued)
			continue;
		t->queued = 0;
		root = &as->nodes[t->root].sp;
		if (t->open || t->pending ||
		    (root->have & (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END)) !=
			    (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END))
			continue;	/* grew since it was queued: wait */
		hand_on(as, ti, 1, 0);
	}
	as->nready = 0;
}

void ap_asm_finish(struct ap_assembler *as)
{
	ap_asm_flush(as);
	/* Open spans end at the latest timestamp of the run: take the spans
	 * still in flight into it too (hand_on() took those handed on). */
	for (uint32_t ti = 0; ti < as->traces_cap; ti++) {
		if (!as->traces[ti].live)
			continue;
		for (uint32_t i = as->traces[ti].head; i != AP_NONE; i = as->nodes[i].next) {
			const struct ap_span *sp = &as->nodes[i].sp;

			if ((sp->have & AP_SPAN_HAVE_BEGIN) && sp->t_begin > as->t_max)
				as->t_max = sp->t_begin;
			if ((sp->have & AP_SPAN_HAVE_END) && sp->t_end > as->t_max)
				as->t_max = sp->t_end;
		}
	}
	for (uint32_t ti = 0; ti < as->traces_cap; ti++)
		if (as->traces[ti].live)
			hand_on(as, ti, 0, 0);
}

uint32_t ap_asm_expire(struct ap_assembler *as, uint64_t cutoff)
{
	uint32_t n = 0;

	ap_asm_flush(as);	/* a trace complete by now is complete, not timed out */
	for (uint32_t ti = 0; ti < as->traces_cap; ti++) {
		struct ap_trace_rec *t = &as->traces[ti];

		if (!t->live || t->last >= cutoff)
			continue;
		/* Its open spans end at its last event: nothing of it was seen after. */
		hand_on(as, ti, 0, t->last ? t->last : 1);
		as->traces_timed_out++;
		n++;
	}
	return n;
}

uint32_t ap_asm_each_open(const struct ap_assembler *as, void (*fn)(void *ctx, const struct ap_span *sp),
			  void *ctx)
{
	uint32_t traces = 0;

	for (uint32_t ti = 0; ti < as->traces_cap; ti++) {
		if (!as->traces[ti].live)
			continue;
		traces++;
		for (uint32_t i = as->traces[ti].head; i != AP_NONE; i = as->nodes[i].next) {
			const struct ap_span *sp = &as->nodes[i].sp;

			if ((sp->have & (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END)) == AP_SPAN_HAVE_BEGIN)
				fn(ctx, sp);
		}
	}
	return traces;
}
