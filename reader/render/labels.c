/* SPDX-License-Identifier: MIT */
/* labels.c - how every renderer spells the same things (labels.h). */
#include <stdio.h>

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

const char *ap_cat_suggestion(uint8_t c)
{
	switch (c) {
	case AP_CAT_LLM:
		return "try a smaller or faster model for this step, a shorter prompt, or cache repeated prompts";
	case AP_CAT_TOOL:
		return "cache its results, give it a timeout, or run it alongside the calls that do not need it";
	case AP_CAT_MEMORY:
		return "batch the reads and writes, write asynchronously, or keep hot entries in memory";
	default:
		return "this is the agent's own code between calls: profile it with a CPU profiler";
	}
}

uint32_t ap_top_self(const struct ap_analysis *a, const struct ap_op **out, uint32_t n)
{
	uint32_t got = 0;

	/* Insertion into a short list: n is small (AP_TOP_SELF). */
	for (uint32_t i = 0; i < a->nops; i++) {
		const struct ap_op *op = &a->ops[i];
		uint32_t k;

		if (!op->self_ns)
			continue;
		if (got == n && op->self_ns <= out[n - 1]->self_ns)
			continue;
		k = got < n ? got++ : n - 1;
		while (k > 0 && out[k - 1]->self_ns < op->self_ns) {
			out[k] = out[k - 1];
			k--;
		}
		out[k] = op;
	}
	return got;
}

const char *ap_pct_text(double pct, char buf[16])
{
	if (!(pct > 0))
		snprintf(buf, 16, "0");
	else if (pct < 0.01)
		snprintf(buf, 16, "<0.01");
	else if (pct < 0.1)
		snprintf(buf, 16, "%.3f", pct);
	else if (pct < 1)
		snprintf(buf, 16, "%.2f", pct);
	else if (pct < 10)
		snprintf(buf, 16, "%.1f", pct);
	else
		snprintf(buf, 16, "%.0f", pct);
	return buf;
}
