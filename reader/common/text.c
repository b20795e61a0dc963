/* SPDX-License-Identifier: MIT */
/* text.c - valid UTF-8, terminal-safe text, display cells (text.h). */
#include <string.h>

#include "text.h"

size_t ap_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07u;
	} else {
		return 0;	/* a continuation byte, 0xc0/0xc1 (overlong), or past 0xf4 */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;	/* overlong, past U+10FFFF, or a surrogate */
	*cp = c;
	return len;
}

size_t ap_utf8_repair(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, bad = 0;

	if (cap == 0)
		return 0;
	while (i < len) {
		uint32_t cp;
		size_t n = ap_utf8_seq(s + i, len - i, &cp);

		if (n == 0) {
			if (o + 3 >= cap)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			i++;
			bad++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return bad;
}

int ap_cp_width(uint32_t c)
{
	static const struct { uint32_t lo, hi; } zero[] = {
		{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
		{ 0x064b, 0x065f }, { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200f },
		{ 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f },
	}, wide[] = {
		{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf },
		{ 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
		{ 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
		{ 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd },
	};

	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (c >= zero[i].lo && c <= zero[i].hi)
			return 0;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (c >= wide[i].lo && c <= wide[i].hi)
			return 2;
	return 1;
}

const char *ap_text_cell(const char *str, int width, int pad, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t i = 0, o = 0, n = strlen((const char *)s);
	int cells = 0;

	if (cap == 0)
		return out;
	while (i < n) {
		char tmp[8];
		size_t k, len;
		uint32_t cp = 0;
		int w;

		len = ap_utf8_seq(s + i, n - i, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == '\\') {
			/* One byte, escaped: a control character, or a byte that is
			 * not UTF-8 (valid sequences of C1 controls: each byte). */
			if (cp == '\\' && len == 1) {
				memcpy(tmp, "\\\\", 2);
				k = 2;
			} else {
				static const char hex[] = "0123456789abcdef";

				tmp[0] = '\\';
				tmp[1] = 'x';
				tmp[2] = hex[s[i] >> 4];
				tmp[3] = hex[s[i] & 15];
				k = 4;
			}
			len = 1;
			w = (int)k;
		} else {
			memcpy(tmp, s + i, len);
			k = len;
			w = ap_cp_width(cp);
		}
		if ((width >= 0 && cells + w > width) || o + k + 1 > cap)
			break;
		memcpy(out + o, tmp, k);
		o += k;
		cells += w;
		i += len;
	}
	while (pad && width >= 0 && cells < width && o + 1 < cap) {
		out[o++] = ' ';
		cells++;
	}
	out[o] = '\0';
	return out;
}
