// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Diagnostics: FILE:LINE:COL: error: MESSAGE, then the offending source
 * line and a caret under the column when the source text is known.
 * Diagnostics are kept in the order they were added, which is the order
 * the (sorted) inputs were read: output is deterministic. Also here: the
 * allocation helpers (abort on OOM) and bytes escaped for messages.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "source.h"

void ks_oom(void)
{
	fputs("kestrel: out of memory\n", stderr);
	abort();
}

void *ks_xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		ks_oom();
	return p;
}

#define KS_HUGE	(2u << 20)

void ks_hugepages(void *p, size_t len, size_t cap)
{
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095, end = (uintptr_t)p + cap;
	uintptr_t hi = ((uintptr_t)p + len + KS_HUGE - 1) & ~(uintptr_t)(KS_HUGE - 1);

	if (hi > end)	/* past the end of the block: not ours to advise */
		hi = end & ~(uintptr_t)4095;
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);	/* advice: errors change nothing */
}

void *ks_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		ks_oom();
	return p;
}

char *ks_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(ks_xmalloc(n), s, n);
}

void ks_grow(void *vp, size_t *cap, size_t n, size_t sz)
{
	void **v = vp;

	if (n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 8;
	*v = ks_xrealloc(*v, *cap * sz);
}

char *ks_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		ks_oom();
	va_end(ap);
	return s;
}

int ks_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void ks_diag_vadd(struct ks_diags *d, enum ks_diag_level lvl,
		  struct ks_loc loc, const char *fmt, va_list ap)
{
	struct ks_diag *e;

	ks_grow(&d->v, &d->cap, d->n, sizeof(*d->v));
	e = &d->v[d->n++];
	e->level = lvl;
	d->n_errors += lvl == KS_DIAG_ERROR;
	e->loc = loc;
	if (vasprintf(&e->msg, fmt, ap) < 0)
		ks_oom();
}

void ks_diag_add(struct ks_diags *d, enum ks_diag_level lvl, struct ks_loc loc,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ks_diag_vadd(d, lvl, loc, fmt, ap);
	va_end(ap);
}

/* Counted as they are added: callers ask after every file and rule. */
size_t ks_diags_errors(const struct ks_diags *d)
{
	return d->n_errors;
}

const struct ks_src *ks_src_find(const struct ks_src_list *l, const char *file)
{
	const struct ks_src *s;

	if (!l || !file)
		return NULL;
	for (s = l->head; s; s = s->next)
		if (s->file == file || !strcmp(s->file, file))
			return s;
	return NULL;
}

/*
 * Print source line `line` and a caret under byte column `col`. Tabs are
 * copied into the caret line so the caret lines up in any tab width. A
 * long line is cut to a window around the column (marked "..."), so one
 * diagnostic never prints a megabyte of rule file.
 */
#define SRC_WINDOW	120

static void print_source_line(const struct ks_src *src, int line, int col,
			      FILE *out)
{
	const char *p, *end = src->text + src->len, *eol, *from, *to;
	int i;

	if (line < 1 || (size_t)line > src->n_lines)
		return;
	p = src->text + ks_src_line_start(src, line - 1);
	if (p >= end)
		return;
	eol = memchr(p, '\n', end - p);
	if (!eol)
		eol = end;
	if (eol > p && eol[-1] == '\r')
		eol--;
	from = p;
	if (col > SRC_WINDOW / 2 && eol - p > SRC_WINDOW)
		from = p + col - 1 - SRC_WINDOW / 2;
	if (from > eol)
		from = eol;
	to = eol - from > SRC_WINDOW ? from + SRC_WINDOW : eol;
	fprintf(out, "%s%.*s%s\n", from > p ? "..." : "", (int)(to - from), from,
		to < eol ? "..." : "");
	if (from > p)
		fputs("   ", out);
	for (i = from - p + 1; i < col && p + i - 1 < to; i++)
		fputc(p[i - 1] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}

static const char *level_name(enum ks_diag_level lvl)
{
	switch (lvl) {
	case KS_DIAG_ERROR:
		return "error";
	case KS_DIAG_WARNING:
		return "warning";
	default:
		return "note";
	}
}

void ks_diags_print(const struct ks_diags *d, FILE *out)
{
	const struct ks_diag *e;
	const struct ks_src *src;
	size_t i;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		fprintf(out, "%s:%d:%d: %s: %s\n",
			e->loc.file ? e->loc.file : "<unknown>",
			e->loc.line, e->loc.col, level_name(e->level), e->msg);
		src = ks_src_find(d->src, e->loc.file);
		if (src && e->loc.line > 0)
			print_source_line(src, e->loc.line, e->loc.col, out);
	}
}

void ks_diags_free(struct ks_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->n = d->cap = d->n_errors = 0;
}

int ks_escape_bytes(char *buf, size_t size, const uint8_t *s, size_t len)
{
	size_t i, n = 0, k;
	bool full = false;
	char tmp[8];

	if (size)
		buf[0] = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			snprintf(tmp, sizeof(tmp), "\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			snprintf(tmp, sizeof(tmp), "%c", s[i]);
		else
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
		k = strlen(tmp);
		/* never split an escape: stop at the first that does not fit */
		if (!full && n + k < size)
			memcpy(buf + n, tmp, k + 1);
		else
			full = true;
		n += k;
	}
	return (int)n;
}
