// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A generation's tables map, and the switch of ks_gen's slot to it.
 *
 * The map is BPF_F_MMAPABLE when ks_gen's inner template is (every load
 * of this kload): the tables are written straight into the map's pages,
 * by the .kbin reader itself when a reload stages the map first
 * (ks_tables_stage()), else copied in by ks_tables_fill().
 * bpf_map_update_elem() of a multi-MiB value first duplicates it into a
 * temporary kernel buffer, then copies it again into the map
 * (bench/profile/reload-kbin-before.txt: _copy_from_user, a third of a
 * reload).
 *
 * A generation's map stays mapped here, and once retired (no program
 * reads it) it is the spare the next generation is written into: on this
 * kind of VM a new map costs its creation (vmalloc, 10-17 ms for 1,000
 * rules) and then a first touch of each 4 KiB page of its mapping (695
 * pages, 10-15 ms), where the pages of a mapping kept take a memset and
 * a copy (0.2-0.3 ms; bench/profile/kbin5-phases.txt). For that the
 * installed mapping is not made read-only: an mprotect() there and back
 * costs as much as the first touch again. The spare is the one map more
 * that a reload held anyway while it ran (the new generation beside the
 * old); between reloads it is kept instead of freed.
 *
 * The switch is one pointer store in ks_gen's slot, but the syscall that
 * makes it then waits for an RCU grace period (maybe_wait_bpf_programs():
 * programs that may still hold the old inner map have returned), 10-15 ms
 * here. That wait runs on a thread of its own; the store itself is seen
 * from the caller's thread (a lookup of ks_gen gives the id of the inner
 * map in the slot), which goes on as soon as programs get the new tables.
 *
 * Why that is safe: the old generation's map stays referenced by kload's
 * fd until that syscall has returned (ks_gen_retire() closes it only
 * then), so it is neither freed nor reused while a program may read it,
 * whatever the kernel version does with inner maps dropped from a slot;
 * and nothing touches ks_gen again (install, rollback, destroy settle the
 * pending switch first) before the grace period is over.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "engine_int.h"

struct ks_gen_swap {
	pthread_t tid;
	pthread_mutex_t mu;
	int gen_fd, fd;		/* the switch: ks_gen[0] = fd */
	int err;		/* of the update, once done */
	bool done;		/* the update (and its RCU wait) returned */
	int retire_fd;		/* closed once done: the generation before */
};

int ks_tables_map_create(__u32 dfa_bytes, __u32 flags)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ks_tables", sizeof(__u32),
				KS_TABLES_VALUE_SIZE(dfa_bytes), 1,
				&(struct bpf_map_create_opts){ .sz = sizeof(struct bpf_map_create_opts),
							       .map_flags = flags });

	return fd < 0 ? -errno : fd;
}

static void view_drop(struct ks_tables_view *v)
{
	if (v->m)
		munmap(v->m, v->len);
	*v = (struct ks_tables_view){};
}

/*
 * Map fd's pages, followed by private zero pages up to sizeof(struct
 * ks_tables), so a reader may write a struct of any class: what lies
 * past the map's value is never installed (ks_engine_install() refuses
 * tables larger than the class). 0, or -errno.
 */
static int view_map(const struct ks_engine *e, int fd, struct ks_tables_view *v)
{
	size_t page = getpagesize(), size = KS_TABLES_VALUE_SIZE(e->dfa_bytes);
	size_t maplen = (size + page - 1) & ~(page - 1);
	size_t len = sizeof(struct ks_tables) > maplen ? sizeof(struct ks_tables) : maplen;
	void *m, *p;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	p = m == MAP_FAILED ? m : mmap(m, maplen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				       fd, 0);
	if (p == MAP_FAILED) {
		if (m != MAP_FAILED)
			munmap(m, len);
		return -errno;
	}
	*v = (struct ks_tables_view){ .m = p, .len = len };
	return 0;
}

/* Through a mapping of the map: a fresh map is zeros past `used`. */
static int fill_mapped(int fd, const struct ks_tables *t, size_t used, size_t size)
{
	size_t len = (size + getpagesize() - 1) & ~((size_t)getpagesize() - 1);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		return -errno;
	memcpy(m, t, used);
	munmap(m, len);
	return 0;
}

int ks_tables_fill(const struct ks_engine *e, int fd, struct ks_tables *t)
{
	size_t used = KS_TABLES_USED(t), size = KS_TABLES_VALUE_SIZE(e->dfa_bytes);
	__u32 zero = 0;

	if (e->tables_flags & BPF_F_MMAPABLE)
		return fill_mapped(fd, t, used, size);
	/* the cells past the rule set's: zeros in the kernel, whatever t held */
	memset((__u8 *)t + used, 0, size - used);
	return bpf_map_update_elem(fd, &zero, t, 0) ? -errno : 0;
}

/* The spare, its bytes cleared, staged. */
static struct ks_tables *stage_spare(struct ks_engine *e)
{
	/* programs may read it until the switch that retired it has settled */
	ks_gen_settle(e);
	/* a .kbin read writes the prefilter's table past the map (engine_fdr.c) */
	if (e->spare.dirty && KS_TABLES_HAS_FDR(e->spare.m))
		memset(&e->spare.m->fdr, 0, sizeof(e->spare.m->fdr));
	memset(e->spare.m, 0, e->spare.dirty);
	e->staged = e->spare.m;
	e->staged_len = e->spare.len;
	e->staged_fd = e->spare_fd;
	e->spare = (struct ks_tables_view){};
	e->spare_fd = -1;
	return e->staged;
}

/*
 * A new generation's map, mapped where a reader writes the tables in
 * place: a reload read into a heap struct ks_tables, then copied it into
 * the map, faulting in and writing its multi-MiB bytes twice
 * (bench/profile/reload3-*.txt).
 */
struct ks_tables *ks_tables_stage(struct ks_engine *e)
{
	struct ks_tables_view v = {};
	int fd;

	if (e->staged || !(e->tables_flags & BPF_F_MMAPABLE))
		return NULL;
	if (e->spare.m)
		return stage_spare(e);
	fd = ks_tables_map_create(e->dfa_bytes, e->tables_flags);
	if (fd < 0)
		return NULL;
	if (view_map(e, fd, &v)) {
		close(fd);
		return NULL;
	}
	e->staged = v.m;
	e->staged_len = v.len;
	e->staged_fd = fd;
	return e->staged;
}

void ks_tables_unstage(struct ks_engine *e)
{
	if (!e->staged)
		return;
	munmap(e->staged, e->staged_len);
	if (e->staged_fd >= 0)	/* not installed */
		close(e->staged_fd);
	e->staged = NULL;
	e->staged_fd = -1;
}

/* The map t was staged in (ks_tables_stage()), now the caller's; or -1. */
int ks_tables_staged_take(struct ks_engine *e, const struct ks_tables *t)
{
	int fd = e->staged_fd;

	if (!e->staged || t != e->staged)
		return -1;
	e->staged_fd = -1;
	return fd;
}

struct ks_tables_view ks_tables_staged_done(struct ks_engine *e)
{
	struct ks_tables_view v = { .m = e->staged, .len = e->staged_len };

	if (v.m)
		v.dirty = KS_TABLES_USED(v.m);
	e->staged = NULL;
	return v;
}

void ks_tables_retire(struct ks_engine *e, int fd, struct ks_tables_view *v)
{
	if (fd >= 0 && v->m && !e->spare.m) {
		e->spare = *v;
		e->spare_fd = fd;
		*v = (struct ks_tables_view){};
		return;
	}
	view_drop(v);	/* fd holds the map until the wait is over */
	ks_gen_retire(e, fd);
}

void ks_tables_spare_drop(struct ks_engine *e)
{
	view_drop(&e->spare);
	if (e->spare_fd >= 0)
		close(e->spare_fd);
	e->spare_fd = -1;
}

void ks_tables_views_drop(struct ks_engine *e)
{
	ks_tables_spare_drop(e);
	view_drop(&e->cur_view);
	view_drop(&e->prev_view);
}

bool ks_tables_mapped(const struct ks_engine *e, const struct ks_tables *t)
{
	return t && (t == e->cur_view.m || t == e->prev_view.m || t == e->spare.m ||
		     t == e->staged);
}

static void *swap_thread(void *arg)
{
	struct ks_gen_swap *s = arg;
	__u32 zero = 0;
	int err = bpf_map_update_elem(s->gen_fd, &zero, &s->fd, 0) ? -errno : 0;

	pthread_mutex_lock(&s->mu);
	s->err = err;
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	if (s->retire_fd >= 0)
		close(s->retire_fd);
	s->retire_fd = -1;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Until ks_gen's slot holds the map `id`, or the update returned. */
static void wait_store(struct ks_gen_swap *s, __u32 id)
{
	__u32 zero = 0, cur;

	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		if (!bpf_map_lookup_elem(s->gen_fd, &zero, &cur) && cur == id)
			return;
		sched_yield();
	}
}

/*
 * The thread that makes the switch, on this thread's CPU: the caller
 * yields that CPU to it (wait_store()), where a thread placed on the
 * other CPU waited behind whatever ran there, 1-10 ms on a loaded 2-CPU
 * host, the most of a .kbin reload's time in the attach process
 * (bench/profile/reload7-phases.txt). Anywhere if that cannot be asked.
 */
static int swap_start(struct ks_gen_swap *s)
{
	int cpu = sched_getcpu(), err = -1;
	pthread_attr_t a;
	cpu_set_t set;

	if (cpu >= 0 && cpu < CPU_SETSIZE && !pthread_attr_init(&a)) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		err = pthread_attr_setaffinity_np(&a, sizeof(set), &set) ?:
		      pthread_create(&s->tid, &a, swap_thread, s);
		pthread_attr_destroy(&a);
	}
	return err ? pthread_create(&s->tid, NULL, swap_thread, s) : 0;
}

void ks_gen_settle(struct ks_engine *e)
{
	struct ks_gen_swap *s = e->swap;

	if (!s)
		return;
	pthread_join(s->tid, NULL);
	pthread_mutex_destroy(&s->mu);
	free(s);
	e->swap = NULL;
}

int ks_gen_switch(struct ks_engine *e, int fd)
{
	__u32 zero = 0, id = map_id(fd);
	struct ks_gen_swap *s;
	int err;

	ks_gen_settle(e);
	s = calloc(1, sizeof(*s));
	if (!s || !id) {
		/* no thread to wait on: the switch and its wait right here */
		free(s);
		return bpf_map_update_elem(e->gen_fd, &zero, &fd, 0) ? -errno : 0;
	}
	*s = (struct ks_gen_swap){ .gen_fd = e->gen_fd, .fd = fd, .retire_fd = -1 };
	pthread_mutex_init(&s->mu, NULL);
	if (swap_start(s)) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return bpf_map_update_elem(e->gen_fd, &zero, &fd, 0) ? -errno : 0;
	}
	e->swap = s;
	wait_store(s, id);
	if (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
		return 0;
	err = s->err;	/* done before the store was seen: failed, or just fast */
	if (err)
		ks_gen_settle(e);
	return err;
}

void ks_gen_retire(struct ks_engine *e, int fd)
{
	struct ks_gen_swap *s = e->swap;

	if (fd < 0)
		return;
	if (s) {
		pthread_mutex_lock(&s->mu);
		if (!s->done) {
			s->retire_fd = fd;	/* the thread closes it after the wait */
			fd = -1;
		}
		pthread_mutex_unlock(&s->mu);
	}
	if (fd >= 0)
		close(fd);
}
