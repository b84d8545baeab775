// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A ruleset's private memory and its sources: the arena that owns every
 * parsed string and AST node (freed in one go), interned file names, the
 * source texts diagnostics quote (indexed, so locating a byte costs the
 * same in a file of ten rules or of ten thousand), position maps from
 * query bytes back to FILE:LINE:COL, and the YAML helpers every rule
 * loader uses.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

/* ---- arena ---- */

#define ARENA_BLK	(64 * 1024)
#define ARENA_ALIGN	16

struct ks_arena_blk {
	struct ks_arena_blk *next;
	size_t used, size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void *ks_alloc(struct ks_ruleset *rs, size_t size)
{
	struct ks_priv *pv = ks_priv(rs);
	struct ks_arena_blk *b = pv->blk;
	void *p;

	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (!b || b->size - b->used < size) {
		size_t n = size > ARENA_BLK ? size : ARENA_BLK;

		b = ks_xmalloc(sizeof(*b) + n);
		b->size = n;
		b->next = pv->blk;
		pv->blk = b;
	}
	p = b->data + b->used;
	b->used += size;
	return p;
}

char *ks_strndup(struct ks_ruleset *rs, const char *s, size_t n)
{
	char *d = ks_alloc(rs, n + 1);

	memcpy(d, s, n);
	return d;
}

char *ks_strdup(struct ks_ruleset *rs, const char *s)
{
	return ks_strndup(rs, s, strlen(s));
}

const char *ks_intern(struct ks_ruleset *rs, const char *s)
{
	struct ks_priv *pv = ks_priv(rs);
	struct ks_strmap_slot *sl = ks_strmap_find(&pv->intern_map, s);
	char *d;

	if (sl)
		return sl->key;
	ks_grow(&pv->interned, &pv->cap_interned, pv->n_interned,
		sizeof(*pv->interned));
	d = ks_xstrdup(s);
	pv->interned[pv->n_interned] = d;
	ks_strmap_add(&pv->intern_map, d, pv->n_interned++);
	return d;
}

/* ---- source texts ---- */

#define CHK_SHIFT	6	/* a checkpoint every 64 characters */

static bool is_utf8_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Line starts, and for non-ASCII text the byte of every 64th character
 * (libyaml's marks count characters, a UTF-8 byte order mark excluded). */
static void src_index(struct ks_src *s)
{
	size_t i, n = 1, c = 0;
	bool ascii = true;

	for (i = 0; i < s->len; i++) {
		n += s->text[i] == '\n';
		ascii &= !((unsigned char)s->text[i] & 0x80);
	}
	s->lines = ks_xmalloc(n * sizeof(*s->lines));
	for (i = 0, n = 1; i < s->len; i++)
		if (s->text[i] == '\n')
			s->lines[n++] = i + 1;
	s->n_lines = n;
	if (s->len >= 3 && !memcmp(s->text, "\xef\xbb\xbf", 3))
		s->bom = 3;
	if (ascii)
		return;
	s->chk = ks_xmalloc(((s->len >> CHK_SHIFT) + 1) * sizeof(*s->chk));
	for (i = s->bom; i < s->len; i++) {
		if (is_utf8_cont(s->text[i]))
			continue;
		if (!(c & ((1u << CHK_SHIFT) - 1)))
			s->chk[s->n_chk++] = i;
		c++;
	}
}

const struct ks_src *ks_src_add(struct ks_ruleset *rs, const char *file,
				const char *text, size_t len)
{
	struct ks_priv *pv = ks_priv(rs);
	struct ks_src *s = ks_xmalloc(sizeof(*s));

	s->file = ks_intern(rs, file);
	s->text = ks_xmalloc(len + 1);
	memcpy(s->text, text, len);
	s->len = len;
	src_index(s);
	*pv->src_tail = s;
	pv->src_tail = &s->next;
	return s;
}

size_t ks_src_line_of(const struct ks_src *src, size_t off)
{
	size_t lo = 0, hi = src->n_lines, mid;

	/* last line starting at or before off */
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (src->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Byte offset of libyaml's character index ch. */
static size_t src_char_byte(const struct ks_src *src, size_t ch)
{
	size_t p, k;

	if (!src->n_chk)
		return src->bom + ch < src->len ? src->bom + ch : src->len;
	k = ch >> CHK_SHIFT;
	if (k >= src->n_chk)
		return src->len;
	p = src->chk[k];
	for (ch &= (1u << CHK_SHIFT) - 1; ch && p < src->len; ch--) {
		p++;
		while (p < src->len && is_utf8_cont(src->text[p]))
			p++;
	}
	return p;
}

/* ---- position maps ---- */

static void seg_add(struct ks_posmap *m, size_t off, int line, int col)
{
	ks_grow(&m->v, &m->cap, m->n, sizeof(*m->v));
	m->v[m->n++] = (struct ks_seg){ .off = off, .line = line, .col = col };
}

size_t ks_seg_last(const void *segs, size_t n, size_t size, size_t off)
{
	const char *base = segs;
	size_t lo = 0, hi = n, mid;

	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (*(const size_t *)(base + mid * size) <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

struct ks_loc ks_posmap_loc(const struct ks_posmap *m, size_t off)
{
	struct ks_loc l = { .file = m->file, .line = 1, .col = 1 };
	size_t lo;

	if (!m->n)
		return l;
	lo = ks_seg_last(m->v, m->n, sizeof(*m->v), off);
	l.line = m->v[lo].line;
	l.col = m->v[lo].col;
	if (off > m->v[lo].off)
		l.col += off - m->v[lo].off;
	return l;
}

void ks_posmap_text(struct ks_posmap *m, const char *text, size_t len,
		    struct ks_loc at)
{
	size_t off = 0;
	const char *nl;
	int line = at.line;

	memset(m, 0, sizeof(*m));
	m->file = at.file;
	m->text = text;
	m->len = len;
	seg_add(m, 0, at.line, at.col);
	while ((nl = memchr(text + off, '\n', len - off))) {
		off = nl - text + 1;
		seg_add(m, off, ++line, 1);
	}
}

size_t ks_yaml_offset(const struct ks_src *src, yaml_mark_t mark)
{
	return src_char_byte(src, mark.index);
}

struct ks_loc ks_yaml_loc(const struct ks_src *src, yaml_mark_t mark)
{
	size_t off = ks_yaml_offset(src, mark);
	size_t line = ks_src_line_of(src, off);

	return (struct ks_loc){
		.file = src->file,
		.line = line + 1,
		.col = off - src->lines[line] + 1,
	};
}

/*
 * Find where each source line of a scalar lands in its value. libyaml
 * strips indentation (block scalars), folds lines and drops quotes; line
 * contents survive verbatim and in order, so searching each stripped line
 * from the previous match recovers the mapping. Lines that do not survive
 * verbatim (escapes in quoted scalars) are mapped by the part before the
 * first backslash, or skipped.
 */
void ks_posmap_yaml(struct ks_posmap *m, const struct ks_src *src,
		    size_t start, size_t end, yaml_scalar_style_t style,
		    const char *value, size_t len, struct ks_loc at)
{
	const char *t = src->text, *nl, *found, *bs;
	size_t p = start, cur = 0, le, s, e, lstart;
	int line = at.line;

	memset(m, 0, sizeof(*m));
	m->file = at.file;
	m->text = value;
	m->len = len;
	if (end > src->len)
		end = src->len;
	if (style == YAML_LITERAL_SCALAR_STYLE ||
	    style == YAML_FOLDED_SCALAR_STYLE) {
		nl = memchr(t + p, '\n', end - p);
		p = nl ? (size_t)(nl - t) + 1 : end;
		line++;
	} else if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		   style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
		p++;
	}
	lstart = ks_src_line_start(src, line - 1);
	while (p < end) {
		nl = memchr(t + p, '\n', end - p);
		le = nl ? (size_t)(nl - t) : end;
		for (s = p; s < le && (t[s] == ' ' || t[s] == '\t'); s++)
			;
		for (e = le; e > s && isspace((unsigned char)t[e - 1]); e--)
			;
		if (e == end && e > s &&
		    (style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		     style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
			e--;
		if (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE &&
		    (bs = memchr(t + s, '\\', e - s)))
			e = bs - t;
		if (e > s && cur <= len) {
			found = memmem(value + cur, len - cur, t + s, e - s);
			if (found) {
				seg_add(m, found - value, line, s - lstart + 1);
				cur = found - value + (e - s);
			}
		}
		if (!nl)
			break;
		p = le + 1;
		lstart = p;
		line++;
	}
	if (!m->n)
		seg_add(m, 0, at.line, at.col);
}

void ks_posmap_free(struct ks_posmap *m)
{
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

/* ---- YAML helpers ---- */

const char *ks_yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

bool ks_yis_null(yaml_node_t *n)
{
	const char *v = ks_yscalar(n);

	if (!n)
		return true;
	if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

yaml_node_t *ks_ymap_get(yaml_document_t *doc, yaml_node_t *map,
			 const char *key)
{
	yaml_node_pair_t *pr;
	const char *k;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		k = ks_yscalar(yaml_document_get_node(doc, pr->key));
		if (k && !strcmp(k, key))
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/* ---- the ruleset's private data ---- */

struct ks_priv *ks_priv_new(void)
{
	struct ks_priv *pv = ks_xmalloc(sizeof(*pv));

	pv->src_tail = &pv->srcs.head;
	return pv;
}

void ks_priv_free(struct ks_priv *pv)
{
	struct ks_arena_blk *b;
	struct ks_src *s;
	size_t i;

	free(pv->regex_nodes);
	while ((s = pv->srcs.head)) {
		pv->srcs.head = s->next;
		free(s->text);
		free(s->lines);
		free(s->chk);
		free(s);
	}
	for (i = 0; i < pv->n_interned; i++)
		free(pv->interned[i]);
	free(pv->interned);
	ks_strmap_free(&pv->intern_map);
	ks_strmap_free(&pv->rule_ids);
	while ((b = pv->blk)) {
		pv->blk = b->next;
		free(b);
	}
	free(pv);
}
