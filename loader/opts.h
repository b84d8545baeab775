/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Command options, declared once: a table per command (in its cmd_*.c)
 * from which both the getopt_long parser and the command's --help are
 * made. Each entry names a field of the command's own args struct; the
 * parser stores there, after checking the value (numbers against their
 * range, names against their table, paths against their length), so a
 * command only ever sees valid values. In the spirit of xdp-tools'
 * lib/util/params.
 *
 *   struct x_args { const char *pin_dir; __u32 n; bool json; };
 *   static const struct ks_opt x_opts[] = {
 *	KS_OPT_PATH_(struct x_args, pin_dir, "pin-dir", "DIR", KS_PIN_DIR_MAX, "where ..."),
 *	KS_OPT_UINT_(struct x_args, n, "entries", "N", 1, 1000, "how many ..."),
 *	KS_OPT_FLAG_(struct x_args, json, "json", "print JSON"),
 *	{ NULL },
 *   };
 */
#ifndef KS_OPTS_H
#define KS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kestrel/names.h"

enum ks_opt_type {
	KS_OPT_FLAG,		/* bool, set to true */
	KS_OPT_STR,		/* const char * */
	KS_OPT_PATH,		/* const char *, at most .max bytes */
	KS_OPT_STR_MULTI,	/* const char *[.max], count (int) at .count_off */
	KS_OPT_UINT,		/* unsigned integer of .size bytes in [.min, .max] */
	KS_OPT_ENUM,		/* int, a name of .names */
	KS_OPT_SIZE,		/* bytes (K, M, G suffixes) as KS_OPT_UINT, then .check */
};

struct ks_opt {
	const char *name;		/* long name; NULL ends the table */
	char short_opt;			/* 0: none */
	enum ks_opt_type type;
	size_t off, size;		/* the field in the args struct */
	size_t count_off;		/* KS_OPT_STR_MULTI */
	unsigned long long min, max;	/* KS_OPT_UINT range; max length, count */
	const struct ks_names *names;	/* KS_OPT_ENUM */
	const char *metavar;		/* NULL for flags */
	const char *help;		/* '\n' starts another help line */
	bool required;			/* shown in the synopsis, checked */
	/* KS_OPT_UINT, KS_OPT_SIZE: 0, or -1 with why the value cannot be used */
	int (*check)(unsigned long long v, char *why, size_t len);
};

#define KS_OPT_AT(st, f)	.off = offsetof(st, f), .size = sizeof(((st *)0)->f)

#define KS_OPT_FLAG_(st, f, nm, hlp) \
	{ .name = nm, .type = KS_OPT_FLAG, KS_OPT_AT(st, f), .help = hlp }
#define KS_OPT_STR_(st, f, nm, mv, hlp) \
	{ .name = nm, .type = KS_OPT_STR, KS_OPT_AT(st, f), .metavar = mv, .help = hlp }
#define KS_OPT_PATH_(st, f, nm, mv, maxlen, hlp) \
	{ .name = nm, .type = KS_OPT_PATH, KS_OPT_AT(st, f), .max = maxlen, \
	  .metavar = mv, .help = hlp }
#define KS_OPT_UINT_(st, f, nm, mv, lo, hi, hlp) \
	{ .name = nm, .type = KS_OPT_UINT, KS_OPT_AT(st, f), .min = lo, .max = hi, \
	  .metavar = mv, .help = hlp }
#define KS_OPT_SIZE_(st, f, nm, lo, hi, chk, hlp) \
	{ .name = nm, .type = KS_OPT_SIZE, KS_OPT_AT(st, f), .min = lo, .max = hi, \
	  .check = chk, .metavar = "BYTES", .help = hlp }
#define KS_OPT_ENUM_(st, f, nm, mv, tbl, hlp) \
	{ .name = nm, .type = KS_OPT_ENUM, KS_OPT_AT(st, f), .names = tbl, \
	  .metavar = mv, .help = hlp }

/*
 * A kload command: its options and the text around them in --help. Each
 * cmd_*.c declares its commands' ks_cmd and ks_opt tables beside the code
 * they configure: those declarations are rows of one table spread over the
 * command files, alike in shape by design (duplicates pairs them).
 */
struct ks_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;		/* one line in `kload --help` */
	const char *args;		/* positional arguments, "RULES...|FILE.kbin" */
	const char *about;		/* paragraph after the usage line */
	const struct ks_opt *opts;
	const char *footer;		/* after the options (exit codes) */
	const char *usage_extra;	/* another usage line, or NULL */
};

#define KS_OPTS_HELP	(-1)	/* --help was printed: exit 0 */
#define KS_OPTS_USAGE	(-2)	/* a bad option was reported: exit 2 */

/*
 * Parse argv of command c into args (fields not given keep their value).
 * Returns the index of the first positional argument, KS_OPTS_HELP or
 * KS_OPTS_USAGE (message printed).
 */
int ks_opts_parse(const struct ks_cmd *c, int argc, char **argv, void *args);
/*
 * Check and store one value of option o into args; where is NULL for the
 * command line, "FILE:LINE:COL" for a configuration file (the message
 * then says so). 0 or KS_OPTS_USAGE (message printed).
 */
int ks_opts_store(const struct ks_cmd *c, const struct ks_opt *o, const char *arg, void *args,
		  const char *where);
/* The option of c with that long name, or NULL. */
const struct ks_opt *ks_opts_find(const struct ks_cmd *c, const char *name);
/* The exit code for a negative ks_opts_parse() result. */
int ks_opts_exit(int r);
void ks_opts_help(const struct ks_cmd *c, FILE *out);
/* "12" -> 12 in [min, max]; anything else (sign, junk, range) is -1. */
int ks_opts_uint(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *v);
/* The same with an optional K, M or G (KiB, MiB, GiB; either case). */
int ks_opts_size(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *v);

#endif /* KS_OPTS_H */
