/* SPDX-License-Identifier: MIT */
/*
 * evlog.c - the event log: a replay rebuilds exactly what was logged; the
 * io_uring and writer-thread paths write the same bytes; a log cut at every
 * byte, or with any one byte damaged, replays exactly its intact blocks
 * (counted to the event) and never crashes; and through the program: the
 * report of a log equals the live report, a full disk during logging is an
 * error that keeps the report, and input that is not a log is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog.h"
#include "helpers.h"
#include "replay.h"
#include "session.h"
#include "name.h"
#include "writer_internal.h"

#define TRACES 20

/* A small log written through the log writer, as a session would. */
static int write_log(const char *path, int sync_only, int with_totals)
{
	struct ap_log l;
	struct ap_aio aio;
	uint8_t head[sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings) + 64];
	uint8_t tot[sizeof(head) + sizeof(struct ap_log_totals)];
	struct ap_log_geometry *g = (struct ap_log_geometry *)head;
	struct ap_log_settings *st = (struct ap_log_settings *)(head + sizeof(*g));
	struct ap_log_totals *lt;
	static const char names[] = "root\0child\0";
	const char *models = "gpt-4o 128000\n";
	uint64_t id = 1, t = 1000;

	int ret = ap_aio_init(&aio, 0, sync_only);

	if (ret)
		return ret;
	ret = ap_log_open(&l, &aio, path, AP_LOG_BLOCK_MIN);
	if (ret) {
		ap_aio_close(&aio);
		return ret;
	}
	l.patient = 1;	/* every block, whatever the disk's speed */
	memset(head, 0, sizeof(head));
	g->version = 2;	/* this layout: a version 3 log adds the memory settings after st */
	g->fingerprint = ap_layout_fingerprint();
	g->abi = AP_ABI_VERSION;
	g->lanes = 4;
	g->lane_events = 1024;
	g->clock_source = AP_CLOCK_MONOTONIC;
	g->clock_mult = UINT64_C(1) << 32;
	g->clock_hz = 1000000000;
	memcpy(g->segment, "/agentprof-test", 15);
	st->max_spans = 1024;
	st->max_traces = 10;
	st->max_per_root = 10;
	st->keep_slowest = 2;
	st->seed = 1;
	st->llm_chain = 2;
	st->llm_self_upct = 80000000;	/* 80 % */
	st->tool_upct = 30000000;
	st->slow_tool_ns = 500000000;	/* 500 ms */
	st->context_upct = 50000000;
	memcpy(head + sizeof(*g) + sizeof(*st), models, strlen(models));
	ap_log_block(&l, AP_LOG_HEADER, head, (uint32_t)(sizeof(*g) + sizeof(*st) + strlen(models)));
	ap_log_names(&l, names, sizeof(names) - 1);
	for (int i = 0; i < TRACES; i++) {
		uint64_t root = id, c1 = id + 2, c2 = id + 4;
		uint64_t nroot = ap_name_hash("root", 4), nchild = ap_name_hash("child", 5);
		struct ap_event ev[6] = {
			{ .kind = AP_EV_BEGIN, .tid = 1, .ts = t, .span_id = root, .u.begin = { .name_id = nroot } },
			{ .kind = AP_EV_BEGIN, .category = AP_CAT_LLM, .tid = 1, .ts = t + 1, .span_id = c1,
			  .u.begin = { .parent_id = root, .name_id = nchild } },
			{ .kind = AP_EV_END, .tid = 1, .ts = t + 100, .span_id = c1 },
			{ .kind = AP_EV_BEGIN, .category = AP_CAT_TOOL, .tid = 1, .ts = t + 101, .span_id = c2,
			  .u.begin = { .parent_id = root, .name_id = nchild } },
			{ .kind = AP_EV_END, .tid = 1, .ts = t + 200, .span_id = c2 },
			{ .kind = AP_EV_END, .tid = 1, .ts = t + 201, .span_id = root },
		};

		ap_log_events(&l, 100 + (uint32_t)(i % 3), ev, 6);
		ap_log_mark(&l);
		id += 6;
		t += 1000;
	}
	if (with_totals) {
		memcpy(tot, head, sizeof(*g) + sizeof(*st));
		lt = (struct ap_log_totals *)(tot + sizeof(*g) + sizeof(*st));
		memset(lt, 0, sizeof(*lt));
		lt->written = lt->read = TRACES * 6;
		lt->exit_status = 0;
		lt->cost16 = 160;	/* 10 ns: the log's clock is ns */
		memcpy(tot + sizeof(*g) + sizeof(*st) + sizeof(*lt), models, strlen(models));
		ap_log_block(&l, AP_LOG_TOTALS, tot,
			     (uint32_t)(sizeof(*g) + sizeof(*st) + sizeof(*lt) + strlen(models)));
	}
	ret = ap_log_close(&l);
	ap_aio_close(&aio);
	return ret;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	if (b && read(fd, b, (size_t)st.st_size) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void tmp_path(char *buf, size_t n, const char *what)
{
	snprintf(buf, n, "/tmp/ap-test-log-%d-%s", (int)getpid(), what);
	unlink(buf);
}

/* Replay buf; returns ap_replay_open's result and the BEGINs seen. */
static int replay(const uint8_t *buf, size_t len, uint64_t *begins, int *complete, struct ap_log_scan *scan)
{
	struct ap_replay *rp = calloc(1, sizeof(*rp));
	struct ap_settings set;
	struct ap_run run;
	const char *why;
	int ret;

	CU_ASSERT_FATAL(rp != NULL);
	ap_settings_default(&set);
	ret = ap_replay_open(rp, &set, buf, len, &why);
	*begins = rp->as.begins;
	*complete = rp->complete;
	if (scan)
		*scan = rp->scan;
	if (!ret) {
		CU_ASSERT_EQUAL(rp->as.spans_complete + rp->as.spans_open, rp->as.begins);
		ap_replay_run(rp, "log", &run);
		CU_ASSERT_EQUAL(rp->analysis.spans_in_trees, rp->as.begins);
		CU_ASSERT_EQUAL(run.analysis->spans_in_trees, rp->as.begins);
	}
	ap_replay_close(rp);
	free(rp);
	return ret;
}

static void test_round_trip_and_paths_identical(void)
{
	char p1[128], p2[128];
	uint8_t *a, *b;
	size_t la = 0, lb = 0;
	uint64_t begins;
	int complete;
	struct ap_log_scan scan;

	tmp_path(p1, sizeof(p1), "uring");
	tmp_path(p2, sizeof(p2), "sync");
	CU_ASSERT_EQUAL_FATAL(write_log(p1, 0, 1), 0);
	CU_ASSERT_EQUAL_FATAL(write_log(p2, 1, 1), 0);
	a = slurp(p1, &la);
	b = slurp(p2, &lb);
	CU_ASSERT_FATAL(a && b);
	CU_ASSERT_EQUAL(la, lb);
	CU_ASSERT(la == lb && memcmp(a, b, la) == 0);	/* byte-identical */
	CU_ASSERT_EQUAL(replay(a, la, &begins, &complete, &scan), 0);
	CU_ASSERT_EQUAL(begins, TRACES * 3);
	CU_ASSERT(complete);
	CU_ASSERT_EQUAL(scan.bytes_skipped, 0);
	CU_ASSERT_EQUAL(scan.blocks_missing, 0);
	CU_ASSERT_EQUAL(scan.records_bad, 0);
	/* A log is never overwritten. */
	CU_ASSERT_EQUAL(write_log(p1, 0, 1), -EEXIST);
	free(a);
	free(b);
	unlink(p1);
	unlink(p2);
}

struct blk {
	size_t start, end;
	uint16_t type;
	uint64_t begins;
};

/* Every truncation and every single damaged byte: exactly the intact
 * blocks' events are replayed, or the log is refused when neither its
 * header nor its totals survive. */
static void test_every_byte(void)
{
	static struct blk blks[256];
	char path[128];
	uint8_t *orig, *buf;
	size_t len = 0, pos = 0, nb = 0;
	struct ap_log_scan scan = { 0 };
	struct ap_log_block h;
	const uint8_t *p;
	uint64_t total = 0;

	tmp_path(path, sizeof(path), "bytes");
	CU_ASSERT_EQUAL_FATAL(write_log(path, 0, 1), 0);
	orig = slurp(path, &len);
	unlink(path);
	CU_ASSERT_FATAL(orig != NULL);
	buf = malloc(len);
	CU_ASSERT_FATAL(buf != NULL);
	/* The blocks and the BEGINs each holds, from the intact log. */
	while ((p = ap_log_next(orig, len, &pos, &scan, &h)) && nb < 256) {
		struct blk *b = &blks[nb++];
		uint32_t off = 0;

		b->end = pos;
		b->start = pos - sizeof(h) - h.len;
		b->type = h.type;
		b->begins = 0;
		while (h.type == AP_LOG_DATA && off + 8 <= h.len) {
			struct ap_log_rec r;

			memcpy(&r, p + off, 8);
			off += 8;
			if (r.pid) {
				for (uint32_t i = 0; i < r.n; i++)
					b->begins += p[off + i * 64] == AP_EV_BEGIN;
				off += r.n * 64;
			} else {
				off += (r.n + 7) & ~7u;
			}
		}
		total += b->begins;
	}
	CU_ASSERT_FATAL(nb > 10 && blks[0].type == AP_LOG_HEADER && blks[nb - 1].type == AP_LOG_TOTALS);
	CU_ASSERT_EQUAL_FATAL(total, TRACES * 3);

	for (size_t cut = 0; cut < len; cut++) {
		uint64_t want = 0, got = 0;
		int complete, ret;

		for (size_t k = 0; k < nb; k++)
			want += blks[k].end <= cut ? blks[k].begins : 0;
		memcpy(buf, orig, cut);
		ret = replay(buf, cut, &got, &complete, NULL);
		if (cut < blks[0].end) {
			CU_ASSERT_EQUAL(ret, -EINVAL);
			continue;
		}
		CU_ASSERT_EQUAL(ret, 0);
		CU_ASSERT_EQUAL(got, want);
		CU_ASSERT(!complete);
		if (ret != 0 || got != want) {
			fprintf(stderr, "\n    cut at %zu: ret %d, begins %llu (want %llu)\n", cut, ret,
				(unsigned long long)got, (unsigned long long)want);
			break;
		}
	}
	for (size_t at = 0; at < len; at++) {
		uint64_t want = total, got = 0;
		int complete, ret;
		size_t k;

		for (k = 0; k < nb && !(blks[k].start <= at && at < blks[k].end); k++)
			;
		CU_ASSERT_FATAL(k < nb);
		want -= blks[k].begins;
		memcpy(buf, orig, len);
		buf[at] ^= 0x5a;
		ret = replay(buf, len, &got, &complete, NULL);
		CU_ASSERT_EQUAL(ret, 0);
		CU_ASSERT_EQUAL(got, want);
		CU_ASSERT_EQUAL(complete, blks[k].type != AP_LOG_TOTALS);
		if (ret != 0 || got != want) {
			fprintf(stderr, "\n    byte %zu damaged: ret %d, begins %llu (want %llu)\n", at, ret,
				(unsigned long long)got, (unsigned long long)want);
			break;
		}
	}
	free(buf);
	free(orig);
}

/* Without its totals block (cut short at a block boundary), the report
 * still covers every event, and says it is incomplete. */
static void test_no_totals(void)
{
	char path[128];
	uint8_t *b;
	size_t len = 0;
	uint64_t begins;
	int complete;

	tmp_path(path, sizeof(path), "nototals");
	CU_ASSERT_EQUAL_FATAL(write_log(path, 1, 0), 0);
	b = slurp(path, &len);
	unlink(path);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(replay(b, len, &begins, &complete, NULL), 0);
	CU_ASSERT_EQUAL(begins, TRACES * 3);
	CU_ASSERT(!complete);
	/* Not a log at all. */
	memset(b, 'x', len);
	CU_ASSERT_EQUAL(replay(b, len, &begins, &complete, NULL), -EINVAL);
	free(b);
}

/* Through the program. */
static const char *agentprof(void) { return getenv("AP_AGENTPROF"); }

static int run(char *const argv[], char *err, size_t errsz)
{
	int e[2];
	pid_t pid;
	ssize_t n;
	size_t used = 0;

	if (pipe(e))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(e[1], 2);
		execv(argv[0], argv);
		_exit(99);
	}
	close(e[1]);
	while ((n = read(e[0], err + used, errsz - 1 - used)) > 0)
		used += (size_t)n;
	err[used] = '\0';
	close(e[0]);
	return t_wait(pid);
}

/* report.json without its run metadata: the top-level "agentprof", "run",
 * "reader", "log" and "dumps" objects (two-space indented lines up to their
 * end). */
static char *strip_meta(char *json)
{
	static const char *meta[] = { "  \"agentprof\": {", "  \"run\": {", "  \"reader\": {", "  \"log\": {",
				      "  \"dumps\": {" };
	char *out = malloc(strlen(json) + 1), *o = out, *line = json;

	while (out && *line) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
		int skip = 0;

		for (size_t k = 0; k < sizeof(meta) / sizeof(meta[0]); k++)
			skip |= strncmp(line, meta[k], strlen(meta[k])) == 0;
		if (skip) {
			char *end = strstr(line, "\n  }");

			line = end ? strchr(end + 1, '\n') : NULL;
			line = line ? line + 1 : json + strlen(json);
			continue;
		}
		memcpy(o, line, n);
		o += n;
		line += n;
	}
	if (out)
		*o = '\0';
	return out;
}

static void test_program_round_trip(void)
{
	static char err[8192];
	char dir[128], log[160], live[160], off[160], p1[200], p2[200];
	uint8_t *a, *b;
	char *sa, *sb;
	size_t la = 0, lb = 0;

	if (!agentprof()) {
		CU_FAIL("AP_AGENTPROF not set (run through make test)");
		return;
	}
	snprintf(dir, sizeof(dir), "/tmp/ap-test-logrt-%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(log, sizeof(log), "%s/run.log", dir);
	snprintf(live, sizeof(live), "%s/live", dir);
	snprintf(off, sizeof(off), "%s/off", dir);
	{
		char *const argv[] = { (char *)agentprof(), "demo", "--workers", "3", "--traces", "2", "-q",
				       "--log", log, "-o", live, NULL };

		CU_ASSERT_EQUAL_FATAL(run(argv, err, sizeof(err)), 0);
	}
	{
		char *const argv[] = { (char *)agentprof(), "report", "-q", "-o", off, log, NULL };

		CU_ASSERT_EQUAL(run(argv, err, sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(err, "");
	}
	/* The writer-thread path, forced: it says so, and its log replays. */
	{
		char log2[200], out2[200], path[260];
		char *const argv[] = { (char *)agentprof(), "demo", "--workers", "1", "--traces", "1", "-q",
				       "--log", log2, "-o", out2, NULL };
		char *const rargv[] = { (char *)agentprof(), "report", "-q", "-o", out2, log2, NULL };
		uint8_t *j;
		size_t jl = 0;

		snprintf(log2, sizeof(log2), "%s/sync.log", dir);
		snprintf(out2, sizeof(out2), "%s/sync", dir);
		setenv("AGENTPROF_IO", "sync", 1);
		CU_ASSERT_EQUAL(run(argv, err, sizeof(err)), 0);
		unsetenv("AGENTPROF_IO");
		snprintf(path, sizeof(path), "%s/report.json", out2);
		j = slurp(path, &jl);
		CU_ASSERT_FATAL(j != NULL);
		j[jl] = '\0';
		CU_ASSERT(strstr((char *)j, "\"io\": \"sync\"") != NULL);
		CU_ASSERT(strstr((char *)j, "\"spans_complete\": 8") != NULL);
		free(j);
		CU_ASSERT_EQUAL(run(rargv, err, sizeof(err)), 0);
		j = slurp(path, &jl);
		CU_ASSERT_FATAL(j != NULL);
		j[jl] = '\0';
		CU_ASSERT(strstr((char *)j, "\"spans_complete\": 8") != NULL);
		CU_ASSERT(strstr((char *)j, "\"complete\": true") != NULL);
		free(j);
		unlink(path);
		snprintf(path, sizeof(path), "%s/report.txt", out2);
		unlink(path);
		rmdir(out2);
		unlink(log2);
	}
	/* Refused: an existing log is never overwritten; a file that is not a log. */
	{
		char *const argv[] = { (char *)agentprof(), "demo", "--workers", "1", "--traces", "1", "-q",
				       "--log", log, "-o", live, NULL };

		CU_ASSERT_EQUAL(run(argv, err, sizeof(err)), 125);
		CU_ASSERT(strstr(err, "never overwritten") != NULL);
	}
	snprintf(p1, sizeof(p1), "%s/report.json", live);
	snprintf(p2, sizeof(p2), "%s/report.json", off);
	{
		char *const argv[] = { (char *)agentprof(), "report", "-q", "-o", off, p1, NULL };

		CU_ASSERT_EQUAL(run(argv, err, sizeof(err)), 2);
		CU_ASSERT(strstr(err, "not an agentprof event log") != NULL);
	}
	a = slurp(p1, &la);
	b = slurp(p2, &lb);
	CU_ASSERT_FATAL(a && b);
	a[la] = b[lb] = '\0';
	sa = strip_meta((char *)a);
	sb = strip_meta((char *)b);
	CU_ASSERT_FATAL(sa && sb);
	CU_ASSERT(strlen(sa) > 1000);
	CU_ASSERT_STRING_EQUAL(sa, sb);	/* identical apart from run metadata */
	CU_ASSERT(strstr((char *)b, "\"complete\": true") != NULL);
	free(sa);
	free(sb);
	free(a);
	free(b);
	unlink(p1);
	unlink(p2);
	snprintf(p1, sizeof(p1), "%s/report.txt", live);
	unlink(p1);
	snprintf(p2, sizeof(p2), "%s/report.txt", off);
	unlink(p2);
	rmdir(live);
	rmdir(off);
	unlink(log);
	/* With --interval the run's report is built across dumps (each
	 * interval analysed, then folded into the run's): it must equal the
	 * replay, which analyses every trace once. */
	{
		char *const argv[] = { (char *)agentprof(), "demo", "--workers", "3", "--traces", "2", "-q",
				       "--interval", "0.05", "--log", log, "-o", live, NULL };
		char *const rargv[] = { (char *)agentprof(), "report", "-q", "-o", off, log, NULL };
		static const char *const files[] = { "report.json", "report.txt", "interval.json", "interval.txt" };

		CU_ASSERT_EQUAL_FATAL(run(argv, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(run(rargv, err, sizeof(err)), 0);
		snprintf(p1, sizeof(p1), "%s/report.json", live);
		snprintf(p2, sizeof(p2), "%s/report.json", off);
		a = slurp(p1, &la);
		b = slurp(p2, &lb);
		CU_ASSERT_FATAL(a && b);
		a[la] = b[lb] = '\0';
		CU_ASSERT(strstr((char *)a, "\"reports\": ") != NULL);
		sa = strip_meta((char *)a);
		sb = strip_meta((char *)b);
		CU_ASSERT_FATAL(sa && sb);
		CU_ASSERT(strlen(sa) > 1000);
		CU_ASSERT_STRING_EQUAL(sa, sb);
		free(sa);
		free(sb);
		free(a);
		free(b);
		for (int i = 0; i < 4; i++) {
			snprintf(p1, sizeof(p1), "%s/%s", live, files[i]);
			unlink(p1);
			snprintf(p2, sizeof(p2), "%s/%s", off, files[i]);
			unlink(p2);
		}
		rmdir(live);
		rmdir(off);
		unlink(log);
	}
	rmdir(dir);
}

/* The log's disk fills up during the run: agentprof says so and exits 125,
 * the report (on another disk) still has every event, and the log's intact
 * part replays. A 64 KiB tmpfs in a private mount namespace. */
static int full_log_child(void *arg)
{
	static char err[8192];
	const char *dir = arg;
	char log[200], out[200], rep[260], json[4096];
	char *const argv[] = { (char *)agentprof(), "record", "-q", "--log", log, "-o", out, "--",
			       (char *)getenv("AP_TP_CHILD"), "spans", "1300", NULL };
	int fd, code;
	ssize_t n;

	snprintf(log, sizeof(log), "%s/run.log", dir);
	snprintf(out, sizeof(out), "/tmp/ap-test-fulllog-out-%d", (int)getpid());
	code = run(argv, err, sizeof(err));
	if (code != 125 || !strstr(err, "event log") || !strstr(err, "No space left on device"))
		return 1;
	snprintf(rep, sizeof(rep), "%s/report.json", out);
	fd = open(rep, O_RDONLY);
	n = fd >= 0 ? read(fd, json, sizeof(json) - 1) : -1;
	if (fd >= 0)
		close(fd);
	unlink(rep);
	snprintf(rep, sizeof(rep), "%s/report.txt", out);
	unlink(rep);
	rmdir(out);
	if (n <= 0)
		return 2;
	json[n] = '\0';
	/* 1,300 spans of 3 events (as tests/record.c counts them): one lane's
	 * worth, 250 KB of log. */
	if (!strstr(json, "\"read\": 3900") || !strstr(json, "\"spans_complete\": 1300") ||
	    !strstr(json, "\"error\": \"No space left on device\""))
		return 3;
	{
		char *const rargv[] = { (char *)agentprof(), "report", "-q", "-o", out, log, NULL };

		code = run(rargv, err, sizeof(err));
		unlink(rep);
		snprintf(rep, sizeof(rep), "%s/report.json", out);
		unlink(rep);
		rmdir(out);
		if (code != 1 || !strstr(err, "incomplete"))
			return 4;
	}
	return 0;
}

static void test_log_disk_full(void)
{
	if (!agentprof() || !getenv("AP_TP_CHILD")) {
		CU_FAIL("AP_AGENTPROF / AP_TP_CHILD not set (run through make test)");
		return;
	}
	CU_ASSERT_EQUAL(t_on_full_disk("fulllog", full_log_child), 0);
}

void t_register_evlog(void)
{
	CU_pSuite s = CU_add_suite("evlog", NULL, NULL);

	CU_add_test(s, "round trip; io_uring and writer thread write the same bytes",
		    test_round_trip_and_paths_identical);
	CU_add_test(s, "cut at every byte, any one byte damaged", test_every_byte);
	CU_add_test(s, "no totals block; not a log", test_no_totals);
	CU_add_test(s, "program: report FILE equals the live report", test_program_round_trip);
	CU_add_test(s, "program: log disk full", test_log_disk_full);
}
