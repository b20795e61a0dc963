/* SPDX-License-Identifier: MIT */
/*
 * lttng_tp.h - LTTng-UST tracepoints with the fields of agentprof's BEGIN and
 * END events, for the side-by-side bench (bench_lttng.c). The event
 * timestamp is LTTng's own, as agentprof's is its own rdtsc.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER agentprof_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lttng_tp.h"

#if !defined(AP_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define AP_LTTNG_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(agentprof_bench, span_begin,
	LTTNG_UST_TP_ARGS(uint64_t, span_id, uint64_t, parent_id, uint64_t, trace_hi,
			  uint64_t, trace_lo, uint64_t, name_id, uint32_t, tid, uint8_t, category),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, span_id, span_id)
		lttng_ust_field_integer(uint64_t, parent_id, parent_id)
		lttng_ust_field_integer(uint64_t, trace_hi, trace_hi)
		lttng_ust_field_integer(uint64_t, trace_lo, trace_lo)
		lttng_ust_field_integer(uint64_t, name_id, name_id)
		lttng_ust_field_integer(uint32_t, tid, tid)
		lttng_ust_field_integer(uint8_t, category, category)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(agentprof_bench, span_end,
	LTTNG_UST_TP_ARGS(uint64_t, span_id, uint32_t, tid),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, span_id, span_id)
		lttng_ust_field_integer(uint32_t, tid, tid)
	)
)

#endif /* AP_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
