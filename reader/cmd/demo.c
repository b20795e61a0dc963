/* SPDX-License-Identifier: MIT */
/* demo.c - `agentprof demo`: the reference workflow (workload.c) in N forked workers, profiled. */
#include "cli.h"

int ap_cmd_demo(int argc, char **argv)
{
	static char arg0[] = "agentprof", arg1[] = "demo";
	static char *demo_argv[] = { arg0, arg1, NULL };
	struct ap_cli c;
	int ret = 0, first;

	ap_cli_default(&c);
	first = ap_cli_parse(argc, argv, AP_MODE_DEMO, &c, &ret);
	if (first < 0)
		return ret;
	if (first < argc)
		return ap_usage_error("unexpected argument '%s' for demo", argv[first]);
	c.run.argv = demo_argv;
	c.run.label = "demo";
	return ap_session_run(&c.run, ap_demo_spawn, &c.demo);
}
