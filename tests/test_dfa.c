// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DFA builder: compared with a naive matcher on seeded random patterns and
 * inputs (both case modes, single-start and multi-frame automata), early
 * exit of anchored-only automata, limit errors, determinism, the image built
 * in place (ks_dfa_build_image) equal to the one converted from the
 * state-id table, and build time for 10 .. 10,000 literals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "rules-compiler/dfa.h"
#include "kestrel/dfawalk.h"
#include "testlib.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
	return ks_test_xorshift(&rng_state);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ---- reference: the DFA walk and a naive matcher ---- */

/*
 * Which input positions are frame sentinels (fed by class, as the kernel
 * does) rather than value bytes. random_input() sets it for its inputs;
 * literal inputs frame the first 0x01 and the last 0x02 only.
 */
static uint8_t sentinel[1024];

static void frame_literal(const uint8_t *in, size_t n)
{
	memset(sentinel, 0, sizeof(sentinel));
	if (n && in[0] == 0x01)
		sentinel[0] = 1;
	if (n > 1 && in[n - 1] == 0x02)
		sentinel[n - 1] = 1;
}

static uint32_t walk(const struct ks_dfa *d, uint32_t s, bool fold,
		     const uint8_t *in, size_t n, uint8_t *hit, size_t *steps);

/* A literal input, framed by its first 0x01 and last 0x02. */
static uint32_t lwalk(const struct ks_dfa *d, uint32_t s, bool fold,
		      const char *in, uint8_t *hit, size_t *steps)
{
	frame_literal((const uint8_t *)in, strlen(in));
	return walk(d, s, fold, (const uint8_t *)in, strlen(in), hit, steps);
}

static uint32_t walk(const struct ks_dfa *d, uint32_t s, bool fold,
		     const uint8_t *in, size_t n, uint8_t *hit, size_t *steps)
{
	const uint8_t *cls = fold ? d->cls_fold : d->cls;
	uint32_t v, i, c;
	size_t k;

	for (k = 0; k < n && s; k++) {
		c = !sentinel[k] ? cls[in[k]] :
		    in[k] == 0x01 ? d->cls_begin : d->cls_end;
		s = d->next[(size_t)s * d->n_classes + c];
		if (steps)
			(*steps)++;
		if (s < d->acc_base)
			continue;
		v = d->acc[s - d->acc_base];
		for (i = 0; i < (v & 0xff); i++)
			hit[d->acc_list[(v >> 8) + i]] = 1;
	}
	return s;
}

static bool occurs_at(const uint8_t *in, size_t n, size_t k,
		      const struct ks_dfa_pattern *p, bool fold)
{
	uint32_t j;

	if (k + p->len > n)
		return false;
	for (j = 0; j < p->len; j++) {
		uint8_t a = in[k + j], b = p->bytes[j];

		/* a pattern's 0x01/0x02 is a sentinel, and only a sentinel */
		if ((b == 0x01 || b == 0x02) != !!sentinel[k + j])
			return false;
		if (fold ? lower(a) != lower(b) : a != b)
			return false;
	}
	return true;
}

/*
 * A pattern of a single-start automaton that begins with 0x01 is anchored
 * at the start of the input; anything else matches anywhere.
 */
static void naive(const struct ks_dfa_pattern *pats, size_t n_pats,
		  const struct ks_dfa_automaton *au, uint32_t a,
		  const uint8_t *in, size_t n, uint8_t *hit)
{
	size_t i, k;

	for (i = 0; i < n_pats; i++) {
		const struct ks_dfa_pattern *p = &pats[i];
		bool anchored = au[a].single_start && p->bytes[0] == 0x01;

		if (p->automaton != a)
			continue;
		for (k = 0; k < n && !hit[p->atom]; k++) {
			if (anchored && k)
				break;
			if (occurs_at(in, n, k, p, au[a].mode == KS_CASE_FOLD))
				hit[p->atom] = 1;
		}
	}
}

/* Bytes that make overlaps likely, sentinels and both cases included. */
static const uint8_t alpha[] = "abcAB/.\x01\x02";

static uint8_t rbyte(void)
{
	return alpha[rnd() % (sizeof(alpha) - 1)];
}

struct rset {
	struct ks_dfa_automaton au[4];
	uint32_t n_au;
	struct ks_dfa_pattern pats[64];
	uint8_t buf[64][8];
	uint32_t n_pats;
};

static void random_set(struct rset *r)
{
	uint32_t i, j, kind;

	memset(r, 0, sizeof(*r));
	r->n_au = 1 + rnd() % 4;
	for (i = 0; i < r->n_au; i++) {
		r->au[i].mode = rnd() % 2 ? KS_CASE_FOLD : KS_CASE_EXACT;
		r->au[i].single_start = rnd() % 3 != 0;
	}
	r->n_pats = 1 + rnd() % 64;
	for (i = 0; i < r->n_pats; i++) {
		struct ks_dfa_pattern *p = &r->pats[i];
		uint32_t len = 1 + rnd() % 6;

		p->automaton = rnd() % r->n_au;
		/* atoms shared now and then: one atom, several patterns */
		p->atom = rnd() % 8 ? i : 0;
		for (j = 0; j < len; j++)
			r->buf[i][j] = rbyte();
		kind = rnd() % 4;	/* EQ, PREFIX, SUFFIX, CONTAINS shapes */
		if (kind == 0 || kind == 1)
			r->buf[i][0] = 0x01;
		if (kind == 0 || kind == 2)
			r->buf[i][len++] = 0x02;
		if (r->au[p->automaton].single_start)
			for (j = 1; j < len; j++)
				if (r->buf[i][j] == 0x01)
					r->buf[i][j] = 'a';
		p->bytes = r->buf[i];
		p->len = len;
	}
}

/* Input as the kernel frames it: one frame, or several for arrays. */
static size_t random_input(const struct ks_dfa_automaton *au, uint8_t *in)
{
	size_t n = 0, frames = au->single_start ? 1 : 1 + rnd() % 3, f, k, len;

	memset(sentinel, 0, sizeof(sentinel));
	for (f = 0; f < frames; f++) {
		sentinel[n] = 1;
		in[n++] = 0x01;
		len = rnd() % 12;
		for (k = 0; k < len; k++) {
			uint8_t b = rbyte();

			/* a stray 0x01 inside a value is allowed but rare */
			if (b == 0x01 && rnd() % 4)
				b = 'c';
			in[n++] = b;
		}
		sentinel[n] = 1;
		in[n++] = 0x02;
	}
	return n;
}

static void check_structure(const struct ks_dfa *d)
{
	size_t i, cells = (size_t)d->n_states * d->n_classes;
	uint32_t s, v, j;
	int b;

	for (b = 0; b < 256; b++)
		assert_int_equal(d->cls_fold[b], d->cls[lower(b)]);
	for (i = 0; i < cells; i++)
		assert_true(d->next[i] < d->n_states);
	for (i = 0; i < d->n_classes; i++)
		assert_int_equal(d->next[i], 0);
	for (s = d->acc_base; s < d->n_states; s++) {
		v = d->acc[s - d->acc_base];
		assert_true((v & 0xff) > 0);
		assert_true((v >> 8) + (v & 0xff) <= d->n_acc_list);
		for (j = 1; j < (v & 0xff); j++)
			assert_true(d->acc_list[(v >> 8) + j - 1] <
				    d->acc_list[(v >> 8) + j]);
	}
}

static void test_random_vs_naive(void **state)
{
	uint8_t in[128], got[64], want[64];
	struct rset r;
	struct ks_dfa d;
	char err[256];
	size_t n, cases = 0;
	uint32_t t, a, k;

	rng_state = 0x5eed1234abcdull;
	for (t = 0; t < 400; t++) {
		random_set(&r);
		assert_int_equal(ks_dfa_build(r.pats, r.n_pats, r.au, r.n_au,
					      NULL, &d, err, sizeof(err)), 0);
		check_structure(&d);
		for (k = 0; k < 50; k++) {
			a = rnd() % r.n_au;
			n = random_input(&r.au[a], in);
			memset(got, 0, sizeof(got));
			memset(want, 0, sizeof(want));
			walk(&d, d.start[a], r.au[a].mode == KS_CASE_FOLD, in,
			     n, got, NULL);
			naive(r.pats, r.n_pats, r.au, a, in, n, want);
			if (memcmp(got, want, sizeof(got))) {
				print_error("trial %u input %u: automaton %u mode %d single %d\n",
					    t, k, a, r.au[a].mode,
					    r.au[a].single_start);
				fail();
			}
			cases++;
		}
		ks_dfa_free(&d);
	}
	print_message("dfa vs naive: %zu inputs over 400 random pattern sets\n",
		      cases);
}

/*
 * ks_dfa_build_image (the compiler's path: rows written as image cells into
 * the tables) and ks_dfa_build + ks_dfa_image_build (state ids, converted)
 * give the same header and the same bytes, whatever the table held before;
 * a table too small for the DFA is refused.
 */
static void test_image_in_place(void **state)
{
	static uint32_t tab[1u << 16];
	struct ks_dfa_image img;
	struct ks_dfa_hdr hdr;
	struct ks_dfa d, di;
	struct rset r;
	char err[256];
	size_t used;
	uint32_t t;

	rng_state = 0x1a6e5eedull;
	for (t = 0; t < 400; t++) {
		random_set(&r);
		assert_int_equal(ks_dfa_build(r.pats, r.n_pats, r.au, r.n_au, NULL, &d, err,
					      sizeof(err)), 0);
		assert_int_equal(ks_dfa_image_build(&d, &img, err, sizeof(err)), 0);
		memset(tab, 0xab, sizeof(tab));	/* every cell must be written */
		assert_int_equal(ks_dfa_build_image(r.pats, r.n_pats, r.au, r.n_au, NULL, &di,
						    tab, sizeof(tab), err, sizeof(err)), 0);
		assert_null(di.next);
		assert_int_equal(ks_dfa_image_hdr(&di, &hdr, err, sizeof(err)), 0);
		ks_dfa_image_begun(&hdr, tab);	/* as lower.c */
		assert_memory_equal(&hdr, &img.hdr, sizeof(hdr));
		used = (size_t)hdr.n_states * hdr.row_bytes;
		assert_memory_equal(tab, img.tab, used);
		if (used > 4) {
			ks_dfa_free(&di);
			assert_int_equal(ks_dfa_build_image(r.pats, r.n_pats, r.au, r.n_au, NULL,
							    &di, tab, used - 4, err,
							    sizeof(err)), -1);
			assert_non_null(strstr(err, "the table holds"));
		}
		ks_dfa_image_free(&img);
		ks_dfa_free(&d);
		ks_dfa_free(&di);
	}
}

#define PAT(a, s, at) { (const uint8_t *)(s), sizeof(s) - 1, (a), (at) }

static void test_single_start_early_exit(void **state)
{
	static const struct ks_dfa_pattern pats[] = {
		PAT(0, "\x01/bin/sh\x02", 0),
		PAT(0, "\x01/tmp/", 1),
		PAT(1, "\x01/tmp/", 2),
		PAT(1, "evil", 3),
		PAT(2, "\x01/tmp/", 4),
	};
	struct ks_dfa_automaton au[] = {
		{ KS_CASE_EXACT, true },
		{ KS_CASE_EXACT, true },
		{ KS_CASE_EXACT, false },
	};
	const char *in = "\x01/usr/lib/x86_64-linux-gnu/libc.so.6\x02";
	uint8_t hit[8] = { 0 };
	struct ks_dfa d;
	char err[256];
	size_t steps = 0;
	uint32_t s;

	assert_int_equal(ks_dfa_build(pats, 5, au, 3, NULL, &d, err,
				      sizeof(err)), 0);
	/* anchored only: dead after "\x01/u" */
	s = lwalk(&d, d.start[0], false, in, hit, &steps);
	assert_int_equal(s, 0);
	assert_int_equal(steps, 3);
	/* a contains pattern keeps the walk alive to the end */
	steps = 0;
	s = lwalk(&d, d.start[1], false, in, hit, &steps);
	assert_int_not_equal(s, 0);
	assert_int_equal(steps, strlen(in));
	/* multi-frame automata are complete: never dead */
	steps = 0;
	s = lwalk(&d, d.start[2], false, in, hit, &steps);
	assert_int_not_equal(s, 0);
	/*
	 * A raw 0x01 inside a value is a value byte, not a frame start: it
	 * neither re-anchors nor begins an array element (the kernel feeds
	 * sentinels by class, and raw 0x01/0x02 map to the "other" class).
	 */
	memset(hit, 0, sizeof(hit));
	in = "\x01/x\x01/tmp/a\x02";
	lwalk(&d, d.start[0], false, in, hit, NULL);
	lwalk(&d, d.start[1], false, in, hit, NULL);
	assert_int_equal(hit[1] + hit[2], 0);
	lwalk(&d, d.start[2], false, in, hit, NULL);
	assert_int_equal(hit[4], 0);
	ks_dfa_free(&d);
}

/*
 * The need filter (maps/ks_dfa.h): a value it rules out makes no walk of
 * its automaton accept, over random pattern sets (automaton f * 2 + mode,
 * as lower.c numbers them); and on fixed sets it rules out what it must.
 */
static void test_need_filter(void **state)
{
	uint8_t in[128], val[128], got[64], zero[64] = { 0 };
	struct ks_dfa_image img;
	struct ks_dfa_hdr hdr;
	struct rset r;
	struct ks_dfa d;
	char err[256];
	size_t n, nv, i, ruled = 0, cases = 0;
	uint32_t t, a, k, bad;

	rng_state = 0x6eedf11e5eedull;
	for (t = 0; t < 400; t++) {
		random_set(&r);
		for (a = 0; a < r.n_au; a++)
			r.au[a].mode = a % KS_CASE_N ? KS_CASE_FOLD : KS_CASE_EXACT;
		assert_int_equal(ks_dfa_build(r.pats, r.n_pats, r.au, r.n_au, NULL, &d, err,
					      sizeof(err)), 0);
		assert_int_equal(ks_dfa_image_build(&d, &img, err, sizeof(err)), 0);
		hdr = img.hdr;
		ks_dfa_image_need(&hdr, r.pats, r.n_pats);
		/* the proof over every value, not only these samples */
		assert_int_equal(ks_dfa_need_prove(&hdr, img.tab, &bad, err, sizeof(err)), 0);
		ks_dfa_image_free(&img);
		for (k = 0; k < 50; k++, cases++) {
			a = rnd() % r.n_au;
			n = random_input(&r.au[a], in);
			for (i = 0, nv = 0; i < n; i++)
				if (!sentinel[i])
					val[nv++] = in[i];
			if (ks_dfa_need_any(&hdr.autos[a / KS_CASE_N][a % KS_CASE_N], val, nv))
				continue;
			memset(got, 0, sizeof(got));
			walk(&d, d.start[a], r.au[a].mode == KS_CASE_FOLD, in, n, got, NULL);
			assert_memory_equal(got, zero, sizeof(got));
			ruled++;
		}
		ks_dfa_free(&d);
	}
	print_message("need filter: %zu of %zu inputs ruled out, none a match\n", ruled, cases);
	assert_true(ruled > cases / 50);	/* 824 of 20,000 at this seed */
}

static void test_need_filter_fixed(void **state)
{
	static const struct ks_dfa_pattern pats[] = {
		PAT(2, "\x01/opt/qz/bin/x\x02", 0),	/* process.executable, exact */
		PAT(3, "\x01/srv/", 1),			/* process.executable, folded */
		PAT(5, "zz", 2),			/* process.name, folded ... */
		PAT(5, "\x01\x02", 3),			/* ... and empty: no filter */
	};
	struct ks_dfa_automaton au[6];
	const struct ks_dfa_auto *ex, *fo;
	struct ks_dfa_hdr hdr;
	struct ks_dfa d;
	char err[256];
	uint32_t a;

	for (a = 0; a < 6; a++)
		au[a] = (struct ks_dfa_automaton){ a % 2 ? KS_CASE_FOLD : KS_CASE_EXACT, true };
	assert_int_equal(ks_dfa_build(pats, 4, au, 6, NULL, &d, err, sizeof(err)), 0);
	assert_int_equal(ks_dfa_image_hdr(&d, &hdr, err, sizeof(err)), 0);
	ks_dfa_image_need(&hdr, pats, 4);
	ex = &hdr.autos[1][0];
	fo = &hdr.autos[1][1];
#define NEED(au, s) ks_dfa_need_any((au), (const uint8_t *)(s), strlen(s))
	assert_false(NEED(ex, "/bin/true"));
	assert_true(NEED(ex, "/opt/qz/bin/x"));
	assert_false(NEED(fo, "/bin/true"));
	assert_true(NEED(fo, "/SRV/a"));		/* folded: either case */
	assert_true(NEED(fo, "/bin/\xc3\xa9"));	/* bytes from 128 on: needed */
	assert_true(NEED(&hdr.autos[2][1], "/bin/true"));
	assert_true(NEED(ex, ""));			/* an empty value is walked */
#undef NEED
	ks_dfa_free(&d);
}

/*
 * The proof (dfa_need.c) holds for the filters the compiler makes and
 * refutes one that skips a byte a pattern needs: every byte below 128
 * skipped for process.executable (exact) lets "/opt/qz/bin/x" through.
 */
static void test_need_proof(void **state)
{
	static const struct ks_dfa_pattern pats[] = {
		PAT(2, "\x01/opt/qz/bin/x\x02", 0),
		PAT(3, "\x01/srv/", 1),
		PAT(5, "zz", 2),
		PAT(2 * KS_F_PROCESS_COMMAND_LINE, "a b", 3),	/* NUL reads ' ' */
	};
	struct ks_dfa_automaton au[2 * KS_F_PROCESS_COMMAND_LINE + 2];
	struct ks_dfa_image img;
	struct ks_dfa d;
	char err[256];
	uint32_t a, bad = ~0u;

	for (a = 0; a < sizeof(au) / sizeof(au[0]); a++)
		au[a] = (struct ks_dfa_automaton){ a % 2 ? KS_CASE_FOLD : KS_CASE_EXACT, true };
	assert_int_equal(ks_dfa_build(pats, 4, au, sizeof(au) / sizeof(au[0]), NULL, &d, err, sizeof(err)),
			 0);
	assert_int_equal(ks_dfa_image_build(&d, &img, err, sizeof(err)), 0);
	ks_dfa_image_need(&img.hdr, pats, 4);
	assert_int_equal(ks_dfa_need_prove(&img.hdr, img.tab, &bad, err, sizeof(err)), 0);
	memset(img.hdr.autos[1][0].skip, 0xff, sizeof(img.hdr.autos[1][0].skip));
	assert_int_equal(ks_dfa_need_prove(&img.hdr, img.tab, &bad, err, sizeof(err)), 1);
	assert_int_equal(bad, 2);
	ks_dfa_image_free(&img);
	ks_dfa_free(&d);
}

static void test_fold(void **state)
{
	static const struct ks_dfa_pattern pats[] = {
		PAT(0, "\x01" "C:\\Windows", 0),
		PAT(1, "\x01" "C:\\Windows", 1),
	};
	struct ks_dfa_automaton au[] = {
		{ KS_CASE_EXACT, true },
		{ KS_CASE_FOLD, true },
	};
	const char *in = "\x01" "c:\\WINDOWS\\system32\x02";
	uint8_t hit[2] = { 0 };
	struct ks_dfa d;
	char err[256];

	assert_int_equal(ks_dfa_build(pats, 2, au, 2, NULL, &d, err,
				      sizeof(err)), 0);
	lwalk(&d, d.start[0], false, in, hit, NULL);
	lwalk(&d, d.start[1], true, in, hit, NULL);
	assert_int_equal(hit[0], 0);
	assert_int_equal(hit[1], 1);
	ks_dfa_free(&d);
}

static void test_empty_and_unused(void **state)
{
	static const struct ks_dfa_pattern pats[] = { PAT(1, "abc", 7) };
	struct ks_dfa_automaton au[3] = { { KS_CASE_EXACT, true },
					  { KS_CASE_EXACT, true },
					  { KS_CASE_FOLD, false } };
	struct ks_dfa d;
	char err[256];

	assert_int_equal(ks_dfa_build(NULL, 0, au, 3, NULL, &d, err,
				      sizeof(err)), 0);
	assert_int_equal(d.n_states, 1);
	assert_int_equal(d.start[0], 0);
	ks_dfa_free(&d);
	assert_int_equal(ks_dfa_build(pats, 1, au, 3, NULL, &d, err,
				      sizeof(err)), 0);
	assert_int_equal(d.start[0], 0);
	assert_int_not_equal(d.start[1], 0);
	assert_int_equal(d.start[2], 0);
	ks_dfa_free(&d);
}

static void expect_error(const struct ks_dfa_pattern *pats, size_t n,
			 const struct ks_dfa_automaton *au, size_t n_au,
			 const struct ks_dfa_limits *lim, const char *limit,
			 const char *value)
{
	struct ks_dfa d;
	char err[256] = "";

	assert_int_equal(ks_dfa_build(pats, n, au, n_au, lim, &d, err,
				      sizeof(err)), -1);
	print_message("  %s\n", err);
	assert_non_null(strstr(err, limit));
	assert_non_null(strstr(err, value));
	assert_null(d.next);
}

static void test_limits(void **state)
{
	struct ks_dfa_automaton au[1] = { { KS_CASE_EXACT, true } };
	struct ks_dfa_pattern pats[300];
	struct ks_dfa_limits lim;
	uint8_t buf[300][4];
	uint32_t i;

	for (i = 0; i < 300; i++) {
		buf[i][0] = 0x01;
		buf[i][1] = 'a' + i % 26;
		buf[i][2] = 'a' + i / 26;
		buf[i][3] = 0x02;
		pats[i] = (struct ks_dfa_pattern){ buf[i], 4, 0, i };
	}
	/* trie: root, "\x01", 26 + 300 + 300 nodes: over 500 states */
	memset(&lim, 0, sizeof(lim));
	lim.max_states = 500;
	expect_error(pats, 300, au, 1, &lim, "KS_MAX_STATES", "500");
	/* exact count when the trie fits but the numbered DFA does not */
	lim.max_states = 628;
	expect_error(pats, 300, au, 1, &lim, "KS_MAX_STATES", "629");
	memset(&lim, 0, sizeof(lim));
	lim.max_cells = 1000;
	expect_error(pats, 300, au, 1, &lim, "KS_DFA_CELLS", "cells");
	memset(&lim, 0, sizeof(lim));
	lim.max_acc_list = 100;
	expect_error(pats, 300, au, 1, &lim, "KS_MAX_ACC_LIST", "100");
	memset(&lim, 0, sizeof(lim));
	lim.max_classes = 10;
	expect_error(pats, 300, au, 1, &lim, "KS_MAX_CLASSES", "29");
	/* 300 atoms on one pattern: one state accepts all of them */
	for (i = 0; i < 300; i++)
		pats[i].bytes = buf[0];
	expect_error(pats, 300, au, 1, NULL, "KS_MAX_ACC_PER_STATE", "300");
	/* 0x01 inside a single-start pattern */
	buf[0][2] = 0x01;
	expect_error(pats, 1, au, 1, NULL, "0x01", "single-start");
}

/* Literals of min..max bytes over a path-like alphabet, in EQ, PREFIX,
 * SUFFIX and CONTAINS shapes, spread over six automata. */
static void gen_literals(uint32_t n, uint32_t min, uint32_t max,
			 struct ks_dfa_pattern *pats, uint8_t (*buf)[24])
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789/._-";
	uint32_t i, j, len, kind;

	for (i = 0; i < n; i++) {
		len = min + rnd() % (max - min + 1);
		kind = rnd() % 4;
		j = 0;
		if (kind <= 1)
			buf[i][j++] = 0x01;
		for (; j < len; j++)
			buf[i][j] = set[rnd() % (sizeof(set) - 1)];
		if (kind == 0 || kind == 2)
			buf[i][len++] = 0x02;
		pats[i] = (struct ks_dfa_pattern){ buf[i], len, rnd() % 6, i };
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Six automata: four exact single-start fields, args, one folded. */
static const struct ks_dfa_automaton bench_au[6] = {
	{ KS_CASE_EXACT, true }, { KS_CASE_EXACT, true },
	{ KS_CASE_EXACT, true }, { KS_CASE_EXACT, true },
	{ KS_CASE_EXACT, false }, { KS_CASE_FOLD, true },
};

static int timed_build(const struct ks_dfa_pattern *pats, uint32_t n,
		       const struct ks_dfa_limits *lim, struct ks_dfa *d,
		       double *dt, char *err, size_t errlen)
{
	double t0 = now();
	int ret = ks_dfa_build(pats, n, bench_au, 6, lim, d, err, errlen);

	*dt = now() - t0;
	return ret;
}

/*
 * Build time and size for 10 .. 10,000 random literals of 4..16 bytes.
 * Random literals share few prefixes: 10,000 of them need more states
 * than u16 ids allow, so that size is also timed with 3..8 byte literals
 * and without the KS_DFA_CELLS limit, to show the builder's speed. The
 * times are printed, not asserted: a unit test on a shared machine is no
 * timer (make bench's dfa.compile.* figures are); every size must build.
 */
static void test_scale(void **state)
{
	static const uint32_t sizes[] = { 10, 100, 1000, 10000 };
	struct ks_dfa_pattern *pats = calloc(10000, sizeof(*pats));
	uint8_t (*buf)[24] = calloc(10000, sizeof(*buf));
	struct ks_dfa_limits big = { .max_cells = UINT32_MAX };
	uint32_t i, min = 4, max = 16;
	const char *note = "";
	struct ks_dfa d;
	char err[256];
	double dt;

	for (i = 0; i < 4; i++) {
		rng_state = 0xbe11c0de + i;
		gen_literals(sizes[i], min, max, pats, buf);
		if (timed_build(pats, sizes[i], NULL, &d, &dt, err, sizeof(err))) {
			print_message("%5u literals (%u..%u bytes): %s (%.1f ms)\n",
				      sizes[i], min, max, err, dt * 1e3);
			if (timed_build(pats, sizes[i], &big, &d, &dt, err,
					sizeof(err))) {
				min = 3;
				max = 8;
				gen_literals(sizes[i], min, max, pats, buf);
				if (timed_build(pats, sizes[i], &big, &d, &dt,
						err, sizeof(err)))
					break;
			}
			note = " (beyond KS_DFA_CELLS)";
		}
		print_message("%5u literals (%u..%u bytes): %6u states %3u classes %8zu DFA bytes build %6.1f ms%s\n",
			      sizes[i], min, max, d.n_states, d.n_classes,
			      (size_t)d.n_states * d.n_classes * 2, dt * 1e3,
			      note);
		ks_dfa_free(&d);
	}
	free(pats);
	free(buf);
	assert_int_equal(i, 4);
}

static void test_deterministic(void **state)
{
	struct ks_dfa a, b;
	struct rset r;
	char err[256];
	uint32_t t;

	rng_state = 42;
	for (t = 0; t < 50; t++) {
		random_set(&r);
		assert_int_equal(ks_dfa_build(r.pats, r.n_pats, r.au, r.n_au,
					      NULL, &a, err, sizeof(err)), 0);
		assert_int_equal(ks_dfa_build(r.pats, r.n_pats, r.au, r.n_au,
					      NULL, &b, err, sizeof(err)), 0);
		assert_int_equal(a.n_states, b.n_states);
		assert_int_equal(a.n_classes, b.n_classes);
		assert_int_equal(a.acc_base, b.acc_base);
		assert_int_equal(a.n_acc_list, b.n_acc_list);
		assert_memory_equal(a.cls, b.cls, 256);
		assert_memory_equal(a.next, b.next,
				    (size_t)a.n_states * a.n_classes * 2);
		assert_memory_equal(a.start, b.start, r.n_au * 4);
		assert_memory_equal(a.acc, b.acc,
				    (a.n_states - a.acc_base) * 4);
		assert_memory_equal(a.acc_list, b.acc_list, a.n_acc_list * 2);
		ks_dfa_free(&a);
		ks_dfa_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_naive),
		cmocka_unit_test(test_single_start_early_exit),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_need_filter),
		cmocka_unit_test(test_need_filter_fixed),
		cmocka_unit_test(test_need_proof),
		cmocka_unit_test(test_empty_and_unused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_image_in_place),
		cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
