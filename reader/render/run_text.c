/* SPDX-License-Identifier: MIT */
/*
 * run_text.c - report.txt of a run (a heading, the analysis sections of
 * report_text.c, dumps and takeover lines), the summary record prints after
 * it, and the table of formats a report writes.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "labels.h"
#include "render.h"
#include "report.h"

int ap_render_text(const struct ap_run *r, FILE *f, int color)
{
	const struct ap_analysis *a = r->analysis;
	const struct ap_run_dumps *d = r->dumps;
	struct ap_loss loss;

	if (!a)
		return -EINVAL;
	ap_run_loss(r, &loss);
	fprintf(f, "agentprof %s: %s, %llu traces (%llu complete), %llu spans, %u processes, %.2f s\n",
		r->interval ? "interval report" : "report", ap_tcell(r->label, -1), (unsigned long long)a->traces,
		(unsigned long long)a->traces_complete, (unsigned long long)a->spans_in_trees, r->nprocs,
		(double)r->duration_ns / 1e9);
	if (r->interval)
		fprintf(f, "interval %" PRIu64 ": %.3f s to %.3f s of the run\n", r->interval->seq,
			(double)r->interval->start_ns / 1e9, (double)r->interval->end_ns / 1e9);
	ap_report_text(f, a, &r->ov, &loss, color);
	ap_memory_text(f, r, color);
	if (d) {
		fprintf(f, "\nDumps: %" PRIu64 " reports every %.3f s through %s: %" PRIu64 " files written, %" PRIu64
			" failed, %" PRIu64 " skipped (previous still being written)", d->reports,
			(double)d->interval_ns / 1e9, d->io, d->files_written, d->files_failed, d->files_skipped_busy);
		if (d->last_err)
			fprintf(f, "; last failure: %s: %s", d->last_err_file ? d->last_err_file : "?",
				strerror(-d->last_err));
		fputc('\n', f);
	}
	if (r->otlp) {
		const struct ap_run_otlp *o = r->otlp;

		fprintf(f, "OTLP to %s: %" PRIu64 " spans queued, %" PRIu64 " sent in %" PRIu64 " batches, %" PRIu64
			" retries, dropped %" PRIu64 " (queue full) + %" PRIu64 " (at exit), %" PRIu64 " rejected, %" PRIu64
			" failed, %" PRIu64 " still queued", ap_tcell(o->endpoint, -1), o->spans_queued, o->spans_sent,
			o->batches_sent, o->retries, o->spans_dropped_queue_full, o->spans_dropped_shutdown,
			o->spans_rejected, o->spans_failed, o->spans_in_queue);
		if (o->last_error)
			fprintf(f, "; last error: %s", ap_tcell(o->last_error, -1));
		fputc('\n', f);
	}
	if (r->takeover)
		fprintf(f, "Taken over from reader pid %u, which died: %u lanes adopted; of what it read after its "
			"last report, %" PRIu64 " events were read again and %" PRIu64 " were lost with it; spans "
			"begun before are counted as END without BEGIN\n", r->takeover->from_reader_pid,
			r->takeover->lanes_adopted, r->totals.reread_after_takeover, r->totals.lost_with_dead_reader);
	if (r->attached) {
		fprintf(f, "Stopped with %u process%s attached (their lanes were read to the end):",
			r->nattached + r->attached_over_cap, r->nattached + r->attached_over_cap == 1 ? "" : "es");
		for (uint32_t i = 0; i < r->nattached; i++)
			fprintf(f, "%s pid %u (%u lane%s, %" PRIu64 " events in them at the stop%s)", i ? "," : "",
				r->attached[i].pid, r->attached[i].lanes, r->attached[i].lanes == 1 ? "" : "s",
				r->attached[i].in_lanes, r->attached[i].released ? ", let go" : ", still held");
		if (r->attached_over_cap)
			fprintf(f, " and %u more", r->attached_over_cap);
		fputc('\n', f);
	}
	if (r->totals.spans_no_reader)
		fprintf(f, "Spans the writers could not record before this reader (segment missing or retired): %" PRIu64
			"\n", r->totals.spans_no_reader);
	return ferror(f) ? -EIO : 0;
}

static int render_text_plain(const struct ap_run *r, FILE *f)
{
	return ap_render_text(r, f, 0);
}

void ap_render_summary(const struct ap_run *r, int code, const char *report_path, FILE *f)
{
	const struct ap_drain_totals *t = &r->totals;
	uint64_t threads = 0;

	for (uint32_t i = 0; i < r->nprocs; i++)
		threads += r->procs[i].threads;
	fprintf(f, "agentprof: %s exited with status %d after %.2f s\n", ap_tcell(r->label, -1), code,
		(double)r->run_ns / 1e9);
	fprintf(f, "  events     written %" PRIu64 "  read %" PRIu64 "  dropped %" PRIu64
		" (full %" PRIu64 ", no lane %" PRIu64 ", reentrant %" PRIu64 ")  rejected %" PRIu64 "\n",
		t->written, t->read, t->dropped_full + t->dropped_no_lane + t->dropped_reentrant,
		t->dropped_full, t->dropped_no_lane, t->dropped_reentrant, t->rejected);
	fprintf(f, "  spans      complete %" PRIu64 "  open (truncated) %" PRIu64 "  end without begin %" PRIu64 "\n",
		r->spans.complete, r->spans.open, r->spans.unmatched_end);
	fprintf(f, "  processes  %u  threads %" PRIu64 "  lanes quarantined %" PRIu64 "\n",
		r->nprocs, threads, t->quarantined_lanes);
	if (report_path)
		fprintf(f, "  report     %s\n", report_path);
	fflush(f);
}

/* report.txt is rendered before report.json: a failure of either fails the
 * report, and the text is what a person reads first. */
static const struct ap_format formats[] = {
	{ "text", "report.txt", render_text_plain },
	{ "json", "report.json", ap_render_json },
	{ "html", "report.html", ap_render_html },
	{ "chrome", "trace.json", ap_render_chrome },
	{ "speedscope", "profile.speedscope.json", ap_render_speedscope },
	{ "folded", "stacks.folded", ap_render_folded },
	{ "pprof", "profile.pb.gz", ap_render_pprof },
	{ "otlp", "traces.otlp.jsonl", ap_render_otlp_jsonl },
};

const struct ap_format *ap_formats(unsigned *n)
{
	*n = sizeof(formats) / sizeof(formats[0]);
	return formats;
}

const struct ap_format *ap_format_find(const char *name)
{
	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

int ap_formats_parse(const char *list, uint32_t *mask, const char **bad)
{
	uint32_t m = 0;
	const char *p = list;

	_Static_assert(sizeof(formats) / sizeof(formats[0]) <= 32, "a mask of 32 bits holds every format");
	*bad = list;
	if (!list || !*list)
		return -EINVAL;
	if (strcmp(list, "all") == 0) {
		*mask = AP_FORMATS_ALL;
		return 0;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		unsigned i;

		for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			if (strlen(formats[i].name) == n && strncmp(formats[i].name, p, n) == 0)
				break;
		if (n == 0 || i == sizeof(formats) / sizeof(formats[0])) {
			*bad = p;
			return -EINVAL;
		}
		m |= 1u << i;
		p += n;
		if (*p == ',')
			p++;
	}
	*mask = m;
	return 0;
}
