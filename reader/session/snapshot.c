/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - the live view's snapshot file, written once a second by the
 * reader that has the live view on (serve always; record with --top).
 *
 * Why a file and not a Unix socket: a socket needs the drain to accept and
 * answer connections (non-blocking I/O woven into the loop, or a thread and
 * a lock around the counters); a file replaced once a second costs one
 * render of a few KiB and one rename, whatever the number of viewers, and
 * `cat` or a script can read it without agentprof. It lives next to the
 * segment, /dev/shm/NAME.top (tmpfs: no disk write, mode 0600, the same
 * user's, found from the segment's name alone, which is all `agentprof top
 * --segment NAME` is given), written to NAME.top.tmp and renamed over, so
 * a viewer never reads half of one. The reader removes it when it stops.
 * `agentprof top` reads it as untrusted input (reader/cmd/top.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "top.h"

void ap_session_live_end(struct ap_session *s)
{
	if (s->top_drawn && write(2, "\033[?1049l", 8) < 0)
		s->top_drawn = 0;
	s->top_drawn = 0;
}

/* A reader killed with -9 leaves its NAME.top behind: remove every one of
 * ours (same user) whose segment is gone. Returns how many. */
int ap_live_remove_stale(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char seg[300], path[300];
		struct stat st;

		if (len < 5 || len >= sizeof(seg) || strcmp(e->d_name + len - 4, ".top") != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		snprintf(seg, sizeof(seg), "/dev/shm/%.*s", (int)(len - 4), e->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode) || st.st_uid != getuid() || access(seg, F_OK) == 0)
			continue;
		n += unlink(path) == 0;
	}
	if (d)
		closedir(d);
	return n;
}

void ap_live_path(const char *segment, char *out, size_t cap)
{
	snprintf(out, cap, "/dev/shm/%s.top", segment[0] == '/' ? segment + 1 : segment);
}

static void write_file(const char *path, const char *buf, size_t len)
{
	char tmp[320];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, len) != (ssize_t)len || fchmod(fd, 0600)) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path))
		unlink(tmp);
}

/* record --top: the frame on the terminal (stderr), the cursor home. The
 * workload's own output to the same terminal is overdrawn each second; its
 * report and summary come after the view is gone. */
static void draw(struct ap_session *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *nc = getenv("NO_COLOR");

	if (!f)
		return;
	if (!s->top_drawn)
		fputs("\033[?1049h", f);	/* the alternate screen, left at the end of the run */
	s->top_drawn = 1;
	fputs("\033[H\033[2J", f);
	{
		struct winsize ws;
		int w = 120, h = 40;

		if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
			w = ws.ws_col;
			h = ws.ws_row;
		}
		ap_top_frame(f, &s->top, w, h - 1, AP_TOP_SORT_TIME, !(nc && *nc));
	}
	fclose(f);
	if (buf && write(2, buf, len) < 0)
		s->opts.top_tty = 0;
	free(buf);
}

void ap_session_live(struct ap_session *s, uint64_t now)
{
	struct ap_live_reader rd;
	struct rusage ru;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	memset(&rd, 0, sizeof(rd));
	ap_session_take_stock(s);
	rd.segment = s->seg.name;
	rd.seg = &s->seg;
	rd.drain = &s->drain;
	rd.names = &s->names;
	rd.totals = s->totals;
	rd.cost_ns = s->cost_ns;
	rd.cpus = s->cpus;
	rd.uptime_ns = now - s->t0_ns;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		rd.cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u +
			    (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
		rd.rss_kib = (uint64_t)ru.ru_maxrss;
	}
	ap_live_snapshot(&s->live, &rd, now, &s->top);
	s->top.pid = (uint64_t)getpid();
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	ap_top_json(f, &s->top, AP_TOP_SORT_TIME);
	fclose(f);
	if (buf)
		write_file(s->live_path, buf, len);
	free(buf);
	if (s->opts.top_tty)
		draw(s);
}
