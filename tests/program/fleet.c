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
#include <time.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "program.h"

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

	if (!t_agentprof()) {
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

		serve = t_spawn(argv, NULL, NULL);
	}
	CU_ASSERT_FATAL(t_wait_shm(seg, 5000));
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

	j = t_load(dir, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* Both roots timed out; the slow root's END came after: late. */
	CU_ASSERT_EQUAL(t_jint(j, "counts", "traces_timed_out"), 2);
	CU_ASSERT_EQUAL(t_jint(j, "counts", "late_events"), 1);
	CU_ASSERT_EQUAL(t_jint(j, "counts", "spans_open"), 2);
	CU_ASSERT_EQUAL(t_jint(j, "counts", "spans_complete"), 2);	/* the child, the quick trace */
	CU_ASSERT_EQUAL(t_jint(j, "counts", "spans_end_without_begin"), 0);
	CU_ASSERT_EQUAL(t_jint(j, "counts", "read"), 6 + 1);	/* events, CLAIMs not counted */
	CU_ASSERT_EQUAL(t_jint(j, "counts", "written"), 6 + 1);
	CU_ASSERT_EQUAL(t_jint(j, "structure", "traces"), 3);
	/* The slow root ends at its last event, its child's END: about 0 ms,
	 * not the 1.5 s until its late END. */
	{
		json_t *ops = json_object_get(j, "operations");
		int found = 0;

		for (size_t i = 0; i < json_array_size(ops); i++) {
			json_t *o = json_array_get(ops, i);

			if (strcmp(json_string_value(json_object_get(o, "name")), "slow:root") == 0) {
				found = 1;
				CU_ASSERT_EQUAL(t_jint(o, NULL, "truncated"), 1);
			}
		}
		CU_ASSERT(found);
	}
	/* The replay of the log hands on the same traces. */
	{
		char *argv[] = { "agentprof", "report", "-q", "-o", dir2, logf, NULL };

		rep = t_spawn(argv, NULL, NULL);
		CU_ASSERT_EQUAL(t_wait(rep), 0);
	}
	k = t_load(dir2, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(t_jint(k, "counts", "traces_timed_out"), 2);
	CU_ASSERT_EQUAL(t_jint(k, "counts", "late_events"), 1);
	CU_ASSERT_EQUAL(t_jint(k, "counts", "spans_open"), 2);
	CU_ASSERT_EQUAL(t_jint(k, "counts", "spans_complete"), 2);
	json_decref(j);
	json_decref(k);
	t_rm_rf(dir);
	t_rm_rf(dir2);
	unlink(logf);
}

/* --- readers that come and go ----------------------------------------- */

/* What a worker knows it did, sent to the test through a pipe. */
struct tally {
	int32_t pid;
	uint32_t pad;
	uint64_t begun, no_reader;
	uint64_t recorded, dropped;	/* events (ap_stats) */
};

struct lw {
	const char *seg;	/* NULL: lazily from $AGENTPROF_SHM */
	unsigned ms;		/* record for this long */
	unsigned us;		/* between a span's begin and end (0: 200) */
	int out_fd;
};

/* Spans for `ms` milliseconds, one every ~200 us; tells its tally. */
static int loop_worker(void *arg)
{
	const struct lw *w = arg;
	struct tally t;
	uint64_t name, deadline;
	struct timespec ts;

	memset(&t, 0, sizeof(t));
	t.pid = (int32_t)getpid();
	if (w->seg && ap_attach(w->seg) != -ENOENT && !ap_enabled())
		return 1;
	name = ap_name("fleet:step");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + w->ms;
	for (;;) {
		uint64_t s;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 >= deadline)
			break;
		s = ap_begin(name, AP_CAT_TOOL);
		t.begun++;
		usleep(w->us ? w->us : 200);
		ap_end(s);
	}
	t.no_reader = ap_spans_no_reader();
	{
		struct ap_stats st;

		ap_stats(&st);
		t.recorded = st.recorded;
		t.dropped = st.dropped_full + st.dropped_no_lane + st.dropped_reentrant;
	}
	if (write(w->out_fd, &t, sizeof(t)) != (ssize_t)sizeof(t))
		return 1;
	return 0;
}

static json_t *proc_row(json_t *report, int pid)
{
	json_t *procs = json_object_get(report, "processes");

	for (size_t i = 0; i < json_array_size(procs); i++)
		if (t_jint(json_array_get(procs, i), NULL, "pid") == pid)
			return json_array_get(procs, i);
	return NULL;
}

static pid_t serve_at(const char *seg, const char *dir, const char *errfile)
{
	char *argv[] = { "agentprof", "serve", "--segment", (char *)seg, "-o", (char *)dir, NULL };

	return t_spawn(argv, NULL, errfile);
}

/* Workers started 2 s before serve: they wait, look again, and record every
 * span from the moment they find the segment; what they could not record
 * before is theirs to count and the reader's to report, exactly. */
static void test_workers_before_serve(void)
{
	enum { W = 2 };
	char seg[64], dir[128];
	struct lw w;
	int fds[2];
	pid_t pids[W], serve;
	struct tally t[W];
	json_t *j;

	if (!t_agentprof())
		return;
	snprintf(seg, sizeof(seg), "/ap-test-early-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/ap-test-early-%d", (int)getpid());
	CU_ASSERT_FATAL(pipe(fds) == 0);
	w.seg = NULL;
	w.ms = 4000;
	w.us = 0;
	w.out_fd = fds[1];
	setenv("AGENTPROF_SHM", seg, 1);
	for (int i = 0; i < W; i++)
		pids[i] = t_fork(loop_worker, &w);
	unsetenv("AGENTPROF_SHM");
	close(fds[1]);
	t_sleep_ms(2000);
	serve = serve_at(seg, dir, NULL);
	CU_ASSERT(t_wait_shm(seg, 5000));
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(t_wait(pids[i]), 0);
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(read(fds[0], &t[i], sizeof(t[i])), (ssize_t)sizeof(t[i]));
	close(fds[0]);
	kill(serve, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(serve), 0);
	j = t_load(dir, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(t_jint(j, "counts", "dropped_full") + t_jint(j, "counts", "dropped_no_lane"), 0);
	CU_ASSERT_EQUAL(t_jint(j, "counts", "written"), t_jint(j, "counts", "read"));
	for (int i = 0; i < W; i++) {
		json_t *p = proc_row(j, t[i].pid);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		/* About 2 s of spans could not be recorded, and are said to be. */
		CU_ASSERT(t[i].no_reader > 100);
		CU_ASSERT_EQUAL(t_jint(p, NULL, "spans_no_reader"), (json_int_t)t[i].no_reader);
		/* Every span after that was recorded. */
		CU_ASSERT_EQUAL(t_jint(p, NULL, "spans") + t_jint(p, NULL, "spans_no_reader"), (json_int_t)t[i].begun);
		CU_ASSERT(t_jint(p, NULL, "spans") > 100);
	}
	CU_ASSERT_EQUAL(t_jint(j, "counts", "spans_no_reader"), (json_int_t)(t[0].no_reader + t[1].no_reader));
	json_decref(j);
	t_rm_rf(dir);
}

/* serve stopped (SIGINT) while 4 workers record and started again under the
 * same name 1 s later: per worker, what the first reader read, what the
 * second read and what the worker could not record in between add up to
 * exactly what it began. The first says which processes were attached. */
static void test_serve_restart(void)
{
	enum { W = 4 };
	char seg[64], dir1[100], dir2[128], errf[160], *err;
	struct lw w;
	int fds[2];
	pid_t pids[W], s1, s2;
	struct tally t[W];
	json_t *j1, *j2, *att;
	uint64_t gap = 0;

	if (!t_agentprof())
		return;
	snprintf(seg, sizeof(seg), "/ap-test-restart-%d", (int)getpid());
	snprintf(dir1, sizeof(dir1), "/tmp/ap-test-restart-%d", (int)getpid());
	snprintf(dir2, sizeof(dir2), "%s-b", dir1);
	snprintf(errf, sizeof(errf), "%s.err", dir1);
	s1 = serve_at(seg, dir1, errf);
	CU_ASSERT_FATAL(t_wait_shm(seg, 5000));
	CU_ASSERT_FATAL(pipe(fds) == 0);
	w.seg = seg;
	w.ms = 5000;	/* the second serve comes at about 2 s; looks are a second apart */
	w.us = 0;
	w.out_fd = fds[1];
	for (int i = 0; i < W; i++)
		pids[i] = t_fork(loop_worker, &w);
	close(fds[1]);
	t_sleep_ms(1000);
	kill(s1, SIGINT);
	CU_ASSERT_EQUAL(t_wait(s1), 0);
	CU_ASSERT_FALSE(t_shm_exists(seg));
	t_sleep_ms(1000);
	s2 = serve_at(seg, dir2, NULL);
	CU_ASSERT(t_wait_shm(seg, 5000));
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(t_wait(pids[i]), 0);
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(read(fds[0], &t[i], sizeof(t[i])), (ssize_t)sizeof(t[i]));
	close(fds[0]);
	kill(s2, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(s2), 0);

	j1 = t_load(dir1, "report.json");
	j2 = t_load(dir2, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j2);
	/* The first reader read everything its writers published. */
	CU_ASSERT_EQUAL(t_jint(j1, "counts", "in_ring"), 0);
	CU_ASSERT_EQUAL(t_jint(j1, "counts", "written"), t_jint(j1, "counts", "read"));
	CU_ASSERT_EQUAL(t_jint(j2, "counts", "written"), t_jint(j2, "counts", "read"));
	att = json_object_get(json_object_get(j1, "stopped_attached"), "processes");
	CU_ASSERT_EQUAL(json_array_size(att), W);
	err = t_slurp(errf);
	for (int i = 0; i < W; i++) {
		json_t *p1 = proc_row(j1, t[i].pid), *p2 = proc_row(j2, t[i].pid);
		char needle[32];
		int listed = 0;

		CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
		CU_ASSERT(t[i].no_reader > 0);
		CU_ASSERT_EQUAL(t_jint(p2, NULL, "spans_no_reader"), (json_int_t)t[i].no_reader);
		CU_ASSERT_EQUAL(t_jint(p1, NULL, "spans") + t_jint(p2, NULL, "spans") + (json_int_t)t[i].no_reader,
				(json_int_t)t[i].begun);
		gap += t[i].no_reader;
		for (size_t k = 0; k < json_array_size(att); k++) {
			json_t *a = json_array_get(att, k);

			if (t_jint(a, NULL, "pid") == t[i].pid) {
				listed = 1;
				CU_ASSERT(json_is_true(json_object_get(a, "released")));
			}
		}
		CU_ASSERT(listed);
		snprintf(needle, sizeof(needle), "pid %d (", t[i].pid);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "4 let go of their lanes"));
	CU_ASSERT_EQUAL(t_jint(j2, "counts", "spans_no_reader"), (json_int_t)gap);
	json_decref(j1);
	json_decref(j2);
	unlink(errf);
	t_rm_rf(dir1);
	t_rm_rf(dir2);
}

/* --- a reader killed with -9 and replaced -------------------------------- */

static pid_t serve_iv(const char *seg, const char *dir, const char *interval, const char *lane_events)
{
	char *argv[] = { "agentprof", "serve", "-q", "--segment", (char *)seg, "-o", (char *)dir, "--interval",
			 (char *)interval, "--lane-events", (char *)lane_events, NULL };

	return t_spawn(argv, NULL, NULL);
}

/* serve dumping every 0.5 s, killed with -9 between two dumps while 2
 * workers record; a new serve 0.5 s later takes over. Per worker, every
 * event it recorded is in exactly one place: the dead reader's last report,
 * the new reader's report (read again from the ring, or read later), or
 * counted as lost with the dead reader. */
static void killed_replaced(unsigned us, int overrun)
{
	enum { W = 2 };
	char seg[64], dir1[100], dir2[128];
	struct lw w;
	int fds[2];
	pid_t pids[W], s1, s2;
	struct tally t[W];
	json_t *j1, *j2;
	json_int_t lost = 0;

	if (!t_agentprof())
		return;
	snprintf(seg, sizeof(seg), "/ap-test-kill9-%d", (int)getpid());
	snprintf(dir1, sizeof(dir1), "/tmp/ap-test-kill9-%d", (int)getpid());
	snprintf(dir2, sizeof(dir2), "%s-b", dir1);
	s1 = serve_iv(seg, dir1, "1", overrun ? "256" : "4096");
	CU_ASSERT_FATAL(t_wait_shm(seg, 5000));
	CU_ASSERT_FATAL(pipe(fds) == 0);
	w.seg = seg;
	w.ms = 3000;
	w.us = us;
	w.out_fd = fds[1];
	for (int i = 0; i < W; i++)
		pids[i] = t_fork(loop_worker, &w);
	close(fds[1]);
	/* Between two dumps, after the second one is on disk and the reader
	 * has seen it land (a report landing as the reader dies is in doubt:
	 * report_in_flight_seq, README). */
	for (int i = 0; i < 500; i++) {
		json_t *d = t_load(dir1, "report.json");
		json_int_t n = d ? t_jint(d, "dumps", "reports") : 0;

		json_decref(d);
		if (n >= 2)
			break;
		t_sleep_ms(10);
	}
	t_sleep_ms(250);
	kill(s1, SIGKILL);
	CU_ASSERT_EQUAL(t_wait(s1), 128 + SIGKILL);
	t_sleep_ms(500);
	s2 = serve_iv(seg, dir2, "0.5", overrun ? "256" : "4096");
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(t_wait(pids[i]), 0);
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(read(fds[0], &t[i], sizeof(t[i])), (ssize_t)sizeof(t[i]));
	close(fds[0]);
	t_sleep_ms(200);
	kill(s2, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(s2), 0);
	j1 = t_load(dir1, "report.json");
	j2 = t_load(dir2, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j2);
	/* The new reader counted from the dead one's last report on disk. */
	CU_ASSERT_EQUAL(t_jint(j2, "takeover", "reported_seq"), t_jint(j1, "dumps", "reports"));
	CU_ASSERT(t_jint(j2, "takeover", "reported_seq") >= 2);
	CU_ASSERT_EQUAL(t_jint(j2, "takeover", "report_in_flight_seq"), 0);
	CU_ASSERT_EQUAL(t_jint(j2, "takeover", "lanes_unaccounted"), 0);
	CU_ASSERT_EQUAL(t_jint(j2, "counts", "lost_unattributed"), 0);
	CU_ASSERT_EQUAL(t_jint(j2, "counts", "written"), t_jint(j2, "counts", "read") + t_jint(j2, "counts", "dropped_full"));
	CU_ASSERT_EQUAL(t_jint(j2, "counts", "in_ring"), 0);
	for (int i = 0; i < W; i++) {
		json_t *p1 = proc_row(j1, t[i].pid), *p2 = proc_row(j2, t[i].pid);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
		/* Drops while no reader read: counted from the dead one's report. */
		CU_ASSERT_EQUAL(t_jint(p1, NULL, "dropped") + t_jint(p2, NULL, "dropped"), (json_int_t)t[i].dropped);
		if (!overrun)
			CU_ASSERT_EQUAL(t[i].dropped, 0);
		if (t_jint(p1, NULL, "events") + t_jint(p2, NULL, "events") + t_jint(p2, NULL, "lost_with_dead_reader") !=
		    (json_int_t)t[i].recorded)
			fprintf(stderr, "worker %d: recorded %llu dropped %llu; dead reader %lld, new %lld, lost %lld, "
				"read again %lld\n", t[i].pid, (unsigned long long)t[i].recorded,
				(unsigned long long)t[i].dropped, (long long)t_jint(p1, NULL, "events"),
				(long long)t_jint(p2, NULL, "events"), (long long)t_jint(p2, NULL, "lost_with_dead_reader"),
				(long long)t_jint(j2, "counts", "reread_after_takeover"));
		CU_ASSERT_EQUAL(t_jint(p1, NULL, "events") + t_jint(p2, NULL, "events") +
					t_jint(p2, NULL, "lost_with_dead_reader"),
				(json_int_t)t[i].recorded);
		lost += t_jint(p2, NULL, "lost_with_dead_reader");
	}
	CU_ASSERT_EQUAL(t_jint(j2, "counts", "lost_with_dead_reader"), lost);
	if (!overrun) {
		/* What the dead reader read after its last dump was still in
		 * the rings (4,096 events a lane): read again, none lost. */
		CU_ASSERT(t_jint(j2, "counts", "reread_after_takeover") > 0);
		CU_ASSERT_EQUAL(lost, 0);
	} else {
		/* The writers went on a ring's length past it: the oldest of
		 * it was overwritten, counted lost, per process. */
		CU_ASSERT(lost > 0);
	}
	json_decref(j1);
	json_decref(j2);
	t_rm_rf(dir1);
	t_rm_rf(dir2);
}

/* About 1,800 events a second a worker, as agents make them. */
static void test_reader_killed_replaced(void)
{
	killed_replaced(1000, 0);
}

/* Lanes of 256 events: the writers run over what was not reported, and
 * fill their rings while no reader reads. */
static void test_reader_killed_overrun(void)
{
	killed_replaced(200, 1);
}

void t_register_fleet(void)
{
	CU_pSuite s = CU_add_suite("fleet", NULL, NULL);

	CU_add_test(s, "trace timeout: timed-out traces incomplete, late events counted, replay agrees",
		    test_trace_timeout);
	CU_add_test(s, "workers before serve: they look again, every span accounted per worker",
		    test_workers_before_serve);
	CU_add_test(s, "serve stopped and restarted under 4 workers: per-worker accounting, attached named",
		    test_serve_restart);
	CU_add_test(s, "serve killed with -9 and replaced: every event in one report or counted lost, per worker",
		    test_reader_killed_replaced);
	CU_add_test(s, "serve killed with -9, writers overrun the unreported events: counted lost, exactly",
		    test_reader_killed_overrun);
}
