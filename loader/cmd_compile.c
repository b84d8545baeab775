// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kload compile: parse, compile, explain, write .kbin. */
#include <stdlib.h>
#include <string.h>

#include "kestrel/kbin.h"
#include "kestrel/log.h"
#include "cli.h"

struct compile_args {
	const char *out, *query;
	bool explain, quiet;
	struct ks_cli_select sel;
};

static const struct ks_opt compile_opts[] = {
	{ .name = "output", .short_opt = 'o', .type = KS_OPT_STR,
	  KS_OPT_AT(struct compile_args, out), .metavar = "FILE",
	  .help = "write the compiled tables and rules to FILE.kbin" },
	{ .name = "eql", .short_opt = 'e', .type = KS_OPT_STR,
	  KS_OPT_AT(struct compile_args, query), .metavar = "QUERY",
	  .help = "compile one inline EQL query" },
	KS_OPT_FLAG_(struct compile_args, explain, "explain",
		     "per rule: what runs in the kernel and what in\n"
		     "userspace and why, its exceptions; the rules not\n"
		     "compiled and why; DFA states, classes, map sizes"),
	{ .name = "quiet", .short_opt = 'q', .type = KS_OPT_FLAG,
	  KS_OPT_AT(struct compile_args, quiet), .help = "print only errors and the summary line" },
	KS_OPTS_SELECT(struct compile_args, sel),
	{ NULL },
};

/*
 * This file's rows of kload's command table (opts.h, struct ks_cmd): the
 * same shape in every cmd_*.c by design, deliberate twins that duplicates
 * pairs (cmd_attach.c, cmd_admin.c, cmd_compile.c, cmd_reload.c,
 * cmd_replay.c).
 */
static int cmd_compile(int argc, char **argv);

const struct ks_cmd ks_cmd_compile = {
	.name = "compile", .run = cmd_compile, .summary = "parse and compile rules",
	.args = "RULES...", .usage_extra = "[OPTIONS] -e 'QUERY'",
	.about = "Parse and compile rule files (YAML with EQL queries, Sigma .yml, or\n"
		 "Elastic detection-rules .toml with language = \"eql\") into kernel\n"
		 "tables. Diagnostics are printed as FILE:LINE:COL: error: MESSAGE.\n",
	.opts = compile_opts,
	.footer = "Exit: 0 compiled, 2 invalid rules or usage.\n",
};

/* "; N not compiled (enabled: false or the selection)" */
static const char *skipped_text(const struct ks_ruleset *rs, char *buf, size_t len)
{
	snprintf(buf, len, "; %zu not compiled (enabled: false or not selected)",
		 rs->n_skipped);
	return buf;
}

static int cmd_compile(int argc, char **argv)
{
	char sk[80];
	struct compile_args ca = {};
	struct ks_compile_info info = {};
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	char err[256];
	size_t i, exact = 0;
	int first, ret;

	first = ks_opts_parse(&ks_cmd_compile, argc, argv, &ca);
	if (first < 0)
		return ks_opts_exit(first);
	if (ca.query) {
		if (first < argc) {
			fprintf(stderr, "kload compile: -e takes no RULES\n");
			return KS_EXIT_USAGE;
		}
		rs = ks_ruleset_new();
		t = calloc(1, sizeof(*t));
		if (!rs || !t)
			return KS_EXIT_FAIL;
		ks_ruleset_add_query(rs, ca.query, "<query>");
		if (ks_diags_errors(&rs->diags) || ks_compile(rs, t, &info) ||
		    ks_diags_errors(&rs->diags)) {
			ks_diags_print(&rs->diags, stderr);
			ret = KS_EXIT_USAGE;
			goto out;
		}
	} else {
		ret = ks_cli_load_rules(argc - first, argv + first, &ca.sel, &rs, &t, &info);
		if (ret)
			return ret;
	}
	for (i = 0; i < info.n_rules; i++)
		exact += info.rules[i].exact;
	if (ca.explain)
		ks_explain(rs, t, &info, stdout);
	if (!ca.quiet || ca.explain)
		printf("compiled %zu rule(s): %zu decided in the kernel, %zu finished in userspace; "
		       "%u DFA states, %u byte classes, %zu table bytes%s\n",
		       rs->n_rules, exact, rs->n_rules - exact, info.n_states, info.n_classes,
		       info.table_bytes, rs->n_skipped ? skipped_text(rs, sk, sizeof(sk)) : "");
	ret = KS_EXIT_OK;
	if (ca.out && ks_kbin_write(ca.out, rs, t, err, sizeof(err))) {
		fprintf(stderr, "%s: error: %s\n", ca.out, err);
		ret = KS_EXIT_FAIL;
	}
out:
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
	free(t);
	return ret;
}
