// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: one EQL query (kload compile -e), parsed, printed
 * back, compiled, and the tables checked against the interpreter
 * (fuzz_common.h). Any crash, leak or sanitizer report is a bug: a rule
 * file is untrusted input.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = fz_text(data, size);

	if (ks_ruleset_add_query(rs, text, "fuzz") == 0)
		fz_rules(rs, data, size);
	free(text);
	ks_ruleset_free(rs);
	return 0;
}
