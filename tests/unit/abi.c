/* SPDX-License-Identifier: MIT */
/*
 * abi.c - the segment layout: regions aligned, disjoint and inside the file;
 * the header says what was asked for; bounds refuse what does not fit.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "helpers.h"

static void test_layout_of_created_segment(void)
{
	struct t_reader r;
	const struct ap_seg_header *h;
	uint64_t lanes_end, rings_end, names_end;

	CU_ASSERT_FATAL(t_reader_open(&r, 8, 64) == 0);
	h = r.seg.hdr;
	CU_ASSERT_EQUAL(atomic_load(&h->magic), AP_SEG_MAGIC);
	CU_ASSERT_EQUAL(h->abi_version, AP_ABI_VERSION);
	CU_ASSERT_EQUAL(h->fingerprint, ap_layout_fingerprint());
	CU_ASSERT_EQUAL(h->lane_count, 8);
	CU_ASSERT_EQUAL(h->lane_capacity, 64);
	CU_ASSERT_EQUAL(h->total_size, r.seg.size);
	CU_ASSERT_EQUAL(h->lanes_offset % 64, 0);
	CU_ASSERT_EQUAL(h->rings_offset % 4096, 0);
	CU_ASSERT_EQUAL(h->names_offset % 4096, 0);
	lanes_end = h->lanes_offset + 8 * sizeof(struct ap_lane);
	rings_end = h->rings_offset + 8 * 64 * sizeof(struct ap_event);
	names_end = h->names_offset + (uint64_t)h->name_slots * sizeof(struct ap_name_slot);
	CU_ASSERT(h->lanes_offset >= sizeof(struct ap_seg_header));
	CU_ASSERT(lanes_end <= h->rings_offset);
	CU_ASSERT(rings_end <= h->names_offset);
	CU_ASSERT(names_end <= h->total_size);
	CU_ASSERT_EQUAL((char *)r.seg.lanes - (char *)r.seg.base, (long)h->lanes_offset);
	CU_ASSERT_EQUAL((char *)ap_seg_ring(&r.seg, 3) - (char *)r.seg.base,
			(long)(h->rings_offset + 3 * 64 * 64));
	CU_ASSERT(h->clock_mult != 0);
	CU_ASSERT(h->creator_pid == (uint32_t)getpid());
	t_reader_close(&r);
}

static void test_fingerprint_encodes_sizes(void)
{
	uint32_t f = ap_layout_fingerprint();

	CU_ASSERT_EQUAL(f & 0xff, sizeof(struct ap_event) / 8);
	CU_ASSERT_EQUAL((f >> 8) & 0xff, sizeof(struct ap_lane) / 8);
	CU_ASSERT_EQUAL((f >> 16) & 0xff, sizeof(struct ap_seg_header) / 8);
	CU_ASSERT_EQUAL((f >> 24) & 0xf, sizeof(struct ap_name_slot) / 16);
	CU_ASSERT_EQUAL((f >> 28) & 1, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
}

static void test_size_bounds(void)
{
	struct ap_seg_config c;

	ap_seg_config_default(&c);
	CU_ASSERT(ap_seg_size(&c) >= (uint64_t)c.lanes * c.lane_events * 64);
	c.lane_events = 1000;		/* not a power of two */
	CU_ASSERT_EQUAL(ap_seg_size(&c), 0);
	c.lane_events = 4;		/* below the minimum */
	CU_ASSERT_EQUAL(ap_seg_size(&c), 0);
	ap_seg_config_default(&c);
	c.lanes = 0;
	CU_ASSERT_EQUAL(ap_seg_size(&c), 0);
	c.lanes = AP_LANES_MAX + 1;
	CU_ASSERT_EQUAL(ap_seg_size(&c), 0);
}

void t_register_abi(void)
{
	CU_pSuite s = CU_add_suite("abi", NULL, NULL);

	T_ADD(s, test_layout_of_created_segment);
	T_ADD(s, test_fingerprint_encodes_sizes);
	T_ADD(s, test_size_bounds);
}
