/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * struct ks_tables: one compiled rule set, exactly as the kernel reads it.
 * The compiler writes it (also into .kbin files), kload copies it into a
 * fresh inner map of ks_gen and swaps the outer slot: every event reads the
 * outer slot once, so it is evaluated by one generation only.
 *
 * Sizes. The struct is the ceiling: dfa[] holds KS_DFA_CELLS cells, but a
 * rule set uses the first dfa_hdr.n_states * row_bytes bytes of it
 * (KS_TABLES_USED) and its size class is dfa_hdr.tab_bytes. The tables
 * map value is KS_TABLES_VALUE_SIZE(class) bytes, the class chosen when
 * kload creates the maps (at least the rule set's tab_bytes) and its mask
 * (class - 4) a rodata constant (struct ks_config.dfa_mask); every
 * generation of one load has that class. Userspace allocates the whole
 * struct (calloc: pages never touched cost nothing) and reads, writes,
 * hashes and stores only its used bytes (and fdr, past dfa[], when
 * KS_TABLES_HAS_FDR); the rest of dfa[] is unspecified until kload zeroes
 * it up to the class on install. The prefilter's table fdr is not part
 * of the map value: kload installs it into ks_fdr_gen (maps/ks_fdr.h).
 *
 * DFA: one table of premultiplied 32-bit cells (the image of
 * maps/ks_dfa.h, in dfa[] with its header dfa_hdr) holding several
 * sub-automata, one per (string field, case mode) that rules test. Each
 * starts at the cell dfa_hdr.autos[field][case].start; 0 means the field
 * has no patterns in that mode. A field value is scanned as KS_SENT_BEGIN
 * value KS_SENT_END (array elements each framed the same way), so
 * equality, prefix, suffix and substring tests are all plain Aho-Corasick
 * patterns.
 *
 *   sentinel  = cell at byte (s & ~KS_DFA_ACC) + dfa_hdr.col_begin / col_end
 *   next cell = cell at byte (s & ~KS_DFA_ACC) + dfa_hdr.col[colmap][byte]
 *
 * Cell 0 is the dead state (no pattern can match any more). A cell with
 * KS_DFA_ACC accepts: the spare cell of its row, (first << 8) | count,
 * names its atoms in acc_list. hdr.n_states, n_classes, acc_base,
 * cls_begin and cls_end describe the automaton the image was made from.
 *
 * An atom is one (field, case) set of patterns; atom_trig[atom] =
 * (first << 16) | count names the steps it can make true (trigger index)
 * in trig_list. The sentinels are fed as classes hdr.cls_begin and
 * hdr.cls_end (columns col_begin, col_end), never through a column
 * map: see struct ks_tables_hdr.
 * Steps without any trigger atom are listed per category in cat_list.
 * Steps with a trigger atom on a field an event may hold only in part (a
 * path, the argument vector) are listed per cut slot in cut_list too (see
 * maps/ks_abi.h, KS_CUT_SLOTS).
 */
#ifndef KS_TABLES_H
#define KS_TABLES_H

#include "maps/ks_abi.h"
#include "maps/ks_dfa.h"
#include "maps/ks_fdr.h"

/* One step program instruction (postfix, see enum ks_op). */
struct ks_insn {
	__u8 op;		/* enum ks_op */
	__u8 field;		/* enum ks_field */
	__u8 cmp;		/* enum ks_cmp */
	__u8 pad;
	__u32 arg;		/* atom id, cidr index */
	__u64 imm;		/* numeric constant */
};

/*
 * KS_OP_ATOM: arg is the atom, field the atom's field, and imm what a
 * miss of the atom on a cut path (KS_F_PATH_MASK, maps/ks_abi.h) leaves
 * undecided: the longest prefix pattern (matched against the head), the
 * longest suffix pattern (against the tail), KS_ATOM_MIDDLE when some
 * pattern may lie anywhere (a substring, an equality longer than a slot).
 * On process.command_line, whose cut keeps only a head, an equality
 * counts as a prefix of its length: a miss decides it only when the head
 * is at least that long (and only KS_ATOM_ARGS_CLOSED atoms are left
 * undecided on a cut argument vector). Pattern lengths are counted
 * without the frame sentinels.
 */
#define KS_ATOM_PREFIX(imm)	((__u32)(imm) & 0xffffu)
#define KS_ATOM_SUFFIX(imm)	((__u32)((imm) >> 16) & 0xffffu)
#define KS_ATOM_MIDDLE		(1ull << 32)
/*
 * The atom's rule fails closed on a cut argument vector (rule key
 * args_cut; by default block/kill rules): a miss the head cannot decide
 * is undecided. Without it (alert rules, args_cut: head) such a miss is
 * a miss: a command line longer than 512 bytes would otherwise fire every
 * rule on it (see README).
 */
#define KS_ATOM_ARGS_CLOSED	(1ull << 33)

struct ks_cidr {
	__u8 addr[16];		/* network, IPv4 mapped */
	__u8 prefix;		/* 0..128, counted on the mapped form */
	__u8 pad[3];
};

/* Bits of ks_step.flags */
#define KS_S_EXACT	(1u << 0)	/* program has no KS_OP_USER */
#define KS_S_UNTIL	(1u << 1)	/* the rule's until step */
#define KS_S_LAST	(1u << 2)	/* completes the rule */
/*
 * The step names already_running (event.action or event.type "info"):
 * only such steps see those userspace-only events, so a rule that does
 * not ask for them is not fed every process running at attach. The
 * kernel never sees the events and ignores the bit.
 */
#define KS_S_RUNNING	(1u << 3)

struct ks_step {
	__u16 rule;		/* index into rules */
	__u8 index;		/* position in the sequence, 0-based */
	__u8 flags;		/* KS_S_* */
	__u8 category;		/* enum ks_category, KS_CAT_ANY = all */
	__u8 n_join;
	__u8 join[KS_MAX_JOIN];	/* enum ks_field of the join key */
	__u16 prog_len;
	__u32 prog;		/* first insn */
	/*
	 * Bit j: join[j] was written ?name (Elastic's optional field), so it
	 * may be null and null joins null. An event whose other join key is
	 * null takes no part in the step: it neither starts nor advances a
	 * sequence, nor (until) ends one, in the kernel as in kload's NFA.
	 */
	__u8 join_opt;
	__u8 pad[3];
};

/* Bits of ks_rule.flags */
#define KS_R_EXACT	(1u << 0)	/* the kernel decides every step */
#define KS_R_SEQUENCE	(1u << 1)
#define KS_R_UNTIL	(1u << 2)
#define KS_R_KSTATE	(1u << 3)	/* sequence state kept in the kernel */
/*
 * An EQL sample: its steps are filters matched in any order, joined in
 * kload's NFA (never KS_R_EXACT: the kernel forwards each filter's
 * matches); maxspan_ns is its window. A kload that does not know this
 * bit would alert on every filter, so it came with ABI version 18.
 */
#define KS_R_SAMPLE	(1u << 4)

struct ks_rule {
	__u32 uid;		/* stable id: hash of rule id and query */
	__u8 n_steps;		/* steps, `until` not counted */
	__u8 action;		/* enum ks_rule_action */
	__u8 flags;		/* KS_R_* */
	__u8 severity;
	__u16 first_step;	/* steps[first_step .. + n_steps) */
	__u16 until_step;	/* valid iff KS_R_UNTIL */
	__u64 maxspan_ns;	/* 0 = unbounded */
};

struct ks_tables_hdr {
	__u32 magic;		/* KS_TABLES_MAGIC */
	__u32 abi_version;	/* KS_ABI_VERSION */
	__u32 generation;	/* set by kload at load */
	__u32 n_rules;
	__u32 n_steps;
	__u32 n_insns;
	__u32 n_atoms;
	__u32 n_states;
	__u32 n_classes;
	__u32 acc_base;
	__u32 n_acc_list;
	__u32 n_trig_list;
	__u32 n_cidrs;
	/*
	 * The frame sentinels have classes of their own that no input byte
	 * maps to (raw 0x01/0x02 inside a value map to the "other" class),
	 * so a value cannot forge the end of a frame. Walkers feed these.
	 */
	__u8 cls_begin;
	__u8 cls_end;
	/*
	 * Bit (1 << enum ks_action) for every action some step can match.
	 * A hook whose action is not here counts the event as filtered
	 * without building it (no path walks, no argument copies).
	 */
	__u16 action_mask;
	/*
	 * Per action: bit (1 << ks_field) for every string field holding a
	 * trigger atom of some step that can match an event of that action,
	 * and bit KS_F_NONE when such a step has no trigger (a candidate of
	 * every event of its category). When an action's bits are all in
	 * KS_EARLY_FIELDS, an event whose early fields raise no candidate can
	 * match no step: the file hooks scan those fields first and count it
	 * filtered before filling the process (bpf/ks_file.bpf.h).
	 */
	__u16 trig_fields[16];
	__u64 content_hash;	/* FNV-1a of everything after the header */
	/*
	 * The slot of ks_fdr_gen holding the prefilter of the automaton
	 * flagged KS_DFA_AU_FDR (maps/ks_fdr.h); set by kload at install,
	 * like generation; < KS_FDR_SLOTS, 0 in files.
	 */
	__u32 fdr_slot;
	__u32 pad;
};

/* The fields a file event has before its process is filled. */
#define KS_EARLY_FIELDS	(1u << KS_F_FILE_PATH | 1u << KS_F_FILE_NAME | \
			 1u << KS_F_FILE_EXTENSION | 1u << KS_F_FILE_ORIG_PATH | \
			 1u << KS_F_FILE_ORIG_NAME | 1u << KS_F_FILE_ORIG_EXT)

/*
 * Which packets (protocol, ports) some step that can match action packet
 * may take: filled by the compiler (rules-compiler/lower.c) from the
 * conjuncts network.transport == / in and source.port, destination.port
 * == / in of each such step's condition. A packet this does not admit
 * can match no step: ks_xdp_main counts it filtered before copying or
 * scanning its payload (bpf/hook_xdp.bpf.c; modelled by ks_walk_early()).
 * Conservative: the ports of every step share one bitmap, and a packet
 * is admitted when its source or its destination port is in it.
 */
struct ks_net_filter {
	__u64 proto_any[4];	/* bit p: some step admits IP protocol p, any ports */
	__u64 proto_port[4];	/* bit p: ... with a port in port[] */
	__u64 port[1024];	/* bit n: some step names port n */
};

/* Does the filter admit a packet of protocol proto from sport to dport? */
static inline int ks_net_admits(const struct ks_net_filter *nf, __u32 proto, __u32 sport,
				__u32 dport)
{
	proto &= 0xff;
	sport &= 0xffff;
	dport &= 0xffff;
	if ((nf->proto_any[proto >> 6] >> (proto & 63)) & 1)
		return 1;
	if (!((nf->proto_port[proto >> 6] >> (proto & 63)) & 1))
		return 0;
	return ((nf->port[sport >> 6] >> (sport & 63)) & 1) ||
	       ((nf->port[dport >> 6] >> (dport & 63)) & 1);
}

struct ks_tables {
	struct ks_tables_hdr hdr;
	struct ks_dfa_hdr dfa_hdr;	/* column maps, automata, sizes */
	__u32 cat_first[KS_CAT_N];	/* (first << 16) | count in cat_list */
	__u16 cat_list[KS_MAX_STEPS];
	/*
	 * Per cut slot (KS_PATH_IDX, KS_CUT_ARGS): the steps with a trigger
	 * atom on that slot's fields, block/kill rules first. An event whose
	 * field was cut (KS_CUT_BIT) adds them as candidates: a trigger the
	 * cut left undecided must not keep a step from being judged.
	 */
	__u32 cut_first[KS_CUT_SLOTS];	/* (first << 16) | count in cut_list */
	__u16 cut_list[KS_CUT_LIST_MAX];
	__u16 acc_list[KS_MAX_ACC_LIST];
	__u32 atom_trig[KS_MAX_ATOMS];
	__u16 trig_list[KS_MAX_TRIG_LIST];
	struct ks_rule rules[KS_MAX_RULES];
	struct ks_step steps[KS_MAX_STEPS];
	struct ks_insn insns[KS_MAX_INSNS];
	struct ks_cidr cidrs[KS_MAX_CIDRS];
	struct ks_net_filter net;
	/*
	 * The cells of maps/ks_dfa.h; dfa_hdr.tab_bytes <= sizeof(dfa). Last
	 * of the map value: it ends with the size class in use.
	 */
	__u32 dfa[KS_DFA_CELLS];
#ifndef __bpf__
	/*
	 * Userspace and .kbin files only, never in the tables value: the
	 * prefilter of the automaton flagged KS_DFA_AU_FDR (at most one, on
	 * the payload), maps/ks_fdr.h; all 0 when none is. kload installs it
	 * into a slot of its own map (struct ks_fdr_slot), so rule sets
	 * without one copy, clear and hold none of it.
	 */
	struct ks_fdr_tab fdr;
#endif
};

/* one line per automaton (maps/ks_dfa.h): the map value is page-aligned */
_Static_assert(__builtin_offsetof(struct ks_tables, dfa_hdr.autos) % 64 == 0,
	       "automata line-aligned");

/* The tables map's value for a DFA size class of dfa_bytes. */
#define KS_TABLES_VALUE_SIZE(dfa_bytes)	(__builtin_offsetof(struct ks_tables, dfa) + (dfa_bytes))
/* The bytes of t that hold the rule set: all but the unused cells. */
#define KS_TABLES_USED(t)	KS_TABLES_VALUE_SIZE((__u64)(t)->dfa_hdr.n_states * \
						     (t)->dfa_hdr.row_bytes)
/* Does t have a prefilter (t->fdr, maps/ks_fdr.h) that the kernel uses? */
#define KS_TABLES_HAS_FDR(t)	(((t)->dfa_hdr.autos[KS_F_PAYLOAD][0].flags | \
				  (t)->dfa_hdr.autos[KS_F_PAYLOAD][1].flags) & KS_DFA_AU_FDR)

#endif /* KS_TABLES_H */
