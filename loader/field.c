// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Field values as text: what kestrel.join prints and what the NFA's join
 * keys are made of (loader/nfa_join.c), apart from the JSON codec.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ecs_int.h"

static int str_field_text(const struct ks_event *ev, unsigned int field,
			  char *buf, size_t buflen)
{
	size_t len, i;
	const char *p = ks_ecs_ref_bytes(ev, field, &len);

	if (!p || !buflen)
		return -1;
	if (len > buflen - 1)
		len = buflen - 1;
	for (i = 0; i < len; i++)
		buf[i] = p[i] ? p[i] : ' ';
	buf[len] = '\0';
	return (int)len;
}

/* snprintf-like: < 0 for null; the text may have been cut at buflen - 1. */
/* An entity id field as the alert writes it; -1 for null. */
static int entity_text(const struct ks_ecs_ctx *ctx, const struct ks_event *ev,
		       unsigned int field, char *buf, size_t buflen)
{
	uint64_t key = ks_event_entity(ev, field);
	__u64 start;
	__u32 pid;

	if (!key)
		return -1;
	ks_event_entity_parts(ev, field, &pid, &start);
	ks_ecs_entity_text(ctx, key, pid, start, buf, buflen);
	return 0;
}

static int field_text(const struct ks_ecs_ctx *ctx, const struct ks_event *ev,
		      unsigned int field, char *buf, size_t buflen)
{
	const char *s = NULL;
	__s64 v;

	if (KS_F_IS_STR(field))
		return str_field_text(ev, field, buf, buflen);
	/* numbers and enums: null exactly when the kernel says so */
	if (ks_field_is_num(field)) {
		if (!ks_event_num(ev, field, &v))
			return -1;
		if (ks_field_by_id(field)->type == KS_T_NUM)
			return snprintf(buf, buflen, "%lld", v);
	}

	if (ks_field_is_entity(field))
		return entity_text(ctx, ev, field, buf, buflen);
	switch (field) {
	case KS_F_SOURCE_IP:
	case KS_F_DEST_IP: {
		const uint8_t *a = field == KS_F_SOURCE_IP ? ev->saddr
							   : ev->daddr;
		char ip[INET6_ADDRSTRLEN];

		if (ks_ecs_ip_is_zero(a))
			return -1;
		ks_ecs_ip_text(ev, a, ip, sizeof(ip));
		return snprintf(buf, buflen, "%s", ip);
	}
	case KS_F_CATEGORY:
		s = ks_ecs_category_name(ev->category);
		break;
	case KS_F_ACTION:
		s = ks_ecs_action_name(ev->action);
		break;
	case KS_F_TRANSPORT:
		s = ks_enum_name(KS_F_TRANSPORT, ev->transport);
		if (!s)
			return snprintf(buf, buflen, "%u", ev->transport);
		break;
	case KS_F_DIRECTION:
		s = ks_enum_name(KS_F_DIRECTION, ev->direction);
		break;
	}
	return s ? snprintf(buf, buflen, "%s", s) : -1;
}

int ks_field_text(const struct ks_ecs_ctx *ctx, const struct ks_event *ev,
		  unsigned int field, char *buf, size_t buflen)
{
	/* The length stored, not the one wanted: callers append after it. */
	if (!buflen || field_text(ctx, ev, field, buf, buflen) < 0)
		return -1;
	return (int)strlen(buf);
}

