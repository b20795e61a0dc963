/* SPDX-License-Identifier: MIT */
/*
 * errors.c - ap_strerror. The segment's refusals are shm/'s own codes
 * (AP_SEG_E_*); agentprof.h publishes them under the AP_E_* names, and the
 * table below ties each public name to its twin, so neither can move alone.
 */
#include "state.h"

_Static_assert(AP_E_BASE == AP_SEG_E_BASE, "AP_E_BASE");
_Static_assert(AP_E_MAGIC == AP_SEG_E_MAGIC, "AP_E_MAGIC");
_Static_assert(AP_E_ABI == AP_SEG_E_ABI, "AP_E_ABI");
_Static_assert(AP_E_LAYOUT == AP_SEG_E_LAYOUT, "AP_E_LAYOUT");
_Static_assert(AP_E_SIZE == AP_SEG_E_SIZE, "AP_E_SIZE");
_Static_assert(AP_E_NOTSHM == AP_SEG_E_NOTSHM, "AP_E_NOTSHM");
_Static_assert(AP_E_OWNER == AP_SEG_E_OWNER, "AP_E_OWNER");
_Static_assert(AP_E_MODE == AP_SEG_E_MODE, "AP_E_MODE");
_Static_assert(AP_E_GEOMETRY == AP_SEG_E_GEOMETRY, "AP_E_GEOMETRY");
_Static_assert(AP_E_CLOCK == AP_SEG_E_CLOCK, "AP_E_CLOCK");
_Static_assert(AP_E_NAME == AP_SEG_E_NAME, "AP_E_NAME");
_Static_assert(AP_E_OFF == AP_SEG_E_LAST - 1, "the writer's own codes follow the segment's");

const char *ap_strerror(int err)
{
	switch (err) {
	case AP_E_OFF:		return "profiling is off in this process";
	case AP_E_NOSPAN:	return "no current span";
	case AP_E_BADCTX:	return "malformed traceparent or context";
	case AP_E_DEPTH:	return "the thread's span stack is full";
	default:		return ap_seg_strerror(err);
	}
}
