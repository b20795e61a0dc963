/* SPDX-License-Identifier: MIT */
/* run.c - what every filler of a struct ap_run shares (run.h). */
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "run.h"

void ap_run_assembler(struct ap_run *r, const struct ap_assembler *as)
{
	ap_asm_span_counts(as, &r->spans);
	r->duplicate_begin = as->duplicate_begin;
	r->duplicate_end = as->duplicate_end;
	r->spans_over_cap = as->over_cap;
	r->spans_in_flight_peak = as->peak_nodes;
	r->rejected_time = as->ts_rejected;
	r->ends_before_begin = as->ends_before_begin;
	r->traces_timed_out = as->traces_timed_out;
	r->late_events = as->late_events;
}

void ap_run_loss(const struct ap_run *r, struct ap_loss *loss)
{
	memset(loss, 0, sizeof(*loss));
	loss->dropped_full = r->totals.dropped_full;
	loss->dropped_no_lane = r->totals.dropped_no_lane;
	loss->dropped_reentrant = r->totals.dropped_reentrant;
	loss->rejected = r->totals.rejected;
	loss->quarantined_lanes = r->totals.quarantined_lanes;
	loss->end_without_begin = r->spans.unmatched_end;
	loss->duplicates = r->duplicate_begin + r->duplicate_end;
	loss->over_cap = r->spans_over_cap;
	loss->traces_timed_out = r->traces_timed_out;
	loss->late_events = r->late_events;
}

void ap_run_reader_usage(struct ap_run *r)
{
	struct rusage ru;

	r->reader_known = getrusage(RUSAGE_SELF, &ru) == 0;
	if (!r->reader_known)
		return;
	r->reader_rss_kib = (uint64_t)ru.ru_maxrss;
	r->reader_cpu_ms = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
			   (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

int ap_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return AP_EXIT_INTERNAL;
}
