/* SPDX-License-Identifier: MIT */
/*
 * names.c - the reader's private copy of the segment's name table: each slot
 * copied out once through shm/name.h's reader side (which checks that the
 * string hashes to its id), strings kept in one pool, looked up by id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "names.h"
#include "text.h"

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

int ap_names_add(struct ap_names *n, uint64_t id, const char *raw, uint32_t raw_len)
{
	char fixed[3 * AP_NAME_MAX + 1];
	const char *str = raw;
	uint32_t len = raw_len;
	size_t flen;

	if (ap_map_get(&n->index, id))
		return 0;
	if (raw_len > AP_NAME_MAX)
		return -EINVAL;
	if (ap_utf8_repair(raw, raw_len, fixed, sizeof(fixed), &flen)) {
		n->not_utf8++;
		str = fixed;
		len = (uint32_t)flen;
	}
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
		char str[AP_NAME_MAX + 1];
		uint32_t len;
		uint64_t id;
		int got = ap_name_copy(&seg->names[i], &id, str, &len);

		if (got < 0)
			n->invalid++;
		else if (got > 0)
			ap_names_add(n, id, str, len);
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
