/* SPDX-License-Identifier: MIT */
/* demo.h - the built-in demo workload (reference agent workflow). */
#ifndef AP_DEMO_H
#define AP_DEMO_H

#include <stdint.h>
#include <sys/types.h>

struct ap_demo_opts {
	unsigned workers;	/* worker processes, default 4 */
	unsigned traces;	/* workflow runs per worker, default 2 */
	uint64_t seed;		/* jitter seed, default 1 */
	double scale;		/* sleep scale, 1.0 = the reference timings */
};

/* Run the workflow `traces` times in this process, attached to segment.
 * Returns 0, or 1 when the segment could not be attached. */
int ap_demo_worker(const char *segment, unsigned index, unsigned traces, uint64_t seed, double scale);

/* ap_spawn_fn: fork a coordinator that forks and waits for the workers. */
int ap_demo_spawn(void *ctx, const char *segment, pid_t *pid, int *exec_errno);

#endif /* AP_DEMO_H */
