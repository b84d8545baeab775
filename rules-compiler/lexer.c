// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * EQL lexer. Strings are "..." with \" \\ \n \t \r escapes; \* and \?
 * keep a literal star or question mark inside wildcard patterns (':' and
 * like), which is recorded in token.lit. Comments are // to end of line
 * and C-style block comments.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "lexer.h"

struct lexer {
	const char *t;
	size_t len, pos;
	struct ks_tokens *out;
};

static struct ks_token *push(struct lexer *lx, enum ks_tok_kind kind,
			     size_t off)
{
	struct ks_tokens *o = lx->out;
	struct ks_token *tk;

	ks_grow(&o->v, &o->cap, o->n, sizeof(*o->v));
	tk = &o->v[o->n++];
	memset(tk, 0, sizeof(*tk));
	tk->kind = kind;
	tk->off = off;
	tk->end = lx->pos;
	tk->err_off = off;
	return tk;
}

static void lex_error(struct lexer *lx, size_t off, const char *msg)
{
	struct ks_token *tk = push(lx, KS_TOK_ERROR, off);

	tk->s = ks_xstrdup(msg);
	tk->len = strlen(msg);
}

static int peek(const struct lexer *lx, size_t ahead)
{
	size_t i = lx->pos + ahead;

	return i < lx->len ? (unsigned char)lx->t[i] : -1;
}

/* Skip blanks and comments; false after an unterminated comment. */
static bool skip_space(struct lexer *lx)
{
	const char *e;

	for (;;) {
		int c = peek(lx, 0);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f' || c == '\v') {
			lx->pos++;
		} else if (c == '/' && peek(lx, 1) == '/') {
			e = memchr(lx->t + lx->pos, '\n', lx->len - lx->pos);
			lx->pos = e ? (size_t)(e - lx->t) : lx->len;
		} else if (c == '/' && peek(lx, 1) == '*') {
			e = memmem(lx->t + lx->pos + 2, lx->len - lx->pos - 2,
				   "*/", 2);
			if (!e) {
				lex_error(lx, lx->pos, "unterminated comment");
				return false;
			}
			lx->pos = e - lx->t + 2;
		} else {
			return true;
		}
	}
}

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_' || c == '@';
}

static bool is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '@';
}

static void lex_ident(struct lexer *lx)
{
	size_t off = lx->pos;
	struct ks_token *tk;

	while (lx->pos < lx->len && is_ident_char(peek(lx, 0)))
		lx->pos++;
	/* "in~", "like~", "startsWith~": the case-insensitive forms */
	if (peek(lx, 0) == '~')
		lx->pos++;
	tk = push(lx, KS_TOK_IDENT, off);
	tk->len = lx->pos - off;
	tk->s = ks_xmalloc(tk->len + 1);
	memcpy(tk->s, lx->t + off, tk->len);
}

static void lex_quoted_ident(struct lexer *lx)
{
	size_t off = lx->pos;
	const char *e;
	struct ks_token *tk;

	e = memchr(lx->t + off + 1, '`', lx->len - off - 1);
	if (!e || memchr(lx->t + off + 1, '\n', e - lx->t - off - 1)) {
		lex_error(lx, off, "unterminated `field name`");
		return;
	}
	lx->pos = e - lx->t + 1;
	tk = push(lx, KS_TOK_IDENT, off);
	tk->quoted = true;
	tk->len = e - lx->t - off - 1;
	tk->s = ks_xmalloc(tk->len + 1);
	memcpy(tk->s, lx->t + off + 1, tk->len);
}

/*
 * "?name" (or "?`name`"): Elastic's optional field, which reads as null
 * when the schema does not know it. The token spans the '?'.
 */
static void lex_optional(struct lexer *lx)
{
	size_t off = lx->pos++;
	struct ks_token *tk;

	if (peek(lx, 0) == '`')
		lex_quoted_ident(lx);
	else
		lex_ident(lx);
	tk = &lx->out->v[lx->out->n - 1];
	if (tk->kind != KS_TOK_IDENT)
		return;
	tk->off = off;
	tk->optional = true;
}

static void lex_number(struct lexer *lx)
{
	size_t off = lx->pos;
	struct ks_token *tk;
	char buf[32];
	long long v;

	if (peek(lx, 0) == '-')
		lx->pos++;
	while (isdigit(peek(lx, 0)))
		lx->pos++;
	if (peek(lx, 0) == '.' && isdigit(peek(lx, 1))) {
		lex_error(lx, off, "floating-point numbers are not supported");
		return;
	}
	if (lx->pos - off >= sizeof(buf)) {
		lex_error(lx, off, "number out of range");
		return;
	}
	memcpy(buf, lx->t + off, lx->pos - off);
	buf[lx->pos - off] = 0;
	errno = 0;
	v = strtoll(buf, NULL, 10);
	if (errno) {
		lex_error(lx, off, "number out of range");
		return;
	}
	tk = push(lx, KS_TOK_NUMBER, off);
	tk->num = v;
}

/* Bytes up to the closing quote (or the end of the line or query): a
 * string's unescaped length is at most this, so its buffers are sized by
 * the string, never by the rest of the query. */
static size_t string_extent(const struct lexer *lx)
{
	size_t i;

	for (i = lx->pos + 1; i < lx->len; i++) {
		if (lx->t[i] == '"' || lx->t[i] == '\n')
			break;
		if (lx->t[i] == '\\' && i + 1 < lx->len && lx->t[i + 1] != '\n')
			i++;
	}
	return i - lx->pos;
}

/*
 * """raw""": Elastic's raw string, the bytes as written (escapes are not
 * processed, so a regex's backslashes need no doubling); it may span
 * lines and ends at the first """ after the opening one.
 */
static void lex_raw_string(struct lexer *lx)
{
	size_t off = lx->pos, n;
	const char *e = memmem(lx->t + off + 3, lx->len - off - 3, "\"\"\"", 3);
	struct ks_token *tk;

	if (!e) {
		lex_error(lx, off, "unterminated \"\"\"raw string\"\"\"");
		return;
	}
	n = e - lx->t - off - 3;
	lx->pos = e - lx->t + 3;
	tk = push(lx, KS_TOK_STRING, off);
	tk->s = ks_xmalloc(n + 1);
	tk->lit = ks_xmalloc(n + 1);
	memcpy(tk->s, lx->t + off + 3, n);
	tk->len = n;
}

static void lex_string(struct lexer *lx)
{
	size_t off = lx->pos, n = 0, max = string_extent(lx);
	char *s = ks_xmalloc(max + 1);
	unsigned char *lit = ks_xmalloc(max + 1);
	struct ks_token *tk;
	char msg[64];
	int c;

	lx->pos++;
	for (;;) {
		c = peek(lx, 0);
		if (c < 0 || c == '\n')
			goto unterminated;
		lx->pos++;
		if (c == '"')
			break;
		if (c != '\\') {
			s[n++] = c;
			continue;
		}
		c = peek(lx, 0);
		switch (c) {
		case '"': case '\\': s[n++] = c; break;
		case 'n': s[n++] = '\n'; break;
		case 't': s[n++] = '\t'; break;
		case 'r': s[n++] = '\r'; break;
		case '*': case '?': lit[n] = 1; s[n++] = c; break;
		case -1: case '\n':
			goto unterminated;
		default:
			snprintf(msg, sizeof(msg),
				 "unknown escape sequence \\%c in string", c);
			free(s);
			free(lit);
			lex_error(lx, lx->pos - 1, msg);
			return;
		}
		lx->pos++;
	}
	tk = push(lx, KS_TOK_STRING, off);
	tk->s = s;
	tk->lit = lit;
	tk->len = n;
	return;
unterminated:
	free(s);
	free(lit);
	lex_error(lx, off, "unterminated string");
}

struct punct {
	const char *s;
	enum ks_tok_kind kind;
};

static const struct punct puncts[] = {
	{ "==", KS_TOK_EQ }, { "!=", KS_TOK_NE }, { "<=", KS_TOK_LE },
	{ ">=", KS_TOK_GE }, { "<", KS_TOK_LT }, { ">", KS_TOK_GT },
	{ ":", KS_TOK_COLON }, { "=", KS_TOK_ASSIGN }, { "(", KS_TOK_LPAREN },
	{ ")", KS_TOK_RPAREN }, { "[", KS_TOK_LBRACK }, { "]", KS_TOK_RBRACK },
	{ ",", KS_TOK_COMMA },
};

static bool lex_punct(struct lexer *lx)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(puncts); i++) {
		n = strlen(puncts[i].s);
		if (lx->len - lx->pos >= n &&
		    !memcmp(lx->t + lx->pos, puncts[i].s, n)) {
			lx->pos += n;
			push(lx, puncts[i].kind, lx->pos - n);
			return true;
		}
	}
	return false;
}

static bool lex_one(struct lexer *lx)
{
	int c = peek(lx, 0);
	char msg[64];

	if (is_ident_start(c))
		lex_ident(lx);
	else if (isdigit(c) || (c == '-' && isdigit(peek(lx, 1))))
		lex_number(lx);
	else if (c == '"' && peek(lx, 1) == '"' && peek(lx, 2) == '"')
		lex_raw_string(lx);
	else if (c == '"')
		lex_string(lx);
	else if (c == '`')
		lex_quoted_ident(lx);
	else if (c == '?' && (is_ident_start(peek(lx, 1)) || peek(lx, 1) == '`'))
		lex_optional(lx);
	else if (c == '\'')
		lex_error(lx, lx->pos, "strings are written in double quotes");
	else if (c == '|')
		lex_error(lx, lx->pos, "pipes (| head, | tail, | unique, "
			  "| filter, ...) are not supported");
	else if (!lex_punct(lx)) {
		if (isprint(c))
			snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
		else
			snprintf(msg, sizeof(msg),
				 "unexpected character 0x%02x", c);
		lex_error(lx, lx->pos, msg);
	}
	return lx->out->v[lx->out->n - 1].kind != KS_TOK_ERROR;
}

void ks_lex(const char *text, size_t len, struct ks_tokens *out)
{
	struct lexer lx = { .t = text, .len = len, .out = out };

	for (;;) {
		if (!skip_space(&lx))
			return;
		if (lx.pos >= lx.len)
			break;
		if (!lex_one(&lx))
			return;
	}
	push(&lx, KS_TOK_EOF, lx.pos);
}

void ks_tokens_free(struct ks_tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].s);
		free(t->v[i].lit);
	}
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

const char *ks_tok_kind_name(enum ks_tok_kind k)
{
	static const char *const names[] = {
		[KS_TOK_EOF] = "end of query",
		[KS_TOK_IDENT] = "identifier",
		[KS_TOK_STRING] = "string",
		[KS_TOK_NUMBER] = "number",
		[KS_TOK_LPAREN] = "\"(\"",
		[KS_TOK_RPAREN] = "\")\"",
		[KS_TOK_LBRACK] = "\"[\"",
		[KS_TOK_RBRACK] = "\"]\"",
		[KS_TOK_COMMA] = "\",\"",
		[KS_TOK_EQ] = "\"==\"",
		[KS_TOK_NE] = "\"!=\"",
		[KS_TOK_LT] = "\"<\"",
		[KS_TOK_LE] = "\"<=\"",
		[KS_TOK_GT] = "\">\"",
		[KS_TOK_GE] = "\">=\"",
		[KS_TOK_COLON] = "\":\"",
		[KS_TOK_ASSIGN] = "\"=\"",
		[KS_TOK_ERROR] = "error",
	};

	return names[k];
}
