/* SPDX-License-Identifier: MIT */
/*
 * record.c - `agentprof record` end to end, through the built program:
 * exact counts in report.json, CMD's exit status passed through, Ctrl-C
 * passed to CMD (its open span reported as truncated), usage errors, an
 * output directory that cannot be written, a full disk; and never a
 * segment left in /dev/shm.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "helpers.h"

static char out_dir[128];

/* Run agentprof with argv; capture stdout/stderr into the buffers. */
static int run_agentprof(char *const argv[], char *out, size_t outsz, char *err, size_t errsz)
{
	int o[2], e[2];
	pid_t pid;
	ssize_t n;
	size_t used;

	if (pipe(o) || pipe(e))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(argv[0], argv);
		_exit(99);
	}
	close(o[1]);
	close(e[1]);
	for (used = 0; (n = read(o[0], out + used, outsz - 1 - used)) > 0;)
		used += (size_t)n;
	out[used] = '\0';
	for (used = 0; (n = read(e[0], err + used, errsz - 1 - used)) > 0;)
		used += (size_t)n;
	err[used] = '\0';
	close(o[0]);
	close(e[0]);
	return t_wait(pid);
}

/* Segments agentprof (pid) left in /dev/shm. */
static int leftover_segments(pid_t pid)
{
	char prefix[64];
	struct dirent *d;
	DIR *dir = opendir("/dev/shm");
	int n = 0;

	snprintf(prefix, sizeof(prefix), "agentprof-%d-", (int)pid);
	while (dir && (d = readdir(dir)))
		n += strncmp(d->d_name, prefix, strlen(prefix)) == 0;
	if (dir)
		closedir(dir);
	return n;
}

static int read_file(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sz - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? 0 : -1;
}

static int has(const char *json, const char *key, long long v)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "\"%s\": %lld", key, v);
	return strstr(json, pat) != NULL;
}

static const char *agentprof(void) { return getenv("AP_AGENTPROF"); }
static const char *child(void) { return getenv("AP_TP_CHILD"); }

static int have_programs(void)
{
	if (!agentprof() || !child()) {
		CU_FAIL("AP_AGENTPROF / AP_TP_CHILD not set (run through make test)");
		return 0;
	}
	return 1;
}

static void test_record_counts_exact(void)
{
	static char out[8192], err[8192], json[1 << 20], path[256];

	if (!have_programs())
		return;
	snprintf(out_dir, sizeof(out_dir), "/tmp/ap-test-record-%d", (int)getpid());
	{
		char *const argv[] = { (char *)agentprof(), "record", "-o", out_dir, "--",
				       (char *)child(), "spans", "1000", NULL };

		CU_ASSERT_EQUAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 0);
	}
	snprintf(path, sizeof(path), "%s/report.json", out_dir);
	CU_ASSERT_FATAL(read_file(path, json, sizeof(json)) == 0);
	CU_ASSERT(has(json, "written", 3000));
	CU_ASSERT(has(json, "read", 3000));
	CU_ASSERT(has(json, "dropped_full", 0));
	CU_ASSERT(has(json, "spans_complete", 1000));
	CU_ASSERT(has(json, "spans_open", 0));
	CU_ASSERT(has(json, "spans", 1000));
	CU_ASSERT(has(json, "exit_status", 0));
	/* The stated overhead counts the writer's measured setup, not events alone. */
	{
		const char *p = strstr(json, "\"setup_ms\": ");

		CU_ASSERT(p != NULL && atof(p + 12) > 0);
		CU_ASSERT(has(json, "measurements", 1));
	}
	CU_ASSERT(strstr(out, "written 3000  read 3000") != NULL);
	CU_ASSERT_STRING_EQUAL(err, "");
	unlink(path);
	rmdir(out_dir);
}

/* A writer that drops events (a 16-event lane it fills faster than the
 * reader drains): the report's process row says exactly the drops the
 * writer counted itself, once each (they were counted twice once: settled
 * at both of the run's final totals). */
static void test_process_drops_exact(void)
{
	static char out[8192], err[8192], path[256];
	unsigned long long recorded = 0, dropped = 0;
	json_t *j, *p;

	if (!have_programs())
		return;
	{
		char *const argv[] = { (char *)agentprof(), "record", "-q", "-o", out_dir, "--lanes", "2",
				       "--lane-events", "16", "--", (char *)child(), "flood", "200000", NULL };

		CU_ASSERT_EQUAL_FATAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 0);
	}
	CU_ASSERT_FATAL(sscanf(out, "recorded %llu dropped %llu", &recorded, &dropped) == 2);
	CU_ASSERT(dropped > 0);		/* else the case is not exercised */
	snprintf(path, sizeof(path), "%s/report.json", out_dir);
	j = json_load_file(path, 0, NULL);
	CU_ASSERT_FATAL(j != NULL);
	p = json_array_get(json_object_get(j, "processes"), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "processes")), 1);
	CU_ASSERT_EQUAL((unsigned long long)json_integer_value(json_object_get(p, "dropped")), dropped);
	CU_ASSERT_EQUAL((unsigned long long)json_integer_value(json_object_get(p, "events")), recorded);
	CU_ASSERT_EQUAL((unsigned long long)json_integer_value(json_object_get(json_object_get(j, "counts"),
									       "dropped_full")), dropped);
	json_decref(j);
}

/* A process killed with a span open: the span ends when the process was
 * last seen running (the reader checks every 20 ms), not when the run ends
 * a second later; it is truncated and in no operation figure. */
static void test_killed_span_ends_at_death(void)
{
	static char out[8192], err[8192], path[256], script[512];
	json_t *j, *ops, *t;
	json_int_t dur = -1;

	if (!have_programs())
		return;
	snprintf(script, sizeof(script), "%s wait & p=$!; sleep 0.3; kill -9 $p; wait $p; sleep 1", child());
	{
		char *const argv[] = { (char *)agentprof(), "record", "-q", "-o", out_dir, "--", "sh", "-c", script, NULL };

		CU_ASSERT_EQUAL_FATAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 0);
	}
	snprintf(path, sizeof(path), "%s/report.json", out_dir);
	j = json_load_file(path, 0, NULL);
	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "counts"), "spans_open")), 1);
	t = json_array_get(json_object_get(j, "traces"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "name")), "child:waiting");
	CU_ASSERT(json_is_true(json_object_get(t, "truncated")));
	dur = json_integer_value(json_object_get(t, "dur_ns"));
	CU_ASSERT(dur >= 150 * 1000000LL);	/* it ran until it was killed, about 0.3 s */
	CU_ASSERT(dur <= 800 * 1000000LL);	/* not until the run ended, 1.3 s */
	ops = json_array_get(json_object_get(j, "operations"), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(ops, "count")), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(ops, "truncated")), 1);
	json_decref(j);
}

static void test_record_exit_status_passed(void)
{
	static char out[8192], err[8192];
	char *const argv[] = { (char *)agentprof(), "record", "-q", "-o", out_dir, "--",
			       (char *)child(), "exit", "7", NULL };
	char *const argv_missing[] = { (char *)agentprof(), "record", "-q", "-o", out_dir, "--",
				       "/nonexistent/program", NULL };

	if (!have_programs())
		return;
	CU_ASSERT_EQUAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 7);
	CU_ASSERT_EQUAL(run_agentprof(argv_missing, out, sizeof(out), err, sizeof(err)), 127);
	CU_ASSERT(strstr(err, "cannot run") != NULL);
}

static void test_record_sigint_passed_to_cmd(void)
{
	static char json[65536], path[256], line[64];
	int o[2];
	pid_t pid;
	ssize_t n;

	if (!have_programs())
		return;
	CU_ASSERT_FATAL(pipe(o) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		execl(agentprof(), agentprof(), "record", "-q", "-o", out_dir, "--", child(), "wait",
		      (char *)NULL);
		_exit(99);
	}
	close(o[1]);
	n = read(o[0], line, sizeof(line) - 1);
	CU_ASSERT_FATAL(n > 0 && strncmp(line, "ready", 5) == 0);
	kill(pid, SIGINT);
	CU_ASSERT_EQUAL(t_wait(pid), 128 + SIGINT);
	close(o[0]);
	snprintf(path, sizeof(path), "%s/report.json", out_dir);
	CU_ASSERT_FATAL(read_file(path, json, sizeof(json)) == 0);
	CU_ASSERT(has(json, "spans_open", 1));
	CU_ASSERT(has(json, "exit_status", 128 + SIGINT));
	CU_ASSERT_EQUAL(leftover_segments(pid), 0);
	unlink(path);
}

static void test_usage_errors(void)
{
	static char out[8192], err[8192];
	char *const bad_flag[] = { (char *)agentprof(), "record", "--frobnicate", "--", "true", NULL };
	char *const bad_num[] = { (char *)agentprof(), "record", "--lanes", "0", "--", "true", NULL };
	char *const no_cmd[] = { (char *)agentprof(), "record", "--", NULL };
	char *const bad_sub[] = { (char *)agentprof(), "frob", NULL };

	if (!have_programs())
		return;
	CU_ASSERT_EQUAL(run_agentprof(bad_flag, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT(strstr(err, "unknown option '--frobnicate'") != NULL);
	CU_ASSERT_EQUAL(run_agentprof(bad_num, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT(strstr(err, "--lanes") != NULL);
	CU_ASSERT_EQUAL(run_agentprof(no_cmd, out, sizeof(out), err, sizeof(err)), 2);
	CU_ASSERT_EQUAL(run_agentprof(bad_sub, out, sizeof(out), err, sizeof(err)), 2);
}

/* --rule holds every threshold to its range: no infinity, no NaN, no
 * percentage over 100, no fractional or huge chain (a log's settings are
 * held to the same ranges when it is replayed). */
static void test_rule_ranges(void)
{
	static char out[8192], err[8192];
	static const char *const bad[] = { "slow_tool_ms=inf", "slow_tool_ms=nan", "tool_pct=101", "llm_self_pct=-1",
					   "llm_chain=0", "llm_chain=2.5", "llm_chain=1e30", "context_pct=1e308",
					   "slow_tool_ms=86400001", "nosuch=1", "tool_pct=" };
	static const char *const good[] = { "slow_tool_ms=86400000", "tool_pct=100", "llm_chain=1000",
					    "context_pct=0", "llm_self_pct=33.3333333" };

	if (!have_programs())
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const argv[] = { (char *)agentprof(), "record", "-q", "-o", out_dir, "--rule", (char *)bad[i],
				       "--", "true", NULL };

		CU_ASSERT_EQUAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 2);
		CU_ASSERT(strstr(err, "--rule takes NAME=VALUE") != NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *const argv[] = { (char *)agentprof(), "record", "-q", "-o", out_dir, "--rule", (char *)good[i],
				       "--", "true", NULL };

		CU_ASSERT_EQUAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 0);
	}
}

static void test_unwritable_output(void)
{
	static char out[8192], err[8192];
	char *const argv[] = { (char *)agentprof(), "record", "-o", "/proc/ap-test-no", "--",
			       (char *)child(), "exit", "0", NULL };

	if (!have_programs())
		return;
	CU_ASSERT_EQUAL(run_agentprof(argv, out, sizeof(out), err, sizeof(err)), 125);
	CU_ASSERT(strstr(err, "cannot create output directory /proc/ap-test-no") != NULL);
}

/* A full disk: a 64 KiB tmpfs, filled, in a private mount namespace. */
static int full_disk_child(void *arg)
{
	static char out[8192], err[8192];
	const char *dir = arg;
	char fill[160];
	char *const argv[] = { (char *)agentprof(), "record", "-o", (char *)dir, "--",
			       (char *)child(), "spans", "100", NULL };
	int fd, code;
	char block[4096];

	snprintf(fill, sizeof(fill), "%s/fill", dir);
	fd = open(fill, O_WRONLY | O_CREAT, 0600);
	memset(block, 'x', sizeof(block));
	while (fd >= 0 && write(fd, block, sizeof(block)) > 0)
		;
	close(fd);
	code = run_agentprof(argv, out, sizeof(out), err, sizeof(err));
	if (code != 125 || !strstr(err, "No space left on device"))
		return 1;
	/* Each report says its own error, the real one (report.txt said EIO). */
	if (!strstr(err, "report.txt: No space left on device") || !strstr(err, "report.json: No space left on device"))
		return 4;
	snprintf(fill, sizeof(fill), "%s/report.json.tmp", dir);
	if (access(fill, F_OK) == 0)
		return 2;	/* no partial file left */
	return strstr(out, "written 300") ? 0 : 3;	/* the counts still reach the user */
}

static void test_full_disk(void)
{
	if (!have_programs())
		return;
	CU_ASSERT_EQUAL(t_on_full_disk("full", full_disk_child), 0);
}

void t_register_record(void)
{
	CU_pSuite s = CU_add_suite("record", NULL, NULL);

	T_ADD(s, test_record_counts_exact);
	T_ADD(s, test_record_exit_status_passed);
	T_ADD(s, test_record_sigint_passed_to_cmd);
	T_ADD(s, test_process_drops_exact);
	T_ADD(s, test_killed_span_ends_at_death);
	T_ADD(s, test_usage_errors);
	T_ADD(s, test_rule_ranges);
	T_ADD(s, test_unwritable_output);
	T_ADD(s, test_full_disk);
}
