/* SPDX-License-Identifier: MIT */
/* workload.h - the reference agent workflow (`agentprof demo`, the fleet bench). */
#ifndef AP_WORKLOAD_H
#define AP_WORKLOAD_H

#include <stdint.h>
#include <sys/types.h>

struct ap_demo_opts {
	unsigned workers;	/* worker processes, default 4 */
	unsigned traces;	/* workflow runs per worker, default 2 */
	uint64_t seed;		/* jitter seed, default 1 */
	double scale;		/* sleep scale, 1.0 = the reference timings */
};

/* Name ids of the reference workflow's spans and models. */
struct ap_demo_names {
	uint64_t workflow, context_assembly, retrieve, build_prompt, classify, search_kb;
	uint64_t synthesize, format, gpt_4o_mini, gpt_4o;
};

/* How each step of the workflow spends its time: its reference sleep x
 * scale, jittered by +-jitter_pct; or, when spin_iters is set, a busy loop
 * of that many iterations (the CPU-bound variant of the fleet bench). */
struct ap_demo_step {
	double scale;
	double jitter_pct;
	uint64_t spin_iters;
};

void ap_demo_names(struct ap_demo_names *n);
/* One run of the reference workflow through the C API, on this thread. */
void ap_demo_workflow(const struct ap_demo_names *n, const struct ap_demo_step *how, uint64_t *rng);
/* The jitter generator's seed for worker `index`. */
uint64_t ap_demo_seed(uint64_t seed, unsigned index);

/* Run the workflow `traces` times in this process, attached to segment.
 * Returns 0, or 1 when the segment could not be attached. */
int ap_demo_worker(const char *segment, unsigned index, unsigned traces, uint64_t seed, double scale);

/* ap_spawn_fn: fork a coordinator that forks and waits for the workers. */
int ap_demo_spawn(void *ctx, const char *segment, pid_t *pid, int *exec_errno);

#endif /* AP_WORKLOAD_H */
