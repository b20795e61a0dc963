/* SPDX-License-Identifier: MIT */
/*
 * segment.h - create, attach and validate the shared segment (internal).
 *
 * struct ap_segment is a process's private view: the geometry is copied out
 * of the header once and validated, and only the copy is used afterwards, so
 * a worker that scribbles over the header cannot move the reader's view.
 */
#ifndef AP_SEGMENT_H
#define AP_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ap_shm.h"
#include "clock.h"

#define AP_SEG_NAME_MAX 200	/* bytes of a segment name, leading '/' included */

/*
 * The segment's own errors, a range of their own below the -errno values.
 * agentprof.h publishes the same numbers as AP_E_* (writer-lib/errors.c
 * ties each to its twin with a _Static_assert), so the writer returns these
 * unchanged; the reader prints them with ap_seg_strerror().
 */
#define AP_SEG_E_BASE		(-30800)
#define AP_SEG_E_MAGIC		(AP_SEG_E_BASE - 0)	/* not an agentprof segment (bad magic) */
#define AP_SEG_E_ABI		(AP_SEG_E_BASE - 1)	/* ABI version differs */
#define AP_SEG_E_LAYOUT		(AP_SEG_E_BASE - 2)	/* layout fingerprint differs */
#define AP_SEG_E_SIZE		(AP_SEG_E_BASE - 3)	/* file size differs from the header's */
#define AP_SEG_E_NOTSHM		(AP_SEG_E_BASE - 4)	/* not a regular shared-memory file */
#define AP_SEG_E_OWNER		(AP_SEG_E_BASE - 5)	/* belongs to another user */
#define AP_SEG_E_MODE		(AP_SEG_E_BASE - 6)	/* accessible to other users */
#define AP_SEG_E_GEOMETRY	(AP_SEG_E_BASE - 7)	/* geometry out of bounds or inconsistent */
#define AP_SEG_E_CLOCK		(AP_SEG_E_BASE - 8)	/* clock cannot be read here */
#define AP_SEG_E_NAME		(AP_SEG_E_BASE - 9)	/* bad segment name */
#define AP_SEG_E_LAST		AP_SEG_E_NAME

/* The message of an AP_SEG_E_* code, of 0 ("success") or of a -errno value;
 * "unknown error" otherwise. */
const char *ap_seg_strerror(int err);

struct ap_seg_config {
	uint32_t lanes;		/* AP_LANES_MIN..AP_LANES_MAX */
	uint32_t lane_events;	/* power of two, AP_LANE_EVENTS_MIN..AP_LANE_EVENTS_MAX */
	uint32_t name_slots;	/* power of two, AP_NAME_SLOTS_MIN..AP_NAME_SLOTS_MAX */
	uint32_t clock_source;	/* 0: ap_clock_detect() */
};

struct ap_segment {
	void *base;
	size_t size;
	struct ap_seg_header *hdr;
	struct ap_lane *lanes;
	struct ap_event *rings;
	struct ap_name_slot *names;
	uint32_t lane_count;
	uint32_t lane_capacity;
	uint32_t name_slots;
	struct ap_clock_cal clock;
	char name[AP_SEG_NAME_MAX + 1];
};

/* Fill cfg with the defaults. */
void ap_seg_config_default(struct ap_seg_config *cfg);

/* Bytes a segment of this geometry takes, 0 when cfg is out of bounds. */
uint64_t ap_seg_size(const struct ap_seg_config *cfg);

/* 0 when `name` is "/" followed by 1..199 of [A-Za-z0-9._-], else AP_SEG_E_NAME. */
int ap_seg_name_check(const char *name);

/*
 * Create the segment `name`: O_CREAT|O_EXCL, mode 0600 whatever the umask,
 * memory reserved up front (posix_fallocate), header written, magic last.
 * Returns 0, or -EEXIST, -ENOSPC (no room in /dev/shm), -ENOMEM, -EACCES,
 * AP_SEG_E_NAME, AP_SEG_E_GEOMETRY. On error nothing is left behind.
 */
int ap_seg_create(struct ap_segment *seg, const char *name, const struct ap_seg_config *cfg);

/*
 * Map the existing segment `name` and validate it. Returns 0, or -ENOENT,
 * -EACCES, -ENOMEM, or one of AP_SEG_E_NAME, _NOTSHM, _OWNER, _MODE, _MAGIC,
 * _ABI, _LAYOUT, _SIZE, _GEOMETRY, _CLOCK.
 */
int ap_seg_attach(struct ap_segment *seg, const char *name);

/* Unmap (the name stays). */
void ap_seg_unmap(struct ap_segment *seg);

/* The reader stops: mark the segment retired (ap_shm.h) so that workers
 * detach and look for the name again. Call before removing the name. */
void ap_seg_retire(struct ap_segment *seg);

/* Remove the name. Returns 0 or -errno. */
int ap_seg_unlink(const char *name);

/*
 * Remove the segments a `record` left behind when it was killed (SIGKILL
 * gives it no chance to remove its own): names "/agentprof-<pid>-<hex>" of
 * this user, whose creator and current reader are both gone and whose lanes
 * have no live owner. Read with pread, never mapped. Returns how many were
 * removed; *bytes gets their size. serve's segments (any other name) are
 * never touched: a new serve takes them over instead.
 */
int ap_seg_remove_stale(uint64_t *bytes);

static inline struct ap_event *ap_seg_ring(const struct ap_segment *seg, uint32_t lane)
{
	return seg->rings + (size_t)lane * seg->lane_capacity;
}

/*
 * Start time of process `pid` in clock ticks since boot (/proc/PID/stat
 * field 22). Returns 0 and sets *start, -ESRCH when there is no such process
 * or it is a zombie, -EINVAL for a pid out of range, or another -errno.
 */
int ap_proc_start_time(uint32_t pid, uint64_t *start);

#endif /* AP_SEGMENT_H */
