// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The compiler's one hash, FNV-1a (content hashes of tables, rule uids,
 * accept lists, the string map), and the string hash map the front ends
 * use to find selections, keys and duplicates in linear time.
 */
#include <endian.h>
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

static uint64_t fnv_bytes(const uint8_t *b, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Bit i set when byte i of the chunk at p (FNV_CHUNK bytes) is not zero. */
static uint64_t chunk_mask(const uint8_t *p)
{
	uint64_t m = 0;
	unsigned int i;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, hi = 0x8080808080808080ull;
	uint64_t w;

	/* a byte's top bit: set when the byte is not zero; the multiply
	 * gathers the eight top bits into the word's last byte */
	for (i = 0; i < FNV_CHUNK / 8; i++) {
		memcpy(&w, p + 8 * i, sizeof(w));
		w = (((w & lo7) + lo7) | w) & hi;
		m |= (w * 0x0002040810204081ull) >> 56 << (8 * i);
	}
#else
	for (i = 0; i < FNV_CHUNK; i++)
		m |= (uint64_t)(p[i] != 0) << i;
#endif
	return m;
}

/*
 * A chunk with nonzero bytes (mask m), pw[k] = prime^k. A zero byte's
 * step is a bare multiplication, so a byte b followed by k - 1 zeros is
 * h = (h ^ b) * prime^k: one multiplication per nonzero byte on the
 * chain rather than one per byte (the DFA's cells are about half zeros).
 */
static uint64_t fnv_chunk(const uint8_t *b, uint64_t m, uint64_t h, const uint64_t *pw)
{
	unsigned int i = __builtin_ctzll(m), j;

	h *= pw[i];	/* the chunk's leading zeros */
	for (;;) {
		m &= m - 1;
		j = m ? (unsigned int)__builtin_ctzll(m) : FNV_CHUNK;
		h = (h ^ b[i]) * pw[j - i];
		if (!m)
			return h;
		i = j;
	}
}

/* A block that is not all zero, chunk by chunk. */
static uint64_t fnv_block(const uint8_t *b, uint64_t h, const uint64_t *pw)
{
	uint64_t m;
	size_t i;

	for (i = 0; i < FNV_BLOCK; i += FNV_CHUNK) {
		m = chunk_mask(b + i);
		h = m ? fnv_chunk(b + i, m, h, pw) : h * pw[FNV_CHUNK];
	}
	return h;
}

/*
 * A block of zeros costs one multiplication and a nonzero byte one (see
 * fnv_chunk): a struct ks_tables is 3.7 MiB, two thirds zeros, and is
 * hashed on every compile and every .kbin read. The value is FNV-1a's,
 * whatever the input.
 */
uint64_t ks_fnv1a64(const void *p, size_t n, uint64_t h)
{
	static const uint8_t zero[FNV_BLOCK];
	uint64_t zero_block, pw[FNV_CHUNK + 1];
	const uint8_t *b = p;
	unsigned int k;

	if (n < FNV_BLOCK)
		return fnv_bytes(b, n, h);
	zero_block = ks_fnv1a64_zeros(1, FNV_BLOCK);
	for (pw[0] = 1, k = 1; k <= FNV_CHUNK; k++)
		pw[k] = pw[k - 1] * FNV_PRIME;
	for (; n >= FNV_BLOCK; b += FNV_BLOCK, n -= FNV_BLOCK)
		h = memcmp(b, zero, FNV_BLOCK) ? fnv_block(b, h, pw) : h * zero_block;
	return fnv_bytes(b, n, h);
}

/* ---- ks_wide64 (hash.h): words little-endian whatever the host ---- */

#define W64_K1		0x9e3779b97f4a7c15ull
#define W64_K2		0xbf58476d1ce4e5b9ull
#define W64_K3		0x94d049bb133111ebull
#define W64_STRIPE	32

static uint64_t rotl64(uint64_t x, unsigned int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t w64_round(uint64_t v, uint64_t w)
{
	return rotl64(v ^ (w * W64_K1), 31) * W64_K2;
}

/* Whole stripes of p into the lanes; the bytes taken. */
static size_t w64_stripes(uint64_t *v, const uint8_t *p, size_t n)
{
	uint64_t w[4];
	size_t at;
	int i;

	for (at = 0; n - at >= W64_STRIPE; at += W64_STRIPE) {
		memcpy(w, p + at, sizeof(w));
		for (i = 0; i < 4; i++)
			v[i] = w64_round(v[i], le64toh(w[i]));
	}
	return at;
}

void ks_wide64_init(struct ks_wide64 *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 4; i++)
		s->v[i] = W64_K3 * (uint64_t)(i + 1);
}

void ks_wide64_add(struct ks_wide64 *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t have = s->n % W64_STRIPE, k;

	s->n += n;
	if (have) {
		k = n < W64_STRIPE - have ? n : W64_STRIPE - have;
		memcpy(s->tail + have, b, k);
		b += k;
		n -= k;
		if (have + k < W64_STRIPE)
			return;
		w64_stripes(s->v, s->tail, W64_STRIPE);
	}
	k = w64_stripes(s->v, b, n);
	memcpy(s->tail, b + k, n - k);
}

/* The last stripe zero-padded (the length tells it apart), then the fold. */
uint64_t ks_wide64_end(struct ks_wide64 *s)
{
	size_t have = s->n % W64_STRIPE;
	uint64_t h = s->n * W64_K1;
	int i;

	if (have) {
		memset(s->tail + have, 0, W64_STRIPE - have);
		w64_stripes(s->v, s->tail, W64_STRIPE);
	}
	for (i = 0; i < 4; i++)
		h = rotl64(h ^ s->v[i], 27) * W64_K2;
	h ^= h >> 31;
	h *= W64_K3;
	return h ^ h >> 29;
}

uint64_t ks_wide64(const void *p, size_t n)
{
	struct ks_wide64 s;

	ks_wide64_init(&s);
	ks_wide64_add(&s, p, n);
	return ks_wide64_end(&s);
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
