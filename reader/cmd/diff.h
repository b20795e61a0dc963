/* SPDX-License-Identifier: MIT */
/*
 * diff.h - `agentprof diff BASE NEW`: what changed between two runs, per
 * operation and per category, from report.json files or event logs.
 */
#ifndef AP_DIFF_H
#define AP_DIFF_H

#include <stdint.h>
#include <stdio.h>

#include "analysis.h"

struct ap_diff_opts {
	double threshold_pct;	/* --threshold-pct: a P95 this much higher (10) */
	double min_ms;		/* --min-ms: and at least this many ms higher (5) */
	double min_kib;		/* --min-kib: memory, at least this many KiB higher (1,024) */
	int json;		/* --json */
	const struct ap_settings *set;	/* settings for replaying a log */
	FILE *out;			/* where the comparison goes; NULL: stdout */
};

/* Exit code: 0 nothing regressed, 1 something regressed, 2 error (message
 * on stderr). */
int ap_diff_main(const char *base, const char *cur, const struct ap_diff_opts *o);

#endif /* AP_DIFF_H */
