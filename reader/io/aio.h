/* SPDX-License-Identifier: MIT */
/*
 * aio.h - the reader's one asynchronous I/O engine.
 *
 * Everything the reader writes goes through one engine per process: the
 * event log's blocks, the periodic dumps, the final report. Its clients hand
 * it jobs and never wait for the disk on the drain thread; each job's
 * completion callback runs later on the thread that polls the engine (the
 * drain thread), so a client's own state needs no lock.
 *
 * Two kinds of job:
 *   AP_AIO_WRITE    buf[0..len) at offset off of fd; a short write is
 *                   resubmitted for the rest, so that a real error (ENOSPC,
 *                   EFBIG, EIO) surfaces as the job's error.
 *   AP_AIO_REPLACE  replace dir/name atomically: open name.tmp (O_TRUNC),
 *                   write, fsync, close, rename over name, fsync the
 *                   directory. On io_uring one linked chain, the file opened
 *                   into a fixed-file slot of the job's own; a failing link
 *                   (a short write counts as ENOSPC) cancels the rest, so
 *                   the rename never happens and the previous file stays.
 *
 * Paths, chosen once at init by one policy for every client: io_uring when
 * the ring can be set up and the kernel has every operation above (openat,
 * write, fsync, close, renameat, fixed files); a writer thread doing the
 * same steps with plain syscalls (byte-identical files) when io_uring is
 * refused (EPERM: kernel.io_uring_disabled or a seccomp filter; ENOSYS) or
 * lacks an operation, or when $AGENTPROF_IO=sync. A resource error setting
 * up the ring (ENOMEM, EMFILE) is an error, not a reason to change paths.
 */
#ifndef AP_AIO_H
#define AP_AIO_H

#include <liburing.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define AP_AIO_NAME_MAX	64u	/* bytes of a REPLACE job's file name, NUL included */
#define AP_AIO_SLOTS_MAX 32u	/* fixed-file slots, one per REPLACE job that may be in flight */

enum ap_aio_kind { AP_AIO_WRITE = 1, AP_AIO_REPLACE = 2 };

struct ap_aio_job {
	/* Set by the client before ap_aio_submit(). */
	int kind;			/* enum ap_aio_kind */
	int fd;				/* WRITE: the file */
	uint64_t off;			/* WRITE: its offset */
	int dirfd;			/* REPLACE: the directory */
	uint32_t slot;			/* REPLACE: fixed-file slot, < the engine's slots */
	char name[AP_AIO_NAME_MAX];	/* REPLACE: file name in dirfd */
	const void *buf;
	size_t len;
	void (*on_done)(void *ctx, struct ap_aio_job *job);	/* on the polling thread */
	void *ctx;
	/* Engine state; err is the result the callback reads. */
	int err;			/* first failure, -errno; 0: every byte written */
	size_t done;			/* WRITE: bytes written so far */
	uint32_t pending;		/* io_uring completions still to come */
	struct ap_aio_job *next;	/* sync path queues */
	char tmp[AP_AIO_NAME_MAX + 8];
};

struct ap_aio {
	const char *io;			/* "io_uring" or "sync" */
	const char *why_sync;		/* why io_uring is not used; NULL on the io_uring path */
	int forced_sync;		/* $AGENTPROF_IO=sync or the caller asked */
	int uring;
	struct io_uring ring;
	uint32_t slots;			/* fixed-file slots registered */
	uint32_t inflight;		/* jobs submitted whose callback has not run */
	/* Writer thread (sync path). */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, have_thread;
	struct ap_aio_job *todo, *todo_tail, *finished;
};

/*
 * Set up the engine with `slots` fixed-file slots for REPLACE jobs
 * (<= AP_AIO_SLOTS_MAX). force_sync chooses the writer thread (tests);
 * $AGENTPROF_IO=sync does the same. Returns 0 or -errno (a resource error
 * with io_uring, or the writer thread could not start).
 */
int ap_aio_init(struct ap_aio *a, uint32_t slots, int force_sync);

/* Queue a job; never waits. Returns 0, or -EAGAIN when the ring has no room
 * now (nothing queued, the callback will not run), or -EINVAL for a job
 * that is malformed (a name too long, a slot out of range). */
int ap_aio_submit(struct ap_aio *a, struct ap_aio_job *job);

/* Run the callbacks of finished jobs, without waiting. */
void ap_aio_poll(struct ap_aio *a);

/* Wait for at least one job to finish (when any is in flight), then poll. */
void ap_aio_wait(struct ap_aio *a);

/* Wait until no job is in flight. */
void ap_aio_drain(struct ap_aio *a);

/* Drain, stop the writer thread, close the ring. */
void ap_aio_close(struct ap_aio *a);

#endif /* AP_AIO_H */
