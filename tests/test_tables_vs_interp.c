// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Property test: the kernel tables (walked by the tablewalk model) agree
 * with the reference interpreter on random events. For every step of every
 * rule: TRUE iff the interpreter says true, FALSE iff false; UNKNOWN only
 * for steps that are not kernel-exact (or when the candidate list of the
 * event overflowed, which makes the kernel forward it). A non-exact step
 * may still say FALSE or TRUE, but then the interpreter must agree: the
 * kernel part is a necessary condition.
 *
 * Events are built from the rules' own literals, numbers and networks with
 * random mutations (case, affixes, truncation, splicing), so most rules
 * come close to matching and the interesting boundaries are exercised.
 *
 * Values also carry raw 0x01/0x02 bytes: the frame sentinels are fed by
 * classes of their own, so such bytes must never end or begin a frame
 * (otherwise a value could forge an equality or suffix match).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <kestrel/rules.h>
#include <kestrel/tablewalk.h>

#include "rules-compiler/lower.h"
#include "testlib.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
	return ks_test_xorshift(&rng_state);
}

/* ---- the rules under test ---- */

static const char *const queries[] = {
	"process where process.executable == \"/bin/sh\"",
	"process where process.name : (\"bash\", \"sh\", \"*ksh\") and user.id == 0",
	"process where process.name in~ (\"Curl\", \"WGET\") and process.args : \"http*\"",
	"process where process.command_line : \"*wget*-O*\"",
	"process where process.command_line : \"*base64 -d*\" or process.args == \"-enc\"",
	"process where startsWith(process.executable, \"/tmp/\") and not process.parent.name == null",
	"process where endsWith~(process.executable, \".SH\")",
	"process where stringContains(process.command_line, \"/dev/tcp/\")",
	"process where process.parent.name != \"sshd\" and process.name == \"sudo\"",
	"process where process.args : \"-?\" and process.args_count >= 3",
	"process where process.name like \"py*on?\"",
	/* EQL regex: whole value, the literal at an end framed */
	"process where process.executable regex \"/tmp/.*\\\\.sh\"",
	"process where process.args regex~ \"-.*C\" and process.name regex \"ba.h\"",
	"process where process.command_line regex (\".*wget.*-O.*\", \"curl.*\")",
	"file where file.path regex \"/etc/(passwd|shadow)\" or file.name regex \"id_.*\"",
	"process where process.name == \"\" or process.executable : \"*\"",
	"process where process.pid < 100 and process.parent.pid != 1",
	"process where event.action == \"exit\" and process.exit_code != 0",
	"process where event.action in (\"exec\", \"fork\") and group.id in (0, 27)",
	"process where process.args == \"\" and process.name != null",
	"process where process.args : (\"*passwd*\", \"*shadow*\") and not process.args : \"--help\"",
	"file where file.path : \"/etc/*\" and event.action == \"modification\"",
	"file where file.name : \"*.so\" and not file.path : \"/usr/lib/*\"",
	"file where file.extension in (\"sh\", \"py\") and file.path : \"/tmp/*\"",
	"file where event.action == \"rename\" and file.target_path : \"*/.ssh/*\"",
	"file where file.path like~ \"/home/*/.bash?rc\"",
	"file where file.path == null or file.name == \"id_rsa\"",
	"network where destination.port in (4444, 1337) and network.transport == \"tcp\"",
	"network where cidrMatch(destination.ip, \"10.0.0.0/8\", \"192.168.0.0/16\") and not cidrMatch(source.ip, \"127.0.0.0/8\")",
	"network where destination.ip == \"203.0.113.9\" or source.ip == \"2001:db8::1\"",
	"network where event.action == \"packet\" and stringContains(payload, \"GET /admin\")",
	"network where observer.ingress.interface.name == \"veth0\" and network.direction == \"ingress\"",
	"network where source.port > 1024 and destination.port <= 1024 and process.name == \"nc\"",
	"any where process.name == \"nc\" or file.name == \"nc\"",
	"any where host.name == \"h1\" and process.name : \"bash\"",
	"any where event.category == \"file\" and user.id != 0",
	/* capability sets: "has any of", "has none of", null when empty */
	"process where process.thread.capabilities.effective : (\"CAP_SET?ID\", \"CAP_SYS_ADMIN\") "
	"and not process.thread.capabilities.permitted in (\"CAP_BPF\", \"CAP_CHOWN\")",
	"any where process.thread.capabilities.permitted != \"CAP_SYS_PTRACE\" or "
	"process.thread.capabilities.effective == null",
	/* null while 0 whatever the presence bit says, as the kernel reads it */
	"network where network.direction == null and source.port != 0",
	"sequence by process.entity_id [process where process.name == \"curl\"] [file where file.path : \"/tmp/*\"] with runs=2 until [process where event.action == \"exit\"]",
	"sequence with maxspan=1m [process where true] by process.pid [network where destination.port == 22] by process.pid",
};

/* ---- the corpus: literals, numbers and networks of the rules ---- */

struct corpus {
	char **s;
	size_t n, cap;
	int64_t nums[256];
	size_t n_nums;
	struct ks_ipnet nets[64];
	size_t n_nets;
};

static void corpus_add(struct corpus *c, const char *s, size_t len)
{
	char *d;
	size_t i, k = 0;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->s = realloc(c->s, c->cap * sizeof(*c->s));
	}
	d = malloc(len + 1);
	/* wildcard and regex syntax out, the literal bytes in */
	for (i = 0; i < len; i++) {
		if (s[i] == '*' || s[i] == '?' || s[i] == '\\' || s[i] == '^' ||
		    s[i] == '$' || (uint8_t)s[i] <= 2)
			continue;
		d[k++] = s[i];
	}
	d[k] = 0;
	c->s[c->n++] = d;
}

static void corpus_node(struct corpus *c, const struct ks_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n_kids; i++)
		corpus_node(c, n->kids[i]);
	for (i = 0; i < n->n_pats; i++)
		corpus_add(c, n->pats[i].s, n->pats[i].len);
	for (i = 0; i < n->n_nums && c->n_nums < 256; i++)
		c->nums[c->n_nums++] = n->nums[i];
	for (i = 0; i < n->n_nets && c->n_nets < 64; i++)
		c->nets[c->n_nets++] = n->nets[i];
}

static void corpus_build(struct corpus *c, const struct ks_ruleset *rs)
{
	size_t r, k;

	memset(c, 0, sizeof(*c));
	corpus_add(c, "", 0);
	corpus_add(c, "/usr/bin/", 9);
	for (r = 0; r < rs->n_rules; r++) {
		const struct ks_query *q = rs->rules[r].q;

		if (!q)
			continue;
		for (k = 0; k < q->n_steps; k++)
			corpus_node(c, q->steps[k].cond);
		if (q->until)
			corpus_node(c, q->until->cond);
	}
}

static void corpus_free(struct corpus *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->s[i]);
	free(c->s);
}

/* ---- random events ---- */

static const char noise[] = "abcXYZ/._- 0189\x01\x02";

/* A corpus string mutated, sometimes with raw sentinel bytes. */
static size_t rand_string(const struct corpus *c, char *out, size_t max)
{
	const char *s = c->s[rnd() % c->n], *t;
	size_t n = strlen(s), i, k;
	char buf[1024];

	if (n >= sizeof(buf) / 2)
		n = sizeof(buf) / 2 - 1;
	memcpy(buf, s, n);
	switch (rnd() % 8) {
	case 0:	/* flip the case of some letters */
		for (i = 0; i < n; i++)
			if (rnd() % 3 == 0)
				buf[i] ^= (buf[i] | 32) >= 'a' && (buf[i] | 32) <= 'z' ? 32 : 0;
		break;
	case 1:	/* prefix or suffix noise */
		k = rnd() % 4;
		if (rnd() % 2) {
			memmove(buf + k, buf, n);
			for (i = 0; i < k; i++)
				buf[i] = noise[rnd() % (sizeof(noise) - 1)];
		} else {
			for (i = 0; i < k; i++)
				buf[n + i] = noise[rnd() % (sizeof(noise) - 1)];
		}
		n += k;
		break;
	case 2:	/* drop a byte */
		if (n) {
			k = rnd() % n;
			memmove(buf + k, buf + k + 1, n - k - 1);
			n--;
		}
		break;
	case 3:	/* splice with another literal */
		t = c->s[rnd() % c->n];
		k = strlen(t) < 200 ? strlen(t) : 200;
		memcpy(buf + n, t, k);
		n += k;
		break;
	case 4:	/* random short string */
		n = rnd() % 6;
		for (i = 0; i < n; i++)
			buf[i] = noise[rnd() % (sizeof(noise) - 1)];
		break;
	default:
		break;
	}
	if (n > max)
		n = max;
	memcpy(out, buf, n);
	return n;
}

struct slotw {
	struct ks_event *ev;
	char *slot;
	size_t size, used;
};

static void set_str(struct ks_event *ev, enum ks_field f, const char *p,
		    size_t len)
{
	ev->str[f].off = (uint16_t)((const char *)p - (const char *)ev);
	ev->str[f].len = (uint16_t)len;
}

static void fill_plain(struct ks_event *ev, const struct corpus *c,
		       enum ks_field f, char *slot, size_t size)
{
	size_t n = rand_string(c, slot, size);

	set_str(ev, f, slot, n);
}

/* process.args: 0-4 elements, NUL separated, sometimes a final NUL. */
static void fill_args(struct ks_event *ev, const struct corpus *c)
{
	size_t n = 0, k, i, cnt = rnd() % 5;

	for (i = 0; i < cnt && n + 100 < KS_ARGS_MAX; i++) {
		k = rand_string(c, ev->args + n, 96);
		for (size_t j = 0; j < k; j++)
			if (!ev->args[n + j])
				ev->args[n + j] = 'x';
		n += k;
		if (i + 1 < cnt || rnd() % 4 == 0)
			ev->args[n++] = 0;
	}
	ev->args_count = cnt;
	set_str(ev, KS_F_PROCESS_ARGS, ev->args, n);
	set_str(ev, KS_F_PROCESS_COMMAND_LINE, ev->args, n);
}

/*
 * A path into slot `buf` of field f[0], its name f[1] and extension f[2]
 * sub-ranges of it, as the kernel derives them.
 */
static void fill_one_file(struct ks_event *ev, const struct corpus *c, char *buf,
			  const unsigned int f[3])
{
	size_t n = rand_string(c, buf, 200), i, name = 0, ext;

	if (rnd() % 2) {
		buf[n++] = '/';
		n += rand_string(c, buf + n, 50);
	}
	for (i = 0; i < n; i++)
		if (buf[i] == '/')
			name = i + 1;
	set_str(ev, f[0], buf, n);
	set_str(ev, f[1], buf + name, n - name);
	ext = n;
	for (i = n; i > name; i--)
		if (buf[i - 1] == '.') {
			ext = i;
			break;
		}
	set_str(ev, f[2], buf + ext, ext == n ? 0 : n - ext);
}

/* file.path and, on some events, a rename's file.Ext.original.path. */
static void fill_file(struct ks_event *ev, const struct corpus *c)
{
	static const unsigned int path[3] = { KS_F_FILE_PATH, KS_F_FILE_NAME,
					      KS_F_FILE_EXTENSION };
	static const unsigned int orig[3] = { KS_F_FILE_ORIG_PATH, KS_F_FILE_ORIG_NAME,
					      KS_F_FILE_ORIG_EXT };

	fill_one_file(ev, c, ev->path, path);
	if (rnd() % 2) {
		ev->present |= KS_P_ORIG;
		fill_one_file(ev, c, ev->orig, orig);
	}
}

static int64_t rand_num(const struct corpus *c)
{
	int64_t v;

	if (!c->n_nums || rnd() % 4 == 0)
		return rnd() % 70000;
	v = c->nums[rnd() % c->n_nums];
	return v + (int64_t)(rnd() % 3) - 1;
}

static void rand_ip(const struct corpus *c, uint8_t *a)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	size_t i;

	if (c->n_nets && rnd() % 3) {
		memcpy(a, c->nets[rnd() % c->n_nets].addr, 16);
		/* sometimes a neighbour outside the network */
		a[15 - rnd() % 4] ^= rnd() % 2 ? 1 << (rnd() % 8) : 0;
		return;
	}
	if (rnd() % 4) {
		memcpy(a, v4, 12);
		for (i = 12; i < 16; i++)
			a[i] = rnd();
		return;
	}
	for (i = 0; i < 16; i++)
		a[i] = rnd();
}

/* A capability set: some of the rules' capabilities, a random bit or none. */
static uint64_t rand_caps(const struct corpus *c)
{
	uint64_t set = 0;
	int64_t b;
	unsigned int i, n = rnd() % 4;

	for (i = 0; i < n; i++) {
		b = rnd() % 4 ? rand_num(c) : rnd() % 64;
		if (b >= 0 && b < 64)
			set |= 1ull << b;
	}
	return set;
}

static void random_event(struct ks_event *ev, const struct corpus *c)
{
	memset(ev, 0, sizeof(*ev));
	ev->category = 1 + rnd() % 3;
	ev->action = 1 + rnd() % (KS_ACT_N - 1);
	if (rnd() % 4)
		ev->present |= KS_P_PROCESS;
	if (rnd() % 3)
		ev->present |= KS_P_PARENT;
	if (rnd() % 2)
		ev->present |= KS_P_USER;
	if (rnd() % 3 == 0)
		ev->present |= KS_P_EXIT_CODE;
	if (ev->present & KS_P_PROCESS) {
		fill_plain(ev, c, KS_F_PROCESS_EXECUTABLE, ev->exe, 200);
		fill_plain(ev, c, KS_F_PROCESS_NAME, ev->comm, KS_COMM_MAX - 1);
		fill_args(ev, c);
		ev->pid = rand_num(c);
		ev->start_ns = rnd();
	}
	if (ev->present & KS_P_PARENT) {
		fill_plain(ev, c, KS_F_PARENT_EXECUTABLE, ev->pexe, 200);
		fill_plain(ev, c, KS_F_PARENT_NAME, ev->pcomm, KS_COMM_MAX - 1);
		ev->ppid = rand_num(c);
	}
	ev->uid = rand_num(c);
	ev->gid = rand_num(c);
	ev->cap_effective = rand_caps(c);
	ev->cap_permitted = rand_caps(c);
	ev->exit_code = (int32_t)rand_num(c) - (int32_t)(rnd() % 2);
	if (rnd() % 2) {
		ev->present |= KS_P_FILE;
		fill_file(ev, c);
	}
	if (rnd() % 2) {
		ev->present |= KS_P_NET;
		rand_ip(c, ev->saddr);
		rand_ip(c, ev->daddr);
		ev->sport = rand_num(c);
		ev->dport = rand_num(c);
		ev->transport = rnd() % 2 ? 6 : rnd() % 20;
		ev->direction = rnd() % 3;
	}
	if (rnd() % 3 == 0) {
		ev->present |= KS_P_PAYLOAD;
		fill_plain(ev, c, KS_F_PAYLOAD, ev->payload, 600);
	}
	if (rnd() % 3 == 0) {
		ev->present |= KS_P_IFACE;
		fill_plain(ev, c, KS_F_IFACE_NAME, ev->iface, KS_IFNAME_MAX - 1);
	}
}

/* ---- the comparison ---- */

struct stats {
	struct ks_test_tally tally;
	uint64_t overflow;
};

/* AST step of table step s of rule r (runs expanded, until last). */
static void dump_event(const struct ks_event *ev)
{
	int f;

	print_error("event: category %u action %u present 0x%x pid %u ppid %u uid %u\n",
		    ev->category, ev->action, ev->present, ev->pid, ev->ppid,
		    ev->uid);
	for (f = 1; f < KS_F_STR_N; f++)
		if (ev->str[f].len)
			print_error("  field %d: \"%.*s\" (%u bytes)\n", f,
				    ev->str[f].len,
				    (const char *)ev + ev->str[f].off,
				    ev->str[f].len);
}

static void check_event(const struct ks_tables *t, const struct ks_ruleset *rs,
			const struct ks_event *ev, struct ks_walk *w,
			struct stats *st)
{
	const struct ks_step *s;
	bool want = false;
	long i;
	int tv;

	i = ks_test_walk_agree(t, rs, ev, w, &st->tally, &tv, &want);
	st->overflow += w->cand_overflow;
	if (i < 0)
		return;
	s = &t->steps[i];
	assert_true(tv >= 0);	/* every table step has its query step */
	dump_event(ev);
	print_error("rule %s step %u: tables say %d, interpreter %d\n  query: %s\n",
		    rs->rules[s->rule].id, s->index, tv, want,
		    rs->rules[s->rule].query_text);
	fail();
}

static void run_property(const struct ks_ruleset *rs, uint32_t n_events,
			 uint64_t seed, const char *what)
{
	struct ks_tables *t = calloc(1, sizeof(*t));
	struct ks_walk *w = malloc(sizeof(*w));
	struct ks_event *ev = malloc(sizeof(*ev));
	struct ks_compile_info info;
	struct ks_diags diags = { 0 };
	struct stats st = { 0 };
	struct corpus c;
	uint32_t i;

	if (ks_lower(rs, &diags, t, &info, NULL)) {
		ks_diags_print(&diags, stderr);
		fail_msg("%s: does not compile", what);
	}
	ks_diags_free(&diags);
	ks_walk_init(w);
	corpus_build(&c, rs);
	rng_state = seed;
	for (i = 0; i < n_events; i++) {
		random_event(ev, &c);
		check_event(t, rs, ev, w, &st);
	}
	print_message("%s: %zu rules, %u steps, %u events: %llu step verdicts (%llu true, %llu false, %llu unknown), %llu overflowed events\n",
		      what, rs->n_rules, t->hdr.n_steps, n_events,
		      (unsigned long long)st.tally.cmp, (unsigned long long)st.tally.t,
		      (unsigned long long)st.tally.f, (unsigned long long)st.tally.u,
		      (unsigned long long)st.overflow);
	assert_true(st.tally.t > 0);
	corpus_free(&c);
	ks_compile_info_free(&info);
	free(t);
	free(w);
	free(ev);
}

static struct ks_ruleset *load_queries(void)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *yaml = NULL, *q;
	size_t len = 0, i;
	FILE *f = open_memstream(&yaml, &len);

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		fprintf(f, "- rule: r%zu\n  name: r%zu\n  query: |\n    %s\n",
			i, i, queries[i]);
	}
	fclose(f);
	if (ks_ruleset_load_string(rs, yaml, "queries.yml")) {
		ks_diags_print(&rs->diags, stderr);
		fail_msg("queries do not parse");
	}
	(void)q;
	free(yaml);
	return rs;
}

static void test_queries_vs_interp(void **state)
{
	struct ks_ruleset *rs = load_queries();

	run_property(rs, 100000, 0xfeedface, "queries");
	ks_ruleset_free(rs);
}

#define CORPUS_DIR "/work/shared/corpus/sigma-linux"

/* The Sigma corpus, rules that import (the others have diagnostics). */
static void test_sigma_corpus_vs_interp(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new(), good;
	size_t i;

	ks_ruleset_load_path(rs, CORPUS_DIR);
	memset(&good, 0, sizeof(good));
	good.rules = calloc(rs->n_rules + 1, sizeof(*good.rules));
	for (i = 0; i < rs->n_rules; i++)
		if (rs->rules[i].q)
			good.rules[good.n_rules++] = rs->rules[i];
	if (good.n_rules < 10) {
		free(good.rules);
		ks_ruleset_free(rs);
		skip();
	}
	run_property(&good, 30000, 0xc0ffee, "sigma corpus");
	free(good.rules);
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queries_vs_interp),
		cmocka_unit_test(test_sigma_corpus_vs_interp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
