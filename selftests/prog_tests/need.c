// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Only the host programs the rules need are loaded (loader/engine_load.c),
 * and tables that need more get their programs loaded and attached before
 * they are installed (ks_engine_need(), as `kload reload` does): an
 * exec-only rule set loads no file, exit or fork program; after a swap to
 * a file-open rule, an open of that rule's file is forwarded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define ST_DRAIN_MS	300

static const char *file_prog(const struct ks_tenv *te)
{
	static const char *const names[] = { "ks_lsm_file_open", "ks_ksig_open",
					     "ks_tsig_open" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ks_engine_prog(&te->e, names[i]))
			return names[i];
	return NULL;
}

static bool forwarded_open(struct ks_tenv *te, const char *path)
{
	char buf[256];
	size_t i;

	ks_tenv_drain(te, ST_DRAIN_MS);
	for (i = 0; i < te->n; i++)
		if (te->evs[i].action == KS_ACT_OPEN &&
		    !strcmp(ks_tenv_str(&te->evs[i], KS_F_FILE_PATH, buf, sizeof(buf)), path))
			return true;
	return false;
}

static void open_close(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0)
		close(fd);
}

void test_need(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL };
	struct ks_tenv te = {};
	char path[128], yaml[512];
	int fd, links;

	snprintf(path, sizeof(path), "/tmp/ks_st_need_%d", getpid());
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	if (!ASSERT_GE(fd, 0, "create the file"))
		return;
	close(fd);
	if (!ASSERT_OK(ks_tenv_compile(&te, "- rule: st_need_exec\n  name: n\n  query: "
				       "'process where event.action == \"exec\" and "
				       "process.executable == \"/nonexistent/ks_need\"'\n"),
		       "compile exec rule"))
		goto out;
	o.need = KS_NEED_SET | te.t->hdr.action_mask;
	if (!ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	ASSERT_TRUE(ks_engine_prog(&te.e, "ks_sig_exec") != NULL, "exec program loaded");
	ASSERT_TRUE(file_prog(&te) == NULL, "no file program");
	ASSERT_TRUE(!ks_engine_prog(&te.e, "ks_all_exit") && !ks_engine_prog(&te.e, "ks_all_fork"),
		    "no exit or fork program");
	open_close(path);
	ASSERT_FALSE(forwarded_open(&te, path), "no open event without a file rule");

	links = te.e.n_links;
	snprintf(yaml, sizeof(yaml), "- rule: st_need_open\n  name: n\n  query: 'file where "
		 "event.action == \"open\" and file.path == \"%s\"'\n", path);
	if (!ASSERT_OK(ks_tenv_swap(&te, yaml), "swap to a file rule"))
		goto out;
	test__log("file program after the swap: %s\n", file_prog(&te) ?: "none");
	ASSERT_TRUE(file_prog(&te) != NULL, "file program loaded by the swap");
	ASSERT_GT(te.e.n_links, links, "and attached");
	open_close(path);
	ASSERT_TRUE(forwarded_open(&te, path), "the open is forwarded");
out:
	ks_tenv_close(&te);
	unlink(path);
}
