/* SPDX-License-Identifier: MIT */
/*
 * serve.c - `agentprof serve` and periodic dumps, through the built program
 * and the dumper itself: exact counts from workers started separately, the
 * final report on SIGTERM and no segment left; a live reader's segment
 * refused and a dead one's taken over with exact counts; io_uring and the
 * writer thread writing the same bytes; a dump that fails on a full disk
 * keeping the previous file; every dump whole when the reader is killed at
 * random moments.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "dump.h"
#include "helpers.h"

static const char *agentprof(void) { return getenv("AP_AGENTPROF"); }

/* Start agentprof serve; stderr into errfile when given. */
static pid_t start_serve(const char *seg, const char *dir, const char *interval, const char *errfile)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int e = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;

		dup2(null, 1);
		dup2(e, 2);
		if (interval)
			execl(agentprof(), "agentprof", "serve", "-q", "--segment", seg, "-o", dir, "--interval",
			      interval, (char *)NULL);
		else
			execl(agentprof(), "agentprof", "serve", "-q", "--segment", seg, "-o", dir, (char *)NULL);
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

/* Wait up to ms for the segment to appear. */
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

/* Wait up to ms until DIR/report.json says `read` events; 1 when it did. */
static int wait_read(const char *dir, json_int_t read, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++) {
		json_t *j = load(dir, "report.json");
		json_int_t got = j ? jint(j, "counts", "read") : -1;

		json_decref(j);
		if (got == read)
			return 1;
		t_sleep_ms(10);
	}
	return 0;
}

struct wargs {
	const char *seg;
	unsigned spans;
	int go_fd, ready_fd;	/* two phases: spans, ready, wait for go, spans again */
};

static int worker(void *arg)
{
	const struct wargs *w = arg;
	uint64_t name = 0, llm = 0;
	char c = 1;

	int ret = ap_attach(w->seg);

	if (ret) {
		fprintf(stderr, "worker: attach %s: %s\n", w->seg, ap_strerror(ret));
		return 1;
	}
	name = ap_name("serve:job");
	llm = ap_name("llm:answer");
	for (int phase = 0; phase < (w->go_fd >= 0 ? 2 : 1); phase++) {
		if (phase == 1 && (write(w->ready_fd, &c, 1) != 1 || read(w->go_fd, &c, 1) != 1))
			return 1;
		for (unsigned i = 0; i < w->spans; i++) {
			uint64_t r = ap_begin(name, AP_CAT_INTERNAL), l = ap_begin(llm, AP_CAT_LLM);

			ap_set_tokens(l, ap_name("gpt-4o"), 100, 10);
			ap_end(l);
			ap_end(r);
		}
	}
	ap_detach();
	return 0;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Workers started on their own; dumps while they run; SIGTERM: the final
 * report with exact counts, and the segment gone. */
static void test_serve_counts(void)
{
	enum { W = 3, SPANS = 400 };
	char seg[64], dir[128];
	struct wargs w = { seg, SPANS, -1, -1 };
	pid_t serve, pids[W];
	json_t *j, *procs;
	int matched = 0;

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(seg, sizeof(seg), "/ap-test-serve-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/ap-test-serve-%d", (int)getpid());
	serve = start_serve(seg, dir, "0.05", NULL);
	CU_ASSERT_FATAL(wait_shm(seg, 5000));
	for (int i = 0; i < W; i++)
		pids[i] = t_fork(worker, &w);
	for (int i = 0; i < W; i++)
		CU_ASSERT_EQUAL(t_wait(pids[i]), 0);
	/* The periodic cumulative report catches up without a stop. */
	CU_ASSERT(wait_read(dir, (json_int_t)W * SPANS * 5, 5000));
	/* interval.json of the same dump may land a moment after report.json:
	 * the files of one dump are written independently. */
	for (int i = 0; i < 500 && !(j = load(dir, "interval.json")); i++)
		t_sleep_ms(10);
	CU_ASSERT_PTR_NOT_NULL(j);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "interval"));
	json_decref(j);

	kill(serve, SIGTERM);
	CU_ASSERT_EQUAL(t_wait(serve), 0);
	CU_ASSERT_FALSE(shm_exists(seg));
	j = load(dir, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jint(j, "counts", "written"), W * SPANS * 5);
	CU_ASSERT_EQUAL(jint(j, "counts", "read"), W * SPANS * 5);
	CU_ASSERT_EQUAL(jint(j, "counts", "spans_complete"), W * SPANS * 2);
	CU_ASSERT_EQUAL(jint(j, "counts", "dropped_full") + jint(j, "counts", "rejected"), 0);
	CU_ASSERT_EQUAL(jint(json_object_get(j, "tokens"), NULL, "total_input"), W * SPANS * 100);
	CU_ASSERT(jint(j, "dumps", "reports") >= 2);
	CU_ASSERT(jint(j, "dumps", "files_written") >= 4);
	CU_ASSERT_EQUAL(jint(j, "dumps", "files_failed"), 0);
	procs = json_object_get(j, "processes");
	for (size_t i = 0; i < json_array_size(procs); i++)
		for (int k = 0; k < W; k++)
			if (jint(json_array_get(procs, i), NULL, "pid") == pids[k] &&
			    jint(json_array_get(procs, i), NULL, "spans") == SPANS * 2)
				matched++;
	CU_ASSERT_EQUAL(matched, W);
	json_decref(j);
	rm_dir(dir);
}

/* A second serve on a live reader's segment is refused (exit 2); after the
 * reader is killed, a new serve takes over and counts exactly what was
 * written after, attributed to the worker whose CLAIM the dead reader read. */
static void test_serve_takeover(void)
{
	enum { SPANS = 300 };
	char seg[64], dir[100], dir2[128], dir3[128], errf[160], err[512] = "";
	int go[2], ready[2];
	struct wargs w = { seg, SPANS, -1, -1 };
	pid_t a, b, c, wp;
	json_t *j, *p;
	char ch = 1;
	FILE *f;

	if (!agentprof())
		return;
	snprintf(seg, sizeof(seg), "/ap-test-takeover-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/ap-test-takeover-%d", (int)getpid());
	snprintf(dir2, sizeof(dir2), "%s-b", dir);
	snprintf(dir3, sizeof(dir3), "%s-c", dir);
	snprintf(errf, sizeof(errf), "%s.err", dir);
	CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
	w.go_fd = go[0];
	w.ready_fd = ready[1];
	a = start_serve(seg, dir, "0.02", NULL);
	CU_ASSERT_FATAL(wait_shm(seg, 5000));
	wp = t_fork(worker, &w);
	close(ready[1]);	/* a worker that dies is EOF here, not a hang */
	close(go[0]);
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &ch, 1), 1);
	CU_ASSERT(wait_read(dir, SPANS * 5, 5000));	/* A has read the CLAIM and phase 1 */

	b = start_serve(seg, dir2, NULL, errf);
	CU_ASSERT_EQUAL(t_wait(b), 2);
	f = fopen(errf, "r");
	if (f) {
		CU_ASSERT(fread(err, 1, sizeof(err) - 1, f) > 0);
		fclose(f);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "live reader"));
	CU_ASSERT(shm_exists(seg));

	kill(a, SIGKILL);
	CU_ASSERT_EQUAL(t_wait(a), 128 + SIGKILL);
	CU_ASSERT(shm_exists(seg));
	c = start_serve(seg, dir3, "0.02", NULL);
	t_sleep_ms(100);
	CU_ASSERT_EQUAL(write(go[1], &ch, 1), 1);
	CU_ASSERT_EQUAL(t_wait(wp), 0);
	CU_ASSERT(wait_read(dir3, SPANS * 5, 5000));
	kill(c, SIGINT);
	CU_ASSERT_EQUAL(t_wait(c), 0);
	CU_ASSERT_FALSE(shm_exists(seg));
	j = load(dir3, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jint(j, "counts", "read"), SPANS * 5);
	CU_ASSERT_EQUAL(jint(j, "counts", "rejected"), 0);
	CU_ASSERT_EQUAL(jint(j, "counts", "spans_complete"), SPANS * 2);
	CU_ASSERT_EQUAL(jint(j, "takeover", "from_reader_pid"), a);
	CU_ASSERT_EQUAL(jint(j, "takeover", "lanes_adopted"), 1);
	p = json_array_get(json_object_get(j, "processes"), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "processes")), 1);
	CU_ASSERT_EQUAL(jint(p, NULL, "pid"), wp);
	CU_ASSERT_EQUAL(jint(p, NULL, "spans"), SPANS * 2);
	json_decref(j);
	close(go[1]);
	close(ready[0]);
	unlink(errf);
	rm_dir(dir);
	rm_dir(dir2);
	rm_dir(dir3);
}

static int file_equals(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[512];
	struct stat st;
	char *got;
	int fd, same;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || (size_t)st.st_size != len) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	got = malloc(len + 1);
	same = got && read(fd, got, len + 1) == (ssize_t)len && memcmp(got, buf, len) == 0;
	free(got);
	close(fd);
	return same;
}

static char *pattern(size_t len, unsigned seed)
{
	char *b = malloc(len);

	for (size_t i = 0; b && i < len; i++)
		b[i] = (char)('a' + (i * 7 + seed * 13 + i / 61) % 26);
	return b;
}

/* Each path replaces a file twice; the files equal what was given. */
static int dump_twice(const char *dir, int sync_only, const char **io)
{
	struct ap_dump d;
	struct ap_aio aio;
	size_t len1 = 300000, len2 = 123457;
	int ok;

	mkdir(dir, 0700);
	if (ap_aio_init(&aio, 4, sync_only))
		return 0;
	if (ap_dump_init(&d, &aio, dir)) {
		ap_aio_close(&aio);
		return 0;
	}
	*io = aio.io;
	ok = ap_dump_submit(&d, 1, "r.json", pattern(len1, 1), len1) == 0;
	ap_dump_wait(&d);
	ok = ok && ap_dump_submit(&d, 1, "r.json", pattern(len2, 2), len2) == 0;
	ok = ok && ap_dump_submit(&d, 2, "r.txt", pattern(len1, 3), len1) == 0;
	ap_dump_wait(&d);
	ok = ok && d.written == 3 && d.failed == 0 && d.bytes == len1 * 2 + len2;
	ap_dump_close(&d);
	ap_aio_close(&aio);
	return ok;
}

static void test_dump_paths_same_bytes(void)
{
	char a[128], b[128];
	const char *io_a = "", *io_b = "";
	char *p2 = pattern(123457, 2), *p3 = pattern(300000, 3);

	snprintf(a, sizeof(a), "/tmp/ap-test-dump-uring-%d", (int)getpid());
	snprintf(b, sizeof(b), "/tmp/ap-test-dump-sync-%d", (int)getpid());
	CU_ASSERT(dump_twice(a, 0, &io_a));
	CU_ASSERT(dump_twice(b, 1, &io_b));
	CU_ASSERT_STRING_EQUAL(io_b, "sync");
	if (strcmp(io_a, "io_uring"))
		t_skip("io_uring not available: both runs took the writer thread");
	CU_ASSERT(file_equals(a, "r.json", p2, 123457));
	CU_ASSERT(file_equals(b, "r.json", p2, 123457));
	CU_ASSERT(file_equals(a, "r.txt", p3, 300000));
	CU_ASSERT(file_equals(b, "r.txt", p3, 300000));
	free(p2);
	free(p3);
	rm_dir(a);
	rm_dir(b);
}

/* On a 64 KiB tmpfs: a dump that does not fit fails and is counted, the
 * previous file stays whole, no temporary file stays; the next small dump
 * goes through again. Both paths. */
static int full_disk_child(void *arg)
{
	const char *dir = arg;
	char *small = pattern(8000, 5), *big = pattern(200000, 6), *small2 = pattern(9000, 7);

	for (int sync_only = 0; sync_only < 2; sync_only++) {
		struct ap_dump d;
		struct ap_aio aio;
		char tmp[300];

		if (ap_aio_init(&aio, 4, sync_only) || ap_dump_init(&d, &aio, dir))
			return 1;
		if (ap_dump_submit(&d, 0, "report.json", memcpy(malloc(8000), small, 8000), 8000))
			return 2;
		ap_dump_wait(&d);
		if (ap_dump_submit(&d, 0, "report.json", memcpy(malloc(200000), big, 200000), 200000) != 0)
			return 3;
		ap_dump_wait(&d);
		if (d.written != 1 || d.failed != 1 || d.last_err != -ENOSPC || !file_equals(dir, "report.json", small, 8000))
			return 4;
		snprintf(tmp, sizeof(tmp), "%s/report.json.tmp", dir);
		if (access(tmp, F_OK) == 0)
			return 5;
		if (ap_dump_submit(&d, 0, "report.json", memcpy(malloc(9000), small2, 9000), 9000))
			return 6;
		ap_dump_wait(&d);
		if (d.written != 2 || !file_equals(dir, "report.json", small2, 9000))
			return 7;
		ap_dump_close(&d);
		ap_aio_close(&aio);
		unlink(tmp);
		tmp[strlen(tmp) - 4] = '\0';
		unlink(tmp);
	}
	free(small);
	free(big);
	free(small2);
	return 0;
}

static void test_dump_full_disk(void)
{
	CU_ASSERT_EQUAL(t_on_full_disk("dumpfull", full_disk_child), 0);
}

/* A worker that records until killed. */
static int busy_worker(void *arg)
{
	const char *seg = arg;
	uint64_t name;

	if (ap_attach(seg))
		return 1;
	name = ap_name("busy:job");
	for (;;) {
		ap_end(ap_begin(name, AP_CAT_TOOL));
		usleep(20);
	}
	return 0;
}

/* A dump file as it must always be: whole JSON, or whole text. */
static int whole(const char *dir, const char *name, int json)
{
	char path[512], buf[64];
	json_t *j;
	FILE *f;
	size_t n;
	int ok;

	if (json) {
		j = load(dir, name);
		ok = j && json_object_get(j, "counts") && json_object_get(j, "dumps");
		json_decref(j);
		return ok;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, 15, f);
	buf[n] = '\0';
	ok = strncmp(buf, "agentprof ", 10) == 0 && fseek(f, -1, SEEK_END) == 0 && fgetc(f) == '\n';
	fclose(f);
	return ok;
}

/* serve dumping every 10 ms while a worker records, killed at a random
 * moment, many times over, on both I/O paths: every report file there is
 * whole, the previous dump or the new one. */
static void test_dump_atomic_under_kill(void)
{
	enum { ROUNDS = 24 };
	char seg[64], dir[128];
	unsigned seed = 12345, checked = 0;

	if (!agentprof())
		return;
	snprintf(dir, sizeof(dir), "/tmp/ap-test-dumpkill-%d", (int)getpid());
	for (int round = 0; round < ROUNDS; round++) {
		pid_t serve, w;

		snprintf(seg, sizeof(seg), "/ap-test-dumpkill-%d-%d", (int)getpid(), round);
		if (round % 2)
			setenv("AGENTPROF_IO", "sync", 1);
		serve = start_serve(seg, dir, "0.01", NULL);
		unsetenv("AGENTPROF_IO");
		if (!wait_shm(seg, 5000)) {
			CU_FAIL("serve did not start");
			kill(serve, SIGKILL);
			t_wait(serve);
			break;
		}
		w = t_fork(busy_worker, seg);
		seed = seed * 1103515245u + 12345u;
		t_sleep_ms(40 + (seed >> 16) % 120);
		kill(serve, SIGKILL);
		t_wait(serve);
		kill(w, SIGKILL);
		t_wait(w);
		for (int k = 0; k < 4; k++) {
			static const char *const names[] = { "report.json", "interval.json", "report.txt", "interval.txt" };
			char path[512];

			snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
			if (access(path, F_OK) != 0)
				continue;
			CU_ASSERT(whole(dir, names[k], k < 2));
			checked++;
		}
		shm_unlink(seg);
	}
	CU_ASSERT(checked >= ROUNDS * 2);	/* most rounds got at least one dump of each */
	rm_dir(dir);
}

/* record --interval: the final report is the run's, with the dumps counted;
 * the last interval's report is there too. */
static void test_record_interval(void)
{
	char dir[128];
	json_t *j;
	pid_t pid;

	if (!agentprof())
		return;
	snprintf(dir, sizeof(dir), "/tmp/ap-test-recint-%d", (int)getpid());
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(agentprof(), "agentprof", "demo", "--workers", "2", "--traces", "2", "-q", "--interval", "0.1",
		      "-o", dir, (char *)NULL);
		_exit(99);
	}
	CU_ASSERT_EQUAL_FATAL(t_wait(pid), 0);
	j = load(dir, "report.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* 2 workers x 2 traces x 8 spans */
	CU_ASSERT_EQUAL(jint(j, "counts", "spans_complete"), 32);
	CU_ASSERT(jint(j, "dumps", "reports") >= 5);	/* the demo runs >= 1.25 s */
	CU_ASSERT_EQUAL(jint(j, "dumps", "files_failed"), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "traces")), 4);
	json_decref(j);
	j = load(dir, "interval.json");
	CU_ASSERT_PTR_NOT_NULL(j);
	CU_ASSERT(jint(j, "interval", "seq") >= 5);
	json_decref(j);
	rm_dir(dir);
}

void t_register_serve(void)
{
	CU_pSuite s = CU_add_suite("serve", NULL, NULL);

	CU_add_test(s, "serve: workers on their own, dumps, SIGTERM: exact final report, no segment left",
		    test_serve_counts);
	CU_add_test(s, "serve: a live reader's segment refused; a dead one's taken over, exact counts",
		    test_serve_takeover);
	CU_add_test(s, "dumps: io_uring and the writer thread write the same bytes", test_dump_paths_same_bytes);
	CU_add_test(s, "dumps: a full disk fails the dump and keeps the previous file", test_dump_full_disk);
	CU_add_test(s, "dumps: whole after the reader is killed at random moments", test_dump_atomic_under_kill);
	CU_add_test(s, "record --interval: the run's report, the last interval's, dumps counted",
		    test_record_interval);
}
