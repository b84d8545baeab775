// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live network events (bpf/hook_net.bpf.c). The test listens on loopback
 * (127.0.0.1 and, when the kernel has it, ::1), a forked child connects,
 * the test accepts. A rule on the listening ports makes the kernel forward
 * the connect (child) and accept (test process) events; their endpoints,
 * transport, direction and process fields are checked.
 *
 * Subtests per mode and action: signal_connect (tp_btf inet_sock_set_state),
 * lsm_connect (BPF LSM socket_connect) where the kernel has BPF LSM, and
 * *_accept (kprobe on security_sock_graft in both modes, or the accept
 * syscall tracepoints where the kernel has no kprobes). The tracepoint_*
 * subtests force the syscall tracepoints (bpf/hook_sys.bpf.c) even where
 * kprobes work, so the VM runs them too: accept, and UDP connect (TCP
 * stays with inet_sock_set_state).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "testutil.h"
#include "kestrel.skel.h"
#include "test_progs.h"

#define ST_DRAIN_MS	200

/* A TCP listener on loopback (fam AF_INET or AF_INET6); -1 if unavailable. */
static int listen_lo(int fam, int *port)
{
	struct sockaddr_storage ss = {};
	socklen_t len = sizeof(ss);
	int fd = socket(fam, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (fam == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(fd, (void *)&ss, len) || listen(fd, 8) || getsockname(fd, (void *)&ss, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int connect_lo(int fam, int type, int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(fam, type, 0), err;

	if (fd < 0)
		return -errno;
	if (fam == AF_INET)
		err = connect(fd, (void *)&in, sizeof(in));
	else
		err = connect(fd, (void *)&in6, sizeof(in6));
	err = err ? -errno : 0;
	if (!err && type == SOCK_DGRAM) {
		/* dissolve the association: a connect, but no connection */
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };

		err = connect(fd, &unspec, sizeof(unspec)) ? -errno : 0;
	}
	close(fd);
	return err;
}

/* A child that connects (connect_lo) and exits; its pid, or -1. */
static pid_t connected_child(int fam, int type, int port)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(connect_lo(fam, type, port) ? 1 : 0);
	if (!ASSERT_GT(pid, 0, "fork"))
		return -1;
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child connected");
	return pid;
}

/* 16-byte event address of loopback in family fam */
static void lo_addr(int fam, __u8 *a)
{
	memset(a, 0, 16);
	if (fam == AF_INET) {
		a[10] = a[11] = 0xff;
		a[12] = 127;
		a[15] = 1;
	} else {
		a[15] = 1;
	}
}

static const struct ks_event *find_net(const struct ks_tenv *te, int action, pid_t pid,
				       int dport, int *count)
{
	const struct ks_event *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < te->n; i++) {
		const struct ks_event *ev = &te->evs[i];

		if (ev->category != KS_CAT_NETWORK || ev->action != action ||
		    ev->pid != (__u32)pid || ev->dport != dport)
			continue;
		if (!found)
			found = ev;
		(*count)++;
	}
	return found;
}

static void check_common(const struct ks_tenv *te, const struct ks_event *ev, int fam,
			 int proto, int rule)
{
	char exe[KS_PATH_MAX] = "", buf[KS_PATH_MAX + 1];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
		exe[n] = 0;
	ASSERT_EQ(ev->source, KS_SRC_NET, "source");
	ASSERT_TRUE((ev->present & (KS_P_NET | KS_P_PROCESS | KS_P_USER)) ==
		    (KS_P_NET | KS_P_PROCESS | KS_P_USER), "present bits");
	ASSERT_EQ(ev->transport, proto, "network.transport");
	ASSERT_EQ(ev->family, fam == AF_INET ? 4 : 6, "family");
	ASSERT_EQ(ev->uid, getuid(), "user.id");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_EXECUTABLE, buf, sizeof(buf)), exe,
		     "process.executable");
	ASSERT_TRUE(ks_tenv_matched(te, ev, rule, true), "rule matched");
}

static void run_family(struct ks_tenv *te, int fam, int lfd, int port, bool do_accept)
{
	struct sockaddr_storage peer = {};
	socklen_t plen = sizeof(peer);
	const struct ks_event *ev;
	int cfd, n, peer_port, rule = ks_tenv_rule(te, "st_net");
	__u8 lo[16];
	pid_t pid;

	lo_addr(fam, lo);
	pid = connected_child(fam, SOCK_STREAM, port);
	if (pid < 0)
		return;
	cfd = accept(lfd, (void *)&peer, &plen);
	if (!ASSERT_GE(cfd, 0, "accept"))
		return;
	close(cfd);
	peer_port = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&peer)->sin_port
					 : ((struct sockaddr_in6 *)&peer)->sin6_port);
	ks_tenv_drain(te, ST_DRAIN_MS);

	if (do_accept)
		goto accept;
	ev = find_net(te, KS_ACT_CONNECT, pid, port, &n);
	if (ASSERT_EQ(n, 1, "one connect event") && ev) {
		check_common(te, ev, fam, IPPROTO_TCP, rule);
		ASSERT_OK(memcmp(ev->daddr, lo, 16), "destination.ip");
		ASSERT_EQ(ev->dport, port, "destination.port");
		ASSERT_EQ(ev->direction, 2, "network.direction egress");
		ASSERT_EQ(ev->ppid, getpid(), "process.parent.pid");
		/* the source is known when the hook runs only if it was bound */
		test__log("connect %s: source port %u (0: chosen after the hook)\n",
			  fam == AF_INET ? "v4" : "v6", ev->sport);
	}
	return;
accept:
	ev = find_net(te, KS_ACT_ACCEPT, getpid(), port, &n);
	if (ASSERT_EQ(n, 1, "one accept event") && ev) {
		check_common(te, ev, fam, IPPROTO_TCP, rule);
		ASSERT_OK(memcmp(ev->saddr, lo, 16), "source.ip (peer)");
		ASSERT_EQ(ev->sport, peer_port, "source.port (peer)");
		ASSERT_OK(memcmp(ev->daddr, lo, 16), "destination.ip (local)");
		ASSERT_EQ(ev->dport, port, "destination.port (local)");
		ASSERT_EQ(ev->direction, 1, "network.direction ingress");
	}
}

/*
 * UDP connect (tracepoint source): a connected datagram socket, then
 * connect(AF_UNSPEC), which dissolves the association and is no event.
 */
static void run_udp(struct ks_tenv *te, int port)
{
	int n, rule = ks_tenv_rule(te, "st_net");
	const struct ks_event *ev;
	__u8 lo[16];
	pid_t pid;

	lo_addr(AF_INET, lo);
	pid = connected_child(AF_INET, SOCK_DGRAM, port);
	if (pid < 0)
		return;
	ks_tenv_drain(te, ST_DRAIN_MS);
	ev = find_net(te, KS_ACT_CONNECT, pid, port, &n);
	if (ASSERT_EQ(n, 1, "one UDP connect event") && ev) {
		check_common(te, ev, AF_INET, IPPROTO_UDP, rule);
		ASSERT_OK(memcmp(ev->daddr, lo, 16), "destination.ip");
		/* at the exit the sock is bound: the source port is known */
		ASSERT_NEQ(ev->sport, 0, "source.port");
	}
	/* the rule takes port 0 too: connect(AF_UNSPEC) would show there */
	find_net(te, KS_ACT_CONNECT, pid, 0, &n);
	ASSERT_EQ(n, 0, "no event for connect(AF_UNSPEC)");
}

/*
 * do_accept: check the accept events, else the connect events; sys_tp:
 * force the syscall tracepoint sources (and check UDP connect too).
 */
static void run_mode(int mode, bool do_accept, bool sys_tp)
{
	struct ks_engine_opts o = { .mode = mode, .sys_tracepoints = sys_tp };
	struct ks_tenv te = {};
	int l4, l6, p4 = 0, p6 = 0;
	char yaml[512];

	if (!ks_tenv_mode_available(mode))
		return;
	l4 = listen_lo(AF_INET, &p4);
	l6 = listen_lo(AF_INET6, &p6);
	if (!ASSERT_GE(l4, 0, "listen 127.0.0.1"))
		goto out;
	if (l6 < 0)
		test__log("no IPv6 loopback: IPv6 not checked\n");
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_net\n"
		 "  name: selftest network events\n"
		 "  severity: low\n"
		 "  query: 'network where destination.port in (%d, %d, 0)'\n", p4, p6 ? p6 : p4);
	if (!ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") ||
	    !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	if (sys_tp && !ASSERT_TRUE(ks_engine_prog(&te.e, "ks_tall_accept") != NULL,
				   "tracepoint accept loaded"))
		goto out;
	run_family(&te, AF_INET, l4, p4, do_accept);
	if (l6 >= 0)
		run_family(&te, AF_INET6, l6, p6, do_accept);
	if (sys_tp)
		run_udp(&te, p4);
out:
	ks_tenv_close(&te);
	if (l4 >= 0)
		close(l4);
	if (l6 >= 0)
		close(l6);
}

void test_net_events(void)
{
	if (test__start_subtest("signal_connect"))
		run_mode(KS_MODE_SIGNAL, false, false);
	if (test__start_subtest("signal_accept"))
		run_mode(KS_MODE_SIGNAL, true, false);
	if (test__start_subtest("lsm_connect"))
		run_mode(KS_MODE_LSM, false, false);
	if (test__start_subtest("lsm_accept"))
		run_mode(KS_MODE_LSM, true, false);
	if (test__start_subtest("tracepoint_accept"))
		run_mode(KS_MODE_SIGNAL, true, true);
}
