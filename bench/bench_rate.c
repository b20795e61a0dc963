/* SPDX-License-Identifier: MIT */
/*
 * bench_rate.c - two writer processes recording spans at a set total rate,
 * for the search (bench/run.sh) of the highest rate that writers and the
 * reader sustain together on this machine with nothing dropped.
 *
 *   bench-rate EVENTS_PER_S SECONDS
 *
 * Run under `agentprof record`. Each writer keeps to its half of the rate
 * (2 events per span), sleeping 20 us when ahead; it prints the rate it
 * reached, so a rate the writers cannot reach is not mistaken for one the
 * reader sustains. Prints "rate_events_per_s N".
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

/* Returns the spans written. */
static uint64_t writer(double spans_per_s, double seconds)
{
	uint64_t name = ap_name("rate:span"), t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), done = 0;
	struct timespec nap = { 0, 20000 };

	for (;;) {
		uint64_t now = now_ns(), due;

		if (now >= end)
			break;
		due = (uint64_t)((double)(now - t0) * spans_per_s / 1e9);
		if (done >= due) {
			nanosleep(&nap, NULL);
			continue;
		}
		for (uint64_t k = 0; k < 64 && done < due; k++, done++)
			ap_end(ap_begin(name, AP_CAT_TOOL));
	}
	return done;
}

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 0, seconds = argc > 2 ? atof(argv[2]) : 0.5;
	int fds[2];
	uint64_t total = 0, t0;

	if (rate <= 0 || seconds <= 0 || pipe(fds)) {
		fprintf(stderr, "usage: bench-rate EVENTS_PER_S SECONDS (under agentprof record)\n");
		return 2;
	}
	t0 = now_ns();
	for (int p = 0; p < 2; p++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			uint64_t n;

			if (ap_attach(NULL) != 0 || !ap_enabled())
				_exit(2);
			n = writer(rate / 4, seconds);	/* per writer: half the events, 2 per span */
			_exit(write(fds[1], &n, sizeof(n)) == (ssize_t)sizeof(n) ? 0 : 1);
		}
	}
	for (int p = 0; p < 2; p++) {
		uint64_t n;
		int status;

		if (read(fds[0], &n, sizeof(n)) != (ssize_t)sizeof(n))
			return 1;
		total += n;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
	}
	printf("rate_events_per_s %.0f\n", (double)total * 2 / ((double)(now_ns() - t0) / 1e9));
	return 0;
}
