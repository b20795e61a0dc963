/* SPDX-License-Identifier: MIT */
/*
 * bench_otlp.c - what --otlp costs per span, in its two parts: the drain
 * thread's copy of each trace into a raw batch (ap_otlp_raw_add), and the
 * sender thread's encoding of a raw batch into an OTLP request
 * (ap_otlp_raw_encode: protobuf, or JSON with --json). Traces of 7 spans
 * (a root, children, grandchildren, tokens on one llm call), batches of 512
 * spans. Prints ns per span for each part: median [min, max] of ROUNDS.
 *
 *   bench-otlp [--json] [SPANS [ROUNDS]]      (defaults 1048576, 5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "otlp.h"

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

int main(int argc, char **argv)
{
	int json = argc > 1 && !strcmp(argv[1], "--json");
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
	printf("otlp drain copy: %.1f ns per span [%.1f, %.1f]\n", r[rounds / 2], r[0], r[rounds - 1]);
	printf("otlp encode (%s, batches of 512, sender thread): %.1f ns per span [%.1f, %.1f]; "
	       "%d rounds of %llu spans\n", json ? "json" : "protobuf", e[rounds / 2], e[0], e[rounds - 1], rounds,
	       (unsigned long long)total);
	ap_otlp_batch_free(&b);
	ap_otlp_resource_free(&res);
	ap_names_free(&names);
	return 0;
}
