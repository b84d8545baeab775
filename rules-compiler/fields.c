// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Field catalogue: every ECS field a rule may test, its enum ks_field id,
 * type, the KS_P_* bit that makes it non-null and, for numbers, the
 * values the event's member can hold. The kernel-filled fields come from
 * their one list in maps/ks_fields.h; the entries written here are those
 * kload fills (KS_F_NONE) or that have no scalar member (entity ids,
 * addresses).
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <linux/capability.h>

#include "ast.h"

#define F(n, i, t, p) { .name = n, .id = i, .type = t, .present = p }
/* a userspace string kload's NFA can join on (ks_field_info.join) */
#define FJ(n, p) { .name = n, .id = KS_F_NONE, .type = KS_T_USER_STR, .present = p, \
		   .join = true }
/* the kernel-filled fields, from their one list (maps/ks_fields.h) */
#define NUM_FIELD(id_, name_, type_, member, pbit, nonzero, lo, hi)	\
	{ .name = name_, .id = id_, .type = KS_T_##type_, .present = pbit, \
	  .min = lo, .max = hi, .array = KS_FIELD_BITSET(id_) },
/* another name of a 32-bit id the kernel fills */
#define N(n, i, p)	{ .name = n, .id = i, .type = KS_T_NUM, .present = p, \
			  .min = 0, .max = UINT32_MAX }
#define STR_FIELD(id_, name_, type_, pbit)				\
	F(name_, id_, KS_T_##type_, pbit),

static const struct ks_field_info fields[] = {
	KS_NUM_FIELDS(NUM_FIELD)
	KS_STR_FIELDS(STR_FIELD)
	F("process.entity_id", KS_F_ENTITY_ID, KS_T_ENTITY, KS_P_PROCESS),
	F("process.parent.entity_id", KS_F_PARENT_ENTITY_ID, KS_T_ENTITY,
	  KS_P_PARENT),
	/*
	 * The entity ids of the session's leader and of the entry leader
	 * (maps/ks_event.h: the host's session leader, or a container's
	 * init), kernel-filled with the formula of the leader's own
	 * process.entity_id, so events of different processes of one
	 * session join on them.
	 */
	F("process.session_leader.entity_id", KS_F_SESSION_ENTITY_ID, KS_T_ENTITY,
	  KS_P_PROCESS),
	F("process.entry_leader.entity_id", KS_F_ENTRY_ENTITY_ID, KS_T_ENTITY,
	  KS_P_PROCESS),
	F("source.ip", KS_F_SOURCE_IP, KS_T_IP, KS_P_NET),
	F("destination.ip", KS_F_DEST_IP, KS_T_IP, KS_P_NET),
	/*
	 * Not filled by the kernel: kload reads it from /proc/PPID/cmdline
	 * live and takes the record's value in replay (loader/ecs_user.c);
	 * null when the parent is gone. Sigma's ParentCommandLine maps here.
	 */
	FJ("process.parent.command_line", KS_P_PARENT),
	/*
	 * Other names of kernel-filled ids, after theirs (ks_field_by_id and
	 * the printer use the first): user.id and group.id are the task's
	 * real ids (Elastic Defend's process.real_user.id, Endgame's
	 * user.Ext.real.id); process.user.id the effective one, which ECS
	 * also calls user.effective.id.
	 */
	N("process.real_user.id", KS_F_USER_ID, KS_P_USER),
	N("process.real_group.id", KS_F_GROUP_ID, KS_P_USER),
	N("user.Ext.real.id", KS_F_USER_ID, KS_P_USER),
	N("group.Ext.real.id", KS_F_GROUP_ID, KS_P_USER),
	N("user.effective.id", KS_F_EUID, KS_P_EUID),
	N("group.effective.id", KS_F_EGID, KS_P_EGID),
	/*
	 * Elastic Defend's event.type array is a function of the action
	 * (types[] below): a test on it is a test on event.action, which the
	 * kernel decides. After event.action, so ks_field_by_id finds that.
	 */
	F("event.type", KS_F_ACTION, KS_T_ENUM, 0),
	/*
	 * Elastic Defend's data_stream.dataset is a function of the category
	 * (datasets[] below): a test on it is a test on event.category, which
	 * the compiler folds against the step's category, as it does a test
	 * of event.category.
	 */
	F("data_stream.dataset", KS_F_CATEGORY, KS_T_ENUM, 0),
	F("host.name", KS_F_NONE, KS_T_USER_STR, 0),
	/*
	 * "linux" on every host Kestrel runs on (a Linux detector): the
	 * parser decides a comparison with it when compiling (--explain says
	 * so); any other test reads that constant in userspace.
	 */
	F("host.os.type", KS_F_NONE, KS_T_USER_STR, 0),
	/*
	 * Userspace-enriched, so alert-only (the kernel never decides a test
	 * on them; --explain says a step is finished in userspace): the
	 * replayed record's value, or what kload reads when it evaluates a
	 * live event (loader/ecs_user.c): host.id /etc/machine-id,
	 * process.working_directory /proc/PID/cwd, process.parent.args
	 * /proc/PPID/cmdline, user.name the passwd entry of user.id. Null
	 * when the process is gone or the entry unknown.
	 */
	F("host.id", KS_F_NONE, KS_T_USER_STR, 0),
	/*
	 * Kestrel's own identity as Elastic's agent.id is the Elastic Agent's:
	 * a random UUID drawn once per kload process (rules-compiler/interp.c),
	 * so one value for every event a kload sees, as host.id; a replayed
	 * record's own value. Alert-only like host.id.
	 */
	F("agent.id", KS_F_NONE, KS_T_USER_STR, 0),
	FJ("process.working_directory", KS_P_PROCESS),
	{ .name = "process.parent.args", .id = KS_F_NONE, .type = KS_T_USER_STR,
	  .present = KS_P_PARENT, .array = true },
	/*
	 * Also userspace-enriched: process.parent.args_count, the number of
	 * elements of /proc/PPID/cmdline (a number kload gives the
	 * interpreter as decimal text); process.env_vars, Elastic Defend's
	 * "NAME=value" array, every variable of /proc/PID/environ (Defend
	 * captures those its policy lists; a test on one it lists sees the
	 * same element here).
	 */
	{ .name = "process.parent.args_count", .id = KS_F_NONE, .type = KS_T_NUM,
	  .present = KS_P_PARENT, .min = 0, .max = UINT32_MAX },
	{ .name = "process.env_vars", .id = KS_F_NONE, .type = KS_T_USER_STR,
	  .present = KS_P_PROCESS, .array = true },
	/*
	 * Userspace-enriched too, from /proc live: the parent's
	 * working_directory (/proc/PPID/cwd); process.interactive and the
	 * parent's, Elastic's boolean (ECS: the process's stdin and stderr are
	 * its controlling terminal; /proc/PID/stat's tty_nr and the devices
	 * of /proc/PID/fd/0 and 2), a value the interpreter reads as the text
	 * "true" or "false"; process.session_leader.name and
	 * process.group_leader.name, the name (executable's basename, as
	 * process.name) of the process whose pid is the session id (the
	 * process group id) in /proc/PID/stat, null once it has gone.
	 */
	FJ("process.parent.working_directory", KS_P_PARENT),
	{ .name = "process.interactive", .id = KS_F_NONE, .type = KS_T_USER_STR,
	  .present = KS_P_PROCESS, .boolean = true },
	{ .name = "process.parent.interactive", .id = KS_F_NONE,
	  .type = KS_T_USER_STR, .present = KS_P_PARENT, .boolean = true },
	FJ("process.session_leader.name", KS_P_PROCESS),
	FJ("process.group_leader.name", KS_P_PROCESS),
	FJ("user.name", KS_P_USER),
	/*
	 * kload derives it from the cgroup the kernel names (loader/
	 * container.c): a test on it is finished in userspace, never
	 * kernel-exact. Null outside a container.
	 */
	F("container.id", KS_F_NONE, KS_T_USER_STR, 0),
	/*
	 * Elastic Defend's kind of the session's entry leader: the parser
	 * turns every test of it into the equal test of the kernel's
	 * kestrel.process.pid_ns ("container": not the host's pid namespace;
	 * compare.c), so the kernel decides it. No event carries it as such.
	 */
	F("process.entry_leader.entry_meta.type", KS_F_NONE, KS_T_USER_STR,
	  KS_P_PROCESS),
	/*
	 * The name the host resolved to the destination address: kload
	 * learns it from the DNS answers the host receives (loader/dns.c,
	 * bpf/hook_dns.bpf.c ks_all_dns), never from a reverse lookup. A test
	 * on it is finished in userspace (alert-only); null when no answer
	 * named the address within its lifetime.
	 */
	F("destination.domain", KS_F_NONE, KS_T_USER_STR, KS_P_NET),
	/*
	 * Kestrel's name of a rename's new path before it took Elastic
	 * Defend's model (file.path the new path, file.Ext.original.* the
	 * old): file.path on a rename, null on every other event. The parser
	 * turns every test of it into that (compare.c), so the kernel decides
	 * it; no event carries it as such.
	 */
	F("file.target_path", KS_F_NONE, KS_T_USER_STR, KS_P_FILE),
};

static const struct ks_enum_val categories[] = {
	{ "process", KS_CAT_PROCESS },
	{ "file", KS_CAT_FILE },
	{ "network", KS_CAT_NETWORK },
};

#define ALIAS(n, v)	{ .name = n, .value = v, .alias = true }

/*
 * data_stream.dataset as Elastic Defend sets it for its events of each
 * category (Kestrel's XDP packets, category network, are in
 * endpoint.events.network too), then the datasets of other sources
 * Elastic's rules name beside Defend's (the agent's other integrations):
 * no Kestrel event is in one of those.
 */
static const struct ks_enum_val datasets[] = {
	{ "endpoint.events.process", KS_CAT_PROCESS },
	{ "endpoint.events.file", KS_CAT_FILE },
	{ "endpoint.events.network", KS_CAT_NETWORK },
	ALIAS("endpoint.events.security", KS_ENUM_NEVER),
	ALIAS("endpoint.events.library", KS_ENUM_NEVER),
	ALIAS("endpoint.events.api", KS_ENUM_NEVER),
	ALIAS("endpoint.alerts", KS_ENUM_NEVER),
	ALIAS("auditd_manager.auditd", KS_ENUM_NEVER),
	ALIAS("auditd.log", KS_ENUM_NEVER),
	ALIAS("network_traffic.http", KS_ENUM_NEVER),
	ALIAS("network_traffic.dns", KS_ENUM_NEVER),
	ALIAS("network_traffic.flow", KS_ENUM_NEVER),
	ALIAS("system.auth", KS_ENUM_NEVER),
	ALIAS("system.syslog", KS_ENUM_NEVER),
};

/*
 * The names events carry first, Elastic Defend's (the printer and
 * --explain use the first name of a value), then Kestrel's first names of
 * the same events (exit, connect, accept), then
 * values other ECS sources (Elastic Defend's events Kestrel does not
 * emit, Endgame, Auditbeat, auditd_manager, CrowdStrike, SentinelOne)
 * put in event.action: Elastic's rules list them beside Defend's, and no
 * Kestrel event holds one, so they are KS_ENUM_NEVER. Both are aliases:
 * equality finds them; wildcards and functions match the names events
 * carry.
 */
static const struct ks_enum_val actions[] = {
	{ "exec", KS_ACT_EXEC },
	{ "end", KS_ACT_EXIT },
	{ "fork", KS_ACT_FORK },
	{ "open", KS_ACT_OPEN },
	{ "creation", KS_ACT_CREATION },
	{ "deletion", KS_ACT_DELETION },
	{ "rename", KS_ACT_RENAME },
	{ "modification", KS_ACT_MODIFICATION },
	{ "connection_attempted", KS_ACT_CONNECT },
	{ "connection_accepted", KS_ACT_ACCEPT },
	{ "packet", KS_ACT_PACKET },
	{ "uid_change", KS_ACT_UID_CHANGE },
	{ "gid_change", KS_ACT_GID_CHANGE },
	{ "session_id_change", KS_ACT_SESSION_ID_CHANGE },
	/* userspace-only: a process running when kload attached */
	{ "already_running", KS_ACT_ALREADY_RUNNING },
	/* Kestrel's first names of the same events */
	ALIAS("exit", KS_ACT_EXIT),
	ALIAS("connect", KS_ACT_CONNECT),
	ALIAS("accept", KS_ACT_ACCEPT),
	/* Elastic Defend's, not emitted by Kestrel */
	ALIAS("disconnect_received", KS_ENUM_NEVER),
	ALIAS("load_module", KS_ENUM_NEVER),
	ALIAS("ptrace", KS_ENUM_NEVER),
	ALIAS("memfd_create", KS_ENUM_NEVER),
	ALIAS("shmget", KS_ENUM_NEVER),
	/* Endgame */
	ALIAS("exec_event", KS_ENUM_NEVER),
	ALIAS("fork_event", KS_ENUM_NEVER),
	ALIAS("file_create_event", KS_ENUM_NEVER),
	ALIAS("file_rename_event", KS_ENUM_NEVER),
	ALIAS("file_delete_event", KS_ENUM_NEVER),
	/* Auditbeat, auditd_manager */
	ALIAS("executed", KS_ENUM_NEVER),
	ALIAS("process_started", KS_ENUM_NEVER),
	ALIAS("start", KS_ENUM_NEVER),
	ALIAS("guid_change", KS_ENUM_NEVER),
	ALIAS("deleted", KS_ENUM_NEVER),
	ALIAS("opened-file", KS_ENUM_NEVER),
	ALIAS("wrote-to-file", KS_ENUM_NEVER),
	ALIAS("connected-to", KS_ENUM_NEVER),
	ALIAS("bound-socket", KS_ENUM_NEVER),
	ALIAS("killed-pid", KS_ENUM_NEVER),
	ALIAS("loaded-kernel-module", KS_ENUM_NEVER),
	ALIAS("changed-password", KS_ENUM_NEVER),
	ALIAS("changed-file-ownership-of", KS_ENUM_NEVER),
	ALIAS("violated-apparmor-policy", KS_ENUM_NEVER),
	ALIAS("user_login", KS_ENUM_NEVER),
	ALIAS("ssh_login", KS_ENUM_NEVER),
	/* CrowdStrike FDR */
	ALIAS("ProcessRollup2", KS_ENUM_NEVER),
};

/*
 * event.type as Elastic Defend sets it on Linux for each action Kestrel
 * emits (a one-element array: process exec/fork "start", end "end";
 * file creation "creation", deletion "deletion", rename and
 * modification "change"; network connection_attempted/accepted
 * "start"; the process's uid_change, gid_change, session_id_change
 * "change"). Kestrel's own open is ECS "access", its XDP packet
 * "connection". already_running (Defend's, which kload reads from /proc
 * at attach) is "info". The other ECS event.type values are no Kestrel
 * event's.
 */
static const struct ks_enum_val types[] = {
	{ "start", KS_ACT_EXEC },
	{ "start", KS_ACT_FORK },
	{ "start", KS_ACT_CONNECT },
	{ "start", KS_ACT_ACCEPT },
	{ "end", KS_ACT_EXIT },
	{ "access", KS_ACT_OPEN },
	{ "creation", KS_ACT_CREATION },
	{ "deletion", KS_ACT_DELETION },
	{ "change", KS_ACT_RENAME },
	{ "change", KS_ACT_MODIFICATION },
	{ "change", KS_ACT_UID_CHANGE },
	{ "change", KS_ACT_GID_CHANGE },
	{ "change", KS_ACT_SESSION_ID_CHANGE },
	{ "connection", KS_ACT_PACKET },
	{ "info", KS_ACT_ALREADY_RUNNING },
	{ "admin", KS_ENUM_NEVER },
	{ "allowed", KS_ENUM_NEVER },
	{ "denied", KS_ENUM_NEVER },
	{ "error", KS_ENUM_NEVER },
	{ "group", KS_ENUM_NEVER },
	{ "indicator", KS_ENUM_NEVER },
	{ "installation", KS_ENUM_NEVER },
	{ "protocol", KS_ENUM_NEVER },
	{ "user", KS_ENUM_NEVER },
};

/*
 * The names Elastic Defend writes in process.thread.capabilities.*, with
 * the kernel's numbers (<linux/capability.h>): bit n of the task's set.
 */
#define CAP(c)	{ #c, c }
static const struct ks_enum_val capabilities[] = {
	CAP(CAP_CHOWN), CAP(CAP_DAC_OVERRIDE), CAP(CAP_DAC_READ_SEARCH),
	CAP(CAP_FOWNER), CAP(CAP_FSETID), CAP(CAP_KILL), CAP(CAP_SETGID),
	CAP(CAP_SETUID), CAP(CAP_SETPCAP), CAP(CAP_LINUX_IMMUTABLE),
	CAP(CAP_NET_BIND_SERVICE), CAP(CAP_NET_BROADCAST), CAP(CAP_NET_ADMIN),
	CAP(CAP_NET_RAW), CAP(CAP_IPC_LOCK), CAP(CAP_IPC_OWNER),
	CAP(CAP_SYS_MODULE), CAP(CAP_SYS_RAWIO), CAP(CAP_SYS_CHROOT),
	CAP(CAP_SYS_PTRACE), CAP(CAP_SYS_PACCT), CAP(CAP_SYS_ADMIN),
	CAP(CAP_SYS_BOOT), CAP(CAP_SYS_NICE), CAP(CAP_SYS_RESOURCE),
	CAP(CAP_SYS_TIME), CAP(CAP_SYS_TTY_CONFIG), CAP(CAP_MKNOD),
	CAP(CAP_LEASE), CAP(CAP_AUDIT_WRITE), CAP(CAP_AUDIT_CONTROL),
	CAP(CAP_SETFCAP), CAP(CAP_MAC_OVERRIDE), CAP(CAP_MAC_ADMIN),
	CAP(CAP_SYSLOG), CAP(CAP_WAKE_ALARM), CAP(CAP_BLOCK_SUSPEND),
	CAP(CAP_AUDIT_READ), CAP(CAP_PERFMON), CAP(CAP_BPF),
	CAP(CAP_CHECKPOINT_RESTORE),
};

/*
 * IANA's protocol keywords, which ECS uses, for the common IP protocols;
 * output (kload's codec too) names a number by its first entry.
 */
static const struct ks_enum_val transports[] = {
	{ "tcp", 6 },
	{ "udp", 17 },
	{ "icmp", 1 },
	{ "ipv6-icmp", 58 },
	{ "igmp", 2 },
	{ "gre", 47 },
	{ "sctp", 132 },
	ALIAS("icmpv6", 58),
};

/* ECS also names the two directions inbound and outbound. */
static const struct ks_enum_val directions[] = {
	{ "ingress", 1 },
	{ "egress", 2 },
	ALIAS("inbound", 1),
	ALIAS("outbound", 2),
};

const struct ks_field_info *ks_field_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

const struct ks_field_info *ks_field_at(size_t i)
{
	return i < ARRAY_SIZE(fields) ? &fields[i] : NULL;
}

bool ks_field_host_const(const struct ks_field_info *f)
{
	return f->id == KS_F_NONE &&
	       (!strncmp(f->name, "host.", 5) || !strcmp(f->name, "agent.id"));
}

bool ks_field_target_alias(const struct ks_field_info *f)
{
	return f && f->id == KS_F_NONE && !strcmp(f->name, "file.target_path");
}

bool ks_field_in_range(const struct ks_field_info *f, int64_t v)
{
	return v >= f->min && v <= f->max;
}

/* The first entry of each kernel field id: kload asks per alert and join
 * key, so an index built once rather than a scan of the catalogue. */
static const struct ks_field_info *by_id[KS_F_N];
static pthread_once_t by_id_once = PTHREAD_ONCE_INIT;

static void by_id_init(void)
{
	size_t i;

	for (i = ARRAY_SIZE(fields); i-- > 0;)
		if (fields[i].id != KS_F_NONE && fields[i].id < KS_F_N)
			by_id[fields[i].id] = &fields[i];
}

const struct ks_field_info *ks_field_by_id(enum ks_field id)
{
	pthread_once(&by_id_once, by_id_init);
	return id > KS_F_NONE && id < KS_F_N ? by_id[id] : NULL;
}

/*
 * The name tables of the enum fields, one per field id: the compiler reads
 * them through ks_field_enum, kload's event codec through ks_enum_name and
 * ks_enum_parse (per event, so a switch, not a field lookup).
 */
static const struct ks_enum_val *enum_table(enum ks_field id, size_t *n)
{
	switch (id) {
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
	case KS_F_CAP_EFFECTIVE:
	case KS_F_CAP_PERMITTED:
		*n = ARRAY_SIZE(capabilities);
		return capabilities;
	default:
		*n = 0;
		return NULL;
	}
}

const struct ks_enum_val *ks_field_enum(const struct ks_field_info *f, size_t *n)
{
	if (f->id == KS_F_ACTION && !strcmp(f->name, "event.type")) {
		*n = ARRAY_SIZE(types);
		return types;
	}
	if (f->id == KS_F_CATEGORY && !strcmp(f->name, "data_stream.dataset")) {
		*n = ARRAY_SIZE(datasets);
		return datasets;
	}
	return enum_table(f->id, n);
}

const char *ks_enum_name(enum ks_field id, unsigned int v)
{
	const struct ks_enum_val *ev;
	size_t i, n;

	if (v == KS_ENUM_NEVER)	/* names of what no event holds */
		return NULL;
	ev = enum_table(id, &n);
	for (i = 0; i < n; i++)
		if (ev[i].value == v && !ev[i].alias)
			return ev[i].name;
	return NULL;
}

int ks_enum_parse(enum ks_field id, const char *name, bool nocase)
{
	const struct ks_enum_val *ev;
	size_t i, n;

	ev = enum_table(id, &n);
	for (i = 0; i < n; i++)
		if (ev[i].value != KS_ENUM_NEVER &&
		    !(nocase ? strcasecmp : strcmp)(ev[i].name, name))
			return (int)ev[i].value;
	return -1;
}

int ks_action_parse(const char *name)
{
	return ks_enum_parse(KS_F_ACTION, name, false);
}

/*
 * The type of action act, NULL for none. The KS_ENUM_NEVER entries are
 * names only: an event whose action byte happens to be that value (the
 * ring buffer's bytes are not trusted) has no type, not "admin".
 */
const char *ks_event_type_name(unsigned int act)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].value == act && act != KS_ENUM_NEVER)
			return types[i].name;
	return NULL;
}

const char *ks_field_enum_list(const struct ks_field_info *f)
{
	switch (f->id) {
	case KS_F_CATEGORY:
		if (!strcmp(f->name, "data_stream.dataset"))
			return "endpoint.events.process, endpoint.events.file, "
			       "endpoint.events.network, or a dataset of another "
			       "source";
		return "process, file, network";
	case KS_F_ACTION:
		if (!strcmp(f->name, "event.type"))
			return "start, end, access, creation, deletion, change, "
			       "connection, info, or another ECS event.type";
		return "exec, end, fork, open, creation, deletion, rename, "
		       "modification, connection_attempted, connection_accepted, "
		       "packet, uid_change, gid_change, session_id_change, "
		       "already_running, the former exit, connect, accept, or a value "
		       "another ECS source emits";
	case KS_F_TRANSPORT:
		return "tcp, udp, icmp, ipv6-icmp, igmp, gre, sctp (icmpv6)";
	case KS_F_DIRECTION:
		return "ingress, egress (inbound, outbound)";
	case KS_F_CAP_EFFECTIVE:
	case KS_F_CAP_PERMITTED:
		return "a capability name, CAP_CHOWN to CAP_CHECKPOINT_RESTORE";
	default:
		return "";
	}
}

const char *ks_category_name(enum ks_category c)
{
	const char *s = ks_enum_name(KS_F_CATEGORY, c);

	return s ? s : "any";
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
