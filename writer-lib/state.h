/* SPDX-License-Identifier: MIT */
/*
 * state.h - the writer's state, per thread and per process (internal to
 * writer-lib/).
 *
 * The library is split by how often code runs. writer.c is the fast path:
 * every span goes through it, and it touches only this thread's struct
 * ap_thread and a few read-mostly words of the process state (gen, the
 * segment's retired word, have_remote, sample_max; state and the clock
 * source on its general path). Everything else is a slow path, out of line,
 * in its own file:
 *
 *   state.c        the process state, ids, ap_stats
 *   lane.c         claiming and releasing a lane, prefault, cost measurement
 *   attach.c       attach, detach, fork, lazy start, $AGENTPROF_SAMPLE
 *   names.c        ap_name: the names a process keeps for re-attach
 *   traceparent.c  W3C traceparent in and out
 *   errors.c       ap_strerror
 *
 * Locking: ap_p.lock serialises attach, detach, lane claims and new names;
 * the fast path never takes it. Per-thread state is touched only by its
 * thread (and that thread's signal handlers, kept out by the guard word).
 */
#ifndef AP_WRITER_STATE_H
#define AP_WRITER_STATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifndef AP_BUILDING_LIBRARY
#define AP_BUILDING_LIBRARY	/* the real functions, not the inline wrappers */
#endif
#include "agentprof.h"
#include "ap_atomic.h"
#include "clock.h"
#include "mix.h"
#include "segment.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define AP_COLD		__attribute__((cold, noinline))
#define AP_HOT		__attribute__((hot))

#define AP_STACK_MAX	256	/* open spans a thread tracks as implicit parents */
#define AP_CLAIM_RETRY	256	/* calls between claim attempts of a thread with no lane */

/* ST_WAIT: the segment named does not exist (yet) or was retired; calls
 * record nothing, count their spans (spans_no_reader) and look for it again
 * at most every AP_RETRY_NS. */
enum { ST_UNINIT = 0, ST_ON = 1, ST_OFF = 2, ST_WAIT = 3 };

#define AP_RETRY_NS	1000000000u	/* looks for a missing segment at most once a second */

struct frame {
	uint64_t span;
	uint64_t trace_hi;
	uint64_t trace_lo;
};

/* Per-thread state. The block is page-aligned: what the fast path reads of
 * it is line 0 (the fields up to inherited, 64 bytes), trace_hi and the
 * first frames (line 1 onward); the rest is the slow paths'. */
struct ap_thread {
	struct ap_event *ring;		/* NULL: no lane */
	/* One word: the fast path tests the guard's half first and, in its
	 * last store, clears the guard with the depth's new value. */
	union {
		struct {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
			int busy;		/* reentrancy guard */
			uint32_t depth;		/* frames in stack */
#else
			uint32_t depth;		/* frames in stack */
			int busy;		/* reentrancy guard */
#endif
		};
		uint64_t depth_busy;		/* busy in the high half: tested in one load */
	};
	struct ap_lane *lane;
	uint64_t head;			/* private copy of lane->head */
	uint64_t tail_cache;		/* last lane->tail seen (F) */
	uint64_t next_id;		/* odd, steps by 2: never 0 */
	uint32_t mask;			/* lane capacity - 1 */
	uint32_t tid;
	uint32_t go;			/* == ap_p.gen: the fast path may run (see ap_w_go) */
	uint32_t inherited;		/* frames [0, inherited) came from the parent at fork */
	/* Line 1: a root's trace and the first frames. */
	uint64_t trace_hi;		/* a root's trace_hi: random per thread and process, never 0 */
	struct frame stack[AP_STACK_MAX];
	/* Slow paths only, from here on. */
	uint32_t gen;			/* ap_p.gen this state belongs to */
	uint32_t claim_wait;		/* calls left before the next claim attempt */
	uint64_t ready_cpu0;		/* thread CPU time when thread_ready() began (ns) */
	uint32_t pid;			/* process this state belongs to; 0 = fresh */
	uint32_t key_set;
	/* Counters of this thread. recorded = recorded_base + head - claim_head. */
	uint64_t recorded_base;
	uint64_t claim_head;
	uint64_t dropped_full;		/* of the current lane, cumulative over its owners */
	uint64_t my_dropped_full;
	uint64_t my_dropped_no_lane;
	_Atomic uint64_t my_dropped_reentrant;	/* atomic adds: handlers nest */
	struct ap_thread *next_free;	/* on the free list of blocks */
	/* Slow-path counters, last: spans begun while no reader was there. */
	uint64_t my_no_reader;		/* ever, in this process */
	uint64_t no_reader_unsent;	/* not yet sent in a CLAIM */
};
_Static_assert(offsetof(struct ap_thread, inherited) == 60, "the fast path's fields fill line 0");
_Static_assert(offsetof(struct ap_thread, trace_hi) == 64, "trace_hi starts line 1");

/*
 * The calling thread's state: a block of about 6 KiB, mapped on the thread's
 * first call (ap_w_self_slow) and reached through a pointer in initial-exec
 * TLS (ap_tp). In a shared object, and above all in one loaded with dlopen
 * (the Python extension), a plain __thread block is reached through
 * __tls_get_addr on every access (measured: 12 calls, 133 instructions per
 * span pair, twice the pair's own cost); an initial-exec variable is one
 * load at a fixed offset from the thread pointer. Initial-exec TLS of a
 * dlopen'd object must fit in the few hundred bytes of static TLS glibc
 * keeps spare, and glibc places the object's whole TLS segment there, so
 * the segment is this one pointer and the block lives outside TLS.
 *
 * Blocks are mmap'd (async-signal-safe: a thread's first call may be in a
 * signal handler), zeroed, and recycled through a free list when their
 * thread exits (the key destructor), so a program that starts and ends
 * threads reuses a bounded set.
 *
 * Until then ap_tp points to ap_w_noblock, a block with no lane that is
 * never written: it looks busy (its guard word is set), so the fast path's
 * first test sends the thread's first call to the general path, which maps
 * the block (only when profiling is not off) so that the fast path needs no
 * test of its own for it. A thread
 * that cannot have a block records nothing, as when off.
 */
extern __thread struct ap_thread *ap_tp
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
extern struct ap_thread ap_w_noblock;

/* Map (or reuse) the calling thread's block and point ap_tp at it; NULL
 * when none can be had (ap_tp stays at ap_w_noblock). */
struct ap_thread *ap_w_self_slow(void);
/* Thread exit: the block goes back to the free list (lock taken). */
void ap_w_self_recycle(struct ap_thread *t);

/* The calling thread's block, mapped if it has none yet; NULL when none can
 * be had. Slow paths only: the fast path reads ap_tp (writer.c, enter()). */
static inline struct ap_thread *ap_self(void)
{
	struct ap_thread *t = ap_tp;

	if (__builtin_expect(t == &ap_w_noblock, 0))
		t = ap_w_self_slow();
	return t;
}

/* The calling thread's block if it has one, else NULL; never maps one. */
static inline struct ap_thread *ap_self_if_any(void)
{
	struct ap_thread *t = ap_tp;

	return t == &ap_w_noblock ? NULL : t;
}

/* A name the process keeps, to intern again into each segment it attaches. */
struct ap_kept_name {
	uint64_t id;
	char *str;
	uint32_t len;
};

/* The ids of the kept names, for a lookup without the lock: open addressing
 * by id & mask (ids are hashes already). Only ever grown, under the lock, by
 * publishing a larger copy; a reader still probing an older copy finds fewer
 * names and takes the lock, which is correct, only slower. */
struct ap_idset {
	uint32_t mask;
	uint32_t n;
	_Atomic uint64_t ids[];
};

/* Process state. Read on the fast path: gen, the segment's retired word,
 * have_remote and sample_max. */
struct ap_proc {
	_Atomic uint32_t gen;		/* odd; steps by AP_GEN_STEP at attach, detach, fork */
	_Atomic int state;		/* ST_* */
	uint32_t clock_source;
	pthread_mutex_t lock;		/* attach, detach, claim, new names: never the fast path */
	struct ap_segment seg;
	uint32_t pid;
	uint64_t start_time;
	uint64_t id_seed;
	uint64_t sample_max;		/* a new trace is recorded when its trace_lo <= this */
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
	/* Names kept: the strings (under the lock) and their ids (lock-free). */
	struct ap_kept_name *names;
	uint32_t names_n, names_cap;
	_Atomic(struct ap_idset *) name_ids;
	_Atomic uint64_t names_not_kept;	/* ap_name calls past NAMES_KEPT_MAX */
	struct ap_thread *free_blocks;	/* thread blocks of exited threads (lock) */
	/* ST_WAIT: the name looked for, and when next (CLOCK_MONOTONIC_COARSE ns). */
	char *wait_name;
	_Atomic uint64_t retry_at;
	_Atomic uint64_t exited_no_reader;
};

extern struct ap_proc ap_p;
extern pthread_once_t ap_w_once;

/* Write ap_maybe_on_, the flag agentprof.h's inline wrappers read. */
void ap_w_set_maybe_on(int on);
/* A 64-bit random number (getrandom, else the clock). */
uint64_t ap_w_random64(void);
/* This thread's CPU time, ns (a syscall: slow paths only). */
uint64_t ap_w_thread_cpu_ns(void);

/* lane.c: claim a drained free lane (caller holds the lock, attached);
 * 1 when the thread owns one. Release this thread's lane. Thread exit. */
int ap_w_lane_claim(struct ap_thread *t);
void ap_w_lane_release(struct ap_thread *t);
void ap_w_thread_exit(void *arg);

/* attach.c: make the calling thread's state current (attach lazily,
 * re-initialise after fork or re-attach, follow a retired segment, look
 * again for a missing one, claim a lane). 0 when profiling is off, -1 while
 * waiting for a segment (ST_WAIT), 1 when on (t->ring may still be NULL: no
 * free lane). Guard on. */
int ap_w_thread_ready(struct ap_thread *t);
/* CLOCK_MONOTONIC_COARSE in ns (vDSO: no syscall), for the retry clock. */
uint64_t ap_w_coarse_ns(void);
void ap_w_once_init(void);

/* names.c: intern the kept names into the segment just attached (lock held). */
void ap_w_names_reintern_locked(void);

static inline void guard_on(struct ap_thread *t)
{
	t->busy = 1;
	ap_signal_fence();
}

static inline void guard_off(struct ap_thread *t)
{
	ap_signal_fence();
	t->busy = 0;
}

/* Guard off and the depth set, one store (the fast paths' last). */
static inline void guard_off_depth(struct ap_thread *t, uint32_t depth)
{
	ap_signal_fence();
	t->depth_busy = depth;	/* busy = 0: the guard's half is zero */
}

static inline uint64_t now_ticks(void)
{
	return ap_clock_read(ap_p.clock_source);
}

/* The part every event starts with, written in place with plain stores
 * (A): building it elsewhere and copying it in stalls on store forwarding. */
static inline void put_head(struct ap_event *e, uint8_t kind, uint8_t category, uint16_t flags,
			    uint32_t tid, uint64_t ts, uint64_t span)
{
	e->kind = kind;
	e->category = category;
	e->flags = flags;
	e->tid = tid;
	e->ts = ts;
	e->span_id = span;
}

/* Where a span of this thread nests when no parent is given: under its
 * innermost open span (returns 1), else under the $TRACEPARENT the process
 * started with (returns 2, a remote parent), else nowhere (0: a new root).
 * *parent, *hi, *lo and *sampled are set when it returns 1 or 2. */
static inline __attribute__((always_inline))
int current_parent(const struct ap_thread *t, uint64_t *parent, uint64_t *hi, uint64_t *lo, int *sampled)
{
	if (likely(t->depth)) {
		const struct frame *f = &t->stack[t->depth - 1];

		*parent = f->span;
		*hi = f->trace_hi;
		*lo = f->trace_lo;
		*sampled = f->span & 1;
		return 1;
	}
	if (ap_p.have_remote) {
		*parent = ap_p.remote_span;
		*hi = ap_p.remote_hi;
		*lo = ap_p.remote_lo;
		*sampled = ap_p.remote_flags & 1;
		return 2;
	}
	return 0;
}

/* Span ids: bits 52-63 are the tag of the process that made them (a hash
 * of its pid and start time: the same across a re-attach, another one
 * after fork), bits 1-51 a per-thread counter starting at
 * a random point below 2^51 (2^50 spans of headroom before it could reach
 * the tag), bit 0 the sampled flag. A span that is not on the thread's stack
 * and carries another tag was begun by another process: through fork, the
 * parent's. Ids of two processes collide in the tag 1 time in 4096; then
 * the inherited span's end is recorded twice, as before the tag existed. */
#define AP_ID_TAG_SHIFT	52
#define AP_ID_TAG_MASK	(UINT64_C(0xfff) << AP_ID_TAG_SHIFT)
static inline uint64_t ap_w_id_tag(void)
{
	uint64_t tag = ap_mix64(((uint64_t)ap_p.pid << 32) ^ ap_p.start_time) & AP_ID_TAG_MASK;

	return tag == AP_ID_TAG_MASK ? tag - (UINT64_C(1) << AP_ID_TAG_SHIFT) : tag;	/* never UINT64_MAX's */
}
static inline int ap_w_id_mine(uint64_t span)
{
	return (span & AP_ID_TAG_MASK) == ap_w_id_tag();
}

/* The head-sampling decision, from a root's trace_lo: every trace kept
 * (the default) costs one compare, a rate below 1 a mix of trace_lo. */
static inline int sample_trace(uint64_t lo)
{
	return ap_p.sample_max == UINT64_MAX || ap_mix64(lo ^ ap_p.id_seed) <= ap_p.sample_max;
}

/*
 * The fast path's one word. ap_begin and ap_end (writer.c) run their fast
 * path only when t->go equals ap_p.gen, which folds three conditions into
 * one compare: the thread owns a lane, of the current generation (no detach,
 * re-attach or fork since its claim: each steps ap_p.gen), and the clock is
 * the counter (a segment on CLOCK_MONOTONIC takes the general path, whose
 * clock read may call the vDSO). ap_p.gen is odd, so 0, the value of a fresh
 * block, of ap_w_noblock and of a thread with no lane, never matches.
 * Written by the slow paths only, with the guard on, after any change to
 * ring or gen: lane claim and release (lane.c), thread_ready (attach.c),
 * fork.
 */
#define AP_GEN_STEP	2u
static inline void ap_w_go(struct ap_thread *t)
{
	t->go = t->ring && ap_p.clock_source != AP_CLOCK_MONOTONIC ? t->gen : 0;
}

#endif /* AP_WRITER_STATE_H */
