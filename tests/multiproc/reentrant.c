/* SPDX-License-Identifier: MIT */
/*
 * reentrant.c - a signal handler that records while its thread is mid-write.
 *
 * The test build calls a hook between writing an event and publishing it;
 * the hook raises SIGUSR1 every 7th time, and the handler records a span
 * with tokens (3 events). Those events must be dropped and counted as
 * dropped_reentrant, exactly, and the interrupted write must land intact.
 * A handler that runs outside a write records normally.
 *
 * A thread whose very first call into the library is a signal handler's
 * (its state block is mapped there) records that span and then its own,
 * all of them read.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "writer_internal.h"

#define SPANS 3000

static volatile sig_atomic_t in_hook_signals, outside_signals;
static uint64_t h_name, h_model;
static unsigned hook_calls;

static void handler(int sig)
{
	uint64_t s = ap_begin(h_name, AP_CAT_TOOL);

	(void)sig;
	ap_set_tokens(s, h_model, 1, 1);
	ap_end(s);
}

static void midwrite(void)
{
	if (++hook_calls % 7 == 0) {
		in_hook_signals++;
		raise(SIGUSR1);
	}
}

static int worker(void *arg)
{
	struct ap_stats st;
	uint64_t name;

	if (ap_attach(arg) != 0)
		return 2;
	name = ap_name("re:main");
	h_name = ap_name("re:handler");
	h_model = ap_name("gpt-4o-mini");
	signal(SIGUSR1, handler);
	ap_test_midwrite_hook = midwrite;
	for (int i = 0; i < SPANS; i++) {
		uint64_t s = ap_begin(name, AP_CAT_INTERNAL);

		ap_end(s);
	}
	ap_test_midwrite_hook = NULL;
	/* Outside any write: the handler's span is recorded. */
	raise(SIGUSR1);
	outside_signals++;
	ap_stats(&st);
	if (st.dropped_reentrant != 3ull * in_hook_signals)
		return 3;
	if (st.recorded != 2ull * SPANS + 3ull * outside_signals)
		return 4;
	return 0;
}

static void test_handler_mid_write_dropped_and_counted(void)
{
	struct t_reader r;
	uint64_t expected_drops = 3ull * (2 * SPANS / 7);
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 16384) == 0);
	pid = t_fork(worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	if (code)
		fprintf(stderr, "\n    worker exit %d: reentrant %llu, read %llu\n", code,
			(unsigned long long)r.tot.dropped_reentrant, (unsigned long long)r.tot.read);
	CU_ASSERT_EQUAL(r.tot.dropped_reentrant, expected_drops);
	CU_ASSERT_EQUAL(r.tot.read, 2 * SPANS + 3);
	CU_ASSERT_EQUAL(r.tot.written, 2 * SPANS + 3 + expected_drops);
	CU_ASSERT_EQUAL(r.tot.rejected, 0);
	CU_ASSERT_EQUAL(r.counts.complete, SPANS + 1);
	CU_ASSERT_EQUAL(r.counts.open + r.counts.unmatched_end + r.counts.tokens_only, 0);
	CU_ASSERT_EQUAL(t_proc(&r, (uint32_t)pid)->dropped, expected_drops);
	t_reader_close(&r);
}

#define FRESH_SPANS 500

static volatile sig_atomic_t fresh_got;
static sem_t fresh_ready;

static void fresh_handler(int sig)
{
	(void)sig;
	ap_end(ap_begin(h_name, AP_CAT_TOOL));
	fresh_got = 1;
}

static void *fresh_thread(void *arg)
{
	struct ap_stats *st = arg;
	uint64_t name;

	sem_post(&fresh_ready);
	while (!fresh_got)
		usleep(100);	/* no call into the library before the handler's (a
				 * blocking call: ThreadSanitizer delivers signals there) */
	name = ap_name("re:fresh");
	for (int i = 0; i < FRESH_SPANS; i++)
		ap_end(ap_begin(name, AP_CAT_INTERNAL));
	ap_stats(st);
	return NULL;
}

static int fresh_worker(void *arg)
{
	struct ap_stats st;
	pthread_t th;

	if (ap_attach(arg) != 0)
		return 2;
	h_name = ap_name("re:handler");
	signal(SIGUSR1, fresh_handler);
	sem_init(&fresh_ready, 0, 0);
	if (pthread_create(&th, NULL, fresh_thread, &st))
		return 3;
	sem_wait(&fresh_ready);
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	/* The thread's own counts, read before it exited. */
	if (st.recorded != 2 + 2 * FRESH_SPANS || st.dropped_reentrant || st.dropped_no_lane)
		return 4;
	return 0;
}

static void test_first_call_in_a_handler(void)
{
	struct t_reader r;
	int code;
	pid_t pid;

	CU_ASSERT_FATAL(t_reader_open(&r, 4, 4096) == 0);
	pid = t_fork(fresh_worker, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT_EQUAL(r.tot.read, 2 + 2 * FRESH_SPANS);
	CU_ASSERT_EQUAL(r.tot.written, r.tot.read);
	CU_ASSERT_EQUAL(r.counts.complete, 1 + FRESH_SPANS);
	t_reader_close(&r);
}

void t_register_reentrant(void)
{
	CU_pSuite s = CU_add_suite("reentrant", NULL, NULL);

	T_ADD(s, test_handler_mid_write_dropped_and_counted);
	T_ADD(s, test_first_call_in_a_handler);
}
