/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The AST layer, on top of source.h: the field catalogue's helpers
 * (fields.c), AST constructors, wildcard encoding and rules of a ruleset
 * (ast.c), and string and regex matching with the AST's semantics
 * (match.c), shared by the front ends, the printer and the interpreter.
 */
#ifndef KS_COMP_AST_H
#define KS_COMP_AST_H

#include "source.h"

/* ---- fields ---- */
/* The value of an enum name no Kestrel event holds (event.action
 * "exec_event", event.type "info"): no event's field equals it. */
#define KS_ENUM_NEVER	255

struct ks_enum_val {
	const char *name;
	int64_t value;
	bool alias;	/* matched by equality only: not the name events carry */
};

const struct ks_enum_val *ks_field_enum(const struct ks_field_info *f, size_t *n);
/* "exec, exit, ..." for messages; static storage per field. */
const char *ks_field_enum_list(const struct ks_field_info *f);
/* host.name, host.id, host.os.type, agent.id: one value for all of a
 * host's events, so a join on them is a join within one host (what kload
 * sees). */
bool ks_field_host_const(const struct ks_field_info *f);
/* file.target_path: a rename's file.path, which only the EQL parser's
 * comparisons and functions take (compare.c folds them). */
bool ks_field_target_alias(const struct ks_field_info *f);
/* Closest known field name within edit distance 2, or NULL. */
const char *ks_field_suggest(const char *name);
const char *ks_category_name(enum ks_category c);
const char *ks_ftype_name(enum ks_ftype t);

/* ---- AST construction (nodes live in the ruleset arena) ---- */
struct ks_nodevec {
	struct ks_node **v;
	size_t n, cap;
};

struct ks_node *ks_node_new(struct ks_ruleset *rs, enum ks_node_kind kind,
			    struct ks_loc loc);
void ks_nodevec_push(struct ks_nodevec *vec, struct ks_node *n);
/* AND/OR of vec (freed); a single element is returned as is. */
struct ks_node *ks_node_join(struct ks_ruleset *rs, enum ks_node_kind kind,
			     struct ks_loc loc, struct ks_nodevec *vec);
struct ks_node *ks_node_not(struct ks_ruleset *rs, struct ks_node *kid);
struct ks_node *ks_node_bool(struct ks_ruleset *rs, struct ks_loc loc, bool v);
/* n, or the constant it is when f is decided at compile time
 * (host.os.type); sets *decided then. */
struct ks_node *ks_node_fold_host(struct ks_ruleset *rs, struct ks_node *n,
				  const struct ks_field_info *f, bool *decided);
struct ks_node *ks_node_null(struct ks_ruleset *rs, struct ks_loc loc,
			     const struct ks_field_info *f);
struct ks_node *ks_node_num(struct ks_ruleset *rs, struct ks_loc loc,
			    const struct ks_field_info *f, enum ks_cmp cmp,
			    const int64_t *nums, size_t n);
/* A function of a field compared with v: KS_N_LEN (div unused) or
 * KS_N_MOD (modulo by div, not 0). */
struct ks_node *ks_node_numfn(struct ks_ruleset *rs, struct ks_loc loc,
			      enum ks_node_kind kind,
			      const struct ks_field_info *f, enum ks_cmp cmp,
			      int64_t v, int64_t div);
struct ks_node *ks_node_ip(struct ks_ruleset *rs, struct ks_loc loc,
			   const struct ks_field_info *f,
			   const struct ks_ipnet *nets, size_t n);

/*
 * A string test given as wildcard patterns in the KS_SO_WILDCARD encoding
 * ('*', '?', '\\' escapes). Each pattern is reduced to the most specific
 * strop (EQ, PREFIX, SUFFIX, CONTAINS or WILDCARD); patterns sharing a
 * strop share a node, and the nodes are OR-ed. With wild == false the
 * patterns are literal bytes of strop `op`.
 */
struct ks_pat_in {
	const char *s;
	size_t len;
};

struct ks_node *ks_node_str(struct ks_ruleset *rs, struct ks_loc loc,
			    const struct ks_field_info *f, enum ks_strop op,
			    bool wild, bool ci, const struct ks_pat_in *pats,
			    size_t n);
/* Escape bytes for the wildcard encoding (appending to a malloc'd buffer). */
char *ks_wild_escape(const char *s, size_t len, size_t *olen);
/* Reduce a wildcard-encoded pattern; *out is malloc'd. */
enum ks_strop ks_wild_reduce(const char *p, size_t len, char **out,
			     size_t *olen);

/* "1.2.3.4", "::1", optionally "/n". Returns 0 or -1. */
int ks_parse_ipnet(const char *s, struct ks_ipnet *out, bool allow_prefix);

/* ---- string matching shared by the interpreter and enum expansion ---- */
bool ks_str_match(enum ks_strop op, const struct ks_strpat *p,
		  const char *v, size_t vlen);
bool ks_wild_match(const char *pat, size_t plen, const char *v, size_t vlen,
		   bool ci);

/* ---- regex (Sigma |re) ---- */
/* Compile every pattern of a KS_SO_REGEX node into n->cache; 0 or -1 with
 * the regerror text in err. */
int ks_regex_compile(struct ks_ruleset *rs, struct ks_node *n, char *err,
		     size_t errlen);
void ks_regex_cache_free(void *cache);
/*
 * Does any pattern of a KS_SO_REGEX or KS_SO_EQLRE node match v[0, len)?
 * KS_TRI_UNSURE: none matched and PCRE2 gave up on one (its match
 * limit), counted in ks_regex_undecided() (kestrel/rules.h).
 */
enum ks_tri { KS_TRI_NO, KS_TRI_YES, KS_TRI_UNSURE };
/* Bytes of the bound "{m}", "{m,}" or "{m,n}" at p (digits only), 0 if
 * p opens none; *open for "{m,}" (then *n is *m). */
size_t ks_regex_bound(const char *p, size_t len, unsigned long *m,
		      unsigned long *n, bool *open);
enum ks_tri ks_regex_match(const struct ks_node *n, const char *v,
			  size_t len);

/* Shared by EQL rule files and Sigma: append a rule, checking the id is
 * unique (error at the new one, note at the first). Returns the rule or
 * NULL if the id was a duplicate. */
struct ks_rule_src *ks_rule_append(struct ks_ruleset *rs, const char *id,
				   struct ks_loc loc);
/*
 * Move the rules with keep[i] false to rs->skipped (why[i] says why) and
 * close the gaps. Their ids stay taken (the id map names skipped rules
 * from KS_SKIPPED_BASE on): a later rule with the same id is a duplicate
 * whatever order the files were read in.
 */
#define KS_SKIPPED_BASE	((size_t)1 << 32)
void ks_rules_drop(struct ks_ruleset *rs, const bool *keep,
		   const char *const *why);
bool ks_rule_id_valid(const char *id);

#endif /* KS_COMP_AST_H */
