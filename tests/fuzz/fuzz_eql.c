// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: one EQL query, parsed and, when it parses, printed
 * back and compiled. Any crash, leak or sanitizer report is a bug: a rule
 * file is untrusted input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/rules.h>
#include "maps/ks_tables.h"

static struct ks_tables *tables;	/* 3.4 MiB: allocated once */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = malloc(size + 1);

	if (!rs || !text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	if (!tables && !(tables = malloc(sizeof(*tables))))
		abort();
	if (ks_ruleset_add_query(rs, text, "fuzz") == 0 && !ks_diags_errors(&rs->diags)) {
		struct ks_compile_info info = {};

		ks_compile(rs, tables, &info);
		ks_compile_info_free(&info);
	}
	free(text);
	ks_ruleset_free(rs);
	return 0;
}
