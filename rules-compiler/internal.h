/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Private declarations shared by the rules compiler front end: the ruleset
 * arena, source texts and position maps, AST constructors, the EQL parser
 * entry point, the Sigma importer and string matching helpers.
 */
#ifndef KS_COMP_INTERNAL_H
#define KS_COMP_INTERNAL_H

#include <kestrel/rules.h>
#include <yaml.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- allocation: the library aborts on OOM (a compiler has no way on) ---- */
void *ks_xmalloc(size_t size);
void *ks_xrealloc(void *p, size_t size);
char *ks_xstrdup(const char *s);
/* Grow *v (of *cap elements of size sz) so it holds at least n + 1. */
void ks_grow(void *v, size_t *cap, size_t n, size_t sz);
char *ks_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- source texts (for diagnostics with the offending line) ---- */
struct ks_src {
	const char *file;	/* interned */
	char *text;
	size_t len;
	struct ks_src *next;
};

struct ks_src_list {
	struct ks_src *head;
};

/* ---- per-ruleset private data: arena, interned names, sources ---- */
struct ks_arena_blk;

struct ks_priv {
	struct ks_arena_blk *blk;
	char **interned;
	size_t n_interned, cap_interned;
	struct ks_src_list srcs;
	struct ks_src **src_tail;
	struct ks_node **regex_nodes;	/* KS_SO_REGEX nodes: cache to free */
	size_t n_regex, cap_regex;
};

static inline struct ks_priv *ks_priv(struct ks_ruleset *rs)
{
	return rs->priv;
}

/* Zeroed memory that lives as long as the ruleset. */
void *ks_alloc(struct ks_ruleset *rs, size_t size);
char *ks_strndup(struct ks_ruleset *rs, const char *s, size_t n);
char *ks_strdup(struct ks_ruleset *rs, const char *s);
const char *ks_intern(struct ks_ruleset *rs, const char *s);
/* Keep a copy of a source text under its (interned) file name. */
const struct ks_src *ks_src_add(struct ks_ruleset *rs, const char *file,
				const char *text, size_t len);
const struct ks_src *ks_src_find(const struct ks_src_list *l, const char *file);

/*
 * ---- position maps ----
 * A query sits somewhere inside a YAML file, possibly as a block scalar
 * whose indentation libyaml stripped. A position map sends a byte offset of
 * the query text back to FILE:LINE:COL: each segment says that value bytes
 * from off on start at line:col (until the next segment).
 */
struct ks_seg {
	size_t off;
	int line, col;
};

struct ks_posmap {
	const char *file;
	struct ks_seg *v;
	size_t n, cap;
	const char *text;	/* the mapped value */
	size_t len;
};

struct ks_loc ks_posmap_loc(const struct ks_posmap *m, size_t off);
/* Map plain text starting at `at` (line by line, later lines at column 1). */
void ks_posmap_text(struct ks_posmap *m, const char *text, size_t len,
		    struct ks_loc at);
/* Map a YAML scalar from its source bytes [start, end) and its style. */
void ks_posmap_yaml(struct ks_posmap *m, const struct ks_src *src,
		    size_t start, size_t end, yaml_scalar_style_t style,
		    const char *value, size_t len, struct ks_loc at);
void ks_posmap_free(struct ks_posmap *m);

/* 1-based byte line:col of a libyaml mark (whose column counts characters). */
struct ks_loc ks_yaml_loc(const struct ks_src *src, yaml_mark_t mark);
size_t ks_yaml_offset(const struct ks_src *src, yaml_mark_t mark);

/* ---- fields ---- */
struct ks_enum_val {
	const char *name;
	int64_t value;
};

const struct ks_enum_val *ks_field_enum(const struct ks_field_info *f, size_t *n);
/* "exec, exit, ..." for messages; static storage per field. */
const char *ks_field_enum_list(const struct ks_field_info *f);
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
struct ks_node *ks_node_null(struct ks_ruleset *rs, struct ks_loc loc,
			     const struct ks_field_info *f);
struct ks_node *ks_node_num(struct ks_ruleset *rs, struct ks_loc loc,
			    const struct ks_field_info *f, enum ks_cmp cmp,
			    const int64_t *nums, size_t n);
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

/* ---- parsing ---- */
struct ks_query *ks_parse_query_map(struct ks_ruleset *rs,
				    const struct ks_posmap *pm);

/* Sigma import of one YAML document; root is the top-level mapping. */
int ks_sigma_import(struct ks_ruleset *rs, const struct ks_src *src,
		    yaml_document_t *doc, yaml_node_t *root);

/* Shared by EQL rule files and Sigma: append a rule, checking the id is
 * unique (error at the new one, note at the first). Returns the rule or
 * NULL if the id was a duplicate. */
struct ks_rule_src *ks_rule_append(struct ks_ruleset *rs, const char *id,
				   struct ks_loc loc);
bool ks_rule_id_valid(const char *id);

/* YAML helpers */
yaml_node_t *ks_ymap_get(yaml_document_t *doc, yaml_node_t *map,
			 const char *key);
const char *ks_yscalar(yaml_node_t *n);
bool ks_yis_null(yaml_node_t *n);

#endif /* KS_COMP_INTERNAL_H */
