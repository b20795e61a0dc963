/* SPDX-License-Identifier: MIT */
/*
 * otlp.c - spans as OTLP protobuf and OTLP/JSON (otlp.h).
 *
 * Field numbers, from opentelemetry-proto (v1.x), beside each call:
 *   ExportTraceServiceRequest { 1 resource_spans }
 *   ResourceSpans   { 1 resource, 2 scope_spans, 3 schema_url }
 *   Resource        { 1 attributes, 2 dropped_attributes_count }
 *   ScopeSpans      { 1 scope, 2 spans, 3 schema_url }
 *   InstrumentationScope { 1 name, 2 version, 3 attributes, 4 dropped_attributes_count }
 *   Span { 1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id, 5 name,
 *          6 kind, 7 start_time_unix_nano (fixed64), 8 end_time_unix_nano
 *          (fixed64), 9 attributes, 10 dropped_attributes_count, 11 events,
 *          12 dropped_events_count, 13 links, 14 dropped_links_count,
 *          15 status }
 *   Link     { 1 trace_id, 2 span_id, 3 trace_state, 4 attributes, 5 dropped_attributes_count }
 *   Status   { 2 message, 3 code }
 *   KeyValue { 1 key, 2 value }
 *   AnyValue { 1 string_value, 2 bool_value, 3 int_value, 4 double_value, ... }
 * Span.flags (16) is newer than the schema the tests hold us to and is not
 * written. Proto3 defaults (0, "", false) are left out, as a canonical
 * encoder does, so the official decoder re-encodes our bytes unchanged.
 *
 * Ids are big-endian bytes (W3C order: trace_hi first). OTLP/JSON spells
 * them as lower-case hex, int64 values as decimal strings and enums as
 * integers (the OTLP/JSON rules, not proto3's canonical JSON).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentprof.h"
#include "json.h"
#include "otlp.h"
#include "render.h"
#include "span_union.h"

#define KIND_INTERNAL	1
#define KIND_CLIENT	3
#define STATUS_ERROR	2	/* Status.StatusCode STATUS_CODE_ERROR */
#define SCOPE_NAME	"agentprof"

int64_t ap_otlp_mono_to_unix(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - (int64_t)m.tv_sec) * 1000000000 + ((int64_t)r.tv_nsec - (int64_t)m.tv_nsec);
}

void ap_otlp_batch_init(struct ap_otlp_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void ap_otlp_batch_free(struct ap_otlp_batch *b)
{
	free(b->s);
	free(b->l);
	free(b->order);
	free(b->ticks_end);
	free(b->self);
	memset(b, 0, sizeof(*b));
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > UINT32_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	q = realloc(*p, (size_t)c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static int by_parent_begin(const void *x, const void *y, void *ctx)
{
	const struct ap_trace_view *t = ctx;
	const uint32_t *par = t->parent;
	uint32_t i = *(const uint32_t *)x, k = *(const uint32_t *)y;

	if (par[i] != par[k])
		return par[i] < par[k] ? -1 : 1;
	if (t->v[i].t_begin != t->v[k].t_begin)
		return t->v[i].t_begin < t->v[k].t_begin ? -1 : 1;
	return i < k ? -1 : i > k;
}

/*
 * End ticks and self time of every span of t, as tree.c computes them: a
 * truncated span ends at the end the assembler gave it, else at the latest
 * end in its trace; self time is the duration minus the union of the
 * children's intervals, each clamped to the parent's.
 */
static void times(struct ap_otlp_batch *b, const struct ap_trace_view *t, const struct ap_clock_cal *c)
{
	const struct ap_span *v = t->v;
	uint64_t t_last = t->t_last;
	uint32_t n = t->n, i = 0;

	for (uint32_t k = 0; k < n; k++)
		if ((v[k].have & AP_SPAN_HAVE_END) && v[k].t_end > t_last)
			t_last = v[k].t_end;
	for (uint32_t k = 0; k < n; k++) {
		const struct ap_span *sp = &v[k];

		b->ticks_end[k] = (sp->have & AP_SPAN_HAVE_END) ? sp->t_end :
				  sp->t_end ? (sp->t_end > sp->t_begin ? sp->t_end : sp->t_begin) :
				  t_last > sp->t_begin ? t_last : sp->t_begin;
		b->order[k] = k;
	}
	qsort_r(b->order, n, sizeof(uint32_t), by_parent_begin, (void *)t);
	for (uint32_t k = 0; k < n; k++)
		b->self[k] = ap_ticks_delta_ns(c, v[k].t_begin, b->ticks_end[k]);
	while (i < n) {
		uint32_t p = t->parent[b->order[i]], j = i;
		uint64_t pe, covered;
		struct ap_span_union u;

		while (j < n && t->parent[b->order[j]] == p)
			j++;
		if (p == AP_NONE || p >= n) {
			i = j;
			continue;
		}
		pe = b->ticks_end[p];
		ap_span_union_init(&u, v[p].t_begin, pe);
		for (; i < j; i++)
			ap_span_union_add(&u, v[b->order[i]].t_begin, b->ticks_end[b->order[i]]);
		covered = ap_ticks_delta_ns(c, 0, ap_span_union_total(&u));
		{
			uint64_t d = ap_ticks_delta_ns(c, v[p].t_begin, pe);

			b->self[p] = d > covered ? d - covered : 0;
		}
	}
}

static uint64_t unix_ns(const struct ap_otlp_clock *clk, uint64_t ticks)
{
	return ap_ticks_to_ns(&clk->cal, ticks) + (uint64_t)clk->mono_to_unix;
}

int ap_otlp_batch_add(struct ap_otlp_batch *b, const struct ap_trace_view *t, const struct ap_otlp_clock *clk,
		      const uint64_t *dur, const uint64_t *self, const uint8_t *truncated)
{
	const struct ap_span *v = t->v;
	uint32_t n = t->n, root = AP_NONE, added = 0, nl0 = b->nl;
	uint64_t hi = 0, lo = 0, base, root_dur = 0;

	if (!n)
		return 0;
	if (grow((void **)&b->s, &b->cap, b->n + n, sizeof(*b->s)))
		return -ENOMEM;
	if (!dur || !self || !truncated) {
		uint32_t c = b->scap;

		if (grow((void **)&b->order, &c, n, sizeof(*b->order)) ||
		    (c = b->scap, grow((void **)&b->ticks_end, &c, n, sizeof(*b->ticks_end))) ||
		    (c = b->scap, grow((void **)&b->self, &c, n, sizeof(*b->self))))
			return -ENOMEM;
		b->scap = c;
		times(b, t, &clk->cal);
	}
	/* The root the report measures a trace from: the longest begun root. */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t d;

		if (!(v[i].have & AP_SPAN_HAVE_BEGIN) || t->parent[i] != AP_NONE)
			continue;
		d = dur ? dur[i] : ap_ticks_delta_ns(&clk->cal, v[i].t_begin, b->ticks_end[i]);
		if (root == AP_NONE || d > root_dur) {
			root = i;
			root_dur = d;
		}
	}
	/* One trace id for the trace: its root's, else any begun span's whose
	 * writer knew it; a span under a parent its thread did not know records
	 * (0, parent), which is what its own W3C traceparent said. */
	if (root != AP_NONE && (v[root].trace_hi | v[root].trace_lo)) {
		hi = v[root].trace_hi;
		lo = v[root].trace_lo;
	}
	for (uint32_t i = 0; i < n && !(hi | lo); i++)
		if ((v[i].have & AP_SPAN_HAVE_BEGIN) && !(v[i].flags & AP_EVF_TRACE_UNKNOWN) &&
		    (v[i].trace_hi | v[i].trace_lo)) {
			hi = v[i].trace_hi;
			lo = v[i].trace_lo;
		}
	if (root == AP_NONE) {
		for (uint32_t i = 0; i < n && root == AP_NONE; i++)
			if (v[i].have & AP_SPAN_HAVE_BEGIN)
				root = i;
		if (root == AP_NONE) {
			b->unsendable += n;
			return 0;
		}
	}
	if (!(hi | lo)) {
		hi = 0;
		lo = v[root].parent ? v[root].parent : v[root].id;
	}
	base = unix_ns(clk, v[root].t_begin);
	for (uint32_t i = 0; i < n; i++) {
		const struct ap_span *sp = &v[i];
		struct ap_otlp_span *o;
		uint64_t d;

		if (!(sp->have & AP_SPAN_HAVE_BEGIN)) {
			b->unsendable++;
			continue;
		}
		o = &b->s[b->n + added++];
		memset(o, 0, sizeof(*o));
		o->trace_hi = hi;
		o->trace_lo = lo;
		o->id = sp->id;
		o->parent = sp->parent;
		o->start_ns = sp->t_begin >= v[root].t_begin ?
			      base + ap_ticks_delta_ns(&clk->cal, v[root].t_begin, sp->t_begin) :
			      base - ap_ticks_delta_ns(&clk->cal, sp->t_begin, v[root].t_begin);
		d = dur ? dur[i] : ap_ticks_delta_ns(&clk->cal, sp->t_begin, b->ticks_end[i]);
		o->end_ns = o->start_ns + d;
		o->self_ns = self ? self[i] : b->self[i];
		o->truncated = truncated ? truncated[i] != 0 : !(sp->have & AP_SPAN_HAVE_END);
		o->name = sp->name;
		o->model = sp->model;
		o->have_tokens = (sp->have & AP_SPAN_HAVE_TOKENS) != 0;
		o->error = (sp->have & AP_SPAN_HAVE_ERROR) != 0;
		o->error_name = o->error ? sp->error : 0;
		o->input_tokens = sp->input_tokens;
		o->output_tokens = sp->output_tokens;
		o->pid = sp->pid;
		o->tid = sp->tid_begin;
		o->category = sp->category;
		o->link0 = b->nl;
		for (uint32_t k = 0; k < t->ndeps; k++) {
			if (t->deps[k].span != sp->id || !t->deps[k].on_span)
				continue;
			if (grow((void **)&b->l, &b->lcap, b->nl + 1, sizeof(*b->l))) {
				b->nl = nl0;
				return -ENOMEM;
			}
			b->l[b->nl++] = (struct ap_otlp_link){ hi, lo, t->deps[k].on_span };
		}
		o->nlinks = b->nl - o->link0;
	}
	b->n += added;
	return (int)added;
}

/* ---- what a span says, shared by both encodings ---- */

struct attr {
	const char *key;
	int type;		/* 's', 'i', 'b' */
	const char *s;
	int64_t i;
};

#define ATTRS_MAX 12

static const char *cat_name(uint8_t c)
{
	static const char *const n[] = { "internal", "llm", "tool", "memory" };

	return c < sizeof(n) / sizeof(n[0]) ? n[c] : "unknown";
}

/* The span's OTLP name into buf, its kind and its attributes. */
/* A failed span's Status.message: its error's name (the exception type, or
 * what the program named), "error" when it gave none. nb: 32 bytes. */
static const char *error_message(const struct ap_otlp_span *o, const struct ap_names *names, char *nb)
{
	return o->error_name ? ap_names_get(names, o->error_name, nb) : "error";
}

static uint32_t describe(const struct ap_otlp_span *o, const struct ap_names *names, char *buf, size_t bufsz,
			 char nb[32], char mb[32], const char **name, int *kind, struct attr *a)
{
	const char *nm = ap_names_get(names, o->name, nb);
	const char *model = o->have_tokens ? ap_names_get(names, o->model, mb) : NULL;
	uint32_t k = 0;

	*name = nm;
	*kind = KIND_INTERNAL;
	a[k++] = (struct attr){ "agentprof.name", 's', nm, 0 };
	a[k++] = (struct attr){ "agentprof.category", 's', cat_name(o->category), 0 };
	a[k++] = (struct attr){ "agentprof.pid", 'i', NULL, o->pid };
	a[k++] = (struct attr){ "agentprof.tid", 'i', NULL, o->tid };
	a[k++] = (struct attr){ "agentprof.self_ns", 'i', NULL, (int64_t)o->self_ns };
	a[k++] = (struct attr){ "agentprof.truncated", 'b', NULL, o->truncated };
	switch (o->category) {
	case AP_CAT_LLM:
		*kind = KIND_CLIENT;
		a[k++] = (struct attr){ "gen_ai.operation.name", 's', "chat", 0 };
		if (model) {
			snprintf(buf, bufsz, "chat %s", model);
			*name = buf;
			a[k++] = (struct attr){ "gen_ai.request.model", 's', model, 0 };
			a[k++] = (struct attr){ "gen_ai.usage.input_tokens", 'i', NULL, o->input_tokens };
			a[k++] = (struct attr){ "gen_ai.usage.output_tokens", 'i', NULL, o->output_tokens };
		} else {
			*name = "chat";
		}
		break;
	case AP_CAT_TOOL: {
		const char *tool = strncmp(nm, "tool:", 5) == 0 && nm[5] ? nm + 5 : nm;

		snprintf(buf, bufsz, "execute_tool %s", tool);
		*name = buf;
		a[k++] = (struct attr){ "gen_ai.operation.name", 's', "execute_tool", 0 };
		a[k++] = (struct attr){ "gen_ai.tool.name", 's', tool, 0 };
		break;
	}
	case AP_CAT_MEMORY:
		a[k++] = (struct attr){ "gen_ai.operation.name", 's', "retrieval", 0 };
		break;
	default:
		break;
	}
	return k;
}

/* Indices of the batch's spans grouped by process, in order within each. */
static int by_pid(const void *x, const void *y, void *ctx)
{
	const struct ap_otlp_batch *b = ctx;
	uint32_t i = *(const uint32_t *)x, k = *(const uint32_t *)y;

	if (b->s[i].pid != b->s[k].pid)
		return b->s[i].pid < b->s[k].pid ? -1 : 1;
	return i < k ? -1 : i > k;
}

static uint32_t *group(const struct ap_otlp_batch *b)
{
	uint32_t *ix = malloc(((size_t)b->n + 1) * sizeof(uint32_t));

	if (!ix)
		return NULL;
	for (uint32_t i = 0; i < b->n; i++)
		ix[i] = i;
	qsort_r(ix, b->n, sizeof(uint32_t), by_pid, (void *)b);
	return ix;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- protobuf ---- */

static size_t vlen(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* A KeyValue with its lengths computed first: attributes are most of a
 * span's fields, and writing their two lengths up front spares the two
 * moves of a nested open/close (the sender encodes about a third faster). */
static void pb_attr(struct ap_pb *pb, uint32_t field, const struct attr *a)
{
	size_t kl = strlen(a->key), sl = a->type == 's' ? strlen(a->s) : 0;
	size_t av = a->type == 's' ? 1 + vlen(sl) + sl : 1 + vlen((uint64_t)a->i);
	size_t kv = 1 + vlen(kl) + kl + 1 + vlen(av) + av;

	ap_pb_raw_varint(pb, (uint64_t)field << 3 | AP_PB_LEN);	/* KeyValue */
	ap_pb_raw_varint(pb, kv);
	ap_pb_string(pb, 1, a->key);				/* KeyValue.key */
	ap_pb_raw_varint(pb, 2 << 3 | AP_PB_LEN);		/* KeyValue.value: AnyValue */
	ap_pb_raw_varint(pb, av);
	if (a->type == 's')
		ap_pb_string(pb, 1, a->s);			/* AnyValue.string_value */
	else if (a->type == 'b')
		ap_pb_varint(pb, 2, (uint64_t)a->i);		/* AnyValue.bool_value */
	else
		ap_pb_varint(pb, 3, (uint64_t)a->i);		/* AnyValue.int_value (int64: two's complement) */
}

static void pb_resource(struct ap_pb *pb, const struct ap_otlp_meta *m, uint32_t pid)
{
	struct attr a;

	ap_pb_open(pb, 1);				/* ResourceSpans.resource */
	a = (struct attr){ "service.name", 's', m->service_name, 0 };
	pb_attr(pb, 1, &a);				/* Resource.attributes */
	if (m->host_name) {
		a = (struct attr){ "host.name", 's', m->host_name, 0 };
		pb_attr(pb, 1, &a);
	}
	if (pid) {
		a = (struct attr){ "process.pid", 'i', NULL, pid };
		pb_attr(pb, 1, &a);
	}
	a = (struct attr){ "telemetry.sdk.name", 's', "agentprof", 0 };
	pb_attr(pb, 1, &a);
	a = (struct attr){ "telemetry.sdk.version", 's', AGENTPROF_VERSION, 0 };
	pb_attr(pb, 1, &a);
	for (uint32_t i = 0; i < m->nattrs; i++) {
		a = (struct attr){ m->attrs[i].key, 's', m->attrs[i].value, 0 };
		pb_attr(pb, 1, &a);
	}
	ap_pb_close(pb);
}

static void pb_span(struct ap_pb *pb, const struct ap_otlp_batch *b, const struct ap_otlp_span *o,
		    const struct ap_names *names)
{
	uint8_t id[16];
	char buf[2 * AP_NAME_MAX + 32], nb[32], mb[32], eb[32];
	struct attr a[ATTRS_MAX];
	const char *name;
	int kind;
	uint32_t na = describe(o, names, buf, sizeof(buf), nb, mb, &name, &kind, a);

	ap_pb_open(pb, 2);				/* ScopeSpans.spans */
	be64(id, o->trace_hi);
	be64(id + 8, o->trace_lo);
	ap_pb_bytes(pb, 1, id, 16);			/* Span.trace_id */
	be64(id, o->id);
	ap_pb_bytes(pb, 2, id, 8);			/* Span.span_id */
	if (o->parent) {
		be64(id, o->parent);
		ap_pb_bytes(pb, 4, id, 8);		/* Span.parent_span_id */
	}
	ap_pb_string(pb, 5, name);			/* Span.name */
	ap_pb_varint(pb, 6, (uint64_t)kind);		/* Span.kind */
	ap_pb_fixed64(pb, 7, o->start_ns);		/* Span.start_time_unix_nano */
	ap_pb_fixed64(pb, 8, o->end_ns);		/* Span.end_time_unix_nano */
	for (uint32_t i = 0; i < na; i++)
		pb_attr(pb, 9, &a[i]);			/* Span.attributes */
	for (uint32_t k = 0; k < o->nlinks; k++) {
		const struct ap_otlp_link *l = &b->l[o->link0 + k];

		ap_pb_open(pb, 13);			/* Span.links */
		be64(id, l->trace_hi);
		be64(id + 8, l->trace_lo);
		ap_pb_bytes(pb, 1, id, 16);		/* Link.trace_id */
		be64(id, l->span);
		ap_pb_bytes(pb, 2, id, 8);		/* Link.span_id */
		ap_pb_close(pb);
	}
	if (o->error) {
		ap_pb_open(pb, 15);			/* Span.status */
		ap_pb_string(pb, 2, error_message(o, names, eb));	/* Status.message */
		ap_pb_varint(pb, 3, STATUS_ERROR);	/* Status.code */
		ap_pb_close(pb);
	}
	ap_pb_close(pb);
}

int ap_otlp_encode_pb(const struct ap_otlp_batch *b, const struct ap_otlp_meta *m, struct ap_pb *pb)
{
	uint32_t *ix = group(b), i = 0;

	if (!ix)
		return -ENOMEM;
	while (i < b->n) {
		uint32_t pid = b->s[ix[i]].pid;

		ap_pb_open(pb, 1);			/* ExportTraceServiceRequest.resource_spans */
		pb_resource(pb, m, pid);
		ap_pb_open(pb, 2);			/* ResourceSpans.scope_spans */
		ap_pb_open(pb, 1);			/* ScopeSpans.scope */
		ap_pb_string(pb, 1, SCOPE_NAME);	/* InstrumentationScope.name */
		ap_pb_string(pb, 2, AGENTPROF_VERSION);	/* InstrumentationScope.version */
		ap_pb_close(pb);
		for (; i < b->n && b->s[ix[i]].pid == pid; i++)
			pb_span(pb, b, &b->s[ix[i]], m->names);
		ap_pb_close(pb);
		ap_pb_close(pb);
	}
	free(ix);
	return pb->err;
}

/* ---- OTLP/JSON ---- */

static void js_attr(struct ap_json *j, const struct attr *a)
{
	char d[24];

	ap_json_obj(j, NULL);
	ap_json_str(j, "key", a->key);
	ap_json_obj(j, "value");
	if (a->type == 's') {
		ap_json_str(j, "stringValue", a->s);
	} else if (a->type == 'b') {
		ap_json_bool(j, "boolValue", a->i != 0);
	} else {
		snprintf(d, sizeof(d), "%" PRId64, a->i);
		ap_json_str(j, "intValue", d);		/* int64: a decimal string */
	}
	ap_json_end_obj(j);
	ap_json_end_obj(j);
}

static void hex(char *out, const uint64_t *w, int n)
{
	static const char x[] = "0123456789abcdef";

	for (int k = 0; k < n; k++)
		for (int i = 0; i < 16; i++)
			*out++ = x[(w[k] >> (60 - 4 * i)) & 15];
	*out = 0;
}

static void js_span(struct ap_json *j, const struct ap_otlp_batch *b, const struct ap_otlp_span *o,
		    const struct ap_names *names)
{
	char buf[2 * AP_NAME_MAX + 32], nb[32], mb[32], eb[32], h[33], d[24];
	struct attr a[ATTRS_MAX];
	const char *name;
	int kind;
	uint32_t na = describe(o, names, buf, sizeof(buf), nb, mb, &name, &kind, a);
	uint64_t w[2] = { o->trace_hi, o->trace_lo };

	ap_json_obj(j, NULL);
	hex(h, w, 2);
	ap_json_str(j, "traceId", h);
	hex(h, &o->id, 1);
	ap_json_str(j, "spanId", h);
	if (o->parent) {
		hex(h, &o->parent, 1);
		ap_json_str(j, "parentSpanId", h);
	}
	ap_json_str(j, "name", name);
	ap_json_u64(j, "kind", (uint64_t)kind);
	snprintf(d, sizeof(d), "%" PRIu64, o->start_ns);
	ap_json_str(j, "startTimeUnixNano", d);
	snprintf(d, sizeof(d), "%" PRIu64, o->end_ns);
	ap_json_str(j, "endTimeUnixNano", d);
	ap_json_arr(j, "attributes");
	for (uint32_t i = 0; i < na; i++)
		js_attr(j, &a[i]);
	ap_json_end_arr(j);
	if (o->nlinks) {
		ap_json_arr(j, "links");
		for (uint32_t k = 0; k < o->nlinks; k++) {
			const struct ap_otlp_link *l = &b->l[o->link0 + k];
			uint64_t lw[2] = { l->trace_hi, l->trace_lo };

			ap_json_obj(j, NULL);
			hex(h, lw, 2);
			ap_json_str(j, "traceId", h);
			hex(h, &l->span, 1);
			ap_json_str(j, "spanId", h);
			ap_json_end_obj(j);
		}
		ap_json_end_arr(j);
	}
	ap_json_obj(j, "status");
	if (o->error) {
		ap_json_str(j, "message", error_message(o, names, eb));
		ap_json_u64(j, "code", STATUS_ERROR);
	}
	ap_json_end_obj(j);
	ap_json_end_obj(j);
}

int ap_otlp_encode_json(const struct ap_otlp_batch *b, const struct ap_otlp_meta *m, FILE *f)
{
	struct ap_json j;
	uint32_t *ix = group(b), i = 0;
	struct attr a;

	if (!ix)
		return -ENOMEM;
	ap_json_init(&j, f);
	j.compact = 1;
	ap_json_obj(&j, NULL);
	ap_json_arr(&j, "resourceSpans");
	while (i < b->n) {
		uint32_t pid = b->s[ix[i]].pid;

		ap_json_obj(&j, NULL);
		ap_json_obj(&j, "resource");
		ap_json_arr(&j, "attributes");
		a = (struct attr){ "service.name", 's', m->service_name, 0 };
		js_attr(&j, &a);
		if (m->host_name) {
			a = (struct attr){ "host.name", 's', m->host_name, 0 };
			js_attr(&j, &a);
		}
		if (pid) {
			a = (struct attr){ "process.pid", 'i', NULL, pid };
			js_attr(&j, &a);
		}
		a = (struct attr){ "telemetry.sdk.name", 's', "agentprof", 0 };
		js_attr(&j, &a);
		a = (struct attr){ "telemetry.sdk.version", 's', AGENTPROF_VERSION, 0 };
		js_attr(&j, &a);
		for (uint32_t k = 0; k < m->nattrs; k++) {
			a = (struct attr){ m->attrs[k].key, 's', m->attrs[k].value, 0 };
			js_attr(&j, &a);
		}
		ap_json_end_arr(&j);
		ap_json_end_obj(&j);
		ap_json_arr(&j, "scopeSpans");
		ap_json_obj(&j, NULL);
		ap_json_obj(&j, "scope");
		ap_json_str(&j, "name", SCOPE_NAME);
		ap_json_str(&j, "version", AGENTPROF_VERSION);
		ap_json_end_obj(&j);
		ap_json_arr(&j, "spans");
		for (; i < b->n && b->s[ix[i]].pid == pid; i++)
			js_span(&j, b, &b->s[ix[i]], m->names);
		ap_json_end_arr(&j);
		ap_json_end_obj(&j);
		ap_json_end_arr(&j);
		ap_json_end_obj(&j);
	}
	ap_json_end_arr(&j);
	ap_json_end_obj(&j);
	free(ix);
	return j.err;
}

/* ---- the resource, from the environment ---- */

static int unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode s in place, trimming spaces; 0, or -1 on a bad escape. */
static int pct_decode(char *s)
{
	char *o = s, *start = s;

	while (*s == ' ')
		s++;
	for (; *s; s++) {
		if (*s == '%') {
			int h = unhex((unsigned char)s[1]), l = h < 0 ? -1 : unhex((unsigned char)s[2]);

			if (l < 0)
				return -1;
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	while (o > start && o[-1] == ' ')
		o--;
	*o = 0;
	return 0;
}

void ap_otlp_resource_env(struct ap_otlp_resource *r, const struct ap_names *names)
{
	const char *svc = getenv("OTEL_SERVICE_NAME"), *ra = getenv("OTEL_RESOURCE_ATTRIBUTES");
	uint32_t n = 0;

	memset(r, 0, sizeof(*r));
	r->meta.names = names;
	if (gethostname(r->host, sizeof(r->host) - 1) == 0 && r->host[0])
		r->meta.host_name = r->host;
	if (ra && *ra && (r->buf = strdup(ra))) {
		char *save = NULL;

		for (char *p = strtok_r(r->buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(p, '=');

			if (!eq || eq == p || pct_decode(eq + 1) || (*eq = 0, pct_decode(p)) || !*p) {
				r->bad++;
				continue;
			}
			if (!strcmp(p, "service.name")) {
				if (!svc || !*svc)
					svc = eq + 1;
				continue;
			}
			if (!strcmp(p, "host.name")) {
				r->meta.host_name = eq + 1;
				continue;
			}
			if (n == AP_OTLP_ATTRS_MAX) {
				r->bad++;
				continue;
			}
			r->kv[n++] = (struct ap_otlp_kv){ p, eq + 1 };
		}
	}
	r->meta.service_name = svc && *svc ? svc : "unknown_service:agentprof";
	r->meta.attrs = r->kv;
	r->meta.nattrs = n;
}

void ap_otlp_resource_free(struct ap_otlp_resource *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* ---- the run's kept traces as a file ---- */

int ap_render_otlp_jsonl(const struct ap_run *r, FILE *f)
{
	const struct ap_analysis *a = r->analysis;
	struct ap_otlp_resource res;
	struct ap_otlp_batch b;
	struct ap_otlp_clock clk = { r->clock, r->mono_to_unix_ns };
	const struct ap_kept *k;
	int ret = 0;

	if (!a)
		return 0;
	ap_otlp_resource_env(&res, a->names);
	ap_otlp_batch_init(&b);
	for (uint32_t i = 0; !ret && (k = ap_analysis_kept(a, i)); i++) {
		struct ap_trace_view t = { k->v, k->parent, k->n, NULL, 0, 1, 0 };

		ap_otlp_batch_clear(&b);
		ret = ap_otlp_batch_add(&b, &t, &clk, k->dur, k->self, k->truncated);
		if (ret >= 0)
			ret = b.n ? ap_otlp_encode_json(&b, &res.meta, f) : 0;
	}
	ap_otlp_batch_free(&b);
	ap_otlp_resource_free(&res);
	return ret;
}

/* ---- raw batches: the drain thread copies, the sender's thread encodes ---- */

void ap_otlp_raw_init(struct ap_otlp_raw *r)
{
	memset(r, 0, sizeof(*r));
}

void ap_otlp_raw_free(struct ap_otlp_raw *r)
{
	free(r->v);
	free(r->parent);
	free(r->tr);
	free(r->deps);
	free(r->name_id);
	free(r->name_off);
	free(r->pool);
	free(r->set);
	memset(r, 0, sizeof(*r));
}

int ap_otlp_raw_reserve(struct ap_otlp_raw *r, uint32_t nspans)
{
	uint32_t c = r->cap;

	if (grow((void **)&r->v, &c, nspans, sizeof(*r->v)) ||
	    (c = r->cap, grow((void **)&r->parent, &c, nspans, sizeof(*r->parent))))
		return -ENOMEM;
	r->cap = c;
	return grow((void **)&r->tr, &r->trcap, nspans, sizeof(*r->tr));
}

void ap_otlp_raw_clear(struct ap_otlp_raw *r)
{
	r->n = r->ntr = r->ndeps = r->nnames = r->pool_len = r->unknown = 0;
	memset(r->seen, 0, sizeof(r->seen));
	r->spans = r->unsendable = 0;
	if (r->set)
		memset(r->set, 0, (size_t)r->setcap * sizeof(*r->set));
}

size_t ap_otlp_raw_bytes(const struct ap_otlp_raw *r)
{
	return sizeof(*r) + (size_t)r->cap * (sizeof(*r->v) + sizeof(*r->parent)) +
	       (size_t)r->trcap * sizeof(*r->tr) + (size_t)r->depcap * sizeof(*r->deps) +
	       (size_t)r->namecap * (sizeof(*r->name_id) + sizeof(*r->name_off)) + r->pool_cap +
	       (size_t)r->setcap * sizeof(*r->set);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Note name id in r (once), with its string from names. 0 or -ENOMEM. */
static int raw_name(struct ap_otlp_raw *r, uint64_t id, const struct ap_names *names)
{
	char buf[32];
	const char *s;
	uint32_t len, i;

	if (!id)
		return 0;
	if ((r->nnames + 1) * 2 > r->setcap) {
		uint32_t cap = r->setcap ? r->setcap * 2 : 64;
		uint64_t *set = calloc(cap, sizeof(*set));

		if (!set)
			return -ENOMEM;
		for (uint32_t k = 0; k < r->nnames; k++) {
			for (i = (uint32_t)mix(r->name_id[k]) & (cap - 1); set[i]; i = (i + 1) & (cap - 1))
				;
			set[i] = r->name_id[k];
		}
		free(r->set);
		r->set = set;
		r->setcap = cap;
	}
	for (i = (uint32_t)mix(id) & (r->setcap - 1); r->set[i]; i = (i + 1) & (r->setcap - 1))
		if (r->set[i] == id)
			return 0;
	s = ap_names_get(names, id, buf);
	if (s == buf)
		r->unknown++;
	len = (uint32_t)strlen(s);
	if (grow((void **)&r->pool, &r->pool_cap, r->pool_len + len + 1, 1))
		return -ENOMEM;
	{
		uint32_t c = r->namecap;

		if (grow((void **)&r->name_id, &c, r->nnames + 1, sizeof(*r->name_id)) ||
		    (c = r->namecap, grow((void **)&r->name_off, &c, r->nnames + 1, sizeof(*r->name_off))))
			return -ENOMEM;
		r->namecap = c;
	}
	memcpy(r->pool + r->pool_len, s, len + 1);
	r->name_id[r->nnames] = id;
	r->name_off[r->nnames++] = r->pool_len;
	r->pool_len += len + 1;
	r->set[i] = id;
	return 0;
}

int ap_otlp_raw_renames(struct ap_otlp_raw *r, const struct ap_names *names)
{
	uint32_t unknown = 0;

	for (uint32_t i = 0; i < r->nnames && r->unknown; i++) {
		char buf[32];
		const char *s;
		uint32_t len;

		if (strncmp(r->pool + r->name_off[i], "name#", 5))
			continue;	/* (a real name that starts so is looked up again: harmless) */
		s = ap_names_get(names, r->name_id[i], buf);
		if (s == buf) {
			unknown++;
			continue;
		}
		len = (uint32_t)strlen(s);
		if (grow((void **)&r->pool, &r->pool_cap, r->pool_len + len + 1, 1))
			return -ENOMEM;
		memcpy(r->pool + r->pool_len, s, len + 1);
		r->name_off[i] = r->pool_len;
		r->pool_len += len + 1;
	}
	r->unknown = unknown;
	return 0;
}

int ap_otlp_raw_add(struct ap_otlp_raw *r, const struct ap_trace_view *t, const struct ap_names *names)
{
	uint32_t n = t->n, begun = 0;

	if (!n)
		return 0;
	{
		uint32_t c = r->cap;

		if (grow((void **)&r->v, &c, r->n + n, sizeof(*r->v)) ||
		    (c = r->cap, grow((void **)&r->parent, &c, r->n + n, sizeof(*r->parent))))
			return -ENOMEM;
		r->cap = c;
	}
	if (grow((void **)&r->tr, &r->trcap, r->ntr + 1, sizeof(*r->tr)) ||
	    (t->ndeps && grow((void **)&r->deps, &r->depcap, r->ndeps + t->ndeps, sizeof(*r->deps))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct ap_span *sp = &t->v[i];

		if (!(sp->have & AP_SPAN_HAVE_BEGIN))
			continue;
		begun++;
		if (r->seen[sp->name & 63] != sp->name) {
			if (raw_name(r, sp->name, names))
				return -ENOMEM;	/* names added stay: harmless */
			r->seen[sp->name & 63] = sp->name;
		}
		if ((sp->have & AP_SPAN_HAVE_TOKENS) && r->seen[sp->model & 63] != sp->model) {
			if (raw_name(r, sp->model, names))
				return -ENOMEM;
			r->seen[sp->model & 63] = sp->model;
		}
		if ((sp->have & AP_SPAN_HAVE_ERROR) && sp->error && r->seen[sp->error & 63] != sp->error) {
			if (raw_name(r, sp->error, names))
				return -ENOMEM;
			r->seen[sp->error & 63] = sp->error;
		}
	}
	memcpy(r->v + r->n, t->v, (size_t)n * sizeof(*r->v));
	memcpy(r->parent + r->n, t->parent, (size_t)n * sizeof(*r->parent));
	if (t->ndeps)
		memcpy(r->deps + r->ndeps, t->deps, (size_t)t->ndeps * sizeof(*r->deps));
	r->tr[r->ntr++] = (struct ap_otlp_raw_trace){ r->n, n, r->ndeps, t->ndeps, t->t_last, t->complete };
	r->n += n;
	r->ndeps += t->ndeps;
	r->spans += begun;
	r->unsendable += n - begun;
	return (int)begun;
}

int ap_otlp_raw_encode(const struct ap_otlp_raw *r, struct ap_otlp_batch *b, const struct ap_otlp_meta *m,
		       const struct ap_otlp_clock *clk, FILE *json, uint8_t **body, size_t *len)
{
	struct ap_otlp_meta mm = *m;
	struct ap_names names;
	int ret = 0;

	if (!json) {
		*body = NULL;
		*len = 0;
	}
	if (ap_names_init(&names))
		return -ENOMEM;
	for (uint32_t i = 0; i < r->nnames && !ret; i++)
		ret = ap_names_add(&names, r->name_id[i], r->pool + r->name_off[i],
				   (uint32_t)strlen(r->pool + r->name_off[i]));
	mm.names = &names;
	ap_otlp_batch_clear(b);
	for (uint32_t k = 0; k < r->ntr && !ret; k++) {
		const struct ap_otlp_raw_trace *x = &r->tr[k];
		struct ap_trace_view t = { r->v + x->first, r->parent + x->first, x->n,
					   x->ndeps ? r->deps + x->dep0 : NULL, x->ndeps, x->complete, x->t_last };

		if (ap_otlp_batch_add(b, &t, clk, NULL, NULL, NULL) < 0)
			ret = -ENOMEM;
	}
	if (!ret && json) {
		ret = ap_otlp_encode_json(b, &mm, json);
	} else if (!ret) {
		struct ap_pb pb;

		ap_pb_init(&pb);
		ret = ap_otlp_encode_pb(b, &mm, &pb);
		*body = pb.p;
		*len = pb.len;
	}
	if (ret && !json) {
		free(*body);
		*body = NULL;
		*len = 0;
	}
	ap_otlp_batch_clear(b);
	ap_names_free(&names);
	return ret;
}
