/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kestrel kernel/userspace ABI: constants, limits and enums shared by the
 * BPF programs (bpf/), the rules compiler and kload.
 *
 * Plain data only: __u8/__u16/__u32/__u64, explicit padding, no helpers.
 * Any change of a layout in maps/ bumps KS_ABI_VERSION, and so does a
 * new meaning an older reader would misread (a ks_rule flag); tests/test_abi.c
 * pins sizes and offsets so an accidental change fails the build's tests.
 * A bump also recompiles the fuzz_kbin seeds (tests/fuzz/kbin_seed.py
 * --refresh build/kload tests/fuzz/corpus/kbin/seed*), which the fuzz
 * regression check loads.
 */
#ifndef KS_ABI_H
#define KS_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KS_ABI_VERSION		28
#define KS_TABLES_MAGIC		0x4b535442u	/* "KSTB" */

/* ---- limits (the compiler enforces them and names the limit) ---- */
/*
 * The DFA is struct ks_tables.dfa: at most KS_DFA_CELLS __u32 cells of the
 * image of maps/ks_dfa.h (premultiplied 32-bit state cells, rows of
 * classes + 1 cells): 16 MiB, room for 10,000 random literals of 4-16
 * bytes (81,044 states x 46 cells) or Debian's 5,303 sagan-rules content
 * strings (34,384 x 70). That is the ceiling, not what a map holds: the
 * tables map value ends after the size class the rule set needs (a power
 * of two, KS_DFA_MIN_TAB_BYTES .. KS_DFA_CELLS * 4; maps/ks_tables.h,
 * KS_TABLES_VALUE_SIZE). A row is at least 2 cells, hence the state limit.
 */
#define KS_DFA_CELLS		(1u << 22)	/* states * (classes + 1) */
#define KS_MAX_STATES		(KS_DFA_CELLS / 2)
#define KS_MAX_CLASSES		256u
#define KS_MAX_ATOMS		16384u
#define KS_MAX_ACC_LIST		(1u << 17)	/* atom ids over all accepting states */
#define KS_MAX_ACC_PER_STATE	255u
#define KS_MAX_TRIG_LIST	(1u << 16)	/* step ids over all atoms */
#define KS_MAX_STEPS		4096u
#define KS_MAX_INSNS		32768u
/*
 * Insns of one step program. The kernel runs a program one insn per
 * bpf_loop() callback (bpf/ks_eval.bpf.h, ks_prog_insn), verified once
 * whatever this is, so it bounds the work of one step, not the verifier's
 * budget: a step costs its own length, the limit only caps it. 1024 holds
 * Elastic's longest single-event conditions (a web server's children
 * against some 90 command patterns: 386 insns).
 */
#define KS_MAX_PROG_LEN		1024u
#define KS_MAX_STACK		64u		/* step program stack depth */
#define KS_MAX_RULES		2048u
#define KS_MAX_CIDRS		1024u
/* steps of a sequence the kernel tracks: 8 keeps an entity entry at 80
 * bytes (64k entities in 5 MiB); the corpus's longest kernel-tracked
 * sequence has 4. A longer one runs in kload's NFA (--explain says so). */
#define KS_MAX_KSTEPS		8u
#define KS_MAX_JOIN		4u		/* join fields per step */
#define KS_MAX_CANDS		64u		/* candidate steps per event */
#define KS_MAX_MATCH		16u		/* step matches reported per event */
#define KS_MAX_CPUS		512u

/* ---- string field slots of struct ks_event ---- */
#define KS_PATH_MAX		256u
#define KS_ARGS_MAX		512u
#define KS_COMM_MAX		16u
#define KS_IFNAME_MAX		16u
#define KS_PAYLOAD_MAX		1536u
#define KS_PAYLOAD_DEFAULT	256u
#define KS_TIME_EVERY_DEFAULT	16u	/* kload attach --time-every */
#define KS_TIME_EVERY_MAX	65536u

/* Sentinels framing every scanned string value: "\x01" value "\x02". */
#define KS_SENT_BEGIN		0x01
#define KS_SENT_END		0x02

/* ---- event categories and actions (event.category / event.action) ---- */
enum ks_category {
	KS_CAT_ANY = 0,		/* only in rules: "any where" */
	KS_CAT_PROCESS = 1,
	KS_CAT_FILE = 2,
	KS_CAT_NETWORK = 3,
	KS_CAT_N = 4,
};

enum ks_action {
	KS_ACT_NONE = 0,
	KS_ACT_EXEC = 1,
	KS_ACT_EXIT = 2,
	KS_ACT_FORK = 3,
	KS_ACT_OPEN = 4,
	KS_ACT_CREATION = 5,
	KS_ACT_DELETION = 6,
	KS_ACT_RENAME = 7,
	KS_ACT_MODIFICATION = 8,
	KS_ACT_CONNECT = 9,
	KS_ACT_ACCEPT = 10,
	KS_ACT_PACKET = 11,
	/* process credential changes (commit_creds, setsid) */
	KS_ACT_UID_CHANGE = 12,		/* uid, euid, suid or fsuid changed */
	KS_ACT_GID_CHANGE = 13,		/* gid, egid, sgid or fsgid changed */
	KS_ACT_SESSION_ID_CHANGE = 14,	/* setsid() succeeded */
	KS_ACT_N = 15,
	/*
	 * Userspace-only: Elastic Defend's "already_running", one process
	 * event per process running when kload attaches, read from /proc
	 * (loader/running.c) and decided by kload alone. Past KS_ACT_N: no
	 * hook emits it and no kernel mask (__u16, bit (act & 15)) has it.
	 */
	KS_ACT_ALREADY_RUNNING = 16,
};

/* ---- event sources (metrics label "source") ---- */
enum ks_source {
	KS_SRC_EXEC = 0,
	KS_SRC_EXIT = 1,
	KS_SRC_FORK = 2,
	KS_SRC_FILE = 3,
	KS_SRC_NET = 4,
	KS_SRC_XDP = 5,
	KS_SRC_REPLAY = 6,
	KS_SRC_CRED = 7,		/* uid, gid and session id changes */
	KS_SRC_N = 8,
};

/* ---- why an event was dropped (metrics label "reason") ---- */
enum ks_drop_reason {
	KS_DROP_RINGBUF_FULL = 0,
	KS_DROP_MAP_FULL = 1,	/* entity state could not be stored */
	KS_DROP_NO_TABLES = 2,	/* no rule tables loaded */
	KS_DROP_REENTRANT = 3,	/* scratch busy on this CPU (nested program) */
	KS_DROP_PARSE = 4,	/* malformed packet or unreadable kernel data */
	KS_DROP_N = 5,
};

/* ---- rule actions and enforcement modes ---- */
enum ks_rule_action {
	KS_RA_ALERT = 0,
	KS_RA_BLOCK = 1,
	KS_RA_KILL = 2,
};

enum ks_enforce_mode {
	KS_MODE_OBSERVE = 0,
	KS_MODE_SIGNAL = 1,
	KS_MODE_LSM = 2,
};

/*
 * ---- ECS fields the kernel can evaluate ----
 * String fields (KS_F_STR_FIRST..KS_F_STR_LAST) are scanned by the DFA;
 * numeric fields are compared by KS_OP_CMP; IP fields by KS_OP_CIDR/CMP.
 */
enum ks_field {
	KS_F_NONE = 0,
	/* strings */
	KS_F_PROCESS_EXECUTABLE = 1,
	KS_F_PROCESS_NAME = 2,
	KS_F_PROCESS_ARGS = 3,		/* array: any element */
	KS_F_PROCESS_COMMAND_LINE = 4,	/* args joined by ' ' */
	KS_F_PARENT_EXECUTABLE = 5,
	KS_F_PARENT_NAME = 6,
	KS_F_FILE_PATH = 7,
	KS_F_FILE_NAME = 8,
	KS_F_FILE_EXTENSION = 9,
	KS_F_FILE_ORIG_PATH = 10,	/* file.Ext.original.path: a rename's source */
	KS_F_PAYLOAD = 11,
	KS_F_IFACE_NAME = 12,		/* observer.ingress.interface.name */
	KS_F_FILE_ORIG_NAME = 13,	/* file.Ext.original.name */
	KS_F_FILE_ORIG_EXT = 14,	/* file.Ext.original.extension */
	KS_F_STR_N = 15,
	/* numbers */
	KS_F_PROCESS_PID = 16,
	KS_F_PARENT_PID = 17,
	KS_F_USER_ID = 18,
	KS_F_GROUP_ID = 19,
	KS_F_EXIT_CODE = 20,
	KS_F_ARGS_COUNT = 21,
	KS_F_SOURCE_PORT = 22,
	KS_F_DEST_PORT = 23,
	KS_F_TRANSPORT = 24,		/* IP protocol number */
	KS_F_CATEGORY = 25,		/* enum ks_category */
	KS_F_ACTION = 26,		/* enum ks_action */
	KS_F_DIRECTION = 27,		/* 1 = ingress */
	KS_F_PID_NS = 28,		/* kestrel.process.pid_ns ... */
	KS_F_MNT_NS = 29,
	KS_F_NET_NS = 30,
	KS_F_USER_NS = 31,
	/* addresses (16 bytes, IPv4 mapped ::ffff:a.b.c.d) */
	KS_F_SOURCE_IP = 32,
	KS_F_DEST_IP = 33,
	KS_F_EUID = 34,			/* process.user.id (effective) */
	KS_F_EGID = 35,
	KS_F_PARENT_EUID = 36,		/* process.parent.user.id */
	KS_F_PARENT_EGID = 37,
	/* capability sets, bit n = capability n: a test is "has any of" */
	KS_F_CAP_EFFECTIVE = 38,	/* process.thread.capabilities.effective */
	KS_F_CAP_PERMITTED = 39,
	/* 64-bit entity keys, only for joins */
	KS_F_ENTITY_ID = 40,
	KS_F_PARENT_ENTITY_ID = 41,
	/* the session's leader and its entry leader (ks_event.h, sl_*, el_*) */
	KS_F_SESSION_PID = 42,		/* process.session_leader.pid */
	KS_F_ENTRY_PID = 43,		/* process.entry_leader.pid */
	KS_F_SESSION_ENTITY_ID = 44,	/* join key only, as KS_F_ENTITY_ID */
	KS_F_ENTRY_ENTITY_ID = 45,
	KS_F_N = 46,
};

#define KS_F_IS_STR(f)	((f) > KS_F_NONE && (f) < KS_F_STR_N)

/*
 * Path fields. One too long for its slot is cut on the left: the slot
 * keeps the right-most whole components (the tail: the field's value)
 * and, before them, the first bytes of the real path (the head, up to
 * KS_PATH_HEAD bytes; ks_event.cut_head gives its length). The evaluator
 * matches prefixes against the head and suffixes against the tail, and
 * leaves undecided what neither can tell (see bpf/ks_eval.bpf.h).
 */
#define KS_F_PATH_MASK	((1u << KS_F_PROCESS_EXECUTABLE) | (1u << KS_F_PARENT_EXECUTABLE) | \
			 (1u << KS_F_FILE_PATH) | (1u << KS_F_FILE_ORIG_PATH))
#define KS_PATH_SLOTS	4
#define KS_PATH_IDX(f)	((f) == KS_F_PROCESS_EXECUTABLE ? 0 : (f) == KS_F_PARENT_EXECUTABLE ? 1 : \
			 (f) == KS_F_FILE_PATH ? 2 : 3)
#define KS_PATH_FIELD(k)	((k) == 0 ? KS_F_PROCESS_EXECUTABLE : (k) == 1 ? KS_F_PARENT_EXECUTABLE : \
			 (k) == 2 ? KS_F_FILE_PATH : KS_F_FILE_ORIG_PATH)
#define KS_PATH_HEAD	64u

/*
 * Cut slots (cut_first/cut_list in maps/ks_tables.h): the fields an event
 * may hold only in part, each with the steps a cut may hide the trigger
 * of. Slots 0..3 are the path fields (KS_PATH_IDX). Slot KS_CUT_ARGS is
 * the argument vector: process.args and process.command_line keep its
 * first KS_ARGS_MAX bytes (fewer past the kernel's element limit), the
 * rest is unseen, and the truncated bit KS_F_PROCESS_ARGS says so for
 * both fields.
 */
#define KS_CUT_ARGS	KS_PATH_SLOTS
#define KS_CUT_SLOTS	(KS_PATH_SLOTS + 1)
#define KS_CUT_LIST_MAX	(KS_PATH_SLOTS * KS_MAX_STEPS)
#define KS_F_ARGS_MASK	((1u << KS_F_PROCESS_ARGS) | (1u << KS_F_PROCESS_COMMAND_LINE))
/* the truncated bits that make cut slot k's list candidates */
#define KS_CUT_BIT(k)	((k) < KS_PATH_SLOTS ? 1u << KS_PATH_FIELD(k) : 1u << KS_F_PROCESS_ARGS)
#define KS_CUT_MASK	(KS_F_PATH_MASK | (1u << KS_F_PROCESS_ARGS))

/* Case mode of a DFA sub-automaton. */
enum ks_case {
	KS_CASE_EXACT = 0,	/* raw bytes through cls[] */
	KS_CASE_FOLD = 1,	/* ASCII lowercased bytes through cls_fold[] */
	KS_CASE_N = 2,
};

/* ---- step program operations (postfix, three-valued) ---- */
enum ks_op {
	KS_OP_TRUE = 0,		/* push T */
	KS_OP_FALSE = 1,	/* push F */
	KS_OP_ATOM = 2,		/* push hit(arg) */
	KS_OP_CMP = 3,		/* push field <cmp> imm (numeric) */
	KS_OP_CIDR = 4,		/* push ip field in cidrs[arg] */
	KS_OP_PRESENT = 5,	/* push field is present (not null) */
	KS_OP_USER = 6,		/* push U: only userspace can decide */
	KS_OP_AND = 7,
	KS_OP_OR = 8,
	KS_OP_NOT = 9,
	KS_OP_STRLEN = 10,	/* push len(field) <cmp> imm; empty string == "" */
	KS_OP_N = 11,
};

enum ks_cmp {
	KS_CMP_EQ = 0,
	KS_CMP_NE = 1,
	KS_CMP_LT = 2,
	KS_CMP_LE = 3,
	KS_CMP_GT = 4,
	KS_CMP_GE = 5,
	/* bit sets (capabilities): any bit of imm set, none set */
	KS_CMP_ANY = 6,
	KS_CMP_NONE = 7,
};
#define KS_CMP_N		8

/* Three-valued results of step evaluation. */
enum ks_tv {
	KS_TV_FALSE = 0,
	KS_TV_TRUE = 1,
	KS_TV_UNKNOWN = 2,	/* forwarded: userspace decides */
};

#endif /* KS_ABI_H */
