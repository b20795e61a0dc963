/* SPDX-License-Identifier: MIT */
/*
 * spans.h - pair BEGIN and END events into spans (reader-private).
 *
 * Events of one span can arrive in any order: a span ended on another thread
 * has its END in another lane, which the drain may visit first. So a span is
 * created by whichever of its events comes first and is complete once both
 * BEGIN and END are in. Memory is capped (max_spans); a span past the cap is
 * not kept and its events are counted in `over_cap`.
 */
#ifndef AP_SPANS_H
#define AP_SPANS_H

#include <stdint.h>

#include "ap_shm.h"
#include "hmap.h"

#define AP_SPAN_HAVE_BEGIN	0x01u
#define AP_SPAN_HAVE_END	0x02u
#define AP_SPAN_HAVE_TOKENS	0x04u

struct ap_span {
	uint64_t id;
	uint64_t parent;
	uint64_t trace_hi, trace_lo;
	uint64_t name;
	uint64_t model;
	uint64_t t_begin, t_end;	/* raw clock ticks */
	uint32_t pid;			/* process that began it (0: unknown) */
	uint32_t tid_begin, tid_end;
	uint32_t input_tokens, output_tokens;
	uint16_t flags;			/* AP_EVF_* of its BEGIN */
	uint8_t category;
	uint8_t have;			/* AP_SPAN_HAVE_* */
};

struct ap_dep {
	uint64_t span, on_span;
};

struct ap_spans {
	struct ap_span *v;
	uint32_t n, cap, max;
	struct ap_map index;		/* span id -> index + 1 */
	struct ap_dep *deps;
	uint32_t ndeps, deps_cap, deps_max;
	/* Anomalies, each an event count. */
	uint64_t duplicate_begin;	/* a second BEGIN for a span id */
	uint64_t duplicate_end;		/* a second END for a span id */
	uint64_t duplicate_tokens;	/* a second TOKENS for a span id (last one kept) */
	uint64_t over_cap;		/* events of spans past max_spans, or deps past their cap */
	uint64_t invalid;		/* events rejected by field checks */
	uint64_t begins, ends, tokens, depends;	/* valid events accepted */
};

struct ap_span_counts {
	uint64_t complete;		/* BEGIN and END */
	uint64_t open;			/* BEGIN without END: truncated */
	uint64_t unmatched_end;		/* END without BEGIN (its BEGIN was dropped) */
	uint64_t tokens_only;		/* TOKENS for a span never begun */
};

int ap_spans_init(struct ap_spans *s, uint32_t max_spans);
void ap_spans_free(struct ap_spans *s);
/* Drain callback: returns 0 when accepted, -1 when the event is rejected. */
int ap_spans_event(void *ctx, uint32_t pid, const struct ap_event *ev);
void ap_spans_count(const struct ap_spans *s, struct ap_span_counts *c);
/* The span with id, or NULL. */
struct ap_span *ap_spans_find(const struct ap_spans *s, uint64_t id);

#endif /* AP_SPANS_H */
