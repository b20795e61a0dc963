/* SPDX-License-Identifier: MIT */
/*
 * emit.c - a run's final reports: every format rendered into memory and
 * written through the dumper (tmp, fsync, rename, directory fsync: the same
 * atomic replacement as the periodic dumps), waited for, and then the text
 * report, report.json or the summary on stdout. Shared by the live session
 * and `agentprof report`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "render.h"
#include "session.h"

struct render_ctx {
	const struct ap_format *fmt;
	const struct ap_run *r;
};

static int fill(FILE *f, void *ctx)
{
	const struct render_ctx *c = ctx;

	return c->fmt->render(c->r, f);
}

char *ap_render_format(const struct ap_format *fmt, const struct ap_run *r, size_t *len, int *err)
{
	struct render_ctx c = { fmt, r };

	return ap_render_mem(fill, &c, len, err);
}

static int print_json(const struct ap_run *r)
{
	int ret = ap_render_json(r, stdout);

	fflush(stdout);
	return ret;
}

/* Where report.html is, and how to look at it. */
static void print_html_hint(const char *dir)
{
	char *abs = realpath(dir, NULL);

	printf("  html       %s/report.html  (open it in a browser: xdg-open %s/report.html)\n", dir,
	       abs ? abs : dir);
	free(abs);
	fflush(stdout);
}

int ap_emit_reports(struct ap_dump *d, const struct ap_run *r, const struct ap_run_opts *o, int code)
{
	unsigned n;
	const struct ap_format *fmt = ap_formats(&n);
	int failed = 0, json_failed = 0;

	if (!r->analysis)
		fprintf(stderr, "agentprof: out of memory building the analysis; report.json has counts only\n");
	ap_dump_wait(d);	/* a periodic dump of the same file still in flight */
	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;
		int err = 0;
		char *buf;

		if (!(o->formats >> i & 1))
			continue;	/* not asked for (--formats) */
		if (!r->analysis && strcmp(fmt[i].name, "json") != 0)
			continue;	/* without an analysis there are only counts */
		buf = ap_render_format(&fmt[i], r, &len, &err);
		if (buf)
			err = ap_dump_submit(d, i, fmt[i].file, buf, len);
		if (!err) {
			ap_dump_wait(d);
			err = d->f[i].result;
		}
		if (err) {
			fprintf(stderr, "agentprof: cannot write %s/%s: %s\n", o->out_dir, fmt[i].file, strerror(-err));
			failed = 1;
			json_failed |= strcmp(fmt[i].name, "json") == 0;
		}
	}
	if (failed)
		code = AP_EXIT_INTERNAL;
	if (json_failed || code == AP_EXIT_INTERNAL) {
		if (!o->quiet && !o->json_stdout)
			ap_render_summary(r, code, NULL, stdout);
	} else if (o->json_stdout) {
		print_json(r);
	} else if (!o->quiet) {
		const struct ap_format *json = ap_format_find("json"), *html = ap_format_find("html");
		char path[4200];

		if (json && (o->formats >> (json - fmt) & 1))
			snprintf(path, sizeof(path), "%s/report.json", o->out_dir);
		else
			snprintf(path, sizeof(path), "%s/", o->out_dir);
		if (r->analysis) {
			ap_render_text(r, stdout, isatty(1) && !getenv("NO_COLOR"));
			putchar('\n');
		}
		ap_render_summary(r, code, path, stdout);
		if (r->analysis && html && (o->formats >> (html - fmt) & 1))
			print_html_hint(o->out_dir);
	}
	return code;
}
