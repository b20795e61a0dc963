/* SPDX-License-Identifier: MIT */
/*
 * labels.h - how every renderer spells the same things: category names and
 * fills, milliseconds, shares, names by id, clock names.
 */
#ifndef AP_LABELS_H
#define AP_LABELS_H

#include <stdint.h>

#include "analysis.h"
#include "text.h"

/* "internal", "llm", "tool", "memory"; "?" out of range. */
const char *ap_cat_name(uint8_t c);
/* The text flame chart's fill of a category: █ ▓ ▒ ░. */
const char *ap_cat_fill(uint8_t c);
/* What to try for a slow operation of category c (the top operations by
 * self time in every report): a smaller model for an LLM call, caching or a
 * timeout for a tool, batching or async writes for memory. */
const char *ap_cat_suggestion(uint8_t c);

/* The n operations with the most self time (fewer when there are fewer),
 * most first, into out; returns how many. */
#define AP_TOP_SELF 3u
uint32_t ap_top_self(const struct ap_analysis *a, const struct ap_op **out, uint32_t n);

/* How percentiles are read, as every report states it. */
#define AP_PCTL_DEFINITION "nearest rank, read on a log-linear histogram (bucket midpoint, within 0.8%) and clamped to the observed min and max"

/* A percentage printed with sensible precision into buf: two significant
 * digits below 10 ("0.05", "2.3"), none above ("28"), "<0.01" for a
 * positive share smaller than that. */
const char *ap_pct_text(double pct, char buf[16]);

/* "tsc", "cntvct", "monotonic". */
const char *ap_clock_name(uint32_t source);

static inline double ap_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* 100 x part / whole, 0 for an empty whole. */
static inline double ap_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* The name of id in a's name table, or "name#<hex>" in buf. */
static inline const char *ap_nm(const struct ap_analysis *a, uint64_t id, char buf[32])
{
	return ap_names_get(a->names, id, buf);
}

/*
 * Text for a terminal (report.txt, stdout): a string escaped as text.h says
 * (no control character reaches the terminal) and, for width >= 0, cut and
 * padded to `width` display cells, in one of a few rotating buffers, so that
 * several can be arguments of one printf. Valid until that many more calls;
 * renderers run on one thread.
 */
const char *ap_tcell(const char *s, int width);
/* The name of id, as ap_tcell(name, width). */
static inline const char *ap_tname(const struct ap_analysis *a, uint64_t id, int width)
{
	char buf[32];

	return ap_tcell(ap_nm(a, id, buf), width);
}

#endif /* AP_LABELS_H */
