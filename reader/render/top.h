/* SPDX-License-Identifier: MIT */
/*
 * top.h - the live view's snapshot as JSON (what serve writes and `top
 * --json` prints) and as a terminal frame (`top`, `top --once`).
 */
#ifndef AP_TOP_H
#define AP_TOP_H

#include <stdio.h>

#include "live.h"

enum ap_top_sort { AP_TOP_SORT_TIME, AP_TOP_SORT_COUNT, AP_TOP_SORT_P95, AP_TOP_SORT_ERRORS };

#define AP_TOP_MIN_WIDTH	72
#define AP_TOP_MIN_HEIGHT	14

/* The snapshot as one JSON object; in_flight oldest first, operations in
 * the order of `sort`. 0 or -EIO. */
int ap_top_json(FILE *f, const struct ap_top *t, enum ap_top_sort sort);

/* One frame of width x height cells (height 0: as long as it needs), every
 * line ending in "\n" and no longer than width cells; `color`: bold and
 * reverse headings. A terminal smaller than AP_TOP_MIN_WIDTH x
 * AP_TOP_MIN_HEIGHT gets one line that says so. 0 or -EIO. */
int ap_top_frame(FILE *f, const struct ap_top *t, int width, int height, enum ap_top_sort sort, int color);

/* The operations' order under `sort` (highest first, then by name), into
 * idx[0..t->nops). */
void ap_top_order(const struct ap_top *t, enum ap_top_sort sort, uint32_t *idx);

#endif /* AP_TOP_H */
