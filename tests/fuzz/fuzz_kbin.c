// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the .kbin loader (ks_kbin_read_mem) and what it lets
 * through. A .kbin carries hashes that random bytes never match, so the
 * input is a compact form the target turns into a .kbin before every
 * load:
 *
 *   u8  flags     bit 0: write the hashes the file needs (else zero)
 *                 bit 1: leave the tables' magic and ABI version as
 *                        patched (else set them right)
 *   u16 n         patches, little-endian
 *   n x { u24 offset, u8 len, len bytes }   written into zeroed tables
 *                                           (offset modulo the struct)
 *   ...           the rule metadata (YAML), to the end
 *
 * The file's extents are the tables' header and the patched ranges,
 * merged and cut at the bytes the tables use (KS_TABLES_USED of the
 * patched header, maps/ks_tables.h, the file's tables_size). An input
 * starting with the .kbin magic is loaded as it is (the extent parser's
 * own checks). The seeds are kload compile -o output converted by
 * tests/fuzz/kbin_seed.py (--refresh recompiles them after a layout
 * change; fuzz.sh --regress fails when one no longer loads). A load that
 * succeeds must give consistent tables the walker can run events
 * through, and rules that print back to the same EQL.
 */
#include <endian.h>

#include "fuzz_common.h"
#include "rules-compiler/source.h"

#define HDR	sizeof(struct ks_kbin_hdr)
#define TAB	sizeof(struct ks_tables)
#define THDR	sizeof(struct ks_tables_hdr)
#define MAX_PATCHES	4096
#define EXT_HDR	8

static uint8_t *tab;		/* the tables the patches are written into */
static uint8_t *file;		/* header, extents, metadata */
static size_t file_cap;
static struct range { uint32_t off, len; } dirty[MAX_PATCHES + 1];
static size_t n_dirty;

static void reserve(size_t n)
{
	if (!tab && !(tab = calloc(1, TAB)))
		abort();
	if (n > file_cap) {
		file = realloc(file, n);
		if (!file)
			abort();
		file_cap = n;
	}
}

/* Zero what the last input wrote into the tables, write this one's. */
static size_t apply_patches(const uint8_t *d, size_t n)
{
	size_t i, p = 3, np = n >= 3 ? d[1] | d[2] << 8 : 0;
	uint32_t off, len;

	for (i = 0; i < n_dirty; i++)
		memset(tab + dirty[i].off, 0, dirty[i].len);
	/* the header is always an extent: expand() sets magic and version */
	dirty[0].off = 0;
	dirty[0].len = THDR;
	n_dirty = 1;
	for (i = 0; i < np && i < MAX_PATCHES && p + 4 <= n; i++) {
		off = (d[p] | d[p + 1] << 8 | d[p + 2] << 16) % TAB;
		len = d[p + 3];
		p += 4;
		if (len > n - p)
			len = n - p;
		if (len > TAB - off)
			len = TAB - off;
		memcpy(tab + off, d + p, len);
		dirty[n_dirty].off = off;
		dirty[n_dirty++].len = len;
		p += len;
	}
	return p < n ? p : n;
}

static int range_cmp(const void *x, const void *y)
{
	const struct range *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off;
}

/* The dirty ranges sorted, overlapping or touching ones merged, empty
 * ones dropped: the extents, in the order the format wants. */
static void merge_dirty(void)
{
	size_t i, k = 0;

	qsort(dirty, n_dirty, sizeof(dirty[0]), range_cmp);
	for (i = 0; i < n_dirty; i++) {
		if (!dirty[i].len)
			continue;
		if (k && dirty[i].off <= dirty[k - 1].off + dirty[k - 1].len) {
			if (dirty[i].off + dirty[i].len > dirty[k - 1].off + dirty[k - 1].len)
				dirty[k - 1].len = dirty[i].off + dirty[i].len - dirty[k - 1].off;
			continue;
		}
		dirty[k++] = dirty[i];
	}
	n_dirty = k;
}

/*
 * The bytes the patched tables use (what a .kbin stores), at least the
 * struct up to the DFA and at most all of it; the extents end there, and
 * patches past it are zeroed now (only dirty ranges may be nonzero).
 */
static uint32_t cut_dirty(const struct ks_tables *t)
{
	uint64_t used = KS_TABLES_USED(t);
	size_t i, k = 0;

	/* up to dfa[]'s end: the prefilter's table past it is stored apart */
	if (used < KS_TABLES_VALUE_SIZE(0) || used > offsetof(struct ks_tables, fdr))
		used = used < KS_TABLES_VALUE_SIZE(0) ? KS_TABLES_VALUE_SIZE(0)
						      : offsetof(struct ks_tables, fdr);
	for (i = 0; i < n_dirty; i++) {
		uint64_t end = (uint64_t)dirty[i].off + dirty[i].len;

		if (end > used)
			memset(tab + (dirty[i].off > used ? dirty[i].off : used), 0,
			       end - (dirty[i].off > used ? dirty[i].off : used));
		if (dirty[i].off >= used)
			continue;
		dirty[k] = dirty[i];
		if (end > used)
			dirty[k].len = (uint32_t)(used - dirty[k].off);
		k++;
	}
	n_dirty = k;
	return (uint32_t)used;
}

/*
 * FNV-1a of the first `used` bytes of the tables after their header,
 * knowing that only the merged dirty ranges can be nonzero: the rest costs
 * a multiplication per gap.
 */
static uint64_t sparse_hash(uint32_t used)
{
	uint64_t h = KS_FNV64_INIT;
	uint32_t pos = THDR, i, a, b;

	for (i = 0; i < n_dirty; i++) {
		a = dirty[i].off > pos ? dirty[i].off : pos;
		b = dirty[i].off + dirty[i].len;
		if (b <= pos)
			continue;
		h = ks_fnv1a64(tab + a, b - a, ks_fnv1a64_zeros(h, a - pos));
		pos = b;
	}
	return ks_fnv1a64_zeros(h, used - pos);
}

/* The extents of the merged dirty ranges at file + HDR; their size. */
static size_t write_extents(void)
{
	size_t w = HDR, i;
	uint32_t x;

	for (i = 0; i < n_dirty; i++) {
		x = htole32(dirty[i].off);
		memcpy(file + w, &x, 4);
		x = htole32(dirty[i].len);
		memcpy(file + w + 4, &x, 4);
		memcpy(file + w + EXT_HDR, tab + dirty[i].off, dirty[i].len);
		w += EXT_HDR + dirty[i].len;
	}
	return w - HDR;
}

static size_t expand(const uint8_t *d, size_t n)
{
	struct ks_tables *t;
	struct ks_kbin_hdr h = { .abi_version = htole32(KS_ABI_VERSION) };
	size_t p, meta, ext;
	uint32_t used;

	/* at most every patch's bytes plus one extent header each */
	reserve(HDR + THDR + n + (MAX_PATCHES + 1) * EXT_HDR);
	t = (struct ks_tables *)tab;
	p = apply_patches(d, n);
	meta = n - p;
	if (!(d[0] & 2)) {
		t->hdr.magic = KS_TABLES_MAGIC;
		t->hdr.abi_version = KS_ABI_VERSION;
	}
	merge_dirty();
	used = cut_dirty(t);
	if (d[0] & 1)
		t->hdr.content_hash = sparse_hash(used);
	ext = write_extents();
	memcpy(file + HDR + ext, d + p, meta);
	memcpy(h.magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN);
	h.hdr_size = htole32(HDR);
	h.tables_size = htole64(used);
	h.meta_size = htole64(meta);
	h.n_rules = htole32(t->hdr.n_rules);
	h.n_extents = htole32((uint32_t)n_dirty);
	h.extents_size = htole32((uint32_t)ext);
	if (d[0] & 1) {
		h.tables_hash = htole64(t->hdr.content_hash);
		h.file_hash = htole64(ks_wide64(file + HDR, ext + meta));
	}
	memcpy(file, &h, HDR);
	return HDR + ext + meta;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ruleset *rs;
	const uint8_t *buf = data;
	size_t len = size, i;
	char err[256];
	int k;

	if (!size)
		return 0;
	fz_init();
	if (size < KS_KBIN_MAGIC_LEN || memcmp(data, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN)) {
		len = expand(data, size);
		buf = file;
	}
	rs = ks_ruleset_new();
	if (ks_kbin_read_mem(buf, len, "fuzz.kbin", rs, fz_t, err, sizeof(err))) {
		/* Why a seed does not load; with KS_FUZZ_MUST_LOAD (fuzz.sh
		 * --regress on the seeds) a seed that stopped loading after
		 * a layout change fails the run, or the fuzzer would explore
		 * only the rejection of old tables. */
		if (getenv("KS_FUZZ_VERBOSE") || getenv("KS_FUZZ_MUST_LOAD"))
			fprintf(stderr, "%s\n", err);
		if (getenv("KS_FUZZ_MUST_LOAD"))
			abort();
	} else {
		for (i = 0; i < rs->n_rules; i++)
			if (rs->rules[i].q)
				fz_roundtrip(&rs->rules[i]);
		for (k = 0; k < 3; k++) {
			fz_event(fz_ev, data, size, k);
			ks_walk_event(fz_t, fz_ev, fz_w);
		}
	}
	ks_ruleset_free(rs);
	return 0;
}
