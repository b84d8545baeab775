// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The EQL parser's view of its tokens: where a token is (FILE:LINE:COL
 * through the query's position map), errors reported at it, how messages
 * describe it, and whether it is a keyword or a field name (looked up in
 * the catalogue, with a suggestion when unknown).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

struct ks_loc eql_tok_loc(struct parser *p, const struct ks_token *t)
{
	size_t off = t->kind == KS_TOK_ERROR ? t->err_off : t->off;

	/* the end of the query is right after its last token */
	if (t->kind == KS_TOK_EOF && t > p->tk.v) {
		off = t[-1].end;
		return ks_posmap_loc(p->pm, off);
	}
	return ks_posmap_loc(p->pm, off);
}

static void verr(struct parser *p, struct ks_loc l, const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		ks_oom();
	ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, l, "%s", msg);
	free(msg);
	p->errors++;
}

void eql_serr(struct parser *p, const struct ks_token *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(p, eql_tok_loc(p, t), fmt, ap);
	va_end(ap);
}

void *eql_syn(struct parser *p, const struct ks_token *t, const char *fmt, ...)
{
	va_list ap;

	if (t->kind == KS_TOK_ERROR) {
		eql_serr(p, t, "%s", t->s);
		return NULL;
	}
	va_start(ap, fmt);
	verr(p, eql_tok_loc(p, t), fmt, ap);
	va_end(ap);
	return NULL;
}

const char *eql_desc(const struct ks_token *t, char *buf, size_t n)
{
	switch (t->kind) {
	case KS_TOK_IDENT:
		snprintf(buf, n, "\"%s\"", t->s);
		break;
	case KS_TOK_STRING:
		snprintf(buf, n, "string \"%.*s%s\"", t->len > 32 ? 32 : (int)t->len,
			 t->s, t->len > 32 ? "..." : "");
		break;
	case KS_TOK_NUMBER:
		snprintf(buf, n, "number %lld", (long long)t->num);
		break;
	default:
		snprintf(buf, n, "%s", ks_tok_kind_name(t->kind));
	}
	return buf;
}

static const char *const keywords[] = {
	"and", "or", "not", "in", "in~", "like", "like~", "where", "sequence",
	"by", "with", "until", "true", "false", "null",
};

static bool is_keyword(const struct ks_token *t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keywords); i++)
		if (is_kw(t, keywords[i]))
			return true;
	return false;
}

bool eql_is_field_tok(const struct ks_token *t)
{
	return t->kind == KS_TOK_IDENT && !is_keyword(t);
}

bool eql_field_absent(const struct ks_token *t)
{
	return t->optional && !ks_field_lookup(t->s);
}

const struct ks_field_info *eql_field_of(struct parser *p,
					 const struct ks_token *t)
{
	const struct ks_field_info *f = ks_field_lookup(t->s);
	const char *sug;

	if (f || eql_field_absent(t))
		return f;
	sug = ks_field_suggest(t->s);
	if (sug)
		eql_serr(p, t, "unknown field \"%s\" (did you mean \"%s\"?)", t->s, sug);
	else
		eql_serr(p, t, "unknown field \"%s\"", t->s);
	return NULL;
}

struct ks_node *eql_placeholder(struct parser *p, const struct ks_token *t)
{
	return ks_node_bool(p->rs, eql_tok_loc(p, t), false);
}

