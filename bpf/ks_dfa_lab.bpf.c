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

/* Every queued accepting cell (ks_dfa_drain_q): a global function, verified once. */
__noinline int ks_dfa_lab_drain(struct ks_dfa_lab *lab)
{
	__u32 i, n, cell;

	if (!lab)
		return 0;
	n = lab->scan.nq;
	for (i = 0; i < KS_DFA_Q; i++) {
		if (i >= n)
			break;
		cell = lab->scan.q[i];
		if (cell & KS_DFA_ACC)
			ks_dfa_lab_accept(lab, cell);
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
 * The FDR-style prefilter in front of the walk (maps/ks_fdr.h,
 * ks_fdr.bpf.h): a second program of this object, loaded instead of
 * ks_dfa_lab_xdp when the loader is given a prefilter table.
 */
/* the chunk's last pair read ends at q + KS_FDR_CHUNK, inside buf */
#define KS_FDR_Q_MAX	(KS_DFA_LAB_BUF - KS_FDR_CHUNK - 2)
#include "ks_fdr.bpf.h"

_Static_assert(KS_FDR_PAD + KS_PAYLOAD_MAX + 2 <= KS_FDR_Q_MAX, "a payload fits the scan");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, 4);
	__uint(value_size, KS_FDR_LAB_LEAD + KS_FDR_TAB_BYTES);
} ks_fdr_tab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_fdr_lab);
} ks_fdr_lab SEC(".maps");

SEC("xdp")
int ks_fdr_lab_xdp(struct xdp_md *ctx)
{
	struct ks_dfa_cb cb = {};
	struct ks_fdr_ccb ccb = { .cb = &cb };
	struct ks_dfa_lab *lab;
	struct ks_fdr_lab *fl;
	struct ks_dfa_meta *m;
	__u32 zero = 0, off, len, n, f;
	__u8 *tab, *ftab;

	lab = bpf_map_lookup_elem(&ks_dfa_lab, &zero);
	tab = bpf_map_lookup_elem(&ks_dfa_tab, &zero);
	m = bpf_map_lookup_elem(&ks_dfa_meta, &zero);
	ftab = bpf_map_lookup_elem(&ks_fdr_tab, &zero);
	fl = bpf_map_lookup_elem(&ks_fdr_lab, &zero);
	f = ks_dfa_field;
	if (!lab || !tab || !m || !ftab || !fl || f >= KS_F_STR_N ||
	    ks_dfa_lab_payload(ctx, &off, &len))
		return XDP_PASS;
	ccb.fr = &fl->run;
	ccb.ov = fl->ov;
	lab->seq++;
	lab->n_hits = 0;
	lab->bytes = 0;
	lab->scan.nq = 0;
	ks_fdr_reset(ccb.fr);
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
	ccb.tab = ftab + KS_FDR_LAB_LEAD;
	if (ccb.au->mid) {
		ks_fdr_filter(&ccb, KS_FDR_PAD, n, fl->key);
		if (ks_fdr_confirm_all(&ccb))
			ks_dfa_scan_value(&cb, ccb.hdr, ccb.au, KS_FDR_PAD + 1, n, KS_DFA_MAX_WALKS,
					  KS_DFA_FR_BEGIN | KS_DFA_FR_END);
	}
	else	/* all anchored: the walk from the start alone */
		ks_dfa_scan_value(&cb, &m->hdr, ccb.au, KS_FDR_PAD + 1, n, 1,
				  KS_DFA_FR_BEGIN | KS_DFA_FR_END);
	lab->bytes = n;
	return XDP_PASS;
}
