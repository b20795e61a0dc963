/* SPDX-License-Identifier: MIT */
/*
 * failing.c - a worker whose spans fail: one tool call with a named error
 * (ap_set_error), inside a workflow that fails with no name, and one that
 * succeeds. tests/otlp/check.sh sends its run to the receiver and checks
 * each span's Status.
 */
#include <agentprof.h>

int main(void)
{
	uint64_t root = ap_begin(ap_name("workflow"), AP_CAT_INTERNAL);
	uint64_t bad = ap_begin(ap_name("tool:flaky"), AP_CAT_TOOL);

	ap_set_error(bad, ap_name("TimeoutError"));
	ap_end(bad);
	ap_end(ap_begin(ap_name("tool:fine"), AP_CAT_TOOL));
	ap_set_error(root, 0);
	ap_end(root);
	return 0;
}
