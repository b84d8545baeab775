// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * .kbin files: header, the nonzero extents of the used bytes of struct
 * ks_tables (KS_TABLES_USED: up to the last DFA cell), rule metadata as
 * YAML. The format is described in include/kestrel/kbin.h.
 *
 * The metadata is emitted with libyaml (double-quoted scalars, so any
 * query text survives) in the rule file format, and read back with the
 * ordinary rule file loader: one parser for rules, whatever their origin.
 * The tables read back are checked by ks_tables_check() (tables_check.c)
 * before anything walks them.
 *
 * About 950 lines, writer and readers in one file on purpose: the extent
 * list, the header and the file hash are this file's private layout, and
 * a split would publish them in a header for the other half alone.
 */
#include <endian.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <yaml.h>

#include <kestrel/kbin.h>
#include <kestrel/names.h>

#include "source.h"

#include "lower.h"

/* ---- metadata: YAML in the rule file format ---- */

static int emit_event(yaml_emitter_t *em, yaml_event_t *ev)
{
	return yaml_emitter_emit(em, ev) ? 0 : -1;
}

static int emit_str(yaml_emitter_t *em, const char *s, bool plain)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
					  strlen(s), plain, !plain,
					  plain ? YAML_PLAIN_SCALAR_STYLE :
						  YAML_DOUBLE_QUOTED_SCALAR_STYLE))
		return -1;
	return emit_event(em, &ev);
}

static int emit_kv(yaml_emitter_t *em, const char *k, const char *v, bool plain)
{
	return emit_str(em, k, true) || emit_str(em, v, plain) ? -1 : 0;
}

static int emit_start(yaml_emitter_t *em, bool seq, bool flow)
{
	yaml_event_t ev;

	if (seq ? !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
			flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) :
		  !yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
			flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE))
		return -1;
	return emit_event(em, &ev);
}

static int emit_end(yaml_emitter_t *em, bool seq)
{
	yaml_event_t ev;

	if (seq ? !yaml_sequence_end_event_initialize(&ev) :
		  !yaml_mapping_end_event_initialize(&ev))
		return -1;
	return emit_event(em, &ev);
}

/* key: [s, s, ...] */
static int emit_strs(yaml_emitter_t *em, const char *key, char *const *v,
		     size_t n)
{
	size_t i;

	if (emit_str(em, key, true) || emit_start(em, true, true))
		return -1;
	for (i = 0; i < n; i++)
		if (emit_str(em, v[i], false))
			return -1;
	return emit_end(em, true);
}

/* {id: ..., name: ..., reference: ...}, the parts that are set */
static int emit_ref(yaml_emitter_t *em, const struct ks_attack_ref *r)
{
	if (emit_start(em, false, true) ||
	    (r->id && emit_kv(em, "id", r->id, false)) ||
	    (r->name && emit_kv(em, "name", r->name, false)) ||
	    (r->reference && emit_kv(em, "reference", r->reference, false)))
		return -1;
	return emit_end(em, false);
}

static int emit_technique(yaml_emitter_t *em, const struct ks_technique *t)
{
	size_t i;

	if (emit_start(em, false, false) ||
	    (t->ref.id && emit_kv(em, "id", t->ref.id, false)) ||
	    (t->ref.name && emit_kv(em, "name", t->ref.name, false)) ||
	    (t->ref.reference && emit_kv(em, "reference", t->ref.reference, false)) ||
	    emit_str(em, "subtechnique", true) || emit_start(em, true, false))
		return -1;
	for (i = 0; i < t->n_subs; i++)
		if (emit_ref(em, &t->subs[i]))
			return -1;
	return emit_end(em, true) || emit_end(em, false) ? -1 : 0;
}

/* threat: in the rule file format (what ks_attack_from_yaml reads) */
static int emit_threats(yaml_emitter_t *em, const struct ks_rule_src *r)
{
	const struct ks_threat *t;
	size_t i, k;

	if (emit_str(em, "threat", true) || emit_start(em, true, false))
		return -1;
	for (i = 0; i < r->n_threats; i++) {
		t = &r->threats[i];
		if (emit_start(em, false, false) ||
		    (t->framework && emit_kv(em, "framework", t->framework, false)) ||
		    (t->tactic.id && (emit_str(em, "tactic", true) ||
				      emit_ref(em, &t->tactic))) ||
		    emit_str(em, "technique", true) || emit_start(em, true, false))
			return -1;
		for (k = 0; k < t->n_techniques; k++)
			if (emit_technique(em, &t->techniques[k]))
				return -1;
		if (emit_end(em, true) || emit_end(em, false))
			return -1;
	}
	return emit_end(em, true);
}

/* uuid, description, risk_score, references, threat: those that are set */
static int emit_meta(yaml_emitter_t *em, const struct ks_rule_src *r)
{
	char risk[16];

	snprintf(risk, sizeof(risk), "%d", r->risk_score);
	if ((r->uuid && emit_kv(em, "uuid", r->uuid, false)) ||
	    (r->description && emit_kv(em, "description", r->description, false)) ||
	    (r->risk_score >= 0 && emit_kv(em, "risk_score", risk, true)) ||
	    (r->n_references && emit_strs(em, "references", r->references,
					  r->n_references)) ||
	    (r->n_threats && emit_threats(em, r)))
		return -1;
	return 0;
}

/* exceptions: [{condition: ..., step: N, description: ...}, ...]: those
 * of exceptions files too, so the .kbin is the rule set as compiled */
static int emit_exceptions(yaml_emitter_t *em, const struct ks_rule_src *r)
{
	const struct ks_exception *e;
	char step[16];
	size_t i;

	if (!r->n_exceptions)
		return 0;
	if (emit_str(em, "exceptions", true) || emit_start(em, true, false))
		return -1;
	for (i = 0; i < r->n_exceptions; i++) {
		e = &r->exceptions[i];
		snprintf(step, sizeof(step), "%u", e->step);
		if (emit_start(em, false, false) ||
		    emit_kv(em, "condition", e->text, false) ||
		    (e->step && emit_kv(em, "step", step, true)) ||
		    (e->description && emit_kv(em, "description", e->description, false)) ||
		    emit_end(em, false))
			return -1;
	}
	return emit_end(em, true);
}

static int emit_rule(yaml_emitter_t *em, const struct ks_rule_src *r)
{
	yaml_event_t ev;

	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						 YAML_BLOCK_MAPPING_STYLE) ||
	    emit_event(em, &ev))
		return -1;
	if (emit_kv(em, "rule", r->id, false) ||
	    emit_kv(em, "name", r->name ? r->name : r->id, false) ||
	    emit_kv(em, "severity", ks_severity_name(r->severity), true) ||
	    emit_kv(em, "action", ks_rule_action_name(r->action), true) ||
	    emit_strs(em, "tags", r->tags, r->n_tags) || emit_meta(em, r) ||
	    emit_kv(em, "query", r->query_text ? r->query_text : "", false) ||
	    emit_exceptions(em, r))
		return -1;
	if (!yaml_mapping_end_event_initialize(&ev))
		return -1;
	return emit_event(em, &ev);
}

static int emit_rules(yaml_emitter_t *em, const struct ks_ruleset *rs)
{
	yaml_event_t ev;
	size_t i;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    emit_event(em, &ev) ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    emit_event(em, &ev) ||
	    !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						  YAML_BLOCK_SEQUENCE_STYLE) ||
	    emit_event(em, &ev))
		return -1;
	for (i = 0; i < rs->n_rules; i++)
		if (emit_rule(em, &rs->rules[i]))
			return -1;
	if (!yaml_sequence_end_event_initialize(&ev) || emit_event(em, &ev) ||
	    !yaml_document_end_event_initialize(&ev, 1) ||
	    emit_event(em, &ev) ||
	    !yaml_stream_end_event_initialize(&ev) || emit_event(em, &ev))
		return -1;
	return 0;
}

static int write_handler(void *data, unsigned char *buf, size_t size)
{
	return fwrite(buf, 1, size, data) == size;
}

/* The metadata document, malloc'd; NULL with err on failure. */
static char *meta_yaml(const struct ks_ruleset *rs, size_t *len, char *err,
		       size_t errlen)
{
	yaml_emitter_t em;
	char *buf = NULL;
	FILE *f;
	int ret;

	*len = 0;
	f = open_memstream(&buf, len);
	if (!f) {
		ks_err(err, errlen, "out of memory");
		return NULL;
	}
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, write_handler, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);	/* no folding: stable text */
	ret = emit_rules(&em, rs);
	if (!ret && !yaml_emitter_flush(&em))
		ret = -1;
	if (ret)
		ks_err(err, errlen, "cannot write rule metadata: %s",
		       em.problem ? em.problem : "YAML emitter error");
	yaml_emitter_delete(&em);
	fclose(f);
	if (ret) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- header ---- */

/*
 * The header between host order and the file's little-endian order, both
 * ways: the conversion is a byte swap (big-endian hosts) or nothing, and
 * either is its own inverse, so le32toh(x) == htole32(x).
 */
static void hdr_swap_le(struct ks_kbin_hdr *h)
{
	h->abi_version = htole32(h->abi_version);
	h->hdr_size = htole32(h->hdr_size);
	h->tables_size = htole64(h->tables_size);
	h->meta_size = htole64(h->meta_size);
	h->tables_hash = htole64(h->tables_hash);
	h->file_hash = htole64(h->file_hash);
	h->n_rules = htole32(h->n_rules);
	h->n_extents = htole32(h->n_extents);
	h->extents_size = htole32(h->extents_size);
}

/* ---- the tables as extents ---- */

#define KB_CHUNK	64	/* extents start and end on these boundaries */
#define KB_EXT_HDR	8	/* u32 offset, u32 length */
#define KB_EXTENTS(n)	((n) + KB_EXT_HDR * ((n) / KB_CHUNK + 1))
#define KB_EXTENTS_MAX	KB_EXTENTS(sizeof(struct ks_tables))

/* The chunk at off of tables whose used bytes end at end. */
static size_t chunk_len(size_t off, size_t end)
{
	return end - off < KB_CHUNK ? end - off : KB_CHUNK;
}

static bool chunk_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[KB_CHUNK];

	return !memcmp(p, zero, n);
}

/* One extent: its header as in the file, and where its bytes are in t. */
struct kb_ext {
	uint32_t hdr[2];	/* offset, length; little-endian */
	const uint8_t *p;
};

/*
 * The nonzero chunks of t's first `used` bytes, runs of them as one
 * extent, into ext (at least used / KB_CHUNK + 1 entries): their count,
 * *size their bytes in the file, added to the file hash *hash. A zero chunk ends an
 * extent: its 8-byte header costs less than 64 zeros. The file is
 * written from t itself: no buffer of the tables' size to fault in and
 * fill (bench/profile/compile-dfa-in-place.txt).
 */
static uint32_t tables_to_extents(const struct ks_tables *t, size_t used, struct kb_ext *ext,
				  size_t *size, struct ks_wide64 *hash)
{
	const uint8_t *b = (const uint8_t *)t;
	size_t off = 0, end;
	uint32_t n = 0;

	for (*size = 0; off < used; off = end) {
		end = off + chunk_len(off, used);
		if (chunk_zero(b + off, end - off))
			continue;
		while (end < used && !chunk_zero(b + end, chunk_len(end, used)))
			end += chunk_len(end, used);
		ext[n].hdr[0] = htole32((uint32_t)off);
		ext[n].hdr[1] = htole32((uint32_t)(end - off));
		ext[n].p = b + off;
		ks_wide64_add(hash, ext[n].hdr, KB_EXT_HDR);
		ks_wide64_add(hash, ext[n].p, end - off);
		*size += KB_EXT_HDR + end - off;
		n++;
	}
	return n;
}

/*
 * size bytes of n extents at p into the first `used` bytes of t (checked
 * by check_hdr), zeroed first unless `zeroed` says they are zeros already
 * (a fresh map's pages: clearing them was a third of the attach process's
 * reload, bench/profile/kbin4-before.txt); each must follow the one before and lie
 * inside those bytes and the file. No hash of the tables here: the file
 * hash, checked before, covers every byte they are rebuilt from, and a
 * second pass over the same bytes was a sixth of a .kbin reload
 * (bench/profile/reload-kbin-parallel-parse.txt).
 */
static int extents_to_tables(const char *name, const uint8_t *p, size_t size,
			     uint32_t n, size_t used, struct ks_tables *t, bool zeroed,
			     char *err, size_t errlen)
{
	uint64_t end = 0, off, len;
	uint8_t *b = (uint8_t *)t;
	size_t at = 0;
	uint32_t i, x;

	if (!zeroed) {
		ks_hugepages(t, used, sizeof(*t));
		memset(t, 0, used);
	}
	for (i = 0; i < n; i++, at += len) {
		if (size - at < KB_EXT_HDR)
			return ks_err(err, errlen, "%s: extent %u of %u is cut short", name, i, n);
		memcpy(&x, p + at, sizeof(x));
		off = le32toh(x);
		memcpy(&x, p + at + 4, sizeof(x));
		len = le32toh(x);
		at += KB_EXT_HDR;
		if (!len || off < end || off > used || len > used - off || len > size - at)
			return ks_err(err, errlen, "%s: extent %u (offset %llu, %llu bytes) is empty, overlaps the one before, or ends past the tables or the file",
				      name, i, (unsigned long long)off, (unsigned long long)len);
		memcpy(b + off, p + at, len);
		end = off + len;
	}
	if (at != size)
		return ks_err(err, errlen, "%s: %zu bytes after the last extent", name, size - at);
	return 0;
}

/* ---- write ---- */

/* iov[0..n) to fd, resumed after short writes; 0 or -1 (errno). */
static int writev_all(int fd, struct iovec *iov, size_t n)
{
	ssize_t w;

	while (n) {
		w = writev(fd, iov, n < IOV_MAX ? n : IOV_MAX);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			errno = w ? errno : EIO;
			return -1;
		}
		for (; n && (size_t)w >= iov->iov_len; iov++, n--)
			w -= iov->iov_len;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

/* Header, extents (their headers, their bytes in the tables), metadata. */
static int write_file(int fd, const struct ks_kbin_hdr *h, const struct kb_ext *ext,
		      uint32_t n, const char *meta, size_t meta_len)
{
	struct iovec *iov = malloc((2 * (size_t)n + 2) * sizeof(*iov));
	size_t k = 0;
	uint32_t i;
	int ret;

	if (!iov)
		return -1;
	iov[k++] = (struct iovec){ (void *)h, sizeof(*h) };
	for (i = 0; i < n; i++) {
		iov[k++] = (struct iovec){ (void *)ext[i].hdr, KB_EXT_HDR };
		iov[k++] = (struct iovec){ (void *)ext[i].p, le32toh(ext[i].hdr[1]) };
	}
	iov[k++] = (struct iovec){ (void *)meta, meta_len };
	ret = writev_all(fd, iov, k);
	free(iov);
	return ret;
}

/*
 * Where the file is written: beside path, then renamed over it (a reader
 * never sees half a file), unless path is a device or a FIFO (-o
 * /dev/null, /dev/stdout), written in place: a rename would replace the
 * node with a regular file. *direct says which.
 */
static char *out_path(const char *path, bool *direct)
{
	struct stat st;
	char *tmp;

	*direct = !stat(path, &st) && !S_ISREG(st.st_mode);
	if (*direct)
		return strdup(path);
	return asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0 ? NULL : tmp;
}

int ks_kbin_write(const char *path, const struct ks_ruleset *rs,
		  const struct ks_tables *t, char *err, size_t errlen)
{
	struct kb_ext *ext = NULL;
	struct ks_wide64 hash;
	struct ks_kbin_hdr h;
	char *meta, *tmp = NULL;
	size_t meta_len, esz;
	int fd = -1, ret = -1;
	bool direct;

	if (t->hdr.magic != KS_TABLES_MAGIC || t->hdr.n_rules != rs->n_rules)
		return ks_err(err, errlen, "%s: the tables are not compiled from these rules",
			      path);
	if (KS_TABLES_USED(t) > sizeof(*t))
		return ks_err(err, errlen, "%s: the tables' DFA is larger than the tables", path);
	meta = meta_yaml(rs, &meta_len, err, errlen);
	ext = meta ? malloc((KS_TABLES_USED(t) / KB_CHUNK + 1) * sizeof(*ext)) : NULL;
	if (!ext) {
		free(meta);
		return meta ? ks_err(err, errlen, "out of memory") : -1;
	}
	memset(&h, 0, sizeof(h));
	ks_wide64_init(&hash);
	h.n_extents = tables_to_extents(t, KS_TABLES_USED(t), ext, &esz, &hash);
	h.extents_size = (uint32_t)esz;
	memcpy(h.magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN);
	h.abi_version = KS_ABI_VERSION;
	h.hdr_size = sizeof(h);
	h.tables_size = KS_TABLES_USED(t);
	h.meta_size = meta_len;
	h.tables_hash = t->hdr.content_hash;
	ks_wide64_add(&hash, meta, meta_len);
	h.file_hash = ks_wide64_end(&hash);
	h.n_rules = rs->n_rules;
	hdr_swap_le(&h);
	tmp = out_path(path, &direct);
	if (!tmp) {
		ks_err(err, errlen, "out of memory");
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || write_file(fd, &h, ext, le32toh(h.n_extents), meta, meta_len) ||
	    (!direct && fsync(fd))) {
		ks_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	ret = close(fd);
	fd = -1;
	if (ret) {
		ks_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	ret = -1;
	if (!direct && rename(tmp, path)) {
		ks_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret && tmp && !direct)
		unlink(tmp);
	free(tmp);
	free(meta);
	free(ext);
	return ret;
}

/* ---- read ---- */

bool ks_kbin_probe(const char *path)
{
	char magic[KS_KBIN_MAGIC_LEN];
	FILE *f = fopen(path, "rb");
	bool ok;

	if (!f)
		return false;
	ok = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
	     !memcmp(magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN);
	fclose(f);
	return ok;
}

static int check_hdr(const char *path, const struct ks_kbin_hdr *h,
		     uint64_t fsize, char *err, size_t errlen)
{
	if (!memcmp(h->magic, KS_KBIN_MAGIC_V1, KS_KBIN_MAGIC_LEN) ||
	    !memcmp(h->magic, KS_KBIN_MAGIC_V2, KS_KBIN_MAGIC_LEN))
		return ks_err(err, errlen, "%s: a .kbin of an older format (%.8s, tables of a fixed size): recompile the rules",
			      path, h->magic);
	if (!memcmp(h->magic, KS_KBIN_MAGIC_V3, KS_KBIN_MAGIC_LEN))
		return ks_err(err, errlen, "%s: a .kbin of an older format (%.8s, FNV-1a file hash): recompile the rules",
			      path, h->magic);
	if (memcmp(h->magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN))
		return ks_err(err, errlen, "%s: not a .kbin file (bad magic)", path);
	if (h->abi_version != KS_ABI_VERSION)
		return ks_err(err, errlen, "%s: compiled for ABI version %u, this kload uses %u: recompile the rules",
			      path, h->abi_version, KS_ABI_VERSION);
	if (h->hdr_size != sizeof(*h) || h->tables_size < KS_TABLES_VALUE_SIZE(0) ||
	    h->tables_size > sizeof(struct ks_tables) || h->tables_size % 4)
		return ks_err(err, errlen, "%s: table layout differs (header %u, tables %llu bytes; expected %zu, %zu..%zu): recompile the rules",
			      path, h->hdr_size,
			      (unsigned long long)h->tables_size, sizeof(*h),
			      (size_t)KS_TABLES_VALUE_SIZE(0), sizeof(struct ks_tables));
	/* no sum of the sizes: a huge meta_size would wrap around */
	if (fsize < sizeof(*h) || h->extents_size > fsize - sizeof(*h) ||
	    h->meta_size != fsize - sizeof(*h) - h->extents_size)
		return ks_err(err, errlen, "%s: truncated or padded: %llu bytes, header says %u of table extents and %llu of metadata",
			      path, (unsigned long long)fsize, h->extents_size,
			      (unsigned long long)h->meta_size);
	return 0;
}

#define KBIN_MAX_BYTES	(sizeof(struct ks_kbin_hdr) + KB_EXTENTS_MAX + KS_MAX_FILE_BYTES)

/* Whole file into memory, NUL-terminated. */
static char *slurp(const char *path, uint64_t *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		ks_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		ks_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((unsigned long)n > KBIN_MAX_BYTES) {
		ks_err(err, errlen, "%s: larger than a .kbin can be (%ld bytes; "
		       "the metadata is a rule file, at most KS_MAX_FILE_BYTES)",
		       path, n);
		goto out;
	}
	buf = malloc(n + 1);
	if (!buf) {
		ks_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (fread(buf, 1, n, f) != (size_t)n) {
		ks_err(err, errlen, "%s: read error", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = 0;
	*size = n;
out:
	fclose(f);
	return buf;
}

static int check_rules(const char *path, const struct ks_ruleset *rs,
		       size_t first, const struct ks_tables *t, char *err,
		       size_t errlen)
{
	size_t i;

	if (ks_diags_errors(&rs->diags))
		return ks_err(err, errlen, "%s: the rule metadata does not parse (see diagnostics)",
			      path);
	if (rs->n_rules - first != t->hdr.n_rules)
		return ks_err(err, errlen, "%s: metadata has %zu rules, the tables %u",
			      path, rs->n_rules - first, t->hdr.n_rules);
	for (i = 0; i < t->hdr.n_rules; i++)
		if (ks_rule_uid(&rs->rules[first + i]) != t->rules[i].uid)
			return ks_err(err, errlen, "%s: rule %s does not match the tables (uid %08x, tables %08x)",
				      path, rs->rules[first + i].id,
				      ks_rule_uid(&rs->rules[first + i]),
				      t->rules[i].uid);
	return 0;
}

/* "NAME: " before the message already in err. */
static void prefix_err(const char *name, char *err, size_t errlen)
{
	char *msg;

	if (!err || !errlen || asprintf(&msg, "%s: %s", name, err) < 0)
		return;
	snprintf(err, errlen, "%s", msg);
	free(msg);
}

/*
 * The rule metadata re-parses (YAML, then every query) while the file
 * hash is checked and the tables are rebuilt and checked: the two share
 * nothing until check_rules(), and the parse is the longer
 * (bench/profile/reload-kbin-*.txt). Into a ruleset of its own, so that
 * a damaged file leaves nothing of its bytes in rs: rs takes the parsed
 * rules once the hash vouches for them (rs fresh, as every caller's is).
 * Into a rs that holds something already, the parse starts after the
 * hash, as before.
 */
struct kb_meta_parse {
	pthread_t tid;
	bool running;
	bool later;			/* no thread: parsed in meta_finish() */
	struct ks_ruleset *rs;		/* parsed into: rs, or one of its own */
	char *meta;
	const char *name;
};

static void *meta_parse(void *arg)
{
	struct kb_meta_parse *mp = arg;

	ks_ruleset_load_string(mp->rs, mp->meta, mp->name);
	return NULL;
}

/* Nothing loaded: its contents can be those of another ruleset. */
static bool ruleset_fresh(struct ks_ruleset *rs)
{
	return !rs->n_rules && !rs->n_skipped && !rs->diags.n && !ks_priv(rs)->srcs.head;
}

static int meta_start(struct kb_meta_parse *mp, struct ks_ruleset *into, const char *meta,
		      size_t len, char *err, size_t errlen)
{
	/* the rule file loader reads a C string */
	mp->rs = into;
	mp->meta = into ? malloc(len + 1) : NULL;	/* (into: ks_ruleset_new()'s) */
	if (!mp->meta)
		return ks_err(err, errlen, "%s: out of memory", mp->name);
	memcpy(mp->meta, meta, len);
	mp->meta[len] = 0;
	mp->running = !mp->later && !pthread_create(&mp->tid, NULL, meta_parse, mp);
	return 0;
}

/*
 * The parse done (here, if no thread could take it) and, when wanted,
 * its rules moved into rs (the structs exchanged: nothing points at a
 * struct ks_ruleset itself); the text and a ruleset of its own freed.
 */
static void meta_finish(struct kb_meta_parse *mp, struct ks_ruleset *rs, bool wanted)
{
	struct ks_ruleset tmp;

	if (mp->running)
		pthread_join(mp->tid, NULL);
	else if (mp->meta && wanted)
		meta_parse(mp);
	mp->running = false;
	free(mp->meta);
	mp->meta = NULL;
	if (mp->rs == rs || !mp->rs)
		return;
	if (wanted) {
		tmp = *rs;
		*rs = *mp->rs;
		*mp->rs = tmp;
	}
	ks_ruleset_free(mp->rs);
	mp->rs = NULL;
}

/* The tables from the extents, and everything about them checked. */
static int read_tables(const char *name, const char *body, const struct ks_kbin_hdr *h,
		       struct ks_tables *t, unsigned int flags, char *err, size_t errlen)
{
	if (extents_to_tables(name, (const uint8_t *)body, h->extents_size, h->n_extents,
			      h->tables_size, t, flags & KS_KBIN_ZEROED, err, errlen))
		return -1;
	if (t->hdr.magic != KS_TABLES_MAGIC ||
	    t->hdr.abi_version != KS_ABI_VERSION ||
	    t->hdr.content_hash != h->tables_hash ||
	    KS_TABLES_USED(t) != h->tables_size)
		return ks_err(err, errlen, "%s: the tables are inconsistent (magic, version, hash or size)",
			      name);
	if (ks_tables_check(t, err, errlen)) {
		prefix_err(name, err, errlen);
		return -1;
	}
	return 0;
}

/*
 * Header, file hash and tables, with the metadata parse started in mp:
 * on a thread from the start into a ruleset of its own (into NULL), or
 * into `into` once the hash holds. 0, or -1 with err; either way
 * meta_finish(mp) follows.
 */
static int read_body(const char *buf, size_t size, const char *name, struct ks_ruleset *into,
		     struct kb_meta_parse *mp, struct ks_tables *t, unsigned int flags,
		     char *err, size_t errlen)
{
	const char *body = buf + sizeof(struct ks_kbin_hdr);
	struct ks_kbin_hdr h;

	if (size < sizeof(h))
		return ks_err(err, errlen, "%s: not a .kbin file (%zu bytes)", name, size);
	memcpy(&h, buf, sizeof(h));
	hdr_swap_le(&h);
	if (check_hdr(name, &h, size, err, errlen))
		return -1;
	if (!into && meta_start(mp, ks_ruleset_new(), body + h.extents_size, h.meta_size,
				err, errlen))
		return -1;
	if (ks_wide64(body, size - sizeof(h)) != h.file_hash)
		return ks_err(err, errlen, "%s: corrupted (content hash mismatch)", name);
	if (into && meta_start(mp, into, body + h.extents_size, h.meta_size, err, errlen))
		return -1;
	return read_tables(name, body, &h, t, flags, err, errlen);
}

int ks_kbin_read_mem(const void *data, size_t size, const char *name,
		     struct ks_ruleset *rs, struct ks_tables *t, char *err,
		     size_t errlen)
{
	struct kb_meta_parse mp = { .name = name };
	size_t first = rs->n_rules;
	int ret;

	/* rs fresh: the parse overlaps the hash, in a ruleset of its own */
	ret = read_body(data, size, name, ruleset_fresh(rs) ? NULL : rs, &mp, t, 0, err, errlen);
	meta_finish(&mp, rs, !ret);
	if (!ret)
		ret = check_rules(name, rs, first, t, err, errlen);
	if (ret)
		memset(&t->hdr, 0, sizeof(t->hdr));
	return ret;
}

int ks_kbin_read(const char *path, struct ks_ruleset *rs, struct ks_tables *t,
		 char *err, size_t errlen)
{
	uint64_t size = 0;
	char *buf;
	int ret;

	buf = slurp(path, &size, err, errlen);
	if (!buf)
		return -1;
	ret = ks_kbin_read_mem(buf, size, path, rs, t, err, errlen);
	free(buf);
	return ret;
}

#define KB_HUGE		(2ul << 20)
#define KB_HUGE_LEN(n)	(((n) + KB_HUGE - 1) & ~(KB_HUGE - 1))

/*
 * size bytes of fd into anonymous memory in huge pages (*len mapped). A
 * mapping of the file itself is the page cache's 4 KiB pages, and on
 * this kind of VM the first touch of each page of a new mapping costs
 * tens of microseconds: the hash's pass over them was most of its time
 * (bench/profile/kbin4-*.txt). NULL on failure (errno).
 */
static void *read_huge(int fd, size_t size, size_t *len)
{
	size_t want = KB_HUGE_LEN(size), got = 0, head;
	uint8_t *m = mmap(NULL, want + KB_HUGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *a;
	ssize_t n;

	if (m == MAP_FAILED)
		return NULL;
	/* aligned, the rest given back: huge pages need 2 MiB alignment */
	a = (uint8_t *)KB_HUGE_LEN((uintptr_t)m);
	head = a - m;
	if (head)
		munmap(m, head);
	munmap(a + want, KB_HUGE - head);
	madvise(a, want, MADV_HUGEPAGE);	/* advice: errors change nothing */
	while (got < size && (n = pread(fd, a + got, size - got, got)) > 0)
		got += n;
	if (got < size) {
		munmap(a, want);
		errno = errno ?: EIO;
		return NULL;
	}
	*len = want;
	return a;
}

/*
 * A regular file open at fd, copied into memory in huge pages: what is
 * checked is that copy, whatever happens to the file meanwhile. NULL
 * with err on failure (not a regular file of a .kbin's size: a FIFO
 * would hold the attach process up).
 */
static void *load_fd(int fd, const char *name, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	size_t len;
	void *m;

	if (fstat(fd, &st)) {
		ks_err(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || !st.st_size || (uint64_t)st.st_size > KBIN_MAX_BYTES) {
		ks_err(err, errlen, "%s: not a regular file of at most %zu bytes", name,
		       KBIN_MAX_BYTES);
		return NULL;
	}
	m = read_huge(fd, st.st_size, &len);
	if (!m)
		ks_err(err, errlen, "%s: %s", name, strerror(errno));
	*size = st.st_size;
	return m;
}

/*
 * A file only kload writes (a root-only directory's), read into memory in
 * huge pages (*mapped; else slurped). NULL with err on failure.
 */
static void *load_private(const char *path, uint64_t *size, bool *mapped, char *err,
			  size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *m;

	*mapped = false;
	if (fd < 0) {
		ks_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	m = load_fd(fd, path, size, err, errlen);
	close(fd);
	if (!m)
		return slurp(path, size, err, errlen);
	*mapped = true;
	return m;
}

static void unload_private(void *buf, uint64_t size, bool mapped)
{
	if (mapped)
		munmap(buf, KB_HUGE_LEN(size));
	else
		free(buf);
}

int ks_kbin_read_private(const char *path, struct ks_ruleset *rs, struct ks_tables *t,
			 char *err, size_t errlen)
{
	uint64_t size = 0;
	bool mapped;
	void *m = load_private(path, &size, &mapped, err, errlen);
	int ret;

	if (!m)
		return -1;
	ret = ks_kbin_read_mem(m, size, path, rs, t, err, errlen);
	unload_private(m, size, mapped);
	return ret;
}

/* ---- read in two halves: tables, then (after their switch) the rules ---- */

struct ks_kbin_pending {
	struct kb_meta_parse mp;
	char *name;
};

/* fd >= 0: the file open there (name its name in messages), else path's. */
static int read_tables_half(int fd, const char *path, struct ks_tables *t, unsigned int flags,
			    struct ks_kbin_pending **pp, char *err, size_t errlen)
{
	struct ks_kbin_pending *p = calloc(1, sizeof(*p));
	uint64_t size = 0;
	bool mapped = true;
	void *m;
	int ret;

	*pp = NULL;
	if (p) {
		p->name = strdup(path);
		p->mp.name = p->name;
		p->mp.later = flags & KS_KBIN_RULES_LATER;
	}
	if (!p || !p->name) {
		free(p);
		return ks_err(err, errlen, "%s: out of memory", path);
	}
	if (fd >= 0)
		m = load_fd(fd, path, &size, err, errlen);
	else
		m = load_private(path, &size, &mapped, err, errlen);
	ret = m ? read_body(m, size, p->name, NULL, &p->mp, t, flags, err, errlen) : -1;
	if (m)
		unload_private(m, size, mapped);
	if (ret) {
		ks_kbin_pending_free(p);
		return -1;
	}
	*pp = p;
	return 0;
}

int ks_kbin_read_tables_private(const char *path, struct ks_tables *t, unsigned int flags,
				struct ks_kbin_pending **pp, char *err, size_t errlen)
{
	return read_tables_half(-1, path, t, flags, pp, err, errlen);
}

int ks_kbin_read_tables_fd(int fd, const char *name, struct ks_tables *t, unsigned int flags,
			   struct ks_kbin_pending **pp, char *err, size_t errlen)
{
	return read_tables_half(fd, name, t, flags, pp, err, errlen);
}

int ks_kbin_read_rules(struct ks_kbin_pending *p, struct ks_ruleset *rs,
		       const struct ks_tables *t, char *err, size_t errlen)
{
	size_t first = rs->n_rules;
	int ret;

	if (!ruleset_fresh(rs)) {
		ks_kbin_pending_free(p);
		return ks_err(err, errlen, "the rules of a .kbin read in two halves go into an empty rule set");
	}
	meta_finish(&p->mp, rs, true);
	ret = check_rules(p->name, rs, first, t, err, errlen);
	free(p->name);
	free(p);
	return ret;
}

void ks_kbin_pending_free(struct ks_kbin_pending *p)
{
	if (!p)
		return;
	meta_finish(&p->mp, NULL, false);
	free(p->name);
	free(p);
}
