// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Network namespaces and veth pairs over raw rtnetlink: one request per
 * message, NLM_F_ACK, and the kernel's error code returned as -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "netns.h"

#define NL_BUF	1024

struct nl_req {
	struct nlmsghdr *h;
	char buf[NL_BUF];
};

static void nl_init(struct nl_req *r, int type, int flags, const void *body, size_t len)
{
	memset(r->buf, 0, sizeof(r->buf));
	r->h = (struct nlmsghdr *)r->buf;
	r->h->nlmsg_len = NLMSG_LENGTH(len);
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->h->nlmsg_seq = 1;
	memcpy(NLMSG_DATA(r->h), body, len);
}

static struct rtattr *nl_tail(struct nl_req *r)
{
	return (struct rtattr *)(r->buf + NLMSG_ALIGN(r->h->nlmsg_len));
}

static struct rtattr *nl_put(struct nl_req *r, int type, const void *data, size_t len)
{
	struct rtattr *a = nl_tail(r);
	size_t need = NLMSG_ALIGN(r->h->nlmsg_len) + RTA_SPACE(len);

	if (need > sizeof(r->buf))
		return NULL;
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = need;
	return a;
}

static struct rtattr *nl_nest(struct nl_req *r, int type)
{
	return nl_put(r, type, NULL, 0);
}

static void nl_nest_end(struct nl_req *r, struct rtattr *nest)
{
	nest->rta_len = (char *)nl_tail(r) - (char *)nest;
}

/* Send one request and wait for its ack. */
static int nl_talk(struct nl_req *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	int fd, err;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, r->buf, r->h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				goto out;
			}
		}
	}
out:
	close(fd);
	return err;
}

int ks_nl_veth_add(const char *name, const char *peer, int peer_ns_fd)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *pinfo;
	struct nl_req r;

	nl_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
	info = nl_nest(&r, IFLA_LINKINFO);
	nl_put(&r, IFLA_INFO_KIND, "veth", 4);
	data = nl_nest(&r, IFLA_INFO_DATA);
	pinfo = nl_nest(&r, VETH_INFO_PEER);
	/* the peer's attributes follow its own struct ifinfomsg */
	r.h->nlmsg_len = NLMSG_ALIGN(r.h->nlmsg_len) + NLMSG_ALIGN(sizeof(ifi));
	memset((char *)RTA_DATA(pinfo), 0, sizeof(ifi));
	nl_put(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
	if (peer_ns_fd >= 0 && !nl_put(&r, IFLA_NET_NS_FD, &peer_ns_fd, sizeof(peer_ns_fd)))
		return -E2BIG;
	nl_nest_end(&r, pinfo);
	nl_nest_end(&r, data);
	nl_nest_end(&r, info);
	return nl_talk(&r);
}

int ks_nl_link_up(int ifindex)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = IFF_UP,
		.ifi_change = IFF_UP,
	};
	struct nl_req r;

	nl_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(&r);
}

int ks_nl_link_del(int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_req r;

	nl_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(&r);
}

int ks_nl_addr4_add(int ifindex, const char *addr, int prefix)
{
	struct ifaddrmsg ifa = {
		.ifa_family = AF_INET,
		.ifa_prefixlen = prefix,
		.ifa_index = ifindex,
	};
	struct in_addr a;
	struct nl_req r;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	nl_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_put(&r, IFA_LOCAL, &a, sizeof(a));
	nl_put(&r, IFA_ADDRESS, &a, sizeof(a));
	return nl_talk(&r);
}

int ks_netns_enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

int ks_netns_new(void)
{
	int self, fd, err;

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	if (ks_netns_enter(self) && !err) {
		close(fd);
		err = -errno;
	}
	close(self);
	return err ? err : fd;
}

static int ks_ns_setup(int ns, const char *ifname, int *ifindex, const char *addr, int prefix)
{
	int err;

	err = ks_netns_enter(ns);
	if (err)
		return err;
	*ifindex = if_nametoindex(ifname);
	if (!*ifindex)
		return -errno;
	err = ks_nl_addr4_add(*ifindex, addr, prefix);
	if (!err)
		err = ks_nl_link_up(*ifindex);
	if (!err)	/* loopback too: local sockets may need it */
		err = ks_nl_link_up(if_nametoindex("lo"));
	return err;
}

int ks_veth_create(struct ks_veth *v, const char *addr_a, const char *addr_b, int prefix)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->ns_a = v->ns_b = -1;
	v->ns_host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (v->ns_host < 0) {
		err = -errno;
		snprintf(v->why, sizeof(v->why), "cannot open our netns: %s", strerror(-err));
		return err;
	}
	v->ns_a = ks_netns_new();
	v->ns_b = v->ns_a >= 0 ? ks_netns_new() : -1;
	if (v->ns_a < 0 || v->ns_b < 0) {
		err = v->ns_a < 0 ? v->ns_a : v->ns_b;
		snprintf(v->why, sizeof(v->why), "cannot create a network namespace: %s",
			 strerror(-err));
		goto fail;
	}
	/* short names: unique per process, identical in every run */
	snprintf(v->if_a, sizeof(v->if_a), "ksa%d", (int)getpid() % 100000);
	snprintf(v->if_b, sizeof(v->if_b), "ksb%d", (int)getpid() % 100000);

	err = ks_netns_enter(v->ns_a);
	if (!err)
		err = ks_nl_veth_add(v->if_a, v->if_b, v->ns_b);
	if (err) {
		snprintf(v->why, sizeof(v->why), "cannot create a veth pair: %s (CONFIG_VETH?)",
			 strerror(-err));
		goto fail;
	}
	err = ks_ns_setup(v->ns_a, v->if_a, &v->ifindex_a, addr_a, prefix);
	if (!err)
		err = ks_ns_setup(v->ns_b, v->if_b, &v->ifindex_b, addr_b, prefix);
	if (err) {
		snprintf(v->why, sizeof(v->why), "cannot configure the veth pair: %s",
			 strerror(-err));
		goto fail;
	}
	ks_netns_enter(v->ns_host);
	return 0;
fail:
	ks_veth_destroy(v);
	return err;
}

void ks_veth_destroy(struct ks_veth *v)
{
	if (v->ns_host >= 0)
		ks_netns_enter(v->ns_host);
	/* the last reference to a namespace takes its devices (and the pair) with it */
	if (v->ns_a >= 0)
		close(v->ns_a);
	if (v->ns_b >= 0)
		close(v->ns_b);
	if (v->ns_host >= 0)
		close(v->ns_host);
	v->ns_a = v->ns_b = v->ns_host = -1;
}
