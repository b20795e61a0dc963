/* SPDX-License-Identifier: MIT */
/*
 * dump.c - atomic replacement of report files through one linked io_uring
 * chain per file, or a writer thread where io_uring is not available.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"

enum { STEP_OPEN, STEP_WRITE, STEP_FSYNC, STEP_CLOSE, STEP_RENAME, STEP_FSYNC_DIR, STEPS };

#define UD(slot, step)	(((uint64_t)(slot) << 8) | (uint64_t)(step))

/* The sync path: the same steps, in the same order, with plain syscalls. */
static int write_file_sync(int dirfd, const struct ap_dump_file *f)
{
	size_t done = 0;
	int fd, ret = 0;

	fd = openat(dirfd, f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < f->len) {
		ssize_t n = write(fd, f->buf + done, f->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -ENOSPC;
			break;
		}
		done += (size_t)n;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret && errno != EINTR)
		ret = -errno;
	if (!ret && renameat(dirfd, f->tmp, dirfd, f->name) < 0)
		ret = -errno;
	if (!ret && fsync(dirfd) < 0)
		ret = -errno;
	return ret;
}

static void *sync_writer(void *arg)
{
	struct ap_dump *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		struct ap_dump_file *job = NULL;

		for (uint32_t i = 0; i < AP_DUMP_FILES && !job; i++)
			if (d->f[i].state == AP_DUMP_INFLIGHT && d->f[i].pending)
				job = &d->f[i];
		if (!job) {
			if (d->stop)
				break;
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		job->pending = 0;	/* taken */
		pthread_mutex_unlock(&d->mu);
		int err = write_file_sync(d->dirfd, job);
		pthread_mutex_lock(&d->mu);
		job->err = err;
		job->state = AP_DUMP_DONE;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* The ring and the operations the chain needs, or why not. */
static const char *uring_setup(struct ap_dump *d, int *err)
{
	static const int ops[] = { IORING_OP_OPENAT, IORING_OP_WRITE, IORING_OP_FSYNC, IORING_OP_CLOSE,
				   IORING_OP_RENAMEAT };
	struct io_uring_probe *probe;
	int ret;

	*err = 0;
	ret = io_uring_queue_init(64, &d->ring, 0);	/* >= AP_DUMP_FILES x STEPS */
	if (ret == -EPERM || ret == -ENOSYS)
		return "io_uring is not permitted here (kernel.io_uring_disabled or a seccomp filter)";
	if (ret) {
		*err = ret;
		return NULL;
	}
	probe = io_uring_get_probe_ring(&d->ring);
	for (size_t i = 0; probe && i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!io_uring_opcode_supported(probe, ops[i])) {
			io_uring_free_probe(probe);
			io_uring_queue_exit(&d->ring);
			return "this kernel's io_uring lacks openat, rename or close";
		}
	}
	if (probe)
		io_uring_free_probe(probe);
	ret = io_uring_register_files_sparse(&d->ring, AP_DUMP_FILES);
	if (ret == -EINVAL || ret == -ENOSYS || ret == -EPERM) {
		io_uring_queue_exit(&d->ring);
		return "this kernel's io_uring cannot open into fixed files";
	}
	if (ret) {
		io_uring_queue_exit(&d->ring);
		*err = ret;
		return NULL;
	}
	d->uring = 1;
	return NULL;
}

int ap_dump_init(struct ap_dump *d, const char *dir, int sync_only)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0)
		return -errno;
	d->why_sync = sync_only ? "AGENTPROF_IO=sync" : uring_setup(d, &err);
	if (!sync_only && err) {
		close(d->dirfd);
		d->dirfd = -1;
		return err;	/* a resource error is an error */
	}
	if (d->uring) {
		d->io = "io_uring";
		return 0;
	}
	d->io = "sync";
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (pthread_create(&d->thread, NULL, sync_writer, d)) {
		pthread_mutex_destroy(&d->mu);
		pthread_cond_destroy(&d->cv);
		close(d->dirfd);
		d->dirfd = -1;
		return -EAGAIN;
	}
	d->have_thread = 1;
	return 0;
}

/* A dump has ended: count it, free its buffer, remove a leftover tmp. */
static void finish(struct ap_dump *d, struct ap_dump_file *f)
{
	if (f->err) {
		d->failed++;
		d->last_err = f->err;
		memcpy(d->last_err_file, f->name, sizeof(d->last_err_file));
		unlinkat(d->dirfd, f->tmp, 0);
	} else {
		d->written++;
		d->bytes += f->len;
	}
	free(f->buf);
	f->buf = NULL;
	f->state = AP_DUMP_IDLE;
}

static void on_cqe(struct ap_dump *d, const struct io_uring_cqe *cqe)
{
	uint32_t slot = (uint32_t)(cqe->user_data >> 8), step = (uint32_t)(cqe->user_data & 0xff);
	struct ap_dump_file *f;
	int res = cqe->res;

	if (slot >= AP_DUMP_FILES || d->f[slot].state != AP_DUMP_INFLIGHT)
		return;
	f = &d->f[slot];
	/* A short write fails the link (the kernel cancels the rest): on a
	 * regular file that is a full disk or a file size limit. */
	if (step == STEP_WRITE && res >= 0 && (size_t)res != f->len)
		res = -ENOSPC;
	if (res < 0 && (!f->err || f->err == -ECANCELED))
		f->err = res;
	if (--f->pending == 0)
		finish(d, f);
}

static void reap(struct ap_dump *d)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&d->ring, &cqe) == 0) {
		on_cqe(d, cqe);
		io_uring_cqe_seen(&d->ring, cqe);
	}
}

static int submit_chain(struct ap_dump *d, uint32_t slot, struct ap_dump_file *f)
{
	struct io_uring_sqe *sqe[STEPS];

	if (io_uring_sq_space_left(&d->ring) < STEPS)
		return -EAGAIN;
	for (int i = 0; i < STEPS; i++)
		sqe[i] = io_uring_get_sqe(&d->ring);
	io_uring_prep_openat_direct(sqe[STEP_OPEN], d->dirfd, f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, slot);
	io_uring_prep_write(sqe[STEP_WRITE], (int)slot, f->buf, (unsigned)f->len, 0);
	io_uring_prep_fsync(sqe[STEP_FSYNC], (int)slot, 0);
	io_uring_prep_close_direct(sqe[STEP_CLOSE], slot);
	io_uring_prep_renameat(sqe[STEP_RENAME], d->dirfd, f->tmp, d->dirfd, f->name, 0);
	io_uring_prep_fsync(sqe[STEP_FSYNC_DIR], d->dirfd, 0);
	for (int i = 0; i < STEPS; i++) {
		io_uring_sqe_set_data64(sqe[i], UD(slot, i));
		if (i < STEPS - 1)
			sqe[i]->flags |= IOSQE_IO_LINK;
	}
	sqe[STEP_WRITE]->flags |= IOSQE_FIXED_FILE;
	sqe[STEP_FSYNC]->flags |= IOSQE_FIXED_FILE;
	/* The whole chain runs in io_uring's workers: submitting never waits
	 * for a lookup, a write or an fsync. */
	sqe[STEP_OPEN]->flags |= IOSQE_ASYNC;
	f->pending = STEPS;
	/* What the kernel did not take now (an error of submit itself) stays
	 * in the submission queue and goes with the next submit
	 * (ap_dump_poll); until it completes, later dumps of this file are
	 * counted as skipped. */
	io_uring_submit(&d->ring);
	return 0;
}

int ap_dump_submit(struct ap_dump *d, uint32_t slot, const char *name, char *buf, size_t len)
{
	struct ap_dump_file *f;
	int ret;

	if (slot >= AP_DUMP_FILES || strlen(name) >= AP_DUMP_NAME_MAX || len > (1u << 30)) {
		free(buf);
		d->failed++;
		d->last_err = -EINVAL;
		return -EINVAL;
	}
	ap_dump_poll(d);
	f = &d->f[slot];
	if (d->have_thread)
		pthread_mutex_lock(&d->mu);
	if (f->state != AP_DUMP_IDLE) {
		if (d->have_thread)
			pthread_mutex_unlock(&d->mu);
		free(buf);
		d->skipped_busy++;
		return -EBUSY;
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", name);
	f->buf = buf;
	f->len = len;
	f->err = 0;
	f->state = AP_DUMP_INFLIGHT;
	if (d->have_thread) {
		f->pending = 1;		/* for the writer thread to take */
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	ret = submit_chain(d, slot, f);
	if (ret && f->pending == 0) {
		f->err = ret;	/* no room in the ring: nothing queued */
		finish(d, f);
	}
	return ret;
}

void ap_dump_poll(struct ap_dump *d)
{
	if (d->uring) {
		if (io_uring_sq_ready(&d->ring))
			io_uring_submit(&d->ring);
		reap(d);
		return;
	}
	if (!d->have_thread)
		return;
	pthread_mutex_lock(&d->mu);
	for (uint32_t i = 0; i < AP_DUMP_FILES; i++)
		if (d->f[i].state == AP_DUMP_DONE)
			finish(d, &d->f[i]);
	pthread_mutex_unlock(&d->mu);
}

static int inflight(const struct ap_dump *d)
{
	for (uint32_t i = 0; i < AP_DUMP_FILES; i++)
		if (d->f[i].state == AP_DUMP_INFLIGHT)
			return 1;
	return 0;
}

void ap_dump_wait(struct ap_dump *d)
{
	if (d->uring) {
		while (inflight(d)) {
			struct io_uring_cqe *cqe;

			int ret = io_uring_sq_ready(&d->ring) ? io_uring_submit_and_wait(&d->ring, 1) :
								 io_uring_wait_cqe(&d->ring, &cqe);

			if (ret < 0 && ret != -EINTR)
				break;
			reap(d);
		}
		return;
	}
	if (!d->have_thread)
		return;
	pthread_mutex_lock(&d->mu);
	while (inflight(d))
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
	ap_dump_poll(d);
}

void ap_dump_close(struct ap_dump *d)
{
	if (d->dirfd < 0 && !d->uring && !d->have_thread)
		return;
	ap_dump_wait(d);
	if (d->uring) {
		io_uring_queue_exit(&d->ring);
		d->uring = 0;
	}
	if (d->have_thread) {
		pthread_mutex_lock(&d->mu);
		d->stop = 1;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thread, NULL);
		pthread_mutex_destroy(&d->mu);
		pthread_cond_destroy(&d->cv);
		d->have_thread = 0;
	}
	for (uint32_t i = 0; i < AP_DUMP_FILES; i++) {
		free(d->f[i].buf);
		d->f[i].buf = NULL;
	}
	if (d->dirfd >= 0)
		close(d->dirfd);
	d->dirfd = -1;
}
