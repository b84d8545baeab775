/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The jansson ECS encoder kestrel used before the streaming one
 * (loader/ecs_encode.c), kept here, and only here, as the oracle the new
 * encoder must match byte for byte: tests/test_ecs_golden.c on every
 * fixture, tests/fuzz/fuzz_alert.c on whatever the fuzzer makes. One
 * change: a cut path whose slot would start before the event prints no
 * head (the old code read before the event there), as the new one does.
 * What alerts gained after the streaming encoder (ecs.version,
 * event.risk_score, rule.description/reference/uuid, threat.*) is built
 * here the jansson way, not as the encoder does it: ATT&CK entries are
 * told apart by looking into the arrays built so far, and a name or
 * reference array with a hole is dropped at the end.
 *
 *   json_t *j = ref_event(ctx, ev);   char *s = ref_dump(j);
 */
#ifndef KS_TESTS_ECS_REF_H
#define KS_TESTS_ECS_REF_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kestrel/ecs.h"
#include "kestrel/rules.h"
#include "loader/ecs_int.h"


struct enc {
	struct ks_ecs_ctx *ctx;
	const struct ks_event *ev;
	bool oom;
};

/* Ill-formed UTF-8 repaired into a copy (the rare case, out of line). */
static json_t *jbytes_repair(const void *p, size_t len)
{
	char stackbuf[KS_UTF8_SANITIZED_MAX(KS_PAYLOAD_MAX)], *buf = stackbuf;
	json_t *v;
	size_t n;

	if (KS_UTF8_SANITIZED_MAX(len) > sizeof(stackbuf)) {
		buf = malloc(KS_UTF8_SANITIZED_MAX(len));
		if (!buf)
			return NULL;
	}
	n = ks_utf8_sanitize(p, len, buf);
	v = json_stringn_nocheck(buf, n);
	if (buf != stackbuf)
		free(buf);
	return v;
}

/* Any bytes -> JSON string: invalid UTF-8 becomes U+FFFD, NUL \u0000. */
static json_t *jbytes(const void *p, size_t len)
{
	if (ks_utf8_valid(p, len))
		return json_stringn_nocheck(p, len);
	return jbytes_repair(p, len);
}

static json_t *jtext(const char *s)
{
	return jbytes(s, strlen(s));
}

static void put(struct enc *e, json_t *o, const char *key, json_t *v)
{
	if (!o || !v || json_object_set_new(o, key, v))
		e->oom = true;
}

/* The child object key of o, created on first use. */
static json_t *child(struct enc *e, json_t *o, const char *key)
{
	json_t *c;

	if (!o)
		return NULL;
	c = json_object_get(o, key);
	if (c)
		return c;
	c = json_object();
	put(e, o, key, c);
	return c;
}

static void put_ref(struct enc *e, json_t *o, const char *key,
		    unsigned int field)
{
	char buf[KS_PATH_MAX + 4];
	size_t len, h;
	const char *p = ks_ecs_ref_bytes(e->ev, field, &len);

	if (!p)
		return;
	if (!ks_ecs_is_path(field) || !(e->ev->truncated & (1u << field)) || len > KS_PATH_MAX) {
		put(e, o, key, jbytes(p, len));
		return;
	}
	/* a cut path: head "..." tail (the head starts the slot the tail ends) */
	h = e->ev->cut_head[KS_PATH_IDX(field)];
	if (h > KS_PATH_MAX - len)
		h = KS_PATH_MAX - len;
	if (p + len < (const char *)e->ev + KS_PATH_MAX)
		h = 0;
	memcpy(buf, p + len - KS_PATH_MAX, h);
	memcpy(buf + h, "...", 3);
	memcpy(buf + h + 3, p, len);
	put(e, o, key, jbytes(buf, h + 3 + len));
}

static void put_entity(struct enc *e, json_t *o, uint64_t key, uint32_t pid,
		       uint64_t start)
{
	char buf[64];
	const char *s = ks_ecs_intern_get(e->ctx, key);

	if (!key)
		return;
	if (s) {
		put(e, o, "entity_id", jtext(s));
		return;
	}
	ks_ecs_entity_text(e->ctx, key, pid, start, buf, sizeof(buf));
	put(e, o, "entity_id", json_string(buf));
}

/* process.command_line: the args with each separator shown as ' '. */
static void put_cmdline(struct enc *e, json_t *p, const char *a, size_t len)
{
	char buf[KS_ARGS_MAX];
	size_t i;

	if (len > sizeof(buf))
		len = sizeof(buf);
	for (i = 0; i < len; i++)
		buf[i] = a[i] ? a[i] : ' ';
	put(e, p, "command_line", jbytes(buf, len));
}

/*
 * process.args: the stored elements (NULs + 1), or [""] for an empty
 * slot when argc says there was one element.
 */
static void put_args(struct enc *e, json_t *p)
{
	const struct ks_event *ev = e->ev;
	size_t len, i, start = 0;
	const char *a = ks_ecs_ref_bytes(ev, KS_F_PROCESS_ARGS, &len);
	json_t *arr;

	if (ev->args_count)
		put(e, p, "args_count", json_integer(ev->args_count));
	if (!a || (!len && !ev->args_count))
		return;
	arr = json_array();
	for (i = 0; arr && i <= len; i++) {
		if (i < len && a[i])
			continue;
		if (json_array_append_new(arr, jbytes(a + start, i - start)))
			e->oom = true;
		start = i + 1;
	}
	put(e, p, "args", arr);
	put(e, p, "args_count", json_integer(ev->args_count));
	put_cmdline(e, p, a, len);
}

/*
 * An enriched field of a replayed record, as its line gave it (the
 * decoder keeps them in ctx->uvals by record number, scanned here
 * rather than searched): a string, or for an array field an array of
 * its NUL-separated elements (none when empty).
 */
static void ref_user(struct enc *e, json_t *o, const char *key, unsigned int field)
{
	const struct ks_ecs_user_val *v = NULL;
	const struct ks_field_info *f = ks_field_lookup(ks_ecs_user_name(field));
	size_t i, start = 0;
	json_t *arr;

	if (e->ev->source != KS_SRC_REPLAY || !e->ev->seq || !f)
		return;
	for (i = 0; i < e->ctx->n_uvals && !v; i++)
		if (e->ctx->uvals[i].seq == e->ev->seq && e->ctx->uvals[i].field == field)
			v = &e->ctx->uvals[i];
	if (!v)
		return;
	if (f->type == KS_T_NUM) {	/* noted as decimal text */
		put(e, o, key, json_integer(strtoll(v->s, NULL, 10)));
		return;
	}
	if (f->boolean) {	/* noted as "true" or "false" */
		put(e, o, key, json_boolean(v->len == 4));
		return;
	}
	if (!f->array) {
		put(e, o, key, jbytes(v->s, v->len));
		return;
	}
	arr = json_array();
	for (i = 0; arr && v->len && i <= v->len; i++) {
		if (i < v->len && v->s[i])
			continue;
		if (json_array_append_new(arr, jbytes(v->s + start, i - start)))
			e->oom = true;
		start = i + 1;
	}
	put(e, o, key, arr);
}

/*
 * A leader under key: the name the record had (field: KS_ECS_USER_N
 * for none), and (entity: not
 * KS_F_NONE) the entity_id and pid the event holds.
 */
static void ref_leader(struct enc *e, json_t *p, const char *key, unsigned int field,
		       unsigned int entity)
{
	json_t *l = child(e, p, key);
	__u64 start;
	__u32 pid;

	if (field < KS_ECS_USER_N)	/* the entry leader has no name */
		ref_user(e, l, "name", field);
	if (entity != KS_F_NONE) {
		ks_event_entity_parts(e->ev, entity, &pid, &start);
		put_entity(e, l, ks_event_entity(e->ev, entity), pid, start);
		if (pid)
			put(e, l, "pid", json_integer(pid));
	}
	if (l && !json_object_size(l))
		json_object_del(p, key);
}

/* A capability set: the names of its bits, in bit order; none if empty. */
static void ref_caps(struct enc *e, json_t *p, const char *key, uint64_t set)
{
	const char *name;
	json_t *arr;
	unsigned int b;

	if (!set)
		return;
	arr = json_array();
	for (b = 0; arr && b < 64; b++)
		if ((set >> b & 1) && (name = ks_enum_name(KS_F_CAP_EFFECTIVE, b)) &&
		    json_array_append_new(arr, json_string(name)))
			e->oom = true;
	put(e, child(e, child(e, p, "thread"), "capabilities"), key, arr);
}

static void enc_process(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	json_t *p, *pp;

	if (!(ev->present & (KS_P_PROCESS | KS_P_PARENT | KS_P_EXIT_CODE | KS_P_EUID |
			     KS_P_EGID)) && !ev->cap_effective && !ev->cap_permitted)
		return;
	p = child(e, root, "process");
	ref_caps(e, p, "effective", ev->cap_effective);
	ref_caps(e, p, "permitted", ev->cap_permitted);
	if (ev->present & KS_P_EUID)
		put(e, child(e, p, "user"), "id", json_integer(ev->euid));
	if (ev->present & KS_P_EGID)
		put(e, child(e, p, "group"), "id", json_integer(ev->egid));
	if (ev->present & KS_P_PROCESS) {
		put(e, p, "pid", json_integer(ev->pid));
		put_entity(e, p, ev->entity, ev->pid, ev->start_ns);
		put_ref(e, p, "name", KS_F_PROCESS_NAME);
		put_ref(e, p, "executable", KS_F_PROCESS_EXECUTABLE);
		put_args(e, p);
		ref_user(e, p, "working_directory", KS_ECS_U_CWD);
		ref_user(e, p, "env_vars", KS_ECS_U_ENV_VARS);
		ref_user(e, p, "interactive", KS_ECS_U_INTERACTIVE);
		ref_leader(e, p, "session_leader", KS_ECS_U_SESSION_NAME,
			   KS_F_SESSION_ENTITY_ID);
		ref_leader(e, p, "group_leader", KS_ECS_U_GROUP_NAME, KS_F_NONE);
		ref_leader(e, p, "entry_leader", KS_ECS_USER_N, KS_F_ENTRY_ENTITY_ID);
		if (ev->pid_ns && ev->pid_ns != KS_PID_NS_HOST)
			put(e, child(e, child(e, p, "entry_leader"), "entry_meta"), "type",
			    json_string("container"));
	}
	if (ev->present & KS_P_EXIT_CODE)
		put(e, p, "exit_code", json_integer(ev->exit_code));
	if (ev->present & KS_P_PARENT) {
		pp = child(e, p, "parent");
		put(e, pp, "pid", json_integer(ev->ppid));
		put_entity(e, pp, ev->parent_entity, ev->ppid,
			   ev->parent_start_ns);
		put_ref(e, pp, "name", KS_F_PARENT_NAME);
		put_ref(e, pp, "executable", KS_F_PARENT_EXECUTABLE);
		ref_user(e, pp, "args", KS_ECS_U_PARENT_ARGS);
		ref_user(e, pp, "args_count", KS_ECS_U_PARENT_ARGC);
		ref_user(e, pp, "command_line", KS_ECS_U_PARENT_CMDLINE);
		ref_user(e, pp, "interactive", KS_ECS_U_PARENT_INTERACTIVE);
		ref_user(e, pp, "working_directory", KS_ECS_U_PARENT_CWD);
		if (ev->present & KS_P_PEUID)
			put(e, child(e, pp, "user"), "id", json_integer(ev->peuid));
		if (ev->present & KS_P_PEGID)
			put(e, child(e, pp, "group"), "id", json_integer(ev->pegid));
	}
}

static void enc_file(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	json_t *f;

	if (!(ev->present & (KS_P_FILE | KS_P_ORIG)))
		return;
	f = child(e, root, "file");
	if (ev->present & KS_P_FILE) {
		put_ref(e, f, "path", KS_F_FILE_PATH);
		put_ref(e, f, "name", KS_F_FILE_NAME);
		if (ev->str[KS_F_FILE_EXTENSION].len)
			put_ref(e, f, "extension", KS_F_FILE_EXTENSION);
	}
	if (ev->present & KS_P_ORIG) {	/* a rename's source, as Elastic Defend */
		f = child(e, child(e, f, "Ext"), "original");
		put_ref(e, f, "path", KS_F_FILE_ORIG_PATH);
		put_ref(e, f, "name", KS_F_FILE_ORIG_NAME);
		if (ev->str[KS_F_FILE_ORIG_EXT].len)
			put_ref(e, f, "extension", KS_F_FILE_ORIG_EXT);
	}
}

static void put_endpoint(struct enc *e, json_t *root, const char *key,
			 const uint8_t *addr, unsigned int port)
{
	char buf[INET6_ADDRSTRLEN];
	json_t *o;

	if (ks_ecs_ip_is_zero(addr) && !port)
		return;
	o = child(e, root, key);
	if (!ks_ecs_ip_is_zero(addr)) {
		ks_ecs_ip_text(e->ev, addr, buf, sizeof(buf));
		put(e, o, "ip", json_string(buf));
	}
	if (port)
		put(e, o, "port", json_integer(port));
}

static json_t *transport_json(unsigned int proto)
{
	const char *s = ks_enum_name(KS_F_TRANSPORT, proto);
	char buf[4];

	if (s)
		return json_string(s);
	snprintf(buf, sizeof(buf), "%u", proto & 0xff);
	return json_string(buf);
}

static void enc_net(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	const char *dir;
	json_t *n;

	if (!(ev->present & KS_P_NET))
		return;
	put_endpoint(e, root, "source", ev->saddr, ev->sport);
	put_endpoint(e, root, "destination", ev->daddr, ev->dport);
	dir = ks_enum_name(KS_F_DIRECTION, ev->direction);
	if (!ev->transport && !dir)
		return;
	n = child(e, root, "network");
	if (ev->transport)
		put(e, n, "transport", transport_json(ev->transport));
	if (dir)
		put(e, n, "direction", json_string(dir));
}

static void enc_observer(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	json_t *i;

	if (!(ev->present & KS_P_IFACE) && !ev->ifindex)
		return;
	i = child(e, child(e, child(e, root, "observer"), "ingress"),
		  "interface");
	if (ev->present & KS_P_IFACE)
		put_ref(e, i, "name", KS_F_IFACE_NAME);
	if (ev->ifindex)
		put(e, i, "id", json_integer(ev->ifindex));
}

/* What ECS has no field for, under kestrel.* */
static void enc_kestrel(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	const struct ks_field_info *fi;
	const struct { const char *key; __u32 v; } ns[] = {
		{ "pid_ns", ev->pid_ns }, { "mnt_ns", ev->mnt_ns },
		{ "net_ns", ev->net_ns }, { "user_ns", ev->user_ns },
	};
	json_t *k, *cut = NULL;
	unsigned int f;

	for (f = 0; f < sizeof(ns) / sizeof(ns[0]); f++)
		if (ns[f].v)
			put(e, child(e, child(e, root, "kestrel"), "process"), ns[f].key,
			    json_integer(ns[f].v));
	if (!ev->truncated)
		return;
	k = child(e, root, "kestrel");
	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++) {
		if (!(ev->truncated & (1u << f)) || !(fi = ks_field_by_id(f)))
			continue;
		if (!cut)
			put(e, k, "truncated", cut = json_array());
		if (cut && json_array_append_new(cut, json_string(fi->name)))
			e->oom = true;
		if (ks_ecs_is_path(f))
			put(e, child(e, k, "cut_head"), fi->name,
			    json_integer(ev->cut_head[KS_PATH_IDX(f)]));
	}
}

/* container.id, what the context knows of the event's cgroup. */
static void enc_container(struct enc *e, json_t *root, const struct ks_event *ev)
{
	const char *id = ks_ecs_container(e->ctx, ev);

	if (id)
		put(e, child(e, root, "container"), "id", jtext(id));
}

/* Elastic Defend's event.type of each action, written out again here. */
static const char *ref_event_type(unsigned int act)
{
	switch (act) {
	case KS_ACT_EXEC: case KS_ACT_FORK: case KS_ACT_CONNECT: case KS_ACT_ACCEPT:
		return "start";
	case KS_ACT_EXIT:
		return "end";
	case KS_ACT_OPEN:
		return "access";
	case KS_ACT_CREATION:
		return "creation";
	case KS_ACT_DELETION:
		return "deletion";
	case KS_ACT_RENAME: case KS_ACT_MODIFICATION: case KS_ACT_UID_CHANGE:
	case KS_ACT_GID_CHANGE: case KS_ACT_SESSION_ID_CHANGE:
		return "change";
	case KS_ACT_PACKET:
		return "connection";
	case KS_ACT_ALREADY_RUNNING:
		return "info";
	default:
		return NULL;
	}
}

/* A live event's host.id: this machine's /etc/machine-id, read here again. */
static json_t *ref_machine_id(void)
{
	char id[64] = "";
	FILE *f = fopen("/etc/machine-id", "r");

	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = 0;
		fclose(f);
	}
	id[strcspn(id, "\n")] = 0;
	return id[0] ? json_string(id) : NULL;
}

static json_t *ref_event(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	struct enc e = { ctx, ev, false };
	char ts[KS_ECS_TIME_LEN];
	const char *cat = ks_ecs_category_name(ev->category);
	const char *act = ks_ecs_action_name(ev->action);
	json_t *root = json_object(), *o;

	ks_ecs_format_time(ev->ts_ns, ts);
	put(&e, root, "@timestamp", json_string(ts));
	o = child(&e, root, "event");
	if (cat)
		put(&e, o, "category", json_string(cat));
	if (act)
		put(&e, o, "action", json_string(act));
	if (ref_event_type(ev->action))
		put(&e, o, "type", json_pack("[s]", ref_event_type(ev->action)));
	put(&e, child(&e, root, "host"), "name", jtext(ks_ecs_event_host(ctx, ev)));
	if (ev->source != KS_SRC_REPLAY && (o = ref_machine_id()))
		put(&e, child(&e, root, "host"), "id", o);
	ref_user(&e, child(&e, root, "host"), "id", KS_ECS_U_HOST_ID);
	put(&e, child(&e, child(&e, root, "host"), "os"), "type", json_string("linux"));
	enc_process(&e, root);
	if (ev->present & KS_P_USER) {
		put(&e, child(&e, root, "user"), "id", json_integer(ev->uid));
		put(&e, child(&e, root, "group"), "id", json_integer(ev->gid));
		ref_user(&e, child(&e, root, "user"), "name", KS_ECS_U_USER_NAME);
	}
	enc_file(&e, root);
	enc_net(&e, root);
	enc_observer(&e, root);
	if (ev->present & KS_P_PAYLOAD)
		put_ref(&e, root, "payload", KS_F_PAYLOAD);
	enc_kestrel(&e, root);
	enc_container(&e, root, ev);
	if (e.oom) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ------------------------------------------------------------------ */
/* alerts                                                             */

static json_t *ref_strings(struct enc *e, const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (json_array_append_new(a, jtext(v[i])))
			e->oom = true;
	return a;
}

static void put_rule(struct enc *e, json_t *root,
		     const struct ks_alert_meta *meta)
{
	json_t *r = child(e, root, "rule");

	put(e, r, "id", jtext(meta->id ? meta->id : ""));
	put(e, r, "name", jtext(meta->name ? meta->name : ""));
	put(e, r, "severity",
	    jtext(meta->severity ? meta->severity : "medium"));
	put(e, r, "tags", ref_strings(e, meta->tags, meta->n_tags));
	if (meta->uuid)
		put(e, r, "uuid", jtext(meta->uuid));
	if (meta->description)
		put(e, r, "description", jtext(meta->description));
	if (meta->n_references)
		put(e, r, "reference", ref_strings(e, meta->references, meta->n_references));
}

static void ref_append(struct enc *e, json_t *o, const char *key, const char *s)
{
	json_t *a = json_object_get(o, key);

	if (!a)
		put(e, o, key, a = json_array());
	if (!a || json_array_append_new(a, s ? jtext(s) : json_null()))
		e->oom = true;
}

/* An ATT&CK entry into o.key.{id,name,reference} unless its id is there already. */
static void ref_attack(struct enc *e, json_t *o, const char *key, const struct ks_attack_ref *r)
{
	json_t *ids, *v;
	size_t i;

	if (!r->id)
		return;
	ids = json_object_get(json_object_get(o, key), "id");
	json_array_foreach(ids, i, v)
		if (!strcmp(json_string_value(v), r->id))
			return;
	o = child(e, o, key);
	ref_append(e, o, "id", r->id);
	ref_append(e, o, "name", r->name);
	ref_append(e, o, "reference", r->reference);
}

/* A name or reference array with a hole (null) in it is left out. */
static void ref_holes(json_t *o)
{
	static const char *const keys[] = { "name", "reference" };
	json_t *v;
	size_t i, k;

	for (k = 0; o && k < 2; k++)
		json_array_foreach(json_object_get(o, keys[k]), i, v)
			if (json_is_null(v)) {
				json_object_del(o, keys[k]);
				break;
			}
}

/* threat.*: subtechniques go under threat.technique if that is there. */
static void put_threat(struct enc *e, json_t *root, const struct ks_alert_meta *meta)
{
	json_t *th = json_object(), *subs = json_object(), *tech;
	const struct ks_threat *t;
	size_t i, k, m;

	for (i = 0; th && subs && i < meta->n_threats; i++) {
		t = &meta->threats[i];
		if (t->framework && !json_object_get(th, "framework"))
			put(e, th, "framework", jtext(t->framework));
		ref_attack(e, th, "tactic", &t->tactic);
		for (k = 0; k < t->n_techniques; k++) {
			ref_attack(e, th, "technique", &t->techniques[k].ref);
			for (m = 0; m < t->techniques[k].n_subs; m++)
				ref_attack(e, subs, "subtechnique", &t->techniques[k].subs[m]);
		}
	}
	ref_holes(json_object_get(th, "tactic"));
	ref_holes(tech = json_object_get(th, "technique"));
	ref_holes(json_object_get(subs, "subtechnique"));
	if (tech && json_object_get(subs, "subtechnique"))
		put(e, tech, "subtechnique", json_incref(json_object_get(subs, "subtechnique")));
	if (json_object_size(th))
		put(e, root, "threat", json_incref(th));
	json_decref(th);
	json_decref(subs);
}

static json_t *ref_alert(struct ks_ecs_ctx *ctx, const struct ks_alert_meta *meta,
			 const struct ks_event *const *events, size_t n_events,
			 const char *join_field_names[], const char *join_values[],
			 size_t n_join)
{
	const struct ks_event *last = n_events ? events[n_events - 1] : NULL;
	struct enc e = { ctx, NULL, false };
	char ts[KS_ECS_TIME_LEN];
	json_t *root, *o, *k, *arr;
	size_t i;

	if (!last && !meta->event_lost)
		return NULL;
	root = json_object();
	ks_ecs_format_time(last ? last->ts_ns : meta->ts_ns, ts);
	put(&e, root, "@timestamp", json_string(ts));
	o = child(&e, root, "event");
	put(&e, o, "kind", json_string("alert"));
	put(&e, o, "action", jtext(meta->action ? meta->action : "alert"));
	put(&e, o, "outcome", jtext(last ? ks_ecs_outcome(last) : meta->outcome ?: "unknown"));
	if (meta->risk_score >= 0)
		put(&e, o, "risk_score", json_integer(meta->risk_score));
	put_rule(&e, root, meta);
	put_threat(&e, root, meta);
	put(&e, child(&e, root, "ecs"), "version", json_string(KS_ECS_VERSION));
	put(&e, child(&e, root, "host"), "name",
	    jtext(last ? ks_ecs_event_host(ctx, last) : ks_ecs_host(ctx)));
	if (last)
		enc_container(&e, root, last);
	if (meta->event_lost)
		put(&e, root, "message", json_string(KS_ECS_LOST_MESSAGE));

	k = child(&e, root, "kestrel");
	if (meta->event_lost)
		put(&e, k, "event_lost", json_true());
	if (meta->lost_events)
		put(&e, k, "lost_events", json_integer(meta->lost_events));
	o = child(&e, k, "join");
	for (i = 0; i < n_join; i++)
		put(&e, o, join_field_names[i], jtext(join_values[i]));
	arr = json_array();
	for (i = 0; arr && i < n_events; i++)
		if (json_array_append_new(arr, ref_event(ctx, events[i])))
			e.oom = true;
	put(&e, k, "events", arr);

	if (e.oom) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Compact, keys sorted, as kload printed lines; malloc'd, NULL if j is. */
static char *ref_dump(json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

#endif /* KS_TESTS_ECS_REF_H */
