// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Network events of processes: connect and accept, AF_INET/AF_INET6 only.
 *
 *   action   lsm mode                     signal / observe mode
 *   connect  ks_lsm_connect               ks_sig_connect (TCP)
 *              lsm/socket_connect (EPERM)   tp_btf/inet_sock_set_state
 *                                         ks_ksig_connect (UDP, ...)
 *                                           kprobe/security_socket_connect
 *   accept   ks_kall_accept: kprobe/security_sock_graft, every mode
 *
 * connect, lsm: the hook runs before the kernel sends anything, with the
 * destination the caller passed; the source is what the socket is bound
 * to at that moment (unbound: all-zero, port 0). A denied connect returns
 * EPERM and sends no SYN.
 *
 * connect, signal: TCP moves CLOSE -> SYN_SENT inside tcp_v4/v6_connect(),
 * in the caller's context, with the destination and source address set
 * (the source port is picked right after). inet_sock_set_state is a
 * tp_btf tracepoint on 6.1 and 6.18 and needs no kprobes. SIGKILL: the
 * SYN still leaves, the caller dies before connect() returns and its
 * socket is reset. Other transports (UDP) have no such tracepoint: the
 * kprobe twin covers them where the kernel has kprobes (ks_ksig_*, see
 * hook_file.bpf.c) and skips TCP so no connect is reported twice. A TCP
 * connect that fails before SYN_SENT (EISCONN, EINVAL, no route) is
 * reported in lsm mode only.
 *
 * accept: socket_accept runs before the peer is known, and
 * inet_sock_set_state(ESTABLISHED) of a passive socket fires in softirq,
 * not in the accepting process. sock_graft() is where accept() attaches
 * the new, established sock to the caller's socket, in the caller's
 * context, with both endpoints known: inet_accept (6.1) / __inet_accept
 * (6.18) -> sock_graft() -> security_sock_graft(). It is a void LSM hook,
 * so accept cannot be refused (the handshake is already complete):
 * `block` and `kill` SIGKILL the accepting process, which dies before
 * accept() returns the descriptor. A kprobe there, rather than a
 * kretprobe on inet_csk_accept, holds no kretprobe instance per thread
 * sleeping in accept(). Source is the remote peer (the initiator) and
 * destination the local address. Kernels without kprobes: no accept.
 *
 * Addresses are 16 bytes, IPv4 mapped as ::ffff:a.b.c.d, an unbound
 * 0.0.0.0 left all-zero like ::; family is 4 for IPv4 sockets and for
 * dual-stack sockets whose destination is IPv4-mapped, else 6.
 * network.direction is egress for connect and ingress for accept.
 */
#include "ks_net.bpf.h"

SEC("lsm/socket_connect")
int BPF_PROG(ks_lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	if (ret)
		return ret;
	return ks_on_connect(sock, address, addrlen, KS_CAN_DENY | KS_CAN_SIGNAL, 0);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_sig_connect, struct sock *sk, int oldstate, int newstate)
{
	/* every TCP state change of the host passes here: decide on two ints */
	if (newstate != KS_TCP_SYN_SENT || oldstate != KS_TCP_CLOSE)
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	ks_on_sk_connect(sk);
	return 0;
}

/* kprobe twins, optional (see hook_file.bpf.c) */

SEC("kprobe/security_socket_connect")
int BPF_KPROBE(ks_ksig_connect, struct socket *sock, struct sockaddr *address, int addrlen)
{
	ks_on_connect(sock, address, addrlen, KS_CAN_SIGNAL, 1);
	return 0;
}

SEC("kprobe/security_sock_graft")
int BPF_KPROBE(ks_kall_accept, struct sock *sk, struct socket *parent)
{
	ks_on_accept(sk);
	return 0;
}
