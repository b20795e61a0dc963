/* SPDX-License-Identifier: MIT */
/*
 * spans.c - pairing store. One hash lookup per event; spans live in one
 * array so that the analysis can walk them without chasing pointers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentprof.h"
#include "spans.h"

#define DEPS_MAX	(1u << 22)

int ap_spans_init(struct ap_spans *s, uint32_t max_spans)
{
	memset(s, 0, sizeof(*s));
	s->max = max_spans;
	s->deps_max = DEPS_MAX;
	return ap_map_init(&s->index, 1024, max_spans);
}

void ap_spans_free(struct ap_spans *s)
{
	free(s->v);
	free(s->deps);
	ap_map_free(&s->index);
	memset(s, 0, sizeof(*s));
}

struct ap_span *ap_spans_find(const struct ap_spans *s, uint64_t id)
{
	uint64_t *idx = ap_map_get(&s->index, id);

	return idx ? &s->v[*idx - 1] : NULL;
}

/* The span with id, created empty if new; NULL past the cap. */
static struct ap_span *get_or_add(struct ap_spans *s, uint64_t id)
{
	struct ap_span *sp = ap_spans_find(s, id);

	if (sp)
		return sp;
	if (s->n >= s->max)
		return NULL;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 1024;
		struct ap_span *v;

		if (cap > s->max)
			cap = s->max;
		v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	if (ap_map_put(&s->index, id, s->n + 1))
		return NULL;
	sp = &s->v[s->n++];
	memset(sp, 0, sizeof(*sp));
	sp->id = id;
	return sp;
}

int ap_spans_event(void *ctx, uint32_t pid, const struct ap_event *ev)
{
	struct ap_spans *s = ctx;
	struct ap_span *sp;

	if (ev->span_id == 0 || ev->span_id == UINT64_MAX) {
		s->invalid++;
		return -1;
	}
	switch (ev->kind) {
	case AP_EV_BEGIN:
		/* A span that names itself as parent is kept: the tree builder
		 * counts it and makes it a root. */
		if (ev->category >= AP_CAT_COUNT || (ev->flags & ~AP_EVF_ALL)) {
			s->invalid++;
			return -1;
		}
		sp = get_or_add(s, ev->span_id);
		if (!sp) {
			s->over_cap++;
			return 0;
		}
		if (sp->have & AP_SPAN_HAVE_BEGIN) {
			s->duplicate_begin++;
			return 0;
		}
		sp->have |= AP_SPAN_HAVE_BEGIN;
		sp->parent = ev->u.begin.parent_id;
		sp->trace_hi = ev->u.begin.trace_hi;
		sp->trace_lo = ev->u.begin.trace_lo;
		sp->name = ev->u.begin.name_id;
		sp->t_begin = ev->ts;
		sp->pid = pid;
		sp->tid_begin = ev->tid;
		sp->flags = ev->flags;
		sp->category = ev->category;
		s->begins++;
		return 0;
	case AP_EV_END:
		sp = get_or_add(s, ev->span_id);
		if (!sp) {
			s->over_cap++;
			return 0;
		}
		if (sp->have & AP_SPAN_HAVE_END) {
			s->duplicate_end++;
			return 0;
		}
		sp->have |= AP_SPAN_HAVE_END;
		sp->t_end = ev->ts;
		sp->tid_end = ev->tid;
		s->ends++;
		return 0;
	case AP_EV_TOKENS:
		sp = get_or_add(s, ev->span_id);
		if (!sp) {
			s->over_cap++;
			return 0;
		}
		if (sp->have & AP_SPAN_HAVE_TOKENS)
			s->duplicate_tokens++;
		sp->have |= AP_SPAN_HAVE_TOKENS;
		sp->model = ev->u.tokens.model_id;
		sp->input_tokens = ev->u.tokens.input_tokens;
		sp->output_tokens = ev->u.tokens.output_tokens;
		s->tokens++;
		return 0;
	case AP_EV_DEPENDS:
		if (ev->u.depends.on_span == 0 || ev->u.depends.on_span == ev->span_id) {
			s->invalid++;
			return -1;
		}
		if (s->ndeps == s->deps_cap) {
			uint32_t cap = s->deps_cap ? s->deps_cap * 2 : 256;
			struct ap_dep *d;

			if (cap > s->deps_max || !(d = realloc(s->deps, cap * sizeof(*d)))) {
				s->over_cap++;
				return 0;
			}
			s->deps = d;
			s->deps_cap = cap;
		}
		s->deps[s->ndeps].span = ev->span_id;
		s->deps[s->ndeps].on_span = ev->u.depends.on_span;
		s->ndeps++;
		s->depends++;
		return 0;
	default:
		s->invalid++;
		return -1;
	}
}

void ap_spans_count(const struct ap_spans *s, struct ap_span_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; i < s->n; i++) {
		uint8_t h = s->v[i].have & (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END);

		if (h == (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END))
			c->complete++;
		else if (h == AP_SPAN_HAVE_BEGIN)
			c->open++;
		else if (h == AP_SPAN_HAVE_END)
			c->unmatched_end++;
		else
			c->tokens_only++;
	}
}
