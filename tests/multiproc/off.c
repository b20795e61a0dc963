/* SPDX-License-Identifier: MIT */
/*
 * off.c - without a usable segment every call is a no-op: the program's
 * output is exactly what it prints by itself, nothing goes to stderr, and
 * no span id is handed out. Checked with AGENTPROF_SHM unset, naming a
 * segment that does not exist, and naming a file that is not a segment.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentprof.h"
#include "helpers.h"
#include "name.h"
#include "writer_internal.h"

/* A small program using every call; prints only its own results. */
static int program(void *arg)
{
	const char *env = arg;
	char tp[56];
	struct ap_stats st;
	uint64_t n, s, c, a;

	if (env)
		setenv("AGENTPROF_SHM", env, 1);
	else
		unsetenv("AGENTPROF_SHM");
	n = ap_name("off:op");
	s = ap_begin(n, AP_CAT_LLM);
	c = ap_begin_child(s, n, AP_CAT_TOOL);
	a = ap_begin_async(s, n, AP_CAT_TOOL);
	ap_set_tokens(s, ap_name("gpt-4o"), 10, 20);
	ap_depends(c, s);
	ap_end(a);
	ap_end(c);
	{
		AP_SPAN("off:scoped", AP_CAT_MEMORY);
		printf("inside\n");
	}
	ap_end(s);
	ap_stats(&st);
	printf("name=%016llx span=%llu child=%llu async=%llu enabled=%d tp=%d current=%llu "
	       "recorded=%llu dropped=%llu\n",
	       (unsigned long long)n, (unsigned long long)s, (unsigned long long)c,
	       (unsigned long long)a, ap_enabled(), ap_traceparent(tp) == AP_E_OFF,
	       (unsigned long long)ap_current(), (unsigned long long)st.recorded,
	       (unsigned long long)(st.dropped_full + st.dropped_no_lane + st.dropped_reentrant));
	fflush(stdout);
	return 0;
}

/* Run program() with stdout and stderr captured. */
static void run_captured(const char *env, char *out, size_t outsz, char *err, size_t errsz)
{
	int o[2], e[2];
	pid_t pid;
	ssize_t n;

	CU_ASSERT_FATAL(pipe(o) == 0 && pipe(e) == 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		_exit(program((void *)env));
	}
	close(o[1]);
	close(e[1]);
	for (size_t used = 0;; used += (size_t)n) {
		n = read(o[0], out + used, outsz - 1 - used);
		if (n <= 0) {
			out[used] = '\0';
			break;
		}
	}
	for (size_t used = 0;; used += (size_t)n) {
		n = read(e[0], err + used, errsz - 1 - used);
		if (n <= 0) {
			err[used] = '\0';
			break;
		}
	}
	close(o[0]);
	close(e[0]);
	CU_ASSERT_EQUAL(t_wait(pid), 0);
}

static void test_off_is_silent_no_op(void)
{
	char expect[256], out[512], err[512], path[128];
	const char *envs[] = { NULL, "/ap-test-no-such-segment", "not-a-name", "" , NULL };
	char junk_name[64];
	int fd;

	snprintf(expect, sizeof(expect),
		 "inside\nname=%016llx span=0 child=0 async=0 enabled=0 tp=1 current=0 recorded=0 dropped=0\n",
		 (unsigned long long)ap_name_hash("off:op", 6));
	/* A file under the name that is not a segment. */
	snprintf(junk_name, sizeof(junk_name), "/ap-test-junk-%d", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm%s", junk_name);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "definitely not a segment, just some bytes", 41) == 41);
	close(fd);
	envs[4] = junk_name;

	for (int i = 0; i < 5; i++) {
		run_captured(envs[i], out, sizeof(out), err, sizeof(err));
		CU_ASSERT_STRING_EQUAL(out, expect);
		if (strcmp(out, expect))
			fprintf(stderr, "\n    env %s: got '%s'\n", envs[i] ? envs[i] : "(unset)", out);
		CU_ASSERT_STRING_EQUAL(err, "");
	}
	unlink(path);
}

void t_register_off(void)
{
	CU_pSuite s = CU_add_suite("off", NULL, NULL);

	T_ADD(s, test_off_is_silent_no_op);
}
