// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tables' packet filter (struct ks_net_filter, maps/ks_tables.h):
 * which IP protocols and ports the steps that can match a packet
 * require, so ks_xdp_main refuses a packet no step admits before copying
 * or scanning its payload. Read off a step's condition (the AST) by
 * lower.c's add_step(); sound, not exact: a packet the filter refuses
 * makes every such condition false, which tests/test_lower.c and the
 * table-vs-interpreter property test (through ks_walk_early()) check.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lower_priv.h"

/*
 * What one step needs of a packet (struct ks_net_filter): the protocols
 * it admits and, when has_ports, the ports of field `pf` (source.port,
 * destination.port, or 0: either) it admits. Only conjuncts of positive
 * equality tests narrow it; every other node admits everything.
 */
struct net_req {
	uint64_t proto[4];
	uint64_t port[1024];
	bool has_ports;
	uint32_t pf;
};

static void net_req_and(struct net_req *r, const struct net_req *k)
{
	size_t i;

	for (i = 0; i < 4; i++)
		r->proto[i] &= k->proto[i];
	if (!k->has_ports)
		return;
	if (!r->has_ports) {
		memcpy(r->port, k->port, sizeof(r->port));
		r->has_ports = true;
		r->pf = k->pf;
	} else if (r->pf && r->pf == k->pf) {
		for (i = 0; i < 1024; i++)
			r->port[i] &= k->port[i];
	}	/* tests of two fields: either one alone admits more, keep r's */
}

static void net_req_or(struct net_req *r, const struct net_req *k)
{
	size_t i;

	for (i = 0; i < 4; i++)
		r->proto[i] |= k->proto[i];
	r->has_ports &= k->has_ports;
	if (r->pf != k->pf)
		r->pf = 0;
	for (i = 0; i < 1024; i++)
		r->port[i] |= k->port[i];
}

/* An equality test of network.transport or a port: its values into r. */
static void net_req_num(const struct ks_node *n, struct net_req *r)
{
	uint32_t id = n->field ? n->field->id : 0;
	size_t i;

	if (n->cmp != KS_CMP_EQ)
		return;
	if (id == KS_F_TRANSPORT) {
		memset(r->proto, 0, sizeof(r->proto));
		for (i = 0; i < n->n_nums; i++)
			if (n->nums[i] >= 0 && n->nums[i] < 256)
				r->proto[n->nums[i] >> 6] |= 1ull << (n->nums[i] & 63);
	} else if (id == KS_F_SOURCE_PORT || id == KS_F_DEST_PORT) {
		r->has_ports = true;
		r->pf = id;
		for (i = 0; i < n->n_nums; i++)
			if (n->nums[i] >= 0 && n->nums[i] < 65536)
				r->port[n->nums[i] >> 6] |= 1ull << (n->nums[i] & 63);
	}
}

static void net_req(const struct ks_node *n, struct net_req *r)
{
	struct net_req *k;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(r->proto, 0xff, sizeof(r->proto));
	if (!n)
		return;
	if (n->kind == KS_N_NUM) {
		net_req_num(n, r);
		return;
	}
	if ((n->kind != KS_N_AND && n->kind != KS_N_OR) || !n->n_kids)
		return;
	k = malloc(sizeof(*k));
	if (!k)
		return;
	for (i = 0; i < n->n_kids; i++) {
		net_req(n->kids[i], i ? k : r);
		if (i && n->kind == KS_N_AND)
			net_req_and(r, k);
		else if (i)
			net_req_or(r, k);
	}
	free(k);
}

/* Add a step that can match a packet to the tables' packet filter. */
void ks_net_filter_add(struct ks_net_filter *nf, const struct ks_node *cond)
{
	struct net_req *r = malloc(sizeof(*r));
	size_t i;

	if (!r) {	/* admit everything rather than fail open the other way */
		memset(nf->proto_any, 0xff, sizeof(nf->proto_any));
		return;
	}
	net_req(cond, r);
	for (i = 0; i < 4; i++) {
		if (r->has_ports)
			nf->proto_port[i] |= r->proto[i];
		else
			nf->proto_any[i] |= r->proto[i];
	}
	if (r->has_ports)
		for (i = 0; i < 1024; i++)
			nf->port[i] |= r->port[i];
	free(r);
}
