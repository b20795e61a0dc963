/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the agentprof command line: one file per subcommand (record.c,
 * demo.c, serve.c, report.c, diff.c), the options they share (options.c),
 * and main.c, which dispatches.
 *
 * Exit status: record returns CMD's (128 + signal when it was killed, 126 or
 * 127 when it could not be run); 2 for a usage error; 125 when agentprof
 * itself failed (segment, output directory, report).
 */
#ifndef AP_CLI_H
#define AP_CLI_H

#include "workload.h"
#include "session.h"

extern const char ap_usage_text[];

struct ap_cli {
	struct ap_run_opts run;
	struct ap_demo_opts demo;
};

enum { AP_MODE_RECORD, AP_MODE_DEMO, AP_MODE_SERVE };

/* Print "agentprof: <message>" and the usage on stderr; returns AP_EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int ap_usage_error(const char *fmt, ...);

/* Defaults for every subcommand. */
void ap_cli_default(struct ap_cli *c);

/* Parse the options of record, demo and serve from argv[2] on. Returns the
 * index of the first argument after them, or -1 when the command is done
 * (a usage error, already printed, or --help): *ret is then the exit code. */
int ap_cli_parse(int argc, char **argv, int mode, struct ap_cli *c, int *ret);

/* report.c, shared with export.c: replay the event log `file` with `set`
 * for the settings it lacks, keeping whole the traces `keep` says (NULL:
 * the run's choice). Returns 0 with *out (free with ap_cmd_replay_free)
 * and *damaged set when the log was damaged or cut short (said on stderr);
 * else the exit code, AP_EXIT_USAGE (not a log: said) or AP_EXIT_INTERNAL. */
struct ap_replay;
int ap_cmd_replay(const char *file, const struct ap_settings *set, const struct ap_keep_cfg *keep,
		  struct ap_replay **out, int *damaged);
void ap_cmd_replay_free(struct ap_replay *rp);

/* Subcommands: argv[1] is the subcommand's name; the exit code. */
int ap_cmd_record(int argc, char **argv);
int ap_cmd_demo(int argc, char **argv);
int ap_cmd_serve(int argc, char **argv);
int ap_cmd_report(int argc, char **argv);
int ap_cmd_diff(int argc, char **argv);
int ap_cmd_export(int argc, char **argv);
int ap_cmd_top(int argc, char **argv);

#endif /* AP_CLI_H */
