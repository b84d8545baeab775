/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* kload's commands (loader/cmd_*.c), dispatched by loader/main.c. */
#ifndef KS_CLI_H
#define KS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "kestrel/rules.h"
#include "opts.h"

/* Each command's table entry, defined next to its code. */
extern const struct ks_cmd ks_cmd_compile, ks_cmd_attach, ks_cmd_detach, ks_cmd_status,
	ks_cmd_stats, ks_cmd_reload, ks_cmd_replay, ks_cmd_record, ks_cmd_test;
extern const struct ks_cmd *const ks_cmds[];

/* --pin-dir, the same for every command that has it */
#define KS_OPT_PIN_DIR(st, f) \
	KS_OPT_PATH_(st, f, "pin-dir", "DIR", KS_PIN_DIR_MAX, \
		     "where maps and links are pinned (default /sys/fs/bpf/kestrel)")

/*
 * Rule selection and exceptions files, the same options for every command
 * that loads rules (and, under rules:, in the configuration file): each
 * list its patterns and count, as the option table stores them.
 */
#define KS_CLI_SEL_MAX	64

struct ks_cli_select {
	const char *pat[KS_SEL_N][KS_CLI_SEL_MAX];
	int n[KS_SEL_N];
	const char *exceptions[KS_CLI_SEL_MAX];
	int n_exceptions;
};

#define KS_OPT_SEL_(st, f, k, nm, mv, hlp) \
	{ .name = nm, .type = KS_OPT_STR_MULTI, KS_OPT_AT(st, f.pat[k]), \
	  .count_off = offsetof(st, f.n[k]), .max = KS_CLI_SEL_MAX, .metavar = mv, \
	  .help = hlp }
#define KS_OPTS_SELECT(st, f) \
	KS_OPT_SEL_(st, f, KS_SEL_INCLUDE_TAGS, "include-tag", "TAG", \
		    "only the rules with a tag matching TAG (a glob;\n" \
		    "repeatable, as the three below; with --include-id:\n" \
		    "the rules either selects)"), \
	KS_OPT_SEL_(st, f, KS_SEL_INCLUDE_IDS, "include-id", "ID", \
		    "only the rules whose id matches ID"), \
	KS_OPT_SEL_(st, f, KS_SEL_EXCLUDE_TAGS, "exclude-tag", "TAG", \
		    "not the rules with a tag matching TAG"), \
	KS_OPT_SEL_(st, f, KS_SEL_EXCLUDE_IDS, "exclude-id", "ID", \
		    "not the rules whose id matches ID"), \
	{ .name = "exceptions", .type = KS_OPT_STR_MULTI, KS_OPT_AT(st, f.exceptions), \
	  .count_off = offsetof(st, f.n_exceptions), .max = KS_CLI_SEL_MAX, \
	  .metavar = "FILE", .help = "add the exceptions of FILE to the rules it\n" \
	  "names by id or tag (repeatable)" }

/* Is anything selected or excepted (a .kbin must then be recompiled)? */
bool ks_cli_select_any(const struct ks_cli_select *sel);

/*
 * Rules from the command line: files/directories of rule files, or one
 * FILE.kbin, then the selection (sel may be NULL). Diagnostics are
 * printed, and a pattern that matches no rule is warned about; returns
 * KS_EXIT_OK, KS_EXIT_USAGE (invalid rules) or KS_EXIT_FAIL. On success
 * *rs and *t are allocated.
 */
/* A rules argument naming a compiled .kbin (by its suffix)? */
bool ks_cli_is_kbin(const char *path);
int ks_cli_load_rules(int n, char **paths, const struct ks_cli_select *sel,
		      struct ks_ruleset **rs, struct ks_tables **t,
		      struct ks_compile_info *info);

struct ks_sinks;
/*
 * The alert outputs of attach and replay: --alerts PATH (file:PATH, or
 * "-"), each --output URI, stdout when neither is given. A malformed URI
 * is KS_EXIT_USAGE, a file that cannot be opened KS_EXIT_FAIL (message
 * printed); *set is NULL then.
 */
int ks_cli_outputs(const char *alerts_path, const char *const *uris, int n,
		   struct ks_sinks **set);

/* flock() on the pin directory for state-changing commands; -1 if held. */
int ks_cli_lock(const char *pin_dir, bool create);
/*
 * Environment check with exit-3 message; with pin_dir, also that an
 * existing pin directory is safe (ks_pin_dir_check()). KS_EXIT_OK or
 * KS_EXIT_ENV.
 */
int ks_cli_env(const char *pin_dir);
/* Is pid a running kload (and not a recycled pid of something else)? */
bool ks_cli_kload_alive(__u32 pid);
/* The `kload attach` consuming pin_dir's events, 0 if none is running. */
unsigned int ks_cli_attach_pid(int ctl_fd);

#endif /* KS_CLI_H */
