/* SPDX-License-Identifier: MIT */
/*
 * clock.c - the segment clock, calibrated by the creator and used by every
 * process: a span around a known sleep measures that sleep, with the best
 * clock of the machine (TSC here) and with the CLOCK_MONOTONIC fallback,
 * and a worker's timestamps convert to the reader's CLOCK_MONOTONIC.
 */
#include <string.h>
#include <time.h>

#include "agentprof.h"
#include "helpers.h"

#define SLEEP_MS 30

static int sleeper(void *arg)
{
	uint64_t s;

	if (ap_attach(arg) != 0)
		return 2;
	s = ap_begin(ap_name("clock:sleep"), AP_CAT_TOOL);
	t_sleep_ms(SLEEP_MS);
	ap_end(s);
	return 0;
}

static void check_clock(uint32_t source)
{
	struct ap_seg_config cfg;
	struct t_reader r;
	const struct ap_span *sp;
	uint64_t before, after, dur, begin_ns;
	int code;
	pid_t pid;

	memset(&r, 0, sizeof(r));
	ap_seg_config_default(&cfg);
	cfg.lanes = 2;
	cfg.lane_events = 64;
	cfg.clock_source = source;
	CU_ASSERT_FATAL(ap_seg_create(&r.seg, "/ap-test-clock", &cfg) == 0);
	CU_ASSERT_FATAL(t_reader_init(&r) == 0);
	CU_ASSERT_EQUAL(r.seg.hdr->clock_source, source);
	before = ap_mono_ns();
	pid = t_fork(sleeper, r.seg.name);
	t_reader_run(&r, &pid, 1, &code);
	after = ap_mono_ns();
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT_FATAL(r.spans.n == 1);
	sp = &r.spans.v[0];
	dur = ap_ticks_delta_ns(&r.seg.clock, sp->t_begin, sp->t_end);
	CU_ASSERT(dur >= SLEEP_MS * 1000000ull);
	CU_ASSERT(dur < (SLEEP_MS + 50) * 1000000ull);
	begin_ns = ap_ticks_to_ns(&r.seg.clock, sp->t_begin);
	CU_ASSERT(begin_ns + 1000000 >= before);	/* on the reader's timeline, 1 ms slack */
	CU_ASSERT(begin_ns <= after);
	t_reader_close(&r);
}

static void test_best_clock(void)
{
	check_clock(ap_clock_detect());
}

static void test_monotonic_fallback(void)
{
	check_clock(AP_CLOCK_MONOTONIC);
}

void t_register_clock(void)
{
	CU_pSuite s = CU_add_suite("clock", NULL, NULL);

	T_ADD(s, test_best_clock);
	T_ADD(s, test_monotonic_fallback);
}
