/* SPDX-License-Identifier: MIT */
/*
 * program.h - helpers of the tests that run the built agentprof
 * ($AP_AGENTPROF) as other processes: start it, wait for its segment, read
 * its report.json.
 */
#ifndef AP_TEST_PROGRAM_H
#define AP_TEST_PROGRAM_H

#include <jansson.h>
#include <sys/types.h>

/* The agentprof program under test, or NULL outside make test. */
const char *t_agentprof(void);
/* Run agentprof with argv (argv[0] included, NULL-terminated); stdout and
 * stderr into the files named, /dev/null for NULL. */
pid_t t_spawn(char *const argv[], const char *outfile, const char *errfile);
/* Whether /dev/shm holds the segment seg ("/name"); wait up to ms for it. */
int t_shm_exists(const char *seg);
int t_wait_shm(const char *seg, unsigned ms);
/* DIR/FILE parsed, or NULL. */
json_t *t_load(const char *dir, const char *file);
/* root[obj][key] (obj NULL: root[key]) as an integer, 0 when absent. */
json_int_t t_jint(json_t *root, const char *obj, const char *key);
/* The file's first 64 KiB, NUL-terminated, in a static buffer ("" if none). */
char *t_slurp(const char *path);
/* rm -rf path. */
void t_rm_rf(const char *path);

#endif /* AP_TEST_PROGRAM_H */
