/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The byte scans of the JSON reader (loader/json_read.c), shared with the
 * one-pass indexer of Event JSONL lines (loader/ecs_index.c): the plain
 * bytes of a string body and a decimal integer's value.
 */
#ifndef KS_JSON_SCAN_H
#define KS_JSON_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * White space, which an Event JSONL line mostly has none of: the first
 * byte's one test (above ' ' is never white space) before the loop.
 */
static inline const char *skip_ws(const char *p, const char *end)
{
	if (p < end && (unsigned char)*p > ' ')
		return p;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

#define ONES	0x0101010101010101ull
#define LOWS	0x7f7f7f7f7f7f7f7full
#define HIGHS	0x8080808080808080ull

/* 0x80 in each byte of x that is zero, 0 elsewhere (exact, no borrow between bytes). */
static inline uint64_t zero_bytes(uint64_t x)
{
	return ~(((x & LOWS) + LOWS) | x | LOWS);
}

/* 0x80 in each byte of w that ends a plain run: '"', '\\' or a control character. */
static inline uint64_t special_bytes(uint64_t w)
{
	return zero_bytes(w ^ (ONES * '"')) | zero_bytes(w ^ (ONES * '\\')) |
	       (~(((w & LOWS) + ONES * 0x60) | w) & HIGHS);
}

struct run {
	uint64_t high, dots;	/* 0x80 bits: bytes >= 0x80, dots, seen */
};

#ifdef __SSE2__
/*
 * Sixteen bytes at a time with SSE2 (every x86-64 has it): most of the 32
 * strings (names included) of a replay bench line are one round. string()
 * took 244 instructions a string with the eight-byte words alone, ~115
 * with this (callgrind, bench/profile/replay4-decoder.txt). The bits are
 * struct run's, one a byte: only whether any is set is read.
 */
static inline const char *plain_run16(const char *q, const char *end, struct run *r)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i dot = _mm_set1_epi8('.'), ctl = _mm_set1_epi8(0x1f);
	unsigned int sp, keep;
	__m128i v;

	while (end - q >= 16) {
		v = _mm_loadu_si128((const __m128i *)q);
		sp = (unsigned int)_mm_movemask_epi8(_mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
			_mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)));	/* c <= 0x1f */
		keep = sp ? (sp & (0 - sp)) - 1 : 0xffffu;	/* the bytes before the first */
		r->high |= (unsigned int)_mm_movemask_epi8(v) & keep;
		r->dots |= (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, dot)) & keep;
		if (sp)
			return q + __builtin_ctz(sp);
		q += 16;
	}
	return q;
}
#else
static inline const char *plain_run16(const char *q, const char *end, struct run *r)
{
	(void)end;
	(void)r;
	return q;
}
#endif

/*
 * The plain bytes of a string body from q: sixteen at a time where SSE2
 * is, then eight at a time, then one by one near the end of the line.
 * Returns the first byte that is not plain (or end).
 */
static inline const char *plain_run(const char *q, const char *end, struct run *r)
{
	uint64_t w, sp, keep;

	q = plain_run16(q, end, r);
	if (end - q >= 16)
		return q;	/* on a byte that is not plain */
	while (end - q >= 8) {
		memcpy(&w, q, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);	/* the first byte in the low bits */
#endif
		sp = special_bytes(w);
		keep = sp ? (sp & (0 - sp)) - 1 : ~0ull;	/* the bytes before the first */
		r->high |= w & keep & HIGHS;
		r->dots |= zero_bytes(w ^ (ONES * '.')) & keep;
		if (sp)
			return q + __builtin_ctzll(sp) / 8;
		q += 8;
	}
	for (; q < end; q++) {
		unsigned char c = (unsigned char)*q;

		if (c == '"' || c == '\\' || c < 0x20)
			break;
		r->high |= c & 0x80;
		r->dots |= c == '.';
	}
	return q;
}

/*
 * Decimal integer text that strtoll takes without ERANGE. Up to 18
 * digits cannot overflow: the test (a division per digit) only past them.
 */
static inline int int_value(const char *p, const char *q, int64_t *out)
{
	bool neg = *p == '-';
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	const char *safe;

	p += neg;
	safe = q - p > 18 ? p + 18 : q;
	for (; p < safe; p++)
		v = v * 10 + (unsigned int)(*p - '0');
	for (; p < q; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

#endif /* KS_JSON_SCAN_H */
