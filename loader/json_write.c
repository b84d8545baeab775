// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Streaming JSON writer: compact JSON appended to a reused buffer, for
 * alert and event lines (see include/kestrel/json.h). No tree, no
 * allocation once the buffer has grown to the longest line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/ecs.h"
#include "kestrel/json.h"

bool ks_jw_reserve(struct ks_jw *w, size_t n)
{
	size_t cap = w->cap ?: 1024;
	char *p;

	if (w->len + n <= w->cap)
		return true;
	while (cap < w->len + n)
		cap *= 2;
	p = realloc(w->p, cap);
	if (!p) {
		w->oom = true;
		return false;
	}
	w->p = p;
	w->cap = cap;
	return true;
}

void ks_jw_free(struct ks_jw *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}

/*
 * The comma before a member, and its escaped name with ':'; returns where
 * its value goes (room for need bytes), NULL when out of memory. The
 * callers write through a local pointer and set len once: a store through
 * w->p (a char *) may alias *w, and with w->len and w->p reloaded after
 * every byte this was a tenth of an alert's time
 * (bench/profile/nfa9-alerts.txt).
 */
static inline char *member(struct ks_jw *w, const char *key, size_t klen, size_t need)
{
	char *o;

	/* keys are ours (field and member names): no escaping needed */
	if (w->len + need + klen + 4 > w->cap && !ks_jw_reserve(w, need + klen + 4))
		return NULL;
	o = w->p + w->len;
	if (w->depth) {
		bool *more = &w->more[w->depth - 1];

		if (*more)
			*o++ = ',';
		*more = true;
	}
	if (key) {
		*o++ = '"';
		memcpy(o, key, klen);
		o += klen;
		*o++ = '"';
		*o++ = ':';
	}
	return o;
}

/* What member() gave, written up to o. */
static inline void written(struct ks_jw *w, const char *o)
{
	w->len = (size_t)(o - w->p);
}

static void open_(struct ks_jw *w, const char *key, size_t klen, char c)
{
	char *o;

	if (w->depth >= KS_JW_DEPTH) {
		w->oom = true;
		return;
	}
	if (!(o = member(w, key, klen, 2)))
		return;
	*o++ = c;
	written(w, o);
	w->more[w->depth++] = false;
}

void ks_jw_obj_k(struct ks_jw *w, const char *key, size_t klen)
{
	open_(w, key, klen, '{');
}

void ks_jw_arr_k(struct ks_jw *w, const char *key, size_t klen)
{
	open_(w, key, klen, '[');
}

void ks_jw_end(struct ks_jw *w, char close)
{
	if (!w->depth || !ks_jw_reserve(w, 1)) {
		w->oom = true;
		return;
	}
	w->depth--;
	w->p[w->len++] = close;
}

/* jansson's dump_string escapes (JSON_COMPACT, no ENSURE_ASCII). */
static size_t escape(char *out, const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
	}
	return (size_t)(o - out);
}

static void put_valid(struct ks_jw *w, const char *key, size_t klen, const void *s,
		      size_t len)
{
	char *o = member(w, key, klen, len * 6 + 2);

	if (!o)
		return;
	*o++ = '"';
	o += escape(o, s, len);
	*o++ = '"';
	written(w, o);
}

/* Ill-formed UTF-8 repaired into a copy (the rare case, out of line). */
static __attribute__((noinline)) void put_repaired(struct ks_jw *w, const char *key,
						   size_t klen, const void *s, size_t len)
{
	char stackbuf[KS_UTF8_SANITIZED_MAX(KS_PAYLOAD_MAX)], *buf = stackbuf;

	if (KS_UTF8_SANITIZED_MAX(len) > sizeof(stackbuf)) {
		buf = malloc(KS_UTF8_SANITIZED_MAX(len));
		if (!buf) {
			w->oom = true;
			return;
		}
	}
	put_valid(w, key, klen, buf, ks_utf8_sanitize(s, len, buf));
	if (buf != stackbuf)
		free(buf);
}

/*
 * Whether any of the 8 bytes of x is one plain copying cannot take: a
 * control byte (< 0x20), '"', '\\' or a non-ASCII byte (UTF-8 to check).
 * The usual SWAR zero-byte test (Hacker's Delight 6-1) on x ^ c for the
 * two quotes, and on x's high bits for < 0x20 and >= 0x80.
 */
static inline uint64_t swar_special(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return ((q - ones) & ~q & highs) | ((b - ones) & ~b & highs) |
	       ((x - ones * 0x20) & ~x & highs) | (x & highs);
}

/*
 * Length of s's prefix that is copied into a JSON string unchanged. The
 * bytes after the last whole word are tested as one more word, which
 * overlaps bytes already tested (4 to 7 bytes: two overlapping halves),
 * not one by one: the byte loop was a third of ks_jw_str_k()'s time
 * (bench/profile/nfa9-alerts.txt). Only where a word has a special byte
 * does the byte loop find it.
 */
static size_t plain_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;
	uint32_t lo, hi;
	uint64_t x;

	for (; i + 8 <= len; i += 8) {
		memcpy(&x, s + i, 8);
		if (swar_special(x))
			goto bytes;
	}
	if (i == len)
		return len;
	if (len >= 8) {
		memcpy(&x, s + len - 8, 8);
	} else if (len >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + len - 4, 4);
		x = lo | (uint64_t)hi << 32;
	} else {
		goto bytes;
	}
	if (!swar_special(x))
		return len;
bytes:
	for (; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x80 || s[i] == '"' || s[i] == '\\')
			break;
	return i;
}

/*
 * Most strings (paths, names, command lines) are plain ASCII: they are
 * found so 8 bytes at a time and copied whole; anything else goes the
 * byte-wise way (UTF-8 check, escapes, repair), with the same output.
 */
void ks_jw_str_k(struct ks_jw *w, const char *key, size_t klen, const void *s, size_t len)
{
	char *o;

	if (plain_prefix(s, len) == len) {
		if (!(o = member(w, key, klen, len + 2)))
			return;
		*o++ = '"';
		memcpy(o, s, len);
		o += len;
		*o++ = '"';
		written(w, o);
	} else if (ks_utf8_valid(s, len)) {
		put_valid(w, key, klen, s, len);
	} else {
		put_repaired(w, key, klen, s, len);
	}
}

void ks_jw_raw_k(struct ks_jw *w, const char *key, size_t klen, const char *json)
{
	size_t n = strlen(json);
	char *o = member(w, key, klen, n);

	if (!o)
		return;
	memcpy(o, json, n);
	written(w, o + n);
}

void ks_jw_int_k(struct ks_jw *w, const char *key, size_t klen, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf), *o;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	do {	/* what "%" PRId64 prints, without printf's cost per alert field */
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(buf + sizeof(buf) - p);
	o = member(w, key, klen, n);
	if (!o)
		return;
	memcpy(o, p, n);
	written(w, o + n);
}
