/* SPDX-License-Identifier: MIT */
/*
 * export.h - what the exports (report.html, trace.json, speedscope, folded
 * stacks, pprof) share: a kept trace's tree in pre-order, names escaped for
 * HTML/XML, the name of a span as the exports write it.
 */
#ifndef AP_EXPORT_H
#define AP_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"

/*
 * The spans of k's tree under k->root in pre-order (children in begin
 * order, as the analysis sorted them), into order[] and their depths into
 * depth[] (both k->n long; NULL depth: not wanted), at most max. Iterative;
 * returns the number written. Spans of other roots of the trace view are
 * not in the tree, as in report.json.
 */
uint32_t ap_kept_preorder(const struct ap_kept *k, uint32_t *order, uint32_t *depth, uint32_t max);

/* s as HTML/XML text and attribute values: & < > " ' as character
 * references, control characters other than
 * newline and tab (not allowed in XML 1.0) as U+FFFD. */
void ap_xml_esc(FILE *f, const char *s);

/* s with every control character (newline included) as U+FFFD, into out
 * (cap bytes, NUL-terminated; 3 x strlen(s) + 1 always fits): a name on
 * one line, for viewers that print names raw (pprof, speedscope). */
const char *ap_name_line(const char *s, char *out, size_t cap);
#define AP_NAME_LINE_BUF (3 * AP_NAME_MAX + 1)

/* A span's start in ns since `t0` (ticks), per the trace's clock. */
static inline uint64_t ap_kept_start_ns(const struct ap_analysis *a, uint64_t t0, const struct ap_span *s)
{
	return ap_ticks_delta_ns(&a->clock, t0, s->t_begin);
}

/* The earliest begin (ticks) of every kept trace's root, 0 when none. */
uint64_t ap_kept_t0(const struct ap_analysis *a);

#endif /* AP_EXPORT_H */
