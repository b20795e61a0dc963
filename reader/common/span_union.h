/* SPDX-License-Identifier: MIT */
/*
 * span_union.h - the length of a union of intervals fed in order of their
 * begins, each clipped to a window first: the time a span's children
 * cover, so that its self time counts overlapping children once. Used by
 * the analysis (tree.c) and the OTLP encoder (otlp.c), which must agree to
 * the nanosecond.
 */
#ifndef AP_SPAN_UNION_H
#define AP_SPAN_UNION_H

#include <stdint.h>

struct ap_span_union {
	uint64_t lo, hi;	/* the window */
	uint64_t covered;	/* closed runs so far */
	uint64_t cur_b, cur_e;	/* the run still open */
	int open;
};

static inline void ap_span_union_init(struct ap_span_union *u, uint64_t lo, uint64_t hi)
{
	*u = (struct ap_span_union){ .lo = lo, .hi = hi };
}

/* [b, e) clipped to the window; b not before the previous interval's b. */
static inline void ap_span_union_add(struct ap_span_union *u, uint64_t b, uint64_t e)
{
	if (b < u->lo)
		b = u->lo;
	if (e > u->hi)
		e = u->hi;
	if (e <= b)
		return;
	if (u->open && b <= u->cur_e) {
		if (e > u->cur_e)
			u->cur_e = e;
		return;
	}
	if (u->open)
		u->covered += u->cur_e - u->cur_b;
	u->cur_b = b;
	u->cur_e = e;
	u->open = 1;
}

static inline uint64_t ap_span_union_total(const struct ap_span_union *u)
{
	return u->covered + (u->open ? u->cur_e - u->cur_b : 0);
}

#endif /* AP_SPAN_UNION_H */
