/* SPDX-License-Identifier: MIT */
/*
 * workload.c - the reference agent workflow: the built-in workload of
 * `agentprof demo` and of the fleet bench.
 *
 * N forked worker processes each run the reference agent workflow M times
 * through the public C API, with real sleeps and a small seeded jitter:
 *
 *   workflow
 *     context_assembly
 *       memory:retrieve      120 ms  memory
 *       build_prompt          75 ms
 *     llm:classify           450 ms  llm, gpt-4o-mini, 450 in / 30 out   <- context_assembly
 *     tool:search_kb         200 ms  tool                                <- context_assembly
 *     llm:synthesize         350 ms  llm, gpt-4o, 12,500 in / 800 out    <- classify, search_kb
 *     tool:format             55 ms  tool                                <- synthesize
 *
 * (`<-` is a declared dependency, ap_depends.) One trace takes about 1,250 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentprof.h"
#include "workload.h"

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Sleep ms milliseconds, jittered by up to +-jitter_pct percent. */
static void work(uint64_t *rng, double ms, double jitter_pct)
{
	double j = ((double)(xorshift(rng) % 2001) / 1000.0 - 1.0) * jitter_pct / 100.0;
	double total = ms * (1.0 + j);
	struct timespec ts = { (time_t)(total / 1000.0), (long)((total - (double)(long)(total / 1000.0) * 1000.0) * 1e6) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void ap_demo_names(struct ap_demo_names *n)
{
	n->workflow = ap_name("workflow");
	n->context_assembly = ap_name("context_assembly");
	n->retrieve = ap_name("memory:retrieve");
	n->build_prompt = ap_name("build_prompt");
	n->classify = ap_name("llm:classify");
	n->search_kb = ap_name("tool:search_kb");
	n->synthesize = ap_name("llm:synthesize");
	n->format = ap_name("tool:format");
	n->gpt_4o_mini = ap_name("gpt-4o-mini");
	n->gpt_4o = ap_name("gpt-4o");
}

/* The work of one step: a sleep of ms x scale, or a busy loop. */
static void step(const struct ap_demo_step *how, uint64_t *rng, double ms)
{
	if (how->spin_iters) {
		volatile uint64_t x = *rng;

		for (uint64_t i = 0; i < how->spin_iters; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		*rng ^= x;
		return;
	}
	work(rng, ms * how->scale, how->jitter_pct);
}

void ap_demo_workflow(const struct ap_demo_names *n, const struct ap_demo_step *how, uint64_t *rng)
{
	uint64_t wf, ca, s, cl, sk, sy;

	wf = ap_begin(n->workflow, AP_CAT_INTERNAL);
	ca = ap_begin(n->context_assembly, AP_CAT_INTERNAL);
	s = ap_begin(n->retrieve, AP_CAT_MEMORY);
	step(how, rng, 120);
	ap_end(s);
	s = ap_begin(n->build_prompt, AP_CAT_INTERNAL);
	step(how, rng, 75);
	ap_end(s);
	ap_end(ca);
	cl = ap_begin(n->classify, AP_CAT_LLM);
	ap_depends(cl, ca);
	step(how, rng, 450);
	ap_set_tokens(cl, n->gpt_4o_mini, 450, 30);
	ap_end(cl);
	sk = ap_begin(n->search_kb, AP_CAT_TOOL);
	ap_depends(sk, ca);
	step(how, rng, 200);
	ap_end(sk);
	sy = ap_begin(n->synthesize, AP_CAT_LLM);
	ap_depends(sy, cl);
	ap_depends(sy, sk);
	step(how, rng, 350);
	ap_set_tokens(sy, n->gpt_4o, 12500, 800);
	ap_end(sy);
	s = ap_begin(n->format, AP_CAT_TOOL);
	ap_depends(s, sy);
	step(how, rng, 55);
	ap_end(s);
	ap_end(wf);
}

uint64_t ap_demo_seed(uint64_t seed, unsigned index)
{
	uint64_t rng = (seed + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)index + 1) * 0xbf58476d1ce4e5b9ull;

	return rng ? rng : 1;
}

int ap_demo_worker(const char *segment, unsigned index, unsigned traces, uint64_t seed, double scale)
{
	uint64_t rng = ap_demo_seed(seed, index);
	struct ap_demo_step how = { .scale = scale, .jitter_pct = 2 };
	struct ap_demo_names n;

	if (ap_attach(segment) != 0)
		return 1;
	ap_demo_names(&n);
	for (unsigned t = 0; t < traces; t++)
		ap_demo_workflow(&n, &how, &rng);
	return 0;
}

/* Coordinator: fork the workers, wait for them all; exit 0 if all succeeded. */
static void coordinator(const struct ap_demo_opts *o, const char *segment)
{
	int failed = 0;

	for (unsigned i = 0; i < o->workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			failed = 1;
			break;
		}
		if (pid == 0)
			_exit(ap_demo_worker(segment, i, o->traces, o->seed, o->scale));
	}
	for (;;) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0)
			break;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	_exit(failed);
}

int ap_demo_spawn(void *ctx, const char *segment, pid_t *pid, int *exec_errno)
{
	const struct ap_demo_opts *o = ctx;
	pid_t c;

	(void)exec_errno;
	c = fork();
	if (c < 0)
		return -errno;
	if (c == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		coordinator(o, segment);
	}
	*pid = c;
	return 0;
}
