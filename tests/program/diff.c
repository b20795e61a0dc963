/* SPDX-License-Identifier: MIT */
/*
 * diff.c - `agentprof diff BASE NEW` through the program: known regressions
 * and improvements are flagged (and nothing else), the thresholds apply as
 * configured, exit codes say what happened, a log compares equal to its own
 * report, and broken input (every truncation of a report) is an error with
 * exit 2, never a crash or a verdict.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static const char *agentprof(void) { return getenv("AP_AGENTPROF"); }

/* Run agentprof; stdout into out. Returns the exit code. */
static int run(char *const argv[], char *out, size_t outsz)
{
	int o[2];
	pid_t pid;
	ssize_t n;
	size_t used = 0;

	if (pipe(o))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(o[1], 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(99);
	}
	close(o[1]);
	while ((n = read(o[0], out + used, outsz - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(o[0]);
	return t_wait(pid);
}

/* A report.json with the keys diff reads: ops are "name cat count p50 p95 p99". */
static void write_report(const char *path, uint64_t traces, double llm_ms, const char *const ops[], size_t len_cut)
{
	char buf[8192];
	size_t n = 0;
	FILE *f;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      "{\n  \"structure\": { \"traces\": %llu },\n  \"by_category\": {"
			      " \"internal\": { \"self_ms\": 10, \"pct\": 1 }, \"llm\": { \"self_ms\": %.3f, \"pct\": 1 },"
			      " \"tool\": { \"self_ms\": 100, \"pct\": 1 }, \"memory\": { \"self_ms\": 50, \"pct\": 1 } },\n"
			      "  \"tokens\": { \"total_input\": 1000, \"total_output\": 100 },\n  \"operations\": [",
			      (unsigned long long)traces, llm_ms);
	for (int i = 0; ops[i]; i++) {
		char name[64], cat[16];
		unsigned long long count;
		double p50, p95, p99;

		sscanf(ops[i], "%63s %15s %llu %lf %lf %lf", name, cat, &count, &p50, &p95, &p99);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%s\n    { \"name\": \"%s\", \"category\": \"%s\", \"count\": %llu, \"mean_ms\": %.3f,"
				      " \"p50_ms\": %.3f, \"p95_ms\": %.3f, \"p99_ms\": %.3f, \"input_tokens\": 10,"
				      " \"output_tokens\": 5 }", i ? "," : "", name, cat, count, p50, p50, p95, p99);
	}
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n  ]\n}\n");
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fwrite(buf, 1, len_cut && len_cut < n ? len_cut : n, f);
	fclose(f);
}

static size_t report_len(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* The status diff --json gives the operation `name`. */
static int status_is(const char *json, const char *name, const char *status)
{
	char pat[128];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"name\": \"%s\"", name);
	p = strstr(json, pat);
	if (!p)
		return 0;
	q = strstr(p, "\"status\": \"");
	snprintf(pat, sizeof(pat), "\"status\": \"%s\"", status);
	return q && strncmp(q, pat, strlen(pat)) == 0;
}

static void test_known_changes(void)
{
	static char out[65536];
	char base[128], cur[128];
	static const char *const b_ops[] = {
		"llm:classify llm 10 400 450 470",	/* +15%, +67.5 ms: regressed */
		"tool:search tool 10 190 200 210",	/* -25%, -50 ms: improved */
		"tool:format tool 10 10 10 11",		/* +20% but +2 ms: same */
		"memory:get memory 10 100 100 100",	/* +8%, +8 ms: same at 10% */
		"tool:old tool 3 5 5 5",		/* removed */
		NULL };
	static const char *const n_ops[] = {
		"llm:classify llm 12 420 517.5 540",
		"tool:search tool 10 140 150 160",
		"tool:format tool 10 11 12 13",
		"memory:get memory 10 104 108 110",
		"tool:new tool 4 5 5 5",		/* added */
		NULL };

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(base, sizeof(base), "/tmp/ap-test-diff-%d-base.json", (int)getpid());
	snprintf(cur, sizeof(cur), "/tmp/ap-test-diff-%d-new.json", (int)getpid());
	write_report(base, 10, 1000, b_ops, 0);
	write_report(cur, 10, 1000, n_ops, 0);
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(status_is(out, "llm:classify", "regressed"));
		CU_ASSERT(status_is(out, "tool:search", "improved"));
		CU_ASSERT(status_is(out, "tool:format", "same"));
		CU_ASSERT(status_is(out, "memory:get", "same"));
		CU_ASSERT(status_is(out, "tool:old", "removed"));
		CU_ASSERT(status_is(out, "tool:new", "added"));
		CU_ASSERT(strstr(out, "\"regressions\": 1") != NULL);
		CU_ASSERT(strstr(out, "\"improvements\": 1") != NULL);
		CU_ASSERT(strstr(out, "\"count_base\": 10,\n      \"count_new\": 12") != NULL);
		CU_ASSERT(strstr(out, "\"p95_change_pct\": 15.00") != NULL);
	}
	/* Thresholds as configured: at 5% memory:get regresses too. */
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", "--threshold-pct", "5", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(status_is(out, "memory:get", "regressed"));
		CU_ASSERT(strstr(out, "\"regressions\": 2") != NULL);
	}
	/* And at +1 ms, tool:format (+2 ms, +20%) as well; text output says so. */
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--min-ms", "1", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(strstr(out, "2 regressed, 1 improved") != NULL);
	}
	/* The other way round: the improvement becomes the regression. */
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", cur, base, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(status_is(out, "tool:search", "regressed"));
		CU_ASSERT(status_is(out, "llm:classify", "improved"));
	}
	/* A run against itself: nothing regressed, exit 0. */
	{
		char *const argv[] = { (char *)agentprof(), "diff", base, base, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 0);
		CU_ASSERT(strstr(out, "0 regressed, 0 improved") != NULL);
	}
	/* Category self time per trace: same total over twice the traces halves it. */
	write_report(cur, 10, 1500, b_ops, 0);
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(strstr(out, "\"category\": \"llm\",\n      \"self_ms_per_trace_base\": 100.000,\n"
				      "      \"self_ms_per_trace_new\": 150.000,\n      \"status\": \"regressed\"") != NULL);
	}
	write_report(cur, 20, 2000, b_ops, 0);
	{
		char *const argv[] = { (char *)agentprof(), "diff", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 0);
	}
	unlink(base);
	unlink(cur);
}

/* Every truncation of a report is an error (exit 2), never a verdict; so
 * are a missing file, a directory, and the wrong number of arguments. */
static void test_broken_input(void)
{
	static char out[65536];
	char base[128], cut[128];
	static const char *const ops[] = { "a llm 1 1 2 3", "b tool 2 1 2 3", NULL };
	size_t len;

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(base, sizeof(base), "/tmp/ap-test-diffb-%d-base.json", (int)getpid());
	snprintf(cut, sizeof(cut), "/tmp/ap-test-diffb-%d-cut.json", (int)getpid());
	write_report(base, 3, 10, ops, 0);
	len = report_len(base);
	CU_ASSERT_FATAL(len > 100);
	for (size_t at = 1; at < len - 2; at += 7) {	/* every 7th byte: the program runs per case */
		char *const argv[] = { (char *)agentprof(), "diff", base, cut, NULL };
		int code;

		write_report(cut, 3, 10, ops, at);
		code = run(argv, out, sizeof(out));
		CU_ASSERT_EQUAL(code, 2);
		if (code != 2) {
			fprintf(stderr, "\n    cut at %zu: exit %d\n", at, code);
			break;
		}
	}
	{
		char *const a1[] = { (char *)agentprof(), "diff", base, "/nonexistent/x.json", NULL };
		char *const a2[] = { (char *)agentprof(), "diff", base, "/tmp", NULL };
		char *const a3[] = { (char *)agentprof(), "diff", base, NULL };
		char *const a4[] = { (char *)agentprof(), "diff", "--min-ms", "-3", base, base, NULL };

		CU_ASSERT_EQUAL(run(a1, out, sizeof(out)), 2);
		CU_ASSERT_EQUAL(run(a2, out, sizeof(out)), 2);
		CU_ASSERT_EQUAL(run(a3, out, sizeof(out)), 2);
		CU_ASSERT_EQUAL(run(a4, out, sizeof(out)), 2);
	}
	unlink(base);
	unlink(cut);
}

/* A log and the report.json of the same run compare equal. */
static void test_log_against_its_report(void)
{
	static char out[65536];
	char dir[128], log[160], rep[200];

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(dir, sizeof(dir), "/tmp/ap-test-difflog-%d", (int)getpid());
	snprintf(log, sizeof(log), "%s/run.log", dir);
	snprintf(rep, sizeof(rep), "%s/report.json", dir);
	mkdir(dir, 0700);
	{
		char *const argv[] = { (char *)agentprof(), "demo", "--workers", "2", "--traces", "1", "-q", "--log",
				       log, "-o", dir, NULL };

		CU_ASSERT_EQUAL_FATAL(run(argv, out, sizeof(out)), 0);
	}
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", log, rep, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 0);
		CU_ASSERT(strstr(out, "\"p95_change_pct\": 0.00") != NULL);
		CU_ASSERT(strstr(out, "\"regressions\": 0") != NULL);
		CU_ASSERT(strstr(out, "\"improvements\": 0") != NULL);
		CU_ASSERT(strstr(out, "\"status\": \"added\"") == NULL);
	}
	unlink(log);
	unlink(rep);
	snprintf(rep, sizeof(rep), "%s/report.txt", dir);
	unlink(rep);
	rmdir(dir);
}

/* A report.json with one operation and a memory section: the largest
 * peak, and "name cat measured mean_kib" rows. */
static void write_mem_report(const char *path, long long peak, const char *const mops[])
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "{ \"structure\": { \"traces\": 10 }, \"by_category\": { \"internal\": { \"self_ms\": 1 },"
		   " \"llm\": { \"self_ms\": 1 }, \"tool\": { \"self_ms\": 1 }, \"memory\": { \"self_ms\": 1 } },"
		   " \"tokens\": { \"total_input\": 0, \"total_output\": 0 }, \"operations\": [ { \"name\": \"a\","
		   " \"category\": \"llm\", \"count\": 1, \"mean_ms\": 1, \"p50_ms\": 1, \"p95_ms\": 1, \"p99_ms\": 1 } ]");
	if (mops) {
		fprintf(f, ", \"memory\": { \"interval_ms\": 20, \"processes\": [ { \"pid\": 7, \"peak_kib\": 5000 },"
			   " { \"pid\": 8, \"peak_kib\": %lld } ], \"operations\": [", peak);
		for (int i = 0; mops[i]; i++) {
			char name[64], cat[16];
			unsigned long long n;
			double mean;

			sscanf(mops[i], "%63s %15s %llu %lf", name, cat, &n, &mean);
			fprintf(f, "%s { \"name\": \"%s\", \"category\": \"%s\", \"spans_measured\": %llu,"
				   " \"rss_delta_kib_mean\": %.1f }", i ? "," : "", name, cat, n, mean);
		}
		fprintf(f, " ] }");
	}
	fprintf(f, " }\n");
	fclose(f);
}

/* Memory: the largest peak and each operation's mean RSS change regress by
 * the percentage threshold and --min-kib (1,024 KiB). */
static void test_memory_changes(void)
{
	static char out[65536];
	char base[128], cur[128];
	static const char *const b_mem[] = { "tool:load tool 5 65536", "llm:call llm 20 1024",
					     "tool:small tool 5 100", "tool:free tool 5 -65536", NULL };
	static const char *const n_mem[] = { "tool:load tool 5 65600",	/* +0.1%: same */
					     "llm:call llm 20 2048",	/* +100%, +1024 KiB: regressed */
					     "tool:small tool 5 300",	/* +200% but +200 KiB: same */
					     "tool:free tool 5 -1024",	/* +98%, +63 MiB: regressed */
					     NULL };

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(base, sizeof(base), "/tmp/ap-test-diffm-%d-base.json", (int)getpid());
	snprintf(cur, sizeof(cur), "/tmp/ap-test-diffm-%d-new.json", (int)getpid());
	write_mem_report(base, 100000, b_mem);
	write_mem_report(cur, 120000, n_mem);	/* +20%, +19.5 MiB: regressed */
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(strstr(out, "\"peak_kib_base\": 100000,\n    \"peak_kib_new\": 120000,\n"
				      "    \"peak_status\": \"regressed\"") != NULL);
		CU_ASSERT(status_is(out, "tool:load", "same"));
		CU_ASSERT(status_is(out, "llm:call", "regressed"));
		CU_ASSERT(status_is(out, "tool:small", "same"));
		CU_ASSERT(status_is(out, "tool:free", "regressed"));
		CU_ASSERT(strstr(out, "\"regressions\": 3") != NULL);
	}
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--min-kib", "100", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 1);
		CU_ASSERT(strstr(out, "4 regressed, 0 improved") != NULL);
		CU_ASSERT(strstr(out, "largest peak") != NULL);
	}
	{
		char *const argv[] = { (char *)agentprof(), "diff", "--json", cur, base, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 0);
		CU_ASSERT(strstr(out, "\"improvements\": 3") != NULL);
	}
	/* One side without memory: not compared, said. */
	write_mem_report(cur, 0, NULL);
	{
		char *const argv[] = { (char *)agentprof(), "diff", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 0);
		CU_ASSERT(strstr(out, "memory: sampled in base only") != NULL);
	}
	/* A peak that is no count: exit 2. */
	write_mem_report(cur, -5, n_mem);
	{
		char *const argv[] = { (char *)agentprof(), "diff", base, cur, NULL };

		CU_ASSERT_EQUAL(run(argv, out, sizeof(out)), 2);
	}
	unlink(base);
	unlink(cur);
}

void t_register_diff(void)
{
	CU_pSuite s = CU_add_suite("diff", NULL, NULL);

	CU_add_test(s, "known regressions and improvements; thresholds; exit codes", test_known_changes);
	CU_add_test(s, "broken input is exit 2", test_broken_input);
	CU_add_test(s, "a log compares equal to its own report", test_log_against_its_report);
	CU_add_test(s, "memory: peak and per-operation growth", test_memory_changes);
}
