// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The compiler's one hash, FNV-1a (content hashes of tables, rule uids,
 * accept lists, the string map), and the string hash map the front ends
 * use to find selections, keys and duplicates in linear time.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"


#define FNV_PRIME	0x100000001b3ull
#define FNV_BLOCK	4096

/* FNV-1a of n zero bytes is n multiplications by the prime: prime^n. */
uint64_t ks_fnv1a64_zeros(uint64_t h, size_t n)
{
	uint64_t r = 1, p = FNV_PRIME;

	for (; n; n >>= 1, p *= p)
		if (n & 1)
			r *= p;
	return h * r;
}

#define FNV_CHUNK	64

/* Is the chunk at p (FNV_CHUNK bytes) all zero? */
static bool fnv_chunk_zero(const uint8_t *p)
{
	uint64_t w[FNV_CHUNK / 8], acc = 0;
	size_t i;

	memcpy(w, p, sizeof(w));
	for (i = 0; i < FNV_CHUNK / 8; i++)
		acc |= w[i];
	return !acc;
}

static uint64_t fnv_bytes(const uint8_t *b, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* A block that is not all zero: its zero chunks still cost one
 * multiplication each. */
static uint64_t fnv_block(const uint8_t *b, uint64_t h, uint64_t zero_chunk)
{
	size_t i;

	for (i = 0; i < FNV_BLOCK; i += FNV_CHUNK)
		h = fnv_chunk_zero(b + i) ? h * zero_chunk :
			fnv_bytes(b + i, FNV_CHUNK, h);
	return h;
}

/*
 * Byte by byte, except that a block of zeros costs one multiplication:
 * a struct ks_tables is 3.4 MiB, mostly zeros, and is hashed on every
 * compile and every .kbin read. The value is FNV-1a's, whatever the input.
 */
uint64_t ks_fnv1a64(const void *p, size_t n, uint64_t h)
{
	static const uint8_t zero[FNV_BLOCK];
	uint64_t zero_block, zero_chunk;
	const uint8_t *b = p;

	if (n < FNV_BLOCK)
		return fnv_bytes(b, n, h);
	zero_block = ks_fnv1a64_zeros(1, FNV_BLOCK);
	zero_chunk = ks_fnv1a64_zeros(1, FNV_CHUNK);
	for (; n >= FNV_BLOCK; b += FNV_BLOCK, n -= FNV_BLOCK)
		h = memcmp(b, zero, FNV_BLOCK) ? fnv_block(b, h, zero_chunk) :
			h * zero_block;
	return fnv_bytes(b, n, h);
}

/* The 32-bit FNV-1a, for rule uids (ks_rule_uid): the same loop, its own
 * prime; rule uids are in .kbin files and alerts, so they stay as they are. */
uint32_t ks_fnv1a32(const void *p, size_t n, uint32_t h)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x01000193u;
	}
	return h;
}

static size_t strmap_home(const struct ks_strmap *m, const char *key)
{
	return ks_fnv1a64(key, strlen(key), KS_FNV64_INIT) & (m->cap - 1);
}

struct ks_strmap_slot *ks_strmap_find(const struct ks_strmap *m,
				      const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = strmap_home(m, key); m->slot[i].key; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->slot[i].key, key))
			return &m->slot[i];
	return NULL;
}

static void strmap_put(struct ks_strmap *m, const char *key, size_t val)
{
	size_t i = strmap_home(m, key);

	while (m->slot[i].key)
		i = (i + 1) & (m->cap - 1);
	m->slot[i] = (struct ks_strmap_slot){ .key = key, .val = val };
	m->n++;
}

void ks_strmap_add(struct ks_strmap *m, const char *key, size_t val)
{
	struct ks_strmap old = *m;
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		/* at most half full: probes stay short */
		m->cap = m->cap ? 2 * m->cap : 16;
		m->slot = ks_xmalloc(m->cap * sizeof(*m->slot));
		m->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.slot[i].key)
				strmap_put(m, old.slot[i].key, old.slot[i].val);
		free(old.slot);
	}
	strmap_put(m, key, val);
}

void ks_strmap_free(struct ks_strmap *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
