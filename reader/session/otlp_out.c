/* SPDX-License-Identifier: MIT */
/*
 * otlp_out.c - --otlp: every trace the assembler completes goes to an
 * OpenTelemetry Collector, whether or not the analysis keeps it (tail
 * sampling is the collector's job; agentprof's caps are for its own
 * memory), incomplete traces at the end of the run included, their open
 * spans truncated and marked.
 *
 * On the drain thread: the assembler's hand-off adds each trace's spans to
 * a batch (ap_otlp_batch_add); a batch goes when it holds
 * --otlp-batch N spans (a trace is never split: a trace larger than N goes
 * alone) or when its first span is MS ms old, checked once per drain pass.
 * It is encoded here (protobuf or JSON, measured in encode_ns) and handed
 * to the sender's queue, which never blocks; gzip and the network are the
 * sender thread's (reader/io/otlp_http.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static void seal(struct ap_session *s)
{
	struct ap_otlp_batch *b = &s->otlp_batch;
	uint64_t t0 = ap_mono_ns(), n = b->n;
	uint8_t *body = NULL;
	size_t len = 0;
	int ret;

	if (!n)
		return;
	/* Names are read from the segment when a batch holds one not read yet
	 * (without --log the reader reads them only for its reports). */
	for (uint32_t i = 0; i < n; i++) {
		if (!ap_names_known(&s->names, b->s[i].name) ||
		    (b->s[i].have_tokens && !ap_names_known(&s->names, b->s[i].model))) {
			if (s->seg.base)
				ap_names_load(&s->names, &s->seg);
			break;
		}
	}
	if (s->opts.otlp->json) {
		FILE *f = open_memstream((char **)&body, &len);

		ret = f ? ap_otlp_encode_json(b, &s->otlp_res.meta, f) : -ENOMEM;
		if (f && fclose(f) && !ret)
			ret = -ENOMEM;
	} else {
		struct ap_pb pb;

		ap_pb_init(&pb);
		ret = ap_otlp_encode_pb(b, &s->otlp_res.meta, &pb);
		body = pb.p;
		len = pb.len;
	}
	s->otlp_encode_ns += ap_mono_ns() - t0;
	ap_otlp_batch_clear(b);
	if (ret) {
		free(body);
		s->otlp_nomem += n;
		return;
	}
	ap_otlp_submit(&s->otlp, body, len, n);	/* a full queue drops it, counted */
}

void ap_session_otlp_trace(void *ctx, const struct ap_trace_view *t)
{
	struct ap_session *s = ctx;
	struct ap_otlp_batch *b = &s->otlp_batch;

	if (!s->otlp_on)
		return;
	if (b->n && b->n + t->n > s->opts.otlp_batch_spans)
		seal(s);
	if (!b->n)
		s->otlp_batch_t0 = ap_mono_ns();
	if (ap_otlp_batch_add(b, t, &s->otlp_clk, NULL, NULL, NULL) < 0)
		s->otlp_nomem += t->n;
	if (b->n >= s->opts.otlp_batch_spans)
		seal(s);
}

void ap_session_otlp_pass(struct ap_session *s, uint64_t now)
{
	/* now was read before this pass's traces came: t0 may be later. */
	if (s->otlp_batch.n && now > s->otlp_batch_t0 &&
	    now - s->otlp_batch_t0 >= (uint64_t)s->opts.otlp_batch_ms * 1000000u)
		seal(s);
}

int ap_session_otlp_start(struct ap_session *s)
{
	struct ap_otlp_cfg *c = s->opts.otlp;
	int ret;

	ap_otlp_resource_env(&s->otlp_res, &s->names);
	ap_otlp_batch_init(&s->otlp_batch);
	s->otlp_clk.cal = s->seg.clock;
	s->otlp_clk.mono_to_unix = ap_otlp_mono_to_unix();
	c->queue_bytes = s->opts.otlp_queue_bytes;
	if (!c->queue_bytes)
		c->queue_bytes = 1;	/* --otlp-queue-mib 0: nothing fits, every batch is dropped */
	ret = ap_otlp_start(&s->otlp, c);
	if (ret) {
		fprintf(stderr, "agentprof: cannot start the OTLP sender: %s\n",
			ret == -EIO ? "libcurl could not be initialised" : strerror(-ret));
		return ret;
	}
	s->otlp_on = 1;
	s->otlp_rec.endpoint = s->otlp.cfg.shown;
	s->otlp_rec.protocol = s->otlp.cfg.json ? "http/json" : "http/protobuf";
	s->otlp_rec.gzip = s->otlp.cfg.gzip;
	s->otlp_rec.queue_bytes_max = s->otlp.cfg.queue_bytes;
	return 0;
}

void ap_session_otlp_stop(struct ap_session *s)
{
	if (!s->otlp_on)
		return;
	seal(s);
	ap_otlp_stop(&s->otlp, (uint64_t)s->opts.otlp_drain_s * 1000000000u);
	s->otlp_on = 0;
}

void ap_session_otlp_view(struct ap_session *s, struct ap_run *r)
{
	struct ap_run_otlp *o = &s->otlp_rec;
	struct ap_otlp_stats st;

	if (!s->opts.otlp)
		return;
	ap_otlp_stats(&s->otlp, &st);
	o->batch_spans = s->opts.otlp_batch_spans;
	o->batch_ms = s->opts.otlp_batch_ms;
	o->spans_queued = st.spans_queued;
	o->spans_sent = st.spans_sent;
	o->batches_sent = st.batches_sent;
	o->retries = st.retries;
	o->timeouts = st.timeouts;
	o->spans_dropped_queue_full = st.spans_dropped_queue_full;
	o->spans_dropped_shutdown = st.spans_dropped_shutdown;
	o->spans_rejected = st.spans_rejected;
	o->spans_failed = st.spans_failed;
	o->spans_in_queue = st.spans_in_queue;
	o->batches_failed = st.batches_failed;
	o->queue_peak_bytes = st.queue_peak_bytes;
	o->bytes_sent = st.bytes_sent;
	o->spans_not_sent = s->otlp_batch.unsendable + s->otlp_nomem;
	o->encode_ns = s->otlp_encode_ns;
	memcpy(s->otlp_err, st.last_error, sizeof(s->otlp_err));
	o->last_error = s->otlp_err[0] ? s->otlp_err : NULL;
	r->otlp = o;
}
