/* SPDX-License-Identifier: MIT */
/*
 * names.c - a worker whose span names would break the exports if they were
 * not escaped for each format: '&', '<', quotes and "]]>" (HTML, SVG as
 * XML), ';' and a newline (a folded frame and line), names the DevTools
 * trace engine takes for its own events (CpuProfile, Paint), and two async
 * spans that overlap on one thread without nesting (trace.json's lanes).
 */
#include <agentprof.h>
#include <unistd.h>

int main(void)
{
	uint64_t root = ap_begin(ap_name("agent & <friends> \"quoted\" 'single'"), AP_CAT_INTERNAL);
	uint64_t a, b, c;

	c = ap_begin(ap_name("CpuProfile"), AP_CAT_TOOL);
	usleep(2000);
	ap_end(c);
	c = ap_begin(ap_name("tool;with;semicolons and spaces"), AP_CAT_TOOL);
	usleep(2000);
	ap_end(c);
	c = ap_begin(ap_name("llm\nnewline ]]> <svg> &amp;"), AP_CAT_LLM);
	ap_set_tokens(c, ap_name("model<&>"), 120, 30);
	usleep(3000);
	ap_end(c);
	/* a begins, b begins, a ends, b ends: overlapping, not nested. */
	a = ap_begin_async(root, ap_name("Paint"), AP_CAT_MEMORY);
	usleep(2000);
	b = ap_begin_async(root, ap_name("async b"), AP_CAT_MEMORY);
	usleep(2000);
	ap_end(a);
	usleep(2000);
	ap_end(b);
	ap_end(root);
	return 0;
}
