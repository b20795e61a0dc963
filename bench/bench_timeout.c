/* SPDX-License-Identifier: MIT */
/*
 * bench_timeout.c - the reader's memory with a steady rate of dying
 * workers, against the bound README states.
 *
 *   bench-timeout [--rate R] [--spans S] [--timeout T] [--hours H]
 *
 * Event time is simulated (the clock is ns): R workers a second die in the
 * middle of a trace of S spans (a root, S - 1 children, half of them left
 * open), among as many healthy traces that complete; the trace timeout T
 * is checked every min(T / 8, 1 s) as serve does. Prints the spans in
 * flight at their peak beside the bound (R x (T + min(T/8, 1 s)) + 1) x S, the
 * assembler's heap at the end of each simulated hour, and the traces timed
 * out, as "name value" lines for bench/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>

#include "assemble.h"

static uint64_t handed;

static void sink(void *ctx, const struct ap_trace_view *t)
{
	(void)ctx;
	handed += t->n;
}

static void ev(struct ap_assembler *as, uint8_t kind, uint64_t id, uint64_t parent, uint64_t ts)
{
	struct ap_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts = ts;
	e.span_id = id;
	e.tid = 1;
	if (kind == AP_EV_BEGIN)
		e.u.begin.parent_id = parent;
	ap_asm_event(as, 1 + (uint32_t)(id % 1000), &e);
}

int main(int argc, char **argv)
{
	double rate = 1, hours = 2, timeout_s = 300;
	unsigned spans = 10;
	struct ap_assembler as;
	uint64_t peak = 0, id = 1, next_check = 0, step, timeout, period, t, end;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rate") == 0)
			rate = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--spans") == 0)
			spans = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout_s = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--hours") == 0)
			hours = atof(argv[i + 1]);
	}
	if (!(rate > 0) || spans < 2 || !(timeout_s > 0) || !(hours > 0))
		return 2;
	if (ap_asm_init(&as, 1u << 24, sink, NULL))
		return 1;
	timeout = (uint64_t)(timeout_s * 1e9);
	step = timeout / 8 < 1000000000u ? timeout / 8 : 1000000000u;
	period = (uint64_t)(1e9 / rate);
	end = (uint64_t)(hours * 3600e9);
	for (t = 1000000000u; t < end; t += period) {
		uint64_t root = id, healthy = id + 2 * spans;

		/* A dying trace: root and children, every other child left open. */
		ev(&as, AP_EV_BEGIN, root, 0, t);
		for (unsigned k = 1; k < spans; k++) {
			ev(&as, AP_EV_BEGIN, root + 2 * k, root, t + k);
			if (k & 1)
				ev(&as, AP_EV_END, root + 2 * k, 0, t + k + 1);
		}
		/* A healthy one that completes. */
		ev(&as, AP_EV_BEGIN, healthy, 0, t);
		for (unsigned k = 1; k < spans; k++) {
			ev(&as, AP_EV_BEGIN, healthy + 2 * k, healthy, t + k);
			ev(&as, AP_EV_END, healthy + 2 * k, 0, t + k + 1);
		}
		ev(&as, AP_EV_END, healthy, 0, t + spans + 1);
		id += 4 * spans;
		ap_asm_flush(&as);
		if (ap_asm_in_flight(&as) > peak)
			peak = ap_asm_in_flight(&as);
		if (t >= next_check) {
			if (t > timeout)
				ap_asm_expire(&as, t - timeout);
			next_check = t + step;
		}
	}
	{
		struct mallinfo2 mi = mallinfo2();

		printf("timeout_peak_spans %llu\n", (unsigned long long)peak);
		printf("timeout_bound_spans %.0f\n", (rate * ((double)(timeout + step) / 1e9) + 1) * spans);
		printf("timeout_traces_timed_out %llu\n", (unsigned long long)as.traces_timed_out);
		printf("timeout_heap_mib %.1f\n", (double)(mi.uordblks + mi.hblkhd) / 1048576.0);
		printf("timeout_simulated_hours %.1f\n", hours);
	}
	ap_asm_free(&as);
	return peak <= (rate * ((double)(timeout + step) / 1e9) + 1) * spans ? 0 : 1;
}
