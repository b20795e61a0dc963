/* SPDX-License-Identifier: MIT */
/*
 * attach.c - every refusal of create and attach, each with its own error
 * and message; and what create leaves behind (mode 0600, nothing on error).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"

static char path_buf[256];

static const char *shm_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "/dev/shm%s", name);
	return path_buf;
}

/* Attach to r's segment after `mutate` changed a copy of it. */
static int attach_after(void (*mutate)(struct t_reader *r, int fd))
{
	struct t_reader r;
	struct ap_segment seg;
	int fd, ret;

	if (t_reader_open(&r, 4, 64) != 0)
		return 1;
	fd = open(shm_path(r.seg.name), O_RDWR);
	mutate(&r, fd);
	close(fd);
	ret = ap_seg_attach(&seg, r.seg.name);
	if (ret == 0)
		ap_seg_unmap(&seg);
	t_reader_close(&r);
	return ret;
}

static void m_none(struct t_reader *r, int fd) { (void)r; (void)fd; }
static void m_magic(struct t_reader *r, int fd) { (void)fd; atomic_store(&r->seg.hdr->magic, 0x1234); }
static void m_abi(struct t_reader *r, int fd) { (void)fd; r->seg.hdr->abi_version = AP_ABI_VERSION + 1; }
static void m_layout(struct t_reader *r, int fd) { (void)fd; r->seg.hdr->fingerprint ^= 1; }
static void m_grow(struct t_reader *r, int fd) { CU_ASSERT(ftruncate(fd, (off_t)r->seg.size + 4096) == 0); }
static void m_short(struct t_reader *r, int fd) { (void)r; CU_ASSERT(ftruncate(fd, 100) == 0); }
static void m_geometry(struct t_reader *r, int fd) { (void)fd; r->seg.hdr->lane_capacity = 100; }
static void m_offsets(struct t_reader *r, int fd) { (void)fd; r->seg.hdr->rings_offset += 64; }
static void m_clock(struct t_reader *r, int fd) { (void)fd; r->seg.hdr->clock_source = 99; }
static void m_mode(struct t_reader *r, int fd) { (void)r; CU_ASSERT(fchmod(fd, 0644) == 0); }
static void m_owner(struct t_reader *r, int fd) { (void)r; CU_ASSERT(fchown(fd, 65534, 65534) == 0); }

static void test_attach_valid(void)
{
	CU_ASSERT_EQUAL(attach_after(m_none), 0);
}

static void test_refusals_each_with_own_error(void)
{
	CU_ASSERT_EQUAL(attach_after(m_magic), AP_E_MAGIC);
	CU_ASSERT_EQUAL(attach_after(m_abi), AP_E_ABI);
	CU_ASSERT_EQUAL(attach_after(m_layout), AP_E_LAYOUT);
	CU_ASSERT_EQUAL(attach_after(m_grow), AP_E_SIZE);
	CU_ASSERT_EQUAL(attach_after(m_short), AP_E_SIZE);
	CU_ASSERT_EQUAL(attach_after(m_geometry), AP_E_GEOMETRY);
	CU_ASSERT_EQUAL(attach_after(m_offsets), AP_E_GEOMETRY);
	CU_ASSERT_EQUAL(attach_after(m_clock), AP_E_CLOCK);
	CU_ASSERT_EQUAL(attach_after(m_mode), AP_E_MODE);
}

static void test_refuses_other_users_segment(void)
{
	if (geteuid() != 0) {
		t_skip("needs root to chown a segment: owner check not exercised");
		return;
	}
	CU_ASSERT_EQUAL(attach_after(m_owner), AP_E_OWNER);
}

static void test_refuses_missing_and_bad_names(void)
{
	struct ap_segment seg;

	CU_ASSERT_EQUAL(ap_seg_attach(&seg, "/ap-test-does-not-exist"), -ENOENT);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, "no-slash"), AP_E_NAME);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, "/a/b"), AP_E_NAME);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, "/"), AP_E_NAME);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, "/.."), AP_E_NAME);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, NULL), AP_E_NAME);
}

static void test_refuses_non_regular_files(void)
{
	struct ap_segment seg;
	char name[64], target[64];

	snprintf(name, sizeof(name), "/ap-test-dir-%d", (int)getpid());
	CU_ASSERT_FATAL(mkdir(shm_path(name), 0700) == 0);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, name), AP_E_NOTSHM);
	rmdir(shm_path(name));

	snprintf(name, sizeof(name), "/ap-test-fifo-%d", (int)getpid());
	CU_ASSERT_FATAL(mkfifo(shm_path(name), 0600) == 0);
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, name), AP_E_NOTSHM);	/* and does not block */
	unlink(shm_path(name));

	snprintf(target, sizeof(target), "/ap-test-target-%d", (int)getpid());
	snprintf(name, sizeof(name), "/ap-test-link-%d", (int)getpid());
	{
		int fd = shm_open(target, O_RDWR | O_CREAT, 0600);

		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
	}
	{
		char tpath[128];

		snprintf(tpath, sizeof(tpath), "/dev/shm%s", target);
		CU_ASSERT_FATAL(symlink(tpath, shm_path(name)) == 0);
	}
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, name), AP_E_NOTSHM);
	unlink(shm_path(name));
	shm_unlink(target);
}

static void test_create_mode_is_0600_whatever_umask(void)
{
	struct t_reader r;
	struct stat st;
	mode_t old = umask(0);

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 64) == 0);
	umask(old);
	CU_ASSERT_FATAL(stat(shm_path(r.seg.name), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL((uint64_t)st.st_size, r.seg.size);
	/* Reserved up front: every block is allocated. */
	CU_ASSERT((uint64_t)st.st_blocks * 512 >= r.seg.size);
	t_reader_close(&r);
}

static void test_create_refuses_existing_name(void)
{
	struct t_reader r;
	struct ap_segment seg;
	struct ap_seg_config cfg;

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 64) == 0);
	ap_seg_config_default(&cfg);
	CU_ASSERT_EQUAL(ap_seg_create(&seg, r.seg.name, &cfg), -EEXIST);
	/* The existing segment is intact. */
	CU_ASSERT_EQUAL(ap_seg_attach(&seg, r.seg.name), 0);
	ap_seg_unmap(&seg);
	t_reader_close(&r);
}

static void test_create_without_room_fails_cleanly(void)
{
	struct ap_seg_config cfg;
	struct ap_segment seg;
	struct statvfs vfs;
	char name[64];
	int ret;

	/* More than /dev/shm can ever hold: an error at create, nothing left. */
	CU_ASSERT_FATAL(statvfs("/dev/shm", &vfs) == 0);
	ap_seg_config_default(&cfg);
	cfg.lanes = AP_LANES_MAX;
	cfg.lane_events = AP_LANE_EVENTS_MAX;
	CU_ASSERT_FATAL(ap_seg_size(&cfg) > (uint64_t)vfs.f_blocks * vfs.f_frsize);
	snprintf(name, sizeof(name), "/ap-test-huge-%d", (int)getpid());
	ret = ap_seg_create(&seg, name, &cfg);
	CU_ASSERT(ret == -ENOSPC || ret == -ENOMEM || ret == -EFBIG);
	CU_ASSERT(access(shm_path(name), F_OK) != 0);
}

static void test_strerror_distinct(void)
{
	for (int e = AP_E_BASE; e >= AP_E_LAST; e--) {
		const char *m = ap_strerror(e);

		CU_ASSERT(strcmp(m, "unknown error") != 0);
		for (int f = e - 1; f >= AP_E_LAST; f--)
			CU_ASSERT(strcmp(m, ap_strerror(f)) != 0);
	}
	CU_ASSERT(strcmp(ap_strerror(-ENOENT), strerror(ENOENT)) == 0);
}

/* The public call returns the same code and stays off. */
static int child_public_attach(void *arg)
{
	const char *name = arg;
	int ret = ap_attach(name);

	if (ret != AP_E_MAGIC || ap_enabled() || ap_begin(ap_name("x"), AP_CAT_TOOL) != 0)
		return 1;
	return 0;
}

static void test_public_attach_reports_and_stays_off(void)
{
	struct t_reader r;

	CU_ASSERT_FATAL(t_reader_open(&r, 2, 64) == 0);
	atomic_store(&r.seg.hdr->magic, 7);
	CU_ASSERT_EQUAL(t_wait(t_fork(child_public_attach, r.seg.name)), 0);
	t_reader_close(&r);
}

void t_register_attach(void)
{
	CU_pSuite s = CU_add_suite("attach", NULL, NULL);

	T_ADD(s, test_attach_valid);
	T_ADD(s, test_refusals_each_with_own_error);
	T_ADD(s, test_refuses_other_users_segment);
	T_ADD(s, test_refuses_missing_and_bad_names);
	T_ADD(s, test_refuses_non_regular_files);
	T_ADD(s, test_create_mode_is_0600_whatever_umask);
	T_ADD(s, test_create_refuses_existing_name);
	T_ADD(s, test_create_without_room_fails_cleanly);
	T_ADD(s, test_strerror_distinct);
	T_ADD(s, test_public_attach_reports_and_stays_off);
}
