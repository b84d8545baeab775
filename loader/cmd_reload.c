// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kload reload: compile, then hand the rules to the running `kload
 * attach` (loader/reload.c) and report its answer; with no kload
 * running, swap the pinned tables directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/session.h"
#include "cfgfile.h"
#include "cli.h"
#include "reload.h"

struct reload_args {
	const char *config;
	const char *pin_dir;
	struct ks_cli_select sel;
};

static const struct ks_opt reload_opts[] = {
	KS_OPT_PIN_DIR(struct reload_args, pin_dir),
	KS_OPT_PATH_(struct reload_args, config, "config", "FILE", KS_CONFIG_PATH_MAX - 1,
		     "pin-dir and rules from attach's configuration\n"
		     "(default /etc/kestrel/kestrel.yml when it exists)"),
	KS_OPTS_SELECT(struct reload_args, sel),
	{ NULL },
};

/*
 * This file's rows of kload's command table (opts.h, struct ks_cmd): the
 * same shape in every cmd_*.c by design, deliberate twins that duplicates
 * pairs (cmd_attach.c, cmd_admin.c, cmd_compile.c, cmd_reload.c,
 * cmd_replay.c).
 */
static int cmd_reload(int argc, char **argv);

const struct ks_cmd ks_cmd_reload = {
	.name = "reload", .run = cmd_reload, .summary = "swap rule tables atomically",
	.args = "[RULES...|FILE.kbin]",
	.about = "Compile RULES (default: the configuration's rules: paths, so that\n"
		 "`systemctl reload kestrel` re-reads them) and ask the running\n"
		 "`kload attach` to swap its tables.\n"
		 "No event is evaluated against a mix of old and new tables, and the\n"
		 "kernel and the attach process always run the same generation. A\n"
		 "failed compile changes nothing (exit 2); when the attach process\n"
		 "cannot take the rules, its reason is printed (exit 1). Reloads are\n"
		 "taken one at a time. A FILE.kbin is handed over as an open\n"
		 "descriptor (not copied) and checked by the attach process; a bad\n"
		 "one is refused (exit 2) with the tables unchanged.\n",
	.opts = reload_opts,
};

/*
 * The attach process owns the pipeline: hand it the rules, or the .kbin
 * file as it is (it checks the file as any .kbin: one parse, not two).
 */
static int via_attach(pid_t pid, struct ks_ruleset *rs, struct ks_tables *t, const char *kbin)
{
	struct ks_reload_answer ans;

	if (ks_reload_request(pid, rs, t, kbin, &ans)) {
		if (kbin && ans.err == -EINVAL) {
			fprintf(stderr, "%s: error: %s\n", kbin, ans.why);
			return KS_EXIT_USAGE;
		}
		fprintf(stderr, "kload: reload failed in kload pid %d: %s\n", (int)pid, ans.why);
		return KS_EXIT_FAIL;
	}
	printf("kload: reloaded %u rules (generation %u)\n", ans.n_rules, ans.generation);
	return KS_EXIT_OK;
}

/* Programs pinned, no kload running: swap the tables ourselves. */
static int direct(struct ks_engine *e, const char *dir, struct ks_ruleset *rs,
		  struct ks_tables *t)
{
	struct ks_session_opts so = { .clock = KS_CLOCK_INPUT, .events_only = true };
	struct ks_session s;
	int lock, ret = KS_EXIT_FAIL;

	lock = ks_cli_lock(dir, false);
	if (lock < 0) {
		fprintf(stderr, "kload: %s is busy\n", dir);
		ks_ruleset_free(rs);
		return KS_EXIT_FAIL;
	}
	ks_session_init(&s, &so);
	if (!ks_session_install(&s, e, dir, rs, t, true)) {
		printf("kload: reloaded %u rules (generation %u; no kload is consuming alerts)\n",
		       t->hdr.n_rules, e->generation);
		ret = KS_EXIT_OK;
	}
	ks_session_fini(&s);
	close(lock);
	return ret;
}

/* The pinned maps of the running attach (the rules' target). */
static int open_attached(const struct reload_args *ra, struct ks_engine *e)
{
	int ret = ks_cli_env(ra->pin_dir);

	if (!ret && ks_engine_adopt(e, ra->pin_dir)) {
		fprintf(stderr, "kload: nothing attached under %s: use `kload attach`\n",
			ra->pin_dir);
		ret = KS_EXIT_FAIL;
	}
	return ret;
}

/* Hand (rs, t) to the running attach, or swap the pinned tables. */
static int reload_rules(const struct reload_args *ra, struct ks_ruleset *rs, struct ks_tables *t)
{
	struct ks_engine e;
	unsigned int pid;
	int ret;

	ret = open_attached(ra, &e);
	if (!ret && t->dfa_hdr.tab_bytes > e.dfa_bytes) {
		char why[200];

		/* refused here rather than after the hand-over: nothing changes */
		ks_dfa_size_refused(&e, t, why, sizeof(why));
		fprintf(stderr, "kload: cannot reload: %s\n", why);
		ks_engine_destroy(&e);
		ret = KS_EXIT_FAIL;
	}
	if (ret) {
		ks_ruleset_free(rs);
		free(t);
		return ret;
	}
	pid = ks_cli_attach_pid(e.ctl_fd);
	if (pid) {
		ret = via_attach(pid, rs, t, NULL);
		ks_ruleset_free(rs);
	} else {
		ret = direct(&e, ra->pin_dir, rs, t);
	}
	ks_engine_destroy(&e);
	free(t);
	return ret;
}

/*
 * The pid of the kload attach under ra->pin_dir, from its pinned ks_ctl
 * alone: a .kbin reload needs nothing else here, and every map adopted
 * was syscalls at the start of each reload. 0: none running (or nothing
 * pinned: the full adoption says which).
 */
static unsigned int attach_pid(const struct reload_args *ra)
{
	char path[KS_PIN_PATH_MAX];
	unsigned int pid;
	int fd;

	if (ks_pin_path(path, sizeof(path), ra->pin_dir, "ks_ctl"))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	pid = ks_cli_attach_pid(fd);
	close(fd);
	return pid;
}

/*
 * A .kbin goes to the running attach as it is; with no kload running it
 * is read here and the pinned tables swapped.
 */
static int reload_kbin(const struct reload_args *ra, int n, char **paths)
{
	struct ks_compile_info info = {};
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	unsigned int pid;
	int ret;

	if (access(paths[0], R_OK)) {
		fprintf(stderr, "%s: error: %s\n", paths[0], strerror(errno));
		return KS_EXIT_USAGE;
	}
	ret = ks_cli_env(ra->pin_dir);
	if (ret)
		return ret;
	pid = attach_pid(ra);
	if (pid)
		return via_attach(pid, NULL, NULL, paths[0]);
	ret = ks_cli_load_rules(n, paths, &ra->sel, &rs, &t, &info);
	ks_compile_info_free(&info);
	return ret ?: reload_rules(ra, rs, t);
}

static int cmd_reload(int argc, char **argv)
{
	struct reload_args ra = { .pin_dir = KS_PIN_DIR_DEFAULT };
	struct ks_compile_info info = {};
	struct ks_cfgfile cfg;
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	char **paths;
	int first, ret, n;

	first = ks_cfgfile_parse(&ks_cmd_attach, &ks_cmd_reload, argc, argv, &ra, &cfg);
	if (first < 0) {
		ks_cfgfile_free(&cfg);
		return ks_opts_exit(first);
	}
	ks_cfgfile_rules(&cfg, argc, argv, first, &n, &paths);
	/* a .kbin goes as it is, unless a selection compiles it again */
	if (n == 1 && ks_cli_is_kbin(paths[0]) && !ks_cli_select_any(&ra.sel)) {
		ret = reload_kbin(&ra, n, paths);
	} else {
		ret = ks_cli_load_rules(n, paths, &ra.sel, &rs, &t, &info);
		ks_compile_info_free(&info);
		ret = ret ?: reload_rules(&ra, rs, t);
	}
	ks_cfgfile_free(&cfg);
	return ret;
}
