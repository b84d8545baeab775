// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * .kbin files: header, struct ks_tables, rule metadata as YAML. The format
 * is described in include/kestrel/kbin.h.
 *
 * The metadata is emitted with libyaml (double-quoted scalars, so any
 * query text survives) in the rule file format, and read back with the
 * ordinary rule file loader: one parser for rules, whatever their origin.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include <kestrel/kbin.h>
#include <kestrel/names.h>

#include "lower.h"

static int kb_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int kb_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

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

static int emit_tags(yaml_emitter_t *em, const struct ks_rule_src *r)
{
	yaml_event_t ev;
	size_t i;

	if (emit_str(em, "tags", true))
		return -1;
	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						  YAML_FLOW_SEQUENCE_STYLE) ||
	    emit_event(em, &ev))
		return -1;
	for (i = 0; i < r->n_tags; i++)
		if (emit_str(em, r->tags[i], false))
			return -1;
	if (!yaml_sequence_end_event_initialize(&ev))
		return -1;
	return emit_event(em, &ev);
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
	    emit_tags(em, r) ||
	    emit_kv(em, "query", r->query_text ? r->query_text : "", false))
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
		kb_err(err, errlen, "out of memory");
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
		kb_err(err, errlen, "cannot write rule metadata: %s",
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

static void hdr_to_le(struct ks_kbin_hdr *h)
{
	h->abi_version = htole32(h->abi_version);
	h->hdr_size = htole32(h->hdr_size);
	h->tables_size = htole64(h->tables_size);
	h->meta_size = htole64(h->meta_size);
	h->tables_hash = htole64(h->tables_hash);
	h->file_hash = htole64(h->file_hash);
	h->n_rules = htole32(h->n_rules);
}

static void hdr_from_le(struct ks_kbin_hdr *h)
{
	h->abi_version = le32toh(h->abi_version);
	h->hdr_size = le32toh(h->hdr_size);
	h->tables_size = le64toh(h->tables_size);
	h->meta_size = le64toh(h->meta_size);
	h->tables_hash = le64toh(h->tables_hash);
	h->file_hash = le64toh(h->file_hash);
	h->n_rules = le32toh(h->n_rules);
}

static uint64_t file_hash(const struct ks_tables *t, const char *meta,
			  size_t meta_len)
{
	uint64_t h = ks_fnv1a64(t, sizeof(*t), KS_FNV64_INIT);

	return ks_fnv1a64(meta, meta_len, h);
}

/* ---- write ---- */

static int write_all(FILE *f, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int ks_kbin_write(const char *path, const struct ks_ruleset *rs,
		  const struct ks_tables *t, char *err, size_t errlen)
{
	struct ks_kbin_hdr h;
	char *meta, *tmp = NULL;
	size_t meta_len;
	FILE *f = NULL;
	int ret = -1;

	if (t->hdr.magic != KS_TABLES_MAGIC || t->hdr.n_rules != rs->n_rules)
		return kb_err(err, errlen, "%s: the tables are not compiled from these rules",
			      path);
	meta = meta_yaml(rs, &meta_len, err, errlen);
	if (!meta)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN);
	h.abi_version = KS_ABI_VERSION;
	h.hdr_size = sizeof(h);
	h.tables_size = sizeof(*t);
	h.meta_size = meta_len;
	h.tables_hash = t->hdr.content_hash;
	h.file_hash = file_hash(t, meta, meta_len);
	h.n_rules = rs->n_rules;
	hdr_to_le(&h);
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		tmp = NULL;
		kb_err(err, errlen, "out of memory");
		goto out;
	}
	f = fopen(tmp, "wb");
	if (!f) {
		kb_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(f, &h, sizeof(h)) || write_all(f, t, sizeof(*t)) ||
	    write_all(f, meta, meta_len) || fflush(f) || fsync(fileno(f))) {
		kb_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f)) {
		f = NULL;
		kb_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path)) {
		kb_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (f)
		fclose(f);
	if (ret && tmp)
		unlink(tmp);
	free(tmp);
	free(meta);
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
	if (memcmp(h->magic, KS_KBIN_MAGIC, KS_KBIN_MAGIC_LEN))
		return kb_err(err, errlen, "%s: not a .kbin file (bad magic)", path);
	if (h->abi_version != KS_ABI_VERSION)
		return kb_err(err, errlen, "%s: compiled for ABI version %u, this kload uses %u: recompile the rules",
			      path, h->abi_version, KS_ABI_VERSION);
	if (h->hdr_size != sizeof(*h) ||
	    h->tables_size != sizeof(struct ks_tables))
		return kb_err(err, errlen, "%s: table layout differs (header %u, tables %llu bytes; expected %zu, %zu): recompile the rules",
			      path, h->hdr_size,
			      (unsigned long long)h->tables_size, sizeof(*h),
			      sizeof(struct ks_tables));
	if (fsize != sizeof(*h) + h->tables_size + h->meta_size)
		return kb_err(err, errlen, "%s: truncated or padded: %llu bytes, header says %llu",
			      path, (unsigned long long)fsize,
			      (unsigned long long)(sizeof(*h) + h->tables_size +
						   h->meta_size));
	return 0;
}

/* Whole file into memory, NUL-terminated. */
static char *slurp(const char *path, uint64_t *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		kb_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		kb_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	buf = malloc(n + 1);
	if (!buf) {
		kb_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (fread(buf, 1, n, f) != (size_t)n) {
		kb_err(err, errlen, "%s: read error", path);
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
		return kb_err(err, errlen, "%s: the rule metadata does not parse (see diagnostics)",
			      path);
	if (rs->n_rules - first != t->hdr.n_rules)
		return kb_err(err, errlen, "%s: metadata has %zu rules, the tables %u",
			      path, rs->n_rules - first, t->hdr.n_rules);
	for (i = 0; i < t->hdr.n_rules; i++)
		if (ks_rule_uid(&rs->rules[first + i]) != t->rules[i].uid)
			return kb_err(err, errlen, "%s: rule %s does not match the tables (uid %08x, tables %08x)",
				      path, rs->rules[first + i].id,
				      ks_rule_uid(&rs->rules[first + i]),
				      t->rules[i].uid);
	return 0;
}

int ks_kbin_read(const char *path, struct ks_ruleset *rs, struct ks_tables *t,
		 char *err, size_t errlen)
{
	struct ks_kbin_hdr h;
	const char *meta;
	uint64_t size = 0;
	size_t first = rs->n_rules;
	char *buf;
	int ret = -1;

	buf = slurp(path, &size, err, errlen);
	if (!buf)
		return -1;
	if (size < sizeof(h)) {
		kb_err(err, errlen, "%s: not a .kbin file (%llu bytes)", path,
		       (unsigned long long)size);
		goto out;
	}
	memcpy(&h, buf, sizeof(h));
	hdr_from_le(&h);
	if (check_hdr(path, &h, size, err, errlen))
		goto out;
	memcpy(t, buf + sizeof(h), sizeof(*t));
	meta = buf + sizeof(h) + sizeof(*t);
	if (file_hash(t, meta, h.meta_size) != h.file_hash) {
		kb_err(err, errlen, "%s: corrupted (content hash mismatch)", path);
		goto out;
	}
	if (t->hdr.magic != KS_TABLES_MAGIC ||
	    t->hdr.abi_version != KS_ABI_VERSION ||
	    t->hdr.content_hash != h.tables_hash ||
	    ks_fnv1a64((const uint8_t *)t + sizeof(t->hdr),
		       sizeof(*t) - sizeof(t->hdr), KS_FNV64_INIT) !=
		    t->hdr.content_hash) {
		kb_err(err, errlen, "%s: the tables are inconsistent (magic, version or hash)",
		       path);
		goto out;
	}
	if (ks_ruleset_load_string(rs, meta, path) && !ks_diags_errors(&rs->diags)) {
		kb_err(err, errlen, "%s: cannot load the rule metadata", path);
		goto out;
	}
	ret = check_rules(path, rs, first, t, err, errlen);
out:
	if (ret)
		memset(&t->hdr, 0, sizeof(t->hdr));
	free(buf);
	return ret;
}
