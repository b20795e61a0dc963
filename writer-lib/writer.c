/* SPDX-License-Identifier: MIT */
/*
 * writer.c - libagentprof's fast path: record spans into the thread's lane.
 *
 * Workload: an agent process records a few to a few million spans a second
 * from a handful of threads; every span is two events (BEGIN, END), plus one
 * TOKENS event per LLM call. The fast path is what matters, and it is:
 *
 *   thread-local state -> reserve a slot in the thread's own lane (A) ->
 *   plain stores of the event fields -> store-release of head (B)
 *
 * with no syscall, no lock and no atomic read-modify-write. The thread keeps
 * a private copy of head and of the reader's tail and reloads the shared tail
 * only when its copy says the ring is full (F); see shm/ap_shm.h for the
 * barrier pairing. Everything else (attach, lane claim, fork, names) is a
 * slow path in another file of this folder (state.h lists them).
 *
 * Two paths per call. ap_begin and ap_end first try a path for the common
 * case (a lane of this generation on the counter clock, one word: t->go;
 * room in the lane and in the parent stack; the innermost span for an end)
 * that calls nothing, so it has almost no registers to save; any other case
 * goes whole, before any state changes, to the general path (begin_impl,
 * end_slow), which every other call uses too. What the split bought, in
 * instructions per root span pair (callgrind, bench-pair --count): 218
 * before, 134 after, against 53 for the floor (README, "The span pair as a
 * user sees it", for the time figures and what the rest would take).
 *
 * Signals: a handler may record spans. Each thread has a guard word, set for
 * the duration of every call that touches its state; a call that finds it set
 * interrupted its own thread mid-write and drops its event, counting it in
 * the lane's dropped_reentrant with an atomic add (the only RMW, on that rare
 * path, and atomic because handlers can nest). Compiler-only fences order the
 * guard against the writes it protects.
 */
#include <string.h>

#include "state.h"
#include "writer_internal.h"

enum { M_IMPLICIT, M_CHILD, M_ASYNC };

#ifdef AP_TEST_HOOKS
void (*ap_test_midwrite_hook)(void);
#define MIDWRITE_HOOK() do { if (ap_test_midwrite_hook) ap_test_midwrite_hook(); } while (0)
#else
#define MIDWRITE_HOOK() do { } while (0)
#endif

static AP_COLD void count_reentrant(struct ap_thread *t, uint64_t events)
{
	struct ap_lane *lane;

	if (t == &ap_w_noblock) {	/* AP_SPAN_REENTRANT handed to a new thread */
		t = ap_w_self_slow();
		if (!t)
			return;
	}
	lane = t->lane;

	ap_add_relaxed(&t->my_dropped_reentrant, events);
	if (lane)
		ap_add_relaxed(&lane->dropped_reentrant, events);
}

static AP_COLD void count_no_lane(struct ap_thread *t)
{
	t->my_dropped_no_lane++;
	if (ap_p.seg.hdr)
		ap_add_relaxed(&ap_p.seg.hdr->dropped_no_lane, 1);
}

/* Ring looked full through the private tail: reload the shared one (F). */
static AP_COLD int tail_refresh(struct ap_thread *t)
{
	t->tail_cache = ap_load_acquire(&t->lane->tail);
	if (t->head - t->tail_cache <= t->mask)
		return 1;
	t->dropped_full++;
	t->my_dropped_full++;
	ap_store_relaxed(&t->lane->dropped_full, t->dropped_full);
	return 0;
}

/* A slot for the next event, or NULL when it must be dropped (counted). */
static inline struct ap_event *reserve(struct ap_thread *t)
{
	if (unlikely(!t->ring)) {
		count_no_lane(t);
		return NULL;
	}
	if (unlikely(t->head - t->tail_cache > t->mask) && !tail_refresh(t))
		return NULL;
	return &t->ring[t->head & t->mask];
}

/* Publish the event at `h`, the head this call read before writing (the
 * event's stores may alias t->head for the compiler: no reload). */
static inline void publish_at(struct ap_thread *t, uint64_t h)
{
	MIDWRITE_HOOK();
	t->head = h + 1;
	ap_store_release(&t->lane->head, h + 1);	/* (B) */
}

static inline void publish(struct ap_thread *t)
{
	publish_at(t, t->head);
}

/* Entry of every recording call: GO with the guard on; OFF (profiling off:
 * record nothing); WAITING (no reader: the segment is missing or retired,
 * record nothing, a begin counts its span); REENTRANT (a handler
 * interrupted this thread mid-call: the `events` it would have written are
 * counted as dropped).
 *
 * The one word this adds to the recording path is the segment's `retired`
 * (ap_shm.h): a line nothing writes after create but the stopping reader,
 * so the load hits the cache. While waiting, a begin costs the call into the
 * library, a read of the coarse clock (vDSO, no syscall) and a compare with
 * the next time to look (callgrind: about 70 instructions, against 5 for a
 * span with profiling off, which never calls in). */
enum { GO = 1, OFF = 0, REENTRANT = -1, WAITING = -2 };

static inline int enter(struct ap_thread **tp, uint64_t events)
{
	struct ap_thread *t = *tp;

	if (unlikely(!t->ring || t->gen != ap_load_relaxed(&ap_p.gen) ||
		     ap_load_relaxed(&ap_p.seg.hdr->retired))) {
		int st = ap_load_relaxed(&ap_p.state), r;

		if (st == ST_OFF)
			return OFF;
		if (t == &ap_w_noblock) {	/* the thread's first call: its block */
			t = ap_w_self_slow();
			if (!t)
				return OFF;
			*tp = t;
		}
		if (st == ST_WAIT && !t->lane && ap_w_coarse_ns() < ap_load_relaxed(&ap_p.retry_at))
			return WAITING;
		if (t->busy) {
			count_reentrant(t, events);
			return REENTRANT;
		}
		guard_on(t);
		r = ap_w_thread_ready(t);
		if (r <= 0) {
			guard_off(t);
			return r < 0 ? WAITING : OFF;
		}
		return GO;
	}
	if (unlikely(t->busy)) {
		count_reentrant(t, events);
		return REENTRANT;
	}
	guard_on(t);
	return GO;
}

/* A BEGIN written in place into the slot e and published. */
static inline __attribute__((always_inline))
void put_begin_at(struct ap_thread *t, struct ap_event *e, uint64_t ts, int category, uint16_t flags,
		  uint64_t id, uint64_t parent, uint64_t hi, uint64_t lo, uint64_t name_id)
{
	put_head(e, AP_EV_BEGIN, (uint8_t)category, flags, t->tid, ts, id);
	e->u.begin.parent_id = parent;
	e->u.begin.trace_hi = hi;
	e->u.begin.trace_lo = lo;
	e->u.begin.name_id = name_id;
	e->u.begin.reserved = 0;
	publish(t);
}

/* A BEGIN written and published (a full lane drops it, counted in
 * reserve): the general paths of ap_begin* and ap_begin_ctx. */
static inline void put_begin(struct ap_thread *t, int category, uint16_t flags, uint64_t id, uint64_t parent,
			     uint64_t hi, uint64_t lo, uint64_t name_id)
{
	struct ap_event *e = reserve(t);

	if (likely(e != NULL))
		put_begin_at(t, e, now_ticks(), category, flags, id, parent, hi, lo, name_id);
}

/* Id returned by a begin that was dropped for reentrancy: its end is dropped
 * too (agentprof.h documents it as AP_SPAN_REENTRANT). */
#define SPAN_REENTRANT	UINT64_MAX
_Static_assert(SPAN_REENTRANT == AP_SPAN_REENTRANT, "agentprof.h names the reentrant span id");

static AP_COLD void count_sampled_out(struct ap_thread *t)
{
	/* Counted on the lane for the report; its only writer is this thread. */
	if (t->lane)
		ap_store_relaxed(&t->lane->sampled_out, ap_load_relaxed(&t->lane->sampled_out) + 1);
}

/*
 * The trace a root span `id` starts; returns whether it is sampled. No hash
 * on the way: trace_hi is a random word drawn per thread and process
 * (thread_ready), trace_lo the root's own span id, unique within the thread
 * (a counter under the process tag), so two roots never share a trace id,
 * and trace_lo is never 0. Head sampling, when on, decides from a mix of
 * trace_lo; every process the trace reaches follows the sampled flag.
 */
static inline __attribute__((always_inline))
int new_root_trace(struct ap_thread *t, uint64_t id, uint64_t *hi, uint64_t *lo)
{
	*hi = t->trace_hi;
	*lo = id;
	if (likely(sample_trace(id)))
		return 1;
	count_sampled_out(t);
	return 0;
}

/* The trace of `parent` if this thread has it open; else flags it unknown. */
static AP_COLD uint16_t parent_trace(struct ap_thread *t, uint64_t parent, uint64_t *hi, uint64_t *lo)
{
	for (uint32_t i = t->depth; i-- > 0;) {
		if (t->stack[i].span == parent) {
			*hi = t->stack[i].trace_hi;
			*lo = t->stack[i].trace_lo;
			return 0;
		}
	}
	if (ap_p.have_remote && parent == ap_p.remote_span) {
		*hi = ap_p.remote_hi;
		*lo = ap_p.remote_lo;
		return AP_EVF_ROOT_REMOTE;
	}
	/* The reader resolves the trace from the parent; W3C output uses (0, parent). */
	*hi = 0;
	*lo = parent;
	return AP_EVF_TRACE_UNKNOWN;
}

static inline void push_frame(struct ap_thread *t, uint32_t d, uint64_t id, uint64_t hi, uint64_t lo)
{
	struct frame *f = &t->stack[d];

	f->span = id;
	f->trace_hi = hi;
	f->trace_lo = lo;
	t->depth = d + 1;
}

static inline __attribute__((always_inline))
uint64_t begin_impl(uint64_t parent, uint64_t name_id, int category, int mode)
{
	struct ap_thread *t = ap_tp;
	uint64_t id, hi, lo;
	uint16_t flags = 0;
	int sampled;

	int go = enter(&t, 1);

	if (unlikely(go != GO)) {
		if (go == WAITING) {
			t->my_no_reader++;
			t->no_reader_unsent++;
		}
		return go == REENTRANT ? SPAN_REENTRANT : 0;
	}
	id = t->next_id;
	t->next_id = id + 2;

	if (mode == M_IMPLICIT) {
		int where = current_parent(t, &parent, &hi, &lo, &sampled);

		if (where == 2)
			flags = AP_EVF_ROOT_REMOTE;
		else if (where == 0)
			sampled = new_root_trace(t, id, &hi, &lo);
	} else if (parent) {
		flags = AP_EVF_EXPLICIT_PARENT | parent_trace(t, parent, &hi, &lo);
		sampled = (flags & AP_EVF_ROOT_REMOTE) ? ap_p.remote_flags & 1 : parent & 1;
	} else if (ap_p.have_remote) {
		/* No parent given: under $TRACEPARENT, as ap_begin would be. */
		parent = ap_p.remote_span;
		hi = ap_p.remote_hi;
		lo = ap_p.remote_lo;
		flags = AP_EVF_ROOT_REMOTE;
		sampled = ap_p.remote_flags & 1;
	} else {
		sampled = new_root_trace(t, id, &hi, &lo);
	}
	if (unlikely(!sampled))
		id = id != 1 ? id - 1 : 2;	/* even: not recorded, nor anything under it */
	if (mode != M_ASYNC && likely(t->depth < AP_STACK_MAX))
		push_frame(t, t->depth, id, hi, lo);
	if (likely(sampled))
		put_begin(t, category, flags, id, parent, hi, lo, name_id);
	guard_off(t);
	return id;
}

static AP_COLD uint64_t begin_slow(uint64_t name_id, int category)
{
	return begin_impl(0, name_id, category, M_IMPLICIT);
}

/*
 * ap_begin's fast path: the common case, a thread with a lane of this
 * generation on the counter clock (t->go, state.h), room in its stack and
 * in its lane, the segment not retired. It calls nothing (but to count a
 * trace sampled out), so it saves almost no register; every other case,
 * and a call that finds the guard set, goes whole to the general path
 * (begin_impl) before any state is changed, as a tail call. The guard is set before the checks:
 * a signal handler that runs between the busy test and the guard leaves
 * the state as it found it (its spans are whole), and one that runs after
 * sees the guard.
 */
AP_HOT uint64_t ap_begin(uint64_t name_id, int category)
{
	struct ap_thread *t = ap_tp;
	struct ap_event *e;
	struct frame *top;
	uint64_t id, h, parent;
	uint32_t d;
	int sampled;

	if (unlikely(t->depth_busy >> 32))
		return begin_slow(name_id, category);	/* the guard is set */
	guard_on(t);
	h = t->head;
	d = t->depth;	/* read under the guard, as everything it protects */
	if (unlikely(t->go != ap_load_relaxed(&ap_p.gen) || ap_load_relaxed(&ap_p.seg.hdr->retired) ||
		     h - t->tail_cache > t->mask || d >= AP_STACK_MAX || (d == 0 && ap_p.have_remote))) {
		guard_off(t);
		return begin_slow(name_id, category);
	}
	/* The new frame is the storage of the trace id, the event copies it:
	 * fewer values live at once, so no register to save. */
	top = &t->stack[d];
	id = t->next_id;
	t->next_id = id + 2;
	if (likely(d)) {
		parent = top[-1].span;
		top->trace_hi = top[-1].trace_hi;
		top->trace_lo = top[-1].trace_lo;
		sampled = parent & 1;
	} else {
		parent = 0;
		sampled = new_root_trace(t, id, &top->trace_hi, &top->trace_lo);
	}
	if (unlikely(!sampled)) {
		id = id != 1 ? id - 1 : 2;	/* even: not recorded, nor anything under it */
		top->span = id;
		guard_off_depth(t, d + 1);
		return id;
	}
	top->span = id;
	e = &t->ring[h & t->mask];
	put_head(e, AP_EV_BEGIN, (uint8_t)category, 0, t->tid, ap_counter_ticks(), id);
	e->u.begin.parent_id = parent;
	e->u.begin.trace_hi = top->trace_hi;
	e->u.begin.trace_lo = top->trace_lo;
	e->u.begin.name_id = name_id;
	e->u.begin.reserved = 0;
	publish_at(t, h);
	guard_off_depth(t, d + 1);
	return id;
}

uint64_t ap_begin_child(uint64_t parent_span, uint64_t name_id, int category)
{
	return begin_impl(parent_span, name_id, category, M_CHILD);
}

uint64_t ap_begin_async(uint64_t parent_span, uint64_t name_id, int category)
{
	return begin_impl(parent_span, name_id, category, M_ASYNC);
}

/* `span` is not this thread's innermost open span: close the frames above it
 * (ended elsewhere, or leaked). Returns 0 when the span was inherited at fork
 * (the parent process records its end), 1 to record the end. */
static AP_COLD int end_unwind(struct ap_thread *t, uint64_t span)
{
	for (uint32_t i = t->depth; i-- > 0;) {
		if (t->stack[i].span == span) {
			t->depth = i;
			if (i < t->inherited) {
				t->inherited = i;
				return 0;
			}
			return 1;
		}
	}
	/* Begun on another thread, or async: recorded unless begun by another
	 * process (inherited through fork: the parent records its end). */
	return ap_w_id_mine(span);
}

static AP_COLD void end_slow(uint64_t span)
{
	struct ap_thread *t = ap_tp;
	struct ap_event *e;
	uint64_t ts;
	uint32_t d;

	if (unlikely(span == 0))
		return;
	if (unlikely(span == SPAN_REENTRANT)) {
		count_reentrant(t, 1);
		return;
	}
	if (unlikely(enter(&t, 1) != GO))
		return;
	ts = likely(span & 1) ? now_ticks() : 0;	/* unsampled: no clock read */
	d = t->depth;
	if (likely(d && t->stack[d - 1].span == span)) {
		t->depth = d - 1;
		if (unlikely(d <= t->inherited)) {
			t->inherited = d - 1;
			goto out;
		}
	} else if (!end_unwind(t, span)) {
		goto out;
	}
	if (unlikely(!(span & 1)))
		goto out;	/* its trace is not sampled */
	e = reserve(t);
	if (likely(e != NULL)) {
		put_head(e, AP_EV_END, 0, 0, t->tid, ts, span);
		publish(t);
	}
out:
	guard_off(t);
}

/* ap_end's fast path, as ap_begin's: the innermost open span of a thread
 * with a lane of this generation, begun in this process; a span of a trace
 * not sampled (even id) is popped and nothing written, a sampled one needs
 * room in the lane. Anything else (0, AP_SPAN_REENTRANT, spans under the
 * top of the stack or inherited at fork) goes whole to end_slow. Unlike
 * end_slow it does not look at `retired`: an end after the reader retired
 * lands in the retired lane (the mapping stays), as lost as the end it
 * would skip; the thread's next begin follows the reader. */
AP_HOT void ap_end(uint64_t span)
{
	struct ap_thread *t = ap_tp;
	uint64_t h;
	uint32_t d;

	if (unlikely(t->depth_busy >> 32))
		return end_slow(span);	/* the guard is set */
	guard_on(t);
	h = t->head;
	d = t->depth;	/* read under the guard, as everything it protects */
	if (unlikely(t->go != ap_load_relaxed(&ap_p.gen) || d <= t->inherited || t->stack[d - 1].span != span)) {
		guard_off(t);
		return end_slow(span);
	}
	if (unlikely(!(span & 1))) {
		guard_off_depth(t, d - 1);	/* a trace not sampled: nothing to write */
		return;
	}
	if (unlikely(h - t->tail_cache > t->mask)) {
		guard_off(t);
		return end_slow(span);
	}
	put_head(&t->ring[h & t->mask], AP_EV_END, 0, 0, t->tid, ap_counter_ticks(), span);
	publish_at(t, h);
	guard_off_depth(t, d - 1);
}

/* An event about a recorded span (TOKENS, DEPENDS): its payload zeroed, to
 * be filled by the caller, who then publishes. NULL when nothing is to be
 * written (off, reentrant: counted, lane full: counted); the guard is on
 * exactly when the result is not NULL. */
static struct ap_event *span_event(struct ap_thread **tp, uint8_t kind, uint64_t span)
{
	struct ap_event *e;
	struct ap_thread *t;

	if (enter(tp, 1) != GO)
		return NULL;
	t = *tp;
	e = reserve(t);
	if (!e) {
		guard_off(t);
		return NULL;
	}
	memset(&e->u, 0, sizeof(e->u));
	put_head(e, kind, 0, 0, t->tid, now_ticks(), span);
	return e;
}

/* The event of a call about a span (tokens, a dependency, an error), or
 * NULL when nothing is to be written: off (span 0), a trace not sampled
 * (an even id), a span whose begin was dropped for reentrancy (counted), a
 * full lane or no lane (counted by reserve). Guard on when not NULL. */
static struct ap_event *span_note(struct ap_thread **tp, uint8_t kind, uint64_t span)
{
	if (span == 0 || !(span & 1))
		return NULL;
	if (span == SPAN_REENTRANT) {
		count_reentrant(*tp, 1);
		return NULL;
	}
	return span_event(tp, kind, span);
}

void ap_set_tokens(uint64_t span, uint64_t model_name_id, uint32_t input_tokens, uint32_t output_tokens)
{
	struct ap_thread *t = ap_tp;
	struct ap_event *e;

	e = span_note(&t, AP_EV_TOKENS, span);
	if (!e)
		return;
	e->u.tokens.model_id = model_name_id;
	e->u.tokens.input_tokens = input_tokens;
	e->u.tokens.output_tokens = output_tokens;
	publish(t);
	guard_off(t);
}

void ap_depends(uint64_t span, uint64_t on_span)
{
	struct ap_thread *t = ap_tp;
	struct ap_event *e;

	if (on_span == 0 || !(on_span & 1))
		return;	/* off, or a trace not sampled */
	if (on_span == SPAN_REENTRANT && (span & 1)) {
		count_reentrant(t, 1);
		return;
	}
	e = span_note(&t, AP_EV_DEPENDS, span);
	if (!e)
		return;
	e->u.depends.on_span = on_span;
	publish(t);
	guard_off(t);
}

void ap_span_cleanup_(uint64_t *span)
{
	ap_end(*span);
}

uint64_t ap_current(void)
{
	struct ap_thread *t = ap_tp;	/* ap_w_noblock: pid 0, depth 0 */

	if (!ap_enabled() || t->pid != ap_p.pid || t->depth == 0)
		return 0;
	return t->stack[t->depth - 1].span;
}

void ap_set_error(uint64_t span, uint64_t name_id)
{
	struct ap_thread *t = ap_tp;
	struct ap_event *e;

	e = span_note(&t, AP_EV_ERROR, span);
	if (!e)
		return;
	e->u.error.name_id = name_id;
	publish(t);
	guard_off(t);
}

/*
 * Explicit contexts (agentprof.h): the parent comes in, the span's context
 * goes out, and the thread's stack is not touched. The same write path as
 * begin_impl, minus the frame.
 */
AP_HOT uint64_t ap_begin_ctx(const struct ap_ctx *parent, uint64_t name_id, int category, struct ap_ctx *out)
{
	struct ap_thread *t = ap_tp;
	uint64_t id, pspan, hi, lo;
	uint16_t flags;
	int sampled;
	int go = enter(&t, 1);

	if (unlikely(go != GO)) {
		if (go == WAITING) {	/* as begin_impl: the span is counted */
			t->my_no_reader++;
			t->no_reader_unsent++;
		}
		out->trace_hi = out->trace_lo = 0;
		out->span = go == REENTRANT ? SPAN_REENTRANT : 0;
		out->flags = out->pid = 0;
		return out->span;
	}
	id = t->next_id;
	t->next_id = id + 2;
	if (parent && parent->span) {
		pspan = parent->span;
		hi = parent->trace_hi;
		lo = parent->trace_lo;
		sampled = parent->flags & AP_CTX_SAMPLED;
		flags = (parent->flags & AP_CTX_REMOTE) ? AP_EVF_EXPLICIT_PARENT | AP_EVF_ROOT_REMOTE
							: AP_EVF_EXPLICIT_PARENT;
	} else if (ap_p.have_remote) {
		pspan = ap_p.remote_span;
		hi = ap_p.remote_hi;
		lo = ap_p.remote_lo;
		sampled = ap_p.remote_flags & 1;
		flags = AP_EVF_ROOT_REMOTE;
	} else {
		pspan = 0;
		flags = 0;
		sampled = new_root_trace(t, id, &hi, &lo);
	}
	if (unlikely(!sampled))
		id = id != 1 ? id - 1 : 2;
	out->trace_hi = hi;
	out->trace_lo = lo;
	out->span = id;
	out->flags = sampled ? AP_CTX_SAMPLED : 0;
	out->pid = t->pid;
	if (likely(sampled))
		put_begin(t, category, flags, id, pspan, hi, lo, name_id);
	guard_off(t);
	return id;
}

AP_HOT void ap_end_ctx(const struct ap_ctx *c)
{
	struct ap_thread *t = ap_tp;
	struct ap_event *e;
	uint64_t span;

	if (unlikely(!c || !(c->span & 1)))
		return;	/* empty, off, or not sampled */
	span = c->span;
	if (unlikely(span == SPAN_REENTRANT)) {
		count_reentrant(t, 1);
		return;
	}
	if (unlikely(c->pid != ap_p.pid))
		return;	/* begun by another process: inherited through fork */
	if (unlikely(enter(&t, 1) != GO))
		return;
	e = reserve(t);
	if (likely(e != NULL)) {
		put_head(e, AP_EV_END, 0, 0, t->tid, now_ticks(), span);
		publish(t);
	}
	guard_off(t);
}
