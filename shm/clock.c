/* SPDX-License-Identifier: MIT */
/*
 * clock.c - choose and calibrate the segment clock.
 *
 * Calibration runs once, when the reader creates the segment: it samples the
 * counter and CLOCK_MONOTONIC twice, 20 ms apart, taking each sample as the
 * tightest of a few monotonic-counter-monotonic brackets, which keeps the
 * rate within about 1e-6 of the truth. Workers never calibrate.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "clock.h"

static int tsc_invariant(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;

	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return 0;
	__get_cpuid(0x80000007u, &a, &b, &c, &d);
	return (d >> 8) & 1;	/* "Invariant TSC": constant_tsc + nonstop_tsc */
#else
	return 0;
#endif
}

uint32_t ap_clock_detect(void)
{
	const char *force = getenv("AGENTPROF_CLOCK");

	if (force && strcmp(force, "monotonic") == 0)
		return AP_CLOCK_MONOTONIC;
#if defined(__x86_64__)
	return tsc_invariant() ? AP_CLOCK_TSC : AP_CLOCK_MONOTONIC;
#elif defined(__aarch64__)
	return AP_CLOCK_CNTVCT;
#else
	return AP_CLOCK_MONOTONIC;
#endif
}

int ap_clock_usable(uint32_t source)
{
	switch (source) {
	case AP_CLOCK_MONOTONIC:
		return 1;
	case AP_CLOCK_TSC:
#if defined(__x86_64__)
		return tsc_invariant();
#else
		return 0;
#endif
	case AP_CLOCK_CNTVCT:
#if defined(__aarch64__)
		return 1;
#else
		return 0;
#endif
	default:
		return 0;
	}
}

/* One (ticks, ns) pair, bracketed as tightly as a few tries allow. */
static void sample(uint64_t *ticks, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 8; i++) {
		uint64_t a = ap_mono_ns();
		uint64_t t = ap_counter_ticks();
		uint64_t b = ap_mono_ns();

		if (b - a < best) {
			best = b - a;
			*ticks = t;
			*ns = a + (b - a) / 2;
		}
	}
}

void ap_clock_calibrate(uint32_t source, struct ap_clock_cal *out)
{
	uint64_t t0, n0, t1, n1;
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	memset(out, 0, sizeof(*out));
	out->source = source;
	if (source == AP_CLOCK_MONOTONIC) {
		out->ref_ns = out->ref_ticks = ap_mono_ns();
		out->mult = UINT64_C(1) << 32;
		out->hz = 1000000000u;
		return;
	}
	sample(&t0, &n0);
	while (nanosleep(&pause, &pause) != 0)
		;
	sample(&t1, &n1);
	if (t1 <= t0 || n1 <= n0) {	/* counter not moving: fall back */
		ap_clock_calibrate(AP_CLOCK_MONOTONIC, out);
		return;
	}
	out->ref_ticks = t1;
	out->ref_ns = n1;
	out->mult = (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
	out->hz = (uint64_t)(((unsigned __int128)(t1 - t0) * 1000000000u) / (n1 - n0));
}
