// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The index of an Event JSONL line: which node holds the value of each
 * path the decoder reads (loader/ecs_index.h). Two ways to it:
 *
 *   ks_dec_index_tape   the members of the reader's whole tape matched
 *                       against the tree of paths (any line the reader
 *                       takes, flattened dotted names included);
 *   ks_dec_index_line   one pass over the line for the usual shape: each
 *                       member name matched as it is read, a node made
 *                       only for a value at a path, anything else skipped
 *                       with the reader's checks. Parsing the whole tape and
 *                       walking it again was ~9,800 instructions of a
 *                       replay bench line's ~14,800 (bench/profile/
 *                       replay7-*.txt). Whatever it is not sure to take
 *                       the way the reader does (an escape, a dotted name,
 *                       a real, a duplicate, an object at a path, deep
 *                       nesting, bad JSON) it leaves to the reader, so
 *                       messages and values cannot differ.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/ecs.h"
#include "kestrel/rules.h"
#include "ecs_index.h"
#include "json_scan.h"

/* The paths as a tree of member names: what a line's members are matched against. */
struct dec_tnode {
	const char *seg;
	uint32_t len;
	int id;			/* enum dec_path, or -1: only a prefix of some */
	uint16_t child, next;	/* indices in dec_tree; 0: none (0 is the root) */
	uint16_t last;		/* the last child */
	uint16_t parent;
};

const char *ks_dec_names[P_N];
static struct dec_tnode dec_tree[2 * P_N + 1];
static unsigned int dec_tree_n = 1;
static pthread_once_t dec_tree_once = PTHREAD_ONCE_INIT;

/*
 * Every node but the root by (parent, name) in an open-addressed table:
 * a line's member is found in one probe or two, where walking the
 * parent's children (16 at the root) with a memcmp call was 5 % of
 * kload replay's time net of start-up (bench/profile/replay2-cli-before.txt).
 * Filled once, then read only.
 */
#define DEC_HASH_N	1024u	/* a power of two, over twice the nodes (111 today) */
static uint16_t dec_hash[DEC_HASH_N];
_Static_assert(DEC_HASH_N >= 2 * (2 * P_N + 1), "dec_hash stays at most half full");

/*
 * A slot index, not a content hash (include/kestrel/hash.h has the
 * project's one): the parent, the length and the two end bytes tell the
 * decoder's names apart well enough for one probe or two, and the probe's
 * memcmp decides. ks_fnv1a32 over the whole name cost 503 instructions
 * more a line, 3.3 % of decoding (bench/profile/replay4-decoder.txt).
 */
static unsigned int tree_hash(unsigned int t, const char *seg, size_t len)
{
	unsigned int h = t * 0x9e3779b1u ^ (unsigned int)len * 0x85ebca6bu;

	if (len)
		h ^= (unsigned char)seg[0] * 0xc2b2ae35u ^ (unsigned char)seg[len - 1] * 0x27d4eb2fu;
	return (h ^ h >> 15) & (DEC_HASH_N - 1);
}

/*
 * a[0..len) == b[0..len) for a name: two loads from each end, which
 * overlap when shorter than twice their size, never past either. Each of
 * a line's ~19 probes that hit made a memcmp call.
 */
static inline bool name_eq(const char *a, const char *b, size_t len)
{
	uint64_t x, y, u, v;
	uint32_t i, j, k, l;

	if (len >= 8 && len <= 16) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + len - 8, 8);
		memcpy(&v, b + len - 8, 8);
		return !((x ^ y) | (u ^ v));
	}
	if (len >= 4 && len < 8) {
		memcpy(&i, a, 4);
		memcpy(&j, b, 4);
		memcpy(&k, a + len - 4, 4);
		memcpy(&l, b + len - 4, 4);
		return !((i ^ j) | (k ^ l));
	}
	return !memcmp(a, b, len);
}

/*
 * Inlined in index_obj, name_eq for memcmp: indexing a replay bench line
 * took 2,380 instructions, now 1,860 (bench/profile/replay5-index.txt).
 */
static inline __attribute__((always_inline)) unsigned int
tree_child(unsigned int t, const char *seg, size_t len)
{
	unsigned int h, c;

	for (h = tree_hash(t, seg, len); (c = dec_hash[h]); h = (h + 1) & (DEC_HASH_N - 1))
		if (dec_tree[c].parent == t && dec_tree[c].len == len &&
		    name_eq(dec_tree[c].seg, seg, len))
			return c;
	return 0;
}

static void tree_hash_add(unsigned int c)
{
	unsigned int h = tree_hash(dec_tree[c].parent, dec_tree[c].seg, dec_tree[c].len);

	while (dec_hash[h])
		h = (h + 1) & (DEC_HASH_N - 1);
	dec_hash[h] = (uint16_t)c;
}

static void tree_add(int id, const char *path)
{
	unsigned int t = 0, c;
	const char *dot;
	size_t len;

	for (;;) {
		dot = strchr(path, '.');
		len = dot ? (size_t)(dot - path) : strlen(path);
		c = tree_child(t, path, len);
		if (!c) {	/* appended: children stay in enum order, the common first */
			c = dec_tree_n++;
			dec_tree[c] = (struct dec_tnode){ path, (uint32_t)len, -1, 0, 0, 0,
							  (uint16_t)t };
			tree_hash_add(c);
			if (dec_tree[t].child)
				dec_tree[dec_tree[t].last].next = (uint16_t)c;
			else
				dec_tree[t].child = (uint16_t)c;
			dec_tree[t].last = (uint16_t)c;
		}
		t = c;
		if (!dot)
			break;
		path = dot + 1;
	}
	dec_tree[t].id = id;
}

static void tree_build(void)
{
#define DEC_NAME(id, name) [P_##id] = name,
#define DEC_FIELD(id, f) [P_##id] = ks_field_by_id(f)->name,
	const char *const names[P_USER] = { DEC_PATHS(DEC_NAME, DEC_FIELD) };
	unsigned int i;

	for (i = 0; i < P_N; i++) {
		ks_dec_names[i] = i < P_USER ? names[i] : ks_ecs_user_name(i - P_USER);
		tree_add((int)i, ks_dec_names[i]);
	}
}

static void index_set(struct ks_dec_index *x, int id, const struct ks_jn *m, unsigned int depth)
{
	if (id >= 0 && (!x->at[id] || depth < x->depth[id])) {
		x->at[id] = m;
		x->depth[id] = (uint8_t)depth;
	}
}

/*
 * The members of obj (tree node t, at object depth `depth`) that some
 * path names. A path is read through nested objects or a literal dotted
 * member name at any level (some shippers flatten); where both exist the
 * shallower wins, as a lookup trying the literal rest of the path before
 * descending would find it. Members with a dot are never descended into.
 */
static void index_obj(struct ks_dec_index *x, const struct ks_jr *r, const struct ks_jn *obj,
		      unsigned int t, unsigned int depth)
{
	const struct ks_jn *m;
	const char *seg, *dot;
	unsigned int c;
	size_t rest;

	for (m = ks_jr_first(r, obj); m; m = ks_jr_next(r, m)) {
		if (!r->dotted || !memchr(m->key, '.', m->klen)) {
			c = tree_child(t, m->key, m->klen);
			if (!c)
				continue;
			index_set(x, dec_tree[c].id, m, depth);
			if (m->type == KS_JT_OBJ && dec_tree[c].child)
				index_obj(x, r, m, c, depth + 1);
			continue;
		}
		for (c = t, seg = m->key;; seg = dot + 1) {	/* t may be the root, 0 */
			rest = m->klen - (size_t)(seg - m->key);
			dot = memchr(seg, '.', rest);
			c = tree_child(c, seg, dot ? (size_t)(dot - seg) : rest);
			if (!c || !dot)
				break;
		}
		if (c)
			index_set(x, dec_tree[c].id, m, depth);
	}
}

void ks_dec_index_tape(struct ks_dec_index *x, const struct ks_jr *r)
{
	pthread_once(&dec_tree_once, tree_build);
	memset(x->at, 0, sizeof(x->at));
	if (r->n_nodes && r->n[0].type == KS_JT_OBJ)
		index_obj(x, r, &r->n[0], 0, 0);
}

/* ---- the one pass ---- */

bool ks_dec_one_pass = true;

#define IX_DEPTH	32	/* deeper: the reader's (its limit is 2048) */
#define IX_NAMES	16	/* names off the tree in one object: more, the reader's */
#define IX_WORDS	128	/* lines up to 8 KiB (longer: the reader's), 64 bytes a word */

struct ipass {
	struct ks_dec_index *x;
	struct ks_jr *r;
	const char *line, *p, *end;
	char *copy;		/* r->str: the line's copy, a NUL after each string */
	const uint64_t *quote;	/* bit i: line[i] is '"' */
	size_t words;		/* of quote */
	unsigned int depth;
	uint64_t seen[(2 * P_N + 1 + 63) / 64];	/* tree nodes met (a second: a duplicate) */
};

static inline void iws(struct ipass *ps)
{
	ps->p = skip_ws(ps->p, ps->end);
}

/* ps->p on c (after white space): step over it. */
static inline bool ipunct(struct ipass *ps, char c)
{
	iws(ps);
	if (ps->p == ps->end || *ps->p != c)
		return false;
	ps->p++;
	iws(ps);
	return true;
}

/*
 * A string at ps->p (its quote), as the reader's string() leaves it: its
 * bytes in the copy, a NUL over the closing quote. The line has no
 * backslash (iscan), so the next quote ends it; its control characters
 * and UTF-8 were checked for the whole line.
 */
static inline __attribute__((always_inline)) int
istring(struct ipass *ps, const char **s, uint32_t *len)
{
	size_t b = (size_t)(ps->p - ps->line) + 1, w = b / 64;
	uint64_t m;

	/* a quote that is the line's last byte, the line a multiple of 64
	 * bytes long: b's word is past the scanned ones (found by fuzz_events) */
	if (w >= ps->words)
		return -1;
	m = ps->quote[w] & (~0ull << (b % 64));
	while (!m) {
		if (++w >= ps->words)
			return -1;
		m = ps->quote[w];
	}
	w = w * 64 + (size_t)__builtin_ctzll(m);	/* the closing quote */
	*s = ps->copy + b;
	ps->copy[w] = '\0';
	*len = (uint32_t)(w - b);
	ps->p = ps->line + w + 1;
	return 0;
}

/* An integer as the reader takes it; -1 for a real or a bad or too big number. */
static int inumber(struct ipass *ps, int64_t *v)
{
	const char *p = ps->p, *d = p + (*p == '-'), *q = d;

	while (q < ps->end && *q >= '0' && *q <= '9')
		q++;
	if (q == d || (*d == '0' && q - d > 1) ||
	    (q < ps->end && (*q == '.' || *q == 'e' || *q == 'E')))
		return -1;
	ps->p = q;
	return int_value(p, q, v);
}

/* true, false or null, not followed by a letter (the reader's word). */
static int iliteral(struct ipass *ps, uint8_t *type)
{
	static const struct { const char *w; uint8_t n, type; } lit[] = {
		{ "true", 4, KS_JT_TRUE }, { "false", 5, KS_JT_FALSE }, { "null", 4, KS_JT_NULL },
	};
	size_t i, left = (size_t)(ps->end - ps->p);
	char c;

	for (i = 0; i < 3; i++) {
		if (left < lit[i].n || memcmp(ps->p, lit[i].w, lit[i].n))
			continue;
		c = left > lit[i].n ? ps->p[lit[i].n] : '\0';
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return -1;
		ps->p += lit[i].n;
		*type = lit[i].type;
		return 0;
	}
	return -1;
}

/* A new node (the array was sized for the line: no growth, no move). */
static inline __attribute__((always_inline)) struct ks_jn *
inode(struct ipass *ps, uint8_t type)
{
	struct ks_jn *n = &ps->r->n[ps->r->n_nodes++];

	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/* Just past a '{' or '[': white space, then whether the container ends (stepped over). */
static inline bool iempty(struct ipass *ps, char close)
{
	iws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return true;
	}
	return false;
}

/* A string, an integer, true, false or null into node n. */
static inline __attribute__((always_inline)) int
iscalar(struct ipass *ps, struct ks_jn *n)
{
	char c = ps->p < ps->end ? *ps->p : '\0';

	if (c == '"') {
		n->type = KS_JT_STR;
		return istring(ps, &n->s, &n->len);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		n->type = KS_JT_INT;
		return inumber(ps, &n->i);
	}
	return iliteral(ps, &n->type);
}

/* An array of scalars at a path into node a (ps->p on its '['). */
static int iarray(struct ipass *ps, struct ks_jn *a)
{
	struct ks_jn *m, *prev = NULL;

	ps->p++;
	if (iempty(ps, ']'))
		return 0;
	for (;;) {
		m = inode(ps, KS_JT_INT);
		if (iscalar(ps, m))
			return -1;
		if (prev)
			prev->next = (uint32_t)(m - ps->r->n);
		else
			a->first = (uint32_t)(m - ps->r->n);
		prev = m;
		a->len++;
		iws(ps);
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (!ipunct(ps, ','))
			return -1;
	}
}

static int iskip(struct ipass *ps);

/* Names off the tree in one object, to find a duplicate among them. */
struct inames {
	const char *s[IX_NAMES];
	uint32_t len[IX_NAMES];
	unsigned int n;
};

static bool inames_add(struct inames *k, const char *s, uint32_t len)
{
	unsigned int i;

	if (k->n == IX_NAMES)
		return false;
	for (i = 0; i < k->n; i++)
		if (k->len[i] == len && !memcmp(k->s[i], s, len))
			return false;
	k->s[k->n] = s;
	k->len[k->n++] = len;
	return true;
}

/* A member name, then its ':'. */
static inline __attribute__((always_inline)) int
iname(struct ipass *ps, const char **s, uint32_t *len)
{
	if (ps->p == ps->end || *ps->p != '"' || istring(ps, s, len))
		return -1;
	return ipunct(ps, ':') ? 0 : -1;
}

/* After a member: 1 at the container's end (passed), 0 after a ',', -1. */
static inline __attribute__((always_inline)) int
inext(struct ipass *ps, char close)
{
	iws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 1;
	}
	return ipunct(ps, ',') ? 0 : -1;
}

/* An object no path goes into (ps->p past its '{'): checked, skipped. */
static int iskip_obj(struct ipass *ps)
{
	struct inames names;
	const char *k;
	uint32_t klen;
	int end;

	names.n = 0;
	if (iempty(ps, '}'))
		return 0;
	do {
		if (iname(ps, &k, &klen) || !inames_add(&names, k, klen) || iskip(ps))
			return -1;
	} while (!(end = inext(ps, '}')));
	return end < 0 ? -1 : 0;
}

static int iskip_arr(struct ipass *ps)
{
	int end;

	if (iempty(ps, ']'))
		return 0;
	do {
		if (iskip(ps))
			return -1;
	} while (!(end = inext(ps, ']')));
	return end < 0 ? -1 : 0;
}

/* Any value no path names: checked as the reader would, nothing kept. */
static int iskip(struct ipass *ps)
{
	struct ks_jn n;
	int err;

	if (ps->p == ps->end || ++ps->depth > IX_DEPTH)
		return -1;
	if (*ps->p == '{' || *ps->p == '[') {
		ps->p++;
		err = ps->p[-1] == '{' ? iskip_obj(ps) : iskip_arr(ps);
	} else {
		err = iscalar(ps, &n);
	}
	ps->depth--;
	return err;
}

static inline __attribute__((always_inline)) bool
iseen(struct ipass *ps, unsigned int c)
{
	uint64_t bit = 1ull << (c % 64);
	bool was = ps->seen[c / 64] & bit;

	ps->seen[c / 64] |= bit;
	return was;
}

static int iobj(struct ipass *ps, unsigned int t, unsigned int depth);

/* The value of member `key`, tree node c, of an object at depth `depth`. */
static inline __attribute__((always_inline)) int
imember(struct ipass *ps, unsigned int c, const char *key, uint32_t klen, unsigned int depth)
{
	const struct dec_tnode *tn = &dec_tree[c];
	struct ks_jn *n;

	if (ps->p == ps->end)
		return -1;
	if (*ps->p == '{' && tn->child) {
		if (tn->id >= 0 || ++ps->depth > IX_DEPTH)
			return -1;	/* an object at a path: the reader's */
		ps->p++;
		if (iobj(ps, c, depth + 1))
			return -1;
		ps->depth--;
		return 0;
	}
	if (*ps->p == '{' && tn->id >= 0)
		return -1;	/* an object at a path ({"base64": ...}): the reader's */
	if (tn->id < 0)
		return iskip(ps);	/* no path is there */
	n = inode(ps, KS_JT_ARR);
	n->key = key;
	n->klen = klen;
	ps->x->at[tn->id] = n;
	ps->x->depth[tn->id] = (uint8_t)depth;
	return *ps->p == '[' ? iarray(ps, n) : iscalar(ps, n);
}

/* The members of an object at tree node t (ps->p past its '{'). */
static int iobj(struct ipass *ps, unsigned int t, unsigned int depth)
{
	struct inames names;
	const char *k;
	uint32_t klen;
	unsigned int c;
	int end;

	names.n = 0;
	if (iempty(ps, '}'))
		return 0;
	do {
		if (iname(ps, &k, &klen))
			return -1;
		c = tree_child(t, k, klen);	/* a name of the tree has no '.' */
		if (!c && memchr(k, '.', klen))
			return -1;	/* a dotted name: the reader's, which reads it as a path */
		if (c ? iseen(ps, c) : !inames_add(&names, k, klen))
			return -1;	/* a duplicate, or too many names to compare */
		if (c ? imember(ps, c, k, klen, depth) : iskip(ps))
			return -1;
	} while (!(end = inext(ps, '}')));
	return end < 0 ? -1 : 0;
}

/* Room for the line's copy as the reader makes it, and for its nodes. */
static int ireserve(struct ks_jr *r, size_t len)
{
	size_t nodes = len / 2 + 2;	/* a value takes a byte and a ',', ':' or '[' */
	void *p;

	if (r->cap_str < 2 * len + 2) {
		p = realloc(r->str, 2 * len + 2);
		if (!p)
			return -1;
		r->str = p;
		r->cap_str = 2 * len + 2;
	}
	if (r->cap_nodes < nodes) {
		p = realloc(r->n, nodes * sizeof(*r->n));
		if (!p)
			return -1;
		r->n = p;
		r->cap_nodes = nodes;
	}
	return 0;
}

#ifdef __SSE2__
/* Bits of 16 bytes at p: quotes, control characters, backslashes, bytes >= 0x80. */
static inline void iscan16(const char *p, unsigned int *q, unsigned int *ctl, unsigned int *bs,
			   unsigned int *high)
{
	__m128i v = _mm_loadu_si128((const __m128i *)p);

	*q = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
	*ctl = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
	*bs = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	*high = (unsigned int)_mm_movemask_epi8(v);
}
#define IX_STEP	16u
#else
static inline void iscan16(const char *p, unsigned int *q, unsigned int *ctl, unsigned int *bs,
			   unsigned int *high)
{
	unsigned char c = (unsigned char)*p;

	*q = c == '"';
	*ctl = c < 0x20;
	*bs = c == '\\';
	*high = c >> 7;
}
#define IX_STEP	1u
#endif

/*
 * One scan of the whole line instead of one per string: where its quotes
 * are, and whether it can be read without the reader's string checks (no
 * backslash, no control character inside a string, well-formed UTF-8:
 * a multi-byte sequence never spans an ASCII byte, so the whole line is
 * well-formed exactly when each string is and no byte >= 0x80 is outside
 * one, which the reader would refuse too). 0, or -1: the reader's line.
 */
static int iscan(const char *line, size_t len, uint64_t *quote, size_t words)
{
	uint64_t ctl[IX_WORDS], in, carry = 0;
	unsigned int q, c, bs, h, any_bs = 0, any_high = 0;
	size_t i, w;

	memset(quote, 0, words * sizeof(*quote));
	memset(ctl, 0, words * sizeof(*ctl));
	for (i = 0; i + IX_STEP <= len; i += IX_STEP) {
		iscan16(line + i, &q, &c, &bs, &h);
		quote[i / 64] |= (uint64_t)q << (i % 64);
		ctl[i / 64] |= (uint64_t)c << (i % 64);
		any_bs |= bs;
		any_high |= h;
	}
	for (; i < len; i++) {
		quote[i / 64] |= (uint64_t)(line[i] == '"') << (i % 64);
		ctl[i / 64] |= (uint64_t)((unsigned char)line[i] < 0x20) << (i % 64);
		any_bs |= line[i] == '\\';
		any_high |= (unsigned char)line[i] >> 7;
	}
	if (any_bs || (any_high && !ks_utf8_valid(line, len)))
		return -1;
	for (w = 0; w < words; w++) {	/* in: the bytes from an opening quote to its string's end */
		in = quote[w];
		in ^= in << 1;
		in ^= in << 2;
		in ^= in << 4;
		in ^= in << 8;
		in ^= in << 16;
		in ^= in << 32;
		in ^= carry;
		if (in & ctl[w])
			return -1;
		carry = (uint64_t)((int64_t)in >> 63);
	}
	return 0;
}

int ks_dec_index_line(struct ks_dec_index *x, struct ks_jr *r, const char *line, size_t len)
{
	struct ipass ps = { x, r, line, line, line + len, NULL, NULL, 0, 0, { 0 } };
	uint64_t quote[IX_WORDS];

	pthread_once(&dec_tree_once, tree_build);
	memset(x->at, 0, sizeof(x->at));
	r->n_nodes = 0;
	r->dotted = false;
	ps.words = (len + 63) / 64;
	if (len > IX_WORDS * 64 || iscan(line, len, quote, ps.words) || ireserve(r, len))
		return -1;
	ps.quote = quote;
	memcpy(r->str, line, len);
	ps.copy = r->str;
	iws(&ps);
	if (ps.p == ps.end || *ps.p != '{')
		return -1;
	inode(&ps, KS_JT_OBJ);
	ps.p++;
	if (iobj(&ps, 0, 0))
		goto other;
	iws(&ps);
	if (ps.p == ps.end)
		return 0;
other:
	r->n_nodes = 0;
	memset(x->at, 0, sizeof(x->at));
	return -1;
}
