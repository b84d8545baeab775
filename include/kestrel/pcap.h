/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A reader for the two capture formats, classic pcap (either byte order,
 * microsecond or nanosecond magic) and pcapng (sections of either byte
 * order, interface descriptions with their link type, if_tsresol and
 * if_tsoffset; enhanced, simple and obsolete packet blocks; other blocks
 * skipped). Captures are untrusted input: every length is checked
 * against the file and the limits below, and the message of an error
 * says where it is ("packet 7: ..." or "byte 1032: ...").
 *
 *   struct ks_pcap *pc = ks_pcap_open(f, err, sizeof(err));
 *   while ((r = ks_pcap_next(pc, &pkt, err, sizeof(err))) > 0)
 *           use(pkt.data, pkt.caplen, pkt.ts_ns, pkt.linktype);
 *   // r == 0: end of the file; r < 0: err says what is wrong
 *   ks_pcap_close(pc);
 */
#ifndef KESTREL_PCAP_H
#define KESTREL_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KS_PCAP_MAX_CAPLEN	262144u		/* libpcap's largest snapshot */
#define KS_PCAP_MAX_BLOCK	(1u << 20)	/* a pcapng block, options included */
#define KS_PCAP_MAX_IFACES	1024u		/* per pcapng section */
#define KS_LINKTYPE_ETHERNET	1u

struct ks_pcap_pkt {
	const uint8_t *data;	/* valid until the next call */
	uint32_t caplen;	/* bytes captured */
	uint32_t len;		/* bytes on the wire */
	uint64_t ts_ns;		/* epoch ns */
	uint32_t linktype;	/* LINKTYPE_* of its interface */
	uint64_t num;		/* 1-based packet number in the file */
};

struct ks_pcap;

/* Reads the file header; NULL with a message in err. */
struct ks_pcap *ks_pcap_open(FILE *f, char *err, size_t errlen);
/* 1: a packet; 0: end of the file; -1: malformed, err says where. */
int ks_pcap_next(struct ks_pcap *pc, struct ks_pcap_pkt *pkt, char *err, size_t errlen);
void ks_pcap_close(struct ks_pcap *pc);

#endif /* KESTREL_PCAP_H */
