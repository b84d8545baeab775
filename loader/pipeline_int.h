/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The userspace NFA's internals, shared by the files an event goes
 * through after the ring buffer (loader/session.c):
 *
 *   pipeline.c   the per-event flow: generations, the kernel's verdict
 *                into step hits, steps the kernel left undecided, lost
 *                events, expiry (ks_pipeline_tick)
 *   nfa.c        a true step of a sequence or sample rule: the NFA's moves
 *   nfa_join.c   an event's join key for a step and its hash, and the
 *                join values as text
 *   nfa_store.c  the pending-sequence store: free lists, packed events,
 *                entries, the slot table, the LRU list
 *   alert.c      an alert from the matched events, out through the output
 *
 * The small helpers every move of the NFA calls (free lists, entry
 * states, LRU, the slot probe) are static inline here: the build has no
 * LTO, and split over files they are still inlined into the per-event
 * path, as when all of this was one translation unit; a join key is
 * built and hashed in one call (ks_join_seq_key), as it was then.
 */
#ifndef KS_PIPELINE_INT_H
#define KS_PIPELINE_INT_H

#include <stdlib.h>
#include <string.h>

#include "kestrel/pipeline.h"

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
/* The longest key ks_pipeline_prefetch() keeps the hash of (an entity id's is 13 bytes). */
#define KS_PF_KEY_MAX	64
/* Keys ks_pipeline_prefetch() keeps: the held events' and the new one's, a power of two. */
#define KS_PF_KEYS	4
_Static_assert(KS_PF_KEYS > KS_PIPELINE_AHEAD, "a key for every event hinted, not processed");
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

/*
 * A pending sequence of (rule, join key) is a slot of the table itself
 * (open addressing, linear probing): 128 bytes aligned to 128, two cache
 * lines whose addresses follow from the key's hash, so a lookup fetches
 * both at once and follows no pointer. The key and the states are inline
 * when they fit in data (a key of one or two values and two states: the
 * sequences of two steps by an entity), else in a block of the pool (ext).
 * The LRU list links slot indices; an entry moves when a removal closes
 * the gap before it (slot_remove()), and its neighbours follow.
 */
#define KS_ENTRY_SIZE	128
#define KS_NONE		UINT32_MAX	/* no slot: the LRU list's ends */

struct ks_entry {
	uint64_t hash;		/* 0: an empty slot (entry hashes are never 0) */
	uint32_t rule_uid;
	uint32_t key_len;
	uint32_t n_states;
	uint32_t prev, next;	/* LRU: head = most recent; KS_NONE at the ends */
	uint32_t was;		/* a doubling in place: the slot it held before */
	uint64_t maxspan;
	uint8_t *ext;		/* key and states when they do not fit in data; NULL: inline */
	uint8_t data[KS_ENTRY_SIZE - 48];	/* key_room(key_len) bytes, then the states */
} __attribute__((aligned(KS_ENTRY_SIZE)));

_Static_assert(sizeof(struct ks_entry) == KS_ENTRY_SIZE, "an entry is two cache lines");

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

/*
 * A key ks_pipeline_prefetch() hashed, with its rule uid and hash: the
 * same key of the same rule has the same hash, so the event's own step
 * takes it instead of hashing again.
 */
struct ks_pf_key {
	uint8_t key[KS_PF_KEY_MAX];
	uint32_t len;		/* 0: none */
	uint32_t uid;
	uint64_t hash;
};

struct ks_pipeline {
	struct ks_pipeline_opts o;
	struct ks_pool pool;
	struct ks_event *scratch;	/* an alert's earlier events, unpacked */
	uint32_t n_scratch;
	struct ks_ecs_ctx *ecs;
	struct ks_interp_ctx ictx;	/* container.id for the interpreter */
	struct ks_gen gen[KS_GENS];	/* [0] current, [1] previous */
	struct ks_entry *slots;	/* a power of two, at most 3/4 full */
	size_t n_slots;
	size_t max_slots;	/* what max_entries needs: the table grows no further */
	size_t slots_res;	/* bytes mapped for max_slots (slots at its start); 0: malloc'd */
	uint32_t lru_head, lru_tail;	/* slot indices, KS_NONE: empty */
	struct ks_pipeline_stats st;
	uint64_t sip_key[2];	/* bucket hash key, random per pipeline */
	/* the join key seq_find() built last */
	uint8_t join_key[KS_JOIN_KEY_MAX];
	uint32_t join_len;
	uint64_t join_hash;
	struct ks_pf_key pf[KS_PF_KEYS];	/* ks_pipeline_prefetch()'s: [pf_next] is written next */
	uint32_t pf_next;
	struct ks_sample_hits samples;	/* ks_pipeline_event()'s, per event */
};

/* ---- nfa_store.c: the pending-sequence store ---- */

/* The slot table and the memory limits of p->o; 0 or -ENOMEM. */
int ks_store_init(struct ks_pipeline *p);
/* Every entry, block and slot freed. */
void ks_store_fini(struct ks_pipeline *p);
/* Start a new chunk of the pool; 0 or -ENOMEM. */
int ks_store_chunk(struct ks_pool *pl);
/* ev packed (NULL: no memory), and back into a whole struct ks_event. */
struct ks_packed *ks_store_pack(struct ks_pool *pl, const struct ks_event *ev);
void ks_store_unpack(const struct ks_packed *pk, struct ks_event *ev);
/* Drop a state's events: the links say each one's size, the newest's is in pd. */
void ks_store_pend_clear(struct ks_pipeline *p, struct ks_pend *pd);
/* A new entry of (uid, key) with hash h (never 0); NULL: no memory or room. */
struct ks_entry *ks_store_entry_new(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				    const uint8_t *key, uint32_t len, uint32_t n_states,
				    uint64_t maxspan);
/*
 * e's states and key freed, e out of the LRU list and the table: an
 * entry after it in its probe run may move (pointers to entries are
 * stale after this).
 */
void ks_store_entry_free(struct ks_pipeline *p, struct ks_entry *e);
/*
 * Every entry for which drop(p, e, arg) says true freed; drop sees each
 * entry at least once (one moved into a freed slot is seen again: drop
 * must give the same answer twice).
 */
void ks_store_sweep(struct ks_pipeline *p,
		    bool (*drop)(struct ks_pipeline *p, struct ks_entry *e, void *arg), void *arg);

/* ---- free lists (struct ks_pool): inline, every NFA move takes and gives ---- */

static inline size_t pool_class(size_t n)
{
	return (n + KS_POOL_GRAIN - 1) / KS_POOL_GRAIN;
}

/* A block of at least n bytes; what pool_put(n) gave back first. */
static inline void *pool_get(struct ks_pool *pl, size_t n)
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
	if ((size_t)(pl->end - pl->bump) < c * KS_POOL_GRAIN && ks_store_chunk(pl))
		return NULL;
	b = pl->bump;
	pl->bump += c * KS_POOL_GRAIN;
	return b;
}

/* Back to its list; n is the size it was taken with. */
static inline void pool_put(struct ks_pool *pl, void *b, size_t n)
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

/* ---- entries and their states ---- */

static inline size_t packed_size(uint32_t len)
{
	return sizeof(struct ks_packed) + len;
}

/* Bytes an allocation of n bytes costs against max_bytes. */
static inline uint64_t cost(size_t n)
{
	return n + KS_MALLOC_OVERHEAD;
}

/* pk becomes the newest event of pd (which owns it from now on). */
static inline void pend_push(struct ks_pipeline *p, struct ks_pend *pd, struct ks_packed *pk)
{
	pk->prev = pd->last;
	pk->prev_len = pd->last_len;
	pd->last = pk;
	pd->last_len = pk->len;
	pd->n++;
	p->st.bytes += cost(packed_size(pk->len));
}

static inline size_t key_room(uint32_t key_len)
{
	return (key_len + 7) & ~(size_t)7;
}

/* The bytes of e's key and states: in the slot or out of line. */
static inline uint8_t *entry_data(const struct ks_entry *e)
{
	return e->ext ? e->ext : (uint8_t *)e->data;
}

static inline struct ks_pend *entry_states(const struct ks_entry *e)
{
	return (struct ks_pend *)(entry_data(e) + key_room(e->key_len));
}

static inline bool entry_empty(const struct ks_entry *e)
{
	const struct ks_pend *st = entry_states(e);
	uint32_t k;

	for (k = 0; k < e->n_states; k++)
		if (st[k].start)
			return false;
	return true;
}

static inline uint32_t slot_index(const struct ks_pipeline *p, const struct ks_entry *e)
{
	return (uint32_t)(e - p->slots);
}

static inline void lru_unlink(struct ks_pipeline *p, struct ks_entry *e)
{
	if (e->prev != KS_NONE)
		p->slots[e->prev].next = e->next;
	else
		p->lru_head = e->next;
	if (e->next != KS_NONE)
		p->slots[e->next].prev = e->prev;
	else
		p->lru_tail = e->prev;
	e->prev = e->next = KS_NONE;
}

static inline void lru_push(struct ks_pipeline *p, struct ks_entry *e)
{
	uint32_t i = slot_index(p, e);

	e->prev = KS_NONE;
	e->next = p->lru_head;
	if (p->lru_head != KS_NONE)
		p->slots[p->lru_head].prev = i;
	p->lru_head = i;
	if (p->lru_tail == KS_NONE)
		p->lru_tail = i;
}

/* e is the most recently used (already at the head: nothing to write). */
static inline void lru_touch(struct ks_pipeline *p, struct ks_entry *e)
{
	if (p->lru_head == slot_index(p, e))
		return;
	lru_unlink(p, e);
	lru_push(p, e);
}

/* Evict least recently used sequences until the NFA is within max_bytes. */
static inline void trim_memory(struct ks_pipeline *p)
{
	while (p->st.bytes > p->o.max_bytes && p->lru_tail != KS_NONE) {
		ks_store_entry_free(p, &p->slots[p->lru_tail]);
		p->st.evict_memory++;
	}
}

/*
 * Keys of n bytes equal? One of 8 to 16 bytes (a value of up to 11 bytes
 * after its presence byte and length: an entity id, a pid) compares in
 * two overlapping word loads per key, not a libc call.
 */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x0, x1, y0, y1;

	if (n < 8 || n > 16)
		return !memcmp(a, b, n);
	memcpy(&x0, a, 8);
	memcpy(&y0, b, 8);
	memcpy(&x1, a + n - 8, 8);
	memcpy(&y1, b + n - 8, 8);
	return !((x0 ^ y0) | (x1 ^ y1));
}

/* h is never 0 (seq_key()): an empty slot ends the probe. */
static inline struct ks_entry *entry_find(struct ks_pipeline *p, uint32_t uid, uint64_t h,
					  const uint8_t *key, uint32_t len)
{
	size_t m = p->n_slots - 1, i = h & m;
	struct ks_entry *e;

	for (e = &p->slots[i]; e->hash; i = (i + 1) & m, e = &p->slots[i]) {
		if (e->hash == h && e->rule_uid == uid && e->key_len == len &&
		    key_eq(entry_data(e), key, len))
			return e;
	}
	return NULL;
}

/* ---- nfa_join.c: join keys ---- */

/*
 * The interpreter's userspace-only fields (struct ks_interp_ctx's
 * user_str; arg is the pipeline).
 */
bool ks_join_user_str(void *arg, const struct ks_field_info *f, const struct ks_event *ev,
		      const char **s, size_t *len);
/*
 * ev's join key for step s of rule r into p->join_key, its hash into
 * p->join_hash (never 0); false when a key that may not be null is (ev
 * takes no part in the step).
 */
bool ks_join_seq_key(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_rule *r,
		     const struct ks_step *s, const struct ks_event *ev);
/*
 * Join key j of step s as kestrel.join prints it: its name and its value
 * on ev in buf (KS_JOIN_TEXT bytes); < 0 when not printed.
 */
int ks_join_text(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_step *s,
		 uint32_t j, const struct ks_event *ev, const char **name, char *buf);

/* ---- nfa.c: the NFA's moves ---- */

/* ks_nfa_seq_step() flags */
#define KS_SEQ_KERNEL_DONE	(1u << 0)	/* the kernel completed the rule on ev */
#define KS_SEQ_LOST		(1u << 1)	/* ... and ev was lost to the ring buffer */

/* A true step s of a sequence rule on ev: alerts written, or -ENOMEM. */
int ks_nfa_seq_step(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
		    const struct ks_event *ev, unsigned int flags);
/* ev matched filter `step` of a sample rule: noted in sh for ks_nfa_sample_event(). */
void ks_nfa_sample_note(const struct ks_gen *g, struct ks_sample_hits *sh, uint32_t step);
/* ev matched the filters in mask of the sample rule of step s: alerts or -ENOMEM. */
int ks_nfa_sample_event(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
			uint32_t mask, const struct ks_event *ev);

/* ---- alert.c: alerts ---- */

/* rule's metadata as the encoder prints it. */
void ks_alert_rule_meta(const struct ks_gen *g, uint32_t rule, struct ks_alert_meta *meta);
/* Encode and write one alert, count it: 0 or -ENOMEM (counted lost by the output). */
int ks_alert_write(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		   const struct ks_alert_meta *meta, const struct ks_event *const *evs,
		   size_t n, const char *names[], const char *values[], size_t n_join);
/* Room for n unpacked events in p->scratch (grown once, kept); NULL: no memory. */
struct ks_event *ks_alert_scratch(struct ks_pipeline *p, uint32_t n);
/* An alert for rule on the n events evs, completed by done (the join values' event). */
int ks_alert_events(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		    const struct ks_step *s, const struct ks_event *const *evs, size_t n,
		    const struct ks_event *done, bool lost);
/* An alert for rule on last, after the events of prev (NULL: none). */
int ks_alert_emit(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		  const struct ks_step *s, const struct ks_pend *prev,
		  const struct ks_event *last, bool lost);

#endif /* KS_PIPELINE_INT_H */
