/* SPDX-License-Identifier: MIT */
/*
 * memory.c - RSS series per process, the traces held until sampled past,
 * and the per-operation histogram (memory.h says what and why). The
 * attribution of a trace's samples to its spans is memattr.c.
 *
 * Workload: a round every 20 ms over every process with a lane (tens to a
 * few thousand), so ap_mem_add is one hash lookup and two stores; the
 * compaction of a full series (128 moves) runs once per 128 kept samples.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assemble.h"
#include "memory.h"

int ap_mem_init(struct ap_memory *m, uint64_t interval_ns, const struct ap_clock_cal *clock)
{
	memset(m, 0, sizeof(*m));
	if (interval_ns > (uint64_t)AP_MEM_INTERVAL_MAX_MS * 1000000u)
		return -EINVAL;
	m->interval_ns = interval_ns;
	m->clock = *clock;
	if (ap_map_init(&m->index, 64, AP_MEM_PROCS))
		return -ENOMEM;
	m->bytes = 64 * 2 * sizeof(uint64_t);
	return 0;
}

void ap_mem_free(struct ap_memory *m)
{
	for (uint32_t i = 0; i < m->nseries; i++)
		free(m->series[i].s);
	free(m->series);
	ap_map_free(&m->index);
	memset(m, 0, sizeof(*m));
}

void ap_mem_round(struct ap_memory *m, uint64_t ticks)
{
	m->rounds++;
	if (ticks > m->last_round)
		m->last_round = ticks;
}

const struct ap_mem_series *ap_mem_find(const struct ap_memory *m, uint32_t pid)
{
	const uint64_t *idx = ap_map_get(&m->index, pid);

	return idx ? &m->series[*idx] : NULL;
}

void ap_mem_count_trace(struct ap_memory *m, uint32_t pid)
{
	uint64_t *idx;

	/* One process's traces come in runs (a lane at a time): the last
	 * series found first. A series, once made, stays at its index. */
	if (m->memo && m->memo_pid == pid) {
		m->series[m->memo - 1].traces++;
		return;
	}
	idx = ap_map_get(&m->index, pid);
	if (idx) {
		m->memo_pid = pid;
		m->memo = (uint32_t)*idx + 1;
		m->series[*idx].traces++;
	}
}

void ap_mem_count_roots(struct ap_memory *m, const struct ap_trace_view *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->parent[i] == AP_NONE)
			ap_mem_count_trace(m, t->v[i].pid);
}

static struct ap_mem_series *series_new(struct ap_memory *m, uint32_t pid)
{
	struct ap_mem_series *s;

	if (m->nseries == AP_MEM_PROCS)
		return NULL;
	if (m->nseries == m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 16;
		struct ap_mem_series *p;

		if (cap > AP_MEM_PROCS)
			cap = AP_MEM_PROCS;
		p = realloc(m->series, cap * sizeof(*p));
		if (!p)
			return NULL;
		m->bytes += (cap - m->cap) * sizeof(*p);
		m->series = p;
		m->cap = cap;
	}
	s = &m->series[m->nseries];
	memset(s, 0, sizeof(*s));
	s->s = malloc((AP_MEM_SAMPLES + AP_MEM_RECENT) * sizeof(*s->s));
	if (!s->s)
		return NULL;
	if (ap_map_put(&m->index, pid, m->nseries)) {
		free(s->s);
		return NULL;
	}
	m->bytes += (AP_MEM_SAMPLES + AP_MEM_RECENT) * sizeof(*s->s);
	s->recent = s->s + AP_MEM_SAMPLES;
	s->pid = pid;
	s->stride = 1;
	m->nseries++;
	return s;
}

int ap_mem_add(struct ap_memory *m, uint32_t pid, uint64_t ticks, uint32_t rss_kib, uint32_t anon_kib)
{
	uint64_t *idx = ap_map_get(&m->index, pid);
	struct ap_mem_sample x = { ticks, rss_kib, anon_kib };
	struct ap_mem_series *s;

	if (pid == 0) {
		m->samples_bad++;
		return -EINVAL;
	}
	if (idx) {
		s = &m->series[*idx];
	} else {
		uint32_t mask = m->index.mask;

		s = series_new(m, pid);
		if (!s) {
			if (m->nseries < AP_MEM_PROCS)
				return -ENOMEM;
			m->procs_over_cap++;
			return -ENOSPC;
		}
		if (m->index.mask != mask)
			m->bytes += ((uint64_t)m->index.mask - mask) * 2 * sizeof(uint64_t);
	}
	if (s->taken && ticks < s->last.ticks) {
		m->samples_bad++;	/* time runs backwards: a damaged log */
		return -EINVAL;
	}
	if (!s->taken) {
		s->first = s->peak = x;
	} else if (rss_kib > s->peak.rss_kib) {
		s->peak = x;
	}
	s->last = x;
	s->recent[s->rhead] = x;
	s->rhead = (s->rhead + 1) % AP_MEM_RECENT;
	if (s->rn < AP_MEM_RECENT)
		s->rn++;
	if (s->taken % s->stride == 0) {
		if (s->n == AP_MEM_SAMPLES) {
			/* Keep every other: sample j was number j * stride. */
			for (uint32_t j = 0; j < AP_MEM_SAMPLES / 2; j++)
				s->s[j] = s->s[2 * j];
			s->n = AP_MEM_SAMPLES / 2;
			s->stride *= 2;
		}
		if (s->taken % s->stride == 0)
			s->s[s->n++] = x;
	}
	s->taken++;
	m->samples++;
	return 0;
}

static double secs(const struct ap_memory *m, uint64_t from, uint64_t to)
{
	return (double)ap_ticks_delta_ns(&m->clock, from, to) / 1e9;
}

void ap_mem_fit(const struct ap_memory *m, const struct ap_mem_series *s, double *slope, double *r2)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, n, vx, vy, cxy;
	uint32_t k = s->n + (s->n && s->last.ticks != s->s[s->n - 1].ticks);

	*slope = 0;
	*r2 = 0;
	if (k < 3)
		return;
	for (uint32_t i = 0; i < k; i++) {
		const struct ap_mem_sample *p = i < s->n ? &s->s[i] : &s->last;
		double x = secs(m, s->first.ticks, p->ticks), y = (double)p->rss_kib - (double)s->first.rss_kib;

		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		syy += y * y;
	}
	n = (double)k;
	vx = sxx - sx * sx / n;
	vy = syy - sy * sy / n;
	cxy = sxy - sx * sy / n;
	if (vx <= 1e-12)
		return;
	*slope = cxy / vx;
	*r2 = vy <= 1e-12 ? 1.0 : (cxy * cxy) / (vx * vy);
	if (*r2 > 1.0)
		*r2 = 1.0;
}

int ap_mem_steady_growth(const struct ap_memory *m, const struct ap_mem_series *s, double *slope, double *r2)
{
	int64_t growth = (int64_t)s->last.rss_kib - (int64_t)s->first.rss_kib;

	ap_mem_fit(m, s, slope, r2);
	return s->taken >= 10 && growth >= (int64_t)AP_MEM_GROWTH_MIN_KIB && growth * 10 >= (int64_t)s->first.rss_kib &&
	       *slope > 0 && *r2 >= 0.8;
}

uint32_t ap_mem_window(const struct ap_mem_series *s, uint64_t from, uint64_t to, struct ap_mem_sample *out,
		       uint32_t max)
{
	uint32_t n = 0, oldest = (s->rhead + AP_MEM_RECENT - s->rn) % AP_MEM_RECENT;
	uint64_t ring_t0 = s->rn ? s->recent[oldest].ticks : UINT64_MAX;
	uint32_t lo = 0, hi = s->n;

	/* Kept samples before the ring: the last one at or before `from`,
	 * then those up to `to`. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->s[mid].ticks <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo ? lo - 1 : 0; i < s->n && n < max && s->s[i].ticks < ring_t0; i++) {
		out[n++] = s->s[i];
		if (s->s[i].ticks >= to)
			return n;
	}
	/* Then the ring, from the last sample at or before `from`. */
	lo = 0;
	hi = s->rn;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->recent[(oldest + mid) % AP_MEM_RECENT].ticks <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo ? lo - 1 : 0; i < s->rn && n < max; i++) {
		const struct ap_mem_sample *p = &s->recent[(oldest + i) % AP_MEM_RECENT];

		if (n && p->ticks <= out[n - 1].ticks)
			continue;
		out[n++] = *p;
		if (p->ticks >= to)
			break;
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* Held traces                                                               */

void ap_mem_hold_free(struct ap_mem_hold *h)
{
	for (int k = 0; k < 2; k++) {
		free(h->bank[k].v);
		free(h->bank[k].parent);
		free(h->bank[k].deps);
		free(h->bank[k].t);
	}
	memset(h, 0, sizeof(*h));
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, (size_t)c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static void view_of(const struct ap_mem_bank *b, const struct ap_mem_held *x, struct ap_trace_view *t)
{
	*t = (struct ap_trace_view){
		.v = b->v + x->v_off,
		.parent = b->parent + x->v_off,
		.n = x->n,
		.deps = x->nd ? b->deps + x->d_off : NULL,	/* no deps held: no pool */
		.ndeps = x->nd,
		.complete = x->complete,
		.t_last = x->t_last,
	};
}

/* Append a copy of t, ending at `end`, to bank b: 0 or -ENOMEM. */
static int bank_add(struct ap_mem_bank *b, const struct ap_trace_view *t, uint64_t end)
{
	struct ap_mem_held *x;
	uint32_t pcap = b->vcap;	/* parent has (at least) v's capacity */

	if ((b->nv + t->n > b->vcap || b->nd + t->ndeps > b->dcap || b->nt + 1 > b->tcap) &&
	    (grow((void **)&b->parent, &pcap, b->nv + t->n, sizeof(*b->parent)) ||
	     grow((void **)&b->v, &b->vcap, b->nv + t->n, sizeof(*b->v)) ||
	     grow((void **)&b->deps, &b->dcap, b->nd + t->ndeps, sizeof(*b->deps)) ||
	     grow((void **)&b->t, &b->tcap, b->nt + 1, sizeof(*b->t))))
		return -ENOMEM;
	x = &b->t[b->nt++];
	x->end = end;
	x->t_last = t->t_last;
	x->v_off = b->nv;
	x->n = t->n;
	x->d_off = b->nd;
	x->nd = t->ndeps;
	x->complete = (uint8_t)(t->complete != 0);
	x->state = AP_MEM_WAIT;
	memcpy(b->v + b->nv, t->v, (size_t)t->n * sizeof(*t->v));
	memcpy(b->parent + b->nv, t->parent, (size_t)t->n * sizeof(*t->parent));
	if (t->ndeps)
		memcpy(b->deps + b->nd, t->deps, (size_t)t->ndeps * sizeof(*t->deps));
	b->nv += t->n;
	b->nd += t->ndeps;
	return 0;
}

void ap_mem_hold(struct ap_mem_hold *h, const struct ap_trace_view *t, ap_mem_trace_fn fn, void *ctx)
{
	uint64_t end = 0;

	if (t->n == 0 || t->n > AP_MEM_HOLD_SPANS) {
		ap_mem_finish(h, fn, ctx);
		fn(ctx, t);
		return;
	}
	if (h->nwait + t->n > AP_MEM_HOLD_SPANS) {
		ap_mem_finish(h, fn, ctx);
		h->released_early += h->nwaiting;
		ap_mem_release(h, UINT64_MAX, fn, ctx);
	}
	for (uint32_t i = 0; i < t->n; i++) {
		const struct ap_span *sp = &t->v[i];
		uint64_t e = (sp->have & AP_SPAN_HAVE_END) ? sp->t_end : sp->t_end > sp->t_begin ? sp->t_end : sp->t_begin;

		if (e > end)
			end = e;
	}
	if (bank_add(&h->bank[h->cur], t, end)) {
		ap_mem_finish(h, fn, ctx);
		fn(ctx, t);
		return;
	}
	h->nwait += t->n;
	h->nwaiting++;
}

void ap_mem_offer(const struct ap_memory *m, struct ap_mem_hold *h, const struct ap_trace_view *t,
		  ap_mem_trace_fn fn, void *ctx)
{
	if (m->interval_ns)
		ap_mem_hold(h, t, fn, ctx);
	else
		fn(ctx, t);
}

uint32_t ap_mem_step(struct ap_mem_hold *h, uint32_t spans, ap_mem_trace_fn fn, void *ctx)
{
	struct ap_mem_bank *b = &h->bank[!h->cur];
	uint32_t gone = 0;

	if (!h->nready)
		return 0;
	while (h->nready && gone < spans && h->next < b->nt) {
		struct ap_mem_held *x = &b->t[h->next++];
		struct ap_trace_view t;

		if (x->state != AP_MEM_READY)
			continue;
		x->state = AP_MEM_DONE;
		h->nready--;
		gone += x->n;
		view_of(b, x, &t);
		fn(ctx, &t);
	}
	/* Every ready trace sits at or after next, so at the bank's end none is
	 * left; the reset only keeps ap_mem_finish's loop finite should that
	 * ever not hold (tests/unit/memattr.c counts every trace handed on). */
	if (h->next >= b->nt)
		h->nready = 0;
	if (!h->nready)
		b->nt = b->nv = b->nd = h->next = 0;	/* the bank is empty again */
	return h->nready;
}

/*
 * The bank that collected the traces since the last round becomes the one
 * handed on, and the other (empty) collects from now. A trace of it that
 * has not ended by `ticks` (its clock ahead of the reader's) still waits: it
 * is copied to the front of the collecting bank, before any trace that
 * comes later, so every later round still finds the traces in the order
 * they came.
 */
void ap_mem_ready(struct ap_mem_hold *h, uint64_t ticks, ap_mem_trace_fn fn, void *ctx)
{
	struct ap_mem_bank *b;

	ap_mem_finish(h, fn, ctx);
	h->cur = !h->cur;
	b = &h->bank[!h->cur];
	h->next = 0;
	for (uint32_t i = 0; i < b->nt; i++) {
		struct ap_mem_held *x = &b->t[i];
		struct ap_trace_view t;

		if (x->end <= ticks) {
			x->state = AP_MEM_READY;
			h->nready++;
			h->nwait -= x->n;
			h->nwaiting--;
			continue;
		}
		view_of(b, x, &t);
		if (bank_add(&h->bank[h->cur], &t, x->end) == 0) {
			x->state = AP_MEM_DONE;
			continue;
		}
		/* No memory to keep it waiting: handed on now, in its place. */
		x->state = AP_MEM_READY;
		h->nready++;
		h->nwait -= x->n;
		h->nwaiting--;
	}
	if (!h->nready)
		b->nt = b->nv = b->nd = 0;
}

void ap_mem_release(struct ap_mem_hold *h, uint64_t ticks, ap_mem_trace_fn fn, void *ctx)
{
	ap_mem_ready(h, ticks, fn, ctx);
	ap_mem_finish(h, fn, ctx);
}

/* ------------------------------------------------------------------------ */
/* Per-operation histogram of signed KiB changes                             */

static uint32_t hidx(uint64_t v)
{
	uint32_t e;

	if (v < AP_MEM_HEXACT)
		return (uint32_t)v;
	if (v >= (UINT64_C(1) << 41))
		v = (UINT64_C(1) << 41) - 1;
	e = 63u - (uint32_t)__builtin_clzll(v);		/* 4..40 */
	return AP_MEM_HEXACT + (e - 4u) * 16u + (uint32_t)((v >> (e - 4u)) - 16u);
}

/* The middle of bucket i. */
static double hmid(uint32_t i)
{
	uint32_t e, sub;
	double lo, width;

	if (i < AP_MEM_HEXACT)
		return (double)i;
	e = (i - AP_MEM_HEXACT) / 16u + 4u;
	sub = (i - AP_MEM_HEXACT) % 16u;
	width = ldexp(1.0, (int)e - 4);
	lo = ldexp(1.0, (int)e) + sub * width;
	return lo + (width - 1) / 2;
}

void ap_op_mem_add(struct ap_op_mem *o, int64_t kib)
{
	if (!o->measured || kib > o->max_kib)
		o->max_kib = kib;
	o->measured++;
	o->total_kib += kib;
	if (kib >= 0)
		o->pos[hidx((uint64_t)kib)]++;
	else
		o->neg[hidx(kib == INT64_MIN ? UINT64_MAX : (uint64_t)-kib)]++;
}

void ap_op_mem_merge(struct ap_op_mem *dst, const struct ap_op_mem *src)
{
	if (src->measured && (!dst->measured || src->max_kib > dst->max_kib))
		dst->max_kib = src->max_kib;
	dst->measured += src->measured;
	dst->not_measurable += src->not_measurable;
	dst->total_kib += src->total_kib;
	for (uint32_t i = 0; i < AP_MEM_HBUCKETS; i++) {
		dst->pos[i] += src->pos[i];
		dst->neg[i] += src->neg[i];
	}
}

int64_t ap_op_mem_quantile(const struct ap_op_mem *o, double q)
{
	uint64_t rank, seen = 0;

	if (!o->measured)
		return 0;
	rank = (uint64_t)ceil(q * (double)o->measured);
	if (rank < 1)
		rank = 1;
	if (rank > o->measured)
		rank = o->measured;
	for (uint32_t i = AP_MEM_HBUCKETS; i-- > 0;) {	/* most negative first */
		seen += o->neg[i];
		if (seen >= rank)
			return -(int64_t)llround(hmid(i));
	}
	for (uint32_t i = 0; i < AP_MEM_HBUCKETS; i++) {
		seen += o->pos[i];
		if (seen >= rank) {
			int64_t v = (int64_t)llround(hmid(i));

			return v > o->max_kib ? o->max_kib : v;
		}
	}
	return o->max_kib;
}
