// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loading the host programs: only those the rules need, each in an object
 * of its own, several at a time.
 *
 * The verifier runs in the thread that loads a program and libbpf loads
 * an object's programs one after another, and every hook program carries
 * the whole evaluator, so attach time is the sum of the programs'
 * verification. The skeleton is therefore opened once for the maps (no
 * program: engine.c) and once more per host program, each of those
 * reusing every map fd of the first (bpf_map__reuse_fd(), .rodata
 * included, so all programs see one configuration and one hash key); the
 * per-program objects are loaded on up to one thread per CPU. Sharing
 * maps this way is what one object does internally: a program refers to
 * maps by fd, and which object created the fd does not matter.
 *
 * Which programs: those serving an action some rule step can match
 * (ks_tables_hdr.action_mask), which is exactly what each hook tests with
 * ks_tables_want() before building an event; an unloaded hook and a
 * loaded one that filters every event decide the same. A reload whose
 * rules want more loads, attaches and pins the missing programs before
 * the tables switch (ks_engine_need()).
 *
 * Each object's load parses the kernel's BTF (libbpf has no way to share
 * one parse between objects): ks_heap_prime() makes those parses cheap.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kestrel/clock.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel.skel.h"
#include "engine_int.h"

/*
 * The fd a new object reuses for map m: the first object's, or (adopted
 * engine) the pinned one. *owned says whether the caller closes it.
 */
static int ks_map_src_fd(const struct ks_engine *e, const struct bpf_map *m, bool *owned)
{
	const char *name = bpf_map__name(m);
	char path[KS_PIN_PATH_MAX];
	struct bpf_map *src;
	int fd;

	*owned = false;
	if (e->skel) {
		src = bpf_object__find_map_by_name(e->skel->obj, name);
		return src ? bpf_map__fd(src) : -ENOENT;
	}
	if (bpf_map__is_internal(m))
		name = "ks_rodata";
	if (ks_pin_path(path, sizeof(path), e->pin_dir, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	*owned = fd >= 0;
	return fd < 0 ? -errno : fd;
}

/* Does type t name type id (as member, element, target or parameter)? */
static bool ks_btf_refers(const struct btf_type *t, __u32 id)
{
	const struct btf_member *m = btf_members(t);
	const struct btf_param *p = btf_params(t);
	int i;

	if (btf_is_composite(t)) {
		for (i = 0; i < btf_vlen(t); i++)
			if (m[i].type == id)
				return true;
		return false;
	}
	if (btf_is_array(t))
		return btf_array(t)->type == id || btf_array(t)->index_type == id;
	if (btf_is_func_proto(t)) {
		for (i = 0; i < btf_vlen(t); i++)
			if (p[i].type == id)
				return true;
	}
	/* ptr, typedef, modifiers, var, func, tags: the type field; else size */
	return !btf_is_int(t) && !btf_is_enum(t) && !btf_is_enum64(t) && !btf_is_datasec(t) &&
	       !btf_is_fwd(t) && !btf_is_float(t) && t->type == id;
}

/*
 * Global functions take struct ks_tables *, and the verifier sizes such an
 * argument by its BTF type, not by the map value behind it: the type must
 * end where the value does. The object's BTF gets a dfa[] of dfa_bytes and
 * the struct the size of the tables map's value (maps/ks_tables.h). The
 * array type is changed in place when dfa[] is its only user (no copy of
 * the BTF per object), else a new one is added.
 */
int ks_btf_size_tables(struct bpf_object *obj, __u32 dfa_bytes)
{
	struct btf *btf = bpf_object__btf(obj);
	__u32 n, i, users = 0;
	struct btf_array *a;
	struct btf_member *m;
	struct btf_type *t;
	int id, arr;

	id = btf ? btf__find_by_name_kind(btf, "ks_tables", BTF_KIND_STRUCT) : -ENOENT;
	if (id < 0)
		return id;
	t = (struct btf_type *)btf__type_by_id(btf, id);
	m = btf_members(t) + btf_vlen(t) - 1;
	if (strcmp(btf__name_by_offset(btf, m->name_off), "dfa") ||
	    !btf_is_array(btf__type_by_id(btf, m->type)))
		return -EINVAL;	/* dfa[] is last: maps/ks_tables.h */
	arr = m->type;
	n = btf__type_cnt(btf);
	for (i = 1; i < n; i++)
		users += ks_btf_refers(btf__type_by_id(btf, i), arr);
	if (users > 1) {
		a = btf_array(btf__type_by_id(btf, arr));
		arr = btf__add_array(btf, a->index_type, a->type, dfa_bytes / 4);
		if (arr < 0)
			return arr;
		/* the add moved the types: look the struct up again */
		t = (struct btf_type *)btf__type_by_id(btf, id);
		m = btf_members(t) + btf_vlen(t) - 1;
		m->type = arr;
	}
	btf_array((struct btf_type *)btf__type_by_id(btf, arr))->nelems = dfa_bytes / 4;
	t->size = KS_TABLES_VALUE_SIZE(dfa_bytes);
	return 0;
}

static int ks_reuse_maps(const struct ks_engine *e, struct kestrel_bpf *s)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, s->obj) {
		bool owned;
		int fd = ks_map_src_fd(e, m, &owned), err;

		if (fd < 0) {
			/*
			 * Maps that are not pinned: one only XDP uses, and the
			 * per-task cache (bpf/ks_maps.bpf.h), which each set of
			 * programs may keep for itself. A new one serves.
			 */
			if (!strcmp(bpf_map__name(m), "ks_xdp_ifnames") ||
			    !strcmp(bpf_map__name(m), "ks_task_cache"))
				continue;
			pr_warn("kload: no map %s to share with a new program%s\n",
				bpf_map__name(m), e->skel ? "" :
				" (pins of an older kload: run `kload detach` and attach again)");
			return fd;
		}
		err = bpf_map__reuse_fd(m, fd);
		if (owned)
			close(fd);
		if (err)
			return err;
	}
	return 0;
}

/*
 * libbpf parses the kernel's BTF for every object it loads (the LSM probe
 * once more): 5.5 MB on 6.18 read into a fresh buffer and copied into
 * another, 11 MB of new pages per parse. Faulting those in a page at a
 * time was most of a parse (about 60 ms each, 4 per attach, in a VM where
 * a page fault costs microseconds); the parse itself takes a few. So
 * while programs load, blocks that size come from the heap, not from
 * mmap(), every thread uses the one main arena (which malloc_trim() can
 * shrink, unlike a thread arena's top), and the heap is grown once in
 * huge pages populated in one call: each parse reuses them. Afterwards
 * the settings of main() come back and the heap is trimmed.
 */
#define KS_HEAP_PRIME_MAX	(32u << 20)
#define KS_HUGE_PAGE		(2ul << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

void ks_heap_prime(size_t bytes)
{
	uintptr_t a, b;
	char *p;

	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, KS_HEAP_PRIME_MAX);
	mallopt(M_TRIM_THRESHOLD, 2 * KS_HEAP_PRIME_MAX);
	if (bytes > KS_HEAP_PRIME_MAX)	/* glibc's largest mmap threshold */
		bytes = KS_HEAP_PRIME_MAX;
	p = malloc(bytes);
	if (!p)
		return;
	a = ((uintptr_t)p + KS_HUGE_PAGE - 1) & ~(KS_HUGE_PAGE - 1);
	b = ((uintptr_t)p + bytes) & ~(KS_HUGE_PAGE - 1);
	/* no huge pages, or a kernel before 5.14: faults as before */
	if (b > a) {
		madvise((void *)a, b - a, MADV_HUGEPAGE);
		madvise((void *)a, b - a, MADV_POPULATE_WRITE);
	}
	free(p);
}

void ks_heap_release(void)
{
	mallopt(M_ARENA_MAX, 0);	/* glibc's default: 8 per CPU */
	mallopt(M_MMAP_THRESHOLD, KS_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);	/* glibc's default */
	malloc_trim(0);
}

/* One program to load: its object, and what loading it cost. */
struct ks_unit {
	char name[48];
	struct kestrel_bpf *obj;
	int err;
	struct ks_prog_stat st;
};

/* BPF_LOG_STATS prints three short lines; room to spare */
#define KS_STATS_LOG	65536

/* "verification time N usec" of a BPF_LOG_STATS log, 0 when absent */
static __u32 ks_log_verify_us(const char *log)
{
	const char *p = strstr(log, "verification time ");
	unsigned int us = 0;

	if (p)
		sscanf(p, "verification time %u usec", &us);
	return us;
}

static int ks_unit_open(const struct ks_engine *e, struct ks_unit *u, char *log, size_t log_sz)
{
	struct bpf_program *p;
	int err;

	u->obj = kestrel_bpf__open();
	if (!u->obj)
		return -errno;
	bpf_object__for_each_program(p, u->obj->obj) {
		bool on = !strcmp(bpf_program__name(p), u->name);

		bpf_program__set_autoload(p, on);
		if (on && log) {
			bpf_program__set_log_level(p, 4);	/* BPF_LOG_STATS */
			bpf_program__set_log_buf(p, log, log_sz);
		}
	}
	err = ks_reuse_maps(e, u->obj) ?: ks_btf_size_tables(u->obj->obj, e->dfa_bytes);
	if (err) {
		kestrel_bpf__destroy(u->obj);
		u->obj = NULL;
	}
	return err;
}

static void ks_unit_load(const struct ks_engine *e, struct ks_unit *u)
{
	char *log = e->opts.prog_stats ? calloc(1, KS_STATS_LOG) : NULL;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	uint64_t t0 = ks_mono_ns() / 1000;

	snprintf(u->st.name, sizeof(u->st.name), "%s", u->name);
	u->err = ks_unit_open(e, u, log, KS_STATS_LOG);
	if (!u->err)
		u->err = kestrel_bpf__load(u->obj);
	if (u->err && u->obj && log) {
		pr_debug("kload: %s: %s, verifier log: %s\n", u->name, strerror(-u->err), log);
		/* again without our log buffer, so libbpf reports the verifier's */
		kestrel_bpf__destroy(u->obj);
		u->err = ks_unit_open(e, u, NULL, 0);
		if (!u->err)
			u->err = kestrel_bpf__load(u->obj);
	}
	u->st.load_us = ks_mono_ns() / 1000 - t0;
	if (!u->err) {
		u->st.verify_us = log ? ks_log_verify_us(log) : 0;
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(ks_obj_prog(u->obj, u->name)), &info,
					    &len))
			u->st.verified_insns = info.verified_insns;
	}
	free(log);
}

struct ks_pool {
	const struct ks_engine *e;
	struct ks_unit *u;
	int n;
	int next;
};

static void *ks_pool_worker(void *arg)
{
	struct ks_pool *pl = arg;
	int i;

	while ((i = __atomic_fetch_add(&pl->next, 1, __ATOMIC_RELAXED)) < pl->n)
		ks_unit_load(pl->e, &pl->u[i]);
	return NULL;
}

/* Load units on up to one thread per online CPU (this one included). */
static void ks_pool_run(const struct ks_engine *e, struct ks_unit *u, int n)
{
	struct ks_pool pl = { .e = e, .u = u, .n = n };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t tid[8];
	int nt = 0, i;

	if (ncpu < 1)
		ncpu = 1;
	while (nt < (int)(sizeof(tid) / sizeof(tid[0])) && nt + 1 < ncpu && nt + 1 < n &&
	       !pthread_create(&tid[nt], NULL, ks_pool_worker, &pl))
		nt++;
	ks_pool_worker(&pl);
	for (i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
}

/*
 * The BPF object kload embeds (about 0.9 MiB of .rodata) is read while
 * the programs load and not after: libbpf is done with the ELF once
 * loaded. Its pages stay resident in kload's mapping of its own file;
 * dropping them gives the memory back (a later load, at a reload that
 * needs another hook, faults them in again from the page cache).
 */
static void ks_release_elf(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t a, b;
	const void *p;
	size_t sz;

	p = kestrel_bpf__elf_bytes(&sz);
	a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
	b = ((uintptr_t)p + sz) & ~(uintptr_t)(page - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

/* The host programs this mode runs for `actions`, not loaded yet. */
static int ks_units_pick(const struct ks_engine *e, __u32 actions, struct ks_unit *u, int max)
{
	struct kestrel_bpf *cat = kestrel_bpf__open();	/* the catalogue of names */
	struct bpf_program *p;
	int n = 0;

	if (!cat)
		return -errno;
	bpf_object__for_each_program(p, cat->obj) {
		const char *name = bpf_program__name(p);

		if (!(ks_prog_actions(name) & actions) || ks_engine_prog(e, name) ||
		    !ks_prog_wanted(name, e->mode, &e->opts))
			continue;
		if (n == max) {
			n = -E2BIG;
			break;
		}
		snprintf(u[n++].name, sizeof(u->name), "%s", name);
	}
	kestrel_bpf__destroy(cat);
	return n;
}

static void ks_stat_report(struct ks_engine *e, const struct ks_unit *u)
{
	if (e->n_stat < KS_ENGINE_MAX_OBJS)
		e->stat[e->n_stat++] = u->st;
	if (u->st.verify_us)
		pr_info("kload: %s: %u instructions verified in %u ms (loaded in %u ms)\n",
			u->name, u->st.verified_insns, u->st.verify_us / 1000,
			u->st.load_us / 1000);
	else
		pr_info("kload: %s: %u instructions verified, loaded in %u ms\n", u->name,
			u->st.verified_insns, u->st.load_us / 1000);
}

int ks_load_progs(struct ks_engine *e, __u32 actions)
{
	struct ks_unit u[KS_ENGINE_MAX_OBJS] = {};
	uint64_t t0 = ks_mono_ns() / 1000;
	int n, i, err = 0;

	n = ks_units_pick(e, actions, u, KS_ENGINE_MAX_OBJS - e->n_objs);
	if (n <= 0) {
		ks_heap_release();	/* primed by the open, maybe */
		return n;
	}
	/* a parse per thread at a time (ks_heap_prime() caps it) */
	ks_heap_prime((size_t)KS_HEAP_ONE_PARSE * n);
	ks_pool_run(e, u, n);
	for (i = 0; i < n; i++) {
		if (u[i].err && !err) {
			err = u[i].err;
			pr_debug("kload: %s: %s\n", u[i].name, strerror(-err));
		}
		if (u[i].err) {
			kestrel_bpf__destroy(u[i].obj);
			continue;
		}
		e->objs[e->n_objs++] = u[i].obj;
		e->loaded |= ks_prog_actions(u[i].name);
		ks_stat_report(e, &u[i]);
	}
	pr_info("kload: %d program(s) loaded in %llu ms\n", n,
		(unsigned long long)(ks_mono_ns() / 1000 - t0) / 1000);
	/* each load parsed the kernel's BTF (megabytes): give the heap back */
	ks_heap_release();
	ks_release_elf();
	return err;
}

/* Drop what was loaded, attached and pinned since (n_objs, n_links). */
static void ks_engine_trim(struct ks_engine *e, int n_objs, int n_links)
{
	char path[KS_PIN_PATH_MAX];

	while (e->n_links > n_links) {
		e->n_links--;
		if (e->pin_dir[0] &&
		    !ks_pin_path(path, sizeof(path), e->pin_dir, e->link_name[e->n_links]))
			unlink(path);
		bpf_link__destroy(e->links[e->n_links]);
	}
	while (e->n_objs > n_objs)
		kestrel_bpf__destroy(e->objs[--e->n_objs]);
}

int ks_engine_need(struct ks_engine *e, __u32 actions)
{
	int n_objs = e->n_objs, n_links = e->n_links, err;
	struct ks_ctl ctl;

	actions &= ~e->loaded;
	if (!actions || e->opts.replay || e->opts.no_host)
		return 0;
	err = ks_load_progs(e, actions);
	if (!err && e->attached)
		err = ks_attach_from(e, n_objs);
	if (!err && e->pin_dir[0])
		err = ks_pin_links_from(e, n_links);
	if (err) {
		ks_engine_trim(e, n_objs, n_links);
		return err;
	}
	e->loaded |= actions;
	if (e->attached && !ks_ctl_read(e->ctl_fd, &ctl)) {
		ctl.host_hooks = KS_HOOKS_ON | e->loaded;
		ks_ctl_write(e->ctl_fd, &ctl);
	}
	return 0;
}
