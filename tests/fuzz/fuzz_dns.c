// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: a DNS message, as the DNS program forwards what the
 * host receives from port 53 (any process can be sent one), through the
 * parser and the address -> name cache (loader/dns.c). Beyond sanitizer
 * reports it checks what the parser promises: a question name that is
 * lower-case text of at most KS_DNS_NAME_MAX bytes without a byte that
 * would make it ambiguous, at most KS_DNS_ADDRS_MAX addresses, and each
 * address found in the cache under that name right after the answer.
 * The cache is small, so its sets fill and evict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/dns.h"

static void check_name(const struct ks_dns_answer *a)
{
	size_t i;

	if (a->qname_len > KS_DNS_NAME_MAX || strlen(a->qname) != a->qname_len)
		abort();
	for (i = 0; i < a->qname_len; i++) {
		char c = a->qname[i];

		if (c < '!' || c > '~' || (c >= 'A' && c <= 'Z'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ks_dns_cache *c;
	static uint64_t now = 1;
	struct ks_dns_answer a;
	const char *name;
	size_t len;
	uint32_t i;

	if (!c && !(c = ks_dns_cache_new(64)))
		abort();
	now += 1000000000ull;
	if (ks_dns_parse(data, size, &a))
		return 0;
	check_name(&a);
	if (a.n_addrs > KS_DNS_ADDRS_MAX)
		abort();
	if (ks_dns_cache_answer(c, data, size, now))
		abort();	/* parsed once, must parse again */
	for (i = 0; i < a.n_addrs && a.qname_len; i++) {
		/* a later address of the same answer may have evicted this one */
		if (ks_dns_cache_get(c, a.addrs[i].ip, now, &name, &len) &&
		    (len > KS_DNS_NAME_MAX || strlen(name) != len))
			abort();
	}
	return 0;
}
