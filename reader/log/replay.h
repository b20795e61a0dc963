/* SPDX-License-Identifier: MIT */
/*
 * replay.h - an event log read back into a run: the same assembler and
 * analysis over the same events, flushed where the live reader flushed,
 * with the settings the run used, so the report is the run's own (retention
 * included: it is seeded).
 */
#ifndef AP_REPLAY_H
#define AP_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"
#include "assemble.h"
#include "evlog.h"
#include "logcodec.h"
#include "names.h"
#include "run.h"

struct ap_replay {
	struct ap_settings set;		/* the run's, from the log (defaults where it had none) */
	struct ap_log_segment seg;
	struct ap_names names;
	struct ap_assembler as;
	struct ap_analysis analysis;
	struct ap_log_scan scan;
	struct ap_log_end end;		/* what TOTALS said; zero when it was not read */
	int complete;			/* the log's TOTALS block was read */
	uint64_t events;		/* events of its intact blocks, replayed */
	struct ap_run_log log;
	int ended;
	struct ap_memory mem;		/* the log's RSS samples (version 3, memory on) */
	struct ap_mem_hold hold;	/* traces waiting for the next round, as in the run */
	int mem_on;
};

/*
 * Replay the log in buf[0..len) with `defaults` for settings the log does
 * not carry. Returns 0 (rp then holds the run; ap_replay_run() describes
 * it); -EINVAL when buf has no intact header or totals to say what it is
 * (the reason in *why); -ENOMEM. rp must be freed with ap_replay_close()
 * whatever the result.
 */
int ap_replay_open(struct ap_replay *rp, const struct ap_settings *defaults, const uint8_t *buf, size_t len,
		   const char **why);

/* The same, keeping whole the traces `keep` says instead of the run's
 * choice (export --all); keep NULL: as ap_replay_open(). */
int ap_replay_open_keep(struct ap_replay *rp, const struct ap_settings *defaults, const struct ap_keep_cfg *keep,
			const uint8_t *buf, size_t len, const char **why);

/* The run record of the replay (its analysis ended on first use); path is
 * the log's name as the report should say it. */
void ap_replay_run(struct ap_replay *rp, const char *path, struct ap_run *r);

void ap_replay_close(struct ap_replay *rp);

#endif /* AP_REPLAY_H */
