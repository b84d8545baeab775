// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * .kbin files: header, the nonzero extents of the used bytes of struct
 * ks_tables (KS_TABLES_USED: up to the last DFA cell; then its prefilter
 * table fdr, past dfa[], when an automaton is flagged), rule metadata as
 * YAML. The format is described in include/kestrel/kbin.h.
 *
 * The metadata is emitted with libyaml (double-quoted scalars, so any
 * query text survives) in the rule file format, and read back with the
 * ordinary rule file loader: one parser for rules, whatever their origin.
 * The tables read back are checked by ks_tables_check() (tables_check.c)
 * before anything walks them.
 *
 * About 1,000 lines, writer and readers in one file on purpose: the extent
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
	    (r->args_cut && emit_kv(em, "args_cut", ks_args_cut_name(r->args_cut), true)) ||
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

/* The prefilter's table in struct ks_tables: past dfa[], not in the tables value. */
#define KB_FDR_OFF	offsetof(struct ks_tables, fdr)
#define KB_FDR_END	(KB_FDR_OFF + sizeof(((struct ks_tables *)0)->fdr))

/*
 * The nonzero chunks of t's bytes [off, used), runs of them as one
 * extent, into ext (at least (used - off) / KB_CHUNK + 1 entries): their
 * count, their bytes in the file added to *size and to the file hash
 * *hash. A zero chunk ends an extent: its 8-byte header costs less than
 * 64 zeros. The file is written from t itself: no buffer of the tables'
 * size to fault in and fill (bench/profile/compile-dfa-in-place.txt).
 */
static uint32_t tables_to_extents(const struct ks_tables *t, size_t off, size_t used,
				  struct kb_ext *ext, size_t *size, struct ks_wide64 *hash)
{
	const uint8_t *b = (const uint8_t *)t;
	uint32_t n = 0;
	size_t end;

	for (; off < used; off = end) {
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
	ext = meta ? malloc(((KS_TABLES_USED(t) + sizeof(t->fdr)) / KB_CHUNK + 2) * sizeof(*ext))
		   : NULL;
	if (!ext) {
		free(meta);
		return meta ? ks_err(err, errlen, "out of memory") : -1;
	}
	memset(&h, 0, sizeof(h));
	ks_wide64_init(&hash);
	esz = 0;
	h.n_extents = tables_to_extents(t, 0, KS_TABLES_USED(t), ext, &esz, &hash);
	if (KS_TABLES_HAS_FDR(t))
		h.n_extents += tables_to_extents(t, KB_FDR_OFF, KB_FDR_END, ext + h.n_extents,
						 &esz, &hash);
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
	    h->tables_size > KB_FDR_OFF || h->tables_size % 4)
		return ks_err(err, errlen, "%s: table layout differs (header %u, tables %llu bytes; expected %zu, %zu..%zu): recompile the rules",
			      path, h->hdr_size,
			      (unsigned long long)h->tables_size, sizeof(*h),
			      (size_t)KS_TABLES_VALUE_SIZE(0), KB_FDR_OFF);
	/* no sum of the sizes: a huge meta_size would wrap around */
	if (fsize < sizeof(*h) || h->extents_size > fsize - sizeof(*h) ||
	    h->meta_size != fsize - sizeof(*h) - h->extents_size)
		return ks_err(err, errlen, "%s: truncated or padded: %llu bytes, header says %u of table extents and %llu of metadata",
			      path, (unsigned long long)fsize, h->extents_size,
			      (unsigned long long)h->meta_size);
	return 0;
}

/* ---- reading: the body in file order, each byte hashed as it comes ---- */

#define KBIN_MAX_BYTES	(sizeof(struct ks_kbin_hdr) + KB_EXTENTS_MAX + KS_MAX_FILE_BYTES)
#define KB_READ_CHUNK	(128u << 10)

/*
 * A file is read (pread) a chunk at a time into one buffer kept for the
 * process, and each chunk hashed there before anything uses its bytes:
 * what the file hash vouches for is exactly what the tables and the
 * metadata are built from, whatever happens to the file meanwhile (changed:
 * a hash mismatch; cut short: a short read). No mapping of the file (one
 * truncated under it is SIGBUS) and no buffer of its size: on this kind of
 * VM each fresh page costs a fault of tens of microseconds, and the copy
 * into fresh huge pages was the largest part of a .kbin reload's read
 * (bench/profile/reload7-*.txt). The buffer's 128 KiB stay warm in the
 * cache between the read, the hash and the copy out.
 */
static pthread_mutex_t kb_buf_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *kb_buf;		/* KB_READ_CHUNK bytes, under kb_buf_lock; kept */

struct kb_src {
	const uint8_t *mem;	/* the whole file, or NULL: read from fd */
	int fd;
	uint64_t pos, end;	/* file offsets: of the next chunk, of the file's end */
	const uint8_t *p;	/* the current chunk, hashed */
	size_t have, at;	/* its length, the next byte's offset in it */
	struct ks_wide64 hash;	/* of the body (all after the header) */
	int rd_err;		/* the read failed: errno, or -1: the file ended early */
	struct ks_kbin_hdr h;
};

/* The next chunk; 0, or -1 with s->rd_err. */
static int src_fill(struct kb_src *s)
{
	size_t want = s->end - s->pos, got = 0;
	ssize_t n;

	if (s->mem) {
		s->p = s->mem + s->pos;
	} else {
		want = want < KB_READ_CHUNK ? want : KB_READ_CHUNK;
		while (got < want && (n = pread(s->fd, kb_buf + got, want - got, s->pos + got))) {
			if (n < 0 && errno != EINTR) {
				s->rd_err = errno;
				return -1;
			}
			got += n > 0 ? n : 0;
		}
		if (got < want) {
			s->rd_err = -1;
			return -1;
		}
		s->p = kb_buf;
	}
	ks_wide64_add(&s->hash, s->p, want);
	s->pos += want;
	s->have = want;
	s->at = 0;
	return 0;
}

/* The next n bytes of the body into dst (NULL: only hashed); 0, or -1. */
static int src_read(struct kb_src *s, void *dst, size_t n)
{
	uint8_t *d = dst;
	size_t k;

	while (n) {
		if (s->at == s->have && (s->pos == s->end || s->rd_err || src_fill(s)))
			return -1;
		k = n < s->have - s->at ? n : s->have - s->at;
		if (d) {
			memcpy(d, s->p + s->at, k);
			d += k;
		}
		s->at += k;
		n -= k;
	}
	return 0;
}

/* The rest of the file through the hash; -1 if it could not be read. */
static int src_drain(struct kb_src *s)
{
	while (!s->rd_err && s->pos < s->end)
		src_fill(s);
	s->at = s->have;
	return s->rd_err ? -1 : 0;
}

static int src_header(struct kb_src *s, const char *name, char *err, size_t errlen)
{
	ks_wide64_init(&s->hash);
	s->pos = sizeof(s->h);
	if (s->end < sizeof(s->h))
		return ks_err(err, errlen, "%s: not a .kbin file (%llu bytes)", name,
			      (unsigned long long)s->end);
	if (s->mem)
		memcpy(&s->h, s->mem, sizeof(s->h));
	else if (pread(s->fd, &s->h, sizeof(s->h), 0) != sizeof(s->h))
		return ks_err(err, errlen, "%s: cut short while it was read", name);
	hdr_swap_le(&s->h);
	return check_hdr(name, &s->h, s->end, err, errlen);
}

/*
 * A regular file open at fd, of a .kbin's size at most (a FIFO would hold
 * the caller up), its header checked; src_close() follows either way.
 */
static int src_fd(struct kb_src *s, int fd, const char *name, char *err, size_t errlen)
{
	struct stat st;

	*s = (struct kb_src){ .fd = -1 };
	if (fstat(fd, &st))
		return ks_err(err, errlen, "%s: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > KBIN_MAX_BYTES)
		return ks_err(err, errlen, "%s: not a regular file of at most %zu bytes", name,
			      KBIN_MAX_BYTES);
	pthread_mutex_lock(&kb_buf_lock);
	s->fd = fd;
	s->end = st.st_size;
	if (!kb_buf)
		kb_buf = malloc(KB_READ_CHUNK);
	if (!kb_buf)
		return ks_err(err, errlen, "%s: out of memory", name);
	return src_header(s, name, err, errlen);
}

static void src_close(struct kb_src *s)
{
	if (s->fd >= 0)
		pthread_mutex_unlock(&kb_buf_lock);
	s->fd = -1;
}

/* Does the extent [off, off + len) lie in the first `used` bytes or in fdr? */
static bool extent_inside(uint64_t off, uint64_t len, size_t used)
{
	if (off >= KB_FDR_OFF)
		return off <= KB_FDR_END && len <= KB_FDR_END - off;
	return off <= used && len <= used - off;
}

/*
 * size bytes of n extents from s into the first `used` bytes of t (checked
 * by check_hdr) and into its prefilter table fdr (*fdr set when one is
 * there), zeroed first unless `zeroed` says they are zeros already
 * (a fresh map's pages: clearing them was a third of the attach process's
 * reload, bench/profile/kbin4-before.txt); each must follow the one before and lie
 * inside those bytes and the file. The file hash is taken of the same
 * bytes on their way in (src_fill()).
 */
static int extents_to_tables(const char *name, struct kb_src *s, size_t size,
			     uint32_t n, size_t used, struct ks_tables *t, bool zeroed,
			     bool *fdr, char *err, size_t errlen)
{
	uint64_t end = 0, off, len;
	uint8_t *b = (uint8_t *)t;
	uint32_t i, x[2];
	size_t at = 0;

	if (!zeroed) {
		ks_hugepages(t, used, sizeof(*t));
		memset(t, 0, used);
	}
	for (*fdr = false, i = 0; i < n; i++, at += len) {
		if (size - at < KB_EXT_HDR || src_read(s, x, sizeof(x)))
			return ks_err(err, errlen, "%s: extent %u of %u is cut short", name, i, n);
		off = le32toh(x[0]);
		len = le32toh(x[1]);
		at += KB_EXT_HDR;
		if (!len || off < end || !extent_inside(off, len, used) || len > size - at)
			return ks_err(err, errlen, "%s: extent %u (offset %llu, %llu bytes) is empty, overlaps the one before, or ends past the tables or the file",
				      name, i, (unsigned long long)off, (unsigned long long)len);
		/* the prefilter's first extent: its table zeros but what the file holds */
		if (off >= KB_FDR_OFF && !*fdr && !zeroed)
			memset(&t->fdr, 0, sizeof(t->fdr));
		*fdr |= off >= KB_FDR_OFF;
		if (src_read(s, b + off, len))
			return ks_err(err, errlen, "%s: extent %u of %u is cut short", name, i, n);
		end = off + len;
	}
	if (at != size)
		return ks_err(err, errlen, "%s: %zu bytes after the last extent", name, size - at);
	return 0;
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

/* Room for the metadata, read into it (a C string: the rule file loader reads one). */
static int meta_alloc(struct kb_meta_parse *mp, size_t len, char *err, size_t errlen)
{
	mp->meta = malloc(len + 1);
	if (!mp->meta)
		return ks_err(err, errlen, "%s: out of memory", mp->name);
	mp->meta[len] = 0;
	return 0;
}

/* The parse of mp->meta into `into` (NULL: ks_ruleset_new() failed) started. */
static int meta_start(struct kb_meta_parse *mp, struct ks_ruleset *into, char *err,
		      size_t errlen)
{
	mp->rs = into;
	if (!into)
		return ks_err(err, errlen, "%s: out of memory", mp->name);
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

/* What the tables' own header says of them, and everything about them checked. */
static int check_tables(const char *name, const struct ks_kbin_hdr *h,
			const struct ks_tables *t, bool fdr, char *err, size_t errlen)
{
	if (t->hdr.magic != KS_TABLES_MAGIC ||
	    t->hdr.abi_version != KS_ABI_VERSION ||
	    t->hdr.content_hash != h->tables_hash ||
	    KS_TABLES_USED(t) != h->tables_size)
		return ks_err(err, errlen, "%s: the tables are inconsistent (magic, version, hash or size)",
			      name);
	/* the content hash covers the prefilter's table only when flagged */
	if (fdr && !KS_TABLES_HAS_FDR(t))
		return ks_err(err, errlen, "%s: a prefilter table and no automaton flagged for it",
			      name);
	if (ks_tables_check(t, err, errlen)) {
		prefix_err(name, err, errlen);
		return -1;
	}
	return 0;
}

/*
 * The whole file in memory and no rules to keep (into NULL): the parse
 * starts now, on a thread into a ruleset of its own, beside the hash and
 * the tables' rebuild.
 */
static int meta_early(struct kb_src *s, struct ks_ruleset *into, struct kb_meta_parse *mp,
		      char *err, size_t errlen)
{
	if (!s->mem || into)
		return 0;
	if (meta_alloc(mp, s->h.meta_size, err, errlen))
		return -1;
	memcpy(mp->meta, s->mem + sizeof(s->h) + s->h.extents_size, s->h.meta_size);
	return meta_start(mp, ks_ruleset_new(), err, errlen);
}

/*
 * Header, tables and metadata from s, the file hash taken on the way,
 * with the metadata parse started in mp (into `into`, or NULL: a ruleset
 * of its own) once the hash holds, or from the start (meta_early()). A
 * damaged file is named as such whatever else its bytes break. 0, or -1
 * with err; either way meta_finish(mp) follows.
 */
static int read_body(struct kb_src *s, const char *name, struct ks_ruleset *into,
		     struct kb_meta_parse *mp, struct ks_tables *t, unsigned int flags,
		     char *err, size_t errlen)
{
	const struct ks_kbin_hdr *h = &s->h;
	bool fdr;
	int ret;

	if (src_header(s, name, err, errlen) || meta_early(s, into, mp, err, errlen))
		return -1;
	ret = extents_to_tables(name, s, h->extents_size, h->n_extents, h->tables_size, t,
				flags & KS_KBIN_ZEROED, &fdr, err, errlen);
	if (!ret && !mp->meta && meta_alloc(mp, h->meta_size, err, errlen))
		return -1;
	if (!ret && !mp->rs)
		src_read(s, mp->meta, h->meta_size);	/* a failed read: rd_err */
	if (src_drain(s) && s->rd_err > 0)
		return ks_err(err, errlen, "%s: %s", name, strerror(s->rd_err));
	if (s->rd_err)
		return ks_err(err, errlen, "%s: cut short while it was read", name);
	if (ks_wide64_end(&s->hash) != h->file_hash)
		return ks_err(err, errlen, "%s: corrupted (content hash mismatch)", name);
	if (ret || (!mp->rs && meta_start(mp, into ?: ks_ruleset_new(), err, errlen)))
		return -1;
	return check_tables(name, h, t, fdr, err, errlen);
}

/* The whole file: tables into t, rules into rs. */
static int read_whole(struct kb_src *s, const char *name, struct ks_ruleset *rs,
		      struct ks_tables *t, char *err, size_t errlen)
{
	struct kb_meta_parse mp = { .name = name };
	size_t first = rs->n_rules;
	int ret;

	/* rs fresh: the parse may start early, in a ruleset of its own */
	ret = read_body(s, name, ruleset_fresh(rs) ? NULL : rs, &mp, t, 0, err, errlen);
	meta_finish(&mp, rs, !ret);
	if (!ret)
		ret = check_rules(name, rs, first, t, err, errlen);
	if (ret)
		memset(&t->hdr, 0, sizeof(t->hdr));
	return ret;
}

int ks_kbin_read_mem(const void *data, size_t size, const char *name,
		     struct ks_ruleset *rs, struct ks_tables *t, char *err,
		     size_t errlen)
{
	struct kb_src s = { .mem = data, .fd = -1, .end = size };

	return read_whole(&s, name, rs, t, err, errlen);
}

int ks_kbin_read(const char *path, struct ks_ruleset *rs, struct ks_tables *t,
		 char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;
	struct kb_src s = { .fd = -1 };

	if (fd < 0)
		return ks_err(err, errlen, "%s: %s", path, strerror(errno));
	ret = src_fd(&s, fd, path, err, errlen) ?: read_whole(&s, path, rs, t, err, errlen);
	src_close(&s);
	close(fd);
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
	struct kb_src s = { .fd = -1 };
	int own = -1, ret;

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
	if (fd < 0)
		fd = own = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ret = ks_err(err, errlen, "%s: %s", path, strerror(errno));
	else
		ret = src_fd(&s, fd, path, err, errlen) ?:
		      read_body(&s, p->name, NULL, &p->mp, t, flags, err, errlen);
	src_close(&s);
	if (own >= 0)
		close(own);
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
