// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers shared by kload's commands: rule loading, locking, environment. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kestrel/engine.h"
#include "kestrel/kbin.h"
#include "kestrel/log.h"
#include "kestrel/sink.h"
#include "cli.h"

bool ks_cli_is_kbin(const char *path)
{
	size_t n = strlen(path);

	return n > 5 && !strcmp(path + n - 5, ".kbin");
}

bool ks_cli_select_any(const struct ks_cli_select *sel)
{
	int k;

	for (k = 0; sel && k < KS_SEL_N; k++)
		if (sel->n[k])
			return true;
	return sel && sel->n_exceptions;
}

/* The selection into rs; a pattern that matched no rule is warned about. */
static void select_rules(struct ks_ruleset *rs, const struct ks_cli_select *cs)
{
	size_t hits[KS_SEL_N][KS_CLI_SEL_MAX] = {};
	struct ks_rule_select sel = {
		.exceptions = cs->exceptions, .n_exceptions = cs->n_exceptions,
	};
	int k, i;

	for (k = 0; k < KS_SEL_N; k++) {
		sel.pat[k] = cs->pat[k];
		sel.n[k] = cs->n[k];
		sel.hits[k] = hits[k];
	}
	ks_ruleset_select(rs, &sel);
	for (k = 0; k < KS_SEL_N; k++)
		for (i = 0; i < cs->n[k]; i++)
			if (!hits[k][i])
				fprintf(stderr, "kload: warning: %s \"%s\" matches no rule\n",
					ks_sel_list_name(k), cs->pat[k][i]);
}

/* Rule files and directories into rs. */
static int load_paths(int n, char **paths, struct ks_ruleset *rs)
{
	struct stat st;
	int i;

	for (i = 0; i < n; i++) {
		if (stat(paths[i], &st)) {
			fprintf(stderr, "%s: error: %s\n", paths[i], strerror(errno));
			return KS_EXIT_USAGE;
		}
		ks_ruleset_load_path(rs, paths[i]);
	}
	return KS_EXIT_OK;
}

static void print_invalid(const struct ks_ruleset *rs)
{
	size_t ok = 0, j;

	ks_diags_print(&rs->diags, stderr);
	for (j = 0; j < rs->n_rules; j++)
		ok += rs->rules[j].q != NULL;
	fprintf(stderr, "kload: %zu of %zu rule(s) compiled, %zu rejected (%zu error(s) above); "
		"nothing was loaded\n", ok, rs->n_rules, rs->n_rules - ok,
		ks_diags_errors(&rs->diags));
}

int ks_cli_load_rules(int n, char **paths, const struct ks_cli_select *sel,
		      struct ks_ruleset **rsp, struct ks_tables **tp,
		      struct ks_compile_info *info)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_tables *t = calloc(1, sizeof(*t));
	char err[256];
	int ret = KS_EXIT_FAIL;

	memset(info, 0, sizeof(*info));
	if (!rs || !t)
		goto fail;
	if (n == 0) {
		fprintf(stderr, "kload: no rules given (files, directories or a .kbin)\n");
		ret = KS_EXIT_USAGE;
		goto fail;
	}
	if (n == 1 && ks_cli_is_kbin(paths[0])) {
		if (ks_kbin_read(paths[0], rs, t, err, sizeof(err))) {
			fprintf(stderr, "%s: error: %s\n", paths[0], err);
			ret = KS_EXIT_USAGE;
			goto fail;
		}
		/* its rules are the rule set as compiled: a selection
		 * compiles them again */
		if (!ks_cli_select_any(sel))
			goto done;
	} else {
		ret = load_paths(n, paths, rs);
		if (ret)
			goto fail;
	}
	if (!ks_diags_errors(&rs->diags) && ks_cli_select_any(sel))
		select_rules(rs, sel);
	if (ks_diags_errors(&rs->diags))
		goto invalid;
	if (ks_compile(rs, t, info) || ks_diags_errors(&rs->diags))
		goto invalid;
done:
	ks_diags_print(&rs->diags, stderr);	/* warnings */
	*rsp = rs;
	*tp = t;
	return KS_EXIT_OK;
invalid:
	print_invalid(rs);
	ret = KS_EXIT_USAGE;
fail:
	ks_compile_info_free(info);
	if (rs)
		ks_ruleset_free(rs);
	free(t);
	return ret;
}

int ks_cli_lock(const char *pin_dir, bool create)
{
	int fd;

	if (create && mkdir(pin_dir, 0700) && errno != EEXIST)
		return -1;
	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		errno = EBUSY;
		return -1;
	}
	return fd;
}

int ks_cli_env(const char *pin_dir)
{
	char why[KS_PIN_PATH_MAX + 256];

	if (ks_env_check(why, sizeof(why)) ||
	    (pin_dir && ks_pin_dir_check(pin_dir, why, sizeof(why)))) {
		fprintf(stderr, "kload: %s\n", why);
		return KS_EXIT_ENV;
	}
	return KS_EXIT_OK;
}

bool ks_cli_kload_alive(__u32 pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (!pid || kill(pid, 0))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "kload", 5);
}

unsigned int ks_cli_attach_pid(int ctl_fd)
{
	struct ks_ctl ctl;

	if (ks_ctl_read(ctl_fd, &ctl))
		return 0;
	return ks_cli_kload_alive(ctl.kload_pid) ? ctl.kload_pid : 0;
}

static int add_output(struct ks_sinks *set, const char *uri)
{
	char why[256] = "";
	int err = ks_sinks_add(set, uri, why, sizeof(why));

	if (!err)
		return KS_EXIT_OK;
	fprintf(stderr, "kload: output %s: %s\n", uri, why[0] ? why : strerror(-err));
	return err == -EINVAL || err == -EEXIST || err == -E2BIG ? KS_EXIT_USAGE : KS_EXIT_FAIL;
}

int ks_cli_outputs(const char *alerts_path, const char *const *uris, int n,
		   struct ks_sinks **setp)
{
	struct ks_sinks *set = ks_sinks_new();
	char *uri = NULL;
	int i, ret = set ? KS_EXIT_OK : KS_EXIT_FAIL;

	if (!ret && (alerts_path || !n)) {
		alerts_path = alerts_path ?: "-";
		if (asprintf(&uri, "%s%s", strcmp(alerts_path, "-") ? "file:" : "",
			     alerts_path) < 0)
			uri = NULL;
		ret = uri ? add_output(set, uri) : KS_EXIT_FAIL;
		free(uri);
	}
	for (i = 0; !ret && i < n; i++)
		ret = add_output(set, uris[i]);
	if (ret) {
		ks_sinks_free(set);
		set = NULL;
	}
	*setp = set;
	return ret;
}
