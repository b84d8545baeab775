// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loader of the DFA lab program; see include/kestrel/dfa_lab.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/clock.h"
#include "kestrel/dfa_lab.h"
#include "kestrel/fdr.h"
#include "ks_dfa_lab.skel.h"

/* The prefilter's confirm windows per bucket mask and its key into its state. */
static int fill_fdr(struct ks_dfa_lab_run *l, const struct ks_fdr *fdr)
{
	struct ks_fdr_lab *fl = calloc(1, sizeof(*fl));
	uint32_t zero = 0;
	int err;

	if (!fl)
		return -ENOMEM;
	memcpy(fl->ov, fdr->ov, sizeof(fl->ov));
	fl->key = fdr->key;
	err = bpf_map_update_elem(bpf_map__fd(l->skel->maps.ks_fdr_lab), &zero, fl, 0);
	free(fl);
	return err;
}

/* The lab's table: KS_FDR_LAB_LEAD bytes of 0, then the masks (maps/ks_fdr.h). */
static int fill_fdr_tab(struct ks_dfa_lab_run *l, const struct ks_fdr *fdr)
{
	uint8_t *v = calloc(1, KS_FDR_LAB_LEAD + KS_FDR_TAB_BYTES);
	uint32_t zero = 0;
	int err;

	if (!v)
		return -ENOMEM;
	memcpy(v + KS_FDR_LAB_LEAD, fdr->tab, KS_FDR_TAB_BYTES);
	err = bpf_map_update_elem(bpf_map__fd(l->skel->maps.ks_fdr_tab), &zero, v, 0);
	free(v);
	return err;
}

static int fill(struct ks_dfa_lab_run *l, const struct ks_dfa_view *v, uint32_t walks,
		const struct ks_fdr *fdr)
{
	struct ks_dfa_meta *m = calloc(1, sizeof(*m));
	uint32_t zero = 0;
	int err;

	if (!m)
		return -ENOMEM;
	m->hdr = *v->hdr;
	m->walks = walks;
	memcpy(m->acc_list, v->acc_list, v->hdr->n_acc_list * sizeof(m->acc_list[0]));
	err = bpf_map_update_elem(bpf_map__fd(l->skel->maps.ks_dfa_meta), &zero, m, 0);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(l->skel->maps.ks_dfa_tab), &zero, v->tab, 0);
	if (!err && fdr)
		err = fill_fdr_tab(l, fdr);
	if (!err && fdr)
		err = fill_fdr(l, fdr);
	free(m);
	return err ? -errno : 0;
}

/* The walk alone (fdr NULL) or behind the prefilter: one program of the object loaded. */
static int lab_open(struct ks_dfa_lab_run *l, const struct ks_dfa_view *v, uint32_t walks,
		    const struct ks_fdr *fdr, uint32_t field, uint32_t mode, uint32_t col,
		    char *err, size_t errlen)
{
	struct bpf_program *prog;
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	double t0 = ks_mono_ns() / 1e6;
	int ret;

	memset(l, 0, sizeof(*l));
	if (v->hdr->n_acc_list > KS_MAX_ACC_LIST) {
		snprintf(err, errlen, "accept lists of %u ids, at most %u", v->hdr->n_acc_list,
			 KS_MAX_ACC_LIST);
		return -E2BIG;
	}
	l->skel = ks_dfa_lab_bpf__open();
	if (!l->skel) {
		snprintf(err, errlen, "cannot open the DFA lab object: %s", strerror(errno));
		return -errno;
	}
	l->skel->rodata->ks_dfa_tab_mask = v->hdr->tab_bytes - 4;
	l->skel->rodata->ks_dfa_field = field;
	l->skel->rodata->ks_dfa_mode = mode;
	l->skel->rodata->ks_dfa_colmap = col;
	prog = fdr ? l->skel->progs.ks_fdr_lab_xdp : l->skel->progs.ks_dfa_lab_xdp;
	bpf_program__set_autoload(l->skel->progs.ks_dfa_lab_xdp, !fdr);
	bpf_program__set_autoload(l->skel->progs.ks_fdr_lab_xdp, !!fdr);
	ret = bpf_map__set_value_size(l->skel->maps.ks_dfa_tab, v->hdr->tab_bytes);
	if (!ret)
		ret = ks_dfa_lab_bpf__load(l->skel);
	if (ret) {
		snprintf(err, errlen, "cannot load the DFA lab program (%s): %s",
			 fdr ? "prefilter" : walks == 1 ? "1 walk" : walks == 2 ? "2 walks" : "4 walks",
			 strerror(-ret));
		goto fail;
	}
	l->load_ms = ks_mono_ns() / 1e6 - t0;
	l->prog_fd = bpf_program__fd(prog);
	if (!bpf_obj_get_info_by_fd(l->prog_fd, &info, &len))
		l->verified_insns = info.verified_insns;
	ret = fill(l, v, walks, fdr);
	if (ret) {
		snprintf(err, errlen, "cannot fill the DFA lab maps: %s", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	ks_dfa_lab_bpf__destroy(l->skel);
	l->skel = NULL;
	return ret;
}

int ks_dfa_lab_open(struct ks_dfa_lab_run *l, const struct ks_dfa_view *v, uint32_t walks,
		    uint32_t field, uint32_t mode, uint32_t col, char *err, size_t errlen)
{
	return lab_open(l, v, walks, NULL, field, mode, col, err, errlen);
}

int ks_dfa_lab_open_fdr(struct ks_dfa_lab_run *l, const struct ks_dfa_view *v,
			const struct ks_fdr *fdr, uint32_t field, uint32_t mode, uint32_t col,
			char *err, size_t errlen)
{
	return lab_open(l, v, 1, fdr, field, mode, col, err, errlen);
}

/* A copy of the map's value (free it), or NULL with *ret set. */
static void *read_value(const struct bpf_map *map, size_t size, int *ret)
{
	void *v = malloc(size);
	uint32_t zero = 0;

	*ret = -ENOMEM;
	if (!v)
		return NULL;
	*ret = bpf_map_lookup_elem(bpf_map__fd(map), &zero, v) ? -errno : 0;
	if (!*ret)
		return v;
	free(v);
	return NULL;
}

int ks_dfa_lab_fdr_stats(const struct ks_dfa_lab_run *l, uint32_t *cands, uint32_t *confirm_bytes,
			 uint32_t *aborted)
{
	struct ks_fdr_lab *fl;
	int ret;

	fl = read_value(l->skel->maps.ks_fdr_lab, sizeof(*fl), &ret);
	if (!fl)
		return ret;
	*cands = fl->run.n_cand;
	*confirm_bytes = fl->run.confirm_bytes;
	*aborted = fl->run.aborted;
	free(fl);
	return 0;
}

int ks_dfa_lab_hits(const struct ks_dfa_lab_run *l, uint16_t *hits, uint32_t max,
		    uint32_t *bytes)
{
	struct ks_dfa_lab *lab;
	uint32_t n, i;
	int ret;

	lab = read_value(l->skel->maps.ks_dfa_lab, sizeof(*lab), &ret);
	if (!lab)
		return ret;
	n = lab->n_hits;
	for (i = 0; i < n && i < max && i < KS_MAX_ATOMS; i++)
		hits[i] = lab->hits[i];
	if (bytes)
		*bytes = lab->bytes;
	free(lab);
	return (int)n;
}

int ks_dfa_lab_end(const struct ks_dfa_lab_run *l, uint32_t *state, uint32_t *pos)
{
	struct ks_dfa_lab *lab;
	int ret;

	lab = read_value(l->skel->maps.ks_dfa_lab, sizeof(*lab), &ret);
	if (!lab)
		return ret;
	*state = lab->scan.s[0];
	*pos = lab->scan.pos[0];
	free(lab);
	return 0;
}

size_t ks_dfa_lab_frame(uint8_t *f, const uint8_t *pay, size_t len)
{
	size_t ip_len = 20 + 8 + len;

	memset(f, 0, 42);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = ip_len >> 8;
	f[17] = ip_len & 0xff;
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	memcpy(f + 34, "\x04\xd2\x16\x2e", 4);	/* 1234 -> 5678 */
	f[38] = (8 + len) >> 8;
	f[39] = (8 + len) & 0xff;
	memcpy(f + 42, pay, len);
	return 42 + len;
}

void ks_dfa_lab_close(struct ks_dfa_lab_run *l)
{
	ks_dfa_lab_bpf__destroy(l->skel);
	l->skel = NULL;
}
