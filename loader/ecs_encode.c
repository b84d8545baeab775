// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS encoder: struct ks_event -> an Event JSON object, and the Alert
 * JSONL object, written straight into a reused buffer (struct ks_jw).
 *
 * The output is byte for byte what the jansson encoder before it printed
 * with JSON_COMPACT | JSON_SORT_KEYS (tests/test_ecs_golden.c compares
 * the two on every fixture, tests/fuzz/fuzz_alert.c on anything): so
 * every object's members are written here in strcmp order of their
 * names, and a member that was only created on the way (an empty
 * object) is still written.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/json.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"
#include "ecs_int.h"

struct enc {
	struct ks_ecs_ctx *ctx;
	struct ks_jw *w;
	const struct ks_event *ev;
};

/* A string field, a cut path as head "..." tail; nothing if out of the event. */
static void put_ref(struct enc *e, const char *key, unsigned int field)
{
	const struct ks_event *ev = e->ev;
	char buf[KS_PATH_MAX + 4];
	size_t len, h;
	const char *p = ks_ecs_ref_bytes(ev, field, &len);

	if (!p)
		return;
	if (!ks_ecs_is_path(field) || !(ev->truncated & (1u << field)) || len > KS_PATH_MAX) {
		ks_jw_str(e->w, key, p, len);
		return;
	}
	/* the head starts the slot the tail ends (none if that is not in the event) */
	h = ev->cut_head[KS_PATH_IDX(field)];
	if (h > KS_PATH_MAX - len)
		h = KS_PATH_MAX - len;
	if (p + len < (const char *)ev + KS_PATH_MAX)
		h = 0;
	memcpy(buf, p + len - KS_PATH_MAX, h);
	memcpy(buf + h, "...", 3);
	memcpy(buf + h + 3, p, len);
	ks_jw_str(e->w, key, buf, h + 3 + len);
}

static void put_entity(struct enc *e, uint64_t key, uint32_t pid, uint64_t start)
{
	const char *s = ks_ecs_intern_get(e->ctx, key);
	char buf[32];

	if (!key)
		return;
	ks_jw_cstr(e->w, "entity_id", s ?: ks_ecs_entity_pid_start(pid, start, buf));
}

/*
 * process.args: the stored elements (NULs + 1), or [""] for an empty
 * slot when argc says there was one element; args_count, and
 * command_line: the args with each separator shown as ' '.
 */
static void put_args(struct enc *e)
{
	const struct ks_event *ev = e->ev;
	size_t len, i, start = 0;
	const char *a = ks_ecs_ref_bytes(ev, KS_F_PROCESS_ARGS, &len);
	char buf[KS_ARGS_MAX];

	if (!a || (!len && !ev->args_count)) {
		if (ev->args_count)
			ks_jw_int(e->w, "args_count", ev->args_count);
		return;
	}
	ks_jw_arr(e->w, "args");
	for (i = 0; i <= len; i++) {
		if (i < len && a[i])
			continue;
		ks_jw_str(e->w, NULL, a + start, i - start);
		start = i + 1;
	}
	ks_jw_end(e->w, ']');
	ks_jw_int(e->w, "args_count", ev->args_count);
	if (len > sizeof(buf))
		len = sizeof(buf);
	for (i = 0; i < len; i++)
		buf[i] = a[i] ? a[i] : ' ';
	ks_jw_str(e->w, "command_line", buf, len);
}

/*
 * An enriched field (loader/ecs_user.c) under key: a replayed record's
 * own value, and host.id (read once) and destination.domain (a lookup
 * in memory) for a live event. Other live values are read from /proc
 * when a rule tests them, not for every event printed.
 */
static void put_user(struct enc *e, const char *key, unsigned int field)
{
	const struct ks_field_info *f = ks_ecs_user_info(field);
	const char *s, *end, *z;
	size_t len;

	if (e->ev->source != KS_SRC_REPLAY && field != KS_ECS_U_HOST_ID &&
	    field != KS_ECS_U_DEST_DOMAIN)
		return;
	if (!f || !ks_ecs_user_str(e->ctx, f, e->ev, &s, &len))
		return;
	if (f->type == KS_T_NUM) {	/* decimal text, as the decoder noted it */
		ks_jw_int(e->w, key, strtoll(s, NULL, 10));
		return;
	}
	if (f->boolean) {	/* "true" or "false" */
		ks_jw_raw(e->w, key, len == 4 ? "true" : "false");
		return;
	}
	if (!f->array) {
		ks_jw_str(e->w, key, s, len);
		return;
	}
	ks_jw_arr(e->w, key);	/* elements NUL-separated; none if empty */
	for (end = s + len; len && s <= end; s = z + 1) {
		z = memchr(s, 0, (size_t)(end - s));
		z = z ? z : end;
		ks_jw_str(e->w, NULL, s, (size_t)(z - s));
	}
	ks_jw_end(e->w, ']');
}

/*
 * key: {member: ...} when the replayed record had the enriched field:
 * process.group_leader.name, agent.id
 */
static void put_sub(struct enc *e, const char *key, const char *member, unsigned int field)
{
	const struct ks_field_info *f = ks_ecs_user_info(field);
	const char *s;
	size_t len;

	if (e->ev->source != KS_SRC_REPLAY || !ks_ecs_user_str(e->ctx, f, e->ev, &s, &len))
		return;
	ks_jw_obj(e->w, key);
	ks_jw_str(e->w, member, s, len);
	ks_jw_end(e->w, '}');
}

/*
 * process.session_leader: its entity_id and pid, which the kernel fills
 * (maps/ks_event.h), and the name a replayed record had.
 */
static void put_session_leader(struct enc *e)
{
	const struct ks_field_info *f = ks_ecs_user_info(KS_ECS_U_SESSION_NAME);
	const struct ks_event *ev = e->ev;
	const char *s;
	size_t len;
	bool name;

	name = ev->source == KS_SRC_REPLAY && ks_ecs_user_str(e->ctx, f, ev, &s, &len);
	if (!name && !ev->sl_entity && !ev->sl_pid)
		return;
	ks_jw_obj(e->w, "session_leader");
	if (ev->sl_entity)
		put_entity(e, ev->sl_entity, ev->sl_pid, ev->sl_start_ns);
	if (name)
		ks_jw_str(e->w, "name", s, len);
	if (ev->sl_pid)
		ks_jw_int(e->w, "pid", ev->sl_pid);
	ks_jw_end(e->w, '}');
}

/* process.{user,group}.id and the parent's: {"id": N} if bit is present */
static void put_cred(struct enc *e, const char *key, uint32_t bit, uint32_t id)
{
	if (!(e->ev->present & bit))
		return;
	ks_jw_obj(e->w, key);
	ks_jw_int(e->w, "id", id);
	ks_jw_end(e->w, '}');
}

static void enc_parent(struct enc *e)
{
	const struct ks_event *ev = e->ev;

	ks_jw_obj(e->w, "parent");
	put_user(e, "args", KS_ECS_U_PARENT_ARGS);
	put_user(e, "args_count", KS_ECS_U_PARENT_ARGC);
	put_user(e, "command_line", KS_ECS_U_PARENT_CMDLINE);
	put_entity(e, ev->parent_entity, ev->ppid, ev->parent_start_ns);
	put_ref(e, "executable", KS_F_PARENT_EXECUTABLE);
	put_cred(e, "group", KS_P_PEGID, ev->pegid);
	put_user(e, "interactive", KS_ECS_U_PARENT_INTERACTIVE);
	put_ref(e, "name", KS_F_PARENT_NAME);
	ks_jw_int(e->w, "pid", ev->ppid);
	put_cred(e, "user", KS_P_PEUID, ev->peuid);
	put_user(e, "working_directory", KS_ECS_U_PARENT_CWD);
	ks_jw_end(e->w, '}');
}

/* One capability set as Elastic Defend writes it: the names of its bits. */
static void put_caps(struct enc *e, const char *key, uint64_t set)
{
	const char *name;
	unsigned int b;

	if (!set)
		return;	/* empty: null, as Defend's [] */
	ks_jw_arr(e->w, key);
	for (b = 0; b < 64; b++)
		if (set >> b & 1 && (name = ks_enum_name(KS_F_CAP_EFFECTIVE, b)))
			ks_jw_cstr(e->w, NULL, name);
	ks_jw_end(e->w, ']');
}

/* process.thread.capabilities.{effective,permitted} */
static void enc_thread(struct enc *e)
{
	const struct ks_event *ev = e->ev;

	if (!ev->cap_effective && !ev->cap_permitted)
		return;
	ks_jw_obj(e->w, "thread");
	ks_jw_obj(e->w, "capabilities");
	put_caps(e, "effective", ev->cap_effective);
	put_caps(e, "permitted", ev->cap_permitted);
	ks_jw_end(e->w, '}');
	ks_jw_end(e->w, '}');
}

/*
 * process.entry_leader: its entity_id and pid (the kernel's, maps/
 * ks_event.h) and entry_meta.type "container" for a process in a pid
 * namespace other than the host's; of a host process Kestrel cannot tell
 * which of Defend's other kinds it is, so it writes none.
 */
static void enc_entry_leader(struct enc *e)
{
	const struct ks_event *ev = e->ev;
	bool container = ev->pid_ns && ev->pid_ns != KS_PID_NS_HOST;

	if (!container && !ev->el_entity && !ev->el_pid)
		return;
	ks_jw_obj(e->w, "entry_leader");
	if (ev->el_entity)
		put_entity(e, ev->el_entity, ev->el_pid, ev->el_start_ns);
	if (container) {
		ks_jw_obj(e->w, "entry_meta");
		ks_jw_cstr(e->w, "type", "container");
		ks_jw_end(e->w, '}');
	}
	if (ev->el_pid)
		ks_jw_int(e->w, "pid", ev->el_pid);
	ks_jw_end(e->w, '}');
}

static void enc_process(struct enc *e)
{
	const struct ks_event *ev = e->ev;
	bool proc = ev->present & KS_P_PROCESS;

	if (!(ev->present & (KS_P_PROCESS | KS_P_PARENT | KS_P_EXIT_CODE | KS_P_EUID |
			     KS_P_EGID)) && !ev->cap_effective && !ev->cap_permitted)
		return;
	ks_jw_obj(e->w, "process");
	if (proc) {
		put_args(e);
		put_entity(e, ev->entity, ev->pid, ev->start_ns);
		enc_entry_leader(e);
		put_user(e, "env_vars", KS_ECS_U_ENV_VARS);
		put_ref(e, "executable", KS_F_PROCESS_EXECUTABLE);
	}
	if (ev->present & KS_P_EXIT_CODE)
		ks_jw_int(e->w, "exit_code", ev->exit_code);
	put_cred(e, "group", KS_P_EGID, ev->egid);
	if (proc) {
		put_sub(e, "group_leader", "name", KS_ECS_U_GROUP_NAME);
		put_user(e, "interactive", KS_ECS_U_INTERACTIVE);
		put_ref(e, "name", KS_F_PROCESS_NAME);
	}
	if (ev->present & KS_P_PARENT)
		enc_parent(e);
	if (proc) {
		ks_jw_int(e->w, "pid", ev->pid);
		put_session_leader(e);
	}
	enc_thread(e);
	put_cred(e, "user", KS_P_EUID, ev->euid);
	if (proc)
		put_user(e, "working_directory", KS_ECS_U_CWD);
	ks_jw_end(e->w, '}');
}

/* path, name and extension (when there is one) of a file, keys in order */
static void put_file_names(struct enc *e, unsigned int path, unsigned int name,
			   unsigned int ext)
{
	if (e->ev->str[ext].len)
		put_ref(e, "extension", ext);
	put_ref(e, "name", name);
	put_ref(e, "path", path);
}

/*
 * file.*: a rename as Elastic Defend writes it, file.path the new path
 * and file.Ext.original.* the old one ("Ext" sorts before the others).
 */
static void enc_file(struct enc *e)
{
	const struct ks_event *ev = e->ev;

	if (!(ev->present & (KS_P_FILE | KS_P_ORIG)))
		return;
	ks_jw_obj(e->w, "file");
	if (ev->present & KS_P_ORIG) {
		ks_jw_obj(e->w, "Ext");
		ks_jw_obj(e->w, "original");
		put_file_names(e, KS_F_FILE_ORIG_PATH, KS_F_FILE_ORIG_NAME, KS_F_FILE_ORIG_EXT);
		ks_jw_end(e->w, '}');
		ks_jw_end(e->w, '}');
	}
	if (ev->present & KS_P_FILE)
		put_file_names(e, KS_F_FILE_PATH, KS_F_FILE_NAME, KS_F_FILE_EXTENSION);
	ks_jw_end(e->w, '}');
}

static void put_endpoint(struct enc *e, const char *key, const uint8_t *addr,
			 unsigned int port)
{
	char buf[INET6_ADDRSTRLEN];
	bool zero = ks_ecs_ip_is_zero(addr);

	if (!(e->ev->present & KS_P_NET) || (zero && !port))
		return;
	ks_jw_obj(e->w, key);
	if (addr == e->ev->daddr)	/* keys sorted: domain, ip, port */
		put_user(e, "domain", KS_ECS_U_DEST_DOMAIN);
	if (!zero) {
		ks_ecs_ip_text(e->ev, addr, buf, sizeof(buf));
		ks_jw_cstr(e->w, "ip", buf);
	}
	if (port)
		ks_jw_int(e->w, "port", port);
	ks_jw_end(e->w, '}');
}

static void enc_network(struct enc *e)
{
	const struct ks_event *ev = e->ev;
	const char *dir = ks_enum_name(KS_F_DIRECTION, ev->direction), *t;
	char buf[4];

	if (!(ev->present & KS_P_NET) || (!ev->transport && !dir))
		return;
	ks_jw_obj(e->w, "network");
	if (dir)
		ks_jw_cstr(e->w, "direction", dir);
	if (ev->transport) {
		t = ks_enum_name(KS_F_TRANSPORT, ev->transport);
		if (!t) {
			snprintf(buf, sizeof(buf), "%u", ev->transport & 0xff);
			t = buf;
		}
		ks_jw_cstr(e->w, "transport", t);
	}
	ks_jw_end(e->w, '}');
}

static void enc_observer(struct enc *e)
{
	const struct ks_event *ev = e->ev;

	if (!(ev->present & KS_P_IFACE) && !ev->ifindex)
		return;
	ks_jw_obj(e->w, "observer");
	ks_jw_obj(e->w, "ingress");
	ks_jw_obj(e->w, "interface");
	if (ev->ifindex)
		ks_jw_int(e->w, "id", ev->ifindex);
	if (ev->present & KS_P_IFACE)
		put_ref(e, "name", KS_F_IFACE_NAME);
	ks_jw_end(e->w, '}');
	ks_jw_end(e->w, '}');
	ks_jw_end(e->w, '}');
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct ks_field_info *const *)a)->name,
		      (*(const struct ks_field_info *const *)b)->name);
}

/* kestrel.process.*_ns: the namespaces the kernel read (0: unknown). */
static void enc_ns(struct enc *e)
{
	static const char *const keys[] = { "mnt_ns", "net_ns", "pid_ns", "user_ns" };
	const struct ks_event *ev = e->ev;
	const __u32 v[] = { ev->mnt_ns, ev->net_ns, ev->pid_ns, ev->user_ns };
	size_t i;

	ks_jw_obj(e->w, "process");
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (v[i])
			ks_jw_int(e->w, keys[i], v[i]);
	ks_jw_end(e->w, '}');
}

/* container.id, when the event's cgroup is a container's. */
static void enc_container(struct ks_ecs_ctx *ctx, struct ks_jw *w, const struct ks_event *ev)
{
	const char *id = ks_ecs_container(ctx, ev);

	if (!id)
		return;
	ks_jw_obj(w, "container");
	ks_jw_cstr(w, "id", id);
	ks_jw_end(w, '}');
}

/* What ECS has no field for, under kestrel.* (keys sorted). */
static void enc_kestrel(struct enc *e)
{
	const struct ks_event *ev = e->ev;
	const struct ks_field_info *fi, *trunc[KS_F_STR_N], *cut[KS_F_STR_N];
	size_t n_trunc = 0, n_cut = 0, i;
	unsigned int f;

	if (!ev->pid_ns && !ev->mnt_ns && !ev->net_ns && !ev->user_ns && !ev->truncated)
		return;
	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++) {
		if (!(ev->truncated & (1u << f)) || !(fi = ks_field_by_id(f)))
			continue;
		trunc[n_trunc++] = fi;
		if (ks_ecs_is_path(f))
			cut[n_cut++] = fi;
	}
	qsort(cut, n_cut, sizeof(cut[0]), name_cmp);
	ks_jw_obj(e->w, "kestrel");
	if (n_cut) {
		ks_jw_obj(e->w, "cut_head");
		for (i = 0; i < n_cut; i++)
			ks_jw_int(e->w, cut[i]->name, ev->cut_head[KS_PATH_IDX(cut[i]->id)]);
		ks_jw_end(e->w, '}');
	}
	if (ev->pid_ns || ev->mnt_ns || ev->net_ns || ev->user_ns)
		enc_ns(e);
	if (n_trunc) {
		ks_jw_arr(e->w, "truncated");
		for (i = 0; i < n_trunc; i++)
			ks_jw_cstr(e->w, NULL, trunc[i]->name);
		ks_jw_end(e->w, ']');
	}
	ks_jw_end(e->w, '}');
}

static void enc_head(struct enc *e, uint64_t ts_ns)
{
	char ts[KS_ECS_TIME_LEN];

	ks_ecs_format_time(ts_ns, ts);
	ks_jw_cstr(e->w, "@timestamp", ts);
}

static void enc_host(struct enc *e, const struct ks_event *ev)
{
	ks_jw_obj(e->w, "host");
	put_user(e, "id", KS_ECS_U_HOST_ID);
	ks_jw_cstr(e->w, "name", ks_ecs_event_host(e->ctx, ev));
	ks_jw_obj(e->w, "os");
	ks_jw_cstr(e->w, "type", KS_HOST_OS_TYPE);
	ks_jw_end(e->w, '}');
	ks_jw_end(e->w, '}');
}

static void put_id(struct ks_jw *w, const char *key, uint32_t id)
{
	ks_jw_obj(w, key);
	ks_jw_int(w, "id", id);
	ks_jw_end(w, '}');
}

void ks_ecs_event_json(struct ks_ecs_ctx *ctx, struct ks_jw *w, const struct ks_event *ev)
{
	struct enc e = { ctx, w, ev };
	const char *cat = ks_ecs_category_name(ev->category);
	const char *act = ks_ecs_action_name(ev->action);
	bool user = ev->present & KS_P_USER;

	ks_jw_obj(w, NULL);
	enc_head(&e, ev->ts_ns);
	put_sub(&e, "agent", "id", KS_ECS_U_AGENT_ID);
	enc_container(ctx, w, ev);
	put_endpoint(&e, "destination", ev->daddr, ev->dport);
	ks_jw_obj(w, "event");
	if (act)
		ks_jw_cstr(w, "action", act);
	if (cat)
		ks_jw_cstr(w, "category", cat);
	if (ks_event_type_name(ev->action)) {	/* Elastic Defend's array */
		ks_jw_arr(w, "type");
		ks_jw_cstr(w, NULL, ks_event_type_name(ev->action));
		ks_jw_end(w, ']');
	}
	ks_jw_end(w, '}');
	enc_file(&e);
	if (user)
		put_id(w, "group", ev->gid);
	enc_host(&e, ev);
	enc_kestrel(&e);
	enc_network(&e);
	enc_observer(&e);
	if (ev->present & KS_P_PAYLOAD)
		put_ref(&e, "payload", KS_F_PAYLOAD);
	enc_process(&e);
	put_endpoint(&e, "source", ev->saddr, ev->sport);
	if (user) {
		ks_jw_obj(w, "user");
		ks_jw_int(w, "id", ev->uid);
		put_user(&e, "name", KS_ECS_U_USER_NAME);
		ks_jw_end(w, '}');
	}
	ks_jw_end(w, '}');
}

/* ------------------------------------------------------------------ */
/* alerts                                                             */

const char *ks_ecs_outcome(const struct ks_event *ev)
{
	/* A killed process may also have had its operation denied. */
	if (ev->verdict.flags & KS_V_KILLED)
		return "killed";
	if (ev->verdict.flags & KS_V_DENIED)
		return "blocked";
	return "success";
}

static void put_strings(struct ks_jw *w, const char *key, const char *const *v, size_t n)
{
	size_t i;

	ks_jw_arr(w, key);
	for (i = 0; i < n; i++)
		ks_jw_cstr(w, NULL, v[i]);
	ks_jw_end(w, ']');
}

/*
 * rule.*: id, name, severity and tags always; description, reference
 * (an array) and uuid (an Elastic rule's rule_id) when the rule has them.
 */
static void put_rule(struct ks_jw *w, const struct ks_alert_meta *meta)
{
	ks_jw_obj(w, "rule");
	if (meta->description)
		ks_jw_cstr(w, "description", meta->description);
	ks_jw_cstr(w, "id", meta->id ? meta->id : "");
	ks_jw_cstr(w, "name", meta->name ? meta->name : "");
	if (meta->n_references)
		put_strings(w, "reference", meta->references, meta->n_references);
	ks_jw_cstr(w, "severity", meta->severity ?: ks_severity_name(KS_SEV_MEDIUM));
	put_strings(w, "tags", meta->tags, meta->n_tags);
	if (meta->uuid)
		ks_jw_cstr(w, "uuid", meta->uuid);
	ks_jw_end(w, '}');
}

/* The distinct (by id) tactics, techniques or subtechniques of a rule's threats. */
struct refset {
	const struct ks_attack_ref **v;
	size_t n;
};

static void refset_add(struct refset *s, const struct ks_attack_ref *r)
{
	size_t i;

	if (!r->id)
		return;
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i]->id, r->id))
			return;
	s->v[s->n++] = r;
}

enum { REF_ID, REF_NAME, REF_URL };

static const char *ref_part(const struct ks_attack_ref *r, int part)
{
	return part == REF_ID ? r->id : part == REF_NAME ? r->name : r->reference;
}

/* One part of every entry, as an array; none if an entry lacks it (they would not line up). */
static void put_parts(struct ks_jw *w, const char *key, const struct refset *s, int part)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!ref_part(s->v[i], part))
			return;
	ks_jw_arr(w, key);
	for (i = 0; i < s->n; i++)
		ks_jw_cstr(w, NULL, ref_part(s->v[i], part));
	ks_jw_end(w, ']');
}

/* ECS puts the id, name and reference of the entries in parallel arrays. */
static void put_refs(struct ks_jw *w, const char *key, const struct refset *s,
		     const struct refset *subs)
{
	if (!s->n)
		return;
	ks_jw_obj(w, key);
	put_parts(w, "id", s, REF_ID);
	put_parts(w, "name", s, REF_NAME);
	put_parts(w, "reference", s, REF_URL);
	if (subs)
		put_refs(w, "subtechnique", subs, NULL);
	ks_jw_end(w, '}');
}

/* Every tactic (set[0]), technique (set[1]) and subtechnique (set[2]) once. */
static void collect_refs(const struct ks_alert_meta *meta, struct refset set[3])
{
	const struct ks_threat *t;
	size_t i, k, m;

	for (i = 0; i < meta->n_threats; i++) {
		t = &meta->threats[i];
		refset_add(&set[0], &t->tactic);
		for (k = 0; k < t->n_techniques; k++) {
			refset_add(&set[1], &t->techniques[k].ref);
			for (m = 0; m < t->techniques[k].n_subs; m++)
				refset_add(&set[2], &t->techniques[k].subs[m]);
		}
	}
}

/*
 * threat.*: the first framework named, and the rule's ATT&CK entries
 * (subtechniques under threat.technique). The sets point into one array
 * with room for every entry: on the stack unless the rule has many.
 */
static void put_threat(struct ks_jw *w, const struct ks_alert_meta *meta)
{
	const struct ks_attack_ref *stack[64], **v = stack;
	const char *framework = NULL;
	struct refset set[3] = {};
	size_t n[3] = {}, i, k;

	for (i = 0; i < meta->n_threats; i++) {
		framework = framework ?: meta->threats[i].framework;
		n[0]++;
		n[1] += meta->threats[i].n_techniques;
		for (k = 0; k < meta->threats[i].n_techniques; k++)
			n[2] += meta->threats[i].techniques[k].n_subs;
	}
	if (n[0] + n[1] + n[2] > ARRAY_SIZE(stack) &&
	    !(v = calloc(n[0] + n[1] + n[2], sizeof(*v)))) {
		w->oom = true;
		return;
	}
	set[0].v = v;
	set[1].v = v + n[0];
	set[2].v = v + n[0] + n[1];
	collect_refs(meta, set);
	if (framework || set[0].n || set[1].n) {
		ks_jw_obj(w, "threat");
		if (framework)
			ks_jw_cstr(w, "framework", framework);
		put_refs(w, "tactic", &set[0], NULL);
		put_refs(w, "technique", &set[1], &set[2]);
		ks_jw_end(w, '}');
	}
	if (v != stack)
		free(v);
}

/* kestrel.join: names sorted; a name given twice keeps its last value. */
static void put_join(struct ks_jw *w, const char *names[], const char *values[], size_t n)
{
	size_t order[KS_MAX_JOIN], i, j, k, m = 0;

	for (i = 0; i < n && m < KS_MAX_JOIN; i++) {
		for (j = 0; j < m && strcmp(names[order[j]], names[i]); j++)
			;
		if (j < m) {
			order[j] = i;	/* the later value replaces */
			continue;
		}
		for (k = m++; k > 0 && strcmp(names[order[k - 1]], names[i]) > 0; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	ks_jw_obj(w, "join");
	for (i = 0; i < m; i++)
		ks_jw_cstr(w, names[order[i]], values[order[i]]);
	ks_jw_end(w, '}');
}

int ks_ecs_alert_json(struct ks_ecs_ctx *ctx, struct ks_jw *w,
		      const struct ks_alert_meta *meta,
		      const struct ks_event *const *events, size_t n_events,
		      const char *join_field_names[], const char *join_values[],
		      size_t n_join)
{
	const struct ks_event *last = meta->completing ? meta->completing :
				      n_events ? events[n_events - 1] : NULL;
	struct enc e = { ctx, w, NULL };
	size_t i;

	if (!last && !meta->event_lost)
		return -1;
	ks_jw_obj(w, NULL);
	enc_head(&e, last ? last->ts_ns : meta->ts_ns);
	if (last)	/* the completing event's, as host.name */
		enc_container(ctx, w, last);
	ks_jw_obj(w, "ecs");
	ks_jw_cstr(w, "version", KS_ECS_VERSION);
	ks_jw_end(w, '}');
	ks_jw_obj(w, "event");
	ks_jw_cstr(w, "action", meta->action ?: ks_rule_action_name(KS_RA_ALERT));
	ks_jw_cstr(w, "kind", "alert");
	ks_jw_cstr(w, "outcome", last ? ks_ecs_outcome(last) : meta->outcome ?: "unknown");
	if (meta->risk_score >= 0)
		ks_jw_int(w, "risk_score", meta->risk_score);
	ks_jw_end(w, '}');
	ks_jw_obj(w, "host");
	ks_jw_cstr(w, "name", last ? ks_ecs_event_host(ctx, last) : ks_ecs_host(ctx));
	ks_jw_end(w, '}');
	ks_jw_obj(w, "kestrel");
	if (meta->event_lost)
		ks_jw_raw(w, "event_lost", "true");
	ks_jw_arr(w, "events");
	for (i = 0; i < n_events; i++)
		ks_ecs_event_json(ctx, w, events[i]);
	ks_jw_end(w, ']');
	put_join(w, join_field_names, join_values, n_join);
	if (meta->lost_events)
		ks_jw_int(w, "lost_events", (int64_t)meta->lost_events);
	ks_jw_end(w, '}');
	if (meta->event_lost)
		ks_jw_cstr(w, "message", KS_ECS_LOST_MESSAGE);
	put_rule(w, meta);
	put_threat(w, meta);
	ks_jw_end(w, '}');
	return w->oom ? -1 : 0;
}
