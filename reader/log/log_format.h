/* SPDX-License-Identifier: MIT */
/*
 * log_format.h - the bytes of an event log file (`--log FILE`).
 *
 * A log is a sequence of blocks, each
 *   struct ap_log_block   32 bytes: magic, type, length, sequence number,
 *                         XXH3-64 of the block (this header with sum = 0,
 *                         then the payload)
 *   payload               len bytes
 * Block types:
 *   HEADER  first: struct ap_log_geometry, struct ap_log_settings, (version
 *           3 on) struct ap_log_memory, then the model table as text
 *           ("NAME WINDOW\n" lines)
 *   DATA    records, each a struct ap_log_rec and its body, 8-byte aligned:
 *             pid > 0, n > 0   n events of that process, 64 bytes each, in
 *                              lane order
 *             pid = 0, n = 0   flush point: the reader handed complete
 *                              traces on here
 *             pid = 0, n > 0   n bytes of NUL-terminated names (their ids
 *                              are their hashes), padded to 8
 *             pid = 0, n = AP_LOG_REC_SEEN   a struct ap_log_seen: a process
 *                              was last known running at a time (its open
 *                              spans are truncated there)
 *             pid = 0, n = AP_LOG_REC_MEM    (version 3 on) a struct ap_log_mem,
 *                              then its count of struct ap_log_mem_sample:
 *                              RSS samples of one round (--memory-interval),
 *                              split over records when a block cannot hold
 *                              the round
 *             pid = 0, n = AP_LOG_REC_EXPIRE (version 4 on) a struct ap_log_expire: the trace
 *                              timeout handed traces on here (written only
 *                              when it handed one on; a reader older than the
 *                              record counts it as a bad record)
 *   TOTALS  last: geometry, settings, (version 3 on) struct ap_log_memory,
 *           struct ap_log_totals, nprocs process rows, nquarantined lanes,
 *           the model table as text
 *
 * Host byte order; the layout fingerprint in the geometry refuses a log from
 * another layout. Versions: 2 persists integers only (thresholds in
 * micro-percent and nanoseconds, the writers' cost in clock ticks x 16);
 * 3 adds the memory settings and samples after the 80 bytes of settings (a
 * version 1 or 2 log is a run without them: no Memory section); 4 adds the
 * error_pct rule, so struct ap_log_settings grows by 16 bytes before the
 * memory settings (a log before version 4 takes error_pct's default);
 * version 1 logs, which held doubles there, are still read (the _v1
 * structs, read-only). Nothing in a log is trusted when it is read back: the
 * scanner checks every block's length and checksum, the codec every count
 * and range (logcodec.c). Every field's offset is pinned below, so this
 * file is also the key to a hex dump.
 */
#ifndef AP_LOG_FORMAT_H
#define AP_LOG_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define AP_LOG_MAGIC		0x424c5041u	/* "APLB" */
#define AP_LOG_VERSION		4u	/* written; versions 1 to 4 are read */
#define AP_LOG_BLOCK_DEFAULT	(1u << 20)	/* payload bytes per block */
#define AP_LOG_BLOCK_MIN	512u
#define AP_LOG_BLOCK_MAX	(16u << 20)

enum { AP_LOG_HEADER = 1, AP_LOG_DATA = 2, AP_LOG_TOTALS = 3 };

struct ap_log_block {
	uint32_t magic;		/* AP_LOG_MAGIC */
	uint16_t type;		/* AP_LOG_HEADER, _DATA, _TOTALS */
	uint16_t flags;		/* 0 */
	uint32_t len;		/* payload bytes, <= AP_LOG_BLOCK_MAX */
	uint32_t reserved;	/* 0 */
	uint64_t seq;		/* 0, 1, 2, ... skips where a block was not written */
	uint64_t sum;		/* XXH3-64 of this header (sum = 0) and the payload */
};
_Static_assert(sizeof(struct ap_log_block) == 32, "log block header");
_Static_assert(offsetof(struct ap_log_block, magic) == 0, "ap_log_block.magic");
_Static_assert(offsetof(struct ap_log_block, type) == 4, "ap_log_block.type");
_Static_assert(offsetof(struct ap_log_block, flags) == 6, "ap_log_block.flags");
_Static_assert(offsetof(struct ap_log_block, len) == 8, "ap_log_block.len");
_Static_assert(offsetof(struct ap_log_block, reserved) == 12, "ap_log_block.reserved");
_Static_assert(offsetof(struct ap_log_block, seq) == 16, "ap_log_block.seq");
_Static_assert(offsetof(struct ap_log_block, sum) == 24, "ap_log_block.sum");

struct ap_log_rec {
	uint32_t pid;		/* 0: a flush point or names */
	uint32_t n;		/* events, or bytes of names */
};
_Static_assert(sizeof(struct ap_log_rec) == 8, "log record header");
_Static_assert(offsetof(struct ap_log_rec, pid) == 0, "ap_log_rec.pid");
_Static_assert(offsetof(struct ap_log_rec, n) == 4, "ap_log_rec.n");

#define AP_LOG_REC_SEEN	0xffffffffu	/* n of a "last seen running" record */
#define AP_LOG_REC_EXPIRE 0xfffffffdu	/* (0xfffffffe is the memory samples record of format 3
					 * on) n of a trace-timeout record: a struct
					 * ap_log_expire; the reader handed on every trace
					 * whose latest event was before `cutoff` here */

struct ap_log_expire {
	uint64_t cutoff;	/* segment clock ticks */
	uint64_t reserved;	/* 0 */
};
_Static_assert(sizeof(struct ap_log_expire) == 16, "log expire record");
_Static_assert(offsetof(struct ap_log_expire, cutoff) == 0, "expire.cutoff");
_Static_assert(offsetof(struct ap_log_expire, reserved) == 8, "expire.reserved");

struct ap_log_seen {
	uint32_t pid;
	uint32_t reserved;	/* 0 */
	uint64_t ticks;		/* segment clock */
};
_Static_assert(sizeof(struct ap_log_seen) == 16, "log seen record");
_Static_assert(offsetof(struct ap_log_seen, pid) == 0, "seen.pid");
_Static_assert(offsetof(struct ap_log_seen, reserved) == 4, "seen.reserved");
_Static_assert(offsetof(struct ap_log_seen, ticks) == 8, "seen.ticks");

#define AP_LOG_REC_MEM	0xfffffffeu	/* n of a memory samples record */

/* A round of RSS samples, or part of one: the round's time, then `n`
 * samples. Flags: FIRST on the round's first record, LAST on its last (the
 * replay analyses the traces held until then). */
#define AP_LOG_MEM_FIRST	1u
#define AP_LOG_MEM_LAST		2u
struct ap_log_mem {
	uint64_t round_ticks;	/* segment clock, when the round began */
	uint32_t n;		/* samples that follow */
	uint32_t flags;		/* AP_LOG_MEM_* */
};
_Static_assert(sizeof(struct ap_log_mem) == 16, "log memory record");
_Static_assert(offsetof(struct ap_log_mem, round_ticks) == 0, "mem.round_ticks");
_Static_assert(offsetof(struct ap_log_mem, n) == 8, "mem.n");
_Static_assert(offsetof(struct ap_log_mem, flags) == 12, "mem.flags");

struct ap_log_mem_sample {
	uint32_t pid;
	uint32_t rss_kib;	/* resident */
	uint32_t anon_kib;	/* resident, not file-backed or shared */
	uint32_t reserved;	/* 0 */
	uint64_t ticks;		/* segment clock */
};
_Static_assert(sizeof(struct ap_log_mem_sample) == 24, "log memory sample");
_Static_assert(offsetof(struct ap_log_mem_sample, pid) == 0, "mem_sample.pid");
_Static_assert(offsetof(struct ap_log_mem_sample, rss_kib) == 4, "mem_sample.rss_kib");
_Static_assert(offsetof(struct ap_log_mem_sample, anon_kib) == 8, "mem_sample.anon_kib");
_Static_assert(offsetof(struct ap_log_mem_sample, reserved) == 12, "mem_sample.reserved");
_Static_assert(offsetof(struct ap_log_mem_sample, ticks) == 16, "mem_sample.ticks");

/* HEADER payload; also the start of TOTALS. */
struct ap_log_geometry {
	uint32_t version;	/* AP_LOG_VERSION */
	uint32_t fingerprint;	/* ap_layout_fingerprint() */
	uint32_t abi;		/* AP_ABI_VERSION of the segment */
	uint32_t lanes;
	uint32_t lane_events;
	uint32_t clock_source;	/* enum ap_clock_source */
	uint64_t seg_bytes;
	uint64_t clock_ref_ticks, clock_ref_ns, clock_mult, clock_hz;
	char segment[64];	/* NUL-terminated within the field */
};
_Static_assert(sizeof(struct ap_log_geometry) == 128, "log geometry");
_Static_assert(offsetof(struct ap_log_geometry, version) == 0, "geometry.version");
_Static_assert(offsetof(struct ap_log_geometry, fingerprint) == 4, "geometry.fingerprint");
_Static_assert(offsetof(struct ap_log_geometry, abi) == 8, "geometry.abi");
_Static_assert(offsetof(struct ap_log_geometry, lanes) == 12, "geometry.lanes");
_Static_assert(offsetof(struct ap_log_geometry, lane_events) == 16, "geometry.lane_events");
_Static_assert(offsetof(struct ap_log_geometry, clock_source) == 20, "geometry.clock_source");
_Static_assert(offsetof(struct ap_log_geometry, seg_bytes) == 24, "geometry.seg_bytes");
_Static_assert(offsetof(struct ap_log_geometry, clock_ref_ticks) == 32, "geometry.clock_ref_ticks");
_Static_assert(offsetof(struct ap_log_geometry, clock_ref_ns) == 40, "geometry.clock_ref_ns");
_Static_assert(offsetof(struct ap_log_geometry, clock_mult) == 48, "geometry.clock_mult");
_Static_assert(offsetof(struct ap_log_geometry, clock_hz) == 56, "geometry.clock_hz");
_Static_assert(offsetof(struct ap_log_geometry, segment) == 64, "geometry.segment");

/* HEADER and TOTALS payload after the geometry: the reader's settings, so
 * that a replay analyses with what the run used. Thresholds are integers:
 * percentages in millionths of a percent, the slow-tool threshold in ns
 * (the command line rounds --rule values to these units, so a replay
 * compares exactly as the run did). */
struct ap_log_settings {
	uint64_t max_spans;
	uint32_t max_traces, max_per_root, keep_slowest, llm_chain;
	uint64_t keep_tokens, max_kept_spans, seed;
	uint64_t llm_self_upct, tool_upct, slow_tool_ns, context_upct;
	uint64_t error_upct;	/* version 4 */
	uint64_t reserved;	/* version 4: 0 */
};
#define AP_LOG_SETTINGS_V2_SIZE	80u	/* the settings of a version 1, 2 or 3 log */
_Static_assert(sizeof(struct ap_log_settings) == 96, "log settings");
_Static_assert(offsetof(struct ap_log_settings, max_spans) == 0, "settings.max_spans");
_Static_assert(offsetof(struct ap_log_settings, max_traces) == 8, "settings.max_traces");
_Static_assert(offsetof(struct ap_log_settings, max_per_root) == 12, "settings.max_per_root");
_Static_assert(offsetof(struct ap_log_settings, keep_slowest) == 16, "settings.keep_slowest");
_Static_assert(offsetof(struct ap_log_settings, llm_chain) == 20, "settings.llm_chain");
_Static_assert(offsetof(struct ap_log_settings, keep_tokens) == 24, "settings.keep_tokens");
_Static_assert(offsetof(struct ap_log_settings, max_kept_spans) == 32, "settings.max_kept_spans");
_Static_assert(offsetof(struct ap_log_settings, seed) == 40, "settings.seed");
_Static_assert(offsetof(struct ap_log_settings, llm_self_upct) == 48, "settings.llm_self_upct");
_Static_assert(offsetof(struct ap_log_settings, tool_upct) == 56, "settings.tool_upct");
_Static_assert(offsetof(struct ap_log_settings, slow_tool_ns) == 64, "settings.slow_tool_ns");
_Static_assert(offsetof(struct ap_log_settings, context_upct) == 72, "settings.context_upct");
_Static_assert(offsetof(struct ap_log_settings, error_upct) == 80, "settings.error_upct");
_Static_assert(offsetof(struct ap_log_settings, reserved) == 88, "settings.reserved");

/* Version 3 and later, after the settings in HEADER and TOTALS (80 bytes
 * of them in version 3, 96 from version 4): memory sampling. HEADER holds
 * the interval only (the cost is not known yet). */
struct ap_log_memory {
	uint64_t interval_ns;	/* --memory-interval; 0: not sampled */
	uint64_t sample_ns;	/* reader time reading /proc over the run */
	uint64_t sample_reads;	/* /proc reads it took */
	uint64_t reserved;	/* 0 */
};
_Static_assert(sizeof(struct ap_log_memory) == 32, "log memory settings");
_Static_assert(offsetof(struct ap_log_memory, interval_ns) == 0, "memory.interval_ns");
_Static_assert(offsetof(struct ap_log_memory, sample_ns) == 8, "memory.sample_ns");
_Static_assert(offsetof(struct ap_log_memory, sample_reads) == 16, "memory.sample_reads");
_Static_assert(offsetof(struct ap_log_memory, reserved) == 24, "memory.reserved");

/* Version 1 of the same (read only): the four thresholds were doubles, in
 * percent and ms. */
struct ap_log_settings_v1 {
	uint64_t max_spans;
	uint32_t max_traces, max_per_root, keep_slowest, llm_chain;
	uint64_t keep_tokens, max_kept_spans, seed;
	double llm_self_pct, tool_pct, slow_tool_ms, context_pct;
};
_Static_assert(sizeof(struct ap_log_settings_v1) == AP_LOG_SETTINGS_V2_SIZE, "v1 settings");
_Static_assert(offsetof(struct ap_log_settings_v1, llm_self_pct) == 48, "settings_v1.llm_self_pct");
_Static_assert(offsetof(struct ap_log_settings_v1, tool_pct) == 56, "settings_v1.tool_pct");
_Static_assert(offsetof(struct ap_log_settings_v1, slow_tool_ms) == 64, "settings_v1.slow_tool_ms");
_Static_assert(offsetof(struct ap_log_settings_v1, context_pct) == 72, "settings_v1.context_pct");

/* TOTALS payload after the settings: this, then nprocs struct ap_log_proc,
 * then nquarantined struct ap_log_quarantined, then the model table. */
struct ap_log_totals {
	uint64_t written, read, dropped_full, dropped_no_lane, dropped_reentrant;
	uint64_t rejected, claims, in_ring, quarantined_lanes, reclaimed_lanes;
	uint64_t names_full, attaches, lost_quarantined, sampled_out;
	uint64_t names_invalid, procs_over_cap;
	uint64_t duration_ns, workload_cpu_ns;
	uint64_t cost16;	/* writers' median cost per event, clock ticks x 16
				 * (version 1: a double, ns) */
	uint64_t cost_measurements;
	int64_t exit_status;	/* -1: none */
	uint64_t events_not_logged;	/* counted by the log writer itself */
	uint64_t setup_ns;	/* writers' time getting ready */
	uint64_t cpus;		/* online CPUs of the machine */
	uint32_t nprocs, nquarantined;
};
_Static_assert(sizeof(struct ap_log_totals) == 200, "log totals");
_Static_assert(offsetof(struct ap_log_totals, written) == 0, "totals.written");
_Static_assert(offsetof(struct ap_log_totals, read) == 8, "totals.read");
_Static_assert(offsetof(struct ap_log_totals, dropped_full) == 16, "totals.dropped_full");
_Static_assert(offsetof(struct ap_log_totals, dropped_no_lane) == 24, "totals.dropped_no_lane");
_Static_assert(offsetof(struct ap_log_totals, dropped_reentrant) == 32, "totals.dropped_reentrant");
_Static_assert(offsetof(struct ap_log_totals, rejected) == 40, "totals.rejected");
_Static_assert(offsetof(struct ap_log_totals, claims) == 48, "totals.claims");
_Static_assert(offsetof(struct ap_log_totals, in_ring) == 56, "totals.in_ring");
_Static_assert(offsetof(struct ap_log_totals, quarantined_lanes) == 64, "totals.quarantined_lanes");
_Static_assert(offsetof(struct ap_log_totals, reclaimed_lanes) == 72, "totals.reclaimed_lanes");
_Static_assert(offsetof(struct ap_log_totals, names_full) == 80, "totals.names_full");
_Static_assert(offsetof(struct ap_log_totals, attaches) == 88, "totals.attaches");
_Static_assert(offsetof(struct ap_log_totals, lost_quarantined) == 96, "totals.lost_quarantined");
_Static_assert(offsetof(struct ap_log_totals, sampled_out) == 104, "totals.sampled_out");
_Static_assert(offsetof(struct ap_log_totals, names_invalid) == 112, "totals.names_invalid");
_Static_assert(offsetof(struct ap_log_totals, procs_over_cap) == 120, "totals.procs_over_cap");
_Static_assert(offsetof(struct ap_log_totals, duration_ns) == 128, "totals.duration_ns");
_Static_assert(offsetof(struct ap_log_totals, workload_cpu_ns) == 136, "totals.workload_cpu_ns");
_Static_assert(offsetof(struct ap_log_totals, cost16) == 144, "totals.cost16");
_Static_assert(offsetof(struct ap_log_totals, cost_measurements) == 152, "totals.cost_measurements");
_Static_assert(offsetof(struct ap_log_totals, exit_status) == 160, "totals.exit_status");
_Static_assert(offsetof(struct ap_log_totals, events_not_logged) == 168, "totals.events_not_logged");
_Static_assert(offsetof(struct ap_log_totals, setup_ns) == 176, "totals.setup_ns");
_Static_assert(offsetof(struct ap_log_totals, cpus) == 184, "totals.cpus");
_Static_assert(offsetof(struct ap_log_totals, nprocs) == 192, "totals.nprocs");
_Static_assert(offsetof(struct ap_log_totals, nquarantined) == 196, "totals.nquarantined");

struct ap_log_proc {
	uint32_t pid, threads;
	uint64_t spans, events, dropped, lanes_claimed;
};
_Static_assert(sizeof(struct ap_log_proc) == 40, "log process row");
_Static_assert(offsetof(struct ap_log_proc, pid) == 0, "proc.pid");
_Static_assert(offsetof(struct ap_log_proc, threads) == 4, "proc.threads");
_Static_assert(offsetof(struct ap_log_proc, spans) == 8, "proc.spans");
_Static_assert(offsetof(struct ap_log_proc, events) == 16, "proc.events");
_Static_assert(offsetof(struct ap_log_proc, dropped) == 24, "proc.dropped");
_Static_assert(offsetof(struct ap_log_proc, lanes_claimed) == 32, "proc.lanes_claimed");

struct ap_log_quarantined {
	uint32_t lane, reserved;
	uint64_t events_read;
	char reason[48];	/* NUL-terminated within the field */
};
_Static_assert(sizeof(struct ap_log_quarantined) == 64, "log quarantined lane");
_Static_assert(offsetof(struct ap_log_quarantined, lane) == 0, "quarantined.lane");
_Static_assert(offsetof(struct ap_log_quarantined, reserved) == 4, "quarantined.reserved");
_Static_assert(offsetof(struct ap_log_quarantined, events_read) == 8, "quarantined.events_read");
_Static_assert(offsetof(struct ap_log_quarantined, reason) == 16, "quarantined.reason");

#endif /* AP_LOG_FORMAT_H */
