/* SPDX-License-Identifier: MIT */
/*
 * killed.c - a worker killed with SIGKILL mid-run. The reader keeps going,
 * counts exactly what the worker published (its open span is truncated),
 * releases the worker's lane, and another worker's counts stay exact.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"

#define K 500

struct karg {
	const char *seg;
	int to_parent;
};

static int victim(void *arg)
{
	struct karg *a = arg;
	uint64_t name, open_span;
	char c = 'k';

	if (ap_attach(a->seg) != 0)
		return 2;
	name = ap_name("killed:span");
	for (int i = 0; i < K; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	open_span = ap_begin(name, AP_CAT_TOOL);	/* never ended */
	(void)open_span;
	if (write(a->to_parent, &c, 1) != 1)
		return 3;
	for (;;)
		pause();
}

static int survivor(void *arg)
{
	uint64_t name;

	if (ap_attach(arg) != 0)
		return 2;
	name = ap_name("killed:survivor");
	for (int i = 0; i < 20000; i++) {
		ap_end(ap_begin(name, AP_CAT_MEMORY));
		if (i % 1000 == 0)
			t_sleep_ms(1);
	}
	return 0;
}

static void test_killed_worker(void)
{
	struct t_reader r;
	struct karg a;
	int fds[2], code;
	pid_t v, s;
	char c;
	uint32_t owned = 0;
	const struct ap_proc_row *pv, *ps;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 4096) == 0);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	a.seg = r.seg.name;
	a.to_parent = fds[1];
	v = t_fork(victim, &a);
	s = t_fork(survivor, r.seg.name);
	CU_ASSERT_FATAL(read(fds[0], &c, 1) == 1);
	kill(v, SIGKILL);
	CU_ASSERT_EQUAL(t_wait(v), 128 + SIGKILL);
	t_reader_run(&r, &s, 1, &code);
	CU_ASSERT_EQUAL(code, 0);

	pv = t_proc(&r, (uint32_t)v);
	ps = t_proc(&r, (uint32_t)s);
	CU_ASSERT_FATAL(pv != NULL && ps != NULL);
	CU_ASSERT_EQUAL(pv->events, 2 * K + 1);
	CU_ASSERT_EQUAL(pv->spans, K + 1);
	CU_ASSERT_EQUAL(ps->events, 40000);
	CU_ASSERT_EQUAL(r.counts.open, 1);
	CU_ASSERT_EQUAL(r.counts.complete, K + 20000);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	/* Both lanes are free again: the victim's reclaimed by the reader, the
	 * survivor's released at thread exit. */
	CU_ASSERT(r.tot.reclaimed_lanes >= 1);
	for (uint32_t i = 0; i < r.seg.lane_count; i++)
		owned += atomic_load(&r.seg.lanes[i].owner) != 0;
	CU_ASSERT_EQUAL(owned, 0);
	close(fds[0]);
	close(fds[1]);
	t_reader_close(&r);
}

void t_register_killed(void)
{
	CU_pSuite s = CU_add_suite("killed", NULL, NULL);

	T_ADD(s, test_killed_worker);
}
