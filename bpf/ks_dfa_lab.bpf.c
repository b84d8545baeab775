// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The DFA image walk (ks_dfa.bpf.h) alone, on the payload of a UDP or TCP
 * packet: what bench_dfa measures against Hyperscan and the dfa_walk
 * selftest checks against the C model, on the host kernel and on 6.1,
 * before the walk replaces the evaluator's. kload never loads it.
 *
 * Configuration (rodata, set between open and load):
 *   ks_dfa_tab_mask  tab_bytes - 4 (the table map's value is tab_bytes)
 *   ks_dfa_field, ks_dfa_mode, ks_dfa_colmap: the automaton and column map
 * and the number of walks (1, 2, 4) in ks_dfa_meta.walks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "maps/ks_abi.h"
#include "maps/ks_dfa.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 ks_dfa_tab_mask = KS_DFA_MIN_TAB_BYTES - 4;
const volatile __u32 ks_dfa_field = KS_F_PAYLOAD;
const volatile __u32 ks_dfa_mode = KS_CASE_FOLD;
const volatile __u32 ks_dfa_colmap = 1;

#define KS_DFA_TAB_MASK	ks_dfa_tab_mask
#define KS_DFA_BUF_MASK	(KS_DFA_LAB_BUF - 1)

struct ks_dfa_lab;
int ks_dfa_lab_drain(struct ks_dfa_lab *lab);
#define ks_dfa_drain(cb)	ks_dfa_lab_drain((struct ks_dfa_lab *)(cb)->h)

#include "ks_dfa.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, 4);
	__uint(value_size, KS_DFA_MIN_TAB_BYTES);	/* tab_bytes, set at load */
} ks_dfa_tab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_dfa_meta);
} ks_dfa_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_dfa_lab);
} ks_dfa_lab SEC(".maps");

/* The atoms of one accepting cell: verified once, called per accept. */
__noinline int ks_dfa_lab_accept(struct ks_dfa_lab *lab, __u32 s)
{
	struct ks_dfa_meta *m;
	__u32 zero = 0, d, first, cnt, j, a;
	__u8 *tab;

	tab = bpf_map_lookup_elem(&ks_dfa_tab, &zero);
	m = bpf_map_lookup_elem(&ks_dfa_meta, &zero);
	if (!lab || !tab || !m)
		return 0;
	d = ks_dfa_next(tab, s & ~KS_DFA_ACC, m->hdr.n_classes * 4);
	first = d >> 8;
	cnt = d & 0xff;
	for (j = 0; j < KS_MAX_ACC_PER_STATE; j++) {
		if (j >= cnt)
			break;
		a = m->acc_list[(first + j) & (KS_MAX_ACC_LIST - 1)] & (KS_MAX_ATOMS - 1);
		if (lab->hit[a] == lab->seq)
			continue;
		lab->hit[a] = lab->seq;
		lab->hits[lab->n_hits++ & (KS_MAX_ATOMS - 1)] = a;
	}
	return 0;
}

/* Every queued accepting cell: a global function, verified once. */
__noinline int ks_dfa_lab_drain(struct ks_dfa_lab *lab)
{
	__u32 i, n;

	if (!lab)
		return 0;
	n = lab->scan.nq;
	for (i = 0; i < KS_DFA_Q; i++) {
		if (i >= n)
			break;
		ks_dfa_lab_accept(lab, lab->scan.q[i]);
	}
	lab->scan.nq = 0;
	return 0;
}

/* Payload offset and length of an Ethernet/IPv4/UDP|TCP frame, or -1. */
static __always_inline int ks_dfa_lab_payload(struct xdp_md *ctx, __u32 *off, __u32 *len)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 hl, tot, l4;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(0x0800))
		return -1;
	hl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->protocol == 17) {
		l4 = 8;
	} else if (ip->protocol == 6) {
		struct tcphdr *th = (void *)ip + hl;

		if ((void *)(th + 1) > end)
			return -1;
		l4 = th->doff * 4;
	} else {
		return -1;
	}
	if (tot < hl + l4)
		return -1;
	*off = sizeof(*eth) + hl + l4;
	*len = tot - hl - l4;
	return 0;
}

/*
 * The first KS_PAYLOAD_MAX bytes of the payload (len > 0) into dst, *n
 * their count - 1; 0 or the helper's error. Bounded as len - 1: 6.1 does
 * not learn len != 0 from the caller's test, and the helper's size must
 * be > 0. (Returning the count instead costs 6.1 35,000 more verified
 * instructions in ks_dfa_lab_xdp.)
 */
static __always_inline long ks_dfa_lab_load(struct xdp_md *ctx, __u32 off, __u32 len, __u8 *dst,
					    __u32 *n)
{
	__u32 m = len - 1;

	barrier_var(m);
	if (m >= KS_PAYLOAD_MAX)
		m = KS_PAYLOAD_MAX - 1;
	*n = m;
	return bpf_xdp_load_bytes(ctx, off, dst, m + 1);
}

SEC("xdp")
int ks_dfa_lab_xdp(struct xdp_md *ctx)
{
	struct ks_dfa_cb cb = {};
	struct ks_dfa_lab *lab;
	struct ks_dfa_meta *m;
	__u32 zero = 0, off, len, n, f;
	__u8 *tab;

	lab = bpf_map_lookup_elem(&ks_dfa_lab, &zero);
	tab = bpf_map_lookup_elem(&ks_dfa_tab, &zero);
	m = bpf_map_lookup_elem(&ks_dfa_meta, &zero);
	if (!lab || !tab || !m || ks_dfa_lab_payload(ctx, &off, &len))
		return XDP_PASS;
	lab->seq++;
	lab->n_hits = 0;
	lab->bytes = 0;
	if (!len)
		return XDP_PASS;
	if (ks_dfa_lab_load(ctx, off, len, lab->buf, &n))
		return XDP_PASS;
	cb.buf = lab->buf;
	cb.tab = tab;
	cb.col = m->hdr.col[ks_dfa_colmap & (KS_DFA_COL_N - 1)];
	cb.sc = &lab->scan;
	cb.h = lab;
	f = ks_dfa_field;
	if (f >= KS_F_STR_N)
		return XDP_PASS;
	lab->bytes = ks_dfa_scan_value(&cb, &m->hdr, &m->hdr.autos[f][ks_dfa_mode & 1],
				       0, n + 1, m->walks, KS_DFA_FR_BEGIN | KS_DFA_FR_END);
	return XDP_PASS;
}

/*
 * The FDR-style prefilter in front of the walk (maps/ks_fdr.h): a second
 * program of this object, loaded instead of ks_dfa_lab_xdp when the
 * loader is given a prefilter table.
 */
#include "maps/ks_fdr.h"

_Static_assert(KS_FDR_CHUNK % KS_FDR_STRIDE == 0, "whole strides per chunk");
_Static_assert(KS_FDR_ABORT_PAIRS % KS_FDR_CHUNK == 0, "the abort test ends a chunk");
/* the chunk's last pair read ends at q + KS_FDR_CHUNK, inside buf */
#define KS_FDR_Q_MAX	(KS_DFA_LAB_BUF - KS_FDR_CHUNK - 2)
_Static_assert(KS_FDR_PAD + KS_PAYLOAD_MAX + 2 <= KS_FDR_Q_MAX, "a payload fits the scan");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, 4);
	__uint(value_size, KS_FDR_TAB_BYTES);
} ks_fdr_tab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_fdr_lab);
} ks_fdr_lab SEC(".maps");

struct ks_fdr_cb {
	const __u8 *buf;
	const __u8 *tab;
	struct ks_fdr_lab *fl;
};

/* A bucket fired at buffer offset e: queue it, unless past the end
 * sentinel (the last chunk scans whole, into stale bytes). */
static __always_inline void ks_fdr_cand(struct ks_fdr_lab *fl, __u32 e, __u32 lane)
{
	__u32 k;

	if (e > fl->end)
		return;
	k = fl->n_cand;
	fl->cand[k & (KS_FDR_CAND_MAX - 1)] = e;
	fl->cmask[k & (KS_FDR_CAND_MAX - 1)] = ~lane;
	fl->n_cand = k + 1;
}

/* The pairs of the stride ending at e with a bucket fired, first to last. */
static __noinline void ks_fdr_cands(struct ks_fdr_lab *fl, __u64 d, __u32 e)
{
	__u32 j, lane;

	if (!fl)
		return;
	for (j = KS_FDR_STRIDE; j-- > 0;) {
		lane = (d >> (8 * (KS_FDR_LANES - 1 + j))) & 0xff;
		if (lane != 0xff)
			ks_fdr_cand(fl, e - j, lane);
	}
}

#define KS_FDR_T(k)	(*(const __u64 *)(tab + ((__u64)*(const __u16 *)(b + i + (k)) << 3)))

/*
 * 64 pairs of the shift-or, unrolled: per pair a u16 load and the table
 * load it indexes (neither depends on the state, so the CPU runs them
 * ahead), combined per stride beside the state's chain (one shift and
 * one or per stride, one compare). The chunk is scanned whole (no test of
 * the length per byte); candidates are queued out of line and confirmed
 * after the scan.
 */
static long ks_fdr_chunk(__u32 idx, struct ks_fdr_cb *c)
{
	const __u8 *tab = c->tab, *b;
	struct ks_fdr_lab *fl = c->fl;
	__u64 d = fl->d, x;
	__u32 q = fl->q, i;

	if (q > KS_FDR_Q_MAX)
		return 1;
	b = c->buf + q;
#pragma unroll
	for (i = 0; i < KS_FDR_CHUNK; i += KS_FDR_STRIDE) {
#if KS_FDR_STRIDE == 4
		x = KS_FDR_T(0) << 24 | KS_FDR_T(1) << 16 | KS_FDR_T(2) << 8 | KS_FDR_T(3);
#elif KS_FDR_STRIDE == 2
		x = KS_FDR_T(0) << 8 | KS_FDR_T(1);
#else
		x = KS_FDR_T(0);
#endif
		barrier_var(x);	/* or clang puts the ors on the state's chain */
		d = d << (8 * KS_FDR_STRIDE) | x;
		if (__builtin_expect(d < KS_FDR_HI, 0))
			ks_fdr_cands(fl, d, q + i + KS_FDR_STRIDE);
	}
	fl->d = d;
	fl->q = q + KS_FDR_CHUNK;
	if (idx == KS_FDR_ABORT_PAIRS / KS_FDR_CHUNK - 1 && fl->n_cand > KS_FDR_ABORT_CANDS) {
		fl->aborted = 1;
		return 1;
	}
	return q + KS_FDR_CHUNK >= fl->end;
}

struct ks_fdr_ccb {
	struct ks_dfa_cb *cb;
	const struct ks_dfa_hdr *hdr;
	const struct ks_dfa_auto *au;
	struct ks_fdr_lab *fl;
};

/*
 * Candidate k: the DFA over the ov + 1 bytes ending at it (ov of the
 * buckets that fired, maps/ks_fdr.h), from the
 * root (from the start and the begin sentinel when the window reaches
 * it), or on from where the last window's walk stopped when the window
 * starts inside that walk's span (windows differ in length: one that
 * starts before the walk did needs a walk of its own).
 */
static long ks_fdr_confirm(__u32 k, struct ks_fdr_ccb *c)
{
	struct ks_fdr_lab *fl = c->fl;
	struct ks_dfa_cb *cb = c->cb;
	struct ks_dfa_scan *sc = cb->sc;
	__u32 e = fl->cand[k & (KS_FDR_CAND_MAX - 1)], end = fl->end;
	__u32 ov = fl->ov[fl->cmask[k & (KS_FDR_CAND_MAX - 1)]];
	__u32 lo = e > KS_FDR_PAD + ov ? e - ov : KS_FDR_PAD, to = e < end ? e : end - 1, from;

	if (fl->walked && lo >= fl->wstart && lo <= fl->walked) {
		from = fl->walked;
	} else if ((fl->wstart = lo) == KS_FDR_PAD) {
		ks_dfa_begin(cb, c->hdr, c->au, KS_DFA_FR_BEGIN);
		from = KS_FDR_PAD + 1;
	} else {
		sc->s[0] = c->au->mid;
		from = lo;
	}
	if (to >= from) {
		sc->pos[0] = from;
		sc->steps = to + 1 - from;
		fl->confirm_bytes += to + 1 - from;
		ks_dfa_run(cb, 1);
	}
	if (e == end && sc->s[0])
		ks_dfa_feed(cb, 0, c->hdr->col_end);
	fl->walked = to + 1;
	return 0;
}

/* The prefilter over "\x01" payload "\x02" at buf[KS_FDR_PAD], then the confirms. */
static __always_inline void ks_fdr_scan(struct ks_dfa_cb *cb, struct ks_fdr_ccb *ccb,
					const __u8 *ftab, __u32 n)
{
	struct ks_fdr_lab *fl = ccb->fl;
	struct ks_fdr_cb pcb = { .buf = cb->buf, .tab = ftab, .fl = fl };

	fl->end = KS_FDR_PAD + n + 1;
	fl->d = 0;	/* lanes before the stream: anything */
	fl->q = KS_FDR_PAD - 1;
	bpf_loop((n + 2 + KS_FDR_CHUNK - 1) / KS_FDR_CHUNK, ks_fdr_chunk, &pcb, 0);
	if (fl->aborted)
		ks_dfa_scan_value(cb, ccb->hdr, ccb->au, KS_FDR_PAD + 1, n, KS_DFA_MAX_WALKS,
				  KS_DFA_FR_BEGIN | KS_DFA_FR_END);
	else
		bpf_loop(fl->n_cand, ks_fdr_confirm, ccb, 0);
}

SEC("xdp")
int ks_fdr_lab_xdp(struct xdp_md *ctx)
{
	struct ks_dfa_cb cb = {};
	struct ks_fdr_ccb ccb = { .cb = &cb };
	struct ks_dfa_lab *lab;
	struct ks_dfa_meta *m;
	__u32 zero = 0, off, len, n, f;
	__u8 *tab, *ftab;

	lab = bpf_map_lookup_elem(&ks_dfa_lab, &zero);
	tab = bpf_map_lookup_elem(&ks_dfa_tab, &zero);
	m = bpf_map_lookup_elem(&ks_dfa_meta, &zero);
	ftab = bpf_map_lookup_elem(&ks_fdr_tab, &zero);
	ccb.fl = bpf_map_lookup_elem(&ks_fdr_lab, &zero);
	f = ks_dfa_field;
	if (!lab || !tab || !m || !ftab || !ccb.fl || f >= KS_F_STR_N ||
	    ks_dfa_lab_payload(ctx, &off, &len))
		return XDP_PASS;
	lab->seq++;
	lab->n_hits = 0;
	lab->bytes = 0;
	lab->scan.nq = 0;
	ccb.fl->n_cand = 0;
	ccb.fl->confirm_bytes = 0;
	ccb.fl->walked = 0;
	ccb.fl->aborted = 0;
	if (!len)
		return XDP_PASS;
	lab->buf[KS_FDR_PAD - 1] = 0;
	lab->buf[KS_FDR_PAD] = KS_SENT_BEGIN;
	if (ks_dfa_lab_load(ctx, off, len, lab->buf + KS_FDR_PAD + 1, &n))
		return XDP_PASS;
	n++;
	lab->buf[(KS_FDR_PAD + n + 1) & KS_DFA_BUF_MASK] = KS_SENT_END;
	cb.buf = lab->buf;
	cb.tab = tab;
	cb.col = m->hdr.col[ks_dfa_colmap & (KS_DFA_COL_N - 1)];
	cb.sc = &lab->scan;
	cb.h = lab;
	ccb.hdr = &m->hdr;
	ccb.au = &m->hdr.autos[f][ks_dfa_mode & 1];
	if (!ccb.au->start)
		return XDP_PASS;
	if (ccb.au->mid)
		ks_fdr_scan(&cb, &ccb, ftab, n);
	else	/* all anchored: the walk from the start alone */
		ks_dfa_scan_value(&cb, &m->hdr, ccb.au, KS_FDR_PAD + 1, n, 1,
				  KS_DFA_FR_BEGIN | KS_DFA_FR_END);
	lab->bytes = n;
	return XDP_PASS;
}
