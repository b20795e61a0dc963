/* SPDX-License-Identifier: MIT */
/* writer_internal.h - writer helpers shared with the reader and the tests. */
#ifndef AP_WRITER_INTERNAL_H
#define AP_WRITER_INTERNAL_H

#include <stdint.h>

/* Parse a W3C traceparent; 0 on success, -1 when malformed. */
int ap_parse_traceparent(const char *s, uint64_t *hi, uint64_t *lo, uint64_t *span, uint8_t *flags);

/* Bytes of `name` that are interned: at most AP_NAME_MAX, cut at a UTF-8 boundary. */
uint32_t ap_name_len(const char *name);

/* Name id of len bytes: XXH3-64, with 0 (no name) mapped to 1. */
uint64_t ap_name_hash(const char *str, uint32_t len);

#ifdef AP_TEST_HOOKS
/* Called between writing an event and publishing it (tests force reentrancy). */
extern void (*ap_test_midwrite_hook)(void);
#endif

#endif /* AP_WRITER_INTERNAL_H */
