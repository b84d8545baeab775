/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JSON without a DOM, for the hot paths (loader/json_write.c,
 * loader/json_read.c). jansson stays for configuration and cold paths.
 *
 * Writer: appends compact JSON to a growable buffer that is reused line
 * after line. The caller writes the keys of an object in the order it
 * wants them printed (the alert and event encoders write them sorted,
 * as jansson's JSON_SORT_KEYS did); the writer puts the commas. Strings
 * are escaped exactly as jansson 2.14 dumps them ("\b \f \n \r \t \" \\",
 * other bytes below 0x20 as \u00XX with upper-case hex, UTF-8 kept) after
 * ill-formed UTF-8 is repaired to U+FFFD.
 *
 *   struct ks_jw w = {};
 *   ks_jw_obj(&w, NULL);  ks_jw_int(&w, "pid", 42);  ks_jw_end(&w, '}');
 *   if (w.oom) ...;  fwrite(w.p, 1, w.len, f);  w.len = 0;  // next line
 *
 * Reader: parses one line into a flat array of nodes (a "tape") held in
 * buffers reused from line to line: no allocation per line once they
 * have grown. It accepts exactly what jansson's json_loadb(...,
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) accepts; a line it rejects is
 * handed to jansson for the diagnostic (the cold path), so messages do
 * not change.
 */
#ifndef KESTREL_JSON_H
#define KESTREL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KS_JW_DEPTH	16

struct ks_jw {
	char *p;
	size_t len, cap;
	bool oom;		/* something did not fit: the text is incomplete */
	unsigned int depth;
	bool more[KS_JW_DEPTH];	/* the container at depth d has a member */
};

/* Make room for n more bytes; false (and oom set) if it cannot. */
bool ks_jw_reserve(struct ks_jw *w, size_t n);
void ks_jw_free(struct ks_jw *w);

/*
 * key: NULL inside an array or at the top; a member name in an object.
 * The _k functions take the key's length (klen); the names without _k
 * are inline wrappers that give it, so that for a literal key, as almost
 * every encoder call has, it is a constant and no strlen() runs per
 * member (5-6 % of the NFA bench's alert path before).
 */
void ks_jw_obj_k(struct ks_jw *w, const char *key, size_t klen);
void ks_jw_arr_k(struct ks_jw *w, const char *key, size_t klen);
void ks_jw_end(struct ks_jw *w, char close);	/* '}' or ']' */
/* Any bytes as a string: ill-formed UTF-8 becomes U+FFFD, NUL \u0000. */
void ks_jw_str_k(struct ks_jw *w, const char *key, size_t klen, const void *s, size_t len);
void ks_jw_int_k(struct ks_jw *w, const char *key, size_t klen, int64_t v);
/* A JSON literal or number written as is ("true", "null"). */
void ks_jw_raw_k(struct ks_jw *w, const char *key, size_t klen, const char *json);

#define KS_JW_KLEN(key)	((key) ? __builtin_strlen(key) : 0)

static inline void ks_jw_obj(struct ks_jw *w, const char *key)
{
	ks_jw_obj_k(w, key, KS_JW_KLEN(key));
}

static inline void ks_jw_arr(struct ks_jw *w, const char *key)
{
	ks_jw_arr_k(w, key, KS_JW_KLEN(key));
}

static inline void ks_jw_str(struct ks_jw *w, const char *key, const void *s, size_t len)
{
	ks_jw_str_k(w, key, KS_JW_KLEN(key), s, len);
}

static inline void ks_jw_cstr(struct ks_jw *w, const char *key, const char *s)
{
	ks_jw_str_k(w, key, KS_JW_KLEN(key), s, strlen(s));
}

static inline void ks_jw_int(struct ks_jw *w, const char *key, int64_t v)
{
	ks_jw_int_k(w, key, KS_JW_KLEN(key), v);
}

static inline void ks_jw_raw(struct ks_jw *w, const char *key, const char *json)
{
	ks_jw_raw_k(w, key, KS_JW_KLEN(key), json);
}

/* ---- reader ---- */
enum ks_jt {
	KS_JT_NULL, KS_JT_FALSE, KS_JT_TRUE, KS_JT_INT, KS_JT_REAL,
	KS_JT_STR, KS_JT_ARR, KS_JT_OBJ,
};

/* One value. Links are node indices; 0 means none (node 0 is the root). */
struct ks_jn {
	uint8_t type;		/* enum ks_jt */
	bool esc;		/* KS_JT_STR: had escapes (only then can it hold a NUL) */
	uint32_t klen;		/* member name (in an object) */
	const char *key;
	const char *s;		/* KS_JT_STR: NUL-terminated, may hold NULs */
	uint32_t len;		/* string length, or number of members */
	uint32_t first;		/* containers: first member */
	uint32_t next;		/* next member of the parent */
	int64_t i;		/* KS_JT_INT */
};

struct ks_jr {
	struct ks_jn *n;
	size_t n_nodes, cap_nodes;
	char *str;		/* unescaped strings */
	size_t cap_str;
	uint32_t *set;		/* duplicate-key check of big objects */
	size_t cap_set;
	bool dotted;		/* some member name has a '.' in it */
};

/* Parse line[0..len). 0, or -1 if jansson would reject it too. */
int ks_jr_parse(struct ks_jr *r, const char *line, size_t len);
void ks_jr_free(struct ks_jr *r);

static inline const struct ks_jn *ks_jr_root(const struct ks_jr *r)
{
	return r->n_nodes ? &r->n[0] : NULL;
}

/* Member key[0..klen) of an object node; NULL if none or not an object. */
const struct ks_jn *ks_jr_getn(const struct ks_jr *r, const struct ks_jn *obj,
			       const char *key, size_t klen);
/* The node after member m of the same container, or NULL. */
static inline const struct ks_jn *ks_jr_next(const struct ks_jr *r, const struct ks_jn *m)
{
	return m->next ? &r->n[m->next] : NULL;
}

static inline const struct ks_jn *ks_jr_first(const struct ks_jr *r, const struct ks_jn *c)
{
	return c && (c->type == KS_JT_ARR || c->type == KS_JT_OBJ) && c->first ?
		&r->n[c->first] : NULL;
}

/* Whether string node v holds a NUL byte (only an escape can put one there). */
static inline bool ks_jn_has_nul(const struct ks_jn *v)
{
	return v->esc && memchr(v->s, '\0', v->len);
}

#endif /* KESTREL_JSON_H */
