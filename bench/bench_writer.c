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
 * so both see the same machine state; then, after ap_detach(),
 *
 *   off     ap_begin + ap_end with profiling off.
 *
 * Prints one line per figure: "NAME median min max" in ns per span, and the
 * writer's own drop counts, for run.sh to tabulate.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <agentprof.h>

#define MAX_ROUNDS 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return now_ns();
#endif
}

/* The floor's ring: same event size and alignment as a lane. */
struct fevent {
	uint64_t w[8];
} __attribute__((aligned(64)));

static struct fevent *fring;
static _Atomic uint64_t fhead;
#define FRING_EVENTS (1u << 16)

static double floor_round(uint64_t pairs)
{
	uint64_t t0 = now_ns(), h = atomic_load_explicit(&fhead, memory_order_relaxed);

	for (uint64_t i = 0; i < pairs; i++) {
		struct fevent *e = &fring[h & (FRING_EVENTS - 1)];

		e->w[0] = 1;
		e->w[1] = ticks();
		e->w[2] = i;
		e->w[3] = 0;
		e->w[4] = 0x1234;
		e->w[5] = 0x5678;
		e->w[6] = 42;
		e->w[7] = 0;
		e = &fring[(h + 1) & (FRING_EVENTS - 1)];
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
	struct ap_stats st;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--pairs") == 0)
			pairs = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || pairs == 0) {
		fprintf(stderr, "bench-writer: --rounds 1..%d, --pairs > 0\n", MAX_ROUNDS);
		return 2;
	}
	fring = aligned_alloc(64, FRING_EVENTS * sizeof(*fring));
	if (!fring)
		return 1;
	memset(fring, 0, FRING_EVENTS * sizeof(*fring));
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
	ap_detach();
	for (int r = 0; r < rounds; r++)
		off[r] = api_round(pairs * 4, name);
	print_stat("floor", fl, rounds);
	print_stat("on", on, rounds);
	print_stat("ratio", ratio, rounds);
	print_stat("off", off, rounds);
	printf("writer_recorded %llu\nwriter_dropped %llu\n", (unsigned long long)st.recorded,
	       (unsigned long long)(st.dropped_full + st.dropped_no_lane + st.dropped_reentrant));
	return 0;
}
