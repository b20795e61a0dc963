/* SPDX-License-Identifier: MIT */
/*
 * hmap.c - the reader's hash map against a plain model: random puts, gets
 * and deletes over a small key space (so clusters and backward shifts are
 * exercised), compared after every operation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "hmap.h"

#define KEYS 512

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_map_matches_model(void)
{
	struct ap_map m;
	uint64_t model[KEYS + 1];
	unsigned char present[KEYS + 1];
	uint64_t s = 42;
	uint32_t n = 0;

	memset(present, 0, sizeof(present));
	CU_ASSERT_FATAL(ap_map_init(&m, 4, 0) == 0);
	for (int op = 0; op < 200000; op++) {
		uint64_t k = rng_next(&s) % KEYS + 1, v = rng_next(&s);
		uint64_t *got;

		switch (rng_next(&s) % 3) {
		case 0:
			CU_ASSERT_EQUAL_FATAL(ap_map_put(&m, k, v), 0);
			n += !present[k];
			present[k] = 1;
			model[k] = v;
			break;
		case 1:
			CU_ASSERT_EQUAL_FATAL(ap_map_del(&m, k), present[k]);
			n -= present[k];
			present[k] = 0;
			break;
		default:
			got = ap_map_get(&m, k);
			CU_ASSERT_EQUAL_FATAL(got != NULL, present[k]);
			if (got)
				CU_ASSERT_EQUAL_FATAL(*got, model[k]);
		}
		CU_ASSERT_EQUAL_FATAL(m.n, n);
	}
	for (uint64_t k = 1; k <= KEYS; k++) {
		uint64_t *got = ap_map_get(&m, k);

		CU_ASSERT_EQUAL(got != NULL, present[k]);
	}
	ap_map_free(&m);
}

static void test_map_cap(void)
{
	struct ap_map m;

	CU_ASSERT_FATAL(ap_map_init(&m, 4, 10) == 0);
	for (uint64_t k = 1; k <= 10; k++)
		CU_ASSERT_EQUAL(ap_map_put(&m, k, k), 0);
	CU_ASSERT_EQUAL(ap_map_put(&m, 11, 11), -ENOSPC);
	CU_ASSERT_EQUAL(ap_map_put(&m, 5, 50), 0);	/* replace is not an insert */
	CU_ASSERT_EQUAL(*ap_map_get(&m, 5), 50);
	CU_ASSERT_EQUAL(ap_map_put(&m, 0, 1), -EINVAL);
	ap_map_free(&m);
}

void t_register_hmap(void)
{
	CU_pSuite s = CU_add_suite("hmap", NULL, NULL);

	T_ADD(s, test_map_matches_model);
	T_ADD(s, test_map_cap);
}
