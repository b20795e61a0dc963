/* SPDX-License-Identifier: MIT */
/*
 * demo.c - the built-in workload of `agentprof demo`.
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
#include "demo.h"

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

int ap_demo_worker(const char *segment, unsigned index, unsigned traces, uint64_t seed, double scale)
{
	uint64_t rng = (seed + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)index + 1) * 0xbf58476d1ce4e5b9ull;
	uint64_t n_wf, n_ca, n_mr, n_bp, n_cl, n_sk, n_sy, n_fm, m_mini, m_4o;

	if (!rng)
		rng = 1;
	if (ap_attach(segment) != 0)
		return 1;
	n_wf = ap_name("workflow");
	n_ca = ap_name("context_assembly");
	n_mr = ap_name("memory:retrieve");
	n_bp = ap_name("build_prompt");
	n_cl = ap_name("llm:classify");
	n_sk = ap_name("tool:search_kb");
	n_sy = ap_name("llm:synthesize");
	n_fm = ap_name("tool:format");
	m_mini = ap_name("gpt-4o-mini");
	m_4o = ap_name("gpt-4o");

	for (unsigned t = 0; t < traces; t++) {
		uint64_t wf, ca, s, cl, sk, sy;

		wf = ap_begin(n_wf, AP_CAT_INTERNAL);
		ca = ap_begin(n_ca, AP_CAT_INTERNAL);
		s = ap_begin(n_mr, AP_CAT_MEMORY);
		work(&rng, 120 * scale, 2);
		ap_end(s);
		s = ap_begin(n_bp, AP_CAT_INTERNAL);
		work(&rng, 75 * scale, 2);
		ap_end(s);
		ap_end(ca);

		cl = ap_begin(n_cl, AP_CAT_LLM);
		ap_depends(cl, ca);
		work(&rng, 450 * scale, 2);
		ap_set_tokens(cl, m_mini, 450, 30);
		ap_end(cl);

		sk = ap_begin(n_sk, AP_CAT_TOOL);
		ap_depends(sk, ca);
		work(&rng, 200 * scale, 2);
		ap_end(sk);

		sy = ap_begin(n_sy, AP_CAT_LLM);
		ap_depends(sy, cl);
		ap_depends(sy, sk);
		work(&rng, 350 * scale, 2);
		ap_set_tokens(sy, m_4o, 12500, 800);
		ap_end(sy);

		s = ap_begin(n_fm, AP_CAT_TOOL);
		ap_depends(s, sy);
		work(&rng, 55 * scale, 2);
		ap_end(s);
		ap_end(wf);
	}
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
