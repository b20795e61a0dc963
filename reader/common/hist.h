/* SPDX-License-Identifier: MIT */
/*
 * hist.h - log-linear histogram of nanosecond durations for percentiles.
 *
 * Values below 128 are counted exactly; above, each power of two is split
 * into 64 buckets, so a bucket spans at most 1/64 of its lower bound and a
 * percentile read at a bucket's midpoint is within 0.8% of the truth (the
 * issue asks for 1%). Fixed size, 3,776 counters (15 KiB), whatever the
 * number or range of values: memory stays bounded per operation.
 */
#ifndef AP_HIST_H
#define AP_HIST_H

#include <stdint.h>

#define AP_HIST_EXACT	128u
#define AP_HIST_SUB	64u
#define AP_HIST_BUCKETS	(AP_HIST_EXACT + (64u - 7u) * AP_HIST_SUB)

struct ap_hist {
	uint64_t count;
	uint64_t max;
	uint64_t min;		/* of the values added; 0 while empty */
	uint32_t b[AP_HIST_BUCKETS];
};

static inline uint32_t ap_hist_index(uint64_t v)
{
	uint32_t e, shift;

	if (v < AP_HIST_EXACT)
		return (uint32_t)v;
	e = 63u - (uint32_t)__builtin_clzll(v);		/* 7..63 */
	shift = e - 6u;					/* v >> shift in [64, 128) */
	return AP_HIST_EXACT + (e - 7u) * AP_HIST_SUB + (uint32_t)((v >> shift) - AP_HIST_SUB);
}

void ap_hist_add(struct ap_hist *h, uint64_t v);
/* dst += src: the histogram of both sets of values. */
void ap_hist_merge(struct ap_hist *dst, const struct ap_hist *src);
/*
 * Value at quantile q in [0, 1], 0 when empty: the nearest rank (the
 * ceil(q x count)-th smallest value, at least the first) read on the
 * histogram as its bucket's midpoint, clamped to the observed min and max;
 * the first and last ranks are the min and max themselves (so one call of 511.2 ms has every percentile 511.2 ms, and calls of 150
 * and 200 ms have P50 150 ms). q <= 0 is the min, q >= 1 the max.
 */
uint64_t ap_hist_quantile(const struct ap_hist *h, double q);

#endif /* AP_HIST_H */
