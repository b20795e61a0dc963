/* SPDX-License-Identifier: MIT */
/*
 * hop.c - test worker for two hosts' worth of agentprof: run with
 * AGENTPROF_SHM=A, it records "agent:plan", and under it starts itself as
 * a worker of segment B with TRACEPARENT set, which records
 * "tool:remote_call"; then it ends its span. Prints both span ids.
 *
 *   hop SEGMENT_B        exit 0, or 1 when a step failed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentprof.h>

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	char tp[56];
	uint64_t s;
	pid_t pid;
	int st;

	if (argc == 2 && strcmp(argv[1], "--child") == 0) {
		s = ap_begin(ap_name("tool:remote_call"), AP_CAT_TOOL);
		nap(20);
		ap_end(s);
		ap_detach();
		return s ? 0 : 1;
	}
	if (argc != 2)
		return 1;
	s = ap_begin(ap_name("agent:plan"), AP_CAT_INTERNAL);
	if (!s || ap_traceparent(tp) != 0)
		return 1;
	nap(10);
	pid = fork();
	if (pid == 0) {
		setenv("AGENTPROF_SHM", argv[1], 1);
		setenv("TRACEPARENT", tp, 1);
		execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	nap(10);
	ap_end(s);
	printf("%s\n", tp);
	return 0;
}
