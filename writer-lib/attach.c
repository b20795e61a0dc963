/* SPDX-License-Identifier: MIT */
/*
 * attach.c - turning profiling on and off in a process: attach (explicit or
 * lazy, from $AGENTPROF_SHM on the first call), detach, fork, head sampling
 * settings, and making a thread's state current.
 *
 * Fork: a child inherits the forking thread's state. The atfork child
 * handler bumps the generation so that the child claims lanes of its own,
 * and marks the open spans it inherited: they belong to the parent process;
 * the child's spans nest under them and ending them in the child records
 * nothing.
 *
 * Readers come and go (ap_shm.h, "Retirement"): a segment that does not
 * exist yet, or that its reader retired, puts the process in ST_WAIT: calls
 * record nothing and count their spans, and at most once a second one call
 * looks for the name again (one shm_open under the lock). The first thread
 * to see `retired` releases its lane and moves the process to ST_WAIT,
 * looking again at once; the other threads release theirs on their next
 * call (the generation changed). The retired mapping stays: a thread may be
 * mid-write into it.
 *
 * Errors: an attach that fails leaves profiling off and returns the reason;
 * nothing here prints, exits or blocks indefinitely.
 */
#include <time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"
#include "writer_internal.h"

static void atfork_prepare(void) { pthread_mutex_lock(&ap_p.lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&ap_p.lock); }

static void atfork_child(void)
{
	struct ap_thread *t = ap_self_if_any();

	pthread_mutex_unlock(&ap_p.lock);
	ap_p.pid = (uint32_t)getpid();
	if (ap_proc_start_time(ap_p.pid, &ap_p.start_time))
		ap_p.start_time = 0;
	ap_p.id_seed = ap_w_random64();
	ap_store_relaxed(&ap_p.exited_recorded, 0);
	ap_store_relaxed(&ap_p.exited_full, 0);
	ap_store_relaxed(&ap_p.exited_no_lane, 0);
	ap_store_relaxed(&ap_p.exited_reentrant, 0);
	ap_store_relaxed(&ap_p.exited_no_reader, 0);
	/* The lane belongs to the parent: forget it without releasing it. */
	if (t) {
		t->my_no_reader = t->no_reader_unsent = 0;
		t->lane = NULL;
		t->ring = NULL;
		ap_w_go(t);
		t->inherited = t->depth;
		t->pid = 0;	/* re-initialised (ids, tid, counters) on the next call */
	}
	ap_add_relaxed(&ap_p.gen, AP_GEN_STEP);
}

void ap_w_once_init(void)
{
	ap_p.key_ok = pthread_key_create(&ap_p.key, ap_w_thread_exit) == 0;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/*
 * Head sampling: $AGENTPROF_SAMPLE, a rate from 0 to 1 (default 1), decided
 * once per trace when its root begins, from its trace id, so that every
 * process the trace reaches decides alike (a child under $TRACEPARENT
 * follows the sampled flag there). Spans of a trace not sampled get even
 * ids (recorded spans have odd ones), so that every later call on them, and
 * every span under them, knows without a lookup. 0 or -EINVAL.
 */
static int parse_sample(const char *v)
{
	char *end;
	double r;

	ap_p.sample_max = UINT64_MAX;
	if (!v || !*v)
		return 0;
	errno = 0;
	r = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !(r >= 0 && r <= 1))
		return -EINVAL;
	if (r < 1) {	/* kept when mix64(trace_lo ^ seed) < r x 2^64 (0: one in 2^64) */
		uint64_t below = (uint64_t)(r * 18446744073709551616.0);

		ap_p.sample_max = below ? below - 1 : 0;
	}
	return 0;
}

static void set_off(void)
{
	ap_store_release(&ap_p.state, ST_OFF);
	ap_w_set_maybe_on(0);
}

uint64_t ap_w_coarse_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
		return UINT64_MAX;	/* never blocks a look */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* No reader for `name` now: wait for it, looking again at `when`. */
static void set_wait(const char *name, uint64_t when)
{
	if (name != ap_p.wait_name) {
		char *copy = strdup(name);

		if (!copy) {
			set_off();
			return;
		}
		free(ap_p.wait_name);
		ap_p.wait_name = copy;
	}
	ap_store_relaxed(&ap_p.retry_at, when);
	ap_store_release(&ap_p.state, ST_WAIT);
	ap_w_set_maybe_on(1);	/* calls must come in to be counted and to look again */
}

static void detach_locked(void)
{
	if (ap_load_relaxed(&ap_p.state) == ST_ON)
		if (ap_self_if_any())
			ap_w_lane_release(ap_self_if_any());
	/* The mapping stays: other threads may be mid-write into their lanes.
	 * They notice the new generation on their next call. */
	set_off();
	ap_add_relaxed(&ap_p.gen, AP_GEN_STEP);
}

static int attach_locked(const char *segment)
{
	struct ap_segment seg;
	const char *name = segment ? segment : getenv("AGENTPROF_SHM");
	const char *tp;
	int ret;

	if (ap_load_relaxed(&ap_p.state) == ST_ON)
		detach_locked();
	if (!name || !*name) {
		set_off();
		return 0;
	}
	ret = ap_seg_attach(&seg, name);
	if (ret == 0 && ap_load_acquire(&seg.hdr->retired)) {
		ap_seg_unmap(&seg);	/* its reader is stopping: as good as gone */
		ret = -ENOENT;
	}
	if (ret == -ENOENT) {
		set_wait(name, ap_w_coarse_ns() + AP_RETRY_NS);
		return ret;
	}
	if (ret) {
		set_off();
		return ret;
	}
	ap_p.seg = seg;
	ap_p.clock_source = seg.clock.source;
	ap_p.pid = (uint32_t)getpid();
	if (ap_proc_start_time(ap_p.pid, &ap_p.start_time))
		ap_p.start_time = 0;
	ap_p.id_seed = ap_w_random64();
	ret = parse_sample(getenv("AGENTPROF_SAMPLE"));
	if (ret) {
		ap_seg_unmap(&seg);
		set_off();
		return ret;
	}
	tp = getenv("TRACEPARENT");
	ap_p.have_remote = tp && ap_parse_traceparent(tp, &ap_p.remote_hi, &ap_p.remote_lo,
						      &ap_p.remote_span, &ap_p.remote_flags) == 0;
	ap_w_names_reintern_locked();
	ap_add_relaxed(&seg.hdr->attaches, 1);
	ap_add_relaxed(&ap_p.gen, AP_GEN_STEP);
	/* Release: the segment view above is complete before a thread that
	 * sees ST_ON uses it. */
	ap_store_release(&ap_p.state, ST_ON);
	ap_w_set_maybe_on(1);
	return 0;
}

int ap_attach(const char *segment)
{
	struct ap_thread *t = ap_self();
	int ret;

	if (!t)
		return -ENOMEM;
	if (t->busy)
		return AP_E_OFF;	/* called from a handler that interrupted us */
	pthread_once(&ap_w_once, ap_w_once_init);
	guard_on(t);
	pthread_mutex_lock(&ap_p.lock);
	ret = attach_locked(segment);
	pthread_mutex_unlock(&ap_p.lock);
	guard_off(t);
	return ret;
}

void ap_detach(void)
{
	struct ap_thread *t = ap_self();

	if (!t) {	/* no block to guard with: this thread never recorded */
		pthread_mutex_lock(&ap_p.lock);
		detach_locked();
		pthread_mutex_unlock(&ap_p.lock);
		return;
	}
	if (t->busy)
		return;
	guard_on(t);
	pthread_mutex_lock(&ap_p.lock);
	detach_locked();
	pthread_mutex_unlock(&ap_p.lock);
	guard_off(t);
}

int ap_enabled(void)
{
	return ap_load_relaxed(&ap_p.state) == ST_ON;
}

/* The segment's reader retired it (seen by this thread with its lane in
 * it), or the process waits for one: follow, look again when due. Returns
 * the state after. Lock held. */
static int follow_reader_locked(struct ap_thread *t)
{
	int st = ap_load_relaxed(&ap_p.state);

	if (st == ST_ON && ap_load_acquire(&ap_p.seg.hdr->retired)) {
		/* The first to see it: this thread's lane goes, the process waits
		 * and looks for the name again at once (a new reader may be up). */
		ap_w_lane_release(t);
		ap_add_relaxed(&ap_p.gen, AP_GEN_STEP);
		set_wait(ap_p.seg.name, 0);
		st = ap_load_relaxed(&ap_p.state);
	}
	if (st != ST_WAIT)
		return st;
	if (t->lane)
		ap_w_lane_release(t);	/* a lane in the retired segment */
	if (ap_w_coarse_ns() >= ap_load_relaxed(&ap_p.retry_at)) {
		ap_store_relaxed(&ap_p.retry_at, ap_w_coarse_ns() + AP_RETRY_NS);
		attach_locked(ap_p.wait_name);
	}
	return ap_load_relaxed(&ap_p.state);
}


static int thread_ready(struct ap_thread *t);

/* errno as the caller had it: this may run in a signal handler that
 * interrupted code about to read errno. */
AP_COLD int ap_w_thread_ready(struct ap_thread *t)
{
	int saved = errno, ret = thread_ready(t);

	errno = saved;
	return ret;
}

static int thread_ready(struct ap_thread *t)
{
	int st = ap_load_acquire(&ap_p.state);

	t->ready_cpu0 = ap_w_thread_cpu_ns();	/* setup cost, sent with the CLAIM */
	if (st == ST_UNINIT) {
		pthread_once(&ap_w_once, ap_w_once_init);
		pthread_mutex_lock(&ap_p.lock);
		if (ap_load_relaxed(&ap_p.state) == ST_UNINIT)
			attach_locked(NULL);
		pthread_mutex_unlock(&ap_p.lock);
		st = ap_load_acquire(&ap_p.state);
	}
	if (st == ST_WAIT || (st == ST_ON && ap_load_relaxed(&ap_p.seg.hdr->retired))) {
		pthread_mutex_lock(&ap_p.lock);
		st = follow_reader_locked(t);
		pthread_mutex_unlock(&ap_p.lock);
		if (st == ST_WAIT)
			return -1;
	}
	if (st != ST_ON)
		return 0;

	pthread_mutex_lock(&ap_p.lock);
	if (ap_load_relaxed(&ap_p.state) != ST_ON) {
		pthread_mutex_unlock(&ap_p.lock);
		return 0;
	}
	if (t->pid != ap_p.pid) {	/* new thread, or first call after fork */
		t->pid = ap_p.pid;
		t->tid = (uint32_t)syscall(SYS_gettid);
		t->next_id = ap_w_id_tag() |
			     (ap_mix64(ap_p.id_seed ^ ((uint64_t)t->tid << 20) ^ ap_w_random64()) &
			      ((UINT64_C(1) << 51) - 1)) | 1;
		t->trace_hi = ap_w_random64() | UINT64_C(1) << 63;	/* never 0: (0, parent) means unknown */
		t->lane = NULL;
		t->ring = NULL;
		t->claim_wait = 0;
		t->recorded_base = t->claim_head = t->head = 0;
		t->my_dropped_full = t->my_dropped_no_lane = 0;
		ap_store_relaxed(&t->my_dropped_reentrant, 0);
		if (ap_p.key_ok && !t->key_set && pthread_setspecific(ap_p.key, t) == 0)
			t->key_set = 1;
	}
	if (t->gen != ap_load_relaxed(&ap_p.gen)) {
		ap_w_lane_release(t);	/* detached or re-attached since */
		t->gen = ap_load_relaxed(&ap_p.gen);
		t->claim_wait = 0;
	}
	if (!t->ring) {
		if (t->claim_wait)
			t->claim_wait--;
		else if (!ap_w_lane_claim(t))
			t->claim_wait = AP_CLAIM_RETRY;
	}
	ap_w_go(t);
	pthread_mutex_unlock(&ap_p.lock);
	return 1;
}
