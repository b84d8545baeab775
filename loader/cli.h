/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* kload's commands (loader/cmd_*.c), dispatched by loader/main.c. */
#ifndef KS_CLI_H
#define KS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "kestrel/rules.h"

struct ks_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage;	/* full --help text */
};

int cmd_compile(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_test(int argc, char **argv);

extern const struct ks_cmd ks_cmds[];
const struct ks_cmd *ks_cmd_find(const char *name);
/* Print the command's --help to out. */
void ks_cmd_help(const struct ks_cmd *c, FILE *out);

/*
 * Rules from the command line: files/directories of rule files, or one
 * FILE.kbin. Diagnostics are printed; returns KS_EXIT_OK, KS_EXIT_USAGE
 * (invalid rules) or KS_EXIT_FAIL. On success *rs and *t are allocated.
 */
int ks_cli_load_rules(int n, char **paths, struct ks_ruleset **rs,
		      struct ks_tables **t, struct ks_compile_info *info);

/* flock() on the pin directory for state-changing commands; -1 if held. */
int ks_cli_lock(const char *pin_dir, bool create);
/* Environment check with exit-3 message; returns KS_EXIT_OK or KS_EXIT_ENV. */
int ks_cli_env(void);

#endif /* KS_CLI_H */
