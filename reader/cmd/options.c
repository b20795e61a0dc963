/* SPDX-License-Identifier: MIT */
/* options.c - the usage text and the options record, demo and serve share (cli.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "segment.h"

const char ap_usage_text[] =
	"usage: agentprof record [options] -- CMD [ARGS...]\n"
	"       agentprof demo [--workers N] [--traces M] [--seed S] [options]\n"
	"       agentprof serve --segment NAME [--interval SECONDS] [options]\n"
	"       agentprof top --segment NAME [--once] [--json] [--sort time|count|p95|errors]\n"
	"       agentprof report [-o DIR] [--formats LIST] [--json] [-q] LOGFILE\n"
	"       agentprof export --format FORMAT [-o FILE] [--all] LOGFILE\n"
	"       agentprof diff [--threshold-pct P] [--min-ms M] [--min-kib K] [--json] BASE NEW\n"
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
	"memory (both runs sampled): the largest peak RSS and each operation's mean RSS\n"
	"change regress by P% and K KiB (1024). It exits 0 when nothing regressed, 1\n"
	"when something did, 2 on error.\n"
	"export writes one file of a log's run: html, chrome, speedscope, folded,\n"
	"pprof or otlp (-o FILE, default the format's file name here, '-' for stdout);\n"
	"with --all its traces are every trace of the log, not the ones the run kept.\n"
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
	"                       with failed traces first, then traces with truncated\n"
	"                       spans, and a uniform sample of the rest\n"
	"      --models FILE    model context windows, lines of \"NAME TOKENS\" (adds to and\n"
	"                       overrides gpt-4o, gpt-4o-mini, claude-sonnet-4-20250514,\n"
	"                       claude-haiku-3-5)\n"
	"      --rule NAME=V    bottleneck threshold: llm_self_pct (80), tool_pct (30),\n"
	"                       context_pct (50), error_pct (10), each 0 to 100;\n"
	"                       llm_chain (2), 1 to 1000; slow_tool_ms (500), 0 to 86400000\n"
	"      --log FILE       write every drained event to FILE, a new file (an existing\n"
	"                       one is refused), for `agentprof report FILE` later\n"
	"      --memory-interval MS  sample the RSS of every attached process every MS ms\n"
	"                       (default 20, 0: off, at most 60000) for the Memory section\n"
	"      --interval S     every S seconds (0.01 to 86400), replace DIR/report.json,\n"
	"                       report.txt and the other formats (the run so far) and\n"
	"                       DIR/interval.json, interval.txt, interval.html,\n"
	"                       interval.trace.json, ... (traces completed since the last\n"
	"                       dump); the files are written through io_uring and never\n"
	"                       waited for\n"
	"      --top            record: show the live view (agentprof top) on the terminal\n"
	"                       while CMD runs, refreshed each second\n"
	"      --trace-timeout S  a trace with no event for S seconds (default 300; 0:\n"
	"                       never) is reported as incomplete, its open spans\n"
	"                       truncated at its last event (counts.traces_timed_out);\n"
	"                       a later event of it is counted (counts.late_events)\n"
	"      --otlp URL       stream every trace (every span, kept or not) to an\n"
	"                       OpenTelemetry Collector over OTLP/HTTP, e.g.\n"
	"                       http://localhost:4318 (/v1/traces is added to a URL\n"
	"                       without a path); without it OTEL_EXPORTER_OTLP_ENDPOINT\n"
	"                       and the other OTEL_* variables apply (README)\n"
	"      --otlp-batch N[,MS]  a batch holds at most N spans (512) or waits MS ms (1000)\n"
	"      --otlp-queue-mib N   bytes waiting for the collector, at most (64 MiB);\n"
	"                       past it whole batches are dropped, counted\n"
	"      --otlp-drain-s S at the end, send what is queued for at most S s (5)\n"
	"      --segment NAME   serve: the segment, as workers name it in AGENTPROF_SHM\n"
	"                       (\"/\" then letters, digits, '.', '_', '-')\n"
	"      --formats LIST   the files a report writes, comma-separated (default all):\n"
	"                       text (report.txt), json (report.json), html (report.html),\n"
	"                       chrome (trace.json), speedscope (profile.speedscope.json),\n"
	"                       folded (stacks.folded), pprof (profile.pb.gz),\n"
	"                       otlp (traces.otlp.jsonl)\n"
	"      --json           print report.json instead of the text report\n"
	"  -q, --quiet          print nothing on success\n"
	"  -h, --help           this text\n"
	"      --version        version\n";

int ap_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentprof: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", ap_usage_text);
	return AP_EXIT_USAGE;
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

/* NAME=VALUE into the rule thresholds, within the ranges ap_rules_check()
 * holds every run to, rounded to what a log keeps; 0 or -1. */
static int set_rule(struct ap_rules *r, const char *s)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	struct ap_rules t = *r;
	char *end;
	double v;

	if (!eq || !eq[1])
		return -1;
	v = strtod(eq + 1, &end);
	if (*end || !isfinite(v) || v < 0)
		return -1;
#define RULE(n) (strncmp(s, #n, (size_t)(eq - s)) == 0 && strlen(#n) == (size_t)(eq - s))
	if (RULE(llm_self_pct))
		t.llm_self_pct = v;
	else if (RULE(tool_pct))
		t.tool_pct = v;
	else if (RULE(llm_chain) && v >= 1 && v <= AP_RULE_CHAIN_MAX && v == floor(v))
		t.llm_chain = (uint32_t)v;
	else if (RULE(slow_tool_ms))
		t.slow_tool_ms = v;
	else if (RULE(context_pct))
		t.context_pct = v;
	else if (RULE(error_pct))
		t.error_pct = v;
	else
		return -1;
#undef RULE
	if (ap_rules_check(&t))
		return -1;
	ap_rules_round(&t);
	*r = t;
	return 0;
}

int ap_cli_parse(int argc, char **argv, int mode, struct ap_cli *c, int *ret)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
		uint64_t v;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(ap_usage_text, stdout);
			*ret = 0;
			return -1;
		}
		if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
			if (!val || !*val || val[0] == '-') {
				*ret = ap_usage_error("%s needs a directory (got '%s'; write ./%s for a name that starts "
						      "with '-')", a, val ? val : "", val && *val ? val : "NAME");
				return -1;
			}
			c->run.out_dir = val;
			i++;
		} else if (strcmp(a, "--lanes") == 0) {
			if (parse_u64(val, AP_LANES_MIN, AP_LANES_MAX, &v)) {
				*ret = ap_usage_error("--lanes takes a number from 1 to 4096 (got '%s')", val ? val : "");
				return -1;
			}
			c->run.seg.lanes = (uint32_t)v;
			i++;
		} else if (strcmp(a, "--lane-events") == 0) {
			if (parse_u64(val, AP_LANE_EVENTS_MIN, AP_LANE_EVENTS_MAX, &v) || (v & (v - 1))) {
				*ret = ap_usage_error("--lane-events takes a power of two from 8 to 16777216 (got '%s')",
						   val ? val : "");
				return -1;
			}
			c->run.seg.lane_events = (uint32_t)v;
			i++;
		} else if (strcmp(a, "--max-spans") == 0) {
			if (parse_u64(val, 1, UINT32_MAX / 2, &v)) {
				*ret = ap_usage_error("--max-spans takes a positive number (got '%s')", val ? val : "");
				return -1;
			}
			c->run.set.max_spans = (uint32_t)v;
			i++;
		} else if (strcmp(a, "--max-traces") == 0 || strcmp(a, "--max-per-root") == 0 ||
			   strcmp(a, "--keep-slowest") == 0 || strcmp(a, "--keep-tokens") == 0 ||
			   strcmp(a, "--max-kept-spans") == 0) {
			struct ap_keep_cfg *k = &c->run.set.keep;
			int per_root = strcmp(a, "--max-per-root") == 0;
			uint64_t hi = strcmp(a, "--max-traces") == 0 ? (1u << 20) :
				      strcmp(a, "--keep-tokens") == 0 ? UINT64_MAX / 2 : UINT32_MAX;

			if (parse_u64(val, per_root ? 1 : 0, hi, &v)) {
				*ret = ap_usage_error("%s takes a number from %d to %llu (got '%s')", a, per_root,
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
				*ret = ap_usage_error("%s", "--models needs a file");
				return -1;
			}
			got = ap_models_load(val, c->run.set.models, &c->run.set.nmodels,
					     AP_MODELS_MAX, &line);
			if (got < 0) {
				if (got == -EINVAL)
					fprintf(stderr, "agentprof: %s:%d: want \"MODEL_NAME CONTEXT_TOKENS\"\n", val, line);
				else
					fprintf(stderr, "agentprof: cannot read models from %s: %s\n", val,
						got == -ENOSPC ? "more than 64 models" : strerror(-got));
				*ret = AP_EXIT_USAGE;
				return -1;
			}
			i++;
		} else if (strcmp(a, "--rule") == 0) {
			if (set_rule(&c->run.set.rules, val)) {
				*ret = ap_usage_error("--rule takes NAME=VALUE: llm_self_pct, tool_pct, context_pct or error_pct "
						   "from 0 to 100, slow_tool_ms from 0 to 86400000, llm_chain from 1 "
						   "to 1000 (got '%s')", val ? val : "");
				return -1;
			}
			i++;
		} else if (strcmp(a, "--log") == 0) {
			if (!val || !*val) {
				*ret = ap_usage_error("%s", "--log needs a file name");
				return -1;
			}
			c->run.log_path = val;
			i++;
		} else if (strcmp(a, "--interval") == 0) {
			char *end = NULL;
			double secs = val ? strtod(val, &end) : -1;

			if (!val || !end || *end || end == val || !(secs >= 0.01 && secs <= 86400)) {
				*ret = ap_usage_error("--interval takes seconds from 0.01 to 86400 (got '%s')", val ? val : "");
				return -1;
			}
			c->run.interval_ns = (uint64_t)(secs * 1e9);
			i++;
		} else if (strcmp(a, "--memory-interval") == 0) {
			uint64_t ms;

			if (parse_u64(val, 0, AP_MEM_INTERVAL_MAX_MS, &ms)) {
				*ret = ap_usage_error("--memory-interval takes milliseconds from 0 (off) to %u (got '%s')",
						      AP_MEM_INTERVAL_MAX_MS, val ? val : "");
				return -1;
			}
			c->run.set.memory_interval_ns = ms * 1000000u;
			i++;
		} else if (mode == AP_MODE_RECORD && strcmp(a, "--top") == 0) {
			c->run.live = 1;
			c->run.top_tty = 1;
			continue;
		} else if (strcmp(a, "--trace-timeout") == 0) {
			char *end = NULL;
			double secs = val ? strtod(val, &end) : -1;

			if (!val || !end || *end || end == val || !(secs == 0 || (secs >= 0.1 && secs <= 86400 * 30))) {
				*ret = ap_usage_error("--trace-timeout takes seconds from 0.1 to 2592000, or 0 for "
						   "never (got '%s')", val ? val : "");
				return -1;
			}
			c->run.trace_timeout_ns = (uint64_t)(secs * 1e9);
			i++;
		} else if (strcmp(a, "--otlp") == 0) {
			if (!val || !*val || val[0] == '-') {
				*ret = ap_usage_error("%s", "--otlp needs a collector URL, e.g. http://localhost:4318");
				return -1;
			}
			c->run.otlp_url = val;
			i++;
		} else if (strcmp(a, "--otlp-batch") == 0) {
			char *end = NULL;
			unsigned long n = val ? strtoul(val, &end, 10) : 0, ms = c->run.otlp_batch_ms;

			if (end && *end == ',' && end[1])
				ms = strtoul(end + 1, &end, 10);
			if (!val || !end || *end || n < 1 || n > 1000000 || ms < 1 || ms > 3600000) {
				*ret = ap_usage_error("--otlp-batch takes SPANS[,MS]: 1 to 1000000 spans, 1 to 3600000 ms "
						   "(got '%s')", val ? val : "");
				return -1;
			}
			c->run.otlp_batch_spans = (uint32_t)n;
			c->run.otlp_batch_ms = (uint32_t)ms;
			i++;
		} else if (strcmp(a, "--otlp-queue-mib") == 0) {
			char *end = NULL;
			double mib = val ? strtod(val, &end) : -1;

			if (!val || !end || *end || end == val || !(mib >= 0 && mib <= 65536)) {
				*ret = ap_usage_error("--otlp-queue-mib takes MiB from 0 to 65536, fractions allowed "
						   "(got '%s')", val ? val : "");
				return -1;
			}
			c->run.otlp_queue_bytes = (uint64_t)(mib * 1048576.0);
			i++;
		} else if (strcmp(a, "--otlp-drain-s") == 0) {
			if (parse_u64(val, 0, 3600, &v)) {
				*ret = ap_usage_error("--otlp-drain-s takes seconds from 0 to 3600 (got '%s')", val ? val : "");
				return -1;
			}
			c->run.otlp_drain_s = (uint32_t)v;
			i++;
		} else if (mode == AP_MODE_SERVE && strcmp(a, "--segment") == 0) {
			if (ap_seg_name_check(val)) {
				*ret = ap_usage_error("--segment takes a name as in AGENTPROF_SHM: \"/\" then 1 to 199 of "
						   "letters, digits, '.', '_', '-' (got '%s')", val ? val : "");
				return -1;
			}
			c->run.segment_name = val;
			i++;
		} else if (strcmp(a, "--formats") == 0) {
			const char *bad;

			if (ap_formats_parse(val, &c->run.formats, &bad)) {
				*ret = ap_usage_error("--formats takes a comma-separated list of text, json, html, chrome, "
						   "speedscope, folded, pprof, otlp, or all (got '%s')", val ? val : "");
				return -1;
			}
			i++;
		} else if (strcmp(a, "--json") == 0) {
			c->run.json_stdout = 1;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			c->run.quiet = 1;
		} else if (mode == AP_MODE_DEMO && strcmp(a, "--workers") == 0) {
			if (parse_u64(val, 1, 1024, &v)) {
				*ret = ap_usage_error("--workers takes a number from 1 to 1024 (got '%s')", val ? val : "");
				return -1;
			}
			c->demo.workers = (unsigned)v;
			i++;
		} else if (mode == AP_MODE_DEMO && strcmp(a, "--traces") == 0) {
			if (parse_u64(val, 1, 100000, &v)) {
				*ret = ap_usage_error("--traces takes a number from 1 to 100000 (got '%s')", val ? val : "");
				return -1;
			}
			c->demo.traces = (unsigned)v;
			i++;
		} else if (mode == AP_MODE_DEMO && strcmp(a, "--seed") == 0) {
			if (parse_u64(val, 0, UINT64_MAX, &v)) {
				*ret = ap_usage_error("--seed takes a number (got '%s')", val ? val : "");
				return -1;
			}
			c->demo.seed = v;
			i++;
		} else if (a[0] == '-') {
			*ret = ap_usage_error("unknown option '%s'", a);
			return -1;
		} else {
			return i;
		}
	}
	return i;
}


void ap_cli_default(struct ap_cli *c)
{
	memset(c, 0, sizeof(*c));
	ap_run_opts_default(&c->run);
	c->run.set.memory_interval_ns = AP_MEM_DEFAULT_MS * 1000000u;
	c->demo.workers = 4;
	c->demo.traces = 2;
	c->demo.seed = 1;
	c->demo.scale = 1.0;
}
