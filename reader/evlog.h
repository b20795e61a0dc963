/* SPDX-License-Identifier: MIT */
/*
 * evlog.h - the event log (`--log FILE`): every drained event and the names
 * it uses, appended as framed, checksummed blocks, so that `agentprof report
 * FILE` can rebuild the run's report later.
 *
 * File: a sequence of blocks, each
 *   struct ap_log_block   32 bytes: magic, type, length, sequence number,
 *                         XXH3-64 of the block (header with sum 0 + payload)
 *   payload               length bytes
 * Block types: HEADER (first: format version, layout fingerprint, segment
 * geometry and clock), DATA (records, below), TOTALS (last: the drain's
 * counts, processes, quarantined lanes, writer cost, run facts).
 * DATA payload: records of a struct ap_log_rec and its body, 8-byte aligned:
 *   pid > 0, n > 0    n events of that process, 64 bytes each, in lane order
 *   pid = 0, n = 0    flush point: the reader handed complete traces on here
 *   pid = 0, n > 0    n bytes of NUL-terminated names (ids are their hashes)
 * Host byte order; HEADER's fingerprint refuses a log from another layout.
 *
 * Writing never waits for the disk: blocks are filled in a few buffers and
 * written through io_uring (or, where io_uring cannot be set up, by a
 * writer thread with plain pwrite); when every buffer is still in flight the
 * events are not logged and counted, and the sequence number skips, so a
 * replay knows a block is missing.
 */
#ifndef AP_EVLOG_H
#define AP_EVLOG_H

#include <liburing.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_shm.h"
#include "clock.h"

#define AP_LOG_MAGIC		0x424c5041u	/* "APLB" */
#define AP_LOG_VERSION		1u
#define AP_LOG_BLOCK_DEFAULT	(1u << 20)	/* payload bytes per block */
#define AP_LOG_BLOCK_MIN	512u
#define AP_LOG_BLOCK_MAX	(16u << 20)
#define AP_LOG_NBUF		8u

enum { AP_LOG_HEADER = 1, AP_LOG_DATA = 2, AP_LOG_TOTALS = 3 };

struct ap_log_block {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t len;		/* payload bytes */
	uint32_t reserved;
	uint64_t seq;		/* 0, 1, 2, ... skips where a block was not written */
	uint64_t sum;		/* XXH3-64 of this header (sum = 0) and the payload */
};
_Static_assert(sizeof(struct ap_log_block) == 32, "log block header");

struct ap_log_rec {
	uint32_t pid;
	uint32_t n;
};
_Static_assert(sizeof(struct ap_log_rec) == 8, "log record header");

/* HEADER payload; also the start of TOTALS. */
struct ap_log_geometry {
	uint32_t version;	/* AP_LOG_VERSION */
	uint32_t fingerprint;	/* ap_layout_fingerprint() */
	uint32_t abi;		/* AP_ABI_VERSION */
	uint32_t lanes;
	uint32_t lane_events;
	uint32_t clock_source;
	uint64_t seg_bytes;
	uint64_t clock_ref_ticks, clock_ref_ns, clock_mult, clock_hz;
	char segment[64];
};
_Static_assert(sizeof(struct ap_log_geometry) == 128, "log geometry");

/* HEADER and TOTALS payload after the geometry: the reader's settings, so
 * that a replay analyses with what the run used. */
struct ap_log_settings {
	uint64_t max_spans;
	uint32_t max_traces, max_per_root, keep_slowest, llm_chain;
	uint64_t keep_tokens, max_kept_spans, seed;
	double llm_self_pct, tool_pct, slow_tool_ms, context_pct;
};
_Static_assert(sizeof(struct ap_log_settings) == 80, "log settings");

/* TOTALS payload after the settings: fixed part, then nprocs process rows,
 * then nquarantined lanes, then the model table as text ("NAME WINDOW\n"),
 * which HEADER carries after the settings too. */
struct ap_log_totals {
	uint64_t written, read, dropped_full, dropped_no_lane, dropped_reentrant;
	uint64_t rejected, claims, in_ring, quarantined_lanes, reclaimed_lanes;
	uint64_t names_full, attaches, lost_quarantined, sampled_out;
	uint64_t names_invalid, procs_over_cap;
	uint64_t duration_ns, workload_cpu_ns;
	double cost_ns;		/* writers' median cost per event */
	uint64_t cost_measurements;
	int64_t exit_status;	/* -1: none */
	uint64_t events_not_logged;	/* counted by the log writer itself */
	uint64_t setup_ns;	/* writers' time getting ready */
	uint64_t cpus;		/* online CPUs of the machine */
	uint32_t nprocs, nquarantined;
};
_Static_assert(sizeof(struct ap_log_totals) == 200, "log totals");

struct ap_log_proc {
	uint32_t pid, threads;
	uint64_t spans, events, dropped, lanes_claimed;
};
_Static_assert(sizeof(struct ap_log_proc) == 40, "log process row");

struct ap_log_quarantined {
	uint32_t lane, reserved;
	uint64_t events_read;
	char reason[48];
};
_Static_assert(sizeof(struct ap_log_quarantined) == 64, "log quarantined lane");

enum { AP_LOG_FREE, AP_LOG_FILLING, AP_LOG_QUEUED, AP_LOG_INFLIGHT };

struct ap_log_buf {
	uint8_t *data;		/* block header + payload */
	uint32_t used;		/* payload bytes */
	uint32_t done;		/* bytes written so far (io_uring resubmits the rest) */
	uint32_t events;	/* events in it, counted as not logged if its write fails */
	int state;
};

struct ap_log {
	int fd;
	int err;		/* first write error, -errno; 0 */
	const char *io;		/* "io_uring" or "sync" */
	int uring;
	struct io_uring ring;
	pthread_t thread;	/* sync path */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, have_thread;
	struct ap_log_buf buf[AP_LOG_NBUF];
	uint32_t cur;		/* index of the FILLING buffer, AP_LOG_NBUF: none */
	uint32_t block_cap;
	uint32_t since_mark;	/* events since the last flush point */
	int gap;		/* a block's worth was dropped: skip a sequence number */
	int patient;		/* wait for a free buffer instead of dropping (tests, replays of logs) */
	uint64_t off, seq;
	uint32_t inflight;
	uint64_t blocks, bytes, blocks_dropped, events, events_not_logged;
	uint64_t events_failed;	/* in blocks whose write failed (added to events_not_logged at close) */
};

/* Create (O_EXCL: never overwrite a log) and set up the I/O path; sync_only
 * forces the writer-thread path. 0 or -errno; the message is the caller's. */
int ap_log_open(struct ap_log *l, const char *path, uint32_t block_cap, int sync_only);
/* Records: events of one process, a flush point, names. Never block. */
void ap_log_events(struct ap_log *l, uint32_t pid, const struct ap_event *ev, uint32_t n);
void ap_log_mark(struct ap_log *l);
void ap_log_names(struct ap_log *l, const char *pool, size_t len);
/* A block of its own (HEADER, TOTALS). */
void ap_log_block(struct ap_log *l, uint16_t type, const void *payload, uint32_t len);
/* Collect finished writes without waiting. */
void ap_log_poll(struct ap_log *l);
/* Write out everything, fsync, close. Returns l->err (0 when all was written). */
int ap_log_close(struct ap_log *l);

/* Reading. */
struct ap_log_scan {
	uint64_t blocks;		/* intact blocks read */
	uint64_t blocks_damaged;	/* framed blocks whose checksum or length failed */
	uint64_t bytes_skipped;		/* bytes not in any intact block */
	uint64_t blocks_missing;	/* sequence numbers never seen */
	uint64_t blocks_out_of_order;	/* intact but repeated or older: ignored */
	uint64_t records_bad;		/* malformed records inside intact blocks */
	uint64_t next_seq;
};

/* The payload of the next intact block at or after *pos, its header copied
 * to *out (the payload may be unaligned: copy before use), or NULL at the
 * end; *pos moves past it. Damaged bytes are counted and skipped. */
const uint8_t *ap_log_next(const uint8_t *buf, size_t len, size_t *pos, struct ap_log_scan *st,
			   struct ap_log_block *out);

#endif /* AP_EVLOG_H */
