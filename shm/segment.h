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

/* 0 when `name` is "/" followed by 1..199 of [A-Za-z0-9._-], else AP_E_NAME. */
int ap_seg_name_check(const char *name);

/*
 * Create the segment `name`: O_CREAT|O_EXCL, mode 0600 whatever the umask,
 * memory reserved up front (posix_fallocate), header written, magic last.
 * Returns 0, or -EEXIST, -ENOSPC (no room in /dev/shm), -ENOMEM, -EACCES,
 * AP_E_NAME, AP_E_GEOMETRY. On error nothing is left behind.
 */
int ap_seg_create(struct ap_segment *seg, const char *name, const struct ap_seg_config *cfg);

/*
 * Map the existing segment `name` and validate it. Returns 0, or -ENOENT,
 * -EACCES, -ENOMEM, AP_E_NAME, AP_E_NOTSHM, AP_E_OWNER, AP_E_MODE, AP_E_MAGIC,
 * AP_E_ABI, AP_E_LAYOUT, AP_E_SIZE, AP_E_GEOMETRY, AP_E_CLOCK.
 */
int ap_seg_attach(struct ap_segment *seg, const char *name);

/* Unmap (the name stays). */
void ap_seg_unmap(struct ap_segment *seg);

/* Remove the name. Returns 0 or -errno. */
int ap_seg_unlink(const char *name);

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
