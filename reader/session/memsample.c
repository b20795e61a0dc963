/* SPDX-License-Identifier: MIT */
/*
 * memsample.c - the session's RSS sampler (--memory-interval; memory.h).
 *
 * Every interval the loop runs one round: the processes that own a lane now
 * (the drain's view of the owner words, the processes the owner check keeps
 * watching), each read from /proc/PID/statm: "size resident shared text lib
 * data dt" in pages; resident is the RSS, resident - shared the anonymous
 * part; then /proc/PID/stat, whose flags say whether the process had begun
 * to exit (its memory is then being torn down: no sample). Nothing is asked of the writers. A process that is gone
 * fails the open and is skipped, and so is one that is exiting (a zombie
 * reads as all zeros: that is the end of its memory, not a fall of its RSS); one that exits mid-run keeps the series it
 * has. The round is logged as it is taken (the replay adds the same
 * samples at the same place among the events), and the traces held since
 * the last round are then made ready: the loop analyses them a share at a
 * time between drain passes (ap_session_mem_work; session.c says why), and
 * the next round analyses whatever is left before it takes its samples, so
 * the figures are those of analysing them at once (memory.h).
 *
 * Cost: two procfs files opened, read and closed, about 8 us per process
 * (see README, Measured), timed over the run
 * (ap_memory.sample_ns) and reported with the overhead as reader CPU per
 * process per second. A fleet of 1,000 would cost 8 ms per round, 40% of a
 * core at 20 ms: so a round never starts sooner than 20 times its own
 * cost after the last one (at most 5% of the reader's time), and the series
 * record the gaps as they were (the figures use the samples' own times).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_atomic.h"
#include "session.h"

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

#define PF_EXITING_FLAG	0x4u	/* include/linux/sched.h: set before the memory is torn down */

/* resident and anonymous KiB of pid: 0, or -errno (-ESRCH: gone, exiting). */
static int read_statm(uint32_t pid, uint32_t *rss_kib, uint32_t *anon_kib)
{
	static long page_kib;
	char path[40], buf[512], *p;
	unsigned long long size, res, shared, flags;
	char state;
	ssize_t n;

	if (!page_kib) {
		long ps = sysconf(_SC_PAGESIZE);

		page_kib = ps >= 1024 ? ps / 1024 : 4;
	}
	snprintf(path, sizeof(path), "/proc/%u/statm", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	if (sscanf(buf, "%llu %llu %llu", &size, &res, &shared) != 3)
		return -EINVAL;
	/* Then whether it was exiting: the flag is set before exit tears the
	 * memory down and never cleared, so not set now means not exiting when
	 * statm was read. A process mid-exit reads as falling to nothing. */
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	p = strrchr(buf, ')');	/* the command name may hold anything */
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %llu", &state, &flags) != 2)
		return -EINVAL;
	if (state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG) || size == 0 || res == 0)
		return -ESRCH;
	res *= (unsigned long long)page_kib;
	shared *= (unsigned long long)page_kib;
	*rss_kib = res > UINT32_MAX ? UINT32_MAX : (uint32_t)res;
	*anon_kib = res > shared ? (res - shared > UINT32_MAX ? UINT32_MAX : (uint32_t)(res - shared)) : 0;
	return 0;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

int ap_session_mem_start(struct ap_session *s)
{
	s->mem_pids = malloc(s->seg.lane_count * sizeof(*s->mem_pids));
	s->mem_samples = malloc(s->seg.lane_count * sizeof(*s->mem_samples));
	if (!s->mem_pids || !s->mem_samples ||
	    ap_mem_init(&s->mem, s->opts.set.memory_interval_ns, &s->seg.clock))
		return -ENOMEM;
	s->mem_on = s->opts.set.memory_interval_ns != 0;
	s->analysis.mem = s->mem_on ? &s->mem : NULL;
	if (s->iv_on)
		s->iv.mem = s->analysis.mem;
	return 0;
}

void ap_session_mem_free(struct ap_session *s)
{
	ap_mem_free(&s->mem);
	ap_mem_hold_free(&s->hold);
	free(s->mem_pids);
	free(s->mem_samples);
	s->mem_pids = NULL;
	s->mem_samples = NULL;
	s->mem_on = 0;
}

uint64_t ap_session_mem_round(struct ap_session *s)
{
	const struct ap_clock_cal *c = &s->seg.clock;
	uint32_t npids = 0, nsamples = 0;
	uint64_t t0, round;

	if (!s->mem_on)
		return 0;
	/* The last round's traces not analysed yet go first, against the
	 * series they were made ready with (memory.h). */
	ap_mem_finish(&s->hold, ap_session_analyse_trace, s);
	t0 = ap_mono_ns();
	for (uint32_t i = 0; i < s->seg.lane_count; i++) {
		const struct ap_lane_view *v = &s->drain.lanes[i];

		if (v->owner_pid && !v->owner_gone_said && !v->quarantined &&
		    ap_load_relaxed(&s->seg.lanes[i].owner) != 0)
			s->mem_pids[npids++] = v->owner_pid;
	}
	qsort(s->mem_pids, npids, sizeof(*s->mem_pids), cmp_u32);
	round = ap_clock_read(c->source);
	ap_mem_round(&s->mem, round);
	for (uint32_t i = 0; i < npids; i++) {
		struct ap_log_mem_sample *x = &s->mem_samples[nsamples];
		uint32_t rss = 0, anon = 0;

		if (i && s->mem_pids[i] == s->mem_pids[i - 1])
			continue;	/* one process, several lanes */
		s->mem.sample_reads++;
		if (read_statm(s->mem_pids[i], &rss, &anon))
			continue;
		*x = (struct ap_log_mem_sample){ .pid = s->mem_pids[i], .rss_kib = rss, .anon_kib = anon,
						 .ticks = ap_clock_read(c->source) };
		ap_mem_add(&s->mem, x->pid, x->ticks, rss, anon);
		nsamples++;
	}
	t0 = ap_mono_ns() - t0;
	s->mem.sample_ns += t0;
	if (s->logging)
		ap_log_mem(&s->log, round, s->mem_samples, nsamples);
	ap_mem_ready(&s->hold, round, ap_session_analyse_trace, s);
	return t0;
}

/* Checking the clock every 256 spans: a few microseconds of analysis. */
#define WORK_SPANS	256u

uint32_t ap_session_mem_work(struct ap_session *s, uint64_t now, uint64_t budget_ns)
{
	uint64_t end = now + budget_ns;

	while (ap_mem_step(&s->hold, WORK_SPANS, ap_session_analyse_trace, s))
		if (ap_mono_ns() >= end)
			break;
	return s->hold.nready;
}

void ap_session_mem_end(struct ap_session *s)
{
	if (s->mem_on)
		ap_mem_release(&s->hold, UINT64_MAX, ap_session_analyse_trace, s);
}
