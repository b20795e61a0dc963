/* SPDX-License-Identifier: MIT */
/*
 * diff.c - compare two runs. Each side is a report.json or an event log; a
 * log is replayed into a report.json in memory first, so both kinds are read
 * by one path. report.json is parsed with Jansson (strict RFC 8259, depth
 * limited, duplicate keys refused): a file handed to diff is untrusted input.
 *
 * Every number is held to a range before it is used (durations from 0 to
 * DIFF_MS_MAX ms, counts and tokens non-negative integers below 2^53), and a
 * file that breaks one is refused naming the field, exit 2: a report.json is
 * whatever the user hands us. Names are printed escaped (no terminal control
 * character gets through) and padded by display cells.
 *
 * Operations are matched by name and category, through a sorted index of the
 * new side (O(n log n) for n operations). An operation regressed when
 * its P95 rose by at least threshold_pct percent and at least min_ms; it
 * improved when it fell by as much. Categories compare self time per trace
 * (runs differ in length) by the same rule.
 *
 * Memory (when both sides sampled it): the largest peak RSS of any process,
 * and per operation the mean RSS change of its measured spans, by the same
 * percentage threshold and an absolute floor of --min-kib (1,024 KiB), as
 * --min-ms is for time. A change is taken relative to the magnitude of the
 * base (a mean of -100 KiB rising to +100 KiB rose by 200%); a base of 0
 * that rises by the floor regressed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "diff.h"
#include "file.h"
#include "json.h"
#include "labels.h"
#include "render.h"
#include "replay.h"

#define DIFF_FILE_MAX	(1ull << 32)	/* bytes read from one side */
#define DIFF_MS_MAX	1e12		/* about 31 years: no duration is longer */
#define DIFF_COUNT_MAX	((json_int_t)1 << 53)
#define DIFF_KIB_MAX	1e15		/* an RSS change: a petabyte and a half either way */

static const char *const cats[AP_CAT_COUNT] = { "internal", "llm", "tool", "memory" };

struct dop {
	char name[AP_NAME_MAX + 1];
	char cat[16];
	uint64_t count;
	double p50, p95, p99, mean;
	uint64_t tokens;	/* input + output */
	int matched;
};

struct dmem {
	char name[AP_NAME_MAX + 1];
	char cat[16];
	uint64_t measured;
	double mean_kib;
	int matched;
};

struct side {
	const char *path;
	int has_mem;			/* a memory section */
	uint64_t peak_kib;		/* the largest peak of any process */
	uint64_t mem_interval_ms;
	struct dmem *mops;
	size_t nmops;
	struct dop **sorted;		/* ops by name and category, for find() */
	uint64_t traces;
	double cat_ms[AP_CAT_COUNT];
	struct dop *ops;
	size_t nops;
	uint64_t total_input, total_output;
};

__attribute__((format(printf, 2, 3)))
static int fail(const struct side *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "agentprof: diff: %s: ", s->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int render_json(FILE *f, void *run)
{
	return ap_render_json(run, f);
}

/* An event log: replay it and render its report.json in memory. */
static int log_to_json(struct side *sd, const uint8_t *buf, size_t len, const struct ap_settings *set,
		       char **json, size_t *jlen)
{
	struct ap_replay *rp = calloc(1, sizeof(*rp));
	struct ap_run run;
	const char *why;
	int ret;

	if (!rp)
		return fail(sd, "out of memory");
	ret = ap_replay_open(rp, set, buf, len, &why);
	if (ret) {
		ap_replay_close(rp);
		free(rp);
		return fail(sd, "%s", ret == -EINVAL ? why : "out of memory");
	}
	if (!rp->complete || rp->scan.bytes_skipped || rp->scan.blocks_missing)
		fprintf(stderr, "agentprof: diff: %s is damaged or incomplete; comparing its %" PRIu64 " intact blocks\n",
			sd->path, rp->scan.blocks);
	ap_replay_run(rp, sd->path, &run);
	*json = ap_render_mem(render_json, &run, jlen, &ret);
	ap_replay_close(rp);
	free(rp);
	return *json ? 0 : fail(sd, "cannot build its report: %s", strerror(-ret));
}

/* A duration in ms, 0 to DIFF_MS_MAX. */
static int num(json_t *o, const char *key, double *v)
{
	json_t *x = json_object_get(o, key);

	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return isfinite(*v) && *v >= 0 && *v <= DIFF_MS_MAX ? 0 : -1;
}

/* A count, 0 to 2^53. */
static int count(json_t *o, const char *key, uint64_t *v)
{
	json_t *x = json_object_get(o, key);

	if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > DIFF_COUNT_MAX)
		return -1;
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

/* A signed KiB figure, within DIFF_KIB_MAX either way. */
static int kib(json_t *o, const char *key, double *v)
{
	json_t *x = json_object_get(o, key);

	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return isfinite(*v) && fabs(*v) <= DIFF_KIB_MAX ? 0 : -1;
}

/* The optional memory section: processes' peaks, operations' mean change.
 * 0, or -1 (said). */
static int parse_memory(struct side *sd, json_t *mem)
{
	json_t *procs = json_object_get(mem, "processes"), *ops = json_object_get(mem, "operations");
	size_t i;

	if (!json_is_array(procs) || !json_is_array(ops) || count(mem, "interval_ms", &sd->mem_interval_ms))
		return fail(sd, "memory is not an agentprof memory section (interval_ms, processes, operations)");
	for (i = 0; i < json_array_size(procs); i++) {
		uint64_t peak;

		if (count(json_array_get(procs, i), "peak_kib", &peak))
			return fail(sd, "memory.processes[%zu].peak_kib is missing or not a count", i);
		if (peak > sd->peak_kib)
			sd->peak_kib = peak;
	}
	sd->mops = calloc(json_array_size(ops) + 1, sizeof(*sd->mops));
	if (!sd->mops)
		return fail(sd, "out of memory");
	for (i = 0; i < json_array_size(ops); i++) {
		json_t *o = json_array_get(ops, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *cat = json_string_value(json_object_get(o, "category"));
		struct dmem *d = &sd->mops[sd->nmops];
		const char *bad = !name || strlen(name) > AP_NAME_MAX ? "name" :
				  !cat || strlen(cat) >= sizeof(d->cat) ? "category" :
				  count(o, "spans_measured", &d->measured) ? "spans_measured" : NULL;

		if (!bad && d->measured && kib(o, "rss_delta_kib_mean", &d->mean_kib))
			bad = "rss_delta_kib_mean";
		if (bad)
			return fail(sd, "memory.operations[%zu].%s is missing or out of range", i, bad);
		if (!d->measured)
			continue;	/* nothing to compare */
		snprintf(d->name, sizeof(d->name), "%s", name);
		snprintf(d->cat, sizeof(d->cat), "%s", cat);
		for (size_t k = 0; k < sd->nmops; k++)
			if (!strcmp(sd->mops[k].name, d->name) && !strcmp(sd->mops[k].cat, d->cat))
				return fail(sd, "memory operation %s (%s) is listed twice", ap_tcell(d->name, -1),
					    ap_tcell(d->cat, -1));
		sd->nmops++;
	}
	sd->has_mem = 1;
	return 0;
}

static int parse(struct side *sd, const char *text, size_t len)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *x, *ops;
	size_t i;
	int ret = -1;

	if (!root)
		return fail(sd, "not an agentprof report.json or event log (line %d: %s)", err.line, err.text);
	if (!json_is_object(root) || count(json_object_get(root, "structure"), "traces", &sd->traces)) {
		fail(sd, "not an agentprof report.json (no structure.traces)");
		goto out;
	}
	x = json_object_get(root, "by_category");
	for (int c = 0; c < AP_CAT_COUNT; c++)
		if (num(json_object_get(x, cats[c]), "self_ms", &sd->cat_ms[c])) {
			fail(sd, "by_category.%s.self_ms is missing or out of range (0 to %.0f ms)", cats[c], DIFF_MS_MAX);
			goto out;
		}
	x = json_object_get(root, "tokens");
	if (count(x, "total_input", &sd->total_input) || count(x, "total_output", &sd->total_output)) {
		fail(sd, "tokens.total_input or tokens.total_output is missing or not a count");
		goto out;
	}
	ops = json_object_get(root, "operations");
	if (!json_is_array(ops)) {
		fail(sd, "not an agentprof report.json (operations)");
		goto out;
	}
	sd->ops = calloc(json_array_size(ops) + 1, sizeof(*sd->ops));
	if (!sd->ops) {
		fail(sd, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(ops); i++) {
		json_t *o = json_array_get(ops, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *cat = json_string_value(json_object_get(o, "category"));
		struct dop *d = &sd->ops[sd->nops];
		uint64_t in = 0, outk = 0;

		const char *bad = !name || strlen(name) > AP_NAME_MAX ? "name" :
				  !cat || strlen(cat) >= sizeof(d->cat) ? "category" :
				  count(o, "count", &d->count) ? "count" : num(o, "p50_ms", &d->p50) ? "p50_ms" :
				  num(o, "p95_ms", &d->p95) ? "p95_ms" : num(o, "p99_ms", &d->p99) ? "p99_ms" :
				  num(o, "mean_ms", &d->mean) ? "mean_ms" : NULL;

		/* Token counts per operation are optional (older reports). */
		if (!bad && json_object_get(o, "input_tokens") && count(o, "input_tokens", &in))
			bad = "input_tokens";
		if (!bad && json_object_get(o, "output_tokens") && count(o, "output_tokens", &outk))
			bad = "output_tokens";
		if (bad) {
			fail(sd, "operations[%zu].%s is missing or out of range", i, bad);
			goto out;
		}
		snprintf(d->name, sizeof(d->name), "%s", name);
		snprintf(d->cat, sizeof(d->cat), "%s", cat);
		d->tokens = in + outk;
		sd->nops++;
	}
	x = json_object_get(root, "memory");
	if (x && !json_is_null(x) && parse_memory(sd, x))
		goto out;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

static int load(struct side *sd, const char *path, const struct ap_settings *set)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t magic = 0;
	int ret;

	memset(sd, 0, sizeof(*sd));
	sd->path = path;
	ret = ap_read_file(path, DIFF_FILE_MAX, &buf, &len);
	if (ret)
		return fail(sd, "%s", ret == -EINVAL ? "not a regular file" : strerror(-ret));
	if (len >= sizeof(magic))
		memcpy(&magic, buf, sizeof(magic));
	if (magic == AP_LOG_MAGIC) {
		char *json = NULL;
		size_t jlen = 0;

		ret = log_to_json(sd, buf, len, set, &json, &jlen);
		if (!ret)
			ret = parse(sd, json, jlen);
		free(json);
	} else {
		ret = parse(sd, (const char *)buf, len);
	}
	free(buf);
	return ret;
}

static double pct_change(double a, double b)
{
	if (a > 0)
		return (b - a) / a * 100.0;
	return b > 0 ? INFINITY : 0;
}

/* 1 regressed, -1 improved, 0 neither. */
static int judge(double a, double b, const struct ap_diff_opts *o)
{
	double p = pct_change(a, b);

	if (b - a >= o->min_ms && p >= o->threshold_pct)
		return 1;
	if (a - b >= o->min_ms && -p >= o->threshold_pct)
		return -1;
	return 0;
}

static const char *verdict(int v) { return v > 0 ? "regressed" : v < 0 ? "improved" : "same"; }

static void print_pct(FILE *f, double p);

/* A change of RSS figure a to b in KiB, as a percentage of |a|. */
static double kib_change(double a, double b)
{
	if (a != 0)
		return (b - a) / fabs(a) * 100.0;
	return b > 0 ? INFINITY : b < 0 ? -INFINITY : 0;
}

/* As judge(), for KiB with the --min-kib floor. */
static int judge_kib(double a, double b, const struct ap_diff_opts *o)
{
	double p = kib_change(a, b);

	if (b - a >= o->min_kib && p >= o->threshold_pct)
		return 1;
	if (a - b >= o->min_kib && -p >= o->threshold_pct)
		return -1;
	return 0;
}

static const struct dmem *find_mem(const struct side *s, const struct dmem *d)
{
	for (size_t i = 0; i < s->nmops; i++)
		if (!strcmp(s->mops[i].name, d->name) && !strcmp(s->mops[i].cat, d->cat))
			return &s->mops[i];
	return NULL;
}

/* Memory: the peak and each operation both sides measured. Adds to the
 * counts; JSON into j when it is not NULL, else text into out. */
static void diff_memory(const struct side *a, const struct side *b, const struct ap_diff_opts *o, struct ap_json *j,
			FILE *out, int *regressed, int *improved)
{
	int v;

	if (!a->has_mem || !b->has_mem) {
		if (j)
			ap_json_null(j, "memory");
		else if (a->has_mem || b->has_mem)
			fprintf(out, "\n  memory: sampled in %s only; not compared\n", a->has_mem ? "base" : "new");
		return;
	}
	v = judge_kib((double)a->peak_kib, (double)b->peak_kib, o);
	*regressed += v > 0;
	*improved += v < 0;
	if (j) {
		ap_json_obj(j, "memory");
		ap_json_num(j, "min_kib", o->min_kib, 1);
		ap_json_u64(j, "peak_kib_base", a->peak_kib);
		ap_json_u64(j, "peak_kib_new", b->peak_kib);
		ap_json_str(j, "peak_status", verdict(v));
		ap_json_arr(j, "operations");
	} else {
		fprintf(out, "\n  memory (RSS; regressed: up by >= %.1f%% and >= %.0f KiB):\n", o->threshold_pct, o->min_kib);
		fprintf(out, "    largest peak %10.1f -> %-10.1f MiB", (double)a->peak_kib / 1024, (double)b->peak_kib / 1024);
		print_pct(out, pct_change((double)a->peak_kib, (double)b->peak_kib));
		fprintf(out, " %s\n", v > 0 ? "REGRESSED" : v < 0 ? "improved" : "");
	}
	for (size_t i = 0; i < a->nmops; i++) {
		const struct dmem *pa = &a->mops[i], *pb = find_mem(b, pa);

		if (!pb)
			continue;
		v = judge_kib(pa->mean_kib, pb->mean_kib, o);
		*regressed += v > 0;
		*improved += v < 0;
		if (j) {
			ap_json_obj(j, NULL);
			ap_json_str(j, "name", pa->name);
			ap_json_str(j, "category", pa->cat);
			ap_json_num(j, "rss_delta_kib_mean_base", pa->mean_kib, 1);
			ap_json_num(j, "rss_delta_kib_mean_new", pb->mean_kib, 1);
			ap_json_str(j, "status", verdict(v));
			ap_json_end_obj(j);
		} else {
			fprintf(out, "    %s %s %+10.1f -> %+-10.1f KiB per span %s\n", ap_tcell(pa->name, 28),
				ap_tcell(pa->cat, 8), pa->mean_kib, pb->mean_kib,
				v > 0 ? "REGRESSED" : v < 0 ? "improved" : "");
		}
	}
	if (j) {
		ap_json_end_arr(j);
		ap_json_end_obj(j);
	}
}

static void free_side(struct side *s)
{
	free(s->mops);
	s->mops = NULL;
	free(s->ops);
	free(s->sorted);
	s->ops = NULL;
	s->sorted = NULL;
}

static int by_key(const void *x, const void *y)
{
	const struct dop *a = *(const struct dop *const *)x, *b = *(const struct dop *const *)y;
	int c = strcmp(a->name, b->name);

	return c ? c : strcmp(a->cat, b->cat);
}

/* The index of a side: its operations sorted by name and category. 0, or -1
 * (out of memory, or an operation listed twice: said). */
static int index_side(struct side *s)
{
	s->sorted = malloc((s->nops ? s->nops : 1) * sizeof(*s->sorted));
	if (!s->sorted)
		return fail(s, "out of memory");
	for (size_t i = 0; i < s->nops; i++)
		s->sorted[i] = &s->ops[i];
	qsort(s->sorted, s->nops, sizeof(*s->sorted), by_key);
	for (size_t i = 1; i < s->nops; i++)
		if (by_key(&s->sorted[i - 1], &s->sorted[i]) == 0)
			return fail(s, "operation %s (%s) is listed twice", ap_tcell(s->sorted[i]->name, -1),
				    ap_tcell(s->sorted[i]->cat, -1));
	return 0;
}

static struct dop *find(struct side *s, const struct dop *d)
{
	struct dop **hit = bsearch(&d, s->sorted, s->nops, sizeof(*s->sorted), by_key);

	return hit ? *hit : NULL;
}

static double per_call(uint64_t tokens, uint64_t n) { return n ? (double)tokens / (double)n : 0; }

static void print_pct(FILE *f, double p)
{
	if (isinf(p))
		fprintf(f, "   (new)");
	else
		fprintf(f, " (%+5.1f%%)", p);
}

int ap_diff_main(const char *base_path, const char *new_path, const struct ap_diff_opts *o)
{
	FILE *out = o->out ? o->out : stdout;
	struct side a, b;
	int regressed = 0, improved = 0, v;
	double ta, tb;

	memset(&b, 0, sizeof(b));
	if (load(&a, base_path, o->set) || index_side(&a) || load(&b, new_path, o->set) || index_side(&b)) {
		free_side(&a);
		free_side(&b);
		return 2;
	}
	ta = a.traces ? (double)a.traces : 1;
	tb = b.traces ? (double)b.traces : 1;
	for (size_t i = 0; i < a.nops; i++) {
		struct dop *m = find(&b, &a.ops[i]);

		if (m) {
			m->matched = a.ops[i].matched = 1;
			v = judge(a.ops[i].p95, m->p95, o);
			regressed += v > 0;
			improved += v < 0;
		}
	}
	for (int c = 0; c < AP_CAT_COUNT; c++) {
		v = judge(a.cat_ms[c] / ta, b.cat_ms[c] / tb, o);
		regressed += v > 0;
		improved += v < 0;
	}

	if (o->json) {
		struct ap_json j;

		ap_json_init(&j, out);
		ap_json_obj(&j, NULL);
		ap_json_obj(&j, "base");
		ap_json_str(&j, "path", a.path);
		ap_json_u64(&j, "traces", a.traces);
		ap_json_end_obj(&j);
		ap_json_obj(&j, "new");
		ap_json_str(&j, "path", b.path);
		ap_json_u64(&j, "traces", b.traces);
		ap_json_end_obj(&j);
		ap_json_num(&j, "threshold_pct", o->threshold_pct, 2);
		ap_json_num(&j, "min_ms", o->min_ms, 3);
		ap_json_arr(&j, "operations");
		for (int pass = 0; pass < 2; pass++) {
			struct side *s = pass ? &b : &a;

			for (size_t i = 0; i < s->nops; i++) {
				struct dop *d = &s->ops[i], *x = pass ? NULL : find(&b, d);
				const struct dop *pa = pass ? NULL : d, *pb = pass ? d : x;

				if (pass && d->matched)
					continue;
				ap_json_obj(&j, NULL);
				ap_json_str(&j, "name", d->name);
				ap_json_str(&j, "category", d->cat);
#define SIDE(k, f) do { if (pa) ap_json_num(&j, k "_base", pa->f, 3); else ap_json_null(&j, k "_base"); \
			if (pb) ap_json_num(&j, k "_new", pb->f, 3); else ap_json_null(&j, k "_new"); } while (0)
				if (pa)
					ap_json_u64(&j, "count_base", pa->count);
				else
					ap_json_null(&j, "count_base");
				if (pb)
					ap_json_u64(&j, "count_new", pb->count);
				else
					ap_json_null(&j, "count_new");
				SIDE("p50_ms", p50);
				SIDE("p95_ms", p95);
				SIDE("p99_ms", p99);
#undef SIDE
				if (pa)
					ap_json_num(&j, "tokens_per_call_base", per_call(pa->tokens, pa->count), 1);
				else
					ap_json_null(&j, "tokens_per_call_base");
				if (pb)
					ap_json_num(&j, "tokens_per_call_new", per_call(pb->tokens, pb->count), 1);
				else
					ap_json_null(&j, "tokens_per_call_new");
				if (pa && pb && !isinf(pct_change(pa->p95, pb->p95)))
					ap_json_num(&j, "p95_change_pct", pct_change(pa->p95, pb->p95), 2);
				else
					ap_json_null(&j, "p95_change_pct");
				ap_json_str(&j, "status", !pa ? "added" : !pb ? "removed" :
					    verdict(judge(pa->p95, pb->p95, o)));
				ap_json_end_obj(&j);
			}
		}
		ap_json_end_arr(&j);
		ap_json_arr(&j, "categories");
		for (int c = 0; c < AP_CAT_COUNT; c++) {
			ap_json_obj(&j, NULL);
			ap_json_str(&j, "category", cats[c]);
			ap_json_num(&j, "self_ms_per_trace_base", a.cat_ms[c] / ta, 3);
			ap_json_num(&j, "self_ms_per_trace_new", b.cat_ms[c] / tb, 3);
			ap_json_str(&j, "status", verdict(judge(a.cat_ms[c] / ta, b.cat_ms[c] / tb, o)));
			ap_json_end_obj(&j);
		}
		ap_json_end_arr(&j);
		ap_json_obj(&j, "tokens_per_trace");
		ap_json_num(&j, "input_base", (double)a.total_input / ta, 1);
		ap_json_num(&j, "input_new", (double)b.total_input / tb, 1);
		ap_json_num(&j, "output_base", (double)a.total_output / ta, 1);
		ap_json_num(&j, "output_new", (double)b.total_output / tb, 1);
		ap_json_end_obj(&j);
		diff_memory(&a, &b, o, &j, out, &regressed, &improved);
		ap_json_u64(&j, "regressions", (uint64_t)regressed);
		ap_json_u64(&j, "improvements", (uint64_t)improved);
		ap_json_end_obj(&j);
		fputc('\n', out);
	} else {
		fprintf(out, "agentprof diff: %s (%" PRIu64 " traces) -> ", ap_tcell(a.path, -1), a.traces);
		fprintf(out, "%s (%" PRIu64 " traces)\n", ap_tcell(b.path, -1), b.traces);
		fprintf(out, "regressed: P95 up by >= %.1f%% and >= %.1f ms; improved: down by as much\n\n",
		       o->threshold_pct, o->min_ms);
		fprintf(out, "  %-28s %-8s %-14s %-18s %-27s %-18s %s\n", "operation", "category", "count", "p50 ms",
		       "p95 ms", "p99 ms", "tokens/call");
		for (size_t i = 0; i < a.nops; i++) {
			const struct dop *pa = &a.ops[i], *pb = find(&b, pa);

			if (!pb) {
				fprintf(out, "  %s %s removed (was %" PRIu64 " calls, p95 %.1f ms)\n", ap_tcell(pa->name, 28),
				       ap_tcell(pa->cat, 8),
				       pa->count, pa->p95);
				continue;
			}
			fprintf(out, "  %s %s %6" PRIu64 "->%-6" PRIu64 " %8.1f->%-8.1f %8.1f->%-8.1f", ap_tcell(pa->name, 28),
			       ap_tcell(pa->cat, 8),
			       pa->count, pb->count, pa->p50, pb->p50, pa->p95, pb->p95);
			print_pct(out, pct_change(pa->p95, pb->p95));
			fprintf(out, " %8.1f->%-8.1f %7.0f->%-7.0f %s\n", pa->p99, pb->p99, per_call(pa->tokens, pa->count),
			       per_call(pb->tokens, pb->count),
			       judge(pa->p95, pb->p95, o) > 0 ? "REGRESSED" :
			       judge(pa->p95, pb->p95, o) < 0 ? "improved" : "");
		}
		for (size_t i = 0; i < b.nops; i++)
			if (!b.ops[i].matched)
				fprintf(out, "  %s %s added (%" PRIu64 " calls, p95 %.1f ms)\n", ap_tcell(b.ops[i].name, 28),
				       ap_tcell(b.ops[i].cat, 8),
				       b.ops[i].count, b.ops[i].p95);
		fprintf(out, "\n  self time per trace by category:\n");
		for (int c = 0; c < AP_CAT_COUNT; c++) {
			double x = a.cat_ms[c] / ta, y = b.cat_ms[c] / tb;

			v = judge(x, y, o);
			fprintf(out, "    %-8s %10.1f -> %-10.1f ms", cats[c], x, y);
			print_pct(out, pct_change(x, y));
			fprintf(out, " %s\n", v > 0 ? "REGRESSED" : v < 0 ? "improved" : "");
		}
		fprintf(out, "  tokens per trace: input %.0f -> %.0f, output %.0f -> %.0f\n", (double)a.total_input / ta,
		       (double)b.total_input / tb, (double)a.total_output / ta, (double)b.total_output / tb);
		diff_memory(&a, &b, o, NULL, out, &regressed, &improved);
		fprintf(out, "\n%d regressed, %d improved\n", regressed, improved);
	}
	free_side(&a);
	free_side(&b);
	return regressed ? 1 : 0;
}

int ap_cmd_diff(int argc, char **argv)
{
	struct ap_cli c;
	struct ap_diff_opts d = { .threshold_pct = 10, .min_ms = 5, .min_kib = 1024, .json = 0 };
	const char *side[2] = { NULL, NULL };
	int nside = 0;

	ap_cli_default(&c);
	d.set = &c.run.set;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int is_pct = strcmp(a, "--threshold-pct") == 0, is_kib = strcmp(a, "--min-kib") == 0;

		if (is_pct || is_kib || strcmp(a, "--min-ms") == 0) {
			char *end = NULL;
			double v = i + 1 < argc ? strtod(argv[i + 1], &end) : -1;

			if (i + 1 >= argc || !end || *end || end == argv[i + 1] || !(v >= 0) || v > 1e9) {
				fprintf(stderr, "agentprof: %s takes a number >= 0 (got '%s')\n", a,
					i + 1 < argc ? argv[i + 1] : "");
				return AP_EXIT_USAGE;
			}
			if (is_pct)
				d.threshold_pct = v;
			else if (is_kib)
				d.min_kib = v;
			else
				d.min_ms = v;
			i++;
		} else if (strcmp(a, "--json") == 0) {
			d.json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(ap_usage_text, stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "agentprof: diff: unknown option '%s'\n%s", a, ap_usage_text);
			return AP_EXIT_USAGE;
		} else if (nside < 2) {
			side[nside++] = a;
		} else {
			fprintf(stderr, "agentprof: diff takes two files, BASE and NEW (got '%s' too)\n", a);
			return AP_EXIT_USAGE;
		}
	}
	if (nside != 2) {
		fprintf(stderr, "agentprof: diff needs two files: agentprof diff BASE NEW\n");
		return AP_EXIT_USAGE;
	}
	return ap_diff_main(side[0], side[1], &d);
}
