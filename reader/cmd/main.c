/* SPDX-License-Identifier: MIT */
/*
 * main.c - the agentprof command line: dispatch to a subcommand (cli.h).
 *
 *   agentprof record [options] -- CMD [ARGS...]
 *   agentprof demo [--workers N] [--traces M] [--seed S] [options]
 *   agentprof serve --segment NAME [--interval SECONDS] [options]
 *   agentprof report [-o DIR] [--formats LIST] [--json] [-q] LOGFILE
 *   agentprof export --format FORMAT [-o FILE] [--all] LOGFILE
 *   agentprof diff [--threshold-pct P] [--min-ms M] [--json] BASE NEW
 *   agentprof top --segment NAME [--once] [--json] [--sort KEY]
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "record", ap_cmd_record },
	{ "demo", ap_cmd_demo },
	{ "serve", ap_cmd_serve },
	{ "report", ap_cmd_report },
	{ "diff", ap_cmd_diff },
	{ "export", ap_cmd_export },
	{ "top", ap_cmd_top },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return ap_usage_error("%s", "a command is needed: record, demo, serve, report, diff, export or top");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(ap_usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("agentprof %s (segment ABI %u)\n", AGENTPROF_VERSION, AP_ABI_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc, argv);
	return ap_usage_error("unknown command '%s' (want record, demo, serve, report, diff, export or top)", argv[1]);
}
