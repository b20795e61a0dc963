/* SPDX-License-Identifier: MIT */
/*
 * plugin.c - the span pair from inside a shared object that bench-pair
 * loads with dlopen, linked against libagentprof.so.1 as the Python
 * extension is: the library's code and its thread state then live in
 * modules loaded at run time. bench_pair.c times plugin_pairs interleaved
 * with the statically linked pair.
 */
#include <stdint.h>

#include <agentprof.h>

uint64_t plugin_name(const char *name);
void plugin_pairs(uint64_t pairs, uint64_t name);

__attribute__((visibility("default"))) uint64_t plugin_name(const char *name)
{
	return ap_name(name);
}

__attribute__((visibility("default"))) void plugin_pairs(uint64_t pairs, uint64_t name)
{
	for (uint64_t i = 0; i < pairs; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
}
