/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "hist.h"

void ap_hist_add(struct ap_hist *h, uint64_t v)
{
	uint32_t i = ap_hist_index(v);

	if (h->b[i] != UINT32_MAX)
		h->b[i]++;
	if (!h->count || v < h->min)
		h->min = v;
	h->count++;
	if (v > h->max)
		h->max = v;
}

void ap_hist_merge(struct ap_hist *dst, const struct ap_hist *src)
{
	for (uint32_t i = 0; i < AP_HIST_BUCKETS; i++) {
		uint64_t n = (uint64_t)dst->b[i] + src->b[i];

		dst->b[i] = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	}
	if (src->count && (!dst->count || src->min < dst->min))
		dst->min = src->min;
	dst->count += src->count;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Lowest value of bucket i, and its width. */
static void bucket_range(uint32_t i, uint64_t *lo, uint64_t *width)
{
	uint32_t e, sub;

	if (i < AP_HIST_EXACT) {
		*lo = i;
		*width = 1;
		return;
	}
	e = (i - AP_HIST_EXACT) / AP_HIST_SUB + 7u;
	sub = (i - AP_HIST_EXACT) % AP_HIST_SUB + AP_HIST_SUB;
	*width = UINT64_C(1) << (e - 6u);
	*lo = (uint64_t)sub << (e - 6u);
}

uint64_t ap_hist_quantile(const struct ap_hist *h, double q)
{
	uint64_t rank, seen = 0, lo, width;
	double r;

	if (h->count == 0)
		return 0;
	if (!(q > 0))
		return h->min;
	if (q >= 1)
		return h->max;
	r = ceil(q * (double)h->count);		/* 1-based nearest rank */
	rank = r < 1 ? 1 : r > (double)h->count ? h->count : (uint64_t)r;
	if (rank == h->count)
		return h->max;		/* the largest value is known exactly */
	if (rank == 1)
		return h->min;		/* and the smallest */
	for (uint32_t i = 0; i < AP_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			bucket_range(i, &lo, &width);
			lo += width / 2;
			return lo > h->max ? h->max : lo < h->min ? h->min : lo;
		}
	}
	return h->max;
}
