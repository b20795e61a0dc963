/* SPDX-License-Identifier: MIT */
/*
 * top.c - `agentprof top`: a snapshot of the fleet as JSON and as a frame.
 *
 * The frame: three header lines (rates, loss, the reader's own cost), the
 * operations sorted by the chosen key, the oldest spans in flight ("stuck
 * calls"), one row per process. Each section gets a share of the height and
 * says how many rows it could not show. Every name goes through
 * ap_text_cell: escaped for the terminal and cut at its column.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "labels.h"
#include "text.h"
#include "top.h"

static double key_of(const struct ap_top_op *o, enum ap_top_sort sort)
{
	switch (sort) {
	case AP_TOP_SORT_COUNT:
		return o->completions_per_s;
	case AP_TOP_SORT_P95:
		return o->p95_ms;
	case AP_TOP_SORT_ERRORS:
		return (double)o->errors;
	default:
		return o->busy_ms_per_s;
	}
}

static const struct ap_top *sort_t;
static enum ap_top_sort sort_k;

static int by_key(const void *a, const void *b)
{
	const struct ap_top_op *x = &sort_t->ops[*(const uint32_t *)a], *y = &sort_t->ops[*(const uint32_t *)b];
	double kx = key_of(x, sort_k), ky = key_of(y, sort_k);
	int c;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	c = strcmp(x->name, y->name);
	return c ? c : (int)x->category - (int)y->category;
}

void ap_top_order(const struct ap_top *t, enum ap_top_sort sort, uint32_t *idx)
{
	for (uint32_t i = 0; i < t->nops; i++)
		idx[i] = i;
	sort_t = t;
	sort_k = sort;
	qsort(idx, t->nops, sizeof(*idx), by_key);
}

static const char *sort_name(enum ap_top_sort s)
{
	static const char *const n[] = { "time", "count", "p95", "errors" };

	return n[s <= AP_TOP_SORT_ERRORS ? s : 0];
}

int ap_top_json(FILE *f, const struct ap_top *t, enum ap_top_sort sort)
{
	struct ap_json j;
	uint32_t *idx = malloc((t->nops ? t->nops : 1) * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	ap_top_order(t, sort, idx);
	ap_json_init(&j, f);
	ap_json_obj(&j, NULL);
	ap_json_str(&j, "segment", t->segment);
	ap_json_u64(&j, "reader_pid", t->pid);
	ap_json_num(&j, "uptime_s", t->uptime_s, 3);
	ap_json_num(&j, "window_s", t->window_s, 3);
	ap_json_str(&j, "sort", sort_name(sort));
	ap_json_u64(&j, "lanes", t->lanes);
	ap_json_u64(&j, "lanes_in_use", t->lanes_in_use);
	ap_json_num(&j, "events_per_s", t->events_per_s, 1);
	ap_json_num(&j, "spans_per_s", t->spans_per_s, 1);
	ap_json_num(&j, "tokens_per_s", t->tokens_per_s, 1);
	ap_json_obj(&j, "drops_per_s");
	ap_json_num(&j, "full", t->dropped_full_per_s, 1);
	ap_json_num(&j, "no_lane", t->dropped_no_lane_per_s, 1);
	ap_json_num(&j, "reentrant", t->dropped_reentrant_per_s, 1);
	ap_json_end_obj(&j);
	ap_json_obj(&j, "reader");
	ap_json_u64(&j, "lag_events", t->reader_lag);
	ap_json_num(&j, "cpu_pct", t->reader_cpu_pct, 2);
	ap_json_u64(&j, "rss_kib", t->reader_rss_kib);
	ap_json_end_obj(&j);
	ap_json_num(&j, "overhead_pct", t->overhead_pct, 4);
	ap_json_u64(&j, "traces_in_flight", t->traces_in_flight);
	ap_json_u64(&j, "traces_timed_out", t->traces_timed_out);
	ap_json_u64(&j, "in_flight_total", t->in_flight_total);
	ap_json_u64(&j, "in_flight_not_listed", t->in_flight_total - t->n_in_flight);
	ap_json_arr(&j, "in_flight");
	for (uint32_t i = 0; i < t->n_in_flight; i++) {
		const struct ap_top_span *s = &t->in_flight[i];

		ap_json_obj(&j, NULL);
		ap_json_str(&j, "name", s->name);
		ap_json_str(&j, "category", ap_cat_name(s->category));
		ap_json_u64(&j, "pid", s->pid);
		ap_json_u64(&j, "tid", s->tid);
		ap_json_u64(&j, "age_ms", s->age_ms);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);
	ap_json_arr(&j, "operations");
	for (uint32_t k = 0; k < t->nops; k++) {
		const struct ap_top_op *o = &t->ops[idx[k]];

		ap_json_obj(&j, NULL);
		ap_json_str(&j, "name", o->name);
		ap_json_str(&j, "category", ap_cat_name(o->category));
		ap_json_num(&j, "starts_per_s", o->starts_per_s, 2);
		ap_json_num(&j, "completions_per_s", o->completions_per_s, 2);
		if (o->p50_ms >= 0) {
			ap_json_num(&j, "p50_ms", o->p50_ms, 3);
			ap_json_num(&j, "p95_ms", o->p95_ms, 3);
		} else {
			ap_json_null(&j, "p50_ms");
			ap_json_null(&j, "p95_ms");
		}
		ap_json_num(&j, "busy_ms_per_s", o->busy_ms_per_s, 3);
		ap_json_u64(&j, "errors", o->errors);
		ap_json_u64(&j, "in_flight", o->in_flight);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);
	ap_json_u64(&j, "operations_over_cap", t->ops_over_cap);
	ap_json_arr(&j, "processes");
	for (uint32_t p = 0; p < t->nprocs; p++) {
		ap_json_obj(&j, NULL);
		ap_json_u64(&j, "pid", t->procs[p].pid);
		ap_json_num(&j, "spans_per_s", t->procs[p].spans_per_s, 2);
		ap_json_u64(&j, "in_flight", t->procs[p].in_flight);
		ap_json_u64(&j, "lanes", t->procs[p].lanes);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);
	ap_json_u64(&j, "processes_over_cap", t->procs_over_cap);
	ap_json_end_obj(&j);
	fputc('\n', f);
	free(idx);
	return j.err || ferror(f) ? -EIO : 0;
}

/* A line cut at width cells (header lines are ASCII apart from names). */
static void line(FILE *f, int width, const char *on, const char *off, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void line(FILE *f, int width, const char *on, const char *off, const char *fmt, ...)
{
	char buf[1024], cell[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(f, "%s%s%s\n", on, ap_text_cell(buf, width, *on != '\0', cell, sizeof(cell)), off);
}

static void rate(char *out, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.0fk", v / 1e3);
	else
		snprintf(out, n, "%.1f", v);
}

int ap_top_frame(FILE *f, const struct ap_top *t, int width, int height, enum ap_top_sort sort, int color)
{
	const char *bold = color ? "\033[1m" : "", *rev = color ? "\033[7m" : "", *off = color ? "\033[0m" : "";
	int unlimited = height <= 0, rows, ops_rows, stuck_rows, proc_rows, name_w;
	char a[32], b[32], c[32], cell[AP_TEXT_NAME_BUF];
	uint32_t *idx;

	if (width < AP_TOP_MIN_WIDTH || (!unlimited && height < AP_TOP_MIN_HEIGHT)) {
		char msg[160];

		snprintf(msg, sizeof(msg), "terminal %dx%d too small, need %dx%d", width, height, AP_TOP_MIN_WIDTH,
			 AP_TOP_MIN_HEIGHT);
		fprintf(f, "%s\n", ap_text_cell(msg, width > 0 ? width : 0, 0, cell, sizeof(cell)));
		return ferror(f) ? -EIO : 0;
	}
	idx = malloc((t->nops ? t->nops : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	ap_top_order(t, sort, idx);
	rate(a, sizeof(a), t->events_per_s);
	rate(b, sizeof(b), t->spans_per_s);
	rate(c, sizeof(c), t->tokens_per_s);
	line(f, width, bold, off, "agentprof top  %s  up %.0f s  window %.1f s  lanes %u/%u  sort: %s",
	     t->segment, t->uptime_s, t->window_s, t->lanes_in_use, t->lanes, sort_name(sort));
	line(f, width, "", "", "events %s/s  spans %s/s  tokens %s/s  in flight %llu span%s in %llu trace%s, "
	     "timed out %llu", a, b, c, (unsigned long long)t->in_flight_total, t->in_flight_total == 1 ? "" : "s",
	     (unsigned long long)t->traces_in_flight, t->traces_in_flight == 1 ? "" : "s",
	     (unsigned long long)t->traces_timed_out);
	line(f, width, "", "", "drops/s full %.0f no-lane %.0f reentrant %.0f  reader lag %llu events, cpu %.1f%%, "
	     "rss %.1f MiB  overhead %.3f%%", t->dropped_full_per_s, t->dropped_no_lane_per_s,
	     t->dropped_reentrant_per_s, (unsigned long long)t->reader_lag, t->reader_cpu_pct,
	     (double)t->reader_rss_kib / 1024.0, t->overhead_pct);
	line(f, width, "", "", "keys: t time  c count  p p95  e errors  q quit");
	rows = unlimited ? 1 << 20 : height - 4;
	/* Three sections, each a heading and rows: half to the operations, a
	 * third of the rest to the stuck calls at least 3. */
	ops_rows = unlimited ? (int)t->nops : (rows - 3) / 2;
	stuck_rows = unlimited ? (int)t->n_in_flight : (rows - 3 - ops_rows) * 3 / 5;
	proc_rows = unlimited ? (int)t->nprocs : rows - 3 - ops_rows - stuck_rows;
	name_w = width - 73;	/* the other columns take 72 cells */
	if (name_w > 60)
		name_w = 60;
	line(f, width, rev, off, "%-*s %-8s %9s %9s %9s %9s %10s %5s %5s", name_w, "OPERATION", "CATEGORY",
	     "STARTS/s", "DONE/s", "P50 ms", "P95 ms", "BUSY ms/s", "ERR", "OPEN");
	for (int k = 0; k < ops_rows && k < (int)t->nops; k++) {
		const struct ap_top_op *o = &t->ops[idx[k]];
		char p50[16] = "-", p95[16] = "-";

		if (k == ops_rows - 1 && (int)t->nops > ops_rows) {
			line(f, width, "", "", "  ... %d more operations", (int)t->nops - k);
			break;
		}
		if (o->p50_ms >= 0) {
			snprintf(p50, sizeof(p50), o->p50_ms < 10 ? "%.3f" : "%.1f", o->p50_ms);
			snprintf(p95, sizeof(p95), o->p95_ms < 10 ? "%.3f" : "%.1f", o->p95_ms);
		}
		fprintf(f, "%s ", ap_text_cell(o->name, name_w, 1, cell, sizeof(cell)));
		line(f, width - name_w - 1, "", "", "%-8s %9.1f %9.1f %9s %9s %10.1f %5llu %5llu", ap_cat_name(o->category),
		     o->starts_per_s, o->completions_per_s, p50, p95, o->busy_ms_per_s, (unsigned long long)o->errors,
		     (unsigned long long)o->in_flight);
	}
	for (int k = (int)t->nops; !unlimited && k < ops_rows; k++)
		fputc('\n', f);
	line(f, width, rev, off, "%-*s %-8s %9s %8s %8s", name_w + 9, "STUCK CALLS (oldest open spans)", "CATEGORY",
	     "AGE s", "PID", "TID");
	for (int k = 0; k < stuck_rows && k < (int)t->n_in_flight; k++) {
		const struct ap_top_span *s = &t->in_flight[k];

		if (k == stuck_rows - 1 && t->in_flight_total > (uint64_t)stuck_rows) {
			line(f, width, "", "", "  ... %llu more open spans",
			     (unsigned long long)(t->in_flight_total - (uint64_t)k));
			break;
		}
		fprintf(f, "%s ", ap_text_cell(s->name, name_w + 9, 1, cell, sizeof(cell)));
		line(f, width - name_w - 10, "", "", "%-8s %9.1f %8u %8u", ap_cat_name(s->category),
		     (double)s->age_ms / 1e3, s->pid, s->tid);
	}
	for (int k = (int)t->n_in_flight; !unlimited && k < stuck_rows; k++)
		fputc('\n', f);
	line(f, width, rev, off, "%8s %10s %6s %6s", "PID", "SPANS/s", "OPEN", "LANES");
	for (int k = 0; k < proc_rows && k < (int)t->nprocs; k++) {
		const struct ap_top_proc *p = &t->procs[k];

		if (k == proc_rows - 1 && (int)t->nprocs > proc_rows) {
			line(f, width, "", "", "  ... %d more processes", (int)t->nprocs - k);
			break;
		}
		line(f, width, "", "", "%8u %10.1f %6llu %6llu", p->pid, p->spans_per_s,
		     (unsigned long long)p->in_flight, (unsigned long long)p->lanes);
	}
	free(idx);
	return ferror(f) ? -EIO : 0;
}
