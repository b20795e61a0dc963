/* SPDX-License-Identifier: MIT */
/*
 * segment.c - create, attach, validate and remove the shared segment.
 *
 * The reader creates the segment and is the only process that removes it.
 * Workers attach: they read the header through pread() into a private copy
 * and check it completely before mapping anything, so a file that is too
 * short, of another build, or not ours is refused with its own error instead
 * of a SIGBUS. Memory is reserved at create with posix_fallocate(), so a
 * /dev/shm without room fails there, never later in a worker's store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ap_atomic.h"
#include "segment.h"

#define HEADER_BYTES	((uint64_t)sizeof(struct ap_seg_header))
#define PAGE_ALIGN(x)	(((x) + 4095u) & ~(uint64_t)4095u)

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

void ap_seg_config_default(struct ap_seg_config *cfg)
{
	cfg->lanes = AP_DEFAULT_LANES;
	cfg->lane_events = AP_DEFAULT_LANE_EVENTS;
	cfg->name_slots = AP_DEFAULT_NAME_SLOTS;
	cfg->clock_source = 0;
}

struct layout {
	uint64_t lanes_offset, rings_offset, names_offset, total;
};

/* The one place offsets are derived; create and attach both use it. */
static int layout_of(uint32_t lanes, uint32_t cap, uint32_t slots, struct layout *l)
{
	if (lanes < AP_LANES_MIN || lanes > AP_LANES_MAX ||
	    !is_pow2(cap) || cap < AP_LANE_EVENTS_MIN || cap > AP_LANE_EVENTS_MAX ||
	    !is_pow2(slots) || slots < AP_NAME_SLOTS_MIN || slots > AP_NAME_SLOTS_MAX)
		return -1;
	l->lanes_offset = HEADER_BYTES;
	l->rings_offset = PAGE_ALIGN(l->lanes_offset + (uint64_t)lanes * sizeof(struct ap_lane));
	l->names_offset = PAGE_ALIGN(l->rings_offset + (uint64_t)lanes * cap * AP_EVENT_SIZE);
	l->total = PAGE_ALIGN(l->names_offset + (uint64_t)slots * sizeof(struct ap_name_slot));
	return 0;
}

uint64_t ap_seg_size(const struct ap_seg_config *cfg)
{
	struct layout l;

	return layout_of(cfg->lanes, cfg->lane_events, cfg->name_slots, &l) ? 0 : l.total;
}

int ap_seg_name_check(const char *name)
{
	size_t n;

	if (!name || name[0] != '/')
		return AP_SEG_E_NAME;
	n = strlen(name);
	if (n < 2 || n > AP_SEG_NAME_MAX)
		return AP_SEG_E_NAME;
	for (size_t i = 1; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return AP_SEG_E_NAME;
	}
	if (strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
		return AP_SEG_E_NAME;
	return 0;
}

static void set_view(struct ap_segment *seg, void *base, uint64_t size, const struct layout *l,
		     uint32_t lanes, uint32_t cap, uint32_t slots)
{
	char *b = base;

	seg->base = base;
	seg->size = size;
	seg->hdr = base;
	seg->lanes = (struct ap_lane *)(void *)(b + l->lanes_offset);
	seg->rings = (struct ap_event *)(void *)(b + l->rings_offset);
	seg->names = (struct ap_name_slot *)(void *)(b + l->names_offset);
	seg->lane_count = lanes;
	seg->lane_capacity = cap;
	seg->name_slots = slots;
}

int ap_seg_create(struct ap_segment *seg, const char *name, const struct ap_seg_config *cfg)
{
	char tmp[64];
	struct layout l;
	struct ap_seg_header *h;
	struct timespec rt;
	void *base;
	int fd, ret;

	memset(seg, 0, sizeof(*seg));
	ret = ap_seg_name_check(name);
	if (ret)
		return ret;
	if (layout_of(cfg->lanes, cfg->lane_events, cfg->name_slots, &l))
		return AP_SEG_E_GEOMETRY;
	if (l.total > (uint64_t)SIZE_MAX)
		return -ENOMEM;

	/* Built under a private name and linked into place complete, so that a
	 * worker started on its own (serve) never finds the name before the
	 * header is written; link() fails with EEXIST as O_EXCL would. */
	{
		static _Atomic unsigned seq;

		snprintf(tmp, sizeof(tmp), "/.agentprof-new-%d-%u", (int)getpid(), ap_add_relaxed(&seq, 1));
	}
	{
		char path[AP_SEG_NAME_MAX + 16];

		snprintf(path, sizeof(path), "/dev/shm%s", name);
		if (access(path, F_OK) == 0)
			return -EEXIST;	/* before reserving memory; link() decides races */
	}
	fd = shm_open(tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	/* The umask may have cleared bits of 0600 but never added any; make it exact. */
	if (fchmod(fd, 0600) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	ret = posix_fallocate(fd, 0, (off_t)l.total);
	if (ret) {
		ret = (ret == EFBIG || ret == EINVAL) ? -ENOSPC : -ret;
		goto err_unlink;
	}
	base = mmap(NULL, l.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto err_unlink;
	}
	close(fd);

	set_view(seg, base, l.total, &l, cfg->lanes, cfg->lane_events, cfg->name_slots);
	ap_clock_calibrate(cfg->clock_source ? cfg->clock_source : ap_clock_detect(), &seg->clock);
	snprintf(seg->name, sizeof(seg->name), "%s", name);

	h = seg->hdr;
	h->abi_version = AP_ABI_VERSION;
	h->fingerprint = ap_layout_fingerprint();
	h->total_size = l.total;
	h->lane_count = cfg->lanes;
	h->lane_capacity = cfg->lane_events;
	h->lanes_offset = l.lanes_offset;
	h->rings_offset = l.rings_offset;
	h->names_offset = l.names_offset;
	h->name_slots = cfg->name_slots;
	h->clock_source = seg->clock.source;
	h->clock_ref_ticks = seg->clock.ref_ticks;
	h->clock_ref_ns = seg->clock.ref_ns;
	h->clock_mult = seg->clock.mult;
	h->clock_hz = seg->clock.hz;
	clock_gettime(CLOCK_REALTIME, &rt);
	h->created_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	h->creator_pid = (uint32_t)getpid();
	ap_proc_start_time(h->creator_pid, &h->creator_start);
	/* Everything above is visible to whoever sees the magic. */
	ap_store_release(&h->magic, AP_SEG_MAGIC);
	{
		char from[80], to[AP_SEG_NAME_MAX + 16];

		snprintf(from, sizeof(from), "/dev/shm%s", tmp);
		snprintf(to, sizeof(to), "/dev/shm%s", name);
		ret = link(from, to) < 0 ? -errno : 0;
	}
	shm_unlink(tmp);
	if (ret) {
		munmap(base, l.total);
		memset(seg, 0, sizeof(*seg));
		return ret;
	}
	return 0;

err_unlink:
	close(fd);
	shm_unlink(tmp);
	return ret;
}

int ap_seg_attach(struct ap_segment *seg, const char *name)
{
	struct ap_seg_header h;
	struct layout l;
	struct stat st;
	ssize_t n;
	void *base;
	int fd, ret;

	memset(seg, 0, sizeof(*seg));
	ret = ap_seg_name_check(name);
	if (ret)
		return ret;
	/* O_NONBLOCK: a FIFO planted under the name must not block the opener.
	 * glibc reports a directory as EINVAL (the name itself was checked). */
	fd = shm_open(name, O_RDWR | O_NONBLOCK, 0);
	if (fd < 0) {
		if (errno == ELOOP || errno == EISDIR || errno == ENXIO || errno == EINVAL)
			return AP_SEG_E_NOTSHM;
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err_close;
	}
	ret = AP_SEG_E_NOTSHM;
	if (!S_ISREG(st.st_mode))
		goto err_close;
	ret = AP_SEG_E_OWNER;
	if (st.st_uid != geteuid())
		goto err_close;
	ret = AP_SEG_E_MODE;
	if (st.st_mode & 077)
		goto err_close;

	memset(&h, 0, sizeof(h));
	n = pread(fd, &h, sizeof(h), 0);
	if (n < 0) {
		ret = -errno;
		goto err_close;
	}
	ret = AP_SEG_E_MAGIC;
	if ((size_t)n < sizeof(uint64_t) || ap_load_relaxed(&h.magic) != AP_SEG_MAGIC)
		goto err_close;
	ret = AP_SEG_E_SIZE;
	if ((size_t)n < sizeof(h))
		goto err_close;
	ret = AP_SEG_E_ABI;
	if (h.abi_version != AP_ABI_VERSION)
		goto err_close;
	ret = AP_SEG_E_LAYOUT;
	if (h.fingerprint != ap_layout_fingerprint())
		goto err_close;
	ret = AP_SEG_E_SIZE;
	if (h.total_size != (uint64_t)st.st_size)
		goto err_close;
	ret = AP_SEG_E_GEOMETRY;
	if (layout_of(h.lane_count, h.lane_capacity, h.name_slots, &l) ||
	    l.lanes_offset != h.lanes_offset || l.rings_offset != h.rings_offset ||
	    l.names_offset != h.names_offset || l.total != h.total_size ||
	    h.clock_mult == 0)
		goto err_close;
	ret = AP_SEG_E_CLOCK;
	if (!ap_clock_usable(h.clock_source))
		goto err_close;

	base = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	close(fd);
	set_view(seg, base, h.total_size, &l, h.lane_count, h.lane_capacity, h.name_slots);
	seg->clock.source = h.clock_source;
	seg->clock.ref_ticks = h.clock_ref_ticks;
	seg->clock.ref_ns = h.clock_ref_ns;
	seg->clock.mult = h.clock_mult;
	seg->clock.hz = h.clock_hz;
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	return 0;

err_close:
	close(fd);
	return ret;
}

void ap_seg_unmap(struct ap_segment *seg)
{
	if (seg->base)
		munmap(seg->base, seg->size);
	seg->base = NULL;
}

void ap_seg_retire(struct ap_segment *seg)
{
	if (seg->base)
		ap_store_release(&seg->hdr->retired, 1);
}

int ap_seg_unlink(const char *name)
{
	return shm_unlink(name) < 0 ? -errno : 0;
}

int ap_proc_start_time(uint32_t pid, uint64_t *start)
{
	char path[48], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	if (pid == 0 || pid > 0x3fffffffu)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and ')', so use the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	if (p[2] == 'Z' || p[2] == 'X')
		return -ESRCH;
	p += 2;
	/* Field 3 is the state; starttime is field 22, 19 fields further. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

const char *ap_seg_strerror(int err)
{
	switch (err) {
	case 0:			return "success";
	case AP_SEG_E_MAGIC:	return "not an agentprof segment (bad magic)";
	case AP_SEG_E_ABI:	return "segment ABI version differs from this library's";
	case AP_SEG_E_LAYOUT:	return "segment layout fingerprint differs (another build or architecture)";
	case AP_SEG_E_SIZE:	return "segment size differs from the size in its header";
	case AP_SEG_E_NOTSHM:	return "name is not a regular shared-memory file";
	case AP_SEG_E_OWNER:	return "segment belongs to another user";
	case AP_SEG_E_MODE:	return "segment is accessible to other users (mode is not 0600)";
	case AP_SEG_E_GEOMETRY:	return "segment geometry out of bounds or inconsistent";
	case AP_SEG_E_CLOCK:	return "segment clock cannot be read on this machine";
	case AP_SEG_E_NAME:	return "bad segment name (want '/' and 1-199 of [A-Za-z0-9._-])";
	default:
		break;
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

/* Whether process pid with start time `start` (AP_OWNER's 32 bits, or the
 * full value when full is set) is alive now. */
static int alive(uint32_t pid, uint64_t start, int full)
{
	uint64_t now = 0;

	if (!pid || ap_proc_start_time(pid, &now))
		return 0;
	return full ? now == start : (uint32_t)now == (uint32_t)start;
}

/* Whether the segment /dev/shm/<file> is a dead record's. */
static int stale(int dirfd, const char *file, uint64_t *size)
{
	struct ap_seg_header h;
	struct stat st;
	uint64_t r;
	int fd = openat(dirfd, file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW), dead = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || ap_load_relaxed(&h.magic) != AP_SEG_MAGIC ||
	    h.total_size != (uint64_t)st.st_size || h.lane_count > AP_LANES_MAX ||
	    h.lanes_offset + (uint64_t)h.lane_count * sizeof(struct ap_lane) > h.total_size)
		goto out;
	r = ap_load_relaxed(&h.reader);
	if (alive(h.creator_pid, h.creator_start, 1) || (r && alive(AP_OWNER_PID(r), AP_OWNER_START(r), 0)))
		goto out;
	for (uint32_t i = 0; i < h.lane_count; i++) {
		struct ap_lane lane;
		uint64_t o;

		if (pread(fd, &lane, sizeof(lane), (off_t)(h.lanes_offset + (uint64_t)i * sizeof(lane))) !=
		    (ssize_t)sizeof(lane))
			goto out;
		o = ap_load_relaxed(&lane.owner);
		if (o && alive(AP_OWNER_PID(o), AP_OWNER_START(o), 0))
			goto out;	/* a worker still writes into it */
	}
	*size = (uint64_t)st.st_size;
	dead = 1;
out:
	close(fd);
	return dead;
}

int ap_seg_remove_stale(uint64_t *bytes)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	*bytes = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		unsigned pid;
		char hex[9], name[sizeof(e->d_name) + 1];
		uint64_t size = 0;
		int used = 0;

		if (sscanf(e->d_name, "agentprof-%u-%8[0-9a-f]%n", &pid, hex, &used) != 2 || e->d_name[used] ||
		    strlen(hex) != 8 || !stale(dirfd(d), e->d_name, &size))
			continue;
		snprintf(name, sizeof(name), "/%s", e->d_name);
		if (shm_unlink(name) == 0) {
			n++;
			*bytes += size;
		}
	}
	closedir(d);
	return n;
}
