// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The one spelling of severities, rule actions and enforcement modes. */
#include <stdio.h>
#include <string.h>

#include "kestrel/names.h"
#include "kestrel/rules.h"

#define NAMES(arr)	{ arr, sizeof(arr) / sizeof((arr)[0]) }

static const struct ks_name severities[] = {
	{ "low", KS_SEV_LOW },
	{ "medium", KS_SEV_MEDIUM },
	{ "high", KS_SEV_HIGH },
	{ "critical", KS_SEV_CRITICAL },
};

static const struct ks_name rule_actions[] = {
	{ "alert", KS_RA_ALERT },
	{ "block", KS_RA_BLOCK },
	{ "kill", KS_RA_KILL },
};

static const struct ks_name modes[] = {
	{ "auto", KS_MODE_PROBE },
	{ "lsm", KS_MODE_LSM },
	{ "signal", KS_MODE_SIGNAL },
	{ "observe", KS_MODE_OBSERVE },
};

/* rule key args_cut (the default, KS_ARGS_CUT_DEFAULT, is not spelled) */
static const struct ks_name args_cuts[] = {
	{ "fail-closed", KS_ARGS_CUT_CLOSED },
	{ "head", KS_ARGS_CUT_HEAD },
};

const struct ks_names ks_severity_names = NAMES(severities);
const struct ks_names ks_rule_action_names = NAMES(rule_actions);
const struct ks_names ks_mode_names = NAMES(modes);
const struct ks_names ks_args_cut_names = NAMES(args_cuts);

const char *ks_names_name(const struct ks_names *t, int val)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].val == val)
			return t->v[i].name;
	return "?";
}

int ks_names_parse(const struct ks_names *t, const char *s)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, s))
			return t->v[i].val;
	return KS_NAME_UNKNOWN;
}

const char *ks_names_list(const struct ks_names *t, char *buf, size_t len)
{
	size_t i, pos = 0;

	buf[0] = 0;
	for (i = 0; i < t->n && pos < len; i++) {
		const char *sep = !i ? "" : i + 1 == t->n ? " or " : ", ";
		int n = snprintf(buf + pos, len - pos, "%s%s", sep, t->v[i].name);

		pos += n > 0 ? (size_t)n : 0;
	}
	return buf;
}
