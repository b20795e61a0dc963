/* SPDX-License-Identifier: MIT */
/*
 * drops.c - exact drop accounting.
 *
 *  - A 16-event lane and a reader that does not drain: the first 15 events
 *    fit (the lane's CLAIM takes one slot), the rest are dropped_full, and
 *    once the reader drains, recording resumes with no further loss.
 *  - Two lanes and three threads that hold spans at once: one thread has no
 *    lane; its events are dropped_no_lane and its span ids are still valid.
 *  - Small lanes under a flood: drops happen; the writers' own counts and
 *    the reader's agree exactly, per process, and written = read + dropped.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"

struct pipe_arg {
	const char *seg;
	int to_parent;
	int from_parent;
};

static int full_worker(void *arg)
{
	struct pipe_arg *a = arg;
	struct ap_stats st;
	uint64_t name;
	char c = 'x';

	if (ap_attach(a->seg) != 0)
		return 2;
	name = ap_name("drops:span");
	for (int i = 0; i < 100; i++) {
		uint64_t s = ap_begin(name, AP_CAT_TOOL);

		if (s == 0)
			return 3;	/* a dropped begin still yields an id */
		ap_end(s);
	}
	ap_stats(&st);
	if (st.recorded != 15 || st.dropped_full != 185 || st.dropped_no_lane || st.dropped_reentrant)
		return 4;
	/* Let the reader drain, then record again: it fits. */
	if (write(a->to_parent, &c, 1) != 1 || read(a->from_parent, &c, 1) != 1)
		return 5;
	for (int i = 0; i < 5; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	ap_stats(&st);
	if (st.recorded != 25 || st.dropped_full != 185)
		return 6;
	return 0;
}

static void test_full_lane_exact_drops(void)
{
	struct t_reader r;
	struct pipe_arg a;
	int up[2], down[2], code;
	char c;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 16) == 0);
	CU_ASSERT_FATAL(pipe(up) == 0 && pipe(down) == 0);
	a.seg = r.seg.name;
	a.to_parent = up[1];
	a.from_parent = down[0];
	pid = t_fork(full_worker, &a);
	/* Paused reader: wait for the worker's first phase without draining. */
	CU_ASSERT_FATAL(read(up[0], &c, 1) == 1);
	while (ap_drain_pass(&r.drain))
		;
	CU_ASSERT(write(down[1], &c, 1) == 1);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);

	CU_ASSERT_EQUAL(r.tot.written, 210);
	CU_ASSERT_EQUAL(r.tot.read, 25);
	CU_ASSERT_EQUAL(r.tot.dropped_full, 185);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read + r.tot.dropped_full + r.tot.dropped_no_lane +
					r.tot.dropped_reentrant);
	/* 7 spans fit whole, the 8th only its BEGIN; then 5 more whole. */
	CU_ASSERT_EQUAL(r.counts.complete, 12);
	CU_ASSERT_EQUAL(r.counts.open, 1);
	CU_ASSERT_EQUAL(r.counts.unmatched_end, 0);
	CU_ASSERT_EQUAL(t_proc(&r, (uint32_t)pid)->dropped, 185);
	close(up[0]); close(up[1]); close(down[0]); close(down[1]);
	t_reader_close(&r);
}

struct nolane {
	pthread_barrier_t b;
	uint64_t name;
	int fail;
};

static void *nolane_thread(void *arg)
{
	struct nolane *n = arg;
	uint64_t s = ap_begin(n->name, AP_CAT_MEMORY);

	if (s == 0)
		n->fail = 1;
	pthread_barrier_wait(&n->b);	/* all three hold a span at once */
	ap_end(s);
	pthread_barrier_wait(&n->b);	/* no lane is released before all ended */
	return NULL;
}

static int nolane_worker(void *arg)
{
	static struct nolane n;
	pthread_t th[3];
	struct ap_stats st;

	if (ap_attach(arg) != 0)
		return 2;
	n.name = ap_name("drops:nolane");
	pthread_barrier_init(&n.b, NULL, 3);
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, nolane_thread, &n);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ap_stats(&st);
	if (n.fail || st.recorded != 4 || st.dropped_no_lane != 2)
		return 3;
	return 0;
}

static void test_no_lane_counted(void)
{
	struct t_reader r;
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 64) == 0);
	pid = t_fork(nolane_worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT_EQUAL(r.tot.written, 6);
	CU_ASSERT_EQUAL(r.tot.read, 4);
	CU_ASSERT_EQUAL(r.tot.dropped_no_lane, 2);
	CU_ASSERT_EQUAL(r.counts.complete, 2);
	CU_ASSERT_EQUAL(t_proc(&r, (uint32_t)pid)->threads, 2);
	t_reader_close(&r);
}

#define FLOOD_W 3
#define FLOOD_T 2
#define FLOOD_SPANS 50000

static void *flood_thread(void *arg)
{
	uint64_t name = *(uint64_t *)arg;

	for (int i = 0; i < FLOOD_SPANS; i++)
		ap_end(ap_begin(name, AP_CAT_INTERNAL));
	return NULL;
}

static int flood_worker(void *arg)
{
	struct pipe_arg *a = arg;
	pthread_t th[FLOOD_T];
	struct ap_stats st;
	uint64_t name;

	if (ap_attach(a->seg) != 0)
		return 2;
	name = ap_name("drops:flood");
	for (int i = 0; i < FLOOD_T; i++)
		pthread_create(&th[i], NULL, flood_thread, &name);
	for (int i = 0; i < FLOOD_T; i++)
		pthread_join(th[i], NULL);
	ap_stats(&st);
	if (st.recorded + st.dropped_full + st.dropped_no_lane + st.dropped_reentrant !=
	    2ull * FLOOD_T * FLOOD_SPANS)
		return 3;
	return write(a->to_parent, &st, sizeof(st)) == (ssize_t)sizeof(st) ? 0 : 4;
}

static void test_flood_writer_and_reader_agree(void)
{
	struct t_reader r;
	struct pipe_arg a[FLOOD_W];
	int fds[FLOOD_W][2], codes[FLOOD_W];
	pid_t pids[FLOOD_W];
	uint64_t total_dropped = 0;

	CU_ASSERT_FATAL(t_reader_open(&r, 8, 64) == 0);
	for (int i = 0; i < FLOOD_W; i++) {
		CU_ASSERT_FATAL(pipe(fds[i]) == 0);
		a[i].seg = r.seg.name;
		a[i].to_parent = fds[i][1];
		pids[i] = t_fork(flood_worker, &a[i]);
	}
	t_reader_run(&r, pids, FLOOD_W, codes);
	for (int i = 0; i < FLOOD_W; i++) {
		struct ap_stats st;
		const struct ap_proc_row *p = t_proc(&r, (uint32_t)pids[i]);

		CU_ASSERT_EQUAL(codes[i], 0);
		CU_ASSERT_FATAL(read(fds[i][0], &st, sizeof(st)) == (ssize_t)sizeof(st));
		CU_ASSERT_FATAL(p != NULL);
		CU_ASSERT_EQUAL(p->events, st.recorded);
		CU_ASSERT_EQUAL(p->dropped, st.dropped_full + st.dropped_reentrant);
		total_dropped += st.dropped_full;
		close(fds[i][0]);
		close(fds[i][1]);
	}
	CU_ASSERT_EQUAL(r.tot.written, 2ull * FLOOD_W * FLOOD_T * FLOOD_SPANS);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read + r.tot.dropped_full + r.tot.dropped_no_lane +
					r.tot.dropped_reentrant);
	CU_ASSERT_EQUAL(r.tot.dropped_full, total_dropped);
	CU_ASSERT_EQUAL(r.tot.rejected, 0);
	/* Every read END either closes a read BEGIN or is counted. */
	CU_ASSERT_EQUAL(r.as.ends, r.counts.complete + r.counts.unmatched_end);
	t_reader_close(&r);
}

void t_register_drops(void)
{
	CU_pSuite s = CU_add_suite("drops", NULL, NULL);

	T_ADD(s, test_full_lane_exact_drops);
	T_ADD(s, test_no_lane_counted);
	T_ADD(s, test_flood_writer_and_reader_agree);
}
