/* SPDX-License-Identifier: MIT */
/*
 * main.c - CUnit runner. `agentprof-tests [SUITE...]` runs the named suites
 * (all by default); `--list` prints them. Exits 1 if any test failed.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static void (*const registrars[])(void) = {
	t_register_hmap, t_register_abi, t_register_clock, t_register_attach, t_register_off,
	t_register_multiproc, t_register_drops, t_register_reentrant, t_register_killed,
	t_register_corrupt, t_register_traceparent, t_register_lane_reuse, t_register_inproc,
	t_register_record, t_register_trees, t_register_sampling, t_register_retain, t_register_evlog, t_register_diff,
	t_register_serve,
};

int main(int argc, char **argv)
{
	unsigned failed;
	int list = argc > 1 && strcmp(argv[1], "--list") == 0;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < sizeof(registrars) / sizeof(registrars[0]); i++)
		registrars[i]();
	if (list) {
		for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
			printf("%s\n", s->pName);
		CU_cleanup_registry();
		return 0;
	}
	if (argc > 1) {
		for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
			int wanted = 0;

			for (int a = 1; a < argc; a++)
				wanted |= strcmp(argv[a], s->pName) == 0;
			CU_set_suite_active(s, wanted);
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
