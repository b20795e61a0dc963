/* SPDX-License-Identifier: MIT */
/*
 * dump.h - replace report files in a directory without holding up the drain,
 * and so that a crash at any moment leaves the previous file or the new one,
 * never a partial one.
 *
 * One file is one linked io_uring chain:
 *   openat "NAME.tmp" into a fixed-file slot (O_TRUNC) -> write the whole
 *   buffer -> fsync -> close the slot -> renameat "NAME.tmp" over "NAME" ->
 *   fsync the directory.
 * A failing link (a short write on a full disk, an EIO) cancels the rest of
 * the chain, so the rename never happens and the previous file stays. The
 * reader submits and later collects completions without waiting; a file whose
 * previous dump is still in flight (a slow disk) is not dumped this time and
 * counted as skipped.
 *
 * Where io_uring cannot be set up (EPERM: kernel.io_uring_disabled or a
 * seccomp filter; ENOSYS; a kernel without the operations) a writer thread
 * does the same steps with plain syscalls; the files are byte-identical. A
 * resource error (ENOMEM, EMFILE, ENOSPC) is an error, not a reason to change
 * paths: that dump fails and is counted, the previous file stays.
 */
#ifndef AP_DUMP_H
#define AP_DUMP_H

#include <liburing.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define AP_DUMP_FILES	4u	/* files a dumper replaces: report and interval, .json and .txt */
#define AP_DUMP_NAME_MAX 64u

enum { AP_DUMP_IDLE, AP_DUMP_INFLIGHT, AP_DUMP_DONE };

struct ap_dump_file {
	char name[AP_DUMP_NAME_MAX];
	char tmp[AP_DUMP_NAME_MAX + 8];
	char *buf;		/* owned while in flight */
	size_t len;
	int state;
	int err;		/* first failure of the chain, -errno; 0 */
	uint32_t pending;	/* completions still to come (io_uring) */
};

struct ap_dump {
	int dirfd;
	const char *io;		/* "io_uring" or "sync" */
	const char *why_sync;	/* why io_uring is not used, NULL on the io_uring path */
	int uring;
	struct io_uring ring;
	pthread_t thread;	/* sync path */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, have_thread;
	struct ap_dump_file f[AP_DUMP_FILES];
	uint64_t written;	/* files replaced */
	uint64_t failed;	/* dumps that failed: the previous file stays */
	uint64_t skipped_busy;	/* not dumped: its previous dump was still in flight */
	uint64_t bytes;
	int last_err;		/* -errno of the last failure, 0 */
	char last_err_file[AP_DUMP_NAME_MAX];
};

/* Open dir (created by the caller) and set up the I/O path; sync_only forces
 * the writer thread. 0 or -errno. */
int ap_dump_init(struct ap_dump *d, const char *dir, int sync_only);

/* Replace file `slot` (< AP_DUMP_FILES) of the directory, named `name`, with
 * buf[0..len). Takes buf (malloc'd) in every case. Returns 0, -EBUSY when the
 * slot's previous dump is still in flight (counted in skipped_busy), or
 * -errno when it could not be queued (counted as failed). Never waits. */
int ap_dump_submit(struct ap_dump *d, uint32_t slot, const char *name, char *buf, size_t len);

/* Collect finished dumps without waiting. */
void ap_dump_poll(struct ap_dump *d);

/* Wait until nothing is in flight (the final dump). */
void ap_dump_wait(struct ap_dump *d);

/* Wait, stop the writer thread, close. */
void ap_dump_close(struct ap_dump *d);

#endif /* AP_DUMP_H */
