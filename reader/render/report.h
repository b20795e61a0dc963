/* SPDX-License-Identifier: MIT */
/* report.h - the analysis as report.json sections and as the text report's sections. */
#ifndef AP_REPORT_H
#define AP_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "json.h"
#include "run.h"

/* Trees in report.json are cut at TREE_DEPTH levels and TREE_NODES nodes
 * per trace (what is cut is counted in children_omitted). */
#define TREE_DEPTH	24
#define TREE_NODES	2000

/* Analysis sections, written into the open top-level object of j. */
void ap_report_json(struct ap_json *j, const struct ap_analysis *a, const struct ap_overhead *ov);
/* The text report's analysis sections. color: ANSI headings. */
void ap_report_text(FILE *f, const struct ap_analysis *a, const struct ap_overhead *ov,
		    const struct ap_loss *loss, int color);

/* memory_render.c: the Memory section (nothing when r->memory is NULL). */
void ap_memory_json(struct ap_json *j, const struct ap_run *r);
void ap_memory_text(FILE *f, const struct ap_run *r, int color);

#endif /* AP_REPORT_H */
