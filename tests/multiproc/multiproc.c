/* SPDX-License-Identifier: MIT */
/*
 * multiproc.c - several forked worker processes x several threads record a
 * known workload while the test process drains: exact counts per process,
 * spans paired and parented correctly, token sums exact.
 *
 * Each thread runs S iterations of: outer { inner (LLM, tokens) }, and every
 * 4th iteration also begins an async span under outer that the next thread
 * ends (after a barrier), so BEGIN and END of those spans sit in different
 * lanes. Lanes are large enough to hold a thread's whole output, so no event
 * may be dropped however the reader is scheduled.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "name.h"
#include "writer_internal.h"

#define W 4		/* processes */
#define T 3		/* threads per process */
#define S 2000		/* iterations per thread, a multiple of 4 */
#define ASYNC (S / 4)

struct wctx {
	const char *seg;
	unsigned index;
	pthread_barrier_t barrier;
	uint64_t handoff[T][ASYNC];	/* spans thread t must end */
	uint64_t n_outer, n_inner, n_async, n_model;
	int fail;
};

struct tctx {
	struct wctx *w;
	unsigned t;
};

static void *thread_main(void *arg)
{
	struct tctx *tc = arg;
	struct wctx *w = tc->w;
	unsigned next = (tc->t + 1) % T;

	for (unsigned i = 0; i < S; i++) {
		uint64_t o = ap_begin(w->n_outer, AP_CAT_INTERNAL);
		uint64_t in = ap_begin(w->n_inner, AP_CAT_LLM);

		if (!o || !in || ap_current() != in)
			w->fail = 1;
		ap_set_tokens(in, w->n_model, 100 + w->index, 10);
		ap_end(in);
		if (i % 4 == 0)
			w->handoff[next][i / 4] = ap_begin_async(o, w->n_async, AP_CAT_TOOL);
		if (ap_current() != o)
			w->fail = 1;	/* async spans do not become the implicit parent */
		ap_end(o);
	}
	pthread_barrier_wait(&w->barrier);
	for (unsigned i = 0; i < ASYNC; i++)
		ap_end(w->handoff[tc->t][i]);
	return NULL;
}

static int worker(void *arg)
{
	static struct wctx w;
	struct tctx tc[T];
	pthread_t th[T];
	struct wctx *src = arg;

	memset(&w, 0, sizeof(w));
	w.seg = src->seg;
	w.index = src->index;
	if (ap_attach(w.seg) != 0)
		return 2;
	w.n_outer = ap_name("mp:outer");
	w.n_inner = ap_name("mp:inner");
	w.n_async = ap_name("mp:handoff");
	w.n_model = ap_name("gpt-4o");
	pthread_barrier_init(&w.barrier, NULL, T);
	for (unsigned t = 0; t < T; t++) {
		tc[t].w = &w;
		tc[t].t = t;
		pthread_create(&th[t], NULL, thread_main, &tc[t]);
	}
	for (unsigned t = 0; t < T; t++)
		pthread_join(th[t], NULL);
	return w.fail ? 1 : 0;
}

static void test_exact_counts_across_processes(void)
{
	struct t_reader r;
	struct wctx args[W];
	pid_t pids[W];
	int codes[W];
	uint64_t per_thread_events = 5 * S + 2 * ASYNC, per_thread_spans = 2 * S + ASYNC;
	uint64_t n_outer, n_inner, n_async, n_model;
	uint64_t tokens_in[W] = { 0 }, inner_ok = 0, async_cross = 0, outer_seen = 0;
	char buf[32];

	CU_ASSERT_FATAL(t_reader_open(&r, 16, 16384) == 0);
	for (unsigned i = 0; i < W; i++) {
		args[i].seg = r.seg.name;
		args[i].index = i;
		pids[i] = t_fork(worker, &args[i]);
	}
	t_reader_run(&r, pids, W, codes);
	for (unsigned i = 0; i < W; i++)
		CU_ASSERT_EQUAL(codes[i], 0);

	CU_ASSERT_EQUAL(r.tot.written, W * T * per_thread_events);
	CU_ASSERT_EQUAL(r.tot.read, W * T * per_thread_events);
	CU_ASSERT_EQUAL(r.tot.dropped_full + r.tot.dropped_no_lane + r.tot.dropped_reentrant, 0);
	CU_ASSERT_EQUAL(r.tot.rejected, 0);
	CU_ASSERT_EQUAL(r.tot.quarantined_lanes, 0);
	CU_ASSERT_EQUAL(r.tot.in_ring, 0);
	CU_ASSERT_EQUAL(r.counts.complete, W * T * per_thread_spans);
	CU_ASSERT_EQUAL(r.counts.open, 0);
	CU_ASSERT_EQUAL(r.counts.unmatched_end, 0);
	CU_ASSERT_EQUAL(r.as.duplicate_begin + r.as.duplicate_end, 0);
	CU_ASSERT_EQUAL(r.drain.nprocs, W);
	for (unsigned i = 0; i < W; i++) {
		const struct ap_proc_row *p = t_proc(&r, (uint32_t)pids[i]);

		CU_ASSERT_FATAL(p != NULL);
		CU_ASSERT_EQUAL(p->threads, T);
		CU_ASSERT_EQUAL(p->spans, T * per_thread_spans);
		CU_ASSERT_EQUAL(p->events, T * per_thread_events);
		CU_ASSERT_EQUAL(p->dropped, 0);
	}

	/* Structure: every inner under an outer of the same process and inside
	 * it in time; every async span under an outer, ended on another thread. */
	n_outer = ap_name_hash("mp:outer", 8);
	n_inner = ap_name_hash("mp:inner", 8);
	n_async = ap_name_hash("mp:handoff", 10);
	n_model = ap_name_hash("gpt-4o", 6);
	CU_ASSERT_STRING_EQUAL(ap_names_get(&r.names, n_outer, buf), "mp:outer");
	CU_ASSERT_STRING_EQUAL(ap_names_get(&r.names, n_model, buf), "gpt-4o");
	for (uint32_t k = 0; k < r.spans.n; k++) {
		const struct ap_span *sp = &r.spans.v[k];
		const struct ap_span *par = sp->parent ? ap_spans_find(&r.spans, sp->parent) : NULL;

		if (sp->name == n_outer) {
			outer_seen += sp->parent == 0 && sp->tid_begin == sp->tid_end;
		} else if (sp->name == n_inner) {
			if (par && par->name == n_outer && par->pid == sp->pid &&
			    par->t_begin <= sp->t_begin && par->t_end >= sp->t_end &&
			    sp->model == n_model && sp->category == AP_CAT_LLM)
				inner_ok++;
			for (unsigned i = 0; i < W; i++)
				if ((uint32_t)pids[i] == sp->pid)
					tokens_in[i] += sp->input_tokens;
		} else if (sp->name == n_async) {
			if (par && par->name == n_outer && sp->tid_end != sp->tid_begin &&
			    (sp->flags & AP_EVF_EXPLICIT_PARENT))
				async_cross++;
		}
	}
	CU_ASSERT_EQUAL(outer_seen, W * T * S);
	CU_ASSERT_EQUAL(inner_ok, W * T * S);
	CU_ASSERT_EQUAL(async_cross, W * T * ASYNC);
	for (unsigned i = 0; i < W; i++)
		CU_ASSERT_EQUAL(tokens_in[i], (uint64_t)T * S * (100 + i));
	t_reader_close(&r);
}

void t_register_multiproc(void)
{
	CU_pSuite s = CU_add_suite("multiproc", NULL, NULL);

	T_ADD(s, test_exact_counts_across_processes);
}
