/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * .kbin: a compiled rule set (`kload compile -o FILE.kbin`), loadable
 * without the rule sources.
 *
 *   struct ks_kbin_hdr       64 bytes, little-endian
 *   n_extents extents        extents_size bytes: the nonzero parts of
 *                            the first tables_size bytes of struct
 *                            ks_tables (KS_TABLES_USED, maps/ks_tables.h:
 *                            up to the DFA's last used cell; exactly as
 *                            the kernel reads them, host byte order:
 *                            x86/arm64 little-endian), then those of
 *                            its prefilter table (fdr, past dfa[]) when
 *                            an automaton is flagged for it; each a u32 offset,
 *                            a u32 length (little-endian) and the bytes;
 *                            in offset order, not overlapping. Mostly
 *                            zeros but the DFA: reading a file costs what
 *                            it holds, not the struct's 17 MiB ceiling
 *   rule metadata            meta_size bytes of YAML: the rule file format
 *                            (rule, name, severity, action, tags, query) so
 *                            kload re-parses the ASTs for the userspace part
 *                            of the evaluation and for alert metadata
 *
 * The same rules give the same bytes (no timestamps, no paths). Reading
 * checks the magic, the ABI version, the sizes, the hash of everything
 * after the header (once: the tables' content hash is compared with the
 * header's, not computed again over the bytes that hash covers), that
 * the tables are consistent (ks_tables_check), and that the metadata
 * re-parses into rules whose uids are those of the tables.
 */
#ifndef KESTREL_KBIN_H
#define KESTREL_KBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define KS_KBIN_MAGIC		"KSKBIN04"
/* older formats, refused with "recompile": whole tables (01), the
 * fixed-size tables of ABI 13 and before (02), the FNV-1a file hash (03) */
#define KS_KBIN_MAGIC_V1	"KSKBIN01"
#define KS_KBIN_MAGIC_V2	"KSKBIN02"
#define KS_KBIN_MAGIC_V3	"KSKBIN03"
#define KS_KBIN_MAGIC_LEN	8

struct ks_kbin_hdr {
	char magic[KS_KBIN_MAGIC_LEN];	/* KS_KBIN_MAGIC, no NUL */
	uint32_t abi_version;		/* KS_ABI_VERSION of the tables */
	uint32_t hdr_size;		/* sizeof(struct ks_kbin_hdr) */
	uint64_t tables_size;		/* KS_TABLES_USED of the tables */
	uint64_t meta_size;		/* YAML bytes after the tables */
	uint64_t tables_hash;		/* ks_tables.hdr.content_hash */
	uint64_t file_hash;		/* ks_wide64 (hash.h) of all after the header */
	uint32_t n_rules;
	uint32_t n_extents;
	uint32_t extents_size;		/* bytes of extents after the header */
	uint32_t pad;
};

/* Write atomically (temporary file, then rename). 0, or -1 with err. */
int ks_kbin_write(const char *path, const struct ks_ruleset *rs,
		  const struct ks_tables *t, char *err, size_t errlen);
/*
 * Read tables into *t and the rules into rs (a fresh ruleset: they are
 * added through ks_ruleset_load_string, so rs->diags tells why metadata
 * did not parse). 0, or -1 with a message in err.
 *
 * Every file is read (pread, 128 KiB at a time into a buffer the process
 * keeps), never mapped, and hashed as it is read: what is checked is what
 * is used, and a file changed or cut short meanwhile is refused, never a
 * crash (a mapping of a file truncated under it is SIGBUS).
 */
int ks_kbin_read(const char *path, struct ks_ruleset *rs, struct ks_tables *t,
		 char *err, size_t errlen);
/*
 * A private .kbin read in two halves, for a reload that switches the
 * kernel's tables before the rule metadata has parsed (the parse, YAML
 * then every query, is the longer half: bench/profile/kbin4-*.txt):
 * ks_kbin_read_tables_private() checks the header and the file hash,
 * rebuilds the tables into *t and checks them, and leaves the metadata
 * parsing on a thread (*p; KS_KBIN_RULES_LATER: left to parse, no thread);
 * ks_kbin_read_rules() waits for it (or parses it), moves the
 * rules into rs (fresh: nothing loaded yet) and checks that they are
 * those of t (t is only read: it may be installed, read-only, by then).
 * Each consumes p (as ks_kbin_pending_free() does) but on success of the
 * first. 0, or -1 with a message in err.
 */
struct ks_kbin_pending;
/* t holds zeros already (a fresh map's pages): no clearing before the read */
#define KS_KBIN_ZEROED		1u
/*
 * The metadata parsed in ks_kbin_read_rules(), not on a thread beside the
 * tables' read: on a loaded host the thread took CPU from that read,
 * which is a reload's path to the switch (bench/profile/kbin4-final.txt)
 */
#define KS_KBIN_RULES_LATER	2u
int ks_kbin_read_tables_private(const char *path, struct ks_tables *t, unsigned int flags,
				struct ks_kbin_pending **p, char *err, size_t errlen);
/*
 * The same from a regular file open at fd (name: its name in messages),
 * read as ks_kbin_read() reads: the reloader's own file, handed over as
 * it is (loader/reload.c). Not a regular file: refused.
 */
int ks_kbin_read_tables_fd(int fd, const char *name, struct ks_tables *t, unsigned int flags,
			   struct ks_kbin_pending **p, char *err, size_t errlen);
int ks_kbin_read_rules(struct ks_kbin_pending *p, struct ks_ruleset *rs,
		       const struct ks_tables *t, char *err, size_t errlen);
void ks_kbin_pending_free(struct ks_kbin_pending *p);
/* The same from memory; name is for messages and diagnostics. */
int ks_kbin_read_mem(const void *data, size_t size, const char *name,
		     struct ks_ruleset *rs, struct ks_tables *t, char *err,
		     size_t errlen);
/*
 * Tables from outside (a .kbin is input like any other) must hold: every
 * count within its limit, every index within its count (DFA states,
 * accept and trigger lists, steps, programs, atoms, networks), every op,
 * field and comparison known. 0, or -1 with the first violation in err.
 */
int ks_tables_check(const struct ks_tables *t, char *err, size_t errlen);
/* Does the file start with the .kbin magic? (RULES... | FILE.kbin) */
bool ks_kbin_probe(const char *path);

#endif /* KESTREL_KBIN_H */
