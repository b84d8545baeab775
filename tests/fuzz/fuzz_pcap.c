// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a capture file, as `kload replay --pcap` reads it,
 * through the pcap/pcapng reader. Every packet's bytes are read, so a
 * length the reader failed to check shows as an ASan report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kestrel/pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_pcap_pkt pkt;
	struct ks_pcap *pc;
	char err[256];
	unsigned int sum = 0;
	uint32_t i;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	pc = ks_pcap_open(f, err, sizeof(err));
	while (pc && ks_pcap_next(pc, &pkt, err, sizeof(err)) > 0) {
		if (pkt.caplen > KS_PCAP_MAX_CAPLEN)
			abort();
		for (i = 0; i < pkt.caplen; i++)
			sum += pkt.data[i];
	}
	ks_pcap_close(pc);
	fclose(f);
	return sum == 0xffffffff;	/* keep the reads */
}
