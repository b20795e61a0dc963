/* SPDX-License-Identifier: MIT */
/* labels.c - how every renderer spells the same things (labels.h). */
#include "ap_shm.h"
#include "labels.h"

const char *ap_cat_name(uint8_t c)
{
	static const char *n[] = { "internal", "llm", "tool", "memory" };

	return c < AP_CAT_COUNT ? n[c] : "?";
}

const char *ap_cat_fill(uint8_t c)
{
	static const char *f[] = { "\u2588", "\u2593", "\u2592", "\u2591" };	/* █ ▓ ▒ ░ */

	return c < AP_CAT_COUNT ? f[c] : "#";
}

const char *ap_clock_name(uint32_t source)
{
	switch (source) {
	case AP_CLOCK_TSC:	return "tsc";
	case AP_CLOCK_CNTVCT:	return "cntvct";
	default:		return "monotonic";
	}
}

const char *ap_tcell(const char *s, int width)
{
	static char ring[8][4 * 256 + 64];	/* a message of 256 bytes, escaped */
	static unsigned next;
	char *out = ring[next++ % 8];

	return ap_text_cell(s, width, width >= 0, out, sizeof(ring[0]));
}
