/* SPDX-License-Identifier: MIT */
/*
 * names.h - the reader's private copy of the segment's name table.
 *
 * Each slot is copied once and accepted only when its string hashes to its
 * id; ids with no valid string print as "name#<16 hex>", never guessed. A
 * name is kept as valid UTF-8 (invalid sequences become U+FFFD, counted in
 * not_utf8), so that every report built from it is valid UTF-8; its id stays
 * the hash of the bytes the writer sent.
 */
#ifndef AP_NAMES_H
#define AP_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "segment.h"

struct ap_names {
	struct ap_map index;	/* id -> offset in pool + 1 */
	char *pool;
	size_t used, cap;
	uint64_t loaded;	/* slots accepted */
	uint64_t invalid;	/* slots whose string did not match its id */
	uint64_t not_utf8;	/* names whose invalid UTF-8 was replaced by U+FFFD */
};

int ap_names_init(struct ap_names *n);
void ap_names_free(struct ap_names *n);
/* Read every slot of the segment's table (bounded by its slot count). */
void ap_names_load(struct ap_names *n, const struct ap_segment *seg);
/* Add one (id, string) pair, as a log replay would; 0 or -ENOMEM. */
int ap_names_add(struct ap_names *n, uint64_t id, const char *str, uint32_t len);
/* The name, or "name#<hex>" formatted into buf. */
const char *ap_names_get(const struct ap_names *n, uint64_t id, char buf[32]);
/* 1 when id resolves. */
int ap_names_known(const struct ap_names *n, uint64_t id);

#endif /* AP_NAMES_H */
