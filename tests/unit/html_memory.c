/* SPDX-License-Identifier: MIT */
/*
 * html_memory.c - report.html's RSS charts (reader/render/html_memory.c),
 * rendered from a run built here, against what the series holds:
 *
 *   - the peak printed, on a hover column and on the dot is the series'
 *     exact peak even where the downsampled series dropped that sample
 *     (stride 2 after 256 samples, the ring past it);
 *   - a strip under the slowest trace's timeline for its process with a
 *     series, a line for the one without; processes of the run with no
 *     series are named; memory not sampled is one line and no chart;
 *   - hostile samples (RSS of 4 TiB, times 2^63 ticks apart, one instant,
 *     a clock whose multiplier overflows, 4,097 processes): every number of
 *     every rect, line, circle and path is finite and inside its viewBox,
 *     16 charts are drawn and the 4,081 others counted (64 listed by pid),
 *     and the page stays under ap_export_bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "helpers.h"
#include "html.h"
#include "memory.h"
#include "name.h"
#include "render.h"

#define MS 1000000ull

struct fixture {
	struct ap_clock_cal c;
	struct ap_names names;
	struct ap_rules rules;
	struct ap_analysis a;
	struct ap_assembler as;
	struct ap_memory m;
	struct ap_proc_row procs[3];
	struct ap_run r;
};

static struct ap_span span(uint64_t id, uint32_t pid, uint64_t b, uint64_t e)
{
	struct ap_span s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.have = AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END;
	s.category = AP_CAT_TOOL;
	s.pid = pid;
	s.tid_begin = s.tid_end = pid;
	s.name = ap_name_hash("step", 4);
	s.t_begin = b;
	s.t_end = e;
	return s;
}

/* A run of one trace, root in pid 1 from t0 to t1 ticks with a child in
 * pid 2; process rows 1, 2, 3; memory sampled every 20 ms, no sample yet. */
static void fixture_init(struct fixture *x, uint64_t mult, uint64_t t0, uint64_t t1)
{
	struct ap_span v[2];
	uint32_t parent[2] = { AP_NONE, 0 };
	struct ap_trace_view t;

	memset(x, 0, sizeof(*x));
	x->c = (struct ap_clock_cal){ .source = AP_CLOCK_MONOTONIC, .mult = mult, .hz = 1000000000 };
	v[0] = span(1, 1, t0, t1);
	v[1] = span(2, 2, t0 + (t1 - t0) / 4, t0 + (t1 - t0) / 2);
	CU_ASSERT_FATAL(ap_mem_init(&x->m, 20 * MS, &x->c) == 0);
	CU_ASSERT_FATAL(ap_names_init(&x->names) == 0);
	ap_rules_default(&x->rules);
	CU_ASSERT_FATAL(ap_analysis_init(&x->a, &x->names, &x->c, &x->rules, NULL, 0, NULL) == 0);
	memset(&t, 0, sizeof(t));
	t.v = v;
	t.parent = parent;
	t.n = 2;
	t.complete = 1;
	ap_analysis_add(&x->a, &t);
	ap_analysis_end(&x->a, &x->as);
	for (uint32_t i = 0; i < 3; i++)
		x->procs[i].pid = i + 1;
	x->r.label = "html memory";
	x->r.clock = x->c;
	x->r.analysis = &x->a;
	x->r.memory = &x->m;
	x->r.procs = x->procs;
	x->r.nprocs = 3;
}

static void fixture_free(struct fixture *x)
{
	ap_analysis_free(&x->a);
	ap_names_free(&x->names);
	ap_mem_free(&x->m);
}

static char *render(const struct ap_run *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(ap_render_html(r, f), 0);
	CU_ASSERT_FATAL(fclose(f) == 0 && buf);
	return buf;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The largest "RSS X MiB" among the <title>s of s's hover columns. */
static double hover_max(const char *s, const char *end)
{
	double top = -1;

	for (const char *p = s; (p = strstr(p, "<rect class=\"mh\"")) && p < end; p++) {
		const char *q = strstr(p, ": RSS ");

		if (q && q < end && strtod(q + 6, NULL) > top)
			top = strtod(q + 6, NULL);
	}
	return top;
}

static int in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo - 1e-9 && v <= hi + 1e-9;
}

/* An attribute's number, or NAN when it is absent or not a number. */
static double attr(const char *tag, const char *tag_end, const char *name)
{
	char key[16];
	const char *p;
	char *e;
	double v;

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(tag, key);
	if (!p || p >= tag_end)
		return NAN;
	v = strtod(p + strlen(key), &e);
	return e == p + strlen(key) || *e != '"' ? NAN : v;
}

/*
 * Every rect, line, circle and path of every memory picture (svg.mem,
 * svg.memstrip) inside its viewBox, with finite numbers. Returns the
 * pictures checked; each violation is printed and counted in *bad.
 */
static int check_geometry(const char *html, int *bad)
{
	int pictures = 0;

	for (const char *p = html; (p = strstr(p, "<svg ")); ) {
		const char *end = strstr(p, "</svg>"), *vb, *gt = strchr(p, '>');
		double vw = 0, vh = 0;

		if (!end || !gt) {
			(*bad)++;
			break;
		}
		if (!strstr(p, " class=\"mem") || strstr(p, " class=\"mem") > gt) {
			p = end;
			continue;
		}
		pictures++;
		vb = strstr(p, "viewBox=\"");
		if (!vb || vb > gt || sscanf(vb + 9, "0 0 %lf %lf", &vw, &vh) != 2) {
			(*bad)++;
			p = end;
			continue;
		}
		for (const char *t = gt; (t = strchr(t + 1, '<')) && t < end; ) {
			const char *te = strchr(t, '>');
			int ok = 1;

			if (strncmp(t, "<rect ", 6) == 0) {
				double x = attr(t, te, "x"), y = attr(t, te, "y"), w = attr(t, te, "width"),
				       h = attr(t, te, "height");

				ok = in(x, 0, vw) && in(y, 0, vh) && in(w, 0, vw) && in(h, 0, vh) && in(x + w, 0, vw) &&
				     in(y + h, 0, vh);
			} else if (strncmp(t, "<line ", 6) == 0) {
				ok = in(attr(t, te, "x1"), 0, vw) && in(attr(t, te, "x2"), 0, vw) && in(attr(t, te, "y1"), 0, vh) &&
				     in(attr(t, te, "y2"), 0, vh);
			} else if (strncmp(t, "<circle ", 8) == 0) {
				ok = in(attr(t, te, "cx"), 0, vw) && in(attr(t, te, "cy"), 0, vh);
			} else if (strncmp(t, "<path ", 6) == 0) {
				const char *d = strstr(t, " d=\"");
				int k = 0;

				ok = d && d < te;
				for (const char *q = d ? d + 4 : te; ok && *q != '"' && q < te; k++) {
					char *e;
					double v;

					while (*q == 'M' || *q == 'L' || *q == 'Z' || *q == ' ')
						q++;
					if (*q == '"')
						break;
					v = strtod(q, &e);
					ok = e != q && in(v, 0, k % 2 ? vh : vw);
					q = e;
				}
			}
			if (!ok) {
				fprintf(stderr, "html_memory: out of its viewBox (%g x %g): %.*s\n", vw, vh,
					(int)(te ? te - t + 1 : 80), t);
				(*bad)++;
			}
		}
		p = end;
	}
	return pictures;
}

static void test_peak_printed_is_the_series_peak(void)
{
	struct fixture x;
	size_t len;
	char *html, *chart, *end;
	int bad = 0;

	/* 400 samples of pid 1 every 20 ms, 4 MiB, but 9.8 MiB at sample 201:
	 * the downsampled series keeps the even ones once it has had 256
	 * (stride 2), and the ring of the last 128 begins at sample 272, so
	 * neither holds the peak. */
	fixture_init(&x, UINT64_C(1) << 32, 1000 * MS, 4000 * MS);
	for (uint64_t k = 0; k < 400; k++)
		CU_ASSERT_EQUAL(ap_mem_add(&x.m, 1, k * 20 * MS, k == 201 ? 10035 : 4096, 1024), 0);
	CU_ASSERT_EQUAL_FATAL(x.m.series[0].peak.rss_kib, 10035);
	for (uint32_t i = 0; i < x.m.series[0].n; i++)
		CU_ASSERT(x.m.series[0].s[i].rss_kib != 10035);	/* dropped from the kept samples */
	html = render(&x.r, &len);
	chart = strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"mem\" id=\"mem-1\"");
	CU_ASSERT_FATAL(chart != NULL);
	end = strstr(chart, "</svg>");
	CU_ASSERT(strstr(chart, ">peak 9.8 MiB at 4.0 s</text>") && strstr(chart, ">peak 9.8 MiB at 4.0 s</text>") < end);
	CU_ASSERT(strstr(chart, ">start 4.0, end 4.0 MiB</text>") != NULL);
	CU_ASSERT(strstr(chart, "pid 1: peak 9.800 MiB at 4.020 s</title></circle>") != NULL);
	CU_ASSERT(fabs(hover_max(chart, end) - 9.800) < 1e-9);
	CU_ASSERT(strstr(chart, "pid 1 at 4.020 s: RSS 9.800 MiB, anon 1.000 MiB</title>") != NULL);
	/* The strip under the timeline: pid 1's samples over the trace (1 to
	 * 4 s: the peak at 4.02 s is past it); pid 2 has no series. */
	CU_ASSERT_EQUAL(count(html, "class=\"memstrip\""), 1);
	CU_ASSERT(strstr(html, "id=\"memstrip-1\"") > strstr(html, "id=\"timeline\""));
	CU_ASSERT(strstr(html, "pid 1, 1000.0 ms into the trace: RSS 4.000 MiB") != NULL);
	CU_ASSERT(strstr(html, "<p class=\"note\">pid 2: no RSS sample") != NULL);
	/* Rows 2 and 3 of the processes have no series: named. */
	CU_ASSERT(strstr(html, "2 of the run's processes have no RSS series") != NULL);
	CU_ASSERT(strstr(html, "samples are only counted): pid 2, pid 3.</p>") != NULL);
	CU_ASSERT(strstr(html, "the largest peak RSS is 9.8 MiB (pid 1)") != NULL);
	CU_ASSERT(strstr(html, "memory-off") == NULL);
	CU_ASSERT_EQUAL(check_geometry(html, &bad), 2);
	CU_ASSERT_EQUAL(bad, 0);
	free(html);

	/* Fault injected: the same page with the peak left out of the series
	 * is caught by the comparison above. */
	x.m.series[0].peak = x.m.series[0].first;
	html = render(&x.r, &len);
	chart = strstr(html, "id=\"mem-1\"");
	CU_ASSERT_FATAL(chart != NULL);
	CU_ASSERT(fabs(hover_max(chart, strstr(chart, "</svg>")) - 9.800) > 1);
	free(html);
	fixture_free(&x);
}

static void test_not_sampled_is_one_line(void)
{
	struct fixture x;
	size_t len;
	char *html;

	fixture_init(&x, UINT64_C(1) << 32, 0, 100 * MS);
	x.r.memory = NULL;
	html = render(&x.r, &len);
	CU_ASSERT(strstr(html, "<p class=\"note\" id=\"memory-off\">Memory was not sampled") != NULL);
	CU_ASSERT(strstr(html, "<h2 id=\"memory\">") != NULL);
	CU_ASSERT(strstr(html, "class=\"mem") == NULL);
	CU_ASSERT(strstr(html, "Memory: ") == strstr(html, "Memory: RSS per process"));	/* no summary line */
	free(html);
	/* Sampling on, no process sampled yet: said, no chart. */
	x.r.memory = &x.m;
	html = render(&x.r, &len);
	CU_ASSERT(strstr(html, "No process has a sample") != NULL);
	CU_ASSERT(strstr(html, "class=\"mem\"") == NULL);
	CU_ASSERT(strstr(html, "<p class=\"note\">pid 1: no RSS sample") != NULL);
	free(html);
	fixture_free(&x);
}

/* Samples of process pid that a log could carry: 4 TiB, 0, one instant
 * repeated, then 2^63 ticks later. */
static void hostile_series(struct ap_memory *m, uint32_t pid, uint64_t base)
{
	ap_mem_add(m, pid, base, UINT32_MAX, UINT32_MAX);
	ap_mem_add(m, pid, base, 0, 0);
	ap_mem_add(m, pid, base, 12345, 0);
	ap_mem_add(m, pid, base + 1, UINT32_MAX - 1, 7);
	ap_mem_add(m, pid, base + (UINT64_C(1) << 63), 1, 1);
	ap_mem_add(m, pid, UINT64_MAX, UINT32_MAX, 0);
}

static void test_hostile_samples_stay_in_their_charts(void)
{
	static const uint64_t mults[] = { UINT64_C(1) << 32, UINT64_MAX, 0 };

	for (unsigned c = 0; c < sizeof(mults) / sizeof(mults[0]); c++) {
		struct fixture x;
		struct ap_settings set;
		size_t len;
		char *html;
		int bad = 0;

		fixture_init(&x, mults[c], UINT64_C(1) << 62, UINT64_MAX - 5);
		for (uint32_t pid = 1; pid <= AP_MEM_PROCS + 1; pid++)
			hostile_series(&x.m, pid, pid == 2 ? 0 : (uint64_t)pid << 40);
		CU_ASSERT_EQUAL(x.m.nseries, AP_MEM_PROCS);
		CU_ASSERT(x.m.procs_over_cap > 0);
		html = render(&x.r, &len);
		CU_ASSERT_EQUAL(count(html, "class=\"mem\""), AP_HTML_MEM_CHARTS);
		CU_ASSERT_EQUAL(count(html, "class=\"memstrip\""), 2);
		CU_ASSERT(strstr(html, "4080 more processes not drawn") != NULL);
		CU_ASSERT(strstr(html, " and 4016 more.</p>") != NULL);
		CU_ASSERT(strstr(html, "samples of processes past the cap of 4096 series were not kept") != NULL);
		CU_ASSERT(strstr(html, ">0 to 5000 GiB</text>") != NULL);
		CU_ASSERT(strstr(html, ": peak 4194303.999 MiB at ") != NULL);
		CU_ASSERT_EQUAL(check_geometry(html, &bad), AP_HTML_MEM_CHARTS + 2);
		CU_ASSERT_EQUAL(bad, 0);
		ap_settings_default(&set);
		CU_ASSERT(len <= ap_export_bound(&set, x.r.nprocs, 256));
		free(html);
		fixture_free(&x);
	}
}

void t_register_html_memory(void)
{
	CU_pSuite s = CU_add_suite("html_memory", NULL, NULL);

	T_ADD(s, test_peak_printed_is_the_series_peak);
	T_ADD(s, test_not_sampled_is_one_line);
	T_ADD(s, test_hostile_samples_stay_in_their_charts);
}
