/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static unsigned seg_counter;

int t_reader_open(struct t_reader *r, uint32_t lanes, uint32_t lane_events)
{
	struct ap_seg_config cfg;
	char name[64];
	int ret;

	memset(r, 0, sizeof(*r));
	ap_seg_config_default(&cfg);
	cfg.lanes = lanes;
	cfg.lane_events = lane_events;
	snprintf(name, sizeof(name), "/ap-test-%d-%u", (int)getpid(), seg_counter++);
	ret = ap_seg_create(&r->seg, name, &cfg);
	if (ret)
		return ret;
	return t_reader_init(r);
}

int t_reader_init(struct t_reader *r)
{
	ap_rules_default(&r->rules);
	r->nmodels = ap_models_default(r->models, 8);
	if (ap_spans_init(&r->spans, 1u << 20) || ap_names_init(&r->names) ||
	    ap_analysis_init(&r->analysis, &r->names, &r->seg.clock, &r->rules, r->models, r->nmodels, NULL) ||
	    ap_asm_init(&r->as, 1u << 20, t_collect, r) ||
	    ap_drain_init(&r->drain, &r->seg, ap_asm_events, &r->as))
		return -ENOMEM;
	return 0;
}

void t_collect(void *ctx, const struct ap_trace_view *t)
{
	struct t_reader *r = ctx;

	for (uint32_t i = 0; i < t->n; i++)
		ap_spans_put(&r->spans, &t->v[i]);
	ap_analysis_add(&r->analysis, t);
}

void t_reader_close(struct t_reader *r)
{
	if (r->seg.base) {
		ap_seg_unlink(r->seg.name);
		ap_seg_unmap(&r->seg);
	}
	ap_drain_free(&r->drain);
	ap_asm_free(&r->as);
	ap_analysis_free(&r->analysis);
	ap_spans_free(&r->spans);
	ap_names_free(&r->names);
}

void t_reader_finish(struct t_reader *r)
{
	while (ap_drain_pass(&r->drain))
		ap_asm_flush(&r->as);
	ap_drain_check_owners(&r->drain, ap_mono_ns(), 0);
	ap_drain_totals(&r->drain, &r->tot);
	ap_asm_finish(&r->as);
	ap_asm_span_counts(&r->as, &r->counts);
	ap_names_load(&r->names, &r->seg);
	ap_analysis_end(&r->analysis, &r->as);
}

void t_reader_run(struct t_reader *r, const pid_t *pids, int n, int *codes)
{
	int left = n;
	int done[256] = { 0 };
	uint64_t deadline = ap_mono_ns() + 120ull * 1000000000ull;

	while (left > 0 && ap_mono_ns() < deadline) {
		if (ap_drain_pass(&r->drain) == 0)
			t_sleep_ms(0);
		ap_asm_flush(&r->as);
		for (int i = 0; i < n; i++) {
			int status;

			if (done[i] || waitpid(pids[i], &status, WNOHANG) != pids[i])
				continue;
			done[i] = 1;
			left--;
			if (codes)
				codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	}
	for (int i = 0; i < n; i++) {
		if (!done[i]) {	/* hung: fail loudly, never hang the suite */
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			if (codes)
				codes[i] = 255;
		}
	}
	t_reader_finish(r);
}

const struct ap_proc_row *t_proc(const struct t_reader *r, uint32_t pid)
{
	for (uint32_t i = 0; i < r->drain.nprocs; i++)
		if (r->drain.procs[i].pid == pid)
			return &r->drain.procs[i];
	return NULL;
}

pid_t t_fork(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int t_run_job(struct t_reader *r, int (*fn)(void *job), void *out, size_t n)
{
	ssize_t got = 0;
	int code = t_run_job_upto(r, fn, out, n, &got);

	return code == 0 && (size_t)got != n ? -1 : code;
}

int t_run_job_upto(struct t_reader *r, int (*fn)(void *job), void *out, size_t n, ssize_t *got)
{
	struct t_job job = { r->seg.name, -1 };
	int fds[2], code;
	pid_t pid;

	if (pipe(fds))
		return -1;
	job.out_fd = fds[1];
	pid = t_fork(fn, &job);
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	t_reader_run(r, &pid, 1, &code);
	close(fds[1]);
	*got = n ? read(fds[0], out, n) : 0;
	close(fds[0]);
	return code;
}

int t_job_write(struct t_job *job, const void *p, size_t n)
{
	return write(job->out_fd, p, n) == (ssize_t)n ? 0 : 1;
}

int t_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L + (ms ? 0 : 100000L) };

	nanosleep(&ts, NULL);
}

struct full_disk {
	const char *dir;
	int (*fn)(void *dir);
};

static int full_disk_child(void *arg)
{
	const struct full_disk *fd = arg;

	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", fd->dir, "tmpfs", 0, "size=64k"))
		return 77;
	return fd->fn((void *)fd->dir);
}

int t_on_full_disk(const char *tag, int (*fn)(void *dir))
{
	char dir[128];
	struct full_disk fd = { dir, fn };
	int code;

	snprintf(dir, sizeof(dir), "/tmp/ap-test-%s-%d", tag, (int)getpid());
	mkdir(dir, 0700);
	code = t_wait(t_fork(full_disk_child, &fd));
	rmdir(dir);
	if (code == 77) {
		t_skip("cannot mount a tmpfs here: full-disk case not exercised");
		return 0;
	}
	return code;
}
