/* SPDX-License-Identifier: MIT */
/*
 * name.h - the name table's contract: how a name becomes an id, and how an
 * (id, string) pair goes into a slot and comes out of it.
 *
 * The id of a name is the XXH3-64 of its first ap_name_len() bytes (a name
 * longer than AP_NAME_MAX is cut at a UTF-8 boundary first), with 0, which
 * marks an empty slot, mapped to 1. It is the same in every process and
 * every run, so two runs compare by id.
 *
 * Slot protocol (struct ap_name_slot in ap_shm.h), writer W, reader R:
 *
 *   W: (N1) CAS key 0 -> id          R: (N3) load-acquire ready
 *      (N2) plain stores of len, str,    (N4) copy key, len and str once
 *           then store-release ready     (N5) accept the copy only when
 *                                             key == ready and the string
 *                                             hashes to it
 *
 *   N2 pairs with N3: the string is complete before R sees ready == id.
 *   A slot whose writer died between N1 and N2 never gets ready: R skips it,
 *   and the name resolves as "name#<hex>". Probing is linear from
 *   id & (slots - 1), at most AP_NAME_PROBES slots; past that the name is
 *   not interned and the header's names_full counts it.
 */
#ifndef AP_NAME_H
#define AP_NAME_H

#include <stdint.h>

#include "ap_shm.h"

#define AP_NAME_PROBES	64u	/* slots probed before a name counts as not interned */

/* Bytes of `name` that are interned: at most AP_NAME_MAX, cut at a UTF-8 boundary. */
uint32_t ap_name_len(const char *name);

/* Id of len bytes of str: XXH3-64, with 0 mapped to 1. */
uint64_t ap_name_hash(const char *str, uint32_t len);

/*
 * Put (id, str[0..len)) into the table of `slots` slots (a power of two) at
 * `table`, whose header is `hdr` (names_full is counted there). len must be
 * at most AP_NAME_MAX and id must be ap_name_hash(str, len). Returns 0 (now
 * or already there) or -ENOSPC (no free slot within the probe limit).
 */
int ap_name_insert(struct ap_seg_header *hdr, struct ap_name_slot *table, uint32_t slots,
		   uint64_t id, const char *str, uint32_t len);

/*
 * Copy slot s out once and check the copy. Returns 1 with *id, str (NUL
 * terminated) and *len set when the slot holds a valid name; 0 when it is
 * empty or not yet ready; -1 when it is ready but its contents do not hash
 * to its id (a scribbled slot).
 */
int ap_name_copy(const struct ap_name_slot *s, uint64_t *id, char str[AP_NAME_MAX + 1], uint32_t *len);

#endif /* AP_NAME_H */
