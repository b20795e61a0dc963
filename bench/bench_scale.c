/* SPDX-License-Identifier: MIT */
/*
 * bench_scale.c - many short-lived workers attaching in turn.
 *
 *   bench-scale WORKERS AT_ONCE
 *
 * Run under `agentprof record`. Starts WORKERS processes, at most AT_ONCE
 * alive at a time (at most the lane count); each attaches, records one span
 * and exits without releasing its lane, which the reader must reclaim. Each
 * measures its attach (ap_attach and the first span, which claims and
 * prefaults a lane). Prints "attach_us median min max" and "workers N".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentprof.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, at_once = argc > 2 ? atoi(argv[2]) : 128;
	int fds[2], alive = 0, started = 0, ok = 0;
	uint64_t *us;

	if (n < 1 || at_once < 1 || pipe(fds) || !(us = calloc((size_t)n, sizeof(*us)))) {
		fprintf(stderr, "usage: bench-scale WORKERS AT_ONCE (under agentprof record)\n");
		return 2;
	}
	while (started < n || alive > 0) {
		int status;

		if (started < n && alive < at_once) {
			pid_t pid = fork();

			if (pid < 0)
				return 1;
			if (pid == 0) {
				uint64_t t0 = now_ns(), d;

				if (ap_attach(NULL) != 0 || !ap_enabled())
					_exit(2);
				ap_end(ap_begin(ap_name("scale:span"), AP_CAT_INTERNAL));
				d = (now_ns() - t0) / 1000;
				_exit(write(fds[1], &d, sizeof(d)) == (ssize_t)sizeof(d) ? 0 : 1);
			}
			started++;
			alive++;
			continue;
		}
		if (wait(&status) > 0) {
			alive--;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			    read(fds[0], &us[ok], sizeof(us[ok])) == (ssize_t)sizeof(us[ok]))
				ok++;
		}
	}
	if (!ok)
		return 1;
	qsort(us, (size_t)ok, sizeof(*us), cmp_u64);
	printf("attach_us %llu %llu %llu\n", (unsigned long long)us[ok / 2], (unsigned long long)us[0],
	       (unsigned long long)us[ok - 1]);
	printf("workers %d\n", ok);
	return ok == n ? 0 : 1;
}
