/* SPDX-License-Identifier: MIT */
/*
 * inproc.c - writer threads and the reader in one process, so that
 * ThreadSanitizer sees both sides of every lane (make test SANITIZE=thread
 * runs this suite). Four threads record while the main thread drains;
 * counts must be exact and every span paired.
 */
#include <pthread.h>

#include "agentprof.h"
#include "helpers.h"

#define THREADS 4
#define SPANS 20000

static _Atomic int running;

static void *writer(void *arg)
{
	uint64_t name = *(uint64_t *)arg, model = ap_name("claude-haiku-3-5");

	for (int i = 0; i < SPANS; i++) {
		uint64_t outer = ap_begin(name, AP_CAT_INTERNAL);
		uint64_t inner = ap_begin(name, AP_CAT_LLM);

		ap_set_tokens(inner, model, 3, 4);
		ap_end(inner);
		ap_end(outer);
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static void test_threads_and_reader_in_one_process(void)
{
	struct t_reader r;
	pthread_t th[THREADS];
	uint64_t name;

	CU_ASSERT_FATAL(t_reader_open(&r, 8, 1u << 17) == 0);
	CU_ASSERT_FATAL(ap_attach(r.seg.name) == 0);
	name = ap_name("inproc:span");
	atomic_store(&running, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, &name);
	while (atomic_load(&running) > 0)
		if (ap_drain_pass(&r.drain) == 0)
			t_sleep_ms(0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ap_detach();
	t_reader_finish(&r);
	CU_ASSERT_EQUAL(r.tot.read, (uint64_t)THREADS * SPANS * 5);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	CU_ASSERT_EQUAL(r.counts.complete, (uint64_t)THREADS * SPANS * 2);
	CU_ASSERT_EQUAL(r.counts.open + r.counts.unmatched_end, 0);
	CU_ASSERT_EQUAL(r.drain.nprocs, 1);
	CU_ASSERT_EQUAL(r.drain.procs[0].threads, THREADS);
	t_reader_close(&r);
}

void t_register_inproc(void)
{
	CU_pSuite s = CU_add_suite("inproc", NULL, NULL);

	T_ADD(s, test_threads_and_reader_in_one_process);
}
