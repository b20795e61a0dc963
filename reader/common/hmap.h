/* SPDX-License-Identifier: MIT */
/*
 * hmap.h - u64 -> u64 hash map, open addressing with linear probing.
 *
 * Keys are never 0 (span ids, pids and name ids are all non-zero), which
 * marks an empty slot. Deletion shifts the following cluster back, so there
 * are no tombstones and lookups stay short under churn. The map grows at 70%
 * load; `max` caps its entries (0: no cap) so that the reader's memory stays
 * bounded whatever the segment holds.
 */
#ifndef AP_HMAP_H
#define AP_HMAP_H

#include <stddef.h>
#include <stdint.h>

#include "mix.h"

struct ap_map {
	uint64_t *keys;
	uint64_t *vals;
	uint32_t mask;		/* capacity - 1, capacity a power of two */
	uint32_t n;		/* entries */
	uint32_t max;		/* cap on entries, 0: none */
};

/* Returns 0 or -ENOMEM. */
int ap_map_init(struct ap_map *m, uint32_t initial, uint32_t max);
void ap_map_free(struct ap_map *m);
/* Pointer to the value of key, or NULL. Valid until the next put or del.
 * Inline: the reader looks up every event's span id. */
static inline uint64_t *ap_map_get(const struct ap_map *m, uint64_t key)
{
	uint32_t i;

	if (key == 0 || !m->keys)
		return NULL;
	for (i = (uint32_t)ap_mix64(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

/* Insert or replace. Returns 0, -ENOSPC (cap reached) or -ENOMEM. */
int ap_map_put(struct ap_map *m, uint64_t key, uint64_t val);
/* Insert a key known to be absent (one probe sequence instead of two). */
int ap_map_put_new(struct ap_map *m, uint64_t key, uint64_t val);
/* Remove key; returns 1 if it was there. */
int ap_map_del(struct ap_map *m, uint64_t key);

#endif /* AP_HMAP_H */
