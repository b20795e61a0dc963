/* SPDX-License-Identifier: MIT */
/*
 * retain.c - which traces the reader keeps whole: the caps hold with ten
 * times their size offered, the tail rules keep exactly the traces the
 * generator knows are the slowest, truncated and heaviest, the reservoir is
 * a uniform sample (chi-square over many seeded runs), a replay with the
 * same seed keeps the same traces, and the aggregates count every trace.
 *
 * Traces are handed to the analysis as the assembler would: a root and
 * n - 1 children, with a clock whose ticks are nanoseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "helpers.h"
#include "json.h"
#include "report.h"

struct gen {
	struct ap_analysis a;
	struct ap_names names;
	struct ap_clock_cal clock;
	struct ap_rules rules;
	struct ap_span v[16];
	uint32_t parent[16];
	uint64_t next_id;
	struct ap_analysis *feed;	/* where traces go; NULL: a */
};

static int gen_init(struct gen *g, const struct ap_keep_cfg *k)
{
	memset(g, 0, sizeof(*g));
	g->clock.source = AP_CLOCK_MONOTONIC;
	g->clock.mult = UINT64_C(1) << 32;
	ap_rules_default(&g->rules);
	g->next_id = 1;
	if (ap_names_init(&g->names))
		return -1;
	return ap_analysis_init(&g->a, &g->names, &g->clock, &g->rules, NULL, 0, k);
}

static void gen_free(struct gen *g)
{
	ap_analysis_free(&g->a);
	ap_names_free(&g->names);
}

/* One trace: root `name` lasting dur ns with n - 1 children; tokens on the
 * first child; truncated: the last child never ended. Returns the root id. */
static uint64_t trace(struct gen *g, uint64_t name, uint64_t dur, uint32_t n, uint32_t tokens, int truncated)
{
	struct ap_trace_view t = { .v = g->v, .parent = g->parent, .n = n, .complete = !truncated,
				   .t_last = 1000 + dur };
	uint64_t root = g->next_id;

	memset(g->v, 0, sizeof(g->v));
	for (uint32_t i = 0; i < n; i++) {
		struct ap_span *s = &g->v[i];

		s->id = g->next_id;
		g->next_id += 2;
		s->have = AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END;
		s->name = i ? 77 : name;
		s->parent = i ? root : 0;
		s->pid = 1;
		s->t_begin = 1000 + (i ? (i - 1) * dur / n : 0);
		s->t_end = i ? s->t_begin + dur / n : 1000 + dur;
		g->parent[i] = i ? 0 : AP_NONE;
	}
	if (n > 1 && tokens) {
		g->v[1].have |= AP_SPAN_HAVE_TOKENS;
		g->v[1].input_tokens = tokens;
		g->v[1].model = 99;
	}
	if (n > 1 && truncated)
		g->v[n - 1].have &= (uint8_t)~AP_SPAN_HAVE_END;
	ap_analysis_add(g->feed ? g->feed : &g->a, &t);
	return root;
}

static const struct ap_kept *kept_root(const struct gen *g, uint64_t root)
{
	uint32_t i;
	const struct ap_kept *k = ap_analysis_find(&g->a, root, &i);

	return k && i == k->root ? k : NULL;
}

static void check_caps(const struct gen *g)
{
	const struct ap_analysis *a = &g->a;
	uint64_t by_rule = 0, spans = 0;

	CU_ASSERT(a->nkept <= a->keep.max_traces);
	for (int r = AP_KEEP_TRUNCATED; r < AP_KEEP_RULES; r++)
		by_rule += a->kept_by[r];
	CU_ASSERT_EQUAL(by_rule, a->nkept);
	for (uint32_t i = 0; i < a->nkept; i++) {
		uint32_t same = 0;

		spans += a->kept[i].n;
		for (uint32_t j = 0; j < a->nkept; j++)
			same += a->kept[j].root_name == a->kept[i].root_name;
		CU_ASSERT(same <= a->keep.max_per_root);
		CU_ASSERT(a->kept[i].rule > AP_KEEP_NONE && a->kept[i].rule < AP_KEEP_RULES);
	}
	CU_ASSERT_EQUAL(spans, a->kept_spans);
	CU_ASSERT(spans <= a->keep.max_spans);
}

/* 10x the caps offered, in traces, root names and spans. */
static void test_caps_hold_at_ten_times(void)
{
	struct ap_keep_cfg k;
	struct gen g;
	uint64_t spans = 0;
	uint32_t traces = 0;

	ap_keep_default(&k);
	k.max_traces = 20;
	k.max_per_root = 4;
	k.slowest = 2;
	k.token_threshold = 5000;
	k.max_spans = 60;
	CU_ASSERT_FATAL(gen_init(&g, &k) == 0);
	srand(7);
	for (uint32_t i = 0; i < 10 * k.max_traces * 4; i++) {
		uint32_t n = 1 + (uint32_t)rand() % 10;

		trace(&g, 1000 + (uint64_t)(rand() % 40), 1000 + (uint64_t)(rand() % 100000), n,
		      (rand() % 7 == 0) ? 9000 : 10, rand() % 9 == 0);
		traces++;
		spans += n;
		check_caps(&g);
	}
	ap_analysis_end(&g.a, &(struct ap_assembler){ 0 });
	check_caps(&g);
	CU_ASSERT_EQUAL(g.a.traces_recorded, traces);
	CU_ASSERT_EQUAL(g.a.spans_in_trees, spans);	/* aggregates: every trace */
	CU_ASSERT(g.a.nkept >= 5);
	CU_ASSERT(g.a.kept_by[AP_KEEP_TRUNCATED] >= 1 && g.a.kept_by[AP_KEEP_TRUNCATED] <= 2);
	CU_ASSERT(g.a.kept_by[AP_KEEP_TOKENS] >= 1 && g.a.kept_by[AP_KEEP_TOKENS] <= 2);
	/* Kept whole, slowest first. */
	for (uint32_t i = 1; i < g.a.nkept; i++)
		CU_ASSERT(ap_analysis_kept(&g.a, i - 1)->root_dur >= ap_analysis_kept(&g.a, i)->root_dur);
	gen_free(&g);
}

static int cmp_desc(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a < b) - (a > b);
}

/* The generator knows every duration: each root name's 3 slowest are kept by
 * the slowest rule, the truncated and token-heavy ones by theirs. */
static void test_tail_rules_keep_known(void)
{
	enum { NAMES = 5, PER = 60 };
	struct ap_keep_cfg k;
	struct gen g;
	uint64_t dur[NAMES][PER], sorted[PER], trunc_root[3], tok_root[2];
	uint64_t ids[NAMES][PER];

	ap_keep_default(&k);
	k.max_traces = 50;
	k.max_per_root = 10;
	k.slowest = 3;
	k.token_threshold = 150000;
	CU_ASSERT_FATAL(gen_init(&g, &k) == 0);
	srand(11);
	/* Distinct durations per name, offered in random order. */
	for (int n = 0; n < NAMES; n++) {
		for (int i = 0; i < PER; i++)
			dur[n][i] = 1000000 + (uint64_t)i * 1000 + (uint64_t)n;
		for (int i = PER - 1; i > 0; i--) {
			int j = rand() % (i + 1);
			uint64_t t = dur[n][i];

			dur[n][i] = dur[n][j];
			dur[n][j] = t;
		}
	}
	for (int i = 0; i < PER; i++)
		for (int n = 0; n < NAMES; n++)
			ids[n][i] = trace(&g, 500 + (uint64_t)n, dur[n][i], 3, 10, 0);
	/* Short but truncated, short but heavy: only their rules keep them. */
	for (int i = 0; i < 3; i++)
		trunc_root[i] = trace(&g, 500, 10 + (uint64_t)i, 3, 10, 1);
	for (int i = 0; i < 2; i++)
		tok_root[i] = trace(&g, 501, 20 + (uint64_t)i, 3, 200000, 0);
	ap_analysis_end(&g.a, &(struct ap_assembler){ 0 });
	check_caps(&g);
	for (int n = 0; n < NAMES; n++) {
		memcpy(sorted, dur[n], sizeof(sorted));
		qsort(sorted, PER, sizeof(sorted[0]), cmp_desc);
		for (int i = 0; i < PER; i++) {
			const struct ap_kept *kp = kept_root(&g, ids[n][i]);

			if (dur[n][i] >= sorted[2]) {	/* among the 3 slowest */
				CU_ASSERT_PTR_NOT_NULL_FATAL(kp);
				CU_ASSERT_EQUAL(kp->rule, AP_KEEP_SLOWEST);
			} else if (kp) {
				CU_ASSERT_EQUAL(kp->rule, AP_KEEP_RESERVOIR);
			}
		}
	}
	for (int i = 0; i < 3; i++) {
		const struct ap_kept *kp = kept_root(&g, trunc_root[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(kp);
		CU_ASSERT_EQUAL(kp->rule, AP_KEEP_TRUNCATED);
	}
	for (int i = 0; i < 2; i++) {
		const struct ap_kept *kp = kept_root(&g, tok_root[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(kp);
		CU_ASSERT_EQUAL(kp->rule, AP_KEEP_TOKENS);
	}
	CU_ASSERT_EQUAL(g.a.kept_by[AP_KEEP_SLOWEST], NAMES * 3);
	CU_ASSERT_EQUAL(g.a.kept_by[AP_KEEP_TRUNCATED], 3);
	CU_ASSERT_EQUAL(g.a.kept_by[AP_KEEP_TOKENS], 2);
	CU_ASSERT_EQUAL(g.a.nkept, 50);	/* the reservoir fills the rest */
	CU_ASSERT_EQUAL(g.a.traces_recorded, NAMES * PER + 5);
	gen_free(&g);
}

/*
 * Reservoir alone (no tail rules): 100 traces offered, 10 kept, over 2,000
 * runs with seeds from one fixed seed. Every trace must be kept in about
 * 10% of the runs: chi-square over the 100 positions, 99 degrees of freedom,
 * below 148.2 (p = 0.001).
 */
static void test_reservoir_uniform(void)
{
	enum { N = 100, K = 10, RUNS = 2000 };
	static uint32_t hits[N];
	struct ap_keep_cfg k;
	double chi = 0, expect = (double)RUNS * K / N;

	memset(hits, 0, sizeof(hits));
	ap_keep_default(&k);
	k.max_traces = K;
	k.max_per_root = K;
	k.slowest = 0;
	k.token_threshold = 0;
	for (int r = 0; r < RUNS; r++) {
		struct gen g;

		k.seed = 0xabcdef + (uint64_t)r * 7919;
		CU_ASSERT_FATAL(gen_init(&g, &k) == 0);
		for (int i = 0; i < N; i++)
			trace(&g, 42, 1000 + (uint64_t)i, 2, 0, 0);
		CU_ASSERT_EQUAL_FATAL(g.a.nkept, K);
		for (uint32_t i = 0; i < g.a.nkept; i++) {
			uint64_t id = g.a.kept[i].v[g.a.kept[i].root].id;

			CU_ASSERT_EQUAL(g.a.kept[i].rule, AP_KEEP_RESERVOIR);
			hits[(id - 1) / 4]++;	/* 2 spans a trace, ids step by 2 */
		}
		gen_free(&g);
	}
	for (int i = 0; i < N; i++)
		chi += ((double)hits[i] - expect) * ((double)hits[i] - expect) / expect;
	CU_ASSERT(chi < 148.2);
	/* Not all the same either way: the first and last traces are kept too. */
	CU_ASSERT(hits[0] > 0 && hits[N - 1] > 0);
}

/* The same traces with the same seed keep the same set (a replayed log
 * reports what the live run reported). */
static void test_same_seed_same_set(void)
{
	struct ap_keep_cfg k;
	struct gen g1, g2;

	ap_keep_default(&k);
	k.max_traces = 12;
	CU_ASSERT_FATAL(gen_init(&g1, &k) == 0);
	CU_ASSERT_FATAL(gen_init(&g2, &k) == 0);
	for (int i = 0; i < 500; i++) {
		uint64_t d = 1000 + (uint64_t)((i * 7919) % 997);

		trace(&g1, 1 + (uint64_t)(i % 3), d, 4, (uint32_t)i * 300, i % 50 == 0);
		trace(&g2, 1 + (uint64_t)(i % 3), d, 4, (uint32_t)i * 300, i % 50 == 0);
	}
	ap_analysis_end(&g1.a, &(struct ap_assembler){ 0 });
	ap_analysis_end(&g2.a, &(struct ap_assembler){ 0 });
	CU_ASSERT_EQUAL_FATAL(g1.a.nkept, g2.a.nkept);
	for (uint32_t i = 0; i < g1.a.nkept; i++) {
		CU_ASSERT_EQUAL(g1.a.kept[i].v[g1.a.kept[i].root].id, g2.a.kept[i].v[g2.a.kept[i].root].id);
		CU_ASSERT_EQUAL(g1.a.kept[i].rule, g2.a.kept[i].rule);
	}
	gen_free(&g1);
	gen_free(&g2);
}

/* --max-traces 0 keeps nothing; an oversized trace is analysed, not kept. */
static void test_keep_none_and_oversized(void)
{
	struct ap_keep_cfg k;
	struct gen g;

	ap_keep_default(&k);
	k.max_traces = 0;
	CU_ASSERT_FATAL(gen_init(&g, &k) == 0);
	for (int i = 0; i < 50; i++)
		trace(&g, 5, 1000, 3, 0, 0);
	CU_ASSERT_EQUAL(g.a.nkept, 0);
	CU_ASSERT_EQUAL(g.a.traces_recorded, 50);
	CU_ASSERT_EQUAL(g.a.spans_in_trees, 150);
	gen_free(&g);

	ap_keep_default(&k);
	k.max_spans = 5;
	CU_ASSERT_FATAL(gen_init(&g, &k) == 0);
	trace(&g, 5, 1000, 8, 0, 0);
	trace(&g, 5, 1000, 4, 0, 0);
	CU_ASSERT_EQUAL(g.a.nkept, 1);
	CU_ASSERT_EQUAL(g.a.kept_spans, 4);
	gen_free(&g);

	ap_keep_default(&k);
	k.max_per_root = 0;
	CU_ASSERT(ap_analysis_init(&g.a, &g.names, &g.clock, &g.rules, NULL, 0, &k) == -EINVAL);
}

/* report.json's analysis part of a, ended, as a string. */
static char *report_of(struct ap_analysis *a)
{
	static const struct ap_assembler as;
	struct ap_overhead ov = { 0 };
	struct ap_json j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	ap_analysis_end(a, &as);
	ap_json_init(&j, f);
	ap_json_obj(&j, NULL);
	ap_report_json(&j, a, &ov);
	ap_json_end_obj(&j);
	fclose(f);
	return buf;
}

/* Periodic reports: each interval analysed on its own and folded into the
 * run's analysis. The run's report equals one pass over the same traces,
 * with the run's kept traces chosen as they came; each interval's counts
 * are its own. */
static void test_intervals_fold_into_the_run(void)
{
	struct ap_keep_cfg k;
	struct gen one, run;
	struct ap_analysis iv;
	uint64_t iv_traces = 0, iv_total = 0;
	char *a, *b;
	int ok;

	ap_keep_default(&k);
	k.max_traces = 30;
	k.max_per_root = 8;
	k.token_threshold = 5000;
	CU_ASSERT_FATAL(gen_init(&one, &k) == 0 && gen_init(&run, &k) == 0);
	ok = ap_analysis_init(&iv, &run.names, &run.clock, &run.rules, NULL, 0, &k) == 0;
	CU_ASSERT_FATAL(ok);
	iv.retain_too = &run.a;
	run.feed = &iv;
	for (uint32_t i = 0; i < 3000; i++) {
		uint64_t name = 1000 + i % 7, dur = 1000000 + (i * 7919u) % 5000000;
		uint32_t n = 2 + i % 9, tokens = i % 13 == 0 ? 6000 + i : (i % 3 ? 100 : 0);
		int trunc = i % 97 == 0;

		trace(&one, name, dur, n, tokens, trunc);
		trace(&run, name, dur, n, tokens, trunc);
		if (i % 211 == 210 || i == 2999) {
			iv_traces += iv.traces;
			iv_total += iv.spans_in_trees;
			CU_ASSERT_EQUAL(ap_analysis_merge(&run.a, &iv), 0);
			ap_analysis_free(&iv);
			CU_ASSERT_FATAL(ap_analysis_init(&iv, &run.names, &run.clock, &run.rules, NULL, 0, &k) == 0);
			iv.retain_too = &run.a;
		}
	}
	CU_ASSERT_EQUAL(iv_traces, 3000);
	CU_ASSERT_EQUAL(run.a.traces, 3000);
	CU_ASSERT_EQUAL(run.a.spans_in_trees, iv_total);
	CU_ASSERT(run.a.nkept > 0);
	a = report_of(&one.a);
	b = report_of(&run.a);
	CU_ASSERT_FATAL(a && b);
	CU_ASSERT(strlen(a) > 2000);
	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
	ap_analysis_free(&iv);
	gen_free(&one);
	gen_free(&run);
}

/* Fewer traces than the caps: every one is kept, also those a slower trace
 * pushed out of the slowest rule (they move to the reservoir). */
static void test_short_run_keeps_all(void)
{
	struct gen g;

	CU_ASSERT_FATAL(gen_init(&g, NULL) == 0);
	for (uint32_t i = 0; i < 12; i++)
		trace(&g, 500, 1000000 + 100000 * i, 3, 0, 0);	/* each slower than the last */
	CU_ASSERT_EQUAL(g.a.nkept, 12);
	CU_ASSERT_EQUAL(g.a.kept_by[AP_KEEP_SLOWEST], 5);
	CU_ASSERT_EQUAL(g.a.kept_by[AP_KEEP_RESERVOIR], 7);
	check_caps(&g);
	gen_free(&g);
}

void t_register_retain(void)
{
	CU_pSuite s = CU_add_suite("retain", NULL, NULL);

	CU_add_test(s, "caps hold with 10x their size offered", test_caps_hold_at_ten_times);
	CU_add_test(s, "tail rules keep the known slowest, truncated, heaviest", test_tail_rules_keep_known);
	CU_add_test(s, "reservoir is uniform (chi-square, fixed seed)", test_reservoir_uniform);
	CU_add_test(s, "same seed, same kept set", test_same_seed_same_set);
	CU_add_test(s, "keep none; oversized trace analysed, not kept", test_keep_none_and_oversized);
	CU_add_test(s, "intervals folded into the run equal one pass", test_intervals_fold_into_the_run);
	CU_add_test(s, "a run shorter than the caps keeps every trace", test_short_run_keeps_all);
}
