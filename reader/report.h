/* SPDX-License-Identifier: MIT */
/* report.h - the analysis as report.json sections and as the text report. */
#ifndef AP_REPORT_H
#define AP_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "json.h"

/* The profiler's own cost, as the writers measured it. */
struct ap_overhead {
	uint64_t events;	/* events recorded (read) */
	double ns_per_event;	/* median of the writers' measurements, 0: none */
	uint64_t measurements;	/* writer threads that measured */
	uint64_t profiled_ns;	/* time the report covers: sum of trace durations */
	uint64_t workload_cpu_ns; /* CPU time of the workload's processes, 0: unknown */
	uint64_t setup_ns;	/* writers' time getting ready: attach, lane claims */
	uint64_t capacity_ns;	/* the run's wall time x online CPUs */
	uint64_t cpus;
};

/* What was lost, for the text report's last section. */
struct ap_loss {
	uint64_t dropped_full, dropped_no_lane, dropped_reentrant, rejected, quarantined_lanes;
	uint64_t end_without_begin, duplicates, over_cap;
};

/* Analysis sections, written into the open top-level object of j. */
void ap_report_json(struct ap_json *j, const struct ap_analysis *a, const struct ap_overhead *ov);
/* The text report. color: ANSI headings. */
void ap_report_text(FILE *f, const struct ap_analysis *a, const struct ap_overhead *ov,
		    const struct ap_loss *loss, int color);

#endif /* AP_REPORT_H */
