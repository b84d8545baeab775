// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The DFA image (dfa_image.c) and its walk model (dfawalk.c) against a
 * naive matcher: every literal that occurs in the input is hit and no
 * other, with 1, 2 and 4 interleaved walks (the plan of maps/ks_dfa.h),
 * case-folded and exact, literals planted across segment boundaries;
 * the interleaving plan itself covers every byte exactly once past the
 * overlaps; frames without a sentinel match no anchored pattern on that
 * side (cut paths); and a set too large for the image is refused with a
 * message. The FDR-style prefilter's model (fdr.c) with the DFA as its
 * confirm hits the same literals, on payloads that give it up too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kestrel/dfawalk.h"
#include "kestrel/fdr.h"
#include "rules-compiler/dfa.h"
#include "testlib.h"

#define N_LITS	300
#define MAX_IN	1600
#define ROUNDS	1000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	return ks_test_xorshift(&rng_state) % n;
}

static uint8_t fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool occurs(const uint8_t *p, uint32_t n, const uint8_t *l, uint32_t len, bool fl)
{
	uint32_t i, j;

	for (i = 0; i + len <= n; i++) {
		for (j = 0; j < len; j++)
			if (fl ? fold(p[i + j]) != fold(l[j]) : p[i + j] != l[j])
				break;
		if (j == len)
			return true;
	}
	return false;
}

/* The prefilter's hits on the first KS_PAYLOAD_MAX bytes (what it scans). */
static void check_fdr(const struct ks_fdr *f, const struct ks_dfa_view *v, uint32_t mode,
		      uint8_t **lits, const uint32_t *lens, const uint8_t *in, uint32_t n,
		      struct ks_walk *w, struct ks_fdr_stats *st, uint32_t n_lits)
{
	uint32_t i;

	if (n > KS_PAYLOAD_MAX)
		n = KS_PAYLOAD_MAX;
	ks_walk_begin(w);
	ks_fdr_walk(f, v, KS_F_PAYLOAD, mode, mode, in, n, w, st);
	for (i = 0; i < n_lits; i++)
		assert_int_equal(ks_walk_is_hit(w, i), n && occurs(in, n, lits[i], lens[i], mode));
}

static void check_mode(uint32_t mode)
{
	static const uint8_t alpha[] = "abAB/.\x00\xfe\x7f ";
	uint8_t *lits[N_LITS], in[MAX_IN];
	uint32_t lens[N_LITS], i, j, k, r, n, walks;
	struct ks_dfa_image img;
	struct ks_fdr_stats st[2 * KS_FDR_SPLITS] = {};
	struct ks_fdr fdr[2 * KS_FDR_SPLITS];	/* by key (pairs, triples), then split */
	struct ks_dfa_view v;
	struct ks_walk *w = calloc(1, sizeof(*w));
	char err[256];

	for (i = 0; i < N_LITS; i++) {
		lens[i] = 1 + rnd(i % 9 ? 8 : 51);
		lits[i] = malloc(lens[i]);
		for (j = 0; j < lens[i]; j++)
			lits[i][j] = alpha[rnd(sizeof(alpha) - 1)];
	}
	assert_int_equal(ks_dfa_image_literals((const uint8_t *const *)lits, lens, N_LITS,
					       KS_F_PAYLOAD, mode, &img, err, sizeof(err)), 0);
	for (k = 0; k < 2 * KS_FDR_SPLITS; k++) {
		assert_int_equal(ks_fdr_build_split((const uint8_t *const *)lits, lens, N_LITS,
						    mode, k / KS_FDR_SPLITS, k % KS_FDR_SPLITS,
						    &fdr[k], err, sizeof(err)), 0);
		assert_int_equal(fdr[k].key, k / KS_FDR_SPLITS);
	}
	v.hdr = &img.hdr;
	v.tab = img.tab;
	v.acc_list = img.acc_list;
	ks_walk_init(w);
	for (r = 0; r < ROUNDS; r++) {
		bool dense = !rnd(4);	/* the literals' bytes: the prefilter gives up */

		n = rnd(MAX_IN + 1);
		for (j = 0; j < n; j++)
			in[j] = dense ? alpha[rnd(sizeof(alpha) - 1)] : "xyz0123"[rnd(7)];
		for (k = rnd(8); k && n; k--) {
			i = rnd(N_LITS);
			if (lens[i] <= n)
				memcpy(in + rnd(n - lens[i] + 1), lits[i], lens[i]);
		}
		for (walks = 1; walks <= 4; walks *= 2) {
			ks_walk_begin(w);
			ks_dfa_walk_plain(&v, KS_F_PAYLOAD, mode, mode, in, n, walks, w);
			for (i = 0; i < N_LITS; i++)
				assert_int_equal(ks_walk_is_hit(w, i),
						 n && occurs(in, n, lits[i], lens[i], mode));
		}
		for (k = 0; k < 2 * KS_FDR_SPLITS; k++)
			check_fdr(&fdr[k], &v, mode, lits, lens, in, n, w, &st[k], N_LITS);
	}
	for (k = 0; k < 2 * KS_FDR_SPLITS; k++) {
		assert_true(st[k].aborts > 0 && st[k].aborts < ROUNDS);	/* both ways taken */
		ks_fdr_free(&fdr[k]);
	}
	ks_dfa_image_free(&img);
	for (i = 0; i < N_LITS; i++)
		free(lits[i]);
	free(w);
}

static void test_exact(void **state)
{
	check_mode(KS_CASE_EXACT);
}

static void test_fold(void **state)
{
	check_mode(KS_CASE_FOLD);
}

/*
 * A sparse set (few short literals over all byte values), so every lane
 * of the prefilter decides: each literal of 2..7 bytes planted at the
 * input's first byte, its last and in between, through both keys, both
 * case modes; the hits must be the literals that occur.
 */
#define N_SPARSE	12

static void check_sparse(uint32_t mode, uint32_t key)
{
	uint8_t *lits[N_SPARSE], in[200];
	uint32_t lens[N_SPARSE], i, j, r, n, at;
	struct ks_fdr_stats st = {};
	struct ks_dfa_image img;
	struct ks_fdr fdr;
	struct ks_dfa_view v;
	struct ks_walk *w = calloc(1, sizeof(*w));
	char err[256];

	for (i = 0; i < N_SPARSE; i++) {
		lens[i] = 2 + i % 6;
		lits[i] = malloc(lens[i]);
		for (j = 0; j < lens[i]; j++)
			lits[i][j] = 'a' + rnd(26);
	}
	assert_int_equal(ks_dfa_image_literals((const uint8_t *const *)lits, lens, N_SPARSE,
					       KS_F_PAYLOAD, mode, &img, err, sizeof(err)), 0);
	assert_int_equal(ks_fdr_build_key((const uint8_t *const *)lits, lens, N_SPARSE, mode, key,
					  &fdr, err, sizeof(err)), 0);
	v.hdr = &img.hdr;
	v.tab = img.tab;
	v.acc_list = img.acc_list;
	ks_walk_init(w);
	for (r = 0; r < 3000; r++) {
		i = r % N_SPARSE;
		n = lens[i] + rnd(sizeof(in) - lens[i] + 1);
		for (j = 0; j < n; j++)
			in[j] = '0' + rnd(10);
		at = r % 3 == 0 ? 0 : r % 3 == 1 ? n - lens[i] : rnd(n - lens[i] + 1);
		for (j = 0; j < lens[i]; j++)
			in[at + j] = mode == KS_CASE_FOLD && rnd(2) ? lits[i][j] - 32 : lits[i][j];
		check_fdr(&fdr, &v, mode, lits, lens, in, n, w, &st, N_SPARSE);
	}
	assert_true(st.cands > 0);
	ks_fdr_free(&fdr);
	ks_dfa_image_free(&img);
	for (i = 0; i < N_SPARSE; i++)
		free(lits[i]);
	free(w);
}

static void test_sparse(void **state)
{
	uint32_t mode, key;

	for (mode = 0; mode < KS_CASE_N; mode++)
		for (key = KS_FDR_KEY_PAIR; key <= KS_FDR_KEY_TRIPLE; key++)
			check_sparse(mode, key);
}

/* Walk k's segment ends where walk k + 1's own bytes begin, past its overlap. */
static void test_plan(void **state)
{
	struct ks_dfa_plan pl;
	uint32_t n, ov, w, k;

	for (n = 0; n < 2000; n += 7)
		for (ov = 0; ov < 80; ov += 13)
			for (w = 1; w <= 4; w *= 2) {
				ks_dfa_plan(n, ov, 1, w, &pl);
				assert_true(pl.walks == w || pl.walks == 1);
				assert_true(pl.lock <= pl.seg);
				assert_true(pl.seg - pl.lock < pl.walks);
				for (k = 0; k + 1 < pl.walks; k++)
					assert_int_equal(pl.start[k] + pl.seg, pl.start[k + 1] + ov);
				assert_int_equal(pl.start[pl.walks - 1] + pl.lock, n);
			}
	ks_dfa_plan(5000, 10, 0, 4, &pl);
	assert_int_equal(pl.walks, 1);	/* dead root: only the first walk can match */
}

/*
 * Frames (a cut path's head and tail, maps/ks_dfa.h KS_DFA_FR_*): a walk
 * without the begin sentinel matches no prefix or equality, one without
 * the end sentinel no suffix or equality; with 1 walk and with 4.
 */
static void check_frame(const struct ks_dfa_view *v, const uint8_t *in, uint32_t n,
			uint32_t frame, bool prefix, bool suffix, bool equal)
{
	struct ks_walk *w = calloc(1, sizeof(*w));

	ks_walk_init(w);
	ks_walk_begin(w);
	ks_dfa_walk_frame(v, KS_F_FILE_PATH, KS_CASE_EXACT, KS_DFA_COL_EXACT, in, n, 4, frame, w);
	assert_int_equal(ks_walk_is_hit(w, 0), prefix);
	assert_int_equal(ks_walk_is_hit(w, 1), suffix);
	assert_int_equal(ks_walk_is_hit(w, 2), equal);
	assert_true(ks_walk_is_hit(w, 3));	/* "zz" is anywhere */
	free(w);
}

static void test_frames(void **state)
{
	static const uint8_t *const lits[] = {
		(const uint8_t *)"\x01/tmp/", (const uint8_t *)".so\x02",
		(const uint8_t *)"\x01/tmp/zz.so\x02", (const uint8_t *)"zz",
	};
	const uint32_t lens[] = { 6, 4, 12, 2 }, all = KS_DFA_FR_BEGIN | KS_DFA_FR_END;
	uint8_t in[600];
	struct ks_dfa_image img;
	struct ks_dfa_view v;
	char err[256];

	assert_int_equal(ks_dfa_image_literals(lits, lens, 4, KS_F_FILE_PATH, KS_CASE_EXACT,
					       &img, err, sizeof(err)), 0);
	v = (struct ks_dfa_view){ &img.hdr, img.tab, img.acc_list };
	memcpy(in, "/tmp/zz.so", 10);
	check_frame(&v, in, 10, all, true, true, true);
	check_frame(&v, in, 10, KS_DFA_FR_BEGIN, true, false, false);
	check_frame(&v, in, 10, KS_DFA_FR_END, false, true, false);
	/* 600 bytes: 4 walks, the prefix in the first, the suffix in the last */
	memcpy(in, "/tmp/", 5);
	memset(in + 5, 'z', sizeof(in) - 8);
	memcpy(in + sizeof(in) - 3, ".so", 3);
	check_frame(&v, in, sizeof(in), all, true, true, false);
	check_frame(&v, in, sizeof(in), KS_DFA_FR_BEGIN, true, false, false);
	check_frame(&v, in, sizeof(in), KS_DFA_FR_END, false, true, false);
	ks_dfa_image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_sparse),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
