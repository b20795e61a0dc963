/* SPDX-License-Identifier: MIT */
/*
 * html.h - what report.html's page (render_html.c) shares with the pictures
 * drawn apart from it: the geometry of the page's SVGs and the time axis.
 *
 * Every picture is an <svg> whose viewBox is LABEL_W + CHART_W wide when it
 * has a name column (the timelines) and CHART_W when it has
 * none (the flame graphs); all scale to the page's width together, so an
 * x in one is the same x in the next.
 */
#ifndef AP_HTML_H
#define AP_HTML_H

#include <stddef.h>
#include <stdio.h>

#define AP_HTML_CHART_W	1200.0	/* px of the time axis */
#define AP_HTML_LABEL_W	300.0	/* px of the name column left of it */
#define AP_HTML_AXIS_H	16.0	/* px of the time axis above a picture */

/* A time in ns as a short label: 0, 250 us, 12.5 ms, 1.2 s. */
void ap_html_time_label(char *b, size_t cap, double ns);

/* Grid lines and labels every 1, 2 or 5 x 10^k ns, about 6 over total ns,
 * from x = left over AP_HTML_CHART_W, down to y = h; in a <g class="axis">,
 * which the script hides while a picture is zoomed. */
void ap_html_axis(FILE *f, double left, double total, double h);

#endif /* AP_HTML_H */
