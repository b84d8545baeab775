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
 * reason). Matched events are kept packed (header plus the used bytes of
 * each string slot) because a full struct ks_event is 3.4 KiB; a state's
 * events are a chain from the newest back, and each link knows the size
 * of the one it points to, so dropping a pending sequence of one event
 * reads nothing but its entry.
 *
 * Nothing is allocated per event once the NFA has grown to its peak:
 * entries, keys and packed events come from free lists by size class
 * (struct ks_pool) and go back to them; the slot table doubles while the
 * entries grow.
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
	uint16_t used[KS_N_SLOTS];
	uint32_t len = KS_HDR_BYTES + sizeof(used);
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
	memcpy(w, ev, KS_HDR_BYTES);
	w += KS_HDR_BYTES;
	memcpy(w, used, sizeof(used));
	w += sizeof(used);
	for (i = 0; i < KS_N_SLOTS; i++) {
		memcpy(w, (const uint8_t *)ev + ks_slots[i].off, used[i]);
		w += used[i];
	}
	return p;
}

void ks_store_unpack(const struct ks_packed *p, struct ks_event *ev)
{
	const uint8_t *r = p->data;
	uint16_t used[KS_N_SLOTS];
	size_t i;

	memset(ev, 0, sizeof(*ev));
	memcpy(ev, r, KS_HDR_BYTES);
	r += KS_HDR_BYTES;
	memcpy(used, r, sizeof(used));
	r += sizeof(used);
	for (i = 0; i < KS_N_SLOTS; i++) {
		memcpy((uint8_t *)ev + ks_slots[i].off, r, used[i]);
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


/* An entry, its key and its states are one block: one cache miss on a lookup. */
static size_t entry_size(uint32_t key_len, uint32_t n_states)
{
	return sizeof(struct ks_entry) + key_room(key_len) + n_states * sizeof(struct ks_pend);
}

static uint64_t entry_cost(uint32_t key_len, uint32_t n_states)
{
	return cost(sizeof(struct ks_entry)) + cost(key_len) +
	       cost(n_states * sizeof(struct ks_pend));
}

/* ---- the slot table (linear probing, no tombstones) ---- */

/* The slot holding e. */
static size_t slot_of(const struct ks_pipeline *p, const struct ks_entry *e)
{
	size_t m = p->n_slots - 1, i = e->hash & m;

	while (p->slots[i].e != e)
		i = (i + 1) & m;
	return i;
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
			i = j;
		}
	}
	p->slots[i] = (struct ks_slot){ 0 };
}

/* The first empty slot from h's home in s[n] (never full: at most 3/4 used). */
static struct ks_slot *slot_empty(struct ks_slot *s, size_t n, uint64_t h)
{
	size_t i = h & (n - 1);

	while (s[i].hash)
		i = (i + 1) & (n - 1);
	return &s[i];
}

/* n zeroed slots; a table of 2 MiB or more on transparent huge pages (see ks_pool). */
static struct ks_slot *slots_alloc(size_t n)
{
	size_t bytes = n * sizeof(struct ks_slot);
	void *s;

	if (bytes < KS_CHUNK_HUGE)
		return calloc(n, sizeof(struct ks_slot));
	s = aligned_alloc(KS_CHUNK_HUGE, bytes);	/* n is a power of two */
	if (!s)
		return NULL;
	madvise(s, bytes, MADV_HUGEPAGE);
	return memset(s, 0, bytes);
}

/* Double the table (up to what max_entries needs). */
static int slots_grow(struct ks_pipeline *p)
{
	size_t n = p->n_slots * 2, i;
	struct ks_slot *s;

	if (p->n_slots >= p->max_slots)
		return -ENOSPC;
	s = slots_alloc(n);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < p->n_slots; i++)
		if (p->slots[i].hash)
			*slot_empty(s, n, p->slots[i].hash) = p->slots[i];
	free(p->slots);
	p->slots = s;
	p->n_slots = n;
	return 0;
}

void ks_store_entry_free(struct ks_pipeline *p, struct ks_entry *e)
{
	struct ks_pend *st = entry_states(e);
	uint32_t k;

	slot_remove(p, slot_of(p, e));
	lru_unlink(p, e);
	for (k = 0; k < e->n_states; k++)
		ks_store_pend_clear(p, &st[k]);
	p->st.bytes -= entry_cost(e->key_len, e->n_states);
	pool_put(&p->pool, e, entry_size(e->key_len, e->n_states));
	p->st.pending--;
}

struct ks_entry *ks_store_entry_new(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				    const uint8_t *key, uint32_t len, uint32_t n_states,
				    uint64_t maxspan)
{
	struct ks_entry *e;

	if (p->st.pending >= p->o.max_entries && p->lru_tail) {
		ks_store_entry_free(p, p->lru_tail);	/* the least recently used */
		p->st.evictions++;
	}
	/* at most 3/4 of the slots used: probe runs stay short */
	if ((p->st.pending + 1) * 4 > p->n_slots * 3 && slots_grow(p))
		return NULL;
	e = pool_get(&p->pool, entry_size(len, n_states));
	if (!e)
		return NULL;
	memset(e, 0, entry_size(len, n_states));
	memcpy(e->key, key, len);
	e->key_len = len;
	e->rule_uid = uid;
	e->hash = h;
	e->n_states = n_states;
	e->maxspan = maxspan;
	*slot_empty(p->slots, p->n_slots, h) = (struct ks_slot){ .hash = h, .e = e };
	lru_push(p, e);
	p->st.pending++;
	p->st.bytes += entry_cost(len, n_states);
	return e;
}

/*
 * The table starts small and doubles as entries come, up to the size
 * where max_entries fill 3/4 of it; max_entries is cut to what an
 * addressable table can hold.
 */
static void slots_limit(struct ks_pipeline *p)
{
	size_t n = KS_SLOTS_MIN;

	while (n / 4 * 3 < p->o.max_entries && n < (SIZE_MAX >> 2) / sizeof(struct ks_slot))
		n <<= 1;
	if (p->o.max_entries > n / 4 * 3)
		p->o.max_entries = n / 4 * 3;
	p->max_slots = n;
}

int ks_store_init(struct ks_pipeline *p)
{
	slots_limit(p);
	p->n_slots = KS_SLOTS_MIN;
	p->slots = calloc(p->n_slots, sizeof(*p->slots));
	return p->slots ? 0 : -ENOMEM;
}

void ks_store_fini(struct ks_pipeline *p)
{
	while (p->lru_head)
		ks_store_entry_free(p, p->lru_head);
	pool_drain(&p->pool);
	free(p->slots);
	p->slots = NULL;
}
