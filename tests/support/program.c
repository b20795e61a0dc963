/* SPDX-License-Identifier: MIT */
/*
 * program.c - helpers of the tests that run the built agentprof (program.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "program.h"

const char *t_agentprof(void)
{
	return getenv("AP_AGENTPROF");
}

pid_t t_spawn(char *const argv[], const char *outfile, const char *errfile)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int o = outfile ? open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;
		int e = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;

		dup2(o, 1);
		dup2(e, 2);
		execv(t_agentprof(), argv);
		_exit(99);
	}
	return pid;
}

int t_shm_exists(const char *seg)
{
	char path[256];

	snprintf(path, sizeof(path), "/dev/shm%s", seg);
	return access(path, F_OK) == 0;
}

int t_wait_shm(const char *seg, unsigned ms)
{
	for (unsigned i = 0; i < ms / 5; i++) {
		if (t_shm_exists(seg))
			return 1;
		t_sleep_ms(5);
	}
	return 0;
}

json_t *t_load(const char *dir, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return json_load_file(path, 0, NULL);
}

json_int_t t_jint(json_t *root, const char *obj, const char *key)
{
	json_t *o = obj ? json_object_get(root, obj) : root;

	return json_integer_value(json_object_get(o, key));
}

char *t_slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

void t_rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "test: could not remove %s\n", path);
}
