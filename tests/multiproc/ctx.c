/* SPDX-License-Identifier: MIT */
/*
 * ctx.c - explicit contexts and error status, through a real segment and
 * reader.
 *
 *  - ap_ctx_parse / ap_ctx_traceparent: a round trip, and malformed text
 *    refused.
 *  - One thread interleaving spans as asyncio does (three tasks under one
 *    parent, ended out of order): each span nests under the context it was
 *    begun with, never under the thread's stack; ap_current() stays 0.
 *  - ap_ctx_push makes ap_begin (C code called from a runtime) nest under a
 *    context; ap_ctx_pop stops it.
 *  - ap_set_error: the reader counts the errors per operation and per trace,
 *    names them on the span, keeps the failed trace by the error rule, and
 *    the error_rate rule flags the operation over its threshold.
 *  - fork: a context span and an ap_begin_async span open at the fork are
 *    ended in the child and in the parent: each is recorded once, and the
 *    child's span nests under the parent's.
 *  - ap_begin_async with no parent under $TRACEPARENT nests under it.
 *  - Errors from three forked workers under one coordinator span: exact
 *    counts per operation, one error for a span marked twice, the
 *    inherited span ended once, the failed trace kept by the error rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"

static void test_parse_roundtrip(void)
{
	static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	struct ap_ctx c;
	char out[56];

	CU_ASSERT_EQUAL(ap_ctx_parse(tp, &c), 0);
	CU_ASSERT_EQUAL(c.trace_hi, 0x4bf92f3577b34da6ull);
	CU_ASSERT_EQUAL(c.trace_lo, 0xa3ce929d0e0e4736ull);
	CU_ASSERT_EQUAL(c.span, 0x00f067aa0ba902b7ull);
	CU_ASSERT_EQUAL(c.flags, AP_CTX_REMOTE | AP_CTX_SAMPLED);
	CU_ASSERT_EQUAL(c.pid, 0);
	CU_ASSERT_EQUAL(ap_ctx_traceparent(&c, out), 0);
	CU_ASSERT_STRING_EQUAL(out, tp);
	CU_ASSERT_EQUAL(ap_ctx_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c), 0);
	CU_ASSERT_EQUAL(c.flags, AP_CTX_REMOTE);
	CU_ASSERT_EQUAL(ap_ctx_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", &c), AP_E_BADCTX);
	CU_ASSERT_EQUAL(c.span, 0);
	CU_ASSERT_EQUAL(ap_ctx_parse(NULL, &c), AP_E_BADCTX);
	CU_ASSERT_EQUAL(ap_ctx_traceparent(NULL, out), ap_enabled() ? AP_E_NOSPAN : AP_E_OFF);
	CU_ASSERT_NOT_EQUAL(strcmp(ap_strerror(AP_E_BADCTX), ap_strerror(AP_E_DEPTH)), 0);
}

/* What the interleaving worker tells the test. */
struct inter_rep {
	uint64_t root, task[3], llm[3], pushed_c, after_pop, current_during, self;
	char root_tp[56];
	struct ap_ctx rootc;
};

static int interleave_worker(void *arg)
{
	struct t_job *job = arg;
	struct inter_rep rep;
	struct ap_ctx root, task[3], llm[3];
	uint64_t n_task = ap_name("task"), n_llm = ap_name("llm:call"), n_c = ap_name("c:inner");

	memset(&rep, 0, sizeof(rep));
	rep.self = (uint64_t)getpid();
	if (ap_attach(job->seg) != 0)
		return 2;
	rep.root = ap_begin_ctx(NULL, ap_name("workflow"), AP_CAT_INTERNAL, &root);
	rep.rootc = root;
	if (ap_ctx_traceparent(&root, rep.root_tp) != 0)
		return 3;
	/* Three "tasks" start, each begins its LLM call, and they resume in
	 * another order than they started: nothing nests by time. */
	for (int i = 0; i < 3; i++)
		rep.task[i] = ap_begin_ctx(&root, n_task, AP_CAT_INTERNAL, &task[i]);
	for (int i = 2; i >= 0; i--)
		rep.llm[i] = ap_begin_ctx(&task[i], n_llm, AP_CAT_LLM, &llm[i]);
	rep.current_during = ap_current();
	ap_set_tokens(rep.llm[1], ap_name("gpt-4o"), 1000, 10);
	ap_set_error(rep.llm[1], ap_name("TimeoutError"));
	ap_end_ctx(&llm[1]);
	ap_end_ctx(&task[1]);
	ap_end_ctx(&llm[0]);
	/* C code called from task 2: its thread-stack span nests under it. */
	if (ap_ctx_push(&llm[2]) != 0)
		return 4;
	rep.pushed_c = ap_begin(n_c, AP_CAT_TOOL);
	ap_end(rep.pushed_c);
	ap_ctx_pop(&llm[2]);
	rep.after_pop = ap_current();
	ap_end_ctx(&llm[2]);
	ap_end_ctx(&task[2]);
	ap_end_ctx(&task[0]);
	ap_end_ctx(&root);
	ap_end_ctx(&root);	/* the caller's bug: recorded, the reader counts a duplicate */
	return t_job_write(job, &rep, sizeof(rep)) ? 5 : 0;
}

static void test_interleaved_contexts(void)
{
	struct t_reader r;
	struct inter_rep rep;
	const struct ap_span *s;
	char tp[64];

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, interleave_worker, &rep, sizeof(rep)), 0);
	CU_ASSERT_EQUAL(rep.current_during, 0);	/* contexts never touch the thread's stack */
	CU_ASSERT_EQUAL(rep.after_pop, 0);
	CU_ASSERT_EQUAL(rep.rootc.span, rep.root);
	CU_ASSERT_EQUAL(rep.rootc.flags, AP_CTX_SAMPLED);
	CU_ASSERT_EQUAL(rep.rootc.pid, (uint32_t)rep.self);
	snprintf(tp, sizeof(tp), "00-%016llx%016llx-%016llx-01", (unsigned long long)rep.rootc.trace_hi,
		 (unsigned long long)rep.rootc.trace_lo, (unsigned long long)rep.root);
	CU_ASSERT_STRING_EQUAL(rep.root_tp, tp);

	s = ap_spans_find(&r.spans, rep.root);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->parent, 0);
	for (int i = 0; i < 3; i++) {
		s = ap_spans_find(&r.spans, rep.task[i]);
		CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT_EQUAL(s->parent, rep.root);
		CU_ASSERT_EQUAL(s->trace_lo, rep.rootc.trace_lo);
		CU_ASSERT(s->flags & AP_EVF_EXPLICIT_PARENT);
		s = ap_spans_find(&r.spans, rep.llm[i]);
		CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT_EQUAL(s->parent, rep.task[i]);
		CU_ASSERT_EQUAL(!!(s->have & AP_SPAN_HAVE_ERROR), i == 1);
	}
	s = ap_spans_find(&r.spans, rep.pushed_c);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->parent, rep.llm[2]);
	CU_ASSERT_EQUAL(s->trace_lo, rep.rootc.trace_lo);
	/* One trace of 8 spans, 1 error, the second END of the root a duplicate. */
	CU_ASSERT_EQUAL(r.analysis.traces, 1);
	CU_ASSERT_EQUAL(r.analysis.spans_in_trees, 8);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	CU_ASSERT_EQUAL(r.counts.complete, 8);
	CU_ASSERT_EQUAL(r.as.errors, 1);
	CU_ASSERT_EQUAL(r.analysis.errors, 1);
	CU_ASSERT_EQUAL(r.analysis.traces_failed, 1);
	CU_ASSERT_EQUAL(r.analysis.kept_by[AP_KEEP_ERROR], 1);
	for (uint32_t i = 0; i < r.analysis.nops; i++) {
		const struct ap_op *op = &r.analysis.ops[i];

		if (op->name == ap_name("llm:call")) {
			CU_ASSERT_EQUAL(op->count, 3);
			CU_ASSERT_EQUAL(op->errors, 1);
			CU_ASSERT_EQUAL(op->input_tokens, 1000);
		} else {
			CU_ASSERT_EQUAL(op->errors, 0);
		}
	}
	/* 1 in 3 is over error_pct's default of 10%. */
	{
		int flagged = 0;

		for (uint32_t i = 0; i < r.analysis.nfindings; i++)
			if (strcmp(r.analysis.findings[i].rule, "error_rate") == 0) {
				flagged++;
				CU_ASSERT_STRING_EQUAL(r.analysis.findings[i].span, "llm:call");
			}
		CU_ASSERT_EQUAL(flagged, 1);
	}
	{
		uint32_t idx;
		const struct ap_kept *k = ap_analysis_find(&r.analysis, rep.llm[1], &idx);

		CU_ASSERT_FATAL(k != NULL);
		CU_ASSERT_EQUAL(k->rule, AP_KEEP_ERROR);
		CU_ASSERT_EQUAL(k->v[idx].error, ap_name("TimeoutError"));
	}
	CU_ASSERT_EQUAL(r.as.duplicate_end, 1);
	t_reader_close(&r);
}

/* Fork with spans open: the child ends them too; each is recorded once. */
struct fork_rep {
	uint64_t pctx, pasync, child, child_async, pid, self;	/* pid: the child's; self: the worker's */
};

static int fork_worker(void *arg)
{
	struct t_job *job = arg;
	struct fork_rep rep;
	struct ap_ctx p, c;
	pid_t pid;

	memset(&rep, 0, sizeof(rep));
	if (ap_attach(job->seg) != 0)
		return 2;
	rep.pctx = ap_begin_ctx(NULL, ap_name("fork:ctx"), AP_CAT_INTERNAL, &p);
	rep.pasync = ap_begin_async(0, ap_name("fork:async"), AP_CAT_INTERNAL);
	pid = fork();
	if (pid == 0) {
		struct fork_rep crep = { 0 };

		crep.child = ap_begin_ctx(&p, ap_name("fork:child"), AP_CAT_TOOL, &c);
		crep.child_async = ap_begin_async(rep.pasync, ap_name("fork:child_async"), AP_CAT_TOOL);
		ap_end(crep.child_async);
		ap_end_ctx(&c);
		ap_end_ctx(&p);		/* inherited: the parent records it */
		ap_end(rep.pasync);	/* inherited, not on the stack: likewise */
		_exit(t_job_write(job, &crep, sizeof(crep)) ? 4 : 0);
	}
	if (t_wait(pid) != 0)
		return 5;
	ap_end(rep.pasync);
	ap_end_ctx(&p);
	rep.pid = (uint64_t)pid;
	rep.self = (uint64_t)getpid();
	return t_job_write(job, &rep, sizeof(rep)) ? 6 : 0;
}

static void test_fork_ends_once(void)
{
	struct t_reader r;
	struct fork_rep rep[2];	/* the child's, then the parent's: both in the pipe once it ended */
	const struct fork_rep *crep = &rep[0], *prep = &rep[1];
	const struct ap_span *s;
	uint32_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, fork_worker, rep, sizeof(rep)), 0);
	pid = (uint32_t)prep->self;
	s = ap_spans_find(&r.spans, crep->child);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->parent, prep->pctx);
	CU_ASSERT_EQUAL(s->pid, (uint32_t)prep->pid);
	s = ap_spans_find(&r.spans, crep->child_async);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->parent, prep->pasync);
	s = ap_spans_find(&r.spans, prep->pctx);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->pid, pid);
	CU_ASSERT_EQUAL(s->tid_end, pid);	/* ended by the parent, not the child */
	s = ap_spans_find(&r.spans, prep->pasync);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->tid_end, pid);
	CU_ASSERT_EQUAL(r.counts.complete, 4);
	CU_ASSERT_EQUAL(r.as.duplicate_end, 0);
	CU_ASSERT_EQUAL(r.as.duplicate_begin, 0);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	t_reader_close(&r);
}

/* $TRACEPARENT: ap_begin_async and ap_begin_ctx with no parent nest under
 * it; a traceparent adopted at run time is a parent too. */
static const char remote_tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
static const char runtime_tp[] = "00-11112222333344445555666677778888-00000000000000a1-01";

static int remote_worker(void *arg)
{
	struct t_job *job = arg;
	uint64_t ids[4];
	struct ap_ctx c, rt;

	setenv("TRACEPARENT", remote_tp, 1);
	if (ap_attach(job->seg) != 0)
		return 2;
	ids[0] = ap_begin_async(0, ap_name("remote:async"), AP_CAT_INTERNAL);
	ids[1] = ap_begin_ctx(NULL, ap_name("remote:ctx"), AP_CAT_INTERNAL, &c);
	if (ap_ctx_parse(runtime_tp, &rt) || ap_ctx_push(&rt))
		return 3;
	ids[2] = ap_begin(ap_name("runtime:pushed"), AP_CAT_INTERNAL);
	ap_end(ids[2]);
	ap_ctx_pop(&rt);
	ids[3] = ap_begin_ctx(&rt, ap_name("runtime:ctx"), AP_CAT_INTERNAL, &c);
	ap_end_ctx(&c);
	ap_end(ids[0]);
	ap_end(ids[1]);
	return t_job_write(job, ids, sizeof(ids)) ? 5 : 0;
}

static void test_remote_parents(void)
{
	struct t_reader r;
	uint64_t ids[4];
	const struct ap_span *s;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, remote_worker, ids, sizeof(ids)), 0);
	for (int i = 0; i < 2; i++) {
		s = ap_spans_find(&r.spans, ids[i]);
		CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT_EQUAL(s->parent, 0xb7ad6b7169203331ull);
		CU_ASSERT_EQUAL(s->trace_hi, 0x0af7651916cd43ddull);
		CU_ASSERT_EQUAL(s->trace_lo, 0x8448eb211c80319cull);
		CU_ASSERT(s->flags & AP_EVF_ROOT_REMOTE);
	}
	for (int i = 2; i < 4; i++) {
		s = ap_spans_find(&r.spans, ids[i]);
		CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT_EQUAL(s->parent, 0xa1);
		CU_ASSERT_EQUAL(s->trace_hi, 0x1111222233334444ull);
		CU_ASSERT_EQUAL(s->trace_lo, 0x5555666677778888ull);
	}
	CU_ASSERT_EQUAL(r.counts.complete, 4);
	t_reader_close(&r);
}

/* Errors from several processes at once: under one coordinator span,
 * forked worker i fails i + 1 of its 10 calls, and worker 0 also marks the
 * coordinator's span, inherited at fork, failed (twice: one error). The
 * coordinator ends its span once, after them. */
#define ERR_WORKERS	3
#define ERR_CALLS	10

static int error_worker(void *arg)
{
	const char *seg = arg;
	uint64_t op = ap_name("op:call"), why = ap_name("Timeout");
	struct ap_ctx root;

	if (ap_attach(seg) != 0)
		return 2;
	ap_begin_ctx(NULL, ap_name("coordinator"), AP_CAT_INTERNAL, &root);
	for (int w = 0; w < ERR_WORKERS; w++) {
		pid_t pid = fork();

		if (pid == 0) {
			for (int k = 0; k < ERR_CALLS; k++) {
				struct ap_ctx c;

				ap_begin_ctx(&root, op, AP_CAT_TOOL, &c);
				if (k <= w)
					ap_set_error(c.span, why);
				ap_end_ctx(&c);
			}
			if (w == 0) {
				ap_set_error(root.span, ap_name("Cancelled"));
				ap_set_error(root.span, ap_name("Cancelled"));
			}
			ap_end_ctx(&root);	/* inherited: records nothing */
			_exit(0);
		}
		if (pid < 0 || t_wait(pid) != 0)
			return 3;
	}
	ap_end_ctx(&root);
	return 0;
}

static void test_errors_across_processes(void)
{
	struct t_reader r;
	int code;
	pid_t pid;
	uint64_t want = 0;
	const struct ap_kept *k;

	for (int w = 0; w < ERR_WORKERS; w++)
		want += (uint64_t)w + 1;
	CU_ASSERT_FATAL(t_reader_open(&r, 8, 256) == 0);
	pid = t_fork(error_worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL_FATAL(code, 0);
	CU_ASSERT_EQUAL(r.drain.nprocs, 1 + ERR_WORKERS);
	CU_ASSERT_EQUAL(r.counts.complete, 1 + ERR_WORKERS * ERR_CALLS);
	CU_ASSERT_EQUAL(r.as.duplicate_end, 0);
	CU_ASSERT_EQUAL(r.as.errors, want + 1);
	CU_ASSERT_EQUAL(r.analysis.errors, want + 1);
	CU_ASSERT_EQUAL(r.analysis.traces, 1);
	CU_ASSERT_EQUAL(r.analysis.traces_failed, 1);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	for (uint32_t i = 0; i < r.analysis.nops; i++) {
		const struct ap_op *op = &r.analysis.ops[i];

		if (op->name == ap_name("op:call")) {
			CU_ASSERT_EQUAL(op->count, ERR_WORKERS * ERR_CALLS);
			CU_ASSERT_EQUAL(op->errors, want);
		} else {
			CU_ASSERT_EQUAL(op->count, 1);
			CU_ASSERT_EQUAL(op->errors, 1);
		}
	}
	k = ap_analysis_kept(&r.analysis, 0);
	CU_ASSERT_FATAL(k != NULL);
	CU_ASSERT_EQUAL(k->rule, AP_KEEP_ERROR);
	CU_ASSERT_EQUAL(k->n, 1 + ERR_WORKERS * ERR_CALLS);
	CU_ASSERT_EQUAL(k->v[k->root].error, ap_name("Cancelled"));
	t_reader_close(&r);
}

/* A re-attach keeps the process's id tag: an async span begun before it
 * and ended after it is ended (the tag marks processes, not attaches). */
static int reattach_worker(void *arg)
{
	const char *seg = arg;
	uint64_t s;
	struct ap_ctx c;

	if (ap_attach(seg) != 0)
		return 2;
	s = ap_begin_async(0, ap_name("across:async"), AP_CAT_INTERNAL);
	ap_begin_ctx(NULL, ap_name("across:ctx"), AP_CAT_INTERNAL, &c);
	if (ap_attach(seg) != 0)
		return 3;
	ap_end(s);
	ap_end_ctx(&c);
	return 0;
}

static void test_reattach_keeps_ends(void)
{
	struct t_reader r;
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	pid = t_fork(reattach_worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL_FATAL(code, 0);
	CU_ASSERT_EQUAL(r.counts.complete, 2);
	CU_ASSERT_EQUAL(r.counts.open, 0);
	CU_ASSERT_EQUAL(r.as.duplicate_end, 0);
	t_reader_close(&r);
}

/* ap_ctx_push as a fresh process's first call attaches from
 * $AGENTPROF_SHM, as a first span would, and the span begun under it nests
 * there (tp_child, exec'd: a forked child would inherit this process's
 * state). */
static int lazy_push_worker(void *arg)
{
	struct t_job *job = arg;
	const char *child = getenv("AP_TP_CHILD");

	if (!child)
		return 2;
	dup2(job->out_fd, 1);
	setenv("AGENTPROF_SHM", job->seg, 1);
	execl(child, child, "push", runtime_tp, "lazy:pushed", (char *)NULL);
	return 127;
}

static void test_push_attaches_lazily(void)
{
	struct t_reader r;
	ssize_t got = 0;
	char buf[32] = "";
	unsigned long long id = 0;
	const struct ap_span *s;

	if (!getenv("AP_TP_CHILD")) {
		CU_FAIL("AP_TP_CHILD is not set (run through make test)");
		return;
	}
	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job_upto(&r, lazy_push_worker, buf, sizeof(buf) - 1, &got), 0);
	CU_ASSERT_FATAL(got > 0);
	CU_ASSERT_FATAL(sscanf(buf, "%llx", &id) == 1);
	s = ap_spans_find(&r.spans, id);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->parent, 0xa1);
	CU_ASSERT_EQUAL(s->trace_lo, 0x5555666677778888ull);
	t_reader_close(&r);
}

void t_register_ctx(void)
{
	CU_pSuite s = CU_add_suite("ctx", NULL, NULL);

	T_ADD(s, test_parse_roundtrip);
	T_ADD(s, test_interleaved_contexts);
	T_ADD(s, test_fork_ends_once);
	T_ADD(s, test_remote_parents);
	T_ADD(s, test_errors_across_processes);
	T_ADD(s, test_reattach_keeps_ends);
	T_ADD(s, test_push_attaches_lazily);
}
