/* SPDX-License-Identifier: MIT */
/*
 * pb.c - the protocol-buffers writer against the encoding guide's own
 * examples and a plain model, and gzip against zlib's inflate. (The exports
 * built on them are checked by their real consumers, tests/consumers.)
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gz.h"
#include "helpers.h"
#include "pb.h"

static void test_wire_examples(void)
{
	/* The encoding guide: field 1 = 150 is 08 96 01; a message of it as
	 * field 3 is 1a 03 08 96 01; field 2 = "testing" is 12 07 74 65 ... */
	static const uint8_t want[] = { 0x1a, 0x03, 0x08, 0x96, 0x01, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',
					0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0, 0x20, 0x03 };
	struct ap_pb b;

	ap_pb_init(&b);
	ap_pb_open(&b, 3);
	ap_pb_varint(&b, 1, 150);
	ap_pb_close(&b);
	ap_pb_string(&b, 2, "testing");
	ap_pb_fixed64(&b, 3, 1);
	ap_pb_fixed32(&b, 4, 2);
	ap_pb_sint64(&b, 4, -2);	/* zigzag: -2 is 3 */
	CU_ASSERT_EQUAL(b.err, 0);
	CU_ASSERT_EQUAL_FATAL(b.len, sizeof(want));
	CU_ASSERT(memcmp(b.p, want, sizeof(want)) == 0);
	ap_pb_free(&b);
}

/* Nested messages longer than 127 bytes need a two-byte length: the body
 * moves by one, and an outer message around it grows accordingly. */
static void test_nested_lengths(void)
{
	struct ap_pb b;
	char s[300];

	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	ap_pb_init(&b);
	ap_pb_open(&b, 1);		/* outer: 1 + 2 + (1 + 2 + 299) = 305 bytes */
	ap_pb_open(&b, 2);		/* inner: 1 + 2 + 299 = 302 bytes */
	ap_pb_string(&b, 3, s);
	ap_pb_close(&b);
	ap_pb_close(&b);
	CU_ASSERT_EQUAL_FATAL(b.len, 3 + 3 + 3 + 299);
	CU_ASSERT_EQUAL(b.p[0], 0x0a);
	CU_ASSERT_EQUAL(b.p[1], (305 & 0x7f) | 0x80);
	CU_ASSERT_EQUAL(b.p[2], 305 >> 7);
	CU_ASSERT_EQUAL(b.p[3], 0x12);
	CU_ASSERT_EQUAL(b.p[4], (302 & 0x7f) | 0x80);
	CU_ASSERT_EQUAL(b.p[5], 302 >> 7);
	CU_ASSERT_EQUAL(b.p[6], 0x1a);
	CU_ASSERT_EQUAL(b.p[7], (299 & 0x7f) | 0x80);
	CU_ASSERT_EQUAL(b.p[8], 299 >> 7);
	CU_ASSERT(memcmp(b.p + 9, s, 299) == 0);
	ap_pb_close(&b);		/* one close too many is an error, kept */
	CU_ASSERT_NOT_EQUAL(b.err, 0);
	ap_pb_free(&b);
}

static void test_gzip_round_trip(void)
{
	static char in[100000], back[100000];
	uint8_t *gz = NULL;
	size_t gz_len = 0;
	z_stream z;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)("agentprof "[i % 10] + (i / 977) % 3);
	CU_ASSERT_EQUAL_FATAL(ap_gzip(in, sizeof(in), &gz, &gz_len), 0);
	CU_ASSERT(gz_len > 18 && gz_len < sizeof(in) / 4);
	CU_ASSERT(gz[0] == 0x1f && gz[1] == 0x8b);	/* a gzip header, not zlib's */
	memset(&z, 0, sizeof(z));
	CU_ASSERT_FATAL(inflateInit2(&z, 15 + 16) == Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)gz_len;
	z.next_out = (Bytef *)back;
	z.avail_out = sizeof(back);
	CU_ASSERT_EQUAL(inflate(&z, Z_FINISH), Z_STREAM_END);
	CU_ASSERT_EQUAL(z.total_out, sizeof(in));
	CU_ASSERT(memcmp(in, back, sizeof(in)) == 0);
	inflateEnd(&z);
	free(gz);
}

void t_register_pb(void)
{
	CU_pSuite s = CU_add_suite("pb", NULL, NULL);

	T_ADD(s, test_wire_examples);
	T_ADD(s, test_nested_lengths);
	T_ADD(s, test_gzip_round_trip);
}
