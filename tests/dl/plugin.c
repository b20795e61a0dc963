/* SPDX-License-Identifier: MIT */
/*
 * plugin.c - a shared object linked against libagentprof.so.1 and loaded
 * with dlopen by a test (tests/multiproc/lane_reuse.c), as the Python
 * extension is: the library and its thread state then live in objects
 * loaded at run time (its TLS in glibc's static TLS surplus).
 */
#include <pthread.h>
#include <stdint.h>

#include <agentprof.h>

int plugin_attach(const char *segment);
int plugin_run(uint64_t pairs, int threads);
void plugin_stats(struct ap_stats *st);

static uint64_t pairs_each, name;

static void *thread_main(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < pairs_each; i++)
		ap_end(ap_begin(name, AP_CAT_TOOL));
	return NULL;
}

__attribute__((visibility("default"))) int plugin_attach(const char *segment)
{
	return ap_attach(segment);
}

/* `pairs` spans on the calling thread, then on `threads` threads in turn.
 * 0, or -1 when a thread could not be started. */
__attribute__((visibility("default"))) int plugin_run(uint64_t pairs, int threads)
{
	name = ap_name("dl:span");
	pairs_each = pairs;
	thread_main(NULL);
	for (int k = 0; k < threads; k++) {
		pthread_t th;

		if (pthread_create(&th, NULL, thread_main, NULL))
			return -1;
		pthread_join(th, NULL);
	}
	return 0;
}

__attribute__((visibility("default"))) void plugin_stats(struct ap_stats *st)
{
	ap_stats(st);
}
