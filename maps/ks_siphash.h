/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): the keyed hash of sequence join keys, in the kernel (ks_entity
 * keys, bpf/ks_eval.bpf.h) and in kload's NFA (loader/nfa_join.c). Both
 * draw a 128-bit key at random when they start, so whoever chooses paths
 * or command lines cannot choose values whose hashes collide.
 *
 * Words in, one hash out: ks_sip_init(), ks_sip_word() per 64-bit
 * little-endian word, ks_sip_final(). A message whose length is a whole
 * number of words gets exactly SipHash-2-4 of its bytes; ks_siphash()
 * (userspace) takes any byte string. Plain C on __u64: the same code is
 * compiled for BPF and for userspace.
 */
#ifndef KS_SIPHASH_H
#define KS_SIPHASH_H

#include "maps/ks_abi.h"

#define KS_SIP_INLINE	static inline __attribute__((always_inline))

struct ks_sip {
	__u64 v0, v1, v2, v3;
	__u64 bytes;		/* message length so far */
};

#define KS_SIP_ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

KS_SIP_INLINE void ks_sip_round(struct ks_sip *s)
{
	s->v0 += s->v1;
	s->v1 = KS_SIP_ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = KS_SIP_ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = KS_SIP_ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = KS_SIP_ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = KS_SIP_ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = KS_SIP_ROTL(s->v2, 32);
}

KS_SIP_INLINE void ks_sip_init(struct ks_sip *s, __u64 k0, __u64 k1)
{
	s->v0 = k0 ^ 0x736f6d6570736575ull;	/* "somepseudorandomlygeneratedbytes" */
	s->v1 = k1 ^ 0x646f72616e646f6dull;
	s->v2 = k0 ^ 0x6c7967656e657261ull;
	s->v3 = k1 ^ 0x7465646279746573ull;
	s->bytes = 0;
}

/* One 8-byte block: two compression rounds. */
KS_SIP_INLINE void ks_sip_word(struct ks_sip *s, __u64 m)
{
	s->v3 ^= m;
	ks_sip_round(s);
	ks_sip_round(s);
	s->v0 ^= m;
	s->bytes += 8;
}

/*
 * The last block carries the length's low byte (and here no message
 * bytes: the words were whole), then four finalization rounds.
 */
KS_SIP_INLINE __u64 ks_sip_final_tail(struct ks_sip *s, __u64 tail, __u64 len)
{
	__u64 b = (len & 0xff) << 56 | tail;

	s->v3 ^= b;
	ks_sip_round(s);
	ks_sip_round(s);
	s->v0 ^= b;
	s->v2 ^= 0xff;
	ks_sip_round(s);
	ks_sip_round(s);
	ks_sip_round(s);
	ks_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

KS_SIP_INLINE __u64 ks_sip_final(struct ks_sip *s)
{
	return ks_sip_final_tail(s, 0, s->bytes);
}

/* The low n bytes (0..8) of a little-endian word, the rest zero. */
KS_SIP_INLINE __u64 ks_sip_keep(__u64 m, __u32 n)
{
	return n >= 8 ? m : m & ((1ull << (n * 8)) - 1);
}

/*
 * Every NUL byte of a word turned into ' ': process.command_line is the
 * arguments joined by spaces, so ["a b"] and ["a", "b"] join alike.
 * Exact per byte (no carries between bytes): 0x80 marks the zero bytes.
 */
KS_SIP_INLINE __u64 ks_sip_nul_to_space(__u64 m)
{
	const __u64 low7 = 0x7f7f7f7f7f7f7f7full;
	__u64 zero = ~(((m & low7) + low7) | m | low7);

	return m | (zero >> 7) * 0x20;
}

#ifndef __bpf__
#include <stddef.h>

/* Little-endian word from n (0..8) bytes. */
KS_SIP_INLINE __u64 ks_sip_load(const unsigned char *p, size_t n)
{
	__u64 m = 0;
	size_t i;

	for (i = 0; i < n && i < 8; i++)
		m |= (__u64)p[i] << (8 * i);
	return m;
}

/* SipHash-2-4 of len bytes under the key (k0, k1). */
static inline __u64 ks_siphash(__u64 k0, __u64 k1, const void *data, size_t len)
{
	const unsigned char *p = data;
	struct ks_sip s;
	size_t i;

	ks_sip_init(&s, k0, k1);
	for (i = 0; i + 8 <= len; i += 8)
		ks_sip_word(&s, ks_sip_load(p + i, 8));
	return ks_sip_final_tail(&s, ks_sip_load(p + i, len - i), len);
}
#endif

#endif /* KS_SIPHASH_H */
