// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a YAML rule file (a list of EQL rules, or a Sigma
 * rule) as kload reads one: YAML limits, rule entries, queries with
 * their positions in the file, then everything fuzz_common.h checks.
 * Seeds: the shipped rules (rules/) and rule files of the tests.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = fz_text(data, size);

	ks_ruleset_load_string(rs, text, "fuzz.yml");
	fz_rules(rs, data, size);
	free(text);
	ks_ruleset_free(rs);
	return 0;
}
