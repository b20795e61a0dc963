/* SPDX-License-Identifier: MIT */
/* fanout.c - one drain, several consumers (fanout.h). */
#include <errno.h>

#include "fanout.h"

int ap_fanout_add_events(struct ap_fanout *f, ap_event_fn fn, void *ctx)
{
	if (f->nev == AP_FANOUT_MAX)
		return -ENOSPC;
	f->ev[f->nev].fn = fn;
	f->ev[f->nev++].ctx = ctx;
	return 0;
}

int ap_fanout_add_traces(struct ap_fanout *f, ap_trace_fn fn, void *ctx)
{
	if (f->ntr == AP_FANOUT_MAX)
		return -ENOSPC;
	f->tr[f->ntr].fn = fn;
	f->tr[f->ntr++].ctx = ctx;
	return 0;
}

void ap_fanout_events(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
		      struct ap_batch_result *res)
{
	const struct ap_fanout *f = ctx;

	for (uint32_t i = 0; i < f->nev; i++)
		f->ev[i].fn(f->ev[i].ctx, pid, ev, n, res);
}

void ap_fanout_traces(void *ctx, const struct ap_trace_view *t)
{
	const struct ap_fanout *f = ctx;

	for (uint32_t i = 0; i < f->ntr; i++)
		f->tr[i].fn(f->tr[i].ctx, t);
}
