/* SPDX-License-Identifier: MIT */
/*
 * interval.c - --interval: every S seconds, the run's reports so far and the
 * interval's, rendered on the drain thread into memory and handed to the
 * dumper, which replaces the files without the drain waiting for the disk.
 *
 * Each trace is analysed once, into the interval's analysis; at a dump that
 * analysis is folded into the run's (ap_analysis_merge), both are rendered,
 * and a fresh interval begins. The interval is its own struct ap_run: its
 * counts are the run's minus those at the interval's start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ap_atomic.h"
#include "file.h"
#include "render.h"
#include "session.h"

int ap_session_interval_start(struct ap_session *s)
{
	const struct ap_settings *set = &s->opts.set;

	s->iv_on = ap_analysis_init(&s->iv, &s->names, &s->seg.clock, &set->rules, set->models, set->nmodels,
				    &set->keep) == 0;
	if (s->iv_on) {
		s->iv.retain_too = &s->analysis;
		s->iv.mem = s->analysis.mem;
	}
	return s->iv_on ? 0 : -ENOMEM;
}

static uint64_t since(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

/* The current interval as a run record: the run's view, with every count
 * taken since the interval began. */
static void interval_view(struct ap_session *s, struct ap_run *r)
{
	const struct ap_drain_totals *n = &s->totals, *b = &s->iv_base;
	struct ap_drain_totals *t = &r->totals;
	struct ap_span_counts *sc = &r->spans;

	ap_session_run_view(s, r);
	t->written = since(n->written, b->written);
	t->read = since(n->read, b->read);
	t->dropped_full = since(n->dropped_full, b->dropped_full);
	t->dropped_no_lane = since(n->dropped_no_lane, b->dropped_no_lane);
	t->dropped_reentrant = since(n->dropped_reentrant, b->dropped_reentrant);
	t->rejected = since(n->rejected, b->rejected);
	t->claims = since(n->claims, b->claims);
	t->quarantined_lanes = since(n->quarantined_lanes, b->quarantined_lanes);
	t->reclaimed_lanes = since(n->reclaimed_lanes, b->reclaimed_lanes);
	t->names_full = since(n->names_full, b->names_full);
	t->attaches = since(n->attaches, b->attaches);
	t->lost_quarantined = since(n->lost_quarantined, b->lost_quarantined);
	t->sampled_out = since(n->sampled_out, b->sampled_out);
	t->spans_no_reader = since(n->spans_no_reader, b->spans_no_reader);
	t->lost_with_dead_reader = since(n->lost_with_dead_reader, b->lost_with_dead_reader);
	t->reread_after_takeover = since(n->reread_after_takeover, b->reread_after_takeover);
	t->lost_unattributed = since(n->lost_unattributed, b->lost_unattributed);
	sc->complete = since(sc->complete, s->iv_base_spans.complete);
	sc->unmatched_end = since(sc->unmatched_end, s->iv_base_spans.unmatched_end);
	sc->tokens_only = since(sc->tokens_only, s->iv_base_spans.tokens_only);
	r->duration_ns = s->t1_ns - s->iv_t0_ns;
	r->analysis = &s->iv;
	r->ov.events = t->read;
	r->ov.profiled_ns = s->iv.total_trace_ns;
	r->ov.workload_cpu_ns = 0;
	r->ov.setup_ns = since(s->setup_ns, s->iv_base_setup_ns);
	r->ov.capacity_ns = r->duration_ns * s->cpus;
	s->iv_rec.seq = s->dumps;
	s->iv_rec.start_ns = s->iv_t0_ns - s->t0_ns;
	s->iv_rec.end_ns = s->t1_ns - s->t0_ns;
	r->interval = &s->iv_rec;
}

/* Render every format of r into memory and hand each to the dumper, in
 * slots first, first + 1, ... */
static void dump_run(struct ap_session *s, const struct ap_run *r, uint32_t first, const char *prefix)
{
	unsigned n;
	const struct ap_format *fmt = ap_formats(&n);

	for (unsigned i = 0; i < n; i++) {
		char name[AP_AIO_NAME_MAX];
		size_t len = 0;
		int err;
		char *buf;

		if (!(s->opts.formats >> i & 1))
			continue;
		/* The run's files keep their names; the interval's are
		 * interval.txt, interval.json and interval.<file> for the rest
		 * (interval.trace.json, interval.report.html is interval.html). */
		if (strcmp(prefix, "report") == 0)
			snprintf(name, sizeof(name), "%s", fmt[i].file);
		else if (strncmp(fmt[i].file, "report.", 7) == 0)
			snprintf(name, sizeof(name), "%s%s", prefix, fmt[i].file + 6);
		else
			snprintf(name, sizeof(name), "%s.%s", prefix, fmt[i].file);
		buf = ap_render_format(&fmt[i], r, &len, &err);
		if (!buf) {
			s->dump.failed++;
			s->dump.last_err = err;
			snprintf(s->dump.last_err_file, sizeof(s->dump.last_err_file), "%s", name);
			continue;
		}
		ap_dump_submit(&s->dump, first + i, name, buf, len);
	}
}

void ap_session_dump(struct ap_session *s, int final)
{
	uint64_t t = ap_mono_ns();
	unsigned nformats;
	struct ap_run r;

	ap_formats(&nformats);
	/* A round's traces still waiting for their share (memory.h) belong to
	 * this interval, as they did when a round analysed them at once. */
	if (!final && s->mem_on)
		ap_mem_finish(&s->hold, ap_session_analyse_trace, s);
	if (!final)
		ap_session_take_stock(s);
	if (s->iv_on && ap_analysis_merge(&s->analysis, &s->iv))
		s->merge_failed++;
	ap_session_analyse(s);
	s->dumps++;
	if (!final) {
		uint64_t skipped = s->dump.skipped_busy, failed = s->dump.failed;
		int marked;

		ap_session_run_view(s, &r);
		ap_session_publish_reported(s);	/* the previous one, if it landed */
		/* report.json will be queued unless its previous dump is still in
		 * flight: once it lands it covers the lanes up to here (noted
		 * before the submission, which may complete at once). */
		marked = !s->report_marked && !s->dump.f[0].busy && ap_drain_mark(&s->drain) == 0;
		if (marked)
			ap_store_release(&s->seg.hdr->pending_seq, s->dumps);
		dump_run(s, &r, 0, "report");
		if (marked && s->dump.skipped_busy == skipped && s->dump.failed == failed) {
			s->report_marked = 1;
			s->report_marked_seq = s->dumps;
			ap_session_publish_reported(s);	/* already on disk (the writer thread) */
		} else if (marked) {
			ap_store_release(&s->seg.hdr->pending_seq, ap_load_relaxed(&s->seg.hdr->reported_seq));
		}
	}
	if (s->iv_on) {
		ap_analysis_end(&s->iv, &s->as);
		s->iv.traces_sampled_out = s->totals.sampled_out - s->iv_base.sampled_out;
		interval_view(s, &r);
		dump_run(s, &r, nformats, "interval");
		ap_analysis_free(&s->iv);
		ap_session_interval_start(s);
	}
	s->iv_base = s->totals;
	s->iv_base_spans = s->span_counts;
	s->iv_base_setup_ns = s->setup_ns;
	s->iv_t0_ns = s->t1_ns;
	s->render_ns += ap_mono_ns() - t;
	if (final)
		ap_dump_wait(&s->dump);
}
