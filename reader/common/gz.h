/* SPDX-License-Identifier: MIT */
/*
 * gz.h - gzip (RFC 1952) of a buffer, through zlib: pprof's profile.pb.gz and
 * OTLP's Content-Encoding: gzip. zlib is the reference implementation of the
 * format, packaged everywhere; writing a deflate encoder of our own would
 * only be a worse one.
 */
#ifndef AP_GZ_H
#define AP_GZ_H

#include <stddef.h>
#include <stdint.h>

/* in[0..len) gzipped into a malloc'd *out of *out_len bytes. 0, -ENOMEM or
 * -EIO (zlib refused). */
int ap_gzip(const void *in, size_t len, uint8_t **out, size_t *out_len);

#endif /* AP_GZ_H */
