/* SPDX-License-Identifier: MIT */
/*
 * bench_writer.c - cost of recording a span, beside the physical floor.
 *
 * Run under `agentprof record` (bench/run.sh does), so the real reader is
 * attached and draining. Rounds alternate between:
 *
 *   floor   a bare loop doing what a span must do at the least: two rdtsc,
 *           two 64-byte event stores into a ring, one store-release of head;
 *   on      ap_begin + ap_end through the library;
 *
 * so both see the same machine state; then
 *
 *   on2        the same from 2 processes at once (forked: each its own lane),
 *              per round the mean of the two;
 *   unsampled  re-attached with AGENTPROF_SAMPLE=0: a span of a trace that
 *              is not sampled;
 *   off        after ap_detach(): profiling off;
 *   waiting    attached to a name that does not exist: the process waits
 *              for a reader, looking again once a second (each span: the
 *              call, a compare of the coarse clock, a count).
 *
 * Prints one line per figure: "NAME median min max" in ns per span, and the
 * writer's own drop counts, for run.sh to tabulate.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentprof.h>

#include "clock.h"

#define MAX_ROUNDS 64

#define now_ns ap_mono_ns
#define ticks ap_counter_ticks

/* The floor's ring: same event size and alignment as a lane, and the same
 * number of events as the lanes of the run (--ring, a power of two), so
 * that both stream through the same amount of memory: on a host where
 * first-touching memory is dear (a VM whose guest pages are reclaimed or
 * backed lazily) a small floor ring would hide that cost from the floor
 * alone. */
struct fevent {
	uint64_t w[8];
} __attribute__((aligned(64)));

static struct fevent *fring;
static _Atomic uint64_t fhead;
static uint64_t fring_events = 1u << 16;

static double floor_round(uint64_t pairs)
{
	uint64_t t0 = now_ns(), h = atomic_load_explicit(&fhead, memory_order_relaxed);

	for (uint64_t i = 0; i < pairs; i++) {
		struct fevent *e = &fring[h & (fring_events - 1)];

		e->w[0] = 1;
		e->w[1] = ticks();
		e->w[2] = i;
		e->w[3] = 0;
		e->w[4] = 0x1234;
		e->w[5] = 0x5678;
		e->w[6] = 42;
		e->w[7] = 0;
		e = &fring[(h + 1) & (fring_events - 1)];
		e->w[0] = 2;
		e->w[1] = ticks();
		e->w[2] = i;
		e->w[3] = 0;
		e->w[4] = 0;
		e->w[5] = 0;
		e->w[6] = 0;
		e->w[7] = 0;
		h += 2;
		atomic_store_explicit(&fhead, h, memory_order_release);
	}
	return (double)(now_ns() - t0) / (double)pairs;
}

static double api_round(uint64_t pairs, uint64_t name)
{
	uint64_t t0 = now_ns();

	for (uint64_t i = 0; i < pairs; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	return (double)(now_ns() - t0) / (double)pairs;
}

/* Rounds of api_round in two forked processes started together; per round
 * the mean of the two. Returns 0, or -1 when a process failed. */
static int two_procs(uint64_t pairs, uint64_t name, int rounds, double *out)
{
	int go[2], res[2];
	pid_t pid[2];
	double v[2][MAX_ROUNDS];

	if (pipe(go) || pipe(res))
		return -1;
	for (int p = 0; p < 2; p++) {
		pid[p] = fork();
		if (pid[p] < 0)
			return -1;
		if (pid[p] == 0) {
			double mine[MAX_ROUNDS];
			char c;

			api_round(pairs / 4, name);	/* lane claim, warm-up */
			if (read(go[0], &c, 1) != 1)
				_exit(1);
			for (int r = 0; r < rounds; r++)
				mine[r] = api_round(pairs, name);
			_exit(write(res[1], mine, sizeof(double) * (size_t)rounds) ==
			      (ssize_t)(sizeof(double) * (size_t)rounds) ? 0 : 1);
		}
	}
	if (write(go[1], "gg", 2) != 2)
		return -1;
	for (int p = 0; p < 2; p++) {
		int status;

		if (read(res[0], v[p], sizeof(double) * (size_t)rounds) != (ssize_t)(sizeof(double) * (size_t)rounds))
			return -1;
		if (waitpid(pid[p], &status, 0) != pid[p] || !WIFEXITED(status) || WEXITSTATUS(status))
			return -1;
	}
	for (int r = 0; r < rounds; r++)
		out[r] = (v[0][r] + v[1][r]) / 2;
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_stat(const char *label, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%s %.3f %.3f %.3f\n", label, v[n / 2], v[0], v[n - 1]);
}

int main(int argc, char **argv)
{
	uint64_t pairs = 250000, name;
	int rounds = 7;
	double fl[MAX_ROUNDS], on[MAX_ROUNDS], off[MAX_ROUNDS], ratio[MAX_ROUNDS];
	double on2[MAX_ROUNDS], ratio2[MAX_ROUNDS], unsampled[MAX_ROUNDS], waiting[MAX_ROUNDS];
	char missing[64];
	struct ap_stats st;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--pairs") == 0)
			pairs = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--ring") == 0)
			fring_events = strtoull(argv[i + 1], NULL, 10);
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || pairs == 0) {
		fprintf(stderr, "bench-writer: --rounds 1..%d, --pairs > 0\n", MAX_ROUNDS);
		return 2;
	}
	if (fring_events < 2 || (fring_events & (fring_events - 1))) {
		fprintf(stderr, "bench-writer: --ring takes a power of two\n");
		return 2;
	}
	fring = aligned_alloc(64, fring_events * sizeof(*fring));
	if (!fring)
		return 1;
	memset(fring, 0, fring_events * sizeof(*fring));
	name = ap_name("bench:span");
	if (!ap_enabled()) {
		fprintf(stderr, "bench-writer: run under agentprof record (AGENTPROF_SHM unset or bad)\n");
		return 2;
	}
	/* Warm up both paths (lane claim, page faults, caches). */
	floor_round(pairs / 4);
	api_round(pairs / 4, name);
	for (int r = 0; r < rounds; r++) {
		fl[r] = floor_round(pairs);
		on[r] = api_round(pairs, name);
		ratio[r] = on[r] / fl[r];
	}
	ap_stats(&st);
	fflush(stdout);
	if (two_procs(pairs, name, rounds, on2)) {
		fprintf(stderr, "bench-writer: the two-process rounds failed\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++)
		ratio2[r] = on2[r] / fl[r];
	ap_detach();
	setenv("AGENTPROF_SAMPLE", "0", 1);
	if (ap_attach(NULL) != 0 || !ap_enabled()) {
		fprintf(stderr, "bench-writer: cannot re-attach with AGENTPROF_SAMPLE=0\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++)
		unsampled[r] = api_round(pairs * 4, name);
	ap_detach();
	for (int r = 0; r < rounds; r++)
		off[r] = api_round(pairs * 4, name);
	snprintf(missing, sizeof(missing), "/agentprof-bench-missing-%d", (int)getpid());
	if (ap_attach(missing) != -ENOENT || ap_enabled()) {
		fprintf(stderr, "bench-writer: attach to a missing segment did not wait\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++)
		waiting[r] = api_round(pairs * 4, name);
	if (ap_spans_no_reader() < pairs * 4 * (uint64_t)rounds) {
		fprintf(stderr, "bench-writer: spans while waiting were not counted\n");
		return 1;
	}
	ap_detach();
	print_stat("floor", fl, rounds);
	print_stat("on", on, rounds);
	print_stat("ratio", ratio, rounds);
	print_stat("on2", on2, rounds);
	print_stat("ratio2", ratio2, rounds);
	print_stat("unsampled", unsampled, rounds);
	print_stat("off", off, rounds);
	print_stat("waiting", waiting, rounds);
	printf("writer_recorded %llu\nwriter_dropped %llu\n", (unsigned long long)st.recorded,
	       (unsigned long long)(st.dropped_full + st.dropped_no_lane + st.dropped_reentrant));
	return 0;
}
