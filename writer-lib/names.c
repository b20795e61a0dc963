/* SPDX-License-Identifier: MIT */
/*
 * names.c - ap_name: a name's id, the string interned into the segment, and
 * the names a process keeps so that it can intern them again into the next
 * segment it attaches.
 *
 * Workload: most programs intern each name once per call site, but code
 * that cannot keep ids (Python strings, generated names) calls ap_name for
 * every span. So a name already kept costs a hash and a lock-free probe of
 * the kept ids (struct ap_idset), never the lock nor a scan; only a new name
 * takes the lock, to append its string and intern it. The kept list holds at
 * most NAMES_KEPT_MAX names; past it a name is still interned into the
 * current segment but not kept for a later one, and names_not_kept counts
 * the calls.
 */
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "state.h"

#define NAMES_KEPT_MAX	65536u	/* names remembered for re-interning at attach */
#define IDSET_MIN	1024u	/* slots of the first id set; grown at half full */

static int idset_has(const struct ap_idset *s, uint64_t id)
{
	for (uint32_t i = (uint32_t)id & s->mask;; i = (i + 1) & s->mask) {
		uint64_t k = ap_load_acquire(&s->ids[i]);

		if (k == id)
			return 1;
		if (k == 0)
			return 0;
	}
}

/* Lock held; the set has room (below half full). */
static void idset_put(struct ap_idset *s, uint64_t id)
{
	uint32_t i = (uint32_t)id & s->mask;

	while (ap_load_relaxed(&s->ids[i]) != 0)
		i = (i + 1) & s->mask;
	ap_store_release(&s->ids[i], id);
	s->n++;
}

/* Lock held: a set with room for one more id, grown by publishing a copy.
 * The old copy is never freed: a thread may still be probing it. Their
 * sizes sum to less than the last one's. NULL when out of memory. */
static struct ap_idset *idset_room(void)
{
	struct ap_idset *s = ap_load_relaxed(&ap_p.name_ids), *g;
	uint32_t slots = s ? (s->mask + 1) * 2 : IDSET_MIN;

	if (s && (s->n + 1) * 2 <= s->mask + 1)
		return s;
	g = calloc(1, sizeof(*g) + (size_t)slots * sizeof(g->ids[0]));
	if (!g)
		return NULL;
	g->mask = slots - 1;
	for (uint32_t i = 0; i < ap_p.names_n; i++)
		idset_put(g, ap_p.names[i].id);
	ap_store_release(&ap_p.name_ids, g);
	return g;
}

static int kept(uint64_t id)
{
	const struct ap_idset *s = ap_load_acquire(&ap_p.name_ids);

	return s && idset_has(s, id);
}

static void keep_locked(uint64_t id, const char *str, uint32_t len)
{
	struct ap_idset *set;
	char *copy;

	if (kept(id))
		return;
	if (ap_p.names_n == NAMES_KEPT_MAX) {
		ap_add_relaxed(&ap_p.names_not_kept, 1);
		return;
	}
	if (ap_p.names_n == ap_p.names_cap) {
		uint32_t cap = ap_p.names_cap ? ap_p.names_cap * 2 : 64;
		struct ap_kept_name *nn = realloc(ap_p.names, cap * sizeof(*nn));

		if (!nn) {
			ap_add_relaxed(&ap_p.names_not_kept, 1);
			return;
		}
		ap_p.names = nn;
		ap_p.names_cap = cap;
	}
	set = idset_room();
	copy = set ? malloc(len + 1) : NULL;
	if (!copy) {
		ap_add_relaxed(&ap_p.names_not_kept, 1);
		return;
	}
	memcpy(copy, str, len);
	copy[len] = '\0';
	ap_p.names[ap_p.names_n++] = (struct ap_kept_name){ id, copy, len };
	idset_put(set, id);
}

static void intern_locked(uint64_t id, const char *str, uint32_t len)
{
	ap_name_insert(ap_p.seg.hdr, ap_p.seg.names, ap_p.seg.name_slots, id, str, len);
}

void ap_w_names_reintern_locked(void)
{
	for (uint32_t i = 0; i < ap_p.names_n; i++)
		intern_locked(ap_p.names[i].id, ap_p.names[i].str, ap_p.names[i].len);
}

uint64_t ap_name(const char *name)
{
	struct ap_thread *t;
	uint32_t len;
	uint64_t id;
	int st;

	if (!name)
		name = "";
	len = ap_name_len(name);
	id = ap_name_hash(name, len);
	st = ap_load_acquire(&ap_p.state);
	if (st != ST_UNINIT && kept(id))
		return id;	/* kept, so interned into the segment attached now */
	t = ap_self();
	if (!t || t->busy)
		return id;	/* in a handler that interrupted this thread: no lock */
	guard_on(t);
	if (st == ST_UNINIT)
		ap_w_thread_ready(t);
	pthread_mutex_lock(&ap_p.lock);
	keep_locked(id, name, len);
	if (ap_load_relaxed(&ap_p.state) == ST_ON)
		intern_locked(id, name, len);
	pthread_mutex_unlock(&ap_p.lock);
	guard_off(t);
	return id;
}
