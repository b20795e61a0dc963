/* SPDX-License-Identifier: MIT */
/*
 * lane_reuse.c - lanes outlive their threads. With 2 lanes, 20 threads run
 * one after another; each releases its lane at exit and, once the reader has
 * drained it, the next thread claims it. No event is lost, every thread is
 * counted, and each lane change is announced by a CLAIM. Their state blocks
 * are recycled: one block serves all 20.
 *
 * The same through libagentprof.so.1 loaded by a dlopen'd object
 * (tests/dl/plugin.c, $AP_DL_PLUGIN), as from the Python extension: every
 * span of the main thread and of threads started in turn is read, exactly.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "agentprof.h"
#include "helpers.h"
#include "state.h"	/* ap_tp: the thread's state block */

#define THREADS 20
#define SPANS 10

static struct ap_thread *blocks[THREADS];
static int thread_no;

static void *thread_main(void *arg)
{
	uint64_t name = *(uint64_t *)arg;

	for (int i = 0; i < SPANS; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	blocks[thread_no] = ap_tp;
	return NULL;
}

/* All lanes drained and free (the reader runs concurrently). */
static int wait_drained(const struct ap_segment *seg)
{
	for (int tries = 0; tries < 20000; tries++) {
		int busy = 0;

		for (uint32_t i = 0; i < seg->lane_count; i++)
			busy |= atomic_load(&seg->lanes[i].head) != atomic_load(&seg->lanes[i].tail) ||
				atomic_load(&seg->lanes[i].owner) != 0;
		if (!busy)
			return 0;
		t_sleep_ms(1);
	}
	return -1;
}

static int worker(void *arg)
{
	struct ap_segment seg;
	struct ap_stats st;
	uint64_t name;

	if (ap_attach(arg) != 0 || ap_seg_attach(&seg, arg) != 0)
		return 2;
	name = ap_name("reuse:span");
	for (int t = 0; t < THREADS; t++) {
		pthread_t th;

		if (wait_drained(&seg))
			return 3;
		thread_no = t;
		pthread_create(&th, NULL, thread_main, &name);
		pthread_join(th, NULL);
	}
	ap_stats(&st);
	if (st.recorded != 2 * THREADS * SPANS || st.dropped_no_lane || st.dropped_full)
		return 4;
	/* Each thread's state block went back to the free list at its exit and
	 * the next thread took it: one block for all of them, none for the
	 * main thread's. */
	for (int t = 0; t < THREADS; t++)
		if (!blocks[t] || blocks[t] != blocks[0] || blocks[t] == ap_tp)
			return 5;
	return 0;
}

static void test_sequential_threads_reuse_lanes(void)
{
	struct t_reader r;
	const struct ap_proc_row *p;
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 64) == 0);
	pid = t_fork(worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	p = t_proc(&r, (uint32_t)pid);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->threads, THREADS);
	CU_ASSERT_EQUAL(p->lanes_claimed, THREADS);
	CU_ASSERT_EQUAL(p->events, 2 * THREADS * SPANS);
	CU_ASSERT_EQUAL(r.tot.claims, THREADS);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	CU_ASSERT_EQUAL(r.counts.complete, THREADS * SPANS);
	t_reader_close(&r);
}

#define DL_PAIRS	1000
#define DL_THREADS	3

static int dl_worker(void *arg)
{
	void *h = dlopen(getenv("AP_DL_PLUGIN"), RTLD_NOW | RTLD_LOCAL);
	int (*attach)(const char *);
	int (*run)(uint64_t, int);
	void (*stats)(struct ap_stats *);
	struct ap_stats st;

	if (!h)
		return 2;
	attach = (int (*)(const char *))dlsym(h, "plugin_attach");
	run = (int (*)(uint64_t, int))dlsym(h, "plugin_run");
	stats = (void (*)(struct ap_stats *))dlsym(h, "plugin_stats");
	if (!attach || !run || !stats || attach(arg) != 0)
		return 3;
	if (run(DL_PAIRS, DL_THREADS))
		return 4;
	stats(&st);
	if (st.recorded != 2 * DL_PAIRS * (1 + DL_THREADS) || st.dropped_full || st.dropped_no_lane)
		return 5;
	return 0;
}

static void test_through_dlopened_library(void)
{
	struct t_reader r;
	const struct ap_proc_row *p;
	int code;
	pid_t pid;

	if (!getenv("AP_DL_PLUGIN")) {
		t_skip("AP_DL_PLUGIN unset (make test sets it)");
		return;
	}
	CU_ASSERT_FATAL(t_reader_open(&r, 4, 4096) == 0);
	pid = t_fork(dl_worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	p = t_proc(&r, (uint32_t)pid);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->events, 2 * DL_PAIRS * (1 + DL_THREADS));
	CU_ASSERT_EQUAL(p->spans, DL_PAIRS * (1 + DL_THREADS));
	CU_ASSERT_EQUAL(p->threads, 1 + DL_THREADS);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	CU_ASSERT_EQUAL(r.counts.complete, DL_PAIRS * (1 + DL_THREADS));
	t_reader_close(&r);
}

void t_register_lane_reuse(void)
{
	CU_pSuite s = CU_add_suite("lane_reuse", NULL, NULL);

	T_ADD(s, test_sequential_threads_reuse_lanes);
	T_ADD(s, test_through_dlopened_library);
}
