/* SPDX-License-Identifier: MIT */
/*
 * state.c - the writer's per-thread and per-process state (state.h), and the
 * small helpers every slow path shares.
 */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

struct ap_proc ap_p = { .lock = PTHREAD_MUTEX_INITIALIZER };

pthread_once_t ap_w_once = PTHREAD_ONCE_INIT;

/* Read by the inline wrappers in agentprof.h: 0 once profiling is known to
 * be off, so that an unprofiled program does not even call in. A plain int
 * read with __atomic_load_n there, so that the header stays C89- and
 * C++-clean; written here the same way. */
int ap_maybe_on_ = 1;

void ap_w_set_maybe_on(int on)
{
	__atomic_store_n(&ap_maybe_on_, on, __ATOMIC_RELAXED);
}

uint64_t ap_w_random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = ap_mix64(ap_counter_ticks() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v);
	return v;
}

/* What getting ready cost, without the time spent waiting for a CPU or the
 * lock. */
uint64_t ap_w_thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ap_spans_no_reader(void)
{
	struct ap_thread *t = &ap_t;
	/* This thread's count is its own from the first call, attached or not
	 * (a fork clears the child's). */
	return ap_load_relaxed(&ap_p.exited_no_reader) + t->my_no_reader;
}

void ap_stats(struct ap_stats *out)
{
	struct ap_thread *t = &ap_t;
	int mine = t->pid == ap_p.pid && t->pid != 0;

	out->recorded = ap_load_relaxed(&ap_p.exited_recorded);
	out->dropped_full = ap_load_relaxed(&ap_p.exited_full);
	out->dropped_no_lane = ap_load_relaxed(&ap_p.exited_no_lane);
	out->dropped_reentrant = ap_load_relaxed(&ap_p.exited_reentrant);
	out->names_not_kept = ap_load_relaxed(&ap_p.names_not_kept);
	if (mine) {
		out->recorded += t->recorded_base + (t->lane ? t->head - t->claim_head : 0);
		out->dropped_full += t->my_dropped_full;
		out->dropped_no_lane += t->my_dropped_no_lane;
		out->dropped_reentrant += ap_load_relaxed(&t->my_dropped_reentrant);
	}
}
