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
#include "kestrel/text.h"

size_t ks_utf8_sanitize(const void *in, size_t len, char *out)
{
	static const char fffd[3] = { (char)0xef, (char)0xbf, (char)0xbd };
	const uint8_t *p = in;
	size_t i = 0, o = 0, n;

	while (i < len) {
		if (ks_utf8_seq(p + i, len - i, &n)) {
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
		if (!ks_utf8_seq(p + i, len - i, &n))
			return false;
		i += n;
	}
	return true;
}
