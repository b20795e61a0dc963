/* SPDX-License-Identifier: MIT */
/*
 * replay.c - an event log back into a run (replay.h).
 *
 * Two passes over the blocks: the first finds what the log is (its first
 * HEADER, its last TOTALS), the second feeds the DATA records to the
 * assembler in order. A log cut short (no TOTALS) still gives the report of
 * its intact blocks; its counts are then what the log itself holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "replay.h"

/* A complete trace into the analysis, counted for its processes' memory. */
static void replay_analyse(void *ctx, const struct ap_trace_view *t)
{
	struct ap_replay *rp = ctx;

	if (rp->mem_on)
		ap_mem_count_roots(&rp->mem, t);
	ap_analysis_add(&rp->analysis, t);
}

/* As the live reader: with memory sampled, a trace waits for the next round. */
static void replay_trace(void *ctx, const struct ap_trace_view *t)
{
	struct ap_replay *rp = ctx;

	ap_mem_offer(&rp->mem, &rp->hold, t, replay_analyse, rp);
}

/* A record of memory samples at p (len bytes left): its size, or 0 when it
 * does not hold together (counted by the caller). */
static uint32_t replay_mem(struct ap_replay *rp, const uint8_t *p, uint32_t len)
{
	struct ap_log_mem h;

	if (len < sizeof(h))
		return 0;
	memcpy(&h, p, sizeof(h));
	if (h.n > (len - sizeof(h)) / sizeof(struct ap_log_mem_sample) || (h.flags & ~3u))
		return 0;
	if (!rp->mem_on)	/* samples in a log that says memory was off */
		return (uint32_t)(sizeof(h) + h.n * sizeof(struct ap_log_mem_sample));
	if (h.flags & AP_LOG_MEM_FIRST)
		ap_mem_round(&rp->mem, h.round_ticks);
	for (uint32_t i = 0; i < h.n; i++) {
		struct ap_log_mem_sample x;

		memcpy(&x, p + sizeof(h) + i * sizeof(x), sizeof(x));
		if (x.pid >= 1 && x.pid <= (1u << 22) && x.reserved == 0)
			ap_mem_add(&rp->mem, x.pid, x.ticks, x.rss_kib, x.anon_kib);
		else
			rp->mem.samples_bad++;
	}
	if (h.flags & AP_LOG_MEM_LAST)
		ap_mem_release(&rp->hold, h.round_ticks, replay_analyse, rp);
	return (uint32_t)(sizeof(h) + h.n * sizeof(struct ap_log_mem_sample));
}

/* Records of one DATA block into the assembler and the names. */
static void replay_data(struct ap_replay *rp, const uint8_t *p, uint32_t len, struct ap_event *scratch,
			uint64_t *events, uint64_t *rejected)
{
	uint32_t off = 0;

	while (off + sizeof(struct ap_log_rec) <= len) {
		struct ap_log_rec r;

		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.pid == 0 && r.n == 0) {
			ap_asm_flush(&rp->as);
		} else if (r.pid == 0 && r.n == AP_LOG_REC_SEEN) {
			struct ap_log_seen seen;

			if (len - off < sizeof(seen)) {
				rp->scan.records_bad++;
				return;
			}
			memcpy(&seen, p + off, sizeof(seen));
			off += sizeof(seen);
			if (seen.pid >= 1 && seen.pid <= (1u << 22) && seen.reserved == 0)
				ap_asm_seen(&rp->as, seen.pid, seen.ticks);
			else
				rp->scan.records_bad++;
		} else if (r.pid == 0 && r.n == AP_LOG_REC_MEM) {
			uint32_t used = replay_mem(rp, p + off, len - off);

			if (!used) {
				rp->scan.records_bad++;
				return;
			}
			off += used;
		} else if (r.pid == 0 && r.n == AP_LOG_REC_EXPIRE) {
			struct ap_log_expire ex;

			if (len - off < sizeof(ex)) {
				rp->scan.records_bad++;
				return;
			}
			memcpy(&ex, p + off, sizeof(ex));
			off += sizeof(ex);
			if (ex.reserved == 0)
				ap_asm_expire(&rp->as, ex.cutoff);
			else
				rp->scan.records_bad++;
		} else if (r.pid == 0) {
			uint32_t padded = (r.n + 7) & ~7u, i = 0;

			if (r.n > len - off || padded > len - off) {
				rp->scan.records_bad++;
				return;
			}
			while (i < r.n) {
				const char *str = (const char *)p + off + i;
				size_t l = strnlen(str, r.n - i);

				if (l == r.n - i || l > AP_NAME_MAX) {
					rp->scan.records_bad++;
					break;
				}
				if (l)
					ap_names_add(&rp->names, ap_name_hash(str, (uint32_t)l), str, (uint32_t)l);
				i += (uint32_t)l + 1;
			}
			off += padded;
		} else {
			struct ap_batch_result res = { 0, 0 };

			if (r.pid > (1u << 22) || r.n > (len - off) / sizeof(struct ap_event) ||
			    r.n > AP_LOG_BLOCK_MAX / sizeof(struct ap_event)) {
				rp->scan.records_bad++;
				return;
			}
			memcpy(scratch, p + off, (size_t)r.n * sizeof(struct ap_event));
			ap_asm_events(&rp->as, r.pid, scratch, r.n, &res);
			*events += r.n;
			*rejected += res.rejected;
			off += r.n * (uint32_t)sizeof(struct ap_event);
		}
	}
	if (off != len)
		rp->scan.records_bad++;
}

int ap_replay_open(struct ap_replay *rp, const struct ap_settings *defaults, const uint8_t *buf, size_t len,
		   const char **why)
{
	return ap_replay_open_keep(rp, defaults, NULL, buf, len, why);
}

int ap_replay_open_keep(struct ap_replay *rp, const struct ap_settings *defaults, const struct ap_keep_cfg *keep,
			const uint8_t *buf, size_t len, const char **why)
{
	struct ap_log_scan first = { 0 };
	struct ap_log_block h;
	const uint8_t *p, *header = NULL, *totals = NULL;
	uint32_t header_len = 0, totals_len = 0;
	struct ap_event *scratch;
	uint64_t events = 0, rejected = 0;
	size_t pos = 0;
	int ret;

	memset(rp, 0, sizeof(*rp));
	rp->set = *defaults;
	*why = NULL;
	/* Pass 1: what the log is (the first HEADER, the last TOTALS). */
	while ((p = ap_log_next(buf, len, &pos, &first, &h))) {
		if (h.type == AP_LOG_HEADER && !header) {
			header = p;
			header_len = h.len;
		} else if (h.type == AP_LOG_TOTALS) {
			totals = p;
			totals_len = h.len;
		}
	}
	if (!header && !totals) {
		*why = first.blocks ? "no intact header or totals block" : "not an agentprof event log";
		return -EINVAL;
	}
	ret = header ? ap_log_take_header(header, header_len, 1, &rp->seg, &rp->set) :
		       ap_log_take_header(totals, totals_len, 0, &rp->seg, &rp->set);
	if (ret) {
		*why = (header ? header_len : totals_len) < sizeof(struct ap_log_geometry) + AP_LOG_SETTINGS_V2_SIZE ?
		       (first.blocks ? "no intact header or totals block" : "not an agentprof event log") :
		       "log written by another version or architecture";
		return -EINVAL;
	}
	if (keep)
		rp->set.keep = *keep;
	scratch = malloc(AP_LOG_BLOCK_MAX);
	if (!scratch || ap_names_init(&rp->names) ||
	    ap_analysis_init(&rp->analysis, &rp->names, &rp->seg.clock, &rp->set.rules, rp->set.models,
			     rp->set.nmodels, &rp->set.keep) ||
	    ap_mem_init(&rp->mem, rp->set.memory_interval_ns, &rp->seg.clock) ||
	    ap_asm_init(&rp->as, rp->set.max_spans, replay_trace, rp)) {
		free(scratch);
		return -ENOMEM;
	}
	rp->mem_on = rp->set.memory_interval_ns != 0;
	rp->analysis.mem = rp->mem_on ? &rp->mem : NULL;
	/* The clock window (assemble.h): from the log's start to its end as
	 * TOTALS gives it, or within AP_LOG_SPAN_MAX_NS of its start when it
	 * was cut short. */
	{
		const struct ap_clock_cal *c = &rp->seg.clock;
		uint64_t slack = ap_ns_to_ticks(c, AP_CLOCK_SLACK_NS), span_ns = AP_LOG_SPAN_MAX_NS, d;
		uint64_t lo = c->ref_ticks > slack ? c->ref_ticks - slack : 0, hi;

		if (totals && ap_log_peek_duration(totals, totals_len, &d) == 0 && d < span_ns)
			span_ns = d;
		hi = c->ref_ticks + ap_ns_to_ticks(c, span_ns);
		hi = hi < c->ref_ticks || hi > UINT64_MAX - slack ? UINT64_MAX : hi + slack;
		ap_asm_window(&rp->as, lo, hi);
	}
	/* Pass 2: the events, in order, flushed where the live reader flushed. */
	pos = 0;
	while ((p = ap_log_next(buf, len, &pos, &rp->scan, &h)))
		if (h.type == AP_LOG_DATA)
			replay_data(rp, p, h.len, scratch, &events, &rejected);
	free(scratch);
	rp->events = events;
	ap_asm_finish(&rp->as);
	if (rp->mem_on)
		ap_mem_release(&rp->hold, UINT64_MAX, replay_analyse, rp);
	if (totals && (ret = ap_log_take_totals(totals, totals_len, &rp->seg, &rp->set, &rp->end)) == 0) {
		/* Models of the run (TOTALS) may differ from the defaults the
		 * analysis started with only when HEADER was lost. */
		rp->complete = 1;
		rp->mem.sample_ns = rp->end.mem_sample_ns;
		rp->mem.sample_reads = rp->end.mem_sample_reads;
	} else {
		if (totals && ret == -ENOMEM)
			return -ENOMEM;
		/* Cut short: the counts are what the log holds. */
		memset(&rp->end, 0, sizeof(rp->end));
		rp->end.totals.read = events;
		rp->end.totals.written = events;
		rp->end.totals.rejected = rejected;
	}
	return 0;
}

void ap_replay_run(struct ap_replay *rp, const char *path, struct ap_run *r)
{
	const struct ap_log_end *e = &rp->end;

	if (!rp->ended) {
		ap_analysis_end(&rp->analysis, &rp->as);
		rp->analysis.traces_sampled_out = e->totals.sampled_out;
		rp->ended = 1;
	}
	memset(r, 0, sizeof(*r));
	r->label = path;
	r->segment = rp->seg.name;
	r->lanes = rp->seg.lanes;
	r->lane_events = rp->seg.lane_events;
	r->seg_bytes = rp->seg.bytes;
	r->attaches = e->totals.attaches;
	r->clock = rp->seg.clock;
	r->exit_known = e->exit_known;
	r->exit_status = e->exit_status;
	r->duration_ns = r->run_ns = e->duration_ns;
	r->totals = e->totals;
	ap_run_assembler(r, &rp->as);
	r->names_invalid = e->names_invalid;
	r->names_not_utf8 = rp->names.not_utf8;
	r->procs_over_cap = e->procs_over_cap;
	r->procs = e->procs;
	r->nprocs = e->nprocs;
	r->quarantined = e->quarantined;
	r->nquarantined = e->nquarantined;
	r->ov.events = e->totals.read;
	r->ov.ns_per_event = e->cost_ns;
	r->ov.cost16 = e->cost16;
	r->ov.measurements = e->cost_measurements;
	r->ov.profiled_ns = rp->analysis.total_trace_ns;
	r->ov.workload_cpu_ns = e->workload_cpu_ns;
	r->ov.setup_ns = e->setup_ns;
	r->ov.capacity_ns = e->duration_ns * e->cpus;
	r->ov.cpus = e->cpus;
	r->analysis = &rp->analysis;
	r->memory = rp->mem_on ? &rp->mem : NULL;
	if (rp->mem_on) {
		rp->mem.traces_early = rp->hold.released_early;
		r->ov.mem_interval_ns = rp->mem.interval_ns;
		r->ov.mem_sample_ns = rp->mem.sample_ns;
		r->ov.mem_sample_reads = rp->mem.sample_reads;
	}
	rp->log.replayed = 1;
	rp->log.path = path;
	rp->log.complete = rp->complete;
	rp->log.blocks = rp->scan.blocks;
	rp->log.blocks_damaged = rp->scan.blocks_damaged;
	rp->log.blocks_missing = rp->scan.blocks_missing;
	rp->log.blocks_out_of_order = rp->scan.blocks_out_of_order;
	rp->log.records_bad = rp->scan.records_bad;
	rp->log.bytes_skipped = rp->scan.bytes_skipped;
	rp->log.blocks_unchecked = rp->scan.blocks_unchecked;
	rp->log.events_replayed = rp->events;
	rp->log.events_not_logged = e->events_not_logged;
	rp->log.version = rp->seg.version;
	rp->log.settings_rejected = rp->seg.settings_rejected;
	r->log = &rp->log;
	ap_run_reader_usage(r);
}

void ap_replay_close(struct ap_replay *rp)
{
	ap_asm_free(&rp->as);
	ap_names_free(&rp->names);
	ap_analysis_free(&rp->analysis);
	ap_mem_free(&rp->mem);
	ap_mem_hold_free(&rp->hold);
	ap_log_end_free(&rp->end);
}
