/* SPDX-License-Identifier: MIT */
/*
 * top.c - `agentprof top` against a known load: `--json` lists exactly the
 * spans open now, oldest first, and the operations' counts over the
 * window; `--once` prints them as a frame; the interactive view, driven in
 * tmux at a fixed size, draws the table, re-sorts on a key and, on q, exits
 * 0 and gives the terminal back as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "program.h"

static pid_t run(char *const argv[], const char *outfile)
{
	return t_spawn(argv, outfile, NULL);
}

struct hold {
	const char *seg;
	int done;		/* spans completed before holding */
	int ready_fd, go_fd;
};

/* `done` quick spans (every third failed), then two nested spans held open
 * until told. */
static int holder(void *arg)
{
	const struct hold *h = arg;
	uint64_t outer, inner, q = 0;
	char c = 1;

	if (ap_attach(h->seg))
		return 1;
	q = ap_name("quick:op");
	for (int i = 0; i < h->done; i++) {
		uint64_t s = ap_begin(q, AP_CAT_TOOL);

		if (i % 3 == 0)	/* every third fails: the operation's errors */
			ap_set_error(s, ap_name("TimeoutError"));
		ap_end(s);
	}
	outer = ap_begin(ap_name("hold:outer"), AP_CAT_LLM);
	t_sleep_ms(20);
	inner = ap_begin(ap_name("hold:inner"), AP_CAT_TOOL);
	if (write(h->ready_fd, &c, 1) != 1 || read(h->go_fd, &c, 1) != 1)
		return 1;
	ap_end(inner);
	ap_end(outer);
	return 0;
}

static json_t *top_json(const char *seg, const char *out)
{
	char *argv[] = { "agentprof", "top", "--segment", (char *)seg, "--json", NULL };

	if (t_wait(run(argv, out)) != 0)
		return NULL;
	return json_load_file(out, 0, NULL);
}

static void test_top_json_once(void)
{
	enum { W = 3, DONE = 10 };
	char seg[64], dir[128], out[160];
	struct hold h;
	int ready[2], go[2];
	pid_t serve, pids[W];
	json_t *j = NULL, *inf, *ops;
	char c = 1;

	if (!t_agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(seg, sizeof(seg), "/ap-test-top-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/ap-test-top-%d", (int)getpid());
	snprintf(out, sizeof(out), "%s.out", dir);
	{
		char *argv[] = { "agentprof", "serve", "-q", "--segment", seg, "-o", dir, NULL };

		serve = run(argv, NULL);
	}
	for (int i = 0; i < 500 && !t_shm_exists(seg); i++)
		t_sleep_ms(10);
	CU_ASSERT_FATAL(pipe(ready) == 0 && pipe(go) == 0);
	h.seg = seg;
	h.done = DONE;
	h.ready_fd = ready[1];
	h.go_fd = go[0];
	/* One after another: worker 0's spans are the oldest, then worker 1's. */
	for (int i = 0; i < W; i++) {
		pids[i] = t_fork(holder, &h);
		CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
	}
	/* The snapshot is replaced once a second: wait for one that has them all. */
	for (int i = 0; i < 40; i++) {
		json_decref(j);
		j = top_json(seg, out);
		if (j && json_integer_value(json_object_get(j, "in_flight_total")) == 2 * W)
			break;
		t_sleep_ms(100);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "in_flight_total")), 2 * W);
	inf = json_object_get(j, "in_flight");
	CU_ASSERT_EQUAL(json_array_size(inf), 2 * W);
	for (size_t i = 0; i < json_array_size(inf); i++) {
		json_t *s = json_array_get(inf, i);
		const char *name = json_string_value(json_object_get(s, "name"));
		json_int_t pid = json_integer_value(json_object_get(s, "pid"));

		/* Oldest first: worker 0's outer, its inner, worker 1's outer, ... */
		CU_ASSERT_EQUAL(pid, pids[i / 2]);
		CU_ASSERT_STRING_EQUAL(name, i % 2 ? "hold:inner" : "hold:outer");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "category")), i % 2 ? "tool" : "llm");
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "tid")), pid);
		if (i)
			CU_ASSERT(json_integer_value(json_object_get(s, "age_ms")) <=
				  json_integer_value(json_object_get(json_array_get(inf, i - 1), "age_ms")));
	}
	ops = json_object_get(j, "operations");
	{
		int seen = 0;
		double win = json_number_value(json_object_get(j, "window_s"));

		for (size_t i = 0; i < json_array_size(ops); i++) {
			json_t *o = json_array_get(ops, i);
			const char *name = json_string_value(json_object_get(o, "name"));

			if (strcmp(name, "quick:op") == 0) {
				seen++;
				CU_ASSERT_EQUAL(llround(json_number_value(json_object_get(o, "completions_per_s")) * win),
						W * DONE);
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "in_flight")), 0);
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "errors")), W * ((DONE + 2) / 3));
				CU_ASSERT(json_is_number(json_object_get(o, "p95_ms")));
			} else if (strcmp(name, "hold:outer") == 0 || strcmp(name, "hold:inner") == 0) {
				seen++;
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "in_flight")), W);
				CU_ASSERT_EQUAL(json_real_value(json_object_get(o, "completions_per_s")), 0);
				CU_ASSERT(json_is_null(json_object_get(o, "p50_ms")));
			}
		}
		CU_ASSERT_EQUAL(seen, 3);
	}
	json_decref(j);
	/* --once: the same as a frame, plain in a file. */
	{
		char *argv[] = { "agentprof", "top", "--segment", seg, "--once", NULL };
		char *txt, needle[32];

		CU_ASSERT_EQUAL(t_wait(run(argv, out)), 0);
		txt = t_slurp(out);
		CU_ASSERT_PTR_NOT_NULL(strstr(txt, "STUCK CALLS"));
		CU_ASSERT_PTR_NOT_NULL(strstr(txt, "in flight 6 spans in 3 traces"));
		CU_ASSERT_PTR_NOT_NULL(strstr(txt, "hold:outer"));
		CU_ASSERT_PTR_NULL(strchr(txt, '\033'));	/* not a terminal: no escapes */
		for (int i = 0; i < W; i++) {
			snprintf(needle, sizeof(needle), " %d ", (int)pids[i]);
			CU_ASSERT_PTR_NOT_NULL(strstr(txt, needle));
		}
	}
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(write(go[1], &c, 1), 1);
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(t_wait(pids[i]), 0);
	kill(serve, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(serve), 0);
	/* The snapshot goes with its serve. */
	{
		char p[256];

		snprintf(p, sizeof(p), "/dev/shm%s.top", seg);
		CU_ASSERT(access(p, F_OK) != 0);
	}
	unlink(out);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CU_ASSERT_EQUAL(system(cmd), 0);
	}
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* --- the interactive view in tmux --------------------------------------- */

/* Two operations, one slow (the most busy time) and one fast (the most
 * calls), until killed. */
static int mixed_worker(void *arg)
{
	const char *seg = arg;
	uint64_t slow, fast;

	if (ap_attach(seg))
		return 1;
	slow = ap_name("slow:op");
	fast = ap_name("fast:op");
	for (;;) {
		uint64_t s = ap_begin(slow, AP_CAT_TOOL);

		t_sleep_ms(60);
		ap_end(s);
		for (int k = 0; k < 30; k++)
			ap_end(ap_begin(fast, AP_CAT_MEMORY));
	}
	return 0;
}

static int tmux(const char *sock, const char *args)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "tmux -L %s %s >/dev/null 2>&1", sock, args);
	return system(cmd);
}

/* The pane's text into buf. */
static char *capture(const char *sock, const char *file)
{
	char args[300];

	snprintf(args, sizeof(args), "capture-pane -p -t top > %s", file);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "tmux -L %s %s 2>/dev/null", sock, args);
		if (system(cmd) != 0)
			return NULL;
	}
	return t_slurp(file);
}

/* Line number of the first line starting with name in the table, -1. */
static int row_of(const char *txt, const char *name)
{
	int line = 0;

	for (const char *p = txt; p && *p; line++) {
		if (strncmp(p, name, strlen(name)) == 0)
			return line;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

static void test_top_interactive_tmux(void)
{
	char seg[64], dir[128], sock[64], cap[160], args[1024], *txt;
	pid_t serve, w;
	int ok = 0;

	if (!t_agentprof())
		return;
	if (system("tmux -V >/dev/null 2>&1") != 0) {
		t_skip("tmux is not installed");
		return;
	}
	snprintf(seg, sizeof(seg), "/ap-test-toptty-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/ap-test-toptty-%d", (int)getpid());
	snprintf(sock, sizeof(sock), "ap-test-%d", (int)getpid());
	snprintf(cap, sizeof(cap), "%s.cap", dir);
	{
		char *argv[] = { "agentprof", "serve", "-q", "--segment", seg, "-o", dir, NULL };

		serve = run(argv, NULL);
	}
	for (int i = 0; i < 500 && !t_shm_exists(seg); i++)
		t_sleep_ms(10);
	w = t_fork(mixed_worker, seg);
	t_sleep_ms(2500);	/* a few slow calls in the window */
	snprintf(args, sizeof(args),
		 "new-session -d -s top -x 120 -y 40 \"printf 'BEFORE TOP\\n'; NO_COLOR= %s top --segment %s; "
		 "echo top-exit=\\$?; sleep 60\"", t_agentprof(), seg);
	CU_ASSERT_FATAL(tmux(sock, args) == 0);
	/* The table appears, sorted by busy time: the slow operation first. */
	for (int i = 0; i < 50 && !ok; i++) {
		t_sleep_ms(100);
		txt = capture(sock, cap);
		ok = txt && strstr(txt, "OPERATION") && row_of(txt, "slow:op") >= 0 && row_of(txt, "fast:op") >= 0;
	}
	CU_ASSERT_FATAL(ok);
	txt = capture(sock, cap);
	if (row_of(txt, "slow:op") > row_of(txt, "fast:op"))
		fprintf(stderr, "\n--- tmux 120x40, sorted by time ---\n%s", txt);
	CU_ASSERT(row_of(txt, "slow:op") < row_of(txt, "fast:op"));
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "sort: time"));
	CU_ASSERT_PTR_NULL(strstr(txt, "BEFORE TOP"));	/* the alternate screen */
	/* c: by count, the fast operation first. */
	tmux(sock, "send-keys -t top c");
	ok = 0;
	for (int i = 0; i < 30 && !ok; i++) {
		t_sleep_ms(100);
		txt = capture(sock, cap);
		ok = txt && strstr(txt, "sort: count");
	}
	CU_ASSERT(ok);
	if (!(row_of(txt, "fast:op") >= 0 && row_of(txt, "fast:op") < row_of(txt, "slow:op")))
		fprintf(stderr, "--- after c ---\n%s", txt);
	CU_ASSERT(row_of(txt, "fast:op") >= 0 && row_of(txt, "fast:op") < row_of(txt, "slow:op"));
	/* q: exit 0, the screen as it was before. */
	tmux(sock, "send-keys -t top q");
	ok = 0;
	for (int i = 0; i < 30 && !ok; i++) {
		t_sleep_ms(100);
		txt = capture(sock, cap);
		ok = txt && strstr(txt, "top-exit=");
	}
	CU_ASSERT(ok);
	if (!strstr(txt, "top-exit=0"))
		fprintf(stderr, "--- after q ---\n%s---\n", txt);
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "top-exit=0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "BEFORE TOP"));
	CU_ASSERT_PTR_NULL(strstr(txt, "OPERATION"));
	/* A terminal too small says so (a server of its own). */
	tmux(sock, "kill-server");
	snprintf(sock, sizeof(sock), "ap-test-%d-small", (int)getpid());
	snprintf(args, sizeof(args), "new-session -d -s top -x 50 -y 10 \"%s top --segment %s; sleep 60\"",
		 t_agentprof(), seg);
	CU_ASSERT(tmux(sock, args) == 0);
	ok = 0;
	for (int i = 0; i < 30 && !ok; i++) {
		t_sleep_ms(100);
		txt = capture(sock, cap);
		ok = txt && strstr(txt, "terminal 50x10 too small");
	}
	CU_ASSERT(ok);
	tmux(sock, "kill-server");
	kill(w, SIGKILL);
	t_wait(w);
	kill(serve, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(serve), 0);
	unlink(cap);
	snprintf(args, sizeof(args), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(args), 0);
}

/* record --top: the view on the terminal while CMD runs, gone before the
 * report (-q: no report printed, so the line from before the view is still
 * on the 40-row screen after it). */
static void test_record_top_tmux(void)
{
	char dir[128], sock[64], cap[160], args[1024], *txt = NULL;
	int ok = 0;

	if (!t_agentprof())
		return;
	if (system("tmux -V >/dev/null 2>&1") != 0) {
		t_skip("tmux is not installed");
		return;
	}
	snprintf(dir, sizeof(dir), "/tmp/ap-test-rectop-%d", (int)getpid());
	snprintf(sock, sizeof(sock), "ap-test-rec-%d", (int)getpid());
	snprintf(cap, sizeof(cap), "%s.cap", dir);
	snprintf(args, sizeof(args),
		 "new-session -d -s top -x 120 -y 40 \"printf 'BEFORE RECORD\\n'; %s record -q --top -o %s -- sleep 3; "
		 "echo record-exit=\\$?; sleep 60\"", t_agentprof(), dir);
	CU_ASSERT_FATAL(tmux(sock, args) == 0);
	for (int i = 0; i < 40 && !ok; i++) {
		t_sleep_ms(100);
		txt = capture(sock, cap);
		ok = txt && strstr(txt, "agentprof top") && strstr(txt, "OPERATION") && !strstr(txt, "BEFORE RECORD");
	}
	CU_ASSERT(ok);
	ok = 0;
	for (int i = 0; i < 80 && !ok; i++) {
		t_sleep_ms(100);
		txt = capture(sock, cap);
		ok = txt && strstr(txt, "record-exit=");
	}
	CU_ASSERT(ok);
	if (txt) {
		CU_ASSERT_PTR_NOT_NULL(strstr(txt, "record-exit=0"));
		CU_ASSERT_PTR_NOT_NULL(strstr(txt, "BEFORE RECORD"));	/* the screen given back */
		CU_ASSERT_PTR_NULL(strstr(txt, "STUCK CALLS"));
	}
	tmux(sock, "kill-server");
	unlink(cap);
	t_rm_rf(dir);
}

/* A snapshot left by a serve killed with -9 goes with the next agentprof;
 * one whose segment is there stays. */
static void test_stale_snapshot_removed(void)
{
	char stale[128], seg[128], live[140], dir[128];
	int fd;

	if (!t_agentprof())
		return;
	snprintf(stale, sizeof(stale), "/dev/shm/ap-test-stale-%d.top", (int)getpid());
	snprintf(seg, sizeof(seg), "/dev/shm/ap-test-kept-%d", (int)getpid());
	snprintf(live, sizeof(live), "%s.top", seg);
	snprintf(dir, sizeof(dir), "/tmp/ap-test-stale-%d", (int)getpid());
	for (int k = 0; k < 3; k++) {
		const char *p = k == 0 ? stale : k == 1 ? seg : live;

		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
	}
	{
		char *argv[] = { "agentprof", "record", "-q", "-o", dir, "--", "true", NULL };

		CU_ASSERT_EQUAL(t_wait(t_spawn(argv, NULL, NULL)), 0);
	}
	CU_ASSERT(access(stale, F_OK) != 0);
	CU_ASSERT(access(live, F_OK) == 0);
	unlink(seg);
	unlink(live);
	t_rm_rf(dir);
}

void t_register_top(void)
{
	CU_pSuite s = CU_add_suite("top", NULL, NULL);

	CU_add_test(s, "top --json and --once: exactly the open spans, oldest first; counts over the window",
		    test_top_json_once);
	CU_add_test(s, "top in tmux: the table, a sort key reorders it, q exits 0 and restores the screen",
		    test_top_interactive_tmux);
	CU_add_test(s, "record --top in tmux: the view while CMD runs, the terminal given back after",
		    test_record_top_tmux);
	CU_add_test(s, "a snapshot whose segment is gone is removed by the next agentprof", test_stale_snapshot_removed);
}
