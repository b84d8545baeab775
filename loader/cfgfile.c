// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The configuration file of `kload attach` (see cfgfile.h): a YAML mapping
 * whose keys are the command's own long options, checked by the same
 * option table and the same code as the command line, plus `rules:`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "kestrel/log.h"
#include "cfgfile.h"

struct cfg_ctx {
	const struct ks_cmd *schema;	/* whose keys are valid (attach) */
	const struct ks_cmd *c;		/* whose options are stored */
	const char *path;
	yaml_document_t *doc;
	void *args;
	struct ks_cfgfile *cfg;
};

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int err_at(const struct cfg_ctx *x, yaml_node_t *n, const char *fmt, const char *a,
		  const char *b)
{
	fprintf(stderr, "%s:%zu:%zu: error: ", x->path, n->start_mark.line + 1,
		n->start_mark.column + 1);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return KS_EXIT_USAGE;
}

/* A copy that lives as long as the configuration (args point into it). */
static const char *keep(struct ks_cfgfile *cfg, const char *s)
{
	char **v, *d = strdup(s);

	if (!d)
		return NULL;
	v = realloc(cfg->strs, (cfg->n_strs + 1) * sizeof(*v));
	if (!v) {
		free(d);
		return NULL;
	}
	cfg->strs = v;
	cfg->strs[cfg->n_strs++] = d;
	return d;
}

static int parse_bool(const char *v)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", "On" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "off", "Off" };
	size_t i;

	for (i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]))
			return 1;
		if (!strcmp(v, no[i]))
			return 0;
	}
	return -1;
}

/* One scalar value of option o at node n. */
static int store_one(const struct cfg_ctx *x, const struct ks_opt *o, yaml_node_t *n)
{
	const char *v = scalar(n), *copy;
	char where[KS_CONFIG_PATH_MAX + 48];
	int b;

	if (!v)
		return err_at(x, n, "%s takes a single value here%s", o->name, "");
	if (o->type == KS_OPT_FLAG) {
		b = parse_bool(v);
		if (b < 0)
			return err_at(x, n, "%s takes true or false, not \"%s\"", o->name, v);
		*(bool *)((char *)x->args + o->off) = b;
		return 0;
	}
	copy = keep(x->cfg, v);
	if (!copy)
		return KS_EXIT_FAIL;
	snprintf(where, sizeof(where), "%s:%zu:%zu", x->path, n->start_mark.line + 1,
		 n->start_mark.column + 1);
	return ks_opts_store(x->c, o, copy, x->args, where) ? KS_EXIT_USAGE : 0;
}

static int store_opt(const struct cfg_ctx *x, const struct ks_opt *o, yaml_node_t *n)
{
	yaml_node_item_t *it;
	int err;

	if (o->type != KS_OPT_STR_MULTI || n->type != YAML_SEQUENCE_NODE)
		return store_one(x, o, n);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		err = store_one(x, o, yaml_document_get_node(x->doc, *it));
		if (err)
			return err;
	}
	return 0;
}

/* A scalar or a list of scalars into v[] (at most max). */
static int store_list(const struct cfg_ctx *x, const char *key, yaml_node_t *n,
		      const char **v, int *count, int max)
{
	yaml_node_item_t *it = NULL, *end = NULL;
	yaml_node_t *e = n;
	char room[16];

	if (n->type == YAML_SEQUENCE_NODE) {
		it = n->data.sequence.items.start;
		end = n->data.sequence.items.top;
	}
	do {
		if (it)
			e = yaml_document_get_node(x->doc, *it);
		if (!scalar(e))
			return err_at(x, e, "%s takes a name or a list of names%s", key, "");
		if (*count == max) {
			snprintf(room, sizeof(room), "%d", max);
			return err_at(x, e, "%s takes at most %s entries", key, room);
		}
		v[*count] = keep(x->cfg, scalar(e));
		if (!v[(*count)++])
			return KS_EXIT_FAIL;
	} while (it && ++it < end);
	return 0;
}

/* The keys under rules: that are options of their own on the command line. */
static const struct {
	const char *key, *opt;
} rules_keys[] = {
	{ "include_tags", "include-tag" }, { "include_ids", "include-id" },
	{ "exclude_tags", "exclude-tag" }, { "exclude_ids", "exclude-id" },
	{ "exceptions", "exceptions" },
};

#define RULES_KEYS	"paths, include_tags, include_ids, exclude_tags, exclude_ids, " \
			"exceptions"

/* A selection key under rules: as its option (if c takes it, as reload does). */
static int store_rules_opt(const struct cfg_ctx *x, yaml_node_t *k, yaml_node_t *v)
{
	const struct ks_opt *o;
	size_t i;

	for (i = 0; i < sizeof(rules_keys) / sizeof(rules_keys[0]); i++)
		if (scalar(k) && !strcmp(scalar(k), rules_keys[i].key))
			break;
	if (i == sizeof(rules_keys) / sizeof(rules_keys[0]))
		return err_at(x, k, "unknown key \"%s\" under rules: (accepted: %s)",
			      scalar(k) ?: "?", RULES_KEYS);
	o = ks_opts_find(x->c, rules_keys[i].opt);
	return o ? store_opt(x, o, v) : 0;
}

/* rules: PATHS (a list), or a mapping {paths: [...], include_tags: [...], ...} */
static int store_rules(const struct cfg_ctx *x, yaml_node_t *n)
{
	struct ks_cfgfile *cfg = x->cfg;
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return store_list(x, "rules", n, cfg->rule_paths, &cfg->n_rule_paths,
				  KS_CONFIG_RULES_MAX);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *key = scalar(k);
		int err;

		if (key && !strcmp(key, "paths"))
			err = store_list(x, "paths", v, cfg->rule_paths, &cfg->n_rule_paths,
					 KS_CONFIG_RULES_MAX);
		else
			err = store_rules_opt(x, k, v);
		if (err)
			return err;
	}
	return 0;
}

/* Options the file gives under rules: only. */
static bool is_rules_opt(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(rules_keys) / sizeof(rules_keys[0]); i++)
		if (!strcmp(name, rules_keys[i].opt))
			return true;
	return false;
}

/* "pin_dir" and "pin-dir" both name --pin-dir. */
static const struct ks_opt *find_key(const struct ks_cmd *c, const char *key)
{
	char name[64];
	size_t i;

	if (strlen(key) >= sizeof(name))
		return NULL;
	for (i = 0; key[i]; i++)
		name[i] = key[i] == '_' ? '-' : key[i];
	name[i] = 0;
	if (!strcmp(name, "config") || is_rules_opt(name))
		return NULL;	/* a file does not name another; rules: has those */
	return ks_opts_find(c, name);
}

static int unknown_key(const struct cfg_ctx *x, yaml_node_t *k)
{
	char list[1024] = "rules";
	const struct ks_opt *o;

	for (o = x->schema->opts; o->name; o++) {
		if (strcmp(o->name, "config") && !is_rules_opt(o->name) &&
		    strlen(list) + strlen(o->name) + 3 < sizeof(list)) {
			strcat(list, ", ");
			strcat(list, o->name);
		}
	}
	return err_at(x, k, "unknown key \"%s\" (accepted: %s)", scalar(k) ?: "?", list);
}

static int walk(const struct cfg_ctx *x, yaml_node_t *root)
{
	yaml_node_pair_t *p;
	int err = 0;

	if (!root)
		return 0;	/* an empty file: nothing configured */
	if (root->type != YAML_MAPPING_NODE)
		return err_at(x, root, "the configuration is a mapping of option: value%s%s", "",
			      "");
	for (p = root->data.mapping.pairs.start; !err && p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const struct ks_opt *o = scalar(k) ? find_key(x->schema, scalar(k)) : NULL;

		if (scalar(k) && !strcmp(scalar(k), "rules"))
			err = store_rules(x, v);
		else if (!o)
			err = unknown_key(x, k);
		else if (x->c != x->schema)	/* another command takes what it has */
			err = (o = ks_opts_find(x->c, o->name)) ? store_opt(x, o, v) : 0;
		else
			err = store_opt(x, o, v);
	}
	return err;
}

static int load(const struct ks_cmd *schema, const struct ks_cmd *c, FILE *f, void *args,
		struct ks_cfgfile *cfg)
{
	struct cfg_ctx x = { .schema = schema, .c = c, .path = cfg->path, .args = args,
			     .cfg = cfg };
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s:%zu:%zu: error: invalid YAML: %s\n", cfg->path,
			parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			parser.problem ?: "?");
		yaml_parser_delete(&parser);
		return KS_EXIT_USAGE;
	}
	x.doc = &doc;
	ret = walk(&x, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

const char *ks_cfgfile_path(int argc, char **argv, const char *dflt)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return dflt && !access(dflt, F_OK) ? dflt : NULL;
}

int ks_cfgfile_load(const struct ks_cmd *schema, const struct ks_cmd *c, const char *path,
		    void *args, struct ks_cfgfile *cfg)
{
	FILE *f;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!path)
		return KS_EXIT_OK;
	cfg->path = path;
	if (strlen(path) >= KS_CONFIG_PATH_MAX) {
		fprintf(stderr, "kload %s: --config: the path is too long\n", c->name);
		return KS_EXIT_USAGE;
	}
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: error: cannot read the configuration: %s\n", path,
			strerror(errno));
		return KS_EXIT_USAGE;
	}
	ret = load(schema, c, f, args, cfg);
	fclose(f);
	return ret;
}

void ks_cfgfile_free(struct ks_cfgfile *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_strs; i++)
		free(cfg->strs[i]);
	free(cfg->strs);
	memset(cfg, 0, sizeof(*cfg));
}

int ks_cfgfile_parse(const struct ks_cmd *schema, const struct ks_cmd *c, int argc, char **argv,
		     void *args, struct ks_cfgfile *cfg)
{
	const char *path = ks_cfgfile_path(argc, argv, KS_CONFIG_DEFAULT);

	if (ks_cfgfile_load(schema, c, path, args, cfg))
		return KS_OPTS_USAGE;
	return ks_opts_parse(c, argc, argv, args);
}

void ks_cfgfile_rules(const struct ks_cfgfile *cfg, int argc, char **argv, int first, int *n,
		      char ***paths)
{
	if (first == argc && cfg->n_rule_paths) {
		*n = cfg->n_rule_paths;
		*paths = (char **)cfg->rule_paths;
	} else {
		*n = argc - first;
		*paths = argv + first;
	}
}
