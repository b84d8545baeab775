// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A retired generation's tables map is the spare the next one is written
 * into (loader/engine_swap.c): no new map's pages to create and touch per
 * reload. Its bytes must then hold the new tables and zeros after them,
 * whatever the larger rule set before left there: 200 rules (a), 200
 * others (b), a, b, then one rule, which lands in the map b was first
 * staged in (retired by the second b's install).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "testutil.h"
#include "kestrel.skel.h"
#include "test_progs.h"

#define ST_RULES	200

static char *many_rules(const char *tag)
{
	size_t cap = ST_RULES * 160, at = 0;
	char *y = malloc(cap);
	int i;

	for (i = 0; y && i < ST_RULES; i++)
		at += snprintf(y + at, cap - at, "- rule: st_reuse_%s_%d\n  name: n\n  query: "
			       "'process where process.executable == \"/opt/%s/%d/x%dy\"'\n",
			       tag, i, tag, i, i * 7919);
	return y;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The kernel's value of the current generation: te->t's used bytes, then zeros. */
static void check_value(struct ks_tenv *te)
{
	size_t size = KS_TABLES_VALUE_SIZE(te->e.dfa_bytes), used = KS_TABLES_USED(te->t), i;
	__u8 *v = calloc(1, size);
	__u32 zero = 0;

	if (!ASSERT_OK_PTR(v, "value buffer"))
		return;
	if (ASSERT_OK(bpf_map_lookup_elem(te->e.tables_fd, &zero, v), "read the tables")) {
		ASSERT_OK(memcmp(v, te->t, used), "the new tables' bytes");
		for (i = used; i < size && !v[i]; i++)
			;
		ASSERT_EQ(i, size, "zeros after them (first nonzero at the offset printed)");
	}
	free(v);
}

/*
 * Rules without a payload literal: no prefilter table anywhere
 * (maps/ks_fdr.h), neither a slot map in ks_fdr_gen nor one of kload's.
 */
static void check_no_fdr(struct ks_tenv *te)
{
	int fd = bpf_map__fd(te->e.skel->maps.ks_fdr_gen);
	__u32 s, id;

	for (s = 0; s < KS_FDR_SLOTS; s++) {
		ASSERT_NEQ(bpf_map_lookup_elem(fd, &s, &id), 0, "no prefilter map in the slot");
		ASSERT_EQ(te->e.fdr_fd[s], -1, "none kept by kload");
	}
}

void test_tables_reuse(void)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_OBSERVE };
	char *a = many_rules("a"), *b = many_rules("b");
	struct ks_tenv te = {};
	__u32 first;

	if (!ASSERT_OK_PTR(a, "rules a") || !ASSERT_OK_PTR(b, "rules b"))
		goto out;
	if (!ASSERT_OK(ks_tenv_compile(&te, a), "compile a") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load a"))
		goto out;
	if (!(te.e.tables_flags & BPF_F_MMAPABLE)) {
		test__skip("the tables maps cannot be mapped here");
		goto out;
	}
	/* a, b (the first staged map), a, b: that map retired, the spare */
	if (!ASSERT_OK(ks_tenv_swap(&te, b), "swap to b"))
		goto out;
	first = map_id(te.e.tables_fd);
	if (!ASSERT_OK(ks_tenv_swap(&te, a), "swap to a") ||
	    !ASSERT_OK(ks_tenv_swap(&te, b), "swap to b again") ||
	    !ASSERT_OK(ks_tenv_swap(&te, "- rule: st_reuse_one\n  name: n\n  query: "
				 "'process where process.name == \"ks_reuse\"'\n"), "swap to one rule"))
		goto out;
	ASSERT_TRUE(te.e.spare.m != NULL, "a retired generation kept as the spare");
	ASSERT_EQ(map_id(te.e.tables_fd), first, "one rule in the first staged map");
	check_value(&te);
	check_no_fdr(&te);
out:
	ks_tenv_close(&te);
	free(a);
	free(b);
}
