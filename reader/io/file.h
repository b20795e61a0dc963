/* SPDX-License-Identifier: MIT */
/*
 * file.h - small file helpers of the reader: directories, whole-file reads of
 * untrusted input with a size bound, and rendering a report into memory
 * through stdio.
 */
#ifndef AP_FILE_H
#define AP_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* mkdir -p with mode 0755. 0 or -errno (-ENOTDIR when dir is a file). */
int ap_mkdir_p(const char *dir);

/* Whether files can be created in dir: a probe file is created and removed
 * (a read-only mount, a full inode table, a directory of another user all
 * fail here, before any work is done). 0 or -errno. */
int ap_dir_writable(const char *dir);

/*
 * Read the regular file `path` whole into a malloc'd buffer (NUL-terminated
 * one byte past *len). Returns 0, -EINVAL when it is not a regular file,
 * -EFBIG when it is larger than max bytes, or -errno.
 */
int ap_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len);

/*
 * Run fill(f, ctx) on a FILE that writes into a growable buffer (stdio
 * buffers the many small writes and hands them over in large pieces, where
 * open_memstream would copy byte by byte). Returns the malloc'd bytes and
 * their length, or NULL when fill failed or memory ran out (*err: -errno).
 */
char *ap_render_mem(int (*fill)(FILE *f, void *ctx), void *ctx, size_t *len, int *err);

#endif /* AP_FILE_H */
