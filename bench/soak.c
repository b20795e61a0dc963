/* SPDX-License-Identifier: MIT */
/*
 * soak.c - a fleet that runs for a while the way fleets do, and one check at
 * the end (`make soak SOAK_S=600`; `make soak-short` for CI).
 *
 *   soak --agentprof PATH --seconds S [--rate SPANS_PER_S] [--workers N]
 *        [--seed X] --out DIR
 *
 * Workers start first; `agentprof serve --interval 1 --trace-timeout 5`
 * comes a second later. Then, at random moments from a seeded generator:
 * a worker is killed with SIGKILL (mid-trace, usually) and replaced, a
 * worker exits and is replaced, the reader is stopped with SIGINT and a new
 * one started under the same name 1 to 2 s later, or the reader is killed
 * with SIGKILL and a new one takes over 0.5 to 1 s later. Every reader
 * writes into a directory of its own, so that its last report stays.
 *
 * Each worker keeps what it knows in a shared page, updated after every
 * trace: events recorded, drops, spans it could not record for want of a
 * reader, and of those the ones its thread has sent with a lane claim. At
 * the end, per worker: events recorded = the events of its pid over every
 * reader's last report + what the next readers counted as lost with a dead
 * one; drops = the drops of its pid; spans without a reader sent = the
 * spans_no_reader of its pid. A worker killed in the middle of a trace (its
 * `pending` flag set) is checked within that trace's 8 events. The readers'
 * RSS is sampled each second. The result is a table; exit 0 when every
 * check holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <agentprof.h>

#define WORKERS_MAX	4096
#define READERS_MAX	256
#define TRACE_EVENTS	8	/* root + 3 children, begin and end each */

struct slot {
	_Atomic int32_t pid;
	_Atomic int32_t stop;		/* set by the driver: exit after this trace */
	_Atomic int32_t pending;	/* inside a trace */
	_Atomic int32_t killed;		/* by the driver, with SIGKILL */
	_Atomic uint64_t recorded, dropped, no_lane, no_reader, no_reader_sent, traces;
};

static struct slot *slots;
static uint64_t rate_per_worker = 125000;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int worker(struct slot *s)
{
	uint64_t root = ap_name("soak:trace"), llm = ap_name("soak:llm"), tool = ap_name("soak:tool"),
		 mem = ap_name("soak:memory"), t0 = now_ns(), done = 0;

	for (;;) {
		struct ap_stats st;
		uint64_t r, a, b;

		if (atomic_load(&s->stop))
			return 0;
		atomic_store(&s->pending, 1);
		r = ap_begin(root, AP_CAT_INTERNAL);
		a = ap_begin(llm, AP_CAT_LLM);
		b = ap_begin(tool, AP_CAT_TOOL);
		ap_end(b);
		ap_end(a);
		ap_end(ap_begin(mem, AP_CAT_MEMORY));
		ap_end(r);
		ap_stats(&st);
		atomic_store(&s->recorded, st.recorded);
		atomic_store(&s->dropped, st.dropped_full + st.dropped_reentrant);
		atomic_store(&s->no_lane, st.dropped_no_lane);
		atomic_store(&s->no_reader, ap_spans_no_reader());
		if (ap_enabled())
			atomic_store(&s->no_reader_sent, ap_spans_no_reader());	/* with this thread's claim */
		atomic_store(&s->traces, ++done);
		atomic_store(&s->pending, 0);
		/* About rate_per_worker spans a second: 4 a trace. */
		if ((done & 255) == 0) {
			uint64_t due = t0 + done * 4 * 1000000000ull / rate_per_worker, t = now_ns();

			if (due > t)
				usleep((useconds_t)((due - t) / 1000));
		}
	}
}

static int nworkers;
static pid_t wpid[WORKERS_MAX];

static void start_worker(const char *seg)
{
	struct slot *s;
	pid_t pid;

	if (nworkers == WORKERS_MAX)
		return;
	s = &slots[nworkers];
	memset(s, 0, sizeof(*s));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setenv("AGENTPROF_SHM", seg, 1);
		_exit(worker(s));
	}
	atomic_store(&s->pid, pid);
	wpid[nworkers++] = pid;
}

struct reader {
	pid_t pid;
	char dir[300];
	int how;		/* 0 running, 1 stopped (SIGINT), 2 killed */
	uint64_t rss_kib[4096];	/* one a second (KiB) */
	uint64_t samples, rss_max;
};

static struct reader readers[READERS_MAX];
static int nreaders;

static void start_reader(const char *ap, const char *seg, const char *out)
{
	struct reader *r = &readers[nreaders];
	pid_t pid;

	snprintf(r->dir, sizeof(r->dir), "%s/serve-%d", out, nreaders);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(ap, "agentprof", "serve", "-q", "--segment", seg, "-o", r->dir, "--interval", "1",
		      "--trace-timeout", "5", (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	nreaders++;
}

static uint64_t rss_of(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lu kB", &kib) == 1)
			break;	/* its own memory: VmRSS also counts the segment's pages it touched */
	if (f)
		fclose(f);
	return kib;
}

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* Uniform enough in [0, n) for n up to 2^48. */
static uint64_t rnd_below(uint64_t n)
{
	return (((uint64_t)rnd() << 24) | rnd()) % n;
}

/* Per pid, summed over every reader's last report. */
struct tally {
	int64_t events, lost, dropped, no_reader;
	int found;
};

/* A pid can come back (a busy machine wraps pid_max within a run): the
 * reports know pids, so workers sharing one are checked together. */
static void merge_same_pid(struct slot *s, int n, int w, int64_t *rec, int64_t *dropped, int64_t *sent, int *pending,
			   int *first)
{
	*first = 1;
	for (int k = 0; k < n; k++) {
		if (k == w || wpid[k] != wpid[w])
			continue;
		if (k < w)
			*first = 0;
		*rec += (int64_t)atomic_load(&s[k].recorded);
		*dropped += (int64_t)atomic_load(&s[k].dropped);
		*sent += (int64_t)atomic_load(&s[k].no_reader_sent);
		*pending += atomic_load(&s[k].pending) && atomic_load(&s[k].killed);
	}
}

static uint64_t *g_unattributed;

static void add_report(const char *dir, struct tally *t, uint64_t *traces_timed_out, uint64_t *reread,
		       uint64_t *spans_total)
{
	char path[400];
	json_t *j, *procs;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	j = json_load_file(path, 0, NULL);
	if (!j)
		return;
	procs = json_object_get(j, "processes");
	for (size_t i = 0; i < json_array_size(procs); i++) {
		json_t *p = json_array_get(procs, i);
		json_int_t pid = json_integer_value(json_object_get(p, "pid"));

		for (int w = 0; w < nworkers; w++) {
			if (wpid[w] != pid)
				continue;
			t[w].found = 1;
			t[w].events += json_integer_value(json_object_get(p, "events"));
			t[w].lost += json_integer_value(json_object_get(p, "lost_with_dead_reader"));
			t[w].dropped += json_integer_value(json_object_get(p, "dropped"));
			t[w].no_reader += json_integer_value(json_object_get(p, "spans_no_reader"));
		}
	}
	*traces_timed_out += (uint64_t)json_integer_value(json_object_get(json_object_get(j, "counts"),
									   "traces_timed_out"));
	*reread += (uint64_t)json_integer_value(json_object_get(json_object_get(j, "counts"), "reread_after_takeover"));
	*spans_total += (uint64_t)json_integer_value(json_object_get(json_object_get(j, "counts"), "spans_complete"));
	*g_unattributed += (uint64_t)json_integer_value(json_object_get(json_object_get(j, "counts"), "lost_unattributed"));
	json_decref(j);
}

int main(int argc, char **argv)
{
	const char *ap = NULL, *out = NULL;
	unsigned seconds = 60, workers = 8;
	uint64_t rate = 1000000, t0, end, next_worker, next_reader, next_sample;
	int reader_events = 0, kills = 0, exits = 0, stops = 0, reader_kills = 0, bad = 0, exact = 0, bounded = 0;
	int gap_lost = 0, ev_bad = 0, drop_bad = 0;
	char seg[64];
	struct tally *t;
	uint64_t timed_out = 0, reread = 0, spans = 0, rec_total = 0, lost_total = 0, unattributed = 0;

	rnd_state = 12345;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--agentprof") == 0)
			ap = argv[i + 1];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--rate") == 0)
			rate = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--workers") == 0)
			workers = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seed") == 0)
			rnd_state = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[i + 1];
	}
	if (!ap || !out || seconds < 5 || workers < 1 || workers > 256 || rate < workers) {
		fprintf(stderr, "usage: soak --agentprof PATH --out DIR [--seconds S >= 5] [--rate SPANS_PER_S] "
			"[--workers 1..256] [--seed X]\n");
		return 2;
	}
	rate_per_worker = rate / workers;
	mkdir(out, 0700);
	slots = mmap(NULL, sizeof(struct slot) * WORKERS_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		return 1;
	snprintf(seg, sizeof(seg), "/agentprof-soak-%d", (int)getpid());
	printf("soak: %u s, %u workers, %llu spans/s asked, segment %s, reports in %s/serve-*\n", seconds, workers,
	       (unsigned long long)rate, seg, out);
	fflush(stdout);
	/* Workers first: they wait for the reader. */
	for (unsigned i = 0; i < workers; i++)
		start_worker(seg);
	sleep_ms(1000);
	start_reader(ap, seg, out);
	t0 = now_ns();
	end = t0 + (uint64_t)seconds * 1000000000u;
	next_worker = t0 + 500000000u + rnd_below(2000000000u);
	next_reader = t0 + 4000000000u + rnd_below((uint64_t)seconds * 1000000000u / 6);
	next_sample = t0;
	while (now_ns() < end) {
		uint64_t n = now_ns();
		struct reader *cur = &readers[nreaders - 1];
		int status;

		/* Reap workers that exited on their own or were killed. */
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		if (n >= next_sample) {
			uint64_t kib = rss_of(cur->pid);

			if (kib && cur->samples < 4096) {
				cur->rss_kib[cur->samples++] = kib;
				if (kib > cur->rss_max)
					cur->rss_max = kib;
			}
			next_sample = n + 1000000000u;
		}
		if (n >= next_worker) {
			/* A live worker, at random: killed mid-trace, or told to exit. */
			int w = (int)(rnd() % (uint32_t)nworkers), tries = 0;

			while ((atomic_load(&slots[w].stop) || atomic_load(&slots[w].killed)) && tries++ < nworkers)
				w = (w + 1) % nworkers;
			if (rnd() % 3) {
				atomic_store(&slots[w].killed, 1);
				kill(wpid[w], SIGKILL);
				kills++;
			} else {
				atomic_store(&slots[w].stop, 1);
				exits++;
			}
			start_worker(seg);
			next_worker = n + 300000000u + rnd_below(1500000000u);
		}
		if (n >= next_reader && n + 3000000000u < end && nreaders < READERS_MAX) {
			if (reader_events++ % 2 == 0) {
				kill(cur->pid, SIGINT);
				waitpid(cur->pid, &status, 0);
				cur->how = 1;
				stops++;
				sleep_ms(1000 + rnd() % 1000);
			} else {
				kill(cur->pid, SIGKILL);
				waitpid(cur->pid, &status, 0);
				cur->how = 2;
				reader_kills++;
				sleep_ms(500 + rnd() % 500);
			}
			start_reader(ap, seg, out);
			next_reader = now_ns() + 4000000000u + rnd_below((uint64_t)seconds * 1000000000u / 5);
		}
		sleep_ms(20);
	}
	/* The end: every worker told to stop, then the last reader. */
	for (int w = 0; w < nworkers; w++)
		atomic_store(&slots[w].stop, 1);
	for (int w = 0; w < nworkers; w++)
		waitpid(wpid[w], NULL, 0);
	sleep_ms(300);
	kill(readers[nreaders - 1].pid, SIGINT);
	waitpid(readers[nreaders - 1].pid, NULL, 0);
	readers[nreaders - 1].how = 1;

	t = calloc((size_t)nworkers, sizeof(*t));
	if (!t)
		return 1;
	g_unattributed = &unattributed;
	for (int r = 0; r < nreaders; r++)
		add_report(readers[r].dir, t, &timed_out, &reread, &spans);
	printf("\n%8s %7s %12s %12s %10s %15s %9s %11s  %s\n", "worker", "fate", "recorded", "reported", "lost_dead",
	       "dropped own/rep", "no_reader", "sent/rep", "check");
	for (int w = 0; w < nworkers; w++) {
		struct slot *s = &slots[w];
		int64_t rec = (int64_t)atomic_load(&s->recorded), got = t[w].events + t[w].lost;
		int64_t dropped = (int64_t)atomic_load(&s->dropped), sent = (int64_t)atomic_load(&s->no_reader_sent);
		int pending = atomic_load(&s->pending) && atomic_load(&s->killed), ok, ev_ok, drop_ok, gap_ok, first;
		const char *why = "ok";

		merge_same_pid(slots, nworkers, w, &rec, &dropped, &sent, &pending, &first);
		if (!first)
			continue;	/* checked with the first worker of its pid */
		ev_ok = (t[w].found || rec == 0) &&
			(pending ? got >= rec && got <= rec + pending * TRACE_EVENTS : got == rec);
		drop_ok = t[w].dropped == dropped && atomic_load(&s->no_lane) == 0;
		/* A CLAIM a dead reader read and the writers overwrote takes its
		 * gap count with it: reported less, and the loss counted. */
		gap_ok = t[w].no_reader == sent;
		if (!gap_ok && t[w].no_reader < sent && t[w].lost > 0) {
			gap_lost++;
			gap_ok = 1;
			why = "ok (its gap count was in a CLAIM lost with a dead reader)";
		}
		ok = ev_ok && drop_ok && gap_ok;
		if (!ok)
			why = !ev_ok ? "MISMATCH: events" : !drop_ok ? "MISMATCH: drops" : "MISMATCH: spans without a reader";
		else if (pending)
			why = "ok (killed mid-trace: within 8)";
		ev_bad += !ev_ok;
		drop_bad += !drop_ok;
		bad += !ok;
		exact += ok && !pending;
		bounded += ok && pending;
		rec_total += (uint64_t)rec;
		lost_total += (uint64_t)t[w].lost;
		if (!ok || w < 12 || w >= nworkers - 2)
			printf("%8d %7s %12lld %12lld %10lld %7llu/%-7lld %9llu %5llu/%-5lld  %s\n", wpid[w],
			       atomic_load(&s->killed) ? "killed" : "exited", (long long)rec, (long long)t[w].events,
			       (long long)t[w].lost, (unsigned long long)atomic_load(&s->dropped), (long long)t[w].dropped,
			       (unsigned long long)atomic_load(&s->no_reader),
			       (unsigned long long)atomic_load(&s->no_reader_sent), (long long)t[w].no_reader,
			       why);
		else if (w == 12)
			printf("%8s\n", "...");
	}
	printf("\nsoak: %d workers (%d killed, %d exited and replaced), %d readers (%d stopped and restarted, "
	       "%d killed -9 and taken over)\n", nworkers, kills, exits, nreaders, stops, reader_kills);
	printf("soak: events recorded by the workers %llu (%.0f spans/s), lost with a dead reader %llu, read again "
	       "after a takeover %llu, lost with no known owner %llu, traces timed out %llu\n",
	       (unsigned long long)rec_total, (double)rec_total / 2 / seconds, (unsigned long long)lost_total,
	       (unsigned long long)reread, (unsigned long long)unattributed, (unsigned long long)timed_out);
	for (int r = 0; r < nreaders; r++)
		if (readers[r].samples >= 3)
			printf("soak: reader %d (%s) RSS early / middle / end %.1f / %.1f / %.1f MiB, peak %.1f MiB over "
			       "%llu s\n", r, readers[r].how == 2 ? "killed" : "stopped",
			       readers[r].rss_kib[1] / 1024.0, readers[r].rss_kib[readers[r].samples / 2] / 1024.0,
			       readers[r].rss_kib[readers[r].samples - 1] / 1024.0, readers[r].rss_max / 1024.0,
			       (unsigned long long)readers[r].samples);
	printf("soak: %d workers exact, %d within the trace they were killed in, %d whose gap count was lost with a "
	       "dead reader; %d mismatched (events %d, drops %d): %s\n", exact, bounded, gap_lost, bad, ev_bad, drop_bad,
	       bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
