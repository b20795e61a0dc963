/* SPDX-License-Identifier: MIT */
/*
 * traceparent.c - traces that cross processes.
 *
 *  - W3C traceparent parsing: valid forms in, malformed forms refused.
 *  - A worker begins a span, passes ap_traceparent() to a program it execs
 *    through TRACEPARENT: the child's root span carries the parent's trace
 *    id and has the parent's span as parent.
 *  - A plain fork: the child's spans nest under the span that was open at
 *    the fork, and ending that inherited span in the child records nothing
 *    (the parent records it, once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "writer_internal.h"

static void test_parse(void)
{
	uint64_t hi, lo, span;
	uint8_t f;

	CU_ASSERT_EQUAL(ap_parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
					     &hi, &lo, &span, &f), 0);
	CU_ASSERT_EQUAL(hi, 0x4bf92f3577b34da6ull);
	CU_ASSERT_EQUAL(lo, 0xa3ce929d0e0e4736ull);
	CU_ASSERT_EQUAL(span, 0x00f067aa0ba902b7ull);
	CU_ASSERT_EQUAL(f, 1);
	/* A later version may append fields. */
	CU_ASSERT_EQUAL(ap_parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x",
					     &hi, &lo, &span, &f), 0);
	CU_ASSERT_EQUAL(f, 0);
	static const char *bad[] = {
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		NULL,
	};
	for (int i = 0; bad[i]; i++)
		CU_ASSERT_EQUAL(ap_parse_traceparent(bad[i], &hi, &lo, &span, &f), -1);
	CU_ASSERT_EQUAL(ap_parse_traceparent(NULL, &hi, &lo, &span, &f), -1);
}

struct tp_arg {
	const char *seg;
	int out_fd;
};

/* Report: parent's traceparent, parent span id, child's traceparent. */
struct tp_report {
	char parent_tp[56];
	char child_tp[64];
	uint64_t parent_span;
};

static int exec_parent(void *arg)
{
	struct tp_arg *a = arg;
	struct tp_report rep;
	const char *child = getenv("AP_TP_CHILD");
	int p[2];
	pid_t pid;
	ssize_t n;

	memset(&rep, 0, sizeof(rep));
	if (!child || ap_attach(a->seg) != 0)
		return 2;
	rep.parent_span = ap_begin(ap_name("tp:parent"), AP_CAT_INTERNAL);
	if (ap_traceparent(rep.parent_tp) != 0 || pipe(p) != 0)
		return 3;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		setenv("TRACEPARENT", rep.parent_tp, 1);
		setenv("AGENTPROF_SHM", a->seg, 1);
		execl(child, child, "span", "tp:child", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], rep.child_tp, sizeof(rep.child_tp) - 1);
	close(p[0]);
	if (n < 55 || t_wait(pid) != 0)
		return 4;
	ap_end(rep.parent_span);
	return write(a->out_fd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 5;
}

static void test_traceparent_across_exec(void)
{
	struct t_reader r;
	struct tp_arg a;
	struct tp_report rep;
	uint64_t phi, plo, pspan, chi, clo, cspan;
	uint8_t f;
	int fds[2], code;
	pid_t pid;
	const struct ap_span *child;

	if (!getenv("AP_TP_CHILD")) {
		CU_FAIL("AP_TP_CHILD is not set (run through make test)");
		return;
	}
	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	a.seg = r.seg.name;
	a.out_fd = fds[1];
	pid = t_fork(exec_parent, &a);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL_FATAL(code, 0);
	CU_ASSERT_FATAL(read(fds[0], &rep, sizeof(rep)) == (ssize_t)sizeof(rep));
	rep.child_tp[55] = '\0';
	CU_ASSERT_FATAL(ap_parse_traceparent(rep.parent_tp, &phi, &plo, &pspan, &f) == 0);
	CU_ASSERT_FATAL(ap_parse_traceparent(rep.child_tp, &chi, &clo, &cspan, &f) == 0);
	CU_ASSERT_EQUAL(pspan, rep.parent_span);
	/* The child's own view: same trace, its own span. */
	CU_ASSERT_EQUAL(chi, phi);
	CU_ASSERT_EQUAL(clo, plo);
	CU_ASSERT_NOT_EQUAL(cspan, pspan);
	/* The reader's view. */
	child = ap_spans_find(&r.spans, cspan);
	CU_ASSERT_FATAL(child != NULL);
	CU_ASSERT_EQUAL(child->parent, pspan);
	CU_ASSERT_EQUAL(child->trace_hi, phi);
	CU_ASSERT_EQUAL(child->trace_lo, plo);
	CU_ASSERT(child->flags & AP_EVF_ROOT_REMOTE);
	CU_ASSERT_NOT_EQUAL(child->pid, (uint32_t)pid);
	CU_ASSERT_EQUAL(r.counts.complete, 2);
	CU_ASSERT_EQUAL(r.drain.nprocs, 2);
	/* The analysis: one tree across the two processes. */
	CU_ASSERT_EQUAL(r.analysis.traces, 1);
	CU_ASSERT_EQUAL(r.analysis.traces_complete, 1);
	CU_ASSERT_EQUAL(r.analysis.spans_in_trees, 2);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	CU_ASSERT_EQUAL(r.analysis.nthreads, 2);
	{
		uint32_t ci, pi;
		const struct ap_kept *kc = ap_analysis_find(&r.analysis, cspan, &ci);
		const struct ap_kept *kp = ap_analysis_find(&r.analysis, pspan, &pi);

		CU_ASSERT_FATAL(kc != NULL && kc == kp);
		CU_ASSERT_EQUAL(kc->parent[ci], pi);
		CU_ASSERT_EQUAL(kc->root, pi);
		CU_ASSERT(kc->dur[pi] >= kc->dur[ci]);
		CU_ASSERT_NOT_EQUAL(kc->v[ci].pid, kc->v[pi].pid);
	}
	close(fds[0]);
	close(fds[1]);
	t_reader_close(&r);
}

static int fork_parent(void *arg)
{
	struct t_job *job = arg;
	uint64_t s, ids[3];
	pid_t pid;

	if (ap_attach(job->seg) != 0)
		return 2;
	s = ap_begin(ap_name("fork:parent"), AP_CAT_INTERNAL);
	pid = fork();
	if (pid == 0) {
		uint64_t c = ap_begin(ap_name("fork:child"), AP_CAT_TOOL);
		uint64_t ids_c[2] = { c, ap_current() };

		ap_end(c);
		ap_end(s);	/* inherited: recorded by the parent only */
		if (ap_current() != 0)
			_exit(3);
		_exit(t_job_write(job, ids_c, sizeof(ids_c)) ? 4 : 0);
	}
	if (t_wait(pid) != 0)
		return 5;
	ap_end(s);
	ids[0] = s;
	ids[1] = (uint64_t)pid;
	ids[2] = (uint64_t)getpid();
	return t_job_write(job, ids, sizeof(ids)) ? 6 : 0;
}

static void test_fork_nests_and_ends_once(void)
{
	struct t_reader r;
	uint64_t ids[5];	/* the child's two, then the parent's: span, child pid, own pid */
	const uint64_t *child_ids = ids, *parent_ids = ids + 2;
	const struct ap_span *c, *p;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 256) == 0);
	CU_ASSERT_EQUAL_FATAL(t_run_job(&r, fork_parent, ids, sizeof(ids)), 0);
	CU_ASSERT_EQUAL(child_ids[0], child_ids[1]);	/* ap_current() in the child */
	c = ap_spans_find(&r.spans, child_ids[0]);
	p = ap_spans_find(&r.spans, parent_ids[0]);
	CU_ASSERT_FATAL(c != NULL && p != NULL);
	CU_ASSERT_EQUAL(c->parent, p->id);
	CU_ASSERT_EQUAL(c->trace_lo, p->trace_lo);
	CU_ASSERT_EQUAL(c->pid, (uint32_t)parent_ids[1]);
	CU_ASSERT_EQUAL(p->pid, (uint32_t)parent_ids[2]);
	CU_ASSERT_EQUAL(r.counts.complete, 2);
	CU_ASSERT_EQUAL(r.as.duplicate_end, 0);
	CU_ASSERT_EQUAL(r.as.duplicate_begin, 0);
	t_reader_close(&r);
}

void t_register_traceparent(void)
{
	CU_pSuite s = CU_add_suite("traceparent", NULL, NULL);

	T_ADD(s, test_parse);
	T_ADD(s, test_traceparent_across_exec);
	T_ADD(s, test_fork_nests_and_ends_once);
}
