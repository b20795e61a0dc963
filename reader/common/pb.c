/* SPDX-License-Identifier: MIT */
/* pb.c - the protocol-buffers wire format into a growable buffer (pb.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

void ap_pb_init(struct ap_pb *b)
{
	memset(b, 0, sizeof(*b));
}

void ap_pb_free(struct ap_pb *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int room(struct ap_pb *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->err)
		return -1;
	if (b->len + n <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : 4096; cap < b->len + n; cap *= 2)
		;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p = (uint8_t)v;
}

void ap_pb_raw_varint(struct ap_pb *b, uint64_t v)
{
	size_t n = varint_len(v);

	if (room(b, n))
		return;
	put_varint(b->p + b->len, v);
	b->len += n;
}

static void tag(struct ap_pb *b, uint32_t field, int wire)
{
	ap_pb_raw_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void ap_pb_varint(struct ap_pb *b, uint32_t field, uint64_t v)
{
	tag(b, field, AP_PB_VARINT);
	ap_pb_raw_varint(b, v);
}

void ap_pb_sint64(struct ap_pb *b, uint32_t field, int64_t v)
{
	ap_pb_varint(b, field, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_le(struct ap_pb *b, uint64_t v, size_t n)
{
	if (room(b, n))
		return;
	for (size_t i = 0; i < n; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

void ap_pb_fixed64(struct ap_pb *b, uint32_t field, uint64_t v)
{
	tag(b, field, AP_PB_I64);
	put_le(b, v, 8);
}

void ap_pb_fixed32(struct ap_pb *b, uint32_t field, uint32_t v)
{
	tag(b, field, AP_PB_I32);
	put_le(b, v, 4);
}

void ap_pb_double(struct ap_pb *b, uint32_t field, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	ap_pb_fixed64(b, field, u);
}

void ap_pb_bytes(struct ap_pb *b, uint32_t field, const void *data, size_t len)
{
	tag(b, field, AP_PB_LEN);
	ap_pb_raw_varint(b, len);
	if (len && !room(b, len)) {
		memcpy(b->p + b->len, data, len);
		b->len += len;
	}
}

void ap_pb_string(struct ap_pb *b, uint32_t field, const char *s)
{
	ap_pb_bytes(b, field, s ? s : "", s ? strlen(s) : 0);
}

void ap_pb_open(struct ap_pb *b, uint32_t field)
{
	if (b->depth == AP_PB_DEPTH) {
		b->err = b->err ? b->err : -E2BIG;
		return;
	}
	tag(b, field, AP_PB_LEN);
	b->open[b->depth++] = b->len;
}

void ap_pb_close(struct ap_pb *b)
{
	size_t start, body, n;

	if (b->depth == 0) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	start = b->open[--b->depth];
	if (b->err)
		return;
	body = b->len - start;
	n = varint_len(body);
	if (room(b, n))
		return;
	memmove(b->p + start + n, b->p + start, body);
	put_varint(b->p + start, body);
	b->len += n;
}
