/* SPDX-License-Identifier: MIT */
/*
 * render_folded.c - stacks.folded and profile.pb.gz: the flame paths of
 * every trace (not only the kept ones) as samples, self time per name path.
 *
 * stacks.folded is Brendan Gregg's folded format, "root;child;leaf N" with
 * N the path's self time in integer microseconds (lines rounding to 0 are
 * left out), which speedscope, flamegraph.pl and inferno read. In a name, a
 * ';' would split the frame: it is written as U+FF1B (a full-width ';'),
 * and a control character, which would end the line, as U+FFFD. Stacks are
 * cut at FOLD_DEPTH frames: a deeper path's self time goes to its ancestor
 * at that depth under one more frame, "(deeper)".
 *
 * profile.pb.gz is pprof's profile.proto, gzipped: one location per path,
 * one function per name, one sample per path with values wall time (ns,
 * self) and tokens (input + output), labels category, and model and pid
 * where every span of the path agrees on them; a control character in a
 * name is written as U+FFFD, as pprof prints names raw. Its totals are the
 * analysis's: `pprof -top` sums to the self time of every span that found a
 * flame path (flame_paths_over_cap counts the others).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "gz.h"
#include "labels.h"
#include "pb.h"
#include "render.h"

#define FOLD_DEPTH	128

static void fold_name(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == ';')
			fputs("\xef\xbc\x9b", f);	/* U+FF1B */
		else if (*p < 0x20 || *p == 0x7f)
			fputs("\xef\xbf\xbd", f);
		else
			fputc(*p, f);
	}
}

/* Depth of every path (parents come first). */
static uint32_t *path_depths(const struct ap_analysis *a)
{
	uint32_t *d = malloc((a->npaths ? a->npaths : 1) * sizeof(*d));

	for (uint32_t p = 0; d && p < a->npaths; p++) {
		uint32_t pp = a->paths[p].parent;

		d[p] = pp == AP_NONE || pp >= p ? 0 : d[pp] + 1;
	}
	return d;
}

int ap_render_folded(const struct ap_run *r, FILE *f)
{
	const struct ap_analysis *a = r->analysis;
	uint32_t *depth, *chain = malloc(FOLD_DEPTH * sizeof(*chain));
	uint64_t *deeper = calloc(a && a->npaths ? a->npaths : 1, sizeof(*deeper));
	int ret = 0;

	if (!a) {
		free(chain);
		free(deeper);
		return -EINVAL;
	}
	depth = path_depths(a);
	if (!depth || !chain || !deeper) {
		ret = -ENOMEM;
		goto out;
	}
	/* Deep paths' self time to their ancestor at FOLD_DEPTH - 1. */
	for (uint32_t p = 0; p < a->npaths; p++) {
		uint32_t q = p;

		if (depth[p] < FOLD_DEPTH)
			continue;
		while (depth[q] > FOLD_DEPTH - 1)
			q = a->paths[q].parent;
		deeper[q] += a->paths[p].self_ns;
	}
	for (uint32_t p = 0; p < a->npaths; p++) {
		for (int pass = 0; pass < 2 && depth[p] < FOLD_DEPTH; pass++) {
			uint64_t ns = pass ? deeper[p] : a->paths[p].self_ns, us = (ns + 500) / 1000;
			uint32_t n = 0, q = p;
			char b[32];

			if (!us)
				continue;
			for (;;) {
				chain[n++] = q;
				if (a->paths[q].parent == AP_NONE || a->paths[q].parent >= q)
					break;
				q = a->paths[q].parent;
			}
			while (n--) {
				fold_name(f, ap_nm(a, a->paths[chain[n]].name, b));
				if (n)
					fputc(';', f);
			}
			fprintf(f, "%s %" PRIu64 "\n", pass ? ";(deeper)" : "", us);
		}
	}
out:
	free(depth);
	free(chain);
	free(deeper);
	return ret ? ret : ferror(f) ? -EIO : 0;
}

/* String table of the profile: interned through a map of name id ->
 * index, plus fixed strings first. */
enum { S_EMPTY, S_WALL, S_NS, S_TOKENS, S_COUNT, S_CATEGORY, S_MODEL, S_PID, S_CAT0, S_FIXED = S_CAT0 + AP_CAT_COUNT };

int ap_render_pprof(const struct ap_run *r, FILE *f)
{
	const struct ap_analysis *a = r->analysis;
	struct ap_pb b;
	struct ap_map fn = { 0 };	/* name id -> function id (= its string index) */
	uint32_t nstr = S_FIXED;
	uint64_t *strs = NULL;		/* name ids of strings S_FIXED.. */
	uint8_t *gz = NULL;
	size_t gzlen = 0;
	int ret = 0;
	char buf[32], comment[256];

	if (!a)
		return -EINVAL;
	ap_pb_init(&b);
	strs = malloc((2 * (size_t)a->npaths + 1) * sizeof(*strs));
	if (!strs || ap_map_init(&fn, 2 * a->npaths + 16, 0)) {
		ret = -ENOMEM;
		goto out;
	}
	/* Functions and model strings: one string per distinct name id. */
	for (uint32_t p = 0; p < a->npaths; p++) {
		uint64_t ids[2] = { a->paths[p].name, a->paths[p].model };

		for (int w = 0; w < 2; w++) {
			uint64_t key = ids[w] ? ids[w] : 1;

			if (w == 1 && (!ids[w] || ids[w] == AP_PATH_MIXED))
				continue;
			if (ap_map_get(&fn, key))
				continue;
			if (ap_map_put(&fn, key, nstr)) {
				ret = -ENOMEM;
				goto out;
			}
			strs[nstr++ - S_FIXED] = ids[w];
		}
	}
	ap_pb_open(&b, 1);			/* sample_type */
	ap_pb_varint(&b, 1, S_WALL);
	ap_pb_varint(&b, 2, S_NS);
	ap_pb_close(&b);
	ap_pb_open(&b, 1);
	ap_pb_varint(&b, 1, S_TOKENS);
	ap_pb_varint(&b, 2, S_COUNT);
	ap_pb_close(&b);
	for (uint32_t p = 0; p < a->npaths; p++) {
		const struct ap_path *ph = &a->paths[p];

		if (!ph->self_ns && !ph->tokens)
			continue;
		ap_pb_open(&b, 2);		/* sample */
		ap_pb_open(&b, 1);		/* location_id, packed, leaf first */
		for (uint32_t q = p, n = 0; n <= a->npaths; n++) {
			ap_pb_raw_varint(&b, (uint64_t)q + 1);
			if (a->paths[q].parent == AP_NONE || a->paths[q].parent >= q)
				break;
			q = a->paths[q].parent;
		}
		ap_pb_close(&b);
		ap_pb_open(&b, 2);		/* value, packed */
		ap_pb_raw_varint(&b, ph->self_ns);
		ap_pb_raw_varint(&b, ph->tokens);
		ap_pb_close(&b);
		ap_pb_open(&b, 3);		/* label category */
		ap_pb_varint(&b, 1, S_CATEGORY);
		ap_pb_varint(&b, 2, S_CAT0 + (ph->category < AP_CAT_COUNT ? ph->category : 0));
		ap_pb_close(&b);
		if (ph->model && ph->model != AP_PATH_MIXED) {
			ap_pb_open(&b, 3);
			ap_pb_varint(&b, 1, S_MODEL);
			ap_pb_varint(&b, 2, *ap_map_get(&fn, ph->model));
			ap_pb_close(&b);
		}
		if (ph->pid != AP_PATH_MIXED32) {
			ap_pb_open(&b, 3);
			ap_pb_varint(&b, 1, S_PID);
			ap_pb_varint(&b, 3, ph->pid);
			ap_pb_close(&b);
		}
		ap_pb_close(&b);
	}
	for (uint32_t p = 0; p < a->npaths; p++) {
		ap_pb_open(&b, 4);		/* location */
		ap_pb_varint(&b, 1, (uint64_t)p + 1);
		ap_pb_open(&b, 4);		/* line */
		ap_pb_varint(&b, 1, *ap_map_get(&fn, a->paths[p].name ? a->paths[p].name : 1));
		ap_pb_close(&b);
		ap_pb_close(&b);
	}
	for (uint32_t s = S_FIXED; s < nstr; s++) {
		/* A function per string that names a path (a model-only string
		 * gets one too: harmless, and simpler than telling them apart). */
		ap_pb_open(&b, 5);
		ap_pb_varint(&b, 1, s);
		ap_pb_varint(&b, 2, s);
		ap_pb_varint(&b, 3, s);
		ap_pb_close(&b);
	}
	{
		static const char *fixed[] = { "", "wall", "nanoseconds", "tokens", "count", "category", "model", "pid" };

		for (uint32_t s = 0; s < S_CAT0; s++)
			ap_pb_string(&b, 6, fixed[s]);
		for (uint8_t c = 0; c < AP_CAT_COUNT; c++)
			ap_pb_string(&b, 6, ap_cat_name(c));
		/* pprof prints names as they are: a control character would end
		 * a line of -top or reach the terminal. */
		for (uint32_t s = S_FIXED; s < nstr; s++) {
			char clean[AP_NAME_LINE_BUF];

			ap_pb_string(&b, 6, ap_name_line(ap_nm(a, strs[s - S_FIXED], buf), clean, sizeof(clean)));
		}
	}
	snprintf(comment, sizeof(comment), "agentprof %s: %s; %" PRIu64 " traces; self time per name path; "
		 "%" PRIu64 " spans found no flame path (table full)", AGENTPROF_VERSION, r->label ? r->label : "",
		 a->traces, a->paths_over_cap);
	ap_pb_string(&b, 6, comment);
	ap_pb_varint(&b, 10, r->duration_ns);	/* duration_nanos */
	ap_pb_open(&b, 11);			/* period_type */
	ap_pb_varint(&b, 1, S_WALL);
	ap_pb_varint(&b, 2, S_NS);
	ap_pb_close(&b);
	ap_pb_varint(&b, 12, 1);		/* period */
	ap_pb_open(&b, 13);			/* comment, packed */
	ap_pb_raw_varint(&b, nstr);
	ap_pb_close(&b);
	ap_pb_varint(&b, 14, S_WALL);		/* default_sample_type */
	if (b.err) {
		ret = b.err;
		goto out;
	}
	ret = ap_gzip(b.p, b.len, &gz, &gzlen);
	if (!ret && fwrite(gz, 1, gzlen, f) != gzlen)
		ret = -EIO;
out:
	ap_pb_free(&b);
	ap_map_free(&fn);
	free(strs);
	free(gz);
	return ret ? ret : ferror(f) ? -EIO : 0;
}
