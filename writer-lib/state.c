/* SPDX-License-Identifier: MIT */
/*
 * state.c - the writer's per-thread and per-process state (state.h), and the
 * small helpers every slow path shares.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

struct ap_proc ap_p = { .gen = 1, .lock = PTHREAD_MUTEX_INITIALIZER };	/* gen odd: ap_w_go */

pthread_once_t ap_w_once = PTHREAD_ONCE_INIT;

/* Looks busy, so that the fast paths, which test the guard before anything
 * else, never write it (it is every new thread's block until its first
 * call maps one); the general path maps the thread's own block first. */
struct ap_thread ap_w_noblock = { .busy = 1 };
__thread struct ap_thread *ap_tp = &ap_w_noblock;

#define BLOCK_BYTES	((sizeof(struct ap_thread) + 4095) & ~(size_t)4095)

AP_COLD struct ap_thread *ap_w_self_slow(void)
{
	struct ap_thread *t = NULL;
	int saved = errno;	/* this may be a signal handler's call */

	/* A thread of ours cannot be inside ap_w_once_init without a block. */
	pthread_once(&ap_w_once, ap_w_once_init);
	/* trylock: this may be a signal handler that interrupted its thread
	 * while it held the lock (it cannot have been in a call of ours: it has
	 * no block); then a fresh mapping. */
	if (pthread_mutex_trylock(&ap_p.lock) == 0) {
		t = ap_p.free_blocks;
		if (t)
			ap_p.free_blocks = t->next_free;
		pthread_mutex_unlock(&ap_p.lock);
	}
	if (!t) {
		void *p = mmap(NULL, BLOCK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			errno = saved;
			return NULL;
		}
		t = p;
	}
	t->next_free = NULL;
	/* The destructor hands the block back when the thread exits. */
	if (ap_p.key_ok && pthread_setspecific(ap_p.key, t) == 0)
		t->key_set = 1;
	ap_tp = t;
	errno = saved;
	return t;
}

void ap_w_self_recycle(struct ap_thread *t)
{
	if (ap_tp == t)
		ap_tp = &ap_w_noblock;
	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&ap_p.lock);
	t->next_free = ap_p.free_blocks;
	ap_p.free_blocks = t;
	pthread_mutex_unlock(&ap_p.lock);
}

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
	struct ap_thread *t = ap_self_if_any();
	/* This thread's count is its own from the first call, attached or not
	 * (a fork clears the child's); a thread with no block began nothing. */
	return ap_load_relaxed(&ap_p.exited_no_reader) + (t ? t->my_no_reader : 0);
}

void ap_stats(struct ap_stats *out)
{
	struct ap_thread *t = ap_self_if_any();
	int mine = t && t->pid == ap_p.pid && t->pid != 0;

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
