/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kestrel's consumer of BPF ring buffers (BPF_MAP_TYPE_RINGBUF): the
 * records of libbpf's ring_buffer__poll()/__consume() with a fraction of
 * the ring mapped.
 *
 * libbpf maps a ring whole, its data area twice (the kernel maps the
 * data pages twice in a row so that a record wrapping past the end reads
 * as one piece), and the kernel populates every page at mmap time
 * (remap_vmalloc_range()): a 4 MiB ring is 8 MiB of kload's RSS for as
 * long as it runs. Here a ring is the consumer page (read-write, the
 * one page the kernel lets userspace write), the producer page and a
 * read-only window of the data area, KS_RING_WINDOW bytes by default,
 * mapped again at the record that does not fit in it as consumption
 * advances. The kernel allows a read-only mapping of any page range of
 * the doubled data area (ringbuf_map_mmap_kern(), 6.1 as today's), so a
 * window may run past the data's end into its second mapping and a
 * wrapped record is contiguous in it as in libbpf's.
 *
 * A ring that is behind (more than a quarter of it unread when the
 * consumer reads the producer's position: kload is slower than the
 * kernel fills it) is mapped whole instead, as libbpf maps it, until it
 * has not been behind for two seconds: moving the window costs page table work for every page it
 * maps again (and, on shadow-paging VMs, a fault at the first read of
 * each), which is what limits the drain rate then. Those pages are the
 * kernel's either way, allocated and charged with the map: the whole
 * mapping adds no memory, only its count to VmRSS.
 *
 * Records as libbpf reads them: an 8-byte header whose length is read
 * with acquire semantics, a record still being written (BUSY bit) ends
 * the pass, a discarded one (DISCARD bit) is skipped, records are
 * 8-byte aligned, and the consumer position is stored (release) after
 * each record, so that the producers get its room back at once. Wake-
 * ups: epoll on the map fds (EPOLLIN while a ring holds data).
 */
#ifndef KESTREL_RINGBUF_H
#define KESTREL_RINGBUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * The data window's size: 64 pages, the kernel's wake-up mark of the
 * default ring (a sixteenth of 4 MiB: engine.c), 75 events of 3.5 KiB
 * a move. Each move maps its pages again (an mmap over the old window:
 * the old entries zapped, one entry a page inserted). Above 33 pages
 * the TLB is flushed whole instead of a page at a time (x86's
 * tlb_single_page_flush_ceiling): on the bench's VM a window of 32 pages
 * or fewer costs 20 us a page, 64 pages 1.5 (bench/profile/
 * ringwin-mmap.txt). Not an option: what it trades is kload's RSS
 * against page table work, neither of which a user tunes.
 */
#define KS_RING_WINDOW	(256u << 10)

struct ks_rings;

/* A record (data, size bytes, read-only); < 0 stops the pass, returned. */
typedef int (*ks_ring_fn)(void *ctx, const void *data, size_t size);

struct ks_rings *ks_rings_new(void);
void ks_rings_free(struct ks_rings *rs);
struct ks_ring_opts {
	size_t window;		/* data bytes mapped at a time; 0: KS_RING_WINDOW */
	size_t open_at;		/* backlog that maps the ring whole; 0: a quarter
				 * of the ring, SIZE_MAX: never */
};

/*
 * Read the ring buffer map_fd from its consumer position on, fn called
 * for each record. o (NULL: the defaults): the window, rounded up to
 * pages, at most the ring's size (a record larger than it is read
 * through a window of its size), and the backlog at which the whole
 * ring is mapped instead (back to the window once it has not been
 * behind for 2 s). 0 or -errno.
 */
int ks_rings_add(struct ks_rings *rs, int map_fd, const struct ks_ring_opts *o, ks_ring_fn fn,
		 void *ctx);
/*
 * Wait up to timeout_ms for a ring to hold data, then consume the rings
 * that do: the records read (at most INT_MAX) or -errno (-EINTR
 * included), as ring_buffer__poll().
 */
int ks_rings_poll(struct ks_rings *rs, int timeout_ms);
/* Consume every ring without waiting: as ring_buffer__consume(). */
int ks_rings_consume(struct ks_rings *rs);
struct ks_rings_stats {
	uint64_t moves;		/* data mappings made: windows and whole rings */
	uint64_t opens;		/* a ring behind mapped whole */
	uint64_t closes;	/* ... and back to its window */
};

void ks_rings_stats(const struct ks_rings *rs, struct ks_rings_stats *st);

#endif /* KESTREL_RINGBUF_H */
