/* SPDX-License-Identifier: MIT */
/*
 * bench_lttng.c - the same span (a begin and an end event with agentprof's
 * fields) through LTTng-UST, for the side-by-side figure in `make bench`.
 * bench/lttng.sh starts a private session daemon and a userspace session
 * around it. Prints "lttng NAME median min max" (ns per span) lines.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_tp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double round_once(uint64_t pairs, uint32_t tid)
{
	uint64_t t0 = now_ns(), id = 1;

	for (uint64_t i = 0; i < pairs; i++, id += 2) {
		lttng_ust_tracepoint(agentprof_bench, span_begin, id, 0, 0x1234, id, 0x5678, tid, 2);
		lttng_ust_tracepoint(agentprof_bench, span_end, id, tid);
	}
	return (double)(now_ns() - t0) / (double)pairs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	uint64_t pairs = argc > 1 ? strtoull(argv[1], NULL, 10) : 250000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	double v[MAX_ROUNDS];

	if (rounds < 1 || rounds > MAX_ROUNDS || pairs == 0) {
		fprintf(stderr, "bench-lttng: PAIRS ROUNDS (1..%d)\n", MAX_ROUNDS);
		return 2;
	}
	round_once(pairs / 4, tid);	/* warm up: registration, buffers */
	for (int r = 0; r < rounds; r++)
		v[r] = round_once(pairs, tid);
	qsort(v, (size_t)rounds, sizeof(v[0]), cmp_double);
	printf("lttng %.3f %.3f %.3f\n", v[rounds / 2], v[0], v[rounds - 1]);
	printf("lttng_events %llu\n", (unsigned long long)(2 * (pairs / 4 + (uint64_t)rounds * pairs)));
	return 0;
}
