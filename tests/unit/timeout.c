/* SPDX-License-Identifier: MIT */
/*
 * timeout.c - the trace timeout in the assembler, against exact
 * expectations: a trace with no event since the cutoff is handed on as
 * incomplete with its open spans ending at its last event; a complete trace
 * is never timed out; every later event of a timed-out trace (an END, a
 * TOKENS, a BEGIN under one of its spans, and that child's own END) is
 * counted late and opens nothing; and a steady stream of traces that never
 * complete (workers that die mid-trace) keeps the spans in flight under the
 * bound README states, whatever the length of the run.
 */
#include <stdlib.h>
#include <string.h>

#include "assemble.h"
#include "helpers.h"

struct seen {
	uint64_t traces, complete, incomplete, spans, open;
	uint64_t root_end;	/* t_end handed on for span 1 */
};

static void collect(void *ctx, const struct ap_trace_view *t)
{
	struct seen *s = ctx;

	s->traces++;
	if (t->complete)
		s->complete++;
	else
		s->incomplete++;
	for (uint32_t i = 0; i < t->n; i++) {
		s->spans++;
		if (!(t->v[i].have & AP_SPAN_HAVE_END))
			s->open++;
		if (t->v[i].id == 1)
			s->root_end = t->v[i].t_end;
	}
}

static void ev(struct ap_assembler *as, uint8_t kind, uint64_t id, uint64_t parent, uint64_t ts)
{
	struct ap_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts = ts;
	e.span_id = id;
	e.tid = 7;
	if (kind == AP_EV_BEGIN)
		e.u.begin.parent_id = parent;
	if (kind == AP_EV_TOKENS) {
		e.u.tokens.model_id = 42;
		e.u.tokens.input_tokens = 10;
	}
	CU_ASSERT_EQUAL(ap_asm_event(as, 100, &e), 0);
}

static void test_timed_out_trace_and_late_events(void)
{
	struct ap_assembler as;
	struct seen s;

	memset(&s, 0, sizeof(s));
	CU_ASSERT_FATAL(ap_asm_init(&as, 1024, collect, &s) == 0);
	/* A: root 1 open, child 3 [110, 120]. B: root 5 [200, 300], complete. */
	ev(&as, AP_EV_BEGIN, 1, 0, 100);
	ev(&as, AP_EV_BEGIN, 3, 1, 110);
	ev(&as, AP_EV_END, 3, 0, 120);
	ev(&as, AP_EV_BEGIN, 5, 0, 200);
	ev(&as, AP_EV_END, 5, 0, 300);
	/* Nothing is older than 100: nothing expires. */
	CU_ASSERT_EQUAL(ap_asm_expire(&as, 100), 0);
	CU_ASSERT_EQUAL(s.complete, 1);		/* B, by the flush inside */
	CU_ASSERT_EQUAL(ap_asm_in_flight(&as), 2);
	/* A's last event was at 120: a cutoff of 121 hands it on. */
	CU_ASSERT_EQUAL(ap_asm_expire(&as, 121), 1);
	CU_ASSERT_EQUAL(as.traces_timed_out, 1);
	CU_ASSERT_EQUAL(s.incomplete, 1);
	CU_ASSERT_EQUAL(s.open, 1);
	CU_ASSERT_EQUAL(s.root_end, 120);	/* truncated at the trace's last event */
	CU_ASSERT_EQUAL(ap_asm_in_flight(&as), 0);
	/* Late: the root's END, TOKENS on it, a child BEGIN under the
	 * timed-out child 3, and that child's END. */
	ev(&as, AP_EV_END, 1, 0, 500);
	ev(&as, AP_EV_TOKENS, 1, 0, 501);
	ev(&as, AP_EV_BEGIN, 9, 3, 510);
	ev(&as, AP_EV_END, 9, 0, 520);
	CU_ASSERT_EQUAL(as.late_events, 4);
	CU_ASSERT_EQUAL(ap_asm_in_flight(&as), 0);	/* nothing re-opened */
	/* An unrelated new trace is still a trace. */
	ev(&as, AP_EV_BEGIN, 11, 0, 600);
	ev(&as, AP_EV_END, 11, 0, 700);
	ap_asm_finish(&as);
	CU_ASSERT_EQUAL(s.complete, 2);
	CU_ASSERT_EQUAL(s.incomplete, 1);
	CU_ASSERT_EQUAL(as.end_without_begin, 0);
	CU_ASSERT_EQUAL(as.traces_timed_out, 1);
	CU_ASSERT_EQUAL(as.late_events, 4);
	ap_asm_free(&as);
}

/* A trace whose events keep coming is never timed out, however old its root. */
static void test_active_trace_kept(void)
{
	struct ap_assembler as;
	struct seen s;

	memset(&s, 0, sizeof(s));
	CU_ASSERT_FATAL(ap_asm_init(&as, 1024, collect, &s) == 0);
	ev(&as, AP_EV_BEGIN, 1, 0, 100);
	for (uint64_t k = 0; k < 50; k++) {
		ev(&as, AP_EV_BEGIN, 3 + 2 * k, 1, 1000 * (k + 1));
		ev(&as, AP_EV_END, 3 + 2 * k, 0, 1000 * (k + 1) + 10);
		CU_ASSERT_EQUAL(ap_asm_expire(&as, 1000 * (k + 1) - 500), 0);
	}
	ev(&as, AP_EV_END, 1, 0, 60000);
	ap_asm_flush(&as);
	CU_ASSERT_EQUAL(s.complete, 1);
	CU_ASSERT_EQUAL(s.spans, 51);
	CU_ASSERT_EQUAL(as.traces_timed_out, 0);
	ap_asm_free(&as);
}

/*
 * A fleet whose workers die mid-trace at a steady rate: every 10 us of
 * event time one trace of 4 spans (a root and 3 children, 2 left open)
 * begins and never completes. With a timeout T of 50 ms checked every
 * step of T/8, a trace is handed on at most T + step after its last event,
 * so at most (T + step) / 10 us + 1 traces are in flight: spans in flight
 * <= 4 x that, whatever the length of the run (here 200,000 traces).
 */
static void test_memory_bound_dying_workers(void)
{
	const uint64_t period = 10000, timeout = 50000000, step = timeout / 8;
	const uint64_t n = 200000, bound = 4 * ((timeout + step) / period + 1);
	struct ap_assembler as;
	struct seen s;
	uint64_t next_check = 0, peak = 0;

	memset(&s, 0, sizeof(s));
	CU_ASSERT_FATAL(ap_asm_init(&as, 1u << 20, collect, &s) == 0);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t t = 1000000000ull + k * period, id = 1 + 8 * k;

		ev(&as, AP_EV_BEGIN, id, 0, t);
		ev(&as, AP_EV_BEGIN, id + 2, id, t + 1);
		ev(&as, AP_EV_END, id + 2, 0, t + 2);
		ev(&as, AP_EV_BEGIN, id + 4, id, t + 3);
		ev(&as, AP_EV_BEGIN, id + 6, id + 4, t + 4);
		if (ap_asm_in_flight(&as) > peak)
			peak = ap_asm_in_flight(&as);
		if (t >= next_check) {
			ap_asm_expire(&as, t - timeout);
			next_check = t + step;
		}
	}
	CU_ASSERT(peak <= bound);
	CU_ASSERT(peak >= 4 * (timeout / period));	/* the bound is not loose by much */
	/* Both generations of remembered ids stay within their cap. */
	CU_ASSERT(as.expired[0].n <= AP_EXPIRED_IDS && as.expired[1].n <= AP_EXPIRED_IDS);
	ap_asm_finish(&as);
	/* Every trace handed on exactly once: by the timeout or at the end. */
	CU_ASSERT_EQUAL(as.traces_incomplete, n);	/* timed out or at the end */
	CU_ASSERT_EQUAL(s.traces, n);
	CU_ASSERT(as.traces_timed_out >= n - (timeout + step) / period - 1);
	CU_ASSERT_EQUAL(s.open, 3 * n);		/* root, the middle child, the grandchild */
	CU_ASSERT_EQUAL(s.spans, 4 * n);
	CU_ASSERT_EQUAL(as.late_events, 0);
	ap_asm_free(&as);
}

void t_register_timeout(void)
{
	CU_pSuite s = CU_add_suite("timeout", NULL, NULL);

	T_ADD(s, test_timed_out_trace_and_late_events);
	T_ADD(s, test_active_trace_kept);
	T_ADD(s, test_memory_bound_dying_workers);
}
