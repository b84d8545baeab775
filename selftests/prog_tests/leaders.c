// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * process.session_leader.* and process.entry_leader.*, filled by the
 * kernel from live events (maps/ks_event.h):
 *
 *  session    a process that called setsid() is the leader of its
 *             children's session: their leader entity key is the
 *             leader's own process.entity_id key; once the leader has
 *             gone, the key is KS_ENTITY_KEY(sid, 0); on the host the
 *             entry leader is the session leader
 *  container  in a new pid namespace the entry leader is its init
 *  seq        a kernel-exact sequence by process.session_leader.entity_id
 *             completes in the kernel for two execs of one session, not
 *             for the same execs in two sessions
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define P_LA	"/tmp/ks_st_lead_a"
#define P_LB	"/tmp/ks_st_lead_b"

static const char rules[] =
	"- rule: st_lead_fork\n"
	"  name: forks of the test\n"
	"  severity: low\n"
	"  query: |\n"
	"    process where event.action == \"fork\" and process.name : \"test_progs*\"\n"
	"- rule: st_lead_seq\n"
	"  name: a then b in one session\n"
	"  severity: low\n"
	"  query: |\n"
	"    sequence by process.session_leader.entity_id with maxspan=1m\n"
	"      [process where event.action == \"exec\" and process.executable == \"" P_LA "\"]\n"
	"      [process where event.action == \"exec\" and process.executable == \"" P_LB "\"]\n";

/* The forwarded fork event of pid, or (pid 0) of a child of ppid other than `not`. */
static const struct ks_event *fork_of(const struct ks_tenv *te, __u32 pid, __u32 ppid,
				      __u32 not)
{
	size_t i;

	for (i = 0; i < te->n; i++) {
		const struct ks_event *ev = &te->evs[i];

		if (ev->action == KS_ACT_FORK && (pid ? ev->pid == pid :
		    ev->ppid == ppid && ev->pid != not))
			return ev;
	}
	return NULL;
}

static void wait_child(pid_t pid)
{
	int status;

	waitpid(pid, &status, 0);
}

/*
 * a: setsid(), fork b (which waits on `go`, then forks c2 once a is
 * gone), fork c1; report b's pid on `out`. Returns a's pid.
 */
static pid_t session_tree(int go, int out)
{
	pid_t a = fork(), b, c;
	char ch;

	if (a)
		return a;
	if (setsid() < 0)
		_exit(1);
	b = fork();
	if (b == 0) {
		if (read(go, &ch, 1) != 1)
			_exit(1);
		c = fork();
		if (c == 0)
			_exit(0);
		wait_child(c);
		_exit(0);
	}
	c = fork();
	if (c == 0)
		_exit(0);
	wait_child(c);
	if (write(out, &b, sizeof(b)) != sizeof(b))
		_exit(1);
	/*
	 * execs in this session: b first, which would complete the test's own
	 * a if sessions did not keep them apart, then a and b
	 */
	ks_run_exe(P_LB, "true", NULL);
	ks_run_exe(P_LA, "true", NULL);
	ks_run_exe(P_LB, "true", NULL);
	_exit(0);
}

static void check_session(struct ks_tenv *te, pid_t a, pid_t b)
{
	const struct ks_event *ea = fork_of(te, a, 0, 0), *eb = fork_of(te, b, 0, 0);
	const struct ks_event *c1 = fork_of(te, 0, a, b), *c2 = fork_of(te, 0, b, 0);

	if (!ASSERT_OK_PTR(ea, "fork of a") || !ASSERT_OK_PTR(eb, "fork of b") ||
	    !ASSERT_OK_PTR(c1, "fork of c1") || !ASSERT_OK_PTR(c2, "fork of c2"))
		return;
	/* a before setsid(): the test's session */
	ASSERT_EQ(ea->sl_pid, getsid(0), "a's leader before setsid: the test's");
	ASSERT_NEQ(ea->sl_entity, ea->entity, "a was not its own leader");
	/* b and c1: a is their leader, named as a's own events name it */
	ASSERT_EQ(eb->sl_pid, a, "b: session leader pid");
	ASSERT_EQ(eb->sl_entity, ea->entity, "b: session leader entity is a's");
	ASSERT_EQ(eb->sl_start_ns, ea->start_ns, "b: session leader start");
	ASSERT_EQ(c1->sl_entity, ea->entity, "c1: session leader entity is a's");
	if (c1->pid_ns == KS_PID_NS_HOST) {
		ASSERT_EQ(c1->el_entity, c1->sl_entity, "host: entry leader = session leader");
		ASSERT_EQ(c1->el_pid, a, "host: entry leader pid");
	}
	/* c2, forked after a was reaped: the session id alone */
	ASSERT_EQ(c2->sl_pid, a, "c2: session id");
	ASSERT_EQ(c2->sl_start_ns, 0, "c2: leader gone, start unknown");
	ASSERT_EQ(c2->sl_entity, KS_ENTITY_KEY(a, 0), "c2: key of the session id");
}

/* x: unshare a pid namespace, fork its init y, which forks z. */
static pid_t ns_tree(void)
{
	pid_t x = fork(), y, z;

	if (x)
		return x;
	if (unshare(CLONE_NEWPID))
		_exit(2);
	y = fork();
	if (y == 0) {
		z = fork();
		if (z == 0)
			_exit(0);
		wait_child(z);
		_exit(0);
	}
	wait_child(y);
	_exit(0);
}

static void check_container(struct ks_tenv *te, pid_t x)
{
	const struct ks_event *ey = fork_of(te, 0, x, 0), *ez;

	if (!ASSERT_OK_PTR(ey, "fork of the namespace's init"))
		return;
	ez = fork_of(te, 0, ey->pid, 0);
	if (!ASSERT_OK_PTR(ez, "fork in the namespace"))
		return;
	ASSERT_NEQ(ez->pid_ns, KS_PID_NS_HOST, "z is in another pid namespace");
	ASSERT_EQ(ey->el_entity, ey->entity, "the init is its own entry leader");
	ASSERT_EQ(ez->el_pid, ey->pid, "z: entry leader pid is the init's");
	ASSERT_EQ(ez->el_entity, ey->entity, "z: entry leader entity is the init's");
	ASSERT_EQ(ez->sl_pid, getsid(0), "z: session is still the test's");
}

void test_leaders(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_OBSERVE };
	struct ks_tenv te = {};
	struct ks_stats st;
	const struct ks_event *ev;
	int go[2] = { -1, -1 }, out[2] = { -1, -1 }, status;
	pid_t a, b = 0, x;
	char buf[64];

	if (!ASSERT_OK(ks_copy_exe(ks_bin("true", buf, sizeof(buf)), P_LA), "copy a") ||
	    !ASSERT_OK(ks_copy_exe(ks_bin("true", buf, sizeof(buf)), P_LB), "copy b") ||
	    !ASSERT_OK(pipe(go), "pipe") || !ASSERT_OK(pipe(out), "pipe") ||
	    !ASSERT_OK(ks_tenv_compile(&te, rules), "compile"))
		goto out;
	ASSERT_TRUE(te.t->rules[ks_tenv_rule(&te, "st_lead_seq")].flags & KS_R_KSTATE,
		    "the kernel keeps the session sequence");
	if (!ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;

	/* a in the test's session, b in a's: no completion across sessions */
	status = ks_run_exe(P_LA, "true", NULL);
	ASSERT_TRUE(WIFEXITED(status), "a ran in the test's session");
	a = session_tree(go[0], out[1]);
	ASSERT_EQ(read(out[0], &b, sizeof(b)), sizeof(b), "b's pid");
	wait_child(a);
	ASSERT_EQ(write(go[1], "g", 1), 1, "go");
	x = ns_tree();
	wait_child(x);
	usleep(200 * 1000);	/* b and c2 are not our children */
	ks_tenv_drain(&te, 200);

	if (test__start_subtest("session"))
		check_session(&te, a, b);
	if (test__start_subtest("container"))
		check_container(&te, x);
	if (test__start_subtest("seq")) {
		ks_tenv_stats(&te, &st);
		ASSERT_EQ(st.seq_completed, 1, "completed once in the kernel, in a's session");
		ev = ks_tenv_find_exe(&te, P_LB);
		if (ASSERT_OK_PTR(ev, "completing exec forwarded"))
			ASSERT_EQ(ev->sl_pid, a, "completed in a's session");
	}
out:
	ks_tenv_close(&te);
	close(go[0]);
	close(go[1]);
	close(out[0]);
	close(out[1]);
	unlink(P_LA);
	unlink(P_LB);
}
