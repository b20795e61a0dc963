/* SPDX-License-Identifier: MIT */
/*
 * text.h - bytes from other processes made safe to print.
 *
 * Names come from other processes (the segment, a log, a report.json handed
 * to diff): any bytes. Two rules, applied where text is stored and where it
 * is printed:
 *  - UTF-8: every output is valid UTF-8. An invalid sequence (a stray
 *    continuation byte, a truncated or overlong sequence, a surrogate, a
 *    code point past U+10FFFF) becomes U+FFFD, one per bad byte, and the
 *    repair is counted where the name was taken in.
 *  - Terminals: text meant for a terminal (the text report, diff, top) never
 *    carries a control character. C0 controls, DEL and the C1 range
 *    (U+0080..U+009F, which some terminals obey) are written as \xHH, and a
 *    backslash as \\, so an ESC in a span name cannot clear the screen or set
 *    the window title.
 * Columns are counted in display cells, not bytes: one per code point, none
 * for combining marks, two for East Asian wide and emoji ranges (a fixed
 * table, no locale).
 */
#ifndef AP_TEXT_H
#define AP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s[0..n), 0 when it is not one. */
size_t ap_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* in[0..len) with every invalid sequence replaced by U+FFFD, into out
 * (cap bytes, NUL-terminated; 3 x len + 1 always fits). Returns the number
 * of replacements; *out_len gets the bytes written. */
size_t ap_utf8_repair(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/* Display cells of one code point (0, 1 or 2). */
int ap_cp_width(uint32_t cp);

/*
 * s escaped for a terminal (see above), cut at `width` display cells and,
 * when pad is set, padded with spaces to exactly `width` (width < 0: no
 * limit), into out (cap bytes, NUL-terminated; never cut inside a sequence).
 * Returns out.
 */
const char *ap_text_cell(const char *s, int width, int pad, char *out, size_t cap);

/* The size of an out buffer that holds any name (AP_NAME_MAX bytes) escaped:
 * each byte can become four (\xHH). */
#define AP_TEXT_NAME_BUF	512

#endif /* AP_TEXT_H */
