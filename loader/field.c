// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Field values as text: what kestrel.join prints and what the NFA's join
 * keys are made of (loader/pipeline.c), apart from the JSON codec.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ecs_int.h"

static bool num_field(const struct ks_event *ev, unsigned int field,
		      int64_t *v)
{
	const struct {
		unsigned int field, present;
	} gates[] = {
		{ KS_F_PROCESS_PID, KS_P_PROCESS },
		{ KS_F_ARGS_COUNT, KS_P_PROCESS },
		{ KS_F_PARENT_PID, KS_P_PARENT },
		{ KS_F_USER_ID, KS_P_USER },
		{ KS_F_GROUP_ID, KS_P_USER },
		{ KS_F_EXIT_CODE, KS_P_EXIT_CODE },
		{ KS_F_SOURCE_PORT, KS_P_NET },
		{ KS_F_DEST_PORT, KS_P_NET },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(gates); i++)
		if (gates[i].field == field)
			break;
	if (i == ARRAY_SIZE(gates) || !(ev->present & gates[i].present))
		return false;
	switch (field) {
	case KS_F_PROCESS_PID:	*v = ev->pid; break;
	case KS_F_ARGS_COUNT:	*v = ev->args_count; break;
	case KS_F_PARENT_PID:	*v = ev->ppid; break;
	case KS_F_USER_ID:	*v = ev->uid; break;
	case KS_F_GROUP_ID:	*v = ev->gid; break;
	case KS_F_EXIT_CODE:	*v = ev->exit_code; break;
	case KS_F_SOURCE_PORT:	*v = ev->sport; break;
	default:		*v = ev->dport; break;
	}
	return true;
}

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
static int field_text(const struct ks_ecs_ctx *ctx, const struct ks_event *ev,
		      unsigned int field, char *buf, size_t buflen)
{
	const char *s = NULL;
	int64_t v;

	if (KS_F_IS_STR(field))
		return str_field_text(ev, field, buf, buflen);
	if (num_field(ev, field, &v))
		return snprintf(buf, buflen, "%" PRId64, v);

	switch (field) {
	case KS_F_ENTITY_ID:
		if (!ev->entity)
			return -1;
		ks_ecs_entity_text(ctx, ev->entity, ev->pid, ev->start_ns, buf,
			    buflen);
		return 0;
	case KS_F_PARENT_ENTITY_ID:
		if (!ev->parent_entity)
			return -1;
		ks_ecs_entity_text(ctx, ev->parent_entity, ev->ppid,
			    ev->parent_start_ns, buf, buflen);
		return 0;
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
		if (!ev->transport)
			return -1;
		s = ks_ecs_transport_name(ev->transport);
		if (!s)
			return snprintf(buf, buflen, "%u", ev->transport);
		break;
	case KS_F_DIRECTION:
		s = ks_ecs_direction_name(ev->direction);
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

