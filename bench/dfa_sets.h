/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* bench_dfa's pattern sets (dfa_sets.c). */
#ifndef KS_BENCH_DFA_SETS_H
#define KS_BENCH_DFA_SETS_H

#include <stddef.h>
#include <stdint.h>

/* A pattern set: literal bytes (NUL allowed) and lengths. */
struct litset {
	uint8_t **v;
	uint32_t *len;
	size_t n;
};

void litset_free(struct litset *ls);
/* n distinct random literals of 4..16 bytes, the same for the same seed */
void gen_literals(struct litset *ls, size_t n, uint64_t seed);
/* -errno if the file cannot be read */
int read_patterns(const char *path, struct litset *ls);
/* the rules (YAML, malloc'ed); *skipped: literals EQL cannot carry */
char *gen_yaml(const struct litset *ls, size_t *skipped);

#endif
