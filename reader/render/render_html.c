/* SPDX-License-Identifier: MIT */
/*
 * render_html.c - report.html: one self-contained page, nothing fetched.
 *
 * Inline CSS, inline SVG and one inline script; the Content-Security-Policy
 * is default-src 'none' plus the SHA-256 of that script and of that style
 * sheet, so the page can load nothing and run nothing else (no 'unsafe-
 * inline'). The script and the style are constants (all data is in the
 * markup), which is what makes their hashes constants; the browser test
 * fails if a change to either forgets its hash (the script would not run).
 *
 * Pictures, each an <svg> whose spans are <g> elements holding one <rect>,
 * one <title> (the hover text: name, category, duration, self time, tokens,
 * model, error) and a <text> label:
 *   #flame       the slowest kept trace as an icicle: x is time since the
 *                root began, y the depth; concurrent siblings overlap
 *   #timeline    the same trace as a waterfall: one row per span in
 *                pre-order, so concurrent spans are on rows of their own
 *   #flame-all   every trace merged by name path (width: total time)
 *   .timeline    the next few kept traces as waterfalls
 * The waterfalls draw the declared dependencies (ap_depends) as arrows from
 * the end of the span waited on to the start of the one that waited.
 * With memory sampled, html_memory.c draws the RSS of the slowest trace's
 * processes under its timeline, on its x axis, and a Memory panel of one
 * RSS chart per process over the run before the tables (a line says when
 * memory was not sampled); a span's hover gives its RSS change.
 * At most HTML_SPANS spans of a trace are drawn (the rest are counted under
 * the picture). Colours are by category. Without the script the page is
 * complete (labels are cut to fit in C); the script adds click-to-zoom on x
 * (double-click resets) and sets <body data-ready="1"> once it has run. The
 * sections of the text report follow as tables, then the text report whole.
 * Print: the pictures scale to the page width, sections do not split rows.
 *
 * Every name goes through ap_xml_esc: an '&' or '<' in a span name changes
 * neither the HTML nor the SVG as XML (the SVGs are well-formed XML on their
 * own, checked with xmllint).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "html.h"
#include "labels.h"
#include "render.h"
#include "report.h"

#define HTML_SPANS	2000u	/* spans drawn per picture */
#define HTML_MORE	4u	/* timelines of kept traces after the slowest */
#define CHART_W		AP_HTML_CHART_W
#define LABEL_W		AP_HTML_LABEL_W
#define ROW_H		18.0
#define CHAR_W		7.0	/* px per character of the 12 px labels, about */
#define AXIS_H		AP_HTML_AXIS_H
#define DUR_W		64.0	/* px of the timeline's duration column */

/* The inline style sheet and script: constants, hashed in the CSP below
 * (sha256 of the exact bytes between the tags, base64). */
static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff;"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}"
	"table{border-collapse:collapse;margin:.4em 0}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}"
	"td:first-child,th:first-child,td.l,th.l{text-align:left}th{background:#f4f4f4}"
	"svg{display:block;box-sizing:border-box;width:100%;height:auto;max-width:1500px;border:1px solid #ddd;"
	"margin:.4em 0}"
	"svg text{font:12px monospace;fill:#000;pointer-events:none}svg g{cursor:pointer}"
	"svg rect{stroke:#fff;stroke-width:.5}svg g:hover rect{stroke:#000}"
	".c0{fill:#9aa5b1}.c1{fill:#f28e2b}.c2{fill:#4e79a7}.c3{fill:#59a14f}.c4{fill:#bab0ac}.tr{fill-opacity:.55}"
	".legend span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;vertical-align:middle}"
	".l0{background:#9aa5b1}.l1{background:#f28e2b}.l2{background:#4e79a7}.l3{background:#59a14f}"
	"pre{font:12px monospace;background:#f8f8f8;padding:.6em;overflow-x:auto}"
	"svg line{stroke:#ddd;stroke-width:1}svg text.ax{font-size:10px;fill:#666}svg text.d{fill:#555}"
	"svg path.dep{fill:none;stroke:#b03a2e;stroke-width:1.2}svg path.ah{fill:#b03a2e}"
	".note{color:#666}"
	"svg.mem g,svg.memstrip g{cursor:default}svg line.mg{stroke:#eee}"
	"svg path.ma{fill:#4e79a7;fill-opacity:.22}svg path.ml{fill:none;stroke:#2f5f8f;stroke-width:1.5}"
	"svg rect.mh{fill:#000;fill-opacity:0;stroke:none}svg rect.mh:hover{fill-opacity:.12}"
	"svg rect.mb{fill:#f28e2b;stroke:none}svg circle.mp{fill:#b03a2e}"
	"svg text.sc{paint-order:stroke;stroke:#fff;stroke-width:3px}svg text.mt{font-weight:bold}svg text.warn{fill:#b03a2e}.warn{color:#b03a2e}"
	".memf{color:#b03a2e;margin:0 0 .8em}"
	"@media print{body{margin:0}svg{max-width:100%;page-break-inside:avoid}tr{page-break-inside:avoid}"
	"pre{white-space:pre-wrap}}";

static const char js[] =
	"(function(){"
	"function fit(n,w){var c=Math.floor((w-6)/7);if(c<2)return'';var a=Array.from(n);"
	"return a.length<=c?n:a.slice(0,c-1).join('')+'\\u2026';}"
	"function zoom(s,x0,w0){var L=+s.getAttribute('data-left'),W=+s.getAttribute('data-width'),"
	"gs=s.querySelectorAll('g[data-x]');for(var i=0;i<gs.length;i++){var g=gs[i],x=+g.getAttribute('data-x'),"
	"w=+g.getAttribute('data-w'),nx=(x-x0)*W/w0,nw=w*W/w0,r=g.querySelector('rect'),t=g.querySelector('text.f');"
	"if(nx+nw<0||nx>W){g.setAttribute('visibility','hidden');continue;}"
	"g.setAttribute('visibility','visible');if(nx<0){nw+=nx;nx=0;}if(nx+nw>W)nw=W-nx;if(nw<0.5)nw=0.5;"
	"r.setAttribute('x',(L+nx).toFixed(2));r.setAttribute('width',nw.toFixed(2));"
	"if(t){t.setAttribute('x',(L+nx+3).toFixed(2));t.textContent=fit(g.getAttribute('data-n'),nw);}}"
	"var ax=s.querySelectorAll('g.axis,g.deps');for(var j=0;j<ax.length;j++)"
	"ax[j].setAttribute('visibility',x0==0&&w0==W?'visible':'hidden');"
	"}"
	"var ss=document.querySelectorAll('svg[data-width]');"
	"for(var i=0;i<ss.length;i++)(function(s){var W=+s.getAttribute('data-width');"
	"s.addEventListener('click',function(e){var g=e.target.closest('g[data-x]');"
	"if(g)zoom(s,+g.getAttribute('data-x'),Math.max(+g.getAttribute('data-w'),1e-9*W));});"
	"s.addEventListener('dblclick',function(){zoom(s,0,W);});})(ss[i]);"
	"document.body.setAttribute('data-ready','1');"
	"})();";

/* sha256 of css and js, base64. tests/export/check.sh recomputes them from
 * the page, and the page's script does not run if the hash is stale. */
#define CSS_SHA256 "+KyuG8IN6P3lVZvgmTHYZ/mnH73CF/hiktWnTYQYRb0="
#define JS_SHA256 "4NGgJ8N49Zy/esRMZlpFYjzJNpnsjR9UYX7O3LoFlss="

static void esc(FILE *f, const char *s)
{
	ap_xml_esc(f, s);
}

/* s cut to fit w px of 7 px characters (code points), "…" when cut. */
static void label(FILE *f, const char *s, double w)
{
	long c = (long)((w - 6) / CHAR_W), n = 0;
	const unsigned char *p = (const unsigned char *)s;
	char buf[4 * AP_NAME_MAX + 8];
	size_t o = 0;

	if (c < 2)
		return;
	for (const unsigned char *q = p; *q; q++)
		n += (*q & 0xc0) != 0x80;
	if (n <= c) {
		esc(f, s);
		return;
	}
	for (long k = 0; *p && o + 4 < sizeof(buf);) {
		if ((*p & 0xc0) != 0x80 && ++k > c - 1)
			break;
		buf[o++] = (char)*p++;
	}
	buf[o] = 0;
	esc(f, buf);
	fputs("\xe2\x80\xa6", f);
}

static int cat_class(uint8_t c)
{
	return c < AP_CAT_COUNT ? c : AP_CAT_COUNT;
}

/* The hover text of a kept span. */
static void span_title(FILE *f, const struct ap_analysis *a, const struct ap_kept *k, uint32_t i)
{
	const struct ap_span *s = &k->v[i];
	char b[32];

	fputs("<title>", f);
	esc(f, ap_nm(a, s->name, b));
	fprintf(f, "\ncategory: %s\nduration: %.3f ms\nself: %.3f ms", ap_cat_name(s->category), ap_ms(k->dur[i]),
		ap_ms(k->self[i]));
	if (s->have & AP_SPAN_HAVE_TOKENS) {
		fprintf(f, "\ntokens: %" PRIu32 " in, %" PRIu32 " out\nmodel: ", s->input_tokens, s->output_tokens);
		esc(f, ap_nm(a, s->model, b));
	}
	fprintf(f, "\npid %" PRIu32 ", tid %" PRIu32, s->pid, s->tid_begin);
	if (s->have & AP_SPAN_HAVE_ERROR) {
		fputs("\nerror: ", f);
		esc(f, s->error ? ap_nm(a, s->error, b) : "error");
	}
	if (k->truncated[i])
		fputs("\nerror: truncated (the span never ended)", f);
	if (k->rss && k->rss[i] != AP_RSS_NONE)
		fprintf(f, "\nRSS change: %+" PRId64 " KiB (its process, inclusive)", k->rss[i]);
	fputs("</title>", f);
}

static void svg_open(FILE *f, const char *id, const char *cls, double left, double h)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\"%s%s%s viewBox=\"0 0 %.0f %.0f\" "
		"data-left=\"%.0f\" data-width=\"%.0f\" role=\"img\">\n", id, cls ? " class=\"" : "", cls ? cls : "",
		cls ? "\"" : "", left + CHART_W, h, left, CHART_W);
}

/* One span or path as a <g>: x, w in chart px (0..CHART_W), at row y. */
static void box(FILE *f, double left, double x, double w, double y, int cls, int trunc, const char *name,
		int label_in_box)
{
	double dw = w < 0.5 ? 0.5 : w;

	fprintf(f, "<g data-x=\"%.3f\" data-w=\"%.3f\" data-n=\"", x, w);
	esc(f, name);
	fprintf(f, "\"><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" class=\"c%d%s\"/>", left + x, y, dw,
		ROW_H - 1, cls, trunc ? " tr" : "");
	if (label_in_box) {
		fprintf(f, "<text class=\"f\" x=\"%.2f\" y=\"%.1f\">", left + x + 3, y + ROW_H - 5);
		label(f, name, dw);
		fputs("</text>", f);
	}
}

void ap_html_time_label(char *b, size_t cap, double ns)
{
	if (ns <= 0)
		snprintf(b, cap, "0");
	else if (ns >= 1e12)
		snprintf(b, cap, "%.0f s", ns / 1e9);	/* a long run's axis: not 1e+03 s */
	else if (ns >= 1e9)
		snprintf(b, cap, "%.3g s", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(b, cap, "%.3g ms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(b, cap, "%.3g us", ns / 1e3);
	else
		snprintf(b, cap, "%.0f ns", ns);
}

void ap_html_axis(FILE *f, double left, double total, double h)
{
	double step = 1, raw = total / 6;
	char b[32];

	while (step * 10 <= raw)
		step *= 10;
	step *= raw >= 5 * step ? 5 : raw >= 2 * step ? 2 : 1;
	fputs("<g class=\"axis\">", f);
	for (int k = 0; k < 50 && k * step <= total; k++) {
		double x = left + k * step / total * CHART_W;

		ap_html_time_label(b, sizeof(b), k * step);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text class=\"ax\" x=\"%.1f\" y=\"11\"%s>%s</text>",
			x, AXIS_H - 3, x, h, x + 2, x + 60 > left + CHART_W ? " text-anchor=\"end\"" : "", b);
	}
	fputs("</g>\n", f);
}

/* The declared dependencies (ap_depends) between drawn rows of a
 * waterfall: from the end of the span waited on to the start of the one
 * that waited, down or up to its row, with an arrowhead. Hidden by the
 * script while zoomed. order[0..m) are the rows. */
static void deps(FILE *f, const struct ap_analysis *a, const struct ap_kept *k, const uint32_t *order, uint32_t m,
		 double left, double total, uint64_t t0)
{
	uint32_t *row = malloc((k->n ? k->n : 1) * sizeof(*row)), drawn = 0;

	if (!row)
		return;
	for (uint32_t i = 0; i < k->n; i++)
		row[i] = AP_NONE;
	for (uint32_t q = 0; q < m; q++)
		row[order[q]] = q;
	fputs("<g class=\"deps\">", f);
	for (uint32_t q = 0; q < m && drawn < HTML_SPANS; q++) {
		uint32_t i = order[q];

		for (uint32_t e = k->dep_off[i]; e < k->dep_off[i + 1] && drawn < HTML_SPANS; e++) {
			uint32_t d = k->dep_idx[e];
			double x1, x2, y1, y2;

			if (d >= k->n || row[d] == AP_NONE)
				continue;
			x1 = left + (double)(ap_kept_start_ns(a, t0, &k->v[d]) + k->dur[d]) / total * CHART_W;
			x2 = left + (double)ap_kept_start_ns(a, t0, &k->v[i]) / total * CHART_W;
			if (x1 > left + CHART_W)
				x1 = left + CHART_W;
			if (x2 > left + CHART_W)
				x2 = left + CHART_W;
			y1 = AXIS_H + row[d] * ROW_H + ROW_H / 2;
			y2 = AXIS_H + q * ROW_H + (row[d] < q ? 1 : ROW_H - 1);
			fprintf(f, "<path class=\"dep\" d=\"M%.1f %.1fH%.1fV%.1f\"/><path class=\"ah\" d=\"M%.1f %.1fl-4 %.1fh8z\"/>",
				x1, y1, x2, y2, x2, y2, row[d] < q ? -7.0 : 7.0);
			drawn++;
		}
	}
	fputs("</g>\n", f);
	free(row);
}

/* A kept trace as an icicle (flame) or a waterfall (timeline). */
static void trace_svg(FILE *f, const struct ap_analysis *a, const struct ap_kept *k, const char *id,
		      const char *cls, int waterfall, uint32_t *order, uint32_t *depth)
{
	uint32_t m = ap_kept_preorder(k, order, depth, HTML_SPANS), maxd = 0;
	uint64_t t0 = k->v[k->root].t_begin;
	double total = k->dur[k->root] ? (double)k->dur[k->root] : 1, left = waterfall ? LABEL_W : 0, h;
	char b[32];

	for (uint32_t q = 0; q < m; q++)
		if (depth[q] > maxd)
			maxd = depth[q];
	h = AXIS_H + (waterfall ? m : maxd + 1) * ROW_H + 2;
	svg_open(f, id, cls, left, h);
	ap_html_axis(f, left, total, h);
	for (uint32_t q = 0; q < m; q++) {
		uint32_t i = order[q];
		const struct ap_span *s = &k->v[i];
		double x = (double)ap_kept_start_ns(a, t0, s) / total * CHART_W, w = (double)k->dur[i] / total * CHART_W;
		double y = AXIS_H + (waterfall ? q : depth[q]) * ROW_H + 1;
		const char *nm = ap_nm(a, s->name, b);

		if (x > CHART_W)
			x = CHART_W;
		if (x + w > CHART_W)
			w = CHART_W - x;
		/* faded: truncated, or failed (ap_set_error); the hover says which */
		box(f, left, x, w, y, cat_class(s->category), k->truncated[i] || (s->have & AP_SPAN_HAVE_ERROR), nm,
		    !waterfall);
		span_title(f, a, k, i);
		if (waterfall) {
			double indent = (depth[q] < 20 ? depth[q] : 20) * 8.0;
			char d[32];

			fprintf(f, "<text x=\"%.0f\" y=\"%.1f\">", 4 + indent, y + ROW_H - 5);
			label(f, nm, LABEL_W - DUR_W - 8 - indent);
			ap_html_time_label(d, sizeof(d), (double)k->dur[i]);
			fprintf(f, "</text><text class=\"d\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
				LABEL_W - 6, y + ROW_H - 5, d);
		}
		fputs("</g>\n", f);
	}
	if (waterfall && k->dep_off && k->dep_idx)
		deps(f, a, k, order, m, left, total, t0);
	fputs("</svg>\n", f);
	if (m < k->n)
		fprintf(f, "<p class=\"note\">%" PRIu32 " spans drawn; %" PRIu32 " more not drawn (trace.json has every "
			"span of the kept traces).</p>\n", m, k->n - m);
}

/* Every trace merged by name path: each path at its parent's x, siblings
 * side by side, width its total time over the sum of the roots'. */
static void paths_svg(FILE *f, const struct ap_analysis *a)
{
	uint32_t n = a->npaths, drawn = 0, maxd = 0;
	double *x = malloc((n ? n : 1) * sizeof(*x)), *next = malloc((n + 1) * sizeof(*next));
	uint32_t *d = malloc((n ? n : 1) * sizeof(*d));
	double sum = 0;
	char b[32];

	if (!x || !next || !d)
		goto out;
	for (uint32_t p = 0; p < n; p++) {
		uint32_t pp = a->paths[p].parent;

		d[p] = pp == AP_NONE || pp >= p ? 0 : d[pp] + 1;
		if (d[p] == 0)
			sum += (double)a->paths[p].total_ns;
		if (d[p] > maxd && p < HTML_SPANS)
			maxd = d[p];
	}
	if (sum <= 0)
		sum = 1;
	svg_open(f, "flame-all", NULL, 0, (maxd + 1) * ROW_H + 2);
	next[n] = 0;
	for (uint32_t p = 0; p < n && drawn < HTML_SPANS; p++) {
		const struct ap_path *ph = &a->paths[p];
		uint32_t pp = ph->parent == AP_NONE || ph->parent >= p ? n : ph->parent;
		double w = (double)ph->total_ns / sum * CHART_W;

		x[p] = next[pp];
		next[pp] += w;
		next[p] = x[p];
		if (x[p] > CHART_W)
			x[p] = CHART_W;
		if (x[p] + w > CHART_W)
			w = CHART_W - x[p];
		box(f, 0, x[p], w, d[p] * ROW_H + 1, cat_class(ph->category), 0, ap_nm(a, ph->name, b), 1);
		fputs("<title>", f);
		esc(f, ap_nm(a, ph->name, b));
		fprintf(f, "\ncategory: %s\ncalls: %" PRIu64 "\ntotal: %.3f ms\nself: %.3f ms", ap_cat_name(ph->category),
			ph->count, ap_ms(ph->total_ns), ap_ms(ph->self_ns));
		if (ph->tokens)
			fprintf(f, "\ntokens: %" PRIu64, ph->tokens);
		fputs("</title></g>\n", f);
		drawn++;
	}
	fputs("</svg>\n", f);
	if (drawn < n || a->paths_over_cap)
		fprintf(f, "<p class=\"note\">%" PRIu32 " paths drawn of %" PRIu32 "; %" PRIu64 " spans found no path "
			"(table full).</p>\n", drawn, n, a->paths_over_cap);
out:
	free(x);
	free(next);
	free(d);
}

static int by_self_desc(const void *x, const void *y)
{
	const struct ap_op *a = *(const struct ap_op *const *)x, *b = *(const struct ap_op *const *)y;

	return (a->self_ns < b->self_ns) - (a->self_ns > b->self_ns);
}

static void tables(FILE *f, const struct ap_analysis *a)
{
	const struct ap_op **sorted = malloc((a->nops ? a->nops : 1) * sizeof(*sorted));
	char b[32];

	fputs("<h2 id=\"categories\">Time by category (self time)</h2>\n<table><tr><th>category</th><th>self ms</th>"
	      "<th>% of all self time</th></tr>\n", f);
	for (uint8_t c = 0; c < AP_CAT_COUNT; c++)
		fprintf(f, "<tr><td><span class=\"legend\"><span class=\"l%d\"></span></span>%s</td><td>%.1f</td>"
			"<td>%.1f</td></tr>\n", c, ap_cat_name(c), ap_ms(a->cat_self[c]),
			ap_pct(a->cat_self[c], a->total_self_ns));
	fputs("</table>\n", f);

	fputs("<h2 id=\"operations\">Operations by self time</h2>\n<p class=\"note\">Percentiles: " AP_PCTL_DEFINITION
	      ".</p>\n<table><tr><th>name</th><th>category</th>"
	      "<th>count</th><th>self ms</th><th>% of all self time</th><th>total ms</th><th>mean</th><th>p50</th>"
	      "<th>p95</th><th>p99</th><th>max</th></tr>\n", f);
	for (uint32_t i = 0; sorted && i < a->nops; i++)
		sorted[i] = &a->ops[i];
	if (sorted)
		qsort(sorted, a->nops, sizeof(*sorted), by_self_desc);
	for (uint32_t i = 0; sorted && i < a->nops && i < 50; i++) {
		const struct ap_op *op = sorted[i];

		fputs("<tr><td>", f);
		esc(f, ap_nm(a, op->name, b));
		fprintf(f, "</td><td>%s</td><td>%" PRIu64 "</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td>"
			"<td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td></tr>\n", ap_cat_name(op->category),
			op->count, ap_ms(op->self_ns), ap_pct(op->self_ns, a->total_self_ns), ap_ms(op->total_ns),
			op->count ? ap_ms(op->total_ns) / (double)op->count : 0,
			ap_ms(ap_hist_quantile(&op->hist, 0.5)), ap_ms(ap_hist_quantile(&op->hist, 0.95)),
			ap_ms(ap_hist_quantile(&op->hist, 0.99)), ap_ms(op->hist.max));
	}
	fputs("</table>\n", f);
	if (a->nops > 50)
		fprintf(f, "<p class=\"note\">%" PRIu32 " more operations in report.json.</p>\n", a->nops - 50);
	free(sorted);

	fputs("<h2 id=\"bottlenecks\">Bottlenecks and suggestions</h2>\n", f);
	{
		const struct ap_op *top[AP_TOP_SELF];
		uint32_t n = ap_top_self(a, top, AP_TOP_SELF);

		fputs("<table><tr><th>top by self time</th><th>category</th><th>self ms</th><th>% of all self time</th>"
		      "<th class=\"l\">suggestion</th></tr>\n", f);
		for (uint32_t i = 0; i < n; i++) {
			fprintf(f, "<tr><td>%u. ", i + 1);
			esc(f, ap_nm(a, top[i]->name, b));
			fprintf(f, "</td><td>%s</td><td>%.1f</td><td>%.1f</td><td class=\"l\">%s</td></tr>\n",
				ap_cat_name(top[i]->category), ap_ms(top[i]->self_ns),
				ap_pct(top[i]->self_ns, a->total_self_ns), ap_cat_suggestion(top[i]->category));
		}
		fputs("</table>\n", f);
	}
	if (!a->nfindings)
		fputs("<p>Rules: none over the thresholds.</p>\n", f);
	else
		fputs("<table><tr><th>rule</th><th class=\"l\">finding</th><th class=\"l\">suggestion</th><th>saving ms per trace</th></tr>\n", f);
	for (uint32_t i = 0; i < a->nfindings; i++) {
		fprintf(f, "<tr><td>%s</td><td class=\"l\">", a->findings[i].rule);
		esc(f, a->findings[i].message);
		fputs("</td><td class=\"l\">", f);
		esc(f, a->findings[i].suggestion);
		fprintf(f, "</td><td>%.1f</td></tr>\n", a->findings[i].saving_ms);
	}
	if (a->nfindings)
		fputs("</table>\n", f);

	fputs("<h2 id=\"tokens\">Tokens</h2>\n<table><tr><th>model</th><th>calls</th><th>input</th><th>output</th>"
	      "<th>total</th><th>window</th><th>mean context</th></tr>\n", f);
	for (uint32_t i = 0; i < a->nmodels_used; i++) {
		const struct ap_model_use *m = &a->models_used[i];

		fputs("<tr><td>", f);
		esc(f, ap_nm(a, m->model, b));
		fprintf(f, "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td>", m->calls,
			m->input, m->output, m->input + m->output);
		if (m->window)
			fprintf(f, "<td>%" PRIu64 "</td><td>%.1f%%</td></tr>\n", m->window,
				100.0 * (double)m->input / (double)m->calls / (double)m->window);
		else
			fputs("<td>unknown</td><td>-</td></tr>\n", f);
	}
	fprintf(f, "<tr><th>total</th><th>%" PRIu64 "</th><th>%" PRIu64 "</th><th>%" PRIu64 "</th><th>%" PRIu64
		"</th><th></th><th></th></tr>\n</table>\n", a->llm_calls, a->total_input, a->total_output,
		a->total_input + a->total_output);

	fputs("<h2 id=\"threads\">Processes and threads</h2>\n<table><tr><th>pid</th><th>tid</th><th>spans</th>"
	      "<th>busy ms</th></tr>\n", f);
	for (uint32_t i = 0; i < a->nthreads && i < 64; i++)
		fprintf(f, "<tr><td>%" PRIu32 "</td><td>%" PRIu32 "</td><td>%" PRIu64 "</td><td>%.1f</td></tr>\n",
			a->threads[i].pid, a->threads[i].tid, a->threads[i].spans, ap_ms(a->threads[i].busy_ns));
	fputs("</table>\n", f);
	if (a->nthreads > 64)
		fprintf(f, "<p class=\"note\">%" PRIu32 " more threads in report.json.</p>\n", a->nthreads - 64);
}

/* The text report, whole, escaped: overhead, loss and every section. */
static void text_report(FILE *f, const struct ap_run *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	ap_render_text(r, m, 0);
	if (fclose(m) == 0 && buf) {
		fputs("<h2 id=\"text\">The text report</h2>\n<pre>", f);
		esc(f, buf);
		fputs("</pre>\n", f);
	}
	free(buf);
}

int ap_render_html(const struct ap_run *r, FILE *f)
{
	const struct ap_analysis *a = r->analysis;
	uint32_t most = 1, *order, *depth;
	const char *label_ = r->label ? r->label : "agentprof";
	char b[32];

	if (!a)
		return -EINVAL;
	for (uint32_t t = 0; t < a->nkept && t <= HTML_MORE; t++)
		if (ap_analysis_kept(a, t)->n > most)
			most = ap_analysis_kept(a, t)->n;
	order = malloc(most * sizeof(*order));
	depth = malloc(most * sizeof(*depth));
	if (!order || !depth) {
		free(order);
		free(depth);
		return -ENOMEM;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-" CSS_SHA256
	      "'; script-src 'sha256-" JS_SHA256 "'\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>",
	      f);
	fputs("agentprof: ", f);
	esc(f, label_);
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body data-ready=\"0\">\n<h1>agentprof %s: ", css,
		r->interval ? "interval report" : "report");
	esc(f, label_);
	fprintf(f, "</h1>\n<p>%" PRIu64 " traces (%" PRIu64 " complete), %" PRIu64 " spans, %" PRIu32 " processes, "
		"%.2f s. %" PRIu32 " traces kept whole of %" PRIu64 " recorded; every figure covers all of them.</p>\n",
		a->traces, a->traces_complete, a->spans_in_trees, r->nprocs, (double)r->duration_ns / 1e9, a->nkept,
		a->traces_recorded);
	fputs("<p class=\"legend\">Categories:<span class=\"l0\"></span>internal<span class=\"l1\"></span>llm"
	      "<span class=\"l2\"></span>tool<span class=\"l3\"></span>memory &#8212; hover a box for its figures, "
	      "click to zoom, double-click to reset.</p>\n", f);
	ap_html_memory_summary(f, r);
	if (a->nkept) {
		const struct ap_kept *k = ap_analysis_kept(a, 0);

		fputs("<h2 id=\"slowest\">Flame graph: the slowest trace, ", f);
		esc(f, ap_nm(a, k->v[k->root].name, b));
		fprintf(f, ", %.1f ms</h2>\n", ap_ms(k->dur[k->root]));
		trace_svg(f, a, k, "flame", NULL, 0, order, depth);
		fputs("<h2 id=\"waterfall\">Timeline: the slowest trace, one row per span</h2>\n", f);
		trace_svg(f, a, k, "timeline", "timeline", 1, order, depth);
		ap_html_memory_strips(f, r, k);
	} else {
		fputs("<p>No trace was kept whole: no flame graph or timeline of a trace.</p>\n", f);
	}
	fputs("<h2 id=\"merged\">Flame graph: all traces merged by name path</h2>\n", f);
	paths_svg(f, a);
	for (uint32_t t = 1; t < a->nkept && t <= HTML_MORE; t++) {
		const struct ap_kept *k = ap_analysis_kept(a, t);
		char id[32];

		snprintf(id, sizeof(id), "timeline-%u", t + 1);
		fprintf(f, "<h2>Timeline: kept trace %u, ", t + 1);
		esc(f, ap_nm(a, k->v[k->root].name, b));
		fprintf(f, ", %.1f ms (kept: %s)</h2>\n", ap_ms(k->dur[k->root]), ap_keep_rule_name(k->rule));
		trace_svg(f, a, k, id, "timeline", 1, order, depth);
	}
	ap_html_memory_panel(f, r);
	tables(f, a);
	text_report(f, r);
	fprintf(f, "<script>%s</script>\n</body>\n</html>\n", js);
	free(order);
	free(depth);
	return ferror(f) ? -EIO : 0;
}
