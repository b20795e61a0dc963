/* SPDX-License-Identifier: MIT */
/*
 * report.c - `agentprof report LOGFILE`: the report of an event log,
 * written and printed as record would. Exit 0; 1 when the log was damaged
 * or cut short (the report covers its intact blocks); 2 when FILE is not a
 * log that can be read; 125 when agentprof itself failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "file.h"
#include "render.h"
#include "replay.h"

int ap_cmd_replay(const char *file, const struct ap_settings *set, const struct ap_keep_cfg *keep,
		  struct ap_replay **out, int *damaged)
{
	struct ap_replay *rp;
	struct stat st;
	const char *why;
	uint8_t *buf;
	int fd, ret;

	*out = NULL;
	*damaged = 0;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "agentprof: cannot read %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return AP_EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		fprintf(stderr, "agentprof: %s: %s\n", file, S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
		close(fd);
		return AP_EXIT_USAGE;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "agentprof: cannot map %s: %s\n", file, strerror(errno));
		return AP_EXIT_USAGE;
	}
	if (buf[0] == '{') {
		fprintf(stderr, "agentprof: %s is not an agentprof event log but, by the look of it, a report.json: "
			"this reads the event log of a run (record, demo or serve with --log FILE)\n", file);
		munmap(buf, (size_t)st.st_size);
		return AP_EXIT_USAGE;
	}
	rp = calloc(1, sizeof(*rp));
	if (!rp) {
		fprintf(stderr, "agentprof: out of memory replaying %s\n", file);
		munmap(buf, (size_t)st.st_size);
		return AP_EXIT_INTERNAL;
	}
	ret = ap_replay_open_keep(rp, set, keep, buf, (size_t)st.st_size, &why);
	munmap(buf, (size_t)st.st_size);
	if (ret) {
		if (ret == -EINVAL)
			fprintf(stderr, "agentprof: %s: %s\n", file, why);
		else
			fprintf(stderr, "agentprof: out of memory replaying %s\n", file);
		ap_replay_close(rp);
		free(rp);
		return ret == -EINVAL ? AP_EXIT_USAGE : AP_EXIT_INTERNAL;
	}
	if (!rp->complete || rp->scan.bytes_skipped || rp->scan.blocks_missing || rp->scan.records_bad ||
	    rp->scan.blocks_unchecked) {
		fprintf(stderr, "agentprof: %s is %s: %" PRIu64 " bytes skipped, %" PRIu64 " blocks damaged, %" PRIu64
			" blocks missing; the trees cover the %" PRIu64 " intact blocks (%" PRIu64 " events), the counts "
			"are %s\n", file,
			rp->complete ? "damaged" : "incomplete (no totals block: cut short or still being written)",
			rp->scan.bytes_skipped, rp->scan.blocks_damaged, rp->scan.blocks_missing, rp->scan.blocks,
			rp->events, rp->complete ? "the whole run's, from its totals block" : "of the intact blocks");
		*damaged = 1;
	}
	if (rp->seg.settings_rejected) {
		fprintf(stderr, "agentprof: %s: some of its settings are out of range; the defaults are used for "
			"them (log.settings_rejected)\n", file);
		*damaged = 1;
	}
	*out = rp;
	return 0;
}

void ap_cmd_replay_free(struct ap_replay *rp)
{
	if (rp)
		ap_replay_close(rp);
	free(rp);
}

static int report_log(const struct ap_run_opts *o, const char *file)
{
	struct ap_replay *rp;
	struct ap_aio aio;
	struct ap_dump dump;
	struct ap_run run;
	struct ap_run_opts ro = *o;
	int ret, code = 0;

	ret = ap_cmd_replay(file, &o->set, NULL, &rp, &code);
	if (ret)
		return ret;
	ret = ap_mkdir_p(o->out_dir);
	if (!ret)
		ret = ap_dir_writable(o->out_dir);
	if (ret) {
		fprintf(stderr, "agentprof: cannot write reports into %s: %s\n", o->out_dir, strerror(-ret));
		ap_cmd_replay_free(rp);
		return AP_EXIT_INTERNAL;
	}
	ret = ap_aio_init(&aio, AP_REPORT_SLOTS, 0);
	if (!ret && (ret = ap_dump_init(&dump, &aio, o->out_dir)))
		ap_aio_close(&aio);
	if (ret) {
		fprintf(stderr, "agentprof: cannot write reports into %s: %s\n", o->out_dir, strerror(-ret));
		ap_cmd_replay_free(rp);
		return AP_EXIT_INTERNAL;
	}
	ro.log_path = file;
	ro.label = file;
	ap_replay_run(rp, file, &run);
	code = ap_emit_reports(&dump, &run, &ro, code);
	ap_dump_close(&dump);
	ap_aio_close(&aio);
	ap_cmd_replay_free(rp);
	return code;
}

int ap_cmd_report(int argc, char **argv)
{
	struct ap_cli c;
	const char *file = NULL;

	ap_cli_default(&c);
	for (int i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc && argv[i + 1][0])
			c.run.out_dir = argv[++i];
		else if (strcmp(argv[i], "--formats") == 0) {
			const char *bad;

			if (ap_formats_parse(i + 1 < argc ? argv[i + 1] : NULL, &c.run.formats, &bad))
				return ap_usage_error("--formats takes a comma-separated list of text, json, html, chrome, "
						      "speedscope, folded, pprof, or all (got '%s')",
						      i + 1 < argc ? argv[i + 1] : "");
			i++;
		} else if (strcmp(argv[i], "--json") == 0)
			c.run.json_stdout = 1;
		else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			c.run.quiet = 1;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(ap_usage_text, stdout);
			return 0;
		} else if (argv[i][0] == '-' || file)
			return ap_usage_error("report takes -o DIR, --formats LIST, --json, -q and one log file (got '%s')", argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return ap_usage_error("%s", "report needs a log file: agentprof report FILE");
	return report_log(&c.run, file);
}
