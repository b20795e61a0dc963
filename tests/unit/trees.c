/* SPDX-License-Identifier: MIT */
/*
 * trees.c - span trees and analysis against ground truth.
 *
 * Most cases feed events straight into the assembler with a clock whose
 * ticks are nanoseconds, so every expected figure is exact: durations, self
 * times with concurrent children, dependency levels, groups, the
 * critical-path bound, percentiles within the histogram's error, and the
 * adversarial shapes (cycles, self-parents, duplicate ids, orphans, a
 * 100,000-deep chain, a 100,000-wide fan-out) counted without recursion.
 * The last case runs the reference workflow in forked workers.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis.h"
#include "workload.h"
#include "helpers.h"
#include "json.h"
#include "report.h"
#include "name.h"
#include "writer_internal.h"

#define MS 1000000ull

struct fixture {
	struct ap_assembler as;
	struct ap_names n;
	struct ap_analysis a;
	struct ap_clock_cal clock;
	struct ap_rules rules;
	struct ap_model models[8];
	uint32_t nmodels;
};

static void fx_init(struct fixture *f, uint32_t max_spans)
{
	memset(f, 0, sizeof(*f));
	CU_ASSERT_FATAL(ap_names_init(&f->n) == 0);
	f->clock.source = AP_CLOCK_MONOTONIC;
	f->clock.mult = UINT64_C(1) << 32;	/* ticks are ns */
	ap_rules_default(&f->rules);
	f->nmodels = ap_models_default(f->models, 8);
	CU_ASSERT_FATAL(ap_analysis_init(&f->a, &f->n, &f->clock, &f->rules, f->models, f->nmodels, NULL) == 0);
	CU_ASSERT_FATAL(ap_asm_init(&f->as, max_spans, ap_analysis_add, &f->a) == 0);
}

static void fx_free(struct fixture *f)
{
	ap_analysis_free(&f->a);
	ap_asm_free(&f->as);
	ap_names_free(&f->n);
}

static uint64_t name(struct fixture *f, const char *s)
{
	uint64_t id = ap_name_hash(s, (uint32_t)strlen(s));

	ap_names_add(&f->n, id, s, (uint32_t)strlen(s));
	return id;
}

static void begin(struct fixture *f, uint64_t id, uint64_t parent, uint64_t nm, uint8_t cat, uint64_t t, uint32_t tid)
{
	struct ap_event e = { .kind = AP_EV_BEGIN, .category = cat, .tid = tid, .ts = t, .span_id = id,
			      .u.begin = { .parent_id = parent, .name_id = nm } };

	ap_asm_event(&f->as, 100, &e);
}

static void end(struct fixture *f, uint64_t id, uint64_t t)
{
	struct ap_event e = { .kind = AP_EV_END, .ts = t, .span_id = id };

	ap_asm_event(&f->as, 100, &e);
}

static void dep(struct fixture *f, uint64_t id, uint64_t on)
{
	struct ap_event e = { .kind = AP_EV_DEPENDS, .span_id = id, .u.depends.on_span = on };

	ap_asm_event(&f->as, 100, &e);
}

/* End of the run: every trace handed on, the findings computed. */
static void analyse(struct fixture *f)
{
	ap_asm_finish(&f->as);
	ap_analysis_end(&f->a, &f->as);
	CU_ASSERT_EQUAL(f->a.traces_skipped, 0);
}

/* Duration and self time of span id, from the traces kept whole. */
static uint64_t kdur(struct fixture *f, uint64_t id)
{
	uint32_t i;
	const struct ap_kept *k = ap_analysis_find(&f->a, id, &i);

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	return k->dur[i];
}

static uint64_t kself(struct fixture *f, uint64_t id)
{
	uint32_t i;
	const struct ap_kept *k = ap_analysis_find(&f->a, id, &i);

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	return k->self[i];
}

static void test_known_structure(void)
{
	struct fixture f;
	uint64_t R, A, B, C, D;

	fx_init(&f, 64);
	R = name(&f, "R");
	A = name(&f, "A");
	B = name(&f, "B");
	C = name(&f, "C");
	D = name(&f, "D");
	/* R [0,1000] { A [0,100], B [100,400] <-A, C [400,600] <-A, D [600,700] <-B,C } */
	begin(&f, 1, 0, R, AP_CAT_INTERNAL, 0, 1);
	begin(&f, 3, 1, A, AP_CAT_MEMORY, 0, 1);
	end(&f, 3, 100 * MS);
	begin(&f, 5, 1, B, AP_CAT_LLM, 100 * MS, 1);
	dep(&f, 5, 3);
	end(&f, 5, 400 * MS);
	begin(&f, 7, 1, C, AP_CAT_TOOL, 400 * MS, 1);
	dep(&f, 7, 3);
	end(&f, 7, 600 * MS);
	begin(&f, 9, 1, D, AP_CAT_LLM, 600 * MS, 1);
	dep(&f, 9, 5);
	dep(&f, 9, 7);
	end(&f, 9, 700 * MS);
	end(&f, 1, 1000 * MS);
	analyse(&f);

	CU_ASSERT_EQUAL(f.a.traces, 1);
	CU_ASSERT_EQUAL(f.a.spans_in_trees, 5);
	CU_ASSERT_EQUAL(kdur(&f, 1), 1000 * MS);
	CU_ASSERT_EQUAL(kself(&f, 1), 300 * MS);
	CU_ASSERT_EQUAL(kself(&f, 5), 300 * MS);
	CU_ASSERT_EQUAL(f.a.cat_self[AP_CAT_LLM], 400 * MS);
	CU_ASSERT_EQUAL(f.a.cat_self[AP_CAT_TOOL], 200 * MS);
	CU_ASSERT_EQUAL(f.a.cat_self[AP_CAT_MEMORY], 100 * MS);
	CU_ASSERT_EQUAL(f.a.cat_self[AP_CAT_INTERNAL], 300 * MS);
	CU_ASSERT_EQUAL(f.a.total_self_ns, 1000 * MS);
	/* Critical path: 300 self + A 100 + max(B 300, C 200) + D 100. */
	CU_ASSERT_EQUAL(f.a.critical_ns, 800 * MS);
	/* One group: B and C (level 1), 500 ms one after another, 300 ms together. */
	CU_ASSERT_EQUAL_FATAL(f.a.ngroups, 1);
	CU_ASSERT_EQUAL(f.a.groups[0].nmembers, 2);
	CU_ASSERT_EQUAL(f.a.groups[0].members[0], B);
	CU_ASSERT_EQUAL(f.a.groups[0].members[1], C);
	CU_ASSERT_EQUAL(f.a.groups[0].seq_ns, 500 * MS);
	CU_ASSERT_EQUAL(f.a.groups[0].par_ns, 300 * MS);
	CU_ASSERT_EQUAL(f.a.groups[0].assumed, 0);
	CU_ASSERT_EQUAL(f.a.orphans + f.a.cycles + f.a.self_parents + f.a.truncated_spans, 0);
	fx_free(&f);
}

static void test_concurrent_children(void)
{
	struct fixture f;
	uint64_t P, K;

	fx_init(&f, 16);
	P = name(&f, "P");
	K = name(&f, "K");
	/* Three children in three threads: [10,60], [20,70], [30,80] under [0,100]. */
	begin(&f, 1, 0, P, AP_CAT_INTERNAL, 0, 1);
	for (uint64_t k = 0; k < 3; k++)
		begin(&f, 3 + 2 * k, 1, K, AP_CAT_TOOL, (10 + 10 * k) * MS, (uint32_t)(2 + k));
	for (uint64_t k = 0; k < 3; k++)
		end(&f, 3 + 2 * k, (60 + 10 * k) * MS);
	end(&f, 1, 100 * MS);
	analyse(&f);
	CU_ASSERT_EQUAL(kself(&f, 1), 30 * MS);
	CU_ASSERT_EQUAL_FATAL(f.a.nconcs, 1);
	CU_ASSERT_EQUAL(f.a.concs[0].child_ns, 150 * MS);
	CU_ASSERT_EQUAL(f.a.concs[0].union_ns, 70 * MS);
	CU_ASSERT_EQUAL(f.a.ngroups, 0);	/* they overlapped: no opportunity */
	CU_ASSERT_EQUAL(f.a.nthreads, 4);
	fx_free(&f);
}

static void test_adversarial_graphs(void)
{
	struct fixture f;
	uint64_t X;
	FILE *null;
	struct ap_json j;
	struct ap_overhead ov = { 0 };

	fx_init(&f, 64);
	X = name(&f, "X");
	begin(&f, 11, 13, X, AP_CAT_TOOL, 1, 1);	/* 11 -> 13 -> 15 -> 11: a cycle */
	begin(&f, 13, 15, X, AP_CAT_TOOL, 2, 1);
	begin(&f, 15, 11, X, AP_CAT_TOOL, 3, 1);
	begin(&f, 17, 17, X, AP_CAT_TOOL, 4, 1);	/* self-parent */
	begin(&f, 19, 999, X, AP_CAT_TOOL, 5, 1);	/* orphan */
	begin(&f, 21, 0, X, AP_CAT_TOOL, 6, 1);
	begin(&f, 21, 0, X, AP_CAT_LLM, 7, 1);		/* duplicate id */
	end(&f, 23, 8);					/* end without begin */
	for (uint64_t id = 11; id <= 21; id += 2)
		end(&f, id, 100);
	analyse(&f);
	CU_ASSERT_EQUAL(f.a.cycles, 1);
	CU_ASSERT_EQUAL(f.a.self_parents, 1);
	CU_ASSERT_EQUAL(f.a.orphans, 1);
	CU_ASSERT_EQUAL(f.as.duplicate_begin, 1);
	CU_ASSERT_EQUAL(f.as.end_without_begin, 1);
	CU_ASSERT_EQUAL(f.a.spans_in_trees, 6);
	CU_ASSERT_EQUAL(f.a.traces, 4);			/* cut cycle, self-parent, orphan, 21 */
	null = fopen("/dev/null", "w");
	ap_json_init(&j, null);
	ap_json_obj(&j, NULL);
	ap_report_json(&j, &f.a, &ov);
	ap_json_end_obj(&j);
	CU_ASSERT_EQUAL(j.err, 0);
	fclose(null);
	fx_free(&f);
}

#define BIG 100000u

static void test_deep_chain_and_wide_fanout(void)
{
	struct fixture f;
	uint64_t X;
	FILE *out;
	struct ap_json j;
	struct ap_overhead ov = { 0 };

	/* A 100,000-deep chain. */
	fx_init(&f, BIG + 8);
	X = name(&f, "chain");
	for (uint64_t k = 0; k < BIG; k++)
		begin(&f, 2 * k + 1, k ? 2 * k - 1 : 0, X, AP_CAT_INTERNAL, k, 1);
	for (uint64_t k = BIG; k-- > 0;)
		end(&f, 2 * k + 1, 2 * BIG - k);
	analyse(&f);
	CU_ASSERT_EQUAL(f.a.traces, 1);
	CU_ASSERT_EQUAL(f.a.spans_in_trees, BIG);
	CU_ASSERT_EQUAL(kdur(&f, 1), 2 * BIG);
	CU_ASSERT_EQUAL(kself(&f, 1), 2);	/* one tick at each end */
	out = tmpfile();
	ap_json_init(&j, out);
	ap_json_obj(&j, NULL);
	ap_report_json(&j, &f.a, &ov);
	ap_json_end_obj(&j);
	CU_ASSERT_EQUAL(j.err, 0);
	CU_ASSERT(ftell(out) < 10 * 1000 * 1000);	/* the tree is cut, not written whole */
	fclose(out);
	out = fopen("/dev/null", "w");
	ap_report_text(out, &f.a, &ov, &(struct ap_loss){ 0 }, 0);
	fclose(out);
	fx_free(&f);

	/* A 100,000-wide fan-out. */
	fx_init(&f, BIG + 8);
	X = name(&f, "fan");
	begin(&f, 1, 0, X, AP_CAT_INTERNAL, 0, 1);
	for (uint64_t k = 0; k < BIG; k++) {
		begin(&f, 2 * k + 3, 1, X, AP_CAT_TOOL, 10 * k + 1, 1);
		end(&f, 2 * k + 3, 10 * k + 6);
	}
	end(&f, 1, 10 * BIG + 10);
	analyse(&f);
	CU_ASSERT_EQUAL(f.a.traces, 1);
	CU_ASSERT_EQUAL(f.a.spans_in_trees, BIG + 1);
	CU_ASSERT_EQUAL(kself(&f, 1), 10 * BIG + 10 - 5 * BIG);
	CU_ASSERT_EQUAL(f.a.cat_self[AP_CAT_TOOL], 5 * BIG);
	fx_free(&f);
}

/* Memory follows the traces in flight, not the length of the run: 200,000
 * traces of 5 spans, one after another, never hold more than one trace. */
static void test_memory_bounded_by_traces_in_flight(void)
{
	struct fixture f;
	uint64_t R, C, t = 0, id = 1;

	fx_init(&f, 1024);	/* a cap far below the run's 1,000,000 spans */
	R = name(&f, "root");
	C = name(&f, "child");
	for (uint32_t n = 0; n < 200000; n++) {
		uint64_t root = id;

		begin(&f, root, 0, R, AP_CAT_INTERNAL, t++, 1);
		for (int c = 0; c < 4; c++) {
			begin(&f, root + 2 + 2 * (uint64_t)c, root, C, AP_CAT_TOOL, t++, 1);
			end(&f, root + 2 + 2 * (uint64_t)c, t++);
		}
		end(&f, root, t++);
		id += 10;
		if (n % 64 == 0)
			ap_asm_flush(&f.as);	/* as the drain does after each pass */
	}
	analyse(&f);
	CU_ASSERT_EQUAL(f.as.over_cap, 0);
	CU_ASSERT(f.as.peak_nodes <= 65 * 5);	/* the traces of one flush interval */
	CU_ASSERT_EQUAL(f.a.traces, 200000);
	CU_ASSERT_EQUAL(f.a.traces_complete, 200000);
	CU_ASSERT_EQUAL(f.a.spans_in_trees, 1000000);
	CU_ASSERT_EQUAL(f.a.cat_self[AP_CAT_TOOL], 200000ull * 4);
	/* Kept whole: one root name, so its cap (default 20), 5 of them the slowest. */
	CU_ASSERT_EQUAL(f.a.nkept, 20);
	CU_ASSERT_EQUAL(f.a.kept_spans, 100);
	CU_ASSERT_EQUAL(f.a.kept_by[AP_KEEP_SLOWEST], 5);
	fx_free(&f);
}

static void test_percentiles_and_truncation(void)
{
	struct fixture f;
	uint64_t X;
	const struct ap_op *op;

	fx_init(&f, 2048);
	X = name(&f, "p");
	for (uint64_t k = 1; k <= 1000; k++) {
		begin(&f, 2 * k + 1, 0, X, AP_CAT_TOOL, k * 2000 * MS, 1);
		end(&f, 2 * k + 1, k * 2000 * MS + k * MS);	/* durations 1..1000 ms */
	}
	begin(&f, 5001, 0, X, AP_CAT_LLM, 10 * MS, 1);	/* never ends */
	analyse(&f);
	CU_ASSERT_EQUAL(f.a.truncated_spans, 1);
	CU_ASSERT_EQUAL(f.a.traces_complete, 1000);
	CU_ASSERT_EQUAL(f.a.traces, 1001);
	op = f.a.ops[0].category == AP_CAT_TOOL ? &f.a.ops[0] : &f.a.ops[1];
	CU_ASSERT_EQUAL(op->count, 1000);
	CU_ASSERT(fabs((double)ap_hist_quantile(&op->hist, 0.50) - 500.0 * MS) <= 0.01 * 500 * MS + MS);
	CU_ASSERT(fabs((double)ap_hist_quantile(&op->hist, 0.95) - 950.0 * MS) <= 0.01 * 950 * MS + MS);
	CU_ASSERT(fabs((double)ap_hist_quantile(&op->hist, 0.99) - 990.0 * MS) <= 0.01 * 990 * MS + MS);
	CU_ASSERT_EQUAL(op->hist.max, 1000 * MS);
	/* The truncated span lasts until the last timestamp seen. */
	CU_ASSERT_EQUAL(kdur(&f, 5001), 1000 * 2000 * MS + 1000 * MS - 10 * MS);
	fx_free(&f);
}

/* The reference workflow in forked workers, sleeps scaled to a fifth. */
static int demo_worker(void *arg)
{
	return ap_demo_worker(arg, 0, 2, 7, 0.2);
}

static void test_reference_workflow(void)
{
	struct t_reader r;
	const struct ap_analysis *a = &r.analysis;
	pid_t pids[2];
	int codes[2];
	double total, pct_cl = 0, pct_sy = 0, pct_sk = 0;
	char buf[32];
	int found = 0;

	CU_ASSERT_FATAL(t_reader_open(&r, 8, 1024) == 0);
	for (int i = 0; i < 2; i++)
		pids[i] = t_fork(demo_worker, r.seg.name);
	t_reader_run(&r, pids, 2, codes);
	CU_ASSERT_EQUAL(codes[0], 0);
	CU_ASSERT_EQUAL(codes[1], 0);
	CU_ASSERT_EQUAL(a->traces, 4);
	CU_ASSERT_EQUAL(a->traces_complete, 4);
	CU_ASSERT_EQUAL(a->spans_in_trees, 32);
	CU_ASSERT_EQUAL(a->llm_calls, 8);
	CU_ASSERT_EQUAL(a->total_input, 4 * (450 + 12500));
	CU_ASSERT_EQUAL(a->total_output, 4 * (30 + 800));
	total = (double)a->total_self_ns;
	/* One trace: 250 ms (1,250 ms at full scale), within sleep jitter. */
	CU_ASSERT(fabs((double)a->total_trace_ns / 4 - 250.0 * MS) < 0.06 * 250 * MS);
	for (uint32_t i = 0; i < a->nops; i++) {
		const char *n = ap_names_get(&r.names, a->ops[i].name, buf);
		double p = 100.0 * (double)a->ops[i].total_ns / total;

		if (!strcmp(n, "llm:classify"))
			pct_cl = p;
		else if (!strcmp(n, "llm:synthesize"))
			pct_sy = p;
		else if (!strcmp(n, "tool:search_kb"))
			pct_sk = p;
	}
	CU_ASSERT(fabs(pct_cl - 36) < 1.5);
	CU_ASSERT(fabs(pct_sy - 28) < 1.5);
	CU_ASSERT(fabs(pct_sk - 16) < 1.5);
	/* classify + search_kb: 130 ms -> 90 ms (650 -> 450 at full scale), 1.44x, declared. */
	for (uint32_t i = 0; i < a->ngroups; i++) {
		const struct ap_group *g = &a->groups[i];
		double seq = (double)g->seq_ns / (double)g->occurrences, par = (double)g->par_ns / (double)g->occurrences;

		if (g->nmembers == 2 && !strcmp(ap_names_get(&r.names, g->members[0], buf), "llm:classify") &&
		    !strcmp(ap_names_get(&r.names, g->members[1], buf), "tool:search_kb")) {
			found = 1;
			CU_ASSERT_EQUAL(g->occurrences, 4);
			CU_ASSERT(fabs(seq - 130.0 * MS) < 0.05 * 130 * MS);
			CU_ASSERT(fabs(par - 90.0 * MS) < 0.05 * 90 * MS);
			CU_ASSERT(fabs(seq / par - 1.44) < 0.06);
			CU_ASSERT_EQUAL(g->assumed, 0);
		}
	}
	CU_ASSERT(found);
	t_reader_close(&r);
}

/* Three children in three threads under one parent, in a forked worker. */
/* The children are staggered 10 ms apart but meet at a barrier while all
 * three are open, so they overlap however the machine schedules them; the
 * test then checks the measured union against the spans' own times. */
struct conc_thread {
	uint64_t parent;
	unsigned delay_ms;
	uint32_t tid;
	uint64_t span;
	pthread_barrier_t *all_open;
};

static void *conc_child(void *arg)
{
	struct conc_thread *c = arg;

	t_sleep_ms(c->delay_ms);
	c->tid = (uint32_t)gettid();
	c->span = ap_begin_child(c->parent, ap_name("conc:child"), AP_CAT_TOOL);
	pthread_barrier_wait(c->all_open);
	t_sleep_ms(50);
	ap_end(c->span);
	return NULL;
}

struct conc_truth {
	uint64_t parent_span, child_span[3];
	uint32_t parent_tid, child_tid[3];
};

struct conc_arg {
	const char *seg;
	int out_fd;
};

static int conc_worker(void *arg)
{
	struct conc_arg *a = arg;
	struct conc_thread th[3];
	struct conc_truth truth;
	pthread_barrier_t all_open;
	pthread_t pt[3];

	if (ap_attach(a->seg) != 0 || pthread_barrier_init(&all_open, NULL, 3) != 0)
		return 2;
	truth.parent_span = ap_begin(ap_name("conc:parent"), AP_CAT_INTERNAL);
	truth.parent_tid = (uint32_t)gettid();
	for (int k = 0; k < 3; k++) {
		th[k] = (struct conc_thread){ .parent = truth.parent_span, .delay_ms = 10u * (unsigned)k,
					      .all_open = &all_open };
		if (pthread_create(&pt[k], NULL, conc_child, &th[k]))
			return 3;
	}
	for (int k = 0; k < 3; k++) {
		pthread_join(pt[k], NULL);
		truth.child_span[k] = th[k].span;
		truth.child_tid[k] = th[k].tid;
	}
	ap_end(truth.parent_span);
	pthread_barrier_destroy(&all_open);
	return write(a->out_fd, &truth, sizeof(truth)) == (ssize_t)sizeof(truth) ? 0 : 4;
}

static void test_concurrent_threads(void)
{
	struct t_reader r;
	struct conc_arg a;
	struct conc_truth truth;
	const struct ap_analysis *an = &r.analysis;
	const struct ap_kept *k;
	uint32_t pi, ci;
	uint64_t union_ns = 0, sum_ns = 0, first_ns = UINT64_MAX, last_ns = 0;
	int fds[2], code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 8, 256) == 0);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	a.seg = r.seg.name;
	a.out_fd = fds[1];
	pid = t_fork(conc_worker, &a);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL_FATAL(code, 0);
	CU_ASSERT_FATAL(read(fds[0], &truth, sizeof(truth)) == (ssize_t)sizeof(truth));
	CU_ASSERT_EQUAL(an->traces, 1);
	CU_ASSERT_EQUAL(an->traces_complete, 1);
	CU_ASSERT_EQUAL(an->spans_in_trees, 4);
	CU_ASSERT_EQUAL(an->nthreads, 4);
	k = ap_analysis_find(an, truth.parent_span, &pi);
	CU_ASSERT_FATAL(k != NULL);
	CU_ASSERT_EQUAL(k->root, pi);
	CU_ASSERT_EQUAL(k->v[pi].tid_begin, truth.parent_tid);
	for (int c = 0; c < 3; c++) {
		CU_ASSERT_FATAL(ap_analysis_find(an, truth.child_span[c], &ci) == k);
		CU_ASSERT_EQUAL(k->parent[ci], pi);
		CU_ASSERT_EQUAL(k->v[ci].tid_begin, truth.child_tid[c]);
		CU_ASSERT_NOT_EQUAL(truth.child_tid[c], truth.parent_tid);
		CU_ASSERT(k->dur[ci] >= 50 * MS);
		sum_ns += k->dur[ci];
		{
			uint64_t b = ap_ticks_to_ns(&r.seg.clock, k->v[ci].t_begin);

			first_ns = b < first_ns ? b : first_ns;
			last_ns = b + k->dur[ci] > last_ns ? b + k->dur[ci] : last_ns;
		}
	}
	CU_ASSERT_NOT_EQUAL(truth.child_tid[0], truth.child_tid[1]);
	CU_ASSERT_NOT_EQUAL(truth.child_tid[1], truth.child_tid[2]);
	/* Measured concurrency: the children were all open at the barrier, so
	 * the time they cover is one interval, first begin to last end (about
	 * 70 ms on an idle machine), shorter than their sum by at least the
	 * 2 x 50 ms they overlapped. Ticks to ns may round each end by 1 ns. */
	CU_ASSERT_EQUAL_FATAL(an->nconcs, 1);
	CU_ASSERT_EQUAL(an->concs[0].child_ns, sum_ns);
	union_ns = an->concs[0].union_ns;
	CU_ASSERT(llabs((long long)union_ns - (long long)(last_ns - first_ns)) <= 2);
	CU_ASSERT(union_ns >= 50 * MS);
	CU_ASSERT(union_ns + 100 * MS <= sum_ns);
	/* Self time of the parent: its duration minus the union, not the sum. */
	CU_ASSERT(llabs((long long)k->self[pi] - (long long)(k->dur[pi] - union_ns)) < 1000);
	CU_ASSERT_EQUAL(an->ngroups, 0);	/* they overlapped: no opportunity */
	close(fds[0]);
	close(fds[1]);
	t_reader_close(&r);
}

static void test_models_table(void)
{
	struct ap_model m[8];
	uint32_t n = ap_models_default(m, 8);
	char path[] = "/tmp/ap-test-models-XXXXXX";
	int fd = mkstemp(path), line;
	FILE *f = fdopen(fd, "w");
	struct fixture fx;
	uint64_t mystery;

	CU_ASSERT_EQUAL(n, 4);
	fputs("# windows\ngpt-4o 1000\nnew-model  8000\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(ap_models_load(path, m, &n, 8, &line), 1);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(m[0].window, 1000);	/* overridden */
	CU_ASSERT_STRING_EQUAL(m[4].name, "new-model");
	f = fopen(path, "w");
	fputs("ok-model 10\nbroken\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(ap_models_load(path, m, &n, 8, &line), -EINVAL);
	CU_ASSERT_EQUAL(line, 2);
	unlink(path);
	CU_ASSERT(ap_models_load("/nonexistent/models", m, &n, 8, &line) < 0);

	/* An unknown model is reported as unknown (window 0), not guessed. */
	fx_init(&fx, 16);
	mystery = name(&fx, "mystery-model");
	begin(&fx, 1, 0, name(&fx, "call"), AP_CAT_LLM, 0, 1);
	{
		struct ap_event e = { .kind = AP_EV_TOKENS, .span_id = 1,
				      .u.tokens = { .model_id = mystery, .input_tokens = 5 } };

		ap_asm_event(&fx.as, 100, &e);
	}
	end(&fx, 1, MS);
	analyse(&fx);
	CU_ASSERT_EQUAL_FATAL(fx.a.nmodels_used, 1);
	CU_ASSERT_EQUAL(fx.a.models_used[0].window, 0);
	CU_ASSERT_EQUAL(fx.a.models_used[0].input, 5);
	fx_free(&fx);
}

/*
 * The per-trace scratch carries nothing from one trace to the next: a run
 * of traces of varying sizes, with and without sibling dependencies, fed
 * to one analysis leaves after each the same children, dependency lists,
 * durations and bounds as that trace fed alone to a fresh analysis.
 */
static void test_scratch_carries_nothing_between_traces(void)
{
	enum { MAXN = 40, TRACES = 60 };
	struct fixture all, one;
	struct ap_span v[MAXN];
	uint32_t parent[MAXN];
	struct ap_dep deps[8];
	uint64_t x = 3, nm;
	uint32_t bad = 0;

	fx_init(&all, 1024);
	nm = name(&all, "s");
	for (uint32_t k = 0; k < TRACES; k++) {
		struct ap_trace_view t = { 0 };
		uint32_t n = 1 + (uint32_t)((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 33) % MAXN;
		uint32_t nd = k % 3 == 0 ? (uint32_t)(x >> 20) % 8 : 0;

		if (k % 7 == 6)
			n = 1;
		for (uint32_t i = 0; i < n; i++) {
			memset(&v[i], 0, sizeof(v[i]));
			v[i].id = 1000 * (k + 1) + i;
			v[i].have = AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END;
			v[i].name = nm;
			v[i].pid = 100;
			parent[i] = i ? (uint32_t)(x >> (i % 30)) % (i < 4 ? i : 4) : AP_NONE;
			v[i].t_begin = 1000 + i * 10;
			v[i].t_end = v[i].t_begin + 5 + (x >> (i % 17)) % 50;
		}
		for (uint32_t d = 0; d < nd; d++)
			deps[d] = (struct ap_dep){ v[(d * 7 + 1) % n].id, v[(d * 3) % n].id };
		t.v = v;
		t.parent = parent;
		t.n = n;
		t.deps = nd ? deps : NULL;
		t.ndeps = nd;
		t.complete = 1;
		ap_analysis_add(&all.a, &t);
		fx_init(&one, 1024);
		ap_analysis_add(&one.a, &t);
		bad += memcmp(all.a.child_off, one.a.child_off, (n + 1) * sizeof(uint32_t)) != 0;
		bad += memcmp(all.a.child_idx, one.a.child_idx, one.a.child_off[n] * sizeof(uint32_t)) != 0;
		bad += memcmp(all.a.dep_off, one.a.dep_off, (n + 1) * sizeof(uint32_t)) != 0;
		bad += memcmp(all.a.dep_idx, one.a.dep_idx, one.a.dep_off[n] * sizeof(uint32_t)) != 0;
		bad += memcmp(all.a.declared, one.a.declared, n * sizeof(uint32_t)) != 0;
		bad += memcmp(all.a.dur, one.a.dur, n * sizeof(uint64_t)) != 0;
		bad += memcmp(all.a.self, one.a.self, n * sizeof(uint64_t)) != 0;
		bad += memcmp(all.a.best, one.a.best, n * sizeof(uint64_t)) != 0;
		fx_free(&one);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(all.a.groups_over_cap + all.a.ngroups > 0);	/* the dependencies made groups */
	fx_free(&all);
}

void t_register_trees(void)
{
	CU_pSuite s = CU_add_suite("trees", NULL, NULL);

	T_ADD(s, test_known_structure);
	T_ADD(s, test_concurrent_children);
	T_ADD(s, test_concurrent_threads);
	T_ADD(s, test_adversarial_graphs);
	T_ADD(s, test_deep_chain_and_wide_fanout);
	T_ADD(s, test_memory_bounded_by_traces_in_flight);
	T_ADD(s, test_percentiles_and_truncation);
	T_ADD(s, test_reference_workflow);
	T_ADD(s, test_models_table);
	T_ADD(s, test_scratch_carries_nothing_between_traces);
}
