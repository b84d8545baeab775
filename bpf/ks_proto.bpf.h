/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire protocol numbers the packet programs parse by (hook_xdp.bpf.c,
 * hook_dns.bpf.c): EtherTypes and IP protocol numbers. Macros are not in
 * BTF, so vmlinux.h does not have them.
 */
#ifndef KS_PROTO_BPF_H
#define KS_PROTO_BPF_H

#define KS_ETH_P_IP		0x0800
#define KS_ETH_P_IPV6		0x86DD
#define KS_ETH_P_8021Q		0x8100
#define KS_ETH_P_8021AD		0x88A8

#define KS_IPPROTO_HOPOPTS	0
#define KS_IPPROTO_TCP		6
#define KS_IPPROTO_UDP		17
#define KS_IPPROTO_ROUTING	43
#define KS_IPPROTO_FRAGMENT	44
#define KS_IPPROTO_AH		51
#define KS_IPPROTO_NONE		59
#define KS_IPPROTO_DSTOPTS	60

#endif /* KS_PROTO_BPF_H */
