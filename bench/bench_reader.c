/* SPDX-License-Identifier: MIT */
/*
 * bench_reader.c - the reader's drain with span pairing on a synthetic
 * stream, events per second on one core.
 *
 * One lane is filled with a CLAIM and then nested spans (root, 3 children,
 * each child with one grandchild; one in four LLM spans carries tokens), as
 * a worker would write them; the timed part is ap_drain_pass() until the
 * lane is empty, into a fresh span store each round. Prints
 * "reader_events_per_s median min max".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drain.h"
#include "spans.h"

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

static uint64_t fill(struct ap_segment *seg, uint64_t n_events)
{
	struct ap_event *ring = ap_seg_ring(seg, 0);
	uint64_t h = 0, id = 1, ts = 1000;

	memset(&ring[h], 0, sizeof(ring[h]));
	ring[h].kind = AP_EV_CLAIM;
	ring[h].u.claim.pid = (uint64_t)getpid();
	h++;
	while (h + 16 < n_events) {
		/* root { c1 { g }, c2 { g }, c3 { g } } */
		uint64_t root = id += 2;

		ring[h++] = (struct ap_event){ .kind = AP_EV_BEGIN, .category = 0, .tid = 1, .ts = ts++,
			.span_id = root, .u.begin = { .trace_lo = root, .name_id = 11 } };
		for (int c = 0; c < 3; c++) {
			uint64_t child = id += 2, g = id += 2;

			ring[h++] = (struct ap_event){ .kind = AP_EV_BEGIN, .category = 1, .tid = 1, .ts = ts++,
				.span_id = child, .u.begin = { .parent_id = root, .trace_lo = root, .name_id = 12 } };
			ring[h++] = (struct ap_event){ .kind = AP_EV_BEGIN, .category = 2, .tid = 1, .ts = ts++,
				.span_id = g, .u.begin = { .parent_id = child, .trace_lo = root, .name_id = 13 } };
			ring[h++] = (struct ap_event){ .kind = AP_EV_END, .tid = 1, .ts = ts++, .span_id = g };
			if (c == 0)
				ring[h++] = (struct ap_event){ .kind = AP_EV_TOKENS, .tid = 1, .ts = ts,
					.span_id = child, .u.tokens = { .model_id = 14, .input_tokens = 100 } };
			ring[h++] = (struct ap_event){ .kind = AP_EV_END, .tid = 1, .ts = ts++, .span_id = child };
		}
		ring[h++] = (struct ap_event){ .kind = AP_EV_END, .tid = 1, .ts = ts++, .span_id = root };
	}
	return h;
}

int main(int argc, char **argv)
{
	struct ap_seg_config cfg;
	struct ap_segment seg;
	char name[64];
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	uint64_t cap = 1u << 22, n;
	double rate[64];

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
	n = fill(&seg, cap);
	for (int r = 0; r < rounds; r++) {
		struct ap_drain d;
		struct ap_spans s;
		uint64_t t0, got = 0;

		atomic_store(&seg.lanes[0].head, 0);
		atomic_store(&seg.lanes[0].tail, 0);
		ap_spans_init(&s, 1u << 22);
		ap_drain_init(&d, &seg, ap_spans_event, &s);
		d.batch = 1u << 16;
		atomic_store(&seg.lanes[0].head, n);
		t0 = now_ns();
		while (got < n)
			got += ap_drain_pass(&d);
		rate[r] = (double)n / ((double)(now_ns() - t0) / 1e9);
		if (s.begins + s.ends + s.tokens != n - 1) {
			fprintf(stderr, "bench-reader: paired %llu of %llu events\n",
				(unsigned long long)(s.begins + s.ends + s.tokens), (unsigned long long)n - 1);
			return 1;
		}
		ap_drain_free(&d);
		ap_spans_free(&s);
	}
	qsort(rate, (size_t)rounds, sizeof(rate[0]), cmp);
	printf("reader_events_per_s %.0f %.0f %.0f\n", rate[rounds / 2], rate[0], rate[rounds - 1]);
	ap_seg_unmap(&seg);
	return 0;
}
