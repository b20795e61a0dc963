/* SPDX-License-Identifier: MIT */
/*
 * fastpath.c - ap_begin and ap_end take a fast path in the common case and
 * hand everything else to the general path (writer.c); these tests walk the
 * seams between the two and check the reader's view span by span.
 *
 *  - Nesting deeper than the thread's parent stack (AP_STACK_MAX): every
 *    span recorded once, parents exact up to the stack's depth, the deeper
 *    ones under its last frame, one trace throughout.
 *  - Root trace ids: trace_lo is the root's span id, trace_hi one random
 *    word per thread with its top bit set; no two roots share a trace.
 *  - Calls that alternate between the paths: a child begun under an
 *    explicit parent, an end out of order, then the fast path again.
 *  - Threads whose first calls race: a new thread's state is a shared
 *    placeholder block until its first call maps its own, and no call may
 *    write the placeholder: a write there is a data race between threads
 *    that ThreadSanitizer reports (this suite is in .ci/run's TSan list),
 *    and every first span must still be recorded exactly once.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "state.h"

#define DEEP	(AP_STACK_MAX + 44)

static int deep_worker(void *arg)
{
	struct t_job *job = arg;
	static uint64_t ids[DEEP];
	uint64_t name;

	if (ap_attach(job->seg) != 0)
		return 2;
	name = ap_name("fast:deep");
	for (int i = 0; i < DEEP; i++)
		ids[i] = ap_begin(name, AP_CAT_INTERNAL);
	for (int i = DEEP; i-- > 0;)
		ap_end(ids[i]);
	if (ap_current() != 0)
		return 3;
	return t_job_write(job, ids, sizeof(ids));
}

static void test_deeper_than_the_stack(void)
{
	static uint64_t ids[DEEP];
	struct t_reader r;
	const struct ap_span *root;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 1024) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, deep_worker, ids, sizeof(ids)), 0);
	CU_ASSERT_EQUAL(r.counts.complete, DEEP);
	CU_ASSERT_EQUAL(r.counts.open, 0);
	CU_ASSERT_EQUAL(r.counts.unmatched_end, 0);
	CU_ASSERT_EQUAL(r.tot.dropped_full, 0);
	root = ap_spans_find(&r.spans, ids[0]);
	CU_ASSERT_FATAL(root != NULL);
	CU_ASSERT_EQUAL(root->parent, 0);
	CU_ASSERT_EQUAL(root->trace_lo, ids[0]);
	CU_ASSERT(root->trace_hi >> 63);
	for (int i = 1; i < DEEP; i++) {
		const struct ap_span *s = ap_spans_find(&r.spans, ids[i]);
		uint64_t want = ids[i < AP_STACK_MAX ? i - 1 : AP_STACK_MAX - 1];

		CU_ASSERT_FATAL(s != NULL);
		if (s->parent != want || s->trace_hi != root->trace_hi || s->trace_lo != root->trace_lo ||
		    !(s->have & AP_SPAN_HAVE_END)) {
			fprintf(stderr, "span %d: parent %llx (want %llx)\n", i, (unsigned long long)s->parent,
				(unsigned long long)want);
			CU_FAIL("a deep span lost its parent, its trace or its end");
			break;
		}
	}
	CU_ASSERT_EQUAL(r.analysis.traces, 1);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	t_reader_close(&r);
}

#define ROOTS	200

struct roots {
	uint64_t ids[ROOTS];
	uint32_t tid;
};

static void *roots_thread(void *arg)
{
	struct roots *out = arg;
	uint64_t name = ap_name("fast:root");

	for (int i = 0; i < ROOTS; i++) {
		out->ids[i] = ap_begin(name, AP_CAT_TOOL);
		ap_end(out->ids[i]);
	}
	out->tid = ap_tp->tid;
	return NULL;
}

static int roots_worker(void *arg)
{
	struct t_job *job = arg;
	static struct roots th[2];
	pthread_t p[2];

	if (ap_attach(job->seg) != 0)
		return 2;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&p[i], NULL, roots_thread, &th[i]) != 0)
			return 3;
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	return t_job_write(job, th, sizeof(th));
}

static void test_root_trace_ids(void)
{
	static struct roots th[2];
	struct t_reader r;
	uint64_t hi[2] = { 0, 0 };
	int bad = 0;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 1024) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, roots_worker, th, sizeof(th)), 0);
	CU_ASSERT_EQUAL(r.counts.complete, 2 * ROOTS);
	CU_ASSERT_EQUAL(r.analysis.traces, 2 * ROOTS);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < ROOTS; i++) {
			const struct ap_span *s = ap_spans_find(&r.spans, th[k].ids[i]);

			if (!s) {
				bad++;
				continue;
			}
			if (i == 0)
				hi[k] = s->trace_hi;
			/* One high half per thread, the root's id as the low half. */
			bad += s->parent != 0 || s->trace_lo != th[k].ids[i] || s->trace_hi != hi[k] ||
			       !(s->trace_hi >> 63) || s->tid_begin != th[k].tid;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_NOT_EQUAL(hi[0], hi[1]);
	CU_ASSERT_NOT_EQUAL(th[0].tid, th[1].tid);
	t_reader_close(&r);
}

/* ids: a, b (child of a, explicit), c (implicit: under b), d (after b and
 * c ended out of order: under a again). */
static int mixed_worker(void *arg)
{
	struct t_job *job = arg;
	uint64_t ids[4], name;

	if (ap_attach(job->seg) != 0)
		return 2;
	name = ap_name("fast:mixed");
	ids[0] = ap_begin(name, AP_CAT_INTERNAL);
	ids[1] = ap_begin_child(ids[0], name, AP_CAT_TOOL);
	ids[2] = ap_begin(name, AP_CAT_LLM);
	ap_end(ids[1]);		/* out of order: c's frame goes with it */
	if (ap_current() != ids[0])
		return 3;
	ap_end(ids[2]);		/* not on the stack any more: still recorded */
	ids[3] = ap_begin(name, AP_CAT_MEMORY);
	ap_end(ids[3]);
	ap_end(ids[0]);
	ap_end(0);		/* off's id: nothing */
	ap_end(ids[0]);		/* twice: the reader sees a duplicate end */
	return t_job_write(job, ids, sizeof(ids));
}

static void test_paths_alternate(void)
{
	struct t_reader r;
	uint64_t ids[4];
	static const int parent_of[4] = { -1, 0, 1, 0 };

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, mixed_worker, ids, sizeof(ids)), 0);
	CU_ASSERT_EQUAL(r.counts.complete, 4);
	CU_ASSERT_EQUAL(r.counts.open, 0);
	CU_ASSERT_EQUAL(r.as.duplicate_end, 1);
	for (int i = 0; i < 4; i++) {
		const struct ap_span *s = ap_spans_find(&r.spans, ids[i]);

		CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT_EQUAL(s->parent, parent_of[i] < 0 ? 0 : ids[parent_of[i]]);
		CU_ASSERT_EQUAL(s->trace_lo, ids[0]);
		CU_ASSERT(s->have & AP_SPAN_HAVE_END);
	}
	t_reader_close(&r);
}

#define FIRST_THREADS	8
#define FIRST_ROUNDS	25

static pthread_barrier_t first_bar;

static void *first_thread(void *arg)
{
	uint64_t name = *(uint64_t *)arg;

	pthread_barrier_wait(&first_bar);
	for (int i = 0; i < 4; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	return NULL;
}

static int first_worker(void *arg)
{
	struct t_job *job = arg;
	pthread_t p[FIRST_THREADS];
	uint64_t name;

	if (ap_attach(job->seg) != 0)
		return 2;
	name = ap_name("fast:first");
	for (int round = 0; round < FIRST_ROUNDS; round++) {
		if (pthread_barrier_init(&first_bar, NULL, FIRST_THREADS))
			return 3;
		for (int i = 0; i < FIRST_THREADS; i++)
			if (pthread_create(&p[i], NULL, first_thread, &name) != 0)
				return 4;
		for (int i = 0; i < FIRST_THREADS; i++)
			pthread_join(p[i], NULL);
		pthread_barrier_destroy(&first_bar);
	}
	return 0;
}

static void test_first_calls_race(void)
{
	struct t_reader r;

	CU_ASSERT_FATAL(t_reader_open(&r, FIRST_THREADS * FIRST_ROUNDS + 2, 64) == 0);	/* a fresh lane each */
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, first_worker, NULL, 0), 0);
	CU_ASSERT_EQUAL(r.tot.dropped_reentrant, 0);
	CU_ASSERT_EQUAL(r.tot.dropped_full + r.tot.dropped_no_lane, 0);
	CU_ASSERT_EQUAL(r.counts.complete, FIRST_THREADS * FIRST_ROUNDS * 4);
	t_reader_close(&r);
}

void t_register_fastpath(void)
{
	CU_pSuite s = CU_add_suite("fastpath", NULL, NULL);

	T_ADD(s, test_deeper_than_the_stack);
	T_ADD(s, test_root_trace_ids);
	T_ADD(s, test_paths_alternate);
	T_ADD(s, test_first_calls_race);
}
