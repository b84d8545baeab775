// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exceptions: EQL conditions that silence a rule, from the rule's own
 * `exceptions:` list or from an exceptions file that names rules by id or
 * tag (ruleset.c reads both). Each becomes part of the steps it applies
 * to, `cond and not (exc1 or exc2 ...)`: this file builds the step's exc
 * node, which the lowering compiles into the step's own program
 * (lower_cond.c) and the interpreter reads. So an exception is decided in
 * the kernel wherever its condition can be, costs no userspace work
 * there, and leaves what the rest of the rule means alone; a condition
 * the kernel cannot decide makes the rule not kernel-exact, which --explain
 * says and a block/kill rule cannot be.
 *
 * Sequences follow Elastic, which applies a rule's exception list as a
 * filter on every event the EQL query searches: an event that matches an
 * exception is invisible to the rule, it neither advances a sequence nor
 * ends one (`until`). `step: N` narrows an exception to the N-th
 * bracketed step (all runs of a `with runs=` step).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "exceptions.h"
#include "parser.h"

static void exc_error(struct ks_ruleset *rs, const struct ks_src *src,
		      yaml_node_t *at, const char *msg, const char *arg)
{
	ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_yaml_loc(src, at->start_mark),
		    msg, arg);
}

/* A non-empty string scalar without NUL, or NULL (reported). */
static const char *exc_string(struct ks_ruleset *rs, const struct ks_src *src,
			      yaml_node_t *n, const char *key)
{
	const char *v = ks_yscalar(n);

	if (!v || ks_yis_null(n) || !*v || strlen(v) != n->data.scalar.length) {
		exc_error(rs, src, n, "exception \"%s\" must be a non-empty string",
			  key);
		return NULL;
	}
	return v;
}

/* The keys of an exception mapping into x; reports unknown ones. */
static int exc_keys(struct ks_ruleset *rs, const struct ks_src *src,
		    yaml_document_t *doc, yaml_node_t *map, bool in_file,
		    struct ks_exc_nodes *x)
{
	yaml_node_t **slot[] = { &x->condition, &x->step, &x->description,
				 &x->rules, &x->tags };
	static const char *const keys[] = { "condition", "step", "description",
					    "rules", "tags" };
	size_t n_keys = in_file ? 5 : 3, i;
	yaml_node_pair_t *pr;
	yaml_node_t *k;
	int ret = 0;

	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(doc, pr->key);
		for (i = 0; ks_yscalar(k) && i < n_keys; i++)
			if (!strcmp(ks_yscalar(k), keys[i]))
				break;
		if (!ks_yscalar(k) || i == n_keys) {
			exc_error(rs, src, k, in_file ?
				  "unknown key \"%s\" in exception (expected condition, "
				  "step, description, rules, tags)" :
				  "unknown key \"%s\" in exception (expected condition, "
				  "step, description)", ks_yscalar(k) ? ks_yscalar(k) : "?");
			ret = -1;
		} else if (*slot[i]) {
			exc_error(rs, src, k, "duplicate key \"%s\"", keys[i]);
			ret = -1;
		} else {
			*slot[i] = yaml_document_get_node(doc, pr->value);
		}
	}
	if (!x->condition) {
		exc_error(rs, src, map, "exception is missing \"%s\"", "condition");
		ret = -1;
	}
	return ret;
}

static int exc_step(struct ks_ruleset *rs, const struct ks_src *src,
		    yaml_node_t *n, unsigned int *step)
{
	const char *v = exc_string(rs, src, n, "step");
	char *end;
	long k;

	if (!v)
		return -1;
	k = strtol(v, &end, 10);
	if (*end || end == v || k < 1 || k > 255) {
		exc_error(rs, src, n, "exception step \"%s\" is not a step number "
			  "(1 for the first step of a sequence)", v);
		return -1;
	}
	*step = k;
	return 0;
}

/* The condition scalar n, parsed with positions in the file. */
static struct ks_node *exc_cond(struct ks_ruleset *rs, const struct ks_src *src,
				yaml_node_t *n, char **text)
{
	struct ks_posmap pm;
	struct ks_node *c;

	if (!exc_string(rs, src, n, "condition"))
		return NULL;
	*text = ks_strndup(rs, (const char *)n->data.scalar.value,
			   n->data.scalar.length);
	ks_posmap_yaml(&pm, src, ks_yaml_offset(src, n->start_mark),
		       ks_yaml_offset(src, n->end_mark), n->data.scalar.style,
		       *text, n->data.scalar.length, ks_yaml_loc(src, n->start_mark));
	c = ks_parse_cond_map(rs, &pm);
	ks_posmap_free(&pm);
	return c;
}

int ks_exc_read(struct ks_ruleset *rs, const struct ks_src *src,
		yaml_document_t *doc, yaml_node_t *n, bool in_file,
		struct ks_exception *e, struct ks_exc_nodes *x)
{
	memset(e, 0, sizeof(*e));
	memset(x, 0, sizeof(*x));
	e->loc = ks_yaml_loc(src, n->start_mark);
	e->from_file = in_file;
	if (n->type == YAML_SCALAR_NODE && !in_file) {
		x->condition = n;	/* the short form: just the condition */
	} else if (n->type != YAML_MAPPING_NODE) {
		exc_error(rs, src, n, "%s", in_file ?
			  "expected an exception (a mapping with condition: and "
			  "rules: or tags:)" :
			  "expected an exception: an EQL condition, or a mapping "
			  "with condition:");
		return -1;
	} else if (exc_keys(rs, src, doc, n, in_file, x)) {
		return -1;
	}
	if (x->step && exc_step(rs, src, x->step, &e->step))
		return -1;
	e->step_loc = x->step ? ks_yaml_loc(src, x->step->start_mark) : e->loc;
	if (x->description &&
	    !(e->description = (char *)exc_string(rs, src, x->description,
						  "description")))
		return -1;
	if (e->description)
		e->description = ks_strdup(rs, e->description);
	e->cond = exc_cond(rs, src, x->condition, &e->text);
	return e->cond ? 0 : -1;
}

/* The OR of the exceptions of r that apply to step k (0: until). */
static struct ks_node *step_exc(struct ks_ruleset *rs, const struct ks_rule_src *r,
				unsigned int k)
{
	struct ks_nodevec vec = { 0 };
	size_t i;

	for (i = 0; i < r->n_exceptions; i++)
		if (!r->exceptions[i].step || r->exceptions[i].step == k)
			ks_nodevec_push(&vec, r->exceptions[i].cond);
	if (!vec.n)
		return NULL;
	return ks_node_join(rs, KS_N_OR, r->exceptions[0].loc, &vec);
}

int ks_rule_add_exception(struct ks_ruleset *rs, struct ks_rule_src *r,
			  const struct ks_exception *e)
{
	struct ks_exception *v;

	if (r->q && e->step > r->q->n_steps) {
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, e->step_loc,
			    "exception applies to step %u, but rule %s has %zu step%s",
			    e->step, r->id, r->q->n_steps, r->q->n_steps == 1 ? "" : "s");
		return -1;
	}
	if (r->n_exceptions == r->cap_exceptions) {
		/* the arena: an exceptions file may give each of thousands
		 * of rules its entries, doubling keeps that linear */
		r->cap_exceptions = r->cap_exceptions ? 2 * r->cap_exceptions : 4;
		v = ks_alloc(rs, r->cap_exceptions * sizeof(*v));
		if (r->n_exceptions)
			memcpy(v, r->exceptions, r->n_exceptions * sizeof(*v));
		r->exceptions = v;
	}
	r->exceptions[r->n_exceptions++] = *e;
	return 0;
}

void ks_rule_apply_exceptions(struct ks_ruleset *rs, struct ks_rule_src *r)
{
	struct ks_query *q = r->q;
	size_t k;

	if (!q || !r->n_exceptions)
		return;	/* a query with errors is reported already */
	for (k = 0; k < q->n_steps; k++)
		q->steps[k].exc = step_exc(rs, r, k + 1);
	if (q->until)
		q->until->exc = step_exc(rs, r, 0);
}

bool ks_rule_match_id(const struct ks_rule_src *r, const char *pat)
{
	return !fnmatch(pat, r->id, 0);
}

bool ks_rule_match_tag(const struct ks_rule_src *r, const char *pat)
{
	size_t i;

	for (i = 0; i < r->n_tags; i++)
		if (!fnmatch(pat, r->tags[i], 0))
			return true;
	return false;
}
