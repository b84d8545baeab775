// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a TOML document through the reader (rules-compiler/
 * toml.c), then as an Elastic rule file through the importer (elastic.c),
 * the EQL parser and everything fuzz_common.h checks on what loads. Any
 * crash, leak, sanitizer report or broken promise is a bug: a rule file is
 * untrusted input. The reader's promises: exactly one error when it
 * fails, every position inside the text; every key found again by
 * ks_toml_get (when it holds no NUL); strings NUL-terminated, with
 * segments in order inside them.
 */
#include <kestrel/toml.h>

#include "fuzz_common.h"

static int lines;	/* of the input, for position checks */

static void check_loc(struct ks_loc l)
{
	if (l.line < 1 || l.line > lines || l.col < 1)
		abort();
}

static void check(const struct ks_toml *t, unsigned int depth)
{
	size_t i;

	if (depth > KS_TOML_MAX_DEPTH + 1)
		abort();
	check_loc(t->loc);
	check_loc(t->key_loc);
	if (t->type == KS_TOML_STRING) {
		if (t->str[t->len] || !t->n_segs)
			abort();
		for (i = 0; i < t->n_segs; i++)
			if (t->segs[i].off > t->len ||
			    (i && t->segs[i].off <= t->segs[i - 1].off))
				abort();
		check_loc(ks_toml_str_loc(t, 0));
	}
	for (i = 0; i < t->n; i++) {
		if (t->type == KS_TOML_TABLE && strlen(t->v[i]->key) == t->v[i]->key_len &&
		    ks_toml_get(t, t->v[i]->key) != t->v[i])
			abort();
		if (t->type == KS_TOML_ARRAY && t->v[i]->key)
			abort();
		check(t->v[i], depth + 1);
	}
}

/* The importer fails exactly when it says so; what it loads goes
 * through everything fuzz_common.h checks. */
static void import(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = fz_text(data, size);

	if ((ks_ruleset_load_string(rs, text, "fuzz.toml") == 0) !=
	    (ks_diags_errors(&rs->diags) == 0))
		abort();
	fz_rules(rs, data, size);
	free(text);
	ks_ruleset_free(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_diags d = { 0 };
	struct ks_toml *t;
	size_t i;

	lines = 1;
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	t = ks_toml_parse((const char *)data, size, "fuzz.toml", &d);
	if (t)
		check(t, 0);
	if (!t != (ks_diags_errors(&d) == 1))
		abort();
	for (i = 0; i < d.n; i++)
		check_loc(d.v[i].loc);
	ks_toml_free(t);
	ks_diags_free(&d);
	import(data, size);
	return 0;
}
