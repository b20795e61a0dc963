/* SPDX-License-Identifier: MIT */
/*
 * memory.h - resident memory next to time: a series of RSS samples per
 * process, taken by the reader (the writer pays nothing: reading
 * /proc/PID/statm is a syscall, and only the reader makes it), and what
 * they say per process and per operation.
 *
 * Samples. The session samples every process that owns a lane each
 * --memory-interval (20 ms by default; 0: off) as one round: the round's
 * time, then one sample per process (resident and anonymous KiB from
 * /proc/PID/statm: resident, and resident minus file-backed and shared
 * pages; statm is one read of a short line, smaps_rollup walks every
 * mapping, so statm it is; then /proc/PID/stat, to drop a process that has
 * begun to exit). A replay adds the rounds its log recorded, in
 * the same place among the events, and so repeats every figure.
 *
 * Series. Each process keeps two arrays, allocated with it:
 *   - a downsampled series of at most AP_MEM_SAMPLES samples: sample number
 *     t (counting every sample taken) is kept when t is a multiple of the
 *     stride; when the series is full, every other sample is dropped and
 *     the stride doubles (1, 2, 4, ...), so a run of any length keeps an
 *     even spread over all of it. Start, peak and end are kept exactly
 *     whatever was dropped. The fit and the counter track use it.
 *   - the last AP_MEM_RECENT samples at full rate (2.5 s at 20 ms), for the
 *     per-operation figures of traces that just completed.
 * A process that exits keeps its series. At most AP_MEM_PROCS processes
 * have one; samples of the rest are counted (procs_over_cap). Memory:
 * AP_MEM_SERIES_BYTES (6,280 bytes) per process, so 1,000 processes 6.0
 * MiB and the cap 24.5 MiB, whatever the run's length (ap_memory.bytes says
 * how much).
 *
 * Per process: start, peak and end, and the least-squares slope of RSS over
 * time with its fit (r^2), which the findings use to flag a steady growth.
 *
 * Per operation. A trace is held back (ap_mem_hold) until the first round
 * that began after its last span ended, so that both sides of every span
 * have a sample; then it is analysed. The change between two consecutive
 * samples of a process is attributed to the innermost spans of the trace in
 * that process open at the middle of the two (split evenly between
 * concurrent ones), and a span's figure is what it got plus what its
 * descendants in the same process got: inclusive, as its duration is. The
 * sampling error is at most half an interval of allocation at each end. A
 * span shorter than the gap between the samples around it (the interval,
 * or the stride's multiple of it where only the downsampled series reaches)
 * cannot be measured: it is counted as not measurable and given no figure,
 * rather than noise. Spans of other traces of the same process that ran at
 * the same time are not seen by a trace's analysis: each trace attributes
 * its process's growth as if it ran alone.
 */
#ifndef AP_MEMORY_H
#define AP_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "hmap.h"
#include "assemble.h"
#include "spans.h"

#define AP_MEM_SAMPLES	256u	/* downsampled series, per process */
#define AP_MEM_RECENT	128u	/* recent samples at full rate, per process */
#define AP_MEM_PROCS	4096u	/* processes with a series */
#define AP_MEM_INTERVAL_MAX_MS	60000u	/* --memory-interval at most a minute */
#define AP_MEM_DEFAULT_MS	20u	/* the commands' default, the owner check's period */

struct ap_mem_sample {
	uint64_t ticks;		/* segment clock */
	uint32_t rss_kib;	/* resident */
	uint32_t anon_kib;	/* resident, not file-backed or shared */
};

struct ap_mem_series {
	uint32_t pid;
	uint32_t n;		/* samples kept in s, <= AP_MEM_SAMPLES */
	uint32_t stride;	/* sample number t is kept when t % stride == 0 */
	uint32_t rhead, rn;	/* recent: next slot, samples held */
	uint64_t taken;		/* samples taken, kept or not */
	uint64_t traces;	/* traces rooted in this process, analysed */
	struct ap_mem_sample first, last, peak;
	struct ap_mem_sample *s;	/* AP_MEM_SAMPLES, then the recent ring */
	struct ap_mem_sample *recent;	/* AP_MEM_RECENT, oldest at (rhead - rn) */
};

#define AP_MEM_SERIES_BYTES \
	(sizeof(struct ap_mem_series) + (AP_MEM_SAMPLES + AP_MEM_RECENT) * sizeof(struct ap_mem_sample) + 32u)

struct ap_memory {
	uint64_t interval_ns;		/* the sampling interval; 0: memory is not sampled */
	struct ap_clock_cal clock;
	struct ap_mem_series *series;	/* in order of first sample */
	uint32_t nseries, cap;
	struct ap_map index;		/* pid -> index */
	uint64_t procs_over_cap;	/* samples of processes that found no series */
	uint64_t samples_bad;		/* samples refused (pid 0, time out of order) */
	uint64_t rounds;		/* sampling rounds */
	uint64_t samples;		/* samples added */
	uint64_t last_round;		/* ticks of the latest round */
	uint64_t sample_ns;		/* reader time spent reading /proc (live runs; from the log) */
	uint64_t sample_reads;		/* /proc reads that cost it, failed ones included */
	uint64_t bytes;			/* heap held by the series and the index */
	uint64_t traces_early;		/* traces analysed before a round sampled past them (the
					 * hold was full): copied from ap_mem_hold by its owner */
	uint32_t memo_pid, memo;	/* the series ap_mem_count_trace found last, index + 1 */
};

/* 0, -EINVAL (interval over AP_MEM_INTERVAL_MAX_MS), -ENOMEM. */
int ap_mem_init(struct ap_memory *m, uint64_t interval_ns, const struct ap_clock_cal *clock);
void ap_mem_free(struct ap_memory *m);
/* A round begins at `ticks`: its samples follow. */
void ap_mem_round(struct ap_memory *m, uint64_t ticks);
/* A sample of process pid at `ticks` (not before its previous sample).
 * 0; -ENOSPC past AP_MEM_PROCS, -EINVAL for a bad sample (both counted);
 * -ENOMEM. */
int ap_mem_add(struct ap_memory *m, uint32_t pid, uint64_t ticks, uint32_t rss_kib, uint32_t anon_kib);
/* The series of pid, or NULL. */
const struct ap_mem_series *ap_mem_find(const struct ap_memory *m, uint32_t pid);
/* A trace rooted in pid was analysed (for "per 1,000 traces"); every root
 * of t. */
void ap_mem_count_trace(struct ap_memory *m, uint32_t pid);
void ap_mem_count_roots(struct ap_memory *m, const struct ap_trace_view *t);

/* Least-squares fit of RSS (KiB) on time (s) over a series' kept samples
 * and its last: slope in KiB/s and r^2 (0 and 0 with fewer than three
 * samples or no spread in time; r^2 1 when RSS did not change). */
void ap_mem_fit(const struct ap_memory *m, const struct ap_mem_series *s, double *slope, double *r2);

/* Samples of s between `from` and `to` (ticks) in time order, with one
 * sample before `from` and one after `to` where there are: recent samples
 * where the ring reaches, kept ones before that. Writes at most max into
 * out, returns how many. The counter track of an exporter can walk a whole
 * series with from = 0, to = UINT64_MAX (it gets the kept ones, then the
 * recent ones). */
uint32_t ap_mem_window(const struct ap_mem_series *s, uint64_t from, uint64_t to, struct ap_mem_sample *out,
		       uint32_t max);

/* ------------------------------------------------------------------------ */
/* Traces held until a round has sampled past their end.                    */

struct ap_trace_view;
typedef void (*ap_mem_trace_fn)(void *ctx, const struct ap_trace_view *t);

/*
 * A round's traces need not be analysed the moment it is taken. The live
 * reader marks them ready (ap_mem_ready) and works through them a bounded
 * share at a time between drain passes (ap_mem_step), so that the traces
 * of 20 ms of a busy fleet do not keep it from the lanes in one go. The
 * figures do not move: fn sees the same traces in the same order as an
 * unbounded release (a replay's), because every other way a trace reaches
 * fn (the next round, a dump, a full hold, a trace too large to hold) hands on
 * the ready ones first, and what a trace's figures read, the series,
 * changes only at the next round, which the session lets in only after
 * ap_mem_finish (memsample.c).
 *
 * Two banks: one collects the traces that come, the other holds the last
 * round's, handed on from its front; a round swaps them. Nothing is ever
 * moved but a trace whose end is past the round (a writer's clock ahead
 * of the reader's), copied into the collecting bank.
 */
#define AP_MEM_WAIT	0u	/* waiting for a round to sample past its end */
#define AP_MEM_READY	1u	/* sampled past: handed on by the next step */
#define AP_MEM_DONE	2u	/* handed on (or moved to the other bank) */

struct ap_mem_held {
	uint64_t end;			/* latest end (or begin) of its spans, ticks */
	uint64_t t_last;
	uint32_t v_off, n, d_off, nd;
	uint8_t complete, state;	/* state: AP_MEM_WAIT, READY, DONE */
	uint8_t pad[6];
};

/* Spans waiting at most (about 6 MiB of spans); the bank being handed on
 * holds at most as many again: 12.5 MiB of spans in all at most. */
#define AP_MEM_HOLD_SPANS	65536u

struct ap_mem_bank {
	struct ap_span *v;
	uint32_t *parent;
	struct ap_dep *deps;
	struct ap_mem_held *t;
	uint32_t nv, vcap, nd, dcap, nt, tcap;
};

struct ap_mem_hold {
	struct ap_mem_bank bank[2];	/* bank[cur] collects, the other is handed on */
	uint32_t cur;
	uint32_t nwait;			/* spans waiting, <= AP_MEM_HOLD_SPANS */
	uint32_t nwaiting;		/* traces waiting */
	uint32_t nready;		/* traces ready, not handed on yet */
	uint32_t next;			/* the handed-on bank's t[] before it: no ready trace */
	uint64_t released_early;	/* traces analysed before a round passed their end (hold full) */
};

void ap_mem_hold_free(struct ap_mem_hold *h);
/* A complete trace: held when m samples memory, else handed to fn now. */
void ap_mem_offer(const struct ap_memory *m, struct ap_mem_hold *h, const struct ap_trace_view *t,
		  ap_mem_trace_fn fn, void *ctx);
/* Hold a copy of t. When the spans waiting would pass AP_MEM_HOLD_SPANS,
 * the traces held are released first, through fn (the ready ones, then
 * those waiting, counted); a trace that cannot be held (larger than the
 * hold, no memory) is handed to fn at once, after the ready ones. */
void ap_mem_hold(struct ap_mem_hold *h, const struct ap_trace_view *t, ap_mem_trace_fn fn, void *ctx);
/* A round was taken at `ticks`: hand on what is still ready (the previous
 * round's), then mark ready every held trace that ended at or before it. */
void ap_mem_ready(struct ap_mem_hold *h, uint64_t ticks, ap_mem_trace_fn fn, void *ctx);
/* Hand ready traces to fn, in the order they came, until at least `spans`
 * spans have gone (UINT32_MAX: all of them). Returns the traces still ready. */
uint32_t ap_mem_step(struct ap_mem_hold *h, uint32_t spans, ap_mem_trace_fn fn, void *ctx);
static inline void ap_mem_finish(struct ap_mem_hold *h, ap_mem_trace_fn fn, void *ctx)
{
	if (h->nready)
		ap_mem_step(h, UINT32_MAX, fn, ctx);
}
/* Hand every held trace that ended at or before `ticks` to fn, in the order
 * they came (ap_mem_ready, then ap_mem_finish); ticks UINT64_MAX: all of
 * them (the end of a run). */
void ap_mem_release(struct ap_mem_hold *h, uint64_t ticks, ap_mem_trace_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* Per-operation figures.                                                    */

/* KiB changes, signed, log-linear: exact below 16 KiB, 16 buckets per power
 * of two above (a bucket is at most 1/16 of its value wide), up to 2^40 KiB. */
#define AP_MEM_HEXACT	16u
#define AP_MEM_HBUCKETS	(AP_MEM_HEXACT + (41u - 4u) * 16u)
#define AP_RSS_NONE	INT64_MIN	/* a span with no figure */

struct ap_op_mem {
	uint64_t measured;		/* spans given a figure */
	uint64_t not_measurable;	/* spans shorter than the samples around them */
	int64_t total_kib;
	int64_t max_kib;
	uint32_t pos[AP_MEM_HBUCKETS];	/* changes >= 0 */
	uint32_t neg[AP_MEM_HBUCKETS];	/* changes < 0, by magnitude */
};

void ap_op_mem_add(struct ap_op_mem *o, int64_t kib);
void ap_op_mem_merge(struct ap_op_mem *dst, const struct ap_op_mem *src);
/* The change at quantile q (bucket midpoint), 0 when none was measured. */
int64_t ap_op_mem_quantile(const struct ap_op_mem *o, double q);

/* A steady growth, as the findings flag it: at least AP_MEM_GROWTH_MIN_KIB
 * and 10% of the start, a fit of r^2 >= 0.8 over at least 10 samples. */
#define AP_MEM_GROWTH_MIN_KIB	8192u
int ap_mem_steady_growth(const struct ap_memory *m, const struct ap_mem_series *s, double *slope, double *r2);

#endif /* AP_MEMORY_H */
