/* SPDX-License-Identifier: MIT */
/*
 * fuzz_models.c - the model table of `--models FILE`: parsed as the command
 * line does, then used by an analysis of a small trace whose LLM span names
 * a model of it, and rendered into bounded sinks.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis.h"
#include "name.h"
#include "sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_settings set;
	struct ap_names names;
	struct ap_analysis an;
	struct ap_clock_cal clock = { AP_CLOCK_MONOTONIC, 0, 0, UINT64_C(1) << 32, 1000000000 };
	struct ap_span sp[2];
	uint32_t parent[2] = { AP_NONE, 0 };
	struct ap_trace_view t = { sp, parent, 2, NULL, 0, 1, 0 };
	struct ap_run r;
	char path[64];
	int line, fd = memfd_create("fuzz-models", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ap_settings_default(&set);
	ap_models_load(path, set.models, &set.nmodels, AP_MODELS_MAX, &line);
	close(fd);
	if (ap_names_init(&names))
		return 0;
	if (ap_analysis_init(&an, &names, &clock, &set.rules, set.models, set.nmodels, &set.keep))
		goto out;
	memset(sp, 0, sizeof(sp));
	sp[0] = (struct ap_span){ .id = 1, .have = AP_SPAN_HAVE_BEGIN | AP_SPAN_HAVE_END, .pid = 1,
				  .name = 11, .t_begin = 1000, .t_end = 9000 };
	sp[1] = (struct ap_span){ .id = 3, .have = 7, .category = AP_CAT_LLM, .pid = 1, .parent = 1,
				  .name = 12, .model = set.nmodels ? set.models[set.nmodels - 1].id : 13,
				  .t_begin = 2000, .t_end = 8000, .input_tokens = 100000, .output_tokens = 10 };
	ap_analysis_add(&an, &t);
	ap_analysis_end(&an, &(struct ap_assembler){ 0 });
	memset(&r, 0, sizeof(r));
	r.label = "fuzz";
	r.segment = "/fuzz";
	r.clock = clock;
	r.analysis = &an;
	sink_render_run(&r, &set);
out:
	ap_analysis_free(&an);
	ap_names_free(&names);
	return 0;
}
