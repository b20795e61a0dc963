/* SPDX-License-Identifier: MIT */
/*
 * run_json.c - report.json of a run: what ran, the reader's own cost, the
 * segment, every count, the optional sections (interval, dumps, takeover,
 * log), quarantined lanes and processes, then the analysis (report_json.c).
 */
#include <string.h>

#include "json.h"
#include "labels.h"
#include "render.h"
#include "report.h"

static void write_counts(struct ap_json *j, const struct ap_run *r)
{
	const struct ap_drain_totals *t = &r->totals;
	const struct ap_span_counts *sc = &r->spans;

	ap_json_obj(j, "counts");
	ap_json_u64(j, "written", t->written);
	ap_json_u64(j, "read", t->read);
	ap_json_u64(j, "dropped_full", t->dropped_full);
	ap_json_u64(j, "dropped_no_lane", t->dropped_no_lane);
	ap_json_u64(j, "dropped_reentrant", t->dropped_reentrant);
	ap_json_u64(j, "rejected", t->rejected);
	ap_json_u64(j, "rejected_time", r->rejected_time);
	ap_json_u64(j, "ends_before_begin", r->ends_before_begin);
	ap_json_u64(j, "quarantined_lanes", t->quarantined_lanes);
	ap_json_u64(j, "traces_sampled_out", t->sampled_out);
	ap_json_u64(j, "spans_complete", sc->complete);
	ap_json_u64(j, "spans_open", sc->open);
	ap_json_u64(j, "spans_end_without_begin", sc->unmatched_end);
	ap_json_u64(j, "spans_tokens_only", sc->tokens_only);
	ap_json_u64(j, "duplicate_begin", r->duplicate_begin);
	ap_json_u64(j, "duplicate_end", r->duplicate_end);
	ap_json_u64(j, "spans_over_cap", r->spans_over_cap);
	ap_json_u64(j, "spans_in_flight_peak", r->spans_in_flight_peak);
	ap_json_u64(j, "traces_timed_out", r->traces_timed_out);
	ap_json_u64(j, "late_events", r->late_events);
	ap_json_u64(j, "spans_no_reader", t->spans_no_reader);
	ap_json_u64(j, "lost_with_dead_reader", t->lost_with_dead_reader);
	ap_json_u64(j, "reread_after_takeover", t->reread_after_takeover);
	ap_json_u64(j, "lost_unattributed", t->lost_unattributed);
	ap_json_u64(j, "in_ring", t->in_ring);
	ap_json_u64(j, "lost_quarantined", t->lost_quarantined);
	ap_json_u64(j, "lane_claims", t->claims);
	ap_json_u64(j, "lanes_reclaimed", t->reclaimed_lanes);
	ap_json_u64(j, "names_full", t->names_full);
	ap_json_u64(j, "names_invalid", r->names_invalid);
	ap_json_u64(j, "names_not_utf8", r->names_not_utf8);
	ap_json_u64(j, "processes_over_cap", r->procs_over_cap);
	ap_json_end_obj(j);
}

/* --otlp: the sender's counts; the endpoint without credentials, never a header. */
static void write_otlp(struct ap_json *j, const struct ap_run_otlp *o)
{
	ap_json_obj(j, "otlp");
	ap_json_str(j, "endpoint", o->endpoint);
	ap_json_str(j, "protocol", o->protocol);
	ap_json_bool(j, "gzip", o->gzip);
	ap_json_u64(j, "batch_spans", o->batch_spans);
	ap_json_u64(j, "batch_ms", o->batch_ms);
	ap_json_u64(j, "queue_max_bytes", o->queue_bytes_max);
	ap_json_u64(j, "spans_queued", o->spans_queued);
	ap_json_u64(j, "spans_sent", o->spans_sent);
	ap_json_u64(j, "batches_sent", o->batches_sent);
	ap_json_u64(j, "retries", o->retries);
	ap_json_u64(j, "timeouts", o->timeouts);
	ap_json_u64(j, "spans_dropped_queue_full", o->spans_dropped_queue_full);
	ap_json_u64(j, "spans_dropped_shutdown", o->spans_dropped_shutdown);
	ap_json_u64(j, "spans_rejected", o->spans_rejected);
	ap_json_u64(j, "spans_failed", o->spans_failed);
	ap_json_u64(j, "batches_failed", o->batches_failed);
	ap_json_u64(j, "spans_in_queue", o->spans_in_queue);
	ap_json_u64(j, "spans_not_sent", o->spans_not_sent);
	ap_json_u64(j, "queue_peak_bytes", o->queue_peak_bytes);
	ap_json_u64(j, "bytes_sent", o->bytes_sent);
	ap_json_num(j, "encode_ms", (double)o->encode_ns / 1e6, 3);
	if (o->last_error)
		ap_json_str(j, "last_error", o->last_error);
	else
		ap_json_null(j, "last_error");
	ap_json_end_obj(j);
}

static void write_dumps(struct ap_json *j, const struct ap_run_dumps *d)
{
	ap_json_obj(j, "dumps");
	ap_json_num(j, "interval_s", (double)d->interval_ns / 1e9, 3);
	ap_json_str(j, "io", d->io);
	if (d->io_note)
		ap_json_str(j, "io_note", d->io_note);
	else
		ap_json_null(j, "io_note");
	ap_json_u64(j, "reports", d->reports);
	ap_json_u64(j, "files_written", d->files_written);
	ap_json_u64(j, "files_failed", d->files_failed);
	ap_json_u64(j, "files_skipped_busy", d->files_skipped_busy);
	ap_json_u64(j, "bytes", d->bytes);
	ap_json_num(j, "render_ms", (double)d->render_ns / 1e6, 3);
	ap_json_u64(j, "merges_failed", d->merges_failed);
	if (d->last_err) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s: %s", d->last_err_file ? d->last_err_file : "?",
			 strerror(-d->last_err));
		ap_json_str(j, "last_error", msg);
	} else {
		ap_json_null(j, "last_error");
	}
	ap_json_end_obj(j);
}

static void write_log(struct ap_json *j, const struct ap_run_log *l)
{
	ap_json_obj(j, "log");
	if (l->replayed) {
		ap_json_str(j, "replayed_from", l->path);
		ap_json_u64(j, "format_version", l->version);
		ap_json_bool(j, "settings_rejected", l->settings_rejected);
		ap_json_bool(j, "complete", l->complete);
		ap_json_u64(j, "blocks", l->blocks);
		ap_json_u64(j, "blocks_damaged", l->blocks_damaged);
		ap_json_u64(j, "blocks_missing", l->blocks_missing);
		ap_json_u64(j, "blocks_out_of_order", l->blocks_out_of_order);
		ap_json_u64(j, "records_bad", l->records_bad);
		ap_json_u64(j, "bytes_skipped", l->bytes_skipped);
		ap_json_u64(j, "blocks_unchecked", l->blocks_unchecked);
		ap_json_u64(j, "events_replayed", l->events_replayed);
		ap_json_str(j, "counts_from", l->complete ? "totals" : "log");
		ap_json_u64(j, "events_not_logged", l->events_not_logged);
	} else {
		ap_json_str(j, "path", l->path);
		ap_json_str(j, "io", l->io ? l->io : "none");
		ap_json_u64(j, "blocks", l->blocks);
		ap_json_u64(j, "bytes", l->bytes);
		ap_json_u64(j, "events", l->events);
		ap_json_u64(j, "events_not_logged", l->events_not_logged);
		ap_json_u64(j, "blocks_dropped", l->blocks_dropped);
		if (l->err)
			ap_json_str(j, "error", strerror(-l->err));
		else
			ap_json_null(j, "error");
	}
	ap_json_end_obj(j);
}

int ap_render_json(const struct ap_run *r, FILE *f)
{
	struct ap_json j;

	ap_json_init(&j, f);
	ap_json_obj(&j, NULL);
	ap_json_obj(&j, "agentprof");
	ap_json_str(&j, "version", AGENTPROF_VERSION);
	ap_json_u64(&j, "abi", AP_ABI_VERSION);
	ap_json_end_obj(&j);

	ap_json_obj(&j, "run");
	ap_json_arr(&j, "command");
	for (char *const *a = r->argv; a && *a; a++)
		ap_json_str(&j, NULL, *a);
	ap_json_end_arr(&j);
	ap_json_str(&j, "segment", r->segment);
	if (r->exit_known)
		ap_json_i64(&j, "exit_status", r->exit_status);
	else
		ap_json_null(&j, "exit_status");
	ap_json_num(&j, "duration_ms", (double)r->duration_ns / 1e6, 3);
	ap_json_str(&j, "clock", ap_clock_name(r->clock.source));
	ap_json_u64(&j, "clock_hz", r->clock.hz);
	ap_json_end_obj(&j);

	ap_json_obj(&j, "reader");
	if (r->reader_known) {
		ap_json_u64(&j, "peak_rss_kib", r->reader_rss_kib);
		ap_json_num(&j, "cpu_ms", r->reader_cpu_ms, 1);
	}
	ap_json_end_obj(&j);

	ap_json_obj(&j, "segment");
	ap_json_u64(&j, "lanes", r->lanes);
	ap_json_u64(&j, "lane_events", r->lane_events);
	ap_json_u64(&j, "bytes", r->seg_bytes);
	ap_json_u64(&j, "attaches", r->attaches);
	ap_json_end_obj(&j);

	write_counts(&j, r);

	if (r->interval) {
		ap_json_obj(&j, "interval");
		ap_json_u64(&j, "seq", r->interval->seq);
		ap_json_num(&j, "start_ms", (double)r->interval->start_ns / 1e6, 3);
		ap_json_num(&j, "end_ms", (double)r->interval->end_ns / 1e6, 3);
		ap_json_end_obj(&j);
	}
	if (r->dumps)
		write_dumps(&j, r->dumps);
	if (r->takeover) {
		ap_json_obj(&j, "takeover");
		ap_json_u64(&j, "from_reader_pid", r->takeover->from_reader_pid);
		ap_json_u64(&j, "lanes_adopted", r->takeover->lanes_adopted);
		ap_json_u64(&j, "lanes_unaccounted", r->takeover->lanes_unaccounted);
		ap_json_u64(&j, "reported_seq", r->takeover->reported_seq);
		ap_json_u64(&j, "report_in_flight_seq", r->takeover->report_in_flight_seq);
		ap_json_end_obj(&j);
	}
	if (r->attached) {
		ap_json_obj(&j, "stopped_attached");
		ap_json_arr(&j, "processes");
		for (uint32_t i = 0; i < r->nattached; i++) {
			ap_json_obj(&j, NULL);
			ap_json_u64(&j, "pid", r->attached[i].pid);
			ap_json_u64(&j, "lanes", r->attached[i].lanes);
			ap_json_u64(&j, "in_lanes", r->attached[i].in_lanes);
			ap_json_bool(&j, "released", r->attached[i].released);
			ap_json_end_obj(&j);
		}
		ap_json_end_arr(&j);
		ap_json_u64(&j, "over_cap", r->attached_over_cap);
		ap_json_end_obj(&j);
	}
	if (r->log)
		write_log(&j, r->log);
	if (r->otlp)
		write_otlp(&j, r->otlp);

	ap_json_arr(&j, "quarantined");
	for (uint32_t i = 0; i < r->nquarantined; i++) {
		ap_json_obj(&j, NULL);
		ap_json_u64(&j, "lane", r->quarantined[i].lane);
		ap_json_str(&j, "reason", r->quarantined[i].reason);
		ap_json_u64(&j, "events_read", r->quarantined[i].events_read);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);

	ap_json_arr(&j, "processes");
	for (uint32_t i = 0; i < r->nprocs; i++) {
		const struct ap_proc_row *p = &r->procs[i];

		ap_json_obj(&j, NULL);
		ap_json_u64(&j, "pid", p->pid);
		ap_json_u64(&j, "threads", p->threads);
		ap_json_u64(&j, "spans", p->spans);
		ap_json_u64(&j, "events", p->events);
		ap_json_u64(&j, "dropped", p->dropped);
		ap_json_u64(&j, "lanes_claimed", p->lanes_claimed);
		ap_json_u64(&j, "spans_no_reader", p->spans_no_reader);
		ap_json_u64(&j, "lost_with_dead_reader", p->lost_with_dead_reader);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);
	if (r->analysis)
		ap_report_json(&j, r->analysis, &r->ov);
	ap_memory_json(&j, r);
	ap_json_end_obj(&j);
	return j.err;
}
