/* SPDX-License-Identifier: MIT */
/*
 * record.c - `agentprof record -- CMD`: run CMD with AGENTPROF_SHM set and
 * profile it and every process it starts. The exec of CMD reports its
 * failure through a close-on-exec pipe, so "not found" (127) and "cannot be
 * run" (126) are told apart from CMD's own exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

struct cmd_ctx {
	char **argv;
};

static int spawn_cmd(void *ctx, const char *segment, pid_t *pid, int *exec_errno)
{
	struct cmd_ctx *c = ctx;
	int p[2], e = 0;
	ssize_t n;
	pid_t child;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (child == 0) {
		close(p[0]);
		if (setenv("AGENTPROF_SHM", segment, 1) == 0)
			execvp(c->argv[0], c->argv);
		e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	do {
		n = read(p[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		*exec_errno = e;
		waitpid(child, NULL, 0);
	}
	*pid = child;
	return 0;
}

int ap_cmd_record(int argc, char **argv)
{
	struct ap_cli c;
	struct cmd_ctx cc;
	int ret = 0, first;

	ap_cli_default(&c);
	first = ap_cli_parse(argc, argv, AP_MODE_RECORD, &c, &ret);
	if (first < 0)
		return ret;
	if (first >= argc)
		return ap_usage_error("%s", "record needs a command: agentprof record -- CMD [ARGS...]");
	cc.argv = &argv[first];
	c.run.argv = &argv[first];
	c.run.label = argv[first];
	return ap_session_run(&c.run, spawn_cmd, &cc);
}
