// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Option tables -> getopt_long parser and --help (see opts.h). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/log.h"
#include "opts.h"

#define KS_OPTS_MAX	32
#define KS_HELP_COL	24	/* help text starts in this column */
#define KS_LONG_BASE	256	/* getopt val of long-only option i: base + i */

static size_t opts_count(const struct ks_cmd *c)
{
	size_t n = 0;

	while (c->opts && c->opts[n].name)
		n++;
	return n;
}

int ks_opts_uint(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *v)
{
	char *end;

	/* strtoull() takes "-1" as ULLONG_MAX and skips blanks: not here */
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end || *v < min || *v > max)
		return -1;
	return 0;
}

int ks_opts_size(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *v)
{
	static const char units[] = "KMG";
	size_t n = strlen(s);
	const char *u = n ? strchr(units, s[n - 1] & ~0x20) : NULL;
	unsigned long long mult = 1;
	char digits[32];

	if (u && *u) {
		if (n - 1 >= sizeof(digits))
			return -1;
		memcpy(digits, s, n - 1);
		digits[n - 1] = 0;
		mult = 1ull << (10 * (u - units + 1));
		s = digits;
	}
	if (ks_opts_uint(s, 0, ~0ull / mult, v))
		return -1;
	*v *= mult;
	return *v < min || *v > max ? -1 : 0;
}

/* "kload CMD: --NAME" for the command line, "FILE:LINE:COL: error: NAME" for a file */
static void bad_head(const struct ks_cmd *c, const struct ks_opt *o, const char *where)
{
	if (where)
		fprintf(stderr, "%s: error: %s ", where, o->name);
	else
		fprintf(stderr, "kload %s: --%s ", c->name, o->name);
}

static int bad(const struct ks_cmd *c, const struct ks_opt *o, const char *where,
	       const char *fmt, const char *arg, unsigned long long a, unsigned long long b)
{
	bad_head(c, o, where);
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, ", not \"%s\"\n", arg);
	return KS_OPTS_USAGE;
}

/* v into the field's width (the range checks kept it representable). */
static int store_bits(const struct ks_opt *o, unsigned long long v, void *field)
{
	switch (o->size) {
	case sizeof(uint8_t):
		*(uint8_t *)field = v;
		break;
	case sizeof(uint16_t):
		*(uint16_t *)field = v;
		break;
	case sizeof(uint32_t):
		*(uint32_t *)field = v;
		break;
	default:
		*(uint64_t *)field = v;
		break;
	}
	return 0;
}

/* v, in range, into the field once the option's own check (if any) takes it. */
static int store_checked(const struct ks_cmd *c, const struct ks_opt *o, const char *arg,
			 unsigned long long v, void *field, const char *where)
{
	char why[128];

	if (o->check && o->check(v, why, sizeof(why))) {
		bad_head(c, o, where);
		fprintf(stderr, "%s: %s\n", arg, why);
		return KS_OPTS_USAGE;
	}
	return store_bits(o, v, field);
}

static int store_uint(const struct ks_cmd *c, const struct ks_opt *o, const char *arg,
		      void *field, const char *where)
{
	unsigned long long v;

	if (ks_opts_uint(arg, o->min, o->max, &v))
		return bad(c, o, where, "takes a whole number from %llu to %llu", arg, o->min,
			   o->max);
	return store_checked(c, o, arg, v, field, where);
}

static int store_size(const struct ks_cmd *c, const struct ks_opt *o, const char *arg,
		      void *field, const char *where)
{
	unsigned long long v;

	if (ks_opts_size(arg, o->min, o->max, &v))
		return bad(c, o, where, "takes a size in bytes (K, M or G suffixes) from %llu to %llu",
			   arg, o->min, o->max);
	return store_checked(c, o, arg, v, field, where);
}

int ks_opts_store(const struct ks_cmd *c, const struct ks_opt *o, const char *arg, void *args,
		  const char *where)
{
	void *field = (char *)args + o->off;
	char list[128];
	int *n, v;

	switch (o->type) {
	case KS_OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case KS_OPT_PATH:
		if (strlen(arg) > o->max)
			return bad(c, o, where, "takes a path of at most %llu bytes (%llu given)",
				   arg, o->max, strlen(arg));
		/* fall through */
	case KS_OPT_STR:
		*(const char **)field = arg;
		return 0;
	case KS_OPT_STR_MULTI:
		n = (int *)((char *)args + o->count_off);
		if ((unsigned long long)*n >= o->max)
			return bad(c, o, where, "may be given at most %llu times%.0llu", arg,
				   o->max, 0);
		((const char **)field)[(*n)++] = arg;
		return 0;
	case KS_OPT_UINT:
		return store_uint(c, o, arg, field, where);
	case KS_OPT_SIZE:
		return store_size(c, o, arg, field, where);
	case KS_OPT_ENUM:
		v = ks_names_parse(o->names, arg);
		if (v == KS_NAME_UNKNOWN) {
			bad_head(c, o, where);
			fprintf(stderr, "takes %s, not \"%s\"\n",
				ks_names_list(o->names, list, sizeof(list)), arg);
			return KS_OPTS_USAGE;
		}
		*(int *)field = v;
		return 0;
	}
	return KS_OPTS_USAGE;
}

const struct ks_opt *ks_opts_find(const struct ks_cmd *c, const char *name)
{
	size_t i, n = opts_count(c);

	for (i = 0; i < n; i++)
		if (!strcmp(c->opts[i].name, name))
			return &c->opts[i];
	return NULL;
}

/* getopt_long's tables for c, plus -v/--verbose and -h/--help. */
static void getopt_tables(const struct ks_cmd *c, struct option *lo, char *so)
{
	size_t i, n = opts_count(c), k = 0;

	for (i = 0; i < n; i++) {
		const struct ks_opt *o = &c->opts[i];
		int arg = o->type == KS_OPT_FLAG ? no_argument : required_argument;

		lo[i] = (struct option){ o->name, arg, NULL,
					 o->short_opt ?: KS_LONG_BASE + (int)i };
		if (o->short_opt) {
			so[k++] = o->short_opt;
			if (arg == required_argument)
				so[k++] = ':';
		}
	}
	lo[n] = (struct option){ "verbose", no_argument, NULL, 'v' };
	lo[n + 1] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n + 2] = (struct option){ NULL, 0, NULL, 0 };
	strcpy(so + k, "vh");
}

static const struct ks_opt *opt_of(const struct ks_cmd *c, int val)
{
	size_t i, n = opts_count(c);

	if (val >= KS_LONG_BASE && (size_t)(val - KS_LONG_BASE) < n)
		return &c->opts[val - KS_LONG_BASE];
	for (i = 0; i < n; i++)
		if (c->opts[i].short_opt && c->opts[i].short_opt == val)
			return &c->opts[i];
	return NULL;
}

static int check_required(const struct ks_cmd *c, void *args)
{
	size_t i, n = opts_count(c);

	for (i = 0; i < n; i++) {
		const struct ks_opt *o = &c->opts[i];

		if (o->required && !*(const char **)((char *)args + o->off)) {
			fprintf(stderr, "kload %s: --%s %s is required\n", c->name, o->name,
				o->metavar);
			return KS_OPTS_USAGE;
		}
	}
	return 0;
}

int ks_opts_parse(const struct ks_cmd *c, int argc, char **argv, void *args)
{
	struct option lo[KS_OPTS_MAX + 3];
	char so[2 * KS_OPTS_MAX + 3];
	bool multi_seen[KS_OPTS_MAX] = {};
	const struct ks_opt *o;
	int val, err;

	if (opts_count(c) > KS_OPTS_MAX)
		return KS_OPTS_USAGE;
	getopt_tables(c, lo, so);
	optind = 1;
	while ((val = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (val == 'v') {
			ks_log_level++;
			continue;
		}
		if (val == 'h') {
			ks_opts_help(c, stdout);
			return KS_OPTS_HELP;
		}
		o = opt_of(c, val);
		if (!o) {
			ks_opts_help(c, stderr);
			return KS_OPTS_USAGE;
		}
		/* a list on the command line replaces one from a configuration file */
		if (o->type == KS_OPT_STR_MULTI && !multi_seen[o - c->opts]) {
			multi_seen[o - c->opts] = true;
			*(int *)((char *)args + o->count_off) = 0;
		}
		err = ks_opts_store(c, o, optarg, args, NULL);
		if (err)
			return err;
	}
	err = check_required(c, args);
	return err ? err : optind;
}

int ks_opts_exit(int r)
{
	return r == KS_OPTS_HELP ? KS_EXIT_OK : KS_EXIT_USAGE;
}

static void help_line(const struct ks_opt *o, FILE *out)
{
	char left[64];
	const char *h = o->help, *nl;
	int n;

	n = snprintf(left, sizeof(left), "  %c%c%s--%s%s%s", o->short_opt ? '-' : ' ',
		     o->short_opt ?: ' ', o->short_opt ? ", " : "  ", o->name,
		     o->metavar ? " " : "", o->metavar ?: "");
	fputs(left, out);
	if (n + 2 > KS_HELP_COL)
		fprintf(out, "\n%*s", KS_HELP_COL, "");
	else
		fprintf(out, "%*s", KS_HELP_COL - n, "");
	while ((nl = strchr(h, '\n'))) {
		fprintf(out, "%.*s\n%*s", (int)(nl - h), h, KS_HELP_COL, "");
		h = nl + 1;
	}
	fprintf(out, "%s\n", h);
}

void ks_opts_help(const struct ks_cmd *c, FILE *out)
{
	static const struct ks_opt common[] = {
		{ .name = "verbose", .short_opt = 'v', .help = "more output (repeatable)" },
		{ .name = "help", .short_opt = 'h', .help = "this text" },
	};
	size_t i, n = opts_count(c);

	fprintf(out, "usage: kload %s%s", c->name, n ? " [OPTIONS]" : "");
	for (i = 0; i < n; i++)
		if (c->opts[i].required)
			fprintf(out, " --%s %s", c->opts[i].name, c->opts[i].metavar);
	fprintf(out, "%s%s\n", c->args ? " " : "", c->args ?: "");
	if (c->usage_extra)
		fprintf(out, "       kload %s %s\n", c->name, c->usage_extra);
	if (c->about)
		fprintf(out, "\n%s", c->about);
	fputs("\nOptions:\n", out);
	for (i = 0; i < n; i++)
		help_line(&c->opts[i], out);
	for (i = 0; i < 2; i++)
		help_line(&common[i], out);
	if (c->footer)
		fprintf(out, "\n%s", c->footer);
}
