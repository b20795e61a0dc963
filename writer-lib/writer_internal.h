/* SPDX-License-Identifier: MIT */
/* writer_internal.h - writer internals that the tests reach (not for the reader). */
#ifndef AP_WRITER_INTERNAL_H
#define AP_WRITER_INTERNAL_H

#include <stdint.h>

/* Parse a W3C traceparent; 0 on success, -1 when malformed. */
int ap_parse_traceparent(const char *s, uint64_t *hi, uint64_t *lo, uint64_t *span, uint8_t *flags);
/* "00-<hi><lo>-<span>-0<sampled>" and a NUL into out. */
void ap_w_format_traceparent(char out[56], uint64_t hi, uint64_t lo, uint64_t span, int sampled);

#ifdef AP_TEST_HOOKS
/* Called between writing an event and publishing it (tests force reentrancy). */
extern void (*ap_test_midwrite_hook)(void);
#endif

#endif /* AP_WRITER_INTERNAL_H */
