/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building a network event (connection_attempted, connection_accepted)
 * from a socket: shared by the network hooks (hook_net.bpf.c, whose
 * header says which hook gives which event) and the syscall tracepoints
 * (hook_sys.bpf.c).
 */
#ifndef KS_NET_BPF_H
#define KS_NET_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "ks_task.bpf.h"

#define KS_AF_INET	2
#define KS_AF_INET6	10
#define KS_DIR_INGRESS	1
#define KS_DIR_EGRESS	2
#define KS_TCP_SYN_SENT	2
#define KS_TCP_CLOSE	7

/* IPv4 mapped; 0.0.0.0 (unbound) stays all-zero like :: */
static __always_inline void ks_ip4(__u8 *dst, __u32 be_addr)
{
	__builtin_memset(dst, 0, 16);
	if (!be_addr)
		return;
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &be_addr, 4);
}

/* ::ffff:a.b.c.d (bytewise: the address slots are not 8-byte aligned) */
static __always_inline int ks_ip_mapped(const __u8 *a)
{
	__u8 acc = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		acc |= a[i];
	return !acc && a[10] == 0xff && a[11] == 0xff;
}

/* Local (rcv) address and port of an inet sock. */
static __always_inline void ks_sk_local(struct sock *sk, __u32 fam, __u8 *ip, __u16 *port)
{
	if (fam == KS_AF_INET)
		ks_ip4(ip, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
	else
		bpf_core_read(ip, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	*port = BPF_CORE_READ(sk, __sk_common.skc_num);
}

/* Remote address and port of a connected inet sock. */
static __always_inline void ks_sk_remote(struct sock *sk, __u32 fam, __u8 *ip, __u16 *port)
{
	if (fam == KS_AF_INET)
		ks_ip4(ip, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	else
		bpf_core_read(ip, 16, &sk->__sk_common.skc_v6_daddr);
	*port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/*
 * Common part of connect and accept: the process and the socket's
 * transport. Returns the claimed scratch, or NULL (already counted); *tp
 * the event's generation (ks_event_begin).
 */
static __always_inline struct ks_scratch *ks_net_begin(struct sock *sk, __u32 act,
						       struct ks_tables **tp)
{
	struct ks_scratch *sc;
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);

	sc = ks_event_begin(KS_CAT_NETWORK, act, KS_SRC_NET, tp);
	if (!sc)
		return NULL;
	ks_fill_current(sc);
	sc->ev.transport = proto > 255 ? 0 : proto;
	sc->ev.present |= KS_P_NET;
	return sc;
}

static __always_inline int ks_net_finish(struct ks_tables *t, struct ks_scratch *sc, __u32 sfam,
					 __u32 caps)
{
	int denied;

	/* the peer decides: a dual-stack socket talking to ::ffff:a.b.c.d is IPv4 */
	sc->ev.family = sfam == KS_AF_INET || ks_ip_mapped(sc->ev.daddr) ? 4 : 6;
	ks_evaluate_in(t, sc, KS_CTX_TASK, KS_SRC_NET, caps);
	denied = sc->ev.verdict.flags & KS_V_DENIED;
	ks_scratch_put(sc);
	return denied ? -EPERM : 0;
}

/* connect through the LSM hook or its kprobe: destination from the caller */
static __always_inline int ks_on_connect(struct socket *sock, struct sockaddr *addr,
					 int addrlen, __u32 caps, int skip_tcp)
{
	struct sock *sk;
	struct ks_scratch *sc;
	struct ks_tables *t;
	__u16 sfam, afam = 0, dport;
	__u8 dip[16];

	sk = BPF_CORE_READ(sock, sk);
	/* the kprobe twin leaves TCP to ks_sig_connect: not an event here */
	if (skip_tcp && BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
		return 0;
	if (ks_host_skip(KS_SRC_NET))
		return 0;
	sfam = BPF_CORE_READ(sk, __sk_common.skc_family);
	bpf_probe_read_kernel(&afam, sizeof(afam), &addr->sa_family);
	/* the address family must match what the kernel will accept */
	if (afam == KS_AF_INET && sfam == KS_AF_INET &&
	    addrlen >= (int)sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (void *)addr;

		ks_ip4(dip, BPF_CORE_READ(in, sin_addr.s_addr));
		dport = bpf_ntohs(BPF_CORE_READ(in, sin_port));
	} else if (afam == KS_AF_INET6 && sfam == KS_AF_INET6 &&
		   addrlen >= 24 /* SIN6_LEN_RFC2133 */) {
		struct sockaddr_in6 *in6 = (void *)addr;

		bpf_core_read(dip, 16, &in6->sin6_addr);
		dport = bpf_ntohs(BPF_CORE_READ(in6, sin6_port));
	} else {
		/* AF_UNIX, netlink, AF_UNSPEC (disconnect), bad lengths */
		ks_count_filtered(KS_CTX_TASK, KS_SRC_NET);
		return 0;
	}
	sc = ks_net_begin(sk, KS_ACT_CONNECT, &t);
	if (!sc)
		return 0;
	__builtin_memcpy(sc->ev.daddr, dip, 16);
	sc->ev.dport = dport;
	ks_sk_local(sk, sfam, sc->ev.saddr, &sc->ev.sport);
	sc->ev.direction = KS_DIR_EGRESS;
	return ks_net_finish(t, sc, sfam, caps);
}

/*
 * connect of a sock that already holds its destination: TCP at CLOSE ->
 * SYN_SENT, or a connected UDP sock at connect()'s exit (hook_sys.bpf.c).
 */
static __always_inline void ks_on_sk_connect(struct sock *sk)
{
	struct ks_scratch *sc;
	struct ks_tables *t;
	__u16 fam;

	if (ks_host_skip(KS_SRC_NET))
		return;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam != KS_AF_INET && fam != KS_AF_INET6) {
		ks_count_filtered(KS_CTX_TASK, KS_SRC_NET);
		return;
	}
	sc = ks_net_begin(sk, KS_ACT_CONNECT, &t);
	if (!sc)
		return;
	ks_sk_remote(sk, fam, sc->ev.daddr, &sc->ev.dport);
	ks_sk_local(sk, fam, sc->ev.saddr, &sc->ev.sport);
	sc->ev.direction = KS_DIR_EGRESS;
	ks_net_finish(t, sc, fam, KS_CAN_SIGNAL);
}

static __always_inline int ks_on_accept(struct sock *sk)
{
	struct ks_scratch *sc;
	struct ks_tables *t;
	__u16 fam;

	if (ks_host_skip(KS_SRC_NET))
		return 0;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam != KS_AF_INET && fam != KS_AF_INET6) {
		ks_count_filtered(KS_CTX_TASK, KS_SRC_NET);
		return 0;
	}
	sc = ks_net_begin(sk, KS_ACT_ACCEPT, &t);
	if (!sc)
		return 0;
	ks_sk_remote(sk, fam, sc->ev.saddr, &sc->ev.sport);
	ks_sk_local(sk, fam, sc->ev.daddr, &sc->ev.dport);
	sc->ev.direction = KS_DIR_INGRESS;
	return ks_net_finish(t, sc, fam, KS_CAN_SIGNAL);
}

#endif /* KS_NET_BPF_H */
