// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_dfa's pattern sets: random literals, a user's --patterns-file, and
 * the rules that carry them to the production compiler.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench_common.h"
#include "dfa_sets.h"

static const char pat_alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789._/:=-";

static void litset_add(struct litset *ls, const uint8_t *p, uint32_t len)
{
	ls->v = realloc(ls->v, (ls->n + 1) * sizeof(*ls->v));
	ls->len = realloc(ls->len, (ls->n + 1) * sizeof(*ls->len));
	ls->v[ls->n] = malloc(len + 1);
	memcpy(ls->v[ls->n], p, len);
	ls->v[ls->n][len] = 0;
	ls->len[ls->n++] = len;
}

void litset_free(struct litset *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->v[i]);
	free(ls->v);
	free(ls->len);
	memset(ls, 0, sizeof(*ls));
}

void gen_literals(struct litset *ls, size_t n, uint64_t seed)
{
	struct kb_rng r;
	uint8_t buf[16];
	size_t i, j, k;

	kb_rng_seed(&r, seed * 1000003 + n);
	for (i = 0; i < n; i++) {
		size_t len;
again:
		len = kb_rng_range(&r, 4, 16);
		for (j = 0; j < len; j++)
			buf[j] = pat_alpha[kb_rng_next(&r) % (sizeof(pat_alpha) - 1)];
		for (k = 0; k < i; k++)
			if (ls->len[k] == len && !memcmp(ls->v[k], buf, len))
				goto again;
		litset_add(ls, buf, len);
	}
}

/*
 * --patterns-file: one literal a line, \xHH for any byte and \\ for a
 * backslash; empty lines and lines starting with '#' are skipped, and so
 * are repeats (case-folded: every set is matched caseless).
 */
int read_patterns(const char *path, struct litset *ls)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	uint8_t buf[4096];
	size_t i, k;
	uint32_t n;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0, n = 0; line[i] && line[i] != '\n'; i++) {
			unsigned int x;

			if (line[i] == '\\' && line[i + 1] == 'x' &&
			    sscanf(line + i + 2, "%2x", &x) == 1 && isxdigit(line[i + 3])) {
				buf[n++] = x;
				i += 3;
			} else if (line[i] == '\\' && line[i + 1] == '\\') {
				buf[n++] = '\\';
				i++;
			} else {
				buf[n++] = line[i];
			}
		}
		if (!n || line[0] == '#')
			continue;
		for (k = 0; k < ls->n; k++)
			if (ls->len[k] == n && !strncasecmp((char *)ls->v[k], (char *)buf, n))
				break;
		if (k == ls->n)
			litset_add(ls, buf, n);
	}
	fclose(f);
	return 0;
}

/* A literal the EQL string syntax and a `:` pattern can carry as is. */
static bool eql_ok(const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '*' || p[i] == '?')
			return false;
	return true;
}

static void eql_lit(struct kb_buf *b, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	kb_buf_printf(b, "\"*");
	for (i = 0; i < len; i++)
		kb_buf_printf(b, "%s%c", p[i] == '"' || p[i] == '\\' ? "\\" : "", p[i]);
	kb_buf_printf(b, "*\"");
}

/*
 * Rules for the production compiler: `payload : "*LIT*"`, several literals
 * a rule above 1,000 (KS_MAX_RULES is 2048). Literals EQL cannot carry
 * (control or non-ASCII bytes, wildcards) are left out: *skipped counts them.
 */
char *gen_yaml(const struct litset *ls, size_t *skipped)
{
	size_t n = ls->n, per = (n + 999) / 1000, i, j, r = 0, in;
	struct kb_buf b = {};

	*skipped = 0;
	for (i = 0; i < n; i += per) {
		for (j = i, in = 0; j < i + per && j < n; j++)
			in += eql_ok(ls->v[j], ls->len[j]);
		*skipped += (j - i) - in;
		if (!in)
			continue;
		kb_buf_printf(&b, "- rule: dfa_%zu\n  name: payload literal %zu\n  query: |\n"
			      "    network where event.action == \"packet\" and payload : (", r, r);
		for (j = i, in = 0; j < i + per && j < n; j++) {
			if (!eql_ok(ls->v[j], ls->len[j]))
				continue;
			kb_buf_printf(&b, "%s", in++ ? ", " : "");
			eql_lit(&b, ls->v[j], ls->len[j]);
		}
		kb_buf_printf(&b, ")\n");
		r++;
	}
	return b.s ? b.s : strdup("");
}
