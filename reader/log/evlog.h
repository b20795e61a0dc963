/* SPDX-License-Identifier: MIT */
/*
 * evlog.h - the event log (`--log FILE`): every drained event and the names
 * it uses, appended as framed, checksummed blocks (log_format.h), so that
 * `agentprof report FILE` can rebuild the run's report later; and the block
 * scanner a replay reads it with.
 *
 * Writing never waits for the disk: the drain thread fills one of a few
 * buffers; a full one is sealed (checksum, file offset fixed) and handed to
 * the I/O engine (aio.h), so writes may complete in any order. When every
 * buffer is still in flight the events are not logged and counted, and the
 * next block's sequence number skips one, so a replay knows a block is
 * missing. A write error ends the log: nothing more is written, and what it
 * would have held is counted as not logged.
 */
#ifndef AP_EVLOG_H
#define AP_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "aio.h"
#include "ap_shm.h"
#include "drain.h"
#include "log_format.h"

#define AP_LOG_NBUF		8u

enum { AP_LOG_FREE, AP_LOG_FILLING, AP_LOG_INFLIGHT };

struct ap_log_buf {
	struct ap_aio_job job;
	uint8_t *data;		/* block header + payload */
	uint32_t used;		/* payload bytes */
	uint32_t events;	/* events in it, counted as not logged if its write fails */
	int state;
	struct ap_log *log;
};

struct ap_log {
	struct ap_aio *aio;
	int fd;
	int err;		/* first write error, -errno; 0 */
	struct ap_log_buf buf[AP_LOG_NBUF];
	uint32_t cur;		/* index of the FILLING buffer, AP_LOG_NBUF: none */
	uint32_t block_cap;
	uint32_t since_mark;	/* events since the last flush point */
	int gap;		/* a block's worth was dropped: skip a sequence number */
	int patient;		/* wait for a free buffer instead of dropping (tests) */
	uint64_t off, seq;
	uint32_t inflight;
	uint64_t blocks, bytes, blocks_dropped, events, events_not_logged;
	uint64_t events_failed;	/* in blocks whose write failed (added to events_not_logged at close) */
};

/* Create path (O_EXCL: never overwrite a log) for writes through aio. 0 or
 * -errno; the message is the caller's. */
int ap_log_open(struct ap_log *l, struct ap_aio *aio, const char *path, uint32_t block_cap);
/* Records: events of one process, a flush point, names. Never block. */
void ap_log_events(struct ap_log *l, uint32_t pid, const struct ap_event *ev, uint32_t n);
void ap_log_mark(struct ap_log *l);
void ap_log_names(struct ap_log *l, const char *pool, size_t len);
void ap_log_seen(struct ap_log *l, uint32_t pid, uint64_t ticks);
/* A sampling round (--memory-interval) begun at `round`: its n samples, in
 * as many records as the block size needs. */
void ap_log_mem(struct ap_log *l, uint64_t round, const struct ap_log_mem_sample *x, uint32_t n);
/* The trace timeout handed traces on here, every one older than cutoff. */
void ap_log_expire(struct ap_log *l, uint64_t cutoff);
/* ap_log_events as a drain consumer (ap_event_fn; ctx is the log). */
void ap_log_consume(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
		    struct ap_batch_result *res);
/* A block of its own (HEADER, TOTALS); waits for a free buffer. */
void ap_log_block(struct ap_log *l, uint16_t type, const void *payload, uint32_t len);
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
	uint64_t blocks_unchecked;	/* candidates skipped unhashed: the budget was spent (evlog.c) */
	uint64_t next_seq;
	uint64_t budget;		/* bytes that failed candidates may still cost to hash */
	uint64_t chain;			/* offset just past the last intact block */
	int budget_set;
};

/* The payload of the next intact block at or after *pos, its header copied
 * to *out (the payload may be unaligned: copy before use), or NULL at the
 * end; *pos moves past it. Damaged bytes are counted and skipped. Linear in
 * len over a whole scan (evlog.c says how). Start with *st zeroed. */
const uint8_t *ap_log_next(const uint8_t *buf, size_t len, size_t *pos, struct ap_log_scan *st,
			   struct ap_log_block *out);

#endif /* AP_EVLOG_H */
