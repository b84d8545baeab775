// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `kload replay --pcap`: every packet through the production XDP program
 * with BPF_PROG_TEST_RUN. The kernel stamps events with test-run time, so
 * forwarded events get the packet's capture time before the pipeline.
 */
#include <errno.h>
#include <stdio.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/pcap.h>

#include "replay_int.h"
#include "kestrel.skel.h"

int ks_replay_pcap(struct ks_replay *r, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct bpf_program *xdp;
	pcap_t *pc;
	int rc, err = 0;

	xdp = bpf_object__find_program_by_name(r->e.skel->obj, "ks_xdp_main");
	if (!xdp) {
		fprintf(stderr, "%s: error: this build has no XDP program\n", path);
		return -ENOENT;
	}

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fprintf(stderr, "%s: error: %s\n", path, errbuf);
		return -EINVAL;
	}
	if (pcap_datalink(pc) != 1 /* DLT_EN10MB, from the pcap bpf.h we cannot include */) {
		fprintf(stderr, "%s: error: only Ethernet captures are supported\n", path);
		pcap_close(pc);
		return -EINVAL;
	}
	r->pcap = true;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, topts,
			.data_in = data,
			.data_size_in = h->caplen,
		);

		r->pkt_ts = h->ts.tv_sec * 1000000000ull + h->ts.tv_usec;
		if (bpf_prog_test_run_opts(bpf_program__fd(xdp), &topts)) {
			err = -errno;
			break;
		}
		r->res->packets++;
		r->res->test_runs++;
		ring_buffer__consume(r->rb);
	}
	pcap_close(pc);
	r->pcap = false;
	return err;
}

