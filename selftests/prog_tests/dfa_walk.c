// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel walk over the DFA image (bpf/ks_dfa.bpf.h, through the lab
 * program) against its C model (rules-compiler/dfawalk.c, same hits in
 * the same order) and against a brute-force oracle (every literal that
 * occurs in the payload, case-folded or exact, and no other), with 1, 2
 * and 4 interleaved walks, on payloads of 0..1500 bytes with literals
 * planted anywhere (across segment boundaries too) and binary bytes.
 * The same for the FDR-style prefilter with the DFA as its confirm
 * (maps/ks_fdr.h): kernel hits == its C model's (rules-compiler/fdr.c, in
 * order) and, as a set, == the DFA walk's == the oracle's.
 * Prints the verifier's instruction count and the load time per program.
 */
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/dfa_lab.h"
#include "kestrel/fdr.h"
#include "rules-compiler/dfa.h"
#include "test_progs.h"

#define N_LITS		400
#define N_PACKETS	60
#define MAX_PAY		1500

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 33) % n;
}

/* Few distinct bytes, so literals overlap and share prefixes and suffixes. */
static uint8_t rbyte(void)
{
	static const uint8_t a[] = "abcABC./\x00\xff\x03\x7f ";

	return a[rnd(sizeof(a) - 1)];
}

static uint8_t fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool occurs(const uint8_t *p, uint32_t n, const uint8_t *lit, uint32_t len, bool fl)
{
	uint32_t i, j;

	for (i = 0; i + len <= n; i++) {
		for (j = 0; j < len; j++)
			if (fl ? fold(p[i + j]) != fold(lit[j]) : p[i + j] != lit[j])
				break;
		if (j == len)
			return true;
	}
	return false;
}

static size_t frame(uint8_t *f, const uint8_t *pay, size_t len)
{
	return ks_dfa_lab_frame(f, pay, len);
}

struct lits {
	uint8_t *v[N_LITS];
	uint32_t len[N_LITS];
};

static void make_lits(struct lits *l)
{
	uint32_t i, j;

	for (i = 0; i < N_LITS; i++) {
		l->len[i] = 2 + rnd(i % 7 ? 8 : 40);	/* a few long ones: big overlap */
		l->v[i] = malloc(l->len[i]);
		for (j = 0; j < l->len[i]; j++)
			l->v[i][j] = rbyte();
	}
}

static uint32_t make_payload(const struct lits *l, uint8_t *p)
{
	uint32_t n = rnd(4) ? rnd(MAX_PAY + 1) : MAX_PAY - rnd(8), i, k, at, li;

	bool dense = !rnd(4);	/* the literals' bytes: the prefilter gives up */

	for (i = 0; i < n; i++)
		p[i] = dense ? rbyte() : "qrstuvwxyz0123456789"[rnd(20)];
	for (k = rnd(6); k && n; k--) {
		li = rnd(N_LITS);
		if (l->len[li] > n)
			continue;
		at = rnd(n - l->len[li] + 1);
		memcpy(p + at, l->v[li], l->len[li]);
	}
	return n;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The model's hits of the packet: the walk's, or the prefilter's (fdr). */
static void model_hits(const struct ks_dfa_view *v, const struct ks_fdr *fdr, uint32_t mode,
		       uint32_t walks, const uint8_t *pay, uint32_t n, struct ks_walk *w,
		       struct ks_fdr_stats *st)
{
	ks_walk_begin(w);
	if (fdr)
		ks_fdr_walk(fdr, v, KS_F_PAYLOAD, mode, mode, pay, n, w, st);
	else
		ks_dfa_walk_plain(v, KS_F_PAYLOAD, mode, mode, pay, n, walks, w);
}

/* The DFA walk's hits as a sorted set == kh[0..nk) sorted. */
static bool same_set_as_dfa(const struct ks_dfa_view *v, uint32_t mode, const uint8_t *pay,
			    uint32_t n, uint16_t *kh, int nk, struct ks_walk *w)
{
	ks_walk_begin(w);
	ks_dfa_walk_plain(v, KS_F_PAYLOAD, mode, mode, pay, n, 1, w);
	qsort(w->hits, w->n_hits, sizeof(w->hits[0]), cmp_u16);
	if (!ASSERT_EQ(nk, w->n_hits, "prefilter hits == DFA hits"))
		return false;
	return ASSERT_OK(memcmp(kh, w->hits, nk * sizeof(kh[0])), "prefilter set == DFA set");
}

/* The kernel's prefilter took the model's candidates, confirm, give-up. */
static bool same_prefilter(struct ks_dfa_lab_run *lab, const struct ks_fdr_stats *st,
			   struct ks_fdr_stats *sum)
{
	uint32_t cands, confirm, aborted;

	if (!ASSERT_OK(ks_dfa_lab_fdr_stats(lab, &cands, &confirm, &aborted), "prefilter stats") ||
	    !ASSERT_EQ(aborted, st->aborts, "gave up as the model"))
		return false;
	sum->aborts += aborted;
	sum->cands += st->cands;
	sum->confirm_bytes += st->confirm_bytes;
	return ASSERT_EQ(cands, st->cands, "candidates as the model") &&
	       ASSERT_EQ(confirm, st->confirm_bytes, "confirm bytes as the model");
}

/* One packet: kernel hits == model hits (in order) == oracle set. */
static bool check_packet(struct ks_dfa_lab_run *lab, const struct ks_dfa_view *v,
			 const struct ks_fdr *fdr, const struct lits *l, uint32_t mode,
			 uint32_t walks, struct ks_walk *w, uint8_t *pay, uint8_t *fr,
			 struct ks_fdr_stats *sum)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct ks_fdr_stats st = {};
	uint16_t kh[N_LITS], oracle[N_LITS];
	uint32_t n = make_payload(l, pay), i, no = 0, bytes = 0;
	int nk;

	o.data_in = fr;
	o.data_size_in = frame(fr, pay, n);
	if (!ASSERT_OK(bpf_prog_test_run_opts(lab->prog_fd, &o), "test_run"))
		return false;
	nk = ks_dfa_lab_hits(lab, kh, N_LITS, &bytes);
	if (!ASSERT_GE(nk, 0, "read hits"))
		return false;
	model_hits(v, fdr, mode, walks, pay, n, w, &st);
	if (fdr && !same_prefilter(lab, &st, sum))
		return false;
	if (!ASSERT_EQ(nk, w->n_hits, "kernel hits == model hits"))
		return false;
	if (!ASSERT_EQ(bytes, n, "bytes scanned"))
		return false;
	for (i = 0; i < (uint32_t)nk; i++)
		if (!ASSERT_EQ(kh[i], w->hits[i], "same hit, same order"))
			return false;
	for (i = 0; i < N_LITS; i++)
		if (n && occurs(pay, n, l->v[i], l->len[i], mode == KS_CASE_FOLD))
			oracle[no++] = i;
	qsort(kh, nk, sizeof(kh[0]), cmp_u16);
	if (fdr && !same_set_as_dfa(v, mode, pay, n, kh, nk, w))
		return false;
	if (!ASSERT_EQ(nk, no, "hits == literals that occur"))
		return false;
	return ASSERT_OK(memcmp(kh, oracle, no * sizeof(kh[0])), "hit set == oracle set");
}

/* walks 0: the prefilter in front of one walk */
/* walks 0: the prefilter with key (KS_FDR_KEY_*) in front of one walk */
static void check_walks(const struct lits *l, uint32_t mode, uint32_t walks, uint32_t key)
{
	struct ks_fdr fdr = {}, *pf = walks ? NULL : &fdr;
	struct ks_fdr_stats sum = {};
	struct ks_dfa_image img;
	struct ks_dfa_lab_run lab;
	struct ks_dfa_view v;
	struct ks_walk *w = calloc(1, sizeof(*w));
	uint8_t *pay = malloc(MAX_PAY), *fr = malloc(MAX_PAY + 64);
	char err[256];
	uint32_t k;

	ks_walk_init(w);
	if (!ASSERT_OK(ks_dfa_image_literals((const uint8_t *const *)l->v, l->len, N_LITS,
					     KS_F_PAYLOAD, mode, &img, err, sizeof(err)), err))
		goto out;
	v.hdr = &img.hdr;
	v.tab = img.tab;
	v.acc_list = img.acc_list;
	if (pf && !ASSERT_OK(ks_fdr_build_key((const uint8_t *const *)l->v, l->len, N_LITS, mode,
					      key, pf, err, sizeof(err)), err))
		goto img;
	if (!ASSERT_OK(pf ? ks_dfa_lab_open_fdr(&lab, &v, pf, KS_F_PAYLOAD, mode, mode, err,
						sizeof(err)) :
			    ks_dfa_lab_open(&lab, &v, walks, KS_F_PAYLOAD, mode, mode, err,
					    sizeof(err)), err))
		goto img;
	test__log("%u walk(s)%s, %s: %u verified insns, loaded in %.1f ms (%u states, %u classes)\n",
		  walks ? walks : 1, pf ? " behind the prefilter" : "",
		  mode == KS_CASE_FOLD ? "fold" : "exact", lab.verified_insns,
		  lab.load_ms, img.hdr.n_states, img.hdr.n_classes);
	for (k = 0; k < N_PACKETS; k++)
		if (!check_packet(&lab, &v, pf, l, mode, walks, w, pay, fr, &sum))
			break;
	if (pf)
		test__log("prefilter: %llu candidates, %llu confirm bytes, gave up on %llu of %u "
			  "packets\n", (unsigned long long)sum.cands,
			  (unsigned long long)sum.confirm_bytes, (unsigned long long)sum.aborts,
			  N_PACKETS);
	ks_dfa_lab_close(&lab);
img:
	ks_fdr_free(&fdr);
	ks_dfa_image_free(&img);
out:
	free(w);
	free(pay);
	free(fr);
}

/*
 * One walk over patterns that are all anchored stops where it dies, not
 * at the end of its 64-byte chunk: on "zz...z" the walk of "\x01ab" and
 * "\x01cd" dies on the first byte, so it ends dead at buffer offset 1.
 */
static void check_dead_stop(void)
{
	static const uint8_t a[] = "\x01" "ab", b[] = "\x01" "cd";
	const uint8_t *lits[] = { a, b };
	const uint32_t lens[] = { 3, 3 };
	uint8_t pay[300], fr[300 + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct ks_dfa_lab_run lab;
	struct ks_dfa_image img;
	struct ks_dfa_view v;
	uint32_t s = 1, pos = 0, bytes = 0;
	uint16_t kh[2];
	char err[256];

	if (!ASSERT_OK(ks_dfa_image_literals(lits, lens, 2, KS_F_PAYLOAD, KS_CASE_EXACT, &img,
					     err, sizeof(err)), err))
		return;
	v.hdr = &img.hdr;
	v.tab = img.tab;
	v.acc_list = img.acc_list;
	if (!ASSERT_EQ(img.hdr.autos[KS_F_PAYLOAD][KS_CASE_EXACT].mid, 0, "root dead: anchored") ||
	    !ASSERT_OK(ks_dfa_lab_open(&lab, &v, 1, KS_F_PAYLOAD, KS_CASE_EXACT, KS_CASE_EXACT,
				       err, sizeof(err)), err))
		goto img;
	memset(pay, 'z', sizeof(pay));
	o.data_in = fr;
	o.data_size_in = ks_dfa_lab_frame(fr, pay, sizeof(pay));
	if (ASSERT_OK(bpf_prog_test_run_opts(lab.prog_fd, &o), "test_run") &&
	    ASSERT_EQ(ks_dfa_lab_hits(&lab, kh, 2, &bytes), 0, "no hit") &&
	    ASSERT_EQ(bytes, sizeof(pay), "bytes of the value") &&
	    ASSERT_OK(ks_dfa_lab_end(&lab, &s, &pos), "read the walk")) {
		ASSERT_EQ(s, 0, "walk dead");
		ASSERT_EQ(pos, 1, "stopped after the byte that killed it");
	}
	ks_dfa_lab_close(&lab);
img:
	ks_dfa_image_free(&img);
}

void test_dfa_walk(void)
{
	static const uint32_t walks[] = { 1, 2, 4, 0, 0 };
	struct lits l;
	char name[32];
	uint32_t i, m, key;

	make_lits(&l);
	for (m = 0; m < KS_CASE_N; m++)
		for (i = 0; i < 5; i++) {
			key = i == 4 ? KS_FDR_KEY_TRIPLE : KS_FDR_KEY_PAIR;
			if (walks[i])
				snprintf(name, sizeof(name), "%s_walks%u", m ? "fold" : "exact",
					 walks[i]);
			else
				snprintf(name, sizeof(name), "%s_fdr%s", m ? "fold" : "exact",
					 key == KS_FDR_KEY_TRIPLE ? "3" : "");
			if (test__start_subtest(name))
				check_walks(&l, m, walks[i], key);
		}
	for (i = 0; i < N_LITS; i++)
		free(l.v[i]);
	if (test__start_subtest("dead_stop"))
		check_dead_stop();
}
