// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lowering: rules (parsed, or built by hand where the parser has no
 * syntax) into programs, atoms, trigger sets and step tables; exactness
 * decisions and their diagnostics; determinism.
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
#include "rules-compiler/source.h"

static struct ks_tables *T, *T2;

static int setup(void **state)
{
	T = calloc(1, sizeof(*T));
	T2 = calloc(1, sizeof(*T2));
	return T && T2 ? 0 : -1;
}

static int teardown(void **state)
{
	free(T);
	free(T2);
	return 0;
}

/* ---- compact renderings to compare with ---- */

/* "A0 C26==1 & U &": ATOM, CMP, CIDR (N), PRESENT (P), STRLEN (L),
 * USER (U), TRUE/FALSE (T/F), AND (&), OR (|), NOT (!); a bit set test
 * is C38&192 (any of the bits), C39!&9 (none of them). */
static void prog_str(const struct ks_tables *t, uint32_t step, char *buf,
		     size_t size)
{
	static const char *const cmp[] = { "==", "!=", "<", "<=", ">", ">=", "&", "!&" };
	const struct ks_step *s = &t->steps[step];
	const struct ks_insn *in;
	size_t n = 0;
	uint32_t i;

	buf[0] = 0;
	for (i = 0; i < s->prog_len && n < size; i++) {
		in = &t->insns[s->prog + i];
		if (i)
			n += snprintf(buf + n, size - n, " ");
		switch (in->op) {
		case KS_OP_ATOM:
			n += snprintf(buf + n, size - n, "A%u", in->arg);
			break;
		case KS_OP_CMP:
			n += snprintf(buf + n, size - n, "C%u%s%lld", in->field,
				      cmp[in->cmp], (long long)in->imm);
			break;
		case KS_OP_STRLEN:
			n += snprintf(buf + n, size - n, "L%u%s%lld", in->field,
				      cmp[in->cmp], (long long)in->imm);
			break;
		case KS_OP_CIDR:
			n += snprintf(buf + n, size - n, "N%u", in->arg);
			break;
		case KS_OP_PRESENT:
			n += snprintf(buf + n, size - n, "P%u", in->field);
			break;
		default:
			n += snprintf(buf + n, size - n, "%c",
				      "TFACNPU&|!L"[in->op]);
		}
	}
}

/* "3:E:\x01-c\x02" per atom, patterns joined by '|', atoms by ' '. */
static void atoms_str(const struct ks_lowered *lw, char *buf, size_t size)
{
	char esc[256];
	size_t n = 0;
	uint32_t a, k;

	buf[0] = 0;
	for (a = 0; a < lw->n_atoms && n < size; a++) {
		const struct ks_atom_desc *d = &lw->atoms[a];

		n += snprintf(buf + n, size - n, "%s%u:%c:", a ? " " : "",
			      d->field, d->mode ? 'F' : 'E');
		for (k = 0; k < d->n_pats && n < size; k++) {
			ks_escape_bytes(esc, sizeof(esc), d->pats[k].bytes,
					d->pats[k].len);
			n += snprintf(buf + n, size - n, "%s%s", k ? "|" : "", esc);
		}
	}
}

/* Trigger of a step: "A1,A2" or "cat1" or "never". */
static void trig_str(const struct ks_tables *t, uint32_t step, char *buf,
		     size_t size)
{
	uint32_t a, i, v, c;
	size_t n = 0;

	buf[0] = 0;
	for (a = 0; a < t->hdr.n_atoms; a++) {
		v = t->atom_trig[a];
		for (i = 0; i < (v & 0xffff); i++)
			if (t->trig_list[(v >> 16) + i] == step)
				n += snprintf(buf + n, size - n, "%sA%u",
					      n ? "," : "", a);
	}
	if (n)
		return;
	for (c = 0; c < KS_CAT_N; c++) {
		v = t->cat_first[c];
		for (i = 0; i < (v & 0xffff); i++)
			if (t->cat_list[(v >> 16) + i] == step) {
				snprintf(buf, size, "cat%u", c);
				return;
			}
	}
	snprintf(buf, size, "never");
}

/* ---- table-driven single queries ---- */

struct qcase {
	const char *query;
	const char *prog;	/* of step 0 */
	const char *atoms;
	bool exact;
	const char *trig;
};

static const struct qcase qcases[] = {
	{ "process where process.executable == \"/bin/sh\"",
	  "A0", "1:E:\\x01/bin/sh\\x02", true, "A0" },
	{ "file where startsWith(file.path, \"/tmp/\")",
	  "A0", "7:E:\\x01/tmp/", true, "A0" },
	{ "file where endsWith(file.name, \".so\")",
	  "A0", "8:E:.so\\x02", true, "A0" },
	{ "process where stringContains(process.command_line, \"curl \")",
	  "A0", "4:E:curl ", true, "A0" },
	{ "process where process.name : \"BASH\"",
	  "A0", "2:F:\\x01bash\\x02", true, "A0" },
	{ "file where file.path : \"/etc/*\"",
	  "A0", "7:F:\\x01/etc/", true, "A0" },
	{ "file where file.path : \"*.conf\"",
	  "A0", "7:F:.conf\\x02", true, "A0" },
	{ "file where file.path : \"*shadow*\"",
	  "A0", "7:F:shadow", true, "A0" },
	/* ordered wildcards: the segments are necessary, the rest is user */
	{ "process where process.command_line : \"*wget*-O*\"",
	  "A0 A1 & U &", "4:F:wget 4:F:-o", false, "A0" },
	{ "process where process.name : \"a?c\"",
	  "A0 A1 & U &", "2:F:\\x01a 2:F:c\\x02", false, "A0" },
	{ "process where process.name like \"??\"",
	  "U", "", false, "cat1" },
	{ "process where process.args == \"-c\"",
	  "A0", "3:E:\\x01-c\\x02", true, "A0" },
	{ "process where process.args == \"\"",
	  "A0", "3:E:\\x01\\x02", true, "A0" },
	{ "process where process.args : \"*\"",
	  "A0", "3:F:\\x01", true, "A0" },
	/* one atom for a whole list on one field and case */
	{ "process where process.name in (\"sh\", \"bash\", \"sh\")",
	  "A0", "2:E:\\x01bash\\x02|\\x01sh\\x02", true, "A0" },
	{ "process where process.name : (\"sh\", \"*bash\") or process.name == \"zsh\"",
	  "A0 A1 |", "2:E:\\x01zsh\\x02 2:F:\\x01sh\\x02|bash\\x02", true,
	  "A0,A1" },
	{ "process where process.name == \"\"", "L2==0", "", true, "cat1" },
	{ "process where process.pid == 1", "C16==1", "", true, "cat1" },
	{ "process where process.pid >= 1000", "C16>=1000", "", true, "cat1" },
	{ "process where user.id in (0, 1000)", "C18==0 C18==1000 |", "",
	  true, "cat1" },
	{ "process where user.id not in (0, 1000)", "P18 C18==0 C18==1000 | ! &", "",
	  true, "cat1" },
	{ "any where event.action == \"exec\"", "C26==1", "", true, "cat0" },
	{ "network where network.transport == \"tcp\"", "C24==6", "", true,
	  "cat3" },
	{ "network where cidrMatch(destination.ip, \"10.0.0.0/8\", \"192.168.0.0/16\")",
	  "N0 N1 |", "", true, "cat3" },
	{ "process where process.parent.name == null", "P6 !", "", true,
	  "cat1" },
	{ "process where not process.parent.name == null", "P6", "", true,
	  "cat1" },
	{ "process where host.name == \"h1\"", "U", "", false, "cat1" },
	/* capability sets: one mask test, kernel-exact */
	{ "process where process.thread.capabilities.effective : \"CAP_SET?ID\"",
	  "C38&192", "", true, "cat1" },
	{ "process where process.thread.capabilities.permitted != \"CAP_BPF\"",
	  "C39!&549755813888", "", true, "cat1" },
	{ "process where process.thread.capabilities.permitted not in (\"CAP_CHOWN\", \"CAP_BPF\")",
	  "P39 C39&549755813889 ! &", "", true, "cat1" },
	/* userspace-enriched: process.parent.args_count, process.env_vars */
	{ "process where process.parent.args_count <= 4", "U", "", false, "cat1" },
	{ "process where process.env_vars : \"A=*\" and process.pid == 1",
	  "U C16==1 &", "", false, "cat1" },
	{ "process where process.entity_id == \"1-2\"", "U", "", false,
	  "cat1" },
	/* != on a nullable field: present and not equal */
	{ "process where process.name != \"bash\"", "P2 A0 ! &",
	  "2:E:\\x01bash\\x02", true, "cat1" },
	/* AND: the cheapest child's set; OR: the union, none if any none */
	{ "process where process.name == \"a\" and process.executable in (\"/b\", \"/c\") and process.args == \"-x\"",
	  "A0 A1 & A2 &",
	  "2:E:\\x01a\\x02 1:E:\\x01/b\\x02|\\x01/c\\x02 3:E:\\x01-x\\x02",
	  true, "A1" },
	{ "process where process.name == \"ab\" or process.executable == \"/c\"",
	  "A0 A1 |", "1:E:\\x01/c\\x02 2:E:\\x01ab\\x02", true, "A0,A1" },
	{ "process where process.name == \"a\" or process.pid == 1",
	  "C16==1 A0 |", "2:E:\\x01a\\x02", true, "cat1" },
	{ "process where process.pid == 1 and false", "C16==1 F &", "", true,
	  "never" },
	{ "process where true", "T", "", true, "cat1" },
};

static void compile_one(const char *query, struct ks_ruleset **rsp,
			struct ks_lowered *lw, int want)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_compile_info info;
	int ret;

	assert_int_equal(ks_ruleset_add_query(rs, query, "<test>"), 0);
	ret = ks_lower(rs, &rs->diags, T, &info, lw);
	if (ret != want) {
		ks_diags_print(&rs->diags, stderr);
		fail_msg("%s: ks_lower returned %d", query, ret);
	}
	ks_compile_info_free(&info);
	*rsp = rs;
}

static void test_queries(void **state)
{
	char prog[512], atoms[512], trig[128];
	struct ks_ruleset *rs;
	struct ks_lowered lw;
	size_t i;

	for (i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		const struct qcase *c = &qcases[i];

		compile_one(c->query, &rs, &lw, 0);
		prog_str(T, 0, prog, sizeof(prog));
		atoms_str(&lw, atoms, sizeof(atoms));
		trig_str(T, 0, trig, sizeof(trig));
		if (strcmp(prog, c->prog) || strcmp(atoms, c->atoms) ||
		    strcmp(trig, c->trig) ||
		    !!(T->steps[0].flags & KS_S_EXACT) != c->exact ||
		    !!(T->rules[0].flags & KS_R_EXACT) != c->exact) {
			print_error("%s\n  prog  %s (want %s)\n  atoms %s (want %s)\n  trig  %s (want %s)\n  exact %d (want %d)\n",
				    c->query, prog, c->prog, atoms, c->atoms,
				    trig, c->trig,
				    !!(T->steps[0].flags & KS_S_EXACT), c->exact);
			fail();
		}
		assert_int_equal(T->hdr.n_steps, 1);
		assert_int_equal(T->steps[0].flags & KS_S_LAST, KS_S_LAST);
		ks_lowered_free(&lw);
		ks_ruleset_free(rs);
	}
}

/* ---- hand-built ASTs: syntax the EQL parser does not have ---- */

static const struct ks_field_info *field(const char *name)
{
	const struct ks_field_info *f = ks_field_lookup(name);

	assert_non_null(f);
	return f;
}

static struct ks_ruleset *hand_rule(struct ks_rule_src *r, struct ks_query *q,
				    struct ks_step_ast *st, struct ks_node *cond)
{
	static struct ks_ruleset rs;

	memset(&rs, 0, sizeof(rs));
	memset(r, 0, sizeof(*r));
	memset(q, 0, sizeof(*q));
	memset(st, 0, sizeof(*st));
	st->category = KS_CAT_PROCESS;
	st->cond = cond;
	st->runs = 1;
	q->steps = st;
	q->n_steps = 1;
	r->id = "hand";
	r->query_text = "";
	r->q = q;
	rs.rules = r;
	rs.n_rules = 1;
	return &rs;
}

static void check_hand(struct ks_node *cond, const char *want_prog,
		       const char *want_atoms)
{
	char prog[256], atoms[256];
	struct ks_rule_src r;
	struct ks_query q;
	struct ks_step_ast st;
	struct ks_ruleset *rs = hand_rule(&r, &q, &st, cond);
	struct ks_lowered lw;

	assert_int_equal(ks_lower(rs, &rs->diags, T, NULL, &lw), 0);
	prog_str(T, 0, prog, sizeof(prog));
	atoms_str(&lw, atoms, sizeof(atoms));
	assert_string_equal(prog, want_prog);
	assert_string_equal(atoms, want_atoms);
	ks_lowered_free(&lw);
	ks_diags_free(&rs->diags);
}

/*
 * The prefilter literal of a regex: EQL's (PCRE, the whole value, so a
 * literal at an end of the pattern is framed) and an ERE (found anywhere).
 */
static void check_regex_literals(struct ks_node *n)
{
	static const struct {
		enum ks_strop op;
		const char *re, *atoms;
	} cases[] = {
		/* "\\]" does not close a PCRE bracket expression */
		{ KS_SO_EQLRE, "[\\]x]yz", "4:E:yz\\x02" },
		{ KS_SO_EQLRE, "/var/run/\\w+x", "4:E:\\x01/var/run/" },
		{ KS_SO_EQLRE, ".*a+bc", "4:E:bc\\x02" },
		{ KS_SO_EQLRE, "\\.bashrc", "4:E:\\x01.bashrc\\x02" },
		{ KS_SO_EQLRE, "[a-z]abc+", "4:E:abc" },
		/* it closes an ERE's: "x]yz" is the literal, not framed */
		{ KS_SO_REGEX, "[\\]x]yz", "4:E:x]yz" },
		/* a class's own ']' does not close the bracket (fuzz_sigma:
		 * "]" was taken for a required literal) */
		{ KS_SO_REGEX, "(a|)[[:space:]]+x", "4:E:x" },
		{ KS_SO_EQLRE, "[^[:alpha:][=e=][.-.]]+ab", "4:E:ab\\x02" },
		{ KS_SO_REGEX, "[[:]x", "4:E:x" },
		/* a bound is skipped whole */
		{ KS_SO_EQLRE, "x{2,}yz", "4:E:yz\\x02" },
		{ KS_SO_EQLRE, "ab{1,3}cd", "4:E:cd\\x02" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n->strop = cases[i].op;
		n->pats[0].s = (char *)cases[i].re;
		n->pats[0].len = strlen(cases[i].re);
		check_hand(n, "A0 U &", cases[i].atoms);
	}
}

static void test_regex_and_raw_wildcards(void **state)
{
	struct ks_strpat pat = { 0 };
	struct ks_node n;

	memset(&n, 0, sizeof(n));
	n.kind = KS_N_STR;
	n.field = field("process.command_line");
	n.pats = &pat;
	n.n_pats = 1;
	n.strop = KS_SO_REGEX;
	/* longest required literal: "bin/ab" ("b+" keeps one b) */
	pat.s = "^/usr/(s)?bin/ab+c$";
	pat.len = strlen(pat.s);
	check_hand(&n, "A0 U &", "4:E:bin/ab");
	/* alternation: no literal is required */
	pat.s = "curl|wget";
	pat.len = strlen(pat.s);
	check_hand(&n, "U", "");
	/* a '{' that opens no bound is PCRE's literal, and the '|' after
	 * it a top-level alternative (fuzz_eql: the rest was skipped as a
	 * bound, and "xyz" required of values ".*" matches) */
	n.strop = KS_SO_EQLRE;
	pat.s = "xyz{1,3|.*";
	pat.len = strlen(pat.s);
	check_hand(&n, "U", "");
	n.strop = KS_SO_REGEX;
	/* optional characters are not required */
	pat.s = "ab?c*d{0,2}e";
	pat.len = strlen(pat.s);
	check_hand(&n, "A0 U &", "4:E:a");
	pat.s = "x\\.sh";
	pat.ci = true;
	pat.len = strlen(pat.s);
	check_hand(&n, "A0 U &", "4:F:x.sh");
	/* a top-level alternative only: a group's is skipped with it */
	pat.ci = false;
	pat.s = "/run/(a|b)x";
	pat.len = strlen(pat.s);
	check_hand(&n, "A0 U &", "4:E:/run/");
	check_regex_literals(&n);
	pat.ci = true;
	/* an unreduced wildcard from a hand-built AST is reduced here */
	n.strop = KS_SO_WILDCARD;
	pat.s = "*evil*";
	pat.len = strlen(pat.s);
	pat.ci = false;
	check_hand(&n, "A0", "4:E:evil");
	/* a separator byte in a literal is left to userspace */
	n.strop = KS_SO_EQ;
	pat.s = "a\001b";
	pat.len = 3;
	check_hand(&n, "U", "");
}

/* ---- rules from YAML ---- */

static struct ks_ruleset *load(const char *yaml, int want,
			       struct ks_compile_info *info)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	int ret;

	if (ks_ruleset_load_string(rs, yaml, "t.yml")) {
		ks_diags_print(&rs->diags, stderr);
		fail_msg("rules do not load");
	}
	ret = ks_compile(rs, T, info);
	if (ret != want) {
		ks_diags_print(&rs->diags, stderr);
		fail_msg("ks_compile returned %d, want %d", ret, want);
	}
	return rs;
}

static const char *diag_text(const struct ks_ruleset *rs)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ks_diags_print(&rs->diags, f);
	fclose(f);
	return buf;
}

/*
 * Constants where an unknown optional field was: "(a and false) or false"
 * lowers (its empty trigger set was once freed twice: the fuzz crash).
 */
static void test_constants(void **state)
{
	const char *yaml =
		"- rule: c\n"
		"  name: c\n"
		"  query: >-\n"
		"    process where process.parent.executable : \"/usr/?\" and\n"
		"    ?x != null and not process.name in (\"a\", \"b\") or ?x == \"y\"\n";
	struct ks_ruleset *rs = load(yaml, 0, NULL);

	assert_int_equal(ks_diags_errors(&rs->diags), 0);
	ks_ruleset_free(rs);
}

static void test_sequence(void **state)
{
	const char *yaml =
		"- rule: seq\n"
		"  name: seq\n"
		"  query: |\n"
		"    sequence by process.entity_id with maxspan=30s\n"
		"      [file where event.action == \"creation\" and file.path : \"/tmp/*\"]\n"
		"      [process where process.executable : \"/tmp/*\"] with runs=3\n"
		"    until [process where event.action == \"exit\"]\n";
	struct ks_compile_info info;
	struct ks_ruleset *rs = load(yaml, 0, &info);
	const struct ks_rule *r = &T->rules[0];
	uint32_t i;

	assert_int_equal(r->n_steps, 4);
	assert_int_equal(r->first_step, 0);
	assert_int_equal(r->until_step, 4);
	assert_int_equal(r->maxspan_ns, 30000000000ull);
	assert_int_equal(r->flags, KS_R_EXACT | KS_R_SEQUENCE | KS_R_UNTIL |
				   KS_R_KSTATE);
	assert_int_equal(r->uid, ks_rule_uid(&rs->rules[0]));
	assert_int_equal(T->hdr.n_steps, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(T->steps[i].rule, 0);
		assert_int_equal(T->steps[i].index, i);
		assert_int_equal(T->steps[i].n_join, 1);
		assert_int_equal(T->steps[i].join[0], KS_F_ENTITY_ID);
	}
	/* the runs copies share one program */
	assert_int_equal(T->steps[1].prog, T->steps[2].prog);
	assert_int_equal(T->steps[2].prog, T->steps[3].prog);
	assert_int_equal(T->steps[3].flags, KS_S_EXACT | KS_S_LAST);
	assert_int_equal(T->steps[4].flags, KS_S_EXACT | KS_S_UNTIL);
	assert_int_equal(T->steps[0].category, KS_CAT_FILE);
	assert_true(info.rules[0].exact);
	assert_int_equal(info.rules[0].n_kernel_steps, 5);
	assert_int_equal(info.rules[0].n_atoms, 2);
	assert_int_equal(info.n_steps, 5);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

/*
 * A sample: never kernel-exact (the kernel forwards each filter's
 * matches, kload joins them), any filter completes it, its window is
 * KS_SAMPLE_WINDOW_NS, and a block action is refused with the reason.
 */
static void test_sample(void **state)
{
	struct ks_compile_info info;
	struct ks_ruleset *rs = load("- rule: smp\n  name: smp\n  query: |\n"
				     "    sample by host.id, process.pid [process where process.name == \"a\"]\n"
				     "      [network where true] [file where file.path == \"/etc/passwd\"]\n",
				     0, &info);
	const struct ks_rule *r = &T->rules[0];
	uint32_t i;

	assert_int_equal(r->n_steps, 3);
	assert_int_equal(r->flags, KS_R_SAMPLE);
	assert_int_equal(r->maxspan_ns, KS_SAMPLE_WINDOW_NS);
	assert_int_equal(r->maxspan_ns, 540000000000ull);
	assert_false(info.rules[0].exact);
	assert_non_null(strstr(info.rules[0].why_not_exact, "sample"));
	for (i = 0; i < 3; i++) {
		assert_int_equal(T->steps[i].index, i);
		assert_int_equal(T->steps[i].flags, KS_S_EXACT | KS_S_LAST);
		assert_int_equal(T->steps[i].n_join, 2);
		assert_int_equal(T->steps[i].join[1], KS_F_PROCESS_PID);
	}
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);

	rs = load("- rule: smp\n  name: smp\n  action: block\n  query: |\n"
		  "    sample by process.pid [process where true] [file where true]\n",
		  -1, &info);
	assert_non_null(strstr(diag_text(rs), "t.yml:1:3: error: action block needs a "
			       "kernel-exact rule: a sample's filters match in any order"));
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

static void test_sequence_limits(void **state)
{
	const char *yaml =
		"- rule: long\n"
		"  name: long\n"
		"  query: |\n"
		"    sequence by process.entity_id\n"
		"      [process where true] with runs=10\n"
		"      [process where true] with runs=10\n"
		"- rule: host\n"
		"  name: host\n"
		"  query: sequence by host.name [process where true] [file where true]\n"
		"- rule: eight\n"
		"  name: eight\n"
		"  query: |\n"
		"    sequence by process.entity_id\n"
		"      [process where true] with runs=4\n"
		"      [file where true] with runs=4\n";
	struct ks_compile_info info;
	struct ks_ruleset *rs = load(yaml, 0, &info);

	/* beyond KS_MAX_KSTEPS: userspace keeps the state */
	assert_int_equal(T->rules[0].n_steps, 20);
	assert_int_equal(T->rules[0].flags & (KS_R_EXACT | KS_R_KSTATE), 0);
	assert_non_null(strstr(info.rules[0].why_not_exact, "KS_MAX_KSTEPS"));
	assert_int_equal(T->steps[0].flags & KS_S_EXACT, KS_S_EXACT);
	/* a join field the kernel cannot see */
	assert_int_equal(T->rules[1].flags & KS_R_EXACT, 0);
	assert_non_null(strstr(info.rules[1].why_not_exact, "join"));
	/* KS_MAX_KSTEPS steps exactly: the kernel keeps the state */
	assert_int_equal(T->rules[2].n_steps, KS_MAX_KSTEPS);
	assert_int_equal(T->rules[2].flags & KS_R_KSTATE, KS_R_KSTATE);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

/* The parser rejects it too; the lowering must not trust hand-built ASTs. */
static void test_join_mismatch(void **state)
{
	struct ks_step_ast st[2];
	struct ks_rule_src r;
	struct ks_query q;
	struct ks_ruleset *rs = hand_rule(&r, &q, &st[0], NULL);

	memset(&st[1], 0, sizeof(st[1]));
	st[1].category = KS_CAT_FILE;
	st[1].runs = 1;
	st[0].join[0] = field("process.entity_id");
	st[0].n_join = 1;
	q.sequence = true;
	q.steps = st;
	q.n_steps = 2;
	assert_int_equal(ks_lower(rs, &rs->diags, T, NULL, NULL), -1);
	assert_non_null(strstr(diag_text(rs), "same number of join fields"));
	ks_diags_free(&rs->diags);
}

static void test_block_needs_exact(void **state)
{
	const char *yaml =
		"- rule: b\n"
		"  name: b\n"
		"  action: block\n"
		"  query: |\n"
		"    process where process.command_line : \"*a*b*\"\n"
		"- rule: k\n"
		"  name: k\n"
		"  action: kill\n"
		"  query: network where destination.port == 4444\n"
		"- rule: ok\n"
		"  name: ok\n"
		"  action: kill\n"
		"  query: network where event.action == \"connect\" and destination.port == 4444\n"
		"- rule: re\n"
		"  name: re\n"
		"  action: kill\n"
		"  query: process where process.name regex \"ba.h\"\n"
		"- rule: ac\n"
		"  name: ac\n"
		"  action: block\n"
		"  query: process where process.parent.args_count == 1\n"
		"- rule: ok2\n"
		"  name: ok2\n"
		"  action: block\n"
		"  query: network where destination.port == 4444\n"
		"- rule: dn\n"
		"  name: dn\n"
		"  action: block\n"
		"  query: network where destination.domain like \"*.ngrok.io\"\n";
	struct ks_ruleset *rs = load(yaml, -1, NULL);
	const char *d = diag_text(rs);

	print_message("%s", d);
	assert_non_null(strstr(d, "t.yml:1:3: error: action block needs a kernel-exact rule: wildcard \"*a*b*\" on process.command_line is decided in userspace"));
	assert_non_null(strstr(d, "t.yml:6:3: error: action kill needs a process"));
	assert_non_null(strstr(d, "t.yml:14:3: error: action kill needs a kernel-exact rule: regex \"ba.h\" on process.name is decided in userspace"));
	assert_non_null(strstr(d, "t.yml:18:3: error: action block needs a kernel-exact rule: comparison on process.parent.args_count is decided in userspace"));
	/* the name kload learns from DNS answers: alert-only */
	assert_non_null(strstr(d, "t.yml:26:3: error: action block needs a kernel-exact rule: suffix test on destination.domain is decided in userspace"));
	assert_int_equal(ks_diags_errors(&rs->diags), 5);
	ks_ruleset_free(rs);
}

static void test_dedupe_and_index(void **state)
{
	const char *yaml =
		"- rule: a\n"
		"  name: a\n"
		"  query: process where process.name == \"nc\" and user.id == 0\n"
		"- rule: b\n"
		"  name: b\n"
		"  query: process where process.name == \"nc\"\n"
		"- rule: c\n"
		"  name: c\n"
		"  query: file where file.path == \"/etc/shadow\" or process.name == \"nc\"\n";
	struct ks_ruleset *rs = load(yaml, 0, NULL);
	char trig[64];

	/* rule c's "nc" is the same one-pattern atom as a's and b's */
	assert_int_equal(T->hdr.n_atoms, 2);
	trig_str(T, 0, trig, sizeof(trig));
	assert_string_equal(trig, "A0");
	trig_str(T, 1, trig, sizeof(trig));
	assert_string_equal(trig, "A0");
	trig_str(T, 2, trig, sizeof(trig));
	assert_string_equal(trig, "A0,A1");
	assert_int_equal(T->atom_trig[0], 0 << 16 | 3);
	assert_int_equal(T->atom_trig[1], 3 << 16 | 1);
	assert_int_equal(T->trig_list[0], 0);
	assert_int_equal(T->trig_list[1], 1);
	assert_int_equal(T->trig_list[2], 2);
	assert_int_equal(T->hdr.n_trig_list, 4);
	assert_int_equal(T->hdr.magic, KS_TABLES_MAGIC);
	assert_int_equal(T->hdr.abi_version, KS_ABI_VERSION);
	assert_int_equal(T->hdr.n_rules, 3);
	ks_ruleset_free(rs);
}

/*
 * What a miss on a path cut on the left leaves undecided, per ATOM insn
 * (KS_ATOM_* in maps/ks_tables.h), and the per-field cut lists.
 */
static void test_cut_atoms(void **state)
{
	const char *yaml =
		"- rule: a\n"
		"  name: a\n"
		"  action: block\n"
		"  query: process where startsWith(process.executable, \"/dev/shm/\")\n"
		"- rule: b\n"
		"  name: b\n"
		"  query: file where endsWith(file.path, \".so\") or file.path == \"/etc/x\"\n"
		"- rule: c\n"
		"  name: c\n"
		"  query: process where process.executable like \"*/.cache/*\"\n"
		"- rule: d\n"
		"  name: d\n"
		"  action: kill\n"
		"  query: process where process.executable == \"/usr/bin/nc\" and process.name == \"nc\"\n";
	struct ks_ruleset *rs = load(yaml, 0, NULL);
	const struct ks_insn *in;
	uint32_t v;

	in = &T->insns[T->steps[0].prog];
	assert_int_equal(in->op, KS_OP_ATOM);
	assert_int_equal(in->field, KS_F_PROCESS_EXECUTABLE);
	assert_int_equal(KS_ATOM_PREFIX(in->imm), 9);
	assert_int_equal(KS_ATOM_SUFFIX(in->imm), 0);
	assert_false(in->imm & KS_ATOM_MIDDLE);
	/* one atom for the OR: a suffix and an equality (never true when cut) */
	in = &T->insns[T->steps[1].prog];
	assert_int_equal(in->field, KS_F_FILE_PATH);
	assert_int_equal(KS_ATOM_SUFFIX(in->imm), 3);
	assert_int_equal(KS_ATOM_PREFIX(in->imm), 0);
	assert_false(in->imm & KS_ATOM_MIDDLE);
	in = &T->insns[T->steps[2].prog];
	assert_true(in->imm & KS_ATOM_MIDDLE);
	/* executable: block/kill steps first (a, d), then c; file.path: b */
	v = T->cut_first[KS_PATH_IDX(KS_F_PROCESS_EXECUTABLE)];
	assert_int_equal(v & 0xffff, 3);
	assert_int_equal(T->cut_list[(v >> 16) + 0], 0);
	assert_int_equal(T->cut_list[(v >> 16) + 1], 3);
	assert_int_equal(T->cut_list[(v >> 16) + 2], 2);
	v = T->cut_first[KS_PATH_IDX(KS_F_FILE_PATH)];
	assert_int_equal(v & 0xffff, 1);
	assert_int_equal(T->cut_list[v >> 16], 1);
	assert_int_equal(T->cut_first[KS_PATH_IDX(KS_F_PARENT_EXECUTABLE)] & 0xffff, 0);
	ks_ruleset_free(rs);
}

/* A file event with file.path (name and extension derived) = path. */
static void file_event(struct ks_event *ev, uint32_t action, const char *path)
{
	uint32_t off = offsetof(struct ks_event, path), n = strlen(path);
	const char *name = strrchr(path, '/') + 1, *dot = strrchr(name, '.');

	memset(ev, 0, sizeof(*ev));
	ev->category = KS_CAT_FILE;
	ev->action = action;
	ev->present = KS_P_FILE | KS_P_PROCESS;
	memcpy(ev->path, path, n);
	ev->str[KS_F_FILE_PATH] = (struct ks_strref){ off, n };
	ev->str[KS_F_FILE_NAME] = (struct ks_strref){ off + (name - path), strlen(name) };
	ev->str[KS_F_FILE_EXTENSION] = (struct ks_strref){
		dot ? off + (dot + 1 - path) : off + n, dot ? strlen(dot + 1) : 0 };
}

/*
 * hdr.trig_fields and the early decision it allows: per action, the
 * fields of the triggers of the steps that can match it; an open whose
 * file fields raise no candidate stops before its process, a creation
 * cannot (a step of it has no trigger), nor can a rename once a step on
 * it has a trigger on process.name. The stopped event is one no step
 * matches, which the interpreter confirms.
 */
static void test_trig_fields(void **state)
{
	const char *yaml =
		"- rule: a\n"
		"  name: a\n"
		"  query: file where event.action == \"open\" and file.name == \"x.conf\"\n"
		"- rule: b\n"
		"  name: b\n"
		"  query: file where event.action == \"creation\" and user.id == 0\n"
		"- rule: c\n"
		"  name: c\n"
		"  query: file where event.action == \"rename\" and process.name == \"mv\"\n"
		"- rule: d\n"
		"  name: d\n"
		"  query: process where process.name == \"sh\"\n";
	struct ks_ruleset *rs = load(yaml, 0, NULL);
	static struct ks_walk w;
	struct ks_event ev;

	assert_int_equal(T->hdr.trig_fields[KS_ACT_OPEN], 1u << KS_F_FILE_NAME);
	assert_int_equal(T->hdr.trig_fields[KS_ACT_CREATION], 1u << KS_F_NONE);
	assert_int_equal(T->hdr.trig_fields[KS_ACT_RENAME], 1u << KS_F_PROCESS_NAME);
	assert_int_equal(T->hdr.trig_fields[KS_ACT_EXEC], 1u << KS_F_PROCESS_NAME);
	ks_walk_init(&w);
	file_event(&ev, KS_ACT_OPEN, "/etc/y.conf");
	assert_true(ks_walk_early(T, &ev, &w));
	assert_false(ks_interp_step(&rs->rules[0].q->steps[0], &ev));
	file_event(&ev, KS_ACT_OPEN, "/etc/x.conf");
	assert_false(ks_walk_early(T, &ev, &w));
	ks_walk_event(T, &ev, &w);
	assert_int_equal(ks_walk_verdict(&w, 0), KS_TV_TRUE);
	/* a cut path may hide the trigger: never decided early */
	file_event(&ev, KS_ACT_OPEN, "/etc/y.conf");
	ev.truncated = 1u << KS_F_FILE_PATH;
	assert_false(ks_walk_early(T, &ev, &w));
	file_event(&ev, KS_ACT_CREATION, "/etc/y.conf");
	assert_false(ks_walk_early(T, &ev, &w));
	file_event(&ev, KS_ACT_RENAME, "/etc/y.conf");
	assert_false(ks_walk_early(T, &ev, &w));
	ks_ruleset_free(rs);
}

/* An exec event with process.executable = exe, process.name = its last part. */
static void exec_event(struct ks_event *ev, const char *exe)
{
	uint32_t off = offsetof(struct ks_event, exe), n = strlen(exe);
	const char *name = strrchr(exe, '/') + 1;

	memset(ev, 0, sizeof(*ev));
	ev->category = KS_CAT_PROCESS;
	ev->action = KS_ACT_EXEC;
	ev->present = KS_P_PROCESS;
	memcpy(ev->exe, exe, n);
	ev->str[KS_F_PROCESS_EXECUTABLE] = (struct ks_strref){ off, n };
	ev->str[KS_F_PROCESS_NAME] = (struct ks_strref){ off + (name - exe), strlen(name) };
}

/*
 * The evaluator scans an event's trigger fields (hdr.trig_fields of its
 * action) first and the others only when a step is a candidate
 * (ks_scan_triggers in bpf/ks_eval.bpf.h). 65 fork steps on one
 * process.name atom overflow the candidate list of an exec named "sh"
 * only when process.name is scanned: with no exec trigger hit, it is not,
 * and the exec is decided (every step false, nothing forwarded); with
 * one, it is, and the overflow sends the event to kload as before.
 */
static void test_trigger_fields_first(void **state)
{
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);
	struct ks_ruleset *rs;
	static struct ks_walk w;
	struct ks_event ev;
	uint32_t i;

	fprintf(f, "- rule: x\n  name: x\n  query: process where event.action == \"exec\" "
		"and process.executable == \"/bin/x\" and process.name == \"x\"\n");
	for (i = 0; i < KS_MAX_CANDS + 1; i++)
		fprintf(f, "- rule: f%u\n  name: f%u\n  query: process where event.action == "
			"\"fork\" and process.name == \"sh\" and user.id == %u\n", i, i, i);
	fclose(f);
	rs = load(yaml, 0, NULL);
	assert_int_equal(T->hdr.trig_fields[KS_ACT_EXEC], 1u << KS_F_PROCESS_EXECUTABLE);
	ks_walk_init(&w);
	exec_event(&ev, "/bin/sh");
	ks_walk_event(T, &ev, &w);
	assert_false(w.cand_overflow);
	for (i = 0; i < T->hdr.n_steps; i++) {
		assert_int_equal(ks_walk_verdict(&w, i), KS_TV_FALSE);
		assert_false(ks_interp_step(&rs->rules[i].q->steps[0], &ev));
	}
	/* a trigger hit: every field is scanned, process.name's steps overflow */
	exec_event(&ev, "/bin/x");
	memcpy(ev.exe + 8, "sh", 2);
	ev.str[KS_F_PROCESS_NAME] = (struct ks_strref){ offsetof(struct ks_event, exe) + 8, 2 };
	ks_walk_event(T, &ev, &w);
	assert_true(w.cand_overflow);
	ks_ruleset_free(rs);
	free(yaml);
}

static void packet_event(struct ks_event *ev, uint32_t proto, uint32_t sport, uint32_t dport)
{
	memset(ev, 0, sizeof(*ev));
	ev->category = KS_CAT_NETWORK;
	ev->action = KS_ACT_PACKET;
	ev->source = KS_SRC_XDP;
	ev->present = KS_P_NET;
	ev->family = 4;
	ev->transport = proto;
	ev->sport = sport;
	ev->dport = dport;
}

/*
 * The packet filter (struct ks_net_filter): protocols and ports from the
 * equality conjuncts of the steps that can match a packet, a conjunction
 * of two port fields kept whole (4000 -> 22), an action other than
 * packet adding nothing. A packet it refuses stops in ks_walk_early(),
 * and the interpreter confirms that no step matches it.
 */
static void test_net_filter(void **state)
{
	static const char *q[] = {
		"network.transport == \"tcp\" and destination.port in (80, 443) and payload : \"*GET*\"",
		"(source.port == 53 or destination.port == 53) and network.transport == \"udp\"",
		"destination.port == 22 and source.port == 4000",
		"network.transport == \"icmp\"",
	};
	static const uint32_t pk[][4] = {	/* proto, sport, dport, admitted */
		{ 6, 5555, 80, 1 }, { 6, 443, 5555, 1 }, { 6, 5555, 8080, 0 },
		{ 17, 53, 1234, 1 }, { 17, 5555, 8080, 0 }, { 1, 0, 0, 1 },
		{ 6, 4000, 22, 1 }, { 47, 0, 0, 0 }, { 6, 1234, 5678, 0 },
	};
	char y[2048] = "";
	static struct ks_walk w;
	struct ks_ruleset *rs;
	struct ks_event ev;
	size_t i, r;

	for (i = 0; i < 4; i++)
		snprintf(y + strlen(y), sizeof(y) - strlen(y),
			 "- rule: n%zu\n  name: n\n  query: |\n    network where "
			 "event.action == \"packet\" and %s\n", i, q[i]);
	snprintf(y + strlen(y), sizeof(y) - strlen(y),
		 "- rule: c\n  name: c\n  query: network where event.action == \"connect\" and "
		 "destination.port == 9999\n");
	rs = load(y, 0, NULL);
	ks_walk_init(&w);
	for (i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
		assert_int_equal(ks_net_admits(&T->net, pk[i][0], pk[i][1], pk[i][2]), pk[i][3]);
		packet_event(&ev, pk[i][0], pk[i][1], pk[i][2]);
		assert_int_equal(ks_walk_early(T, &ev, &w), !pk[i][3]);
		for (r = 0; !pk[i][3] && r < rs->n_rules; r++)
			assert_false(ks_interp_step(&rs->rules[r].q->steps[0], &ev));
	}
	ks_ruleset_free(rs);
}

/* The table walk on a cut path: hits true, misses decided where they can be. */
static void test_cut_walk(void **state)
{
	const char *yaml =
		"- rule: a\n"
		"  name: a\n"
		"  query: process where startsWith(process.executable, \"/home/u/\")\n"
		"- rule: b\n"
		"  name: b\n"
		"  query: process where startsWith(process.executable, \"/dev/shm/\")\n"
		"- rule: c\n"
		"  name: c\n"
		"  query: process where process.executable like \"*/.cache/*\"\n"
		"- rule: d\n"
		"  name: d\n"
		"  query: process where process.executable == \"/usr/bin/nc\"\n"
		"- rule: e\n"
		"  name: e\n"
		"  query: process where endsWith(process.executable, \"/tool\")\n"
		"- rule: f\n"
		"  name: f\n"
		"  query: process where startsWith(process.executable, \"/tool\")\n";
	struct ks_ruleset *rs = load(yaml, 0, NULL);
	static const char head[] = "/home/u/src", tail[] = "/deep/bin/tool";
	static struct ks_walk w;
	struct ks_event ev = { .category = KS_CAT_PROCESS, .action = KS_ACT_EXEC,
			       .present = KS_P_PROCESS };
	uint32_t off = offsetof(struct ks_event, exe);

	memcpy(ev.exe, head, strlen(head));
	memcpy(ev.exe + KS_PATH_MAX - strlen(tail), tail, strlen(tail));
	ev.str[KS_F_PROCESS_EXECUTABLE].off = off + KS_PATH_MAX - strlen(tail);
	ev.str[KS_F_PROCESS_EXECUTABLE].len = strlen(tail);
	ev.truncated = 1u << KS_F_PROCESS_EXECUTABLE;
	ev.cut_head[KS_PATH_IDX(KS_F_PROCESS_EXECUTABLE)] = strlen(head);
	ks_walk_init(&w);
	ks_walk_event(T, &ev, &w);
	assert_int_equal(ks_walk_verdict(&w, 0), KS_TV_TRUE);	/* the head has it */
	assert_int_equal(ks_walk_verdict(&w, 1), KS_TV_FALSE);	/* the head denies it */
	assert_int_equal(ks_walk_verdict(&w, 2), KS_TV_UNKNOWN);	/* the middle is gone */
	assert_int_equal(ks_walk_verdict(&w, 3), KS_TV_FALSE);	/* longer than a slot */
	assert_int_equal(ks_walk_verdict(&w, 4), KS_TV_TRUE);	/* the tail has it */
	/* the tail starts with '/' but is not the start of the path */
	assert_int_equal(ks_walk_verdict(&w, 5), KS_TV_FALSE);
	/* no head: the walk never reached the root, nothing is decided */
	ev.cut_head[KS_PATH_IDX(KS_F_PROCESS_EXECUTABLE)] = 0;
	ks_walk_event(T, &ev, &w);
	assert_int_equal(ks_walk_verdict(&w, 0), KS_TV_UNKNOWN);
	assert_int_equal(ks_walk_verdict(&w, 3), KS_TV_UNKNOWN);
	assert_int_equal(ks_walk_verdict(&w, 4), KS_TV_TRUE);
	ks_ruleset_free(rs);
}

/*
 * The table walk on a cut argument vector (truncated bit of process.args):
 * the head is kept, the rest unseen. In a rule that fails closed (a kill
 * rule by default, any rule with args_cut: fail-closed) a miss is decided
 * on process.command_line only for a prefix or an equality the head
 * holds, never on process.args; the cut slot KS_CUT_ARGS makes each such
 * step a candidate, so a literal past the cut cannot keep it from being
 * judged (bpf/ks_eval.bpf.h, ks_cut_undecided). In an alert rule or one
 * saying args_cut: head a miss is a miss. A kill rule left at the default
 * with a test the head never decides gets one warning.
 */
static void test_args_cut_walk(void **state)
{
	static const struct {
		const char *q, *action, *cut_key;
		enum ks_tv cut;
	} r[] = {
		{ "process.command_line : \"*zq9evil*\"", "kill", NULL, KS_TV_UNKNOWN },
		{ "startsWith(process.command_line, \"curl -s\")", "kill", NULL, KS_TV_TRUE },
		{ "startsWith(process.command_line, \"wget \")", "kill", NULL, KS_TV_FALSE },
		{ "process.command_line == \"curl\"", "kill", NULL, KS_TV_FALSE },
		{ "process.command_line == \"curl -s http://a.example/x/y/zz\"", "kill", NULL,
		  KS_TV_UNKNOWN },
		{ "endsWith(process.command_line, \"--zq9\")", "block", NULL, KS_TV_UNKNOWN },
		{ "process.args == \"--zq9\"", "kill", NULL, KS_TV_UNKNOWN },
		{ "process.args == \"-s\"", "kill", NULL, KS_TV_TRUE },
		{ "startsWith(process.command_line, \"curl -s http://a.example/x/y\")", "kill",
		  "fail-closed", KS_TV_UNKNOWN },
		{ "process.command_line : \"*zq9evil*\"", "alert", "fail-closed", KS_TV_UNKNOWN },
		/* a miss is a miss */
		{ "process.command_line : \"*zq9evil*\"", "alert", NULL, KS_TV_FALSE },
		{ "process.args == \"--zq9\"", "alert", NULL, KS_TV_FALSE },
		{ "process.command_line : \"*zq9evil*\"", "kill", "head", KS_TV_FALSE },
		/* the kept bytes end with it, the command line does not (no end sentinel) */
		{ "endsWith(process.command_line, \"a.e\")", "alert", NULL, KS_TV_FALSE },
		{ "process.args == \"http://a.e\"", "alert", NULL, KS_TV_FALSE },
	};
	const uint32_t n_end = 2;	/* the last two are true of the event whole */
	const uint32_t n_closed = 10;	/* the first ten, in the cut list in order */
	static const char args[] = "curl\0-s\0http://a.e";	/* 19 bytes kept */
	static struct ks_walk w;
	struct ks_event ev = { .category = KS_CAT_PROCESS, .action = KS_ACT_EXEC,
			       .present = KS_P_PROCESS };
	uint32_t off = offsetof(struct ks_event, args), n = sizeof(args) - 1, i, v;
	const char *d, *p;
	char *yaml = NULL;
	size_t len = 0, warned = 0;
	FILE *f = open_memstream(&yaml, &len);
	struct ks_ruleset *rs;

	for (i = 0; i < ARRAY_SIZE(r); i++)
		fprintf(f, "- rule: r%u\n  name: r%u\n  action: %s\n%s%s%s  query: |\n"
			"    process where %s\n", i, i, r[i].action,
			r[i].cut_key ? "  args_cut: " : "", r[i].cut_key ? r[i].cut_key : "",
			r[i].cut_key ? "\n" : "", r[i].q);
	fclose(f);
	rs = load(yaml, 0, NULL);
	/* kill rules left at the default with a substring, suffix or args test */
	d = diag_text(rs);
	for (p = d; (p = strstr(p, "fails closed on a command line")); p++)
		warned++;
	assert_int_equal(warned, 4);
	assert_non_null(strstr(d, "rule r0: action kill fails closed"));
	assert_null(strstr(d, "rule r8:"));	/* said so: no warning */
	v = T->cut_first[KS_CUT_ARGS];
	assert_int_equal(v & 0xffff, n_closed);
	for (i = 0; i < n_closed; i++)
		assert_int_equal(T->cut_list[(v >> 16) + i], i);
	memcpy(ev.args, args, n);
	ev.str[KS_F_PROCESS_ARGS] = (struct ks_strref){ off, n };
	ev.str[KS_F_PROCESS_COMMAND_LINE] = (struct ks_strref){ off, n };
	ev.truncated = 1u << KS_F_PROCESS_ARGS;
	ks_walk_init(&w);
	ks_walk_event(T, &ev, &w);
	for (i = 0; i < ARRAY_SIZE(r); i++)
		assert_int_equal(ks_walk_verdict(&w, i), r[i].cut);
	/* whole: every miss is decided */
	ev.truncated = 0;
	ks_walk_event(T, &ev, &w);
	for (i = 0; i < ARRAY_SIZE(r); i++)
		assert_int_equal(ks_walk_verdict(&w, i),
				 r[i].cut == KS_TV_TRUE || i >= ARRAY_SIZE(r) - n_end ? KS_TV_TRUE :
											KS_TV_FALSE);
	ks_ruleset_free(rs);
	free(yaml);
}

static void test_deterministic(void **state)
{
	const char *yaml =
		"- rule: a\n"
		"  name: a\n"
		"  query: |\n"
		"    sequence by process.entity_id with maxspan=5m\n"
		"      [process where process.name in (\"curl\", \"wget\") and process.args : \"http*\"]\n"
		"      [network where cidrMatch(destination.ip, \"203.0.113.0/24\") and destination.port in (80, 443)]\n"
		"- rule: b\n"
		"  name: b\n"
		"  query: |\n"
		"    file where file.path : (\"/etc/*\", \"*.pem\", \"*id_rsa*\") and not process.name == \"sshd\"\n";
	struct ks_ruleset *rs = load(yaml, 0, NULL);
	uint64_t h;

	memcpy(T2, T, KS_TABLES_USED(T));
	ks_ruleset_free(rs);
	rs = load(yaml, 0, NULL);
	assert_memory_equal(T, T2, KS_TABLES_USED(T));
	/* the hash covers the used bytes: the header up to the last DFA cell */
	assert_true(KS_TABLES_USED(T) < sizeof(*T));
	h = ks_fnv1a64((uint8_t *)T + sizeof(T->hdr), KS_TABLES_USED(T) - sizeof(T->hdr),
		       KS_FNV64_INIT);
	assert_int_equal(h, T->hdr.content_hash);
	ks_ruleset_free(rs);
}

/* FNV-1a byte by byte, the definition ks_fnv1a64 must give. */
static uint64_t fnv_ref(const uint8_t *b, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/*
 * ks_fnv1a64 skips zeros (whole blocks, and the runs after each nonzero
 * byte): against the byte loop over buffers of sparse bytes, zero runs
 * across chunk and block edges, all-zero and all-nonzero stretches, at
 * every start offset mod 8 and lengths on either side of the edges.
 */
static void test_fnv_reference(void **state)
{
	static const size_t lens[] = { 0, 1, 63, 64, 65, 4095, 4096, 4097, 8191, 20000 };
	size_t n = 24576, i, k, off;
	uint8_t *buf = malloc(n);
	uint32_t x = 12345;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		/* regions: sparse, dense, zero, every byte set, single bytes */
		switch ((i / 3000) % 5) {
		case 0: buf[i] = (x >> 16) % 7 ? 0 : (uint8_t)(x >> 8); break;
		case 1: buf[i] = (uint8_t)(x >> 16); break;
		case 2: buf[i] = 0; break;
		case 3: buf[i] = (uint8_t)((x >> 16) | 1); break;
		default: buf[i] = i % 4096 == 4095 || i % 64 == 0 ? 0x80 : 0; break;
		}
	}
	for (off = 0; off < 8; off++)
		for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			assert_int_equal(ks_fnv1a64(buf + off, lens[k], KS_FNV64_INIT + off),
					 fnv_ref(buf + off, lens[k], KS_FNV64_INIT + off));
	for (off = 0; off + 9000 <= n; off += 1111)
		assert_int_equal(ks_fnv1a64(buf + off, n - off, 7), fnv_ref(buf + off, n - off, 7));
	free(buf);
}

static void test_rule_uid(void **state)
{
	struct ks_rule_src r = { .id = "x", .query_text = "q" };
	const char bytes[] = "x\0q";
	uint32_t h = 0x811c9dc5u;
	size_t i;

	for (i = 0; i < 3; i++) {
		h ^= (uint8_t)bytes[i];
		h *= 0x01000193u;
	}
	assert_int_equal(ks_rule_uid(&r), h);
	r.query_text = "q ";
	assert_int_not_equal(ks_rule_uid(&r), h);
}

/* user.id in (0, ..., n - 1): n CMP and n - 1 OR insns */
static void uid_list(char *q, size_t n)
{
	size_t i;

	q += sprintf(q, "process where user.id in (");
	for (i = 0; i < n; i++)
		q += sprintf(q, "%s%zu", i ? ", " : "", i);
	sprintf(q, ")");
}

/*
 * The longest literal an automaton's overlap (a u16, maps/ks_dfa.h) can
 * hold compiles (an equality's pattern is the value and its two frame
 * sentinels); one byte more is refused by name, not cut.
 */
static void long_literal(void)
{
	size_t max = KS_DFA_MAX_OVERLAP + 1 - 2, head = sizeof("process where process.name == \"") - 1;
	char *q = malloc(head + max + 3);
	struct ks_ruleset *rs;
	struct ks_lowered lw;

	assert_non_null(q);
	memcpy(q, "process where process.name == \"", head);
	memset(q + head, 'a', max);
	strcpy(q + head + max, "\"");
	compile_one(q, &rs, &lw, 0);
	ks_lowered_free(&lw);
	ks_ruleset_free(rs);
	memset(q + head, 'a', max + 1);
	strcpy(q + head + max + 1, "\"");
	compile_one(q, &rs, &lw, -1);
	assert_non_null(strstr(diag_text(rs), "a literal of 65537 bytes, at most 65536"));
	ks_lowered_free(&lw);
	ks_ruleset_free(rs);
	free(q);
}

static void test_limits(void **state)
{
	size_t n = KS_MAX_PROG_LEN / 2 + 1, i, len = 64 + n * 12;
	char *q = malloc(len), *p = q;
	struct ks_ruleset *rs;
	struct ks_lowered lw;

	/* the longest program loads, one insn more is refused */
	uid_list(q, KS_MAX_PROG_LEN / 2);
	compile_one(q, &rs, &lw, 0);
	assert_int_equal(T->steps[0].prog_len, KS_MAX_PROG_LEN - 1);
	ks_lowered_free(&lw);
	ks_ruleset_free(rs);
	uid_list(q, n);
	compile_one(q, &rs, &lw, -1);
	assert_non_null(strstr(diag_text(rs), "KS_MAX_PROG_LEN"));
	ks_lowered_free(&lw);
	ks_ruleset_free(rs);
	/* a long list of names is one atom, not a long program */
	p = q + sprintf(q, "process where process.name in (");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"n%zu\"", i ? ", " : "", i);
	sprintf(p, ")");
	compile_one(q, &rs, &lw, 0);
	assert_int_equal(T->steps[0].prog_len, 1);
	assert_int_equal(lw.atoms[0].n_pats, n);
	ks_lowered_free(&lw);
	ks_ruleset_free(rs);
	free(q);
	long_literal();
}

/*
 * already_running events (read from /proc at attach) are userspace-only:
 * the steps that name them get KS_S_RUNNING and their rule is decided in
 * userspace (so block is refused, naming why); a step that does not name
 * them, or rules them out, does not see them; the kernel's action mask
 * never gets their bit.
 */
static void test_already_running(void **state)
{
	static const struct {
		const char *q;
		bool running;
	} c[] = {
		{ "process where event.action == \"already_running\"", true },
		{ "process where event.type == \"info\" and process.name == \"sh\"", true },
		{ "any where event.action in (\"exec\", \"already_running\")", true },
		{ "process where event.action == \"exec\" or event.type == \"info\"", true },
		{ "process where process.name == \"sh\"", false },
		{ "process where event.type == \"info\" and event.action == \"exec\"", false },
		{ "process where not event.action == \"already_running\"", false },
		{ "file where event.type == \"info\"", false },
	};
	const char *block =
		"- rule: b\n"
		"  name: b\n"
		"  action: block\n"
		"  query: process where event.type == \"info\" and process.name == \"sh\"\n";
	struct ks_ruleset *rs;
	struct ks_lowered lw;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		compile_one(c[i].q, &rs, &lw, 0);
		if (!!(T->steps[0].flags & KS_S_RUNNING) != c[i].running)
			fail_msg("%s: KS_S_RUNNING %s", c[i].q, c[i].running ? "missing" : "set");
		if (c[i].running)
			assert_false(T->rules[0].flags & KS_R_EXACT);
		assert_int_equal(T->hdr.action_mask & ~((1u << KS_ACT_N) - 1), 0);
		ks_lowered_free(&lw);
		ks_ruleset_free(rs);
	}
	/* exec alone stays kernel-exact */
	compile_one("process where event.action == \"exec\" and process.name == \"sh\"", &rs, &lw, 0);
	assert_true(T->rules[0].flags & KS_R_EXACT);
	ks_lowered_free(&lw);
	ks_ruleset_free(rs);
	rs = load(block, -1, NULL);
	assert_non_null(strstr(diag_text(rs), "t.yml:1:3: error: action block needs a kernel-exact rule: step 1 matches already_running events"));
	ks_ruleset_free(rs);
}

/* What --explain prints for the tables T compiled from rs (malloc'd). */
static char *explain_text(struct ks_ruleset *rs, struct ks_compile_info *info)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ks_explain(rs, T, info, f);
	fclose(f);
	print_message("%s", buf);
	return buf;
}

/* --explain says a sample runs in userspace, with its window and bound. */
static void test_sample_explain(void **state)
{
	struct ks_compile_info info;
	struct ks_ruleset *rs = load("- rule: smp\n  name: smp\n  query: sample by process.pid "
				     "[process where true] [file where true] [network where true]\n",
				     0, &info);
	static const char *const said[] = {
		"  sample of 3 filters: one event per filter, in any order",
		"runs in userspace (kload's NFA): window 540000 ms",
		"one sample per join key", "bound: at most 9 events kept per key",
		"not kernel-exact: a sample's filters match in any order",
	};
	char *text = explain_text(rs, &info);
	size_t i;

	for (i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		if (!strstr(text, said[i]))
			fail_msg("--explain does not say \"%s\"", said[i]);
	free(text);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

static void test_explain(void **state)
{
	const char *yaml =
		"- rule: w\n"
		"  name: w\n"
		"  query: |\n"
		"    process where process.command_line : \"*a*b*\" and cidrMatch(source.ip, \"10.0.0.0/8\")\n";
	struct ks_compile_info info;
	struct ks_ruleset *rs = load(yaml, 0, &info);
	char *buf = explain_text(rs, &info);

	assert_non_null(strstr(buf, "rule w"));
	assert_non_null(strstr(buf, "not kernel-exact: wildcard \"*a*b*\""));
	assert_non_null(strstr(buf, "atom#0(process.command_line folded \"a\")"));
	assert_non_null(strstr(buf, "source.ip in 10.0.0.0/8"));
	assert_non_null(strstr(buf, "userspace U1"));
	assert_non_null(strstr(buf, "byte classes"));
	assert_non_null(strstr(buf, "ks_entity LRU"));
	free(buf);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

/*
 * Join keys only kload reads: the table keeps KS_F_NONE, the rule is the
 * NFA's (no kernel state, so no block), and --explain names each key and
 * says what its value is. ?name keys (Elastic's optional fields, which
 * may be null): a bit per key in table order, the query's `by` then the
 * step's, printed by --explain with their ?.
 */
static void test_explain_user_joins(void **state)
{
	struct ks_compile_info info;
	const struct ks_step *o;
	struct ks_ruleset *rs;
	char *buf;

	rs = load("- {rule: u, name: u, query: 'sequence by host.id, user.name with maxspan=5s "
		  "[process where process.name == \"a\"] by process.working_directory "
		  "[process where process.name == \"b\"] by process.working_directory'}\n"
		  "- {rule: a, name: a, query: 'sequence by agent.id [process where true] "
		  "[file where true]'}\n"
		  "- {rule: o, name: o, query: 'sequence by process.pid, "
		  "?process.parent.working_directory "
		  "[process where process.name == \"a\"] by ?process.parent.executable "
		  "[process where process.name == \"b\"] by process.parent.executable "
		  "until [process where process.name == \"c\"] by ?process.parent.executable'}\n",
		  0, &info);
	buf = explain_text(rs, &info);
	o = &T->steps[T->rules[2].first_step];
	assert_int_equal(o[0].join_opt, 0x6);
	assert_int_equal(o[1].join_opt, 0x2);
	assert_int_equal(o[2].join_opt, 0x6);
	assert_int_equal(o[2].flags & KS_S_UNTIL, KS_S_UNTIL);
	assert_non_null(strstr(buf, "join: process.pid ?process.parent.working_directory "
				    "?process.parent.executable\n"));
	assert_non_null(strstr(buf, "join: process.pid ?process.parent.working_directory "
				    "process.parent.executable\n"));

	assert_int_equal(T->steps[0].n_join, 3);
	assert_int_equal(T->steps[0].join[1], KS_F_NONE);
	assert_int_equal(T->rules[0].flags & (KS_R_EXACT | KS_R_KSTATE), 0);
	assert_int_equal(T->rules[1].flags & (KS_R_EXACT | KS_R_KSTATE), 0);
	assert_non_null(strstr(buf, "join: host.id user.name process.working_directory\n"));
	assert_non_null(strstr(buf, "join on user.name (kload's NFA, alert-only): live, the "
				    "passwd name of user.id"));
	assert_non_null(strstr(buf, "join on process.working_directory (kload's NFA, "
				    "alert-only): live, /proc/PID/cwd read when kload handles "
				    "the event, not at exec"));
	assert_non_null(strstr(buf, "null once the process has exited (so on every live "
				    "`end` event)"));
	assert_non_null(strstr(buf, "a null value leaves the event out of the step (written "
				    "?name, it joins another null)"));
	assert_non_null(strstr(buf, "join on host.id: one value for all of a host's events"));
	assert_non_null(strstr(buf, "join on agent.id (Kestrel's own identity, a random UUID "
				    "per kload process)"));
	/* each key said once per rule, not per step */
	assert_null(strstr(strstr(buf, "join on user.name") + 1, "join on user.name"));
	free(buf);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);

	rs = load("- rule: b\n  name: b\n  action: block\n  query: sequence by user.name "
		  "[process where true] [file where true]\n", -1, NULL);
	assert_non_null(strstr(diag_text(rs), "join field is not visible to the kernel"));
	ks_ruleset_free(rs);
}

/*
 * --explain on Defend's session fields: entry_meta.type is the kernel's
 * pid namespace (said once per rule, and the rule stays kernel-exact, so
 * block may use it); process.interactive is finished in userspace.
 */
static void test_explain_session(void **state)
{
	const char *yaml =
		"- rule: c\n"
		"  name: c\n"
		"  action: block\n"
		"  query: process where process.entry_leader.entry_meta.type == \"container\"\n"
		"- rule: i\n"
		"  name: i\n"
		"  query: process where process.interactive == true\n"
		"- rule: s\n"
		"  name: s\n"
		"  query: |\n"
		"    sequence by process.session_leader.entity_id\n"
		"      [process where process.name == \"gdb\"] [process where process.name == \"sudo\"]\n"
		"- rule: e\n"
		"  name: e\n"
		"  query: |\n"
		"    sequence by process.entry_leader.entity_id\n"
		"      [process where process.name == \"gdb\"] [process where user.id == 0]\n";
	struct ks_compile_info info;
	struct ks_ruleset *rs = load(yaml, 0, &info);
	char *buf = explain_text(rs, &info);

	assert_true(T->rules[0].flags & KS_R_EXACT);
	assert_false(T->rules[1].flags & KS_R_EXACT);
	/* the leaders' entity ids are the kernel's: it keeps those sequences */
	assert_true(T->rules[2].flags & KS_R_KSTATE);
	assert_true(T->rules[3].flags & KS_R_KSTATE);
	assert_int_equal(T->steps[T->rules[2].first_step].join[0], KS_F_SESSION_ENTITY_ID);
	assert_non_null(strstr(buf, "join: process.session_leader.entity_id"));
	assert_non_null(strstr(buf, "process.session_leader.entity_id is the kernel's: the "
				    "session leader's own process.entity_id"));
	assert_non_null(strstr(buf, "process.entry_leader.entity_id is the kernel's: the "
				    "session leader's on the host"));
	assert_non_null(strstr(buf, "process.entry_leader.entry_meta.type is tested as the "
				    "kernel's kestrel.process.pid_ns"));
	assert_non_null(strstr(buf, "kestrel.process.pid_ns != 0 and "
				    "kestrel.process.pid_ns != 4026531836"));
	assert_non_null(strstr(buf, "equality test on process.interactive is decided in "
				    "userspace"));
	free(buf);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

/* Trigger lists past the first 256 entries: atom_trig is first << 16 |
 * count (explain read it as first << 8 | count). */
static void test_explain_triggers(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_compile_info info;
	char *yaml = NULL, *buf = NULL;
	size_t ylen = 0, len = 0;
	FILE *f = open_memstream(&yaml, &ylen);
	int i;

	for (i = 0; i < 300; i++)
		fprintf(f, "- {rule: r%d, name: r, query: 'process where "
			"process.name == \"n%d\"'}\n", i, i);
	fclose(f);
	assert_int_equal(ks_ruleset_load_string(rs, yaml, "r.yml"), 0);
	assert_int_equal(ks_compile(rs, T, &info), 0);
	f = open_memstream(&buf, &len);
	ks_explain(rs, T, &info, f);
	fclose(f);
	assert_non_null(strstr(buf, "rule r0 "));
	assert_non_null(strstr(buf, "      trigger: atoms #0\n"));
	assert_non_null(strstr(buf, "      trigger: atoms #299\n"));
	assert_null(strstr(buf, "trigger: never"));
	free(buf);
	free(yaml);
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_regex_and_raw_wildcards),
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_sequence_limits),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_sample_explain),
		cmocka_unit_test(test_join_mismatch),
		cmocka_unit_test(test_block_needs_exact),
		cmocka_unit_test(test_dedupe_and_index),
		cmocka_unit_test(test_cut_atoms),
		cmocka_unit_test(test_cut_walk),
		cmocka_unit_test(test_args_cut_walk),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_rule_uid),
		cmocka_unit_test(test_fnv_reference),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_already_running),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_explain_session),
		cmocka_unit_test(test_explain_user_joins),
		cmocka_unit_test(test_explain_triggers),
		cmocka_unit_test(test_trig_fields),
		cmocka_unit_test(test_trigger_fields_first),
		cmocka_unit_test(test_net_filter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
