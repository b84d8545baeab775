// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Userspace half of detection: decide what the kernel left unknown, run
 * sequences through the NFA, write alerts. See include/kestrel/pipeline.h.
 *
 * Pending sequences live in an open-addressing hash table keyed by (rule
 * uid, join key) and on an LRU list. The join key is the whole of every
 * join value (never cut to a buffer) and is compared byte for byte; its
 * slot comes from SipHash-2-4 under a key drawn at random when the
 * pipeline starts, so events cannot be chosen to pile into one probe run.
 * A slot holds the hash beside the entry pointer: a probe reads one
 * contiguous run of slots and dereferences only an entry whose hash is
 * equal (bench/profile/nfa-hotpath-before.txt: walking chained buckets,
 * a cache miss per entry, was a quarter of the time). The table is
 * bounded in entries and in bytes (evictions counted by reason), and
 * ks_pipeline_tick() expires sequences past their maxspan even when no
 * new event arrives. Matched events are kept packed (header plus the used
 * bytes of each string slot) because a full struct ks_event is 3.4 KiB;
 * a state's events are a chain from the newest back, and each link knows
 * the size of the one it points to, so dropping a pending sequence of one
 * event reads nothing but its entry.
 *
 * Nothing is allocated per event once the NFA has grown to its peak:
 * entries, keys and packed events come from free lists by size class
 * (struct ks_pool) and go back to them; the slot array doubles while the
 * entries grow; an alert's events are unpacked into a scratch array kept
 * in the pipeline.
 *
 * Why one file of some 1,200 lines: the free lists, packed events, slot
 * table and sequence steps are all on the per-event path of
 * ks_pipeline_event() and share struct ks_pipeline; kept static in one
 * translation unit, the compiler inlines them into that path (the build
 * has no LTO). Each part has its own section below.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "kestrel/json.h"
#include "kestrel/names.h"
#include "kestrel/pipeline.h"
#include "kestrel/tablewalk.h"
#include "../maps/ks_siphash.h"

#define KS_GENS		2
#define KS_JOIN_TEXT	512	/* a join value as kestrel.join prints it */
/*
 * The longest join value: every byte a kernel field can have (a string
 * slot cannot reach past the event), or of a userspace field (user.name,
 * process.working_directory) what kload reads live, KS_ECS_UBUF at most.
 */
#define KS_JOIN_VAL_MAX	(sizeof(struct ks_event) > KS_ECS_UBUF ? sizeof(struct ks_event) : \
			 KS_ECS_UBUF)
/* The longest join key: per field a presence byte, a length and the value. */
#define KS_JOIN_KEY_MAX	(KS_MAX_JOIN * (1 + 4 + KS_JOIN_VAL_MAX))
/* What malloc adds to each allocation, counted against max_bytes. */
#define KS_MALLOC_OVERHEAD	16
/* Events of one alert: a sequence has at most 255 steps (ks_rule.n_steps). */
#define KS_MAX_SEQ_EVENTS	256

struct ks_gen {
	struct ks_ruleset *rs;
	struct ks_tables *t;
	uint64_t *alerts;	/* per rule */
};

/* One matched event, packed; a link in its state's chain. */
struct ks_packed {
	struct ks_packed *prev;	/* the sequence's event before this one */
	uint32_t prev_len;	/* prev->len: freed without reading prev */
	uint32_t len;		/* bytes of data */
	uint32_t filters;	/* a sample's filters it is kept for (bit k: filter k) */
	uint8_t data[];
};

struct ks_pend {
	uint64_t start;		/* first event's time; 0 = empty */
	struct ks_packed *last;	/* the newest of the k matched events of state k */
	uint32_t last_len;	/* last->len */
	uint32_t n;
};

/* Filters of sample rules that one event matched, gathered over its hits. */
struct ks_sample_hits {
	uint32_t n;
	struct {
		uint16_t step;	/* one of the rule's steps: its join fields */
		uint16_t mask;	/* bit k: filter k */
	} hit[KS_MAX_STEPS];
};

/* The fields a probe compares come first; then the key, then the states. */
struct ks_entry {
	uint64_t hash;
	uint32_t rule_uid;
	uint32_t key_len;
	uint32_t n_states;
	uint64_t maxspan;
	struct ks_entry *prev, *next;	/* LRU: head = most recent */
	uint8_t key[];		/* key_len bytes, then the states (entry_states()) */
};

/* A table slot: hash 0 = empty (entry hashes are never 0, see slot_hash()). */
struct ks_slot {
	uint64_t hash;
	struct ks_entry *e;
};

#define KS_SLOTS_MIN	1024

/*
 * Free lists by size class: KS_POOL_GRAIN-byte steps up to KS_POOL_MAX.
 * A list that is empty is refilled from chunks of 64 KiB doubling up to
 * 2 MiB, and 2 MiB chunks ask for transparent huge pages: 100,000 pending
 * sequences spread over some 70 MiB, and with 4 KiB pages nearly every
 * lookup also missed the TLB.
 */
#define KS_POOL_GRAIN	16
#define KS_POOL_MAX	8192
#define KS_POOL_CLASSES	(KS_POOL_MAX / KS_POOL_GRAIN)
#define KS_CHUNK_MIN	(64u << 10)
#define KS_CHUNK_HUGE	(2u << 20)

/*
 * Under AddressSanitizer every block is its own malloc, freed when put
 * back: blocks carved from a chunk and reused from a list would hide an
 * overflow into the next block or a use after release.
 */
#if defined(__SANITIZE_ADDRESS__)
#define KS_POOL_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KS_POOL_ASAN	1
#endif
#endif
#ifndef KS_POOL_ASAN
#define KS_POOL_ASAN	0
#endif

struct ks_chunk {
	struct ks_chunk *next;
	size_t size;
};

struct ks_pool {
	void *free[KS_POOL_CLASSES + 1];	/* [c]: blocks of c grains */
	struct ks_chunk *chunks;
	uint8_t *bump, *end;	/* the newest chunk's part not handed out yet */
	size_t next_chunk;	/* size of the next chunk, 0 = KS_CHUNK_MIN */
};

struct ks_pipeline {
	struct ks_pipeline_opts o;
	struct ks_pool pool;
	struct ks_event *scratch;	/* an alert's earlier events, unpacked */
	uint32_t n_scratch;
	struct ks_ecs_ctx *ecs;
	struct ks_interp_ctx ictx;	/* container.id for the interpreter */
	struct ks_gen gen[KS_GENS];	/* [0] current, [1] previous */
	struct ks_slot *slots;	/* a power of two, at most 3/4 full */
	size_t n_slots;
	size_t max_slots;	/* what max_entries needs: the table grows no further */
	struct ks_entry *lru_head, *lru_tail;
	struct ks_pipeline_stats st;
	uint64_t sip_key[2];	/* bucket hash key, random per pipeline */
	/* the join key seq_find() built last */
	uint8_t join_key[KS_JOIN_KEY_MAX];
	uint32_t join_len;
	uint64_t join_hash;
	struct ks_sample_hits samples;	/* ks_pipeline_event()'s, per event */
};

/* ---- free lists ---- */

static size_t pool_class(size_t n)
{
	return (n + KS_POOL_GRAIN - 1) / KS_POOL_GRAIN;
}

static void pool_put(struct ks_pool *pl, void *b, size_t n);

/* Start a new chunk; what is left of the last one goes to its size's list. */
static int pool_chunk(struct ks_pool *pl)
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

/* A block of at least n bytes; what pool_put(n) gave back first. */
static void *pool_get(struct ks_pool *pl, size_t n)
{
	size_t c = pool_class(n ?: 1);
	void *b;

	if (c > KS_POOL_CLASSES || KS_POOL_ASAN)
		return malloc(n);
	b = pl->free[c];
	if (b) {
		pl->free[c] = *(void **)b;
		return b;
	}
	if ((size_t)(pl->end - pl->bump) < c * KS_POOL_GRAIN && pool_chunk(pl))
		return NULL;
	b = pl->bump;
	pl->bump += c * KS_POOL_GRAIN;
	return b;
}

/* Back to its list; n is the size it was taken with. */
static void pool_put(struct ks_pool *pl, void *b, size_t n)
{
	size_t c = pool_class(n ?: 1);

	if (!b)
		return;
	if (c > KS_POOL_CLASSES || KS_POOL_ASAN) {
		free(b);
		return;
	}
	*(void **)b = pl->free[c];
	pl->free[c] = b;
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

static size_t packed_size(uint32_t len)
{
	return sizeof(struct ks_packed) + len;
}

static struct ks_packed *ks_pack(struct ks_pool *pl, const struct ks_event *ev)
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

static void ks_unpack(const struct ks_packed *p, struct ks_event *ev)
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

/* Bytes an allocation of n bytes costs against max_bytes. */
static uint64_t cost(size_t n)
{
	return n + KS_MALLOC_OVERHEAD;
}

/* Drop a state's events: the links say each one's size, the newest's is in pd. */
static void pend_clear(struct ks_pipeline *p, struct ks_pend *pd)
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

/* pk becomes the newest event of pd (which owns it from now on). */
static void pend_push(struct ks_pipeline *p, struct ks_pend *pd, struct ks_packed *pk)
{
	pk->prev = pd->last;
	pk->prev_len = pd->last_len;
	pd->last = pk;
	pd->last_len = pk->len;
	pd->n++;
	p->st.bytes += cost(packed_size(pk->len));
}

static size_t key_room(uint32_t key_len)
{
	return (key_len + 7) & ~(size_t)7;
}

static struct ks_pend *entry_states(const struct ks_entry *e)
{
	return (struct ks_pend *)(e->key + key_room(e->key_len));
}

static bool entry_empty(const struct ks_entry *e)
{
	const struct ks_pend *st = entry_states(e);
	uint32_t k;

	for (k = 0; k < e->n_states; k++)
		if (st[k].start)
			return false;
	return true;
}

static void lru_unlink(struct ks_pipeline *p, struct ks_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		p->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct ks_pipeline *p, struct ks_entry *e)
{
	e->prev = NULL;
	e->next = p->lru_head;
	if (p->lru_head)
		p->lru_head->prev = e;
	p->lru_head = e;
	if (!p->lru_tail)
		p->lru_tail = e;
}

/* e is the most recently used (already at the head: nothing to write). */
static void lru_touch(struct ks_pipeline *p, struct ks_entry *e)
{
	if (p->lru_head == e)
		return;
	lru_unlink(p, e);
	lru_push(p, e);
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

static void entry_free(struct ks_pipeline *p, struct ks_entry *e)
{
	struct ks_pend *st = entry_states(e);
	uint32_t k;

	slot_remove(p, slot_of(p, e));
	lru_unlink(p, e);
	for (k = 0; k < e->n_states; k++)
		pend_clear(p, &st[k]);
	p->st.bytes -= entry_cost(e->key_len, e->n_states);
	pool_put(&p->pool, e, entry_size(e->key_len, e->n_states));
	p->st.pending--;
}

/* Evict least recently used sequences until the NFA is within max_bytes. */
static void trim_memory(struct ks_pipeline *p)
{
	while (p->st.bytes > p->o.max_bytes && p->lru_tail) {
		entry_free(p, p->lru_tail);
		p->st.evict_memory++;
	}
}

/* h is never 0 (seq_key()): an empty slot ends the probe. */
static struct ks_entry *entry_find(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				   const uint8_t *key, uint32_t len)
{
	size_t m = p->n_slots - 1, i = h & m;
	const struct ks_slot *s;

	for (s = &p->slots[i]; s->hash; i = (i + 1) & m, s = &p->slots[i]) {
		const struct ks_entry *e = s->e;

		if (s->hash != h)
			continue;
		/* the states start on the entry's next cache line: fetch both at once */
		__builtin_prefetch((const uint8_t *)e + 64);
		if (e->rule_uid == uid && e->key_len == len && !memcmp(e->key, key, len))
			return s->e;
	}
	return NULL;
}

static struct ks_entry *entry_new(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				  const uint8_t *key, uint32_t len, uint32_t n_states,
				  uint64_t maxspan)
{
	struct ks_entry *e;

	if (p->st.pending >= p->o.max_entries && p->lru_tail) {
		entry_free(p, p->lru_tail);	/* the least recently used */
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

/* ---- generations ---- */

static void gen_free(struct ks_gen *g)
{
	if (g->rs)
		ks_ruleset_free(g->rs);
	free(g->t);
	free(g->alerts);
	memset(g, 0, sizeof(*g));
}

static struct ks_gen *gen_find(struct ks_pipeline *p, uint32_t generation)
{
	int i;

	for (i = 0; i < KS_GENS; i++)
		if (p->gen[i].t && p->gen[i].t->hdr.generation == generation)
			return &p->gen[i];
	return NULL;
}

/*
 * The interpreter's userspace-only fields: container.id from the ECS
 * context's cgroups, the enriched ones from its records or /proc.
 */
static bool user_str(void *arg, const struct ks_field_info *f, const struct ks_event *ev,
		     const char **s, size_t *len)
{
	struct ks_pipeline *p = arg;

	if (strcmp(f->name, "container.id"))
		return p->ecs ? ks_ecs_user_str(p->ecs, f, ev, s, len) :
				ks_interp_user_default(f, s, len);
	*s = p->ecs ? ks_ecs_container(p->ecs, ev) : NULL;
	*len = *s ? strlen(*s) : 0;
	return *s != NULL;
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

struct ks_pipeline *ks_pipeline_new(const struct ks_pipeline_opts *o, struct ks_ecs_ctx *ecs)
{
	struct ks_pipeline *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->o = *o;
	if (!p->o.max_entries)
		p->o.max_entries = KS_NFA_ENTRIES_DEFAULT;
	if (!p->o.max_bytes)
		p->o.max_bytes = KS_NFA_MEMORY_DEFAULT;
	slots_limit(p);
	p->n_slots = KS_SLOTS_MIN;
	p->slots = calloc(p->n_slots, sizeof(*p->slots));
	if (!p->slots ||
	    getrandom(p->sip_key, sizeof(p->sip_key), 0) != sizeof(p->sip_key)) {
		free(p->slots);
		free(p);
		return NULL;
	}
	p->ecs = ecs;
	p->ictx = (struct ks_interp_ctx){ .user_str = user_str, .arg = p };
	return p;
}

void ks_pipeline_free(struct ks_pipeline *p)
{
	int i;

	if (!p)
		return;
	while (p->lru_head)
		entry_free(p, p->lru_head);
	for (i = 0; i < KS_GENS; i++)
		gen_free(&p->gen[i]);
	pool_drain(&p->pool);
	free(p->scratch);
	free(p->slots);
	free(p);
}

static bool gen_has_uid(const struct ks_gen *g, uint32_t uid)
{
	uint32_t i;

	for (i = 0; i < g->t->hdr.n_rules; i++)
		if (g->t->rules[i].uid == uid)
			return true;
	return false;
}

int ks_pipeline_set_rules(struct ks_pipeline *p, struct ks_ruleset *rs,
			  const struct ks_tables *t)
{
	struct ks_tables *copy = calloc(1, sizeof(*copy));
	uint64_t *alerts = calloc(t->hdr.n_rules ?: 1, sizeof(uint64_t));
	struct ks_entry *e, *next;

	/* nothing changes unless everything is in hand */
	if (!copy || !alerts || t->hdr.n_rules > rs->n_rules) {
		free(copy);
		free(alerts);
		return !copy || !alerts ? -ENOMEM : -EINVAL;
	}
	/*
	 * The pipeline reads only the header, rules and steps: copy those.
	 * The rest of the 3.4 MiB stays untouched zero pages, not resident.
	 */
	copy->hdr = t->hdr;
	copy->hdr.n_rules = t->hdr.n_rules < KS_MAX_RULES ? t->hdr.n_rules : KS_MAX_RULES;
	copy->hdr.n_steps = t->hdr.n_steps < KS_MAX_STEPS ? t->hdr.n_steps : KS_MAX_STEPS;
	memcpy(copy->rules, t->rules, copy->hdr.n_rules * sizeof(t->rules[0]));
	memcpy(copy->steps, t->steps, copy->hdr.n_steps * sizeof(t->steps[0]));
	gen_free(&p->gen[1]);
	p->gen[1] = p->gen[0];
	p->gen[0].rs = rs;
	p->gen[0].t = copy;
	p->gen[0].alerts = alerts;
	/* a changed rule has a new uid: its old pending sequences go */
	for (e = p->lru_head; e; e = next) {
		next = e->next;
		if (!gen_has_uid(&p->gen[0], e->rule_uid))
			entry_free(p, e);
	}
	return 0;
}

/* ---- evaluation ---- */

/* The AST step behind table step s (runs=N steps were expanded N times). */
static const struct ks_step_ast *ast_step(const struct ks_gen *g, const struct ks_step *s)
{
	const struct ks_rule_src *r;
	unsigned int k, j;

	if (s->rule >= g->rs->n_rules)
		return NULL;
	r = &g->rs->rules[s->rule];
	if (!r->q)
		return NULL;
	if (s->flags & KS_S_UNTIL)
		return r->q->until;
	k = s->index;
	for (j = 0; j < r->q->n_steps; j++) {
		unsigned int runs = r->q->steps[j].runs ?: 1;

		if (k < runs)
			return &r->q->steps[j];
		k -= runs;
	}
	return NULL;
}

/*
 * One join value of ev: bytes at *v (or in num) and their length.
 * Returns 1 if the field has a value, 0 if it is null (no bytes: every
 * null is the same key).
 */
static int join_value(const struct ks_event *ev, uint32_t f, const uint8_t **v, uint32_t *len,
		      uint8_t num[16])
{
	const uint8_t *ip = ks_ev_ip(ev, f);
	__s64 n = 0;	/* set by ks_event_num; gcc cannot see it through the switch */

	*v = num;
	*len = 0;
	if (!ks_join_present(ev, f))
		return 0;
	if (KS_F_IS_STR(f)) {
		ks_ev_str(ev, f, v, len);
		return 1;
	}
	if (ip) {
		*v = ip;
		*len = 16;
		return 1;
	}
	if (ks_field_is_entity(f)) {
		uint64_t key = ks_event_entity(ev, f);

		memcpy(num, &key, 8);
		*len = 8;
		return 1;
	}
	ks_event_num(ev, f, &n);
	memcpy(num, &n, 8);
	*len = 8;
	return 1;
}

/*
 * The catalogue entry of join key j of step s. The table names a field
 * only the kernel fills; a userspace one (KS_F_NONE) is found in the
 * rule's AST.
 */
static const struct ks_field_info *join_info(const struct ks_gen *g, const struct ks_step *s,
					     uint32_t j)
{
	const struct ks_query *q = s->rule < g->rs->n_rules ? g->rs->rules[s->rule].q : NULL;

	return q ? ks_query_join(q, s, j) : NULL;
}

/*
 * A userspace join value of ev (ks_field_info.join): what a test of f
 * reads (the replayed record's value, or what kload reads live), so
 * returns 1 with the value, 0 if it is null, as join_value() for a kernel
 * field. host.* and agent.id (not ks_field_info.join) read as null: one
 * value for all of a host's events, the NFA does not key on them. A value
 * longer than the key keeps (only a replayed record can hold one) is
 * keyed on its first KS_ECS_UBUF bytes with the cut bit, as a kernel
 * value the event holds in part.
 */
static int join_user(struct ks_pipeline *p, const struct ks_field_info *f,
		     const struct ks_event *ev, const uint8_t **v, uint32_t *len)
{
	const char *s;
	size_t n;

	*len = 0;
	if (!f || !f->join || !user_str(p, f, ev, &s, &n))
		return 0;
	*v = (const uint8_t *)s;
	*len = n < KS_ECS_UBUF ? (uint32_t)n : KS_ECS_UBUF;
	return n > KS_ECS_UBUF ? 3 : 1;
}

/*
 * May join key j of step s be null? An ?optional key may, and null then
 * joins null; so may host.* and agent.id, which the NFA does not key on
 * (one value for all of a host's events). Elastic leaves an event whose
 * other key is null out of the step, as the kernel does (ks_join_null).
 */
static bool join_nullable(const struct ks_gen *g, const struct ks_step *s, uint32_t j)
{
	const struct ks_field_info *fi;

	if (s->join_opt & (1u << j))
		return true;
	fi = s->join[j] == KS_F_NONE ? join_info(g, s, j) : NULL;
	return fi && !fi->join;
}

/*
 * The join key of ev for step s into p->join_key: per join field a
 * presence byte (bit 1: the event holds only part of the value), the
 * value's length and the value itself, whole: a string's bytes (NULs of
 * process.command_line as spaces, as the field reads), numbers, entity
 * keys and addresses in binary. Two keys are equal exactly when every
 * value is. Returns the key's length; *out is set when a key that may not
 * be null is (the event takes no part in the step).
 */
static uint32_t join_key(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_event *ev,
			 const struct ks_step *s, bool *out)
{
	uint8_t *b = p->join_key, num[16];
	uint32_t pos = 0, j, i;

	*out = false;

	for (j = 0; j < s->n_join && j < KS_MAX_JOIN; j++) {
		uint32_t f = s->join[j], len;
		const uint8_t *v;

		if (f == KS_F_NONE)
			b[pos] = join_user(p, join_info(g, s, j), ev, &v, &len);
		else
			b[pos] = join_value(ev, f, &v, &len, num);
		if (!b[pos] && !join_nullable(g, s, j))
			*out = true;
		if (ev->truncated & ks_field_cut_bits(f))
			b[pos] |= 2;
		memcpy(b + pos + 1, &len, 4);
		pos += 5;
		for (i = 0; i < len; i++)
			b[pos + i] = !v[i] && f == KS_F_PROCESS_COMMAND_LINE ? ' ' : v[i];
		pos += len;
	}
	return pos;
}

static void rule_meta(const struct ks_gen *g, uint32_t rule, struct ks_alert_meta *meta)
{
	const struct ks_rule_src *r = &g->rs->rules[rule];

	memset(meta, 0, sizeof(*meta));
	meta->id = r->id;
	meta->name = r->name;
	meta->severity = ks_severity_name(r->severity);
	meta->action = ks_rule_action_name(r->action);
	meta->tags = (const char *const *)r->tags;
	meta->n_tags = r->n_tags;
	meta->uuid = r->uuid;
	meta->description = r->description;
	meta->references = (const char *const *)r->references;
	meta->n_references = r->n_references;
	meta->threats = r->threats;
	meta->n_threats = r->n_threats;
	meta->risk_score = ks_rule_risk_score(r);
}

/*
 * Write an alert, encoded straight into the output's buffer (or count it
 * lost); count it for the rule.
 */
static int write_alert(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		       const struct ks_alert_meta *meta, const struct ks_event *const *evs,
		       size_t n, const char *names[], const char *values[], size_t n_join)
{
	const struct ks_line_info info = { .rule_id = meta->id, .severity = meta->severity };
	struct ks_jw *w = ks_output_begin(p->o.alerts);
	bool ok = !w || !ks_ecs_alert_json(p->ecs, w, meta, evs, n, names, values, n_join);

	/* one that could not be encoded or written is counted (and logged) by the output */
	if (ks_output_end(p->o.alerts, ok, &info) == -ENOMEM || !ok)
		return -ENOMEM;
	p->st.alerts++;
	p->st.lost_alerts += meta->event_lost;
	g->alerts[rule]++;
	return 0;
}

/* Room for n unpacked events in p->scratch (grown once, kept). */
static struct ks_event *scratch(struct ks_pipeline *p, uint32_t n)
{
	struct ks_event *v;

	if (n <= p->n_scratch)
		return p->scratch;
	v = realloc(p->scratch, n * sizeof(*v));
	if (!v)
		return NULL;
	p->scratch = v;
	p->n_scratch = n;
	return v;
}

/*
 * Unpack the n events of pend into the scratch array, oldest first, and
 * point evs at them. Returns false when there is no room.
 */
static bool unpack_chain(struct ks_pipeline *p, const struct ks_pend *pend,
			 const struct ks_event **evs)
{
	const struct ks_packed *pk = pend->last;
	struct ks_event *tmp = scratch(p, pend->n);
	uint32_t i;

	if (pend->n && !tmp)
		return false;
	for (i = pend->n; i-- > 0; pk = pk->prev) {
		ks_unpack(pk, &tmp[i]);
		evs[i] = &tmp[i];
	}
	return true;
}

/*
 * Join key j of step s as kestrel.join prints it: its name and its value
 * on ev in buf (KS_JOIN_TEXT bytes, cut to fit). Returns < 0 when the
 * value is null or one for the whole host (host.*, agent.id: not printed).
 */
static int join_text(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_step *s,
		     uint32_t j, const struct ks_event *ev, const char **name, char *buf)
{
	const struct ks_field_info *fi = ks_field_by_id(s->join[j]);
	const uint8_t *v;
	uint32_t len;

	if (fi) {
		*name = fi->name;
		return ks_field_text(p->ecs, ev, s->join[j], buf, KS_JOIN_TEXT);
	}
	fi = join_info(g, s, j);
	if (!join_user(p, fi, ev, &v, &len))
		return -1;
	*name = fi->name;
	return snprintf(buf, KS_JOIN_TEXT, "%.*s", (int)len, (const char *)v);
}

/*
 * An alert for rule on the n events evs, completed by done (one of them):
 * the join values are done's, by step s's join fields.
 */
static int emit_events(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		       const struct ks_step *s, const struct ks_event *const *evs, size_t n,
		       const struct ks_event *done, bool lost)
{
	const char *names[KS_MAX_JOIN], *values[KS_MAX_JOIN];
	char vbuf[KS_MAX_JOIN][KS_JOIN_TEXT];
	struct ks_alert_meta meta;
	size_t n_join = 0;
	uint32_t i;

	rule_meta(g, rule, &meta);
	meta.event_lost = lost;
	meta.completing = done;
	for (i = 0; i < s->n_join && i < KS_MAX_JOIN; i++) {
		if (join_text(p, g, s, i, done, &names[n_join], vbuf[n_join]) < 0)
			continue;
		values[n_join] = vbuf[n_join];
		n_join++;
	}
	return write_alert(p, g, rule, &meta, evs, n, names, values, n_join);
}

/* An alert for rule on last, after the events of prev (NULL: none). */
static int emit(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		const struct ks_step *s, const struct ks_pend *prev,
		const struct ks_event *last, bool lost)
{
	static const struct ks_pend none;
	const struct ks_event *evs[KS_MAX_SEQ_EVENTS];

	if (!prev)
		prev = &none;
	if (prev->n >= KS_MAX_SEQ_EVENTS || !unpack_chain(p, prev, evs)) {
		ks_output_lost(p->o.alerts, KS_LOST_ENCODE);
		return -ENOMEM;
	}
	evs[prev->n] = last;
	return emit_events(p, g, rule, s, evs, prev->n + 1, last, lost);
}

/* seq_step() flags */
#define KS_SEQ_KERNEL_DONE	(1u << 0)	/* the kernel completed the rule on ev */
#define KS_SEQ_LOST		(1u << 1)	/* ... and ev was lost to the ring buffer */

/*
 * ev's join key for step s into p, and its hash (never 0: 0 marks an
 * empty slot); the key's home slot is fetched into the cache meanwhile.
 * False when a key that may not be null is: ev is out of the step.
 */
static bool seq_key(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_rule *r,
		    const struct ks_step *s, const struct ks_event *ev)
{
	bool out;

	p->join_len = join_key(p, g, ev, s, &out);
	if (out)
		return false;
	p->join_hash = ks_siphash(p->sip_key[0] ^ r->uid, p->sip_key[1], p->join_key,
				  p->join_len) ?: 1;
	__builtin_prefetch(&p->slots[p->join_hash & (p->n_slots - 1)]);
	return true;
}

/* Step 0: ev, packed in pk, becomes the newest pending sequence of its key (state 1). */
static int seq_start(struct ks_pipeline *p, const struct ks_rule *r, struct ks_entry *e,
		     struct ks_packed *pk, const struct ks_event *ev)
{
	struct ks_pend *pd;

	if (!pk)
		return -ENOMEM;
	if (!e)
		e = entry_new(p, r->uid, p->join_hash, p->join_key, p->join_len, r->n_steps,
			      r->maxspan_ns);
	if (!e) {
		pool_put(&p->pool, pk, packed_size(pk->len));
		return -ENOMEM;
	}
	pd = &entry_states(e)[1 % e->n_states];
	pend_clear(p, pd);	/* newest overwrites */
	pend_push(p, pd, pk);
	pd->start = ev->ts_ns ?: 1;
	lru_touch(p, e);
	trim_memory(p);
	return 0;
}

/* Detach state k's pending sequence into *pend unless ev is past its maxspan. */
static void seq_take(struct ks_pipeline *p, struct ks_entry *e, uint32_t k,
		     const struct ks_event *ev, struct ks_pend *pend)
{
	struct ks_pend *st;

	if (!e || k >= e->n_states || !entry_states(e)[k].start)
		return;
	st = entry_states(e);
	*pend = st[k];
	memset(&st[k], 0, sizeof(st[k]));
	if (e->maxspan && ev->ts_ns - pend->start > e->maxspan) {
		p->st.expired++;
		pend_clear(p, pend);
	}
}

/* The detached *pend plus ev become state next's pending sequence. */
static int seq_advance(struct ks_pipeline *p, struct ks_pend *next, struct ks_pend *pend,
		       const struct ks_event *ev)
{
	struct ks_packed *pk = ks_pack(&p->pool, ev);

	if (!pk)
		return -ENOMEM;
	pend_clear(p, next);
	*next = *pend;
	pend_push(p, next, pk);
	memset(pend, 0, sizeof(*pend));
	return 0;
}

/*
 * Advance the NFA of a sequence rule for a true step. Returns alerts
 * written. When the kernel says it completed the rule on ev (it keeps
 * the rule's state and may have enforced), the alert is written even if
 * the NFA lost the earlier steps' events: then with ev alone.
 */
static int seq_step(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
		    const struct ks_event *ev, unsigned int flags)
{
	const struct ks_rule *r = &g->t->rules[s->rule];
	uint32_t k = s->index, n = r->n_steps;
	struct ks_packed *pk = NULL;
	struct ks_pend pend = {};
	struct ks_entry *e;
	int ret = 0;

	if (!seq_key(p, g, r, s, ev)) {
		p->st.join_null++;
		return 0;
	}
	/* a first step packs its event while the slot is on its way */
	if (k == 0 && !(s->flags & KS_S_UNTIL))
		pk = ks_pack(&p->pool, ev);
	e = entry_find(p, r->uid, p->join_hash, p->join_key, p->join_len);
	if (s->flags & KS_S_UNTIL) {
		if (e)
			entry_free(p, e);
		return 0;
	}
	if (k == 0)
		return seq_start(p, r, e, pk, ev);
	seq_take(p, e, k, ev, &pend);
	if (k + 1 == n && (pend.start || (flags & KS_SEQ_KERNEL_DONE)))
		ret = emit(p, g, s->rule, s, &pend, ev, flags & KS_SEQ_LOST) == 0;
	else if (pend.start && k + 1 < n)
		ret = seq_advance(p, &entry_states(e)[k + 1], &pend, ev);
	pend_clear(p, &pend);	/* a completed sequence is consumed */
	if (e && entry_empty(e))
		entry_free(p, e);
	else if (e)
		lru_touch(p, e);
	trim_memory(p);
	return ret;
}

/* ---- samples ---- */

/*
 * A sample (EQL `sample by`, KS_R_SAMPLE) is kept per (rule, join key)
 * in an entry like a sequence's, with one state: the chain of its
 * candidate events, newest first, each marked with the filters it
 * matched (ks_packed.filters). An event of the key completes the sample
 * when the candidates and it can be given one to each filter, no event
 * twice (Elastic: one event per filter, in any order); the alert lists
 * them in the filters' order, as Elastic returns them.
 *
 * Exact with a bounded chain: each filter keeps only its n newest
 * candidates (n filters), since an assignment that used an older one can
 * swap it for one of those n, of which the other n - 1 filters take at
 * most n - 1. So a key keeps at most n * n events. A candidate older than
 * the window (the rule's maxspan_ns: KS_SAMPLE_WINDOW_NS) at the time of
 * a newer event of the key is dropped and counted as expired; the
 * state's start is its newest candidate's time, so ks_pipeline_tick()
 * frees a key whose candidates are all past the window. A completed
 * sample frees its key: one sample per key (Elastic's
 * max_samples_per_key), the next one of new events.
 */

#define KS_SAMPLE_CANDS	(1 + KS_MAX_SAMPLE_FILTERS * KS_MAX_SAMPLE_FILTERS)

static void sample_note(const struct ks_gen *g, struct ks_sample_hits *sh, uint32_t step)
{
	const struct ks_step *s = &g->t->steps[step];
	uint32_t i;

	if (s->index >= KS_MAX_SAMPLE_FILTERS)
		return;
	for (i = 0; i < sh->n; i++)
		if (g->t->steps[sh->hit[i].step].rule == s->rule)
			break;
	if (i == sh->n) {
		if (sh->n >= KS_MAX_STEPS)
			return;
		sh->hit[sh->n].step = step;
		sh->hit[sh->n++].mask = 0;
	}
	sh->hit[i].mask |= 1u << s->index;
}

static uint64_t packed_ts(const struct ks_packed *pk)
{
	uint64_t ts;

	memcpy(&ts, pk->data + offsetof(struct ks_event, ts_ns), sizeof(ts));
	return ts;
}

/*
 * Drop from e's chain what is past the window at now and what no filter
 * keeps (each of the n keeps its n newest); start becomes the newest's time.
 */
static void sample_prune(struct ks_pipeline *p, struct ks_entry *e, uint32_t n, uint64_t now)
{
	struct ks_pend *pd = entry_states(e);
	struct ks_packed **link = &pd->last, *pk;
	uint32_t *link_len = &pd->last_len, kept[KS_MAX_SAMPLE_FILTERS] = { 0 };
	uint32_t i, k, count = pd->n;
	uint64_t ts, newest = 0;

	for (i = 0; i < count; i++) {
		pk = *link;
		ts = packed_ts(pk);
		if (e->maxspan && now > ts && now - ts > e->maxspan) {
			pk->filters = 0;
			p->st.expired++;
		}
		for (k = 0; k < n; k++) {
			if (!(pk->filters & 1u << k))
				continue;
			if (kept[k] < n)
				kept[k]++;
			else
				pk->filters &= ~(1u << k);
		}
		if (pk->filters) {
			newest = ts > newest ? ts : newest;
			link = &pk->prev;
			link_len = &pk->prev_len;
			continue;
		}
		*link = pk->prev;	/* the oldest's prev is NULL, prev_len 0 */
		*link_len = pk->prev_len;
		p->st.bytes -= cost(packed_size(pk->len));
		pool_put(&p->pool, pk, packed_size(pk->len));
		pd->n--;
	}
	pd->start = pd->n ? newest ?: 1 : 0;
}

/*
 * A search for a sample among the candidates: cand[c] the filters
 * candidate c matched (0 is the event at hand), ts[c] its time.
 */
struct ks_sample_search {
	uint32_t cand[KS_SAMPLE_CANDS];
	uint64_t ts[KS_SAMPLE_CANDS];
	uint32_t n_cand, n;	/* candidates, filters */
	uint64_t window;
	uint8_t pick[KS_MAX_SAMPLE_FILTERS];	/* filter k's candidate */
};

/*
 * Give filters k..n-1 a candidate each, none taken twice (bit c of used)
 * and all within the window of each other (lo..hi, the times taken so
 * far), even when events came out of order. Recursion at most
 * KS_MAX_SAMPLE_FILTERS deep over KS_SAMPLE_CANDS candidates.
 */
static bool sample_assign(struct ks_sample_search *ss, uint32_t k, uint32_t used,
			  uint64_t lo, uint64_t hi)
{
	uint64_t t, nlo, nhi;
	uint32_t c;

	if (k == ss->n)
		return true;
	for (c = 0; c < ss->n_cand; c++) {
		if ((used & 1u << c) || !(ss->cand[c] & 1u << k))
			continue;
		t = ss->ts[c];
		nlo = used && lo < t ? lo : t;
		nhi = used && hi > t ? hi : t;
		if (ss->window && nhi - nlo > ss->window)
			continue;
		ss->pick[k] = c;
		if (sample_assign(ss, k + 1, used | 1u << c, nlo, nhi))
			return true;
	}
	return false;
}

/* The alert: filter k's event is ev if pick[k] is 0, else nodes[pick[k]]. */
static int sample_emit(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
		       const struct ks_event *ev, struct ks_packed *const *nodes,
		       const uint8_t *pick, uint32_t n)
{
	const struct ks_event *evs[KS_MAX_SAMPLE_FILTERS];
	struct ks_event *tmp = scratch(p, n);
	uint32_t k;

	if (!tmp) {
		ks_output_lost(p->o.alerts, KS_LOST_ENCODE);
		return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		evs[k] = ev;
		if (pick[k]) {
			ks_unpack(nodes[pick[k]], &tmp[k]);
			evs[k] = &tmp[k];
		}
	}
	return emit_events(p, g, s->rule, s, evs, n, ev, false);
}

/*
 * ev matched the filters in mask of the sample rule of step s (whose
 * join fields every filter shares). Returns alerts written, or -ENOMEM.
 */
static int sample_event(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
			uint32_t mask, const struct ks_event *ev)
{
	const struct ks_rule *r = &g->t->rules[s->rule];
	struct ks_packed *nodes[KS_SAMPLE_CANDS] = { NULL }, *pk;
	struct ks_sample_search ss = { .cand = { mask }, .ts = { ev->ts_ns }, .n_cand = 1,
				       .n = r->n_steps, .window = r->maxspan_ns };
	struct ks_entry *e;
	uint32_t i;
	int ret;

	if (ss.n > KS_MAX_SAMPLE_FILTERS)
		return 0;	/* no compiler makes one */
	if (!seq_key(p, g, r, s, ev)) {
		p->st.join_null++;	/* as a sequence's step: no part in a sample */
		return 0;
	}
	e = entry_find(p, r->uid, p->join_hash, p->join_key, p->join_len);
	if (e) {
		sample_prune(p, e, ss.n, ev->ts_ns);
		pk = entry_states(e)->last;
		for (i = 0; i < entry_states(e)->n && ss.n_cand < KS_SAMPLE_CANDS; i++) {
			nodes[ss.n_cand] = pk;
			ss.ts[ss.n_cand] = packed_ts(pk);
			ss.cand[ss.n_cand++] = pk->filters;
			pk = pk->prev;
		}
	}
	if (sample_assign(&ss, 0, 0, 0, 0)) {
		ret = sample_emit(p, g, s, ev, nodes, ss.pick, ss.n);
		if (e)
			entry_free(p, e);	/* one sample per key */
		return ret ? ret : 1;
	}
	if (!e)
		e = entry_new(p, r->uid, p->join_hash, p->join_key, p->join_len, 1,
			      r->maxspan_ns);
	pk = e ? ks_pack(&p->pool, ev) : NULL;
	if (!pk) {
		if (e && entry_empty(e))
			entry_free(p, e);
		return -ENOMEM;
	}
	pk->filters = mask;
	pend_push(p, entry_states(e), pk);
	sample_prune(p, e, ss.n, ev->ts_ns);
	lru_touch(p, e);
	trim_memory(p);
	return 0;
}

struct ks_hit {
	uint16_t step;
	uint8_t exact;
	uint8_t done;		/* the kernel completed the rule on this event */
};

/* Kernel candidates overflowed: judge every step here, latest first. */
static uint32_t all_steps(const struct ks_gen *g, struct ks_hit *hits, uint32_t max)
{
	uint32_t n = 0, i = g->t->hdr.n_steps;

	while (i-- > 0 && n < max) {
		hits[n].step = i;
		hits[n].exact = 0;
		hits[n].done = 0;
		n++;
	}
	return n;
}

/* One true step of ev; returns alerts written (a sample's: noted in sh). */
static int on_step(struct ks_pipeline *p, struct ks_gen *g, const struct ks_hit *h,
		   const struct ks_event *ev, struct ks_sample_hits *sh)
{
	const struct ks_step *s = &g->t->steps[h->step];
	const struct ks_step_ast *ast;
	int a;

	if (!h->exact) {
		ast = ast_step(g, s);
		if (!ast)
			return 0;
		p->st.user_decided++;
		if (!ks_interp_step_ctx(ast, ev, &p->ictx))
			return 0;
	}
	p->st.step_matches++;
	if (g->t->rules[s->rule].flags & KS_R_SAMPLE) {
		sample_note(g, sh, h->step);
		return 0;
	}
	if (!(g->t->rules[s->rule].flags & KS_R_SEQUENCE))
		return emit(p, g, s->rule, s, NULL, ev, false) == 0;
	a = seq_step(p, g, s, ev, h->done ? KS_SEQ_KERNEL_DONE : 0);
	if (a == -ENOMEM)
		p->st.nomem++;	/* the step is lost to the NFA */
	return a > 0 ? a : 0;
}

/* The true steps hits[0..n) of ev; returns alerts written. */
static int on_hits(struct ks_pipeline *p, struct ks_gen *g, const struct ks_hit *hits,
		   uint32_t n, const struct ks_event *ev)
{
	struct ks_sample_hits *sh = &p->samples;
	uint32_t i;
	int alerts = 0;

	sh->n = 0;
	for (i = 0; i < n; i++)
		if (hits[i].step < g->t->hdr.n_steps)
			alerts += on_step(p, g, &hits[i], ev, sh);
	/* a sample's filters after all of ev's hits: ev is one event for them */
	for (i = 0; i < sh->n; i++) {
		int a = sample_event(p, g, &g->t->steps[sh->hit[i].step], sh->hit[i].mask, ev);

		if (a == -ENOMEM)
			p->st.nomem++;
		alerts += a > 0 ? a : 0;
	}
	return alerts;
}

int ks_pipeline_event(struct ks_pipeline *p, const struct ks_event *ev)
{
	const struct ks_verdict *vd = &ev->verdict;
	struct ks_hit hits[KS_MAX_STEPS];
	struct ks_gen *g;
	uint32_t n = 0, i;

	p->st.events++;
	g = gen_find(p, vd->generation);
	if (!g) {
		p->st.stale++;
		return 0;
	}
	if (vd->flags & (KS_V_CAND_OVERFLOW | KS_V_MATCH_OVERFLOW)) {
		n = all_steps(g, hits, KS_MAX_STEPS);
	} else {
		for (i = 0; i < vd->n_match && i < KS_MAX_MATCH; i++) {
			hits[n].step = vd->match[i].step;
			hits[n].exact = !!(vd->match[i].flags & KS_M_EXACT);
			hits[n].done = !!(vd->match[i].flags & KS_M_COMPLETED);
			n++;
		}
	}
	return on_hits(p, g, hits, n, ev);
}

int ks_pipeline_user_event(struct ks_pipeline *p, struct ks_event *ev)
{
	struct ks_gen *g = &p->gen[0];
	struct ks_hit hits[KS_MAX_STEPS];
	uint32_t i, n = 0;

	p->st.events++;
	if (!g->t)
		return 0;
	memset(&ev->verdict, 0, sizeof(ev->verdict));
	ev->verdict.generation = g->t->hdr.generation;
	/* latest first, as all_steps(): one event advances a sequence once */
	for (i = g->t->hdr.n_steps; i-- > 0 && n < KS_MAX_STEPS;) {
		if (!(g->t->steps[i].flags & KS_S_RUNNING))
			continue;
		hits[n] = (struct ks_hit){ .step = (uint16_t)i };
		n++;
	}
	return on_hits(p, g, hits, n, ev);
}

bool ks_pipeline_wants_running(const struct ks_pipeline *p)
{
	const struct ks_tables *t = p->gen[0].t;
	uint32_t i;

	for (i = 0; t && i < t->hdr.n_steps; i++)
		if (t->steps[i].flags & KS_S_RUNNING)
			return true;
	return false;
}

/* Index of the rule with this uid in g, -1 if none. */
static int rule_by_uid(const struct ks_gen *g, uint32_t uid)
{
	uint32_t i;

	for (i = 0; g->t && i < g->t->hdr.n_rules; i++)
		if (g->t->rules[i].uid == uid)
			return i;
	return -1;
}

/* The generation and rule index of a rule uid: ev's generation first. */
static struct ks_gen *gen_of_rule(struct ks_pipeline *p, uint32_t generation, uint32_t uid,
				  int *rule)
{
	struct ks_gen *g = gen_find(p, generation);
	int i;

	if (g && (*rule = rule_by_uid(g, uid)) >= 0)
		return g;
	for (i = 0; i < KS_GENS; i++)
		if ((*rule = rule_by_uid(&p->gen[i], uid)) >= 0)
			return &p->gen[i];
	p->st.stale++;
	return NULL;
}

int ks_pipeline_lost_event(struct ks_pipeline *p, const struct ks_event *ev)
{
	const struct ks_rule *r;
	const struct ks_step *s;
	struct ks_gen *g;
	int rule, a;

	g = gen_of_rule(p, ev->verdict.generation, ev->verdict.enforced_uid, &rule);
	if (!g)
		return 0;
	r = &g->t->rules[rule];
	if (!r->n_steps || r->first_step + r->n_steps > g->t->hdr.n_steps)
		return 0;
	/* a rule completes on its last step only */
	s = &g->t->steps[r->first_step + r->n_steps - 1];
	if (!(r->flags & KS_R_SEQUENCE))
		return emit(p, g, rule, s, NULL, ev, true) == 0;
	a = seq_step(p, g, s, ev, KS_SEQ_KERNEL_DONE | KS_SEQ_LOST);
	return a > 0 ? a : 0;
}

int ks_pipeline_lost_count(struct ks_pipeline *p, uint32_t rule_uid, uint64_t n,
			   uint64_t now_ns, int enforce_mode)
{
	struct ks_alert_meta meta;
	struct ks_gen *g;
	int rule;

	g = gen_of_rule(p, 0, rule_uid, &rule);
	if (!g || !n)
		return 0;
	rule_meta(g, rule, &meta);
	meta.event_lost = true;
	meta.lost_events = n;
	meta.ts_ns = now_ns;
	/* signal mode enforces a block by SIGKILL, like a kill */
	meta.outcome = enforce_mode == KS_MODE_LSM && g->t->rules[rule].action == KS_RA_BLOCK ?
		       "blocked" : "killed";
	return write_alert(p, g, rule, &meta, NULL, 0, NULL, NULL, 0) == 0;
}

void ks_pipeline_tick(struct ks_pipeline *p, uint64_t now_ns)
{
	struct ks_entry *e, *next;
	uint32_t k;

	for (e = p->lru_head; e; e = next) {
		struct ks_pend *st = entry_states(e);
		bool live = false;

		next = e->next;
		if (!e->maxspan)
			continue;
		for (k = 0; k < e->n_states; k++) {
			if (!st[k].start)
				continue;
			if (now_ns > st[k].start && now_ns - st[k].start > e->maxspan) {
				pend_clear(p, &st[k]);
				p->st.expired++;
			} else {
				live = true;
			}
		}
		if (!live)
			entry_free(p, e);
	}
}

void ks_pipeline_reset(struct ks_pipeline *p)
{
	while (p->lru_head)
		entry_free(p, p->lru_head);
}

void ks_pipeline_set_output(struct ks_pipeline *p, struct ks_output *out)
{
	p->o.alerts = out;
}

void ks_pipeline_stats(const struct ks_pipeline *p, struct ks_pipeline_stats *st)
{
	*st = p->st;
}

uint64_t ks_pipeline_rule_alerts(const struct ks_pipeline *p, size_t rule_idx)
{
	const struct ks_gen *g = &p->gen[0];

	if (!g->t || rule_idx >= g->t->hdr.n_rules)
		return 0;
	return g->alerts[rule_idx];
}
