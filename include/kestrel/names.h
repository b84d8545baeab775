/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names of the ABI's enums as users spell them (rule files, --mode,
 * alerts, metrics): one table each, in rules-compiler/names.c, shared by
 * the compiler and kload.
 *
 *   ks_severity_name(KS_SEV_HIGH)   "high"      ks_severity_parse("high")
 *   ks_rule_action_name(KS_RA_KILL) "kill"      ks_rule_action_parse("kill")
 *   ks_mode_name(KS_MODE_LSM)       "lsm"       ks_mode_parse("auto") == KS_MODE_PROBE
 *   ks_args_cut_name(KS_ARGS_CUT_HEAD) "head"   ks_args_cut_parse("fail-closed")
 *
 * *_name() returns "?" for a value outside the table; *_parse() returns
 * KS_NAME_UNKNOWN for a name outside it. ks_names_list() prints the
 * accepted names for a diagnostic: "low, medium, high or critical".
 */
#ifndef KESTREL_NAMES_H
#define KESTREL_NAMES_H

#include <stddef.h>

#define KS_NAME_UNKNOWN		(-2)
/* --mode auto: probe for the strongest mode the kernel supports */
#define KS_MODE_PROBE		(-1)

struct ks_name {
	const char *name;
	int val;
};

struct ks_names {
	const struct ks_name *v;
	size_t n;
};

extern const struct ks_names ks_severity_names;
extern const struct ks_names ks_rule_action_names;
extern const struct ks_names ks_mode_names;
extern const struct ks_names ks_args_cut_names;

const char *ks_names_name(const struct ks_names *t, int val);
int ks_names_parse(const struct ks_names *t, const char *s);
/* "a, b or c" into buf; returns buf. */
const char *ks_names_list(const struct ks_names *t, char *buf, size_t len);

static inline const char *ks_severity_name(int s)
{
	return ks_names_name(&ks_severity_names, s);
}

static inline int ks_severity_parse(const char *s)
{
	return ks_names_parse(&ks_severity_names, s);
}

static inline const char *ks_rule_action_name(int a)
{
	return ks_names_name(&ks_rule_action_names, a);
}

static inline int ks_rule_action_parse(const char *s)
{
	return ks_names_parse(&ks_rule_action_names, s);
}

static inline const char *ks_mode_name(int m)
{
	return ks_names_name(&ks_mode_names, m);
}

static inline int ks_mode_parse(const char *s)
{
	return ks_names_parse(&ks_mode_names, s);
}

static inline const char *ks_args_cut_name(int c)
{
	return ks_names_name(&ks_args_cut_names, c);
}

static inline int ks_args_cut_parse(const char *s)
{
	return ks_names_parse(&ks_args_cut_names, s);
}

#endif /* KESTREL_NAMES_H */
