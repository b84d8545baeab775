/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* bench_dfa's Hyperscan and plain-C engines (dfa_cloops.c). */
#ifndef KS_BENCH_DFA_CLOOPS_H
#define KS_BENCH_DFA_CLOOPS_H

#include <stddef.h>
#include <stdint.h>

#include "maps/ks_tables.h"

struct litset;
struct hs_database;
struct hs_scratch;

struct hs {
	struct hs_database *db;
	struct hs_scratch *scratch;
	char why[256];
};

int hs_build(struct hs *h, const struct litset *ls);
unsigned long hs_once(struct hs *h, const uint8_t *p, size_t len);
uint32_t cmin_scan(const struct ks_tables *t, const uint8_t *p, size_t len);
uint32_t cpre_scan(const struct ks_tables *t, const uint8_t *p, size_t len);
/* valid for unanchored patterns only; pre_maxlen: the longest pattern - 1 */
uint32_t cpre2_scan(const struct ks_tables *t, const uint8_t *p, size_t len, uint32_t pre_maxlen);

#endif
