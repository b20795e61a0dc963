/* SPDX-License-Identifier: MIT */
/*
 * top.c - `agentprof top --segment NAME [--once] [--json] [--sort KEY]`: the
 * fleet, live, from the snapshot its `serve` replaces once a second
 * (reader/session/snapshot.c says where and why a file).
 *
 * The snapshot is untrusted input like every file agentprof reads: parsed
 * with Jansson (strict), every number clamped to its range, every string
 * repaired to UTF-8 and cut to its field, every array capped; what does not
 * fit is counted, never a crash. The frame renderer (reader/render/top.c)
 * escapes names for the terminal.
 *
 * The interactive view: the alternate screen, the cursor hidden, the
 * terminal in non-canonical mode without echo; a frame each second or at a
 * key; t/c/p/e sort by busy time, count, P95, errors; q (or Ctrl-C, SIGTERM)
 * quits and restores the terminal exactly as it was. A terminal smaller than
 * the frame needs says so instead of drawing.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "labels.h"
#include "text.h"
#include "top.h"

#define SNAPSHOT_MAX	(8u << 20)	/* bytes: a snapshot is a few KiB to a few hundred */

static const char top_usage[] =
	"usage: agentprof top --segment NAME [--once] [--json] [--sort time|count|p95|errors]\n"
	"  the live view of the fleet that `agentprof serve --segment NAME` drains:\n"
	"  operations (starts and completions per second, P50/P95 over the last\n"
	"  seconds, busy time, errors), the oldest spans in flight, processes\n"
	"  --once   print one frame and exit\n"
	"  --json   print the snapshot as JSON and exit\n"
	"  --sort   order of the operations (default time); keys t c p e in the view\n"
	"  keys: t time, c count, p p95, e errors, q quit\n";

static double num(json_t *o, const char *key, double lo, double hi)
{
	json_t *v = json_object_get(o, key);
	double d = json_is_number(v) ? json_number_value(v) : 0;

	if (!(d >= lo))	/* NaN too */
		d = lo;
	return d > hi ? hi : d;
}

static uint64_t unum(json_t *o, const char *key, uint64_t hi)
{
	json_t *v = json_object_get(o, key);
	json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;

	if (i < 0)
		return 0;
	return (uint64_t)i > hi ? hi : (uint64_t)i;
}

static void str(json_t *o, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));
	char buf[4 * AP_TOP_NAME_MAX];
	size_t n = 0, len;

	out[0] = '\0';
	if (!s)
		return;
	len = strnlen(s, AP_TOP_NAME_MAX - 1);
	ap_utf8_repair(s, len, buf, sizeof(buf), &n);
	if (n >= cap)
		n = cap - 1;
	while (n && ((unsigned char)buf[n] & 0xc0) == 0x80)
		n--;	/* never cut inside a sequence */
	memcpy(out, buf, n);
	out[n] = '\0';
}

static uint8_t category(json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "category"));

	for (uint8_t c = 0; s && c < AP_CAT_COUNT; c++)
		if (strcmp(s, ap_cat_name(c)) == 0)
			return c;
	return AP_CAT_COUNT;	/* "?" */
}

/* The snapshot at path into t. 0, -ENOENT (none), -EINVAL (not a snapshot). */
static int load(const char *path, struct ap_top *t)
{
	struct ap_top_op *ops = t->ops;
	json_error_t e;
	struct stat st;
	json_t *j, *a, *o;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > SNAPSHOT_MAX)
		return -EINVAL;
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return -EINVAL;
	}
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	str(j, "segment", t->segment, sizeof(t->segment));
	t->pid = unum(j, "reader_pid", UINT32_MAX);
	t->uptime_s = num(j, "uptime_s", 0, 1e9);
	t->window_s = num(j, "window_s", 0, 1e6);
	t->lanes = (uint32_t)unum(j, "lanes", AP_LANES_MAX);
	t->lanes_in_use = (uint32_t)unum(j, "lanes_in_use", t->lanes);
	t->events_per_s = num(j, "events_per_s", 0, 1e12);
	t->spans_per_s = num(j, "spans_per_s", 0, 1e12);
	t->tokens_per_s = num(j, "tokens_per_s", 0, 1e15);
	o = json_object_get(j, "drops_per_s");
	t->dropped_full_per_s = num(o, "full", 0, 1e12);
	t->dropped_no_lane_per_s = num(o, "no_lane", 0, 1e12);
	t->dropped_reentrant_per_s = num(o, "reentrant", 0, 1e12);
	o = json_object_get(j, "reader");
	t->reader_lag = unum(o, "lag_events", UINT64_C(1) << 52);
	t->reader_cpu_pct = num(o, "cpu_pct", 0, 1e5);
	t->reader_rss_kib = unum(o, "rss_kib", UINT64_C(1) << 40);
	t->overhead_pct = num(j, "overhead_pct", 0, 1e4);
	t->traces_in_flight = unum(j, "traces_in_flight", UINT64_C(1) << 52);
	t->traces_timed_out = unum(j, "traces_timed_out", UINT64_C(1) << 52);
	t->in_flight_total = unum(j, "in_flight_total", UINT64_C(1) << 52);
	a = json_object_get(j, "in_flight");
	for (size_t i = 0; i < json_array_size(a) && t->n_in_flight < AP_TOP_IN_FLIGHT_MAX; i++) {
		struct ap_top_span *s = &t->in_flight[t->n_in_flight++];

		o = json_array_get(a, i);
		str(o, "name", s->name, sizeof(s->name));
		s->category = category(o);
		s->pid = (uint32_t)unum(o, "pid", UINT32_MAX);
		s->tid = (uint32_t)unum(o, "tid", UINT32_MAX);
		s->age_ms = unum(o, "age_ms", UINT64_C(1) << 52);
	}
	if (t->in_flight_total < t->n_in_flight)
		t->in_flight_total = t->n_in_flight;
	a = json_object_get(j, "operations");
	for (size_t i = 0; i < json_array_size(a); i++) {
		struct ap_top_op *op;

		if (t->nops == AP_TOP_OPS_MAX) {
			t->ops_over_cap++;
			continue;
		}
		op = &t->ops[t->nops++];
		o = json_array_get(a, i);
		str(o, "name", op->name, sizeof(op->name));
		op->category = category(o);
		op->starts_per_s = num(o, "starts_per_s", 0, 1e12);
		op->completions_per_s = num(o, "completions_per_s", 0, 1e12);
		op->p50_ms = json_is_number(json_object_get(o, "p50_ms")) ? num(o, "p50_ms", 0, 1e12) : -1;
		op->p95_ms = json_is_number(json_object_get(o, "p95_ms")) ? num(o, "p95_ms", 0, 1e12) : -1;
		op->busy_ms_per_s = num(o, "busy_ms_per_s", 0, 1e12);
		op->errors = unum(o, "errors", UINT64_C(1) << 52);
		op->in_flight = unum(o, "in_flight", UINT64_C(1) << 52);
	}
	t->ops_over_cap += unum(j, "operations_over_cap", UINT64_C(1) << 52);
	a = json_object_get(j, "processes");
	for (size_t i = 0; i < json_array_size(a); i++) {
		struct ap_top_proc *p;

		if (t->nprocs == AP_TOP_PROCS_MAX) {
			t->procs_over_cap++;
			continue;
		}
		p = &t->procs[t->nprocs++];
		o = json_array_get(a, i);
		p->pid = (uint32_t)unum(o, "pid", UINT32_MAX);
		p->spans_per_s = num(o, "spans_per_s", 0, 1e12);
		p->in_flight = unum(o, "in_flight", UINT64_C(1) << 52);
		p->lanes = unum(o, "lanes", AP_LANES_MAX);
	}
	t->procs_over_cap += unum(j, "processes_over_cap", UINT64_C(1) << 52);
	json_decref(j);
	return 0;
}

static volatile sig_atomic_t stop, resized;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static void size_of(int fd, int *w, int *h)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		*w = ws.ws_col;
		*h = ws.ws_row;
	} else {
		*w = 132;
		*h = 0;
	}
}

/* One frame into memory, then to the terminal in one write. */
static void draw(const struct ap_top *t, int have, const char *why, enum ap_top_sort sort, int color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int w, h;

	if (!f)
		return;
	size_of(1, &w, &h);
	fputs("\033[H\033[2J", f);
	/* One line fewer than the screen: a newline on the last one would
	 * scroll the frame's first line away. */
	if (w < AP_TOP_MIN_WIDTH || (h && h < AP_TOP_MIN_HEIGHT + 1)) {
		char msg[120], cell[AP_TEXT_NAME_BUF];

		snprintf(msg, sizeof(msg), "terminal %dx%d too small, need %dx%d", w, h, AP_TOP_MIN_WIDTH,
			 AP_TOP_MIN_HEIGHT + 1);
		fprintf(f, "%s", ap_text_cell(msg, w, 0, cell, sizeof(cell)));
	} else if (have) {
		ap_top_frame(f, t, w, h > 1 ? h - 1 : h, sort, color);
	}
	if (why) {
		char cell[AP_TEXT_NAME_BUF];

		fprintf(f, "%s", ap_text_cell(why, w, 0, cell, sizeof(cell)));
	}
	fclose(f);
	if (buf && write(1, buf, len) < 0)
		stop = 1;
	free(buf);
}

static int interactive(const char *path, struct ap_top *t, enum ap_top_sort sort, int color)
{
	struct termios old, raw;
	struct sigaction sa;
	int have = 0;
	char why[400];

	if (tcgetattr(0, &old)) {
		fprintf(stderr, "agentprof top: the view needs a terminal (use --once or --json)\n");
		return AP_EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(0, TCSANOW, &raw);
	fputs("\033[?1049h\033[?25l", stdout);	/* alternate screen, cursor hidden */
	fflush(stdout);
	while (!stop) {
		struct pollfd pfd = { 0, POLLIN, 0 };
		int ret = load(path, t);
		char c;

		why[0] = '\0';
		if (ret == 0)
			have = 1;
		else
			snprintf(why, sizeof(why), "no snapshot at %s (%s): is serve still running?", path,
				 ret == -ENOENT ? "gone" : "unreadable");
		draw(t, have, why[0] ? why : NULL, sort, color);
		if (poll(&pfd, 1, 1000) > 0 && read(0, &c, 1) == 1) {
			switch (c) {
			case 'q': case 'Q': stop = 1; break;
			case 't': sort = AP_TOP_SORT_TIME; break;
			case 'c': sort = AP_TOP_SORT_COUNT; break;
			case 'p': sort = AP_TOP_SORT_P95; break;
			case 'e': sort = AP_TOP_SORT_ERRORS; break;
			default: break;
			}
		}
		resized = 0;
	}
	fputs("\033[?25h\033[?1049l", stdout);	/* cursor back, the screen as it was */
	fflush(stdout);
	tcsetattr(0, TCSANOW, &old);
	return 0;
}

int ap_cmd_top(int argc, char **argv)
{
	const char *segment = NULL, *nc = getenv("NO_COLOR");
	enum ap_top_sort sort = AP_TOP_SORT_TIME;
	int once = 0, json = 0, ret, code = 0;
	char path[300];
	struct ap_top t;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--segment") == 0 && i + 1 < argc) {
			segment = argv[++i];
		} else if (strcmp(argv[i], "--once") == 0) {
			once = 1;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--sort") == 0 && i + 1 < argc) {
			const char *k = argv[++i];

			if (strcmp(k, "time") == 0)
				sort = AP_TOP_SORT_TIME;
			else if (strcmp(k, "count") == 0)
				sort = AP_TOP_SORT_COUNT;
			else if (strcmp(k, "p95") == 0)
				sort = AP_TOP_SORT_P95;
			else if (strcmp(k, "errors") == 0)
				sort = AP_TOP_SORT_ERRORS;
			else {
				fprintf(stderr, "agentprof top: --sort takes time, count, p95 or errors (got '%s')\n%s",
					k, top_usage);
				return AP_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(top_usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "agentprof top: unexpected argument '%s'\n%s", argv[i], top_usage);
			return AP_EXIT_USAGE;
		}
	}
	if (!segment || ap_seg_name_check(segment)) {
		fprintf(stderr, "agentprof top: --segment NAME is needed, as the workers spell it in AGENTPROF_SHM "
			"(got '%s')\n%s", segment ? segment : "", top_usage);
		return AP_EXIT_USAGE;
	}
	ap_live_path(segment, path, sizeof(path));
	if (ap_top_init(&t)) {
		fprintf(stderr, "agentprof top: out of memory\n");
		return AP_EXIT_INTERNAL;
	}
	ret = load(path, &t);
	if (ret) {
		fprintf(stderr, "agentprof top: no live view of %s: %s %s (`agentprof serve --segment %s` writes it "
			"once a second while it runs)\n", segment, path,
			ret == -ENOENT ? "does not exist" : "is not a snapshot", segment);
		ap_top_free(&t);
		return 1;
	}
	if (json) {
		code = ap_top_json(stdout, &t, sort) ? AP_EXIT_INTERNAL : 0;
	} else if (once) {
		int w, h;

		size_of(1, &w, &h);
		if (!isatty(1))
			h = 0;	/* a file or a pipe: the whole frame */
		code = ap_top_frame(stdout, &t, w, h, sort, isatty(1) && !(nc && *nc)) ? AP_EXIT_INTERNAL : 0;
	} else {
		code = interactive(path, &t, sort, isatty(1) && !(nc && *nc));
	}
	ap_top_free(&t);
	return code;
}
