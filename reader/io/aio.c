/* SPDX-License-Identifier: MIT */
/*
 * aio.c - the one asynchronous I/O engine (aio.h): io_uring, or a writer
 * thread doing the same steps with plain syscalls.
 *
 * io_uring: a job is one SQE (WRITE) or a linked chain of six (REPLACE),
 * tagged with the job's address and its step; completions are peeked at on
 * the polling thread, which runs the callback once a job's last completion
 * is in. Chains start with IOSQE_ASYNC, so io_uring's workers do the path
 * lookups, writes and fsyncs and submitting never waits for them.
 *
 * Writer thread: jobs go on a FIFO queue under a mutex; the thread does
 * each one and moves it to a finished list; the polling thread takes that
 * list and runs the callbacks. The mutex is held only to move list heads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aio.h"

enum { STEP_OPEN, STEP_WRITE, STEP_FSYNC, STEP_CLOSE, STEP_RENAME, STEP_FSYNC_DIR, STEPS };

#define RING_ENTRIES	256u	/* >= the log's 8 writes + AP_AIO_SLOTS_MAX chains of STEPS */

/* user_data: the job's address with the step in its low 3 bits (jobs are
 * 8-byte aligned). */
#define UD(job, step)	((uint64_t)(uintptr_t)(job) | (uint64_t)(step))
#define UD_JOB(ud)	((struct ap_aio_job *)(uintptr_t)((ud) & ~(uint64_t)7))
#define UD_STEP(ud)	((uint32_t)((ud) & 7))
_Static_assert(_Alignof(struct ap_aio_job) >= 8, "job addresses leave 3 bits for the step");

/* ------------------------------------------------------------------------ */
/* The writer thread                                                         */

static int write_all(int fd, const char *buf, size_t len, uint64_t off, int positional)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = positional ? pwrite(fd, buf + done, len - done, (off_t)(off + done)) :
					 write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;	/* no progress and no error: a full disk */
		done += (size_t)n;
	}
	return 0;
}

/* The REPLACE steps, in the chain's order, with plain syscalls. */
static int replace_sync(const struct ap_aio_job *j)
{
	int fd, ret;

	fd = openat(j->dirfd, j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, j->buf, j->len, 0, 0);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret && errno != EINTR)
		ret = -errno;
	if (!ret && renameat(j->dirfd, j->tmp, j->dirfd, j->name) < 0)
		ret = -errno;
	if (!ret && fsync(j->dirfd) < 0)
		ret = -errno;
	return ret;
}

static void *writer_thread(void *arg)
{
	struct ap_aio *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct ap_aio_job *j = a->todo;

		if (!j) {
			if (a->stop)
				break;
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		a->todo = j->next;
		if (!a->todo)
			a->todo_tail = NULL;
		pthread_mutex_unlock(&a->mu);
		j->err = j->kind == AP_AIO_WRITE ? write_all(j->fd, j->buf, j->len, j->off, 1) : replace_sync(j);
		pthread_mutex_lock(&a->mu);
		j->next = a->finished;
		a->finished = j;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* io_uring                                                                  */

/* The ring and every operation a job may need, or why not. */
static const char *uring_setup(struct ap_aio *a, int *err)
{
	static const int ops[] = { IORING_OP_OPENAT, IORING_OP_WRITE, IORING_OP_FSYNC, IORING_OP_CLOSE,
				   IORING_OP_RENAMEAT };
	struct io_uring_probe *probe;
	int ret;

	*err = 0;
	ret = io_uring_queue_init(RING_ENTRIES, &a->ring, 0);
	if (ret == -EPERM || ret == -ENOSYS)
		return "io_uring is not permitted here (kernel.io_uring_disabled or a seccomp filter)";
	if (ret) {
		*err = ret;
		return NULL;
	}
	probe = io_uring_get_probe_ring(&a->ring);
	for (size_t i = 0; probe && i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!io_uring_opcode_supported(probe, ops[i])) {
			io_uring_free_probe(probe);
			io_uring_queue_exit(&a->ring);
			return "this kernel's io_uring lacks openat, rename or close";
		}
	}
	if (probe)
		io_uring_free_probe(probe);
	if (a->slots) {
		ret = io_uring_register_files_sparse(&a->ring, a->slots);
		if (ret == -EINVAL || ret == -ENOSYS || ret == -EPERM) {
			io_uring_queue_exit(&a->ring);
			return "this kernel's io_uring cannot open into fixed files";
		}
		if (ret) {
			io_uring_queue_exit(&a->ring);
			*err = ret;
			return NULL;
		}
	}
	a->uring = 1;
	return NULL;
}

static void prep_write(struct io_uring_sqe *sqe, struct ap_aio_job *j)
{
	io_uring_prep_write(sqe, j->fd, (const char *)j->buf + j->done, (unsigned)(j->len - j->done),
			    j->off + j->done);
	io_uring_sqe_set_data64(sqe, UD(j, STEP_WRITE));
}

static int submit_chain(struct ap_aio *a, struct ap_aio_job *j)
{
	struct io_uring_sqe *sqe[STEPS];

	if (io_uring_sq_space_left(&a->ring) < STEPS)
		return -EAGAIN;
	for (int i = 0; i < STEPS; i++)
		sqe[i] = io_uring_get_sqe(&a->ring);
	io_uring_prep_openat_direct(sqe[STEP_OPEN], j->dirfd, j->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, j->slot);
	io_uring_prep_write(sqe[STEP_WRITE], (int)j->slot, j->buf, (unsigned)j->len, 0);
	io_uring_prep_fsync(sqe[STEP_FSYNC], (int)j->slot, 0);
	io_uring_prep_close_direct(sqe[STEP_CLOSE], j->slot);
	io_uring_prep_renameat(sqe[STEP_RENAME], j->dirfd, j->tmp, j->dirfd, j->name, 0);
	io_uring_prep_fsync(sqe[STEP_FSYNC_DIR], j->dirfd, 0);
	for (int i = 0; i < STEPS; i++) {
		io_uring_sqe_set_data64(sqe[i], UD(j, i));
		if (i < STEPS - 1)
			sqe[i]->flags |= IOSQE_IO_LINK;
	}
	sqe[STEP_WRITE]->flags |= IOSQE_FIXED_FILE;
	sqe[STEP_FSYNC]->flags |= IOSQE_FIXED_FILE;
	sqe[STEP_OPEN]->flags |= IOSQE_ASYNC;
	j->pending = STEPS;
	/* What the kernel did not take now (an error of submit itself) stays in
	 * the submission queue and goes with the next submit (ap_aio_poll). */
	io_uring_submit(&a->ring);
	return 0;
}

static void finish(struct ap_aio *a, struct ap_aio_job *j)
{
	a->inflight--;
	j->on_done(j->ctx, j);
}

static void on_cqe(struct ap_aio *a, uint64_t ud, int res)
{
	struct ap_aio_job *j = UD_JOB(ud);
	uint32_t step = UD_STEP(ud);

	if (!j)
		return;
	if (j->kind == AP_AIO_WRITE) {
		if (res > 0 && j->done + (size_t)res < j->len) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);

			j->done += (size_t)res;	/* short: write the rest; its error, if any, is real */
			if (sqe) {
				prep_write(sqe, j);
				io_uring_submit(&a->ring);
				return;
			}
			res = -EIO;
		}
		if (res < 0)
			j->err = res;
		else if (res == 0 && j->done < j->len)
			j->err = -ENOSPC;
		else
			j->done += (size_t)res;
		finish(a, j);
		return;
	}
	/* REPLACE: a short write fails the link (the kernel cancels the rest):
	 * on a regular file that is a full disk or a file size limit. */
	if (step == STEP_WRITE && res >= 0 && (size_t)res != j->len)
		res = -ENOSPC;
	if (res < 0 && (!j->err || j->err == -ECANCELED))
		j->err = res;
	if (--j->pending == 0)
		finish(a, j);
}

static void reap_uring(struct ap_aio *a)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&a->ring, &cqe) == 0) {
		uint64_t ud = cqe->user_data;
		int res = cqe->res;

		io_uring_cqe_seen(&a->ring, cqe);
		on_cqe(a, ud, res);
	}
}

/* ------------------------------------------------------------------------ */
/* The engine                                                                */

int ap_aio_init(struct ap_aio *a, uint32_t slots, int force_sync)
{
	const char *env = getenv("AGENTPROF_IO");
	int err = 0;

	memset(a, 0, sizeof(*a));
	if (slots > AP_AIO_SLOTS_MAX)
		return -EINVAL;
	a->slots = slots;
	a->forced_sync = force_sync || (env && strcmp(env, "sync") == 0);
	a->why_sync = a->forced_sync ? "AGENTPROF_IO=sync" : uring_setup(a, &err);
	if (err)
		return err;
	if (a->uring) {
		a->io = "io_uring";
		return 0;
	}
	a->io = "sync";
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (pthread_create(&a->thread, NULL, writer_thread, a)) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cv);
		return -EAGAIN;
	}
	a->have_thread = 1;
	return 0;
}

int ap_aio_submit(struct ap_aio *a, struct ap_aio_job *j)
{
	int ret;

	j->err = 0;
	j->done = 0;
	j->pending = 0;
	j->next = NULL;
	if (j->kind == AP_AIO_REPLACE) {
		size_t n = strnlen(j->name, AP_AIO_NAME_MAX);

		if (n == 0 || n == AP_AIO_NAME_MAX || j->slot >= a->slots)
			return -EINVAL;
		memcpy(j->tmp, j->name, n);
		memcpy(j->tmp + n, ".tmp", 5);
	} else if (j->kind != AP_AIO_WRITE) {
		return -EINVAL;
	}
	if (a->uring) {
		if (j->kind == AP_AIO_WRITE) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);

			if (!sqe)
				return -EAGAIN;
			prep_write(sqe, j);
			io_uring_submit(&a->ring);
			ret = 0;
		} else {
			ret = submit_chain(a, j);
		}
		if (!ret)
			a->inflight++;
		return ret;
	}
	if (!a->have_thread)
		return -EINVAL;
	pthread_mutex_lock(&a->mu);
	if (a->todo_tail)
		a->todo_tail->next = j;
	else
		a->todo = j;
	a->todo_tail = j;
	a->inflight++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void ap_aio_poll(struct ap_aio *a)
{
	struct ap_aio_job *done, *next;

	if (a->uring) {
		if (io_uring_sq_ready(&a->ring))
			io_uring_submit(&a->ring);
		reap_uring(a);
		return;
	}
	if (!a->have_thread)
		return;
	pthread_mutex_lock(&a->mu);
	done = a->finished;
	a->finished = NULL;
	pthread_mutex_unlock(&a->mu);
	/* The list is newest first: reverse it, callbacks in completion order. */
	for (struct ap_aio_job *rev = NULL;; done = next) {
		if (!done) {
			for (done = rev; done; done = next) {
				next = done->next;
				finish(a, done);
			}
			break;
		}
		next = done->next;
		done->next = rev;
		rev = done;
	}
}

void ap_aio_wait(struct ap_aio *a)
{
	if (!a->inflight)
		return;
	if (a->uring) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_sq_ready(&a->ring) ? io_uring_submit_and_wait(&a->ring, 1) :
							io_uring_wait_cqe(&a->ring, &cqe);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN) {
			/* The ring is broken: nothing will complete. Fail what is left
			 * rather than wait for ever. */
			reap_uring(a);
			return;
		}
		reap_uring(a);
		return;
	}
	if (!a->have_thread)
		return;
	pthread_mutex_lock(&a->mu);
	while (!a->finished)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
	ap_aio_poll(a);
}

void ap_aio_drain(struct ap_aio *a)
{
	uint32_t stuck = 0;

	while (a->inflight) {
		uint32_t before = a->inflight;

		ap_aio_wait(a);
		/* A ring whose waits fail makes no progress: stop after a few tries. */
		stuck = a->inflight == before ? stuck + 1 : 0;
		if (stuck > 1000)
			break;
	}
}

void ap_aio_close(struct ap_aio *a)
{
	if (!a->uring && !a->have_thread)
		return;
	ap_aio_drain(a);
	if (a->uring) {
		io_uring_queue_exit(&a->ring);
		a->uring = 0;
	}
	if (a->have_thread) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cv);
		a->have_thread = 0;
	}
}
