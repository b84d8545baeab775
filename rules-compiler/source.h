/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The bottom layer of the rules compiler: memory (allocation that aborts,
 * the per-ruleset arena and interned names), source texts and position
 * maps (FILE:LINE:COL of any byte of a query, wherever YAML put it), YAML
 * node helpers, and the diagnostics behind include/kestrel/rules.h.
 *
 *   diag.c    allocation, diagnostics, bytes escaped for messages
 *   hash.c    FNV-1a (the one hash) and the string hash map
 *   source.c  arena, interning, source texts, position maps, YAML marks
 *
 * The layers above (ast.h, the front ends, lowering) build on this one;
 * it knows nothing of them.
 */
#ifndef KS_COMP_SOURCE_H
#define KS_COMP_SOURCE_H

#include <kestrel/hash.h>
#include <kestrel/rules.h>
#include <yaml.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- allocation: the library aborts on OOM (a compiler has no way on) ---- */
/* "kestrel: out of memory" and abort */
_Noreturn void ks_oom(void);
void *ks_xmalloc(size_t size);
void *ks_xrealloc(void *p, size_t size);
char *ks_xstrdup(const char *s);
/*
 * Ask for transparent huge pages over the first len bytes of the block p
 * (cap bytes, allocated by the caller): the compiler and the .kbin reader
 * write megabytes of fresh struct ks_tables, and a 4 KiB page fault costs
 * tens of microseconds in a VM (bench/profile/compile-writev.txt: faults
 * were most of a compile's system time). Only the kernel's 2 MiB-aligned
 * ranges inside the block can be huge; the rest stays as it was.
 */
void ks_hugepages(void *p, size_t len, size_t cap);
/* Grow *v (of *cap elements of size sz) so it holds at least n + 1. */
void ks_grow(void *v, size_t *cap, size_t n, size_t sz);
char *ks_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message into err (errlen bytes; none if err is NULL); returns -1. */
int ks_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- hash.c: a hash map from strings to indexes (keys are not copied) ---- */
struct ks_strmap_slot {
	const char *key;	/* NULL: empty */
	size_t val;
};

struct ks_strmap {
	struct ks_strmap_slot *slot;
	size_t cap, n;		/* cap: 0 or a power of two */
};

/* The slot of key, or NULL. */
struct ks_strmap_slot *ks_strmap_find(const struct ks_strmap *m,
				      const char *key);
/* Add key -> val (key must not be in the map); the map keeps the pointer. */
void ks_strmap_add(struct ks_strmap *m, const char *key, size_t val);
void ks_strmap_free(struct ks_strmap *m);

/* FNV-1a (content hashes, rule uids, the maps above): kestrel/hash.h */

/*
 * ---- source texts (for diagnostics with the offending line) ----
 * Each text is indexed once when added, so that finding the line of a
 * byte, the byte of a line and the byte of libyaml's character index
 * cost O(log n) or O(1) however many lookups a large file needs.
 */
struct ks_src {
	const char *file;	/* interned */
	char *text;
	size_t len;
	struct ks_src *next;
	size_t *lines;		/* byte offset where each '\n' line starts */
	size_t n_lines;		/* >= 1 */
	size_t bom;		/* 3 after a UTF-8 byte order mark, else 0 */
	size_t *chk;		/* non-ASCII text: byte of character 64 * i */
	size_t n_chk;		/* 0 for ASCII text (character = byte) */
};

struct ks_src_list {
	struct ks_src *head;
};

/* Byte offset where 0-based line `line` starts (len past the last). */
static inline size_t ks_src_line_start(const struct ks_src *src, size_t line)
{
	return line < src->n_lines ? src->lines[line] : src->len;
}

/* 0-based line of byte offset off. */
size_t ks_src_line_of(const struct ks_src *src, size_t off);

/* ---- per-ruleset private data: arena, interned names, sources ---- */
struct ks_arena_blk;

struct ks_priv {
	struct ks_arena_blk *blk;
	char **interned;
	size_t n_interned, cap_interned;
	struct ks_strmap intern_map;	/* name -> index in interned */
	struct ks_strmap rule_ids;	/* rule id -> index in rs->rules */
	bool rules_capped;		/* KS_MAX_LOADED_RULES reported */
	size_t src_bytes;		/* of the sources loaded (rule files) */
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
/*
 * Index of the last of n segments that starts at or before off (0 when
 * none does): segs is an array of `size`-byte structs whose first member
 * is their size_t offset, ascending (struct ks_seg, struct ks_toml_seg).
 */
size_t ks_seg_last(const void *segs, size_t n, size_t size, size_t off);
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

/* ---- YAML nodes ---- */
yaml_node_t *ks_ymap_get(yaml_document_t *doc, yaml_node_t *map,
			 const char *key);
const char *ks_yscalar(yaml_node_t *n);
bool ks_yis_null(yaml_node_t *n);

/* Print bytes as a C-like string body: printable ASCII as is, \\ \" and
 * \xNN otherwise. Returns the characters written (like snprintf). */
int ks_escape_bytes(char *buf, size_t size, const uint8_t *s, size_t len);

/* A new ruleset's private data, and its release: arena, interned names
 * and source texts (the regex caches of its nodes are freed above). */
struct ks_priv *ks_priv_new(void);
void ks_priv_free(struct ks_priv *pv);

#endif /* KS_COMP_SOURCE_H */
