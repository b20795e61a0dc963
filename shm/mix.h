/* SPDX-License-Identifier: MIT */
/* mix.h - the 64-bit mixer both sides use: splitmix64's finaliser. */
#ifndef AP_MIX_H
#define AP_MIX_H

#include <stdint.h>

/* A bijection of 64-bit values that spreads every input bit over the
 * output: ids, trace ids and hash-table slots come from it. */
static inline uint64_t ap_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

#endif /* AP_MIX_H */
