/* SPDX-License-Identifier: MIT */
/*
 * fanout.h - one drain, several consumers.
 *
 * The drain hands events to one ap_event_fn and the assembler hands complete
 * traces to one ap_trace_fn; a session has more than one of each (the event
 * log and the assembler want every event; the interval's analysis, later an
 * exporter, want every trace). A fan-out is that one function: it calls its
 * consumers in the order they were added, with the same arguments.
 *
 * Events: exactly one consumer validates (the assembler: it fills the batch
 * result with what it rejected); the others must leave the result alone.
 * Consumers see the drain's private copy, never the shared ring.
 */
#ifndef AP_FANOUT_H
#define AP_FANOUT_H

#include "assemble.h"
#include "drain.h"

#define AP_FANOUT_MAX	8u

struct ap_fanout {
	struct { ap_event_fn fn; void *ctx; } ev[AP_FANOUT_MAX];
	struct { ap_trace_fn fn; void *ctx; } tr[AP_FANOUT_MAX];
	uint32_t nev, ntr;
};

/* Add a consumer; 0, or -ENOSPC past AP_FANOUT_MAX. */
int ap_fanout_add_events(struct ap_fanout *f, ap_event_fn fn, void *ctx);
int ap_fanout_add_traces(struct ap_fanout *f, ap_trace_fn fn, void *ctx);

/* The drain's ap_event_fn and the assembler's ap_trace_fn; ctx is the fan-out. */
void ap_fanout_events(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
		      struct ap_batch_result *res);
void ap_fanout_traces(void *ctx, const struct ap_trace_view *t);

#endif /* AP_FANOUT_H */
