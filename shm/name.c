/* SPDX-License-Identifier: MIT */
/*
 * name.c - the name-id rule and both sides of the name table's slot
 * protocol (name.h): a writer's insert, the reader's validating copy.
 */
#include <errno.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "ap_atomic.h"
#include "name.h"

uint32_t ap_name_len(const char *name)
{
	size_t n = strnlen(name, AP_NAME_MAX + 1);

	if (n > AP_NAME_MAX) {
		n = AP_NAME_MAX;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	return (uint32_t)n;
}

uint64_t ap_name_hash(const char *str, uint32_t len)
{
	uint64_t id = XXH3_64bits(str, len);

	return id ? id : 1;
}

int ap_name_insert(struct ap_seg_header *hdr, struct ap_name_slot *table, uint32_t slots,
		   uint64_t id, const char *str, uint32_t len)
{
	uint32_t mask = slots - 1;

	for (uint32_t p = 0; p < AP_NAME_PROBES && p <= mask; p++) {
		struct ap_name_slot *s = &table[(id + p) & mask];
		uint64_t k = ap_load_acquire(&s->key);

		if (k == 0) {
			if (!ap_cas_acq_rel(&s->key, &k, id)) {		/* (N1) */
				if (k == id)
					return 0;	/* another process won with the same name */
				continue;
			}
			s->len = len;
			memcpy(s->str, str, len);
			s->str[len] = '\0';
			ap_store_release(&s->ready, id);		/* (N2) */
			return 0;
		}
		if (k == id)
			return 0;
	}
	ap_add_relaxed(&hdr->names_full, 1);
	return -ENOSPC;
}

int ap_name_copy(const struct ap_name_slot *s, uint64_t *id, char str[AP_NAME_MAX + 1], uint32_t *len)
{
	uint64_t ready = ap_load_acquire(&s->ready);			/* (N3) */
	uint64_t key;
	uint32_t n;

	if (ready == 0)
		return 0;
	key = ap_load_relaxed(&s->key);					/* (N4) */
	n = s->len;
	if (key != ready || n > AP_NAME_MAX)
		return -1;
	memcpy(str, s->str, n);
	str[n] = '\0';
	if (memchr(str, '\0', n) || ap_name_hash(str, n) != ready)	/* (N5) */
		return -1;
	*id = ready;
	*len = n;
	return 1;
}
