/* SPDX-License-Identifier: MIT */
/*
 * tp_child.c - a separate program that links libagentprof, for the tests
 * that exec a worker (TRACEPARENT, agentprof record).
 *
 *   tp_child span NAME    record a root span NAME; print its traceparent
 *   tp_child spans N      record N spans (2N events), each with tokens
 *   tp_child wait         begin a span, print "ready", wait for a signal
 *   tp_child exit CODE    record one span and exit with CODE
 *   tp_child flood N      record N spans as fast as it can (a small lane drops
 *                         some); print "recorded R dropped D" from ap_stats
 *   tp_child push TP NAME as the process's first call, push the context of
 *                         traceparent TP; record NAME under it; print its id
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <agentprof.h>

int main(int argc, char **argv)
{
	char tp[56];

	if (argc == 2 && strcmp(argv[1], "wait") == 0) {
		ap_begin(ap_name("child:waiting"), AP_CAT_TOOL);
		printf("ready\n");
		fflush(stdout);
		pause();
		return 0;
	}
	if (argc < 3)
		return 64;
	if (strcmp(argv[1], "span") == 0) {
		uint64_t s = ap_begin(ap_name(argv[2]), AP_CAT_TOOL);

		if (ap_traceparent(tp) != 0)
			return 3;
		printf("%s\n", tp);
		ap_end(s);
		return 0;
	}
	if (strcmp(argv[1], "spans") == 0) {
		long n = atol(argv[2]);
		uint64_t name = ap_name("child:span"), model = ap_name("gpt-4o-mini");

		for (long i = 0; i < n; i++) {
			uint64_t s = ap_begin(name, AP_CAT_LLM);

			ap_set_tokens(s, model, 7, 3);
			ap_end(s);
		}
		return 0;
	}
	if (strcmp(argv[1], "flood") == 0) {
		long n = atol(argv[2]);
		uint64_t name = ap_name("child:flood");
		struct ap_stats st;

		for (long i = 0; i < n; i++)
			ap_end(ap_begin(name, AP_CAT_TOOL));
		ap_stats(&st);
		printf("recorded %llu dropped %llu\n", (unsigned long long)st.recorded,
		       (unsigned long long)(st.dropped_full + st.dropped_reentrant + st.dropped_no_lane));
		return 0;
	}
	if (strcmp(argv[1], "push") == 0 && argc == 4) {
		struct ap_ctx c;
		uint64_t s;

		if (ap_ctx_parse(argv[2], &c) != 0 || ap_ctx_push(&c) != 0)
			return 3;
		s = ap_begin(ap_name(argv[3]), AP_CAT_INTERNAL);
		ap_end(s);
		ap_ctx_pop(&c);
		printf("%llx\n", (unsigned long long)s);
		return ap_current() == 0 ? 0 : 4;
	}
	if (strcmp(argv[1], "exit") == 0) {
		ap_end(ap_begin(ap_name("child:exit"), AP_CAT_INTERNAL));
		return atoi(argv[2]);
	}
	return 64;
}
