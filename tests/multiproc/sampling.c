/* SPDX-License-Identifier: MIT */
/*
 * sampling.c - head sampling ($AGENTPROF_SAMPLE): decided once per trace,
 * followed by every span under its root and by processes started under
 * $TRACEPARENT; a trace not sampled writes nothing at all.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"

struct s_arg {
	const char *seg;
	int out_fd;
};

/* Rate 0: spans nest and return ids, nothing is written. */
static int zero_worker(void *arg)
{
	struct s_arg *a = arg;
	uint64_t root_name, child_name, model;
	char tp[56];

	setenv("AGENTPROF_SAMPLE", "0", 1);
	if (ap_attach(a->seg) != 0)
		return 2;
	root_name = ap_name("sample:root");
	child_name = ap_name("sample:child");
	model = ap_name("gpt-4o");
	for (int i = 0; i < 1000; i++) {
		uint64_t r = ap_begin(root_name, AP_CAT_INTERNAL);
		uint64_t c = ap_begin(child_name, AP_CAT_LLM);
		uint64_t c2 = ap_begin_child(r, child_name, AP_CAT_TOOL);

		if (r == 0 || c == 0 || (r & 1) || (c & 1) || (c2 & 1) || ap_current() != c2)
			return 3;
		ap_set_tokens(c, model, 10, 2);
		ap_end(c2);
		ap_depends(c2, c);
		if (ap_traceparent(tp) != 0 || strcmp(tp + 52, "-00") != 0)
			return 4;
		ap_end(c);
		ap_end(r);
		if (ap_current() != 0)
			return 5;
	}
	return 0;
}

static void test_rate_zero_writes_nothing(void)
{
	struct t_reader r;
	struct s_arg a;
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 1024) == 0);
	a.seg = r.seg.name;
	pid = t_fork(zero_worker, &a);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT_EQUAL(r.as.begins + r.as.ends + r.as.tokens + r.as.depends, 0);
	CU_ASSERT_EQUAL(r.counts.complete + r.counts.open + r.counts.unmatched_end, 0);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	CU_ASSERT_EQUAL(r.tot.dropped_full + r.tot.dropped_no_lane + r.tot.dropped_reentrant, 0);
	t_reader_close(&r);
}

static int bad_rate_worker(void *arg)
{
	static const char *bad[] = { "2", "-0.1", "half", "0.5x", "nan", NULL };

	for (int i = 0; bad[i]; i++) {
		setenv("AGENTPROF_SAMPLE", bad[i], 1);
		if (ap_attach(arg) != -EINVAL || ap_enabled() || ap_begin(ap_name("x"), 0) != 0)
			return 10 + i;
	}
	setenv("AGENTPROF_SAMPLE", "1", 1);
	if (ap_attach(arg) != 0 || !ap_enabled())
		return 3;
	return 0;
}

static void test_bad_rate_turns_profiling_off(void)
{
	struct t_reader r;
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 64) == 0);
	pid = t_fork(bad_rate_worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	t_reader_close(&r);
}

#define TRACES 48

/* Per trace: the root's id, as the parent process knows it. */
struct s_truth {
	uint64_t root[TRACES];
};

/*
 * Rate 0.5 in the parent; each trace execs a child under TRACEPARENT whose
 * own rate is 1: the child must follow the trace's decision, not its rate.
 */
static int half_parent(void *arg)
{
	struct s_arg *a = arg;
	const char *child = getenv("AP_TP_CHILD");
	struct s_truth truth;
	uint64_t name;

	setenv("AGENTPROF_SAMPLE", "0.5", 1);
	if (!child || ap_attach(a->seg) != 0)
		return 2;
	name = ap_name("sample:root");
	for (int i = 0; i < TRACES; i++) {
		char tp[56];
		pid_t pid;

		truth.root[i] = ap_begin(name, AP_CAT_INTERNAL);
		if (ap_traceparent(tp) != 0 || strcmp(tp + 52, (truth.root[i] & 1) ? "-01" : "-00") != 0)
			return 3;
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			setenv("TRACEPARENT", tp, 1);
			setenv("AGENTPROF_SHM", a->seg, 1);
			setenv("AGENTPROF_SAMPLE", "1", 1);
			execl(child, child, "span", "sample:child", (char *)NULL);
			_exit(127);
		}
		if (t_wait(pid) != 0)
			return 4;
		ap_end(truth.root[i]);
	}
	return write(a->out_fd, &truth, sizeof(truth)) == (ssize_t)sizeof(truth) ? 0 : 5;
}

static void test_half_rate_consistent_across_processes(void)
{
	struct t_reader r;
	struct s_arg a;
	struct s_truth truth;
	uint32_t sampled = 0, roots = 0, children = 0;
	char buf[32];
	int fds[2], code;
	pid_t pid;

	if (!getenv("AP_TP_CHILD")) {
		CU_FAIL("AP_TP_CHILD is not set (run through make test)");
		return;
	}
	/* A lane per process: exited children's lanes are not reclaimed during
	 * this reader's run, and no event may be lost to a missing lane. */
	CU_ASSERT_FATAL(t_reader_open(&r, TRACES + 4, 256) == 0);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	a.seg = r.seg.name;
	a.out_fd = fds[1];
	pid = t_fork(half_parent, &a);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL_FATAL(code, 0);
	CU_ASSERT_EQUAL(r.tot.dropped_full + r.tot.dropped_no_lane + r.tot.dropped_reentrant, 0);
	CU_ASSERT_FATAL(read(fds[0], &truth, sizeof(truth)) == (ssize_t)sizeof(truth));
	for (int i = 0; i < TRACES; i++) {
		const struct ap_span *sp = ap_spans_find(&r.spans, truth.root[i]);

		sampled += truth.root[i] & 1;
		/* Recorded exactly when the parent process says it was sampled. */
		CU_ASSERT_EQUAL(sp != NULL, (truth.root[i] & 1) != 0);
	}
	for (uint32_t k = 0; k < r.spans.n; k++) {
		const struct ap_span *sp = &r.spans.v[k];
		const char *n = ap_names_get(&r.names, sp->name, buf);

		if (!strcmp(n, "sample:root")) {
			roots++;
		} else if (!strcmp(n, "sample:child")) {
			const struct ap_span *p = ap_spans_find(&r.spans, sp->parent);

			children++;
			CU_ASSERT(p != NULL && (p->id & 1));	/* under a sampled root */
		}
	}
	CU_ASSERT_EQUAL(roots, sampled);
	CU_ASSERT_EQUAL(children, sampled);
	CU_ASSERT_EQUAL(r.analysis.orphans, 0);
	CU_ASSERT_EQUAL(r.analysis.traces, sampled);
	/* Both kinds happened: P(all 48 alike) = 2^-47. */
	CU_ASSERT(sampled > 0 && sampled < TRACES);
	close(fds[0]);
	close(fds[1]);
	t_reader_close(&r);
}

/* Two processes: the share sampled is the rate, within 5 sigma, and the
 * reader counts every trace either recorded or sampled out. */
static int share_worker(void *arg)
{
	struct s_arg *a = arg;
	uint32_t n = 0;
	uint64_t name;

	setenv("AGENTPROF_SAMPLE", "0.25", 1);
	if (ap_attach(a->seg) != 0)
		return 2;
	name = ap_name("share:root");
	for (int i = 0; i < 4000; i++) {
		uint64_t s = ap_begin(name, AP_CAT_INTERNAL);

		n += s & 1;
		ap_end(ap_begin(name, AP_CAT_TOOL));	/* follows its root */
		ap_end(s);
	}
	return write(a->out_fd, &n, sizeof(n)) == (ssize_t)sizeof(n) ? 0 : 3;
}

static void test_share_sampled_is_the_rate(void)
{
	struct t_reader r;
	struct s_arg a;
	uint32_t n = 0, got[2];
	int fds[2], code[2];
	pid_t pid[2];

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 1u << 15) == 0);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	a.seg = r.seg.name;
	a.out_fd = fds[1];
	pid[0] = t_fork(share_worker, &a);
	pid[1] = t_fork(share_worker, &a);
	t_reader_run(&r, pid, 2, code);
	CU_ASSERT_EQUAL_FATAL(code[0], 0);
	CU_ASSERT_EQUAL_FATAL(code[1], 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(read(fds[0], &got[i], sizeof(got[i])) == (ssize_t)sizeof(got[i]));
		/* 4000 traces at 0.25: 1000 expected, sigma 27.4. */
		CU_ASSERT(got[i] > 1000 - 137 && got[i] < 1000 + 137);
		n += got[i];
	}
	CU_ASSERT_EQUAL(r.analysis.traces, n);
	CU_ASSERT_EQUAL(r.analysis.traces_recorded, n);
	CU_ASSERT_EQUAL(r.tot.sampled_out, 2 * 4000 - n);
	CU_ASSERT_EQUAL(r.analysis.spans_in_trees, 2 * n);
	CU_ASSERT_EQUAL(r.counts.complete, 2 * n);
	close(fds[0]);
	close(fds[1]);
	t_reader_close(&r);
}

void t_register_sampling(void)
{
	CU_pSuite s = CU_add_suite("sampling", NULL, NULL);

	T_ADD(s, test_rate_zero_writes_nothing);
	T_ADD(s, test_bad_rate_turns_profiling_off);
	T_ADD(s, test_half_rate_consistent_across_processes);
	T_ADD(s, test_share_sampled_is_the_rate);
}
