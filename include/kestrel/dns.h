/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS answers -> destination.domain (loader/dns.c).
 *
 * The DNS program (bpf/hook_dns.bpf.c) forwards the DNS messages the host
 * receives from port 53; ks_dns_parse() reads one (RFC 1035 wire format,
 * compressed names included) and ks_dns_cache_answer() remembers, for
 * every address it gives, the name that was asked: the question's name,
 * followed through the answer's CNAME chain to the A/AAAA records.
 * Records whose owner is not on that chain are ignored (an answer cannot
 * name an address it was not asked about), as are messages that are not
 * a standard query's response with exactly one IN question.
 *
 * The cache is bounded: KS_DNS_CACHE_ENTRIES addresses, four per set of a
 * hash keyed at random (so answers cannot be chosen to crowd one set);
 * a full set loses the entry that expires first, counted in evictions.
 * An address keeps its name for the answer's TTL, at least
 * KS_DNS_TTL_MIN_S (answers with a TTL of 0 or a few seconds are common,
 * and the connect follows the lookup) and at most KS_DNS_TTL_MAX_S; a
 * later answer for the same address replaces it. A lookup for an event
 * older than the answer that named the address, or past its expiry,
 * finds nothing: the name is then absent, never guessed.
 *
 * Names are kept in lower case (DNS names are case-insensitive), as text
 * without the final dot; a name with a byte outside '!'..'~' or a '.'
 * inside a label is not kept (its text would be ambiguous).
 */
#ifndef KESTREL_DNS_H
#define KESTREL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_DNS_NAME_MAX		253	/* text of a name, without the final dot */
#define KS_DNS_ADDRS_MAX	64	/* addresses one answer names */
#define KS_DNS_CHAIN_MAX	8	/* CNAME hops followed */
#define KS_DNS_CACHE_ENTRIES	8192	/* addresses remembered (288 bytes each: 2.25 MiB) */
#define KS_DNS_TTL_MIN_S	60
#define KS_DNS_TTL_MAX_S	86400

/* One response, parsed. */
struct ks_dns_answer {
	char qname[KS_DNS_NAME_MAX + 1];	/* the question, NUL-terminated */
	size_t qname_len;
	uint16_t qtype;
	uint8_t rcode;
	uint32_t n_addrs;
	struct {
		uint8_t ip[16];		/* IPv4 mapped (::ffff:a.b.c.d), as ks_event's */
		uint32_t ttl;		/* seconds */
	} addrs[KS_DNS_ADDRS_MAX];
};

/*
 * Parse the DNS message msg[0..len). 0: a response to a standard query
 * with one IN question (a->n_addrs may be 0: NXDOMAIN, no A/AAAA);
 * -EINVAL: malformed, or not such a response. Records cut by the end of
 * the message are not read; the whole ones before them are.
 */
int ks_dns_parse(const uint8_t *msg, size_t len, struct ks_dns_answer *a);

struct ks_dns_stats {
	uint64_t answers;	/* responses read */
	uint64_t malformed;	/* messages that were not one */
	uint64_t names;		/* addresses named (inserted or replaced) */
	uint64_t evictions;	/* live entries dropped for a new one */
	uint64_t hits, misses;	/* lookups */
};

struct ks_dns_cache;

/* An empty cache of `entries` addresses (a multiple of 4; 0: the default). */
struct ks_dns_cache *ks_dns_cache_new(size_t entries);
void ks_dns_cache_free(struct ks_dns_cache *c);

/* Name ip (16 bytes) name[0..len) from now_ns (epoch ns) for ttl seconds. */
void ks_dns_cache_put(struct ks_dns_cache *c, const uint8_t ip[16], const char *name,
		      size_t len, uint64_t now_ns, uint32_t ttl);
/* Parse one message received at now_ns and name its addresses. 0 or -EINVAL. */
int ks_dns_cache_answer(struct ks_dns_cache *c, const uint8_t *msg, size_t len,
			uint64_t now_ns);
/*
 * The name ip had at time ts_ns (an event's): false when no answer named
 * it by then, or the name expired. *name stays valid until the next put.
 */
bool ks_dns_cache_get(struct ks_dns_cache *c, const uint8_t ip[16], uint64_t ts_ns,
		      const char **name, size_t *len);
void ks_dns_cache_stats(const struct ks_dns_cache *c, struct ks_dns_stats *st);

#endif /* KESTREL_DNS_H */
