// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `kload replay --pcap`: every Ethernet frame of a pcap or pcapng file
 * through the production XDP program with BPF_PROG_TEST_RUN. The session
 * gives forwarded events the packet's capture time (ks_session_normalize).
 * Frames shorter than an Ethernet header and frames of other link types
 * are skipped and counted; a cut or malformed capture is reported with
 * the packet number and ends the replay.
 */
#include <errno.h>
#include <stdio.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/log.h"
#include "kestrel/pcap.h"
#include "replay_int.h"
#include "kestrel.skel.h"

#define KS_ETH_HLEN	14

static int run_packet(struct ks_replay *r, int prog_fd, const struct ks_pcap_pkt *pkt)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts,
		.data_in = pkt->data,
		.data_size_in = pkt->caplen,
	);

	if (pkt->linktype != KS_LINKTYPE_ETHERNET) {
		r->res->other_links++;
		return 0;
	}
	if (pkt->caplen < KS_ETH_HLEN) {
		r->res->short_frames++;
		return 0;
	}
	if (bpf_prog_test_run_opts(prog_fd, &topts))
		return -errno;
	r->res->packets++;
	r->res->test_runs++;
	r->s.pcap = true;
	r->s.pkt_ts = pkt->ts_ns;
	ks_session_consume(&r->s);
	r->s.pcap = false;
	r->res->forwarded = r->s.st.events;
	r->res->alerts = r->s.st.alerts;
	return 0;
}

static int replay_packets(struct ks_replay *r, struct ks_pcap *pc, const char *path,
			  int prog_fd)
{
	struct ks_pcap_pkt pkt;
	char err[256];
	int rc, e;

	while ((rc = ks_pcap_next(pc, &pkt, err, sizeof(err))) > 0) {
		e = run_packet(r, prog_fd, &pkt);
		if (e) {
			fprintf(stderr, "%s: error: packet %llu: test run: %s\n", path,
				(unsigned long long)pkt.num, strerror(-e));
			return e;
		}
	}
	if (rc < 0) {
		fprintf(r->errout ?: stderr, "%s: error: %s\n", path, err);
		r->res->pcap_error = true;
	}
	return 0;
}

int ks_replay_pcap(struct ks_replay *r, const char *path)
{
	struct bpf_program *xdp;
	struct ks_pcap *pc;
	char err[256];
	FILE *f;
	int ret = 0;

	xdp = bpf_object__find_program_by_name(r->e.skel->obj, "ks_xdp_main");
	if (!xdp) {
		fprintf(stderr, "%s: error: this build has no XDP program\n", path);
		return -ENOENT;
	}
	f = ks_replay_input(path, &ret);
	if (!f)
		return ret;
	pc = ks_pcap_open(f, err, sizeof(err));
	if (!pc) {
		fprintf(stderr, "%s: error: %s\n", path, err);
		ret = -EINVAL;
	} else {
		ret = replay_packets(r, pc, path, bpf_program__fd(xdp));
		ks_pcap_close(pc);
	}
	if (f != stdin)
		fclose(f);
	if (r->res->short_frames || r->res->other_links)
		fprintf(stderr, "%s: %llu frame(s) shorter than an Ethernet header and %llu of "
			"other link types skipped\n", path,
			(unsigned long long)r->res->short_frames,
			(unsigned long long)r->res->other_links);
	return ret;
}
