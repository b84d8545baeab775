// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The session's generation hand-over on the production maps:
 *
 *  rollback  when the pipeline cannot take a generation the kernel has
 *            already switched to, the kernel is switched back: ks_gen's
 *            slot holds the previous tables again and both sides run
 *            the same generation
 *  pins      ks_pins_remove() removes Kestrel's pins and leaves others
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kestrel/session.h"
#include "testutil.h"
#include "test_progs.h"

static const char *rules =
	"- rule: a\n  name: a\n  query: process where process.name == \"ks_st_a\"\n"
	"- rule: b\n  name: b\n  query: process where process.name == \"ks_st_b\"\n";

/* The id of the tables map in ks_gen's one slot. */
static __u32 active_tables(const struct ks_engine *e)
{
	__u32 zero = 0, id = 0;

	bpf_map_lookup_elem(e->gen_fd, &zero, &id);
	return id;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void rollback(void)
{
	struct ks_session_opts so = { .clock = KS_CLOCK_INPUT };
	struct ks_engine_opts eo = { .replay = true, .mode = KS_MODE_SIGNAL };
	struct ks_ruleset *empty = ks_ruleset_new();
	struct ks_session s;
	struct ks_tenv te = {};
	__u32 gen, id;

	so.alerts = ks_output_memory();
	if (!ASSERT_OK(ks_tenv_compile(&te, rules), "compile") ||
	    !ASSERT_OK(ks_engine_load(&te.e, &eo), "load") ||
	    !ASSERT_OK(ks_session_init(&s, &so), "session"))
		goto out;
	te.loaded = true;
	/* generation 1, both sides; the pipeline takes the ruleset */
	if (!ASSERT_OK(ks_session_install(&s, &te.e, NULL, te.rs, te.t, false), "install"))
		goto fini;
	te.rs = ks_ruleset_new();	/* te.rs is the pipeline's now */
	gen = te.e.generation;
	id = active_tables(&te.e);
	ASSERT_EQ(id, map_id(te.e.tables_fd), "ks_gen holds generation 1");
	/* two rules of tables for a ruleset of none: the pipeline refuses */
	ASSERT_EQ(ks_session_install(&s, &te.e, NULL, empty, te.t, false), -EINVAL, "refused");
	empty = NULL;	/* taken */
	ASSERT_EQ(te.e.generation, gen, "engine generation back");
	ASSERT_EQ(active_tables(&te.e), id, "ks_gen holds the previous tables again");
	ASSERT_TRUE(strstr(s.why, "went back to the previous one") != NULL, s.why);
	/* the refused generation's number is never used again */
	ks_session_install(&s, &te.e, NULL, ks_ruleset_new(), te.t, false);
	ASSERT_TRUE(strstr(s.why, "generation 3") != NULL, s.why);
fini:
	ks_session_fini(&s);
out:
	if (empty)
		ks_ruleset_free(empty);
	ks_output_close(so.alerts);
	ks_tenv_close(&te);
}

static void pins(void)
{
	const char *dir = "/sys/fs/bpf/ks_st_pins";
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "foreign", 4, 4, 1, NULL);
	int ours = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ks_ctl", 4, 4, 1, NULL);
	char path[256];

	ks_pins_remove(dir);
	if (!ASSERT_GE(fd, 0, "map") || !ASSERT_GE(ours, 0, "map") ||
	    !ASSERT_OK(mkdir(dir, 0700), "mkdir"))
		goto out;
	snprintf(path, sizeof(path), "%s/foreign", dir);
	ASSERT_OK(bpf_obj_pin(fd, path), "pin foreign");
	snprintf(path, sizeof(path), "%s/ks_ctl", dir);
	ASSERT_OK(bpf_obj_pin(ours, path), "pin ks_ctl");
	ASSERT_EQ(ks_pins_remove(dir), 1, "one of ours removed");
	ASSERT_NEQ(access(path, F_OK), 0, "ks_ctl gone");
	snprintf(path, sizeof(path), "%s/foreign", dir);
	ASSERT_OK(access(path, F_OK), "foreign kept");
	unlink(path);
	rmdir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (ours >= 0)
		close(ours);
}

void test_session(void)
{
	if (test__start_subtest("rollback"))
		rollback();
	if (test__start_subtest("pins"))
		pins();
}
