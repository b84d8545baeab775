// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pcap and pcapng reader (see include/kestrel/pcap.h). Formats: the
 * tcpdump.org pcap file format and the IETF pcapng draft. Nothing is
 * trusted: lengths are checked before use, reads are bounded, and a cut
 * file is an error naming the packet, not a silent end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/pcap.h"

#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_MAGIC_NS		0xa1b23c4du
#define PCAPNG_SHB		0x0a0d0d0au
#define PCAPNG_BOM		0x1a2b3c4du
#define PCAPNG_IDB		1u
#define PCAPNG_OPB		2u	/* obsolete packet block */
#define PCAPNG_SPB		3u
#define PCAPNG_EPB		6u
#define OPT_IF_TSRESOL		9u
#define OPT_IF_TSOFFSET		14u

struct ks_iface {
	uint32_t linktype;
	uint32_t snaplen;
	uint8_t tsresol;	/* pcapng if_tsresol, default 6 (microseconds) */
	int64_t tsoffset;	/* seconds */
};

struct ks_pcap {
	FILE *f;
	bool ng, swap, nsec;
	uint64_t off;		/* bytes consumed */
	uint64_t num;		/* packets returned or failed */
	uint32_t linktype;	/* classic pcap */
	struct ks_iface *ifs;	/* pcapng, this section */
	uint32_t n_ifs;
	size_t have;		/* bytes of the first block already in buf */
	uint8_t *buf;		/* the current block or record */
	size_t cap;
};

static int fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static uint16_t get16(const struct ks_pcap *pc, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return pc->swap ? __builtin_bswap16(v) : v;
}

static uint32_t get32(const struct ks_pcap *pc, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return pc->swap ? __builtin_bswap32(v) : v;
}

static uint64_t get64(const struct ks_pcap *pc, const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return pc->swap ? __builtin_bswap64(v) : v;
}

/* Read n bytes into buf at off (grown as the bytes arrive); bytes read. */
static size_t fill(struct ks_pcap *pc, size_t off, size_t n)
{
	size_t got = 0, step, r;

	while (got < n) {
		step = n - got < 65536 ? n - got : 65536;
		if (off + got + step > pc->cap) {
			size_t cap = pc->cap ? pc->cap : 4096;
			uint8_t *b;

			while (cap < off + got + step)
				cap *= 2;
			b = realloc(pc->buf, cap);
			if (!b)
				break;
			pc->buf = b;
			pc->cap = cap;
		}
		r = fread(pc->buf + off + got, 1, step, pc->f);
		got += r;
		if (r < step)
			break;
	}
	pc->off += got;
	return got;
}

/* Capture time in ns from a timestamp in units of 10^-r or 2^-(r & 0x7f) s. */
static uint64_t ts_to_ns(uint64_t ts, uint8_t res, int64_t offset_s)
{
	unsigned __int128 ns;
	uint8_t e = res & 0x7f;

	if (res & 0x80) {
		ns = e < 64 ? ((unsigned __int128)ts * 1000000000u) >> e : 0;
	} else {
		ns = ts;
		for (; e < 9; e++)
			ns *= 10;
		for (; e > 9; e--)
			ns /= 10;
	}
	ns += (__int128)offset_s * 1000000000;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* ---- classic pcap ---- */

static int classic_next(struct ks_pcap *pc, struct ks_pcap_pkt *pkt, char *err, size_t len)
{
	uint32_t caplen, sec, frac;
	size_t got = fill(pc, 0, 16);

	if (got == 0)
		return 0;
	pc->num++;
	if (got < 16)
		return fail(err, len, "packet %llu: truncated record header (%zu of 16 bytes)",
			    (unsigned long long)pc->num, got);
	sec = get32(pc, pc->buf);
	frac = get32(pc, pc->buf + 4);
	caplen = get32(pc, pc->buf + 8);
	if (caplen > KS_PCAP_MAX_CAPLEN)
		return fail(err, len, "packet %llu: caplen %u is over the maximum of %u",
			    (unsigned long long)pc->num, caplen, KS_PCAP_MAX_CAPLEN);
	got = fill(pc, 16, caplen);
	if (got < caplen)
		return fail(err, len, "packet %llu: caplen %u runs past the end of the file "
			    "(%zu bytes left)", (unsigned long long)pc->num, caplen, got);
	pkt->data = pc->buf + 16;
	pkt->caplen = caplen;
	pkt->len = get32(pc, pc->buf + 12);
	pkt->ts_ns = sec * 1000000000ull + (pc->nsec ? frac : frac * 1000ull);
	pkt->linktype = pc->linktype;
	pkt->num = pc->num;
	return 1;
}

/* ---- pcapng ---- */

static void iface_options(struct ks_pcap *pc, struct ks_iface *ifc, const uint8_t *p,
			  size_t n)
{
	while (n >= 4) {
		uint16_t code = get16(pc, p), l = get16(pc, p + 2);
		size_t padded = 4 + ((l + 3u) & ~3u);

		if (code == 0 || padded > n)
			return;
		if (code == OPT_IF_TSRESOL && l >= 1)
			ifc->tsresol = p[4];
		if (code == OPT_IF_TSOFFSET && l >= 8)
			ifc->tsoffset = (int64_t)get64(pc, p + 4);
		p += padded;
		n -= padded;
	}
}

static int ng_idb(struct ks_pcap *pc, const uint8_t *b, uint32_t n, uint64_t at,
		  char *err, size_t len)
{
	struct ks_iface *ifs, *ifc;

	if (n < 8)
		return fail(err, len, "byte %llu: interface description block too short",
			    (unsigned long long)at);
	if (pc->n_ifs >= KS_PCAP_MAX_IFACES)
		return fail(err, len, "byte %llu: more than %u interfaces in one section",
			    (unsigned long long)at, KS_PCAP_MAX_IFACES);
	ifs = realloc(pc->ifs, (pc->n_ifs + 1) * sizeof(*ifs));
	if (!ifs)
		return fail(err, len, "out of memory");
	pc->ifs = ifs;
	ifc = &ifs[pc->n_ifs++];
	ifc->linktype = get16(pc, b);
	ifc->snaplen = get32(pc, b + 4);
	ifc->tsresol = 6;
	ifc->tsoffset = 0;
	iface_options(pc, ifc, b + 8, n - 8);
	return 0;
}

/* EPB, SPB or OPB body b of n bytes -> pkt. */
static int ng_packet(struct ks_pcap *pc, uint32_t type, const uint8_t *b, uint32_t n,
		     struct ks_pcap_pkt *pkt, char *err, size_t len)
{
	uint32_t hdr = type == PCAPNG_SPB ? 4 : 20, ifid, caplen;
	uint64_t ts = 0;

	pc->num++;
	if (n < hdr)
		return fail(err, len, "packet %llu: packet block too short (%u bytes)",
			    (unsigned long long)pc->num, n);
	ifid = type == PCAPNG_EPB ? get32(pc, b) : type == PCAPNG_OPB ? get16(pc, b) : 0;
	if (ifid >= pc->n_ifs)
		return fail(err, len, "packet %llu: interface %u has no description block",
			    (unsigned long long)pc->num, ifid);
	if (type == PCAPNG_SPB) {
		pkt->len = get32(pc, b);
		caplen = pkt->len;
		if (pc->ifs[0].snaplen && caplen > pc->ifs[0].snaplen)
			caplen = pc->ifs[0].snaplen;
		if (caplen > n - hdr)
			caplen = n - hdr;
	} else {
		ts = (uint64_t)get32(pc, b + 4) << 32 | get32(pc, b + 8);
		caplen = get32(pc, b + 12);
		pkt->len = get32(pc, b + 16);
	}
	if (caplen > n - hdr || caplen > KS_PCAP_MAX_CAPLEN)
		return fail(err, len, "packet %llu: caplen %u runs past its block (%u bytes)",
			    (unsigned long long)pc->num, caplen, n - hdr);
	pkt->data = b + hdr;
	pkt->caplen = caplen;
	pkt->ts_ns = ts_to_ns(ts, pc->ifs[ifid].tsresol, pc->ifs[ifid].tsoffset);
	pkt->linktype = pc->ifs[ifid].linktype;
	pkt->num = pc->num;
	return 1;
}

/* A section header: its byte order, and no interfaces yet. */
static int ng_shb(struct ks_pcap *pc, uint64_t at, char *err, size_t len)
{
	uint32_t bom;

	memcpy(&bom, pc->buf + 8, 4);
	if (bom == PCAPNG_BOM)
		pc->swap = false;
	else if (bom == __builtin_bswap32(PCAPNG_BOM))
		pc->swap = true;
	else
		return fail(err, len, "byte %llu: section header with a bad byte-order magic",
			    (unsigned long long)at);
	pc->n_ifs = 0;
	return 0;
}

/* Read one whole block into buf; its type and total length. */
static int ng_block(struct ks_pcap *pc, uint32_t *type, uint32_t *total, char *err,
		    size_t len)
{
	uint64_t at = pc->off - pc->have;
	size_t got = pc->have + fill(pc, pc->have, 12 - pc->have);

	pc->have = 0;
	if (got == 0)
		return 0;
	if (got < 12)
		return fail(err, len, "byte %llu: truncated pcapng block header (%zu of 12 bytes)",
			    (unsigned long long)at, got);
	*type = get32(pc, pc->buf);
	if (*type == PCAPNG_SHB && ng_shb(pc, at, err, len))
		return -1;
	*total = get32(pc, pc->buf + 4);
	if (*total < 12 || *total % 4 || *total > KS_PCAP_MAX_BLOCK)
		return fail(err, len, "byte %llu: bad pcapng block: total length %u",
			    (unsigned long long)at, *total);
	got = fill(pc, 12, *total - 12);
	if (got < *total - 12)
		return fail(err, len, "byte %llu: pcapng block of %u bytes cut at the end of "
			    "the file (%zu bytes left)", (unsigned long long)at, *total, got + 12);
	if (get32(pc, pc->buf + *total - 4) != *total)
		return fail(err, len, "byte %llu: bad pcapng block: trailing length %u, "
			    "leading %u", (unsigned long long)at,
			    get32(pc, pc->buf + *total - 4), *total);
	return 1;
}

static int ng_next(struct ks_pcap *pc, struct ks_pcap_pkt *pkt, char *err, size_t len)
{
	uint32_t type = 0, total = 0;
	uint64_t at;
	int r;

	for (;;) {
		at = pc->off - pc->have;
		r = ng_block(pc, &type, &total, err, len);
		if (r <= 0)
			return r;
		if (type == PCAPNG_IDB && ng_idb(pc, pc->buf + 8, total - 12, at, err, len))
			return -1;
		if (type == PCAPNG_EPB || type == PCAPNG_SPB || type == PCAPNG_OPB)
			return ng_packet(pc, type, pc->buf + 8, total - 12, pkt, err, len);
	}
}

/* ---- both ---- */

static int open_classic(struct ks_pcap *pc, uint32_t magic, char *err, size_t len)
{
	pc->swap = magic == __builtin_bswap32(PCAP_MAGIC_US) ||
		   magic == __builtin_bswap32(PCAP_MAGIC_NS);
	pc->nsec = magic == PCAP_MAGIC_NS || magic == __builtin_bswap32(PCAP_MAGIC_NS);
	if (fill(pc, 4, 20) < 20)
		return fail(err, len, "truncated pcap file header");
	if (get16(pc, pc->buf + 4) != 2)
		return fail(err, len, "pcap version %u.%u is not 2.x", get16(pc, pc->buf + 4),
			    get16(pc, pc->buf + 6));
	pc->linktype = get32(pc, pc->buf + 20) & 0x0fffffff;	/* high bits: FCS info */
	return 0;
}

struct ks_pcap *ks_pcap_open(FILE *f, char *err, size_t len)
{
	struct ks_pcap *pc = calloc(1, sizeof(*pc));
	uint32_t magic;
	int r = -1;

	if (!pc) {
		fail(err, len, "out of memory");
		return NULL;
	}
	pc->f = f;
	if (fill(pc, 0, 4) < 4) {
		fail(err, len, "not a pcap or pcapng file: shorter than 4 bytes");
		goto fail;
	}
	memcpy(&magic, pc->buf, 4);
	if (magic == PCAPNG_SHB) {
		/* ks_pcap_next() reads the section header block on */
		pc->ng = true;
		pc->have = 4;
		return pc;
	}
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS ||
	    magic == __builtin_bswap32(PCAP_MAGIC_US) || magic == __builtin_bswap32(PCAP_MAGIC_NS))
		r = open_classic(pc, magic, err, len);
	else
		fail(err, len, "not a pcap or pcapng file (magic %08x)", magic);
	if (!r)
		return pc;
fail:
	ks_pcap_close(pc);
	return NULL;
}

int ks_pcap_next(struct ks_pcap *pc, struct ks_pcap_pkt *pkt, char *err, size_t len)
{
	memset(pkt, 0, sizeof(*pkt));
	return pc->ng ? ng_next(pc, pkt, err, len) : classic_next(pc, pkt, err, len);
}

void ks_pcap_close(struct ks_pcap *pc)
{
	if (!pc)
		return;
	free(pc->ifs);
	free(pc->buf);
	free(pc);
}
