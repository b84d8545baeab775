/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A DNS answer the host received, as the DNS program (bpf/hook_dns.bpf.c)
 * forwards it to kload through the events ring buffer, beside the events:
 * kload tells the two apart by size (a record of exactly
 * sizeof(struct ks_dns_rec) starting with KS_DNS_MAGIC). One ring buffer
 * for both keeps their order: an answer the process received before it
 * connected is read before the connect event, so the name is known when
 * the rule is evaluated (loader/dns.c keeps address -> name).
 *
 * The message is copied from the UDP payload, or from a TCP segment that
 * starts with the message's two-byte length (dropped), up to
 * KS_DNS_MSG_MAX bytes; a longer message is cut there (cut = 1) and
 * kload takes the resource records that are whole.
 */
#ifndef KS_DNS_H
#define KS_DNS_H

#include "maps/ks_abi.h"

#define KS_DNS_MAGIC	0x4e44534bu	/* "KSDN" */
#define KS_DNS_MSG_MAX	1024u		/* a power of two (the copy's mask) */
#define KS_DNS_HDR_LEN	12u		/* the fixed header of a DNS message */

/*
 * Not an action: the bit of ks_tables_hdr.action_mask the compiler sets
 * when a rule reads names the host's DNS answers give
 * (destination.domain). The DNS program forwards answers only while the
 * installed tables have it, and kload loads that program only for such
 * rules (loader/engine_load.c, stem "dns").
 */
#define KS_NEED_DNS_BIT	15
#define KS_NEED_DNS	(1u << KS_NEED_DNS_BIT)
_Static_assert(KS_ACT_N <= KS_NEED_DNS_BIT, "an action's bit is KS_NEED_DNS");

struct ks_dns_rec {
	__u32 magic;		/* KS_DNS_MAGIC */
	__u16 len;		/* bytes of msg used */
	__u8 tcp;		/* 1: came over TCP */
	__u8 cut;		/* 1: the message was longer than KS_DNS_MSG_MAX */
	__u64 ts_ns;		/* CLOCK_BOOTTIME when the socket got it */
	__u8 msg[KS_DNS_MSG_MAX];
};

#endif /* KS_DNS_H */
