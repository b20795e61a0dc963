/* SPDX-License-Identifier: MIT */
/*
 * ctx.c - explicit contexts, the slow half (agentprof.h, "Explicit
 * contexts"): a context to and from W3C traceparent text, the thread's
 * current span as a context, and push/pop of a context on the thread's
 * stack so that ap_begin nests under a span the thread did not begin
 * (a Python span around a C call, a traceparent received at run time).
 * ap_begin_ctx and ap_end_ctx, per span, are in writer.c.
 *
 * push and pop record nothing: a frame on the stack is only where the next
 * ap_begin of this thread finds its parent. Both run on the calling thread
 * with the guard on, as every call that touches its state.
 */
#include <string.h>

#include "state.h"
#include "writer_internal.h"

int ap_ctx_parse(const char *tp, struct ap_ctx *out)
{
	uint64_t hi, lo, span;
	uint8_t flags;

	if (!out)
		return AP_E_BADCTX;
	memset(out, 0, sizeof(*out));
	if (ap_parse_traceparent(tp, &hi, &lo, &span, &flags))
		return AP_E_BADCTX;
	out->trace_hi = hi;
	out->trace_lo = lo;
	/* Our recorded spans have odd ids: a sampled remote parent keeps its
	 * id, the sampled decision travels in the flag. */
	out->span = span;
	out->flags = AP_CTX_REMOTE | ((flags & 1) ? AP_CTX_SAMPLED : 0);
	out->pid = 0;
	return 0;
}

int ap_ctx_traceparent(const struct ap_ctx *c, char out[56])
{
	if (!c || !c->span || c->span == AP_SPAN_REENTRANT)
		return ap_enabled() ? AP_E_NOSPAN : AP_E_OFF;
	ap_w_format_traceparent(out, c->trace_hi, c->trace_lo, c->span, c->flags & AP_CTX_SAMPLED);
	return 0;
}

int ap_ctx_current(struct ap_ctx *out)
{
	struct ap_thread *t = ap_self_if_any();	/* none yet: no span open */

	memset(out, 0, sizeof(*out));
	if (!ap_enabled())
		return AP_E_OFF;
	if (t && t->pid == ap_p.pid && t->depth) {
		const struct frame *f = &t->stack[t->depth - 1];

		out->trace_hi = f->trace_hi;
		out->trace_lo = f->trace_lo;
		out->span = f->span;
		out->flags = (f->span & 1) ? AP_CTX_SAMPLED : 0;
		out->pid = t->depth > t->inherited ? ap_p.pid : 0;
		return 0;
	}
	if (ap_p.have_remote) {
		out->trace_hi = ap_p.remote_hi;
		out->trace_lo = ap_p.remote_lo;
		out->span = ap_p.remote_span;
		out->flags = AP_CTX_REMOTE | ((ap_p.remote_flags & 1) ? AP_CTX_SAMPLED : 0);
		return 0;
	}
	return AP_E_NOSPAN;
}

int ap_ctx_push(const struct ap_ctx *c)
{
	int st = ap_load_acquire(&ap_p.state);
	struct ap_thread *t;
	struct frame *f;

	if (st == ST_OFF)
		return AP_E_OFF;
	t = ap_self();	/* the thread's first call maps its block */
	if (!t || t->busy)
		return AP_E_OFF;
	if (!c || !c->span)
		return AP_E_NOSPAN;
	guard_on(t);
	/* Not attached yet (the first call of the process attaches lazily, as
	 * a first span would), or a new thread, or the first call after fork. */
	if ((st != ST_ON || t->pid != ap_p.pid) && ap_w_thread_ready(t) <= 0) {
		guard_off(t);
		return AP_E_OFF;
	}
	if (t->depth >= AP_STACK_MAX) {
		guard_off(t);
		return AP_E_DEPTH;
	}
	f = &t->stack[t->depth++];
	/* A frame says sampled by its id's low bit (odd: recorded), which is
	 * our own ids' rule; a foreign traceparent whose id's parity disagrees
	 * with its flag is followed by parity here (README, Known limits);
	 * ap_begin_ctx follows the flag. */
	f->span = c->span;
	f->trace_hi = c->trace_hi;
	f->trace_lo = c->trace_lo;
	guard_off(t);
	return 0;
}

void ap_ctx_pop(const struct ap_ctx *c)
{
	struct ap_thread *t = ap_self_if_any();	/* none: nothing was pushed */
	uint64_t span;

	if (!t || !c || !c->span || t->busy || t->pid != ap_p.pid)
		return;
	span = c->span;
	guard_on(t);
	for (uint32_t i = t->depth; i-- > 0;) {
		if (t->stack[i].span == span && t->stack[i].trace_lo == c->trace_lo) {
			t->depth = i;
			if (i < t->inherited)
				t->inherited = i;
			break;
		}
	}
	guard_off(t);
}
