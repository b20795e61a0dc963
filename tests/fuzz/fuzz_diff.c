/* SPDX-License-Identifier: MIT */
/*
 * fuzz_diff.c - `agentprof diff` over a report.json (or a log) a user hands
 * it: the input is both sides, the comparison is printed as text and as
 * JSON into a sink whose size is held to a bound that follows from the
 * input's size.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "diff.h"
#include "sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_settings set;
	char path[64];
	int fd = memfd_create("fuzz-report.json", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ap_settings_default(&set);
	for (int json = 0; json < 2; json++) {
		struct ap_diff_opts o = { .threshold_pct = 10, .min_ms = 5, .min_kib = 1024, .json = json, .set = &set };
		struct sink s;
		FILE *f = sink_open(&s);

		if (!f)
			break;
		o.out = f;
		fflush(stderr);
		ap_diff_main(path, path, &o);
		fclose(f);
		/* A line or an object per operation, each under a few escaped
		 * names: at most some tens of times the input, plus the tables
		 * a log's own report could add. */
		sink_check(json ? "diff --json" : "diff", s.bytes, 64 * (uint64_t)size + (4u << 20));
	}
	close(fd);
	return 0;
}
