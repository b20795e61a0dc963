/* SPDX-License-Identifier: MIT */
/*
 * killed.c - a worker killed with SIGKILL mid-run. The reader keeps going,
 * counts exactly what the worker published, releases the worker's lane, and
 * another worker's counts stay exact. The worker dies inside a trace
 * (root { done, open }): the analysis shows that trace with its two open
 * spans truncated at their known start, and its ended child whole.
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
	uint64_t name;
	char c = 'k';

	if (ap_attach(a->seg) != 0)
		return 2;
	name = ap_name("killed:span");
	for (int i = 0; i < K; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	/* Never ended: killed:root { killed:done (ended), killed:open }. */
	ap_begin(ap_name("killed:root"), AP_CAT_INTERNAL);
	ap_end(ap_begin(ap_name("killed:done"), AP_CAT_MEMORY));
	ap_begin(ap_name("killed:open"), AP_CAT_LLM);
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

	/* Lanes that hold the whole run: the counts are exact however slowly
	 * the reader runs (sanitizers), with no drop path involved. */
	CU_ASSERT_FATAL(t_reader_open(&r, 4, 65536) == 0);
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
	CU_ASSERT_EQUAL(pv->events, 2 * K + 4);
	CU_ASSERT_EQUAL(pv->spans, K + 3);
	CU_ASSERT_EQUAL(ps->events, 40000);
	CU_ASSERT_EQUAL(r.counts.open, 2);
	CU_ASSERT_EQUAL(r.counts.complete, K + 20000 + 1);
	/* The analysis: every one-span trace complete, the victim's last trace
	 * handed on at the end of the run with its open spans truncated. */
	CU_ASSERT_EQUAL(r.analysis.traces, K + 20000 + 1);
	CU_ASSERT_EQUAL(r.analysis.traces_complete, K + 20000);
	CU_ASSERT_EQUAL(r.analysis.truncated_spans, 2);
	CU_ASSERT_EQUAL(r.analysis.spans_in_trees, K + 20000 + 3);
	CU_ASSERT_EQUAL(r.as.traces_incomplete, 1);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	{
		const struct ap_kept *k = NULL;
		char buf[32];

		for (uint32_t t = 0; t < r.analysis.nkept && !k; t++)
			if (!strcmp(ap_names_get(&r.names, r.analysis.kept[t].v[r.analysis.kept[t].root].name, buf),
				    "killed:root"))
				k = &r.analysis.kept[t];
		/* It ran until the end of the run: the slowest, so kept whole. */
		CU_ASSERT_FATAL(k != NULL);
		CU_ASSERT_EQUAL(k->n, 3);
		for (uint32_t i = 0; i < k->n; i++) {
			const char *n = ap_names_get(&r.names, k->v[i].name, buf);

			CU_ASSERT_EQUAL(k->truncated[i], strcmp(n, "killed:done") != 0);
			CU_ASSERT_EQUAL(k->parent[i] == AP_NONE, strcmp(n, "killed:root") == 0);
			CU_ASSERT_EQUAL(k->v[i].pid, (uint32_t)v);
		}
	}
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
