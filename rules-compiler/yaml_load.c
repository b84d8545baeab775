// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The documents of a YAML rule file in one pass over libyaml's events:
 * the limits of a rule file (KS_MAX_YAML_DEPTH, no aliases) checked and
 * the documents composed from the same events, as yaml_parser_load()
 * composes them (nodes, marks, styles, default tags, the duplicate
 * anchor error).
 *
 * Why not yaml_parser_load(): a file over the limits must not reach the
 * loader (its scanner costs O(nesting) per token, and aliases make shared
 * nodes: a few bytes can name a million values), so the events were read
 * once to check and once more to load: the check was 12% of compiling
 * 1,000 rules (bench/profile/compile2-inproc-before.txt). What it reports
 * is unchanged: a file over a limit, up to its first syntax error, loads
 * nothing and is reported at the first event over the limit; otherwise
 * each document before the first syntax or composer error goes through
 * fn, then that error is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_load.h"

/* Push v on a libyaml stack {start, end, top}: libyaml frees them. */
#define YPUSH(s, v) do {						\
	if ((s).top == (s).end) {					\
		size_t n_ = (s).top - (s).start;			\
		(s).start = ks_xrealloc((s).start,			\
					2 * n_ * sizeof(*(s).start));	\
		(s).top = (s).start + n_;				\
		(s).end = (s).start + 2 * n_;				\
	}								\
	*(s).top++ = (v);						\
} while (0)

#define YINIT(s) do {							\
	(s).start = (s).top = ks_xmalloc(16 * sizeof(*(s).start));	\
	(s).end = (s).start + 16;					\
} while (0)

struct anchor {
	yaml_char_t *name;
	yaml_mark_t mark;
};

/* The first error that ends the load: libyaml's, or the composer's. */
struct yerr {
	bool set;
	const char *problem, *context;
	yaml_mark_t problem_mark, context_mark;
};

struct composer {
	yaml_parser_t yp;
	yaml_document_t doc;		/* being composed */
	int open[KS_MAX_YAML_DEPTH];	/* open collections' node indexes */
	unsigned int depth;
	struct anchor *anchors;		/* of doc */
	size_t n_anchors, cap_anchors;
	yaml_document_t *docs;		/* composed, in order */
	size_t n_docs, cap_docs;
	struct yerr err;
};

static void anchors_clear(struct composer *c)
{
	size_t i;

	for (i = 0; i < c->n_anchors; i++)
		free(c->anchors[i].name);
	c->n_anchors = 0;
}

/* yaml_parser_load's error for a second anchor of the same name. */
static bool anchor_add(struct composer *c, yaml_char_t *name, yaml_mark_t mark)
{
	size_t i;

	if (!name)
		return true;
	for (i = 0; i < c->n_anchors; i++) {
		if (strcmp((char *)c->anchors[i].name, (char *)name))
			continue;
		free(name);
		c->err = (struct yerr){
			.set = true, .problem = "second occurrence", .problem_mark = mark,
			.context = "found duplicate anchor; first occurrence",
			.context_mark = c->anchors[i].mark,
		};
		return false;
	}
	if (c->n_anchors == c->cap_anchors) {
		c->cap_anchors = c->cap_anchors ? 2 * c->cap_anchors : 8;
		c->anchors = ks_xrealloc(c->anchors, c->cap_anchors * sizeof(*c->anchors));
	}
	c->anchors[c->n_anchors++] = (struct anchor){ .name = name, .mark = mark };
	return true;
}

/* Node index into its parent collection, if it has one. */
static void add_to_parent(struct composer *c, int index)
{
	yaml_node_t *p;
	yaml_node_pair_t pair = { .key = index };

	if (!c->depth)
		return;
	p = &c->doc.nodes.start[c->open[c->depth - 1] - 1];
	if (p->type == YAML_SEQUENCE_NODE) {
		YPUSH(p->data.sequence.items, index);
		return;
	}
	if (p->data.mapping.pairs.top != p->data.mapping.pairs.start &&
	    !p->data.mapping.pairs.top[-1].value) {
		p->data.mapping.pairs.top[-1].value = index;
		return;
	}
	YPUSH(p->data.mapping.pairs, pair);
}

/* libyaml's default tag for an untagged or "!" node. */
static yaml_char_t *node_tag(yaml_char_t *tag, const char *dflt)
{
	if (tag && strcmp((char *)tag, "!"))
		return tag;
	free(tag);
	return (yaml_char_t *)ks_xstrdup(dflt);
}

/* A scalar, or a collection's start, as the next node of the document;
 * the node takes the event's tag and value. */
static bool add_node(struct composer *c, yaml_event_t *ev)
{
	yaml_node_t n = { .start_mark = ev->start_mark, .end_mark = ev->end_mark };
	yaml_char_t *anchor;
	int index;

	if (ev->type == YAML_SCALAR_EVENT) {
		n.type = YAML_SCALAR_NODE;
		n.tag = node_tag(ev->data.scalar.tag, YAML_DEFAULT_SCALAR_TAG);
		n.data.scalar.value = ev->data.scalar.value;
		n.data.scalar.length = ev->data.scalar.length;
		n.data.scalar.style = ev->data.scalar.style;
		anchor = ev->data.scalar.anchor;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		n.type = YAML_SEQUENCE_NODE;
		n.tag = node_tag(ev->data.sequence_start.tag, YAML_DEFAULT_SEQUENCE_TAG);
		YINIT(n.data.sequence.items);
		n.data.sequence.style = ev->data.sequence_start.style;
		anchor = ev->data.sequence_start.anchor;
	} else {
		n.type = YAML_MAPPING_NODE;
		n.tag = node_tag(ev->data.mapping_start.tag, YAML_DEFAULT_MAPPING_TAG);
		YINIT(n.data.mapping.pairs);
		n.data.mapping.style = ev->data.mapping_start.style;
		anchor = ev->data.mapping_start.anchor;
	}
	YPUSH(c->doc.nodes, n);
	index = c->doc.nodes.top - c->doc.nodes.start;
	if (!anchor_add(c, anchor, n.start_mark))
		return false;
	add_to_parent(c, index);
	if (n.type != YAML_SCALAR_NODE)
		c->open[c->depth++] = index;
	return true;
}

static void doc_start(struct composer *c, yaml_event_t *ev)
{
	memset(&c->doc, 0, sizeof(c->doc));
	YINIT(c->doc.nodes);
	c->doc.version_directive = ev->data.document_start.version_directive;
	c->doc.tag_directives.start = ev->data.document_start.tag_directives.start;
	c->doc.tag_directives.end = ev->data.document_start.tag_directives.end;
	c->doc.start_implicit = ev->data.document_start.implicit;
	c->doc.start_mark = ev->start_mark;
}

static void doc_end(struct composer *c, yaml_event_t *ev)
{
	c->doc.end_implicit = ev->data.document_end.implicit;
	c->doc.end_mark = ev->end_mark;
	if (c->n_docs == c->cap_docs) {
		c->cap_docs = c->cap_docs ? 2 * c->cap_docs : 4;
		c->docs = ks_xrealloc(c->docs, c->cap_docs * sizeof(*c->docs));
	}
	c->docs[c->n_docs++] = c->doc;
	memset(&c->doc, 0, sizeof(c->doc));
	anchors_clear(c);
}

/*
 * One event into the document being composed: what the event holds is
 * the document's now or freed. At a composer error (c->err) the document
 * being composed is dropped.
 */
static void compose(struct composer *c, yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		doc_start(c, ev);
		break;
	case YAML_DOCUMENT_END_EVENT:
		doc_end(c, ev);
		break;
	case YAML_SCALAR_EVENT:
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (!add_node(c, ev)) {
			yaml_document_delete(&c->doc);
			anchors_clear(c);
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		c->doc.nodes.start[c->open[--c->depth] - 1].end_mark = ev->end_mark;
		break;
	default:	/* stream start and end; aliases never get here */
		yaml_event_delete(ev);
		break;
	}
}

/* An event over the rule files' limits, reported; depth is the nesting
 * after the event. */
static bool over_limit(struct ks_ruleset *rs, const struct ks_src *src,
		       const yaml_event_t *ev, unsigned int depth)
{
	if (depth > KS_MAX_YAML_DEPTH) {
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_yaml_loc(src, ev->start_mark),
			    "YAML nested more than %u levels deep (limit KS_MAX_YAML_DEPTH)",
			    KS_MAX_YAML_DEPTH);
		return true;
	}
	if (ev->type != YAML_ALIAS_EVENT)
		return false;
	ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_yaml_loc(src, ev->start_mark),
		    "YAML aliases (*%s) are not supported in rule files",
		    (const char *)ev->data.alias.anchor);
	return true;
}

static unsigned int depth_after(const yaml_event_t *ev, unsigned int depth)
{
	if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT)
		return depth + 1;
	if (ev->type == YAML_SEQUENCE_END_EVENT || ev->type == YAML_MAPPING_END_EVENT)
		return depth - 1;
	return depth;
}

/*
 * Every event to the stream's end or the first syntax error: each checked
 * against the limits, and composed until the first error. False when an
 * event is over a limit.
 */
static bool read_events(struct ks_ruleset *rs, const struct ks_src *src,
			struct composer *c)
{
	unsigned int depth = 0;
	yaml_event_t ev;
	bool end = false;

	while (!end) {
		if (!yaml_parser_parse(&c->yp, &ev)) {
			if (!c->err.set)
				c->err = (struct yerr){
					.set = true, .problem = c->yp.problem,
					.problem_mark = c->yp.problem_mark,
					.context = c->yp.context,
					.context_mark = c->yp.context_mark,
				};
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		depth = depth_after(&ev, depth);
		if (over_limit(rs, src, &ev, depth)) {
			yaml_event_delete(&ev);
			return false;
		}
		if (c->err.set)
			yaml_event_delete(&ev);
		else
			compose(c, &ev);
	}
	return true;
}

static void yaml_error(struct ks_ruleset *rs, const struct ks_src *src,
		       const struct yerr *e)
{
	struct ks_loc l = ks_yaml_loc(src, e->problem_mark);

	if (e->context)
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, l,
			    "invalid YAML: %s %s at line %zu",
			    e->problem ? e->problem : "parse error",
			    e->context, e->context_mark.line + 1);
	else
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, l, "invalid YAML: %s",
			    e->problem ? e->problem : "parse error");
}

void ks_yaml_load(struct ks_ruleset *rs, const struct ks_src *src, ks_ydoc_fn fn)
{
	struct composer c = { 0 };
	bool ok, done = false;
	yaml_node_t *root;
	size_t i;

	if (!yaml_parser_initialize(&c.yp))
		ks_oom();
	yaml_parser_set_input_string(&c.yp, (const unsigned char *)src->text, src->len);
	ok = read_events(rs, src, &c);
	for (i = 0; i < c.n_docs; i++) {
		root = yaml_document_get_root_node(&c.docs[i]);
		done |= !root;	/* as yaml_parser_load's loop: no root, no more */
		if (ok && !done)
			fn(rs, src, &c.docs[i], root);
		yaml_document_delete(&c.docs[i]);
	}
	if (ok && !done && c.err.set)
		yaml_error(rs, src, &c.err);
	if (c.doc.nodes.start)	/* a document the error cut short */
		yaml_document_delete(&c.doc);
	anchors_clear(&c);
	free(c.anchors);
	free(c.docs);
	yaml_parser_delete(&c.yp);
}
