// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * EQL parser: recursive descent over the token vector of lexer.c,
 * producing the AST of include/kestrel/rules.h. This file holds the
 * grammar (queries, sequences, boolean structure) and the error helpers;
 * compare.c types comparisons and functions against the field catalogue.
 *
 * Errors: a syntax error ends the query (nothing sensible follows); a
 * semantic error (unknown field, type mismatch, bad value) is reported and
 * parsing goes on with a placeholder, so one run shows them all.
 *
 * Null semantics (Elastic EQL, two-valued here): every comparison with a
 * null field is false, the negated ones included (`!=`, `not in`), which
 * is why `f != "x"` is lowered as `f != null and not f == "x"`. Only an
 * explicit `not` inverts a false comparison into true. `f == null` is the
 * only way to ask for a missing value.
 *
 * String operators (Elastic EQL): `==`, `!=`, `in` are exact and case-
 * sensitive; `in~` is exact and case-insensitive; `:` is a case-insensitive
 * wildcard match, `like` a case-sensitive one and `like~` insensitive. In
 * wildcard patterns `*` is any run and `?` one byte; write `\*` and `\?`
 * for a literal star and question mark.
 *
 * `field regex "p"` and regex~ are Elastic's: p matches the whole value
 * (match.c says which dialect, with PCRE2), decided in userspace. Kestrel
 * adds the function regex(field, "ERE") and regex~: a POSIX extended
 * regular expression found anywhere in the value (case-insensitive with
 * ~), decided in userspace. Imported Sigma |re conditions print as it.
 *
 * startsWith/endsWith/stringContains(field, field) test one value of the
 * event by another, and length(field) OP number counts characters
 * (UTF-16 units, as Elastic): both decided in userspace (interp.c says
 * how a value the event holds only in part decides them).
 *
 * Optional fields (?name, Elastic's): a field the schema knows is that
 * field; an unknown one is null, so its comparisons fold to constants.
 * In a `by` list ?name marks a join key that may be null (join_opt).
 *
 * `sample by` (Elastic's samples): two to five filters in brackets, each
 * matched by one event, in any order; all of them share the values of
 * the join keys (`sample by` fields and per-filter `by` fields, at least
 * one in all). Elastic's samples take no `with maxspan`, `with runs` or
 * `until`: each is an error. The window a live sample needs is the
 * lowering's (lower.c).
 *
 * Not supported, rejected by name: descendant of, child of, pipes.
 *
 * Limits: ( and not nest at most KS_MAX_NESTING deep, a list holds at
 * most KS_MAX_LIST values, and a number must be one the field can hold.
 */
#include <stdlib.h>
#include <string.h>

#include "parser.h"

/* ---- boolean structure ---- */

static struct ks_node *parse_or(struct parser *p);

/*
 * Parentheses and `not` are the only recursion of the grammar (and the
 * AST's depth, which every later pass walks recursively): bounded, so a
 * hostile query is an error, not a stack overflow.
 */
static bool nest_enter(struct parser *p, const struct ks_token *t)
{
	if (++p->depth <= KS_MAX_NESTING)
		return true;
	eql_syn(p, t, "condition nested more than %u levels deep (limit "
		"KS_MAX_NESTING)", KS_MAX_NESTING);
	return false;
}

static struct ks_node *parse_paren(struct parser *p)
{
	struct ks_token *t = cur(p);
	struct ks_node *n;

	if (!nest_enter(p, t))
		return NULL;
	advance(p);
	n = parse_or(p);
	p->depth--;
	if (!n)
		return NULL;
	t = cur(p);
	if (t->kind != KS_TOK_RPAREN)
		return eql_syn(p, t, "expected \")\", got %s", DESC(t));
	advance(p);
	return n;
}

static struct ks_node *parse_primary(struct parser *p)
{
	struct ks_token *t = cur(p);

	if (t->kind == KS_TOK_LPAREN)
		return parse_paren(p);
	if (is_kw(t, "true") || is_kw(t, "false")) {
		advance(p);
		return ks_node_bool(p->rs, eql_tok_loc(p, t), t->s[0] == 't');
	}
	if ((is_kw(t, "descendant") || is_kw(t, "child")) &&
	    is_kw(ahead(p, 1), "of"))
		return eql_syn(p, t, "%s of (a test on the process's ancestry) "
			       "is not supported", t->s);
	if (eql_is_field_tok(t) && ahead(p, 1)->kind == KS_TOK_LPAREN)
		return eql_parse_function(p);
	if (eql_is_field_tok(t))
		return eql_parse_comparison(p);
	return eql_syn(p, t, "expected a condition, got %s", DESC(t));
}

static struct ks_node *parse_not(struct parser *p)
{
	struct ks_token *t = cur(p);
	struct ks_node *n;

	if (!is_kw(t, "not"))
		return parse_primary(p);
	if (!nest_enter(p, t))
		return NULL;
	advance(p);
	n = parse_not(p);
	p->depth--;
	return n ? ks_node_not(p->rs, n) : NULL;
}

/* Deliberate twin of cbin in sigma.c: the same n-ary and/or over EQL's
 * tokens here, over a Sigma condition's characters there. */
static struct ks_node *parse_bin(struct parser *p, const char *kw,
				 enum ks_node_kind kind,
				 struct ks_node *(*sub)(struct parser *))
{
	struct ks_nodevec vec = { 0 };
	struct ks_node *n;
	struct ks_loc loc = eql_tok_loc(p, cur(p));

	for (;;) {
		n = sub(p);
		if (!n) {
			free(vec.v);
			return NULL;
		}
		ks_nodevec_push(&vec, n);
		if (!is_kw(cur(p), kw))
			break;
		advance(p);
	}
	return ks_node_join(p->rs, kind, loc, &vec);
}

static struct ks_node *parse_and(struct parser *p)
{
	return parse_bin(p, "and", KS_N_AND, parse_not);
}

static struct ks_node *parse_or(struct parser *p)
{
	return parse_bin(p, "or", KS_N_OR, parse_and);
}

/* ---- queries ---- */

static bool parse_category(struct parser *p, enum ks_category *cat)
{
	static const char *const names[] = {
		[KS_CAT_ANY] = "any", [KS_CAT_PROCESS] = "process",
		[KS_CAT_FILE] = "file", [KS_CAT_NETWORK] = "network",
	};
	struct ks_token *t = cur(p);
	size_t i;

	if (!eql_is_field_tok(t)) {
		eql_syn(p, t, "expected an event category (process, file, network "
		    "or any), got %s", DESC(t));
		return false;
	}
	advance(p);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(t->s, names[i])) {
			*cat = i;
			goto where;
		}
	}
	eql_serr(p, t, "unknown event category \"%s\" (expected process, file, "
	     "network or any)", t->s);
where:
	t = cur(p);
	if (!is_kw(t, "where")) {
		eql_syn(p, t, "expected \"where\", got %s", DESC(t));
		return false;
	}
	advance(p);
	return true;
}

static bool parse_event(struct parser *p, struct ks_step_ast *s)
{
	s->loc = eql_tok_loc(p, cur(p));
	s->runs = 1;
	if (!parse_category(p, &s->category))
		return false;
	s->cond = parse_or(p);
	if (!s->cond)
		return false;
	/* "where true" is the unconditional step of the API */
	if (s->cond->kind == KS_N_BOOL && s->cond->num)
		s->cond = NULL;
	return true;
}

/*
 * A `by` list into join[*n..]; a field written ?name sets its bit in
 * *opt: Elastic lets an optional key be null (and null then joins null),
 * where an event whose other key is null takes no part in the step.
 */
static bool parse_fields(struct parser *p, const struct ks_field_info **join,
			 size_t *n, uint8_t *opt)
{
	struct ks_token *t = cur(p);
	const struct ks_field_info *f;
	bool over = false;

	if (!eql_is_field_tok(t)) {
		eql_syn(p, t, "expected a field name after \"by\", got %s", DESC(t));
		return false;
	}
	for (;;) {
		t = cur(p);
		if (!eql_is_field_tok(t)) {
			eql_syn(p, t, "expected a field name, got %s", DESC(t));
			return false;
		}
		advance(p);
		f = eql_field_of(p, t);
		if (!f && eql_field_absent(t))
			eql_serr(p, t, "unknown field \"%s\" cannot be a join key "
				 "(optional or not)", t->s);
		if (ks_field_target_alias(f)) {
			eql_serr(p, t, "cannot join on file.target_path: it is a rename's "
				 "file.path, null on other events; join on file.path");
			f = NULL;
		} else if (f && f->array && f->id != KS_F_NONE) {
			eql_serr(p, t, "cannot join on %s: a set of values is no "
				 "join key", f->name);
			f = NULL;
		} else if (f && f->id == KS_F_NONE && !ks_field_host_const(f) &&
			   !f->join) {
			/* neither the kernel nor kload's NFA keys on its value */
			eql_serr(p, t, "cannot join on %s: only fields the kernel "
				 "fills, host.*, agent.id and the strings of one value "
				 "kload reads (user.name, the working directories, "
				 "process.parent.command_line, the leaders' names) "
				 "can be join keys", f->name);
			f = NULL;
		}
		if (*n >= KS_MAX_JOIN) {
			if (!over)
				eql_serr(p, t, "too many join fields (at most %u)",
				     KS_MAX_JOIN);
			over = true;
		} else if (f) {
			*opt |= t->optional ? 1u << *n : 0;
			join[(*n)++] = f;
		}
		if (cur(p)->kind != KS_TOK_COMMA)
			return true;
		advance(p);
	}
}

static bool expect_assign(struct parser *p, const char *what)
{
	struct ks_token *t = cur(p);

	if (t->kind != KS_TOK_ASSIGN) {
		eql_syn(p, t, "expected \"=\" after \"%s\", got %s", what, DESC(t));
		return false;
	}
	advance(p);
	return true;
}

static bool parse_maxspan(struct parser *p, struct ks_query *q)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull },
	};
	struct ks_token *nt, *ut;
	size_t i;

	advance(p);	/* maxspan */
	if (!expect_assign(p, "maxspan"))
		return false;
	nt = cur(p);
	if (nt->kind != KS_TOK_NUMBER) {
		eql_syn(p, nt, "expected a duration after \"maxspan=\", got %s",
		    DESC(nt));
		return false;
	}
	advance(p);
	ut = cur(p);
	if (ut->kind != KS_TOK_IDENT || ut->off != nt->end) {
		eql_serr(p, nt, "maxspan needs a time unit (ms, s, m or h)");
		return true;
	}
	advance(p);
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(ut->s, units[i].u))
			break;
	if (i == ARRAY_SIZE(units))
		eql_serr(p, ut, "unknown time unit \"%s\" (expected ms, s, m or h)",
		     ut->s);
	else if (nt->num <= 0)
		eql_serr(p, nt, "maxspan must be positive");
	else if ((uint64_t)nt->num > UINT64_MAX / units[i].ns)
		eql_serr(p, nt, "maxspan is too large");
	else
		q->maxspan_ns = (uint64_t)nt->num * units[i].ns;
	return true;
}

/* no_runs: where runs is not allowed ("until", "a sample"), NULL: allowed */
static bool parse_runs(struct parser *p, struct ks_step_ast *s, const char *no_runs)
{
	struct ks_token *t = cur(p);

	if (!(t->kind == KS_TOK_IDENT && !strcmp(t->s, "runs"))) {
		eql_syn(p, t, "expected \"runs\" after \"with\", got %s", DESC(t));
		return false;
	}
	advance(p);
	if (!expect_assign(p, "runs"))
		return false;
	t = cur(p);
	if (t->kind != KS_TOK_NUMBER) {
		eql_syn(p, t, "expected a number after \"runs=\", got %s", DESC(t));
		return false;
	}
	advance(p);
	if (no_runs)
		eql_serr(p, t, "runs is not allowed on %s", no_runs);
	else if (t->num < 1 || t->num > 100)
		eql_serr(p, t, "runs must be between 1 and 100, got %lld",
		     (long long)t->num);
	else
		s->runs = t->num;
	return true;
}

/*
 * Step and sequence clauses (by, with) come in any order, each at most
 * once: take keyword kw when it is next and not yet seen.
 */
static bool take_clause(struct parser *p, const char *kw, bool *seen)
{
	if (*seen || !is_kw(cur(p), kw))
		return false;
	advance(p);
	*seen = true;
	return true;
}

static bool parse_step(struct parser *p, struct ks_step_ast *s, const char *no_runs)
{
	struct ks_token *t = cur(p);
	bool by = false, runs = false;

	if (t->kind != KS_TOK_LBRACK) {
		eql_syn(p, t, "expected \"[\" to start a sequence step, got %s",
		    DESC(t));
		return false;
	}
	advance(p);
	if (!parse_event(p, s))
		return false;
	s->loc = eql_tok_loc(p, t);
	t = cur(p);
	if (t->kind != KS_TOK_RBRACK) {
		eql_syn(p, t, "expected \"]\" to close the step, got %s", DESC(t));
		return false;
	}
	advance(p);
	for (;;) {
		if (take_clause(p, "by", &by)) {
			if (!parse_fields(p, s->join, &s->n_join, &s->join_opt))
				return false;
		} else if (take_clause(p, "with", &runs)) {
			if (!parse_runs(p, s, no_runs))
				return false;
		} else {
			return true;
		}
	}
}

/* EQL: every step (and until) has the same number of join keys. */
static void check_joins(struct parser *p, struct ks_query *q)
{
	size_t i, want = q->steps[0].n_join;
	struct ks_step_ast *s;

	for (i = 0; i <= q->n_steps; i++) {
		s = i < q->n_steps ? &q->steps[i] : q->until;
		if (!s)
			break;
		if (s->n_join != want) {
			ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, s->loc,
				    "inconsistent number of join keys: the first "
				    "step has %zu, this one %zu", want, s->n_join);
			p->errors++;
		}
		if (q->n_join + s->n_join > KS_MAX_JOIN) {
			ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, s->loc,
				    "too many join fields (at most %u)",
				    KS_MAX_JOIN);
			p->errors++;
		}
	}
}

/*
 * The bracketed steps of a sequence or the filters of a sample, into
 * q->steps; *events counts them with their runs. no_runs: as parse_step.
 */
static bool parse_steps(struct parser *p, struct ks_query *q, const char *no_runs,
			size_t *events)
{
	struct ks_step_ast *steps = NULL, st;
	size_t n = 0, cap = 0;
	bool ok = true;

	*events = 0;
	do {
		memset(&st, 0, sizeof(st));
		if (!parse_step(p, &st, no_runs)) {
			ok = false;
			break;
		}
		ks_grow(&steps, &cap, n, sizeof(*steps));
		steps[n++] = st;
		*events += st.runs;
	} while (cur(p)->kind == KS_TOK_LBRACK);
	if (ok) {
		q->steps = ks_alloc(p->rs, n * sizeof(*steps));
		memcpy(q->steps, steps, n * sizeof(*steps));
		q->n_steps = n;
	}
	free(steps);
	return ok;
}

static bool parse_sequence(struct parser *p, struct ks_query *q)
{
	struct ks_token *t;
	size_t events;
	bool by = false, span = false;

	advance(p);	/* sequence */
	q->sequence = true;
	for (;;) {
		if (take_clause(p, "by", &by)) {
			if (!parse_fields(p, q->join, &q->n_join, &q->join_opt))
				return false;
		} else if (take_clause(p, "with", &span)) {
			t = cur(p);
			if (!(t->kind == KS_TOK_IDENT && !strcmp(t->s, "maxspan")))
				return eql_syn(p, t, "expected \"maxspan\" after "
					   "\"with\", got %s", DESC(t));
			if (!parse_maxspan(p, q))
				return false;
		} else {
			break;
		}
	}
	if (!parse_steps(p, q, NULL, &events))
		return false;
	if (is_kw(cur(p), "until")) {
		advance(p);
		q->until = ks_alloc(p->rs, sizeof(*q->until));
		if (!parse_step(p, q->until, "until"))
			return false;
	}
	if (events < 2) {
		ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, q->loc,
			    "a sequence needs at least two steps");
		p->errors++;
	}
	check_joins(p, q);
	return true;
}

/*
 * Elastic lets a sample's filters join on different fields (by os in
 * one, by op_sys in another); kload keys a pending sample by one list of
 * fields, so a sample whose filters name different ones is refused
 * rather than joined on something else.
 */
static void check_sample_joins(struct parser *p, const struct ks_query *q)
{
	const struct ks_step_ast *a = &q->steps[0], *b;
	size_t i, j;

	for (i = 1; i < q->n_steps; i++) {
		b = &q->steps[i];
		for (j = 0; j < b->n_join && j < a->n_join; j++) {
			if (a->join[j] == b->join[j])
				continue;
			ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, b->loc,
				    "a sample's filters joining on different fields "
				    "(%s here, %s in the first filter) are not "
				    "supported: join every filter on the same fields",
				    b->join[j]->name, a->join[j]->name);
			p->errors++;
			return;
		}
	}
}

/*
 * sample [by FIELDS] [filter] [by FIELDS] ...: Elastic's documented
 * form. Its filters have no order, so what orders a sequence (maxspan
 * from the first event, runs, until) has no meaning there, and Elastic
 * rejects it: so does Kestrel, by name.
 */
static bool parse_sample(struct parser *p, struct ks_query *q)
{
	size_t errors = p->errors;	/* a join key refused is not a missing one */
	struct ks_token *t;
	size_t events;

	advance(p);	/* sample */
	q->sample = true;
	if (is_kw(cur(p), "by")) {
		advance(p);
		if (!parse_fields(p, q->join, &q->n_join, &q->join_opt))
			return false;
	}
	t = cur(p);
	if (is_kw(t, "with"))
		return eql_syn(p, t, "a sample takes no \"with\" (maxspan): Elastic's "
			       "samples match their filters regardless of time");
	if (!parse_steps(p, q, "a sample's filter (Elastic's samples take no runs)",
			 &events))
		return false;
	t = cur(p);
	if (is_kw(t, "until"))
		return eql_syn(p, t, "a sample takes no \"until\": Elastic's samples "
			       "match their filters regardless of order");
	if (q->n_steps < 2 || q->n_steps > KS_MAX_SAMPLE_FILTERS) {
		ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, q->loc,
			    "a sample needs two to %u filters, this one has %zu",
			    KS_MAX_SAMPLE_FILTERS, q->n_steps);
		p->errors++;
	}
	if (q->n_join + q->steps[0].n_join == 0 && p->errors == errors) {
		ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, q->loc,
			    "a sample needs a join key (sample by FIELD): its "
			    "events share the values of the join keys");
		p->errors++;
	}
	check_joins(p, q);
	check_sample_joins(p, q);
	return true;
}

/* Nothing may follow the query or the condition (`what`). */
static bool expect_end(struct parser *p, const char *what)
{
	struct ks_token *t = cur(p);

	if (t->kind == KS_TOK_EOF)
		return true;
	eql_syn(p, t, "unexpected %s after the end of the %s", DESC(t), what);
	return false;
}

static bool parse_toplevel(struct parser *p, struct ks_query *q)
{
	struct ks_token *t = cur(p);

	q->loc = eql_tok_loc(p, t);
	if (is_kw(t, "sequence")) {
		if (!parse_sequence(p, q))
			return false;
	} else if (is_kw(t, "sample") && (is_kw(ahead(p, 1), "by") ||
					  is_kw(ahead(p, 1), "with") ||
					  ahead(p, 1)->kind == KS_TOK_LBRACK)) {
		if (!parse_sample(p, q))
			return false;
	} else {
		q->steps = ks_alloc(p->rs, sizeof(*q->steps));
		q->n_steps = 1;
		if (!parse_event(p, q->steps))
			return false;
	}
	return expect_end(p, "query");
}

/* A bare condition (an exception): no category, no `where`. */
static bool parse_bare(struct parser *p, struct ks_node **n)
{
	*n = parse_or(p);
	if (!*n)
		return false;
	return expect_end(p, "condition");
}

/* Lex pm's text and run the grammar from `top` (a query or a condition). */
static bool parse_map(struct ks_ruleset *rs, const struct ks_posmap *pm,
		      struct ks_query *q, struct ks_node **n)
{
	struct parser p = { .rs = rs, .pm = pm };
	bool ok;

	ks_lex(pm->text, pm->len, &p.tk);
	ok = q ? parse_toplevel(&p, q) : parse_bare(&p, n);
	if (q) {
		q->host_os = p.host_os;
		q->entry_meta = p.entry_meta;
	}
	if (ok && p.errors)
		ok = false;
	if (!ok && !p.errors) {
		/* a syntax error always reports; this is a safety net */
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_posmap_loc(pm, 0),
			    q ? "invalid query" : "invalid condition");
	}
	ks_tokens_free(&p.tk);
	return ok;
}

struct ks_query *ks_parse_query_map(struct ks_ruleset *rs,
				    const struct ks_posmap *pm)
{
	struct ks_query *q = ks_alloc(rs, sizeof(*q));

	return parse_map(rs, pm, q, NULL) ? q : NULL;
}

struct ks_node *ks_parse_cond_map(struct ks_ruleset *rs,
				  const struct ks_posmap *pm)
{
	struct ks_node *n = NULL;

	return parse_map(rs, pm, NULL, &n) ? n : NULL;
}
