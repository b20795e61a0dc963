/* SPDX-License-Identifier: MIT */
/*
 * spans.h - a span as the reader knows it: what the assembler (assemble.h)
 * builds from a span's BEGIN, END, TOKENS and ERROR events, and hands on with its
 * trace.
 */
#ifndef AP_SPANS_H
#define AP_SPANS_H

#include <stdint.h>

#include "ap_shm.h"

#define AP_SPAN_HAVE_BEGIN	0x01u
#define AP_SPAN_HAVE_END	0x02u
#define AP_SPAN_HAVE_TOKENS	0x04u
#define AP_SPAN_HAVE_ERROR	0x08u	/* it failed (an ERROR event); error names why */

struct ap_span {
	uint64_t id;
	uint8_t have;			/* AP_SPAN_HAVE_* */
	uint8_t category;
	uint16_t flags;			/* AP_EVF_* of its BEGIN */
	uint32_t pid;			/* process that began it (0: unknown) */
	uint64_t parent;
	uint64_t trace_hi, trace_lo;
	uint64_t name;
	uint64_t model;
	uint64_t t_begin, t_end;	/* raw clock ticks */
	uint32_t tid_begin, tid_end;
	uint32_t input_tokens, output_tokens;
	uint64_t error;			/* name id of its error, 0: unnamed (see have) */
};

struct ap_dep {
	uint64_t span, on_span;
};

/* Spans as handed on, counted by the assembler. */
struct ap_span_counts {
	uint64_t complete;		/* BEGIN and END */
	uint64_t open;			/* BEGIN without END: truncated */
	uint64_t unmatched_end;		/* END without BEGIN (its BEGIN was dropped) */
	uint64_t tokens_only;		/* TOKENS or ERROR for a span never begun */
};

#endif /* AP_SPANS_H */
