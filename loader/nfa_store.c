// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pending-sequence store of the userspace NFA (loader/nfa.c moves
 * through it; loader/pipeline_int.h has the types and the inline part).
 *
 * Pending sequences live in an open-addressing hash table keyed by (rule
 * uid, join key) and on an LRU list. The join key is the whole of every
 * join value (never cut to a buffer) and is compared byte for byte; its
 * slot comes from SipHash-2-4 under a key drawn at random when the
 * pipeline starts (ks_pipeline_new()), so events cannot be chosen to pile
 * into one probe run. A slot holds the hash beside the entry pointer: a
 * probe reads one contiguous run of slots and dereferences only an entry
 * whose hash is equal (bench/profile/nfa-hotpath-before.txt: walking
 * chained buckets, a cache miss per entry, was a quarter of the time).
 * The table is bounded in entries and in bytes (evictions counted by
 * reason). Matched events are kept packed (the header's non-zero words
 * plus the used bytes of each string slot) because a full struct ks_event
 * is 3.4 KiB; a state's
 * events are a chain from the newest back, and each link knows the size
 * of the one it points to, so dropping a pending sequence of one event
 * reads nothing but its entry.
 *
 * Nothing is allocated per event once the NFA has grown to its peak:
 * entries, keys and packed events come from free lists by size class
 * (struct ks_pool) and go back to them; the slot table doubles while the
 * entries grow, in place in address space mapped once for the largest
 * table max_entries allows (slots_double()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pipeline_int.h"

/* ---- free lists ---- */

/* Start a new chunk; what is left of the last one goes to its size's list. */
int ks_store_chunk(struct ks_pool *pl)
{
	size_t size = pl->next_chunk ?: KS_CHUNK_MIN;
	struct ks_chunk *ck = aligned_alloc(size, size);

	if (!ck)
		return -ENOMEM;
	if (size >= KS_CHUNK_HUGE)
		madvise(ck, size, MADV_HUGEPAGE);	/* advice only: no error to handle */
	if (pl->end - pl->bump >= KS_POOL_GRAIN)
		pool_put(pl, pl->bump, pl->end - pl->bump);
	ck->next = pl->chunks;
	ck->size = size;
	pl->chunks = ck;
	pl->bump = (uint8_t *)ck + KS_POOL_GRAIN;	/* the header, rounded to a grain */
	pl->end = (uint8_t *)ck + size;
	if (size < KS_CHUNK_HUGE)
		pl->next_chunk = size * 2;
	return 0;
}


/* Every block goes with its chunk: call once nothing is in use. */
static void pool_drain(struct ks_pool *pl)
{
	struct ks_chunk *ck;

	while ((ck = pl->chunks)) {
		pl->chunks = ck->next;
		free(ck);
	}
	memset(pl, 0, sizeof(*pl));
}

/* ---- packed events ---- */

static const struct {
	uint16_t off;
	uint16_t size;
} ks_slots[] = {
	{ offsetof(struct ks_event, exe), KS_PATH_MAX },
	{ offsetof(struct ks_event, pexe), KS_PATH_MAX },
	{ offsetof(struct ks_event, path), KS_PATH_MAX },
	{ offsetof(struct ks_event, orig), KS_PATH_MAX },
	{ offsetof(struct ks_event, args), KS_ARGS_MAX },
	{ offsetof(struct ks_event, comm), KS_COMM_MAX },
	{ offsetof(struct ks_event, pcomm), KS_COMM_MAX },
	{ offsetof(struct ks_event, iface), KS_IFNAME_MAX },
	{ offsetof(struct ks_event, payload), KS_PAYLOAD_MAX },
};
#define KS_N_SLOTS (sizeof(ks_slots) / sizeof(ks_slots[0]))
#define KS_HDR_BYTES offsetof(struct ks_event, exe)
/*
 * The header (the fields before the string slots) is kept as its first
 * word (ts_ns, where packed_ts() reads it), a mask of the other words that
 * are not zero and those words: most of an event's header is zero (the
 * addresses, leaders, capabilities of a process event, the matches after
 * the first), and every byte kept is a byte written to a cold block.
 */
#define KS_HDR_WORDS (KS_HDR_BYTES / 8)
_Static_assert(KS_HDR_BYTES % 8 == 0 && KS_HDR_WORDS <= 65, "the header's word mask");
_Static_assert(offsetof(struct ks_event, ts_ns) == 0, "ts_ns is the first word");

/* The mask of ev's non-zero header words after the first. */
static uint64_t hdr_mask(const struct ks_event *ev)
{
	const uint8_t *b = (const uint8_t *)ev;
	uint64_t mask = 0, w;
	size_t i;

	for (i = 1; i < KS_HDR_WORDS; i++) {
		memcpy(&w, b + i * 8, 8);
		mask |= (uint64_t)(w != 0) << (i - 1);
	}
	return mask;
}

/*
 * Bytes of each slot that some field refers to (small slots: all of
 * them), in one pass over the fields: a field lies in at most one slot.
 */
static void slots_used(const struct ks_event *ev, uint16_t used[KS_N_SLOTS])
{
	size_t i;
	int f;

	for (i = 0; i < KS_N_SLOTS; i++)
		used[i] = ks_slots[i].size <= KS_COMM_MAX ? ks_slots[i].size : 0;
	for (f = 1; f < KS_F_STR_N; f++) {
		uint32_t o = ev->str[f].off, end = o + ev->str[f].len;

		if (o < KS_HDR_BYTES)	/* unset (0), or nowhere in a slot */
			continue;
		for (i = 0; i < KS_N_SLOTS; i++) {
			uint32_t lo = ks_slots[i].off, hi = lo + ks_slots[i].size;

			if (o < lo || o >= hi)
				continue;
			if (ks_slots[i].size > KS_COMM_MAX && end <= hi && end - lo > used[i])
				used[i] = end - lo;
			break;
		}
	}
}

struct ks_packed *ks_store_pack(struct ks_pool *pl, const struct ks_event *ev)
{
	const uint8_t *b = (const uint8_t *)ev;
	uint64_t mask = hdr_mask(ev), m;
	uint16_t used[KS_N_SLOTS];
	uint32_t len = 16 + 8 * __builtin_popcountll(mask) + sizeof(used);
	struct ks_packed *p;
	uint8_t *w;
	size_t i;

	slots_used(ev, used);
	for (i = 0; i < KS_N_SLOTS; i++)
		len += used[i];
	p = pool_get(pl, packed_size(len));
	if (!p)
		return NULL;
	p->prev = NULL;
	p->prev_len = 0;
	p->len = len;
	p->filters = 0;
	w = p->data;
	memcpy(w, b, 8);
	memcpy(w + 8, &mask, 8);
	w += 16;
	for (m = mask; m; m &= m - 1, w += 8)
		memcpy(w, b + 8 + 8 * __builtin_ctzll(m), 8);
	memcpy(w, used, sizeof(used));
	w += sizeof(used);
	for (i = 0; i < KS_N_SLOTS; i++) {
		memcpy(w, b + ks_slots[i].off, used[i]);
		w += used[i];
	}
	return p;
}

void ks_store_unpack(const struct ks_packed *p, struct ks_event *ev)
{
	const uint8_t *r = p->data;
	uint8_t *b = (uint8_t *)ev;
	uint16_t used[KS_N_SLOTS];
	uint64_t m;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	memcpy(b, r, 8);
	memcpy(&m, r + 8, 8);
	r += 16;
	for (; m; m &= m - 1, r += 8)
		memcpy(b + 8 + 8 * __builtin_ctzll(m), r, 8);
	memcpy(used, r, sizeof(used));
	r += sizeof(used);
	for (i = 0; i < KS_N_SLOTS; i++) {
		memcpy(b + ks_slots[i].off, r, used[i]);
		r += used[i];
	}
}

/* ---- entries ---- */

/* Drop a state's events: the links say each one's size, the newest's is in pd. */
void ks_store_pend_clear(struct ks_pipeline *p, struct ks_pend *pd)
{
	struct ks_packed *pk = pd->last, *prev = NULL;
	uint32_t len = pd->last_len, prev_len = 0, i;

	for (i = 0; i < pd->n; i++) {
		if (i + 1 < pd->n) {
			prev = pk->prev;
			prev_len = pk->prev_len;
		}
		p->st.bytes -= cost(packed_size(len));
		pool_put(&p->pool, pk, packed_size(len));
		pk = prev;
		len = prev_len;
	}
	memset(pd, 0, sizeof(*pd));
}


/* Bytes of an entry's key and states, in its slot or out of line. */
static size_t entry_data_size(uint32_t key_len, uint32_t n_states)
{
	return key_room(key_len) + n_states * sizeof(struct ks_pend);
}

/* What an entry costs against max_bytes: as when the key and states were blocks of their own. */
static uint64_t entry_cost(uint32_t key_len, uint32_t n_states)
{
	return cost(offsetof(struct ks_entry, data)) + cost(key_len) +
	       cost(n_states * sizeof(struct ks_pend));
}

/* ---- the table (linear probing, no tombstones) ---- */

/* Slot i now holds the entry that was elsewhere: its LRU neighbours follow it. */
static void slot_relink(struct ks_pipeline *p, uint32_t i)
{
	struct ks_entry *e = &p->slots[i];

	if (e->prev != KS_NONE)
		p->slots[e->prev].next = i;
	else
		p->lru_head = i;
	if (e->next != KS_NONE)
		p->slots[e->next].prev = i;
	else
		p->lru_tail = i;
}

/*
 * Empty slot i and close the gap: an entry further along the run moves
 * back into it unless its home slot lies between the gap and itself, so
 * every entry stays reachable by probing from its home without tombstones.
 */
static void slot_remove(struct ks_pipeline *p, size_t i)
{
	size_t m = p->n_slots - 1, j = i;

	for (;;) {
		j = (j + 1) & m;
		if (!p->slots[j].hash)
			break;
		if (((j - p->slots[j].hash) & m) >= ((j - i) & m)) {
			p->slots[i] = p->slots[j];
			slot_relink(p, i);
			i = j;
		}
	}
	memset(&p->slots[i], 0, sizeof(p->slots[i]));
}

/* The first empty slot from h's home in s[n] (never full: at most 3/4 used). */
static uint32_t slot_empty(const struct ks_entry *s, size_t n, uint64_t h)
{
	size_t i = h & (n - 1);

	while (s[i].hash)
		i = (i + 1) & (n - 1);
	return i;
}

/* n zeroed slots; a table of 2 MiB or more on transparent huge pages (see ks_pool). */
static struct ks_entry *slots_alloc(size_t n)
{
	size_t bytes = n * sizeof(struct ks_entry);
	void *s;

	s = aligned_alloc(bytes < KS_CHUNK_HUGE ? KS_ENTRY_SIZE : KS_CHUNK_HUGE, bytes);
	if (!s)
		return NULL;
	if (bytes >= KS_CHUNK_HUGE)
		madvise(s, bytes, MADV_HUGEPAGE);	/* advice only: no error to handle */
	return memset(s, 0, bytes);
}

/*
 * Room for max_slots mapped once (not touched: pages come as the table
 * reaches them), the table moved to its start. A table that doubles in
 * it takes no fresh pages for the half it had (bench/profile/
 * fill-main.txt: clear_page was half of the time of the first 100,000
 * sequences, two thirds of it for the doublings' new tables).
 */
static int slots_reserve(struct ks_pipeline *p)
{
	size_t bytes = p->max_slots * sizeof(struct ks_entry);
	void *m;

	bytes = (bytes + KS_CHUNK_HUGE - 1) & ~(size_t)(KS_CHUNK_HUGE - 1);
	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	memcpy(m, p->slots, p->n_slots * sizeof(struct ks_entry));
	free(p->slots);
	p->slots = m;
	p->slots_res = bytes;
	return 0;
}

/*
 * The entries of the table of n slots, doubled in place, where their
 * hashes put them: each is copied to the upper half too and keeps the
 * copy as far from its new home as it was from its old one (less than
 * n); the gaps the other copies leave are closed by moving each entry to
 * the first free slot from its home, in slot order from after a slot
 * that was empty, which no probe run crosses. was holds the old slot,
 * for the LRU links (map: n entries).
 */
static void slots_double(struct ks_entry *s, size_t n, uint32_t *map)
{
	size_t m = 2 * n - 1, q = 0, c, e, k;

	while (s[q].hash)	/* at most 3/4 full: there is one */
		q++;
	for (c = 0; c < n; c++)
		s[c].was = c;
	memcpy(s + n, s, n * sizeof(*s));
	for (c = 0; c <= m; c++)
		if (s[c].hash && ((c - s[c].hash) & m) >= n)
			memset(&s[c], 0, sizeof(*s));
	for (k = 1; k <= m + 1; k++) {
		c = (q + k) & m;
		if (!s[c].hash)
			continue;
		for (e = s[c].hash & m; s[e].hash && e != c; e = (e + 1) & m)
			;
		if (e != c) {
			s[e] = s[c];
			memset(&s[c], 0, sizeof(*s));
		}
	}
	for (c = 0; c <= m; c++)
		if (s[c].hash)
			map[s[c].was] = c;
	for (c = 0; c <= m; c++) {
		if (!s[c].hash)
			continue;
		s[c].prev = s[c].prev == KS_NONE ? KS_NONE : map[s[c].prev];
		s[c].next = s[c].next == KS_NONE ? KS_NONE : map[s[c].next];
	}
}

/* Double the table in the room mapped for it; 0 or -ENOMEM. */
static int slots_grow_mapped(struct ks_pipeline *p)
{
	size_t n = p->n_slots;
	uint32_t *map;

	map = malloc(n * sizeof(*map));
	if (!map)
		return -ENOMEM;
	if (2 * n * sizeof(struct ks_entry) >= KS_CHUNK_HUGE)
		madvise(p->slots, 2 * n * sizeof(struct ks_entry), MADV_HUGEPAGE);	/* advice */
	slots_double(p->slots, n, map);
	if (p->lru_head != KS_NONE) {
		p->lru_head = map[p->lru_head];
		p->lru_tail = map[p->lru_tail];
	}
	free(map);
	p->n_slots = 2 * n;
	return 0;
}

/*
 * Double the table (up to what max_entries needs): in place in room
 * mapped for max_slots, or (no such room) into a new table, the entries
 * over in LRU order, so their new links are the order they are placed in.
 */
static int slots_grow(struct ks_pipeline *p)
{
	size_t n = p->n_slots * 2;
	uint32_t i, j, last = KS_NONE;
	struct ks_entry *s;

	if (p->n_slots >= p->max_slots)
		return -ENOSPC;
	if (p->slots_res || !slots_reserve(p))
		return slots_grow_mapped(p);
	s = slots_alloc(n);
	if (!s)
		return -ENOMEM;
	for (i = p->lru_head; i != KS_NONE; i = p->slots[i].next) {
		j = slot_empty(s, n, p->slots[i].hash);
		s[j] = p->slots[i];
		s[j].prev = last;
		s[j].next = KS_NONE;
		if (last != KS_NONE)
			s[last].next = j;
		else
			p->lru_head = j;
		last = j;
	}
	p->lru_tail = last;
	free(p->slots);
	p->slots = s;
	p->n_slots = n;
	return 0;
}

void ks_store_entry_free(struct ks_pipeline *p, struct ks_entry *e)
{
	struct ks_pend *st = entry_states(e);
	uint32_t k;

	lru_unlink(p, e);
	for (k = 0; k < e->n_states; k++)
		ks_store_pend_clear(p, &st[k]);
	p->st.bytes -= entry_cost(e->key_len, e->n_states);
	if (e->ext)
		pool_put(&p->pool, e->ext, entry_data_size(e->key_len, e->n_states));
	slot_remove(p, slot_index(p, e));
	p->st.pending--;
}

/* Room for the key and states of a new entry at slot i: in it, or a block. */
static int entry_place(struct ks_pipeline *p, struct ks_entry *e, uint32_t len,
		       uint32_t n_states)
{
	size_t n = entry_data_size(len, n_states);

	e->ext = NULL;
	if (n <= sizeof(e->data))
		return 0;
	e->ext = pool_get(&p->pool, n);
	if (!e->ext)
		return -ENOMEM;
	memset(e->ext, 0, n);
	return 0;
}

struct ks_entry *ks_store_entry_new(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				    const uint8_t *key, uint32_t len, uint32_t n_states,
				    uint64_t maxspan)
{
	struct ks_entry *e;

	if (p->st.pending >= p->o.max_entries && p->lru_tail != KS_NONE) {
		ks_store_entry_free(p, &p->slots[p->lru_tail]);	/* the least recently used */
		p->st.evictions++;
	}
	/* at most 3/4 of the slots used: probe runs stay short */
	if ((p->st.pending + 1) * 4 > p->n_slots * 3 && slots_grow(p))
		return NULL;
	e = &p->slots[slot_empty(p->slots, p->n_slots, h)];
	if (entry_place(p, e, len, n_states))
		return NULL;
	memcpy(entry_data(e), key, len);
	e->key_len = len;
	e->rule_uid = uid;
	e->hash = h;
	e->n_states = n_states;
	e->maxspan = maxspan;
	lru_push(p, e);
	p->st.pending++;
	p->st.bytes += entry_cost(len, n_states);
	return e;
}

/*
 * In slot order: a slot whose entry is freed is looked at again, since
 * the next entry of its run may have moved into it; one from the start
 * of a run that wraps may move to the end and be seen twice.
 */
void ks_store_sweep(struct ks_pipeline *p,
		    bool (*drop)(struct ks_pipeline *p, struct ks_entry *e, void *arg), void *arg)
{
	size_t i = 0;

	while (i < p->n_slots) {
		if (p->slots[i].hash && drop(p, &p->slots[i], arg))
			ks_store_entry_free(p, &p->slots[i]);
		else
			i++;
	}
}

/*
 * The table starts small and doubles as entries come, up to the size
 * where max_entries fill 3/4 of it; max_entries is cut to what an
 * addressable table can hold.
 */
static void slots_limit(struct ks_pipeline *p)
{
	size_t n = KS_SLOTS_MIN;

	while (n / 4 * 3 < p->o.max_entries && n < (SIZE_MAX >> 2) / sizeof(struct ks_entry) &&
	       n < (size_t)1 << 31)
		n <<= 1;
	if (p->o.max_entries > n / 4 * 3)
		p->o.max_entries = n / 4 * 3;
	p->max_slots = n;
}

int ks_store_init(struct ks_pipeline *p)
{
	slots_limit(p);
	p->n_slots = KS_SLOTS_MIN;
	p->lru_head = p->lru_tail = KS_NONE;
	p->slots = slots_alloc(p->n_slots);
	return p->slots ? 0 : -ENOMEM;
}

void ks_store_fini(struct ks_pipeline *p)
{
	while (p->lru_head != KS_NONE)
		ks_store_entry_free(p, &p->slots[p->lru_head]);
	pool_drain(&p->pool);
	if (p->slots_res)
		munmap(p->slots, p->slots_res);
	else
		free(p->slots);
	p->slots = NULL;
}
