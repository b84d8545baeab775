// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ring buffer consumer with a sliding data window (include/kestrel/
 * ringbuf.h says why and what is kept of libbpf's semantics).
 *
 * The mmap layout of a BPF ring buffer map (kernel/bpf/ringbuf.c):
 *
 *   page 0                 consumer_pos (the only page mappable writable)
 *   page 1                 producer_pos
 *   page 2 ..              data, size bytes
 *   page 2 + size/page ..  the same data pages again
 *
 * The window maps [win_off, win_off + win_len) of the last two, win_off
 * < size: a position is in it when its offset from win_off, modulo
 * size, leaves room for the record before win_len.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "kestrel/log.h"
#include "kestrel/ringbuf.h"

struct ks_ring {
	ks_ring_fn fn;
	void *ctx;
	int map_fd;
	unsigned long mask;		/* data size - 1 (a power of two) */
	unsigned long *consumer_pos;	/* page 0, read-write */
	const unsigned long *producer_pos; /* page 1, read-only */
	const char *win;		/* the data window, read-only; NULL: none */
	size_t win_len;			/* bytes mapped at win */
	size_t win_size;		/* the window's usual size */
	unsigned long win_off;		/* data offset win starts at, < size */
	size_t open_at;			/* backlog that maps the ring whole */
	bool open;			/* behind: the whole ring mapped (ring_adapt) */
	uint64_t behind_ns;		/* when it was last found behind */
};

struct ks_rings {
	struct ks_ring *r;
	struct epoll_event *ev;
	int n;
	int epoll_fd;
	size_t page;
	struct ks_rings_stats st;
};

struct ks_rings *ks_rings_new(void)
{
	struct ks_rings *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->page = sysconf(_SC_PAGESIZE);
	rs->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (rs->epoll_fd < 0) {
		free(rs);
		return NULL;
	}
	return rs;
}

static void window_unmap(struct ks_ring *r)
{
	if (r->win)
		munmap((void *)r->win, r->win_len);
	r->win = NULL;
	r->win_len = 0;
}

static void ring_unmap(struct ks_rings *rs, struct ks_ring *r)
{
	window_unmap(r);
	if (r->consumer_pos)
		munmap(r->consumer_pos, rs->page);
	if (r->producer_pos)
		munmap((void *)r->producer_pos, rs->page);
}

void ks_rings_free(struct ks_rings *rs)
{
	int i;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		ring_unmap(rs, &rs->r[i]);
	close(rs->epoll_fd);
	free(rs->r);
	free(rs->ev);
	free(rs);
}

/*
 * Map [start, start + len) of the doubled data area as the window. The
 * same length keeps its address: MAP_FIXED replaces the old window in
 * one call. A failed MAP_FIXED may have unmapped the old one: it is
 * dropped either way.
 */
static int window_set(struct ks_rings *rs, struct ks_ring *r, unsigned long start, size_t len)
{
	int flags = MAP_SHARED;
	void *at = NULL, *p;
	int err;

	if (r->win && len == r->win_len) {
		at = (void *)r->win;
		flags |= MAP_FIXED;
	} else {
		window_unmap(r);
	}
	p = mmap(at, len, PROT_READ, flags, r->map_fd, (off_t)(2 * rs->page + start));
	if (p == MAP_FAILED) {
		err = -errno;
		window_unmap(r);
		return err;
	}
	r->win = p;
	r->win_len = len;
	r->win_off = start;
	rs->st.moves++;
	return 0;
}

/* The window at the page of data offset off (< size), len bytes from off in it. */
static int window_map(struct ks_rings *rs, struct ks_ring *r, unsigned long off, size_t len)
{
	unsigned long start = off & ~(rs->page - 1);
	size_t need = (off - start + len + rs->page - 1) & ~(rs->page - 1);

	return window_set(rs, r, start, need > r->win_size ? need : r->win_size);
}

/*
 * len bytes at ring position pos, the window moved to pos's page when
 * they are not all in it (a record past its end, or larger than it:
 * the data's double mapping makes a wrapped record one piece). NULL
 * with errno set when the window cannot be mapped.
 */
static const void *ring_at(struct ks_rings *rs, struct ks_ring *r, unsigned long pos, size_t len)
{
	unsigned long off = pos & r->mask;
	unsigned long rel = (off - r->win_off) & r->mask;
	int err;

	if (r->win && rel + len <= r->win_len)
		return r->win + rel;
	err = window_map(rs, r, off, len);
	if (err) {
		errno = -err;
		return NULL;
	}
	return r->win + (off - r->win_off);
}

/*
 * A ring more than open_at behind (a quarter of it by default) when the
 * consumer reads the producer's position is read slower than it fills
 * (the kernel wakes kload at a sixteenth: engine.c). Moving the
 * window costs page table work for every page it maps again, and on
 * shadow-paging VMs (the bench's) a fault at the first read of each,
 * microseconds a page: a 3.5 KiB event's own processing is about ten.
 * So a ring that is behind is mapped whole, as libbpf maps it, and stays
 * so until it has not been behind for KS_RING_CALM_NS; then the window
 * again. The pages are the kernel's either way, allocated and
 * charged with the map: mapping them all adds no memory, only their
 * count to VmRSS (bench/profile/ringwin-*.txt).
 */
#define KS_RING_CALM_NS	(2ull * 1000000000)

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

/*
 * Before a pass from cons to prod (each time the consumer reads the
 * producer's position): the whole ring when behind, the window again
 * when calm. A mapping that fails leaves no window: ring_at() maps the
 * usual one (and the next read of a ring still behind tries again).
 */
static void ring_adapt(struct ks_rings *rs, struct ks_ring *r, unsigned long cons,
		       unsigned long prod)
{
	bool behind = prod - cons > r->open_at;
	uint64_t now;

	if (!behind && !r->open)
		return;
	now = now_ns();
	if (behind) {
		r->behind_ns = now;
		if (!r->open) {
			r->open = !window_set(rs, r, 0, 2 * (r->mask + 1));
			rs->st.opens += r->open;
			pr_debug("kload: ring buffer %d behind by %lu bytes: mapped whole\n",
				 r->map_fd, prod - cons);
		}
		return;
	}
	if (now - r->behind_ns < KS_RING_CALM_NS)
		return;
	r->open = false;
	rs->st.closes++;
	pr_debug("kload: ring buffer %d kept up: back to its window\n", r->map_fd);
	window_map(rs, r, cons & r->mask, BPF_RINGBUF_HDR_SZ);
}

/* A record's room in the ring: header and data, 8-byte aligned. */
static unsigned long record_room(uint32_t len)
{
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return ((unsigned long)len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
}

/*
 * The committed record at pos (header len) to fn unless discarded: its
 * result (1 for a record delivered, 0 discarded, fn's error), or, when
 * the window cannot be mapped, -errno with *left set: the record stays
 * in the ring, read again at the next pass.
 */
static int ring_record(struct ks_rings *rs, struct ks_ring *r, unsigned long pos, uint32_t len,
		       bool *left)
{
	const char *rec;
	int err;

	if (len & BPF_RINGBUF_DISCARD_BIT)
		return 0;
	rec = ring_at(rs, r, pos, record_room(len));
	if (!rec) {
		*left = true;
		return -errno;
	}
	err = r->fn(r->ctx, rec + BPF_RINGBUF_HDR_SZ, len);
	return err < 0 ? err : 1;
}

/*
 * Every committed record up to the producer position, and again while a
 * pass found any (libbpf's loop): the records delivered or < 0. The
 * consumer position is released after each record (before fn's error
 * is returned: that record is consumed, as in libbpf).
 */
static int64_t ring_consume(struct ks_rings *rs, struct ks_ring *r)
{
	unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE), prod;
	const uint32_t *hdr;
	bool more, left = false;
	int64_t cnt = 0;
	uint32_t len;
	int n;

	do {
		more = false;
		prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
		/* under a storm this loop never ends: each round looks again */
		ring_adapt(rs, r, cons, prod);
		while (cons < prod) {
			hdr = ring_at(rs, r, cons, BPF_RINGBUF_HDR_SZ);
			if (!hdr)
				return -errno;
			len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT)
				return cnt;	/* being written: the next pass reads it */
			more = true;
			n = ring_record(rs, r, cons, len, &left);
			if (left)
				return n;
			cons += record_room(len);
			__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
			if (n < 0)
				return n;
			cnt += n;
		}
	} while (more);
	return cnt;
}

static int clamp_count(int64_t n)
{
	return n > INT_MAX ? INT_MAX : (int)n;
}

/*
 * Consume the first cnt rings: all of them in order (ev NULL), or the ones
 * epoll named ready (ev). The first error ends the pass, as libbpf's
 * ring_buffer__consume does, and the count is clamped to an int.
 */
static int consume_rings(struct ks_rings *rs, int cnt,
			 const struct epoll_event *ev)
{
	int64_t n, total = 0;
	int i;

	for (i = 0; i < cnt; i++) {
		n = ring_consume(rs, &rs->r[ev ? ev[i].data.u32 : (uint32_t)i]);
		if (n < 0)
			return (int)n;
		total += n;
	}
	return clamp_count(total);
}

int ks_rings_consume(struct ks_rings *rs)
{
	return consume_rings(rs, rs->n, NULL);
}

int ks_rings_poll(struct ks_rings *rs, int timeout_ms)
{
	int cnt = epoll_wait(rs->epoll_fd, rs->ev, rs->n, timeout_ms);

	if (cnt < 0)
		return -errno;
	return consume_rings(rs, cnt, rs->ev);
}

void ks_rings_stats(const struct ks_rings *rs, struct ks_rings_stats *st)
{
	*st = rs->st;
}

/* The ring's size from the kernel: a ring buffer map's max_entries. */
static int ring_size(int map_fd, unsigned long *size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	*size = info.max_entries;
	return 0;
}

/* The position pages and the window at the consumer's position. */
static int ring_map(struct ks_rings *rs, struct ks_ring *r)
{
	void *p;

	p = mmap(NULL, rs->page, PROT_READ | PROT_WRITE, MAP_SHARED, r->map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->consumer_pos = p;
	p = mmap(NULL, rs->page, PROT_READ, MAP_SHARED, r->map_fd, (off_t)rs->page);
	if (p == MAP_FAILED)
		return -errno;
	r->producer_pos = p;
	return window_map(rs, r, __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE) & r->mask,
			  BPF_RINGBUF_HDR_SZ);
}

/* Room for one more ring and its epoll event. */
static int rings_grow(struct ks_rings *rs)
{
	struct ks_ring *r = realloc(rs->r, (rs->n + 1) * sizeof(*r));
	struct epoll_event *ev;

	if (!r)
		return -ENOMEM;
	rs->r = r;
	ev = realloc(rs->ev, (rs->n + 1) * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	rs->ev = ev;
	return 0;
}

/* The window's and the whole mapping's sizes from o (NULL: defaults). */
static void ring_sizes(struct ks_rings *rs, struct ks_ring *r, const struct ks_ring_opts *o,
		       unsigned long size)
{
	size_t window = o && o->window ? o->window : KS_RING_WINDOW;

	window = (window + rs->page - 1) & ~(rs->page - 1);
	r->win_size = window < size ? window : size;
	r->open_at = o && o->open_at ? o->open_at : size / 4;
}

int ks_rings_add(struct ks_rings *rs, int map_fd, const struct ks_ring_opts *o, ks_ring_fn fn,
		 void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = rs->n };
	struct ks_ring *r;
	unsigned long size = 0;
	int err = ring_size(map_fd, &size) ?: rings_grow(rs);

	if (err)
		return err;
	r = &rs->r[rs->n];
	memset(r, 0, sizeof(*r));
	r->fn = fn;
	r->ctx = ctx;
	r->map_fd = map_fd;
	r->mask = size - 1;
	ring_sizes(rs, r, o, size);
	err = ring_map(rs, r);
	if (!err && epoll_ctl(rs->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev))
		err = -errno;
	if (err) {
		ring_unmap(rs, r);
		return err;
	}
	rs->n++;
	return 0;
}
