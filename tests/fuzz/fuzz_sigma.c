// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: Sigma import. The input is the detection of a Sigma
 * rule whose first line picks the log source (process_creation,
 * file_event or network_connection, by the first byte) and whose other
 * keys are fixed, so mutations go to selections, modifiers, values and
 * the condition; an input that starts with "title:" is a whole Sigma
 * file instead (metadata, log source). Then everything fuzz_common.h
 * checks: the importer's EQL rendering is what a .kbin stores.
 * Seeds: rules of the SigmaHQ Linux corpus.
 */
#include "fuzz_common.h"

static const char *const sources[] = {
	"process_creation", "file_event", "network_connection",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = fz_text(data, size), *doc = text;

	if (strncmp(text, "title:", 6)) {
		if (asprintf(&doc, "title: fuzz\nid: fuzz\nlogsource:\n"
			     "    product: linux\n    category: %s\n"
			     "detection:\n%s\n",
			     sources[(size ? data[0] : 0) % 3],
			     size ? text + 1 : text) < 0)
			abort();
	}
	ks_ruleset_load_string(rs, doc, "fuzz.yml");
	fz_rules(rs, data, size);
	if (doc != text)
		free(doc);
	free(text);
	ks_ruleset_free(rs);
	return 0;
}
