// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The payload prefilter's table of a generation (maps/ks_fdr.h): a slot
 * of ks_fdr_gen, not the tables value (issue 12: in the value, every
 * install copied and cleared its 513 KiB, and every tables map held it,
 * whether or not the rules had a payload literal). A rule set without a
 * flagged automaton touches nothing here; ks_fdr_gen stays empty until
 * one has, and then holds one map per slot used (two for reloads that
 * alternate, a third only while a rollback target is kept beside them).
 *
 * Which slot: one whose table is neither the current generation's nor
 * the rollback target's (each slot says whose it is). Written only after
 * the pending switch has settled: then no program reads any generation
 * but the current one, so no program reads the slot while it changes.
 * The tables name the slot (ks_tables_hdr.fdr_slot) and the kernel takes
 * the table only when the slot names the tables' generation, so an event
 * never pairs one generation's DFA with another's prefilter.
 *
 * The slots' maps are mapped here and written in place, like the tables
 * (engine_swap.c): an update of ks_fdr_gen itself waits for an RCU grace
 * period, so it is made once per slot, when its map is created.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel.skel.h"
#include "engine_int.h"

#define KS_FDR_MAP_LEN	((sizeof(struct ks_fdr_slot) + 4095) & ~(size_t)4095)

/* ks_fdr_gen: the skeleton's, or (adopted engine) the pinned one, opened once. */
static int fdr_gen_fd(struct ks_engine *e)
{
	char path[KS_PIN_PATH_MAX];

	if (e->skel)
		return bpf_map__fd(e->skel->maps.ks_fdr_gen);
	if (e->fdr_gen_fd < 0 && !ks_pin_path(path, sizeof(path), e->pin_dir, "ks_fdr_gen"))
		e->fdr_gen_fd = bpf_obj_get(path);
	return e->fdr_gen_fd;
}

/* Slot s's map, mapped into e->fdr_map[s]: the one in ks_fdr_gen, else
 * (create) a new one put there. 0, -ENOENT (none, !create) or -errno. */
static int slot_open(struct ks_engine *e, __u32 s, bool create)
{
	int gen = fdr_gen_fd(e), fd = -1, err;
	__u32 id = 0;
	void *m;

	if (e->fdr_map[s])
		return 0;
	if (gen < 0)
		return -ENOENT;
	if (!bpf_map_lookup_elem(gen, &s, &id) && id)
		fd = bpf_map_get_fd_by_id(id);
	else if (create)
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ks_fdr", sizeof(__u32),
				    sizeof(struct ks_fdr_slot), 1,
				    &(struct bpf_map_create_opts){
					    .sz = sizeof(struct bpf_map_create_opts),
					    .map_flags = BPF_F_MMAPABLE });
	else
		return -ENOENT;
	if (fd < 0)
		return -errno;
	m = mmap(NULL, KS_FDR_MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = m == MAP_FAILED ? -errno : 0;
	/* a new map: into its slot (an RCU wait, once per slot) */
	if (!err && !id && bpf_map_update_elem(gen, &s, &fd, 0))
		err = -errno;
	if (err) {
		if (m != MAP_FAILED)
			munmap(m, KS_FDR_MAP_LEN);
		close(fd);
		return err;
	}
	e->fdr_fd[s] = fd;
	e->fdr_map[s] = m;
	return 0;
}

/* May slot s be written: does no generation a program may run hold it? */
static bool slot_free(const struct ks_engine *e, __u32 s)
{
	__u32 g = e->fdr_map[s] ? e->fdr_map[s]->generation : 0;

	if (!e->fdr_map[s])
		return true;
	return g != e->generation && (e->prev_tables_fd < 0 || g != e->prev_generation);
}

/* A free slot, one with a map first (no new map, no RCU wait); or -1. */
static int slot_pick(struct ks_engine *e)
{
	int s, none = -1;

	for (s = 0; s < KS_FDR_SLOTS; s++) {
		slot_open(e, s, false);
		if (e->fdr_map[s] && slot_free(e, s))
			return s;
		if (!e->fdr_map[s] && none < 0)
			none = s;
	}
	return none;
}

int ks_fdr_install(struct ks_engine *e, struct ks_tables *t, __u32 generation)
{
	struct ks_fdr_slot *m;
	int s, err;

	t->hdr.fdr_slot = 0;
	if (!KS_TABLES_HAS_FDR(t))
		return 0;
	/* programs read no generation but the current one from here on */
	ks_gen_settle(e);
	s = slot_pick(e);
	err = s < 0 ? -ENOSPC : slot_open(e, s, true);
	if (err) {
		pr_debug("ks_fdr_install: no slot for the prefilter: %s\n", strerror(-err));
		return err;
	}
	m = e->fdr_map[s];
	m->generation = 0;
	m->pad = 0;	/* read as the lanes before the first mask (maps/ks_fdr.h) */
	memcpy(&m->fdr, &t->fdr, sizeof(m->fdr));
	__atomic_store_n(&m->generation, generation, __ATOMIC_RELEASE);
	t->hdr.fdr_slot = s;
	return 0;
}

void ks_fdr_drop(struct ks_engine *e)
{
	int s;

	for (s = 0; s < KS_FDR_SLOTS; s++) {
		if (e->fdr_map[s])
			munmap(e->fdr_map[s], KS_FDR_MAP_LEN);
		if (e->fdr_fd[s] >= 0)
			close(e->fdr_fd[s]);
		e->fdr_map[s] = NULL;
		e->fdr_fd[s] = -1;
	}
	if (e->fdr_gen_fd >= 0)
		close(e->fdr_gen_fd);
	e->fdr_gen_fd = -1;
}
