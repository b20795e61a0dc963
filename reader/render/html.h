/* SPDX-License-Identifier: MIT */
/*
 * html.h - what report.html's page (render_html.c) shares with the pictures
 * drawn apart from it (html_memory.c): the geometry of the page's SVGs, the
 * time axis, and the caps that bound the memory pictures (bound.c counts
 * them in ap_export_bound).
 *
 * Every picture is an <svg> whose viewBox is LABEL_W + CHART_W wide when it
 * has a name column (the timelines, the RSS charts) and CHART_W when it has
 * none (the flame graphs); all scale to the page's width together, so an
 * x in one is the same x in the next.
 */
#ifndef AP_HTML_H
#define AP_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "analysis.h"
#include "run.h"

#define AP_HTML_CHART_W	1200.0	/* px of the time axis */
#define AP_HTML_LABEL_W	300.0	/* px of the name column left of it */
#define AP_HTML_AXIS_H	16.0	/* px of the time axis above a picture */

#define AP_HTML_MEM_CHARTS	16u	/* processes drawn in the Memory panel */
#define AP_HTML_MEM_STRIPS	4u	/* processes of the slowest trace drawn under its timeline */
#define AP_HTML_MEM_LISTED	64u	/* pids listed of the processes not drawn (the rest counted) */

/* A time in ns as a short label: 0, 250 us, 12.5 ms, 1.2 s. */
void ap_html_time_label(char *b, size_t cap, double ns);

/* Grid lines and labels every 1, 2 or 5 x 10^k ns, about 6 over total ns,
 * from x = left over AP_HTML_CHART_W, down to y = h; in a <g class="axis">,
 * which the script hides while a picture is zoomed. */
void ap_html_axis(FILE *f, double left, double total, double h);

/* html_memory.c. Under the slowest trace's timeline (k): the RSS of each
 * of its processes (at most AP_HTML_MEM_STRIPS) over the trace, on the
 * timeline's x axis. Nothing when memory was not sampled. */
void ap_html_memory_strips(FILE *f, const struct ap_run *r, const struct ap_kept *k);

/* The Memory panel: a heading, then one RSS chart per process over the run
 * (at most AP_HTML_MEM_CHARTS, largest growth first) with its start, peak,
 * end, slope and growth finding, and what was not drawn; or one line
 * saying that memory was not sampled. */
void ap_html_memory_panel(FILE *f, const struct ap_run *r);

/* One sentence for the top of the page: the largest peak and the steady
 * growths, with a link to the panel. Nothing when memory was not sampled. */
void ap_html_memory_summary(FILE *f, const struct ap_run *r);

#endif /* AP_HTML_H */
