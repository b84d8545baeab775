// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DNS answers -> destination.domain (loader/dns.c): the parser on answers
 * as resolvers send them (compressed names, CNAME chains in any order,
 * A and AAAA), on hostile and cut messages, and the bounded cache: TTL
 * floor and cap, replacement, events older than the answer, evictions;
 * and the compiler's KS_NEED_DNS, which makes kload load the DNS program.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kestrel/dns.h"
#include "kestrel/ecs.h"
#include "kestrel/json.h"
#include "kestrel/rules.h"
#include "maps/ks_dns.h"
#include "maps/ks_tables.h"

#define SEC	1000000000ull

/* A DNS message under construction. */
struct msg {
	uint8_t b[2048];
	size_t n;
};

static void put8(struct msg *m, unsigned int v)
{
	m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned int v)
{
	put8(m, v >> 8);
	put8(m, v);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v);
}

/* name as labels ("" is the root); "@" alone: a pointer to the question */
static void put_name(struct msg *m, const char *name)
{
	const char *l = name, *dot;

	if (!strcmp(name, "@")) {
		put16(m, 0xc00c);
		return;
	}
	while (*l) {
		dot = strchr(l, '.');
		put8(m, dot ? (unsigned int)(dot - l) : (unsigned int)strlen(l));
		memcpy(m->b + m->n, l, m->b[m->n - 1]);
		m->n += m->b[m->n - 1];
		l = dot ? dot + 1 : l + strlen(l);
	}
	put8(m, 0);
}

/* A response header (flags 0x8180: QR RD RA) and the one question, type A. */
static void response(struct msg *m, const char *qname, unsigned int an)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, 0x8180);
	put16(m, 1);
	put16(m, an);
	put32(m, 0);
	put_name(m, qname);
	put16(m, 1);
	put16(m, 1);
}

static void rr_head(struct msg *m, const char *owner, unsigned int type, uint32_t ttl)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, 1);	/* IN */
	put32(m, ttl);
}

static void rr_a(struct msg *m, const char *owner, uint32_t ttl, const char *a4)
{
	unsigned int x[4];

	sscanf(a4, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]);
	rr_head(m, owner, 1, ttl);
	put16(m, 4);
	put8(m, x[0]);
	put8(m, x[1]);
	put8(m, x[2]);
	put8(m, x[3]);
}

static void rr_aaaa(struct msg *m, const char *owner, uint32_t ttl, uint8_t last)
{
	rr_head(m, owner, 28, ttl);
	put16(m, 16);
	put16(m, 0x2001);
	put16(m, 0x0db8);
	memset(m->b + m->n, 0, 11);
	m->n += 11;
	put8(m, last);
}

static void rr_cname(struct msg *m, const char *owner, const char *target)
{
	size_t len_at;

	rr_head(m, owner, 5, 600);
	len_at = m->n;
	put16(m, 0);
	put_name(m, target);
	m->b[len_at + 1] = (uint8_t)(m->n - len_at - 2);
}

/* ::ffff:a.b.c.d, as ks_event holds an IPv4 address */
static void mapped(uint8_t ip[16], const char *a4)
{
	unsigned int x[4], i;

	sscanf(a4, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]);
	memset(ip, 0, 10);
	ip[10] = ip[11] = 0xff;
	for (i = 0; i < 4; i++)
		ip[12 + i] = (uint8_t)x[i];
}

static struct ks_dns_answer *parse_ok(const struct msg *m)
{
	static struct ks_dns_answer a;

	assert_int_equal(ks_dns_parse(m->b, m->n, &a), 0);
	return &a;
}

static void parse_bad(const struct msg *m)
{
	struct ks_dns_answer a;

	assert_int_equal(ks_dns_parse(m->b, m->n, &a), -EINVAL);
}

static void test_a_record(void **state)
{
	struct ks_dns_answer *a;
	struct msg m;
	uint8_t ip[16];

	response(&m, "Pool.MineXMR.com", 1);
	rr_a(&m, "@", 300, "203.0.113.7");
	a = parse_ok(&m);
	assert_string_equal(a->qname, "pool.minexmr.com");	/* lower case */
	assert_int_equal(a->qname_len, strlen("pool.minexmr.com"));
	assert_int_equal(a->qtype, 1);
	assert_int_equal(a->n_addrs, 1);
	mapped(ip, "203.0.113.7");
	assert_memory_equal(a->addrs[0].ip, ip, 16);
	assert_int_equal(a->addrs[0].ttl, 300);
}

/*
 * A CDN's chain, listed out of order, with an address of a name off the
 * chain (not asked about: ignored) and an AAAA at the chain's end.
 */
static void test_cname_chain(void **state)
{
	struct ks_dns_answer *a;
	struct msg m;
	uint8_t ip[16];

	response(&m, "tunnel.us.ngrok.com", 5);
	rr_cname(&m, "edge.cdn.example", "e1.cdn.example");
	rr_a(&m, "other.example", 60, "198.51.100.9");
	rr_cname(&m, "@", "edge.cdn.example");
	rr_a(&m, "e1.cdn.example", 20, "198.51.100.1");
	rr_aaaa(&m, "e1.cdn.example", 20, 0x42);
	a = parse_ok(&m);
	assert_string_equal(a->qname, "tunnel.us.ngrok.com");
	assert_int_equal(a->n_addrs, 2);
	mapped(ip, "198.51.100.1");
	assert_memory_equal(a->addrs[0].ip, ip, 16);
	assert_int_equal(a->addrs[1].ip[0], 0x20);
	assert_int_equal(a->addrs[1].ip[15], 0x42);
}

/* A CNAME loop and a chain longer than followed: no address, no hang. */
static void test_cname_loop_and_depth(void **state)
{
	char owner[32], target[32];
	struct msg m;
	int i;

	response(&m, "a.example", 3);
	rr_cname(&m, "@", "b.example");
	rr_cname(&m, "b.example", "a.example");
	rr_a(&m, "c.example", 60, "192.0.2.1");
	assert_int_equal(parse_ok(&m)->n_addrs, 0);

	response(&m, "l0.example", KS_DNS_CHAIN_MAX + 2);
	for (i = 0; i <= KS_DNS_CHAIN_MAX; i++) {
		snprintf(owner, sizeof(owner), "l%d.example", i);
		snprintf(target, sizeof(target), "l%d.example", i + 1);
		rr_cname(&m, owner, target);
	}
	rr_a(&m, target, 60, "192.0.2.2");	/* one hop past the limit */
	assert_int_equal(parse_ok(&m)->n_addrs, 0);
}

/* Not a response to one standard IN query: nothing is taken from it. */
static void test_not_an_answer(void **state)
{
	struct msg m;

	response(&m, "x.example", 1);
	rr_a(&m, "@", 60, "192.0.2.1");
	m.b[2] = 0x01;		/* QR clear: a query */
	parse_bad(&m);
	m.b[2] = 0x81 | 0x28;	/* opcode 5: an UPDATE */
	parse_bad(&m);
	m.b[2] = 0x81;
	m.b[5] = 2;		/* two questions */
	parse_bad(&m);
	m.b[5] = 1;
	m.b[12 + 1 + 1 + 1 + 7 + 1 + 2 + 1] = 3;	/* question class CH */
	parse_bad(&m);
	m.n = 11;
	parse_bad(&m);
}

static void test_hostile_names(void **state)
{
	struct msg m;

	/* a pointer to itself, and one pointing forward */
	response(&m, "x.example", 0);
	m.b[12] = 0xc0;
	m.b[13] = 12;
	parse_bad(&m);
	m.b[13] = 40;
	parse_bad(&m);
	/* the reserved label types 0x40 and 0x80 */
	response(&m, "x.example", 0);
	m.b[12] = 0x41;
	parse_bad(&m);
	/* a label running past the end */
	response(&m, "x.example", 0);
	m.n = 15;
	parse_bad(&m);
	/* longer than 255 bytes on the wire: 5 labels of 63 */
	m.n = 0;
	put16(&m, 1);
	put16(&m, 0x8180);
	put16(&m, 1);
	put16(&m, 0);
	put32(&m, 0);
	for (int i = 0; i < 5; i++) {
		put8(&m, 63);
		memset(m.b + m.n, 'a', 63);
		m.n += 63;
	}
	put8(&m, 0);
	put32(&m, 0x00010001);
	parse_bad(&m);
	/* a '.' or a space inside a label: the text would be ambiguous */
	response(&m, "evil.example", 0);
	m.b[15] = '.';
	parse_bad(&m);
	m.b[15] = ' ';
	parse_bad(&m);
}

/* A message cut by the copy's bound: the whole records before the cut count. */
static void test_cut_message(void **state)
{
	struct msg m;
	size_t whole;

	response(&m, "x.example", 2);
	rr_a(&m, "@", 60, "192.0.2.1");
	whole = m.n;
	rr_a(&m, "@", 60, "192.0.2.2");
	m.n -= 2;
	assert_int_equal(parse_ok(&m)->n_addrs, 1);
	m.n = whole + 5;
	assert_int_equal(parse_ok(&m)->n_addrs, 1);
	/* an A record whose length is not 4 is not an address */
	response(&m, "x.example", 1);
	rr_head(&m, "@", 1, 60);
	put16(&m, 3);
	put8(&m, 1);
	put8(&m, 2);
	put8(&m, 3);
	assert_int_equal(parse_ok(&m)->n_addrs, 0);
}

static void test_cache_ttl(void **state)
{
	struct ks_dns_cache *c = ks_dns_cache_new(0);
	uint64_t t0 = 1000 * SEC;
	const char *name;
	size_t len;
	uint8_t ip[16];

	mapped(ip, "192.0.2.1");
	assert_false(ks_dns_cache_get(c, ip, t0, &name, &len));
	ks_dns_cache_put(c, ip, "a.example", 9, t0, 0);	/* TTL 0: the floor */
	assert_true(ks_dns_cache_get(c, ip, t0, &name, &len));
	assert_int_equal(len, 9);
	assert_string_equal(name, "a.example");
	assert_true(ks_dns_cache_get(c, ip, t0 + (KS_DNS_TTL_MIN_S - 1) * SEC, &name, &len));
	assert_false(ks_dns_cache_get(c, ip, t0 + KS_DNS_TTL_MIN_S * SEC, &name, &len));
	/* an event before the answer: the name was not known then */
	assert_false(ks_dns_cache_get(c, ip, t0 - 1, &name, &len));
	/* a later answer replaces the name; a huge TTL is capped */
	ks_dns_cache_put(c, ip, "b.example", 9, t0 + SEC, UINT32_MAX);
	assert_true(ks_dns_cache_get(c, ip, t0 + 2 * SEC, &name, &len));
	assert_string_equal(name, "b.example");
	assert_false(ks_dns_cache_get(c, ip, t0 + (1 + KS_DNS_TTL_MAX_S) * SEC, &name, &len));
	ks_dns_cache_free(c);
}

/* A cache of one set: the fifth address evicts the entry that expires first. */
static void test_cache_eviction(void **state)
{
	struct ks_dns_cache *c = ks_dns_cache_new(4);
	struct ks_dns_stats st;
	const char *name;
	uint8_t ip[5][16];
	size_t len;
	int i;

	for (i = 0; i < 5; i++) {
		char a[16];

		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		mapped(ip[i], a);
	}
	for (i = 0; i < 4; i++)
		ks_dns_cache_put(c, ip[i], "n.example", 9, SEC, i == 2 ? 100 : 1000);
	ks_dns_cache_put(c, ip[4], "m.example", 9, 2 * SEC, 1000);
	ks_dns_cache_stats(c, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.names, 5);
	assert_false(ks_dns_cache_get(c, ip[2], 3 * SEC, &name, &len));
	for (i = 0; i < 5; i++)
		if (i != 2)
			assert_true(ks_dns_cache_get(c, ip[i], 3 * SEC, &name, &len));
	/* an expired entry is reused without counting an eviction */
	ks_dns_cache_put(c, ip[2], "n.example", 9, 5000 * SEC, 1000);
	ks_dns_cache_stats(c, &st);
	assert_int_equal(st.evictions, 1);
	ks_dns_cache_free(c);
}

static void test_cache_answer(void **state)
{
	struct ks_dns_cache *c = ks_dns_cache_new(0);
	struct ks_dns_stats st;
	const char *name;
	uint8_t ip[16];
	struct msg m;
	size_t len;

	response(&m, "Tunnel.EU.ngrok.com", 2);
	rr_cname(&m, "@", "edge.example");
	rr_a(&m, "edge.example", 30, "198.51.100.5");
	assert_int_equal(ks_dns_cache_answer(c, m.b, m.n, 10 * SEC), 0);
	m.b[2] = 0x01;
	assert_int_equal(ks_dns_cache_answer(c, m.b, m.n, 10 * SEC), -EINVAL);
	ks_dns_cache_stats(c, &st);
	assert_int_equal(st.answers, 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.names, 1);
	mapped(ip, "198.51.100.5");
	assert_true(ks_dns_cache_get(c, ip, 11 * SEC, &name, &len));
	assert_string_equal(name, "tunnel.eu.ngrok.com");	/* the name asked */
	ks_dns_cache_free(c);
}

/* The JSON of ev as alerts print it; the caller frees it. */
static char *event_json(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	struct ks_jw w = {};
	char *s;

	ks_ecs_event_json(ctx, &w, ev);
	assert_false(w.oom);
	s = strndup(w.p, w.len);
	ks_jw_free(&w);
	return s;
}

/*
 * A live connect's destination.domain: the answer's name once it came,
 * absent for an address no answer gave and for an event before the
 * answer; printed in the event's destination object.
 */
static void test_ecs_live(void **state)
{
	struct ks_ecs_ctx ctx;
	struct ks_event ev = { .source = KS_SRC_NET, .category = KS_CAT_NETWORK,
			       .action = KS_ACT_CONNECT, .present = KS_P_NET,
			       .dport = 443, .ts_ns = 10 * SEC };
	const struct ks_field_info *dom = ks_field_lookup("destination.domain");
	struct ks_dns_stats st;
	const char *s;
	struct msg m;
	size_t len;
	char *j;

	assert_int_equal(ks_ecs_init(&ctx, "h"), 0);
	mapped(ev.daddr, "198.51.100.5");
	assert_false(ks_ecs_user_str(&ctx, dom, &ev, &s, &len));
	response(&m, "pool.minexmr.com", 1);
	rr_a(&m, "@", 300, "198.51.100.5");
	assert_int_equal(ks_ecs_dns_answer(&ctx, m.b, m.n, 9 * SEC), 0);
	assert_true(ks_ecs_user_str(&ctx, dom, &ev, &s, &len));
	assert_memory_equal(s, "pool.minexmr.com", len);
	j = event_json(&ctx, &ev);
	assert_non_null(strstr(j, "\"destination\":{\"domain\":\"pool.minexmr.com\","
				  "\"ip\":\"198.51.100.5\",\"port\":443}"));
	free(j);
	ev.ts_ns = 8 * SEC;	/* before the answer */
	assert_false(ks_ecs_user_str(&ctx, dom, &ev, &s, &len));
	ev.ts_ns = 10 * SEC;
	mapped(ev.daddr, "198.51.100.6");
	assert_false(ks_ecs_user_str(&ctx, dom, &ev, &s, &len));
	j = event_json(&ctx, &ev);
	assert_non_null(strstr(j, "\"destination\":{\"ip\":\"198.51.100.6\",\"port\":443}"));
	free(j);
	ks_ecs_dns_stats(&ctx, &st);
	assert_int_equal(st.answers, 1);
	assert_int_equal(st.names, 1);
	ks_ecs_free(&ctx);
}

static int keep_event(void *arg, struct ks_event *ev, unsigned long line)
{
	struct ks_event *evs = arg;

	evs[line - 1] = *ev;
	return 0;
}

/* A replayed record keeps its own destination.domain, and one without has none. */
static void test_ecs_replay(void **state)
{
	static const char jsonl[] =
		"{\"@timestamp\":\"2026-11-26T10:51:27Z\",\"event\":{\"action\":"
		"\"connection_attempted\",\"category\":\"network\"},\"destination\":"
		"{\"domain\":\"tunnel.us.ngrok.com\",\"ip\":\"3.1.2.3\",\"port\":443}}\n"
		"{\"@timestamp\":\"2026-11-26T10:51:28Z\",\"event\":{\"action\":"
		"\"connection_attempted\",\"category\":\"network\"},\"destination\":"
		"{\"ip\":\"3.1.2.3\",\"port\":443}}\n";
	const struct ks_field_info *dom = ks_field_lookup("destination.domain");
	FILE *in = fmemopen((void *)jsonl, sizeof(jsonl) - 1, "r");
	struct ks_event evs[2];
	struct ks_ecs_ctx ctx;
	const char *s;
	size_t len;
	char *j;

	assert_int_equal(ks_ecs_init(&ctx, "h"), 0);
	assert_int_equal(ks_ecs_read_jsonl(in, "t.jsonl", keep_event, evs, &ctx, NULL, stderr),
			 0);
	fclose(in);
	assert_true(ks_ecs_user_str(&ctx, dom, &evs[0], &s, &len));
	assert_memory_equal(s, "tunnel.us.ngrok.com", len);
	j = event_json(&ctx, &evs[0]);
	assert_non_null(strstr(j, "\"domain\":\"tunnel.us.ngrok.com\""));
	free(j);
	assert_false(ks_ecs_user_str(&ctx, dom, &evs[1], &s, &len));
	ks_ecs_free(&ctx);
}

/*
 * Rules reading destination.domain, and only those, need the DNS answers,
 * and --explain says so.
 */
static void test_need_bit(void **state)
{
	static const char *const yaml[2] = {
		"- rule: d\n  name: d\n  query: |\n"
		"    network where destination.domain like \"*.ngrok.io\"\n",
		"- rule: p\n  name: p\n  query: network where destination.port == 4444\n",
	};
	struct ks_tables *t = calloc(1, sizeof(*t));
	char *explain;
	size_t len;
	FILE *f;
	int i;

	for (i = 0; i < 2; i++) {
		struct ks_ruleset *rs = ks_ruleset_new();
		struct ks_compile_info info = {};

		assert_int_equal(ks_ruleset_load_string(rs, yaml[i], "t.yml"), 0);
		assert_int_equal(ks_compile(rs, t, &info), 0);
		assert_int_equal(!!(t->hdr.action_mask & KS_NEED_DNS), i == 0);
		explain = NULL;
		f = open_memstream(&explain, &len);
		ks_explain(rs, t, &info, f);
		fclose(f);
		/* --explain names the program and says the field is alert-only */
		assert_int_equal(strstr(explain, "the DNS program ks_all_dns for it); null when "
				 "no answer named it; alert-only") != NULL, i == 0);
		free(explain);
		ks_compile_info_free(&info);
		ks_ruleset_free(rs);
	}
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_record),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_loop_and_depth),
		cmocka_unit_test(test_not_an_answer),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_cut_message),
		cmocka_unit_test(test_cache_ttl),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_cache_answer),
		cmocka_unit_test(test_ecs_live),
		cmocka_unit_test(test_ecs_replay),
		cmocka_unit_test(test_need_bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
