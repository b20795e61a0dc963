/* SPDX-License-Identifier: MIT */
/*
 * bench_reader.c - the reader's drain with tree rebuild on a synthetic
 * stream, events per second on one core.
 *
 * One lane is filled with a CLAIM and then nested spans (root, 3 children,
 * each child with one grandchild; the first child carries tokens), as a
 * worker would write them; the timed part is ap_drain_pass() and
 * ap_asm_flush() until the lane is empty, with a fresh assembler each round.
 * Two stages are timed, each in its own rounds:
 *   reader_events_per_s           drain + tree rebuild (the assembler hands
 *                                 each complete trace to a counting sink)
 *   reader_analysis_events_per_s  drain + tree rebuild + the full analysis
 * and then the same through a session (the `agentprof record` reader), with
 * and without --interval dumps every 100 ms (a round lasts about 0.15 s), rounds interleaved:
 *   reader_session_events_per_s   drain + rebuild + analysis, in a session
 *   reader_dumps_events_per_s     the same with the interval's analysis and
 *                                 report.{json,txt} + interval.{json,txt}
 *                                 rendered and dumped every 100 ms
 *   dump_ms                       drain-thread time per dump (render + submit)
 * Each prints "NAME median min max" and the peak spans in flight; a second
 * argument NAME runs that stage only (instruction counts under callgrind).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fill_lane.h"
#include "drain.h"
#include "session.h"
#include "analysis.h"
#include "assemble.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct sink {
	uint64_t traces, spans;
};

static void count_trace(void *ctx, const struct ap_trace_view *t)
{
	struct sink *k = ctx;

	k->traces++;
	k->spans += t->n;
}

/* One round: drain the whole lane. Returns events/s, or -1 on a wrong count. */
static double round_once(struct ap_segment *seg, uint64_t n, int analyse, uint64_t *peak)
{
	struct ap_drain d;
	struct ap_assembler as;
	struct ap_analysis an;
	struct ap_names names;
	struct ap_rules rules;
	struct ap_model models[8];
	struct sink sink = { 0 };
	uint32_t nm = ap_models_default(models, 8);
	uint64_t t0, got = 0, spans;
	double rate;

	ap_rules_default(&rules);
	ap_names_init(&names);
	atomic_store(&seg->lanes[0].head, 0);
	atomic_store(&seg->lanes[0].tail, 0);
	if (ap_analysis_init(&an, &names, &seg->clock, &rules, models, nm, NULL) ||
	    ap_asm_init(&as, 1u << 20, analyse ? ap_analysis_add : count_trace,
			analyse ? (void *)&an : (void *)&sink) ||
	    ap_drain_init(&d, seg, ap_asm_events, &as))
		return -1;
	atomic_store(&seg->lanes[0].head, n);
	t0 = now_ns();
	while (got < n) {
		got += ap_drain_pass(&d);
		ap_asm_flush(&as);
	}
	ap_asm_finish(&as);
	rate = (double)n / ((double)(now_ns() - t0) / 1e9);
	spans = analyse ? an.spans_in_trees : sink.spans;
	*peak = as.peak_nodes;
	if (as.begins + as.ends + as.tokens != n - 1 || spans != as.begins || as.traces_incomplete) {
		fprintf(stderr, "bench-reader: %llu of %llu events assembled into %llu spans\n",
			(unsigned long long)(as.begins + as.ends + as.tokens), (unsigned long long)n - 1,
			(unsigned long long)spans);
		rate = -1;
	}
	ap_drain_free(&d);
	ap_asm_free(&as);
	ap_analysis_free(&an);
	ap_names_free(&names);
	return rate;
}

/* One round through a session: lane 0 filled, drained to the end, with
 * dumps every interval_ns when it is not 0, and memory sampling rounds
 * every mem_ns when it is not 0 (traces then wait for a round: the cost of
 * holding them). Events/s, or -1. */
static double session_round_mem(uint64_t cap, uint64_t interval_ns, uint64_t mem_ns, const char *dir,
				double *dump_ms)
{
	struct ap_run_opts o;
	struct ap_session *s = calloc(1, sizeof(*s));
	uint64_t n, got = 0, t0, next, next_mem;
	double rate;

	ap_run_opts_default(&o);
	o.seg.lanes = 1;
	o.seg.lane_events = (uint32_t)cap;
	o.out_dir = dir;
	o.interval_ns = interval_ns;
	o.set.memory_interval_ns = mem_ns;
	if (!s || ap_session_open(s, &o))
		return -1;
	n = bench_fill_lane(&s->seg, cap);
	if (mem_ns)	/* the lane's owner is this process: its RSS is sampled */
		atomic_store(&s->seg.lanes[0].owner, AP_OWNER((uint32_t)getpid(), 1));
	atomic_store(&s->seg.lanes[0].head, n);
	t0 = now_ns();
	next = t0 + interval_ns;
	next_mem = t0 + mem_ns;
	while (got < n) {
		got += ap_drain_pass(&s->drain);
		ap_asm_flush(&s->as);
		if (s->mem_on && now_ns() >= next_mem) {
			ap_session_mem_round(s);
			next_mem = now_ns() + mem_ns;
		}
		if (s->dumping) {
			uint64_t t = now_ns();

			ap_dump_poll(&s->dump);
			if (t >= next) {
				ap_session_dump(s, 0);
				next = t + interval_ns;
			}
		}
	}
	rate = (double)n / ((double)(now_ns() - t0) / 1e9);
	if (s->dumping) {
		ap_dump_wait(&s->dump);
		ap_session_dump(s, 0);	/* the last interval, untimed: for the check below */
		ap_dump_wait(&s->dump);
		*dump_ms = s->dumps ? (double)s->render_ns / 1e6 / (double)s->dumps : 0;
		if (s->dumps < 2 || s->dump.failed)
			rate = -1;
	}
	ap_session_mem_end(s);
	if (s->analysis.spans_in_trees != s->as.begins)
		rate = -1;
	ap_session_close(s);
	free(s);
	return rate;
}

static double session_round(uint64_t cap, uint64_t interval_ns, const char *dir, double *dump_ms)
{
	return session_round_mem(cap, interval_ns, 0, dir, dump_ms);
}

int main(int argc, char **argv)
{
	struct ap_seg_config cfg;
	struct ap_segment seg;
	char name[64];
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	uint64_t cap = 1u << 22, n, peak = 0;
	double rate[64];
	static const char *label[] = { "reader_events_per_s", "reader_analysis_events_per_s" };

	if (rounds < 1 || rounds > 64)
		rounds = 7;
	ap_seg_config_default(&cfg);
	cfg.lanes = 1;
	cfg.lane_events = (uint32_t)cap;
	snprintf(name, sizeof(name), "/agentprof-bench-%d", (int)getpid());
	if (ap_seg_create(&seg, name, &cfg)) {
		fprintf(stderr, "bench-reader: cannot create segment\n");
		return 1;
	}
	ap_seg_unlink(name);
	n = bench_fill_lane(&seg, cap);
	for (int stage = 0; stage < 2; stage++) {
		if (argc > 2 && strcmp(argv[2], label[stage]) != 0)
			continue;	/* one stage only: for callgrind */
		for (int r = 0; r < rounds; r++)
			if ((rate[r] = round_once(&seg, n, stage, &peak)) < 0)
				return 1;
		qsort(rate, (size_t)rounds, sizeof(rate[0]), cmp);
		printf("%s %.0f %.0f %.0f\n", label[stage], rate[rounds / 2], rate[0], rate[rounds - 1]);
	}
	printf("reader_peak_spans_in_flight %llu\n", (unsigned long long)peak);
	ap_seg_unmap(&seg);
	if (argc <= 2 || strcmp(argv[2], "reader_dumps_events_per_s") == 0) {
		double plain[64], dumps[64], dms[64];
		char dir[64];

		snprintf(dir, sizeof(dir), "/tmp/agentprof-bench-dumps-%d", (int)getpid());
		mkdir(dir, 0755);
		for (int r = 0; r < rounds; r++) {
			if ((plain[r] = session_round(cap, 0, dir, &dms[r])) < 0 ||
			    (dumps[r] = session_round(cap, 100000000u, dir, &dms[r])) < 0) {
				fprintf(stderr, "bench-reader: session round failed\n");
				return 1;
			}
		}
		qsort(plain, (size_t)rounds, sizeof(plain[0]), cmp);
		qsort(dumps, (size_t)rounds, sizeof(dumps[0]), cmp);
		qsort(dms, (size_t)rounds, sizeof(dms[0]), cmp);
		printf("reader_session_events_per_s %.0f %.0f %.0f\n", plain[rounds / 2], plain[0], plain[rounds - 1]);
		printf("reader_dumps_events_per_s %.0f %.0f %.0f\n", dumps[rounds / 2], dumps[0], dumps[rounds - 1]);
		printf("dump_ms %.3f %.3f %.3f\n", dms[rounds / 2], dms[0], dms[rounds - 1]);
		for (int i = 0; i < 4; i++) {
			static const char *const names[] = { "report.json", "report.txt", "interval.json", "interval.txt" };
			char path[128];

			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	if (argc <= 2 || strcmp(argv[2], "reader_memory_events_per_s") == 0) {
		double plain[64], mem[64], ratio[64], unused;

		for (int r = 0; r < rounds; r++) {
			if ((plain[r] = session_round_mem(cap, 0, 0, "/tmp", &unused)) < 0 ||
			    (mem[r] = session_round_mem(cap, 0, 20000000u, "/tmp", &unused)) < 0) {
				fprintf(stderr, "bench-reader: memory round failed\n");
				return 1;
			}
			ratio[r] = mem[r] / plain[r];
		}
		qsort(mem, (size_t)rounds, sizeof(mem[0]), cmp);
		qsort(ratio, (size_t)rounds, sizeof(ratio[0]), cmp);
		printf("reader_memory_events_per_s %.0f %.0f %.0f\n", mem[rounds / 2], mem[0], mem[rounds - 1]);
		printf("reader_memory_ratio %.3f %.3f %.3f\n", ratio[rounds / 2], ratio[0], ratio[rounds - 1]);
	}
	return 0;
}
