/* SPDX-License-Identifier: MIT */
/*
 * export.c - `agentprof export --format FORMAT [-o FILE] [--all] LOGFILE`:
 * one file of a log's run, in any format of the report table (render.h),
 * for a viewer: html, chrome (Perfetto, DevTools), speedscope, folded,
 * pprof, otlp (OTLP/JSON Lines), and text or json.
 *
 * The log is replayed as `agentprof report` replays it. With --all the
 * traces kept whole are every trace of the log (up to 1,048,576 traces and
 * 67,108,864 spans, each trace at most AP_KEPT_SPANS_MAX spans) instead of
 * the ones the run's retention chose; the aggregates are the same either
 * way. The file is written through the same atomic replacement as reports
 * (FILE.tmp, fsync, rename): an export never leaves half a file. "-o -"
 * writes to stdout.
 *
 * A report.json as the source is not supported: it holds the kept trees
 * but not the flame paths that folded and pprof sample, nor the clock
 * ticks trace.json converts; export from the run's --log.
 *
 * Exit 0; 1 when the log was damaged or cut short (the file covers its
 * intact blocks); 2 for a usage error or a file that is not a log; 125 when
 * the file could not be written.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "file.h"
#include "render.h"
#include "replay.h"

/* Write buf to path through the dumper: FILE.tmp, fsync, rename. */
static int write_atomic(const char *path, char *buf, size_t len)
{
	char *d = strdup(path), *b = strdup(path);
	struct ap_aio aio;
	struct ap_dump dump;
	int ret;

	if (!d || !b) {
		free(d);
		free(b);
		free(buf);
		return -ENOMEM;
	}
	ret = ap_aio_init(&aio, 1, 0);
	if (!ret && (ret = ap_dump_init(&dump, &aio, dirname(d))))
		ap_aio_close(&aio);
	if (ret) {
		free(buf);
	} else {
		ret = ap_dump_submit(&dump, 0, basename(b), buf, len);
		ap_dump_wait(&dump);
		if (!ret)
			ret = dump.f[0].result;
		ap_dump_close(&dump);
		ap_aio_close(&aio);
	}
	free(d);
	free(b);
	return ret;
}

int ap_cmd_export(int argc, char **argv)
{
	const struct ap_format *fmt = NULL;
	const char *file = NULL, *out = NULL;
	struct ap_settings set;
	struct ap_keep_cfg all;
	struct ap_replay *rp;
	struct ap_run run;
	int want_all = 0, ret, code = 0;
	char *buf;
	size_t len = 0;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(ap_usage_text, stdout);
			return 0;
		} else if (strcmp(a, "--format") == 0) {
			if (!val || !(fmt = ap_format_find(val)))
				return ap_usage_error("--format takes html, chrome, speedscope, folded, pprof, otlp, text or json "
						      "(got '%s')", val ? val : "");
			i++;
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
			if (!val || !*val)
				return ap_usage_error("%s needs a file name ('-' for stdout)", a);
			out = val;
			i++;
		} else if (strcmp(a, "--all") == 0) {
			want_all = 1;
		} else if (a[0] == '-' || file) {
			return ap_usage_error("export takes --format FORMAT, -o FILE, --all and one log file (got '%s')", a);
		} else {
			file = a;
		}
	}
	if (!fmt)
		return ap_usage_error("%s", "export needs --format: html, chrome, speedscope, folded, pprof, otlp, text or json");
	if (!file)
		return ap_usage_error("%s", "export needs a log file (written by --log): agentprof export --format F FILE");
	if (!out)
		out = fmt->file;

	ap_settings_default(&set);
	all = set.keep;
	all.max_traces = 1u << 20;
	all.max_per_root = UINT32_MAX;
	all.max_spans = 1ull << 26;
	ret = ap_cmd_replay(file, &set, want_all ? &all : NULL, &rp, &code);
	if (ret)
		return ret;
	ap_replay_run(rp, file, &run);
	run.label = file;
	if (!run.analysis) {
		fprintf(stderr, "agentprof: out of memory building the analysis of %s\n", file);
		ap_cmd_replay_free(rp);
		return AP_EXIT_INTERNAL;
	}
	buf = ap_render_format(fmt, &run, &len, &ret);
	if (buf && strcmp(out, "-") == 0) {
		ret = fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -EIO;
		free(buf);
	} else if (buf) {
		ret = write_atomic(out, buf, len);
	}
	if (ret) {
		fprintf(stderr, "agentprof: cannot write %s: %s\n", out, strerror(-ret));
		code = AP_EXIT_INTERNAL;
	} else if (want_all && run.analysis->nkept < run.analysis->traces_recorded) {
		fprintf(stderr, "agentprof: --all: %" PRIu32 " of %" PRIu64 " traces kept whole (the others are over "
			"the caps); every trace is in the aggregates\n", run.analysis->nkept,
			run.analysis->traces_recorded);
	}
	ap_cmd_replay_free(rp);
	return code;
}
