/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A TOML 1.0 reader (rules-compiler/toml.c) for Elastic detection-rules
 * files: tables, dotted keys, arrays of tables, inline tables, the four
 * string forms with their escapes, arrays (multi-line, nested), integers
 * (decimal, 0x, 0o, 0b), floats (inf, nan), booleans, offset and local
 * date-times, local dates and times, comments.
 *
 *   struct ks_toml *doc = ks_toml_parse(text, len, "x.toml", &diags);
 *   const struct ks_toml *rule = ks_toml_get(doc, "rule");
 *   ...
 *   ks_toml_free(doc);
 *
 * The first error stops the parse: it is added to diags as
 * FILE:LINE:COL: error: MESSAGE (byte columns, 1-based) and NULL is
 * returned. Input is bounded (KS_TOML_MAX_SIZE bytes, KS_TOML_MAX_DEPTH
 * levels of tables and arrays) and read in time linear in its size.
 */
#ifndef KESTREL_TOML_H
#define KESTREL_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define KS_TOML_MAX_SIZE	KS_MAX_FILE_BYTES	/* 16 MiB, like any rule file */
#define KS_TOML_MAX_DEPTH	32

enum ks_toml_type {
	KS_TOML_TABLE,
	KS_TOML_ARRAY,
	KS_TOML_STRING,
	KS_TOML_INT,
	KS_TOML_FLOAT,
	KS_TOML_BOOL,
	KS_TOML_DATETIME,
};

enum ks_toml_dt {
	KS_TOML_DT_OFFSET,	/* 1979-05-27T07:32:00Z, ...-07:00 */
	KS_TOML_DT_LOCAL,	/* 1979-05-27T07:32:00 */
	KS_TOML_DT_DATE,	/* 1979-05-27 */
	KS_TOML_DT_TIME,	/* 07:32:00 */
};

/* From value byte `off` on, the string's bytes come from line:col of the
 * file (until the next segment): how a diagnostic inside a string value,
 * such as an EQL query, finds its way back to the file. */
struct ks_toml_seg {
	size_t off;
	int line, col;
};

struct ks_toml {
	enum ks_toml_type type;
	struct ks_loc loc;	/* the value; a table's [header] or first key */
	struct ks_loc key_loc;	/* its key; the root's is 1:1 */
	char *key;		/* NUL-terminated; NULL for array items, root */
	size_t key_len;		/* a quoted key may hold "\u0000" */
	/* STRING: the decoded bytes (NUL-terminated, may hold NUL);
	 * DATETIME: the text as written */
	char *str;
	size_t len;
	struct ks_toml_seg *segs;	/* STRING: at least one */
	size_t n_segs;
	enum ks_toml_dt dt;
	int64_t i;
	double f;
	bool b;
	/* TABLE: its keys in the order they were defined; ARRAY: items */
	struct ks_toml **v;
	size_t n, cap;
	/* private: how a table or array was defined, and its depth */
	unsigned int flags;
	unsigned int depth;
};

struct ks_toml *ks_toml_parse(const char *text, size_t len, const char *file,
			      struct ks_diags *d);
void ks_toml_free(struct ks_toml *t);

/* Entry `key` of a table, or NULL (also when t is NULL or no table). */
const struct ks_toml *ks_toml_get(const struct ks_toml *t, const char *key);
/* "table", "array", "string", "integer", "float", "boolean", "date-time" */
const char *ks_toml_type_name(enum ks_toml_type type);
/* Where value byte `off` of a STRING came from. */
struct ks_loc ks_toml_str_loc(const struct ks_toml *s, size_t off);

#endif /* KESTREL_TOML_H */
