/* SPDX-License-Identifier: MIT */
/*
 * evlog.c - the event log: buffered blocks written through the I/O engine,
 * and the block scanner that a replay uses.
 *
 * The drain thread fills one buffer at a time. A full buffer is sealed
 * (checksum) and handed to the engine as one WRITE job with its file offset
 * fixed, so writes may complete in any order; the job's callback runs on the
 * drain thread too, so the buffers need no lock. The drain thread never
 * waits for a write: when no buffer is free, what it would have logged is
 * counted as not logged and the next block's sequence number skips one.
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

/* A block's write has ended (engine callback, on the drain thread). */
static void buf_done(void *ctx, struct ap_aio_job *job)
{
	struct ap_log_buf *b = ctx;
	struct ap_log *l = b->log;

	if (job->err) {
		if (!l->err)
			l->err = job->err;
		l->events_failed += b->events;
	} else {
		l->blocks++;
		l->bytes += job->len;
	}
	b->state = AP_LOG_FREE;
	l->inflight--;
}

int ap_log_open(struct ap_log *l, struct ap_aio *aio, const char *path, uint32_t block_cap)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->aio = aio;
	l->fd = -1;
	l->cur = AP_LOG_NBUF;
	if (block_cap < AP_LOG_BLOCK_MIN || block_cap > AP_LOG_BLOCK_MAX)
		return -EINVAL;
	l->block_cap = block_cap;
	for (uint32_t i = 0; i < AP_LOG_NBUF; i++) {
		l->buf[i].data = malloc(sizeof(struct ap_log_block) + block_cap);
		l->buf[i].log = l;
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
	return 0;
}

/* Seal the FILLING buffer and hand it to the engine. */
static void seal(struct ap_log *l, uint16_t type)
{
	struct ap_log_buf *b;
	struct ap_log_block *h;
	uint32_t want;
	int ret;

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
	memset(&b->job, 0, sizeof(b->job));
	b->job.kind = AP_AIO_WRITE;
	b->job.fd = l->fd;
	b->job.off = l->off;
	b->job.buf = b->data;
	b->job.len = want;
	b->job.on_done = buf_done;
	b->job.ctx = b;
	l->off += want;
	b->state = AP_LOG_INFLIGHT;
	l->inflight++;
	ret = ap_aio_submit(l->aio, &b->job);
	if (ret) {	/* cannot happen: the ring has room for every buffer */
		b->job.err = ret;
		buf_done(b, &b->job);
	}
}

/* Header and totals blocks matter more than a moment: wait for a buffer. */
static void wait_free(struct ap_log *l)
{
	while (l->inflight == AP_LOG_NBUF && !l->err && l->aio->inflight)
		ap_aio_wait(l->aio);
}

/* A FILLING buffer with room for `need` payload bytes, or NULL (not logged). */
static uint8_t *room(struct ap_log *l, uint32_t need)
{
	struct ap_log_buf *b;

	if (l->fd < 0)
		return NULL;
	if (l->cur != AP_LOG_NBUF && l->buf[l->cur].used + need <= l->block_cap)
		return l->buf[l->cur].data + sizeof(struct ap_log_block) + l->buf[l->cur].used;
	seal(l, AP_LOG_DATA);
	ap_aio_poll(l->aio);
	if (l->patient)
		wait_free(l);
	if (l->err)
		return NULL;	/* the log failed: nothing more is written */
	for (uint32_t i = 0; i < AP_LOG_NBUF; i++) {
		if (l->buf[i].state == AP_LOG_FREE) {
			l->cur = i;
			l->buf[i].state = AP_LOG_FILLING;
			break;
		}
	}
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

void ap_log_consume(void *ctx, uint32_t pid, const struct ap_event *ev, uint32_t n,
		    struct ap_batch_result *res)
{
	(void)res;	/* the log validates nothing: the assembler does */
	ap_log_events(ctx, pid, ev, n);
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

void ap_log_seen(struct ap_log *l, uint32_t pid, uint64_t ticks)
{
	struct ap_log_seen r = { pid, 0, ticks };
	uint8_t *p = room(l, (uint32_t)(sizeof(struct ap_log_rec) + sizeof(r)));

	if (!p)
		return;
	put_rec(p, 0, AP_LOG_REC_SEEN);
	memcpy(p + sizeof(struct ap_log_rec), &r, sizeof(r));
	l->buf[l->cur].used += (uint32_t)(sizeof(struct ap_log_rec) + sizeof(r));
}

void ap_log_mem(struct ap_log *l, uint64_t round, const struct ap_log_mem_sample *x, uint32_t n)
{
	uint32_t per = (l->block_cap - (uint32_t)(sizeof(struct ap_log_rec) + sizeof(struct ap_log_mem))) /
		       (uint32_t)sizeof(*x), done = 0;

	do {
		uint32_t k = n - done < per ? n - done : per;
		uint32_t size = (uint32_t)(sizeof(struct ap_log_rec) + sizeof(struct ap_log_mem)) + k * (uint32_t)sizeof(*x);
		struct ap_log_mem h = { round, k, (done == 0 ? AP_LOG_MEM_FIRST : 0) |
						  (done + k == n ? AP_LOG_MEM_LAST : 0) };
		uint8_t *p = room(l, size);

		if (!p)
			return;
		put_rec(p, 0, AP_LOG_REC_MEM);
		memcpy(p + sizeof(struct ap_log_rec), &h, sizeof(h));
		if (k)
			memcpy(p + sizeof(struct ap_log_rec) + sizeof(h), x + done, (size_t)k * sizeof(*x));
		l->buf[l->cur].used += size;
		done += k;
	} while (done < n);
}

void ap_log_expire(struct ap_log *l, uint64_t cutoff)
{
	struct ap_log_expire r = { cutoff, 0 };
	uint8_t *p = room(l, (uint32_t)(sizeof(struct ap_log_rec) + sizeof(r)));

	if (!p)
		return;
	put_rec(p, 0, AP_LOG_REC_EXPIRE);
	memcpy(p + sizeof(struct ap_log_rec), &r, sizeof(r));
	l->buf[l->cur].used += (uint32_t)(sizeof(struct ap_log_rec) + sizeof(r));
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
	if (l->fd >= 0)
		seal(l, AP_LOG_DATA);
	for (uint32_t tries = 0; l->inflight && tries < 100000; tries++)
		ap_aio_wait(l->aio);
	if (l->fd >= 0) {
		if (fsync(l->fd) < 0 && !l->err && errno != EINVAL)
			l->err = -errno;
		if (close(l->fd) < 0 && !l->err)
			l->err = -errno;
		l->fd = -1;
	}
	for (uint32_t i = 0; i < AP_LOG_NBUF; i++) {
		if (l->buf[i].state == AP_LOG_INFLIGHT)
			continue;	/* the engine never finished it: leak rather than free under it */
		free(l->buf[i].data);
		l->buf[i].data = NULL;
	}
	l->events_not_logged += l->events_failed;
	l->events_failed = 0;
	return l->err;
}

/*
 * Scanning is linear in the file's size, whatever it holds. A candidate
 * block (the magic at some offset) first passes the cheap checks of its
 * header (type, flags, reserved, a length that fits); only then is it
 * hashed, which costs its length. A damaged block, or a forged header
 * anywhere (say 17 MiB of headers each claiming 16 MiB), would make that
 * quadratic, so the bytes hashed for candidates that fail are held to a
 * budget of twice the file plus 1 MiB. Once it is spent, a candidate is
 * still hashed where the previous intact block ended (a run of intact
 * blocks is always read) but not elsewhere: it is counted in
 * blocks_unchecked and skipped. Real damage (a cut, flipped bytes, a zeroed
 * range) costs one failed hash per damaged block and never comes near it.
 */
static int header_plausible(const struct ap_log_block *h, size_t room)
{
	return h->type >= AP_LOG_HEADER && h->type <= AP_LOG_TOTALS && h->flags == 0 && h->reserved == 0 &&
	       h->len <= AP_LOG_BLOCK_MAX && h->len <= room;
}

const uint8_t *ap_log_next(const uint8_t *buf, size_t len, size_t *pos, struct ap_log_scan *st,
			   struct ap_log_block *out)
{
	size_t p = *pos;

	if (!st->budget_set) {
		st->budget = 2 * (uint64_t)len + (1u << 20);
		st->budget_set = 1;
		st->chain = 0;
	}
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
		if (!header_plausible(&h, len - p - sizeof(h))) {
			/* Damaged, cut short, or a magic-looking byte run: skip a byte. */
			st->blocks_damaged += h.len <= len - p - sizeof(h);
			p++;
			st->bytes_skipped++;
			continue;
		}
		if (h.len > st->budget && p != st->chain) {
			st->blocks_unchecked++;
			p++;
			st->bytes_skipped++;
			continue;
		}
		if (block_sum(&h, buf + p + sizeof(h)) != h.sum) {
			st->budget -= h.len <= st->budget ? h.len : st->budget;
			st->blocks_damaged++;
			p++;
			st->bytes_skipped++;
			continue;
		}
		*pos = st->chain = p + sizeof(h) + h.len;
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
