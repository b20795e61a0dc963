/* SPDX-License-Identifier: MIT */
/* logcodec.c - HEADER and TOTALS payloads, encoded and decoded side by side (logcodec.h). */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logcodec.h"
#include "name.h"

/* ------------------------------------------------------------------------ */
/* Geometry                                                                  */

static void put_geometry(const struct ap_segment *seg, struct ap_log_geometry *g)
{
	memset(g, 0, sizeof(*g));
	g->version = AP_LOG_VERSION;
	g->fingerprint = ap_layout_fingerprint();
	g->abi = AP_ABI_VERSION;
	g->lanes = seg->lane_count;
	g->lane_events = seg->lane_capacity;
	g->clock_source = seg->clock.source;
	g->seg_bytes = seg->size;
	g->clock_ref_ticks = seg->clock.ref_ticks;
	g->clock_ref_ns = seg->clock.ref_ns;
	g->clock_mult = seg->clock.mult;
	g->clock_hz = seg->clock.hz;
	memcpy(g->segment, seg->name, strnlen(seg->name, sizeof(g->segment) - 1));
}

static int take_geometry(const struct ap_log_geometry *g, struct ap_log_segment *seg)
{
	if (g->version < 1 || g->version > AP_LOG_VERSION || g->fingerprint != ap_layout_fingerprint() ||
	    g->lanes < AP_LANES_MIN || g->lanes > AP_LANES_MAX || g->lane_events < AP_LANE_EVENTS_MIN ||
	    g->lane_events > AP_LANE_EVENTS_MAX || (g->lane_events & (g->lane_events - 1)) ||
	    g->clock_mult == 0 || g->clock_source > AP_CLOCK_CNTVCT)
		return -EINVAL;
	memset(seg, 0, sizeof(*seg));
	seg->version = g->version;
	seg->lanes = g->lanes;
	seg->lane_events = g->lane_events;
	seg->bytes = g->seg_bytes;
	seg->clock.source = g->clock_source;
	seg->clock.ref_ticks = g->clock_ref_ticks;
	seg->clock.ref_ns = g->clock_ref_ns;
	seg->clock.mult = g->clock_mult;
	seg->clock.hz = g->clock_hz;
	memcpy(seg->name, g->segment, strnlen(g->segment, sizeof(g->segment) - 1));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                  */

/* A threshold in millionths of its unit, rounded: the command line has
 * rounded it already, so this is exact. */
static uint64_t to_micro(double v)
{
	return (uint64_t)llround(v * 1e6);
}

static void put_settings(const struct ap_settings *set, struct ap_log_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->max_spans = set->max_spans;
	st->max_traces = set->keep.max_traces;
	st->max_per_root = set->keep.max_per_root;
	st->keep_slowest = set->keep.slowest;
	st->keep_tokens = set->keep.token_threshold;
	st->max_kept_spans = set->keep.max_spans;
	st->seed = set->keep.seed;
	st->llm_chain = set->rules.llm_chain;
	st->llm_self_upct = to_micro(set->rules.llm_self_pct);
	st->tool_upct = to_micro(set->rules.tool_pct);
	st->slow_tool_ns = to_micro(set->rules.slow_tool_ms);
	st->context_upct = to_micro(set->rules.context_pct);
	st->error_upct = to_micro(set->rules.error_pct);
}

/* The settings' bytes in a log of `version`: versions 1 to 3 wrote the
 * first AP_LOG_SETTINGS_V2_SIZE bytes, version 4 added error_upct. */
static size_t settings_size(uint32_t version)
{
	return version >= 4 ? sizeof(struct ap_log_settings) : AP_LOG_SETTINGS_V2_SIZE;
}

/* Settings of a log of `version` into set: each group only when every value
 * of it is in range, else the group keeps its defaults and *rejected is
 * set. The thresholds are held to exactly the ranges of --rule. */
static void take_settings(const uint8_t *p, uint32_t version, struct ap_settings *set, int *rejected)
{
	struct ap_log_settings st;
	struct ap_rules r = set->rules;

	memset(&st, 0, sizeof(st));
	memcpy(&st, p, settings_size(version));
	if (st.max_spans >= 1 && st.max_spans <= UINT32_MAX / 2)
		set->max_spans = (uint32_t)st.max_spans;
	else
		*rejected = 1;
	if (st.max_per_root >= 1 && st.max_traces <= (1u << 20)) {
		set->keep.max_traces = st.max_traces;
		set->keep.max_per_root = st.max_per_root;
		set->keep.slowest = st.keep_slowest;
		set->keep.token_threshold = st.keep_tokens;
		set->keep.max_spans = st.max_kept_spans;
		set->keep.seed = st.seed;
	} else {
		*rejected = 1;
	}
	r.llm_chain = st.llm_chain;
	if (version == 1) {
		struct ap_log_settings_v1 v1;

		memcpy(&v1, p, sizeof(v1));
		r.llm_self_pct = v1.llm_self_pct;
		r.tool_pct = v1.tool_pct;
		r.slow_tool_ms = v1.slow_tool_ms;
		r.context_pct = v1.context_pct;
	} else {
		r.llm_self_pct = (double)st.llm_self_upct / 1e6;
		r.tool_pct = (double)st.tool_upct / 1e6;
		r.slow_tool_ms = (double)st.slow_tool_ns / 1e6;
		r.context_pct = (double)st.context_upct / 1e6;
	}
	if (version >= 4)
		r.error_pct = (double)st.error_upct / 1e6;	/* else: the default */
	if (ap_rules_check(&r) == 0)
		set->rules = r;
	else
		*rejected = 1;
}

/* The model table as "NAME WINDOW\n" lines; returns bytes written. */
static size_t put_models(const struct ap_settings *set, char *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < set->nmodels; i++) {
		int w = snprintf(out + n, cap - n, "%s %" PRIu64 "\n", set->models[i].name, set->models[i].window);

		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	return n;
}

static void take_models(const uint8_t *p, size_t len, struct ap_settings *set)
{
	char line[AP_NAME_MAX + 32];
	size_t i = 0;

	set->nmodels = 0;
	while (i < len && set->nmodels < AP_MODELS_MAX) {
		size_t e = i;
		char *sp, *end;
		unsigned long long w;

		while (e < len && p[e] != '\n')
			e++;
		if (e - i < sizeof(line)) {
			memcpy(line, p + i, e - i);
			line[e - i] = '\0';
			sp = strrchr(line, ' ');
			if (sp && sp != line && strlen(line) - strlen(sp) <= AP_NAME_MAX) {
				*sp = '\0';
				errno = 0;
				w = strtoull(sp + 1, &end, 10);
				if (!errno && !*end && w > 0 && !memchr(line, '\0', (size_t)(sp - line))) {
					struct ap_model *m = &set->models[set->nmodels++];
					uint32_t l = (uint32_t)strlen(line);

					memcpy(m->name, line, l + 1);
					m->id = ap_name_hash(line, l);
					m->window = w;
				}
			}
		}
		i = e + 1;
	}
}

#define GEO_SET	(sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings) + sizeof(struct ap_log_memory))

/* Where the settings' part ends in a log of `version`: version 3 added the
 * memory settings after the settings, version 4 the longer settings. */
static size_t geo_set(uint32_t version)
{
	return sizeof(struct ap_log_geometry) + settings_size(version) +
	       (version >= 3 ? sizeof(struct ap_log_memory) : 0);
}

static void put_memory(const struct ap_settings *set, const struct ap_memory *m, uint8_t *p)
{
	struct ap_log_memory lm = { .interval_ns = set->memory_interval_ns };

	if (m) {
		lm.sample_ns = m->sample_ns;
		lm.sample_reads = m->sample_reads;
	}
	memcpy(p, &lm, sizeof(lm));
}

/* The memory settings of a log: none before version 3; an interval out of
 * the range of --memory-interval is refused (memory off, settings_rejected). */
static void take_memory(const uint8_t *p, uint32_t version, struct ap_settings *set, int *rejected,
			struct ap_log_memory *out)
{
	struct ap_log_memory lm = { 0 };

	if (version >= 3)
		memcpy(&lm, p + sizeof(struct ap_log_geometry) + settings_size(version), sizeof(lm));
	if (lm.interval_ns > (uint64_t)AP_MEM_INTERVAL_MAX_MS * 1000000u) {
		*rejected = 1;
		memset(&lm, 0, sizeof(lm));
	}
	set->memory_interval_ns = lm.interval_ns;
	if (out)
		*out = lm;
}

#define MODELS_ROOM	65536u	/* room for the model table's text */

uint8_t *ap_log_header(const struct ap_segment *seg, const struct ap_settings *set, size_t *len)
{
	size_t cap = GEO_SET + MODELS_ROOM;
	uint8_t *p = calloc(1, cap);

	if (!p)
		return NULL;
	put_geometry(seg, (struct ap_log_geometry *)(void *)p);
	put_settings(set, (struct ap_log_settings *)(void *)(p + sizeof(struct ap_log_geometry)));
	put_memory(set, NULL, p + sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings));
	*len = GEO_SET + put_models(set, (char *)p + GEO_SET, cap - GEO_SET);
	return p;
}

int ap_log_take_header(const uint8_t *p, size_t len, int with_models, struct ap_log_segment *seg,
		       struct ap_settings *set)
{
	struct ap_log_geometry geo;
	size_t gs;

	if (len < sizeof(geo))
		return -EINVAL;
	memcpy(&geo, p, sizeof(geo));
	if (take_geometry(&geo, seg))
		return -EINVAL;
	gs = geo_set(seg->version);
	if (len < gs)
		return -EINVAL;
	take_settings(p + sizeof(geo), seg->version, set, &seg->settings_rejected);
	take_memory(p, seg->version, set, &seg->settings_rejected, NULL);
	if (with_models)
		take_models(p + gs, len - gs, set);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Totals                                                                    */

uint8_t *ap_log_totals(const struct ap_segment *seg, const struct ap_settings *set, const struct ap_run *r,
		       uint64_t events_not_logged, uint32_t block_cap, size_t *len)
{
	const struct ap_drain_totals *t = &r->totals;
	uint32_t np = r->nprocs, nq = r->nquarantined;
	struct ap_log_totals *lt;
	size_t n, cap = GEO_SET + sizeof(*lt) + (size_t)np * sizeof(struct ap_log_proc) +
			(size_t)nq * sizeof(struct ap_log_quarantined) + MODELS_ROOM;
	uint8_t *p;

	if (cap > block_cap) {
		/* Too many processes for one block: keep the totals, drop rows. */
		np = 0;
		nq = 0;
		cap = GEO_SET + sizeof(*lt) + MODELS_ROOM;
	}
	p = calloc(1, cap);
	if (!p)
		return NULL;
	put_geometry(seg, (struct ap_log_geometry *)(void *)p);
	put_settings(set, (struct ap_log_settings *)(void *)(p + sizeof(struct ap_log_geometry)));
	put_memory(set, r->memory, p + sizeof(struct ap_log_geometry) + sizeof(struct ap_log_settings));
	n = GEO_SET;
	lt = (struct ap_log_totals *)(void *)(p + n);
	lt->written = t->written;
	lt->read = t->read;
	lt->dropped_full = t->dropped_full;
	lt->dropped_no_lane = t->dropped_no_lane;
	lt->dropped_reentrant = t->dropped_reentrant;
	lt->rejected = t->rejected;
	lt->claims = t->claims;
	lt->in_ring = t->in_ring;
	lt->quarantined_lanes = t->quarantined_lanes;
	lt->reclaimed_lanes = t->reclaimed_lanes;
	lt->names_full = t->names_full;
	lt->attaches = t->attaches;
	lt->lost_quarantined = t->lost_quarantined;
	lt->sampled_out = t->sampled_out;
	lt->names_invalid = r->names_invalid;
	lt->procs_over_cap = r->procs_over_cap + (r->nprocs - np);
	lt->duration_ns = r->run_ns;
	lt->workload_cpu_ns = r->ov.workload_cpu_ns;
	lt->cost16 = r->ov.cost16;
	lt->setup_ns = r->ov.setup_ns;
	lt->cpus = r->ov.cpus;
	lt->cost_measurements = r->ov.measurements;
	lt->exit_status = r->exit_known ? r->exit_status : -1;
	lt->events_not_logged = events_not_logged;
	lt->nprocs = np;
	lt->nquarantined = nq;
	n += sizeof(*lt);
	for (uint32_t i = 0; i < np; i++, n += sizeof(struct ap_log_proc)) {
		const struct ap_proc_row *pr = &r->procs[i];
		struct ap_log_proc lp = { .pid = pr->pid, .threads = pr->threads, .spans = pr->spans,
					  .events = pr->events, .dropped = pr->dropped,
					  .lanes_claimed = pr->lanes_claimed };

		memcpy(p + n, &lp, sizeof(lp));
	}
	for (uint32_t i = 0; i < nq; i++, n += sizeof(struct ap_log_quarantined)) {
		struct ap_log_quarantined q = { .lane = r->quarantined[i].lane,
						.events_read = r->quarantined[i].events_read };

		snprintf(q.reason, sizeof(q.reason), "%s", r->quarantined[i].reason);
		memcpy(p + n, &q, sizeof(q));
	}
	*len = n + put_models(set, (char *)p + n, cap - n);
	return p;
}

int ap_log_peek_duration(const uint8_t *p, size_t len, uint64_t *ns)
{
	struct ap_log_totals lt;
	struct ap_log_geometry geo;
	size_t gs;

	if (len < sizeof(geo))
		return -EINVAL;
	memcpy(&geo, p, sizeof(geo));
	gs = geo_set(geo.version);
	if (len < gs + sizeof(lt))
		return -EINVAL;
	memcpy(&lt, p + gs, sizeof(lt));
	*ns = lt.duration_ns;
	return 0;
}

int ap_log_take_totals(const uint8_t *p, size_t len, const struct ap_log_segment *seg, struct ap_settings *set,
		       struct ap_log_end *end)
{
	size_t off = geo_set(seg->version), need;
	struct ap_log_totals lt;
	struct ap_log_memory lm;
	struct ap_settings mset = *set;
	int rejected = 0;

	memset(end, 0, sizeof(*end));
	if (len < off + sizeof(lt))
		return -EINVAL;
	take_memory(p, seg->version, &mset, &rejected, &lm);
	end->mem_sample_ns = lm.sample_ns;
	end->mem_sample_reads = lm.sample_reads;
	memcpy(&lt, p + off, sizeof(lt));
	off += sizeof(lt);
	need = (size_t)lt.nprocs * sizeof(struct ap_log_proc) + (size_t)lt.nquarantined * sizeof(struct ap_log_quarantined);
	if (lt.nprocs > len || lt.nquarantined > seg->lanes || need > len - off)
		return -EINVAL;
	end->procs = calloc(lt.nprocs ? lt.nprocs : 1, sizeof(*end->procs));
	end->quarantined = calloc(lt.nquarantined ? lt.nquarantined : 1, sizeof(*end->quarantined));
	end->reasons = calloc(lt.nquarantined ? lt.nquarantined : 1, sizeof(*end->reasons));
	if (!end->procs || !end->quarantined || !end->reasons) {
		ap_log_end_free(end);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < lt.nprocs; i++, off += sizeof(struct ap_log_proc)) {
		struct ap_log_proc lp;
		struct ap_proc_row *r = &end->procs[end->nprocs++];

		memcpy(&lp, p + off, sizeof(lp));
		r->pid = lp.pid;
		r->threads = lp.threads;
		r->spans = lp.spans;
		r->events = lp.events;
		r->dropped = lp.dropped;
		r->lanes_claimed = lp.lanes_claimed;
	}
	for (uint32_t i = 0; i < lt.nquarantined; i++, off += sizeof(struct ap_log_quarantined)) {
		struct ap_log_quarantined q;
		struct ap_run_quarantine *rq;

		memcpy(&q, p + off, sizeof(q));
		if (q.lane >= seg->lanes)
			continue;
		memcpy(end->reasons[end->nquarantined], q.reason, sizeof(q.reason));
		end->reasons[end->nquarantined][sizeof(q.reason) - 1] = '\0';
		rq = &end->quarantined[end->nquarantined];
		rq->lane = q.lane;
		rq->reason = end->reasons[end->nquarantined];
		rq->events_read = q.events_read;
		end->nquarantined++;
	}
	take_models(p + off, len - off, set);
	end->totals.written = lt.written;
	end->totals.read = lt.read;
	end->totals.dropped_full = lt.dropped_full;
	end->totals.dropped_no_lane = lt.dropped_no_lane;
	end->totals.dropped_reentrant = lt.dropped_reentrant;
	end->totals.rejected = lt.rejected;
	end->totals.claims = lt.claims;
	end->totals.in_ring = lt.in_ring;
	end->totals.quarantined_lanes = lt.quarantined_lanes;
	end->totals.reclaimed_lanes = lt.reclaimed_lanes;
	end->totals.names_full = lt.names_full;
	end->totals.attaches = lt.attaches;
	end->totals.lost_quarantined = lt.lost_quarantined;
	end->totals.sampled_out = lt.sampled_out;
	end->names_invalid = lt.names_invalid;
	end->procs_over_cap = lt.procs_over_cap;
	end->duration_ns = lt.duration_ns;
	end->workload_cpu_ns = lt.workload_cpu_ns;
	if (seg->version == 1) {
		double ns;

		memcpy(&ns, &lt.cost16, sizeof(ns));
		end->cost_ns = ns >= 0 && ns < 1e9 ? ns : 0;
	} else if (lt.cost16 < (UINT64_C(1) << 40)) {	/* under a few thousand seconds per event */
		end->cost16 = lt.cost16;
		end->cost_ns = ap_cost16_ns(&seg->clock, lt.cost16);
	}
	end->cost_measurements = lt.cost_measurements;
	end->setup_ns = lt.setup_ns;
	end->cpus = lt.cpus >= 1 && lt.cpus <= 1u << 20 ? lt.cpus : 1;
	end->events_not_logged = lt.events_not_logged;
	if (lt.exit_status >= 0 && lt.exit_status < 256) {
		end->exit_known = 1;
		end->exit_status = (int)lt.exit_status;
	}
	return 0;
}

void ap_log_end_free(struct ap_log_end *end)
{
	free(end->procs);
	free(end->quarantined);
	free(end->reasons);
	memset(end, 0, sizeof(*end));
}
