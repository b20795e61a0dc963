/* SPDX-License-Identifier: MIT */
/*
 * sink.h - what the fuzz harnesses render into: a FILE that counts bytes and
 * keeps none, and the check that a render stayed inside its bound. A render
 * past its bound aborts, which the fuzzer reports as a finding.
 */
#ifndef AP_FUZZ_SINK_H
#define AP_FUZZ_SINK_H

#include <stdint.h>
#include <stdio.h>

#include "run.h"

struct sink {
	uint64_t bytes;
};

/* A FILE that counts into s. */
FILE *sink_open(struct sink *s);

/* Render r as report.json and as text into sinks; abort past their bounds. */
void sink_render_run(const struct ap_run *r, const struct ap_settings *set);

/* Abort with a message when `got` is past `bound`. */
void sink_check(const char *what, uint64_t got, uint64_t bound);

#endif /* AP_FUZZ_SINK_H */
