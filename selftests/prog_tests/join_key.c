// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel's join keys (ks_entity), through the replay program:
 *
 *  model   every ks_entity key is the SipHash-2-4 of the join values that
 *          the C model (ks_walk_join_hash) computes under the key the
 *          engine drew: command lines hashed whole (two of 500 bytes that
 *          differ only in their last byte get two entries), arguments
 *          joined by spaces, addresses and ports, paths
 *  cut     a join value the event holds only in part is not joined in the
 *          kernel: no state, no enforcement, the match goes to kload as
 *          not exact (counted), and kload's NFA still alerts
 *  null    a null join key (here process.parent.executable of an event
 *          without a parent) takes no part in the step: no state, no
 *          enforcement, nothing forwarded; written ?name, it may be null
 *          and null joins null (Elastic's optional field)
 */
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "kestrel/tablewalk.h"
#include "testutil.h"
#include "test_progs.h"

static const char jk_rules[] =
	"- rule: jk_cmd\n"
	"  name: by command line\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    sequence by process.command_line with maxspan=1h\n"
	"      [process where event.action == \"exec\" and user.id == 1]\n"
	"      [process where event.action == \"exec\" and user.id == 2]\n"
	"- rule: jk_net\n"
	"  name: by address and port\n"
	"  severity: low\n"
	"  query: |\n"
	"    sequence by source.ip, destination.port with maxspan=1h\n"
	"      [network where event.action == \"connect\" and user.id == 1]\n"
	"      [network where event.action == \"connect\" and user.id == 2]\n"
	"- rule: jk_path\n"
	"  name: by path\n"
	"  severity: low\n"
	"  query: |\n"
	"    sequence by file.path with maxspan=1h\n"
	"      [file where event.action == \"open\" and user.id == 1]\n"
	"      [file where event.action == \"open\" and user.id == 2]\n"
	"- rule: jk_null\n"
	"  name: by parent\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    sequence by process.parent.executable with maxspan=1h\n"
	"      [process where event.action == \"exec\" and user.id == 3]\n"
	"      [process where event.action == \"exec\" and user.id == 4]\n"
	"- rule: jk_opt\n"
	"  name: by parent, optional\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    sequence by ?process.parent.executable with maxspan=1h\n"
	"      [process where event.action == \"exec\" and user.id == 5]\n"
	"      [process where event.action == \"exec\" and user.id == 6]\n";

#define HEAD "{\"@timestamp\":\"2026-01-01T00:00:01Z\","
#define PROC(uid) "\"user\":{\"id\":" #uid "},\"process\":{\"pid\":10,\"entity_id\":\"10-1\"," \
	"\"executable\":\"/bin/x\""

/* An exec of user uid whose arguments are the JSON array elements args. */
static int exec_event(int uid, const char *args, struct ks_event *ev)
{
	char *js = NULL;
	int ret;

	if (asprintf(&js, HEAD "\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		     "\"user\":{\"id\":%d},\"process\":{\"pid\":10,\"entity_id\":\"10-1\","
		     "\"executable\":\"/bin/x\",\"args\":[%s]}}", uid, args) < 0)
		return -1;
	ret = ks_tenv_event(js, ev);
	free(js);
	return ret;
}

/* "x...x<last>": one argument of n bytes */
static char *long_arg(size_t n, char last)
{
	char *a = malloc(n + 3);

	a[0] = '"';
	memset(a + 1, 'x', n - 1);
	a[n] = last;
	a[n + 1] = '"';
	a[n + 2] = 0;
	return a;
}

static int load(struct ks_tenv *te)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_SIGNAL };

	if (!ASSERT_OK(ks_tenv_compile(te, jk_rules), "compile"))
		return -1;
	if (!ASSERT_OK(ks_tenv_load(te, &o), "load"))
		return -1;
	return 0;
}

static const struct ks_step *first_step(const struct ks_tenv *te, const char *rule)
{
	int r = ks_tenv_rule(te, rule);

	return r < 0 ? NULL : &te->t->steps[te->t->rules[r].first_step];
}

static __u64 model(const struct ks_tenv *te, const char *rule, const struct ks_event *ev)
{
	return ks_walk_join_hash(ev, first_step(te, rule), te->e.hash_key[0], te->e.hash_key[1]);
}

/*
 * Entries of ks_entity for rule: how many, and how many of them have a
 * join hash among want[0..n).
 */
static int entries(const struct ks_tenv *te, const char *rule, const __u64 *want, int n,
		   int *matching)
{
	struct ks_entity_key key, next, *prev = NULL;
	__u32 uid = te->t->rules[ks_tenv_rule(te, rule)].uid;
	int total = 0, i;

	*matching = 0;
	while (!bpf_map_get_next_key(te->e.entity_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.rule_uid != uid)
			continue;
		total++;
		for (i = 0; i < n; i++)
			if (key.join_hash == want[i]) {
				(*matching)++;
				break;
			}
	}
	return total;
}

static void test_model(void)
{
	char *a1 = long_arg(500, '1'), *a2 = long_arg(500, '2');
	struct ks_event ev[6];
	struct ks_tenv te = {};
	__u64 want[4];
	int n, m;

	if (load(&te) ||
	    !ASSERT_OK(exec_event(1, a1, &ev[0]), "event") ||
	    !ASSERT_OK(exec_event(1, a2, &ev[1]), "event") ||
	    !ASSERT_OK(exec_event(1, "\"a b\"", &ev[2]), "event") ||
	    !ASSERT_OK(exec_event(1, "\"a\",\"b\"", &ev[3]), "event") ||
	    !ASSERT_OK(ks_tenv_event(HEAD "\"event\":{\"category\":\"network\",\"action\":"
				     "\"connect\"},\"source\":{\"ip\":\"10.1.2.3\",\"port\":5555},"
				     "\"destination\":{\"ip\":\"10.9.9.9\",\"port\":443}," PROC(1) "}}",
				     &ev[4]), "event") ||
	    !ASSERT_OK(ks_tenv_event(HEAD "\"event\":{\"category\":\"file\",\"action\":\"open\"},"
				     "\"file\":{\"path\":\"/tmp/jk\"}," PROC(1) "}}", &ev[5]),
		       "event"))
		goto out;
	ASSERT_FALSE(ev[0].truncated, "500 bytes fit the arguments slot");
	want[0] = model(&te, "jk_cmd", &ev[0]);
	want[1] = model(&te, "jk_cmd", &ev[1]);
	want[2] = model(&te, "jk_cmd", &ev[2]);
	ASSERT_NEQ(want[0], want[1], "the last byte counts");
	ASSERT_EQ(want[2], model(&te, "jk_cmd", &ev[3]), "[\"a b\"] joins [\"a\", \"b\"]");
	if (!ASSERT_OK(ks_tenv_replay(&te, ev, 6), "replay"))
		goto out;
	n = entries(&te, "jk_cmd", want, 3, &m);
	test__log("jk_cmd: %d entries, %d with the model's hash\n", n, m);
	ASSERT_EQ(n, 3, "one entry per distinct command line");
	ASSERT_EQ(m, 3, "kernel hashes equal the model's");
	want[0] = model(&te, "jk_net", &ev[4]);
	ASSERT_EQ(entries(&te, "jk_net", want, 1, &m), 1, "network entry");
	ASSERT_EQ(m, 1, "kernel hash of address and port equals the model's");
	want[0] = model(&te, "jk_path", &ev[5]);
	ASSERT_EQ(entries(&te, "jk_path", want, 1, &m), 1, "file entry");
	ASSERT_EQ(m, 1, "kernel hash of the path equals the model's");
out:
	free(a1);
	free(a2);
	ks_tenv_close(&te);
}

/* Completed by the kernel (and enforced) unless the join value was cut. */
static void test_cut(void)
{
	char *whole = long_arg(300, 'w'), *cut = long_arg(600, 'c');
	struct ks_event ev[4];
	struct ks_tenv te = {};
	struct ks_stats st;
	int rule, i, n, m;
	char *alerts = NULL;

	if (load(&te) ||
	    !ASSERT_OK(exec_event(1, whole, &ev[0]), "event") ||
	    !ASSERT_OK(exec_event(2, whole, &ev[1]), "event") ||
	    !ASSERT_OK(exec_event(1, cut, &ev[2]), "event") ||
	    !ASSERT_OK(exec_event(2, cut, &ev[3]), "event"))
		goto out;
	ASSERT_TRUE(ev[2].truncated, "600 bytes are cut to the slot");
	rule = ks_tenv_rule(&te, "jk_cmd");
	if (!ASSERT_OK(ks_tenv_replay(&te, ev, 4), "replay") || !ASSERT_EQ(te.n, 4, "forwarded"))
		goto out;
	ks_tenv_stats(&te, &st);
	ASSERT_EQ(st.join_cut, 2, "both cut steps counted");
	ASSERT_EQ(st.seq_completed, 1, "the whole one completed in the kernel");
	ASSERT_TRUE(te.evs[1].verdict.flags & KS_V_KILLED, "and was enforced");
	for (i = 2; i < 4; i++) {
		ASSERT_FALSE(ks_tenv_matched(&te, &te.evs[i], rule, false),
			     "cut: no exact match, kload decides");
		ASSERT_EQ(te.evs[i].verdict.n_match, 1, "cut: the match is forwarded");
		ASSERT_FALSE(te.evs[i].verdict.flags & (KS_V_KILLED | KS_V_DENIED),
			     "cut: never enforced");
	}
	n = entries(&te, "jk_cmd", NULL, 0, &m);
	ASSERT_EQ(n, 0, "no kernel state for the cut value");
	alerts = ks_tenv_alerts(&te, jk_rules);
	if (ASSERT_OK_PTR(alerts, "alerts")) {
		const char *k = strstr(alerts, "\"outcome\":\"killed\"");

		ASSERT_TRUE(k && !strstr(k + 1, "\"outcome\":\"killed\""), "one enforced alert");
		ASSERT_HAS_STR(alerts, "\"outcome\":\"success\"", "the cut one alerts, unenforced");
	}
out:
	free(alerts);
	free(whole);
	free(cut);
	ks_tenv_close(&te);
}

/*
 * Execs without a parent (process.parent.executable null): jk_null's
 * steps leave them out in the kernel, jk_opt's ?key joins them.
 */
static void test_null(void)
{
	struct ks_event ev[4];
	struct ks_tenv te = {};
	struct ks_stats st;
	int n, m, i;
	__u64 want;

	if (load(&te))
		goto out;
	for (i = 0; i < 4; i++)
		if (!ASSERT_OK(exec_event(3 + i, "\"x\"", &ev[i]), "event"))
			goto out;
	ASSERT_FALSE(ev[0].present & KS_P_PARENT, "no parent: the key is null");
	/* the null steps alone: the kernel keeps no state and forwards nothing */
	if (!ASSERT_OK(ks_tenv_replay(&te, ev, 2), "replay"))
		goto out;
	ks_tenv_stats(&te, &st);
	ASSERT_EQ(te.n, 0, "null key: not forwarded");
	ASSERT_EQ(st.seq_started, 0, "null key: no sequence started");
	ASSERT_EQ(st.seq_completed, 0, "null key: none completed");
	n = entries(&te, "jk_null", NULL, 0, &m);
	ASSERT_EQ(n, 0, "null key: no kernel state");
	/* ?key: null joins null (hashed as the model does), completed and enforced */
	want = model(&te, "jk_opt", &ev[2]);
	ASSERT_EQ(want, model(&te, "jk_opt", &ev[3]), "?key: one null key");
	if (!ASSERT_OK(ks_tenv_replay(&te, ev + 2, 1), "replay"))
		goto out;
	ASSERT_EQ(entries(&te, "jk_opt", &want, 1, &m), 1, "?key: a kernel entry");
	ASSERT_EQ(m, 1, "?key: the kernel's null hash is the model's");
	if (!ASSERT_OK(ks_tenv_replay(&te, ev + 3, 1), "replay") || !ASSERT_EQ(te.n, 2, "forwarded"))
		goto out;
	ks_tenv_stats(&te, &st);
	ASSERT_EQ(st.seq_started, 1, "?key: started");
	ASSERT_EQ(st.seq_completed, 1, "?key: completed");
	ASSERT_TRUE(te.evs[1].verdict.flags & KS_V_KILLED, "?key: enforced");
	ASSERT_EQ(entries(&te, "jk_opt", NULL, 0, &m), 0, "?key: consumed");
out:
	ks_tenv_close(&te);
}

void test_join_key(void)
{
	if (test__start_subtest("model"))
		test_model();
	if (test__start_subtest("cut"))
		test_cut();
	if (test__start_subtest("null"))
		test_null();
}
