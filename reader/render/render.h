/* SPDX-License-Identifier: MIT */
/*
 * render.h - a run as bytes. Every output format is one function from a
 * const struct ap_run * to a stream, returning 0 or the first write error
 * (-errno); the table of formats says which file each one writes.
 */
#ifndef AP_RENDER_H
#define AP_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include "run.h"

/* report.json: the run's facts and counts, then the analysis sections. */
int ap_render_json(const struct ap_run *r, FILE *f);

/* report.txt (color: ANSI headings, for a terminal). */
int ap_render_text(const struct ap_run *r, FILE *f, int color);

/* The run's kept traces as OTLP/JSON: JSON Lines, one TracesData per kept
 * trace, slowest first (the OpenTelemetry file exporter's format; otlp.h
 * says what a span carries). Dependencies are not links here: a kept trace
 * does not keep them. Without a wall clock (a replayed log) times are
 * CLOCK_MONOTONIC ns. 0 or the first write error. */
int ap_render_otlp_jsonl(const struct ap_run *r, FILE *f);

/* The few lines record prints after the report: exit status, counts, where
 * the report is (report_path NULL: not written). */
void ap_render_summary(const struct ap_run *r, int code, const char *report_path, FILE *f);

/*
 * The most bytes report.json (json set) or the text report can take, for a
 * run analysed with `set` over at most nprocs process rows and nlanes lanes:
 * every table is capped, trees are cut at TREE_NODES per trace and the
 * kept spans at set->keep.max_spans, and a name is at most AP_NAME_MAX bytes
 * (six when escaped, at worst). Whatever the input, a report is no larger:
 * the fuzzers hold every render to it.
 */
uint64_t ap_report_bound(const struct ap_settings *set, uint64_t nprocs, uint64_t nlanes, int json);

/* The exports (render_*.c): report.html (one self-contained page),
 * trace.json (Chrome Trace Event JSON of the kept traces),
 * profile.speedscope.json, stacks.folded and profile.pb.gz (pprof; the
 * flame paths of every trace). Each returns 0, -EINVAL without an
 * analysis, -ENOMEM or the first write error. */
int ap_render_html(const struct ap_run *r, FILE *f);
int ap_render_chrome(const struct ap_run *r, FILE *f);
int ap_render_speedscope(const struct ap_run *r, FILE *f);
int ap_render_folded(const struct ap_run *r, FILE *f);
int ap_render_pprof(const struct ap_run *r, FILE *f);

/* The most bytes any export above can take for a run analysed with `set`:
 * the kept spans (at most set->keep.max_spans), the flame paths
 * (AP_PATHS_MAX) and the text report embedded in report.html. */
uint64_t ap_export_bound(const struct ap_settings *set, uint64_t nprocs, uint64_t nlanes);

/* A file a report writes, and the function that renders it. */
struct ap_format {
	const char *name;	/* for --formats */
	const char *file;	/* in the report directory */
	int (*render)(const struct ap_run *r, FILE *f);
};

/* The formats every report writes, in order; *n gets their number. */
const struct ap_format *ap_formats(unsigned *n);

/* The format called name, NULL when none is. */
const struct ap_format *ap_format_find(const char *name);

/* A --formats list ("html,chrome", or "all") as a mask of the table's
 * indexes (bit i: ap_formats()[i]). 0, or -EINVAL with *bad pointing at the
 * first name that is not a format. */
int ap_formats_parse(const char *list, uint32_t *mask, const char **bad);
#define AP_FORMATS_ALL UINT32_MAX

#endif /* AP_RENDER_H */
