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
 * The data window's size: 64 pages. Each move of the window maps its
 * pages again (an mmap over the old window, a page table entry per page,
 * the old ones zapped); at 3.5 KiB an event, 256 KiB is 75 events a
 * move, which puts the move's fixed cost below the noise of the drain
 * rate (bench/profile/ringwin-*.txt) while the two rings kload reads
 * keep under 0.6 MiB of its RSS.
 */
#define KS_RING_WINDOW	(256u << 10)

struct ks_rings;

/* A record (data, size bytes, read-only); < 0 stops the pass, returned. */
typedef int (*ks_ring_fn)(void *ctx, const void *data, size_t size);

struct ks_rings *ks_rings_new(void);
void ks_rings_free(struct ks_rings *rs);
/*
 * Read the ring buffer map_fd from its consumer position on, fn called
 * for each record. window: bytes of the data area mapped at a time (0:
 * KS_RING_WINDOW), rounded up to pages, at most the ring's size; a
 * record larger than it is read through a window of its size. 0 or
 * -errno.
 */
int ks_rings_add(struct ks_rings *rs, int map_fd, size_t window, ks_ring_fn fn, void *ctx);
/*
 * Wait up to timeout_ms for a ring to hold data, then consume the rings
 * that do: the records read (at most INT_MAX) or -errno (-EINTR
 * included), as ring_buffer__poll().
 */
int ks_rings_poll(struct ks_rings *rs, int timeout_ms);
/* Consume every ring without waiting: as ring_buffer__consume(). */
int ks_rings_consume(struct ks_rings *rs);
/* Times a data window was mapped (tests, bench). */
uint64_t ks_rings_moves(const struct ks_rings *rs);

#endif /* KESTREL_RINGBUF_H */
