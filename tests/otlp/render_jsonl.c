/* SPDX-License-Identifier: MIT */
/*
 * render_jsonl.c - test tool: replay an event log and write its kept traces
 * with ap_render_otlp_jsonl(), for the OTLP tests to hand to the official
 * schema (tests/consumers/otlp_decode.mjs). Until the export formats have a
 * table of their own, this is how the renderer is reached from outside.
 *
 *   otlp-jsonl LOGFILE OUT.jsonl      exit 0, 1 on a write error, 2 bad log
 *   otlp-jsonl LOGFILE OUT.pb pb      every kept trace in one protobuf
 *                                     ExportTraceServiceRequest, as the sender
 *                                     encodes a batch
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otlp.h"
#include "render.h"
#include "replay.h"

int main(int argc, char **argv)
{
	struct ap_settings set;
	struct ap_replay *rp = calloc(1, sizeof(*rp));
	struct ap_run run;
	struct stat st;
	const char *why = "";
	uint8_t *buf;
	FILE *f;
	int fd, ret;

	if ((argc != 3 && !(argc == 4 && !strcmp(argv[3], "pb"))) || !rp)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		return 2;
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return 2;
	ap_settings_default(&set);
	if (ap_replay_open(rp, &set, buf, (size_t)st.st_size, &why)) {
		fprintf(stderr, "otlp-jsonl: %s: %s\n", argv[1], why);
		return 2;
	}
	ap_replay_run(rp, argv[1], &run);
	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	if (argc == 4) {
		struct ap_otlp_resource res;
		struct ap_otlp_batch b;
		struct ap_otlp_clock clk = { run.clock, run.mono_to_unix_ns };
		const struct ap_kept *k;
		struct ap_pb pb;

		ap_otlp_resource_env(&res, run.analysis->names);
		ap_otlp_batch_init(&b);
		ap_pb_init(&pb);
		ret = 0;
		for (uint32_t i = 0; ret >= 0 && (k = ap_analysis_kept(run.analysis, i)); i++) {
			struct ap_trace_view t = { k->v, k->parent, k->n, NULL, 0, 1, 0 };

			ret = ap_otlp_batch_add(&b, &t, &clk, NULL, NULL, NULL);
		}
		if (ret >= 0)
			ret = ap_otlp_encode_pb(&b, &res.meta, &pb);
		if (!ret && fwrite(pb.p, 1, pb.len, f) != pb.len)
			ret = -EIO;
		ap_pb_free(&pb);
		ap_otlp_batch_free(&b);
		ap_otlp_resource_free(&res);
	} else {
		ret = ap_render_otlp_jsonl(&run, f);
	}
	if (fclose(f) || ret) {
		fprintf(stderr, "otlp-jsonl: write failed\n");
		return 1;
	}
	ap_replay_close(rp);
	free(rp);
	munmap(buf, (size_t)st.st_size);
	return 0;
}
