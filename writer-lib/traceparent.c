/* SPDX-License-Identifier: MIT */
/*
 * traceparent.c - W3C trace-context in and out: the $TRACEPARENT a process
 * starts under, and the traceparent of the calling thread's current span.
 */
#include <string.h>

#include "state.h"
#include "writer_internal.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_hex64(const char *s, int digits, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < digits; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* "vv-<32 lowercase hex>-<16 lowercase hex>-<2 hex>". */
int ap_parse_traceparent(const char *s, uint64_t *hi, uint64_t *lo, uint64_t *span, uint8_t *flags)
{
	uint64_t v, f;

	if (!s || strlen(s) < 55)
		return -1;
	if (parse_hex64(s, 2, &v) || v == 0xff || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	if (v == 0 && s[55] != '\0')
		return -1;	/* version 00 is exactly 55 characters */
	if (parse_hex64(s + 3, 16, hi) || parse_hex64(s + 19, 16, lo) ||
	    parse_hex64(s + 36, 16, span) || parse_hex64(s + 53, 2, &f))
		return -1;
	if ((*hi | *lo) == 0 || *span == 0)
		return -1;
	*flags = (uint8_t)f;
	return 0;
}

static void put_hex(char *out, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hex[v & 15];
		v >>= 4;
	}
}

int ap_traceparent(char out[56])
{
	struct ap_thread *t = ap_self_if_any();
	uint64_t hi, lo, span;
	int sampled;

	if (!ap_enabled())
		return AP_E_OFF;
	if (!t || t->pid != ap_p.pid) {	/* a thread that has not recorded yet: no frames of its own */
		if (!ap_p.have_remote)
			return AP_E_NOSPAN;
		hi = ap_p.remote_hi;
		lo = ap_p.remote_lo;
		span = ap_p.remote_span;
		sampled = ap_p.remote_flags & 1;
	} else if (!current_parent(t, &span, &hi, &lo, &sampled)) {
		return AP_E_NOSPAN;
	}
	ap_w_format_traceparent(out, hi, lo, span, sampled);
	return 0;
}

void ap_w_format_traceparent(char out[56], uint64_t hi, uint64_t lo, uint64_t span, int sampled)
{
	memcpy(out, "00-", 3);
	put_hex(out + 3, hi, 16);
	put_hex(out + 19, lo, 16);
	out[35] = '-';
	put_hex(out + 36, span, 16);
	memcpy(out + 52, sampled ? "-01" : "-00", 4);	/* with the NUL: 56 bytes */
}
