// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the .kbin loader (ks_kbin_read_mem) and what it lets
 * through. A .kbin is 3.4 MiB of tables, mostly zeros, with hashes that
 * random bytes never match; so the input is a compact form the target
 * expands into a .kbin before every load:
 *
 *   u8  flags     bit 0: write the hashes the file needs (else zero)
 *                 bit 1: leave the tables' magic and ABI version as
 *                        patched (else set them right)
 *   u16 n         patches, little-endian
 *   n x { u24 offset, u8 len, len bytes }   written into zeroed tables
 *                                           (offset modulo their size)
 *   ...           the rule metadata (YAML), to the end
 *
 * An input starting with the .kbin magic is loaded as it is. The seeds
 * are kload compile -o output converted by tests/fuzz/kbin_seed.py.
 * A load that succeeds must give consistent tables the walker can run
 * events through, and rules that print back to the same EQL.
 */
#include <endian.h>

#include "fuzz_common.h"
#include "rules-compiler/source.h"

#define HDR	sizeof(struct ks_kbin_hdr)
#define TAB	sizeof(struct ks_tables)
#define MAX_PATCHES	4096

static uint8_t *file;		/* header, tables, metadata */
static size_t file_cap;
static struct { uint32_t off, len; } dirty[MAX_PATCHES];
static size_t n_dirty;

static uint8_t *file_reserve(size_t meta)
{
	if (HDR + TAB + meta > file_cap) {
		file = realloc(file, HDR + TAB + meta);
		if (!file)
			abort();
		if (!file_cap)
			memset(file, 0, HDR + TAB);
		file_cap = HDR + TAB + meta;
	}
	return file;
}

/* Zero what the last input wrote into the tables, write this one's. */
static size_t apply_patches(const uint8_t *d, size_t n, uint8_t *tab)
{
	size_t i, p = 3, np = n >= 3 ? d[1] | d[2] << 8 : 0;
	uint32_t off, len;

	/* the header too: what expand() set there must not carry over */
	memset(tab, 0, sizeof(struct ks_tables_hdr));
	for (i = 0; i < n_dirty; i++)
		memset(tab + dirty[i].off, 0, dirty[i].len);
	n_dirty = 0;
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

static int dirty_cmp(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;

	return *a < *b ? -1 : *a > *b;
}

/*
 * FNV-1a of tab[lo, hi), knowing that only the dirty ranges and the
 * tables' header can be nonzero: the rest costs a multiplication per gap
 * (hashing 3.4 MiB per input would make this target ten times slower).
 */
static uint64_t sparse_hash(const uint8_t *tab, uint32_t lo, uint32_t hi,
			    uint64_t h)
{
	uint32_t pos = lo, i, a, b;

	qsort(dirty, n_dirty, sizeof(dirty[0]), dirty_cmp);
	if (lo < sizeof(struct ks_tables_hdr)) {
		h = ks_fnv1a64(tab + lo, sizeof(struct ks_tables_hdr) - lo, h);
		pos = sizeof(struct ks_tables_hdr);
	}
	for (i = 0; i < n_dirty; i++) {
		a = dirty[i].off > pos ? dirty[i].off : pos;
		b = dirty[i].off + dirty[i].len;
		if (b <= pos)
			continue;
		h = ks_fnv1a64_zeros(h, a - pos);
		h = ks_fnv1a64(tab + a, b - a, h);
		pos = b;
	}
	return ks_fnv1a64_zeros(h, hi - pos);
}

static size_t expand(const uint8_t *d, size_t n)
{
	size_t p = apply_patches(d, n, file_reserve(n) + HDR), meta = n - p;
	struct ks_tables *t = (struct ks_tables *)(file + HDR);
	struct ks_kbin_hdr h = { .abi_version = htole32(KS_ABI_VERSION) };
	uint64_t fh;

	if (!(d[0] & 2)) {
		t->hdr.magic = KS_TABLES_MAGIC;
		t->hdr.abi_version = KS_ABI_VERSION;
	}
	memcpy(file + HDR + TAB, d + p, meta);
	memcpy(h.magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN);
	h.hdr_size = htole32(HDR);
	h.tables_size = htole64(TAB);
	h.meta_size = htole64(meta);
	h.n_rules = htole32(t->hdr.n_rules);
	if (d[0] & 1) {
		t->hdr.content_hash = sparse_hash(file + HDR,
						  sizeof(struct ks_tables_hdr),
						  TAB, KS_FNV64_INIT);
		fh = sparse_hash(file + HDR, 0, TAB, KS_FNV64_INIT);
		h.tables_hash = htole64(t->hdr.content_hash);
		h.file_hash = htole64(ks_fnv1a64(d + p, meta, fh));
	}
	memcpy(file, &h, HDR);
	return HDR + TAB + meta;
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
		if (getenv("KS_FUZZ_VERBOSE"))	/* why a seed does not load */
			fprintf(stderr, "%s\n", err);
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
