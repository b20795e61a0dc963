/* SPDX-License-Identifier: MIT */
/*
 * render_speedscope.c - profile.speedscope.json: speedscope's own file
 * format (https://www.speedscope.app/file-format-schema.json), written
 * here rather than through speedscope's Chrome importer.
 *
 * Profiles are "evented" (open and close events, nanoseconds): first all
 * traces merged by name path (every trace, not only the kept ones: the flame
 * paths of the analysis), then one per kept trace, slowest first. One
 * evented profile is one stack over time, which concurrent siblings are
 * not: a child that starts before its previous sibling closed is placed
 * right after it, and a parent closes no earlier than its last child. A
 * trace without concurrency keeps its real timeline exactly; one with
 * concurrency shows its work laid end to end (Perfetto's trace.json shows
 * the real overlap). Frame names are on one line (a control character is
 * U+FFFD), as speedscope shows them. The merged profile lays each path's children end to
 * end from the path's start, its width its total time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "json.h"
#include "labels.h"
#include "render.h"

struct frames {
	struct ap_map index;	/* name id (0 as 1) -> frame + 1 */
	uint32_t n;
};

static uint64_t key_of(uint64_t name)
{
	return name ? name : 1;
}

/* Collect the distinct names of the paths and kept traces. */
static int frames_collect(struct frames *fr, const struct ap_analysis *a)
{
	uint32_t want = a->npaths + 16;

	for (uint32_t t = 0; t < a->nkept; t++)
		want += ap_analysis_kept(a, t)->n;
	if (ap_map_init(&fr->index, want, 0))
		return -ENOMEM;
	fr->n = 0;
	for (uint32_t p = 0; p < a->npaths; p++)
		if (!ap_map_get(&fr->index, key_of(a->paths[p].name))) {
			if (ap_map_put(&fr->index, key_of(a->paths[p].name), ++fr->n))
				return -ENOMEM;
		}
	for (uint32_t t = 0; t < a->nkept; t++) {
		const struct ap_kept *k = ap_analysis_kept(a, t);

		for (uint32_t i = 0; i < k->n; i++)
			if (!ap_map_get(&fr->index, key_of(k->v[i].name)) &&
			    ap_map_put(&fr->index, key_of(k->v[i].name), ++fr->n))
				return -ENOMEM;
	}
	return 0;
}

static uint32_t frame(const struct frames *fr, uint64_t name)
{
	const uint64_t *v = ap_map_get(&fr->index, key_of(name));

	return v ? (uint32_t)*v - 1 : 0;
}

static void ev(struct ap_json *j, const char *type, uint32_t fr, uint64_t at)
{
	ap_json_obj(j, NULL);
	ap_json_str(j, "type", type);
	ap_json_u64(j, "frame", fr);
	ap_json_u64(j, "at", at);
	ap_json_end_obj(j);
}

/* Layout state of one open node. */
struct open_node {
	uint32_t i;
	uint32_t pos;		/* next child */
	uint64_t o;		/* open time */
	uint64_t cursor;	/* where the next child may start */
};

/* One kept trace as an evented profile. */
static int trace_profile(struct ap_json *j, const struct ap_analysis *a, const struct frames *fr,
			 const struct ap_kept *k, uint32_t rank, struct open_node *st)
{
	uint64_t end = 0;
	uint32_t sp = 0;
	char b[32], title[AP_NAME_MAX + 96];

	snprintf(title, sizeof(title), "trace %u: %s, %.3f ms (kept: %s)", rank + 1, ap_nm(a, k->v[k->root].name, b),
		 ap_ms(k->dur[k->root]), ap_keep_rule_name(k->rule));
	ap_json_obj(j, NULL);
	ap_json_str(j, "type", "evented");
	ap_json_str(j, "name", title);
	ap_json_str(j, "unit", "nanoseconds");
	ap_json_u64(j, "startValue", 0);
	ap_json_arr(j, "events");
	st[sp++] = (struct open_node){ .i = k->root, .pos = k->child_off[k->root], .o = 0, .cursor = 0 };
	ev(j, "O", frame(fr, k->v[k->root].name), 0);
	while (sp) {
		struct open_node *top = &st[sp - 1];
		uint32_t i = top->i;

		if (top->pos < k->child_off[i + 1] && sp < k->n) {
			uint32_t c = k->child_idx[top->pos++];
			uint64_t want = top->o + ap_ticks_delta_ns(&a->clock, k->v[i].t_begin, k->v[c].t_begin);
			uint64_t o = want > top->cursor ? want : top->cursor;

			ev(j, "O", frame(fr, k->v[c].name), o);
			st[sp++] = (struct open_node){ .i = c, .pos = k->child_off[c], .o = o, .cursor = o };
			continue;
		}
		end = top->o + k->dur[i];
		if (top->cursor > end)
			end = top->cursor;
		ev(j, "C", frame(fr, k->v[i].name), end);
		sp--;
		if (sp)
			st[sp - 1].cursor = end;
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "endValue", end);
	ap_json_end_obj(j);
	return 0;
}

/* The flame paths as one evented profile. */
static int merged_profile(struct ap_json *j, const struct ap_analysis *a, const struct frames *fr)
{
	uint32_t n = a->npaths, *off = calloc(n + 2, sizeof(*off)), *kids = malloc((n ? n : 1) * sizeof(*kids));
	struct open_node *st = malloc((n + 1) * sizeof(*st));
	uint64_t cursor = 0;
	int ret = 0;

	if (!off || !kids || !st) {
		ret = -ENOMEM;
		goto out;
	}
	/* Children lists (CSR), in path order; roots under the virtual n. */
	for (uint32_t p = 0; p < n; p++)
		off[(a->paths[p].parent == AP_NONE || a->paths[p].parent >= p ? n : a->paths[p].parent) + 1]++;
	for (uint32_t p = 0; p <= n; p++)
		off[p + 1] += off[p];
	{
		uint32_t *fill = malloc((n + 1) * sizeof(*fill));

		if (!fill) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(fill, off, (n + 1) * sizeof(*fill));
		for (uint32_t p = 0; p < n; p++)
			kids[fill[a->paths[p].parent == AP_NONE || a->paths[p].parent >= p ? n : a->paths[p].parent]++] = p;
		free(fill);
	}
	ap_json_obj(j, NULL);
	ap_json_str(j, "type", "evented");
	ap_json_str(j, "name", "all traces merged by name path");
	ap_json_str(j, "unit", "nanoseconds");
	ap_json_u64(j, "startValue", 0);
	ap_json_arr(j, "events");
	for (uint32_t r = off[n]; r < off[n + 1]; r++) {
		uint32_t sp = 0;

		st[sp++] = (struct open_node){ .i = kids[r], .pos = off[kids[r]], .o = cursor, .cursor = cursor };
		ev(j, "O", frame(fr, a->paths[kids[r]].name), cursor);
		while (sp) {
			struct open_node *top = &st[sp - 1];
			uint32_t p = top->i;
			uint64_t end;

			if (top->pos < off[p + 1] && sp <= n) {
				uint32_t c = kids[top->pos++];

				ev(j, "O", frame(fr, a->paths[c].name), top->cursor);
				st[sp] = (struct open_node){ .i = c, .pos = off[c], .o = top->cursor, .cursor = top->cursor };
				sp++;
				continue;
			}
			end = top->o + a->paths[p].total_ns;
			if (top->cursor > end)
				end = top->cursor;
			ev(j, "C", frame(fr, a->paths[p].name), end);
			sp--;
			if (sp)
				st[sp - 1].cursor = end;
			else
				cursor = end;
		}
	}
	ap_json_end_arr(j);
	ap_json_u64(j, "endValue", cursor);
	ap_json_end_obj(j);
out:
	free(off);
	free(kids);
	free(st);
	return ret;
}

int ap_render_speedscope(const struct ap_run *r, FILE *f)
{
	const struct ap_analysis *a = r->analysis;
	struct frames fr = { 0 };
	struct open_node *st = NULL;
	uint32_t most = 1;
	struct ap_json j;
	int ret;

	if (!a)
		return -EINVAL;
	ret = frames_collect(&fr, a);
	for (uint32_t t = 0; t < a->nkept; t++)
		if (ap_analysis_kept(a, t)->n > most)
			most = ap_analysis_kept(a, t)->n;
	st = ret ? NULL : malloc(most * sizeof(*st));
	if (!ret && !st)
		ret = -ENOMEM;
	if (ret)
		goto out;
	ap_json_init(&j, f);
	ap_json_obj(&j, NULL);
	ap_json_str(&j, "$schema", "https://www.speedscope.app/file-format-schema.json");
	ap_json_obj(&j, "shared");
	ap_json_arr(&j, "frames");
	{
		/* Frames in index order: invert the map. */
		uint64_t *names = malloc((fr.n ? fr.n : 1) * sizeof(*names));

		if (!names) {
			ret = -ENOMEM;
			goto out;
		}
		for (uint32_t s = 0; s <= fr.index.mask; s++)
			if (fr.index.keys[s])
				names[fr.index.vals[s] - 1] = fr.index.keys[s] == 1 ? 0 : fr.index.keys[s];
		for (uint32_t q = 0; q < fr.n; q++) {
			char b[32], line[AP_NAME_LINE_BUF];

			ap_json_obj(&j, NULL);
			ap_json_str(&j, "name", ap_name_line(ap_nm(a, names[q], b), line, sizeof(line)));
			ap_json_end_obj(&j);
		}
		free(names);
	}
	ap_json_end_arr(&j);
	ap_json_end_obj(&j);
	ap_json_arr(&j, "profiles");
	ret = merged_profile(&j, a, &fr);
	for (uint32_t t = 0; t < a->nkept && !ret; t++)
		ret = trace_profile(&j, a, &fr, ap_analysis_kept(a, t), t, st);
	ap_json_end_arr(&j);
	ap_json_str(&j, "name", r->label ? r->label : "agentprof");
	ap_json_u64(&j, "activeProfileIndex", 0);
	ap_json_str(&j, "exporter", "agentprof " AGENTPROF_VERSION);
	ap_json_end_obj(&j);
	if (!ret)
		ret = j.err;
out:
	ap_map_free(&fr.index);
	free(st);
	if (!ret && ferror(f))
		ret = -EIO;
	return ret;
}
