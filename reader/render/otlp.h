/* SPDX-License-Identifier: MIT */
/*
 * otlp.h - spans as OpenTelemetry traces: OTLP protobuf
 * (ExportTraceServiceRequest) for the OTLP/HTTP sender, OTLP/JSON for
 * `http/json` and for the file export of a run's kept traces (JSON Lines
 * of TracesData, the OpenTelemetry file exporter's format).
 *
 * Two steps. A trace as the assembler hands it on (or a kept trace of a
 * run) is turned into span records in a batch (ap_otlp_batch_add): wall
 * clock nanoseconds, one trace id for the whole trace, duration, self time
 * and truncation as the analysis computes them, dependencies as links.
 * Spans never begun (their BEGIN was dropped: no name, no start) are not
 * records; they are counted in `unsendable`. A batch is then encoded in one
 * pass (ap_otlp_encode_pb, ap_otlp_encode_json): one ResourceSpans per
 * process (service.name, host.name, process.pid, telemetry.sdk.*, and the
 * user's OTEL_RESOURCE_ATTRIBUTES), one ScopeSpans "agentprof".
 *
 * The field numbers are opentelemetry-proto's (v1.x trace.proto,
 * common.proto, resource.proto, trace_service.proto), written beside each
 * call in otlp.c; the bytes are tested against the official schema (the
 * protobufjs build shipped in @opentelemetry/otlp-transformer).
 *
 * Attributes follow the OpenTelemetry GenAI semantic conventions: an llm
 * span is "chat {model}", kind CLIENT, with gen_ai.operation.name=chat,
 * gen_ai.request.model and gen_ai.usage.{input,output}_tokens; a tool span
 * is "execute_tool {tool}" with gen_ai.tool.name (the agentprof name
 * without a "tool:" prefix); a memory span keeps its name with
 * gen_ai.operation.name=retrieval. Every span carries agentprof.name,
 * agentprof.category, agentprof.pid, agentprof.tid, agentprof.self_ns and
 * agentprof.truncated (a truncated span ends where the analysis ends it:
 * when its process was last known running).
 */
#ifndef AP_OTLP_H
#define AP_OTLP_H

#include <stdint.h>
#include <stdio.h>

#include "assemble.h"
#include "clock.h"
#include "names.h"
#include "pb.h"

struct ap_otlp_span {
	uint64_t trace_hi, trace_lo, id, parent;	/* parent 0: a root */
	uint64_t start_ns, end_ns;			/* Unix epoch ns */
	uint64_t self_ns;
	uint64_t name, model;				/* name ids */
	uint64_t error_name;				/* name id of its error (ap_set_error), 0: unnamed */
	uint32_t pid, tid;
	uint32_t input_tokens, output_tokens;
	uint32_t link0, nlinks;				/* into the batch's links */
	uint8_t category, truncated, have_tokens;
	uint8_t error;					/* failed: Status code ERROR (2) */
};

struct ap_otlp_link {
	uint64_t trace_hi, trace_lo, span;
};

struct ap_otlp_batch {
	struct ap_otlp_span *s;
	uint32_t n, cap;
	struct ap_otlp_link *l;
	uint32_t nl, lcap;
	uint64_t unsendable;		/* spans never begun, not made records */
	/* scratch for a trace */
	uint32_t *order;
	uint64_t *ticks_end, *self;
	uint32_t scap;
};

/* One resource attribute (OTEL_RESOURCE_ATTRIBUTES), both strings owned by the caller. */
struct ap_otlp_kv {
	const char *key, *value;
};

/* What every span of a run shares: its resource and its clock. */
struct ap_otlp_meta {
	const char *service_name;	/* service.name */
	const char *host_name;		/* host.name; NULL: not sent */
	const struct ap_otlp_kv *attrs;	/* further resource attributes */
	uint32_t nattrs;
	const struct ap_names *names;
};

/*
 * The resource from the environment, as OpenTelemetry SDKs read it:
 * OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, else
 * "unknown_service:agentprof"; OTEL_RESOURCE_ATTRIBUTES (key=value pairs,
 * comma-separated, values percent-decoded; at most AP_OTLP_ATTRS_MAX, a
 * malformed pair is skipped and counted); host.name from gethostname().
 */
#define AP_OTLP_ATTRS_MAX 32u
struct ap_otlp_resource {
	struct ap_otlp_meta meta;
	struct ap_otlp_kv kv[AP_OTLP_ATTRS_MAX];
	char host[256];
	char *buf;		/* the pairs' strings */
	uint32_t bad;		/* pairs skipped */
};
void ap_otlp_resource_env(struct ap_otlp_resource *r, const struct ap_names *names);
void ap_otlp_resource_free(struct ap_otlp_resource *r);

/* The clock of a run as Unix ns: CLOCK_MONOTONIC ns + mono_to_unix. */
struct ap_otlp_clock {
	struct ap_clock_cal cal;
	int64_t mono_to_unix;
};
/* CLOCK_REALTIME - CLOCK_MONOTONIC now. */
int64_t ap_otlp_mono_to_unix(void);

void ap_otlp_batch_init(struct ap_otlp_batch *b);
void ap_otlp_batch_free(struct ap_otlp_batch *b);
static inline void ap_otlp_batch_clear(struct ap_otlp_batch *b)
{
	b->n = b->nl = 0;
}

/*
 * Add the spans of trace t. dur, self and truncated (per span of t, or NULL)
 * are the analysis's own figures, for a kept trace; NULL: computed here the
 * way the analysis computes them (tree.c). Returns the spans added, or
 * -ENOMEM (the batch is then as it was).
 */
int ap_otlp_batch_add(struct ap_otlp_batch *b, const struct ap_trace_view *t, const struct ap_otlp_clock *clk,
		      const uint64_t *dur, const uint64_t *self, const uint8_t *truncated);

/* The batch as an ExportTraceServiceRequest, appended to out. 0 or -ENOMEM. */
int ap_otlp_encode_pb(const struct ap_otlp_batch *b, const struct ap_otlp_meta *m, struct ap_pb *out);

/* The batch as OTLP/JSON (TracesData, which ExportTraceServiceRequest
 * equals in JSON) on one line, then a newline. 0 or the first write error. */
int ap_otlp_encode_json(const struct ap_otlp_batch *b, const struct ap_otlp_meta *m, FILE *f);

/*
 * A raw batch: the traces as the assembler handed them on, copied (spans,
 * parent indices, dependencies) with the names they use, so that the
 * drain thread's part of --otlp is a copy (about 10 ns a span) and the
 * encoding runs on the sender's thread (ap_otlp_raw_encode). Its size is
 * what the sender's queue counts.
 */
struct ap_otlp_raw_trace {
	uint32_t first, n;		/* its spans: v[first .. first + n) */
	uint32_t dep0, ndeps;
	uint64_t t_last;
	int complete;
};

struct ap_otlp_raw {
	struct ap_span *v;
	uint32_t *parent;		/* per trace, as the view had them */
	uint32_t n, cap;
	struct ap_otlp_raw_trace *tr;
	uint32_t ntr, trcap;
	struct ap_dep *deps;
	uint32_t ndeps, depcap;
	/* the names the spans use: ids, and offsets into pool of their strings */
	uint64_t *name_id;
	uint32_t *name_off;
	uint32_t nnames, namecap;
	char *pool;
	uint32_t pool_len, pool_cap;
	uint64_t *set;			/* open addressing over name ids (0: free) */
	uint32_t setcap;
	uint64_t seen[64];		/* ids certainly in set, direct-mapped: one compare a span */
	uint64_t spans;			/* begun spans: the ones that will be sent */
	uint64_t unsendable;		/* spans never begun */
	uint32_t unknown;		/* names not in the table when copied ("name#<hex>") */
};

void ap_otlp_raw_init(struct ap_otlp_raw *r);
void ap_otlp_raw_free(struct ap_otlp_raw *r);
/* Room for nspans spans in as many traces, so that filling a batch never
 * moves it. 0 or -ENOMEM. */
int ap_otlp_raw_reserve(struct ap_otlp_raw *r, uint32_t nspans);
/* Empty r, keeping its memory for the next batch. */
void ap_otlp_raw_clear(struct ap_otlp_raw *r);
/* Copy trace t in, with its names from `names`. Returns its begun spans,
 * or -ENOMEM (r is then as it was). */
int ap_otlp_raw_add(struct ap_otlp_raw *r, const struct ap_trace_view *t, const struct ap_names *names);
/* Bytes r holds (its arrays as allocated). */
size_t ap_otlp_raw_bytes(const struct ap_otlp_raw *r);
/* Look the names r did not know up again in `names` (after the caller
 * read more of them). 0 or -ENOMEM. */
int ap_otlp_raw_renames(struct ap_otlp_raw *r, const struct ap_names *names);
/*
 * Encode raw batch r as one request: OTLP/JSON onto json when it is not
 * NULL (a buffered stream: glibc's open_memstream costs 8x for many small
 * writes), else protobuf into a malloc'd *body of *len bytes. b is the
 * caller's scratch (a batch reused from call to call); m's names are
 * ignored (r carries its own). 0, -ENOMEM or a write error.
 */
int ap_otlp_raw_encode(const struct ap_otlp_raw *r, struct ap_otlp_batch *b, const struct ap_otlp_meta *m,
		       const struct ap_otlp_clock *clk, FILE *json, uint8_t **body, size_t *len);

#endif /* AP_OTLP_H */
