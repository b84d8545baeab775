// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sigma import: one Sigma rule (a YAML mapping with title: and detection:)
 * becomes one single-step rule whose condition is built directly as AST.
 *
 * Log sources (product linux, or no product):
 *   process_creation   -> process where event.action == "exec"
 *   file_event         -> file where event.action == "creation"
 *                         (Sysmon FileCreate: files created or overwritten;
 *                         Kestrel reports overwrites as modification, which
 *                         file_event rules do not mean)
 *   network_connection -> network where event.action == "connect"
 *
 * Field mapping (Sigma -> ECS):
 *   Image -> process.executable        CommandLine -> process.command_line
 *   ParentImage -> process.parent.executable
 *   ParentCommandLine -> process.parent.command_line (userspace-only: kload
 *       knows it from the parent's exec; null when it did not see it)
 *   ProcessId / ParentProcessId -> process.pid / process.parent.pid
 *   TargetFilename -> file.path
 *   SourceIp/SourcePort/DestinationIp/DestinationPort -> source.* / destination.*
 *   Protocol -> network.transport
 *   Initiated: 'true' -> event.action == "connect" (what connect events are);
 *       'false' (inbound) is rejected: network_connection maps to connect only
 *   LogonId: N -> modulo(user.id, 65536) == N (Sysmon for Linux prints
 *       the uid & 0xffff; decided in userspace)
 *   User -> user.name, CurrentDirectory -> process.working_directory
 *       (userspace-enriched), when the catalogue has them
 *   DestinationHostname -> destination.domain (userspace-enriched: the
 *       name the host's DNS answers gave the address, not Sysmon's
 *       reverse lookup; absent when unknown, so a test on it is false)
 *   ECS names of the catalogue are accepted as they are.
 *   SourceHostname and the Windows PE/hash fields are not in the event
 *   schema (nor User and CurrentDirectory while the catalogue lacks
 *   their fields): the rule is rejected with a diagnostic naming the
 *   field (never silently dropped).
 *
 * Matching: case-insensitive for every string test (Sigma semantics) unless
 * |cased; '*' and '?' are wildcards, '\*' '\?' '\\' literal. Values of a list
 * are OR-ed (AND-ed with |all), entries of a map AND-ed, maps of a list
 * OR-ed. Keywords (selections that are plain strings) match anywhere in
 * process.command_line. |re is a POSIX ERE (PCRE's (?:...), \s, \d, \w and
 * lazy quantifiers are translated), case-sensitive unless |re|i or (?i),
 * evaluated in userspace only.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kestrel/names.h>

#include "sigma.h"

/* ---- condition ---- */

struct cond {
	struct sigma *sg;
	struct ks_posmap pm;
	const char *t;
	size_t len, pos;
	size_t tok_off, tok_len;
	unsigned int depth;	/* of ( and not, at most KS_MAX_NESTING */
	size_t size;		/* tests referred to, at most KS_MAX_EXPANSION */
	bool failed;
};

static bool ctok_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '*' || c == '-' ||
	       c == '.' || c == '?';
}

/* Next token: returns its first byte ('(' ')' '|' 'a' for words, 0 at end). */
static char cnext(struct cond *c)
{
	while (c->pos < c->len && isspace((unsigned char)c->t[c->pos]))
		c->pos++;
	c->tok_off = c->pos;
	if (c->pos >= c->len) {
		c->tok_len = 0;
		return 0;
	}
	if (!ctok_char(c->t[c->pos])) {
		c->tok_len = 1;
		c->pos++;
		return c->t[c->tok_off];
	}
	while (c->pos < c->len && ctok_char(c->t[c->pos]))
		c->pos++;
	c->tok_len = c->pos - c->tok_off;
	return 'a';
}

static char cpeek(struct cond *c)
{
	size_t pos = c->pos, off = c->tok_off, len = c->tok_len;
	char k = cnext(c);

	c->pos = pos;
	c->tok_off = off;
	c->tok_len = len;
	return k;
}

static bool cword(struct cond *c, const char *w)
{
	return c->tok_len == strlen(w) && !strncmp(c->t + c->tok_off, w, c->tok_len);
}

__attribute__((format(printf, 2, 3)))
static void *cerr(struct cond *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (c->failed)
		return NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	sg_err_loc(c->sg, ks_posmap_loc(&c->pm, c->tok_off), "%s", msg);
	free(msg);
	c->failed = true;
	return NULL;
}

static struct ks_node *cexpr(struct cond *c);

/* Tests in an AST (nodes and their values), to bound what a condition
 * that refers to a selection many times expands to. */
static size_t ast_size(const struct ks_node *n)
{
	size_t i, k = 1 + n->n_pats + n->n_nums + n->n_nets;

	for (i = 0; i < n->n_kids; i++)
		k += ast_size(n->kids[i]);
	return k;
}

/* Account for `k` more tests; false (reported) past KS_MAX_EXPANSION. */
static bool grow(struct cond *c, size_t k)
{
	c->size += k;
	if (c->size <= KS_MAX_EXPANSION)
		return true;
	cerr(c, "the condition expands to more than %u tests (limit "
	     "KS_MAX_EXPANSION)", KS_MAX_EXPANSION);
	return false;
}

static struct ks_node *sel_ref(struct cond *c, struct sel *s)
{
	struct ks_node *n = sg_sel_get(c->sg, s);

	if (!n) {
		c->failed = true;	/* reported where the selection is */
		return NULL;
	}
	if (!s->size)
		s->size = ast_size(n);
	return grow(c, s->size) ? n : NULL;
}

/*
 * The imported rule is printed as EQL (a .kbin stores that text and
 * parses it again), where selections add up to SIGMA_NEST_MARGIN levels
 * (entry, values, list of maps, |all, 1 of, the log source's action):
 * so the condition itself may nest that much less than EQL may.
 */
#define SIGMA_NEST_MARGIN	8u
#define SIGMA_MAX_NESTING	(KS_MAX_NESTING - SIGMA_NEST_MARGIN)

static bool nest_enter(struct cond *c)
{
	if (++c->depth <= SIGMA_MAX_NESTING)
		return true;
	cerr(c, "condition nested more than %u levels deep (limit "
	     "KS_MAX_NESTING, less %u for what selections add)",
	     SIGMA_MAX_NESTING, SIGMA_NEST_MARGIN);
	return false;
}

/* "1 of X" / "all of X": X is them, a name or a name pattern. */
static struct ks_node *cquant(struct cond *c, bool all)
{
	struct ks_nodevec vec = { 0 };
	struct ks_loc loc = ks_posmap_loc(&c->pm, c->tok_off);
	char *pat;
	size_t i;
	bool them, any = false;
	struct ks_node *n;

	if (cnext(c) != 'a' || !cword(c, "of"))
		return cerr(c, "expected \"of\" in the condition");
	if (cnext(c) != 'a')
		return cerr(c, "expected a selection name or \"them\" after \"of\"");
	if (!grow(c, c->sg->n_sels))
		return NULL;	/* the scan below costs as much */
	pat = ks_xasprintf("%.*s", (int)c->tok_len, c->t + c->tok_off);
	them = !strcmp(pat, "them");
	for (i = 0; i < c->sg->n_sels; i++) {
		const char *name = c->sg->sels[i].name;

		if (them ? name[0] == '_' :
		    !ks_wild_match(pat, strlen(pat), name, strlen(name), false))
			continue;
		any = true;
		n = sel_ref(c, &c->sg->sels[i]);
		if (n)
			ks_nodevec_push(&vec, n);
	}
	if (!any) {
		free(vec.v);
		cerr(c, "\"%s\" matches no selection", pat);
		free(pat);
		return NULL;
	}
	free(pat);
	if (c->failed) {
		free(vec.v);
		return NULL;
	}
	return ks_node_join(c->sg->rs, all ? KS_N_AND : KS_N_OR, loc, &vec);
}

static struct ks_node *catom(struct cond *c)
{
	char k = cnext(c), *name;
	struct ks_strmap_slot *sl;
	struct ks_node *n;

	if (k == '(') {
		if (!nest_enter(c))
			return NULL;
		n = cexpr(c);
		c->depth--;
		if (!n)
			return NULL;
		if (cnext(c) != ')')
			return cerr(c, "expected \")\" in the condition");
		return n;
	}
	if (k == '|')
		return cerr(c, "aggregations (| count() ...) are not supported");
	if (k != 'a')
		return cerr(c, k ? "unexpected \"%c\" in the condition"
				 : "unexpected end of the condition", k);
	if (cword(c, "all") || cword(c, "any"))
		return cquant(c, cword(c, "all"));
	if (isdigit((unsigned char)c->t[c->tok_off])) {
		if (!cword(c, "1"))
			return cerr(c, "only \"1 of\" and \"all of\" are supported");
		return cquant(c, false);
	}
	if (cword(c, "and") || cword(c, "or") || cword(c, "of") || cword(c, "them"))
		return cerr(c, "unexpected \"%.*s\" in the condition",
			    (int)c->tok_len, c->t + c->tok_off);
	name = ks_xasprintf("%.*s", (int)c->tok_len, c->t + c->tok_off);
	sl = ks_strmap_find(&c->sg->sel_names, name);
	free(name);
	if (sl)
		return sel_ref(c, &c->sg->sels[sl->val]);
	return cerr(c, "unknown selection \"%.*s\"", (int)c->tok_len,
		    c->t + c->tok_off);
}

static struct ks_node *cnot(struct cond *c)
{
	struct ks_node *n;
	size_t pos = c->pos;

	if (cnext(c) == 'a' && cword(c, "not")) {
		if (!nest_enter(c))
			return NULL;
		n = cnot(c);
		c->depth--;
		return n ? ks_node_not(c->sg->rs, n) : NULL;
	}
	c->pos = pos;
	return catom(c);
}

/* Deliberate twin of parse_bin in parser.c (EQL's and/or), over a Sigma
 * condition's characters: two lexers, one way to build the n-ary node. */
static struct ks_node *cbin(struct cond *c, const char *kw,
			    enum ks_node_kind kind,
			    struct ks_node *(*sub)(struct cond *))
{
	struct ks_nodevec vec = { 0 };
	struct ks_node *n;
	struct ks_loc loc = ks_posmap_loc(&c->pm, c->pos);

	for (;;) {
		n = sub(c);
		if (!n) {
			free(vec.v);
			return NULL;
		}
		ks_nodevec_push(&vec, n);
		if (cpeek(c) != 'a')
			break;
		cnext(c);
		if (!cword(c, kw)) {
			c->pos = c->tok_off;
			break;
		}
	}
	return ks_node_join(c->sg->rs, kind, loc, &vec);
}

static struct ks_node *cand(struct cond *c)
{
	return cbin(c, "and", KS_N_AND, cnot);
}

static struct ks_node *cexpr(struct cond *c)
{
	return cbin(c, "or", KS_N_OR, cand);
}

static struct ks_node *condition_one(struct sigma *sg, yaml_node_t *cn)
{
	struct cond c = { .sg = sg };
	struct ks_node *n;

	if (!ks_yscalar(cn)) {
		sg_err(sg, cn, "condition must be a string or a list of strings");
		return NULL;
	}
	c.t = ks_yscalar(cn);
	c.len = cn->data.scalar.length;
	ks_posmap_yaml(&c.pm, sg->src, ks_yaml_offset(sg->src, cn->start_mark),
		       ks_yaml_offset(sg->src, cn->end_mark),
		       cn->data.scalar.style, c.t, c.len, sg_loc(sg, cn));
	n = cexpr(&c);
	if (n && cnext(&c)) {
		if (c.t[c.tok_off] == '|')
			cerr(&c, "aggregations (| count() ...) are not supported");
		else
			cerr(&c, "unexpected \"%.*s\" in the condition",
			     (int)c.tok_len, c.t + c.tok_off);
		n = NULL;
	}
	ks_posmap_free(&c.pm);
	return c.failed ? NULL : n;
}

/* condition: a string, or (old style) a list of strings OR-ed */
static struct ks_node *condition(struct sigma *sg, yaml_node_t *cn)
{
	struct ks_nodevec vec = { 0 };
	yaml_node_item_t *it;
	struct ks_node *n;
	bool bad = false;

	if (cn->type != YAML_SEQUENCE_NODE)
		return condition_one(sg, cn);
	for (it = cn->data.sequence.items.start; it < cn->data.sequence.items.top;
	     it++) {
		n = condition_one(sg, yaml_document_get_node(sg->doc, *it));
		if (n)
			ks_nodevec_push(&vec, n);
		else
			bad = true;
	}
	if (bad || !vec.n) {
		if (!bad)
			sg_err(sg, cn, "empty condition");
		free(vec.v);
		return NULL;
	}
	return ks_node_join(sg->rs, KS_N_OR, sg_loc(sg, cn), &vec);
}

/* The key node of `key` in a mapping, to point diagnostics at it. */
static yaml_node_t *map_key(yaml_document_t *doc, yaml_node_t *map,
			    const char *key)
{
	yaml_node_pair_t *pr;
	yaml_node_t *k;

	for (pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(doc, pr->key);
		if (ks_yscalar(k) && !strcmp(ks_yscalar(k), key))
			return k;
	}
	return map;
}

static struct ks_node *detection(struct sigma *sg, yaml_node_t *det,
				 yaml_node_t *det_key)
{
	yaml_node_t *cond = NULL, *k;
	yaml_node_pair_t *pr;
	const char *name;
	struct ks_node *n;

	if (det->type != YAML_MAPPING_NODE) {
		sg_err(sg, det_key, "detection must be a mapping");
		return NULL;
	}
	sg->sels = ks_xmalloc((det->data.mapping.pairs.top -
			       det->data.mapping.pairs.start + 1) *
			      sizeof(*sg->sels));
	for (pr = det->data.mapping.pairs.start;
	     pr < det->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(sg->doc, pr->key);
		name = ks_yscalar(k);
		if (!name) {
			sg_err(sg, k, "selection names must be strings");
		} else if (!strcmp(name, "condition")) {
			if (cond)
				sg_err(sg, k, "duplicate key \"condition\"");
			cond = yaml_document_get_node(sg->doc, pr->value);
		} else if (!strcmp(name, "timeframe")) {
			sg_err(sg, k, "unsupported Sigma timeframe (correlation)");
			return NULL;
		} else if (ks_strmap_find(&sg->sel_names, name)) {
			sg_err(sg, k, "duplicate selection \"%s\"", name);
		} else {
			ks_strmap_add(&sg->sel_names, name, sg->n_sels);
			sg->sels[sg->n_sels++] = (struct sel){
				.name = name, .key = k,
				.val = yaml_document_get_node(sg->doc, pr->value),
			};
		}
	}
	if (!cond) {
		sg_err(sg, det_key, "detection has no condition");
		return NULL;
	}
	n = condition(sg, cond);
	return n;
}

/* ---- log source and metadata ---- */

static int logsource(struct sigma *sg, yaml_node_t *ls)
{
	/* Deliberate twin of functions[] in compare.c: both name -> two
	 * enums tables, of different things; only the shape. */
	static const struct {
		const char *name;
		enum ks_category cat;
		enum ks_action act;
	} cats[] = {
		{ "process_creation", KS_CAT_PROCESS, KS_ACT_EXEC },
		{ "file_event", KS_CAT_FILE, KS_ACT_CREATION },
		{ "network_connection", KS_CAT_NETWORK, KS_ACT_CONNECT },
	};
	yaml_node_t *prod, *cat, *svc;
	const char *v;
	size_t i;

	if (!ls || ls->type != YAML_MAPPING_NODE) {
		sg_err(sg, ls ? ls : yaml_document_get_root_node(sg->doc),
		       "Sigma rule has no logsource mapping");
		return -1;
	}
	prod = ks_ymap_get(sg->doc, ls, "product");
	v = ks_yscalar(prod);
	if (prod && (!v || strcmp(v, "linux"))) {
		sg_err(sg, prod, "unsupported Sigma logsource product \"%s\" "
		       "(only linux)", v ? v : "");
		return -1;
	}
	svc = ks_ymap_get(sg->doc, ls, "service");
	if (svc) {
		sg_err(sg, svc, "unsupported Sigma logsource service \"%s\"",
		       ks_yscalar(svc) ? ks_yscalar(svc) : "");
		return -1;
	}
	cat = ks_ymap_get(sg->doc, ls, "category");
	v = ks_yscalar(cat);
	for (i = 0; v && i < ARRAY_SIZE(cats); i++) {
		if (!strcmp(v, cats[i].name)) {
			sg->cat = cats[i].cat;
			sg->action = cats[i].act;
			return 0;
		}
	}
	sg_err(sg, cat ? cat : ls, "unsupported Sigma logsource category \"%s\" "
	       "(supported: process_creation, file_event, network_connection)",
	       v ? v : "");
	return -1;
}

/* "sigma." + the id (or title) reduced to [a-z0-9_.-] */
static char *slug(const char *s)
{
	/* "sigma." + s or, when nothing of s is left, "sigma.unnamed" */
	char *o = ks_xmalloc(strlen(s) + sizeof("sigma.unnamed"));
	size_t n;

	strcpy(o, "sigma.");
	n = 6;
	for (; *s; s++) {
		unsigned char c = tolower((unsigned char)*s);

		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			c = '_';
		if (c == '_' && o[n - 1] == '_')
			continue;
		o[n++] = c;
	}
	while (n > 6 && o[n - 1] == '_')
		n--;
	if (n == 6)
		strcpy(o + n, "unnamed");
	else
		o[n] = 0;
	return o;
}

/* Sigma's levels are Kestrel's severities plus "informational", as low. */
static int severity(struct sigma *sg, yaml_node_t *lv, enum ks_severity *sev)
{
	const char *v = ks_yscalar(lv);
	char list[64];
	int s;

	*sev = KS_SEV_MEDIUM;
	if (!lv)
		return 0;
	s = !v ? KS_NAME_UNKNOWN : !strcmp(v, "informational") ? KS_SEV_LOW :
		ks_severity_parse(v);
	if (s != KS_NAME_UNKNOWN) {
		*sev = s;
		return 0;
	}
	sg_err(sg, lv, "unknown Sigma level \"%s\" (expected informational, %s)",
	       v ? v : "", ks_names_list(&ks_severity_names, list, sizeof(list)));
	return -1;
}

static void tags(struct sigma *sg, yaml_node_t *tn, struct ks_rule_src *r)
{
	yaml_node_item_t *it;
	const char *v;

	if (!tn || tn->type != YAML_SEQUENCE_NODE)
		return;
	r->tags = ks_alloc(sg->rs, (tn->data.sequence.items.top -
				    tn->data.sequence.items.start + 1) *
				   sizeof(*r->tags));
	for (it = tn->data.sequence.items.start; it < tn->data.sequence.items.top;
	     it++) {
		v = ks_yscalar(yaml_document_get_node(sg->doc, *it));
		if (v)
			r->tags[r->n_tags++] = ks_strdup(sg->rs, v);
	}
}

static struct ks_query *make_query(struct sigma *sg, struct ks_node *det,
				   yaml_node_t *catnode)
{
	struct ks_query *q = ks_alloc(sg->rs, sizeof(*q));
	struct ks_nodevec vec = { 0 };
	struct ks_loc loc = sg_loc(sg, catnode);
	int64_t act = sg->action;

	q->loc = loc;
	q->steps = ks_alloc(sg->rs, sizeof(*q->steps));
	q->n_steps = 1;
	q->steps[0].loc = loc;
	q->steps[0].category = sg->cat;
	q->steps[0].runs = 1;
	ks_nodevec_push(&vec, ks_node_num(sg->rs, loc,
					  ks_field_lookup("event.action"),
					  KS_CMP_EQ, &act, 1));
	ks_nodevec_push(&vec, det);
	q->steps[0].cond = ks_node_join(sg->rs, KS_N_AND, loc, &vec);
	q->host_os = sg->host_os;
	return q;
}

int ks_sigma_import(struct ks_ruleset *rs, const struct ks_src *src,
		    yaml_document_t *doc, yaml_node_t *root)
{
	struct sigma sg = { .rs = rs, .src = src, .doc = doc };
	yaml_node_t *title = ks_ymap_get(doc, root, "title");
	yaml_node_t *idn = ks_ymap_get(doc, root, "id");
	yaml_node_t *ls = ks_ymap_get(doc, root, "logsource");
	struct ks_rule_src *r;
	enum ks_severity sev;
	struct ks_node *det = NULL;
	char *id, *text;

	if (!ks_yscalar(title) || ks_yis_null(title)) {
		sg_err(&sg, title, "Sigma title must be a string");
		return -1;
	}
	sg_check_dups(&sg, root);
	sg_check_dups(&sg, ls);
	severity(&sg, ks_ymap_get(doc, root, "level"), &sev);
	if (!logsource(&sg, ls))
		det = detection(&sg, ks_ymap_get(doc, root, "detection"),
				map_key(doc, root, "detection"));
	free(sg.sels);
	ks_strmap_free(&sg.sel_names);
	id = slug(ks_yscalar(idn) && !ks_yis_null(idn) ? ks_yscalar(idn)
						     : ks_yscalar(title));
	r = ks_rule_append(rs, id, sg_loc(&sg, root));
	free(id);
	if (!r)
		return -1;
	r->sigma = true;
	r->name = ks_strdup(rs, ks_yscalar(title));
	r->severity = sev;
	tags(&sg, ks_ymap_get(doc, root, "tags"), r);
	r->query_text = ks_strdup(rs, "");
	if (sg.errors || !det) {
		if (!sg.errors)
			sg_err(&sg, root, "Sigma rule has no detection");
		return -1;
	}
	r->q = make_query(&sg, det, ks_ymap_get(doc, ls, "category"));
	text = ks_query_format(r->q);
	r->query_text = ks_strdup(rs, text);
	free(text);
	return 0;
}
