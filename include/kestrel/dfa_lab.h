/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The DFA image walk alone in the kernel (bpf/ks_dfa_lab.bpf.c): load it
 * with one image, run packets through it with BPF_PROG_TEST_RUN, read the
 * atoms the last packet hit. For bench_dfa and the dfa_walk selftest; with
 * the prefilter of maps/ks_fdr.h in front (ks_dfa_lab_open_fdr) too.
 */
#ifndef KESTREL_DFA_LAB_H
#define KESTREL_DFA_LAB_H

#include <stddef.h>
#include <stdint.h>

#include "dfawalk.h"

struct ks_dfa_lab_bpf;
struct ks_fdr;

struct ks_dfa_lab_run {
	struct ks_dfa_lab_bpf *skel;
	int prog_fd;
	double load_ms;			/* open to loaded, verifier included */
	uint32_t verified_insns;	/* 0 where the kernel does not say */
};

/* Load with `walks` walks over automaton (field, mode), column map col. */
int ks_dfa_lab_open(struct ks_dfa_lab_run *l, const struct ks_dfa_view *v, uint32_t walks,
		    uint32_t field, uint32_t mode, uint32_t col, char *err, size_t errlen);
/* Load the prefilter (include/kestrel/fdr.h) in front of one walk of v instead. */
int ks_dfa_lab_open_fdr(struct ks_dfa_lab_run *l, const struct ks_dfa_view *v,
			const struct ks_fdr *fdr, uint32_t field, uint32_t mode, uint32_t col,
			char *err, size_t errlen);
/* The prefilter's candidates, confirm bytes and whether it gave up
 * (maps/ks_fdr.h), for the last packet. */
int ks_dfa_lab_fdr_stats(const struct ks_dfa_lab_run *l, uint32_t *cands, uint32_t *confirm_bytes,
			 uint32_t *aborted);
/* Atoms hit by the last packet, in hit order; returns how many (<= max kept). */
int ks_dfa_lab_hits(const struct ks_dfa_lab_run *l, uint16_t *hits, uint32_t max,
		    uint32_t *bytes);
/* Walk 0's last state and the buffer offset it stopped at, after the last packet. */
int ks_dfa_lab_end(const struct ks_dfa_lab_run *l, uint32_t *state, uint32_t *pos);
void ks_dfa_lab_close(struct ks_dfa_lab_run *l);
/* Ethernet + IPv4 + UDP (10.0.0.1:1234 -> 10.0.0.2:5678) + payload into f
 * (len + 42 bytes); returns the frame length. */
size_t ks_dfa_lab_frame(uint8_t *f, const uint8_t *pay, size_t len);

#endif /* KESTREL_DFA_LAB_H */
