/* SPDX-License-Identifier: MIT */
/*
 * pb.h - a protocol-buffers writer: the wire format only (varints, fixed
 * widths, length-delimited fields), into a growable buffer. The encoders of
 * agentprof's exports (pprof's profile.proto, OTLP's trace messages) spell
 * their field numbers beside their calls; nothing here knows a schema.
 *
 * Nested messages: ap_pb_open() notes where a message starts and
 * ap_pb_close() writes its length in front of it (moving its bytes by the
 * length prefix's size), so an encoder writes a tree in one pass. The first
 * allocation failure is kept in `err` and later calls do nothing, so a
 * caller checks once at the end.
 */
#ifndef AP_PB_H
#define AP_PB_H

#include <stddef.h>
#include <stdint.h>

enum { AP_PB_VARINT = 0, AP_PB_I64 = 1, AP_PB_LEN = 2, AP_PB_I32 = 5 };

#define AP_PB_DEPTH 16

struct ap_pb {
	uint8_t *p;
	size_t len, cap;
	int err;			/* 0 or -ENOMEM */
	size_t open[AP_PB_DEPTH];	/* start of each open message's contents */
	int depth;
};

void ap_pb_init(struct ap_pb *b);
void ap_pb_free(struct ap_pb *b);

void ap_pb_raw_varint(struct ap_pb *b, uint64_t v);
/* A field of each wire type. Proto3 leaves a field at its default out of
 * the message: these write it whatever its value; callers skip defaults. */
void ap_pb_varint(struct ap_pb *b, uint32_t field, uint64_t v);
void ap_pb_sint64(struct ap_pb *b, uint32_t field, int64_t v);	/* zigzag */
void ap_pb_fixed64(struct ap_pb *b, uint32_t field, uint64_t v);
void ap_pb_fixed32(struct ap_pb *b, uint32_t field, uint32_t v);
void ap_pb_double(struct ap_pb *b, uint32_t field, double v);
void ap_pb_bytes(struct ap_pb *b, uint32_t field, const void *data, size_t len);
void ap_pb_string(struct ap_pb *b, uint32_t field, const char *s);	/* NULL: "" */

/* A nested message of field `field`: open, write its fields, close. */
void ap_pb_open(struct ap_pb *b, uint32_t field);
void ap_pb_close(struct ap_pb *b);

#endif /* AP_PB_H */
