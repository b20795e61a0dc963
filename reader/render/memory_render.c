/* SPDX-License-Identifier: MIT */
/*
 * memory_render.c - the Memory section of report.json and report.txt
 * (memory.h has what the figures mean): per process start, peak, end, the
 * growth and its least-squares slope with the fit; per operation the RSS
 * change of its spans (count, total, mean, P95), beside the sampling
 * interval, since a span shorter than it is not measured.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "labels.h"
#include "render.h"
#include "report.h"

static int64_t growth(const struct ap_mem_series *s)
{
	return (int64_t)s->last.rss_kib - (int64_t)s->first.rss_kib;
}

static int by_growth_desc(const void *x, const void *y)
{
	const struct ap_mem_series *a = *(const struct ap_mem_series *const *)x, *b = *(const struct ap_mem_series *const *)y;
	int64_t ga = growth(a), gb = growth(b);

	if (ga != gb)
		return ga > gb ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

static int by_mem_total_desc(const void *x, const void *y)
{
	const struct ap_op *a = *(const struct ap_op *const *)x, *b = *(const struct ap_op *const *)y;
	int64_t ta = abs64(a->mem->total_kib), tb = abs64(b->mem->total_kib);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	if (a->name != b->name)
		return a->name < b->name ? -1 : 1;
	return a->category < b->category ? -1 : a->category > b->category;
}

/* Operations with RSS rows, largest total change first; NULL when none or
 * no memory for the list. */
static const struct ap_op **mem_ops(const struct ap_analysis *a, uint32_t *n)
{
	const struct ap_op **v = malloc((a->nops ? a->nops : 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < a->nops; i++)
		if (a->ops[i].mem)
			v[(*n)++] = &a->ops[i];
	qsort(v, *n, sizeof(*v), by_mem_total_desc);
	return v;
}

void ap_memory_json(struct ap_json *j, const struct ap_run *r)
{
	const struct ap_memory *m = r->memory;
	const struct ap_analysis *a = r->analysis;
	char buf[32];

	if (!m)
		return;
	ap_json_obj(j, "memory");
	ap_json_u64(j, "interval_ms", m->interval_ns / 1000000u);
	ap_json_u64(j, "rounds", m->rounds);
	ap_json_u64(j, "samples", m->samples);
	ap_json_u64(j, "procs_over_cap", m->procs_over_cap);
	ap_json_u64(j, "samples_bad", m->samples_bad);
	ap_json_u64(j, "series_bytes", m->bytes);
	ap_json_u64(j, "traces_analysed_early", m->traces_early);
	ap_json_arr(j, "processes");
	for (uint32_t i = 0; i < m->nseries; i++) {
		const struct ap_mem_series *s = &m->series[i];
		double slope, r2;

		ap_mem_fit(m, s, &slope, &r2);
		ap_json_obj(j, NULL);
		ap_json_u64(j, "pid", s->pid);
		ap_json_u64(j, "samples", s->taken);
		ap_json_u64(j, "start_kib", s->first.rss_kib);
		ap_json_u64(j, "peak_kib", s->peak.rss_kib);
		ap_json_u64(j, "end_kib", s->last.rss_kib);
		ap_json_u64(j, "end_anon_kib", s->last.anon_kib);
		ap_json_i64(j, "growth_kib", growth(s));
		ap_json_num(j, "duration_s", (double)ap_ticks_delta_ns(&m->clock, s->first.ticks, s->last.ticks) / 1e9, 3);
		ap_json_num(j, "slope_kib_per_s", slope, 3);
		ap_json_num(j, "fit_r2", r2, 4);
		ap_json_u64(j, "traces", s->traces);
		ap_json_end_obj(j);
	}
	ap_json_end_arr(j);
	ap_json_arr(j, "operations");
	if (a) {
		uint32_t n;
		const struct ap_op **v = mem_ops(a, &n);

		for (uint32_t i = 0; v && i < n; i++) {
			const struct ap_op_mem *om = v[i]->mem;

			ap_json_obj(j, NULL);
			ap_json_str(j, "name", ap_nm(a, v[i]->name, buf));
			ap_json_str(j, "category", ap_cat_name(v[i]->category));
			ap_json_u64(j, "spans_measured", om->measured);
			ap_json_u64(j, "spans_not_measurable", om->not_measurable);
			ap_json_i64(j, "rss_delta_kib_total", om->total_kib);
			if (om->measured) {
				ap_json_num(j, "rss_delta_kib_mean", (double)om->total_kib / (double)om->measured, 1);
				ap_json_i64(j, "rss_delta_kib_p95", ap_op_mem_quantile(om, 0.95));
				ap_json_i64(j, "rss_delta_kib_max", om->max_kib);
			} else {
				ap_json_null(j, "rss_delta_kib_mean");
				ap_json_null(j, "rss_delta_kib_p95");
				ap_json_null(j, "rss_delta_kib_max");
			}
			ap_json_end_obj(j);
		}
		free(v);
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "operations_no_memory", a ? a->mem_rows_nomem : 0);
	ap_json_end_obj(j);
}

static double mib(int64_t kib)
{
	return (double)kib / 1024.0;
}

void ap_memory_text(FILE *f, const struct ap_run *r, int color)
{
	const struct ap_memory *m = r->memory;
	const struct ap_analysis *a = r->analysis;
	const struct ap_mem_series **v;
	uint32_t n;

	if (!m)
		return;
	fprintf(f, color ? "\n\033[1m%s\033[0m\n" : "\n%s\n",
		"Memory (RSS, sampled by the reader from /proc; the writers pay nothing)");
	fprintf(f, "  sampled every %" PRIu64 " ms: %" PRIu64 " samples of %u processes", m->interval_ns / 1000000u,
		m->samples, m->nseries);
	if (m->procs_over_cap)
		fprintf(f, " (%" PRIu64 " samples of processes over the cap of %u not kept)", m->procs_over_cap,
			AP_MEM_PROCS);
	fputc('\n', f);
	fprintf(f, "  %-8s %8s %10s %10s %10s %11s %12s %6s %8s\n", "pid", "samples", "start MiB", "peak MiB",
		"end MiB", "growth MiB", "MiB/hour", "fit", "traces");
	v = malloc((m->nseries ? m->nseries : 1) * sizeof(*v));
	for (uint32_t i = 0; v && i < m->nseries; i++)
		v[i] = &m->series[i];
	if (v)
		qsort(v, m->nseries, sizeof(*v), by_growth_desc);
	for (uint32_t i = 0; v && i < m->nseries && i < 32; i++) {
		const struct ap_mem_series *s = v[i];
		double slope, r2;

		ap_mem_fit(m, s, &slope, &r2);
		fprintf(f, "  %-8u %8" PRIu64 " %10.1f %10.1f %10.1f %+11.1f %+12.1f %6.2f %8" PRIu64 "\n", s->pid,
			s->taken, mib(s->first.rss_kib), mib(s->peak.rss_kib), mib(s->last.rss_kib), mib(growth(s)),
			slope * 3600.0 / 1024.0, r2, s->traces);
	}
	if (m->nseries > 32)
		fprintf(f, "  (%u more processes in report.json)\n", m->nseries - 32);
	free(v);
	if (!a)
		return;
	{
		const struct ap_op **ops = mem_ops(a, &n);

		fprintf(f, "  RSS change per operation (inclusive, as time is; a span shorter than the %" PRIu64
			   " ms between samples, or without a sample on both sides, is not measurable)\n",
			m->interval_ns / 1000000u);
		fprintf(f, "  %-24s %-8s %8s %10s %12s %11s %11s\n", "name", "category", "measured", "unmeasured",
			"total MiB", "mean KiB", "p95 KiB");
		for (uint32_t i = 0; ops && i < n && i < 20; i++) {
			const struct ap_op_mem *om = ops[i]->mem;

			fprintf(f, "  %s %-8s %8" PRIu64 " %10" PRIu64, ap_tname(a, ops[i]->name, 24),
				ap_cat_name(ops[i]->category), om->measured, om->not_measurable);
			if (om->measured)
				fprintf(f, " %+12.1f %+11.1f %+11" PRId64 "\n", mib(om->total_kib),
					(double)om->total_kib / (double)om->measured, ap_op_mem_quantile(om, 0.95));
			else
				fprintf(f, " %12s %11s %11s\n", "-", "-", "-");
		}
		if (n > 20)
			fprintf(f, "  (%u more operations in report.json)\n", n - 20);
		free(ops);
	}
}
