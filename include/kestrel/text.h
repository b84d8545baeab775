/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small text helpers shared by the readers of escaped strings: the JSON
 * reader (loader/json_read.c), the TOML reader (rules-compiler/toml.c) and
 * systemd's unit name escapes in cgroup paths (loader/container.c); and
 * the UTF-8 decoding step that both kload's repair of raw bytes
 * (loader/utf8.c) and EQL's length() (rules-compiler/interp.c) follow.
 */
#ifndef KESTREL_TEXT_H
#define KESTREL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit, -1 if c is none. */
static inline int ks_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Code point cp (at most 0x10ffff) as UTF-8 at o (4 bytes of room); returns its length. */
static inline size_t ks_utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Length of the well-formed UTF-8 sequence at p (1..4), or 0 if there is
 * none; *n is then the length of the maximal subpart that becomes one
 * U+FFFD (at least 1). Second-byte ranges follow Unicode Table 3-7: E0
 * A0..BF excludes overlongs, ED 80..9F surrogates, F0 90..BF overlongs
 * and F4 80..8F code points above U+10FFFF.
 */
static inline size_t ks_utf8_seq(const uint8_t *p, size_t avail, size_t *n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*n = 1;
	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;

	for (i = 1; i < need; i++) {
		if (i >= avail || p[i] < lo || p[i] > hi) {
			*n = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*n = need;
	return need;
}

#endif /* KESTREL_TEXT_H */
