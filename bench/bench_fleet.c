/* SPDX-License-Identifier: MIT */
/*
 * bench_fleet.c - a fleet of agent workers: P processes x T threads, each
 * thread running the reference workflow N times through the C API.
 *
 *   bench-fleet --procs P --threads T --traces N [--scale S] [--spin ITERS]
 *   bench-fleet --calibrate-us US      busy-loop iterations that take US
 *
 * With --scale the steps sleep (reference timings x S); with --spin each
 * step is a busy loop of ITERS iterations instead (the CPU-bound variant).
 * Profiled when run under `agentprof record`, off otherwise: the same
 * binary, so A/B rounds differ only in AGENTPROF_SHM. Prints wall_ms,
 * cpu_ms (all workers, user + system) and spans.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentprof.h>

#include "workload.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct fleet {
	unsigned procs, threads, traces;
	struct ap_demo_step how;
	struct ap_demo_names names;
};

struct thread_arg {
	const struct fleet *f;
	unsigned index;
};

static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;
	uint64_t rng = ap_demo_seed(7, a->index);

	for (unsigned t = 0; t < a->f->traces; t++)
		ap_demo_workflow(&a->f->names, &a->f->how, &rng);
	return NULL;
}

static int worker(struct fleet *f, unsigned proc)
{
	pthread_t th[64];
	struct thread_arg args[64];

	if (ap_attach(NULL) != 0)
		return 1;
	ap_demo_names(&f->names);
	for (unsigned i = 0; i < f->threads; i++) {
		args[i] = (struct thread_arg){ f, proc * f->threads + i };
		if (pthread_create(&th[i], NULL, thread_main, &args[i]))
			return 1;
	}
	for (unsigned i = 0; i < f->threads; i++)
		pthread_join(th[i], NULL);
	return 0;
}

static uint64_t calibrate(double us)
{
	struct ap_demo_step how = { .spin_iters = 1u << 20 };
	struct ap_demo_names n;
	uint64_t rng = 1, t0;

	memset(&n, 0, sizeof(n));	/* profiling off here: ids unused */
	t0 = now_ns();
	for (int i = 0; i < 20; i++)
		ap_demo_workflow(&n, &how, &rng);	/* 8 steps each */
	return (uint64_t)((double)how.spin_iters * us * 1e3 / ((double)(now_ns() - t0) / (20.0 * 8)));
}

int main(int argc, char **argv)
{
	struct fleet f = { .procs = 64, .threads = 4, .traces = 1, .how = { .scale = 1, .jitter_pct = 2 } };
	struct rusage ru;
	uint64_t t0;
	int failed = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--procs"))
			f.procs = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			f.threads = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--traces"))
			f.traces = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--scale"))
			f.how.scale = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--spin"))
			f.how.spin_iters = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--calibrate-us")) {
			printf("spin_iters %llu\n", (unsigned long long)calibrate(atof(argv[i + 1])));
			return 0;
		} else {
			fprintf(stderr, "bench-fleet: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!f.procs || !f.threads || f.threads > 64 || !f.traces) {
		fprintf(stderr, "bench-fleet: --procs > 0, --threads 1..64, --traces > 0\n");
		return 2;
	}
	t0 = now_ns();
	for (unsigned p = 0; p < f.procs; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			failed = 1;
			break;
		}
		if (pid == 0)
			_exit(worker(&f, p));
	}
	for (;;) {
		int status;

		if (wait(&status) < 0)
			break;
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	printf("wall_ms %.1f\n", (double)(now_ns() - t0) / 1e6);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("cpu_ms %.1f\n", (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
				 (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3);
	printf("spans %llu\n", (unsigned long long)f.procs * f.threads * f.traces * 8);
	return failed;
}
