/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ECS codec internals shared by loader/ecs.c (names, time, context),
 * loader/ecs_decode.c (Event JSONL in), loader/ecs_encode.c (events out),
 * loader/ecs_alert.c (alerts out) and loader/field.c (field values as
 * text).
 */
#ifndef KS_ECS_INT_H
#define KS_ECS_INT_H

#include "kestrel/ecs.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Original entity_id string of an entity key, NULL if it prints as pid-start. */
const char *ks_ecs_intern_get(const struct ks_ecs_ctx *ctx, uint64_t key);
/* Returns 0, -ENOMEM, or -EEXIST if key names another string already. */
int ks_ecs_intern_put(struct ks_ecs_ctx *ctx, uint64_t key, const char *s);
/* A replayed event's container.id under its key (KS_CGROUP_REPLAY set):
 * 0, -E2BIG past KS_ECS_CGROUPS_REPLAY, -ENOMEM, -EEXIST (another id). */
const char *ks_ecs_cgroup_get(const struct ks_ecs_ctx *ctx, uint64_t key);
int ks_ecs_cgroup_put(struct ks_ecs_ctx *ctx, uint64_t key, const char *id);
/* KS_ECS_U_* of a userspace-enriched field, -1 if f is none; its name. */
int ks_ecs_user_index(const struct ks_field_info *f);
/* The catalogue's entry of enriched field i (KS_ECS_U_*), NULL past them. */
const struct ks_field_info *ks_ecs_user_info(unsigned int i);
const char *ks_ecs_user_name(unsigned int i);
/* ks_ecs_user_str() of enriched field i, f its entry (the encoder's plan knows i). */
bool ks_ecs_user_str_i(struct ks_ecs_ctx *ctx, unsigned int i, const struct ks_field_info *f,
		       const struct ks_event *ev, const char **s, size_t *len);
/* Replayed record seq (in record order) holds s for field: 0 or -ENOMEM. */
int ks_ecs_user_note(struct ks_ecs_ctx *ctx, uint64_t seq, unsigned int field,
		     const char *s, size_t len);
void ks_ecs_user_drop(struct ks_ecs_ctx *ctx, uint64_t seq);
void ks_ecs_user_reset(struct ks_ecs_ctx *ctx);
void ks_ecs_user_free(struct ks_ecs_ctx *ctx);

/* Replayed record seq had host.name number host (0: none). */
void ks_ecs_host_note(struct ks_ecs_ctx *ctx, uint64_t seq, uint32_t host);
/* host.name to print for ev: its own when it was replayed with one. */
const char *ks_ecs_event_host(struct ks_ecs_ctx *ctx, const struct ks_event *ev);

bool ks_ecs_is_path(unsigned int field);
/* A string field's bytes, or NULL (with length 0) if out of the event. */
const char *ks_ecs_ref_bytes(const struct ks_event *ev, unsigned int field, size_t *len);
const char *ks_ecs_entity_pid_start(uint32_t pid, uint64_t start, char *buf);
void ks_ecs_entity_text(const struct ks_ecs_ctx *ctx, uint64_t key, uint32_t pid,
			uint64_t start, char *buf, size_t len);
bool ks_ecs_ip_is_zero(const uint8_t *a);
void ks_ecs_ip_text(const struct ks_event *ev, const uint8_t *a, char *buf, size_t len);

/* event.outcome of an alert completed by ev: killed, blocked or success. */
const char *ks_ecs_outcome(const struct ks_event *ev);

#endif /* KS_ECS_INT_H */
