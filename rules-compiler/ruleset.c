// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rule sets: YAML rule files (libyaml document API), directory walking
 * and the ks_ruleset_* API. The top of the front end: a document is a list
 * of EQL rules (parser.h) or a Sigma rule (sigma.h); a .toml file is an
 * Elastic detection rule (elastic.h).
 * The YAML documents themselves come from yaml_load.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kestrel/names.h>

#include "elastic.h"
#include "exceptions.h"
#include "parser.h"
#include "sigma.h"
#include "yaml_load.h"

/* One rule entry being read: the YAML nodes of its keys. */
struct rule_entry {
	const struct ks_src *src;
	yaml_document_t *doc;
	yaml_node_t *map;
	yaml_node_t *id, *name, *severity, *action, *tags, *query;
	yaml_node_t *uuid, *description, *risk_score, *references, *threat;
	yaml_node_t *enabled, *exceptions, *args_cut;
	int sev, act, risk, cut;
	bool disabled;
	size_t errors;
};

static void entry_error(struct ks_ruleset *rs, struct rule_entry *e,
			yaml_node_t *at, const char *fmt, const char *arg)
{
	ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_yaml_loc(e->src, at->start_mark),
		    fmt, arg);
	e->errors++;
}

/* A non-empty string value; reports and returns NULL otherwise. */
static const char *entry_string(struct ks_ruleset *rs, struct rule_entry *e,
				yaml_node_t *n, const char *key)
{
	const char *v = ks_yscalar(n);

	if (!v || ks_yis_null(n)) {
		entry_error(rs, e, n, "\"%s\" must be a string", key);
		return NULL;
	}
	if (!*v) {
		entry_error(rs, e, n, "\"%s\" must not be empty", key);
		return NULL;
	}
	if (strlen(v) != n->data.scalar.length) {
		/* it would be cut short here, or in a .kbin */
		entry_error(rs, e, n, "\"%s\" holds a NUL byte", key);
		return NULL;
	}
	return v;
}

#define ENTRY_KEYS	"rule, name, severity, action, tags, query, uuid, " \
			"description, risk_score, references, threat, " \
			"enabled, exceptions, args_cut"

static yaml_node_t **entry_slot(struct rule_entry *e, const char *key)
{
	static const char *const keys[] = {
		"rule", "name", "severity", "action", "tags", "query", "uuid",
		"description", "risk_score", "references", "threat",
		"enabled", "exceptions", "args_cut",
	};
	yaml_node_t **slots[] = {
		&e->id, &e->name, &e->severity, &e->action, &e->tags, &e->query,
		&e->uuid, &e->description, &e->risk_score, &e->references,
		&e->threat, &e->enabled, &e->exceptions, &e->args_cut,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(key, keys[i]))
			return slots[i];
	return NULL;
}

static void entry_collect(struct ks_ruleset *rs, struct rule_entry *e)
{
	yaml_node_pair_t *pr;
	yaml_node_t *k, **slot;
	const char *key;

	for (pr = e->map->data.mapping.pairs.start;
	     pr < e->map->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(e->doc, pr->key);
		key = ks_yscalar(k);
		if (!key) {
			entry_error(rs, e, k, "%s", "rule keys must be strings");
			continue;
		}
		slot = entry_slot(e, key);
		if (!slot) {
			entry_error(rs, e, k, "unknown key \"%s\" in rule "
				    "(expected " ENTRY_KEYS ")", key);
			continue;
		}
		if (*slot) {
			entry_error(rs, e, k, "duplicate key \"%s\"", key);
			continue;
		}
		*slot = yaml_document_get_node(e->doc, pr->value);
	}
}

/* The keys alerts carry for a SIEM (and .kbin files keep). */
static void entry_check_meta(struct ks_ruleset *rs, struct rule_entry *e)
{
	const char *v;
	char *end;
	long n;

	e->risk = -1;
	if (e->risk_score && (v = entry_string(rs, e, e->risk_score, "risk_score"))) {
		n = strtol(v, &end, 10);
		if (*end || end == v || n < 0 || n > 100)
			entry_error(rs, e, e->risk_score, "risk_score \"%s\" is "
				    "not an integer within 0..100", v);
		else
			e->risk = n;
	}
	if (e->uuid)
		entry_string(rs, e, e->uuid, "uuid");
	if (e->description)
		entry_string(rs, e, e->description, "description");
	if (e->references && e->references->type != YAML_SEQUENCE_NODE)
		entry_error(rs, e, e->references, "%s",
			    "\"references\" must be a list of strings");
	/* the entries of threat: are read with the rule, once it is valid */
	if (e->threat && e->threat->type != YAML_SEQUENCE_NODE)
		entry_error(rs, e, e->threat, "%s", "\"threat\" must be a list");
}

/* enabled: true | false; exceptions: a list (read with the rule). */
static void entry_check_lifecycle(struct ks_ruleset *rs, struct rule_entry *e)
{
	const char *v = e->enabled ? ks_yscalar(e->enabled) : NULL;

	if (e->enabled) {
		if (v && (!strcmp(v, "false") || !strcmp(v, "False") ||
			  !strcmp(v, "FALSE")))
			e->disabled = true;
		else if (!v || (strcmp(v, "true") && strcmp(v, "True") &&
				strcmp(v, "TRUE")))
			entry_error(rs, e, e->enabled, "%s",
				    "\"enabled\" must be true or false");
	}
	if (e->exceptions && e->exceptions->type != YAML_SEQUENCE_NODE)
		entry_error(rs, e, e->exceptions, "%s", "\"exceptions\" must be a "
			    "list of EQL conditions");
}

static void entry_check(struct ks_ruleset *rs, struct rule_entry *e)
{
	static const char *const req[] = { "rule", "name", "query" };
	yaml_node_t *need[] = { e->id, e->name, e->query };
	const char *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(req); i++)
		if (!need[i])
			entry_error(rs, e, e->map, "rule is missing \"%s\"",
				    req[i]);
	if (e->id && (v = entry_string(rs, e, e->id, "rule")) &&
	    !ks_rule_id_valid(v))
		entry_error(rs, e, e->id, "invalid rule id \"%s\": use "
			    "lowercase letters, digits, '_', '.' and '-'", v);
	if (e->name)
		entry_string(rs, e, e->name, "name");
	if (e->query)
		entry_string(rs, e, e->query, "query");
	e->sev = KS_SEV_MEDIUM;
	if (e->severity && (v = entry_string(rs, e, e->severity, "severity")) &&
	    (e->sev = ks_severity_parse(v)) < 0)
		entry_error(rs, e, e->severity, "unknown severity \"%s\" "
			    "(expected low, medium, high or critical)", v);
	e->act = KS_RA_ALERT;
	if (e->action && (v = entry_string(rs, e, e->action, "action")) &&
	    (e->act = ks_rule_action_parse(v)) < 0)
		entry_error(rs, e, e->action, "unknown action \"%s\" "
			    "(expected alert, block or kill)", v);
	e->cut = KS_ARGS_CUT_DEFAULT;
	if (e->args_cut && (v = entry_string(rs, e, e->args_cut, "args_cut")) &&
	    (e->cut = ks_args_cut_parse(v)) < 0)
		entry_error(rs, e, e->args_cut, "unknown args_cut \"%s\" "
			    "(expected fail-closed or head)", v);
	if (e->tags && e->tags->type != YAML_SEQUENCE_NODE)
		entry_error(rs, e, e->tags, "%s", "\"tags\" must be a list of strings");
	entry_check_meta(rs, e);
	entry_check_lifecycle(rs, e);
}

/* A list of strings (tags, references) into *out. */
static void entry_strs(struct ks_ruleset *rs, struct rule_entry *e,
		       yaml_node_t *seq, const char *key, char ***out,
		       size_t *n_out)
{
	yaml_node_item_t *it;
	yaml_node_t *n;
	size_t cnt;

	if (!seq)
		return;
	cnt = seq->data.sequence.items.top - seq->data.sequence.items.start;
	*out = ks_alloc(rs, (cnt ? cnt : 1) * sizeof(**out));
	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		n = yaml_document_get_node(e->doc, *it);
		if (!ks_yscalar(n) || ks_yis_null(n) ||
		    strlen(ks_yscalar(n)) != n->data.scalar.length) {
			entry_error(rs, e, n, "\"%s\" must be a list of strings", key);
			continue;
		}
		(*out)[(*n_out)++] = ks_strdup(rs, ks_yscalar(n));
	}
}

static void entry_meta(struct ks_ruleset *rs, struct rule_entry *e,
		       struct ks_rule_src *r)
{
	entry_strs(rs, e, e->tags, "tags", &r->tags, &r->n_tags);
	entry_strs(rs, e, e->references, "references", &r->references,
		   &r->n_references);
	if (e->uuid)
		r->uuid = ks_strdup(rs, ks_yscalar(e->uuid));
	if (e->description)
		r->description = ks_strdup(rs, ks_yscalar(e->description));
	r->risk_score = e->risk;
	if (e->threat)
		e->errors += ks_attack_from_yaml(rs, e->src, e->doc, e->map, r);
}

static void parse_rule_query(struct ks_ruleset *rs, struct rule_entry *e,
			     struct ks_rule_src *r)
{
	yaml_node_t *q = e->query;
	struct ks_posmap pm;

	r->query_text = ks_strndup(rs, (const char *)q->data.scalar.value,
				   q->data.scalar.length);
	ks_posmap_yaml(&pm, e->src, ks_yaml_offset(e->src, q->start_mark),
		       ks_yaml_offset(e->src, q->end_mark), q->data.scalar.style,
		       r->query_text, q->data.scalar.length,
		       ks_yaml_loc(e->src, q->start_mark));
	r->q = ks_parse_query_map(rs, &pm);
	ks_posmap_free(&pm);
}

/* The rule's own exceptions: each an EQL condition (or {condition, step}). */
static void entry_exceptions(struct ks_ruleset *rs, struct rule_entry *e,
			     struct ks_rule_src *r)
{
	struct ks_exc_nodes x;
	struct ks_exception exc;
	yaml_node_item_t *it;

	if (!e->exceptions)
		return;
	for (it = e->exceptions->data.sequence.items.start;
	     it < e->exceptions->data.sequence.items.top; it++)
		if (ks_exc_read(rs, e->src, e->doc, yaml_document_get_node(e->doc, *it),
				false, &exc, &x) ||
		    ks_rule_add_exception(rs, r, &exc))
			e->errors++;
}

/*
 * A disabled rule is checked like any other but its query and exceptions
 * are not compiled (a rule that does not compile here can be disabled);
 * finish_load() moves it to rs->skipped, its id staying taken.
 */
static void load_rule(struct ks_ruleset *rs, const struct ks_src *src,
		      yaml_document_t *doc, yaml_node_t *map)
{
	struct rule_entry e = { .src = src, .doc = doc, .map = map };
	struct ks_rule_src *r;

	entry_collect(rs, &e);
	entry_check(rs, &e);
	if (e.errors)
		return;
	r = ks_rule_append(rs, ks_yscalar(e.id), ks_yaml_loc(src, map->start_mark));
	if (!r)
		return;
	r->name = ks_strdup(rs, ks_yscalar(e.name));
	r->severity = e.sev;
	r->action = e.act;
	r->args_cut = e.cut;
	r->disabled = e.disabled;
	entry_meta(rs, &e, r);
	if (r->disabled) {
		r->query_text = ks_strndup(rs, (const char *)e.query->data.scalar.value,
					   e.query->data.scalar.length);
		return;
	}
	parse_rule_query(rs, &e, r);
	entry_exceptions(rs, &e, r);
}

static bool is_sigma(yaml_document_t *doc, yaml_node_t *root)
{
	return root->type == YAML_MAPPING_NODE &&
	       ks_ymap_get(doc, root, "title") &&
	       ks_ymap_get(doc, root, "detection");
}

/* Whether node n is of YAML type `want`; if not, the error `what` at n. */
static bool yaml_expect(struct ks_ruleset *rs, const struct ks_src *src, const yaml_node_t *n,
			yaml_node_type_t want, const char *what)
{
	if (n->type == want)
		return true;
	ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_yaml_loc(src, n->start_mark), "%s", what);
	return false;
}

static void load_document(struct ks_ruleset *rs, const struct ks_src *src,
			  yaml_document_t *doc, yaml_node_t *root)
{
	yaml_node_item_t *it;
	yaml_node_t *n;

	if (is_sigma(doc, root)) {
		ks_sigma_import(rs, src, doc, root);
		return;
	}
	if (!yaml_expect(rs, src, root, YAML_SEQUENCE_NODE,
			 "expected a list of rules (or a Sigma rule with title: and detection:)"))
		return;
	for (it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++) {
		n = yaml_document_get_node(doc, *it);
		if (yaml_expect(rs, src, n, YAML_MAPPING_NODE,
				"expected a rule (a mapping with rule:, name: and query:)"))
			load_rule(rs, src, doc, n);
	}
}

static void too_big(struct ks_ruleset *rs, const char *file)
{
	struct ks_loc l = { .file = ks_intern(rs, file), .line = 1, .col = 1 };

	ks_diag_add(&rs->diags, KS_DIAG_ERROR, l, "rule file is larger than %u "
		    "bytes (limit KS_MAX_FILE_BYTES)", KS_MAX_FILE_BYTES);
}

/* Parsed rules take several times their text in memory: what one
 * ruleset reads is bounded as well as each file. */
static bool ruleset_room(struct ks_ruleset *rs, const struct ks_src *src)
{
	struct ks_priv *pv = ks_priv(rs);
	struct ks_loc l = { .file = src->file, .line = 1, .col = 1 };

	if (pv->src_bytes + src->len <= KS_MAX_RULESET_BYTES) {
		pv->src_bytes += src->len;
		return true;
	}
	ks_diag_add(&rs->diags, KS_DIAG_ERROR, l, "the rule files add up to "
		    "more than %u bytes (limit KS_MAX_RULESET_BYTES)",
		    KS_MAX_RULESET_BYTES);
	return false;
}

static bool has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && !strcmp(name + n - e, ext);
}

/* A source within the limits: an Elastic TOML rule by its name, or a
 * YAML rule file. */
static void load_src(struct ks_ruleset *rs, const struct ks_src *src)
{
	if (src->len > KS_MAX_FILE_BYTES) {
		too_big(rs, src->file);
		return;
	}
	if (!ruleset_room(rs, src))
		return;
	if (has_ext(src->file, ".toml"))
		ks_elastic_import(rs, src);
	else
		ks_yaml_load(rs, src, load_document);
}

/* Drop the disabled rules among [from, n_rules) (see load_rule()). */
static void drop_disabled(struct ks_ruleset *rs, size_t from)
{
	const char **why;
	bool *keep, any = false;
	size_t i;

	for (i = from; i < rs->n_rules; i++)
		any |= rs->rules[i].disabled;
	if (!any)
		return;
	keep = ks_xmalloc(rs->n_rules * sizeof(*keep));
	why = ks_xmalloc(rs->n_rules * sizeof(*why));
	for (i = 0; i < rs->n_rules; i++) {
		keep[i] = i < from || !rs->rules[i].disabled;
		why[i] = "enabled: false";
	}
	ks_rules_drop(rs, keep, why);
	free(keep);
	free(why);
}

/* Rules [from, n_rules) were added: what they did not say is derived. */
static int finish_load(struct ks_ruleset *rs, size_t before, size_t from)
{
	size_t i;

	drop_disabled(rs, from);
	for (i = from; i < rs->n_rules; i++) {
		ks_attack_from_tags(rs, &rs->rules[i]);
		ks_rule_apply_exceptions(rs, &rs->rules[i]);
	}
	return ks_diags_errors(&rs->diags) > before ? -1 : 0;
}

int ks_ruleset_load_string(struct ks_ruleset *rs, const char *text,
			   const char *file)
{
	size_t before = ks_diags_errors(&rs->diags), from = rs->n_rules;

	load_src(rs, ks_src_add(rs, file ? file : "<string>", text, strlen(text)));
	return finish_load(rs, before, from);
}

static void file_error(struct ks_ruleset *rs, const char *path, int err)
{
	struct ks_loc l = { .file = ks_intern(rs, path), .line = 1, .col = 1 };

	ks_diag_add(&rs->diags, KS_DIAG_ERROR, l, "cannot read: %s",
		    strerror(err));
}

/* The text of file path (malloc'd) in *buf, within KS_MAX_FILE_BYTES;
 * -1 (reported) if it cannot be read or is too big. */
static int read_file(struct ks_ruleset *rs, const char *path, char **bufp,
		     size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f, *mem;
	char chunk[8192];
	size_t n;
	int ret = -1;

	f = fopen(path, "r");
	if (!f) {
		file_error(rs, path, errno);
		return -1;
	}
	mem = open_memstream(&buf, &len);
	if (!mem)
		ks_oom();
	/* never more than the limit in memory, whatever the file is */
	while (len <= KS_MAX_FILE_BYTES &&
	       (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		fwrite(chunk, 1, n, mem);
		fflush(mem);
	}
	if (ferror(f)) {
		file_error(rs, path, errno ? errno : EIO);
		goto out;
	}
	fclose(mem);
	mem = NULL;
	if (len > KS_MAX_FILE_BYTES) {
		too_big(rs, path);
		goto out;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	ret = 0;
out:
	if (mem)
		fclose(mem);
	free(buf);
	fclose(f);
	return ret;
}

static void load_file(struct ks_ruleset *rs, const char *path)
{
	char *buf;
	size_t len;

	if (read_file(rs, path, &buf, &len))
		return;
	load_src(rs, ks_src_add(rs, path, buf, len));
	free(buf);
}

static bool has_rule_ext(const char *name)
{
	return has_ext(name, ".yml") || has_ext(name, ".yaml") ||
	       has_ext(name, ".toml");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories being read, innermost first: a directory that is its
 * own ancestor (a symbolic link loop) would be read forever. */
struct dir_chain {
	dev_t dev;
	ino_t ino;
	const struct dir_chain *up;
	unsigned int depth;
};

static void load_any(struct ks_ruleset *rs, const char *path, bool top,
		     const struct dir_chain *up);

/* Sorted entry names of a directory, hidden ones (.git, editor files)
 * skipped; NULL (reported) if it cannot be read. */
static char **dir_names(struct ks_ruleset *rs, const char *path, size_t *n)
{
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	d = opendir(path);
	if (!d) {
		file_error(rs, path, errno);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ks_grow(&names, &cap, *n, sizeof(*names));
		names[(*n)++] = ks_xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static bool dir_enter(struct ks_ruleset *rs, const char *path,
		      const struct stat *st, const struct dir_chain *up)
{
	struct ks_loc l = { .file = ks_intern(rs, path), .line = 1, .col = 1 };
	const struct dir_chain *a;

	for (a = up; a; a = a->up) {
		if (a->dev == st->st_dev && a->ino == st->st_ino) {
			ks_diag_add(&rs->diags, KS_DIAG_ERROR, l, "directory is "
				    "its own ancestor (a symbolic link loop)");
			return false;
		}
	}
	if (up && up->depth >= KS_MAX_DIR_DEPTH) {
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, l, "directories nested "
			    "more than %u levels deep (limit KS_MAX_DIR_DEPTH)",
			    KS_MAX_DIR_DEPTH);
		return false;
	}
	return true;
}

/* Directory entries in sorted order, so the rule order (and everything
 * compiled from it) does not depend on the file system. */
static void load_dir(struct ks_ruleset *rs, const char *path,
		     const struct stat *st, const struct dir_chain *up)
{
	struct dir_chain me = { st->st_dev, st->st_ino, up,
				up ? up->depth + 1 : 0 };
	char **names, *sub;
	size_t n, i;

	if (!dir_enter(rs, path, st, up))
		return;
	names = dir_names(rs, path, &n);
	for (i = 0; i < n; i++) {
		sub = ks_xasprintf("%s%s%s", path,
				   path[strlen(path) - 1] == '/' ? "" : "/",
				   names[i]);
		load_any(rs, sub, false, &me);
		free(sub);
		free(names[i]);
	}
	free(names);
}

static void load_any(struct ks_ruleset *rs, const char *path, bool top,
		     const struct dir_chain *up)
{
	struct stat st;

	if (stat(path, &st)) {
		/* a rule file that cannot be read (a dangling link, a link
		 * loop) is an error; other names are not rule files */
		if (top || has_rule_ext(path))
			file_error(rs, path, errno);
		return;
	}
	if (S_ISDIR(st.st_mode))
		load_dir(rs, path, &st, up);
	else if (top || (S_ISREG(st.st_mode) && has_rule_ext(path)))
		load_file(rs, path);
}

int ks_ruleset_load_path(struct ks_ruleset *rs, const char *path)
{
	size_t before = ks_diags_errors(&rs->diags), from = rs->n_rules;

	load_any(rs, path, true, NULL);
	return finish_load(rs, before, from);
}

/* ---- exceptions files ---- */

/* A string or a list of strings (an exception's rules: or tags:). */
static const char **exc_names(struct ks_ruleset *rs, const struct ks_src *src,
			      yaml_document_t *doc, yaml_node_t *n,
			      const char *key, size_t *cnt)
{
	yaml_node_item_t *it = NULL, *end = NULL;
	const char **v;
	yaml_node_t *e = n;

	*cnt = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		it = n->data.sequence.items.start;
		end = n->data.sequence.items.top;
		if (it == end)
			goto bad;
	}
	v = ks_alloc(rs, (it ? (size_t)(end - it) : 1) * sizeof(*v));
	do {
		if (it)
			e = yaml_document_get_node(doc, *it);
		if (!ks_yscalar(e) || ks_yis_null(e) || !*ks_yscalar(e))
			goto bad;
		v[(*cnt)++] = ks_yscalar(e);
	} while (it && ++it < end);
	return v;
bad:
	ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_yaml_loc(src, e->start_mark),
		    "exception \"%s\" must be a name or a non-empty list of names "
		    "(fnmatch patterns)", key);
	*cnt = 0;
	return NULL;
}

static bool exc_names_rule(const struct ks_rule_src *r, const char **ids, size_t n_ids,
			   const char **tags, size_t n_tags)
{
	size_t i;

	for (i = 0; i < n_ids; i++)
		if (ks_rule_match_id(r, ids[i]))
			return true;
	for (i = 0; i < n_tags; i++)
		if (ks_rule_match_tag(r, tags[i]))
			return true;
	return false;
}

/* One entry of an exceptions file, added to every rule it names. */
static void load_exc_entry(struct ks_ruleset *rs, const struct ks_src *src,
			   yaml_document_t *doc, yaml_node_t *n)
{
	const char **ids = NULL, **tags = NULL;
	size_t n_ids = 0, n_tags = 0, i, hits = 0;
	struct ks_exc_nodes x;
	struct ks_exception e;

	if (ks_exc_read(rs, src, doc, n, true, &e, &x))
		return;
	if (!x.rules && !x.tags) {
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, e.loc, "exception names no "
			    "rule: give rules: (rule ids) or tags: (rule tags)");
		return;
	}
	if ((x.rules && !(ids = exc_names(rs, src, doc, x.rules, "rules", &n_ids))) ||
	    (x.tags && !(tags = exc_names(rs, src, doc, x.tags, "tags", &n_tags))))
		return;
	for (i = 0; i < rs->n_rules; i++) {
		if (!exc_names_rule(&rs->rules[i], ids, n_ids, tags, n_tags))
			continue;
		hits++;
		ks_rule_add_exception(rs, &rs->rules[i], &e);
	}
	if (!hits)
		ks_diag_add(&rs->diags, KS_DIAG_WARNING, e.loc, "exception applies "
			    "to no rule that is loaded");
}

static void load_exc_document(struct ks_ruleset *rs, const struct ks_src *src,
			      yaml_document_t *doc, yaml_node_t *root)
{
	yaml_node_item_t *it;

	if (!yaml_expect(rs, src, root, YAML_SEQUENCE_NODE,
			 "expected a list of exceptions (mappings with condition: and rules: or "
			 "tags:)"))
		return;
	for (it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++)
		load_exc_entry(rs, src, doc, yaml_document_get_node(doc, *it));
}

static int load_exc_src(struct ks_ruleset *rs, const struct ks_src *src)
{
	size_t before = ks_diags_errors(&rs->diags), i;

	if (ruleset_room(rs, src))
		ks_yaml_load(rs, src, load_exc_document);
	for (i = 0; i < rs->n_rules; i++)
		ks_rule_apply_exceptions(rs, &rs->rules[i]);
	return ks_diags_errors(&rs->diags) > before ? -1 : 0;
}

int ks_ruleset_load_exceptions_string(struct ks_ruleset *rs, const char *text,
				      const char *file)
{
	if (strlen(text) > KS_MAX_FILE_BYTES) {
		too_big(rs, file ? file : "<string>");
		return -1;
	}
	return load_exc_src(rs, ks_src_add(rs, file ? file : "<string>", text,
					   strlen(text)));
}

int ks_ruleset_load_exceptions(struct ks_ruleset *rs, const char *path)
{
	char *buf;
	size_t len;
	int ret;

	if (read_file(rs, path, &buf, &len))
		return -1;
	ret = load_exc_src(rs, ks_src_add(rs, path, buf, len));
	free(buf);
	return ret;
}

int ks_ruleset_add_query(struct ks_ruleset *rs, const char *query,
			 const char *origin)
{
	size_t before = ks_diags_errors(&rs->diags), from = rs->n_rules;
	const struct ks_src *src;
	struct ks_rule_src *r;
	struct ks_posmap pm;
	struct ks_loc at;

	src = ks_src_add(rs, origin ? origin : "<inline>", query, strlen(query));
	at = (struct ks_loc){ .file = src->file, .line = 1, .col = 1 };
	r = ks_rule_append(rs, "inline", at);
	if (!r)
		return -1;
	r->name = ks_strdup(rs, "inline query");
	r->query_text = ks_strdup(rs, query);
	ks_posmap_text(&pm, r->query_text, strlen(query), at);
	r->q = ks_parse_query_map(rs, &pm);
	ks_posmap_free(&pm);
	return finish_load(rs, before, from);
}

struct ks_query *ks_parse_query(struct ks_ruleset *rs, const char *text,
				struct ks_loc at)
{
	struct ks_posmap pm;
	struct ks_query *q;
	const char *copy;

	at.file = ks_intern(rs, at.file ? at.file : "<query>");
	if (at.line < 1)
		at.line = 1;
	if (at.col < 1)
		at.col = 1;
	if (!ks_src_find(&ks_priv(rs)->srcs, at.file) && at.line == 1)
		ks_src_add(rs, at.file, text, strlen(text));
	copy = ks_strdup(rs, text);
	ks_posmap_text(&pm, copy, strlen(copy), at);
	q = ks_parse_query_map(rs, &pm);
	ks_posmap_free(&pm);
	return q;
}

struct ks_ruleset *ks_ruleset_new(void)
{
	struct ks_ruleset *rs = ks_xmalloc(sizeof(*rs));
	struct ks_priv *pv = ks_priv_new();

	rs->priv = pv;
	rs->diags.src = &pv->srcs;
	return rs;
}

void ks_ruleset_free(struct ks_ruleset *rs)
{
	struct ks_priv *pv;
	size_t i;

	if (!rs)
		return;
	pv = rs->priv;
	for (i = 0; i < pv->n_regex; i++)
		ks_regex_cache_free(pv->regex_nodes[i]->cache);
	ks_priv_free(pv);
	ks_diags_free(&rs->diags);
	free(rs->rules);
	free(rs->skipped);
	free(rs);
}
