/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel-filled fields of struct ks_event, listed once. Every place
 * that reads a field's value out of an event reads it through this list:
 * the kernel evaluator (bpf/ks_eval.bpf.h), the compiler's field catalogue
 * (rules-compiler/fields.c, which adds the names of the fields only kload
 * knows), the reference interpreter (interp.c), the table-walk model
 * (tablewalk.c) and kload's join keys and kestrel.join text (loader/
 * nfa_join.c, loader/field.c). A new kernel-filled field is one line
 * here, its enum ks_field id in ks_abi.h, and the code that fills it.
 *
 * KS_NUM_FIELDS(X): X(id, ECS name, type, member, presence, nonzero, min, max)
 *   type      the compiler's enum ks_ftype, without its KS_T_ (NUM or ENUM)
 *   member    the struct ks_event member holding the value
 *   presence  the KS_P_* bit that makes it non-null; 0: never null
 *   nonzero   1: null exactly while the member is 0 (no value was known,
 *             or an empty set; presence is then not consulted, and only
 *             says the field can be null)
 *   min, max  the values the member can hold (what a literal may be)
 * KS_STR_FIELDS(X): X(id, ECS name, type, presence) for the DFA-scanned
 *   strings (ev->str[id]); type STR or STR_ARRAY.
 *
 * Plain C on the ABI types, compiled for BPF and for userspace alike (as
 * ks_siphash.h): the constant arguments fold per case, so each case is one
 * load and one AND, without a branch the verifier would have to walk.
 */
#ifndef KS_FIELDS_H
#define KS_FIELDS_H

#include "maps/ks_event.h"

#define KS_FIELD_INLINE	static inline __attribute__((always_inline))

#define KS_NUM_FIELDS(X)						      \
	X(KS_F_PROCESS_PID, "process.pid", NUM, pid, KS_P_PROCESS, 0,	      \
	  0, 0xffffffffll)						      \
	X(KS_F_ARGS_COUNT, "process.args_count", NUM, args_count,	      \
	  KS_P_PROCESS, 0, 0, 0xffffffffll)				      \
	X(KS_F_PARENT_PID, "process.parent.pid", NUM, ppid, KS_P_PARENT, 0,   \
	  0, 0xffffffffll)						      \
	X(KS_F_USER_ID, "user.id", NUM, uid, KS_P_USER, 0, 0, 0xffffffffll)   \
	X(KS_F_GROUP_ID, "group.id", NUM, gid, KS_P_USER, 0, 0, 0xffffffffll) \
	/* effective ids (user.id and group.id are the real ones) */	      \
	X(KS_F_EUID, "process.user.id", NUM, euid, KS_P_EUID, 0, 0,	      \
	  0xffffffffll)							      \
	X(KS_F_EGID, "process.group.id", NUM, egid, KS_P_EGID, 0, 0,	      \
	  0xffffffffll)							      \
	X(KS_F_PARENT_EUID, "process.parent.user.id", NUM, peuid,	      \
	  KS_P_PEUID, 0, 0, 0xffffffffll)				      \
	X(KS_F_PARENT_EGID, "process.parent.group.id", NUM, pegid,	      \
	  KS_P_PEGID, 0, 0, 0xffffffffll)				      \
	X(KS_F_EXIT_CODE, "process.exit_code", NUM, exit_code,		      \
	  KS_P_EXIT_CODE, 0, -0x80000000ll, 0x7fffffffll)		      \
	X(KS_F_SOURCE_PORT, "source.port", NUM, sport, KS_P_NET, 0, 0, 0xffff) \
	X(KS_F_DEST_PORT, "destination.port", NUM, dport, KS_P_NET, 0, 0,     \
	  0xffff)							      \
	/* IP protocol numbers; names for the common ones (fields.c) */	      \
	X(KS_F_TRANSPORT, "network.transport", ENUM, transport, KS_P_NET, 0,  \
	  0, 0xff)							      \
	/* 0 until a hook knows the direction: null, not a third value */      \
	X(KS_F_DIRECTION, "network.direction", ENUM, direction, KS_P_NET, 1,  \
	  0, 0)								      \
	X(KS_F_CATEGORY, "event.category", ENUM, category, 0, 0, 0, 0)	      \
	X(KS_F_ACTION, "event.action", ENUM, action, 0, 0, 0, 0)	      \
	/* namespace ids (nsfs inode numbers; ECS has no field for them) */    \
	X(KS_F_PID_NS, "kestrel.process.pid_ns", NUM, pid_ns, KS_P_PROCESS,   \
	  0, 0, 0xffffffffll)						      \
	X(KS_F_MNT_NS, "kestrel.process.mnt_ns", NUM, mnt_ns, KS_P_PROCESS,   \
	  0, 0, 0xffffffffll)						      \
	X(KS_F_NET_NS, "kestrel.process.net_ns", NUM, net_ns, KS_P_PROCESS,   \
	  0, 0, 0xffffffffll)						      \
	X(KS_F_USER_NS, "kestrel.process.user_ns", NUM, user_ns,	      \
	  KS_P_PROCESS, 0, 0, 0xffffffffll)				      \
	/* capability sets: null while empty, as Defend's empty arrays */      \
	X(KS_F_CAP_EFFECTIVE, "process.thread.capabilities.effective", ENUM,  \
	  cap_effective, KS_P_PROCESS, 1, 0, 0)				      \
	X(KS_F_CAP_PERMITTED, "process.thread.capabilities.permitted", ENUM,  \
	  cap_permitted, KS_P_PROCESS, 1, 0, 0)				      \
	/* the leaders' pids (ks_event.h): null while no leader is known */    \
	X(KS_F_SESSION_PID, "process.session_leader.pid", NUM, sl_pid,	      \
	  KS_P_PROCESS, 1, 0, 0xffffffffll)				      \
	X(KS_F_ENTRY_PID, "process.entry_leader.pid", NUM, el_pid,	      \
	  KS_P_PROCESS, 1, 0, 0xffffffffll)

#define KS_STR_FIELDS(X)						      \
	X(KS_F_PROCESS_NAME, "process.name", STR, KS_P_PROCESS)		      \
	X(KS_F_PROCESS_EXECUTABLE, "process.executable", STR, KS_P_PROCESS)   \
	X(KS_F_PROCESS_ARGS, "process.args", STR_ARRAY, KS_P_PROCESS)	      \
	X(KS_F_PROCESS_COMMAND_LINE, "process.command_line", STR,	      \
	  KS_P_PROCESS)							      \
	X(KS_F_PARENT_NAME, "process.parent.name", STR, KS_P_PARENT)	      \
	X(KS_F_PARENT_EXECUTABLE, "process.parent.executable", STR,	      \
	  KS_P_PARENT)							      \
	X(KS_F_FILE_PATH, "file.path", STR, KS_P_FILE)			      \
	X(KS_F_FILE_NAME, "file.name", STR, KS_P_FILE)			      \
	X(KS_F_FILE_EXTENSION, "file.extension", STR, KS_P_FILE)	      \
	/* a rename's source, as Elastic Defend names it (file.path: its	      \
	 * destination); null on other events */				      \
	X(KS_F_FILE_ORIG_PATH, "file.Ext.original.path", STR, KS_P_ORIG)      \
	X(KS_F_FILE_ORIG_NAME, "file.Ext.original.name", STR, KS_P_ORIG)      \
	X(KS_F_FILE_ORIG_EXT, "file.Ext.original.extension", STR, KS_P_ORIG)  \
	X(KS_F_IFACE_NAME, "observer.ingress.interface.name", STR,	      \
	  KS_P_IFACE)							      \
	X(KS_F_PAYLOAD, "payload", STR, KS_P_PAYLOAD)

/*
 * KS_ENTITY_FIELDS(X): X(id, key, pid, start) for the 64-bit entity keys:
 *   key       the struct ks_event member holding the key (0: null)
 *   pid, start  the members it was made of, which print as its entity_id
 *             "<pid>-<start_ns>" when no record named it
 */
#define KS_ENTITY_FIELDS(X)						      \
	X(KS_F_ENTITY_ID, entity, pid, start_ns)			      \
	X(KS_F_PARENT_ENTITY_ID, parent_entity, ppid, parent_start_ns)	      \
	X(KS_F_SESSION_ENTITY_ID, sl_entity, sl_pid, sl_start_ns)	      \
	X(KS_F_ENTRY_ENTITY_ID, el_entity, el_pid, el_start_ns)

/*
 * A set of values, a bit each (the capability sets): a test of one is
 * true if the set holds any of its values, as of Elastic Defend's arrays.
 */
#define KS_FIELD_BITSET(f)	((f) == KS_F_CAP_EFFECTIVE || (f) == KS_F_CAP_PERMITTED)

/* Is f one of KS_NUM_FIELDS? */
KS_FIELD_INLINE int ks_field_is_num(__u32 f)
{
	switch (f) {
#define KS_FIELD_CASE(id, ...) case id:
	KS_NUM_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
		return 1;
	}
	return 0;
}

#define KS_FIELD_PRESENT(ev, pbit, nonzero, val)			      \
	((nonzero) ? (__u32)((val) != 0) :				      \
	 (pbit) != 0 ? (ev)->present & (pbit) : 1u)

/*
 * The value of numeric field f in *v; returns non-zero if it is non-null.
 * *v is set even for a null field (join keys hash it either way), and is
 * left alone for a field that is not numeric (the return is then 0).
 */
KS_FIELD_INLINE __u32 ks_event_num(const struct ks_event *ev, __u32 f, __s64 *v)
{
	switch (f) {
#define KS_FIELD_CASE(id, name, type, member, pbit, nonzero, lo, hi)	      \
	case id:							      \
		*v = ev->member;					      \
		return KS_FIELD_PRESENT(ev, pbit, nonzero, ev->member);
	KS_NUM_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	return 0;
}

/* Is f one of the 64-bit entity keys (join keys only)? */
KS_FIELD_INLINE int ks_field_is_entity(__u32 f)
{
#define KS_FIELD_IS(id, ...) f == id ||
	return KS_ENTITY_FIELDS(KS_FIELD_IS) 0;
#undef KS_FIELD_IS
}

/* The key of entity field f (0: null, or f is not an entity field). */
KS_FIELD_INLINE __u64 ks_event_entity(const struct ks_event *ev, __u32 f)
{
	switch (f) {
#define KS_FIELD_CASE(id, key, pid, start)				      \
	case id:							      \
		return ev->key;
	KS_ENTITY_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	return 0;
}

/*
 * The pid and start time the key of entity field f was made of, which
 * print as its entity_id "<pid>-<start_ns>" (process.entity_id for
 * another field).
 */
KS_FIELD_INLINE void ks_event_entity_parts(const struct ks_event *ev, __u32 f,
					   __u32 *pid, __u64 *start)
{
	switch (f) {
#define KS_FIELD_CASE(id, key, pid_, start_)				      \
	case id:							      \
		*pid = ev->pid_;					      \
		*start = ev->start_;					      \
		return;
	KS_ENTITY_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	*pid = ev->pid;
	*start = ev->start_ns;
}

/* The KS_P_* bit that makes string field f non-null (0: not a string). */
KS_FIELD_INLINE __u32 ks_str_present_bit(__u32 f)
{
	switch (f) {
#define KS_FIELD_CASE(id, name, type, pbit)				      \
	case id:							      \
		return pbit;
	KS_STR_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	return 0;
}

/*
 * Does ev hold a value of kernel join field f? One rule for the kernel's
 * join hash and its null test (bpf/), their model (tablewalk.c) and
 * kload's NFA key (loader/nfa_join.c): a string by its KS_P_* bit, an
 * entity key or an address by being non-zero, a number as ks_event_num()
 * reads it.
 */
KS_FIELD_INLINE __u32 ks_join_present(const struct ks_event *ev, __u32 f)
{
	__u64 a[2];
	__s64 v;

	if (KS_F_IS_STR(f))
		return !!(ev->present & ks_str_present_bit(f));
	if (ks_field_is_entity(f))
		return ks_event_entity(ev, f) != 0;
	if (f == KS_F_SOURCE_IP || f == KS_F_DEST_IP) {
		__builtin_memcpy(a, f == KS_F_SOURCE_IP ? ev->saddr : ev->daddr, 16);
		return (a[0] | a[1]) != 0;
	}
	return !!ks_event_num(ev, f, &v);
}

/*
 * Elastic EQL joins no event whose join key is null unless the key is an
 * optional field (?name): does the step with these n join fields (bit j
 * of opt: join[j] is optional) leave ev out? A field kload reads
 * (KS_F_NONE here) is kload's to test.
 */
KS_FIELD_INLINE __u32 ks_join_null(const struct ks_event *ev, const __u8 *join, __u32 n,
				   __u32 opt)
{
	__u32 j;

	for (j = 0; j < KS_MAX_JOIN; j++) {
		if (j >= n)
			break;
		if (join[j] != KS_F_NONE && !(opt & (1u << j)) &&
		    !ks_join_present(ev, join[j]))
			return 1;
	}
	return 0;
}

#endif /* KS_FIELDS_H */
