/* SPDX-License-Identifier: MIT */
/* gz.c - gzip of a buffer through zlib (gz.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gz.h"

int ap_gzip(const void *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z;
	uLong bound;
	uint8_t *buf;
	int ret;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer, not a zlib one. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)len);
	buf = malloc(bound ? bound : 1);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	ret = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (ret != Z_STREAM_END || len > UINT32_MAX) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}
