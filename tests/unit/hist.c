/* SPDX-License-Identifier: MIT */
/*
 * hist.c - percentiles as the report defines them: the nearest rank on the
 * histogram, clamped to the observed min and max. The cases are the ones a
 * user found wrong: two calls of 150 and 200 ms printed P50 200.2 ms, one
 * call of 511.2 ms printed P50 509.6 ms beside a max of 511.2 ms.
 */
#include "helpers.h"
#include "hist.h"

#define MS 1000000ull

static void test_two_calls(void)
{
	struct ap_hist h = { 0 };

	ap_hist_add(&h, 200 * MS);
	ap_hist_add(&h, 150 * MS);
	/* Nearest rank: P50 of two is the first, 150 ms (the min, exactly). */
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0.50), 150 * MS);
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0.95), 200 * MS);	/* clamped to the max */
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0.99), 200 * MS);
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0), 150 * MS);
	CU_ASSERT_EQUAL(h.min, 150 * MS);
}

static void test_one_call(void)
{
	struct ap_hist h = { 0 };
	uint64_t v = 511200000;

	ap_hist_add(&h, v);
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0.50), v);
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0.95), v);
	CU_ASSERT_EQUAL(ap_hist_quantile(&h, 0.99), v);
}

/* Against a sorted array: every percentile within its bucket (1/64) of
 * the exact nearest-rank value, and inside [min, max]; merge keeps min. */
static void test_model(void)
{
	static uint64_t v[1000];
	struct ap_hist a = { 0 }, b = { 0 };
	uint64_t s = 7;

	for (int i = 0; i < 1000; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		v[i] = 1000 + s % (500 * MS);
		ap_hist_add(i < 500 ? &a : &b, v[i]);
	}
	ap_hist_merge(&a, &b);
	for (int i = 1; i < 1000; i++)
		for (int k = i; k > 0 && v[k - 1] > v[k]; k--) {
			uint64_t t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	CU_ASSERT_EQUAL(a.min, v[0]);
	CU_ASSERT_EQUAL(a.max, v[999]);
	for (int p = 1; p < 100; p++) {
		uint64_t want = v[(1000 * p + 99) / 100 - 1], got = ap_hist_quantile(&a, p / 100.0);

		CU_ASSERT(got + want / 64 + 1 >= want && got <= want + want / 64 + 1);
		CU_ASSERT(got >= v[0] && got <= v[999]);
	}
}

void t_register_hist(void)
{
	CU_pSuite s = CU_add_suite("hist", NULL, NULL);

	T_ADD(s, test_two_calls);
	T_ADD(s, test_one_call);
	T_ADD(s, test_model);
}
