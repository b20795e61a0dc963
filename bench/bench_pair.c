/* SPDX-License-Identifier: MIT */
/*
 * bench_pair.c - a span pair as a user sees it: the default lane, the real
 * reader attached and draining, bursts and steady streams, beside two
 * floors measured in the same process, interleaved round by round.
 *
 * Run under `agentprof record` with the default lanes (bench/run.sh does).
 * Three loops write the same two events per pair:
 *
 *   api     ap_begin + ap_end through the library;
 *   floor   the least a pair can cost in the same ring under the same reader:
 *           two clock reads, two 64-byte events stored in place into this
 *           thread's own lane, a store-release of head per event, a compare
 *           against a cached tail (the events are real BEGIN/END events, so
 *           the reader drains, validates and assembles them like the API's);
 *   bare    the same stores into a private ring of the lane's size that no
 *           reader ever touches: what the hardware costs with nobody reading.
 *
 * Shapes (each a row):
 *
 *   burst F   a burst of F x lane capacity events (F = 1/4, 1/2, 3/4), timed
 *             as a whole, then a wait until the reader has drained the lane
 *             and a pause (--gap-us) before the next;
 *   steady    a stream at --rate events/s: groups of 8 pairs at even
 *             intervals, only the groups timed (the wait between them is a
 *             spin on the clock, as a busy agent would be computing); when
 *             the lane is found half full (a reader kept off the CPU), the
 *             stream waits, untimed, until it is an eighth full, and the
 *             wait is counted (steady_stalls), so that the row times
 *             recording, not the drop path.
 *
 * Per round and shape, the three loops run in rotating order, each over the
 * same number of pairs; the ratios api/floor and api/bare are taken per
 * round; medians over rounds. Prints "NAME median min max" lines.
 *
 * --plugin PATH also times the pair from a dlopen'd object (bench/plugin.c,
 * linked against libagentprof.so.1: its own copy of the library, TLS in a
 * module loaded at run time, as the Python extension is) interleaved with
 * the static pair: rows so_*. --names: ns per ap_name of a known name, from
 * 2 threads at once.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <agentprof.h>

#include "clock.h"
#include "state.h"

#define MAX_ROUNDS	64
#define GROUP		8	/* pairs per timed group in a steady stream */

static double tick_ns;		/* ns per counter tick */
static struct ap_event *bare;	/* private ring, lane-sized */
static uint64_t bare_head;
static uint64_t floor_id = 1;	/* span ids of the floor's events (odd) */
static uint64_t api_name, floor_trace;
static uint64_t gap_ns = 200000;
static uint64_t floor_skipped;	/* floor events not written: ring full */

static void calibrate(void)
{
	uint64_t n0 = ap_mono_ns(), c0 = ap_counter_ticks(), n1, c1;
	struct timespec ts = { 0, 20000000 };

	nanosleep(&ts, NULL);
	n1 = ap_mono_ns();
	c1 = ap_counter_ticks();
	tick_ns = (double)(n1 - n0) / (double)(c1 - c0);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

static struct ap_thread *me(void)
{
	return ap_self();
}

/* Two events, in place, as the library writes them; `ring` is the lane or
 * the private ring. Returns the new head. Events that would overrun the
 * reader's tail are not written (as the library drops them). */
static inline __attribute__((always_inline))
uint64_t floor_pair(struct ap_event *ring, uint64_t mask, uint64_t h, _Atomic uint64_t *head,
		    uint64_t *tail_cache, _Atomic uint64_t *tail, uint32_t tid)
{
	uint64_t id = floor_id;
	struct ap_event *e;

	if (h + 2 - *tail_cache > mask + 1) {
		*tail_cache = ap_load_acquire(tail);
		if (h + 2 - *tail_cache > mask + 1) {
			floor_skipped += 2;
			return h;
		}
	}
	floor_id = id + 2;
	e = &ring[h & mask];
	e->kind = AP_EV_BEGIN;
	e->category = AP_CAT_TOOL;
	e->flags = 0;
	e->tid = tid;
	e->ts = ap_counter_ticks();
	e->span_id = id;
	e->u.begin.parent_id = 0;
	e->u.begin.trace_hi = floor_trace;
	e->u.begin.trace_lo = id;
	e->u.begin.name_id = api_name;
	e->u.begin.reserved = 0;
	ap_store_release(head, h + 1);
	e = &ring[(h + 1) & mask];
	e->kind = AP_EV_END;
	e->category = 0;
	e->flags = 0;
	e->tid = tid;
	e->ts = ap_counter_ticks();
	e->span_id = id;
	ap_store_release(head, h + 2);
	return h + 2;
}

enum { L_API, L_FLOOR, L_BARE, L_SO, NLOOPS };

static void (*so_pairs)(uint64_t pairs, uint64_t name);	/* the plugin's loop */
static uint64_t so_name;

/* n pairs of loop `which`; returns the ticks spent. */
static uint64_t run_pairs(int which, uint64_t n)
{
	struct ap_thread *t = me();
	uint64_t c0 = ap_counter_ticks();

	switch (which) {
	case L_API:
		for (uint64_t i = 0; i < n; i++)
			ap_end(ap_begin(api_name, AP_CAT_TOOL));
		break;
	case L_FLOOR: {
		uint64_t h = t->head, tc = t->tail_cache;

		for (uint64_t i = 0; i < n; i++)
			h = floor_pair(t->ring, t->mask, h, &t->lane->head, &tc, &t->lane->tail, t->tid);
		t->head = h;
		t->tail_cache = tc;
		break;
	}
	case L_BARE: {
		static _Atomic uint64_t bhead, btail;
		uint64_t h = bare_head, tc = h;

		for (uint64_t i = 0; i < n; i++)
			h = floor_pair(bare, t->mask, h, &bhead, &tc, &btail, t->tid);
		bare_head = h;
		ap_store_relaxed(&btail, h);	/* nobody reads it: always empty */
		break;
	}
	case L_SO:
		so_pairs(n, so_name);
		break;
	}
	return ap_counter_ticks() - c0;
}

/* --count N: N pairs of each loop, each in a function of its own, for
 * `valgrind --tool=callgrind` to count instructions per pair exactly
 * (callgrind_annotate --inclusive=yes: count_api, count_floor, count_so). */
static __attribute__((noinline)) void count_api(uint64_t n) { run_pairs(L_API, n); }
static __attribute__((noinline)) void count_floor(uint64_t n) { run_pairs(L_FLOOR, n); }
static __attribute__((noinline)) void count_so(uint64_t n) { run_pairs(L_SO, n); }

/* Wait until the reader has read everything this thread published. */
static void wait_drained(void)
{
	struct ap_thread *t = me();

	for (int i = 0; i < 200000 && ap_load_acquire(&t->lane->tail) != t->head; i++)
		sleep_ns(20000);
}

/* One burst shape: per round, `bursts` bursts of `pairs` pairs per loop. */
static void burst_round(const int *loops, int nl, int round, uint64_t pairs, int bursts, double *ns)
{
	uint64_t ticks[NLOOPS] = { 0 };

	for (int b = 0; b < bursts; b++) {
		for (int k = 0; k < nl; k++) {
			int which = loops[(k + round + b) % nl];

			wait_drained();
			sleep_ns(gap_ns);
			ticks[which] += run_pairs(which, pairs);
		}
	}
	for (int k = 0; k < nl; k++)
		ns[loops[k]] = (double)ticks[loops[k]] * tick_ns / (double)(pairs * (uint64_t)bursts);
}

static uint64_t steady_stalls;	/* waits for a reader that fell behind */

/* Events of this thread's lane not yet read (the plugin's own lane aside). */
static uint64_t lane_fill(void)
{
	struct ap_thread *t = me();

	return t->head - ap_load_acquire(&t->lane->tail);
}

/* One steady round: `groups` groups of GROUP pairs per loop at `rate`
 * events/s, loops one after another in rotating order. */
static void steady_round(const int *loops, int nl, int round, uint64_t groups, double rate, double *ns)
{
	uint64_t period = (uint64_t)(2.0 * GROUP / rate * 1e9 / tick_ns);

	for (int k = 0; k < nl; k++) {
		int which = loops[(k + round) % nl];
		uint64_t spent = 0, next = ap_counter_ticks();

		wait_drained();
		for (uint64_t g = 0; g < groups; g++) {
			while (ap_counter_ticks() < next)
				__builtin_ia32_pause();
			/* A reader kept off the CPU (a loaded host) lets the lane
			 * fill: wait, untimed and counted, rather than time the
			 * drop path. */
			if (which != L_BARE && lane_fill() > (me()->mask + 1) / 2) {
				steady_stalls++;
				while (lane_fill() > (me()->mask + 1) / 8)
					sleep_ns(20000);
				next = ap_counter_ticks();
			}
			next += period;
			spent += run_pairs(which, GROUP);
		}
		ns[which] = (double)spent * tick_ns / (double)(groups * GROUP);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* "SHAPE_WHAT median min max" */
static void pstat(const char *shape, const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%s_%s %.3f %.3f %.3f\n", shape, what, v[n / 2], v[0], v[n - 1]);
}

/* ns per ap_name of a known name, from 2 threads at once. */
struct name_arg {
	uint64_t calls;
	double ns;
	pthread_barrier_t *go;
};

static void *name_thread(void *p)
{
	struct name_arg *a = p;
	static const char *const names[4] = { "tool:search", "llm:chat", "tool:fetch", "agent:step" };
	uint64_t t0, sink = 0;

	for (int i = 0; i < 4; i++)
		sink += ap_name(names[i]);
	pthread_barrier_wait(a->go);
	t0 = ap_mono_ns();
	for (uint64_t i = 0; i < a->calls; i++)
		sink += ap_name(names[i & 3]);
	a->ns = (double)(ap_mono_ns() - t0) / (double)a->calls;
	__asm__ __volatile__("" : : "r"(sink));
	return NULL;
}

static int names_bench(int rounds)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < rounds; r++) {
		pthread_barrier_t go;
		struct name_arg a[2];
		pthread_t th[2];

		pthread_barrier_init(&go, NULL, 2);
		for (int k = 0; k < 2; k++) {
			a[k] = (struct name_arg){ 2000000, 0, &go };
			if (pthread_create(&th[k], NULL, name_thread, &a[k]))
				return -1;
		}
		for (int k = 0; k < 2; k++)
			pthread_join(th[k], NULL);
		pthread_barrier_destroy(&go);
		v[r] = (a[0].ns + a[1].ns) / 2;
	}
	pstat("name_known", "ns", v, rounds);
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = 11, bursts = 20, do_names = 0, nested = 0;
	uint64_t count = 0;
	uint64_t groups = 4000;
	double rate = 2e6;
	const char *plugin = NULL;
	struct ap_thread *t;
	struct ap_stats st;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(v), i++;
		else if (strcmp(argv[i], "--bursts") == 0)
			bursts = atoi(v), i++;
		else if (strcmp(argv[i], "--groups") == 0)
			groups = strtoull(v, NULL, 10), i++;
		else if (strcmp(argv[i], "--rate") == 0)
			rate = atof(v), i++;
		else if (strcmp(argv[i], "--gap-us") == 0)
			gap_ns = strtoull(v, NULL, 10) * 1000, i++;
		else if (strcmp(argv[i], "--plugin") == 0)
			plugin = v, i++;
		else if (strcmp(argv[i], "--names") == 0)
			do_names = 1;
		else if (strcmp(argv[i], "--count") == 0)
			count = strtoull(v, NULL, 10), i++;
		else if (strcmp(argv[i], "--nested") == 0)
			nested = 1;
		else {
			fprintf(stderr, "bench-pair: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || bursts < 1 || groups < 1 || rate <= 0) {
		fprintf(stderr, "bench-pair: --rounds 1..%d, --bursts, --groups, --rate > 0\n", MAX_ROUNDS);
		return 2;
	}
	api_name = ap_name("bench:span");
	floor_trace = ap_w_random64() | 1;
	if (!ap_enabled()) {
		fprintf(stderr, "bench-pair: run under agentprof record (AGENTPROF_SHM unset or bad)\n");
		return 2;
	}
	ap_end(ap_begin(api_name, AP_CAT_TOOL));	/* lane claim */
	t = me();
	if (!t->ring) {
		fprintf(stderr, "bench-pair: no lane\n");
		return 1;
	}
	floor_id = ap_w_random64() | 1;
	bare = aligned_alloc(64, (t->mask + 1) * sizeof(*bare));
	if (!bare)
		return 1;
	memset(bare, 0, (t->mask + 1) * sizeof(*bare));
	calibrate();
	if (plugin) {
		void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
		uint64_t (*pname)(const char *);

		if (!h) {
			fprintf(stderr, "bench-pair: %s\n", dlerror());
			return 1;
		}
		so_pairs = (void (*)(uint64_t, uint64_t))dlsym(h, "plugin_pairs");
		pname = (uint64_t (*)(const char *))dlsym(h, "plugin_name");
		if (!so_pairs || !pname) {
			fprintf(stderr, "bench-pair: %s lacks plugin_pairs/plugin_name\n", plugin);
			return 1;
		}
		so_name = pname("bench:span");
		so_pairs(1000, so_name);	/* its own lane claim, warm-up */
	}
	if (do_names)
		return names_bench(rounds) ? 1 : 0;

	/* --nested: every pair a child of one open span (an agent's tool calls
	 * under its task), not a new trace of its own. */
	if (nested)
		(void)ap_begin(api_name, AP_CAT_INTERNAL);
	if (count) {
		for (uint64_t done = 0; done < count; done += 1000) {
			count_api(1000);
			wait_drained();
			count_floor(1000);
			wait_drained();
			if (so_pairs) {
				count_so(1000);
				wait_drained();
			}
		}
		printf("counted %llu pairs per loop\n", (unsigned long long)count);
		return 0;
	}
	/* Warm-up: every loop, every page. */
	for (int k = 0; k < 3; k++) {
		run_pairs(k, t->mask / 2);
		wait_drained();
	}
	{
		static const char *const shape[4] = { "q1", "q2", "q3", "steady" };
		int loops3[3] = { L_API, L_FLOOR, L_BARE }, loops2[2] = { L_API, L_SO };
		const int *loops = plugin ? loops2 : loops3;
		int nl = plugin ? 2 : 3;

		for (int s = 0; s < 4; s++) {
			double v[NLOOPS][MAX_ROUNDS], rf[MAX_ROUNDS], rb[MAX_ROUNDS], rr[MAX_ROUNDS];

			for (int r = 0; r < rounds; r++) {
				double ns[NLOOPS] = { 0 };

				if (s < 3)
					burst_round(loops, nl, r, (t->mask + 1) * (uint64_t)(s + 1) / 8, bursts, ns);
				else
					steady_round(loops, nl, r, groups, rate, ns);
				for (int k = 0; k < NLOOPS; k++)
					v[k][r] = ns[k];
				rf[r] = plugin ? ns[L_SO] / ns[L_API] : ns[L_API] / ns[L_FLOOR];
				rb[r] = plugin ? 0 : ns[L_API] / ns[L_BARE];
				rr[r] = plugin ? 0 : ns[L_FLOOR] / ns[L_BARE];
			}
			if (plugin) {
				pstat(shape[s], "static", v[L_API], rounds);
				pstat(shape[s], "plugin", v[L_SO], rounds);
				pstat(shape[s], "plugin_over_static", rf, rounds);
				continue;
			}
			pstat(shape[s], "api", v[L_API], rounds);
			pstat(shape[s], "floor", v[L_FLOOR], rounds);
			pstat(shape[s], "bare", v[L_BARE], rounds);
			pstat(shape[s], "api_over_floor", rf, rounds);
			pstat(shape[s], "api_over_bare", rb, rounds);
			pstat(shape[s], "floor_over_bare", rr, rounds);
		}
	}
	ap_stats(&st);
	printf("writer_dropped %llu\nwriter_recorded %llu\nfloor_skipped %llu\nsteady_stalls %llu\n",
	       (unsigned long long)(st.dropped_full + st.dropped_no_lane + st.dropped_reentrant),
	       (unsigned long long)st.recorded, (unsigned long long)floor_skipped,
	       (unsigned long long)steady_stalls);
	return 0;
}
