// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capture reader (loader/pcap.c): classic pcap in both byte orders
 * and both time resolutions, pcapng, and every way a file can be cut or
 * malformed, each reported with where it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kestrel/pcap.h"

struct buf {
	uint8_t b[4096];
	size_t n;
	bool be;	/* write big-endian */
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u16(struct buf *b, uint16_t v)
{
	v = b->be ? __builtin_bswap16(v) : v;
	put(b, &v, 2);
}

static void u32(struct buf *b, uint32_t v)
{
	v = b->be ? __builtin_bswap32(v) : v;
	put(b, &v, 4);
}

static void classic_hdr(struct buf *b, uint32_t magic)
{
	u32(b, magic);
	u16(b, 2);
	u16(b, 4);
	u32(b, 0);
	u32(b, 0);
	u32(b, 65535);
	u32(b, 1);
}

static void classic_rec(struct buf *b, uint32_t sec, uint32_t frac, uint32_t caplen,
			const char *data)
{
	u32(b, sec);
	u32(b, frac);
	u32(b, caplen);
	u32(b, caplen);
	put(b, data, strlen(data));
}

static uint8_t first_bytes[8];	/* of the first packet: data dies with the reader */

/* Read every packet; returns the last ks_pcap_next() result, err filled. */
static int read_all(struct buf *b, struct ks_pcap_pkt *pk, int max, int *n, char *err)
{
	FILE *f = fmemopen(b->b, b->n, "r");
	struct ks_pcap *pc = ks_pcap_open(f, err, 256);
	struct ks_pcap_pkt p;
	int r = -2;

	*n = 0;
	if (pc) {
		while ((r = ks_pcap_next(pc, &p, err, 256)) > 0) {
			if (!*n)
				memcpy(first_bytes, p.data, p.caplen < 8 ? p.caplen : 8);
			if (*n < max)
				pk[(*n)++] = p;
		}
		ks_pcap_close(pc);
	}
	fclose(f);
	return r;
}

static void test_classic(void **state)
{
	struct ks_pcap_pkt p[4];
	struct buf b = {};
	char err[256];
	int n;

	classic_hdr(&b, 0xa1b2c3d4);
	classic_rec(&b, 10, 500, 14, "AAAAAAAAAAAAAA");
	classic_rec(&b, 11, 0, 0, "");	/* a zero-length frame is a valid record */
	assert_int_equal(read_all(&b, p, 4, &n, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].caplen, 14);
	assert_int_equal(p[0].ts_ns, 10000500000ull);
	assert_int_equal(p[0].linktype, KS_LINKTYPE_ETHERNET);
	assert_int_equal(p[1].num, 2);
	assert_int_equal(p[1].caplen, 0);

	/* big-endian, nanosecond magic */
	memset(&b, 0, sizeof(b));
	b.be = true;
	classic_hdr(&b, 0xa1b23c4d);
	classic_rec(&b, 1, 7, 3, "abc");
	assert_int_equal(read_all(&b, p, 4, &n, err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].ts_ns, 1000000007ull);
}

static void test_classic_cut(void **state)
{
	struct ks_pcap_pkt p[4];
	struct buf b = {};
	char err[256];
	int n;

	classic_hdr(&b, 0xa1b2c3d4);
	classic_rec(&b, 1, 0, 4, "abcd");
	classic_rec(&b, 1, 0, 4, "abcd");
	b.n -= 2;	/* cut in the middle of packet 2's data */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_int_equal(n, 1);
	assert_string_equal(err, "packet 2: caplen 4 runs past the end of the file (2 bytes left)");

	b.n -= 2 + 10;	/* cut in packet 2's record header */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_string_equal(err, "packet 2: truncated record header (6 of 16 bytes)");

	memset(&b, 0, sizeof(b));
	classic_hdr(&b, 0xa1b2c3d4);
	classic_rec(&b, 1, 0, 0x7fffffff, "");	/* caplen past any end */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_string_equal(err, "packet 1: caplen 2147483647 is over the maximum of 262144");

	memset(&b, 0, sizeof(b));
	put(&b, "nope, not a capture", 19);
	assert_int_equal(read_all(&b, p, 4, &n, err), -2);
	assert_non_null(strstr(err, "not a pcap or pcapng file"));
}

static void ng_block(struct buf *b, uint32_t type, const void *body, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t total = 12 + ((len + 3) & ~3u);

	u32(b, type);
	u32(b, total);
	put(b, body, len);
	put(b, zero, total - 12 - len);
	u32(b, total);
}

static void ng_start(struct buf *b, uint8_t tsresol)
{
	uint8_t shb[16] = { 0 }, idb[20] = { 0 };
	uint32_t bom = 0x1a2b3c4d;
	uint16_t v;

	memcpy(shb, &bom, 4);
	v = 1;
	memcpy(shb + 4, &v, 2);
	memset(shb + 8, 0xff, 8);	/* section length unknown */
	ng_block(b, 0x0a0d0d0a, shb, sizeof(shb));
	v = 1;			/* LINKTYPE_ETHERNET */
	memcpy(idb, &v, 2);
	v = 9;			/* if_tsresol */
	memcpy(idb + 8, &v, 2);
	v = 1;
	memcpy(idb + 10, &v, 2);
	idb[12] = tsresol;
	ng_block(b, 1, idb, tsresol ? 16 : 8);
}

static void ng_epb(struct buf *b, uint32_t ifid, uint64_t ts, const char *data)
{
	uint8_t epb[64] = { 0 };
	uint32_t v[5] = { ifid, ts >> 32, (uint32_t)ts, strlen(data), strlen(data) };

	memcpy(epb, v, sizeof(v));
	memcpy(epb + 20, data, strlen(data));
	ng_block(b, 6, epb, 20 + strlen(data));
}

static void test_pcapng(void **state)
{
	struct ks_pcap_pkt p[4];
	struct buf b = {};
	char err[256];
	int n;

	ng_start(&b, 9);	/* nanoseconds */
	ng_block(&b, 5, "stat", 4);	/* statistics: skipped */
	ng_epb(&b, 0, 1500000000123ull, "hello");
	assert_int_equal(read_all(&b, p, 4, &n, err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].ts_ns, 1500000000123ull);
	assert_int_equal(p[0].caplen, 5);
	assert_memory_equal(first_bytes, "hello", 5);

	memset(&b, 0, sizeof(b));
	ng_start(&b, 0);	/* default: microseconds */
	ng_epb(&b, 0, 2000001, "x");
	assert_int_equal(read_all(&b, p, 4, &n, err), 0);
	assert_int_equal(p[0].ts_ns, 2000001000ull);
}

static void test_pcapng_bad(void **state)
{
	struct ks_pcap_pkt p[4];
	struct buf b = {};
	char err[256];
	size_t at;
	int n;

	ng_start(&b, 0);
	ng_epb(&b, 3, 0, "x");	/* no interface 3 */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_string_equal(err, "packet 1: interface 3 has no description block");

	memset(&b, 0, sizeof(b));
	ng_start(&b, 0);
	at = b.n;
	ng_epb(&b, 0, 0, "abcd");
	memcpy(b.b + at + 4, &(uint32_t){ 13 }, 4);	/* not a multiple of 4 */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_int_equal(n, 0);
	assert_string_equal(err, "byte 48: bad pcapng block: total length 13");

	memcpy(b.b + at + 4, &(uint32_t){ 36 }, 4);
	memcpy(b.b + at + 32, &(uint32_t){ 40 }, 4);	/* trailing length differs */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_string_equal(err, "byte 48: bad pcapng block: trailing length 40, leading 36");

	memcpy(b.b + at + 32, &(uint32_t){ 36 }, 4);
	b.n -= 8;	/* the last block cut */
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_string_equal(err, "byte 48: pcapng block of 36 bytes cut at the end of the file "
			    "(28 bytes left)");

	memcpy(b.b + at + 20, &(uint32_t){ 1000 }, 4);	/* caplen past its block */
	b.n += 8;
	assert_int_equal(read_all(&b, p, 4, &n, err), -1);
	assert_string_equal(err, "packet 1: caplen 1000 runs past its block (4 bytes)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic),
		cmocka_unit_test(test_classic_cut),
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_pcapng_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
