/* SPDX-License-Identifier: MIT */
/*
 * main.c - the test runner.
 *
 *   agentprof-tests [-q] [--list] [--timeout S] [SUITE...]
 *
 * Runs the named suites (all by default), each in a forked process of its
 * own under its own timeout (default 300 s, AP_TEST_TIMEOUT overrides): a
 * suite that hangs is killed with every process it started (it leads a
 * process group) and reported as timed out, and a suite that crashes cannot
 * take the others with it. A test that could not exercise what it is for on
 * this machine (t_skip(): no tmpfs, not root) is reported as skipped, not
 * passed. -q prints only failures and the summary. Exits 1 if any test
 * failed or any suite timed out or crashed.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static void (*const registrars[])(void) = {
	t_register_hmap, t_register_hist, t_register_pb, t_register_ctx, t_register_abi, t_register_clock, t_register_attach,
	t_register_off,
	t_register_multiproc, t_register_drops, t_register_reentrant, t_register_killed,
	t_register_corrupt, t_register_traceparent, t_register_lane_reuse, t_register_inproc,
	t_register_record, t_register_trees, t_register_sampling, t_register_retain, t_register_evlog, t_register_diff,
	t_register_serve, t_register_memory, t_register_memattr, t_register_html_memory, t_register_timeout, t_register_fleet, t_register_top,
	t_register_fastpath,
};

/* What a suite's process reports to the runner through a pipe. */
struct suite_result {
	unsigned run, failed, skipped;
	char skips[1024];	/* "test: reason" lines of the skips */
};

static struct suite_result *current;

void t_skip(const char *reason)
{
	CU_pTest t = CU_get_current_test();
	const char *name = t ? t->pName : "?";
	size_t n;

	fprintf(stderr, "\n    SKIPPED: %s\n", reason);
	if (!current)
		return;
	/* One skip per test, whatever the number of reasons. */
	if (!strstr(current->skips, name))
		current->skipped++;
	n = strlen(current->skips);
	snprintf(current->skips + n, sizeof(current->skips) - n, "    %s: %s\n", name, reason);
}

static void register_all(void)
{
	for (size_t i = 0; i < sizeof(registrars) / sizeof(registrars[0]); i++)
		registrars[i]();
}

/* In the suite's own process (it inherits the registry): run it, report, exit. */
static void run_suite(const char *name, int quiet, int fd)
{
	struct suite_result res;
	ssize_t w;

	memset(&res, 0, sizeof(res));
	current = &res;
	if (quiet) {	/* CUnit prints its summary whatever the mode: keep stdout for ours */
		fflush(stdout);
		if (!freopen("/dev/null", "w", stdout))
			_exit(2);
	}
	CU_basic_set_mode(quiet ? CU_BRM_SILENT : CU_BRM_VERBOSE);
	CU_basic_run_suite(CU_get_suite(name));
	res.run = CU_get_number_of_tests_run();
	res.failed = CU_get_number_of_tests_failed();
	for (CU_pFailureRecord f = CU_get_failure_list(); quiet && f; f = f->pNext)
		fprintf(stderr, "  %s: %s: %s:%u: %s\n", name, f->pTest ? f->pTest->pName : "?",
			f->strFileName ? f->strFileName : "?", f->uiLineNumber,
			f->strCondition ? f->strCondition : "?");
	fflush(stdout);
	fflush(stderr);
	w = write(fd, &res, sizeof(res));
	_exit(w == (ssize_t)sizeof(res) && res.failed == 0 ? 0 : 1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run suite `name` in a process of its own. Returns 0 pass, 1 fail, 2
 * timed out or crashed; *res is what it reported. */
static int fork_suite(const char *name, int quiet, unsigned timeout_s, struct suite_result *res, double *secs)
{
	int fds[2], status = 0;
	double t0 = now_s();
	pid_t pid;
	ssize_t got = 0;

	memset(res, 0, sizeof(*res));
	if (pipe(fds))
		return 2;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		setpgid(0, 0);	/* the suite and every worker it forks: one group to kill */
		close(fds[0]);
		alarm(0);
		run_suite(name, quiet, fds[1]);
	}
	setpgid(pid, pid);
	close(fds[1]);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
		if (now_s() - t0 > timeout_s) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(fds[0]);
			*secs = now_s() - t0;
			fprintf(stderr, "agentprof-tests: suite %s timed out after %u s (killed)\n", name, timeout_s);
			return 2;
		}
		{
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	kill(-pid, SIGKILL);	/* a worker the suite left behind */
	got = read(fds[0], res, sizeof(*res));
	close(fds[0]);
	*secs = now_s() - t0;
	if (got != (ssize_t)sizeof(*res) || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fprintf(stderr, "agentprof-tests: suite %s ended without a report (%s %d)\n", name,
			WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return 2;
	}
	return res->failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("AP_TEST_TIMEOUT");
	unsigned timeout_s = env && atoi(env) > 0 ? (unsigned)atoi(env) : 300;
	int quiet = 0, list = 0, bad = 0, nwanted = 0;
	unsigned t_run = 0, t_failed = 0, t_skipped = 0, suites = 0;
	const char *wanted[64];
	char skips[8192] = "";

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-q") == 0)
			quiet = 1;
		else if (strcmp(argv[a], "--list") == 0)
			list = 1;
		else if (strcmp(argv[a], "--timeout") == 0 && a + 1 < argc && atoi(argv[a + 1]) > 0)
			timeout_s = (unsigned)atoi(argv[++a]);
		else if (argv[a][0] == '-' || nwanted == 64) {
			fprintf(stderr, "usage: agentprof-tests [-q] [--list] [--timeout S] [SUITE...]\n");
			return 2;
		} else
			wanted[nwanted++] = argv[a];
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	register_all();
	for (int w = 0; w < nwanted; w++) {
		CU_pSuite s = CU_get_suite(wanted[w]);

		if (!s) {
			fprintf(stderr, "agentprof-tests: no suite '%s' (--list shows them)\n", wanted[w]);
			CU_cleanup_registry();
			return 2;
		}
	}
	if (list) {
		for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
			printf("%s\n", s->pName);
		CU_cleanup_registry();
		return 0;
	}
	printf("%-12s %6s %6s %6s %7s %8s\n", "suite", "tests", "passed", "failed", "skipped", "seconds");
	for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
		struct suite_result res;
		double secs = 0;
		int w, rc;

		for (w = 0; w < nwanted && strcmp(wanted[w], s->pName); w++)
			;
		if (nwanted && w == nwanted)
			continue;
		rc = fork_suite(s->pName, quiet, timeout_s, &res, &secs);
		suites++;
		bad |= rc != 0;
		t_run += res.run;
		t_failed += res.failed;
		t_skipped += res.skipped;
		if (res.skipped) {
			size_t n = strlen(skips);

			snprintf(skips + n, sizeof(skips) - n, "  %s:\n%s", s->pName, res.skips);
		}
		printf("%-12s %6u %6u %6u %7u %8.1f%s\n", s->pName, res.run, res.run - res.failed - res.skipped,
		       res.failed, res.skipped, secs, rc == 2 ? "  TIMED OUT OR CRASHED" : rc ? "  FAILED" : "");
		fflush(stdout);
	}
	CU_cleanup_registry();
	printf("%-12s %6u %6u %6u %7u\n", "total", t_run, t_run - t_failed - t_skipped, t_failed, t_skipped);
	if (*skips)
		printf("skipped (not exercised on this machine):\n%s", skips);
	printf("agentprof-tests: %u suites, %s\n", suites, bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
