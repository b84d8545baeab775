/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * EQL front end: the entry point the rule loaders call, and what its files
 * share. On the token vector of lexer.c: tokens.c (positions, errors,
 * keywords and field names) <- compare.c (comparisons and functions,
 * typed against the field catalogue) <- parser.c (the grammar: queries,
 * sequences, boolean structure).
 */
#ifndef KS_COMP_PARSER_H
#define KS_COMP_PARSER_H

#include "ast.h"
#include "lexer.h"

/* Parse the query pm maps; NULL with diagnostics on error. */
struct ks_query *ks_parse_query_map(struct ks_ruleset *rs,
				    const struct ks_posmap *pm);
/* A bare condition (an exception, "process.name == \"apt\""); NULL with
 * diagnostics on error. */
struct ks_node *ks_parse_cond_map(struct ks_ruleset *rs,
				  const struct ks_posmap *pm);

/* ---- shared by the EQL parser's files ---- */

struct parser {
	struct ks_ruleset *rs;
	const struct ks_posmap *pm;
	struct ks_tokens tk;
	size_t i;
	size_t errors;
	unsigned int depth;	/* of ( and not, at most KS_MAX_NESTING */
	bool host_os;		/* a host.os.type comparison was decided */
	bool entry_meta;	/* entry_meta.type tested as the pid namespace */
};

static inline struct ks_token *cur(struct parser *p)
{
	return &p->tk.v[p->i];
}

static inline struct ks_token *ahead(struct parser *p, size_t k)
{
	return &p->tk.v[p->i + k < p->tk.n ? p->i + k : p->tk.n - 1];
}

static inline struct ks_token *advance(struct parser *p)
{
	struct ks_token *t = cur(p);

	if (t->kind != KS_TOK_EOF && t->kind != KS_TOK_ERROR)
		p->i++;
	return t;
}

static inline bool is_kw(const struct ks_token *t, const char *kw)
{
	return t->kind == KS_TOK_IDENT && !t->quoted && !strcmp(t->s, kw);
}

/* ---- tokens.c ---- */
struct ks_loc eql_tok_loc(struct parser *p, const struct ks_token *t);
/* Semantic error: reported, parsing continues. */
void eql_serr(struct parser *p, const struct ks_token *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Syntax error: reported, the query is abandoned (returns NULL). A lexical
 * error token speaks for itself. */
void *eql_syn(struct parser *p, const struct ks_token *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Describe a token for "expected X, got Y" messages. */
const char *eql_desc(const struct ks_token *t, char *buf, size_t n);
#define DESC(t)	eql_desc((t), (char[64]){ 0 }, 64)
bool eql_is_field_tok(const struct ks_token *t);
/* An optional field (?name) the schema does not know: it reads as null. */
bool eql_field_absent(const struct ks_token *t);
/* Look a field up; unknown fields are reported (with a suggestion), but
 * not an absent optional one (NULL, silently). */
const struct ks_field_info *eql_field_of(struct parser *p,
					 const struct ks_token *t);
/* A false node standing for a condition that had a semantic error. */
struct ks_node *eql_placeholder(struct parser *p, const struct ks_token *t);

/* compare.c: "field op value(s)" and "function(field, args)" */
struct ks_node *eql_parse_comparison(struct parser *p);
struct ks_node *eql_parse_function(struct parser *p);

#endif /* KS_COMP_PARSER_H */
