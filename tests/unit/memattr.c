/* SPDX-License-Identifier: MIT */
/*
 * memattr.c - a trace's share of its process's RSS changes, against the
 * rule worked out by hand (memory.h): each change between two samples goes
 * to the innermost spans open at their middle, split evenly between
 * concurrent ones, and rolls up to the parents in the same process; a span
 * shorter than the gap around it, without a sample on both sides, or
 * truncated has no figure. One trace, samples every 20 ms (1 tick = 1 ns):
 *
 *   root   [  0, 300]                          pid 1
 *     A    [ 50, 200]  thread 1  } concurrent: +600 at 100..120 split 300/300
 *     B    [ 60, 200]  thread 2  }
 *     C    [210, 290]            +400 at 240..260, and D inside it:
 *       D  [215, 225]            10 ms: not measurable (its +0 is C's)
 *     E    [295, 340]            ends after the last sample: not measurable
 *   other  [ 20,  80]  pid 2     its own process: -100 at 40..60
 *
 * Samples of pid 1 from 0 to 320 ms; RSS 1000, then 1600 from 120, 2000
 * from 260. Samples of pid 2 from 0 to 100: 500, then 400 from 60.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "helpers.h"
#include "memory.h"
#include "name.h"

#define MS 1000000ull

static const struct ap_op *op_named(const struct ap_analysis *a, const char *name)
{
	uint64_t id = ap_name_hash(name, (uint32_t)strlen(name));

	for (uint32_t i = 0; i < a->nops; i++)
		if (a->ops[i].name == id)
			return &a->ops[i];
	return NULL;
}

static struct ap_span span(uint64_t id, const char *name, uint32_t pid, uint32_t tid, uint64_t b, uint64_t e)
{
	struct ap_span s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.have = AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END;
	s.category = AP_CAT_TOOL;
	s.pid = pid;
	s.tid_begin = s.tid_end = tid;
	s.name = ap_name_hash(name, (uint32_t)strlen(name));
	s.t_begin = b * MS + 1;		/* off the sample grid by a tick */
	s.t_end = e * MS + 1;
	return s;
}

static void test_attribution_against_the_rule(void)
{
	struct ap_clock_cal c = { .source = AP_CLOCK_MONOTONIC, .mult = UINT64_C(1) << 32, .hz = 1000000000 };
	struct ap_memory m;
	struct ap_names names;
	struct ap_rules rules;
	struct ap_analysis a;
	struct ap_assembler as;
	struct ap_span v[7];
	uint32_t parent[7] = { AP_NONE, 0, 0, 0, 3, 0, AP_NONE };
	struct ap_trace_view t;
	const struct ap_kept *k;
	const struct ap_op *o;

	memset(&as, 0, sizeof(as));
	v[0] = span(1, "root", 1, 1, 0, 300);
	v[1] = span(3, "A", 1, 1, 50, 200);
	v[2] = span(5, "B", 1, 2, 60, 200);
	v[3] = span(7, "C", 1, 1, 210, 290);
	v[4] = span(9, "D", 1, 1, 215, 225);
	v[5] = span(11, "E", 1, 1, 295, 340);
	v[6] = span(13, "other", 2, 1, 20, 80);
	CU_ASSERT_FATAL(ap_mem_init(&m, 20 * MS, &c) == 0);
	for (uint64_t ms = 0; ms <= 320; ms += 20)
		ap_mem_add(&m, 1, ms * MS, ms < 120 ? 1000 : ms < 260 ? 1600 : 2000, 0);
	for (uint64_t ms = 0; ms <= 100; ms += 20)
		ap_mem_add(&m, 2, ms * MS, ms < 60 ? 500 : 400, 0);
	CU_ASSERT_FATAL(ap_names_init(&names) == 0);
	ap_rules_default(&rules);
	CU_ASSERT_FATAL(ap_analysis_init(&a, &names, &c, &rules, NULL, 0, NULL) == 0);
	a.mem = &m;
	memset(&t, 0, sizeof(t));
	t.v = v;
	t.parent = parent;
	t.n = 7;
	t.complete = 1;
	ap_analysis_add(&a, &t);
	ap_analysis_end(&a, &as);

	CU_ASSERT_FATAL(a.nkept == 1);
	k = ap_analysis_kept(&a, 0);
	CU_ASSERT_FATAL(k != NULL && k->rss != NULL);
	for (uint32_t i = 0; i < k->n; i++) {
		static const int64_t want[] = { 1000, 300, 300, 400, AP_RSS_NONE, AP_RSS_NONE, -100 };

		for (uint32_t j = 0; j < 7; j++)
			if (k->v[i].id == v[j].id)
				CU_ASSERT_EQUAL(k->rss[i], want[j]);
	}
	o = op_named(&a, "A");
	CU_ASSERT_FATAL(o && o->mem);
	CU_ASSERT_EQUAL(o->mem->measured, 1);
	CU_ASSERT_EQUAL(o->mem->total_kib, 300);
	o = op_named(&a, "D");
	CU_ASSERT_FATAL(o && o->mem);
	CU_ASSERT_EQUAL(o->mem->measured, 0);
	CU_ASSERT_EQUAL(o->mem->not_measurable, 1);
	o = op_named(&a, "E");
	CU_ASSERT_FATAL(o && o->mem);
	CU_ASSERT_EQUAL(o->mem->not_measurable, 1);
	o = op_named(&a, "root");
	CU_ASSERT_FATAL(o && o->mem);
	CU_ASSERT_EQUAL(o->mem->total_kib, 1000);

	/* Fault injected: the same trace where pid 2 has no series at all is
	 * not measured there, and changes nothing in pid 1. */
	{
		struct ap_analysis b;
		struct ap_memory m1;

		CU_ASSERT_FATAL(ap_mem_init(&m1, 20 * MS, &c) == 0);
		for (uint64_t ms = 0; ms <= 320; ms += 20)
			ap_mem_add(&m1, 1, ms * MS, ms < 120 ? 1000 : ms < 260 ? 1600 : 2000, 0);
		CU_ASSERT_FATAL(ap_analysis_init(&b, &names, &c, &rules, NULL, 0, NULL) == 0);
		b.mem = &m1;
		ap_analysis_add(&b, &t);
		ap_analysis_end(&b, &as);
		o = op_named(&b, "other");
		CU_ASSERT_FATAL(o && o->mem);
		CU_ASSERT_EQUAL(o->mem->measured, 0);
		o = op_named(&b, "root");
		CU_ASSERT_EQUAL(o->mem->total_kib, 1000);
		ap_analysis_free(&b);
		ap_mem_free(&m1);
	}
	ap_analysis_free(&a);
	ap_names_free(&names);
	ap_mem_free(&m);
}

/* Held traces wait for a round past their end, in order; a full hold
 * releases what it holds first and counts it. */
static uint64_t got[8];
static uint32_t ngot;

static void collect(void *ctx, const struct ap_trace_view *tv)
{
	(void)ctx;
	if (ngot < 8)
		got[ngot++] = tv->v[0].id;
}

static void test_hold_until_sampled_past(void)
{
	static struct ap_span sp[3];
	uint32_t parent[1] = { AP_NONE };
	struct ap_mem_hold h;
	struct ap_trace_view t;

	memset(&h, 0, sizeof(h));
	ngot = 0;
	/* Ends at 5, 45 and 25 ms. */
	sp[0] = span(1, "x", 1, 1, 0, 5);
	sp[1] = span(3, "x", 1, 1, 10, 45);
	sp[2] = span(5, "x", 1, 1, 20, 25);
	memset(&t, 0, sizeof(t));
	t.parent = parent;
	t.n = 1;
	for (int i = 0; i < 3; i++) {
		t.v = &sp[i];
		ap_mem_hold(&h, &t, collect, NULL);
	}
	CU_ASSERT_EQUAL(ngot, 0);
	ap_mem_release(&h, 30 * MS, collect, NULL);	/* a round at 30 ms */
	CU_ASSERT_EQUAL(ngot, 2);
	CU_ASSERT_EQUAL(got[0], 1);
	CU_ASSERT_EQUAL(got[1], 5);
	CU_ASSERT_EQUAL(h.nwaiting, 1);	/* still held: the one that ends at 45 */
	CU_ASSERT_EQUAL(h.nwait, 1);
	ap_mem_release(&h, 50 * MS, collect, NULL);
	CU_ASSERT_EQUAL(ngot, 3);
	CU_ASSERT_EQUAL(got[2], 3);
	CU_ASSERT_EQUAL(h.nwaiting, 0);
	CU_ASSERT_EQUAL(h.bank[0].nt + h.bank[1].nt, 0);	/* both banks empty */
	/* A full hold: the next trace releases the held ones first, counted. */
	{
		struct ap_span *big = calloc(AP_MEM_HOLD_SPANS, sizeof(*big));
		uint32_t *bp = malloc(AP_MEM_HOLD_SPANS * sizeof(*bp));

		CU_ASSERT_FATAL(big && bp);
		for (uint32_t i = 0; i < AP_MEM_HOLD_SPANS; i++) {
			big[i] = span(7, "x", 1, 1, 60, 70);
			bp[i] = AP_NONE;
		}
		t.v = big;
		t.parent = bp;
		t.n = AP_MEM_HOLD_SPANS;
		ap_mem_hold(&h, &t, collect, NULL);
		CU_ASSERT_EQUAL(h.nwait, AP_MEM_HOLD_SPANS);
		t.v = &sp[0];
		t.parent = parent;
		t.n = 1;
		ap_mem_hold(&h, &t, collect, NULL);
		CU_ASSERT_EQUAL(ngot, 4);
		CU_ASSERT_EQUAL(got[3], 7);
		CU_ASSERT_EQUAL(h.released_early, 1);
		CU_ASSERT_EQUAL(h.nwaiting, 1);
		CU_ASSERT_EQUAL(h.bank[0].nv + h.bank[1].nv, 1);
		CU_ASSERT_EQUAL(h.nwait, 1);
		free(big);
		free(bp);
	}
	ap_mem_hold_free(&h);
}

/*
 * The live reader hands a round's traces on a share at a time (ap_mem_ready,
 * then ap_mem_step between drain passes); a replay hands them on at once
 * (ap_mem_release). Against that model, over a seeded mix of traces held,
 * rounds, steps of any size, full holds and traces too large to hold: the
 * same traces in the same order, and the same count released early.
 */
struct seq {
	uint64_t *id;
	uint32_t n, cap;
	uint32_t bad;		/* traces whose spans, parents or dependencies were not their own */
};

static void record(void *ctx, const struct ap_trace_view *tv)
{
	struct seq *q = ctx;

	for (uint32_t i = 0; i < tv->n; i++)
		q->bad += tv->v[i].id != tv->v[0].id || tv->parent[i] != (i ? 0 : AP_NONE);
	for (uint32_t j = 0; j < tv->ndeps; j++)
		q->bad += tv->deps[j].span != tv->v[0].id || tv->deps[j].on_span != j;
	if (q->n < q->cap)
		q->id[q->n++] = tv->v[0].id;
}

static uint64_t mix_next(uint64_t *x)
{
	*x += UINT64_C(0x9e3779b97f4a7c15);
	return ap_mix64(*x);
}

/* The hold's rule, written plainly (memory.h): traces in arrival order; a
 * round hands on those that ended by it; a trace that would take the spans
 * waiting past the cap first hands on every one held (counted early); one
 * larger than the cap goes at once. Both holds must hand on what it does. */
struct hold_model {
	uint64_t *id, *end, *out;
	uint32_t *n, len, nout, nwait;
	uint64_t early;
};

static void model_round(struct hold_model *m, uint64_t ticks)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < m->len; i++) {
		if (m->end[i] <= ticks) {
			m->out[m->nout++] = m->id[i];
			m->nwait -= m->n[i];
			continue;
		}
		m->id[j] = m->id[i];
		m->end[j] = m->end[i];
		m->n[j++] = m->n[i];
	}
	m->len = j;
}

static void model_hold(struct hold_model *m, uint64_t id, uint64_t end, uint32_t n)
{
	if (n > AP_MEM_HOLD_SPANS) {
		m->out[m->nout++] = id;
		return;
	}
	if (m->nwait + n > AP_MEM_HOLD_SPANS) {
		m->early += m->len;
		model_round(m, UINT64_MAX);
	}
	m->id[m->len] = id;
	m->end[m->len] = end;
	m->n[m->len++] = n;
	m->nwait += n;
}

static void test_hold_in_steps_as_at_once(void)
{
	enum { BIG = AP_MEM_HOLD_SPANS + 1, TRACES = 6000 };
	struct ap_dep deps[3];
	struct ap_span *sp = calloc(BIG, sizeof(*sp));
	uint32_t *parent = malloc(BIG * sizeof(*parent));
	struct seq a = { calloc(TRACES, 8), 0, TRACES, 0 }, b = { calloc(TRACES, 8), 0, TRACES, 0 };
	struct ap_mem_hold ha, hb;
	struct hold_model m = { calloc(TRACES, 8), calloc(TRACES, 8), calloc(TRACES, 8), calloc(TRACES, 4), 0, 0, 0, 0 };
	uint64_t x = 7, clock = 1000, id = 1;
	uint32_t steps_left_ready = 0, early_rounds = 0, bigs = 0;

	CU_ASSERT_FATAL(sp && parent && a.id && b.id && m.id && m.end && m.out && m.n);
	memset(&ha, 0, sizeof(ha));
	memset(&hb, 0, sizeof(hb));
	for (uint32_t i = 0; i < BIG; i++)
		parent[i] = i ? 0 : AP_NONE;
	for (uint32_t k = 0; k < TRACES; k++) {
		uint64_t r = mix_next(&x) % 100;
		struct ap_trace_view t;
		uint32_t n = 1 + (uint32_t)(mix_next(&x) % 3);

		if (r < 3)
			n = 20000;		/* four of these fill the hold */
		else if (r == 3 && mix_next(&x) % 4 == 0) {
			n = BIG;		/* too large to hold: handed on at once */
			bigs++;
		}
		uint64_t end = 0;

		for (uint32_t i = 0; i < n; i++) {
			sp[i] = span(id, "x", 1, 1, 0, 0);
			sp[i].t_begin = clock;
			sp[i].t_end = clock + mix_next(&x) % 40;	/* some end after the next round */
			end = sp[i].t_end > end ? sp[i].t_end : end;
		}
		model_hold(&m, sp[0].id, end, n);
		id += 2;
		memset(&t, 0, sizeof(t));
		t.v = sp;
		t.parent = parent;
		t.n = n;
		t.complete = 1;
		t.ndeps = (uint32_t)(mix_next(&x) % 4);
		for (uint32_t j = 0; j < t.ndeps; j++)
			deps[j] = (struct ap_dep){ sp[0].id, j };
		t.deps = t.ndeps ? deps : NULL;
		ap_mem_hold(&ha, &t, record, &a);
		ap_mem_hold(&hb, &t, record, &b);
		clock += 3;
		if (mix_next(&x) % 64 == 0) {	/* a round */
			early_rounds += ha.nready != 0;
			ap_mem_ready(&ha, clock, record, &a);
			ap_mem_release(&hb, clock, record, &b);
			model_round(&m, clock);
		}
		if (mix_next(&x) % 3 == 0)	/* a share between two drain passes */
			steps_left_ready += ap_mem_step(&ha, (uint32_t)(mix_next(&x) % 6), record, &a) != 0;
		CU_ASSERT_FATAL(ha.nwait <= AP_MEM_HOLD_SPANS);
	}
	ap_mem_release(&ha, UINT64_MAX, record, &a);
	ap_mem_release(&hb, UINT64_MAX, record, &b);
	model_round(&m, UINT64_MAX);
	CU_ASSERT(steps_left_ready > 100);	/* the steps did leave work for later */
	CU_ASSERT(early_rounds > 10);		/* and rounds came with some still ready */
	CU_ASSERT(hb.released_early > 0);	/* the hold did fill */
	CU_ASSERT(bigs > 0);			/* and a trace too large to hold came */
	CU_ASSERT_EQUAL(a.bad + b.bad, 0);
	CU_ASSERT_EQUAL(a.n, TRACES);
	CU_ASSERT_EQUAL(b.n, TRACES);
	CU_ASSERT_EQUAL(ha.released_early, hb.released_early);
	CU_ASSERT_EQUAL(m.nout, TRACES);
	CU_ASSERT_EQUAL(hb.released_early, m.early);
	CU_ASSERT(memcmp(a.id, m.out, TRACES * sizeof(uint64_t)) == 0);	/* in steps */
	CU_ASSERT(memcmp(b.id, m.out, TRACES * sizeof(uint64_t)) == 0);	/* at once */
	CU_ASSERT_EQUAL(ha.bank[0].nt + ha.bank[1].nt + ha.nready + ha.nwait + ha.nwaiting, 0);
	ap_mem_hold_free(&ha);
	ap_mem_hold_free(&hb);
	free(a.id);
	free(b.id);
	free(m.id);
	free(m.end);
	free(m.out);
	free(m.n);
	free(sp);
	free(parent);
}

void t_register_memattr(void)
{
	CU_pSuite s = CU_add_suite("memattr", NULL, NULL);

	T_ADD(s, test_attribution_against_the_rule);
	T_ADD(s, test_hold_until_sampled_past);
	T_ADD(s, test_hold_in_steps_as_at_once);
}
