/* SPDX-License-Identifier: MIT */
/*
 * fuzz_log.c - the event log's reader, the path `agentprof report FILE`
 * takes: scan, replay into a run, render report.json and the text report.
 *
 * The first byte chooses a mode: odd, the blocks' checksums are recomputed
 * before the replay (every plausible block header gets the sum of what
 * follows it), so that the fuzzer reaches the codec and the records behind
 * the checksums; even, the bytes go in as they are (the scanner itself).
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "replay.h"
#include "sink.h"

static void fix_checksums(uint8_t *b, size_t len)
{
	size_t p = 0;

	while (p + sizeof(struct ap_log_block) <= len) {
		struct ap_log_block h;
		XXH3_state_t st;

		memcpy(&h, b + p, sizeof(h));
		if (h.magic != AP_LOG_MAGIC || h.len > len - p - sizeof(h)) {
			p++;
			continue;
		}
		h.sum = 0;
		XXH3_64bits_reset(&st);
		XXH3_64bits_update(&st, &h, sizeof(h));
		XXH3_64bits_update(&st, b + p + sizeof(h), h.len);
		h.sum = XXH3_64bits_digest(&st);
		memcpy(b + p, &h, sizeof(h));
		p += sizeof(h) + h.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_settings set;
	struct ap_replay *rp;
	struct ap_run run;
	const char *why;
	uint8_t *buf;

	if (size < 1)
		return 0;
	buf = malloc(size);
	rp = calloc(1, sizeof(*rp));
	if (!buf || !rp)
		goto out;
	memcpy(buf, data + 1, size - 1);
	if (data[0] & 1)
		fix_checksums(buf, size - 1);
	ap_settings_default(&set);
	if (ap_replay_open(rp, &set, buf, size - 1, &why) == 0) {
		ap_replay_run(rp, "fuzz.log", &run);
		sink_render_run(&run, &rp->set);
	}
	ap_replay_close(rp);
out:
	free(rp);
	free(buf);
	return 0;
}
