// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Field catalogue: every ECS field a rule may test, its enum ks_field id,
 * type, the KS_P_* bit that makes it non-null and, for numbers, the
 * values the event's member can hold. The kernel-filled fields come from
 * their one list in maps/ks_fields.h; the entries written here are those
 * kload fills (KS_F_NONE) or that have no scalar member (entity ids,
 * addresses).
 */
#include <string.h>

#include "ast.h"

#define F(n, i, t, p) { .name = n, .id = i, .type = t, .present = p }
/* the kernel-filled fields, from their one list (maps/ks_fields.h) */
#define NUM_FIELD(id_, name_, type_, member, pbit, nonzero, lo, hi)	\
	{ .name = name_, .id = id_, .type = KS_T_##type_, .present = pbit, \
	  .min = lo, .max = hi },
#define STR_FIELD(id_, name_, type_, pbit)				\
	F(name_, id_, KS_T_##type_, pbit),

static const struct ks_field_info fields[] = {
	KS_NUM_FIELDS(NUM_FIELD)
	KS_STR_FIELDS(STR_FIELD)
	F("process.entity_id", KS_F_ENTITY_ID, KS_T_ENTITY, KS_P_PROCESS),
	F("process.parent.entity_id", KS_F_PARENT_ENTITY_ID, KS_T_ENTITY,
	  KS_P_PARENT),
	F("source.ip", KS_F_SOURCE_IP, KS_T_IP, KS_P_NET),
	F("destination.ip", KS_F_DEST_IP, KS_T_IP, KS_P_NET),
	/*
	 * Not filled by the kernel: kload knows it from the parent's exec
	 * event in its process table (null when it did not see that exec).
	 * It exists so Sigma's ParentCommandLine can be imported faithfully
	 * instead of being dropped.
	 */
	F("process.parent.command_line", KS_F_NONE, KS_T_USER_STR, KS_P_PARENT),
	F("host.name", KS_F_NONE, KS_T_USER_STR, 0),
	/*
	 * kload derives it from the cgroup the kernel names (loader/
	 * container.c): a test on it is finished in userspace, never
	 * kernel-exact. Null outside a container.
	 */
	F("container.id", KS_F_NONE, KS_T_USER_STR, 0),
};

static const struct ks_enum_val categories[] = {
	{ "process", KS_CAT_PROCESS },
	{ "file", KS_CAT_FILE },
	{ "network", KS_CAT_NETWORK },
};

static const struct ks_enum_val actions[] = {
	{ "exec", KS_ACT_EXEC },
	{ "exit", KS_ACT_EXIT },
	{ "fork", KS_ACT_FORK },
	{ "open", KS_ACT_OPEN },
	{ "creation", KS_ACT_CREATION },
	{ "deletion", KS_ACT_DELETION },
	{ "rename", KS_ACT_RENAME },
	{ "modification", KS_ACT_MODIFICATION },
	{ "connect", KS_ACT_CONNECT },
	{ "accept", KS_ACT_ACCEPT },
	{ "packet", KS_ACT_PACKET },
};

static const struct ks_enum_val transports[] = {
	{ "tcp", 6 },
	{ "udp", 17 },
	{ "icmp", 1 },
	{ "ipv6-icmp", 58 },
};

static const struct ks_enum_val directions[] = {
	{ "ingress", 1 },
	{ "egress", 2 },
};

const struct ks_field_info *ks_field_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

bool ks_field_in_range(const struct ks_field_info *f, int64_t v)
{
	return v >= f->min && v <= f->max;
}

const struct ks_field_info *ks_field_by_id(enum ks_field id)
{
	size_t i;

	if (id == KS_F_NONE)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (fields[i].id == id)
			return &fields[i];
	return NULL;
}

const struct ks_enum_val *ks_field_enum(const struct ks_field_info *f, size_t *n)
{
	switch (f->id) {
	case KS_F_CATEGORY:
		*n = ARRAY_SIZE(categories);
		return categories;
	case KS_F_ACTION:
		*n = ARRAY_SIZE(actions);
		return actions;
	case KS_F_TRANSPORT:
		*n = ARRAY_SIZE(transports);
		return transports;
	case KS_F_DIRECTION:
		*n = ARRAY_SIZE(directions);
		return directions;
	default:
		*n = 0;
		return NULL;
	}
}

const char *ks_field_enum_list(const struct ks_field_info *f)
{
	switch (f->id) {
	case KS_F_CATEGORY:
		return "process, file, network";
	case KS_F_ACTION:
		return "exec, exit, fork, open, creation, deletion, rename, "
		       "modification, connect, accept, packet";
	case KS_F_TRANSPORT:
		return "tcp, udp, icmp, ipv6-icmp";
	case KS_F_DIRECTION:
		return "ingress, egress";
	default:
		return "";
	}
}

const char *ks_category_name(enum ks_category c)
{
	switch (c) {
	case KS_CAT_PROCESS:
		return "process";
	case KS_CAT_FILE:
		return "file";
	case KS_CAT_NETWORK:
		return "network";
	default:
		return "any";
	}
}

const char *ks_ftype_name(enum ks_ftype t)
{
	switch (t) {
	case KS_T_STR:
	case KS_T_ENTITY:
	case KS_T_USER_STR:
		return "string";
	case KS_T_STR_ARRAY:
		return "string array";
	case KS_T_NUM:
		return "number";
	case KS_T_IP:
		return "IP address";
	default:
		return "keyword";
	}
}

/* Levenshtein distance, capped: names are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], prev, tmp, best;

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *ks_field_suggest(const char *name)
{
	const char *best = NULL;
	size_t i, d, bd = 3;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		d = edit_distance(name, fields[i].name);
		if (d < bd) {
			bd = d;
			best = fields[i].name;
		}
	}
	return best;
}
