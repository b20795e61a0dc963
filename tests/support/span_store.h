/* SPDX-License-Identifier: MIT */
/*
 * span_store.h - a flat store of spans, for the tests.
 *
 * It keeps every span of every trace handed to it, indexed by id: memory
 * grows with the run, which is why the reader itself never uses it; tests
 * that want to look up any span of a run do.
 */
#ifndef AP_SPAN_STORE_H
#define AP_SPAN_STORE_H

#include <stdint.h>

#include "hmap.h"
#include "spans.h"

struct ap_spans {
	struct ap_span *v;
	uint32_t n, cap, max;
	struct ap_map index;		/* span id -> index + 1 */
	uint64_t duplicates;		/* a span id handed on twice (last one kept) */
	uint64_t over_cap;		/* spans past the cap */
};

int ap_spans_init(struct ap_spans *s, uint32_t max_spans);
void ap_spans_free(struct ap_spans *s);
/* Add a span (replacing one with its id). 0, or -ENOSPC past the cap. */
int ap_spans_put(struct ap_spans *s, const struct ap_span *sp);
/* The span with id, or NULL. */
struct ap_span *ap_spans_find(const struct ap_spans *s, uint64_t id);

#endif /* AP_SPAN_STORE_H */
