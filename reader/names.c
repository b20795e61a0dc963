/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "writer_internal.h"

int ap_names_init(struct ap_names *n)
{
	memset(n, 0, sizeof(*n));
	return ap_map_init(&n->index, 256, 1u << 22);
}

void ap_names_free(struct ap_names *n)
{
	ap_map_free(&n->index);
	free(n->pool);
	memset(n, 0, sizeof(*n));
}

int ap_names_add(struct ap_names *n, uint64_t id, const char *str, uint32_t len)
{
	if (ap_map_get(&n->index, id))
		return 0;
	if (n->used + len + 1 > n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4096;
		char *p;

		while (cap < n->used + len + 1)
			cap *= 2;
		p = realloc(n->pool, cap);
		if (!p)
			return -ENOMEM;
		n->pool = p;
		n->cap = cap;
	}
	memcpy(n->pool + n->used, str, len);
	n->pool[n->used + len] = '\0';
	if (ap_map_put(&n->index, id, n->used + 1))
		return -ENOMEM;
	n->used += len + 1;
	n->loaded++;
	return 0;
}

void ap_names_load(struct ap_names *n, const struct ap_segment *seg)
{
	for (uint32_t i = 0; i < seg->name_slots; i++) {
		const struct ap_name_slot *s = &seg->names[i];
		uint64_t ready = atomic_load_explicit(&s->ready, memory_order_acquire);
		uint64_t key;
		char str[AP_NAME_MAX + 1];
		uint32_t len;

		if (ready == 0)
			continue;
		key = atomic_load_explicit(&s->key, memory_order_relaxed);
		len = s->len;	/* copy once; check the copy */
		if (key != ready || len > AP_NAME_MAX) {
			n->invalid++;
			continue;
		}
		memcpy(str, s->str, len);
		str[len] = '\0';
		if (memchr(str, '\0', len) || ap_name_hash(str, len) != ready) {
			n->invalid++;
			continue;
		}
		ap_names_add(n, ready, str, len);
	}
}

const char *ap_names_get(const struct ap_names *n, uint64_t id, char buf[32])
{
	uint64_t *off = ap_map_get(&n->index, id);

	if (off)
		return n->pool + *off - 1;
	snprintf(buf, 32, "name#%016llx", (unsigned long long)id);
	return buf;
}

int ap_names_known(const struct ap_names *n, uint64_t id)
{
	return ap_map_get(&n->index, id) != NULL;
}
