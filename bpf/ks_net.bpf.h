/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network events of processes: connect and accept, AF_INET/AF_INET6 only.
 *
 *   action   lsm mode                    signal / observe mode
 *   connect  lsm/socket_connect (-EPERM) kprobe/security_socket_connect (SIGKILL)
 *   accept   kprobe/security_sock_graft in every mode (SIGKILL only)
 *
 * connect: the LSM hook runs before the kernel sends anything, with the
 * destination the caller passed; the source is what the socket is bound
 * to at that moment (0.0.0.0:0 / :::0 until the kernel picks one during
 * the connect itself). A denied connect returns EPERM and sends no SYN.
 *
 * accept: socket_accept runs before the peer is known, and
 * inet_sock_set_state(ESTABLISHED) fires in softirq on the server side,
 * not in the accepting process. sock_graft() is where accept() attaches
 * the new, established sock to the caller's socket, in the caller's
 * context, with both endpoints known: inet_accept (6.1) / __inet_accept
 * (6.18) -> sock_graft() -> security_sock_graft(). It is a void LSM hook,
 * so accept cannot be refused (the handshake is already complete):
 * `block` and `kill` SIGKILL the accepting process, which dies before
 * accept() returns the descriptor. A kprobe there (not kretprobe on
 * inet_csk_accept) also means no kretprobe instance is held by every
 * thread sleeping in accept(). For accept, source is the remote peer and
 * destination the local address (ECS: source = initiator).
 *
 * Addresses are 16 bytes, IPv4 mapped as ::ffff:a.b.c.d, an unbound
 * 0.0.0.0 left all-zero like ::; family is 4 for IPv4 sockets and for
 * dual-stack sockets whose destination is IPv4-mapped, else 6.
 * network.direction is egress for connect and ingress for accept.
 */
#ifndef KS_NET_BPF_H
#define KS_NET_BPF_H

#include <bpf/bpf_endian.h>

#define KS_AF_INET	2
#define KS_AF_INET6	10
#define KS_DIR_INGRESS	1
#define KS_DIR_EGRESS	2

static __always_inline void ks_count_filtered(__u32 src)
{
	struct ks_stats *st = ks_stats_get(KS_CTX_TASK);

	if (!st)
		return;
	ks_count(&st->events[src]);
	ks_count(&st->filtered[src]);
}

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
		BPF_CORE_READ_INTO(ip, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	*port = BPF_CORE_READ(sk, __sk_common.skc_num);
}

/* Remote address and port of a connected inet sock. */
static __always_inline void ks_sk_remote(struct sock *sk, __u32 fam, __u8 *ip, __u16 *port)
{
	if (fam == KS_AF_INET)
		ks_ip4(ip, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	else
		BPF_CORE_READ_INTO(ip, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	*port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/*
 * Common part of connect and accept: the process and the socket's
 * transport. Returns the claimed scratch, or NULL (already counted).
 */
static __always_inline struct ks_scratch *ks_net_begin(struct sock *sk, __u32 act)
{
	struct ks_scratch *sc;
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);

	sc = ks_scratch_get(KS_CTX_TASK);
	if (!sc) {
		ks_count_drop(KS_CTX_TASK, KS_SRC_NET, KS_DROP_REENTRANT);
		return NULL;
	}
	ks_event_init(sc, KS_CAT_NETWORK, act, KS_SRC_NET);
	ks_fill_current(sc);
	sc->ev.transport = proto > 255 ? 0 : proto;
	sc->ev.present |= KS_P_NET;
	return sc;
}

static __always_inline int ks_net_finish(struct ks_scratch *sc, __u32 sfam, __u32 caps)
{
	int denied;

	/* the peer decides: a dual-stack socket talking to ::ffff:a.b.c.d is IPv4 */
	sc->ev.family = sfam == KS_AF_INET || ks_ip_mapped(sc->ev.daddr) ? 4 : 6;
	ks_evaluate(sc, KS_CTX_TASK, KS_SRC_NET, caps);
	denied = sc->ev.verdict.flags & KS_V_DENIED;
	ks_scratch_put(sc);
	return denied ? -EPERM : 0;
}

static __always_inline int ks_on_connect(struct socket *sock, struct sockaddr *addr,
					 int addrlen, __u32 caps)
{
	struct sock *sk;
	struct ks_scratch *sc;
	__u16 sfam, afam = 0, dport;
	__u8 dip[16];

	if (ks_host_skip(KS_SRC_NET))
		return 0;
	sk = BPF_CORE_READ(sock, sk);
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

		BPF_CORE_READ_INTO(dip, in6, sin6_addr.in6_u.u6_addr8);
		dport = bpf_ntohs(BPF_CORE_READ(in6, sin6_port));
	} else {
		/* AF_UNIX, netlink, AF_UNSPEC (disconnect), bad lengths */
		ks_count_filtered(KS_SRC_NET);
		return 0;
	}
	sc = ks_net_begin(sk, KS_ACT_CONNECT);
	if (!sc)
		return 0;
	__builtin_memcpy(sc->ev.daddr, dip, 16);
	sc->ev.dport = dport;
	ks_sk_local(sk, sfam, sc->ev.saddr, &sc->ev.sport);
	sc->ev.direction = KS_DIR_EGRESS;
	return ks_net_finish(sc, sfam, caps);
}

static __always_inline int ks_on_accept(struct sock *sk)
{
	struct ks_scratch *sc;
	__u16 fam;

	if (ks_host_skip(KS_SRC_NET))
		return 0;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam != KS_AF_INET && fam != KS_AF_INET6) {
		ks_count_filtered(KS_SRC_NET);
		return 0;
	}
	sc = ks_net_begin(sk, KS_ACT_ACCEPT);
	if (!sc)
		return 0;
	ks_sk_remote(sk, fam, sc->ev.saddr, &sc->ev.sport);
	ks_sk_local(sk, fam, sc->ev.daddr, &sc->ev.dport);
	sc->ev.direction = KS_DIR_INGRESS;
	return ks_net_finish(sc, fam, KS_CAN_SIGNAL);
}

SEC("lsm/socket_connect")
int BPF_PROG(ks_lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	if (ret)
		return ret;
	return ks_on_connect(sock, address, addrlen, KS_CAN_DENY | KS_CAN_SIGNAL);
}

SEC("kprobe/security_socket_connect")
int BPF_KPROBE(ks_sig_connect, struct socket *sock, struct sockaddr *address, int addrlen)
{
	ks_on_connect(sock, address, addrlen, KS_CAN_SIGNAL);
	return 0;
}

SEC("kprobe/security_sock_graft")
int BPF_KPROBE(ks_all_accept, struct sock *sk, struct socket *parent)
{
	ks_on_accept(sk);
	return 0;
}

#endif /* KS_NET_BPF_H */
