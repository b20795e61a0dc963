/* SPDX-License-Identifier: MIT */
/*
 * bound.c - how large a report can be (render.h). Each figure below is a
 * generous worst case for one row of a table (its keys, its indentation, its
 * numbers, its names escaped at six bytes per byte), times the table's cap.
 * The sum is far above what real runs write; its point is that it exists:
 * nothing the input says can make a report larger.
 */
#include "ap_shm.h"
#include "html.h"
#include "memory.h"
#include "render.h"
#include "report.h"

#define NAME_ESC	(6u * AP_NAME_MAX + 2)	/* a JSON string of the worst name */
#define FIXED		(64u << 10)		/* the sections with no table */

uint64_t ap_report_bound(const struct ap_settings *set, uint64_t nprocs, uint64_t nlanes, int json)
{
	uint64_t nodes = (uint64_t)set->keep.max_traces * TREE_NODES, b = FIXED;

	if (nodes > set->keep.max_spans)
		nodes = set->keep.max_spans;
	if (!json) {
		/* Text: a few fixed-length tables, each line at most a few names. */
		b += (20 + 256 + 32 + 2 * 40) * (uint64_t)(4 * AP_NAME_MAX + 200);	/* ops, models, threads, flames */
		b += (uint64_t)AP_FINDINGS_MAX * (3 * 4 * 256);				/* findings: escaped messages */
		b += (uint64_t)(AP_CONCS_MAX + AP_GROUPS_MAX * 9) * (4 * AP_NAME_MAX + 120);
		b += (32 + 20) * (uint64_t)(4 * AP_NAME_MAX + 200) + 1024;		/* memory: processes, operations */
		return b;
	}
	b += nodes * (2 * NAME_ESC + 24 * 2 * 16 + 400);			/* kept trees */
	b += (uint64_t)AP_OPS_MAX * (NAME_ESC + 600);
	b += (uint64_t)AP_CALLS_MAX * (2 * NAME_ESC + 200);
	b += (uint64_t)AP_MODELS_USED_MAX * (NAME_ESC + 300);
	b += (uint64_t)AP_GROUPS_MAX * ((AP_GROUP_MAX_MEMBERS + 1) * NAME_ESC + 300);
	b += (uint64_t)AP_CONCS_MAX * (NAME_ESC + 200);
	b += (uint64_t)AP_FINDINGS_MAX * (2 * NAME_ESC + 4 * 6 * 256);
	b += (uint64_t)AP_THREADS_MAX * 150;
	b += nprocs * 200 + nlanes * 400;
	b += nodes * 40;							/* rss_delta_kib */
	b += (uint64_t)AP_MEM_PROCS * 400 + (uint64_t)AP_OPS_MAX * (NAME_ESC + 400);	/* memory */
	return b;
}

/*
 * The exports: per kept span, the largest of trace.json's event (its name
 * and model escaped, ids, args, a thread's metadata), speedscope's two
 * events and frame, and report.html's boxes (the name three times escaped
 * as XML, at most six bytes a byte, in up to three pictures); per flame
 * path, a folded line of up to 128 frames, a pprof sample of up to
 * AP_PATHS_MAX locations, and its box; plus report.html's tables, its RSS
 * charts (per sample drawn a hover column of about 190 bytes at worst and
 * two points of a path; per chart its captions, an axis of at most 50
 * labels and a growth finding escaped; the pids it lists as not drawn) and
 * the whole text report.
 */
uint64_t ap_export_bound(const struct ap_settings *set, uint64_t nprocs, uint64_t nlanes)
{
	uint64_t spans = set->keep.max_spans, paths = AP_PATHS_MAX, b = FIXED;

	b += spans * (3 * NAME_ESC + 2000);					/* trace.json, speedscope */
	b += (uint64_t)AP_MEM_PROCS * (AP_MEM_SAMPLES + AP_MEM_RECENT) * 160;	/* trace.json RSS tracks */
	b += spans * (4 * NAME_ESC + 1600) + (uint64_t)AP_MEM_PROCS * 1024;	/* traces.otlp.jsonl */
	b += 3 * (uint64_t)2000 * 6 * (3 * NAME_ESC + 600);			/* report.html pictures */
	b += (uint64_t)(AP_HTML_MEM_CHARTS + AP_HTML_MEM_STRIPS) *
	     ((AP_MEM_SAMPLES + AP_MEM_RECENT + 5) * 320 + 16384 + 6 * 512);	/* report.html RSS charts */
	b += 3 * (uint64_t)AP_HTML_MEM_LISTED * 24 + 4096;			/* and what they left out */
	b += paths * (128 * (3 * AP_NAME_MAX + 1) + 32);			/* stacks.folded */
	b += paths * (paths * 10 + 200 + NAME_ESC);				/* profile.pb.gz, uncompressed */
	b += (uint64_t)AP_OPS_MAX * (NAME_ESC + 400) + (uint64_t)AP_FINDINGS_MAX * 4 * 6 * 256;
	b += 6 * ap_report_bound(set, nprocs, nlanes, 0);			/* the text report, escaped */
	return b;
}
