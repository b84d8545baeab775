/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * EQL lexer: the whole query is cut into tokens up front, so the parser
 * can look ahead freely and every token knows its byte range (mapped to
 * FILE:LINE:COL through the query's position map).
 */
#ifndef KS_LEXER_H
#define KS_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ks_tok_kind {
	KS_TOK_EOF,
	KS_TOK_IDENT,		/* keyword, field or function; may end in '~' */
	KS_TOK_STRING,
	KS_TOK_NUMBER,
	KS_TOK_LPAREN,
	KS_TOK_RPAREN,
	KS_TOK_LBRACK,
	KS_TOK_RBRACK,
	KS_TOK_COMMA,
	KS_TOK_EQ,		/* == */
	KS_TOK_NE,		/* != */
	KS_TOK_LT,
	KS_TOK_LE,
	KS_TOK_GT,
	KS_TOK_GE,
	KS_TOK_COLON,		/* : */
	KS_TOK_ASSIGN,		/* = (with maxspan=, runs=) */
	KS_TOK_ERROR,		/* lexical error: msg says what */
};

struct ks_token {
	enum ks_tok_kind kind;
	size_t off, end;	/* bytes [off, end) of the query text */
	/*
	 * IDENT: the name (backquotes removed), NUL-terminated.
	 * STRING: the unescaped bytes (NUL-terminated, may contain NUL).
	 * ERROR: the message.
	 */
	char *s;
	size_t len;
	/* STRING: lit[i] set when s[i] is '*' or '?' written as \* or \? */
	unsigned char *lit;
	int64_t num;		/* NUMBER */
	bool quoted;		/* IDENT written as `name` */
	bool optional;		/* IDENT written as ?name (an optional field) */
	size_t err_off;		/* ERROR: where it is (may differ from off) */
};

struct ks_tokens {
	struct ks_token *v;
	size_t n, cap;
};

/* Lex all of text; stops after the first KS_TOK_ERROR. Always ends with
 * KS_TOK_EOF or KS_TOK_ERROR. */
void ks_lex(const char *text, size_t len, struct ks_tokens *out);
void ks_tokens_free(struct ks_tokens *t);
const char *ks_tok_kind_name(enum ks_tok_kind k);

#endif /* KS_LEXER_H */
