/* SPDX-License-Identifier: MIT */
/*
 * otlp_out.c - --otlp: every trace the assembler completes goes to an
 * OpenTelemetry Collector, whether or not the analysis keeps it (tail
 * sampling is the collector's job; agentprof's caps are for its own
 * memory), incomplete traces at the end of the run included, their open
 * spans truncated and marked.
 *
 * The drain thread's part is a copy: the assembler's hand-off copies each
 * trace (spans, parents, dependencies, and the names it uses) into a raw
 * batch (ap_otlp_raw_add, about 10 ns a span: bench-otlp); a batch
 * goes to the sender's queue when it holds --otlp-batch N spans (a trace is
 * never split: a trace larger than N goes alone) or when its first span is
 * MS ms old, checked once per drain pass. The sender's thread encodes it
 * (protobuf: 0.7 to 1.3 us a span, JSON about ten times more; on the drain
 * it would cost 7 to 12 times the drain's own 100 ns a span), gzips it and
 * sends it (reader/io/otlp_http.c). The resource and the clock are set
 * before the thread starts and only read after; the encoding scratch is the
 * thread's alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "session.h"

#define NAMES_RELOAD_NS	50000000u	/* an unknown name reads the segment's table at most every 50 ms */

struct json_job {
	struct ap_session *s;
	const struct ap_otlp_raw *r;
};

static int fill_json(FILE *f, void *ctx)
{
	struct json_job *j = ctx;

	return ap_otlp_raw_encode(j->r, &j->s->otlp_batch, &j->s->otlp_res.meta, &j->s->otlp_clk, f, NULL, NULL);
}

/* The sender thread's: a raw batch as a request body. */
static int encode(void *ctx, void *batch, uint8_t **body, size_t *len)
{
	struct ap_session *s = ctx;
	struct json_job j = { s, batch };
	int err = 0;

	if (!s->otlp.cfg.json)
		return ap_otlp_raw_encode(batch, &s->otlp_batch, &s->otlp_res.meta, &s->otlp_clk, NULL, body, len);
	*body = (uint8_t *)ap_render_mem(fill_json, &j, len, &err);
	return err;
}

static void free_raw(void *ctx, void *batch)
{
	(void)ctx;
	ap_otlp_raw_free(batch);
	free(batch);
}

static void seal(struct ap_session *s)
{
	struct ap_otlp_raw *r = s->otlp_raw;

	if (!r || !r->n)
		return;
	/* A name the reader had not read yet: read the segment's table (at
	 * most every 50 ms: an id that never resolves stays name#<hex>). Without
	 * --log the reader reads names only for its reports. */
	if (r->unknown && s->seg.base) {
		uint64_t now = ap_mono_ns();

		if (now - s->otlp_names_at >= NAMES_RELOAD_NS) {
			ap_names_load(&s->names, &s->seg);
			s->otlp_names_at = now;
		}
		ap_otlp_raw_renames(r, &s->names);
	}
	s->otlp_unsendable += r->unsendable;
	/* A full queue drops the batch, counted; its memory fills the next one. */
	if (r->spans && ap_otlp_submit(&s->otlp, r, ap_otlp_raw_bytes(r), r->spans) == 0) {
		s->otlp_raw = NULL;
		return;
	}
	ap_otlp_raw_clear(r);
}

void ap_session_otlp_trace(void *ctx, const struct ap_trace_view *t)
{
	struct ap_session *s = ctx;

	if (!s->otlp_on)
		return;
	if (s->otlp_raw && s->otlp_raw->n && s->otlp_raw->n + t->n > s->opts.otlp_batch_spans)
		seal(s);
	if (!s->otlp_raw) {
		s->otlp_raw = malloc(sizeof(*s->otlp_raw));
		if (!s->otlp_raw) {
			s->otlp_nomem += t->n;
			return;
		}
		ap_otlp_raw_init(s->otlp_raw);
		ap_otlp_raw_reserve(s->otlp_raw, s->opts.otlp_batch_spans < 65536 ? s->opts.otlp_batch_spans : 65536);
	}
	if (!s->otlp_raw->n)
		s->otlp_batch_t0 = ap_mono_ns();	/* one clock read a batch, none a trace */
	if (ap_otlp_raw_add(s->otlp_raw, t, &s->names) < 0)
		s->otlp_nomem += t->n;
	if (s->otlp_raw->n >= s->opts.otlp_batch_spans)
		seal(s);
}

void ap_session_otlp_pass(struct ap_session *s, uint64_t now)
{
	/* now was read before this pass's traces came: t0 may be later. */
	if (s->otlp_raw && s->otlp_raw->n && now > s->otlp_batch_t0 &&
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
	ret = ap_otlp_start(&s->otlp, c, encode, free_raw, s);
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
	o->spans_not_sent = s->otlp_unsendable + s->otlp_nomem;
	o->encode_ns = st.encode_ns;
	memcpy(s->otlp_err, st.last_error, sizeof(s->otlp_err));
	o->last_error = s->otlp_err[0] ? s->otlp_err : NULL;
	r->otlp = o;
}
