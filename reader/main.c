/* SPDX-License-Identifier: MIT */
/*
 * main.c - the agentprof command line.
 *
 *   agentprof record [options] -- CMD [ARGS...]
 *   agentprof demo [--workers N] [--traces M] [--seed S] [options]
 *   agentprof serve --segment NAME [--interval SECONDS] [options]
 *
 * Exit status: record returns CMD's (128 + signal when it was killed, 126 or
 * 127 when it could not be run); 2 for a usage error; 125 when agentprof
 * itself failed (segment, output directory, report).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "demo.h"
#include "diff.h"
#include "segment.h"
#include "session.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: agentprof record [options] -- CMD [ARGS...]\n"
	"       agentprof demo [--workers N] [--traces M] [--seed S] [options]\n"
	"       agentprof serve --segment NAME [--interval SECONDS] [options]\n"
	"       agentprof report [-o DIR] [--json] [-q] LOGFILE\n"
	"       agentprof diff [--threshold-pct P] [--min-ms M] [--json] BASE NEW\n"
	"\n"
	"record runs CMD with AGENTPROF_SHM set, drains the spans of CMD and of every\n"
	"process it starts, writes DIR/report.json and prints a summary. It exits with\n"
	"CMD's status. serve creates the segment NAME (or takes it over from a reader\n"
	"that died) for workers started separately with AGENTPROF_SHM=NAME, and\n"
	"drains it until SIGINT or SIGTERM, when it writes the final report and\n"
	"removes the segment; it exits 2 when a live reader owns NAME. report rebuilds the report from a --log file (the run's\n"
	"settings come from the log); it exits 1 when the log was damaged or cut short\n"
	"(the report then covers its intact blocks) and 2 when it is not a log.\n"
	"diff compares two runs (report.json files or logs) per operation and\n"
	"category: an operation regressed when its P95 rose by P% (10) and M ms (5);\n"
	"it exits 0 when nothing regressed, 1 when something did, 2 on error.\n"
	"\n"
	"options:\n"
	"  -o, --out DIR        report directory (default ./agentprof-out)\n"
	"      --lanes N        lanes in the segment, one per writer thread (default 256)\n"
	"      --lane-events N  events per lane, a power of two (default 4096)\n"
	"      --max-spans N    spans of traces in flight kept in memory (default 262144);\n"
	"                       complete traces are analysed and freed\n"
	"      --max-traces N   traces kept whole for the report (default 100; all traces\n"
	"                       are in the aggregates); kept by rule, within the caps:\n"
	"      --max-per-root N   at most N of one root name (default 20)\n"
	"      --keep-slowest N   the N slowest of each root name (default 5)\n"
	"      --keep-tokens N    traces using N tokens or more (default 100000, 0: off)\n"
	"      --max-kept-spans N at most N spans over the kept traces (default 262144)\n"
	"                       with traces with truncated spans first and a uniform\n"
	"                       sample of the rest\n"
	"      --models FILE    model context windows, lines of \"NAME TOKENS\" (adds to and\n"
	"                       overrides gpt-4o, gpt-4o-mini, claude-sonnet-4-20250514,\n"
	"                       claude-haiku-3-5)\n"
	"      --rule NAME=V    bottleneck threshold: llm_self_pct (80), tool_pct (30),\n"
	"                       llm_chain (2), slow_tool_ms (500), context_pct (50)\n"
	"      --log FILE       also append every drained event to FILE (a new file),\n"
	"                       for `agentprof report FILE` later\n"
	"      --interval S     every S seconds (0.01 to 86400), replace DIR/report.json and\n"
	"                       report.txt (the run so far) and DIR/interval.json and\n"
	"                       interval.txt (traces completed since the last dump); the\n"
	"                       files are written through io_uring and never waited for\n"
	"      --segment NAME   serve: the segment, as workers name it in AGENTPROF_SHM\n"
	"                       (\"/\" then letters, digits, '.', '_', '-')\n"
	"      --json           print report.json instead of the text report\n"
	"  -q, --quiet          print nothing on success\n"
	"  -h, --help           this text\n"
	"      --version        version\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentprof: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

/* Strict unsigned parse within [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* NAME=VALUE into the rule thresholds; 0 or -1. */
static int set_rule(struct ap_rules *r, const char *s)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	char *end;
	double v;

	if (!eq || !eq[1])
		return -1;
	v = strtod(eq + 1, &end);
	if (*end || v < 0 || v != v)
		return -1;
#define RULE(n) (strncmp(s, #n, (size_t)(eq - s)) == 0 && strlen(#n) == (size_t)(eq - s))
	if (RULE(llm_self_pct))
		r->llm_self_pct = v;
	else if (RULE(tool_pct))
		r->tool_pct = v;
	else if (RULE(llm_chain) && v >= 1 && v == (double)(uint32_t)v)
		r->llm_chain = (uint32_t)v;
	else if (RULE(slow_tool_ms))
		r->slow_tool_ms = v;
	else if (RULE(context_pct))
		r->context_pct = v;
	else
		return -1;
#undef RULE
	return 0;
}

struct cli {
	struct ap_run_opts run;
	struct ap_demo_opts demo;
	char **cmd;
};

/* Parse options shared by the subcommands and those of `demo`. Returns the
 * index of the first argument after the options, or -1 after a usage error
 * (already printed; *ret set). */
enum { MODE_RECORD, MODE_DEMO, MODE_SERVE };

static int parse_opts(int argc, char **argv, int mode, struct cli *c, int *ret)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
		uint64_t v;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			*ret = 0;
			return -1;
		}
		if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
			if (!val || !*val) {
				*ret = usage_error("%s needs a directory", a);
				return -1;
			}
			c->run.out_dir = val;
			i++;
		} else if (strcmp(a, "--lanes") == 0) {
			if (parse_u64(val, AP_LANES_MIN, AP_LANES_MAX, &v)) {
				*ret = usage_error("--lanes takes a number from 1 to 4096 (got '%s')", val ? val : "");
				return -1;
			}
			c->run.seg.lanes = (uint32_t)v;
			i++;
		} else if (strcmp(a, "--lane-events") == 0) {
			if (parse_u64(val, AP_LANE_EVENTS_MIN, AP_LANE_EVENTS_MAX, &v) || (v & (v - 1))) {
				*ret = usage_error("--lane-events takes a power of two from 8 to 16777216 (got '%s')",
						   val ? val : "");
				return -1;
			}
			c->run.seg.lane_events = (uint32_t)v;
			i++;
		} else if (strcmp(a, "--max-spans") == 0) {
			if (parse_u64(val, 1, UINT32_MAX / 2, &v)) {
				*ret = usage_error("--max-spans takes a positive number (got '%s')", val ? val : "");
				return -1;
			}
			c->run.max_spans = (uint32_t)v;
			i++;
		} else if (strcmp(a, "--max-traces") == 0 || strcmp(a, "--max-per-root") == 0 ||
			   strcmp(a, "--keep-slowest") == 0 || strcmp(a, "--keep-tokens") == 0 ||
			   strcmp(a, "--max-kept-spans") == 0) {
			struct ap_keep_cfg *k = &c->run.keep;
			int per_root = strcmp(a, "--max-per-root") == 0;
			uint64_t hi = strcmp(a, "--max-traces") == 0 ? (1u << 20) :
				      strcmp(a, "--keep-tokens") == 0 ? UINT64_MAX / 2 : UINT32_MAX;

			if (parse_u64(val, per_root ? 1 : 0, hi, &v)) {
				*ret = usage_error("%s takes a number from %d to %llu (got '%s')", a, per_root,
						   (unsigned long long)hi, val ? val : "");
				return -1;
			}
			if (strcmp(a, "--max-traces") == 0)
				k->max_traces = (uint32_t)v;
			else if (per_root)
				k->max_per_root = (uint32_t)v;
			else if (strcmp(a, "--keep-slowest") == 0)
				k->slowest = (uint32_t)v;
			else if (strcmp(a, "--keep-tokens") == 0)
				k->token_threshold = v;
			else
				k->max_spans = v;
			i++;
		} else if (strcmp(a, "--models") == 0) {
			int line, got;

			if (!val) {
				*ret = usage_error("%s", "--models needs a file");
				return -1;
			}
			got = ap_models_load(val, c->run.models, &c->run.nmodels,
					     sizeof(c->run.models) / sizeof(c->run.models[0]), &line);
			if (got < 0) {
				if (got == -EINVAL)
					fprintf(stderr, "agentprof: %s:%d: want \"MODEL_NAME CONTEXT_TOKENS\"\n", val, line);
				else
					fprintf(stderr, "agentprof: cannot read models from %s: %s\n", val,
						got == -ENOSPC ? "more than 64 models" : strerror(-got));
				*ret = EXIT_USAGE;
				return -1;
			}
			i++;
		} else if (strcmp(a, "--rule") == 0) {
			if (set_rule(&c->run.rules, val)) {
				*ret = usage_error("--rule takes NAME=VALUE with NAME one of llm_self_pct, tool_pct, "
						   "llm_chain, slow_tool_ms, context_pct (got '%s')", val ? val : "");
				return -1;
			}
			i++;
		} else if (strcmp(a, "--log") == 0) {
			if (!val || !*val) {
				*ret = usage_error("%s", "--log needs a file name");
				return -1;
			}
			c->run.log_path = val;
			i++;
		} else if (strcmp(a, "--interval") == 0) {
			char *end = NULL;
			double secs = val ? strtod(val, &end) : -1;

			if (!val || !end || *end || end == val || !(secs >= 0.01 && secs <= 86400)) {
				*ret = usage_error("--interval takes seconds from 0.01 to 86400 (got '%s')", val ? val : "");
				return -1;
			}
			c->run.interval_ns = (uint64_t)(secs * 1e9);
			i++;
		} else if (mode == MODE_SERVE && strcmp(a, "--segment") == 0) {
			if (ap_seg_name_check(val)) {
				*ret = usage_error("--segment takes a name as in AGENTPROF_SHM: \"/\" then 1 to 199 of "
						   "letters, digits, '.', '_', '-' (got '%s')", val ? val : "");
				return -1;
			}
			c->run.segment_name = val;
			i++;
		} else if (strcmp(a, "--json") == 0) {
			c->run.json_stdout = 1;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			c->run.quiet = 1;
		} else if (mode == MODE_DEMO && strcmp(a, "--workers") == 0) {
			if (parse_u64(val, 1, 1024, &v)) {
				*ret = usage_error("--workers takes a number from 1 to 1024 (got '%s')", val ? val : "");
				return -1;
			}
			c->demo.workers = (unsigned)v;
			i++;
		} else if (mode == MODE_DEMO && strcmp(a, "--traces") == 0) {
			if (parse_u64(val, 1, 100000, &v)) {
				*ret = usage_error("--traces takes a number from 1 to 100000 (got '%s')", val ? val : "");
				return -1;
			}
			c->demo.traces = (unsigned)v;
			i++;
		} else if (mode == MODE_DEMO && strcmp(a, "--seed") == 0) {
			if (parse_u64(val, 0, UINT64_MAX, &v)) {
				*ret = usage_error("--seed takes a number (got '%s')", val ? val : "");
				return -1;
			}
			c->demo.seed = v;
			i++;
		} else if (a[0] == '-') {
			*ret = usage_error("unknown option '%s'", a);
			return -1;
		} else {
			return i;
		}
	}
	return i;
}

struct cmd_ctx {
	char **argv;
};

static int spawn_cmd(void *ctx, const char *segment, pid_t *pid, int *exec_errno)
{
	struct cmd_ctx *c = ctx;
	int p[2], e = 0;
	ssize_t n;
	pid_t child;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (child == 0) {
		close(p[0]);
		if (setenv("AGENTPROF_SHM", segment, 1) == 0)
			execvp(c->argv[0], c->argv);
		e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	do {
		n = read(p[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		*exec_errno = e;
		waitpid(child, NULL, 0);
	}
	*pid = child;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	int ret = 0, first;

	memset(&c, 0, sizeof(c));
	ap_run_opts_default(&c.run);
	c.demo.workers = 4;
	c.demo.traces = 2;
	c.demo.seed = 1;
	c.demo.scale = 1.0;

	if (argc < 2)
		return usage_error("%s", "a command is needed: record, demo, serve, report or diff");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("agentprof 0.1.0 (segment ABI %u)\n", AP_ABI_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "record") == 0) {
		struct cmd_ctx cc;

		first = parse_opts(argc, argv, MODE_RECORD, &c, &ret);
		if (first < 0)
			return ret;
		if (first >= argc)
			return usage_error("%s", "record needs a command: agentprof record -- CMD [ARGS...]");
		cc.argv = &argv[first];
		c.run.argv = &argv[first];
		c.run.label = argv[first];
		return ap_session_run(&c.run, spawn_cmd, &cc);
	}
	if (strcmp(argv[1], "demo") == 0) {
		static char arg0[] = "agentprof", arg1[] = "demo";
		static char *demo_argv[] = { arg0, arg1, NULL };

		first = parse_opts(argc, argv, MODE_DEMO, &c, &ret);
		if (first < 0)
			return ret;
		if (first < argc)
			return usage_error("unexpected argument '%s' for demo", argv[first]);
		c.run.argv = demo_argv;
		c.run.label = "demo";
		return ap_session_run(&c.run, ap_demo_spawn, &c.demo);
	}
	if (strcmp(argv[1], "serve") == 0) {
		static char arg0[] = "agentprof", arg1[] = "serve";
		static char *serve_argv[] = { arg0, arg1, NULL };

		first = parse_opts(argc, argv, MODE_SERVE, &c, &ret);
		if (first < 0)
			return ret;
		if (first < argc)
			return usage_error("unexpected argument '%s' for serve", argv[first]);
		if (!c.run.segment_name)
			return usage_error("%s", "serve needs --segment NAME, the AGENTPROF_SHM of its workers");
		c.run.serving = 1;
		c.run.argv = serve_argv;
		c.run.label = "fleet";
		return ap_session_run(&c.run, NULL, NULL);
	}
	if (strcmp(argv[1], "report") == 0) {
		const char *file = NULL;

		for (int i = 2; i < argc; i++) {
			if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc && argv[i + 1][0])
				c.run.out_dir = argv[++i];
			else if (strcmp(argv[i], "--json") == 0)
				c.run.json_stdout = 1;
			else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
				c.run.quiet = 1;
			else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
				fputs(usage_text, stdout);
				return 0;
			} else if (argv[i][0] == '-' || file)
				return usage_error("report takes -o DIR, --json, -q and one log file (got '%s')", argv[i]);
			else
				file = argv[i];
		}
		if (!file)
			return usage_error("%s", "report needs a log file: agentprof report FILE");
		return ap_report_log(&c.run, file);
	}
	if (strcmp(argv[1], "diff") == 0) {
		struct ap_diff_opts d = { .threshold_pct = 10, .min_ms = 5, .json = 0, .run = &c.run };
		const char *side[2] = { NULL, NULL };
		int nside = 0;

		for (int i = 2; i < argc; i++) {
			const char *a = argv[i];
			int is_pct = strcmp(a, "--threshold-pct") == 0;

			if (is_pct || strcmp(a, "--min-ms") == 0) {
				char *end = NULL;
				double v = i + 1 < argc ? strtod(argv[i + 1], &end) : -1;

				if (i + 1 >= argc || !end || *end || end == argv[i + 1] || !(v >= 0) || v > 1e9) {
					fprintf(stderr, "agentprof: %s takes a number >= 0 (got '%s')\n", a,
						i + 1 < argc ? argv[i + 1] : "");
					return EXIT_USAGE;
				}
				if (is_pct)
					d.threshold_pct = v;
				else
					d.min_ms = v;
				i++;
			} else if (strcmp(a, "--json") == 0) {
				d.json = 1;
			} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				fputs(usage_text, stdout);
				return 0;
			} else if (a[0] == '-' && a[1]) {
				fprintf(stderr, "agentprof: diff: unknown option '%s'\n%s", a, usage_text);
				return EXIT_USAGE;
			} else if (nside < 2) {
				side[nside++] = a;
			} else {
				fprintf(stderr, "agentprof: diff takes two files, BASE and NEW (got '%s' too)\n", a);
				return EXIT_USAGE;
			}
		}
		if (nside != 2) {
			fprintf(stderr, "agentprof: diff needs two files: agentprof diff BASE NEW\n");
			return EXIT_USAGE;
		}
		return ap_diff_main(side[0], side[1], &d);
	}
	return usage_error("unknown command '%s' (want record, demo, serve, report or diff)", argv[1]);
}
