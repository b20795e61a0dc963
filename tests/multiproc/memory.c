/* SPDX-License-Identifier: MIT */
/*
 * memory.c - RSS sampled by the reader, end to end: a real session
 * (ap_session_run, with --interval dumps and a --log) over forked workers
 * that allocate and touch known amounts inside known spans, read back from
 * the report.json the session wrote (Jansson) and from the replay of its log.
 *
 *   worker M   5 traces of mem:job { tool:load maps and touches 64 MiB,
 *              4 x llm:call each leaks 1 MiB, tool:unload unmaps the 64 MiB }
 *   worker L   40 x llm:call, each leaking 1 MiB, one every ~40 ms; it exits
 *              while M still runs
 *
 * Each worker writes what it knows (its pid; L the time between its first
 * and last leak) to a file the test reads. The per-operation means must be
 * the truth within the sampling error, L's slope within 10% of its leak
 * rate, L flagged as a steady growth, L's series kept after it exited, and
 * the replay of the log must give the same Memory section as the run.
 *
 * And the bound: 1,000 processes' series cost what memory.h documents,
 * measured with mallinfo2, whatever the number of samples.
 */
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "memory.h"
#include "render.h"
#include "replay.h"
#include "session.h"

#define MIB		(1u << 20)
#define M_TRACES	5
#define M_CALLS		4
#define L_CALLS		40

static char dir[128];

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *touch(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(4);
	memset(p, 1, n);
	return p;
}

static void say(const char *role, double v)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.truth", dir, role);
	f = fopen(path, "w");
	if (!f)
		_exit(5);
	fprintf(f, "%d %.3f\n", (int)getpid(), v);
	fclose(f);
}

static void warmup(void)
{
	uint64_t s = ap_begin(ap_name("mem:warmup"), AP_CAT_INTERNAL);

	t_sleep_ms(80);		/* the lane is claimed: a round samples this process */
	ap_end(s);
}

static int worker_m(void *seg)
{
	uint64_t job, load, call, unload, s;

	if (ap_attach(seg))
		return 2;
	job = ap_name("mem:job");
	load = ap_name("tool:load");
	call = ap_name("llm:call");
	unload = ap_name("tool:unload");
	warmup();
	for (int r = 0; r < M_TRACES; r++) {
		uint64_t root = ap_begin(job, AP_CAT_INTERNAL);
		void *big;

		s = ap_begin(load, AP_CAT_TOOL);
		t_sleep_ms(40);
		big = touch(64 * MIB);
		t_sleep_ms(40);
		ap_end(s);
		for (int k = 0; k < M_CALLS; k++) {
			s = ap_begin(call, AP_CAT_LLM);
			t_sleep_ms(25);
			(void)touch(MIB);	/* leaked */
			t_sleep_ms(25);
			ap_end(s);
		}
		s = ap_begin(unload, AP_CAT_TOOL);
		t_sleep_ms(40);
		munmap(big, 64 * MIB);
		t_sleep_ms(40);
		ap_end(s);
		ap_end(root);
		t_sleep_ms(30);
	}
	t_sleep_ms(100);	/* a round samples past the last trace */
	say("m", 0);
	return 0;
}

static int worker_l(void *seg)
{
	uint64_t call, first = 0, last = 0;

	if (ap_attach(seg))
		return 2;
	call = ap_name("llm:call");
	warmup();
	for (int k = 0; k < L_CALLS; k++) {
		uint64_t s = ap_begin(call, AP_CAT_LLM);

		t_sleep_ms(20);
		(void)touch(MIB);	/* leaked */
		last = mono_ns();
		if (!first)
			first = last;
		t_sleep_ms(20);
		ap_end(s);
	}
	/* The truth: KiB per second between the first leak and the last. */
	say("l", (double)(L_CALLS - 1) * 1024.0 / ((double)(last - first) / 1e9));
	return 0;
}

static int spawn(void *ctx, const char *segment, pid_t *pid, int *exec_errno)
{
	(void)ctx;
	*exec_errno = 0;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		pid_t m = t_fork(worker_m, (void *)segment), l = t_fork(worker_l, (void *)segment);

		_exit(t_wait(m) == 0 && t_wait(l) == 0 ? 0 : 1);
	}
	return 0;
}

static int read_truth(const char *role, int *pid, double *v)
{
	char path[192];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s.truth", dir, role);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%d %lf", pid, v) == 2;
	fclose(f);
	return ok ? 0 : -1;
}

static json_t *find_by(json_t *arr, const char *key, json_t *want)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
		if (json_equal(json_object_get(x, key), want))
			return x;
	return NULL;
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void test_workers_allocating_in_known_spans(void)
{
#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer maps shadow memory for every page the workers touch:
	 * several times the 64 MiB, resident in the same processes, so RSS is
	 * not the workload's. The figures are checked in the other builds. */
	if (1) {
		t_skip("ThreadSanitizer's shadow memory is resident in the workers: RSS is not the workload's");
		return;
	}
#endif
	struct ap_run_opts o;
	char out[160], logp[160], cmd[200];
	json_error_t jerr;
	json_t *rep, *mem, *ops, *procs, *x, *pl, *pm;
	int code, lpid, mpid;
	double l_slope, unused;

	snprintf(dir, sizeof(dir), "/tmp/ap-test-mem-%d", (int)getpid());
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(logp, sizeof(logp), "%s/run.log", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CU_ASSERT_FATAL(system(cmd) == 0);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	ap_run_opts_default(&o);
	o.out_dir = out;
	o.quiet = 1;
	o.log_path = logp;
	o.interval_ns = 300000000u;	/* dumps: the run's memory rows are merged from intervals */
	o.seg.lanes = 8;
	o.seg.lane_events = 4096;
	o.set.memory_interval_ns = 20000000u;
	code = ap_session_run(&o, spawn, NULL);
	CU_ASSERT_EQUAL_FATAL(code, 0);
	CU_ASSERT_FATAL(read_truth("l", &lpid, &l_slope) == 0);
	CU_ASSERT_FATAL(read_truth("m", &mpid, &unused) == 0);

	snprintf(cmd, sizeof(cmd), "%s/report.json", out);
	rep = json_load_file(cmd, JSON_REJECT_DUPLICATES, &jerr);
	CU_ASSERT_FATAL(rep != NULL);
	mem = json_object_get(rep, "memory");
	CU_ASSERT_FATAL(json_is_object(mem));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(mem, "interval_ms")), 20);
	procs = json_object_get(mem, "processes");
	ops = json_object_get(mem, "operations");
	CU_ASSERT_FATAL(json_is_array(procs) && json_is_array(ops));

	/* Per operation: the truth within the sampling error (a few pages of
	 * the process's own bookkeeping beside the known amounts). */
	{
		json_t *jl = find_by(ops, "name", json_string("tool:load"));
		json_t *ju = find_by(ops, "name", json_string("tool:unload"));
		json_t *jc = find_by(ops, "name", json_string("llm:call"));

		CU_ASSERT_FATAL(jl && ju && jc);
		CU_ASSERT(num(jl, "spans_measured") >= M_TRACES - 1);
		CU_ASSERT_EQUAL(num(jl, "spans_measured") + num(jl, "spans_not_measurable"), M_TRACES);
		CU_ASSERT(fabs(num(jl, "rss_delta_kib_mean") - 65536) <= 2048);
		CU_ASSERT(fabs(num(ju, "rss_delta_kib_mean") + 65536) <= 2048);
		CU_ASSERT(num(jc, "spans_measured") >= (M_TRACES * M_CALLS + L_CALLS) * 3 / 4);
		CU_ASSERT_EQUAL(num(jc, "spans_measured") + num(jc, "spans_not_measurable"),
				M_TRACES * M_CALLS + L_CALLS);
		CU_ASSERT(fabs(num(jc, "rss_delta_kib_mean") - 1024) <= 128);
		CU_ASSERT(fabs(num(jc, "rss_delta_kib_p95") - 1024) <= 128);
		printf("\n    load %.0f KiB, unload %.0f KiB, llm:call %.1f KiB (p95 %.0f) over %.0f spans\n",
		       num(jl, "rss_delta_kib_mean"), num(ju, "rss_delta_kib_mean"), num(jc, "rss_delta_kib_mean"),
		       num(jc, "rss_delta_kib_p95"), num(jc, "spans_measured"));
	}
	/* Per process: L's slope within 10% of its leak rate; L exited before
	 * M and kept its series; L flagged. */
	pl = find_by(procs, "pid", json_integer(lpid));
	pm = find_by(procs, "pid", json_integer(mpid));
	CU_ASSERT_FATAL(pl && pm);
	printf("    L slope %.1f KiB/s (truth %.1f), r2 %.3f, growth %.0f KiB, %.0f samples\n",
	       num(pl, "slope_kib_per_s"), l_slope, num(pl, "fit_r2"), num(pl, "growth_kib"), num(pl, "samples"));
	if (fabs(num(pl, "growth_kib") - L_CALLS * 1024.0) > 2048) {
		char *d = json_dumps(pl, 0), *d2 = json_dumps(pm, 0);
		printf("    L: %s\n    M: %s\n", d, d2);
		free(d);
		free(d2);
	}
	CU_ASSERT(fabs(num(pl, "slope_kib_per_s") - l_slope) <= 0.10 * l_slope);
	CU_ASSERT(fabs(num(pl, "growth_kib") - L_CALLS * 1024.0) <= 2048);
	CU_ASSERT(num(pl, "samples") >= 40);
	CU_ASSERT(num(pm, "duration_s") > num(pl, "duration_s") + 0.2);
	CU_ASSERT(num(pm, "peak_kib") >= num(pm, "start_kib") + 64 * 1024);
	{
		json_t *b = json_object_get(rep, "bottlenecks");
		char want[64];
		size_t i;
		int flagged = 0;

		snprintf(want, sizeof(want), "process %d grew", lpid);
		json_array_foreach(b, i, x)
			if (!strcmp(json_string_value(json_object_get(x, "rule")), "memory_growth") &&
			    strstr(json_string_value(json_object_get(x, "message")), want))
				flagged = 1;
		CU_ASSERT(flagged);
	}
	/* Kept trees carry the figure where it was measured. */
	{
		json_t *tr = json_object_get(rep, "traces");
		size_t i;
		int seen = 0;

		json_array_foreach(tr, i, x)
			seen += json_object_get(x, "rss_delta_kib") != NULL;
		CU_ASSERT(seen > 0);
	}
	/* The replay of the log says the same. */
	{
		struct ap_replay *rp = calloc(1, sizeof(*rp));
		struct ap_settings set;
		struct ap_run run;
		const char *why;
		char *buf = NULL, *lb;
		size_t len = 0, ll;
		FILE *f = open_memstream(&buf, &len);
		FILE *lf = fopen(logp, "r");
		json_t *again;

		CU_ASSERT_FATAL(rp && f && lf);
		fseek(lf, 0, SEEK_END);
		ll = (size_t)ftell(lf);
		rewind(lf);
		lb = malloc(ll);
		CU_ASSERT_FATAL(lb && fread(lb, 1, ll, lf) == ll);
		fclose(lf);
		ap_settings_default(&set);
		CU_ASSERT_EQUAL_FATAL(ap_replay_open(rp, &set, (uint8_t *)lb, ll, &why), 0);
		ap_replay_run(rp, logp, &run);
		CU_ASSERT_EQUAL(ap_render_json(&run, f), 0);
		fclose(f);
		again = json_loads(buf, 0, &jerr);
		CU_ASSERT_FATAL(again != NULL);
		CU_ASSERT(json_equal(json_object_get(again, "memory"), mem));
		CU_ASSERT(json_equal(json_object_get(again, "bottlenecks"), json_object_get(rep, "bottlenecks")));
		CU_ASSERT(json_equal(json_object_get(again, "traces"), json_object_get(rep, "traces")));
		json_decref(again);
		free(buf);
		free(lb);
		ap_replay_close(rp);
		free(rp);
	}
	json_decref(rep);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CU_ASSERT(system(cmd) == 0);
}

/* 1,000 forked workers, 50 at a time, each a 30 ms span: the session's
 * series stay within what memory.h documents per process. */
#define FLEET		1000
#define FLEET_BATCH	50

static int fleet_worker(void *seg)
{
	uint64_t s;

	if (ap_attach(seg))
		return 2;
	s = ap_begin(ap_name("fleet:step"), AP_CAT_TOOL);
	t_sleep_ms(30);
	ap_end(s);
	return 0;
}

static int spawn_fleet(void *ctx, const char *segment, pid_t *pid, int *exec_errno)
{
	(void)ctx;
	*exec_errno = 0;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		pid_t w[FLEET_BATCH];
		int bad = 0;

		for (int i = 0; i < FLEET; i += FLEET_BATCH) {
			for (int k = 0; k < FLEET_BATCH; k++)
				w[k] = t_fork(fleet_worker, (void *)segment);
			for (int k = 0; k < FLEET_BATCH; k++)
				bad |= t_wait(w[k]) != 0;
		}
		_exit(bad);
	}
	return 0;
}

static void test_thousand_forked_workers(void)
{
	struct ap_run_opts o;
	char d[128], path[160];
	json_error_t jerr;
	json_t *rep, *mem;
	double nproc, bytes;

	snprintf(d, sizeof(d), "/tmp/ap-test-memfleet-%d", (int)getpid());
	ap_run_opts_default(&o);
	o.out_dir = d;
	o.quiet = 1;
	o.seg.lanes = 128;
	o.seg.lane_events = 1024;
	o.set.memory_interval_ns = 20000000u;
	CU_ASSERT_EQUAL_FATAL(ap_session_run(&o, spawn_fleet, NULL), 0);
	snprintf(path, sizeof(path), "%s/report.json", d);
	rep = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	CU_ASSERT_FATAL(rep != NULL);
	mem = json_object_get(rep, "memory");
	CU_ASSERT_FATAL(json_is_object(mem));
	nproc = (double)json_array_size(json_object_get(mem, "processes"));
	bytes = num(mem, "series_bytes");
	printf("\n    %.0f of %d workers sampled, series %.0f KiB (bound %.0f KiB)\n", nproc, FLEET, bytes / 1024,
	       (double)(FLEET * AP_MEM_SERIES_BYTES + 64 * 1024) / 1024);
	CU_ASSERT(nproc >= FLEET / 2 && nproc <= FLEET);
	CU_ASSERT(bytes <= nproc * AP_MEM_SERIES_BYTES + 64 * 1024);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(mem, "procs_over_cap")), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(rep, "structure"), "traces")), FLEET);
	json_decref(rep);
	snprintf(path, sizeof(path), "rm -rf %s", d);
	CU_ASSERT(system(path) == 0);
}

/* 1,000 processes with a long series each cost the documented bound
 * (AP_MEM_SERIES_BYTES per process, memory.h), measured on the heap; the
 * 4,097th process is counted, not kept; start, peak and end stay exact. */
static void test_thousand_processes_bounded(void)
{
	struct ap_clock_cal c = { .source = AP_CLOCK_MONOTONIC, .mult = UINT64_C(1) << 32, .hz = 1000000000 };
	struct mallinfo2 before, after;
	struct ap_memory m;
	const struct ap_mem_series *s;
	size_t used, bound = 1000 * AP_MEM_SERIES_BYTES + 64 * 1024;

	before = mallinfo2();
	CU_ASSERT_FATAL(ap_mem_init(&m, 20000000u, &c) == 0);
	for (uint32_t k = 0; k < 1000; k++)
		for (uint32_t pid = 1; pid <= 1000; pid++)
			CU_ASSERT_FATAL(ap_mem_add(&m, pid, (uint64_t)k * 20000000u, 1000 + k + (k == 500 ? 9000 : 0),
						   k) == 0);
	after = mallinfo2();
	used = after.uordblks - before.uordblks;
	printf("\n    1,000 processes x 1,000 samples: %zu KiB on the heap (bound %zu KiB, counted %llu KiB)\n",
	       used >> 10, bound >> 10, (unsigned long long)(m.bytes >> 10));
	CU_ASSERT(used <= bound);
	CU_ASSERT(m.bytes <= bound && m.bytes + 64 * 1024 >= used);
	s = ap_mem_find(&m, 7);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->taken, 1000);
	CU_ASSERT(s->n <= AP_MEM_SAMPLES && s->n >= AP_MEM_SAMPLES / 2);
	CU_ASSERT_EQUAL(s->stride, 4);
	CU_ASSERT_EQUAL(s->first.rss_kib, 1000);
	CU_ASSERT_EQUAL(s->last.rss_kib, 1999);
	CU_ASSERT_EQUAL(s->peak.rss_kib, 10500);	/* sample 500, not one the stride kept */
	for (uint32_t i = 1; i < s->n; i++)
		CU_ASSERT_EQUAL(s->s[i].ticks - s->s[i - 1].ticks, 4 * 20000000u);	/* an even spread */
	{
		double slope, r2;

		ap_mem_fit(&m, s, &slope, &r2);
		CU_ASSERT(fabs(slope - 50.0) < 0.5);	/* 1 KiB per 20 ms */
	}
	for (uint32_t pid = 1001; pid <= AP_MEM_PROCS; pid++)
		CU_ASSERT_FATAL(ap_mem_add(&m, pid, 0, 1, 1) == 0);
	CU_ASSERT_EQUAL(ap_mem_add(&m, AP_MEM_PROCS + 1, 0, 1, 1), -ENOSPC);
	CU_ASSERT_EQUAL(m.procs_over_cap, 1);
	CU_ASSERT_EQUAL(ap_mem_add(&m, 7, 0, 1, 1), -EINVAL);	/* time backwards */
	ap_mem_free(&m);
}

/* The signed histogram against a sorted array (the model). */
static void test_op_histogram_quantiles(void)
{
	static int64_t v[4001];
	struct ap_op_mem *o = calloc(1, sizeof(*o));
	uint32_t n = 0;

	CU_ASSERT_FATAL(o != NULL);
	for (int64_t x = -2000; x <= 2000; x++) {
		int64_t val = x * 37;

		v[n++] = val;
		ap_op_mem_add(o, val);
	}
	for (double q = 0.05; q < 1.0; q += 0.05) {
		int64_t want = v[(uint32_t)ceil(q * n) - 1], got = ap_op_mem_quantile(o, q);

		CU_ASSERT(llabs(got - want) <= llabs(want) / 16 + 1);
	}
	CU_ASSERT_EQUAL(o->measured, n);
	CU_ASSERT_EQUAL(o->total_kib, 0);
	CU_ASSERT_EQUAL(o->max_kib, 2000 * 37);
	free(o);
}

void t_register_memory(void)
{
	CU_pSuite s = CU_add_suite("memory", NULL, NULL);

	T_ADD(s, test_thousand_processes_bounded);
	T_ADD(s, test_op_histogram_quantiles);
	T_ADD(s, test_workers_allocating_in_known_spans);
	T_ADD(s, test_thousand_forked_workers);
}
