/* SPDX-License-Identifier: MIT */
/*
 * writer.c - libagentprof: record spans into the shared segment.
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
 * barrier pairing.
 *
 * Everything else is the slow path, out of line: lazy attach, claiming a lane
 * (one CAS on its owner word, only on a drained lane, then a CLAIM event that
 * says who owns it from here on), releasing it at thread exit (pthread key
 * destructor), fork, and interning names.
 *
 * Signals: a handler may record spans. Each thread has a guard word, set for
 * the duration of every call that touches its state; a call that finds it set
 * interrupted its own thread mid-write and drops its event, counting it in
 * the lane's dropped_reentrant with an atomic add (the only RMW, on that rare
 * path, and atomic because handlers can nest). Compiler-only fences
 * (atomic_signal_fence) order the guard against the writes it protects.
 *
 * Fork: a child inherits the forking thread's state. A pthread_atfork handler
 * bumps the generation so that the child claims lanes of its own, and marks
 * the open spans it inherited: they belong to the parent process, the child's
 * spans nest under them and ending them in the child records nothing.
 *
 * Errors: the library never exits, blocks indefinitely, or prints. Attach
 * failures leave profiling off; there is no other failure after attach.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AP_BUILDING_LIBRARY	/* the real functions, not the inline wrappers */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "agentprof.h"
#include "segment.h"
#include "writer_internal.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define AP_COLD		__attribute__((cold, noinline))
#define AP_HOT		__attribute__((hot))

#define AP_STACK_MAX	256	/* open spans a thread tracks as implicit parents */
#define CLAIM_RETRY	256	/* calls between claim attempts of a thread with no lane */
#define NAME_PROBES	64	/* name table probe limit */
#define NAMES_KEPT_MAX	65536	/* names remembered for re-interning at attach */

enum { ST_UNINIT = 0, ST_ON = 1, ST_OFF = 2 };
enum { M_IMPLICIT, M_CHILD, M_ASYNC };

struct frame {
	uint64_t span;
	uint64_t trace_hi;
	uint64_t trace_lo;
};

/* Per-thread state. Hot fields first. */
struct ap_thread {
	struct ap_event *ring;		/* NULL: no lane */
	uint64_t ready_cpu0;		/* thread CPU time when thread_ready() began (ns) */
	struct ap_lane *lane;
	uint64_t head;			/* private copy of lane->head */
	uint64_t tail_cache;		/* last lane->tail seen (F) */
	uint64_t mask;			/* lane capacity - 1 */
	uint32_t gen;			/* ap_proc.gen this state belongs to */
	uint32_t tid;
	uint32_t depth;			/* frames in stack */
	uint32_t inherited;		/* frames [0, inherited) came from the parent at fork */
	int busy;			/* reentrancy guard */
	uint32_t claim_wait;		/* calls left before the next claim attempt */
	uint64_t next_id;		/* odd, steps by 2: never 0 */
	uint64_t trace_state;		/* trace id generator */
	uint32_t pid;			/* process this state belongs to; 0 = fresh */
	uint32_t key_set;
	/* Counters of this thread. recorded = recorded_base + head - claim_head. */
	uint64_t recorded_base;
	uint64_t claim_head;
	uint64_t dropped_full;		/* of the current lane, cumulative over its owners */
	uint64_t my_dropped_full;
	uint64_t my_dropped_no_lane;
	uint64_t my_dropped_reentrant;	/* atomic adds: handlers nest */
	struct frame stack[AP_STACK_MAX];
};

static __thread struct ap_thread ap_t;

/* Process state. Read on the fast path: gen, state, clock_source. */
static struct {
	_Atomic uint32_t gen;		/* bumped by attach, detach and fork */
	_Atomic int state;		/* ST_* */
	uint32_t clock_source;
	pthread_mutex_t lock;		/* attach, detach, claim, names: never the fast path */
	struct ap_segment seg;
	uint32_t pid;
	uint64_t start_time;
	uint64_t id_seed;
	uint64_t sample_below;		/* a new trace is recorded when its trace_lo < this */
	int sample_all;			/* $AGENTPROF_SAMPLE 1 or unset: no decision */
	int have_remote;		/* $TRACEPARENT parsed */
	uint64_t remote_hi, remote_lo, remote_span;
	uint8_t remote_flags;
	pthread_key_t key;
	int key_ok;
	/* Counters of exited threads. */
	_Atomic uint64_t exited_recorded, exited_full, exited_no_lane, exited_reentrant;
	/* Scratch lane for measuring the write path at claim time. */
	struct ap_event *scratch;
	struct ap_lane scratch_lane;
	/* Names interned so far, re-interned into each newly attached segment. */
	struct kept_name { uint64_t id; char *str; uint32_t len; } *names;
	uint32_t names_n, names_cap;
} ap_p = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t ap_once = PTHREAD_ONCE_INIT;

/* Read by the inline wrappers in agentprof.h: 0 once profiling is known to
 * be off, so that an unprofiled program does not even call in. */
int ap_maybe_on_ = 1;

static void set_maybe_on(int on)
{
	__atomic_store_n(&ap_maybe_on_, on, __ATOMIC_RELAXED);
}

#ifdef AP_TEST_HOOKS
void (*ap_test_midwrite_hook)(void);
#define MIDWRITE_HOOK() do { if (ap_test_midwrite_hook) ap_test_midwrite_hook(); } while (0)
#else
#define MIDWRITE_HOOK() do { } while (0)
#endif

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static uint64_t mix64(uint64_t x)	/* splitmix64 finaliser */
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = mix64(ap_counter_ticks() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v);
	return v;
}

static inline void guard_on(struct ap_thread *t)
{
	t->busy = 1;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void guard_off(struct ap_thread *t)
{
	atomic_signal_fence(memory_order_seq_cst);
	t->busy = 0;
}

/* This thread's CPU time: what getting ready cost, without the time spent
 * waiting for a CPU or the lock (slow path only: a syscall). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ticks(void)
{
	return ap_clock_read(ap_p.clock_source);
}

/* ------------------------------------------------------------------------ */
/* Lanes                                                                     */

static void release_lane(struct ap_thread *t)
{
	uint64_t mine = AP_OWNER(ap_p.pid, ap_p.start_time);

	if (!t->lane)
		return;
	t->recorded_base += t->head - t->claim_head;
	/* Release: every head store above is visible before the lane looks free. */
	atomic_compare_exchange_strong_explicit(&t->lane->owner, &mine, 0,
						memory_order_release, memory_order_relaxed);
	t->lane = NULL;
	t->ring = NULL;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Map the lane's ring into this process's page tables now, on the slow path,
 * instead of taking a minor fault every 64 events of the first lap (measured:
 * that alone made a span cost several times the floor on a fresh lane).
 * MADV_POPULATE_WRITE (Linux 5.14) does it in one call; elsewhere touch each
 * page. The lane is drained and ours, so rewriting a byte with its own value
 * disturbs nothing.
 */
static void prefault(void *p, size_t bytes)
{
	volatile unsigned char *c = p;

	if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
		return;
	for (size_t off = 0; off < bytes; off += 4096)
		c[off] = c[off];
}

#define COST_EVENTS 512u	/* events timed per measurement */
#define SCRATCH_EVENTS 1024u

/*
 * The cost of recording an event on this machine, measured by running the
 * write path (clock read, the event's stores, store-release of head) over a
 * private scratch ring. Done once per lane claim, on the slow path; the
 * result travels in the CLAIM event and lets every report state the
 * profiler's own cost from a measurement, not an assumption. Returns ticks
 * per event x 16, 0 when the scratch ring could not be allocated.
 */
static uint64_t measure_cost16(struct ap_thread *t)
{
	struct ap_lane *lane = &ap_p.scratch_lane;
	uint64_t t0, t1, h = 0;

	if (!ap_p.scratch) {
		ap_p.scratch = aligned_alloc(64, SCRATCH_EVENTS * sizeof(struct ap_event));
		if (!ap_p.scratch)
			return 0;
		memset(ap_p.scratch, 0, SCRATCH_EVENTS * sizeof(struct ap_event));
	}
	t0 = now_ticks();
	for (uint32_t k = 0; k < COST_EVENTS; k += 2, h += 2) {
		struct ap_event *e = &ap_p.scratch[h & (SCRATCH_EVENTS - 1)];

		e->kind = AP_EV_BEGIN;
		e->category = AP_CAT_TOOL;
		e->flags = 0;
		e->tid = t->tid;
		e->ts = now_ticks();
		e->span_id = t->next_id + h;
		e->u.begin.parent_id = h;
		e->u.begin.trace_hi = t->trace_state;
		e->u.begin.trace_lo = k;
		e->u.begin.name_id = t0;
		e->u.begin.reserved = 0;
		atomic_store_explicit(&lane->head, h + 1, memory_order_release);
		e = &ap_p.scratch[(h + 1) & (SCRATCH_EVENTS - 1)];
		e->kind = AP_EV_END;
		e->category = 0;
		e->flags = 0;
		e->tid = t->tid;
		e->ts = now_ticks();
		e->span_id = t->next_id + h;
		atomic_store_explicit(&lane->head, h + 2, memory_order_release);
	}
	t1 = now_ticks();
	return t1 > t0 ? (t1 - t0) * 16 / COST_EVENTS : 0;
}

/* Claim a free, drained lane for the calling thread. Caller holds ap_p.lock
 * and the segment is attached. Returns 1 when the thread owns a lane. */
static int claim_lane(struct ap_thread *t)
{
	const struct ap_segment *seg = &ap_p.seg;
	uint64_t me = AP_OWNER(ap_p.pid, ap_p.start_time);
	uint32_t n = seg->lane_count;
	uint32_t first = (uint32_t)mix64(t->tid) % n;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (first + k) % n;
		struct ap_lane *lane = &seg->lanes[i];
		uint64_t zero = 0, h, tl, cost16;
		struct ap_event *e;

		if (atomic_load_explicit(&lane->owner, memory_order_relaxed) != 0)
			continue;
		if (atomic_load_explicit(&lane->head, memory_order_relaxed) !=
		    atomic_load_explicit(&lane->tail, memory_order_relaxed))
			continue;	/* the reader has not drained the last owner yet */
		if (!atomic_compare_exchange_strong_explicit(&lane->owner, &zero, me,
							     memory_order_acq_rel, memory_order_relaxed))
			continue;
		/* Only an owner writes head, and we own it now: this head is final. */
		h = atomic_load_explicit(&lane->head, memory_order_relaxed);
		tl = atomic_load_explicit(&lane->tail, memory_order_acquire);
		if (h != tl) {
			atomic_store_explicit(&lane->owner, 0, memory_order_release);
			continue;
		}
		t->lane = lane;
		t->ring = ap_seg_ring(seg, i);
		prefault(t->ring, (size_t)seg->lane_capacity * sizeof(struct ap_event));
		cost16 = measure_cost16(t);
		t->mask = seg->lane_capacity - 1;
		t->tail_cache = tl;
		t->dropped_full = atomic_load_explicit(&lane->dropped_full, memory_order_relaxed);

		/* CLAIM: the reader learns the new owner in-band, in order. */
		e = &t->ring[h & t->mask];
		memset(e, 0, sizeof(*e));
		e->kind = AP_EV_CLAIM;
		e->tid = t->tid;
		e->ts = now_ticks();
		e->u.claim.pid = ap_p.pid;
		e->u.claim.start_time = ap_p.start_time;
		e->u.claim.dropped_full = t->dropped_full;
		e->u.claim.dropped_reentrant =
			atomic_load_explicit(&lane->dropped_reentrant, memory_order_relaxed);
		{
			uint64_t setup_us = (thread_cpu_ns() - t->ready_cpu0) / 1000;

			e->u.claim.cost = (cost16 & 0xffffffffu) |
					  (setup_us > 0xffffffffu ? 0xffffffffu : setup_us) << 32;
		}
		t->head = h + 1;
		t->claim_head = h + 1;
		atomic_store_explicit(&lane->head, h + 1, memory_order_release);	/* (B) */
		return 1;
	}
	return 0;
}

static void thread_exit(void *arg)
{
	struct ap_thread *t = arg;

	if (t->pid != ap_p.pid)
		return;
	t->busy = 1;
	release_lane(t);
	atomic_fetch_add(&ap_p.exited_recorded, t->recorded_base);
	atomic_fetch_add(&ap_p.exited_full, t->my_dropped_full);
	atomic_fetch_add(&ap_p.exited_no_lane, t->my_dropped_no_lane);
	atomic_fetch_add(&ap_p.exited_reentrant,
			 __atomic_load_n(&t->my_dropped_reentrant, __ATOMIC_RELAXED));
	t->recorded_base = t->my_dropped_full = t->my_dropped_no_lane = 0;
	t->my_dropped_reentrant = 0;
	t->pid = 0;
	t->busy = 0;
}

/* ------------------------------------------------------------------------ */
/* Attach, detach, fork                                                      */

static void atfork_prepare(void) { pthread_mutex_lock(&ap_p.lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&ap_p.lock); }

static void atfork_child(void)
{
	struct ap_thread *t = &ap_t;

	pthread_mutex_unlock(&ap_p.lock);
	ap_p.pid = (uint32_t)getpid();
	if (ap_proc_start_time(ap_p.pid, &ap_p.start_time))
		ap_p.start_time = 0;
	ap_p.id_seed = random64();
	atomic_store(&ap_p.exited_recorded, 0);
	atomic_store(&ap_p.exited_full, 0);
	atomic_store(&ap_p.exited_no_lane, 0);
	atomic_store(&ap_p.exited_reentrant, 0);
	/* The lane belongs to the parent: forget it without releasing it. */
	t->lane = NULL;
	t->ring = NULL;
	t->inherited = t->depth;
	t->pid = 0;	/* re-initialised (ids, tid, counters) on the next call */
	atomic_fetch_add(&ap_p.gen, 1);
}

static void once_init(void)
{
	ap_p.key_ok = pthread_key_create(&ap_p.key, thread_exit) == 0;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_hex64(const char *s, int digits, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < digits; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* W3C trace-context: "vv-<32 lowercase hex>-<16 lowercase hex>-<2 hex>". */
int ap_parse_traceparent(const char *s, uint64_t *hi, uint64_t *lo, uint64_t *span, uint8_t *flags)
{
	uint64_t v, f;

	if (!s || strlen(s) < 55)
		return -1;
	if (parse_hex64(s, 2, &v) || v == 0xff || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	if (v == 0 && s[55] != '\0')
		return -1;	/* version 00 is exactly 55 characters */
	if (parse_hex64(s + 3, 16, hi) || parse_hex64(s + 19, 16, lo) ||
	    parse_hex64(s + 36, 16, span) || parse_hex64(s + 53, 2, &f))
		return -1;
	if ((*hi | *lo) == 0 || *span == 0)
		return -1;
	*flags = (uint8_t)f;
	return 0;
}

static void intern_locked(uint64_t id, const char *str, uint32_t len);

/*
 * Head sampling: $AGENTPROF_SAMPLE, a rate from 0 to 1 (default 1), decided
 * once per trace when its root begins, from its trace id, so that every
 * process the trace reaches decides alike (a child under $TRACEPARENT
 * follows the sampled flag there). Spans of a trace not sampled get even
 * ids (recorded spans have odd ones), so that every later call on them, and
 * every span under them, knows without a lookup. 0 or -EINVAL.
 */
static int parse_sample(const char *v)
{
	char *end;
	double r;

	ap_p.sample_all = 1;
	ap_p.sample_below = UINT64_MAX;
	if (!v || !*v)
		return 0;
	errno = 0;
	r = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !(r >= 0 && r <= 1))
		return -EINVAL;
	if (r < 1) {
		ap_p.sample_all = 0;
		ap_p.sample_below = (uint64_t)(r * 18446744073709551616.0);
	}
	return 0;
}

/* The decision reads the trace id's low half, already a mix64 output: one
 * hash on the way to a decision, not two (the unsampled span's cost is that
 * dependency chain). */
static inline int sample_trace(uint64_t lo)
{
	return ap_p.sample_all || lo < ap_p.sample_below;
}

static void detach_locked(void)
{
	if (atomic_load(&ap_p.state) == ST_ON)
		release_lane(&ap_t);
	/* The mapping stays: other threads may be mid-write into their lanes.
	 * They notice the new generation on their next call. */
	atomic_store(&ap_p.state, ST_OFF);
	set_maybe_on(0);
	atomic_fetch_add(&ap_p.gen, 1);
}

static int attach_locked(const char *segment)
{
	struct ap_segment seg;
	const char *name = segment ? segment : getenv("AGENTPROF_SHM");
	const char *tp;
	int ret;

	if (atomic_load(&ap_p.state) == ST_ON)
		detach_locked();
	if (!name || !*name) {
		atomic_store(&ap_p.state, ST_OFF);
		set_maybe_on(0);
		return 0;
	}
	ret = ap_seg_attach(&seg, name);
	if (ret) {
		atomic_store(&ap_p.state, ST_OFF);
		set_maybe_on(0);
		return ret;
	}
	ap_p.seg = seg;
	ap_p.clock_source = seg.clock.source;
	ap_p.pid = (uint32_t)getpid();
	if (ap_proc_start_time(ap_p.pid, &ap_p.start_time))
		ap_p.start_time = 0;
	ap_p.id_seed = random64();
	ret = parse_sample(getenv("AGENTPROF_SAMPLE"));
	if (ret) {
		ap_seg_unmap(&seg);
		atomic_store(&ap_p.state, ST_OFF);
		set_maybe_on(0);
		return ret;
	}
	tp = getenv("TRACEPARENT");
	ap_p.have_remote = tp && ap_parse_traceparent(tp, &ap_p.remote_hi, &ap_p.remote_lo,
						      &ap_p.remote_span, &ap_p.remote_flags) == 0;
	for (uint32_t i = 0; i < ap_p.names_n; i++)
		intern_locked(ap_p.names[i].id, ap_p.names[i].str, ap_p.names[i].len);
	atomic_fetch_add_explicit(&seg.hdr->attaches, 1, memory_order_relaxed);
	atomic_fetch_add(&ap_p.gen, 1);
	atomic_store(&ap_p.state, ST_ON);
	set_maybe_on(1);
	return 0;
}

int ap_attach(const char *segment)
{
	struct ap_thread *t = &ap_t;
	int ret;

	if (t->busy)
		return AP_E_OFF;	/* called from a handler that interrupted us */
	pthread_once(&ap_once, once_init);
	guard_on(t);
	pthread_mutex_lock(&ap_p.lock);
	ret = attach_locked(segment);
	pthread_mutex_unlock(&ap_p.lock);
	guard_off(t);
	return ret;
}

void ap_detach(void)
{
	struct ap_thread *t = &ap_t;

	if (t->busy)
		return;
	guard_on(t);
	pthread_mutex_lock(&ap_p.lock);
	detach_locked();
	pthread_mutex_unlock(&ap_p.lock);
	guard_off(t);
}

int ap_enabled(void)
{
	return atomic_load_explicit(&ap_p.state, memory_order_relaxed) == ST_ON;
}

/*
 * Make the calling thread's state current: attach lazily, re-initialise after
 * fork or re-attach, claim a lane. Returns 0 when profiling is off (record
 * nothing), 1 when on (t->ring may still be NULL: no free lane).
 * Called with the guard on.
 */
static AP_COLD int thread_ready(struct ap_thread *t)
{
	int st = atomic_load(&ap_p.state);

	t->ready_cpu0 = thread_cpu_ns();	/* setup cost, sent with the CLAIM */
	if (st == ST_UNINIT) {
		pthread_once(&ap_once, once_init);
		pthread_mutex_lock(&ap_p.lock);
		if (atomic_load(&ap_p.state) == ST_UNINIT)
			attach_locked(NULL);
		pthread_mutex_unlock(&ap_p.lock);
		st = atomic_load(&ap_p.state);
	}
	if (st != ST_ON)
		return 0;

	pthread_mutex_lock(&ap_p.lock);
	if (atomic_load(&ap_p.state) != ST_ON) {
		pthread_mutex_unlock(&ap_p.lock);
		return 0;
	}
	if (t->pid != ap_p.pid) {	/* new thread, or first call after fork */
		t->pid = ap_p.pid;
		t->tid = (uint32_t)syscall(SYS_gettid);
		t->next_id = mix64(ap_p.id_seed ^ ((uint64_t)t->tid << 20) ^ random64()) | 1;
		t->trace_state = random64();
		t->lane = NULL;
		t->ring = NULL;
		t->claim_wait = 0;
		t->recorded_base = t->claim_head = t->head = 0;
		t->my_dropped_full = t->my_dropped_no_lane = 0;
		t->my_dropped_reentrant = 0;
		if (ap_p.key_ok && !t->key_set && pthread_setspecific(ap_p.key, t) == 0)
			t->key_set = 1;
	}
	if (t->gen != atomic_load(&ap_p.gen)) {
		release_lane(t);	/* detached or re-attached since */
		t->gen = atomic_load(&ap_p.gen);
		t->claim_wait = 0;
	}
	if (!t->ring) {
		if (t->claim_wait)
			t->claim_wait--;
		else if (!claim_lane(t))
			t->claim_wait = CLAIM_RETRY;
	}
	pthread_mutex_unlock(&ap_p.lock);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */

static AP_COLD void count_reentrant(struct ap_thread *t, uint64_t events)
{
	struct ap_lane *lane = t->lane;

	__atomic_fetch_add(&t->my_dropped_reentrant, events, __ATOMIC_RELAXED);
	if (lane)
		atomic_fetch_add_explicit(&lane->dropped_reentrant, events, memory_order_relaxed);
}

static AP_COLD void count_no_lane(struct ap_thread *t)
{
	t->my_dropped_no_lane++;
	if (ap_p.seg.hdr)
		atomic_fetch_add_explicit(&ap_p.seg.hdr->dropped_no_lane, 1, memory_order_relaxed);
}

/* Ring looked full through the private tail: reload the shared one (F). */
static AP_COLD int tail_refresh(struct ap_thread *t)
{
	t->tail_cache = atomic_load_explicit(&t->lane->tail, memory_order_acquire);
	if (t->head - t->tail_cache <= t->mask)
		return 1;
	t->dropped_full++;
	t->my_dropped_full++;
	atomic_store_explicit(&t->lane->dropped_full, t->dropped_full, memory_order_relaxed);
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

static inline void publish(struct ap_thread *t)
{
	uint64_t h = t->head + 1;

	MIDWRITE_HOOK();
	t->head = h;
	atomic_store_explicit(&t->lane->head, h, memory_order_release);	/* (B) */
}

/* Entry of every recording call: GO with the guard on; OFF (profiling off:
 * record nothing); REENTRANT (a handler interrupted this thread mid-call:
 * the `events` it would have written are counted as dropped). */
enum { GO = 1, OFF = 0, REENTRANT = -1 };

static inline int enter(struct ap_thread *t, uint64_t events)
{
	if (unlikely(!t->ring || t->gen != atomic_load_explicit(&ap_p.gen, memory_order_relaxed))) {
		if (atomic_load_explicit(&ap_p.state, memory_order_relaxed) == ST_OFF)
			return OFF;
		if (t->busy) {
			count_reentrant(t, events);
			return REENTRANT;
		}
		guard_on(t);
		if (!thread_ready(t)) {
			guard_off(t);
			return OFF;
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

/* Id returned by a begin that was dropped for reentrancy: its end is dropped too. */
#define SPAN_REENTRANT	UINT64_MAX

/* A new trace id; returns whether the trace is sampled. */
static AP_COLD int new_root_trace(struct ap_thread *t, uint64_t *hi, uint64_t *lo)
{
	t->trace_state += UINT64_C(0x9e3779b97f4a7c15);
	*hi = mix64(t->trace_state);
	*lo = mix64(t->trace_state ^ ap_p.id_seed) | 1;
	if (likely(sample_trace(*lo)))
		return 1;
	/* Counted on the lane for the report; its only writer is this thread. */
	if (t->lane)
		atomic_store_explicit(&t->lane->sampled_out,
				      atomic_load_explicit(&t->lane->sampled_out, memory_order_relaxed) + 1,
				      memory_order_relaxed);
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

static inline __attribute__((always_inline))
uint64_t begin_impl(uint64_t parent, uint64_t name_id, int category, int mode)
{
	struct ap_thread *t = &ap_t;
	uint64_t id, hi, lo;
	uint16_t flags = 0;
	struct ap_event *e;
	int sampled;

	int go = enter(t, 1);

	if (unlikely(go != GO))
		return go == REENTRANT ? SPAN_REENTRANT : 0;
	id = t->next_id;
	t->next_id = id + 2;

	if (mode == M_IMPLICIT) {
		if (likely(t->depth)) {
			const struct frame *f = &t->stack[t->depth - 1];

			parent = f->span;
			hi = f->trace_hi;
			lo = f->trace_lo;
			sampled = parent & 1;
		} else if (ap_p.have_remote) {
			parent = ap_p.remote_span;
			hi = ap_p.remote_hi;
			lo = ap_p.remote_lo;
			flags = AP_EVF_ROOT_REMOTE;
			sampled = ap_p.remote_flags & 1;
		} else {
			sampled = new_root_trace(t, &hi, &lo);
		}
	} else if (parent) {
		flags = AP_EVF_EXPLICIT_PARENT | parent_trace(t, parent, &hi, &lo);
		sampled = (flags & AP_EVF_ROOT_REMOTE) ? ap_p.remote_flags & 1 : parent & 1;
	} else {
		sampled = new_root_trace(t, &hi, &lo);
	}
	if (unlikely(!sampled))
		id = id != 1 ? id - 1 : 2;	/* even: not recorded, nor anything under it */
	if (mode != M_ASYNC && likely(t->depth < AP_STACK_MAX)) {
		struct frame *f = &t->stack[t->depth++];

		f->span = id;
		f->trace_hi = hi;
		f->trace_lo = lo;
	}
	if (unlikely(!sampled)) {
		guard_off(t);
		return id;
	}

	e = reserve(t);
	if (likely(e != NULL)) {
		e->kind = AP_EV_BEGIN;
		e->category = (uint8_t)category;
		e->flags = flags;
		e->tid = t->tid;
		e->ts = now_ticks();
		e->span_id = id;
		e->u.begin.parent_id = parent;
		e->u.begin.trace_hi = hi;
		e->u.begin.trace_lo = lo;
		e->u.begin.name_id = name_id;
		e->u.begin.reserved = 0;
		publish(t);
	}
	guard_off(t);
	return id;
}

AP_HOT uint64_t ap_begin(uint64_t name_id, int category)
{
	return begin_impl(0, name_id, category, M_IMPLICIT);
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
	return 1;	/* begun on another thread, or async */
}

AP_HOT void ap_end(uint64_t span)
{
	struct ap_thread *t = &ap_t;
	struct ap_event *e;
	uint64_t ts;
	uint32_t d;

	if (unlikely(span == 0))
		return;
	if (unlikely(span == SPAN_REENTRANT)) {
		count_reentrant(t, 1);
		return;
	}
	if (unlikely(enter(t, 1) != GO))
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
		e->kind = AP_EV_END;
		e->category = 0;
		e->flags = 0;
		e->tid = t->tid;
		e->ts = ts;
		e->span_id = span;
		publish(t);
	}
out:
	guard_off(t);
}

void ap_set_tokens(uint64_t span, uint64_t model_name_id, uint32_t input_tokens, uint32_t output_tokens)
{
	struct ap_thread *t = &ap_t;
	struct ap_event *e;

	if (span == 0 || !(span & 1))
		return;	/* off, or its trace is not sampled */
	if (span == SPAN_REENTRANT) {
		count_reentrant(t, 1);
		return;
	}
	if (enter(t, 1) != GO)
		return;
	e = reserve(t);
	if (e) {
		memset(&e->u, 0, sizeof(e->u));
		e->kind = AP_EV_TOKENS;
		e->category = 0;
		e->flags = 0;
		e->tid = t->tid;
		e->ts = now_ticks();
		e->span_id = span;
		e->u.tokens.model_id = model_name_id;
		e->u.tokens.input_tokens = input_tokens;
		e->u.tokens.output_tokens = output_tokens;
		publish(t);
	}
	guard_off(t);
}

void ap_depends(uint64_t span, uint64_t on_span)
{
	struct ap_thread *t = &ap_t;
	struct ap_event *e;

	if (span == 0 || on_span == 0 || !(span & 1) || !(on_span & 1))
		return;	/* off, or a trace not sampled */
	if (span == SPAN_REENTRANT || on_span == SPAN_REENTRANT) {
		count_reentrant(t, 1);
		return;
	}
	if (enter(t, 1) != GO)
		return;
	e = reserve(t);
	if (e) {
		memset(&e->u, 0, sizeof(e->u));
		e->kind = AP_EV_DEPENDS;
		e->category = 0;
		e->flags = 0;
		e->tid = t->tid;
		e->ts = now_ticks();
		e->span_id = span;
		e->u.depends.on_span = on_span;
		publish(t);
	}
	guard_off(t);
}

void ap_span_cleanup_(uint64_t *span)
{
	ap_end(*span);
}

uint64_t ap_current(void)
{
	struct ap_thread *t = &ap_t;

	if (!ap_enabled() || t->pid != ap_p.pid || t->depth == 0)
		return 0;
	return t->stack[t->depth - 1].span;
}

static void put_hex(char *out, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hex[v & 15];
		v >>= 4;
	}
}

int ap_traceparent(char out[56])
{
	struct ap_thread *t = &ap_t;
	uint64_t hi, lo, span;
	int sampled;

	if (!ap_enabled())
		return AP_E_OFF;
	if (t->pid == ap_p.pid && t->depth) {
		const struct frame *f = &t->stack[t->depth - 1];

		hi = f->trace_hi;
		lo = f->trace_lo;
		span = f->span;
		sampled = span & 1;
	} else if (ap_p.have_remote) {
		hi = ap_p.remote_hi;
		lo = ap_p.remote_lo;
		span = ap_p.remote_span;
		sampled = ap_p.remote_flags & 1;
	} else {
		return AP_E_NOSPAN;
	}
	memcpy(out, "00-", 3);
	put_hex(out + 3, hi, 16);
	put_hex(out + 19, lo, 16);
	out[35] = '-';
	put_hex(out + 36, span, 16);
	memcpy(out + 52, sampled ? "-01" : "-00", 4);	/* with the NUL: 56 bytes */
	return 0;
}

void ap_stats(struct ap_stats *out)
{
	struct ap_thread *t = &ap_t;
	int mine = t->pid == ap_p.pid && t->pid != 0;

	out->recorded = atomic_load(&ap_p.exited_recorded);
	out->dropped_full = atomic_load(&ap_p.exited_full);
	out->dropped_no_lane = atomic_load(&ap_p.exited_no_lane);
	out->dropped_reentrant = atomic_load(&ap_p.exited_reentrant);
	if (mine) {
		out->recorded += t->recorded_base + (t->lane ? t->head - t->claim_head : 0);
		out->dropped_full += t->my_dropped_full;
		out->dropped_no_lane += t->my_dropped_no_lane;
		out->dropped_reentrant += __atomic_load_n(&t->my_dropped_reentrant, __ATOMIC_RELAXED);
	}
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */

/* Length of `name` cut to AP_NAME_MAX bytes at a UTF-8 boundary. */
uint32_t ap_name_len(const char *name)
{
	size_t n = strnlen(name, AP_NAME_MAX + 1);

	if (n > AP_NAME_MAX) {
		n = AP_NAME_MAX;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	return (uint32_t)n;
}

uint64_t ap_name_hash(const char *str, uint32_t len)
{
	uint64_t id = XXH3_64bits(str, len);

	return id ? id : 1;
}

/* Put (id, str) into the segment's name table. Caller holds ap_p.lock. */
static void intern_locked(uint64_t id, const char *str, uint32_t len)
{
	const struct ap_segment *seg = &ap_p.seg;
	uint32_t mask = seg->name_slots - 1;

	for (uint32_t p = 0; p < NAME_PROBES && p <= mask; p++) {
		struct ap_name_slot *s = &seg->names[(id + p) & mask];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);

		if (k == 0) {
			if (!atomic_compare_exchange_strong_explicit(&s->key, &k, id,
								     memory_order_acq_rel,
								     memory_order_acquire)) {
				if (k == id)
					return;
				continue;
			}
			s->len = len;
			memcpy(s->str, str, len);
			s->str[len] = '\0';
			atomic_store_explicit(&s->ready, id, memory_order_release);
			return;
		}
		if (k == id)
			return;
	}
	atomic_fetch_add_explicit(&seg->hdr->names_full, 1, memory_order_relaxed);
}

static void keep_name_locked(uint64_t id, const char *str, uint32_t len)
{
	for (uint32_t i = 0; i < ap_p.names_n; i++)
		if (ap_p.names[i].id == id)
			return;
	if (ap_p.names_n == ap_p.names_cap) {
		uint32_t cap = ap_p.names_cap ? ap_p.names_cap * 2 : 64;
		struct kept_name *nn;

		if (cap > NAMES_KEPT_MAX)
			return;
		nn = realloc(ap_p.names, cap * sizeof(*nn));
		if (!nn)
			return;
		ap_p.names = nn;
		ap_p.names_cap = cap;
	}
	ap_p.names[ap_p.names_n].str = malloc(len + 1);
	if (!ap_p.names[ap_p.names_n].str)
		return;
	memcpy(ap_p.names[ap_p.names_n].str, str, len);
	ap_p.names[ap_p.names_n].str[len] = '\0';
	ap_p.names[ap_p.names_n].id = id;
	ap_p.names[ap_p.names_n].len = len;
	ap_p.names_n++;
}

uint64_t ap_name(const char *name)
{
	struct ap_thread *t = &ap_t;
	uint32_t len;
	uint64_t id;

	if (!name)
		name = "";
	len = ap_name_len(name);
	id = ap_name_hash(name, len);
	if (t->busy)
		return id;	/* in a handler that interrupted this thread: no lock */
	guard_on(t);
	if (atomic_load(&ap_p.state) == ST_UNINIT)
		thread_ready(t);
	pthread_mutex_lock(&ap_p.lock);
	keep_name_locked(id, name, len);
	if (atomic_load(&ap_p.state) == ST_ON)
		intern_locked(id, name, len);
	pthread_mutex_unlock(&ap_p.lock);
	guard_off(t);
	return id;
}
