/* SPDX-License-Identifier: MIT */
/*
 * agentprof.h - record spans of an AI-agent program into agentprof.
 *
 * The only header a program includes. Link with libagentprof (static:
 * build/libagentprof.a -lpthread; shared: -lagentprof).
 *
 * Profiling is on when the process can attach to a segment created by the
 * `agentprof` reader: named by ap_attach(), or by $AGENTPROF_SHM on the first
 * call. Otherwise every call is a cheap no-op. The library never blocks,
 * never exits, never prints, and never fails the program: an internal error
 * turns profiling off for the process.
 *
 * Threads: every function may be called from any thread. A thread claims a
 * lane of the segment on its first span and records into it lock-free; spans
 * nest under the calling thread's innermost open span.
 *
 * Signal handlers may record spans. A span recorded by a handler that
 * interrupted a recording call of the same thread is dropped and counted.
 *
 * Compiled with -DAGENTPROF_DISABLE, every function and macro of this header
 * becomes an empty inline that records nothing and needs no library at link
 * time: ids are 0, ap_enabled() is 0, ap_traceparent() is AP_E_OFF.
 */
#ifndef AGENTPROF_H
#define AGENTPROF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, as `agentprof --version` and report.json say it. */
#define AGENTPROF_VERSION_MAJOR	0
#define AGENTPROF_VERSION_MINOR	2
#define AGENTPROF_VERSION_PATCH	0
#define AGENTPROF_VERSION	"0.2.0"

#if defined(__GNUC__)
#define AP_API __attribute__((visibility("default")))
#else
#define AP_API
#endif

/* Span categories. */
enum {
	AP_CAT_INTERNAL = 0,	/* glue, orchestration */
	AP_CAT_LLM      = 1,	/* a model call */
	AP_CAT_TOOL     = 2,	/* a tool call */
	AP_CAT_MEMORY   = 3,	/* a memory / retrieval operation */
	AP_CAT_COUNT
};

/* agentprof's own errors: a range of their own below -errno values. The
 * first ten are the segment's refusals, the same numbers as shm/'s codes. */
#define AP_E_BASE	(-30800)
#define AP_E_MAGIC	(AP_E_BASE - 0)	/* not an agentprof segment (bad magic) */
#define AP_E_ABI	(AP_E_BASE - 1)	/* segment ABI version differs from the library's */
#define AP_E_LAYOUT	(AP_E_BASE - 2)	/* layout fingerprint differs (other build or architecture) */
#define AP_E_SIZE	(AP_E_BASE - 3)	/* file size differs from the size in the header */
#define AP_E_NOTSHM	(AP_E_BASE - 4)	/* name is not a regular shared-memory file */
#define AP_E_OWNER	(AP_E_BASE - 5)	/* segment belongs to another user */
#define AP_E_MODE	(AP_E_BASE - 6)	/* segment is readable or writable by others than its owner */
#define AP_E_GEOMETRY	(AP_E_BASE - 7)	/* header geometry out of bounds or inconsistent */
#define AP_E_CLOCK	(AP_E_BASE - 8)	/* segment clock cannot be read in this process */
#define AP_E_NAME	(AP_E_BASE - 9)	/* bad segment name */
#define AP_E_OFF	(AP_E_BASE - 10)	/* profiling is off in this process */
#define AP_E_NOSPAN	(AP_E_BASE - 11)	/* no current span */
#define AP_E_BADCTX	(AP_E_BASE - 12)	/* malformed traceparent or context */
#define AP_E_DEPTH	(AP_E_BASE - 13)	/* the thread's span stack is full */
#define AP_E_LAST	(AP_E_BASE - 13)

#if defined(AGENTPROF_DISABLE) && !defined(AP_BUILDING_LIBRARY)
/* Compiled out: the same names, recording nothing, needing no library. */
struct ap_stats {
	uint64_t recorded, dropped_full, dropped_no_lane, dropped_reentrant, names_not_kept;
};
static inline int ap_attach(const char *segment) { (void)segment; return 0; }
static inline void ap_detach(void) { }
static inline const char *ap_strerror(int err) { (void)err; return "agentprof is compiled out"; }
static inline int ap_enabled(void) { return 0; }
static inline uint64_t ap_name(const char *name) { (void)name; return 0; }
static inline uint64_t ap_begin(uint64_t name_id, int category) { (void)name_id; (void)category; return 0; }
static inline uint64_t ap_begin_child(uint64_t parent, uint64_t name_id, int category)
{ (void)parent; (void)name_id; (void)category; return 0; }
static inline uint64_t ap_begin_async(uint64_t parent, uint64_t name_id, int category)
{ (void)parent; (void)name_id; (void)category; return 0; }
static inline void ap_end(uint64_t span) { (void)span; }
static inline void ap_set_tokens(uint64_t span, uint64_t model, uint32_t in, uint32_t out)
{ (void)span; (void)model; (void)in; (void)out; }
static inline void ap_depends(uint64_t span, uint64_t on_span) { (void)span; (void)on_span; }
static inline int ap_traceparent(char out[56]) { (void)out; return AP_E_OFF; }
static inline uint64_t ap_current(void) { return 0; }
static inline void ap_stats(struct ap_stats *out)
{ out->recorded = out->dropped_full = out->dropped_no_lane = out->dropped_reentrant = out->names_not_kept = 0; }
struct ap_ctx { uint64_t trace_hi, trace_lo, span; uint32_t flags, pid; };
#define AP_CTX_SAMPLED	0x1u
#define AP_CTX_REMOTE	0x2u
static inline uint64_t ap_begin_ctx(const struct ap_ctx *parent, uint64_t name_id, int category, struct ap_ctx *out)
{ (void)parent; (void)name_id; (void)category; out->trace_hi = out->trace_lo = out->span = 0; out->flags = out->pid = 0; return 0; }
static inline void ap_end_ctx(const struct ap_ctx *c) { (void)c; }
static inline void ap_set_error(uint64_t span, uint64_t name_id) { (void)span; (void)name_id; }
static inline int ap_ctx_traceparent(const struct ap_ctx *c, char out[56]) { (void)c; (void)out; return AP_E_OFF; }
static inline int ap_ctx_parse(const char *tp, struct ap_ctx *out) { (void)tp; (void)out; return AP_E_OFF; }
static inline int ap_ctx_current(struct ap_ctx *out) { (void)out; return AP_E_OFF; }
static inline int ap_ctx_push(const struct ap_ctx *c) { (void)c; return AP_E_OFF; }
static inline void ap_ctx_pop(const struct ap_ctx *c) { (void)c; }
static inline uint64_t ap_spans_no_reader(void) { return 0; }
#define AP_SPAN(name_literal, category) ((void)0)
#define AP_SPAN_REENTRANT	UINT64_MAX
#else /* !AGENTPROF_DISABLE */

/*
 * Attach to the segment `segment` (a POSIX shm name such as "/agentprof-1"),
 * or, when NULL, to $AGENTPROF_SHM. Unset or empty: returns 0 and stays off.
 * Re-attaching detaches first. Returns 0, or a negative error:
 * -ENOENT (no such segment), -EACCES, -ENOMEM, AP_E_MAGIC, AP_E_ABI,
 * AP_E_LAYOUT, AP_E_SIZE, AP_E_NOTSHM, AP_E_OWNER, AP_E_MODE, AP_E_GEOMETRY,
 * AP_E_CLOCK, AP_E_NAME; -EINVAL when $AGENTPROF_SAMPLE is not a number from
 * 0 to 1. On error profiling stays off; after -ENOENT (no reader has created
 * the segment yet, or its reader retired it) the process waits for it:
 * spans record nothing and are counted (ap_spans_no_reader), the name is
 * looked for again at most once a second, and recording starts when it is
 * there. ap_detach() stops the waiting.
 *
 * $AGENTPROF_SAMPLE (default 1) is the share of traces recorded, decided once
 * per trace from its id when its root begins; a process started under
 * $TRACEPARENT follows the sampled flag there, so a trace is recorded in every
 * process it reaches or in none. A span of a trace not sampled still gets an
 * id (an even one; recorded spans have odd ids) and nests as usual; nothing of
 * it is written.
 */
AP_API int ap_attach(const char *segment);

/* Stop recording in this process. Lanes are released as their threads make
 * their next call or exit. */
AP_API void ap_detach(void);

/* A message for a value returned by ap_attach (negative errno or AP_E_*). */
AP_API const char *ap_strerror(int err);

/* Non-zero when this process records spans. */
AP_API int ap_enabled(void);

/*
 * Intern a name (a span name or a model name) and return its id: XXH3-64 of
 * the name (names longer than 103 bytes are cut at a UTF-8 boundary first),
 * stable across processes and runs. Call once per call site and keep the id.
 * Works while off (returns the id without recording the string).
 */
AP_API uint64_t ap_name(const char *name);

/*
 * Begin a span of `category` (AP_CAT_*) under the calling thread's innermost
 * open span (or, for a thread with none, under the span named by
 * $TRACEPARENT, or as a new root). Returns the span id: 0 when profiling is
 * off; an even id for a span of a trace not sampled (nothing of it is
 * written); AP_SPAN_REENTRANT when the call interrupted a recording call of
 * the same thread (a signal handler: its events are dropped and counted); an
 * odd id otherwise. Pass whatever it returned to the other calls. A span
 * whose begin event had to be dropped (full lane) still gets an id, so its
 * end and its children stay consistent; the loss is counted.
 */
AP_API uint64_t ap_begin(uint64_t name_id, int category);

/* The id of a span begun in a signal handler that interrupted its thread's
 * own recording call: ending it (or anything else done with it) records
 * nothing and counts the event as dropped (dropped_reentrant). */
#define AP_SPAN_REENTRANT	UINT64_MAX

/* Begin a span under an explicit parent (async tasks, work handed to another
 * thread). The span becomes the calling thread's innermost open span. */
AP_API uint64_t ap_begin_child(uint64_t parent_span, uint64_t name_id, int category);

/* Begin a span under an explicit parent without making it the calling
 * thread's innermost open span: for a span that another thread will end. */
AP_API uint64_t ap_begin_async(uint64_t parent_span, uint64_t name_id, int category);

/* End a span; any thread may end any span. ap_end(0) does nothing. Open spans
 * of this thread begun after `span` that are still open are closed as
 * implicit parents (they were handed elsewhere or leaked). */
AP_API void ap_end(uint64_t span);

/* Token use of an LLM span; call before or after ap_end. */
AP_API void ap_set_tokens(uint64_t span, uint64_t model_name_id,
			  uint32_t input_tokens, uint32_t output_tokens);

/* Declare that `span` consumed the output of `on_span` (an earlier sibling). */
AP_API void ap_depends(uint64_t span, uint64_t on_span);

/*
 * Write the W3C traceparent of the calling thread's current span
 * ("00-<32 hex trace id>-<16 hex span id>-01", NUL-terminated) into out.
 * A thread with no open span gives the inherited $TRACEPARENT if any.
 * Returns 0, AP_E_OFF, or AP_E_NOSPAN.
 */
AP_API int ap_traceparent(char out[56]);

/* Span id of the calling thread's innermost open span, 0 if none. */
AP_API uint64_t ap_current(void);

/*
 * Error status: record that `span` failed, and why (`name_id`: ap_name() of
 * an exception type, a status, any name; 0 for none). Before or after
 * ap_end; the reader counts errors per operation and keeps failed traces
 * first. Off, or a span not recorded: nothing.
 */
AP_API void ap_set_error(uint64_t span, uint64_t name_id);

/*
 * Explicit contexts: spans whose parent is passed in and returned, never
 * taken from or left on the calling thread's stack. For code where the
 * thread is not the unit of work: asyncio (many tasks on one thread), a
 * language runtime keeping its own context (the Python module keeps one in
 * a contextvars.ContextVar), work that moves between threads.
 *
 * A context is plain data: copy it, keep it, hand it to another thread; it
 * stays valid after its span has ended (a child may begin under an ended
 * span: the reader still nests it).
 */
struct ap_ctx {
	uint64_t trace_hi;	/* W3C trace id, high 64 bits */
	uint64_t trace_lo;	/* W3C trace id, low 64 bits */
	uint64_t span;		/* span id; 0: no span (an empty context) */
	uint32_t flags;		/* AP_CTX_* */
	uint32_t pid;		/* process that began the span (0: another process) */
};
#define AP_CTX_SAMPLED	0x1u	/* the trace is recorded (W3C sampled flag) */
#define AP_CTX_REMOTE	0x2u	/* the span lives in another process (traceparent) */

/*
 * Begin a span under `parent` (NULL, or an empty context: under the span
 * named by $TRACEPARENT, or as a new root) and describe it in *out, which
 * may then be the parent of other spans. Returns the span id, as ap_begin
 * does (0 when off; even when its trace is not sampled); *out is filled
 * either way (all zero when off). The thread's stack is neither read nor
 * changed. End the span with ap_end_ctx(out).
 */
AP_API uint64_t ap_begin_ctx(const struct ap_ctx *parent, uint64_t name_id, int category,
			     struct ap_ctx *out);

/* End a span begun with ap_begin_ctx, from any thread. A span inherited
 * through fork (begun by the parent process) is not ended by the child: its
 * end is the parent's to record. NULL or an empty context: nothing. */
AP_API void ap_end_ctx(const struct ap_ctx *ctx);

/* Write the W3C traceparent of ctx into out (55 characters and a NUL).
 * 0, AP_E_NOSPAN (NULL or empty context), AP_E_OFF. */
AP_API int ap_ctx_traceparent(const struct ap_ctx *ctx, char out[56]);

/* Parse a W3C traceparent received at run time (an HTTP header, a queue
 * message) into a context to begin spans under: remote, sampled as its flag
 * says. 0 or AP_E_BADCTX. Works while off. */
AP_API int ap_ctx_parse(const char *traceparent, struct ap_ctx *out);

/* The calling thread's current span as a context (its innermost open span,
 * else $TRACEPARENT). 0, AP_E_NOSPAN or AP_E_OFF. */
AP_API int ap_ctx_current(struct ap_ctx *out);

/*
 * Make ctx the calling thread's current span, without recording anything,
 * so that ap_begin (C code called from a runtime that keeps its own
 * context, or a traceparent adopted at run time) nests under it. Pair each
 * push with ap_ctx_pop(ctx) on the same thread. 0, AP_E_OFF, AP_E_NOSPAN
 * (empty context), AP_E_DEPTH.
 */
AP_API int ap_ctx_push(const struct ap_ctx *ctx);

/* Undo ap_ctx_push(ctx): ctx and any span of this thread begun above it and
 * still open stop being current (the spans are not ended). */
AP_API void ap_ctx_pop(const struct ap_ctx *ctx);

/*
 * Counters of this process, for tests and self-reports. Each field counts
 * events (a span is two events: begin and end).
 */
struct ap_stats {
	uint64_t recorded;		/* events published into a lane */
	uint64_t dropped_full;		/* lane full */
	uint64_t dropped_no_lane;	/* no free lane */
	uint64_t dropped_reentrant;	/* signal handler interrupted a write */
	uint64_t names_not_kept;	/* ap_name calls whose name is interned into this
					 * segment but not kept for a later one (the
					 * process keeps 65,536 names) */
};
/* Sum of this process's threads that are alive or have exited; the counts of
 * a thread are added as it makes its calls, so read them from the thread that
 * recorded or after the others have been joined. */
AP_API void ap_stats(struct ap_stats *out);

/*
 * Spans this process could not record because no reader was there: its
 * segment (ap_attach's name or $AGENTPROF_SHM) did not exist yet, or its
 * reader had stopped and retired it. Meanwhile the process looks for the
 * segment again at most once a second and records again as soon as it is
 * there; each thread sends what it could not record with its next lane
 * claim, so the next reader reports it (spans_no_reader). Spans, not
 * events: a span begun while waiting writes neither BEGIN nor END.
 */
AP_API uint64_t ap_spans_no_reader(void);

/*
 * Inline fast paths. With profiling off, a span costs one load and a branch
 * in the caller, no call into the library. ap_maybe_on_ is written by the
 * library only: non-zero until profiling is known to be off. The functions
 * above remain exported for callers that cannot use the header (FFI).
 * Arguments are evaluated exactly once either way.
 */
extern AP_API int ap_maybe_on_;

#ifndef AP_BUILDING_LIBRARY
static inline uint64_t ap_begin_inline_(uint64_t name_id, int category)
{
	if (!__atomic_load_n(&ap_maybe_on_, __ATOMIC_RELAXED))
		return 0;
	return (ap_begin)(name_id, category);
}

static inline uint64_t ap_begin_child_inline_(uint64_t parent, uint64_t name_id, int category)
{
	if (!__atomic_load_n(&ap_maybe_on_, __ATOMIC_RELAXED))
		return 0;
	return (ap_begin_child)(parent, name_id, category);
}

static inline uint64_t ap_begin_async_inline_(uint64_t parent, uint64_t name_id, int category)
{
	if (!__atomic_load_n(&ap_maybe_on_, __ATOMIC_RELAXED))
		return 0;
	return (ap_begin_async)(parent, name_id, category);
}

static inline void ap_end_inline_(uint64_t span)
{
	if (span)
		(ap_end)(span);
}

#define ap_begin(name_id, category) ap_begin_inline_((name_id), (category))
#define ap_begin_child(parent, name_id, category) ap_begin_child_inline_((parent), (name_id), (category))
#define ap_begin_async(parent, name_id, category) ap_begin_async_inline_((parent), (name_id), (category))
#define ap_end(span) ap_end_inline_(span)
#endif /* AP_BUILDING_LIBRARY */

/* Scoped span: begins here, ends when the enclosing block is left.
 * Needs GCC or Clang (cleanup attribute). The name must be a literal or have
 * static storage; it is interned once per call site. */
AP_API void ap_span_cleanup_(uint64_t *span);

#define AP_CONCAT2_(a, b) a##b
#define AP_CONCAT_(a, b) AP_CONCAT2_(a, b)
#define AP_SPAN_AT_(name, category, id)						\
	static uint64_t AP_CONCAT_(ap_name_id_, id);			\
	uint64_t AP_CONCAT_(ap_span_, id) __attribute__((cleanup(ap_span_cleanup_), unused)) = \
		ap_begin(ap_name_cached_(&AP_CONCAT_(ap_name_id_, id), (name)), (category))
#define AP_SPAN(name_literal, category) AP_SPAN_AT_(name_literal, category, __COUNTER__)

/* Interns `name` into *cache once (racing threads compute the same id). */
static inline uint64_t ap_name_cached_(uint64_t *cache, const char *name)
{
	uint64_t id = __atomic_load_n(cache, __ATOMIC_RELAXED);

	if (__builtin_expect(id == 0, 0)) {
		id = ap_name(name);
		__atomic_store_n(cache, id, __ATOMIC_RELAXED);
	}
	return id;
}

#endif /* AGENTPROF_DISABLE */

#ifdef __cplusplus
}
#endif

#endif /* AGENTPROF_H */
