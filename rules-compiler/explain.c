// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `kload compile --explain`: per rule, what the kernel decides and what is
 * left to userspace, then the sizes of the DFA, the tables and the maps.
 * The tables hold atom ids only, so the rules are lowered once more here
 * (deterministic: the same ids) to name atoms and userspace-only tests.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/names.h>

#include "maps/ks_state.h"
#include "ast.h"
#include "lower.h"

#define KS_ENTITY_ENTRIES	65536u	/* default ks_entity LRU size */

/* ---- growable strings for infix rendering ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		fputs("kestrel: out of memory\n", stderr);
		abort();
	}
	return s;
}

static const char *fname(uint8_t id)
{
	const struct ks_field_info *f = ks_field_by_id(id);

	return f ? f->name : "?";
}

static const char *cmp_text(uint8_t c)
{
	static const char *const t[] = { "==", "!=", "<", "<=", ">", ">=",
					 "has any of", "has none of" };

	return c < KS_CMP_N ? t[c] : "?";
}

/* atom#3(process.name exact "\x01sh\x02" | "\x01bash\x02"), lists cut at 4. */
static char *atom_text(const struct ks_lowered *lw, uint32_t a)
{
	const struct ks_atom_desc *d;
	char esc[200], *r, *o;
	uint32_t k;
	size_t need;

	if (a >= lw->n_atoms)
		return fmt("atom#%u(?)", a);
	d = &lw->atoms[a];
	r = fmt("atom#%u(%s %s", a, fname(d->field),
		d->mode == KS_CASE_FOLD ? "folded" : "exact");
	for (k = 0; k < d->n_pats && k < 4; k++) {
		need = ks_escape_bytes(esc, sizeof(esc), d->pats[k].bytes,
				       d->pats[k].len);
		o = r;
		r = fmt("%s%s\"%s%s\"", o, k ? " | " : " ", esc,
			need > strlen(esc) ? "..." : "");
		free(o);
	}
	o = r;
	if (d->n_pats > 4)
		r = fmt("%s | ... %u patterns)", o, d->n_pats);
	else
		r = fmt("%s)", o);
	free(o);
	return r;
}

/* process.thread.capabilities.effective has any of CAP_SETUID|CAP_SETGID */
static char *bitset_text(const struct ks_field_info *f, const struct ks_insn *in)
{
	const struct ks_enum_val *ev;
	char *r = fmt("%s %s ", f->name, cmp_text(in->cmp)), *o;
	size_t n, i, k = 0;

	ev = ks_field_enum(f, &n);
	for (i = 0; i < n; i++) {
		if (ev[i].value < 0 || ev[i].value > 63 || !(in->imm >> ev[i].value & 1))
			continue;
		o = r;
		r = fmt("%s%s%s", o, k++ ? "|" : "", ev[i].name);
		free(o);
	}
	return r;
}

static char *num_text(const struct ks_insn *in)
{
	const struct ks_field_info *f = ks_field_by_id(in->field);
	const struct ks_enum_val *ev;
	size_t n = 0, i;

	if (f && f->array)
		return bitset_text(f, in);
	ev = f ? ks_field_enum(f, &n) : NULL;
	if (ev && in->imm == KS_ENUM_NEVER)	/* several names, none emitted */
		return fmt("%s %s (a value of another source)", fname(in->field),
			   cmp_text(in->cmp));
	for (i = 0; i < n; i++)
		if (ev[i].value == (int64_t)in->imm)
			return fmt("%s %s %s", fname(in->field),
				   cmp_text(in->cmp), ev[i].name);
	return fmt("%s %s %lld", fname(in->field), cmp_text(in->cmp),
		   (long long)in->imm);
}

static char *cidr_text(const struct ks_tables *t, const struct ks_insn *in)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	const struct ks_cidr *c;
	char a[INET6_ADDRSTRLEN];

	if (in->arg >= t->hdr.n_cidrs)
		return fmt("%s in ?", fname(in->field));
	c = &t->cidrs[in->arg];
	if (!memcmp(c->addr, v4, 12) && c->prefix >= 96) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		return fmt("%s in %s/%u", fname(in->field), a, c->prefix - 96);
	}
	inet_ntop(AF_INET6, c->addr, a, sizeof(a));
	return fmt("%s in %s/%u", fname(in->field), a, c->prefix);
}

static char *operand_text(const struct ks_tables *t, const struct ks_lowered *lw,
			  const struct ks_insn *in, unsigned int *n_user)
{
	switch (in->op) {
	case KS_OP_TRUE:
		return fmt("true");
	case KS_OP_FALSE:
		return fmt("false");
	case KS_OP_ATOM:
		return atom_text(lw, in->arg);
	case KS_OP_CMP:
		return num_text(in);
	case KS_OP_CIDR:
		return cidr_text(t, in);
	case KS_OP_PRESENT:
		return fmt("%s != null", fname(in->field));
	case KS_OP_STRLEN:
		return fmt("length(%s) %s %llu", fname(in->field),
			   cmp_text(in->cmp), (unsigned long long)in->imm);
	case KS_OP_USER:
		return fmt("U%u", ++*n_user);
	}
	return fmt("<op %u>", in->op);
}

/* "(x)" without its parentheses when op is the one that built it. */
static const char *inner(const char *s, uint8_t built_by, uint8_t op,
			 int *len)
{
	*len = (int)strlen(s);
	if (built_by != op)
		return s;
	*len -= 2;
	return s + 1;
}

/*
 * Postfix program to infix text, chains of one operator flattened:
 * "(a and b and c)". NULL if the program is malformed.
 */
static char *prog_text(const struct ks_tables *t, const struct ks_lowered *lw,
		       uint32_t first, uint32_t len)
{
	char *st[KS_MAX_STACK], *r = NULL;
	uint8_t by[KS_MAX_STACK];
	unsigned int sp = 0, n_user = 0;
	const struct ks_insn *in;
	const char *a, *b;
	int la, lb;
	uint32_t i;

	for (i = 0; i < len; i++) {
		in = &t->insns[first + i];
		if (in->op == KS_OP_AND || in->op == KS_OP_OR) {
			if (sp < 2)
				goto out;
			a = inner(st[sp - 2], by[sp - 2], in->op, &la);
			b = inner(st[sp - 1], by[sp - 1], in->op, &lb);
			r = fmt("(%.*s %s %.*s)", la, a,
				in->op == KS_OP_AND ? "and" : "or", lb, b);
			free(st[--sp]);
			free(st[sp - 1]);
			st[sp - 1] = r;
			by[sp - 1] = in->op;
		} else if (in->op == KS_OP_NOT) {
			if (!sp)
				goto out;
			r = by[sp - 1] == KS_OP_AND || by[sp - 1] == KS_OP_OR ?
				fmt("not %s", st[sp - 1]) :
				fmt("not (%s)", st[sp - 1]);
			free(st[sp - 1]);
			st[sp - 1] = r;
			by[sp - 1] = KS_OP_NOT;
		} else {
			if (sp == KS_MAX_STACK)
				goto out;
			by[sp] = in->op;
			st[sp++] = operand_text(t, lw, in, &n_user);
		}
	}
	if (sp == 1) {
		a = inner(st[0], by[0], by[0] == KS_OP_AND ? KS_OP_AND : KS_OP_OR,
			  &la);
		r = fmt("%.*s", la, a);
	}
out:
	while (sp)
		free(st[--sp]);
	return r;
}

static void explain_trigger(const struct ks_tables *t, uint32_t s, FILE *out)
{
	uint32_t a, i, v, n = 0;

	for (a = 0; a < t->hdr.n_atoms; a++) {
		v = t->atom_trig[a];	/* first << 16 | count */
		for (i = 0; i < (v & 0xffff); i++)
			if (t->trig_list[(v >> 16) + i] == s)
				fprintf(out, "%s#%u", n++ ? ", " : "      trigger: atoms ", a);
	}
	if (n) {
		fputc('\n', out);
		return;
	}
	v = t->cat_first[t->steps[s].category];
	for (i = 0; i < (v & 0xffff); i++)
		if (t->cat_list[(v >> 16) + i] == s) {
			fprintf(out, "      trigger: every %s event (no string atom is necessary)\n",
				ks_category_name(t->steps[s].category));
			return;
		}
	fprintf(out, "      trigger: never (the condition cannot be true)\n");
}

/*
 * What the value of a join key only userspace reads is, live (a replayed
 * record's is its own, null if it has none): the NFA keys on it as a
 * test of the field reads it.
 */
static const struct {
	const char *name, *what;
} user_joins[] = {
	{ "user.name", "the passwd name of user.id, looked up when kload handles the "
	  "event; null without an entry" },
	{ "process.working_directory", "/proc/PID/cwd read when kload handles the event, "
	  "not at exec: a process may have changed it, and it is null once the process "
	  "has exited (so on every live `end` event)" },
	{ "process.parent.working_directory", "/proc/PPID/cwd read when kload handles the "
	  "event; null once the parent has exited" },
	{ "process.parent.command_line", "/proc/PPID/cmdline read when kload handles the "
	  "event; null once the parent has exited" },
	{ "process.session_leader.name", "the session leader's executable name read from "
	  "/proc when kload handles the event; null once either has exited" },
	{ "process.group_leader.name", "the group leader's executable name read from "
	  "/proc when kload handles the event; null once either has exited" },
};

static void explain_user_join(const struct ks_field_info *f, FILE *out)
{
	size_t i;

	if (ks_field_host_const(f)) {
		fprintf(out, "  join on %s%s: one value for all of a host's events: the "
			"NFA does not key on it, what kload sees is one host's\n", f->name,
			strcmp(f->name, "agent.id") ? "" :
			" (Kestrel's own identity, a random UUID per kload process)");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(user_joins); i++)
		if (!strcmp(f->name, user_joins[i].name))
			fprintf(out, "  join on %s (kload's NFA, alert-only): live, %s; replayed, "
				"the record's value; a null value leaves the event out of "
				"the step (written ?name, it joins another null), as a "
				"kernel field's does\n",
				f->name, user_joins[i].what);
}

/* The rule's join keys only userspace reads, each said once. */
static void explain_user_joins(const struct ks_query *q, const struct ks_tables *t,
			       const struct ks_rule *kr, FILE *out)
{
	const struct ks_field_info *seen[KS_MAX_JOIN * 2], *f;
	uint32_t s, j, n = 0, k, last = kr->first_step + kr->n_steps +
				   !!(kr->flags & KS_R_UNTIL);

	for (s = kr->first_step; s < last && s < t->hdr.n_steps; s++) {
		for (j = 0; j < t->steps[s].n_join && j < KS_MAX_JOIN; j++) {
			f = t->steps[s].join[j] ? NULL : ks_query_join(q, &t->steps[s], j);
			for (k = 0; f && k < n && seen[k] != f; k++)
				;
			if (!f || k < n || n == ARRAY_SIZE(seen))
				continue;
			seen[n++] = f;
			explain_user_join(f, out);
		}
	}
}

static void explain_step(const struct ks_tables *t, const struct ks_query *q,
			 const struct ks_lowered *lw, uint32_t s, FILE *out)
{
	const struct ks_step *st = &t->steps[s];
	const struct ks_field_info *f;
	unsigned int u = 0;
	char *text;
	uint32_t i;

	fprintf(out, "    step %u [%s]%s%s%s%s:\n", st->index + 1,
		ks_category_name(st->category),
		st->flags & KS_S_UNTIL ? " until" : "",
		st->flags & KS_S_LAST ? " completes" : "",
		st->flags & KS_S_EXACT ? " exact" : " partly userspace",
		st->flags & KS_S_RUNNING ? ", already_running events in userspace" : "");
	if (st->n_join) {
		fprintf(out, "      join:");
		for (i = 0; i < st->n_join; i++) {
			/* ?name: may be null (else a null key leaves the event out) */
			f = st->join[i] ? NULL : ks_query_join(q, st, i);
			fprintf(out, " %s%s", st->join_opt & (1u << i) ? "?" : "",
				st->join[i] ? fname(st->join[i]) :
				f ? f->name : "(userspace field)");
		}
		fputc('\n', out);
	}
	text = prog_text(t, lw, st->prog, st->prog_len);
	fprintf(out, "      kernel: %s\n", text ? text : "<malformed program>");
	free(text);
	for (i = 0; i < st->prog_len; i++) {
		if (t->insns[st->prog + i].op != KS_OP_USER)
			continue;
		fprintf(out, "      userspace U%u: %s\n", ++u,
			st->prog + i < lw->n_insns && lw->user_note[st->prog + i] ?
			lw->user_note[st->prog + i] : "?");
	}
	explain_trigger(t, s, out);
}

/* The rule's exceptions: where each comes from and the steps it silences. */
static void explain_exceptions(const struct ks_rule_src *src, FILE *out)
{
	const struct ks_exception *e;
	size_t i;

	for (i = 0; i < src->n_exceptions; i++) {
		e = &src->exceptions[i];
		fprintf(out, "  exception %zu (%s%.0u%s) %s:%d:%d: not (%s)\n", i + 1,
			e->step ? "step " : "every step", e->step,
			e->from_file ? ", exceptions file" : "",
			e->loc.file ? e->loc.file : "?", e->loc.line, e->loc.col, e->text);
	}
}

/*
 * A sample runs in userspace (loader/nfa.c): what it matches, its window
 * (Elastic's samples have none: KS_SAMPLE_WINDOW_NS says why this one)
 * and the bound on what it keeps.
 */
static void explain_sample(const struct ks_rule *kr, FILE *out)
{
	fprintf(out, "  sample of %u filters: one event per filter, in any order, all with "
		"the same join key values\n", kr->n_steps);
	fprintf(out, "  runs in userspace (kload's NFA): window %llu ms (its events lie within "
		"it of each other;\n  Elastic's rule look-back, from = now-9m), one sample per "
		"join key (a completed sample\n  frees its key); bound: at most %u events kept "
		"per key, and the NFA's --nfa-entries and\n  --nfa-memory limits (evictions "
		"counted)\n", (unsigned long long)(kr->maxspan_ns / 1000000),
		kr->n_steps * kr->n_steps);
}

/* What the leaders' entity ids a rule joins on are (maps/ks_event.h). */
static void explain_leaders(const struct ks_tables *t, const struct ks_rule *kr, FILE *out)
{
	uint32_t s, j, last = kr->first_step + kr->n_steps;
	bool sl = false, el = false;

	for (s = kr->first_step; s < last && s < t->hdr.n_steps; s++)
		for (j = 0; j < t->steps[s].n_join && j < KS_MAX_JOIN; j++) {
			sl |= t->steps[s].join[j] == KS_F_SESSION_ENTITY_ID;
			el |= t->steps[s].join[j] == KS_F_ENTRY_ENTITY_ID;
		}
	if (sl)
		fprintf(out, "  process.session_leader.entity_id is the kernel's: the session "
			"leader's own process.entity_id,\n  or its pid alone (\"PID-0\") once "
			"it has gone\n");
	if (el)
		fprintf(out, "  process.entry_leader.entity_id is the kernel's: the session "
			"leader's on the host, the\n  init's of the process's pid namespace in a "
			"container\n");
}

static void explain_rule(const struct ks_ruleset *rs, const struct ks_tables *t,
			 const struct ks_compile_info *info,
			 const struct ks_lowered *lw, uint32_t r, FILE *out)
{
	const struct ks_rule *kr = &t->rules[r];
	const struct ks_rule_src *src = &rs->rules[r];
	uint32_t s, last = kr->first_step + kr->n_steps;

	fprintf(out, "rule %s (uid %08x, action %s)\n", src->id, kr->uid,
		ks_rule_action_name(kr->action));
	if (!src->q) {
		fprintf(out, "  not compiled: the query has errors\n\n");
		return;
	}
	if (kr->flags & KS_R_SAMPLE) {
		explain_sample(kr, out);
	} else {
		fprintf(out, "  %s", kr->flags & KS_R_SEQUENCE ? "sequence" : "event query");
		if (kr->flags & KS_R_SEQUENCE)
			fprintf(out, " of %u steps%s", kr->n_steps,
				kr->flags & KS_R_UNTIL ? " with until" : "");
		if (kr->maxspan_ns)
			fprintf(out, ", maxspan %llu ms",
				(unsigned long long)(kr->maxspan_ns / 1000000));
		fputc('\n', out);
	}
	if (kr->flags & KS_R_EXACT)
		fprintf(out, "  kernel-exact: the kernel decides every step%s\n",
			kr->flags & KS_R_KSTATE ? " and keeps the sequence state" : "");
	else
		fprintf(out, "  not kernel-exact: %s\n  (the kernel filters, userspace decides)\n",
			info && r < info->n_rules ? info->rules[r].why_not_exact : "?");
	if (src->q->host_os)
		fprintf(out, "  host.os.type is \"%s\" on every host Kestrel runs on: "
			"its comparisons were decided when compiling\n", KS_HOST_OS_TYPE);
	if (src->q->entry_meta)
		fprintf(out, "  process.entry_leader.entry_meta.type is tested as the "
			"kernel's kestrel.process.pid_ns: \"container\" is a pid "
			"namespace other than the host's\n");
	if (ks_query_needs_dns(src->q))
		fprintf(out, "  destination.domain is the name the host's DNS answers gave the "
			"address (kload loads\n  the DNS program ks_all_dns for it); null when "
			"no answer named it; alert-only\n");
	explain_user_joins(src->q, t, kr, out);
	explain_leaders(t, kr, out);
	explain_exceptions(src, out);
	for (s = kr->first_step; s < last && s < t->hdr.n_steps; s++)
		explain_step(t, src->q, lw, s, out);
	if (kr->flags & KS_R_UNTIL)
		explain_step(t, src->q, lw, kr->until_step, out);
	fputc('\n', out);
}

static void explain_totals(const struct ks_tables *t, uint32_t n_exact,
			   uint32_t n_patterns, FILE *out)
{
	size_t dfa = (size_t)t->hdr.n_states * t->dfa_hdr.row_bytes;
	size_t ent = sizeof(struct ks_entity_key) + sizeof(struct ks_entity_val);

	fprintf(out, "totals: %u rules (%u kernel-exact), %u steps, %u program insns, %u atoms (%u patterns), %u networks\n",
		t->hdr.n_rules, n_exact, t->hdr.n_steps, t->hdr.n_insns,
		t->hdr.n_atoms, n_patterns, t->hdr.n_cidrs);
	fprintf(out, "DFA: %u states, %u byte classes, %zu bytes (size class %u, %.1f%% used; ceiling %zu), %u accept-list ids, %u trigger-list ids\n",
		t->hdr.n_states, t->hdr.n_classes, dfa, t->dfa_hdr.tab_bytes,
		t->dfa_hdr.tab_bytes ? 100.0 * dfa / t->dfa_hdr.tab_bytes : 0.0, sizeof(t->dfa),
		t->hdr.n_acc_list, t->hdr.n_trig_list);
	fprintf(out, "tables: %zu bytes used (struct ks_tables up to the DFA, and its cells)\n",
		(size_t)KS_TABLES_USED(t));
	fprintf(out, "maps: ks_tables value %zu bytes (`kload attach` default: size class %u); ks_entity LRU %zu x (%zu + %zu) bytes = %zu bytes\n",
		(size_t)KS_TABLES_VALUE_SIZE(ks_dfa_size_auto(t)), ks_dfa_size_auto(t),
		(size_t)KS_ENTITY_ENTRIES,
		sizeof(struct ks_entity_key), sizeof(struct ks_entity_val),
		(size_t)KS_ENTITY_ENTRIES * ent);
}

void ks_explain(const struct ks_ruleset *rs, const struct ks_tables *t,
		const struct ks_compile_info *info, FILE *out)
{
	struct ks_tables *mine = malloc(sizeof(*mine));
	struct ks_compile_info mi;
	struct ks_lowered lw = { 0 };
	uint32_t r, n_exact = 0;

	if (!mine) {
		fprintf(out, "explain: out of memory\n");
		return;
	}
	if (ks_lower(rs, NULL, mine, &mi, &lw)) {
		fprintf(out, "explain: the rules do not compile\n");
		goto out;
	}
	if (t && t->hdr.content_hash != mine->hdr.content_hash)
		fprintf(out, "note: the given tables were not compiled from these rules; explaining a fresh compilation\n\n");
	for (r = 0; r < rs->n_rules; r++) {
		explain_rule(rs, mine, info ? info : &mi, &lw, r, out);
		n_exact += !!(mine->rules[r].flags & KS_R_EXACT);
	}
	for (r = 0; r < rs->n_skipped; r++)
		fprintf(out, "rule %s (%s:%d:%d): not compiled: %s\n", rs->skipped[r].id,
			rs->skipped[r].loc.file ? rs->skipped[r].loc.file : "?",
			rs->skipped[r].loc.line, rs->skipped[r].loc.col, rs->skipped[r].why);
	if (rs->n_skipped)
		fputc('\n', out);
	explain_totals(mine, n_exact, lw.n_patterns, out);
out:
	ks_lowered_free(&lw);
	ks_compile_info_free(&mi);
	free(mine);
}
