/* SPDX-License-Identifier: MIT */
/*
 * grow.c - a workload whose memory report.html must draw: this process
 * leaks 1 MiB per llm:call, 40 calls 25 ms apart (a steady growth of 40
 * MiB, which the memory_growth rule flags), while a child it forks maps and
 * touches 32 MiB inside tool:load and unmaps it in tool:unload, so its peak
 * is neither its start nor its end. The child is attached by the library
 * after the fork, so both processes are sampled.
 */
#include <agentprof.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB	(1u << 20)

static void *touch(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(4);
	memset(p, 1, n);
	return p;
}

static void spike(void)
{
	uint64_t root = ap_begin(ap_name("spike"), AP_CAT_INTERNAL), s;
	void *big;

	usleep(150000);
	s = ap_begin(ap_name("tool:load"), AP_CAT_TOOL);
	big = touch(32 * MIB);
	usleep(200000);
	ap_end(s);
	s = ap_begin(ap_name("tool:unload"), AP_CAT_TOOL);
	munmap(big, 32 * MIB);
	usleep(200000);
	ap_end(s);
	ap_end(root);
	usleep(100000);	/* a round samples past the trace */
}

int main(void)
{
	uint64_t root = ap_begin(ap_name("leaky job"), AP_CAT_INTERNAL);
	pid_t child = fork();
	int st;

	if (child == 0) {
		spike();
		_exit(0);
	}
	for (int k = 0; k < 40; k++) {
		uint64_t s = ap_begin(ap_name("llm:call"), AP_CAT_LLM);

		usleep(12500);
		(void)touch(MIB);	/* leaked */
		usleep(12500);
		ap_end(s);
	}
	ap_end(root);
	if (child > 0)
		waitpid(child, &st, 0);
	usleep(100000);
	return 0;
}
