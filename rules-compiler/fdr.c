// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The FDR-style prefilter (maps/ks_fdr.h): its builder over literals and
 * its C model, the contract in include/kestrel/fdr.h. The model is written
 * as the lab program walks: same candidates, same confirm windows, so the
 * same hits in the same order.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/fdr.h>
#include <kestrel/rules.h>

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The input bytes a pattern byte stands for: both cases when folded. */
static int variants(uint8_t c, uint32_t mode, uint8_t v[2])
{
	if (mode != KS_CASE_FOLD) {
		v[0] = c;
		return 1;
	}
	v[0] = lower(c);
	if (v[0] < 'a' || v[0] > 'z')
		return 1;
	v[1] = v[0] - 32;
	return 2;
}

/* Pair (a, b), a first, may be at the lane of bit. */
static void clear_pair(uint64_t *tab, uint8_t a, uint8_t b, uint32_t mode, uint64_t bit)
{
	uint8_t va[2], vb[2];
	int na = variants(a, mode, va), nb = variants(b, mode, vb), i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			tab[va[i] | vb[j] << 8] &= ~bit;
}

/* Any pair whose second byte is b: a pattern's first byte. */
static void clear_second(uint64_t *tab, uint8_t b, uint32_t mode, uint64_t bit)
{
	uint8_t vb[2];
	int nb = variants(b, mode, vb), j, x;

	for (j = 0; j < nb; j++)
		for (x = 0; x < 256; x++)
			tab[x | vb[j] << 8] &= ~bit;
}

/* Triple (a, b, c), c last, may be at the lane of bit: its hashed key. */
static void clear_triple(uint64_t *tab, uint8_t a, uint8_t b, uint8_t c, uint32_t mode,
			 uint64_t bit)
{
	uint8_t va[2], vb[2], vc[2];
	int na = variants(a, mode, va), nb = variants(b, mode, vb), nc = variants(c, mode, vc);
	int i, j, k;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			for (k = 0; k < nc; k++)
				tab[KS_FDR_HASH3(va[i] | vb[j] << 8 | vc[k] << 16)] &= ~bit;
}

/* Any triple ending in (b, c): a pattern's first two bytes. */
static void clear_last2(uint64_t *tab, uint8_t b, uint8_t c, uint32_t mode, uint64_t bit)
{
	uint8_t vb[2], vc[2];
	int nb = variants(b, mode, vb), nc = variants(c, mode, vc), j, k;
	uint32_t x;

	for (j = 0; j < nb; j++)
		for (k = 0; k < nc; k++)
			for (x = 0; x < 256; x++)
				tab[KS_FDR_HASH3(x | vb[j] << 8 | vc[k] << 16)] &= ~bit;
}

struct ord {
	uint32_t len;
	uint32_t idx;
};

static int cmp_ord(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint64_t lane_bit(uint32_t d, uint32_t b)
{
	return 1ull << (8 * (KS_FDR_LANES - 1 - d) + b);
}

/*
 * Pattern p of bucket b into the lanes d = 0 .. min(len, KS_FDR_LANES) - 1
 * (triples: the lanes from len - 1 on are the bucket's, any key).
 */
static void add_pattern(struct ks_fdr *f, const uint8_t *p, uint32_t len, uint32_t b,
			uint32_t mode)
{
	uint32_t d;

	for (d = 0; d < KS_FDR_LANES && d < len; d++) {
		if (f->key == KS_FDR_KEY_TRIPLE && d + 3 <= len)
			clear_triple(f->tab, p[len - 3 - d], p[len - 2 - d], p[len - 1 - d], mode,
				     lane_bit(d, b));
		else if (f->key == KS_FDR_KEY_TRIPLE && d + 2 == len)
			clear_last2(f->tab, p[0], p[1], mode, lane_bit(d, b));
		else if (f->key == KS_FDR_KEY_TRIPLE)
			break;
		else if (d + 2 <= len)
			clear_pair(f->tab, p[len - 2 - d], p[len - 1 - d], mode, lane_bit(d, b));
		else
			clear_second(f->tab, p[0], mode, lane_bit(d, b));
	}
}

/*
 * Cumulative shares of the patterns, sorted by length, per bucket: a
 * bucket fires as often as its shortest pattern lets it (lanes past it
 * match anything) and as its patterns fill its lanes, so the short
 * patterns go to small buckets; and its confirm window is its longest
 * pattern, so lengths are kept together. Bucket b takes the patterns of
 * rank [n * w[b] / w[8], n * w[b + 1] / w[8]). Which split fires least
 * depends on how many patterns are how short: ks_fdr_build tries each
 * on its sample (bench/profile/fdr11-buckets.txt).
 */
static const uint64_t bucket_ws[KS_FDR_SPLITS][KS_FDR_BUCKETS + 1] = {
	{ 0, 1, 3, 7, 15, 23, 31, 39, 47 },
	{ 0, 2, 4, 8, 16, 24, 32, 40, 48 },	/* the shortest in two buckets */
	{ 0, 1, 2, 4, 8, 16, 24, 32, 40 },
};

int ks_fdr_build_split(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		       uint32_t key, uint32_t split, struct ks_fdr *f, char *err, size_t errlen)
{
	const uint64_t *bucket_w = bucket_ws[split < KS_FDR_SPLITS ? split : 0];
	struct ord *o;
	uint32_t b, d, x;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->key = key;
	o = calloc(n + 1, sizeof(*o));
	f->tab = malloc(KS_FDR_TAB_BYTES);
	if (!o || !f->tab) {
		free(o);
		ks_fdr_free(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (x = 0; x < KS_FDR_DOMAIN; x++)
		f->tab[x] = KS_FDR_LANE_MASK;
	for (i = 0; i < n; i++) {
		if (!lens[i]) {
			free(o);
			ks_fdr_free(f);
			snprintf(err, errlen, "literal %zu is empty", i);
			return -1;
		}
		o[i].len = lens[i];
		o[i].idx = i;
	}
	qsort(o, n, sizeof(*o), cmp_ord);
	for (i = 0, b = 0; i < n; i++) {
		while (b < KS_FDR_BUCKETS - 1 && i * bucket_w[KS_FDR_BUCKETS] >= n * bucket_w[b + 1])
			b++;
		if (!f->bucket_n[b]++)
			f->bucket_min[b] = o[i].len;
		if (lens[o[i].idx] > f->bucket_max[b])
			f->bucket_max[b] = lens[o[i].idx];
		add_pattern(f, lits[o[i].idx], lens[o[i].idx], b, mode);
	}
	for (b = 0; b < KS_FDR_BUCKETS; b++)
		for (d = f->bucket_min[b] - (key == KS_FDR_KEY_TRIPLE);
		     f->bucket_n[b] && d < KS_FDR_LANES; d++)
			for (x = 0; x < KS_FDR_DOMAIN; x++)
				f->tab[x] &= ~lane_bit(d, b);
	for (x = 1; x < 256; x++)
		for (b = 0; b < KS_FDR_BUCKETS; b++)
			if ((x >> b & 1) && f->bucket_max[b] && f->bucket_max[b] - 1 > f->ov[x])
				f->ov[x] = f->bucket_max[b] - 1;
	f->n_pats = n;
	free(o);
	return 0;
}

int ks_fdr_build_key(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		     uint32_t key, struct ks_fdr *f, char *err, size_t errlen)
{
	return ks_fdr_build_split(lits, lens, n, mode, key, 0, f, err, errlen);
}

void ks_fdr_free(struct ks_fdr *f)
{
	free(f->tab);
	f->tab = NULL;
}

/* The confirm of the lab program: one DFA walk continued over windows. */
struct confirm {
	const struct ks_dfa_view *v;
	const struct ks_dfa_auto *au;
	const uint16_t *cm;
	const uint8_t *buf;
	uint32_t end;		/* buffer offset of the end sentinel */
	uint32_t s;
	uint32_t walked;	/* next offset of the walk; 0: none yet */
	uint32_t wstart;	/* where it started: it has seen every match since */
	struct ks_walk *w;
	struct ks_fdr_stats *st;
};

/* Every match ending at buffer offset e of a pattern ov + 1 bytes long
 * at most (and any other in its window). */
static void confirm_at(struct confirm *c, uint32_t e, uint32_t ov)
{
	uint32_t lo = e > KS_FDR_PAD + ov ? e - ov : KS_FDR_PAD;
	uint32_t from, to = e < c->end ? e : c->end - 1, o;

	if (c->walked && lo >= c->wstart && lo <= c->walked) {
		from = c->walked;
	} else if ((c->wstart = lo) == KS_FDR_PAD) {
		c->s = ks_dfa_step(c->v, c->au->start, c->v->hdr->col_begin, c->w);
		from = KS_FDR_PAD + 1;
		c->st->restarts++;
	} else {
		c->s = c->au->mid;
		from = lo;
		c->st->restarts++;
	}
	for (o = from; o <= to; o++)
		c->s = ks_dfa_step(c->v, c->s, c->cm[c->buf[o]], c->w);
	if (to >= from)
		c->st->confirm_bytes += to + 1 - from;
	if (e == c->end && c->s)
		c->s = ks_dfa_step(c->v, c->s, c->v->hdr->col_end, c->w);
	c->walked = to + 1;
}

/* The table's index for the key ending at buffer offset e (e >= 2). */
static uint32_t key_at(const struct ks_fdr *f, const uint8_t *buf, uint32_t e)
{
	if (f->key == KS_FDR_KEY_TRIPLE)
		return KS_FDR_HASH3(buf[e - 2] | buf[e - 1] << 8 | (uint32_t)buf[e] << 16);
	return buf[e - 1] | buf[e] << 8;
}

/*
 * The candidates of the stream in buf, in order, into cand and the buckets
 * that fired into mask (when not NULL); how many. *gave_up when the scan
 * gives up (KS_FDR_ABORT_CANDS in the first KS_FDR_ABORT_PAIRS keys,
 * tested where the lab program tests it: only when it scans that far);
 * then the count is of the candidates it had taken, as the lab's, and
 * *all (when not NULL) of every candidate the whole stream has.
 */
static uint32_t prefilter(const struct ks_fdr *f, const uint8_t *buf, uint32_t end,
			  uint16_t *cand, uint8_t *mask, bool *gave_up, uint32_t *all)
{
	uint32_t e, nc = 0, early = 0, last = KS_FDR_PAD - 1 + KS_FDR_ABORT_PAIRS;
	uint64_t d = 0;	/* lanes before the stream: anything */

	for (e = KS_FDR_PAD; e <= end; e++) {
		d = d << 8 | f->tab[key_at(f, buf, e)];
		if (((d >> 8 * (KS_FDR_LANES - 1)) & 0xff) != 0xff) {
			if (cand) {
				mask[nc] = ~(d >> 8 * (KS_FDR_LANES - 1)) & 0xff;
				cand[nc] = e;
			}
			nc++;
		}
		if (e <= last)
			early = nc;
	}
	/* the lab's 4th chunk (pairs ending up to last) runs when the 3rd
	 * does not reach the end */
	*gave_up = end > last - KS_FDR_CHUNK && early > KS_FDR_ABORT_CANDS;
	if (all)
		*all = nc;
	return *gave_up ? early : nc;
}

uint32_t ks_fdr_walk(const struct ks_fdr *f, const struct ks_dfa_view *v, uint32_t field,
		     uint32_t mode, uint32_t col, const uint8_t *p, uint32_t n, struct ks_walk *w,
		     struct ks_fdr_stats *st)
{
	uint8_t buf[KS_FDR_PAD + KS_PAYLOAD_MAX + 2] = { 0 };
	uint16_t cand[KS_FDR_CAND_MAX];
	uint8_t mask[KS_FDR_CAND_MAX];
	struct ks_fdr_stats dummy = {};
	struct confirm c = { .v = v, .buf = buf, .w = w, .st = st ? st : &dummy };
	uint32_t nc, k;
	bool gave_up;

	if (field >= KS_F_STR_N || mode >= KS_CASE_N || col >= KS_DFA_COL_N || !n)
		return 0;
	c.au = &v->hdr->autos[field][mode];
	if (!c.au->start)
		return 0;
	if (!c.au->mid)		/* all anchored: the walk from the start alone */
		return ks_dfa_walk_plain(v, field, mode, col, p, n, 1, w);
	if (n > KS_PAYLOAD_MAX)
		n = KS_PAYLOAD_MAX;
	c.cm = v->hdr->col[col];
	c.end = KS_FDR_PAD + n + 1;
	buf[KS_FDR_PAD] = KS_SENT_BEGIN;
	memcpy(buf + KS_FDR_PAD + 1, p, n);
	buf[c.end] = KS_SENT_END;
	c.st->bytes += n;
	nc = prefilter(f, buf, c.end, cand, mask, &gave_up, NULL);
	c.st->cands += nc;
	if (gave_up) {
		c.st->aborts++;
		return ks_dfa_walk_plain(v, field, mode, col, p, n, KS_DFA_MAX_WALKS, w);
	}
	for (k = 0; k < nc; k++)
		confirm_at(&c, cand[k], f->ov[mask[k]]);
	return n;
}

/* ---- the production prefilter: struct ks_tables.fdr ---- */

/*
 * The sample a rule set's prefilter is judged on: payloads of random
 * bytes and of random printable text, KS_FDR_SAMPLE_LEN bytes each.
 */
#define KS_FDR_SAMPLES		16
#define KS_FDR_SAMPLE_LEN	1500

static uint32_t sample_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

/* What the scan of the sample does: payloads given up on, candidates. */
struct sample_run {
	uint32_t gave_up;
	uint64_t cands;
};

static struct sample_run sample_scan(const struct ks_fdr *f)
{
	uint8_t buf[KS_FDR_PAD + KS_FDR_SAMPLE_LEN + 2] = { 0 };
	uint32_t k, i, end = KS_FDR_PAD + KS_FDR_SAMPLE_LEN + 1, all;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	struct sample_run r = {};
	bool gave_up;

	buf[KS_FDR_PAD] = KS_SENT_BEGIN;
	buf[end] = KS_SENT_END;
	for (k = 0; k < KS_FDR_SAMPLES; k++) {
		for (i = 0; i < KS_FDR_SAMPLE_LEN; i++) {
			uint32_t x = sample_rng(&s);

			buf[KS_FDR_PAD + 1 + i] = k & 1 ? 0x20 + x % 95 : (uint8_t)x;
		}
		prefilter(f, buf, end, NULL, NULL, &gave_up, &all);
		r.gave_up += gave_up;
		r.cands += all;
	}
	return r;
}

/*
 * Pairs are the cheaper key: triples cost a multiply and a shift more
 * per byte (~0.1 ns), a candidate a confirm walk of its window (~20 ns:
 * 10..16 bytes of the DFA and the set-up). So triples when pairs give
 * up on more of the sample, or let more than one candidate per
 * KS_FDR_TRIPLE_GAIN sample bytes more through.
 */
#define KS_FDR_TRIPLE_GAIN	128

static bool sample_better(struct sample_run a, struct sample_run b)
{
	return a.gave_up < b.gave_up || (a.gave_up == b.gave_up && a.cands < b.cands);
}

/* The table of key whose bucket split lets the fewest sample candidates through. */
static int build_best(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		      uint32_t key, struct ks_fdr *f, struct sample_run *run, char *err,
		      size_t errlen)
{
	struct sample_run r;
	struct ks_fdr g;
	uint32_t i;

	if (ks_fdr_build_split(lits, lens, n, mode, key, 0, f, err, errlen))
		return -1;
	*run = sample_scan(f);
	for (i = 1; i < KS_FDR_SPLITS && (run->cands || run->gave_up); i++) {
		if (ks_fdr_build_split(lits, lens, n, mode, key, i, &g, err, errlen)) {
			ks_fdr_free(f);
			return -1;
		}
		r = sample_scan(&g);
		if (sample_better(r, *run)) {
			ks_fdr_free(f);
			*f = g;
			*run = r;
		} else {
			ks_fdr_free(&g);
		}
	}
	return 0;
}

int ks_fdr_build(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		 struct ks_fdr *f, char *err, size_t errlen)
{
	struct sample_run r2, r3;
	struct ks_fdr f3;

	if (build_best(lits, lens, n, mode, KS_FDR_KEY_PAIR, f, &r2, err, errlen))
		return -1;
	if (!r2.gave_up && r2.cands * KS_FDR_TRIPLE_GAIN <= KS_FDR_SAMPLES * KS_FDR_SAMPLE_LEN)
		return 0;
	if (build_best(lits, lens, n, mode, KS_FDR_KEY_TRIPLE, &f3, &r3, err, errlen)) {
		ks_fdr_free(f);
		return -1;
	}
	if (r3.gave_up < r2.gave_up ||
	    (r3.gave_up == r2.gave_up &&
	     (r2.cands - (r3.cands < r2.cands ? r3.cands : r2.cands)) * KS_FDR_TRIPLE_GAIN >
		     KS_FDR_SAMPLES * KS_FDR_SAMPLE_LEN)) {
		ks_fdr_free(f);
		*f = f3;
	} else {
		ks_fdr_free(&f3);
	}
	return 0;
}

int ks_fdr_tables(struct ks_tables *t, uint32_t field, uint32_t mode,
		  const uint8_t *const *lits, const uint32_t *lens, size_t n)
{
	struct ks_dfa_auto *au;
	struct ks_fdr f;
	char err[80];

	if (field >= KS_F_STR_N || mode >= KS_CASE_N || !n)
		return 0;
	au = &t->dfa_hdr.autos[field][mode];
	if (!au->start || !au->mid)
		return 0;
	if (ks_fdr_build(lits, lens, n, mode, &f, err, sizeof(err)))
		return -1;
	if (2 * sample_scan(&f).gave_up < KS_FDR_SAMPLES) {
		memcpy(t->fdr.tab, f.tab, sizeof(t->fdr.tab));
		memcpy(t->fdr.ov, f.ov, sizeof(t->fdr.ov));
		t->fdr.key = f.key;
		au->flags |= KS_DFA_AU_FDR;
	}
	ks_fdr_free(&f);
	return 0;
}
