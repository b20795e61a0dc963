/* SPDX-License-Identifier: MIT */
/* export.c - what the exports share (export.h). */
#include <string.h>

#include "export.h"

uint32_t ap_kept_preorder(const struct ap_kept *k, uint32_t *order, uint32_t *depth, uint32_t max)
{
	/* order[] doubles as the stack: a span's children are pushed in reverse
	 * at the end of the array and popped from there. The stack lives in
	 * order[n - 1 ...] growing down while the output grows up; each span is
	 * pushed once, so out + stacked <= n. */
	uint32_t n = k->n, out = 0, top = n;

	if (!n || !max || k->root >= n)
		return 0;
	order[--top] = k->root;
	if (depth)
		depth[top] = 0;
	while (top < n && out < max) {
		uint32_t i = order[top], d = depth ? depth[top] : 0;

		top++;
		order[out] = i;
		if (depth)
			depth[out] = d;
		out++;
		for (uint32_t c = k->child_off[i + 1]; c-- > k->child_off[i];) {
			if (top == out)
				break;	/* cannot happen in a tree; a guard against a cycle */
			order[--top] = k->child_idx[c];
			if (depth)
				depth[top] = d + 1;
		}
	}
	return out;
}

void ap_xml_esc(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(*p, f);
		}
	}
}

uint64_t ap_kept_t0(const struct ap_analysis *a)
{
	uint64_t t0 = 0;

	for (uint32_t t = 0; t < a->nkept; t++) {
		const struct ap_kept *k = ap_analysis_kept(a, t);

		if (k && k->n && k->root < k->n && (!t0 || k->v[k->root].t_begin < t0))
			t0 = k->v[k->root].t_begin;
	}
	return t0;
}

const char *ap_name_line(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *q = (const unsigned char *)s; *q && o + 4 < cap; q++) {
		if (*q < 0x20 || *q == 0x7f) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			out[o++] = (char)*q;
		}
	}
	if (cap)
		out[o] = 0;
	return out;
}
