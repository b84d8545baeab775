// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * UTF-8 validation and repair for JSON output: the kernel hands us raw
 * bytes (paths, argv, packet payloads) and JSON strings must be UTF-8.
 *
 * Repair follows the "maximal subpart" practice of Unicode (sec. 3.9,
 * U+FFFD substitution) that WHATWG's decoder and most libraries use: a
 * lead byte followed by the longest prefix of a well-formed sequence
 * becomes one U+FFFD; a byte that cannot start any sequence becomes one
 * U+FFFD. Decoding resumes at the first byte not consumed, so a valid
 * character right after a broken one is never swallowed.
 */
#include <stdint.h>
#include <string.h>

#include "kestrel/ecs.h"

/*
 * Length of the well-formed sequence at p (1..4), or 0 if there is none;
 * *n is then the length of the maximal subpart to replace (at least 1).
 * Second-byte ranges follow Unicode Table 3-7: E0 A0..BF excludes
 * overlongs, ED 80..9F excludes surrogates, F0 90..BF overlongs and
 * F4 80..8F code points above U+10FFFF.
 */
static size_t utf8_seq(const uint8_t *p, size_t avail, size_t *n)
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

size_t ks_utf8_sanitize(const void *in, size_t len, char *out)
{
	static const char fffd[3] = { (char)0xef, (char)0xbf, (char)0xbd };
	const uint8_t *p = in;
	size_t i = 0, o = 0, n;

	while (i < len) {
		if (utf8_seq(p + i, len - i, &n)) {
			memcpy(out + o, p + i, n);
			o += n;
		} else {
			memcpy(out + o, fffd, sizeof(fffd));
			o += sizeof(fffd);
		}
		i += n;
	}
	return o;
}

bool ks_utf8_valid(const void *in, size_t len)
{
	const uint8_t *p = in;
	size_t i = 0, n;

	while (i < len) {
		if (!utf8_seq(p + i, len - i, &n))
			return false;
		i += n;
	}
	return true;
}
