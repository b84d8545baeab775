/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small text helpers shared by the readers of escaped strings: the JSON
 * reader (loader/json_read.c), the TOML reader (rules-compiler/toml.c) and
 * systemd's unit name escapes in cgroup paths (loader/container.c).
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

#endif /* KESTREL_TEXT_H */
