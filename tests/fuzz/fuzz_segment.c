/* SPDX-License-Identifier: MIT */
/*
 * fuzz_segment.c - the reader against a segment it cannot trust: what a
 * worker that scribbles could leave in shared memory.
 *
 * Two paths per input. (1) Attach: the input is a whole segment file, and
 * ap_seg_attach must refuse or accept it without a fault. (2) Drain: a real
 * segment of a fixed small geometry (2 lanes x 64 events, 64 name slots),
 * whose lane table, rings and name table are overwritten by the input: the
 * drain, the names, the assembler and the analysis run over it as a session
 * would, and the run is rendered into bounded sinks.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis.h"
#include "assemble.h"
#include "drain.h"
#include "names.h"
#include "segment.h"
#include "sink.h"

static struct ap_segment seg;
static char attach_name[64];
static int ready;

static void cleanup(void)
{
	ap_seg_unlink(seg.name);
	ap_seg_unlink(attach_name);
}

static int setup(void)
{
	struct ap_seg_config cfg;
	char name[64];

	ap_seg_config_default(&cfg);
	cfg.lanes = 2;
	cfg.lane_events = 64;
	cfg.name_slots = 64;
	cfg.clock_source = AP_CLOCK_MONOTONIC;	/* no 20 ms calibration */
	snprintf(name, sizeof(name), "/ap-fuzz-%d", (int)getpid());
	snprintf(attach_name, sizeof(attach_name), "/ap-fuzz-attach-%d", (int)getpid());
	if (ap_seg_create(&seg, name, &cfg))
		return -1;
	atexit(cleanup);
	return 0;
}

static void try_attach(const uint8_t *data, size_t size)
{
	struct ap_segment s;
	int fd = shm_open(attach_name, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size && ap_seg_attach(&s, attach_name) == 0)
		ap_seg_unmap(&s);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_settings set;
	struct ap_names names;
	struct ap_analysis an;
	struct ap_assembler as;
	struct ap_drain d;
	struct ap_run r;
	uint8_t *region;
	size_t room;

	if (!ready) {
		if (setup())
			return 0;
		ready = 1;
	}
	try_attach(data, size);
	/* The writers' side of the segment: everything after the header. */
	region = (uint8_t *)seg.base + sizeof(struct ap_seg_header);
	room = seg.size - sizeof(struct ap_seg_header);
	memset(region, 0, room);
	memcpy(region, data, size < room ? size : room);
	ap_settings_default(&set);
	if (ap_names_init(&names))
		return 0;
	if (ap_analysis_init(&an, &names, &seg.clock, &set.rules, set.models, set.nmodels, &set.keep) ||
	    ap_asm_init(&as, 4096, ap_analysis_add, &an) || ap_drain_init(&d, &seg, ap_asm_events, &as))
		goto out;
	for (int pass = 0; pass < 16 && ap_drain_pass(&d); pass++)
		ap_asm_flush(&as);
	ap_drain_check_owners(&d, ap_mono_ns(), 0);
	ap_names_load(&names, &seg);
	ap_asm_finish(&as);
	ap_analysis_end(&an, &as);
	memset(&r, 0, sizeof(r));
	r.label = "fuzz";
	r.segment = seg.name;
	r.lanes = seg.lane_count;
	r.lane_events = seg.lane_capacity;
	r.clock = seg.clock;
	ap_drain_totals(&d, &r.totals);
	ap_run_assembler(&r, &as);
	r.procs = d.procs;
	r.nprocs = d.nprocs;
	r.names_invalid = names.invalid;
	r.names_not_utf8 = names.not_utf8;
	r.ov.events = r.totals.read;
	r.ov.profiled_ns = an.total_trace_ns;
	r.analysis = &an;
	sink_render_run(&r, &set);
out:
	ap_drain_free(&d);
	ap_asm_free(&as);
	ap_analysis_free(&an);
	ap_names_free(&names);
	return 0;
}
