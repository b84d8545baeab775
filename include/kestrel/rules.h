/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Rules: the parsed form of rule files (YAML/EQL and Sigma) and the API of
 * the rules compiler library (rules-compiler/, libkscomp.a).
 *
 *   struct ks_ruleset *rs = ks_ruleset_new();
 *   ks_ruleset_load_path(rs, "rules/");     // files or directories
 *   ks_ruleset_add_query(rs, "process where ...", "<cmdline>");
 *   if (ks_diags_errors(&rs->diags)) { ks_diags_print(&rs->diags, stderr); exit(2); }
 *   ks_compile(rs, tables, &info);          // lowering into struct ks_tables
 *
 * The AST is evaluated directly by the reference interpreter (ks_interp_*)
 * over struct ks_event, independent of the tables: it is the oracle the
 * property tests compare the tables against, and kload uses it to finish
 * steps the kernel marks KS_TV_UNKNOWN.
 */
#ifndef KESTREL_RULES_H
#define KESTREL_RULES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "maps/ks_abi.h"
#include "maps/ks_event.h"
#include "maps/ks_fields.h"
#include "maps/ks_tables.h"

/*
 * ---- limits on rule input ----
 * Rule files are untrusted input: past these the compiler stops with a
 * diagnostic naming the limit instead of exhausting the stack, memory or
 * time. The tables have their own limits (maps/ks_abi.h).
 */
#define KS_MAX_FILE_BYTES	(16u << 20)	/* one rule file */
#define KS_MAX_RULESET_BYTES	(64u << 20)	/* all rule files of a ruleset */
#define KS_MAX_LOADED_RULES	65536u		/* rules a ruleset holds */
#define KS_MAX_LIST		65536u		/* values of one list */
#define KS_MAX_NESTING		128u		/* ( and not in a condition */
#define KS_MAX_YAML_DEPTH	32u		/* nested YAML collections */
#define KS_MAX_DIR_DEPTH	32u		/* nested rule directories */
#define KS_MAX_EXPANSION	262144u		/* tests a Sigma condition refers
						 * to, selections counted at each
						 * reference */

/* ---- diagnostics: FILE:LINE:COL: error: MESSAGE ---- */
struct ks_loc {
	const char *file;	/* interned, owned by the ruleset */
	int line;		/* 1-based */
	int col;		/* 1-based */
};

enum ks_diag_level { KS_DIAG_ERROR, KS_DIAG_WARNING, KS_DIAG_NOTE };

struct ks_diag {
	enum ks_diag_level level;
	struct ks_loc loc;
	char *msg;
};

struct ks_src_list;

struct ks_diags {
	struct ks_diag *v;
	size_t n, cap;
	size_t n_errors;	/* private: KS_DIAG_ERROR among v */
	/* private: source texts, so ks_diags_print can show the offending
	 * line; set by the ruleset, NULL prints messages only */
	const struct ks_src_list *src;
};

void ks_diag_add(struct ks_diags *d, enum ks_diag_level lvl, struct ks_loc loc,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ks_diag_vadd(struct ks_diags *d, enum ks_diag_level lvl,
		  struct ks_loc loc, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
size_t ks_diags_errors(const struct ks_diags *d);
void ks_diags_print(const struct ks_diags *d, FILE *out);
void ks_diags_free(struct ks_diags *d);

/* ---- field catalogue (ECS names -> enum ks_field and type) ---- */
/*
 * The nsfs inode number of the host's initial pid namespace
 * (PROC_PID_INIT_INO, the same on every kernel): a process in any other is
 * in a container, Elastic Defend's process.entry_leader.entry_meta.type
 * "container" (the parser tests that type as kestrel.process.pid_ns).
 */
#define KS_PID_NS_HOST		0xEFFFFFFCu
/*
 * The pid namespace of a replayed record that says only "container": no
 * nsfs inode is numbered 1 (the kernel numbers them from 0xF0000000, the
 * initial ones just below).
 */
#define KS_PID_NS_REPLAY	1u

enum ks_ftype {
	KS_T_STR,	/* DFA-scanned string */
	KS_T_STR_ARRAY,	/* process.args */
	KS_T_NUM,
	KS_T_IP,
	KS_T_ENUM,	/* event.category, event.action, network.transport/direction */
	KS_T_ENTITY,	/* process.entity_id, the parent's and the leaders' */
	KS_T_USER_STR,	/* string known only in userspace (host.name) */
};

struct ks_field_info {
	const char *name;	/* ECS dotted name */
	enum ks_field id;	/* KS_F_NONE for userspace-only fields */
	enum ks_ftype type;
	unsigned int present;	/* KS_P_* bit that makes it non-null, 0 = always */
	int64_t min, max;	/* numeric values the event can hold (KS_T_NUM,
				 * and network.transport's protocol numbers) */
	bool array;		/* KS_T_USER_STR: NUL-separated elements, a
				 * test is true if any element matches;
				 * KS_T_ENUM: a bit set (KS_FIELD_BITSET),
				 * true if it holds any value tested */
	bool boolean;		/* KS_T_USER_STR: Elastic's boolean, compared
				 * with true and false only; its value is the
				 * text "true" or "false" */
	bool join;		/* KS_T_USER_STR: a join key of kload's NFA,
				 * keyed on the value a test reads */
};

/* Is v a value field f can hold? Comparing with any other number is an
 * error: the compiler never turns it into "always" or "never". */
bool ks_field_in_range(const struct ks_field_info *f, int64_t v);

/*
 * The enum fields' names (event.category, event.action, network.transport,
 * network.direction), one table each in fields.c: the name output gives
 * value v, NULL if none; the value of a name (aliases too), -1 if none.
 */
const char *ks_enum_name(enum ks_field id, unsigned int v);
int ks_enum_parse(enum ks_field id, const char *name, bool nocase);
/* enum ks_action of a name events carry (Elastic Defend's) or of its
 * former name ("exit", "connect", "accept"), -1 if none. */
int ks_action_parse(const char *name);
/* Elastic Defend's event.type of action act ("start"), NULL if none. */
const char *ks_event_type_name(unsigned int act);

const struct ks_field_info *ks_field_lookup(const char *name);
const struct ks_field_info *ks_field_by_id(enum ks_field id);
/* The catalogue's entry i in its order (walks of every field: kload's
 * ECS encoder builds its plan from them), NULL past the last. */
const struct ks_field_info *ks_field_at(size_t i);

/* ---- AST ---- */
enum ks_node_kind {
	KS_N_AND,	/* kids[0..n) */
	KS_N_OR,
	KS_N_NOT,	/* kids[0] */
	KS_N_BOOL,	/* constant: num != 0 */
	KS_N_STR,	/* string test: field, strop, pats (any of) */
	KS_N_NUM,	/* numeric compare: field cmp nums[0], or IN nums[] */
	KS_N_IP,	/* ip == / cidrMatch: field, cidrs[] (any of) */
	KS_N_NULL,	/* field == null (negate with NOT for != null) */
	/*
	 * EQL startsWith/endsWith/stringContains(field, field2): strop
	 * (PREFIX, SUFFIX, CONTAINS) of field's value by field2's, ci for
	 * the `~` form. Userspace only: no kernel table holds two values.
	 */
	KS_N_FIELDS,
	/* EQL length(field) cmp nums[0]: UTF-16 code units, as Elastic
	 * counts a string's characters. Userspace only. */
	KS_N_LEN,
	/* EQL modulo(field, num) cmp nums[0] (num != 0, the remainder
	 * has the sign of the field's value, as Elastic's). Userspace only. */
	KS_N_MOD,
};

enum ks_strop {
	KS_SO_EQ,	/* whole value equals */
	KS_SO_PREFIX,	/* startsWith */
	KS_SO_SUFFIX,	/* endsWith */
	KS_SO_CONTAINS,	/* stringContains */
	KS_SO_WILDCARD,	/* ':' / like: '*' and '?'; '\\' escapes the next
			 * byte ("a\\*b" is a literal star) */
	KS_SO_REGEX,	/* Sigma |re: userspace only (POSIX ERE) */
	KS_SO_EQLRE,	/* EQL `regex`: userspace only (PCRE2 matching the
			 * whole value, Elastic's dialect checked) */
};

struct ks_strpat {
	char *s;		/* unescaped bytes, may contain NUL */
	size_t len;
	bool ci;		/* case-insensitive (ASCII) */
};

struct ks_ipnet {
	uint8_t addr[16];	/* IPv4 mapped ::ffff:a.b.c.d */
	uint8_t prefix;		/* on the mapped form: IPv4 /n -> 96 + n */
};

struct ks_node {
	enum ks_node_kind kind;
	struct ks_loc loc;
	const struct ks_field_info *field;
	enum ks_strop strop;
	enum ks_cmp cmp;		/* KS_N_NUM: EQ/NE/LT/...; IN is EQ over nums[] */
	struct ks_strpat *pats;
	size_t n_pats;
	int64_t *nums;
	size_t n_nums;
	struct ks_ipnet *nets;
	size_t n_nets;
	struct ks_node **kids;
	size_t n_kids;
	const struct ks_field_info *field2;	/* KS_N_FIELDS */
	bool ci;			/* KS_N_FIELDS */
	int64_t num;			/* KS_N_BOOL; KS_N_MOD: the divisor */
	void *cache;			/* private: compiled KS_SO_REGEX (interp) */
};

struct ks_step_ast {
	struct ks_loc loc;
	enum ks_category category;	/* KS_CAT_ANY for "any where" */
	struct ks_node *cond;		/* NULL = true ("process where true") */
	const struct ks_field_info *join[KS_MAX_JOIN];	/* per-step `by` */
	size_t n_join;
	uint8_t join_opt;		/* bit i: join[i] written ?name, may be null */
	unsigned int runs;		/* `with runs=N`, 1 if absent */
	/*
	 * The OR of the rule's exceptions that apply to this step, NULL if
	 * none: the step is `cond and not exc`, in the tables and in the
	 * interpreter alike (ks_rule_add_exception() builds it).
	 */
	struct ks_node *exc;
};

/*
 * Elastic's limit on a sample's filters ("up to five filters"); a
 * sample's bit masks of filters (loader/nfa.c) rely on it.
 */
#define KS_MAX_SAMPLE_FILTERS	5
/*
 * A sample's window: Elastic's samples are a search over stored events,
 * without time bounds; a live detector must forget, so a sample's events
 * lie within this span of each other: 9 minutes, the look-back of
 * Elastic's rules (`from = "now-9m"` in nearly all of detection-rules),
 * the span within which Elastic's own rule would have found them.
 */
#define KS_SAMPLE_WINDOW_NS	(9ull * 60 * 1000000000)

struct ks_query {
	bool sequence;
	bool sample;			/* `sample by`: steps are filters, any order */
	struct ks_loc loc;
	const struct ks_field_info *join[KS_MAX_JOIN];	/* `sequence by` */
	size_t n_join;
	uint8_t join_opt;		/* bit i: join[i] written ?name, may be null */
	uint64_t maxspan_ns;		/* 0 = none */
	struct ks_step_ast *steps;	/* 1 for an event query */
	size_t n_steps;
	struct ks_step_ast *until;	/* NULL if none */
	bool host_os;			/* compared host.os.type: decided when
					 * compiling (KS_HOST_OS_TYPE) */
	bool entry_meta;		/* tested process.entry_leader.entry_meta.type:
					 * compiled as kestrel.process.pid_ns */
};

enum ks_severity { KS_SEV_LOW, KS_SEV_MEDIUM, KS_SEV_HIGH, KS_SEV_CRITICAL };

/* A MITRE ATT&CK tactic, technique or subtechnique; NULL = not known. */
struct ks_attack_ref {
	char *id;			/* TA0002, T1059, T1059.004 */
	char *name;
	char *reference;		/* https://attack.mitre.org/... */
};

struct ks_technique {
	struct ks_attack_ref ref;
	struct ks_attack_ref *subs;	/* subtechniques */
	size_t n_subs;
};

/* One [[rule.threat]] entry: alerts carry them as ECS threat.* */
struct ks_threat {
	char *framework;		/* "MITRE ATT&CK" */
	struct ks_attack_ref tactic;
	struct ks_technique *techniques;
	size_t n_techniques;
};

/*
 * An exception: an EQL condition whose events the rule does not see, as
 * Elastic applies a rule's exception list to every event an EQL query
 * searches. step 0: every step of a sequence, `until` included (a
 * matching event neither advances nor ends a sequence); step k: the k-th
 * bracketed step only. Compiled into the step's program (`cond and not
 * (exc1 or exc2 ...)`), so it is decided in the kernel wherever its
 * condition is.
 */
struct ks_exception {
	struct ks_node *cond;
	char *text;			/* as written */
	char *description;		/* NULL if none */
	unsigned int step;		/* 0: every step; 1..n_steps */
	struct ks_loc loc, step_loc;
	bool from_file;			/* an exceptions file's, not the rule's own */
};

/*
 * What a step decides on an event whose argument vector the kernel cut
 * (512 bytes, README "A cut command line is not a bypass either") when a
 * test on process.args or process.command_line is not decided by the
 * kept bytes: rule key args_cut.
 */
enum ks_args_cut {
	KS_ARGS_CUT_DEFAULT = 0,	/* fail-closed for block/kill, head for alert */
	KS_ARGS_CUT_CLOSED,		/* "fail-closed": undecided, taken as matched */
	KS_ARGS_CUT_HEAD,		/* "head": a miss in the kept bytes is a miss */
};

struct ks_rule_src {
	char *id;			/* [a-z0-9_.-]+ */
	char *name;
	enum ks_severity severity;
	enum ks_rule_action action;
	enum ks_args_cut args_cut;
	char **tags;
	size_t n_tags;
	char *query_text;
	struct ks_loc loc;		/* of the rule entry */
	bool sigma;			/* imported from Sigma */
	bool elastic;			/* imported from Elastic TOML */
	/* alert metadata (ECS rule.*, threat.*, event.risk_score) */
	char *uuid;			/* Elastic rule_id; NULL if none */
	char *description;		/* NULL if none */
	int risk_score;			/* 0..100, -1: from the severity */
	char **references;
	size_t n_references;
	struct ks_threat *threats;	/* given, or from attack.* tags */
	size_t n_threats;
	struct ks_exception *exceptions;	/* the rule's, then the files' */
	size_t n_exceptions, cap_exceptions;
	bool disabled;			/* enabled: false (dropped at load) */
	struct ks_query *q;		/* NULL if it did not parse */
};

/* A rule that was read but is not compiled, and why. */
struct ks_rule_skipped {
	const char *id;
	struct ks_loc loc;
	const char *why;		/* "enabled: false", "exclude_ids foo*", ... */
};

struct ks_ruleset {
	struct ks_rule_src *rules;
	size_t n_rules, cap;
	/* rules left out: enabled: false, or not selected (ks_ruleset_select) */
	struct ks_rule_skipped *skipped;
	size_t n_skipped, cap_skipped;
	struct ks_diags diags;
	/* private: interned strings and node arena */
	void *priv;
};

struct ks_ruleset *ks_ruleset_new(void);
void ks_ruleset_free(struct ks_ruleset *rs);
/* File or directory (recursively: *.yml, *.yaml, *.toml). Returns 0, or
 * -1 with diagnostics added. Sigma files are recognised by top-level
 * title: and detection: keys; *.toml files are Elastic detection rules. */
int ks_ruleset_load_path(struct ks_ruleset *rs, const char *path);
/* YAML text (for tests): file names the origin for diagnostics. */
int ks_ruleset_load_string(struct ks_ruleset *rs, const char *text, const char *file);
/* One inline EQL query (kload compile -e): rule id "inline". */
int ks_ruleset_add_query(struct ks_ruleset *rs, const char *query, const char *origin);
/*
 * ---- rule selection and exceptions files ----
 * A rule is compiled when it is enabled, matches include_ids or
 * include_tags (when either list is given) and matches neither
 * exclude_ids nor exclude_tags. Patterns are fnmatch(3) globs. The others
 * move to rs->skipped. Then each exceptions file (a YAML list of
 * {rules, tags, condition, step, description}) adds its exceptions to
 * the rules it names by id or tag. hits[k], when given (n[k] entries,
 * zeroed by the caller), counts the rules pattern k matched, so the
 * caller can warn about one that matched nothing.
 */
enum ks_sel_list {
	KS_SEL_INCLUDE_IDS,
	KS_SEL_INCLUDE_TAGS,
	KS_SEL_EXCLUDE_IDS,
	KS_SEL_EXCLUDE_TAGS,
	KS_SEL_N,
};

struct ks_rule_select {
	const char *const *pat[KS_SEL_N];
	size_t n[KS_SEL_N];
	size_t *hits[KS_SEL_N];
	const char *const *exceptions;	/* exceptions files */
	size_t n_exceptions;
};

/* The name of list k as the configuration spells it ("include_tags"). */
const char *ks_sel_list_name(enum ks_sel_list k);
/* Returns 0, or -1 with diagnostics (a bad exceptions file). */
int ks_ruleset_select(struct ks_ruleset *rs, const struct ks_rule_select *sel);
/* An exceptions file, added to the rules loaded so far (ks_ruleset_select
 * reads sel->exceptions with it); its text (tests, fuzzing). 0 or -1. */
int ks_ruleset_load_exceptions(struct ks_ruleset *rs, const char *path);
int ks_ruleset_load_exceptions_string(struct ks_ruleset *rs, const char *text,
				      const char *file);

/* Parse just a query (tests): NULL with diagnostics on error. */
struct ks_query *ks_parse_query(struct ks_ruleset *rs, const char *text,
				struct ks_loc at);

/* ---- reference interpreter ---- */
/*
 * True or false, with one exception: a regex PCRE2 gives up on (its match
 * limit, 100,000 steps) leaves the condition unsure, and an unsure
 * condition reads true (interp.c: a rule fires rather than miss). Such
 * values are counted: ks_regex_undecided() is the process-wide total.
 */
bool ks_interp_node(const struct ks_node *n, const struct ks_event *ev);
bool ks_interp_step(const struct ks_step_ast *s, const struct ks_event *ev);
uint64_t ks_regex_undecided(void);
/* The query step behind table step s (a `runs=N` step is N table steps,
 * `until` is flagged); NULL if q has no such step. */
const struct ks_step_ast *ks_query_step(const struct ks_query *q,
					const struct ks_step *s);
/* The field of join key j of table step s: the query's `by` fields, then
 * the step's (ks_step.join[]'s order; KS_F_NONE there for a field only
 * userspace reads); NULL if there is none. */
const struct ks_field_info *ks_query_join(const struct ks_query *q, const struct ks_step *s,
					  unsigned int j);

/*
 * Userspace-only string fields (KS_T_USER_STR: host.name, container.id,
 * process.parent.command_line, host.os.type) and numbers (KS_T_NUM with
 * id KS_F_NONE: process.parent.args_count, given as decimal text) are not
 * in struct ks_event:
 * kload knows them (the replayed record, its cgroup table, its process
 * table). user_str returns true and the value, or false for null; the
 * value needs to last only until user_str's next call. Without a callback
 * host.name is gethostname(), host.os.type KS_HOST_OS_TYPE, host.id
 * /etc/machine-id, agent.id a random UUID drawn once per process, and the
 * others are null.
 */
/* host.os.type: the same on every host Kestrel runs on */
#define KS_HOST_OS_TYPE	"linux"

struct ks_interp_ctx {
	bool (*user_str)(void *arg, const struct ks_field_info *f,
			 const struct ks_event *ev, const char **s, size_t *len);
	void *arg;
};

bool ks_interp_node_ctx(const struct ks_node *n, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx);
/* What a userspace-only field reads without a callback (one may defer to it). */
bool ks_interp_user_default(const struct ks_field_info *f, const char **s,
			    size_t *len);
bool ks_interp_step_ctx(const struct ks_step_ast *s, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx);

/* EQL rendering of a parsed query or condition (malloc'd; for --explain,
 * tests and the query_text of imported Sigma rules). It parses back to the
 * same AST; KS_SO_REGEX prints as Kestrel's regex(field, "ERE"). */
char *ks_query_format(const struct ks_query *q);
char *ks_node_format(const struct ks_node *n);

/* ---- compilation into kernel tables ---- */
struct ks_rule_info {
	bool exact;			/* kernel decides every step */
	char why_not_exact[160];	/* first reason, for --explain */
	unsigned int n_kernel_steps;
	unsigned int n_atoms;
};

struct ks_compile_info {
	struct ks_rule_info *rules;	/* one per ruleset rule, in order */
	size_t n_rules;
	uint32_t n_states, n_classes, n_atoms, n_steps, n_insns, n_patterns;
	size_t dfa_bytes;		/* n_states * (n_classes + 1) * 4 */
	size_t table_bytes;		/* KS_TABLES_USED: the bytes the tables use */
	/* need filters (maps/ks_dfa.h) the compiler's proof refuted and
	 * dropped: a compiler bug, 0 always (fuzz_eql checks) */
	uint32_t need_refuted;
};

/*
 * Lower every parsed rule into *out (zeroed by the caller or not: it is
 * overwritten whole). Rules are placed in ruleset order: tables rule i is
 * ruleset rule i. Returns 0, or -1 with diagnostics (limits exceeded,
 * block/kill on a rule that is not kernel-exact).
 */
int ks_compile(struct ks_ruleset *rs, struct ks_tables *out,
	       struct ks_compile_info *info);
void ks_compile_info_free(struct ks_compile_info *info);
/*
 * The tables' content_hash: FNV-1a 64 of their used bytes after the header
 * (KS_TABLES_USED, maps/ks_tables.h: the cells past the DFA are not part
 * of them).
 */
uint64_t ks_tables_hash(const struct ks_tables *t);
/*
 * The DFA size class `kload attach` loads for tables t unless --dfa-size
 * says otherwise: t's own (dfa_hdr.tab_bytes), at least KS_DFA_AUTO_FLOOR,
 * so that a reload that grows a small rule set a little still fits.
 */
#define KS_DFA_AUTO_FLOOR	(1u << 20)
uint32_t ks_dfa_size_auto(const struct ks_tables *t);
void ks_explain(const struct ks_ruleset *rs, const struct ks_tables *t,
		const struct ks_compile_info *info, FILE *out);

/* The rule's risk score: its own, or Elastic's default for its severity
 * (low 21, medium 47, high 73, critical 99). */
int ks_rule_risk_score(const struct ks_rule_src *r);

/* Stable 32-bit rule uid (FNV-1a of id, query text and exceptions). */
uint32_t ks_rule_uid(const struct ks_rule_src *r);

#endif /* KESTREL_RULES_H */
