/* SPDX-License-Identifier: MIT */
/*
 * fleet.c - a fleet that runs for days, through the built program: traces
 * that never complete are handed on by the trace timeout (and their late
 * events counted, also in a replay of the log); workers started before
 * `serve`, and a `serve` stopped and started again under the same name,
 * with every span accounted for per worker; a serve stopped while workers
 * are attached says who they are; a reader killed with -9 and replaced
 * loses nothing it cannot count.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"

static const char *agentprof(void) { return getenv("AP_AGENTPROF"); }

/* Run agentprof with argv (NULL-terminated, argv[0] included); stdout and
 * stderr into files when given, else /dev/null. */
static pid_t spawn(char *const argv[], const char *outfile, const char *errfile)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int o = outfile ? open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;
		int e = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;

		dup2(o, 1);
		dup2(e, 2);
		execv(agentprof(), argv);
		_exit(99);
	}
	return pid;
}

static int shm_exists(const char *seg)
{
	char path[256];

	snprintf(path, sizeof(path), "/dev/shm%s", seg);
	return access(path, F_OK) == 0;
}

static int wait_shm(const char *seg, unsigned ms)
{
	for (unsigned i = 0; i < ms / 5; i++) {
		if (shm_exists(seg))
			return 1;
		t_sleep_ms(5);
	}
	return 0;
}

static json_t *load(const char *dir, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return json_load_file(path, 0, NULL);
}

static json_int_t jint(json_t *root, const char *obj, const char *key)
{
	json_t *o = obj ? json_object_get(root, obj) : root;

	return json_integer_value(json_object_get(o, key));
}

static void rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "fleet: could not remove %s\n", path);
}

/* --- the trace timeout ------------------------------------------------ */

struct tw {
	const char *seg;
	int ready_fd;
};

/* A root with a child that ends; the root's END comes 1.5 s later (after
 * the timeout), then one ordinary trace. */
static int slow_worker(void *arg)
{
	const struct tw *w = arg;
	uint64_t r, c;

	if (ap_attach(w->seg))
		return 1;
	r = ap_begin(ap_name("slow:root"), AP_CAT_INTERNAL);
	c = ap_begin(ap_name("slow:child"), AP_CAT_TOOL);
	ap_end(c);
	t_sleep_ms(1500);
	ap_end(r);
	ap_end(ap_begin(ap_name("quick"), AP_CAT_INTERNAL));
	ap_detach();
	return 0;
}

/* A root left open, then killed. */
static int dying_worker(void *arg)
{
	const struct tw *w = arg;
	char c = 1;

	if (ap_attach(w->seg))
		return 1;
	ap_begin(ap_name("dying:root"), AP_CAT_LLM);
	if (write(w->ready_fd, &c, 1) != 1)
		return 1;
	for (;;)
		pause();
	return 0;
}

static void test_trace_timeout(void)
{
	char seg[64], dir[100], dir2[128], logf[160];
	struct tw w;
	int ready[2];
	pid_t serve, a, b, rep;
	json_t *j, *k;
	char c;

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(seg, sizeof(seg), "/ap-test-timeout-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/ap-test-timeout-%d", (int)getpid());
	snprintf(dir2, sizeof(dir2), "%s-replay", dir);
	snprintf(logf, sizeof(logf), "%s.log", dir);
	unlink(logf);
	{
		char *argv[] = { "agentprof", "serve", "-q", "--segment", seg, "-o", dir, "--trace-timeout", "0.5",
				 "--log", logf, NULL };

		serve = spawn(argv, NULL, NULL);
	}
	CU_ASSERT_FATAL(wait_shm(seg, 5000));
	CU_ASSERT_FATAL(pipe(ready) == 0);
	w.seg = seg;
	w.ready_fd = ready[1];
	a = t_fork(slow_worker, &w);
	b = t_fork(dying_worker, &w);
	close(ready[1]);
	CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
	kill(b, SIGKILL);
	CU_ASSERT_EQUAL(t_wait(b), 128 + SIGKILL);
	CU_ASSERT_EQUAL(t_wait(a), 0);
	t_sleep_ms(300);	/* the quick trace is drained */
	kill(serve, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(serve), 0);
	close(ready[0]);

	j = load(dir, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* Both roots timed out; the slow root's END came after: late. */
	CU_ASSERT_EQUAL(jint(j, "counts", "traces_timed_out"), 2);
	CU_ASSERT_EQUAL(jint(j, "counts", "late_events"), 1);
	CU_ASSERT_EQUAL(jint(j, "counts", "spans_open"), 2);
	CU_ASSERT_EQUAL(jint(j, "counts", "spans_complete"), 2);	/* the child, the quick trace */
	CU_ASSERT_EQUAL(jint(j, "counts", "spans_end_without_begin"), 0);
	CU_ASSERT_EQUAL(jint(j, "counts", "read"), 6 + 1);	/* events, CLAIMs not counted */
	CU_ASSERT_EQUAL(jint(j, "counts", "written"), 6 + 1);
	CU_ASSERT_EQUAL(jint(j, "structure", "traces"), 3);
	/* The slow root ends at its last event, its child's END: about 0 ms,
	 * not the 1.5 s until its late END. */
	{
		json_t *ops = json_object_get(j, "operations");
		int found = 0;

		for (size_t i = 0; i < json_array_size(ops); i++) {
			json_t *o = json_array_get(ops, i);

			if (strcmp(json_string_value(json_object_get(o, "name")), "slow:root") == 0) {
				found = 1;
				CU_ASSERT_EQUAL(jint(o, NULL, "truncated"), 1);
			}
		}
		CU_ASSERT(found);
	}
	/* The replay of the log hands on the same traces. */
	{
		char *argv[] = { "agentprof", "report", "-q", "-o", dir2, logf, NULL };

		rep = spawn(argv, NULL, NULL);
		CU_ASSERT_EQUAL(t_wait(rep), 0);
	}
	k = load(dir2, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(jint(k, "counts", "traces_timed_out"), 2);
	CU_ASSERT_EQUAL(jint(k, "counts", "late_events"), 1);
	CU_ASSERT_EQUAL(jint(k, "counts", "spans_open"), 2);
	CU_ASSERT_EQUAL(jint(k, "counts", "spans_complete"), 2);
	json_decref(j);
	json_decref(k);
	rm_rf(dir);
	rm_rf(dir2);
	unlink(logf);
}

void t_register_fleet(void)
{
	CU_pSuite s = CU_add_suite("fleet", NULL, NULL);

	CU_add_test(s, "trace timeout: timed-out traces incomplete, late events counted, replay agrees",
		    test_trace_timeout);
}
