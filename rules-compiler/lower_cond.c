// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A step's condition into a postfix program (enum ks_op) in three-valued
 * logic and a trigger set. Every string test becomes patterns of the one
 * DFA: equality "\x01s\x02", prefix "\x01s", suffix "s\x02", substring
 * "s"; the string tests of one disjunction share an atom per (field,
 * case), so a list of 300 names is one ATOM insn. What only userspace can
 * decide is KS_OP_USER, with a note saying why.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include <kestrel/names.h>
#include <kestrel/tablewalk.h>

#include "lower_priv.h"

static const char *field_name(const struct ks_field_info *f)
{
	return f && f->name ? f->name : "?";
}

static const char *strop_name(enum ks_strop op)
{
	static const char *const names[] = {
		[KS_SO_EQ] = "equality", [KS_SO_PREFIX] = "prefix",
		[KS_SO_SUFFIX] = "suffix", [KS_SO_CONTAINS] = "substring",
		[KS_SO_WILDCARD] = "wildcard", [KS_SO_REGEX] = "regex", [KS_SO_EQLRE] = "regex",
	};

	return op <= KS_SO_EQLRE ? names[op] : "string test";
}

/* ---- programs ---- */

static struct ks_insn *emit(struct prog *p, uint8_t op)
{
	struct ks_insn *in;

	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 32;
		p->v = ks_xrealloc(p->v, p->cap * sizeof(*p->v));
		p->note = ks_xrealloc(p->note, p->cap * sizeof(*p->note));
	}
	in = &p->v[p->n];
	memset(in, 0, sizeof(*in));
	in->op = op;
	p->note[p->n++] = NULL;
	return in;
}

static void emit_user(struct lower *L, struct prog *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void emit_user(struct lower *L, struct prog *p, const char *fmt, ...)
{
	char note[NOTE_MAX];
	va_list ap;
	int n;

	/* what an exception leaves to userspace says so */
	n = L->in_exc ? snprintf(note, sizeof(note), "exception: ") : 0;
	va_start(ap, fmt);
	vsnprintf(note + n, sizeof(note) - n, fmt, ap);
	va_end(ap);
	emit(p, KS_OP_USER);
	p->note[p->n - 1] = ks_xstrdup(note);
	if (!L->why[0])
		snprintf(L->why, sizeof(L->why), "%s", note);
}

static void emit_field(struct prog *p, uint8_t op, const struct ks_field_info *f,
		       uint8_t cmp, int64_t imm)
{
	struct ks_insn *in = emit(p, op);

	in->field = f->id;
	in->cmp = cmp;
	in->imm = (uint64_t)imm;
	in->arg = f->present;
}

/* NOT NOT x is x: negated null tests produce such pairs. */
static void emit_not(struct prog *p)
{
	if (p->n && p->v[p->n - 1].op == KS_OP_NOT) {
		p->n--;
		return;
	}
	emit(p, KS_OP_NOT);
}

static void prog_free(struct prog *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		free(p->note[i]);
	free(p->v);
	free(p->note);
	memset(p, 0, sizeof(*p));
}

/*
 * A block/kill rule that fails closed by default on a cut argument vector
 * through a test the kept head never decides (a substring, a suffix, an
 * element of process.args) is killed or blocked for every long command
 * line the rest of it matches: say so once per rule, with the way out.
 */
static void warn_args_cut(struct lower *L, bool never_decided)
{
	if (!never_decided || L->args_warned || L->rule->args_cut != KS_ARGS_CUT_DEFAULT ||
	    !L->diags)
		return;
	L->args_warned = true;
	ks_diag_add(L->diags, KS_DIAG_WARNING, L->rule->loc,
		    "rule %s: action %s fails closed on a command line longer than the kernel "
		    "reads (%u KiB): its test on process.args or process.command_line is "
		    "undecided there, so every such exec the rest of the rule matches is %s; "
		    "add \"args_cut: head\" to decide on the bytes read (a literal past them "
		    "is then missed) or \"args_cut: fail-closed\" to keep this",
		    L->rule->id, ks_rule_action_name(L->rule->action), 32,
		    L->rule->action == KS_RA_KILL ? "killed" : "blocked");
}

/*
 * ATOM a, with the atom's field and what a miss leaves undecided on a
 * cut field (KS_ATOM_* in maps/ks_tables.h): a path cut on the left, or
 * a command line of which only the head is kept, where an equality is
 * decided as a prefix of its length is; there, only in a rule that fails
 * closed on it (rule_args_closed: KS_ATOM_ARGS_CLOSED).
 */
static void emit_atom(struct lower *L, struct prog *p, uint32_t a)
{
	const struct ks_atom_desc *d = &L->atoms[a];
	struct ks_insn *in = emit(p, KS_OP_ATOM);
	uint64_t pre = 0, suf = 0, mid = 0;
	uint32_t i;

	in->arg = a;
	in->field = d->field;
	for (i = 0; i < d->n_pats; i++) {
		const struct ks_atom_pat *pt = &d->pats[i];
		bool b = pt->len && pt->bytes[0] == KS_SENT_BEGIN;
		bool e = pt->len && pt->bytes[pt->len - 1] == KS_SENT_END;
		uint64_t core = pt->len - b - e;

		if (b && e && d->field == KS_F_PROCESS_COMMAND_LINE)
			pre = core > pre ? core : pre;
		else if (b && e)
			mid |= core >= KS_PATH_MAX;
		else if (b)
			pre = core > pre ? core : pre;
		else if (e)
			suf = core > suf ? core : suf;
		else
			mid = 1;
	}
	if (pre > 0xffff || suf > 0xffff)
		mid = 1;
	in->imm = (pre & 0xffff) | (suf & 0xffff) << 16 | (mid ? KS_ATOM_MIDDLE : 0);
	if ((KS_F_ARGS_MASK & (1u << d->field)) && L->rule && rule_args_closed(L->rule)) {
		in->imm |= KS_ATOM_ARGS_CLOSED;
		warn_args_cut(L, d->field == KS_F_PROCESS_ARGS || mid || suf);
	}
}

/* Emit an ATOM per pattern set of the OR, as further OR operands. */
static struct trig orset_flush(struct lower *L, struct prog *p,
			       struct orset *os, uint32_t *emitted)
{
	struct trig tr = trig_empty();
	uint32_t k;
	int a;

	for (k = 0; k < KS_F_STR_N * KS_CASE_N; k++) {
		if (!os->s[k].n)
			continue;
		a = atom_get(L, k / KS_CASE_N, k % KS_CASE_N, &os->s[k]);
		if (a < 0)
			continue;
		emit_atom(L, p, a);
		if (++*emitted > 1)
			emit(p, KS_OP_OR);
		tr = trig_union(tr, trig_atom(a));
	}
	return tr;
}

/* ---- string tests ---- */

static bool has_ctl(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((uint8_t)s[i] <= KS_SENT_END)
			return true;
	return false;
}

/* "bytes" escaped for a message, shortened with ... to fit size (>= 8). */
static void quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t need, w;

	buf[0] = '"';
	need = ks_escape_bytes(buf + 1, size - 5, (const uint8_t *)s, len);
	w = strlen(buf + 1);
	strcpy(buf + 1 + w, need > w ? "...\"" : "\"");
}

/*
 * The exact string tests are patterns of the OR's pattern set for their
 * (field, case); they become one atom when the OR is complete. Only tests
 * on empty strings need an instruction of their own.
 */
static struct trig lower_exact(struct lower *L, struct prog *p,
			       struct orset *os, uint32_t *emitted,
			       const struct ks_field_info *f, enum ks_strop op,
			       const char *s, size_t len, bool ci)
{
	bool begin = op == KS_SO_EQ || op == KS_SO_PREFIX;
	bool end = op == KS_SO_EQ || op == KS_SO_SUFFIX;
	bool array = f->type == KS_T_STR_ARRAY;
	uint8_t mode = ci ? KS_CASE_FOLD : KS_CASE_EXACT;

	if (!len && !array) {
		/* "\x01\x02" would mean scanning empty values: test the
		 * length, or, for "starts with nothing", presence */
		if (op == KS_SO_EQ)
			emit_field(p, KS_OP_STRLEN, f, KS_CMP_EQ, 0);
		else
			emit_field(p, KS_OP_PRESENT, f, 0, 0);
		if (++*emitted > 1)
			emit(p, KS_OP_OR);
		return trig_none();
	}
	/* an empty operand on an array: some element exists, "\x01" */
	if (!len)
		begin = true;
	pset_add(&os->s[f->id * KS_CASE_N + mode], ci, begin, s, len, end);
	return trig_empty();
}

/*
 * A wildcard that is none of the four exact shapes: each literal segment
 * must occur (the first anchored at the start unless the pattern starts
 * with a wildcard, the last at the end likewise), which the kernel checks;
 * the order and the '?' positions are left to userspace.
 */
static struct trig lower_wild(struct lower *L, struct prog *p,
			      const struct ks_field_info *f, const char *w,
			      size_t wlen, bool ci)
{
	struct trig best = trig_none(), one;
	char *seg = ks_xmalloc(wlen + 1), q[80];
	size_t i = 0, n, start;
	bool first = true, any = false, begin;
	int a;

	while (i < wlen) {
		if (w[i] == '*' || w[i] == '?') {
			i++;
			continue;
		}
		start = i;
		for (n = 0; i < wlen && w[i] != '*' && w[i] != '?'; i++) {
			if (w[i] == '\\' && i + 1 < wlen)
				i++;
			seg[n++] = w[i];
		}
		begin = start == 0;
		a = atom_framed(L, f, ci, begin, seg, n, i == wlen);
		if (a < 0)
			break;
		emit_atom(L, p, a);
		if (!first)
			emit(p, KS_OP_AND);
		first = false;
		any = true;
		one = trig_atom(a);
		best = trig_pick(L, best, one);
	}
	free(seg);
	quote(q, sizeof(q), w, wlen);
	emit_user(L, p, "wildcard %s on %s is decided in userspace", q,
		  f->name);
	if (any)
		emit(p, KS_OP_AND);
	return best;
}

/*
 * A literal every match of a POSIX ERE (or, pcre, of an EQL regex) must
 * contain: the longest run of plain characters at the top level.
 * Conservative: no top-level alternation, bracket expressions and groups
 * are skipped, and a character followed by a quantifier that allows zero
 * repetitions is dropped. In PCRE a backslash escapes inside brackets too.
 * fr->begin: the literal is the pattern's first tokens; fr->end: its last.
 */
struct frame {
	bool begin, end;
};

/*
 * The index of the ']' closing the bracket expression opened at re[i]:
 * "[]...]" and "[^]...]" hold a literal ']', and "[:space:]", "[=a=]" and
 * "[.-.]" inside hold their own ']' (fuzz_sigma: "[[:space:]]+" once left
 * its outer ']' to be taken for a required literal). len if unclosed.
 */
static size_t bracket_end(const char *re, size_t len, size_t i, bool pcre)
{
	const char *close;

	i++;
	if (i < len && re[i] == '^')
		i++;
	if (i < len && re[i] == ']')
		i++;
	while (i < len && re[i] != ']') {
		if (re[i] == '[' && i + 1 < len && strchr(":=.", re[i + 1])) {
			close = i + 2 < len ? memchr(re + i + 2, ']', len - i - 2) : NULL;
			if (close && close[-1] == re[i + 1] && close - re > (ptrdiff_t)i + 2) {
				i = (size_t)(close - re) + 1;
				continue;
			}
		}
		i += pcre && re[i] == '\\' ? 2 : 1;
	}
	return i < len ? i : len;
}

/*
 * The index of the '}' closing the bound "{m}", "{m,}" or "{m,n}" opened
 * at re[i]; i itself if it opens none. Such a '{' is a literal in PCRE
 * (glibc refuses it, see match.c): skipping to the next '}' regardless
 * once swallowed a top-level '|' ("a{1,3|.*", fuzz_eql) and took the
 * literal before it for required.
 */
static size_t bound_end(const char *re, size_t len, size_t i)
{
	unsigned long m, n;
	bool open;
	size_t k = ks_regex_bound(re + i, len - i, &m, &n, &open);

	return k ? i + k - 1 : i;
}

static size_t regex_literal(const char *re, size_t len, bool pcre, char *out,
			    struct frame *fr)
{
	size_t i, n = 0, best = 0, depth = 0, tok;
	char *cur = out + len + 1;	/* scratch after the result area */
	bool first = false;	/* the current run starts the pattern */

	for (i = 0; i < len; i++) {
		char c = re[i];
		bool lit = false;

		tok = i;

		if (c == '\\' && i + 1 < len) {
			c = re[++i];
			lit = !strchr("dDwWsSbBnrtfv0123456789", c);
		} else if (c == '[') {
			i = bracket_end(re, len, i, pcre);	/* no literal */
		} else if (c == '{') {
			i = bound_end(re, len, i);	/* no literal */
		} else if (c == '|' && !depth) {
			return 0;	/* a top-level alternative */
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth)
				depth--;
		} else if (!depth && !strchr(".^$*+?{}", c)) {
			lit = true;
		}
		if (lit && !depth && i + 1 < len &&
		    strchr("*?{", re[i + 1]))
			lit = false;	/* may occur zero times */
		if (lit && !depth) {
			if (!n)
				first = tok == 0;
			cur[n++] = c;
			if (i + 1 < len && re[i + 1] == '+')
				lit = false;	/* ends the run after c */
		}
		if (!lit || depth) {
			if (n > best) {
				best = n;
				memcpy(out, cur, n);
				*fr = (struct frame){ first, false };
			}
			n = 0;
		}
	}
	if (n > best) {
		best = n;
		memcpy(out, cur, n);
		*fr = (struct frame){ first, true };
	}
	return best;
}

static struct trig lower_regex(struct lower *L, struct prog *p,
			       const struct ks_field_info *f, enum ks_strop op,
			       const struct ks_strpat *pat)
{
	char *lit = ks_xmalloc(2 * pat->len + 3), q[80];
	bool whole = op == KS_SO_EQLRE;
	struct trig tr = trig_none();
	struct frame fr = { false, false };
	size_t n = regex_literal(pat->s, pat->len, whole, lit, &fr);
	int a = -1;

	/* EQL's regex matches the whole value: its ends frame the literal */
	if (n && !has_ctl(lit, n))
		a = atom_framed(L, f, pat->ci, whole && fr.begin, lit, n,
				whole && fr.end);
	if (a >= 0) {
		emit_atom(L, p, a);
		tr = trig_atom(a);
	}
	free(lit);
	quote(q, sizeof(q), pat->s, pat->len);
	emit_user(L, p, "regex %s on %s is decided in userspace", q, f->name);
	if (a >= 0)
		emit(p, KS_OP_AND);
	return tr;
}

/* One operand of an OR emitted on its own. */
static void or_operand(struct prog *p, uint32_t *emitted)
{
	if (++*emitted > 1)
		emit(p, KS_OP_OR);
}

static struct trig lower_pat(struct lower *L, struct prog *p, struct orset *os,
			     uint32_t *emitted, const struct ks_field_info *f,
			     enum ks_strop op, const struct ks_strpat *pat)
{
	struct trig tr;
	enum ks_strop rop;
	size_t rlen;
	char *r, q[80];

	if (op == KS_SO_REGEX || op == KS_SO_EQLRE) {
		tr = lower_regex(L, p, f, op, pat);
		or_operand(p, emitted);
		return tr;
	}
	if (op == KS_SO_WILDCARD) {
		/* hand-built ASTs may hold reducible wildcards */
		rop = ks_wild_reduce(pat->s, pat->len, &r, &rlen);
	} else {
		rop = op;
		rlen = pat->len;
		r = ks_xmalloc(rlen + 1);
		memcpy(r, pat->s, rlen);
	}
	if (has_ctl(r, rlen)) {
		quote(q, sizeof(q), pat->s, pat->len);
		emit_user(L, p, "%s %s on %s holds a byte the kernel uses as a separator (0x00-0x02); decided in userspace",
			  strop_name(op), q, f->name);
		or_operand(p, emitted);
		tr = trig_none();
	} else if (rop == KS_SO_WILDCARD) {
		tr = lower_wild(L, p, f, r, rlen, pat->ci);
		or_operand(p, emitted);
	} else {
		tr = lower_exact(L, p, os, emitted, f, rop, r, rlen, pat->ci);
	}
	free(r);
	return tr;
}

/* The patterns of a string test, as operands of an enclosing OR. */
static struct trig lower_str_or(struct lower *L, struct prog *p,
				struct orset *os, uint32_t *emitted,
				const struct ks_node *n)
{
	const struct ks_field_info *f = n->field;
	struct trig tr = trig_empty();
	size_t i;

	if (!n->n_pats)
		return trig_empty();	/* "any of nothing": adds nothing */
	if (!f || f->id == KS_F_NONE || !KS_F_IS_STR(f->id)) {
		emit_user(L, p, "%s test on %s is decided in userspace (the kernel does not see its value)",
			  strop_name(n->strop), field_name(f));
		or_operand(p, emitted);
		return trig_none();
	}
	for (i = 0; i < n->n_pats; i++)
		tr = trig_union(tr, lower_pat(L, p, os, emitted, f, n->strop,
					      &n->pats[i]));
	return tr;
}

/*
 * A disjunction: string tests are pooled per (field, case) into one atom
 * each, everything else is an operand of its own. OR is commutative in
 * Kleene logic, so moving the atoms to the end changes no result.
 */
static struct trig lower_node(struct lower *L, struct prog *p,
			      const struct ks_node *n);

static struct trig lower_or(struct lower *L, struct prog *p,
			    const struct ks_node *const *kids, size_t n_kids)
{
	struct trig tr = trig_empty();
	struct orset os;
	uint32_t emitted = 0;
	size_t i;

	memset(&os, 0, sizeof(os));
	for (i = 0; i < n_kids; i++) {
		if (kids[i]->kind == KS_N_STR) {
			tr = trig_union(tr, lower_str_or(L, p, &os, &emitted,
							 kids[i]));
			continue;
		}
		tr = trig_union(tr, lower_node(L, p, kids[i]));
		or_operand(p, &emitted);
	}
	tr = trig_union(tr, orset_flush(L, p, &os, &emitted));
	orset_free(&os);
	if (!emitted)
		emit(p, KS_OP_FALSE);	/* nothing can be true */
	return tr;
}

/* ---- numbers, addresses, null ---- */

/* Numeric and enum fields the kernel reads from struct ks_event. */
static bool kernel_num(const struct ks_field_info *f)
{
	return f && ks_field_is_num(f->id);
}

/*
 * A bit set (capabilities) holds any of the values (EQ, IN) or none of
 * them (NE, NOT IN): one test of the mask, false on null as the others.
 */
static struct trig lower_bitset(struct prog *p, const struct ks_node *n)
{
	uint64_t mask = 0;
	size_t i;

	for (i = 0; i < n->n_nums; i++)
		if (n->nums[i] >= 0 && n->nums[i] < 64)
			mask |= 1ull << n->nums[i];
	emit_field(p, KS_OP_CMP, n->field,
		   n->cmp == KS_CMP_NE ? KS_CMP_NONE : KS_CMP_ANY, (int64_t)mask);
	return trig_none();
}

static struct trig lower_num(struct lower *L, struct prog *p,
			     const struct ks_node *n)
{
	size_t i, n_nums = n->n_nums;

	if (!kernel_num(n->field)) {
		emit_user(L, p, "comparison on %s is decided in userspace",
			  field_name(n->field));
		return trig_none();
	}
	if (!n->n_nums) {
		emit(p, KS_OP_FALSE);
		return trig_empty();
	}
	if (n->field->array)
		return lower_bitset(p, n);
	/* EQ over a list is IN, NE over a list NOT IN; order: nums[0] */
	if (n->cmp != KS_CMP_EQ && n->cmp != KS_CMP_NE)
		n_nums = 1;
	for (i = 0; i < n_nums; i++) {
		emit_field(p, KS_OP_CMP, n->field, n->cmp, n->nums[i]);
		if (i)
			emit(p, n->cmp == KS_CMP_NE ? KS_OP_AND : KS_OP_OR);
	}
	return trig_none();
}

static struct trig lower_ip(struct lower *L, struct prog *p,
			    const struct ks_node *n)
{
	const struct ks_field_info *f = n->field;
	struct ks_insn *in;
	size_t i;
	int c;

	if (!f || (f->id != KS_F_SOURCE_IP && f->id != KS_F_DEST_IP)) {
		emit_user(L, p, "address test on %s is decided in userspace",
			  field_name(f));
		return trig_none();
	}
	if (!n->n_nets) {
		emit(p, KS_OP_FALSE);
		return trig_empty();
	}
	for (i = 0; i < n->n_nets; i++) {
		c = cidr_get(L, &n->nets[i]);
		in = emit(p, KS_OP_CIDR);
		in->field = f->id;
		in->arg = c < 0 ? 0 : c;
		in->imm = f->present;
		if (i)
			emit(p, KS_OP_OR);
	}
	return trig_none();
}

static struct trig lower_null(struct lower *L, struct prog *p,
			      const struct ks_node *n)
{
	if (!n->field || n->field->id == KS_F_NONE) {
		emit_user(L, p, "null test on %s is decided in userspace",
			  field_name(n->field));
		return trig_none();
	}
	emit_field(p, KS_OP_PRESENT, n->field, 0, 0);
	emit_not(p);
	return trig_none();
}

static struct trig lower_and(struct lower *L, struct prog *p,
			     const struct ks_node *n)
{
	struct trig tr, kid;
	size_t i;

	if (!n->n_kids) {
		emit(p, KS_OP_TRUE);
		return trig_none();
	}
	tr = lower_node(L, p, n->kids[0]);
	for (i = 1; i < n->n_kids; i++) {
		kid = lower_node(L, p, n->kids[i]);
		emit(p, KS_OP_AND);
		tr = trig_pick(L, tr, kid);
	}
	return tr;
}

/* EQL functions of whole values: no kernel table holds what they need */
static struct trig lower_fn(struct lower *L, struct prog *p,
			    const struct ks_node *n)
{
	char *text = ks_node_format(n);

	emit_user(L, p, "%s %s: decided in userspace", text,
		  n->kind == KS_N_LEN ? "counts characters" :
		  n->kind == KS_N_MOD ? "computes a remainder" :
					"compares two values of the event");
	free(text);
	return trig_none();
}

/* Deliberate twin of ks_interp_node_ctx in interp.c: the same dispatch on
 * the node's kind, which emits table code here and evaluates there (the
 * interpreter is the model the lowered code is checked against). */
static struct trig lower_node(struct lower *L, struct prog *p,
			      const struct ks_node *n)
{
	struct trig tr;

	switch (n->kind) {
	case KS_N_AND:
		return lower_and(L, p, n);
	case KS_N_OR:
		return lower_or(L, p, (const struct ks_node *const *)n->kids,
				n->n_kids);
	case KS_N_NOT:
		if (n->n_kids != 1)
			break;
		tr = lower_node(L, p, n->kids[0]);
		trig_free(&tr);
		emit_not(p);
		return trig_none();
	case KS_N_BOOL:
		emit(p, n->num ? KS_OP_TRUE : KS_OP_FALSE);
		/* a step that cannot be true needs no index entry at all */
		return n->num ? trig_none() : trig_empty();
	case KS_N_STR:
		return lower_or(L, p, &n, 1);
	case KS_N_NUM:
		return lower_num(L, p, n);
	case KS_N_IP:
		return lower_ip(L, p, n);
	case KS_N_NULL:
		return lower_null(L, p, n);
	case KS_N_FIELDS:
	case KS_N_LEN:
	case KS_N_MOD:
		return lower_fn(L, p, n);
	}
	emit_user(L, p, "an unsupported condition is decided in userspace");
	return trig_none();
}

/* ---- step programs ---- */

static uint32_t stack_depth(const struct prog *p)
{
	uint32_t i, sp = 0, max = 0;

	for (i = 0; i < p->n; i++) {
		switch (p->v[i].op) {
		case KS_OP_AND:
		case KS_OP_OR:
			sp--;
			break;
		case KS_OP_NOT:
			break;
		default:
			if (++sp > max)
				max = sp;
		}
	}
	return max;
}

static bool prog_exact(const struct prog *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].op == KS_OP_USER)
			return false;
	return true;
}

/* Append a step program to the table; -1 on a limit. */
static int place_prog(struct lower *L, struct prog *p, struct ks_loc loc,
		      uint32_t *first)
{
	struct ks_tables *t = L->t;
	uint32_t depth = stack_depth(p);

	if (p->n > KS_MAX_PROG_LEN) {
		lower_error(L, loc, "step program has %u instructions, limit KS_MAX_PROG_LEN is %u",
		       p->n, KS_MAX_PROG_LEN);
		return -1;
	}
	if (depth > KS_MAX_STACK) {
		lower_error(L, loc, "step program needs a stack of %u, limit KS_MAX_STACK is %u",
		       depth, KS_MAX_STACK);
		return -1;
	}
	if (t->hdr.n_insns + p->n > KS_MAX_INSNS) {
		lower_error(L, loc, "rules need more than %u program instructions, limit KS_MAX_INSNS is %u",
		       KS_MAX_INSNS, KS_MAX_INSNS);
		return -1;
	}
	*first = t->hdr.n_insns;
	while (L->cap_notes < t->hdr.n_insns + p->n)
		ks_grow(&L->notes, &L->cap_notes, L->cap_notes, sizeof(*L->notes));
	memcpy(&t->insns[*first], p->v, p->n * sizeof(*p->v));
	memcpy(&L->notes[*first], p->note, p->n * sizeof(*p->note));
	memset(p->note, 0, p->n * sizeof(*p->note));	/* moved */
	t->hdr.n_insns += p->n;
	return 0;
}

int lower_step_prog(struct lower *L, const struct ks_step_ast *s,
			   struct step_out *o)
{
	struct prog p = { 0 };
	struct trig exc;
	int ret;

	L->loc = s->loc;
	if (s->cond) {
		o->trig = lower_node(L, &p, s->cond);
	} else {
		emit(&p, KS_OP_TRUE);
		o->trig = trig_none();
	}
	if (s->exc) {
		/* cond and not (exc1 or ...): the trigger set stays cond's,
		 * an exception only ever removes events */
		L->in_exc = true;
		exc = lower_node(L, &p, s->exc);
		L->in_exc = false;
		trig_free(&exc);
		emit_not(&p);
		emit(&p, KS_OP_AND);
	}
	o->exact = prog_exact(&p);
	o->len = p.n;
	ret = place_prog(L, &p, s->loc, &o->prog);
	prog_free(&p);
	return ret;
}
