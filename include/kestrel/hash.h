/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The project's one FNV-1a (rules-compiler/hash.c): content hashes of
 * tables, rule uids, the compiler's string map, and the event decoder's
 * numeric stand-in for string entity ids. Not for keys an attacker chooses
 * to collide: those take the keyed SipHash (maps/ks_siphash.h). Table
 * slot indexes over a few known names (ecs_decode.c's tree_hash) are not
 * content hashes and stay where they are used.
 */
#ifndef KESTREL_HASH_H
#define KESTREL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KS_FNV64_INIT	0xcbf29ce484222325ull

/* FNV-1a of n bytes at p, continuing from h (KS_FNV64_INIT to start). */
uint64_t ks_fnv1a64(const void *p, size_t n, uint64_t h);
/* The same over n zero bytes, in O(log n). */
uint64_t ks_fnv1a64_zeros(uint64_t h, size_t n);

/*
 * The .kbin file hash: four lanes of 8-byte words, each word multiplied,
 * xored in, rotated and multiplied again (every step a bijection, so a
 * change of any one word always changes the hash), the lanes folded with
 * the length at the end. FNV-1a's chain of one multiplication per byte
 * took 1.8 ms of a 2.2 MiB .kbin's reload; four independent lanes take
 * a tenth of that (bench/profile/kbin6-hash.txt). A check against
 * damage, not against forgery (as FNV-1a was): .kbin files are trusted
 * input, checked by ks_tables_check() whatever their hash.
 */
struct ks_wide64 {
	uint64_t v[4];
	uint64_t n;			/* bytes added */
	uint8_t tail[32];		/* the last stripe's bytes, n % 32 of them */
};

void ks_wide64_init(struct ks_wide64 *s);
void ks_wide64_add(struct ks_wide64 *s, const void *p, size_t n);
uint64_t ks_wide64_end(struct ks_wide64 *s);
/* The same in one call. */
uint64_t ks_wide64(const void *p, size_t n);

#define KS_FNV32_INIT	0x811c9dc5u

/* The 32-bit FNV-1a (rule uids), continuing from h (KS_FNV32_INIT). */
uint32_t ks_fnv1a32(const void *p, size_t n, uint32_t h);

#endif
