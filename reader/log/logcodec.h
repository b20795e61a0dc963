/* SPDX-License-Identifier: MIT */
/*
 * logcodec.h - the HEADER and TOTALS payloads of an event log
 * (log_format.h): encoded from a run, decoded into what a replay needs.
 * Each put_ sits beside its take_, so a field cannot be written one way and
 * read another.
 *
 * Decoding trusts nothing: every count is checked against the payload's
 * length, every setting against the range the command line allows, every
 * string against its field; what fails is refused (geometry), ignored
 * (settings: the defaults stay) or dropped (a model line, a quarantined
 * lane out of range), never used.
 */
#ifndef AP_LOGCODEC_H
#define AP_LOGCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"
#include "log_format.h"
#include "run.h"
#include "segment.h"

/* The HEADER payload of a run over seg with settings set (malloc'd, *len
 * bytes); NULL when out of memory. */
uint8_t *ap_log_header(const struct ap_segment *seg, const struct ap_settings *set, size_t *len);

/* The TOTALS payload of run r (malloc'd, *len bytes, at most block_cap when
 * the process rows fit; when they do not, they are left out and counted in
 * procs_over_cap); NULL when out of memory. */
uint8_t *ap_log_totals(const struct ap_segment *seg, const struct ap_settings *set, const struct ap_run *r,
		       uint64_t events_not_logged, uint32_t block_cap, size_t *len);

/* The segment as a log describes it (geometry only: nothing is mapped). */
struct ap_log_segment {
	uint32_t version;		/* of the log */
	int settings_rejected;		/* some of its settings were out of range: defaults used */
	char name[sizeof(((struct ap_log_geometry *)0)->segment)];
	uint32_t lanes, lane_events;
	uint64_t bytes;
	struct ap_clock_cal clock;
};

/* A HEADER or TOTALS payload's geometry and settings into seg and set (set
 * keeps its defaults where the log's values are out of range; models are
 * replaced by the payload's table when it has one). 0, or -EINVAL when the
 * payload is too short or its geometry is of another version or layout. */
int ap_log_take_header(const uint8_t *p, size_t len, int with_models, struct ap_log_segment *seg,
		       struct ap_settings *set);

/* What a TOTALS block says of the run it ends. */
struct ap_log_end {
	struct ap_drain_totals totals;
	uint64_t names_invalid, procs_over_cap;
	uint64_t duration_ns, workload_cpu_ns, setup_ns, cpus, cost_measurements, events_not_logged;
	double cost_ns;
	uint64_t cost16;			/* 0 for a version 1 log (it kept ns) */
	uint64_t mem_sample_ns, mem_sample_reads;	/* memory sampling's cost (version 3) */
	int exit_known, exit_status;
	struct ap_proc_row *procs;		/* malloc'd, nprocs */
	uint32_t nprocs;
	struct ap_run_quarantine *quarantined;	/* malloc'd, nquarantined, reasons in reasons */
	char (*reasons)[48];
	uint32_t nquarantined;
};

/* The run's duration a TOTALS payload gives (ns): 0, or -EINVAL. */
int ap_log_peek_duration(const uint8_t *p, size_t len, uint64_t *ns);

/* TOTALS into end (models into set). 0, -EINVAL when it does not hold
 * together, -ENOMEM. Free with ap_log_end_free(). */
int ap_log_take_totals(const uint8_t *p, size_t len, const struct ap_log_segment *seg, struct ap_settings *set,
		       struct ap_log_end *end);
void ap_log_end_free(struct ap_log_end *end);

#endif /* AP_LOGCODEC_H */
