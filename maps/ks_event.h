/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * struct ks_event: one normalized event. The hooks and the XDP program
 * build it in per-CPU scratch, the evaluator reads it, the ring buffer
 * carries it (with the verdict filled in) to kload, and `kload replay`
 * hands it to the test-run program as context. One layout for all four,
 * so replay evaluates exactly what the live hooks evaluate.
 */
#ifndef KS_EVENT_H
#define KS_EVENT_H

#include "maps/ks_abi.h"

/* Bits of ks_event.present: which optional fields carry a value. */
#define KS_P_PARENT		(1u << 0)	/* process.parent.* */
#define KS_P_EXIT_CODE		(1u << 1)
#define KS_P_FILE		(1u << 2)	/* file.path and derived */
#define KS_P_ORIG		(1u << 3)	/* file.Ext.original.*: a rename's source */
#define KS_P_NET		(1u << 4)	/* source/destination */
#define KS_P_PAYLOAD		(1u << 5)
#define KS_P_PROCESS		(1u << 6)	/* process.* */
#define KS_P_IFACE		(1u << 7)
#define KS_P_USER		(1u << 8)	/* user.id / group.id */
#define KS_P_EUID		(1u << 9)	/* process.user.id (effective) */
#define KS_P_EGID		(1u << 10)	/* process.group.id (effective) */
#define KS_P_PEUID		(1u << 11)	/* process.parent.user.id */
#define KS_P_PEGID		(1u << 12)	/* process.parent.group.id */

/* Bits of ks_verdict.flags. */
#define KS_V_FORWARD		(1u << 0)	/* event went to userspace */
#define KS_V_DENIED		(1u << 1)	/* LSM returned -EPERM / XDP_DROP */
#define KS_V_KILLED		(1u << 2)	/* SIGKILL sent */
#define KS_V_MATCH_OVERFLOW	(1u << 3)	/* more than KS_MAX_MATCH matches */
#define KS_V_CAND_OVERFLOW	(1u << 4)	/* candidate list overflowed */
#define KS_V_LOST		(1u << 5)	/* enforced, ring buffer full: in ks_lost */

/* Bits of ks_match.flags. */
#define KS_M_EXACT		(1u << 0)	/* step decided true in kernel */
#define KS_M_COMPLETED		(1u << 1)	/* completed its rule in kernel */
#define KS_M_CUT		(1u << 2)	/* undecided by a cut path: taken as true */

/*
 * Process entity key: unique across PID reuse because the start time is
 * part of it. ECS process.entity_id is printed as "<pid>-<start_ns>".
 */
#define KS_ENTITY_KEY(pid, start_ns) \
	((__u64)(start_ns) * 0x9e3779b97f4a7c15ull ^ (__u64)(pid))

struct ks_match {
	__u16 step;		/* index into ks_tables.steps */
	__u8 flags;		/* KS_M_* */
	__u8 pad;
};

/* Filled by the evaluator; read by kload. */
struct ks_verdict {
	__u32 generation;	/* table generation that evaluated it */
	__u16 flags;		/* KS_V_* */
	__u8 n_match;
	__u8 action;		/* enum ks_rule_action taken, if any */
	__u32 enforced_rule;	/* rule index that enforced, if any */
	__u32 enforced_uid;	/* ... and its ks_rule.uid */
	struct ks_match match[KS_MAX_MATCH];
};

/*
 * Where a string field's value is: off is the byte offset from the start
 * of struct ks_event (inside one of the slots below), len its length.
 * Derived fields (process.name, file.name, file.extension, file.Ext.
 * original.name and .extension) are sub-ranges
 * of another field's slot; a field with len 0 and its KS_P_* bit clear is
 * null. Offsets are absolute so one scanner serves every field.
 */
struct ks_strref {
	__u16 off;
	__u16 len;
};

struct ks_event {
	__u64 ts_ns;		/* CLOCK_BOOTTIME live; epoch ns in replay */
	__u64 seq;		/* replay: input record number */
	__u64 entity;		/* process entity key (pid, start time) */
	__u64 parent_entity;
	__u64 start_ns;		/* process start, boot ns */
	__u64 parent_start_ns;
	__u8 category;		/* enum ks_category */
	__u8 action;		/* enum ks_action */
	__u8 source;		/* enum ks_source */
	__u8 transport;		/* IPPROTO_* */
	__u8 direction;		/* 1 = ingress */
	__u8 family;		/* 4 or 6 */
	__u16 truncated;	/* bit (1 << ks_field) for string slots cut */
	__u32 present;		/* KS_P_* */
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__s32 exit_code;
	__u32 args_count;
	__u32 ifindex;
	__u16 sport;
	__u16 dport;
	__u8 saddr[16];		/* IPv4 as ::ffff:a.b.c.d */
	__u8 daddr[16];
	/* lengths and sub-ranges of the string fields, indexed by ks_field */
	struct ks_strref str[KS_F_STR_N];
	__u16 pad;
	/*
	 * Mount namespace (its nsfs inode number, as in /proc/PID/ns/mnt) of
	 * the process: every path field is relative to that process's root
	 * in this namespace. 0 = unknown (packets, old recordings).
	 */
	__u32 mnt_ns;
	/*
	 * Cut path fields (truncated bit set, KS_F_PATH_MASK): the length of
	 * the head kept at the start of the slot, indexed by KS_PATH_IDX(f);
	 * 0 when the walk could not reach the root (no head known).
	 */
	__u8 cut_head[KS_PATH_SLOTS];
	/*
	 * The process's other namespaces (nsfs inode numbers, as in
	 * /proc/PID/ns/{pid,net,user}; pid is the namespace its pid lives
	 * in) and its cgroup v2 id (the kernfs id, the inode number of its
	 * directory under /sys/fs/cgroup): kload turns the cgroup into
	 * container.id. 0 = unknown (packets, old recordings). In replay,
	 * cgroup_id is a key kload gave the event's container.id
	 * (KS_CGROUP_REPLAY set), not a cgroup.
	 */
	__u32 pid_ns;
	__u32 net_ns;
	__u32 user_ns;
	/*
	 * Effective user and group ids of the process and of its parent
	 * (Elastic Defend's process.user.id, process.parent.user.id, ...);
	 * uid and gid above are the real ones (process.real_user.id).
	 */
	__u32 euid;
	__u32 egid;
	__u32 peuid;
	__u32 pegid;
	__u64 cgroup_id;
	/*
	 * The task's effective and permitted capability sets (cred->
	 * cap_effective, cap_permitted; bit n is capability n, as in
	 * <linux/capability.h>): Elastic Defend's process.thread.
	 * capabilities.*. 0 = none or unknown (packets, old recordings).
	 */
	__u64 cap_effective;
	__u64 cap_permitted;
	/*
	 * The leaders of the process's session (Elastic Defend's process.
	 * session_leader.*: the process whose pid is its session id) and of
	 * its entry (process.entry_leader.*: in a pid namespace other than
	 * the host's, that namespace's init, the container's entry; on the
	 * host, the session leader). Each as the leader's own events name it:
	 * pid (tgid, in the initial namespace), start_ns (its thread group's
	 * start) and entity = KS_ENTITY_KEY(pid, start_ns), so a join on a
	 * leader's entity id meets the leader's process.entity_id. A leader
	 * that has exited has start_ns 0 (its entity KS_ENTITY_KEY(pid, 0),
	 * unique while its session lives; no entity_id is printed). 0 = no
	 * leader known (packets, old recordings).
	 */
	__u64 sl_entity;
	__u64 el_entity;
	__u64 sl_start_ns;
	__u64 el_start_ns;
	__u32 sl_pid;
	__u32 el_pid;
	struct ks_verdict verdict;
	/* string slots */
	char exe[KS_PATH_MAX];
	char pexe[KS_PATH_MAX];
	char path[KS_PATH_MAX];
	char orig[KS_PATH_MAX];		/* a rename's source (file.path: where it goes) */
	char args[KS_ARGS_MAX];	/* NUL-separated elements */
	char comm[KS_COMM_MAX];
	char pcomm[KS_COMM_MAX];
	char iface[KS_IFNAME_MAX];
	char payload[KS_PAYLOAD_MAX];
};

/*
 * The ks_event.truncated bits that say field f holds only part of its
 * value: its own, or that of the field it is derived from.
 */
static inline __u32 ks_field_cut_bits(__u32 f)
{
	switch (f) {
	case KS_F_PROCESS_NAME:
		return 1u << f | 1u << KS_F_PROCESS_EXECUTABLE;
	case KS_F_PARENT_NAME:
		return 1u << f | 1u << KS_F_PARENT_EXECUTABLE;
	case KS_F_FILE_NAME:
	case KS_F_FILE_EXTENSION:
		return 1u << f | 1u << KS_F_FILE_PATH;
	case KS_F_FILE_ORIG_NAME:
	case KS_F_FILE_ORIG_EXT:
		return 1u << f | 1u << KS_F_FILE_ORIG_PATH;
	case KS_F_PROCESS_COMMAND_LINE:
		return 1u << f | 1u << KS_F_PROCESS_ARGS;
	}
	return KS_F_IS_STR(f) ? 1u << f : 0;
}

/* ks_event.cgroup_id of a replayed event: its container.id's key. */
#define KS_CGROUP_REPLAY	(1ull << 63)

/*
 * BPF_PROG_TEST_RUN context of the replay program: a batch of events,
 * packed. Most of a struct ks_event is string slot space a value rarely
 * fills (3,120 of its 3,488 bytes), so each event is sent as a struct
 * ks_replay_rec, the event's bytes before its first slot
 * (KS_REPLAY_HEAD), then the used bytes of each slot in struct order
 * (slot_len[s] of them; the rest of a slot is never read: every reader
 * goes by ks_strref, as with the slots the live hooks fill). That copies
 * about a tenth of the bytes into the context and from it into scratch,
 * and puts many more events into the 64 KiB a test-run context may have.
 * At most KS_REPLAY_BATCH events per run, so that every event a batch
 * forwards fits the ring buffer (ks_events, 4 MiB for replay) before
 * kload drains it: a batch's output is what one event per run gives.
 */
#define KS_REPLAY_SLOTS		9	/* exe .. payload */
#define KS_REPLAY_BATCH		128
#define KS_REPLAY_CTX_MAX	65535u	/* the kernel's limit (U16_MAX) */
#define KS_REPLAY_HEAD		368u	/* offsetof(struct ks_event, exe) */

struct ks_replay_rec {
	__u16 slot_len[KS_REPLAY_SLOTS];
	__u16 pad;
};

struct ks_replay_ctx {
	__u32 n;		/* events packed */
	__u32 len;		/* bytes of data[] used */
	__u8 data[KS_REPLAY_CTX_MAX - 11];	/* the struct is a multiple of 4 bytes */
};

/* Offset and size of string slot s (0 = exe ... 8 = payload) in struct ks_event. */
static inline __u32 ks_replay_slot(__u32 s, __u32 *size)
{
	static const __u16 sz[KS_REPLAY_SLOTS] = {
		KS_PATH_MAX, KS_PATH_MAX, KS_PATH_MAX, KS_PATH_MAX, KS_ARGS_MAX,
		KS_COMM_MAX, KS_COMM_MAX, KS_IFNAME_MAX, KS_PAYLOAD_MAX,
	};
	__u32 off = KS_REPLAY_HEAD, i;

	for (i = 0; i < s && i < KS_REPLAY_SLOTS; i++)
		off += sz[i];
	*size = s < KS_REPLAY_SLOTS ? sz[s] : 0;
	return off;
}

#endif /* KS_EVENT_H */
