// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kload compile: parse, compile, explain, write .kbin. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/kbin.h"
#include "kestrel/log.h"
#include "cli.h"

int cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "eql", required_argument, NULL, 'e' },
		{ "explain", no_argument, NULL, 'x' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *query = NULL;
	struct ks_compile_info info = {};
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	bool explain = false, quiet = false;
	char err[256];
	size_t i, exact = 0;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:e:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'e':
			query = optarg;
			break;
		case 'x':
			explain = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			ks_log_level++;
			break;
		case 'h':
			ks_cmd_help(ks_cmd_find("compile"), stdout);
			return KS_EXIT_OK;
		default:
			ks_cmd_help(ks_cmd_find("compile"), stderr);
			return KS_EXIT_USAGE;
		}
	}
	if (query) {
		if (optind < argc) {
			fprintf(stderr, "kload compile: -e takes no RULES\n");
			return KS_EXIT_USAGE;
		}
		rs = ks_ruleset_new();
		t = calloc(1, sizeof(*t));
		if (!rs || !t)
			return KS_EXIT_FAIL;
		ks_ruleset_add_query(rs, query, "<query>");
		if (ks_diags_errors(&rs->diags) || ks_compile(rs, t, &info) ||
		    ks_diags_errors(&rs->diags)) {
			ks_diags_print(&rs->diags, stderr);
			ret = KS_EXIT_USAGE;
			goto out;
		}
	} else {
		ret = ks_cli_load_rules(argc - optind, argv + optind, &rs, &t, &info);
		if (ret)
			return ret;
	}
	for (i = 0; i < info.n_rules; i++)
		exact += info.rules[i].exact;
	if (explain)
		ks_explain(rs, t, &info, stdout);
	if (!quiet || explain)
		printf("compiled %zu rule(s): %zu decided in the kernel, %zu finished in userspace; "
		       "%u DFA states, %u byte classes, %zu table bytes\n",
		       rs->n_rules, exact, rs->n_rules - exact, info.n_states, info.n_classes,
		       info.table_bytes);
	ret = KS_EXIT_OK;
	if (out && ks_kbin_write(out, rs, t, err, sizeof(err))) {
		fprintf(stderr, "%s: error: %s\n", out, err);
		ret = KS_EXIT_FAIL;
	}
out:
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
	free(t);
	return ret;
}
