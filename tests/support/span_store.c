/* SPDX-License-Identifier: MIT */
/* span_store.c - a flat store of spans, indexed by id (span_store.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "span_store.h"

int ap_spans_init(struct ap_spans *s, uint32_t max_spans)
{
	memset(s, 0, sizeof(*s));
	s->max = max_spans;
	return ap_map_init(&s->index, 1024, max_spans);
}

void ap_spans_free(struct ap_spans *s)
{
	free(s->v);
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

int ap_spans_put(struct ap_spans *s, const struct ap_span *sp)
{
	struct ap_span *d = ap_spans_find(s, sp->id);

	if (d) {
		s->duplicates++;
	} else if (!(d = get_or_add(s, sp->id))) {
		s->over_cap++;
		return -ENOSPC;
	}
	*d = *sp;
	return 0;
}
