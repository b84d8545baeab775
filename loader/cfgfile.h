/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kload attach's (and reload's) configuration file (/etc/kestrel/kestrel.yml when it
 * exists, or --config FILE): a YAML mapping of the command's long options
 * (pin-dir or pin_dir; a list for the repeatable ones) and `rules:` (a
 * list of rule paths, or {paths: [...]} with the selection and exceptions
 * files: include_tags, include_ids, exclude_tags, exclude_ids and
 * exceptions, stored as --include-tag ... --exceptions). Values are checked by the
 * option table exactly as on the command line; the command line, parsed
 * after, overrides them (a list given there replaces the file's). Errors
 * are FILE:LINE:COL: error: MESSAGE, exit 2.
 *
 *   output: [file:/var/log/kestrel/alerts.jsonl, "syslog+tcp://10.0.0.5:514"]
 *   metrics: 127.0.0.1:9464
 *   rules:
 *     paths: [/usr/share/kestrel/rules, /etc/kestrel/rules.d]
 *     exclude_ids: [sigma_*]
 *     exceptions: [/etc/kestrel/exceptions.yml]
 */
#ifndef KS_CFGFILE_H
#define KS_CFGFILE_H

#include "opts.h"

#define KS_CONFIG_DEFAULT	"/etc/kestrel/kestrel.yml"
#define KS_CONFIG_RULES_MAX	64
#define KS_CONFIG_PATH_MAX	4096

struct ks_cfgfile {
	const char *path;			/* NULL: no file */
	const char *rule_paths[KS_CONFIG_RULES_MAX];
	int n_rule_paths;
	char **strs;				/* the values args point to */
	size_t n_strs;
};

/* --config FILE from argv, else dflt when that file exists, else NULL. */
const char *ks_cfgfile_path(int argc, char **argv, const char *dflt);
/*
 * Load path (NULL: nothing) into args and cfg: KS_EXIT_OK or KS_EXIT_USAGE.
 * Keys are checked against schema's options (attach's); those c also has
 * are stored (reload takes pin-dir and rules from attach's file).
 */
int ks_cfgfile_load(const struct ks_cmd *schema, const struct ks_cmd *c, const char *path,
		    void *args, struct ks_cfgfile *cfg);
/* The file (--config or the default), then argv over it: ks_opts_parse()'s result. */
int ks_cfgfile_parse(const struct ks_cmd *schema, const struct ks_cmd *c, int argc, char **argv,
		     void *args, struct ks_cfgfile *cfg);
/* The rules to load: those after argv[first], else the file's rules: paths. */
void ks_cfgfile_rules(const struct ks_cfgfile *cfg, int argc, char **argv, int first, int *n,
		      char ***paths);
void ks_cfgfile_free(struct ks_cfgfile *cfg);

#endif /* KS_CFGFILE_H */
