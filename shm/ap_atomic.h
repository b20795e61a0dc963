/* SPDX-License-Identifier: MIT */
/*
 * ap_atomic.h - the atomic operations agentprof uses, each named for its
 * ordering.
 *
 * Every shared word of the segment is declared _Atomic (we own the layout),
 * and every access to one goes through these names, so that a reader of the
 * code sees the ordering at the call site and pairs it with the barrier
 * point it names (ap_shm.h: A to F). Plain `=` on an _Atomic is a
 * sequentially consistent store, a locked instruction on x86 and several
 * times the cost of a release store: it is never used on shared words. The
 * writer, the drain and the name table all use this one vocabulary.
 *
 * Process-private words that a signal handler of the same thread may touch
 * (the writer's reentrancy guard) need only a compiler fence:
 * ap_signal_fence().
 */
#ifndef AP_ATOMIC_H
#define AP_ATOMIC_H

#include <stdatomic.h>

#define ap_load_relaxed(p)		atomic_load_explicit((p), memory_order_relaxed)
#define ap_load_acquire(p)		atomic_load_explicit((p), memory_order_acquire)
#define ap_store_relaxed(p, v)		atomic_store_explicit((p), (v), memory_order_relaxed)
#define ap_store_release(p, v)		atomic_store_explicit((p), (v), memory_order_release)
#define ap_add_relaxed(p, v)		atomic_fetch_add_explicit((p), (v), memory_order_relaxed)

/* Compare-and-swap, strong: 1 when *p held *expected and now holds desired;
 * else 0 and *expected holds what *p held. */
#define ap_cas_acq_rel(p, expected, desired) \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), \
						memory_order_acq_rel, memory_order_acquire)
#define ap_cas_release(p, expected, desired) \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), \
						memory_order_release, memory_order_relaxed)

/* Orders this thread's accesses against a signal handler that interrupts
 * it: no instruction, only the compiler held back. */
#define ap_signal_fence()		atomic_signal_fence(memory_order_seq_cst)

#endif /* AP_ATOMIC_H */
