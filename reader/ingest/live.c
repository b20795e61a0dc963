/* SPDX-License-Identifier: MIT */
/*
 * live.c - the live view's counters and its snapshot (live.h).
 *
 * Cost on the drain: one lookup per BEGIN (its operation) and per END (its
 * span in the assembler, then its operation), a few adds. The snapshot,
 * once a second, walks the spans in flight and the operations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_atomic.h"
#include "live.h"

struct ap_live_op {
	uint64_t name;
	uint8_t category;
	uint64_t bsec[AP_LIVE_WINDOW];
	uint64_t starts[AP_LIVE_WINDOW], done[AP_LIVE_WINDOW], errors[AP_LIVE_WINDOW];
	uint64_t busy_ns[AP_LIVE_WINDOW];
	uint64_t dur_ns[AP_LIVE_SAMPLES], dur_sec[AP_LIVE_SAMPLES];
	uint32_t ndur, next;
	uint64_t in_flight;		/* scratch of a snapshot */
};

int ap_top_init(struct ap_top *t)
{
	memset(t, 0, sizeof(*t));
	t->ops = calloc(AP_TOP_OPS_MAX, sizeof(*t->ops));
	return t->ops ? 0 : -ENOMEM;
}

void ap_top_free(struct ap_top *t)
{
	free(t->ops);
	t->ops = NULL;
}

int ap_live_init(struct ap_live *l, const struct ap_assembler *as, const struct ap_clock_cal *clock,
		 uint64_t now_ns)
{
	memset(l, 0, sizeof(*l));
	l->as = as;
	l->clock = clock;
	l->t0_ns = now_ns;
	l->ops = calloc(AP_LIVE_OPS_MAX, sizeof(*l->ops));
	l->proc_starts = calloc(AP_LIVE_PROCS_MAX, sizeof(*l->proc_starts));
	if (!l->ops || !l->proc_starts || ap_map_init(&l->op_index, 64, AP_LIVE_OPS_MAX) ||
	    ap_map_init(&l->procs, 64, AP_LIVE_PROCS_MAX)) {
		ap_live_free(l);
		return -ENOMEM;
	}
	return 0;
}

void ap_live_free(struct ap_live *l)
{
	free(l->ops);
	free(l->proc_starts);
	ap_map_free(&l->op_index);
	ap_map_free(&l->procs);
	memset(l, 0, sizeof(*l));
}

void ap_live_tick(struct ap_live *l, uint64_t now_ns)
{
	uint64_t sec = now_ns > l->t0_ns ? (now_ns - l->t0_ns) / 1000000000u : 0;
	uint64_t from = sec - l->sec > AP_LIVE_WINDOW ? sec - AP_LIVE_WINDOW + 1 : l->sec + 1;

	if (sec <= l->sec)
		return;
	for (uint64_t s = from; s <= sec; s++) {
		uint32_t b = (uint32_t)(s % AP_LIVE_WINDOW);

		l->bucket_sec[b] = s;
		l->events[b] = l->tokens[b] = 0;
		for (uint32_t p = 0; p < l->nprocs; p++)
			l->proc_starts[p][b] = 0;
	}
	l->sec = sec;
}

static inline uint32_t bucket(const struct ap_live *l)
{
	return (uint32_t)(l->sec % AP_LIVE_WINDOW);
}

/* The operation (name, category), its current bucket made current; NULL
 * past the cap (counted). */
static struct ap_live_op *op_of(struct ap_live *l, uint64_t name, uint8_t category)
{
	uint64_t key = name ^ ((uint64_t)(category + 1) * UINT64_C(0x9e3779b97f4a7c15)), *v;
	struct ap_live_op *op;
	uint32_t b = bucket(l);

	key = key ? key : 1;
	v = ap_map_get(&l->op_index, key);
	if (v) {
		op = &l->ops[*v - 1];
	} else {
		if (l->nops == AP_LIVE_OPS_MAX || ap_map_put(&l->op_index, key, (uint64_t)l->nops + 1)) {
			l->ops_over_cap++;
			return NULL;
		}
		op = &l->ops[l->nops++];
		op->name = name;
		op->category = category;
		for (uint32_t k = 0; k < AP_LIVE_WINDOW; k++)
			op->bsec[k] = UINT64_MAX;
	}
	if (op->bsec[b] != l->sec) {
		op->bsec[b] = l->sec;
		op->starts[b] = op->done[b] = op->errors[b] = op->busy_ns[b] = 0;
	}
	return op;
}

static uint64_t *proc_of(struct ap_live *l, uint32_t pid)
{
	uint64_t *v = ap_map_get(&l->procs, (uint64_t)pid + 1);

	if (v)
		return l->proc_starts[*v - 1];
	if (l->nprocs == AP_LIVE_PROCS_MAX || ap_map_put(&l->procs, (uint64_t)pid + 1, (uint64_t)l->nprocs + 1))
		return NULL;
	memset(l->proc_starts[l->nprocs], 0, sizeof(l->proc_starts[0]));
	l->proc_starts[l->nprocs][AP_LIVE_WINDOW] = pid;
	return l->proc_starts[l->nprocs++];
}

void ap_live_events(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n, struct ap_batch_result *res)
{
	struct ap_live *l = ctx;
	uint32_t b = bucket(l);
	uint64_t *ps = NULL;

	(void)res;	/* the assembler validates */
	l->events[b] += n;
	for (uint32_t k = 0; k < n; k++) {
		const struct ap_event *e = &ev[k];
		struct ap_live_op *op;
		const struct ap_span *sp;

		switch (e->kind) {
		case AP_EV_BEGIN:
			if (e->category >= AP_CAT_COUNT)
				break;
			op = op_of(l, e->u.begin.name_id, e->category);
			if (op)
				op->starts[b]++;
			if (!ps)
				ps = proc_of(l, pid);
			if (ps)
				ps[b]++;
			break;
		case AP_EV_END:
			sp = ap_asm_find(l->as, e->span_id);
			if (!sp || (sp->have & (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END)) !=
					   (AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END) || sp->t_end != e->ts)
				break;	/* not this END's span (rejected, duplicate) */
			op = op_of(l, sp->name, sp->category);
			if (op) {
				uint64_t d = ap_ticks_delta_ns(l->clock, sp->t_begin, sp->t_end);

				op->done[b]++;
				op->busy_ns[b] += d;
				op->dur_ns[op->next] = d;
				op->dur_sec[op->next] = l->sec;
				op->next = (op->next + 1) % AP_LIVE_SAMPLES;
				if (op->ndur < AP_LIVE_SAMPLES)
					op->ndur++;
			}
			break;
		case AP_EV_TOKENS:
			l->tokens[b] += (uint64_t)e->u.tokens.input_tokens + e->u.tokens.output_tokens;
			break;
		case AP_EV_ERROR:	/* ap_set_error: a failed span, counted when it fails */
			sp = ap_asm_find(l->as, e->span_id);
			if (!sp || !(sp->have & AP_SPAN_HAVE_BEGIN))
				break;	/* its BEGIN not seen (dropped, another reader's) */
			op = op_of(l, sp->name, sp->category);
			if (op)
				op->errors[b]++;
			break;
		default:
			break;
		}
	}
}

void ap_live_traces(void *ctx, const struct ap_trace_view *t)
{
	struct ap_live *l = ctx;
	uint32_t b = bucket(l);

	for (uint32_t i = 0; i < t->n; i++) {
		struct ap_live_op *op;

		if (t->v[i].have & AP_SPAN_HAVE_END)
			continue;
		op = op_of(l, t->v[i].name, t->v[i].category);
		if (op)
			op->errors[b]++;
	}
}

/* --- the snapshot -------------------------------------------------------- */

struct scan {
	struct ap_live *l;
	struct ap_top *t;
	uint64_t oldest[AP_TOP_IN_FLIGHT_MAX];	/* t_begin of the listed, ascending */
	const struct ap_span *sp[AP_TOP_IN_FLIGHT_MAX];
	uint32_t n;
	uint64_t total;
};

static void on_open(void *ctx, const struct ap_span *sp)
{
	struct scan *s = ctx;
	uint64_t key = sp->name ^ ((uint64_t)(sp->category + 1) * UINT64_C(0x9e3779b97f4a7c15)), *v;
	uint32_t i;

	s->total++;
	key = key ? key : 1;
	v = ap_map_get(&s->l->op_index, key);
	if (v)
		s->l->ops[*v - 1].in_flight++;
	for (uint32_t p = 0; p < s->t->nprocs; p++)
		if (s->t->procs[p].pid == sp->pid) {
			s->t->procs[p].in_flight++;
			break;
		}
	/* Keep the AP_TOP_IN_FLIGHT_MAX oldest, sorted: most spans are young
	 * and leave at the first compare. */
	if (s->n == AP_TOP_IN_FLIGHT_MAX && sp->t_begin >= s->oldest[s->n - 1])
		return;
	i = s->n < AP_TOP_IN_FLIGHT_MAX ? s->n++ : s->n - 1;
	while (i > 0 && s->oldest[i - 1] > sp->t_begin) {
		s->oldest[i] = s->oldest[i - 1];
		s->sp[i] = s->sp[i - 1];
		i--;
	}
	s->oldest[i] = sp->t_begin;
	s->sp[i] = sp;
}

static void copy_name(char dst[AP_TOP_NAME_MAX], const struct ap_names *names, uint64_t id)
{
	char buf[32];
	const char *s = ap_names_get(names, id, buf);
	size_t n = strlen(s);

	if (n >= AP_TOP_NAME_MAX)
		n = AP_TOP_NAME_MAX - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void ap_live_snapshot(struct ap_live *l, const struct ap_live_reader *rd, uint64_t now_ns, struct ap_top *t)
{
	struct ap_top_op *ops = t->ops;
	struct scan *s = calloc(1, sizeof(*s));
	uint64_t now_ticks = ap_clock_read(l->clock->source), frac, ev = 0, tok = 0, dt;
	double win;

	ap_live_tick(l, now_ns);
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	snprintf(t->segment, sizeof(t->segment), "%s", rd->segment ? rd->segment : "");
	t->uptime_s = (double)rd->uptime_ns / 1e9;
	frac = (now_ns - l->t0_ns) % 1000000000u;
	win = (double)(l->sec < AP_LIVE_WINDOW - 1 ? l->sec : AP_LIVE_WINDOW - 1) + (double)frac / 1e9;
	if (win < 0.001)
		win = 0.001;
	t->window_s = win;
	t->lanes = rd->seg->lane_count;
	for (uint32_t i = 0; i < rd->seg->lane_count; i++)
		t->lanes_in_use += ap_load_relaxed(&rd->seg->lanes[i].owner) != 0;
	for (uint32_t b = 0; b < AP_LIVE_WINDOW; b++) {
		if (l->bucket_sec[b] + AP_LIVE_WINDOW <= l->sec || l->bucket_sec[b] > l->sec)
			continue;
		ev += l->events[b];
		tok += l->tokens[b];
	}
	t->events_per_s = (double)ev / win;
	t->tokens_per_s = (double)tok / win;
	/* Drops and the reader's CPU: since the last snapshot. */
	dt = l->have_last && now_ns > l->last_ns ? now_ns - l->last_ns : 0;
	if (dt) {
		l->drop_rate[0] = (double)(rd->totals.dropped_full - l->last_totals.dropped_full) * 1e9 / (double)dt;
		l->drop_rate[1] = (double)(rd->totals.dropped_no_lane - l->last_totals.dropped_no_lane) * 1e9 / (double)dt;
		l->drop_rate[2] = (double)(rd->totals.dropped_reentrant - l->last_totals.dropped_reentrant) * 1e9 /
				  (double)dt;
		l->cpu_pct = rd->cpu_ns > l->last_cpu_ns ? 100.0 * (double)(rd->cpu_ns - l->last_cpu_ns) / (double)dt : 0;
	}
	l->have_last = 1;
	l->last_ns = now_ns;
	l->last_cpu_ns = rd->cpu_ns;
	l->last_totals = rd->totals;
	t->dropped_full_per_s = l->drop_rate[0];
	t->dropped_no_lane_per_s = l->drop_rate[1];
	t->dropped_reentrant_per_s = l->drop_rate[2];
	t->reader_cpu_pct = l->cpu_pct;
	t->reader_rss_kib = rd->rss_kib;
	t->reader_lag = rd->totals.in_ring;
	t->overhead_pct = rd->cpus ? 100.0 * rd->cost_ns * t->events_per_s / (1e9 * (double)rd->cpus) : 0;
	t->traces_timed_out = l->as->traces_timed_out;

	/* Processes: spans begun in the window, lanes they hold. */
	for (uint32_t p = 0; p < l->nprocs; p++) {
		uint64_t n = 0;
		struct ap_top_proc *row;

		for (uint32_t b = 0; b < AP_LIVE_WINDOW; b++)
			if (l->bucket_sec[b] + AP_LIVE_WINDOW > l->sec && l->bucket_sec[b] <= l->sec)
				n += l->proc_starts[p][b];
		if (t->nprocs == AP_TOP_PROCS_MAX) {
			t->procs_over_cap++;
			continue;
		}
		row = &t->procs[t->nprocs++];
		row->pid = (uint32_t)l->proc_starts[p][AP_LIVE_WINDOW];
		row->spans_per_s = (double)n / win;
	}
	for (uint32_t i = 0; i < rd->seg->lane_count; i++) {
		uint64_t o = ap_load_relaxed(&rd->seg->lanes[i].owner);

		for (uint32_t p = 0; o && p < t->nprocs; p++)
			if (t->procs[p].pid == AP_OWNER_PID(o))
				t->procs[p].lanes++;
	}

	/* Spans in flight: counted per operation and process, the oldest listed. */
	for (uint32_t k = 0; k < l->nops; k++)
		l->ops[k].in_flight = 0;
	if (s) {
		s->l = l;
		s->t = t;
		t->traces_in_flight = ap_asm_each_open(l->as, on_open, s);
		t->in_flight_total = s->total;
		for (uint32_t i = 0; i < s->n; i++) {
			struct ap_top_span *o = &t->in_flight[i];
			const struct ap_span *sp = s->sp[i];

			copy_name(o->name, rd->names, sp->name);
			o->category = sp->category;
			o->pid = sp->pid;
			o->tid = sp->tid_begin;
			o->age_ms = now_ticks > sp->t_begin ? ap_ticks_delta_ns(l->clock, sp->t_begin, now_ticks) / 1000000u
							    : 0;
		}
		t->n_in_flight = s->n;
		free(s);
	}

	/* Operations over the window. */
	for (uint32_t k = 0; k < l->nops; k++) {
		struct ap_live_op *op = &l->ops[k];
		struct ap_top_op *o = &ops[t->nops];
		uint64_t starts = 0, done = 0, errors = 0, busy = 0, d[AP_LIVE_SAMPLES];
		uint32_t nd = 0;

		for (uint32_t b = 0; b < AP_LIVE_WINDOW; b++) {
			if (op->bsec[b] == UINT64_MAX || op->bsec[b] + AP_LIVE_WINDOW <= l->sec || op->bsec[b] > l->sec)
				continue;
			starts += op->starts[b];
			done += op->done[b];
			errors += op->errors[b];
			busy += op->busy_ns[b];
		}
		if (!starts && !done && !errors && !op->in_flight)
			continue;	/* quiet for the whole window */
		for (uint32_t i = 0; i < op->ndur; i++)
			if (op->dur_sec[i] + AP_LIVE_WINDOW > l->sec)
				d[nd++] = op->dur_ns[i];
		qsort(d, nd, sizeof(d[0]), cmp_u64);
		copy_name(o->name, rd->names, op->name);
		o->category = op->category;
		o->starts_per_s = (double)starts / win;
		o->completions_per_s = (double)done / win;
		o->busy_ms_per_s = (double)busy / 1e6 / win;
		o->errors = errors;
		o->in_flight = op->in_flight;
		o->p50_ms = nd ? (double)d[(nd - 1) / 2] / 1e6 : -1;
		o->p95_ms = nd ? (double)d[(uint32_t)((nd - 1) * 95 / 100)] / 1e6 : -1;
		t->nops++;
	}
	t->ops_over_cap = l->ops_over_cap;
	{
		uint64_t spans = 0;

		for (uint32_t p = 0; p < t->nprocs; p++)
			spans += (uint64_t)(t->procs[p].spans_per_s * win + 0.5);
		t->spans_per_s = (double)spans / win;
	}
}
