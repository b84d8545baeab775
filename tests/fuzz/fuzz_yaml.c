// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a YAML rule file (a list of EQL rules, or a Sigma
 * rule) as kload reads one: YAML limits, rule entries (enabled:,
 * exceptions:), queries with their positions in the file; after a line
 * "#exceptions", an exceptions file applied to those rules (as
 * --exceptions FILE); then everything fuzz_common.h checks, the tables
 * and the interpreter agreeing on the excepted steps too.
 * Seeds: the shipped rules (rules/), rule files of the tests, and
 * lifecycle_*.yml (exceptions of every form, disabled rules).
 */
#include "fuzz_common.h"

#define EXC_MARK	"\n#exceptions\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = fz_text(data, size), *exc = strstr(text, EXC_MARK);

	if (exc) {
		*exc = 0;
		exc += strlen(EXC_MARK);
	}
	ks_ruleset_load_string(rs, text, "fuzz.yml");
	if (exc)
		ks_ruleset_load_exceptions_string(rs, exc, "fuzz-exceptions.yml");
	fz_rules(rs, data, size);
	free(text);
	ks_ruleset_free(rs);
	return 0;
}
