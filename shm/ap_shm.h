/* SPDX-License-Identifier: MIT */
/*
 * ap_shm.h - the bytes that every agentprof process maps: the segment ABI.
 *
 * One POSIX shared-memory segment is created by the reader (`agentprof`) and
 * mapped by any number of worker processes. Each process maps it at another
 * address, so nothing in here is a pointer: every location is an offset from
 * the segment base. Every field has a fixed width, padding is explicit, and
 * the table of _Static_asserts after each struct pins every size and offset,
 * which also serves as a cross-reference when reading a hex dump.
 *
 * Layout (offsets from the segment base, each region 64-byte aligned):
 *
 *   0                  struct ap_seg_header   identity, geometry, clock, shared counters
 *   lanes_offset       struct ap_lane[lane_count]         one descriptor per lane
 *   rings_offset       struct ap_event[lane_count][lane_capacity]
 *   names_offset       struct ap_name_slot[name_slots]    interned strings
 *   total_size
 *
 * Who writes what:
 *  - The creator (the reader) writes the header once, before any worker can
 *    attach (the name is published only after the header is complete, and
 *    attach checks magic last-written-first: magic is stored last). The one
 *    exception is `retired`, stored once by the reader that stops (below).
 *  - Retirement: a reader that stops store-releases hdr.retired before it
 *    removes the name. Workers load it (relaxed) on every recording call:
 *    it sits on a line nothing else writes after create, so the load hits
 *    the worker's cache until that one store. A worker that sees it set
 *    releases its lane, stops writing into the segment and looks for the
 *    name again (a new reader); attach refuses a retired segment.
 *  - A lane has one writer thread at a time (its owner) and one reader.
 *    head, the drop and sampled_out counters and the ring slots are written by the owner;
 *    tail is written by the reader; owner is claimed by CAS (any worker) and
 *    cleared by the owner at release or by the reader for a dead process.
 *  - Name slots are claimed by CAS on `key` (any worker) and completed by a
 *    store-release of `ready`.
 *  - The reader trusts none of it: it keeps its own copy of the geometry,
 *    copies each value out once and validates the copy.
 *
 * Barrier pairing on a lane ring (writer W, reader R):
 *
 *   W: (A) write slot fields      R: (C) load-acquire head
 *      (B) store-release head        (D) copy slots [tail, head)
 *                                    (E) store-release tail
 *   W: (F) load-acquire tail (only when the private copy says full)
 *
 *   B pairs with C: a slot is complete before R sees the head that covers it.
 *   E pairs with F: R is done copying a slot before W may overwrite it.
 */
#ifndef AP_SHM_H
#define AP_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define AP_SEG_MAGIC	UINT64_C(0x3147455346525041)	/* "APRFSEG1" little-endian */
#define AP_ABI_VERSION	4u	/* 3: AP_EV_ERROR; 4: hdr.retired, CLAIM carries spans_no_reader, lane's reported position */
#define AP_CACHELINE	64u
#define AP_EVENT_SIZE	64u

/* Geometry limits, enforced at create and at attach. */
#define AP_LANES_MIN		1u
#define AP_LANES_MAX		4096u
#define AP_LANE_EVENTS_MIN	8u		/* power of two */
#define AP_LANE_EVENTS_MAX	(1u << 24)	/* power of two */
#define AP_NAME_SLOTS_MIN	64u		/* power of two */
#define AP_NAME_SLOTS_MAX	(1u << 20)

/* Defaults: 256 lanes x 4096 events x 64 B = 64 MiB, 4096 names = 512 KiB. */
#define AP_DEFAULT_LANES	256u
#define AP_DEFAULT_LANE_EVENTS	4096u
#define AP_DEFAULT_NAME_SLOTS	4096u

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "cross-process 64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "cross-process 32-bit atomics must be lock-free");

/* Event kinds. 0 is never written, so a zeroed slot is recognisably invalid. */
enum ap_event_kind {
	AP_EV_INVALID = 0,
	AP_EV_BEGIN   = 1,	/* a span starts */
	AP_EV_END     = 2,	/* a span ends (pairs with BEGIN by span_id) */
	AP_EV_TOKENS  = 3,	/* token use of an LLM span */
	AP_EV_CLAIM   = 4,	/* first event of a new lane owner: pid, start time, counters */
	AP_EV_DEPENDS = 5,	/* span consumed the output of another span */
	AP_EV_ERROR   = 6,	/* span failed (ABI 3): u.error.name_id names why */
	AP_EV_KIND_COUNT
};

/* Event flags. */
#define AP_EVF_ROOT_REMOTE	0x0001u	/* BEGIN: parent came from TRACEPARENT (another process) */
#define AP_EVF_EXPLICIT_PARENT	0x0002u	/* BEGIN: parent given by ap_begin_child */
#define AP_EVF_TRACE_UNKNOWN	0x0004u	/* BEGIN: trace id resolved by the reader from the parent */
#define AP_EVF_ALL		0x0007u

/*
 * One event: exactly one cache line, written in place by the lane owner with
 * plain stores (A), published by the head store-release (B).
 * ts is in the segment clock's raw ticks (see ap_seg_header.clock_*).
 */
struct ap_event {
	uint8_t  kind;		/* enum ap_event_kind */
	uint8_t  category;	/* AP_CAT_* (BEGIN) */
	uint16_t flags;		/* AP_EVF_* */
	uint32_t tid;		/* writer's kernel thread id */
	uint64_t ts;		/* raw clock ticks */
	union {
		uint64_t span_id;	/* never 0 (every kind but CLAIM) */
		uint64_t claim_no_reader; /* CLAIM: spans this thread could not record since
					 * its previous CLAIM because no reader was there
					 * (segment not created yet, or retired) (ABI 4) */
	};
	union {
		struct {
			uint64_t parent_id;	/* 0: root */
			uint64_t trace_hi;	/* W3C trace id, high 64 bits */
			uint64_t trace_lo;	/* W3C trace id, low 64 bits */
			uint64_t name_id;	/* XXH3-64 of the name */
			uint64_t reserved;
		} begin;
		struct {
			uint64_t model_id;	/* XXH3-64 of the model name */
			uint32_t input_tokens;
			uint32_t output_tokens;
			uint64_t reserved[3];
		} tokens;
		struct {
			uint64_t pid;		/* owner process id */
			uint64_t start_time;	/* owner start time, clock ticks since boot */
			uint64_t dropped_full;	/* lane counters when the claim was made */
			uint64_t dropped_reentrant;
			uint64_t cost;		/* bits 0-31: the writer's measured cost per event,
						 * ticks x 16; 32-63: CPU time (us) this thread spent
						 * getting ready (attach, claim, prefault, measuring) */
		} claim;
		struct {
			uint64_t on_span;	/* span_id consumed the output of on_span */
			uint64_t reserved[4];
		} depends;
		struct {
			uint64_t name_id;	/* XXH3-64 of the error's name (an exception
						 * type, a status); 0: unnamed */
			uint64_t reserved[4];
		} error;
		uint64_t raw[5];
	} u;
};

_Static_assert(sizeof(struct ap_event) == AP_EVENT_SIZE, "event is one cache line");
_Static_assert(offsetof(struct ap_event, kind) == 0, "ap_event.kind");
_Static_assert(offsetof(struct ap_event, category) == 1, "ap_event.category");
_Static_assert(offsetof(struct ap_event, flags) == 2, "ap_event.flags");
_Static_assert(offsetof(struct ap_event, tid) == 4, "ap_event.tid");
_Static_assert(offsetof(struct ap_event, ts) == 8, "ap_event.ts");
_Static_assert(offsetof(struct ap_event, span_id) == 16, "ap_event.span_id");
_Static_assert(offsetof(struct ap_event, claim_no_reader) == 16, "ap_event.claim_no_reader");
_Static_assert(offsetof(struct ap_event, u.begin.parent_id) == 24, "ap_event.begin.parent_id");
_Static_assert(offsetof(struct ap_event, u.begin.trace_hi) == 32, "ap_event.begin.trace_hi");
_Static_assert(offsetof(struct ap_event, u.begin.trace_lo) == 40, "ap_event.begin.trace_lo");
_Static_assert(offsetof(struct ap_event, u.begin.name_id) == 48, "ap_event.begin.name_id");
_Static_assert(offsetof(struct ap_event, u.begin.reserved) == 56, "ap_event.begin.reserved");
_Static_assert(offsetof(struct ap_event, u.tokens.model_id) == 24, "ap_event.tokens.model_id");
_Static_assert(offsetof(struct ap_event, u.tokens.input_tokens) == 32, "ap_event.tokens.input_tokens");
_Static_assert(offsetof(struct ap_event, u.tokens.output_tokens) == 36, "ap_event.tokens.output_tokens");
_Static_assert(offsetof(struct ap_event, u.claim.pid) == 24, "ap_event.claim.pid");
_Static_assert(offsetof(struct ap_event, u.claim.start_time) == 32, "ap_event.claim.start_time");
_Static_assert(offsetof(struct ap_event, u.claim.dropped_full) == 40, "ap_event.claim.dropped_full");
_Static_assert(offsetof(struct ap_event, u.claim.dropped_reentrant) == 48, "ap_event.claim.dropped_reentrant");
_Static_assert(offsetof(struct ap_event, u.claim.cost) == 56, "ap_event.claim.cost");
_Static_assert(offsetof(struct ap_event, u.depends.on_span) == 24, "ap_event.depends.on_span");
_Static_assert(offsetof(struct ap_event, u.error.name_id) == 24, "ap_event.error.name_id");
_Static_assert(offsetof(struct ap_event, u.error.reserved) == 32, "ap_event.error.reserved");
_Static_assert(AP_EV_KIND_COUNT == 7, "a new event kind bumps AP_ABI_VERSION");

/*
 * Lane descriptor: two cache lines, one per writing side, so that the
 * reader's tail stores never invalidate the line the writer stores to on
 * every event.
 *
 * owner: 0 when free; else AP_OWNER(pid, start_time). Claimed by CAS 0->owner
 * by a worker thread, and only on a drained lane (head == tail), so the
 * claim's CLAIM event always fits; cleared (store-release) by the owner at
 * thread exit, or by the reader after it has drained a dead owner's lane.
 */
struct ap_lane {
	/* Line 0: written by the lane owner, read by the reader. */
	_Atomic uint64_t head;			/* events published, ever; store-release (B) */
	_Atomic uint64_t dropped_full;		/* events dropped because the ring was full */
	_Atomic uint64_t dropped_reentrant;	/* events dropped in a signal handler mid-write */
	_Atomic uint64_t owner;			/* see above */
	_Atomic uint64_t sampled_out;		/* traces begun here and not sampled */
	uint8_t  pad0[24];
	/* Line 1: written by the reader, read by the owner only when full. */
	_Atomic uint64_t tail;			/* events consumed, ever; store-release (E) */
	/* What a reader taking over from a dead one needs (ABI 4), written by
	 * the reader only, never read by the owner. With tail, when a pass read
	 * a CLAIM (stored before tail): */
	_Atomic uint64_t claims;		/* CLAIM events among [0, tail) */
	_Atomic uint64_t last_claim;		/* position of the last of them + 1; 0: none */
	_Atomic uint64_t pids;			/* low 32 bits: the owner at `reported`;
						 * high 32: the owner at tail (last CLAIM's pid) */
	/* When the reader's last report (report.json) is on disk: */
	_Atomic uint64_t reported;		/* ring position that report covers the lane to */
	_Atomic uint64_t reported_claims;	/* CLAIM events among [0, reported) */
	_Atomic uint64_t reported_full;		/* dropped_full and dropped_reentrant as that */
	_Atomic uint64_t reported_reentrant;	/*   report counted them */
};

_Static_assert(sizeof(struct ap_lane) == 2 * AP_CACHELINE, "lane descriptor is two lines");
_Static_assert(offsetof(struct ap_lane, head) == 0, "ap_lane.head");
_Static_assert(offsetof(struct ap_lane, dropped_full) == 8, "ap_lane.dropped_full");
_Static_assert(offsetof(struct ap_lane, dropped_reentrant) == 16, "ap_lane.dropped_reentrant");
_Static_assert(offsetof(struct ap_lane, owner) == 24, "ap_lane.owner");
_Static_assert(offsetof(struct ap_lane, sampled_out) == 32, "ap_lane.sampled_out");
_Static_assert(offsetof(struct ap_lane, tail) == 64, "ap_lane.tail");
_Static_assert(offsetof(struct ap_lane, claims) == 72, "ap_lane.claims");
_Static_assert(offsetof(struct ap_lane, last_claim) == 80, "ap_lane.last_claim");
_Static_assert(offsetof(struct ap_lane, pids) == 88, "ap_lane.pids");
_Static_assert(offsetof(struct ap_lane, reported) == 96, "ap_lane.reported");
_Static_assert(offsetof(struct ap_lane, reported_claims) == 104, "ap_lane.reported_claims");
_Static_assert(offsetof(struct ap_lane, reported_full) == 112, "ap_lane.reported_full");
_Static_assert(offsetof(struct ap_lane, reported_reentrant) == 120, "ap_lane.reported_reentrant");

/* Owner word: low 32 bits pid, high 32 bits the low 32 bits of its start time. */
#define AP_OWNER(pid, start)	(((uint64_t)(uint32_t)(start) << 32) | (uint32_t)(pid))
#define AP_OWNER_PID(o)		((uint32_t)((o) & 0xffffffffu))
#define AP_OWNER_START(o)	((uint32_t)((o) >> 32))

/*
 * Name table slot: the string behind an XXH3-64 id. Open addressing with
 * linear probing over name_slots slots (a power of two), index = id & mask.
 * A worker claims an empty slot by CAS key 0 -> id, writes len and str with
 * plain stores, then store-releases ready = id. The reader loads ready with
 * acquire, copies len and str once, and accepts the copy only when
 * XXH3-64(str, len) == ready == key.
 */
#define AP_NAME_MAX	103u	/* bytes of a name; longer names are cut at a UTF-8 boundary */

struct ap_name_slot {
	_Atomic uint64_t key;	/* 0: empty */
	_Atomic uint64_t ready;	/* == key once len and str are complete */
	uint32_t len;		/* bytes in str, <= AP_NAME_MAX */
	uint32_t pad;
	char     str[AP_NAME_MAX + 1];	/* NUL-terminated */
};

_Static_assert(sizeof(struct ap_name_slot) == 128, "name slot is two lines");
_Static_assert(offsetof(struct ap_name_slot, key) == 0, "ap_name_slot.key");
_Static_assert(offsetof(struct ap_name_slot, ready) == 8, "ap_name_slot.ready");
_Static_assert(offsetof(struct ap_name_slot, len) == 16, "ap_name_slot.len");
_Static_assert(offsetof(struct ap_name_slot, str) == 24, "ap_name_slot.str");

/* Clock sources. */
enum ap_clock_source {
	AP_CLOCK_MONOTONIC = 1,	/* ticks are CLOCK_MONOTONIC nanoseconds */
	AP_CLOCK_TSC       = 2,	/* ticks are x86 invariant TSC */
	AP_CLOCK_CNTVCT    = 3,	/* ticks are the arm64 virtual counter */
};

/*
 * Segment header: four cache lines.
 *
 * Lines 0-1 are written once by the creator before the segment is named and
 * never change. Line 2 holds counters that any worker may bump with an atomic
 * read-modify-write on a rare path (never the recording fast path). Line 3 is
 * written by the reader.
 *
 * The fingerprint folds in every layout choice a process must agree on (see
 * ap_layout_fingerprint()); ABI version covers meaning, fingerprint covers
 * shape.
 */
struct ap_seg_header {
	/* Line 0: identity and geometry. */
	_Atomic uint64_t magic;		/* AP_SEG_MAGIC, stored last at create (release) */
	uint32_t abi_version;		/* AP_ABI_VERSION */
	uint32_t fingerprint;		/* ap_layout_fingerprint() */
	uint64_t total_size;		/* bytes; equals the file size */
	uint32_t lane_count;		/* AP_LANES_MIN..AP_LANES_MAX */
	uint32_t lane_capacity;		/* events per lane, power of two */
	uint64_t lanes_offset;		/* struct ap_lane[lane_count] */
	uint64_t rings_offset;		/* struct ap_event[lane_count * lane_capacity] */
	uint64_t names_offset;		/* struct ap_name_slot[name_slots] */
	uint32_t name_slots;		/* power of two */
	uint32_t clock_source;		/* enum ap_clock_source */
	/* Line 1: clock calibration and creator. ns = ref_ns + (ticks - ref_ticks) * mult >> 32 */
	uint64_t clock_ref_ticks;	/* ticks at calibration */
	uint64_t clock_ref_ns;		/* CLOCK_MONOTONIC ns at calibration */
	uint64_t clock_mult;		/* ns per tick, 32.32 fixed point */
	uint64_t clock_hz;		/* ticks per second (informational) */
	uint64_t created_realtime_ns;	/* CLOCK_REALTIME at create */
	uint32_t creator_pid;		/* the reader */
	uint32_t pad1;
	uint64_t creator_start;		/* the reader's start time (clock ticks since boot) */
	_Atomic uint64_t retired;	/* 0; set once (store-release) by the reader that stops,
					 * before the name is removed: workers detach and look
					 * for the name again. Nothing else ever writes this line
					 * after create, so the workers' per-call load of it hits
					 * their cache (ABI 4) */
	/* Line 2: shared counters, atomic RMW by any worker on rare paths only. */
	_Atomic uint64_t dropped_no_lane;	/* events a thread could not record: no free lane */
	_Atomic uint64_t names_full;		/* names not interned: table full or probe limit */
	_Atomic uint64_t attaches;		/* processes that attached */
	uint8_t  pad3[40];
	/* Line 3: written by the reader. */
	_Atomic uint64_t reader_heartbeat_ns;	/* CLOCK_MONOTONIC of the reader's last pass */
	_Atomic uint64_t reader;		/* AP_OWNER(pid, start) of the reader draining it now;
						 * 0: the creator. A reader taking over a dead one's
						 * segment swaps itself in (CAS). */
	_Atomic uint64_t reported_seq;		/* dumps.reports of the report.json the lanes'
						 * `reported` marks stand for (ABI 4) */
	_Atomic uint64_t pending_seq;		/* dumps.reports of a report.json submitted and
						 * not yet known on disk; == reported_seq: none */
	uint8_t  pad4[32];
};

_Static_assert(sizeof(struct ap_seg_header) == 4 * AP_CACHELINE, "header is four lines");
_Static_assert(offsetof(struct ap_seg_header, magic) == 0, "hdr.magic");
_Static_assert(offsetof(struct ap_seg_header, abi_version) == 8, "hdr.abi_version");
_Static_assert(offsetof(struct ap_seg_header, fingerprint) == 12, "hdr.fingerprint");
_Static_assert(offsetof(struct ap_seg_header, total_size) == 16, "hdr.total_size");
_Static_assert(offsetof(struct ap_seg_header, lane_count) == 24, "hdr.lane_count");
_Static_assert(offsetof(struct ap_seg_header, lane_capacity) == 28, "hdr.lane_capacity");
_Static_assert(offsetof(struct ap_seg_header, lanes_offset) == 32, "hdr.lanes_offset");
_Static_assert(offsetof(struct ap_seg_header, rings_offset) == 40, "hdr.rings_offset");
_Static_assert(offsetof(struct ap_seg_header, names_offset) == 48, "hdr.names_offset");
_Static_assert(offsetof(struct ap_seg_header, name_slots) == 56, "hdr.name_slots");
_Static_assert(offsetof(struct ap_seg_header, clock_source) == 60, "hdr.clock_source");
_Static_assert(offsetof(struct ap_seg_header, clock_ref_ticks) == 64, "hdr.clock_ref_ticks");
_Static_assert(offsetof(struct ap_seg_header, clock_ref_ns) == 72, "hdr.clock_ref_ns");
_Static_assert(offsetof(struct ap_seg_header, clock_mult) == 80, "hdr.clock_mult");
_Static_assert(offsetof(struct ap_seg_header, clock_hz) == 88, "hdr.clock_hz");
_Static_assert(offsetof(struct ap_seg_header, created_realtime_ns) == 96, "hdr.created_realtime_ns");
_Static_assert(offsetof(struct ap_seg_header, creator_pid) == 104, "hdr.creator_pid");
_Static_assert(offsetof(struct ap_seg_header, creator_start) == 112, "hdr.creator_start");
_Static_assert(offsetof(struct ap_seg_header, retired) == 120, "hdr.retired");
_Static_assert(offsetof(struct ap_seg_header, dropped_no_lane) == 128, "hdr.dropped_no_lane");
_Static_assert(offsetof(struct ap_seg_header, names_full) == 136, "hdr.names_full");
_Static_assert(offsetof(struct ap_seg_header, attaches) == 144, "hdr.attaches");
_Static_assert(offsetof(struct ap_seg_header, reader_heartbeat_ns) == 192, "hdr.reader_heartbeat_ns");
_Static_assert(offsetof(struct ap_seg_header, reader) == 200, "hdr.reader");
_Static_assert(offsetof(struct ap_seg_header, reported_seq) == 208, "hdr.reported_seq");
_Static_assert(offsetof(struct ap_seg_header, pending_seq) == 216, "hdr.pending_seq");

/* Layout fingerprint: bits 0-7 event size/8, 8-15 lane size/8, 16-23 header
 * size/8, 24-27 name slot size/16, 28 little-endian, 29-31 architecture
 * (1 x86_64, 2 aarch64, 0 other; the clock source depends on it). */
static inline uint32_t ap_layout_fingerprint(void)
{
	uint32_t arch = 0;
#if defined(__x86_64__)
	arch = 1;
#elif defined(__aarch64__)
	arch = 2;
#endif
	return (uint32_t)(sizeof(struct ap_event) / 8) |
	       (uint32_t)(sizeof(struct ap_lane) / 8) << 8 |
	       (uint32_t)(sizeof(struct ap_seg_header) / 8) << 16 |
	       (uint32_t)(sizeof(struct ap_name_slot) / 16) << 24 |
	       (uint32_t)(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) << 28 |
	       arch << 29;
}

#endif /* AP_SHM_H */
