/* SPDX-License-Identifier: MIT */
/* dump.c - report files replaced through the I/O engine (dump.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"

int ap_dump_init(struct ap_dump *d, struct ap_aio *aio, const char *dir)
{
	memset(d, 0, sizeof(*d));
	d->aio = aio;
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d->dirfd < 0 ? -errno : 0;
}

static void fail(struct ap_dump *d, const char *name, int err)
{
	d->failed++;
	d->last_err = err;
	snprintf(d->last_err_file, sizeof(d->last_err_file), "%s", name);
}

/* A dump has ended: count it, free its buffer, remove a leftover tmp. */
static void done(void *ctx, struct ap_aio_job *job)
{
	struct ap_dump *d = ctx;
	struct ap_dump_file *f = &d->f[job->slot];

	if (job->err) {
		fail(d, job->name, job->err);
		unlinkat(d->dirfd, job->tmp, 0);
	} else {
		d->written++;
		d->bytes += job->len;
	}
	free(f->buf);
	f->buf = NULL;
	f->busy = 0;
	f->result = job->err;
}

int ap_dump_submit(struct ap_dump *d, uint32_t slot, const char *name, char *buf, size_t len)
{
	struct ap_dump_file *f;
	int ret;

	if (slot >= d->aio->slots || slot >= AP_DUMP_FILES_MAX || strlen(name) >= AP_AIO_NAME_MAX ||
	    len > (1u << 30)) {
		free(buf);
		fail(d, name, -EINVAL);
		return -EINVAL;
	}
	ap_aio_poll(d->aio);
	f = &d->f[slot];
	if (f->busy) {
		free(buf);
		d->skipped_busy++;
		return -EBUSY;
	}
	f->result = 0;
	memset(&f->job, 0, sizeof(f->job));
	f->job.kind = AP_AIO_REPLACE;
	f->job.dirfd = d->dirfd;
	f->job.slot = slot;
	snprintf(f->job.name, sizeof(f->job.name), "%s", name);
	f->job.buf = buf;
	f->job.len = len;
	f->job.on_done = done;
	f->job.ctx = d;
	f->buf = buf;
	f->busy = 1;
	ret = ap_aio_submit(d->aio, &f->job);
	if (ret) {
		f->busy = 0;
		f->buf = NULL;
		f->result = ret;
		free(buf);
		fail(d, name, ret);
	}
	return ret;
}

void ap_dump_poll(struct ap_dump *d)
{
	ap_aio_poll(d->aio);
}

static int busy(const struct ap_dump *d)
{
	for (uint32_t i = 0; i < AP_DUMP_FILES_MAX; i++)
		if (d->f[i].busy)
			return 1;
	return 0;
}

void ap_dump_wait(struct ap_dump *d)
{
	for (uint32_t tries = 0; busy(d) && d->aio->inflight && tries < 100000; tries++)
		ap_aio_wait(d->aio);
}

void ap_dump_close(struct ap_dump *d)
{
	if (d->dirfd < 0 && !d->aio)
		return;
	if (d->aio)
		ap_dump_wait(d);
	for (uint32_t i = 0; i < AP_DUMP_FILES_MAX; i++) {
		if (d->f[i].busy)
			continue;	/* the engine still owns it: freed by its callback */
		free(d->f[i].buf);
		d->f[i].buf = NULL;
	}
	if (d->dirfd >= 0)
		close(d->dirfd);
	d->dirfd = -1;
}
