/* SPDX-License-Identifier: MIT */
/*
 * bench_otlp.c - what --otlp costs per span, in its two parts: the drain
 * thread's copy of each trace into a raw batch (ap_otlp_raw_add), and the
 * sender thread's encoding of a raw batch into an OTLP request
 * (ap_otlp_raw_encode: protobuf, or JSON with --json). Traces of 7 spans
 * (a root, children, grandchildren, tokens on one llm call), batches of 512
 * spans. Prints "otlp_copy_ns" and "otlp_encode_pb_ns" (or _json_), ns per
 * span: median min max of ROUNDS.
 *
 *   bench-otlp [--json] [SPANS [ROUNDS]]      (defaults 1048576, 5)
 *
 * With --session URL ROUNDS: the reader in a session (record's reader: drain,
 * rebuild, full analysis) over bench_reader's synthetic stream (4 M events
 * of 7-span traces in one lane), with --otlp URL and without, rounds
 * interleaved; prints the events/s of each, their ratio per round, and what
 * the sender did with the spans (most are dropped, counted: no sender keeps
 * up with a drain at full speed). Then the sender alone: a smaller stream
 * (256 K events) with a queue that holds it all, timed until every span is
 * delivered to URL: spans/s the sender sustains (a fifth argument,
 * --no-sender, skips it: for a URL nobody listens on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <unistd.h>

#include "fill_lane.h"
#include "file.h"
#include "otlp.h"
#include "session.h"

struct job {
	const struct ap_otlp_raw *r;
	struct ap_otlp_batch *b;
	const struct ap_otlp_meta *m;
	const struct ap_otlp_clock *clk;
};

/* JSON goes through the same buffered stream the session uses. */
static int fill(FILE *f, void *ctx)
{
	struct job *j = ctx;

	return ap_otlp_raw_encode(j->r, j->b, j->m, j->clk, f, NULL, NULL);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One session round over cap events, with --otlp url when url is set.
 * Events/s of the drain (until the lane is empty), or -1; *st gets the
 * sender's counts after its queue was sent (drain_s at most), *send_s the
 * time from the start until then. */
static double session_round(uint64_t cap, const char *url, uint64_t queue, uint32_t drain_s,
			    struct ap_otlp_stats *st, double *send_s)
{
	struct ap_run_opts o;
	struct ap_otlp_cfg cfg;
	struct ap_session *s = calloc(1, sizeof(*s));
	uint64_t n, got = 0, t0, t1;
	const char *why;
	double rate;

	ap_run_opts_default(&o);
	o.seg.lanes = 1;
	o.seg.lane_events = (uint32_t)cap;
	o.out_dir = "/tmp";
	if (url) {
		if (ap_otlp_cfg_load(&cfg, url, &why) != 1)
			return -1;
		o.otlp = &cfg;
		o.otlp_queue_bytes = queue;
		o.otlp_drain_s = drain_s;
	}
	if (!s || ap_session_open(s, &o))
		return -1;
	n = bench_fill_lane(&s->seg, cap);
	atomic_store(&s->seg.lanes[0].head, n);
	t0 = ap_mono_ns();
	while (got < n) {
		t1 = ap_mono_ns();
		got += ap_drain_pass(&s->drain);
		ap_asm_flush(&s->as);
		if (s->otlp_on)
			ap_session_otlp_pass(s, t1);
	}
	t1 = ap_mono_ns();
	rate = (double)n / ((double)(t1 - t0) / 1e9);
	if (url) {
		ap_session_otlp_stop(s);
		*send_s = (double)(ap_mono_ns() - t0) / 1e9;
		ap_otlp_stats(&s->otlp, st);
		if (st->spans_queued != s->as.begins ||
		    st->spans_queued != st->spans_sent + st->spans_dropped_queue_full + st->spans_dropped_shutdown +
					st->spans_rejected + st->spans_failed + st->spans_in_queue)
			rate = -1;
		ap_otlp_cfg_free(&cfg);
	}
	ap_session_close(s);
	free(s);
	return rate;
}

static int session_bench(const char *url, int rounds, int sender)
{
	double plain[64], with[64], ratio[64], sent[64], send_rate[64];
	struct ap_otlp_stats st;
	uint64_t cap = 1u << 22, queue = 64ull << 20;
	double send_s;

	if (getenv("BENCH_OTLP_QUEUE_MIB"))	/* the queue's share of the cost (default 64) */
		queue = (uint64_t)(atof(getenv("BENCH_OTLP_QUEUE_MIB")) * 1048576.0);

	for (int r = 0; r < rounds; r++) {
		if ((plain[r] = session_round(cap, NULL, 0, 0, &st, &send_s)) < 0 ||
		    (with[r] = session_round(cap, url, queue, 0, &st, &send_s)) < 0) {
			fprintf(stderr, "bench-otlp: session round failed\n");
			return 1;
		}
		ratio[r] = with[r] / plain[r];
		sent[r] = (double)st.spans_sent + (double)st.spans_dropped_shutdown;	/* taken before the end */
		if (r == rounds - 1)
			printf("otlp_last_round queued %llu sent %llu dropped_queue_full %llu dropped_shutdown %llu peak %llu\n",
			       (unsigned long long)st.spans_queued, (unsigned long long)st.spans_sent,
			       (unsigned long long)st.spans_dropped_queue_full,
			       (unsigned long long)st.spans_dropped_shutdown, (unsigned long long)st.queue_peak_bytes);
	}
	qsort(plain, (size_t)rounds, sizeof(double), cmp);
	qsort(with, (size_t)rounds, sizeof(double), cmp);
	qsort(ratio, (size_t)rounds, sizeof(double), cmp);
	qsort(sent, (size_t)rounds, sizeof(double), cmp);
	printf("reader_session_events_per_s %.0f %.0f %.0f\n", plain[rounds / 2], plain[0], plain[rounds - 1]);
	printf("reader_otlp_events_per_s %.0f %.0f %.0f\n", with[rounds / 2], with[0], with[rounds - 1]);
	printf("reader_otlp_ratio %.3f %.3f %.3f\n", ratio[rounds / 2], ratio[0], ratio[rounds - 1]);
	fflush(stdout);
	if (!sender)
		return 0;
	/* The sender alone: 256 K events (about 110 K spans), all delivered. */
	for (int r = 0; r < rounds; r++) {
		if (session_round(1u << 18, url, 1ull << 30, 600, &st, &send_s) < 0 ||
		    st.spans_sent != st.spans_queued) {
			fprintf(stderr, "bench-otlp: sender round failed (%llu of %llu sent)\n",
				(unsigned long long)st.spans_sent, (unsigned long long)st.spans_queued);
			return 1;
		}
		send_rate[r] = (double)st.spans_sent / send_s;
	}
	qsort(send_rate, (size_t)rounds, sizeof(double), cmp);
	printf("sender_spans_per_s %.0f %.0f %.0f\n", send_rate[rounds / 2], send_rate[0], send_rate[rounds - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	int json = argc > 1 && !strcmp(argv[1], "--json");

	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--session"))
		return session_bench(argv[2], atoi(argv[3]) > 0 && atoi(argv[3]) <= 64 ? atoi(argv[3]) : 5,
				     argc == 4);
	{
	uint64_t total = argc > 1 + json ? strtoull(argv[1 + json], NULL, 10) : 1u << 20;
	int rounds = argc > 2 + json ? atoi(argv[2 + json]) : 5;
	struct ap_names names;
	struct ap_otlp_resource res;
	struct ap_otlp_batch b;
	struct ap_otlp_clock clk;
	struct ap_span v[7];
	uint32_t parent[7] = { AP_NONE, 0, 0, 0, 1, 1, 3 };
	double r[64], e[64];
	const char *nm[7] = { "workflow", "context_assembly", "llm:classify", "tool:search_kb", "memory:retrieve",
			      "build_prompt", "tool:format" };
	uint8_t cat[7] = { AP_CAT_INTERNAL, AP_CAT_INTERNAL, AP_CAT_LLM, AP_CAT_TOOL, AP_CAT_MEMORY,
			   AP_CAT_INTERNAL, AP_CAT_TOOL };
	if (rounds < 1 || rounds > 64 || ap_names_init(&names))
		return 2;
	for (int i = 0; i < 7; i++)
		ap_names_add(&names, 1000 + (uint64_t)i, nm[i], (uint32_t)strlen(nm[i]));
	ap_names_add(&names, 2000, "gpt-4o-mini", 11);
	memset(&clk, 0, sizeof(clk));
	clk.cal.mult = 1ull << 32;	/* 1 ns per tick */
	clk.mono_to_unix = 1700000000000000000ll;
	ap_otlp_resource_env(&res, &names);
	ap_otlp_batch_init(&b);
	for (int k = 0; k < rounds; k++) {
		uint64_t copy = 0, enc = 0, done = 0, id = 1;
		struct ap_otlp_raw raw;

		ap_otlp_raw_init(&raw);
		while (done < total) {
			uint64_t t0;

			for (int i = 0; i < 7; i++) {
				memset(&v[i], 0, sizeof(v[i]));
				v[i].id = id + 2 * (uint64_t)i;
				v[i].parent = parent[i] == AP_NONE ? 0 : id + 2 * parent[i];
				v[i].have = AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END;
				v[i].category = cat[i];
				v[i].pid = 4242;
				v[i].tid_begin = 4242;
				v[i].trace_hi = 0x1234;
				v[i].trace_lo = id;
				v[i].name = 1000 + (uint64_t)i;
				v[i].t_begin = 1000000 + done * 1000 + (uint64_t)i * 10;
				v[i].t_end = v[i].t_begin + 500 - (uint64_t)i * 20;
			}
			v[2].have |= AP_SPAN_HAVE_TOKENS;
			v[2].model = 2000;
			v[2].input_tokens = 450;
			v[2].output_tokens = 30;
			t0 = ap_mono_ns();
			{
				struct ap_trace_view t = { v, parent, 7, NULL, 0, 1, 0 };

				ap_otlp_raw_add(&raw, &t, &names);
			}
			copy += ap_mono_ns() - t0;
			id += 16;
			done += 7;
			if (raw.n >= 512 || done >= total) {
				uint8_t *body = NULL;
				size_t len;
				int err;

				t0 = ap_mono_ns();
				if (json) {
					struct job jb = { &raw, &b, &res.meta, &clk };

					body = (uint8_t *)ap_render_mem(fill, &jb, &len, &err);
				} else {
					ap_otlp_raw_encode(&raw, &b, &res.meta, &clk, NULL, &body, &len);
				}
				enc += ap_mono_ns() - t0;
				free(body);
				ap_otlp_raw_free(&raw);	/* as the sender frees each batch */
			}
		}
		r[k] = (double)copy / (double)done;
		e[k] = (double)enc / (double)done;
	}
	qsort(r, (size_t)rounds, sizeof(double), cmp);
	qsort(e, (size_t)rounds, sizeof(double), cmp);
	/* ns per span: median min max */
	printf("otlp_copy_ns %.1f %.1f %.1f\n", r[rounds / 2], r[0], r[rounds - 1]);
	printf("otlp_encode_%s_ns %.1f %.1f %.1f\n", json ? "json" : "pb", e[rounds / 2], e[0], e[rounds - 1]);
	ap_otlp_batch_free(&b);
	ap_otlp_resource_free(&res);
	ap_names_free(&names);
	return 0;
	}
}
