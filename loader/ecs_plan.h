/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ECS event encoder's plan and its steps, between loader/ecs_plan.c
 * (which makes the plan from the field catalogue) and loader/
 * ecs_encode.c (the writers, hooks and gates the plan is made of, and
 * the walk of an event through it).
 */
#ifndef KS_ECS_PLAN_H
#define KS_ECS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "ecs_int.h"

#define ECS_PLAN_DEPTH	8

struct enc;	/* ecs_encode.c: one event being written */
struct ecs_step;

/* A step: writes its member (or enters or leaves an object); returns the next step. */
typedef const struct ecs_step *(*ecs_step_fn)(struct enc *e, const struct ecs_step *s);

/*
 * How an object is written: G_SKIP leaves it and its members out, G_LAZY
 * writes it when one of its members is written, G_FORCE writes it even
 * empty (the jansson encoder before this one created it, then its
 * members), G_TEST asks the event (its values, not its presence mask).
 */
enum ecs_gate { G_SKIP, G_LAZY, G_FORCE, G_TEST };

/*
 * What a step does: call its writer, or an object's opening (lazy or
 * forced) and end, which the walk does itself (a call each was a third
 * of the steps of an event, and more than the hand-written encoder's
 * branches they stand for).
 */
enum ecs_step_op { S_CALL, S_LAZY, S_FORCE, S_CLOSE, S_ZERO };

/*
 * Event bytes [off, off + len) which, all 0, make a member write nothing
 * (a number null while 0, an entity key, a string's offset); an object
 * whose members all have them, with its gate's, is passed over in one
 * test of them (S_ZERO), as the hand-written encoder's tests did.
 */
struct ecs_guard {
	uint16_t off;
	uint8_t len;
};

/* A guard as the walk reads it: the 8 bytes at off, of which mask's count. */
struct ecs_zword {
	uint64_t mask;
	uint16_t off;
};

#define ECS_GUARD(member)							\
	{ offsetof(struct ks_event, member), sizeof(((struct ks_event *)0)->member) }

struct ecs_step {
	ecs_step_fn fn;		/* S_CALL */
	const char *key;	/* the name's last component, klen bytes */
	uint16_t klen;
	uint16_t skip;		/* an object's opening: steps to past its end */
	bool always;		/* a member written whenever its step is in the plan */
	uint8_t op;		/* enum ecs_step_op */
	unsigned int id;	/* enum ks_field; an enriched field: KS_ECS_U_* */
	union {
		const struct ks_field_info *f;			/* members */
		enum ecs_gate (*test)(const struct ks_event *ev);	/* G_TEST objects */
		struct { uint16_t first, n; } zero;		/* S_ZERO: guards[] */
	};
};

/* A replayed event: enriched fields other than host.id and destination.domain print. */
#define ECS_HAS_REPLAY	(1ull << 32)

/*
 * The hooks (members that are no plain field, or several at once) by
 * full name; a NULL fn: the member is written by another hook. Names the
 * catalogue does not have are members only the encoder writes. slot: a
 * string field whose KS_P_* bit the hook needs to write anything;
 * always: it writes its member for every event; z: its guard, if any.
 */
struct ecs_hook {
	const char *name;
	ecs_step_fn fn;
	unsigned int slot;
	bool always;
	struct ecs_guard z;
};

/*
 * An object's gate, for the objects printed otherwise than "when one of
 * their members is": with one of bits in the mask (or no bits), with;
 * else without.
 */
struct ecs_gate_def {
	const char *path;
	unsigned int bits;	/* KS_P_* */
	unsigned char with, without;	/* enum ecs_gate */
	enum ecs_gate (*test)(const struct ks_event *ev);	/* for G_TEST */
	/* G_TEST: the bytes whose 0 keeps the test from forcing the
	 * object (len 0: it never does) */
	struct ecs_guard z;
};

extern const struct ecs_hook ks_ecs_hooks[];
extern const size_t ks_ecs_n_hooks;
extern const struct ecs_gate_def ks_ecs_gates[];
extern const size_t ks_ecs_n_gates;

/* The members' writers the plan picks from, by kind (EW_TEST: a G_TEST object's). */
enum ecs_writer {
	EW_NUM, EW_NUM_NZ, EW_ENUM, EW_ENUM_NZ, EW_CAPS, EW_STR, EW_PATH, EW_STR_OPT,
	EW_ENTITY, EW_IP, EW_USER_NUM, EW_USER_BOOL, EW_USER_STR, EW_USER_ARR, EW_TEST,
	EW_HOOK,	/* the hook's own fn */
	EW_N
};

extern const ecs_step_fn ks_ecs_writers[EW_N];

/* The plan of one presence mask. */
struct ecs_plan {
	uint64_t has;
	size_t n, n_guards;
	struct ecs_zword *guards;	/* after the steps: at most two per plan node */
	struct ecs_step steps[];	/* at most three per plan node */
};

/*
 * The plan of ev's presence mask: a cached one, or (past the cache's
 * room) one made for ev, *own, which the caller frees. NULL: no memory.
 */
const struct ecs_plan *ks_ecs_plan(const struct ks_event *ev, struct ecs_plan **own);

#endif /* KS_ECS_PLAN_H */
