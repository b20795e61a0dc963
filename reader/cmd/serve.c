/* SPDX-License-Identifier: MIT */
/*
 * serve.c - `agentprof serve --segment NAME`: a fleet's segment, created (or
 * taken over from a reader that died) for workers started on their own, and
 * drained until SIGINT or SIGTERM.
 */
#include "cli.h"

int ap_cmd_serve(int argc, char **argv)
{
	static char arg0[] = "agentprof", arg1[] = "serve";
	static char *serve_argv[] = { arg0, arg1, NULL };
	struct ap_cli c;
	int ret = 0, first;

	ap_cli_default(&c);
	first = ap_cli_parse(argc, argv, AP_MODE_SERVE, &c, &ret);
	if (first < 0)
		return ret;
	if (first < argc)
		return ap_usage_error("unexpected argument '%s' for serve", argv[first]);
	if (!c.run.segment_name)
		return ap_usage_error("%s", "serve needs --segment NAME, the AGENTPROF_SHM of its workers");
	c.run.serving = 1;
	c.run.live = 1;	/* `agentprof top --segment NAME` reads its snapshot */
	c.run.argv = serve_argv;
	c.run.label = "fleet";
	return ap_session_run(&c.run, NULL, NULL);
}
