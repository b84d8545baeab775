/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Private network namespaces and veth pairs for live packet tests, built
 * with raw rtnetlink (the VM's busybox `ip` cannot create veth).
 *
 * Both ends of the pair live in namespaces the test creates, never in the
 * host's: XDP is attached only inside them, and closing the namespaces
 * (ks_veth_destroy) removes the pair and everything attached to it, even
 * if the test stops half way.
 *
 *   struct ks_veth v;
 *   ks_veth_create(&v, "10.201.0.1", "10.201.0.2", 24);   // a: .1, b: .2
 *   ks_netns_enter(v.ns_a);   ... attach XDP to v.if_a, bind receivers ...
 *   ks_netns_enter(v.ns_b);   ... create sender sockets ...
 *   ks_netns_enter(v.ns_host);
 *   ks_veth_destroy(&v);
 *
 * Sockets stay in the namespace they were created in, so one thread can
 * drive both ends: switch namespaces only to create sockets or netlink
 * handles, and to resolve interface names.
 */
#ifndef KS_NETNS_H
#define KS_NETNS_H

#include <stdbool.h>
#include <net/if.h>

struct ks_veth {
	int ns_host;		/* the namespace we started in */
	int ns_a, ns_b;		/* fds keeping the two namespaces alive */
	char if_a[IF_NAMESIZE];	/* veth end in ns_a */
	char if_b[IF_NAMESIZE];	/* its peer in ns_b */
	int ifindex_a, ifindex_b;
	char why[160];		/* why creation failed (for test__skip) */
};

/*
 * Create namespaces a and b and a veth pair between them, both ends up,
 * with IPv4 addresses addr_a/addr_b (/prefix). 0 or -errno (why filled);
 * on return the calling thread is back in its original namespace.
 */
int ks_veth_create(struct ks_veth *v, const char *addr_a, const char *addr_b, int prefix);
/* Return to the original namespace and drop both (removes the pair). */
void ks_veth_destroy(struct ks_veth *v);

/* Move the calling thread into the namespace behind fd (setns). */
int ks_netns_enter(int fd);
/* A new namespace: fd for it; the calling thread stays where it was. */
int ks_netns_new(void);

/* rtnetlink in the calling thread's namespace. 0 or -errno. */
int ks_nl_veth_add(const char *name, const char *peer, int peer_ns_fd);
int ks_nl_link_up(int ifindex);
int ks_nl_addr4_add(int ifindex, const char *addr, int prefix);
int ks_nl_link_del(int ifindex);

#endif /* KS_NETNS_H */
