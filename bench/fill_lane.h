/* SPDX-License-Identifier: MIT */
/*
 * fill_lane.h - the reader benches' synthetic stream: lane 0 of a segment
 * filled with a CLAIM, then 7-span traces (a root, 3 children, 3
 * grandchildren, tokens on the first child) up to n_events. Shared by
 * bench_reader.c and bench_otlp.c, so both measure the same stream.
 */
#ifndef AP_BENCH_FILL_LANE_H
#define AP_BENCH_FILL_LANE_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ap_shm.h"
#include "segment.h"

static inline uint64_t bench_fill_lane(struct ap_segment *seg, uint64_t n_events)
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

#endif /* AP_BENCH_FILL_LANE_H */
