/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "hmap.h"

int ap_map_init(struct ap_map *m, uint32_t initial, uint32_t max)
{
	uint32_t cap = 16;

	while (cap < initial && cap < (1u << 30))
		cap <<= 1;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	m->n = 0;
	m->max = max;
	if (!m->keys || !m->vals) {
		ap_map_free(m);
		return -ENOMEM;
	}
	return 0;
}

void ap_map_free(struct ap_map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->mask = m->n = 0;
}

static void insert_raw(uint64_t *keys, uint64_t *vals, uint32_t mask, uint64_t key, uint64_t val)
{
	uint32_t i = (uint32_t)ap_mix64(key) & mask;

	while (keys[i] != 0 && keys[i] != key)
		i = (i + 1) & mask;
	keys[i] = key;
	vals[i] = val;
}

static int grow(struct ap_map *m)
{
	uint32_t cap = (m->mask + 1) * 2;
	uint64_t *keys, *vals;

	if (cap == 0 || cap > (1u << 31))
		return -ENOMEM;
	keys = calloc(cap, sizeof(*keys));
	vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= m->mask; i++)
		if (m->keys[i])
			insert_raw(keys, vals, cap - 1, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->mask = cap - 1;
	return 0;
}

int ap_map_put(struct ap_map *m, uint64_t key, uint64_t val)
{
	uint64_t *v;

	if (key == 0)
		return -EINVAL;
	v = ap_map_get(m, key);
	if (v) {
		*v = val;
		return 0;
	}
	return ap_map_put_new(m, key, val);
}

int ap_map_put_new(struct ap_map *m, uint64_t key, uint64_t val)
{
	int ret;

	if (key == 0 || !m->keys)
		return -EINVAL;
	if (m->max && m->n >= m->max)
		return -ENOSPC;
	if ((uint64_t)(m->n + 1) * 10 > (uint64_t)(m->mask + 1) * 7) {
		ret = grow(m);
		if (ret)
			return ret;
	}
	insert_raw(m->keys, m->vals, m->mask, key, val);
	m->n++;
	return 0;
}

int ap_map_del(struct ap_map *m, uint64_t key)
{
	uint32_t i, j;

	if (!m->keys || key == 0)
		return 0;
	for (i = (uint32_t)ap_mix64(key) & m->mask; m->keys[i] != key; i = (i + 1) & m->mask)
		if (m->keys[i] == 0)
			return 0;
	/* Backward-shift: move later members of the cluster into the hole
	 * when their home slot does not lie cyclically in (hole, j]. */
	for (j = (i + 1) & m->mask; m->keys[j] != 0; j = (j + 1) & m->mask) {
		uint32_t home = (uint32_t)ap_mix64(m->keys[j]) & m->mask;

		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = 0;
	m->n--;
	return 1;
}
