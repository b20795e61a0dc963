/* SPDX-License-Identifier: MIT */
/*
 * evlog.c - the event log: buffered blocks written through io_uring, or by a
 * writer thread where io_uring is not available; and the block scanner that
 * a replay uses.
 *
 * The drain thread fills one buffer at a time. A full buffer is sealed
 * (checksum) and handed to the I/O path with its file offset fixed, so
 * writes may complete in any order. The drain thread never waits for a
 * write: when no buffer is free, what it would have logged is counted as not
 * logged and the next block's sequence number skips one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "evlog.h"

static uint64_t block_sum(const struct ap_log_block *h, const uint8_t *payload)
{
	struct ap_log_block copy = *h;
	XXH3_state_t st;

	copy.sum = 0;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, &copy, sizeof(copy));
	XXH3_64bits_update(&st, payload, h->len);
	return XXH3_64bits_digest(&st);
}

static void buf_done(struct ap_log *l, uint32_t i, int64_t res, uint32_t want)
{
	if (res < 0 && !l->err)
		l->err = (int)res;
	else if (res >= 0 && (uint64_t)res != want && !l->err)
		l->err = -EIO;	/* no progress and no error: say it failed */
	if (res == (int64_t)want) {
		l->blocks++;
		l->bytes += want;
	} else {
		l->events_failed += l->buf[i].events;
	}
	l->buf[i].state = AP_LOG_FREE;
	l->inflight--;
}

/* io_uring: submit the rest of buffer i from its `done` bytes on. */
static int submit_rest(struct ap_log *l, uint32_t i)
{
	struct ap_log_buf *b = &l->buf[i];
	const struct ap_log_block *h = (const struct ap_log_block *)b->data;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	uint64_t off;

	if (!sqe)
		return -EBUSY;
	memcpy(&off, b->data + sizeof(*h) + b->used, sizeof(off));
	io_uring_prep_write(sqe, l->fd, b->data + b->done, (uint32_t)sizeof(*h) + b->used - b->done, off + b->done);
	sqe->user_data = i;
	if (io_uring_submit(&l->ring) < 0) {
		io_uring_prep_nop(sqe);
		sqe->user_data = UINT64_MAX;
		return -EIO;
	}
	return 0;
}

/* A completion for buffer i: done, or a short write to continue (the next
 * attempt returns the real error: ENOSPC, EFBIG, EIO). */
static void uring_done(struct ap_log *l, uint32_t i, int32_t res)
{
	struct ap_log_buf *b = &l->buf[i];
	uint32_t want = (uint32_t)sizeof(struct ap_log_block) + b->used;

	if (res > 0 && b->done + (uint32_t)res < want) {
		b->done += (uint32_t)res;
		if (submit_rest(l, i) == 0)
			return;
		buf_done(l, i, -EIO, want);
		return;
	}
	buf_done(l, i, res < 0 ? res : (int64_t)b->done + res, want);
}

void ap_log_poll(struct ap_log *l)
{
	struct io_uring_cqe *cqe;

	if (l->uring) {
		while (l->inflight && io_uring_peek_cqe(&l->ring, &cqe) == 0) {
			uint32_t i = (uint32_t)cqe->user_data;

			io_uring_cqe_seen(&l->ring, cqe);
			if (i < AP_LOG_NBUF)
				uring_done(l, i, cqe->res);
		}
	}
	/* The sync path marks buffers free itself, under the mutex. */
}

/* Writer thread of the sync path: pwrite each queued buffer at its offset. */
static void *sync_writer(void *arg)
{
	struct ap_log *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		uint32_t i, found = AP_LOG_NBUF;
		uint64_t lowest = UINT64_MAX;

		for (i = 0; i < AP_LOG_NBUF; i++) {
			const struct ap_log_block *h = (const struct ap_log_block *)l->buf[i].data;

			if (l->buf[i].state == AP_LOG_QUEUED && h->seq < lowest) {
				lowest = h->seq;
				found = i;
			}
		}
		if (found == AP_LOG_NBUF) {
			if (l->stop)
				break;
			pthread_cond_wait(&l->cv, &l->mu);
			continue;
		}
		{
			struct ap_log_buf *b = &l->buf[found];
			uint32_t want = (uint32_t)sizeof(struct ap_log_block) + b->used;
			uint64_t off;
			ssize_t done = 0, r = 0;

			memcpy(&off, b->data + sizeof(struct ap_log_block) + b->used, sizeof(off));
			b->state = AP_LOG_INFLIGHT;
			pthread_mutex_unlock(&l->mu);
			while ((size_t)done < want) {
				r = pwrite(l->fd, b->data + done, want - (size_t)done, (off_t)(off + (uint64_t)done));
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				done += r;
			}
			r = r < 0 ? -errno : done;
			pthread_mutex_lock(&l->mu);
			buf_done(l, found, r, want);
			pthread_cond_broadcast(&l->cv);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int ap_log_open(struct ap_log *l, const char *path, uint32_t block_cap, int sync_only)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->cur = AP_LOG_NBUF;
	if (block_cap < AP_LOG_BLOCK_MIN || block_cap > AP_LOG_BLOCK_MAX)
		return -EINVAL;
	l->block_cap = block_cap;
	for (uint32_t i = 0; i < AP_LOG_NBUF; i++) {
		/* Header + payload + 8 bytes where the sync path keeps the offset. */
		l->buf[i].data = malloc(sizeof(struct ap_log_block) + block_cap + 8);
		if (!l->buf[i].data) {
			ap_log_close(l);
			return -ENOMEM;
		}
	}
	l->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (l->fd < 0) {
		ret = -errno;
		ap_log_close(l);
		return ret;
	}
	ret = sync_only ? -ENOSYS : io_uring_queue_init(AP_LOG_NBUF * 2, &l->ring, 0);
	if (ret == 0) {
		l->uring = 1;
		l->io = "io_uring";
		return 0;
	}
	if (ret != -ENOSYS && ret != -EPERM) {
		/* A resource error is an error, not a reason to change paths. */
		ap_log_close(l);
		unlink(path);
		return ret;
	}
	l->io = "sync";
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->thread, NULL, sync_writer, l)) {
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		ap_log_close(l);
		unlink(path);
		return -EAGAIN;
	}
	l->have_thread = 1;
	return 0;
}

/* Seal the FILLING buffer and hand it to the I/O path. */
static void seal(struct ap_log *l, uint16_t type)
{
	struct ap_log_buf *b;
	struct ap_log_block *h;
	uint32_t want;

	if (l->cur == AP_LOG_NBUF)
		return;
	b = &l->buf[l->cur];
	l->cur = AP_LOG_NBUF;
	h = (struct ap_log_block *)b->data;
	memset(h, 0, sizeof(*h));
	h->magic = AP_LOG_MAGIC;
	h->type = type;
	h->len = b->used;
	h->seq = l->seq++;
	h->sum = block_sum(h, b->data + sizeof(*h));
	want = (uint32_t)sizeof(*h) + b->used;
	memcpy(b->data + want, &l->off, sizeof(l->off));	/* its file offset */
	l->off += want;
	b->done = 0;
	if (l->uring) {
		int ret;

		l->inflight++;
		b->state = AP_LOG_INFLIGHT;
		ret = submit_rest(l, (uint32_t)(b - l->buf));
		if (ret)	/* cannot happen: the ring has room for every buffer */
			buf_done(l, (uint32_t)(b - l->buf), ret, want);
		return;
	}
	pthread_mutex_lock(&l->mu);
	l->inflight++;
	b->state = AP_LOG_QUEUED;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Header and totals blocks matter more than a moment: wait for a buffer. */
static void wait_free(struct ap_log *l)
{
	if (l->uring) {
		while (l->inflight == AP_LOG_NBUF) {
			struct io_uring_cqe *cqe;

			if (io_uring_wait_cqe(&l->ring, &cqe) < 0)
				return;
			ap_log_poll(l);
		}
		return;
	}
	if (!l->have_thread)
		return;
	pthread_mutex_lock(&l->mu);
	while (l->inflight == AP_LOG_NBUF && !l->err)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

/* A FILLING buffer with room for `need` payload bytes, or NULL (not logged). */
static uint8_t *room(struct ap_log *l, uint32_t need)
{
	struct ap_log_buf *b;

	int err;

	if (l->fd < 0)
		return NULL;
	if (l->cur != AP_LOG_NBUF && l->buf[l->cur].used + need <= l->block_cap)
		return l->buf[l->cur].data + sizeof(struct ap_log_block) + l->buf[l->cur].used;
	seal(l, AP_LOG_DATA);
	ap_log_poll(l);
	if (l->patient)
		wait_free(l);
	if (l->have_thread)
		pthread_mutex_lock(&l->mu);
	err = l->err;
	for (uint32_t i = 0; i < AP_LOG_NBUF && !err; i++) {
		if (l->buf[i].state == AP_LOG_FREE) {
			l->cur = i;
			l->buf[i].state = AP_LOG_FILLING;
			break;
		}
	}
	if (l->have_thread)
		pthread_mutex_unlock(&l->mu);
	if (err)
		return NULL;	/* the log failed: nothing more is written */
	if (l->cur == AP_LOG_NBUF) {
		if (!l->gap) {
			l->gap = 1;
			l->blocks_dropped++;
		}
		return NULL;
	}
	if (l->gap) {
		l->seq++;	/* the block that could not be written */
		l->gap = 0;
	}
	b = &l->buf[l->cur];
	b->used = 0;
	b->events = 0;
	return b->data + sizeof(struct ap_log_block);
}

static void put_rec(uint8_t *p, uint32_t pid, uint32_t n)
{
	struct ap_log_rec r = { pid, n };

	memcpy(p, &r, sizeof(r));
}

void ap_log_events(struct ap_log *l, uint32_t pid, const struct ap_event *ev, uint32_t n)
{
	while (n) {
		uint32_t fit = (l->block_cap - (uint32_t)sizeof(struct ap_log_rec)) / sizeof(*ev), k;
		uint8_t *p;

		if (l->cur != AP_LOG_NBUF) {
			uint32_t left = l->block_cap - l->buf[l->cur].used;

			if (left >= sizeof(struct ap_log_rec) + sizeof(*ev))
				fit = (left - (uint32_t)sizeof(struct ap_log_rec)) / (uint32_t)sizeof(*ev);
		}
		k = n < fit ? n : fit;
		p = room(l, (uint32_t)sizeof(struct ap_log_rec) + k * (uint32_t)sizeof(*ev));
		if (!p) {
			l->events_not_logged += n;
			return;
		}
		put_rec(p, pid, k);
		memcpy(p + sizeof(struct ap_log_rec), ev, (size_t)k * sizeof(*ev));
		l->buf[l->cur].used += (uint32_t)sizeof(struct ap_log_rec) + k * (uint32_t)sizeof(*ev);
		l->buf[l->cur].events += k;
		l->events += k;
		l->since_mark += k;
		ev += k;
		n -= k;
	}
}

void ap_log_mark(struct ap_log *l)
{
	uint8_t *p;

	if (!l->since_mark)
		return;
	p = room(l, sizeof(struct ap_log_rec));
	if (!p)
		return;
	put_rec(p, 0, 0);
	l->buf[l->cur].used += sizeof(struct ap_log_rec);
	l->since_mark = 0;
}

void ap_log_names(struct ap_log *l, const char *pool, size_t len)
{
	/* Whole strings per record, each record padded to 8 bytes. */
	while (len) {
		size_t take = 0, max = l->block_cap - sizeof(struct ap_log_rec);
		uint32_t padded;
		uint8_t *p;

		while (take < len) {
			size_t s = strnlen(pool + take, len - take) + 1;

			if (take + s > max)
				break;
			take += s;
		}
		if (!take)
			return;	/* cannot happen: names are short */
		padded = (uint32_t)((take + 7) & ~(size_t)7);
		p = room(l, (uint32_t)sizeof(struct ap_log_rec) + padded);
		if (!p)
			return;
		put_rec(p, 0, (uint32_t)take);
		memcpy(p + sizeof(struct ap_log_rec), pool, take);
		memset(p + sizeof(struct ap_log_rec) + take, 0, padded - take);
		l->buf[l->cur].used += (uint32_t)sizeof(struct ap_log_rec) + padded;
		pool += take;
		len -= take;
	}
}

void ap_log_block(struct ap_log *l, uint16_t type, const void *payload, uint32_t len)
{
	uint8_t *p;

	seal(l, AP_LOG_DATA);
	if (len > l->block_cap) {
		l->blocks_dropped++;
		return;
	}
	wait_free(l);
	p = room(l, l->block_cap);	/* a fresh buffer */
	if (!p)
		return;
	memcpy(p, payload, len);
	l->buf[l->cur].used = len;
	seal(l, type);
}

int ap_log_close(struct ap_log *l)
{
	int ret;

	if (l->fd >= 0)
		seal(l, AP_LOG_DATA);
	if (l->uring) {
		while (l->inflight) {
			struct io_uring_cqe *cqe;

			if (io_uring_wait_cqe(&l->ring, &cqe) < 0)
				break;
			{
				uint64_t i = cqe->user_data;
				int32_t res = cqe->res;

				io_uring_cqe_seen(&l->ring, cqe);
				if (i < AP_LOG_NBUF)
					uring_done(l, (uint32_t)i, res);
			}
		}
		io_uring_queue_exit(&l->ring);
		l->uring = 0;
	}
	if (l->have_thread) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		l->have_thread = 0;
	}
	if (l->fd >= 0) {
		if (fsync(l->fd) < 0 && !l->err && errno != EINVAL)
			l->err = -errno;
		if (close(l->fd) < 0 && !l->err)
			l->err = -errno;
		l->fd = -1;
	}
	for (uint32_t i = 0; i < AP_LOG_NBUF; i++) {
		free(l->buf[i].data);
		l->buf[i].data = NULL;
	}
	l->events_not_logged += l->events_failed;
	l->events_failed = 0;
	ret = l->err;
	return ret;
}

const uint8_t *ap_log_next(const uint8_t *buf, size_t len, size_t *pos, struct ap_log_scan *st,
			   struct ap_log_block *out)
{
	size_t p = *pos;

	while (p + sizeof(struct ap_log_block) <= len) {
		struct ap_log_block h;
		uint32_t magic;

		memcpy(&magic, buf + p, sizeof(magic));
		if (magic != AP_LOG_MAGIC) {
			p++;
			st->bytes_skipped++;
			continue;
		}
		memcpy(&h, buf + p, sizeof(h));
		if (h.len > AP_LOG_BLOCK_MAX || h.len > len - p - sizeof(h) ||
		    block_sum(&h, buf + p + sizeof(h)) != h.sum) {
			/* Damaged, cut short, or a magic-looking byte run: skip a byte. */
			st->blocks_damaged += h.len <= len - p - sizeof(h);
			p++;
			st->bytes_skipped++;
			continue;
		}
		*pos = p + sizeof(h) + h.len;
		if (h.seq < st->next_seq) {
			st->blocks_out_of_order++;
			st->bytes_skipped += sizeof(h) + h.len;
			p = *pos;
			continue;
		}
		st->blocks_missing += h.seq - st->next_seq;
		st->next_seq = h.seq + 1;
		st->blocks++;
		*out = h;
		return buf + p + sizeof(h);
	}
	st->bytes_skipped += len - p;
	*pos = len;
	return NULL;
}
