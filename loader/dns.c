// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DNS answers -> address -> name (include/kestrel/dns.h says what is kept,
 * for how long, and what is refused). The parser reads untrusted bytes
 * (any process can receive a datagram from port 53): every read is
 * bounds-checked, a compression pointer must point before itself (so a
 * name cannot loop), and a name is at most 255 bytes on the wire.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kestrel/dns.h"
#include "maps/ks_siphash.h"

#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_AAAA	28
#define DNS_C_IN	1
#define DNS_NAME_WIRE	255	/* RFC 1035 3.1 */
#define DNS_WAYS	4	/* entries per cache set */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Append one label to the text of a name: lower case, '.' before all but
 * the first. *bad is set for a byte that would make the text ambiguous
 * (a '.' or a byte outside '!'..'~'); the walk goes on, so the name's end
 * is still found and the record skipped.
 */
static void put_label(const uint8_t *l, size_t n, char *out, size_t *olen, bool *bad)
{
	size_t i;

	if (*olen)
		out[(*olen)++] = '.';
	for (i = 0; i < n; i++) {
		uint8_t c = l[i];

		*bad |= c < '!' || c > '~' || c == '.';
		out[(*olen)++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
}

/*
 * The name at m[off]: its text in out (at least KS_DNS_NAME_MAX + 1
 * bytes, NUL-terminated) and the offset just past it in *end. 0; 1 when
 * the name is valid but its text ambiguous; -EINVAL when it runs past the
 * message, is longer than 255 bytes or a pointer does not point back.
 */
static int name_at(const uint8_t *m, size_t len, size_t off, char *out, size_t *olen,
		   size_t *end)
{
	size_t wire = 1, ptr_end = 0;
	bool bad = false;

	*olen = 0;
	for (;;) {
		if (off >= len)
			return -EINVAL;
		if ((m[off] & 0xc0) == 0xc0) {
			size_t to;

			if (off + 1 >= len)
				return -EINVAL;
			to = (size_t)(get16(m + off) & 0x3fff);
			if (to >= off)		/* forward or to itself: could loop */
				return -EINVAL;
			if (!ptr_end)
				ptr_end = off + 2;
			off = to;
			continue;
		}
		if (m[off] & 0xc0)		/* the reserved label types */
			return -EINVAL;
		if (!m[off])
			break;
		wire += 1 + m[off];
		if (wire > DNS_NAME_WIRE || off + 1 + m[off] > len)
			return -EINVAL;
		put_label(m + off + 1, m[off], out, olen, &bad);
		off += 1 + m[off];
	}
	out[*olen] = 0;
	*end = ptr_end ? ptr_end : off + 1;
	return bad;
}

/* One resource record of the answer section, as a scan hands it over. */
struct rr {
	char owner[KS_DNS_NAME_MAX + 1];
	size_t owner_len;
	bool owner_ok;		/* text not ambiguous */
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata, rdlen;	/* offset and length in the message */
};

typedef void (*rr_cb)(const uint8_t *m, size_t len, const struct rr *r, void *arg);

/*
 * Each whole record of the n starting at m[off], to cb. A record the
 * message cuts or that is malformed ends the scan: what follows it
 * cannot be located.
 */
static void scan_rrs(const uint8_t *m, size_t len, size_t off, unsigned int n, rr_cb cb,
		     void *arg)
{
	struct rr r;
	int err;

	for (; n > 0; n--) {
		err = name_at(m, len, off, r.owner, &r.owner_len, &off);
		if (err < 0 || off + 10 > len)
			return;
		r.owner_ok = !err;
		r.type = get16(m + off);
		r.class = get16(m + off + 2);
		r.ttl = get32(m + off + 4);
		if (r.ttl > INT32_MAX)		/* RFC 2181 8: read as 0 */
			r.ttl = 0;
		r.rdlen = get16(m + off + 8);
		r.rdata = off + 10;
		if (r.rdata + r.rdlen > len)
			return;
		off = r.rdata + r.rdlen;
		cb(m, len, &r, arg);
	}
}

/* The names from the question along the CNAME chain. */
struct chain {
	char name[KS_DNS_CHAIN_MAX + 1][KS_DNS_NAME_MAX + 1];
	size_t len[KS_DNS_CHAIN_MAX + 1];
	unsigned int n;
	bool grew;
};

static bool on_chain(const struct chain *c, const struct rr *r)
{
	unsigned int i;

	if (!r->owner_ok || r->class != DNS_C_IN)
		return false;
	for (i = 0; i < c->n; i++)
		if (c->len[i] == r->owner_len && !memcmp(c->name[i], r->owner, r->owner_len))
			return true;
	return false;
}

/* A CNAME of the chain's last name: its target is the next link. */
static void chain_cb(const uint8_t *m, size_t len, const struct rr *r, void *arg)
{
	struct chain *c = arg;
	char *next = c->name[c->n];
	size_t end, nlen, i;

	if (c->grew || c->n > KS_DNS_CHAIN_MAX || r->type != DNS_T_CNAME ||
	    r->class != DNS_C_IN || !r->owner_ok || c->len[c->n - 1] != r->owner_len ||
	    memcmp(c->name[c->n - 1], r->owner, r->owner_len))
		return;
	if (name_at(m, len, r->rdata, next, &nlen, &end) || end > r->rdata + r->rdlen)
		return;
	for (i = 0; i < c->n; i++)	/* a loop adds nothing */
		if (c->len[i] == nlen && !memcmp(c->name[i], next, nlen))
			return;
	c->len[c->n++] = nlen;
	c->grew = true;
}

struct addr_scan {
	const struct chain *c;
	struct ks_dns_answer *a;
};

/* An A or AAAA record of a name on the chain: an address of the question. */
static void addr_cb(const uint8_t *m, size_t len, const struct rr *r, void *arg)
{
	struct addr_scan *s = arg;
	struct ks_dns_answer *a = s->a;
	uint8_t *ip;

	(void)len;
	if ((r->type != DNS_T_A || r->rdlen != 4) && (r->type != DNS_T_AAAA || r->rdlen != 16))
		return;
	if (a->n_addrs == KS_DNS_ADDRS_MAX || !on_chain(s->c, r))
		return;
	ip = a->addrs[a->n_addrs].ip;
	if (r->rdlen == 4) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, m + r->rdata, 4);
	} else {
		memcpy(ip, m + r->rdata, 16);
	}
	a->addrs[a->n_addrs++].ttl = r->ttl;
}

/* The header and the one IN question; *off is set past the question. */
static int parse_question(const uint8_t *m, size_t len, struct ks_dns_answer *a, size_t *off)
{
	uint16_t flags;

	if (len < 12)
		return -EINVAL;
	flags = get16(m + 2);
	/* a response (QR) to a standard query (opcode 0), one question */
	if (!(flags & 0x8000) || (flags >> 11 & 0xf) || get16(m + 4) != 1)
		return -EINVAL;
	a->rcode = flags & 0xf;
	if (name_at(m, len, 12, a->qname, &a->qname_len, off) || *off + 4 > len)
		return -EINVAL;
	a->qtype = get16(m + *off);
	if (get16(m + *off + 2) != DNS_C_IN)
		return -EINVAL;
	*off += 4;
	return 0;
}

int ks_dns_parse(const uint8_t *msg, size_t len, struct ks_dns_answer *a)
{
	struct chain chain, *c = &chain;	/* 2.3 KiB */
	struct addr_scan s;
	unsigned int an;
	size_t off;

	a->n_addrs = 0;
	if (parse_question(msg, len, a, &off))
		return -EINVAL;
	an = get16(msg + 6);
	memcpy(c->name[0], a->qname, a->qname_len + 1);
	c->len[0] = a->qname_len;
	c->n = 1;
	/* one link per scan: records may list the chain in any order */
	do {
		c->grew = false;
		scan_rrs(msg, len, off, an, chain_cb, c);
	} while (c->grew && c->n <= KS_DNS_CHAIN_MAX);
	s = (struct addr_scan){ .c = c, .a = a };
	scan_rrs(msg, len, off, an, addr_cb, &s);
	return 0;
}

/* ---- the cache ---- */

struct ks_dns_ent {
	uint8_t ip[16];
	uint64_t since;		/* the answer's time: events before it see nothing */
	uint64_t until;		/* expiry; 0: empty */
	uint16_t len;
	char name[KS_DNS_NAME_MAX + 1];
};

struct ks_dns_cache {
	struct ks_dns_ent *e;
	size_t sets;		/* a power of two */
	uint64_t k0, k1;	/* SipHash key of the set index */
	struct ks_dns_stats st;
	struct ks_dns_answer a;	/* the answer being read */
};

struct ks_dns_cache *ks_dns_cache_new(size_t entries)
{
	struct ks_dns_cache *c = calloc(1, sizeof(*c));
	uint64_t key[2];

	if (!entries)
		entries = KS_DNS_CACHE_ENTRIES;
	if (!c || getrandom(key, sizeof(key), 0) != sizeof(key)) {
		free(c);
		return NULL;
	}
	c->k0 = key[0];
	c->k1 = key[1];
	for (c->sets = 1; c->sets * 2 * DNS_WAYS <= entries; c->sets *= 2)
		;
	c->e = calloc(c->sets * DNS_WAYS, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return NULL;
	}
	return c;
}

void ks_dns_cache_free(struct ks_dns_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

static struct ks_dns_ent *set_of(const struct ks_dns_cache *c, const uint8_t ip[16])
{
	return c->e + (ks_siphash(c->k0, c->k1, ip, 16) & (c->sets - 1)) * DNS_WAYS;
}

/* The way for ip in set: its own, an empty or expired one, or the first to expire. */
static struct ks_dns_ent *way_for(struct ks_dns_cache *c, struct ks_dns_ent *set,
				  const uint8_t ip[16], uint64_t now_ns)
{
	struct ks_dns_ent *free_way = NULL, *oldest = set;
	int i;

	for (i = 0; i < DNS_WAYS; i++) {
		if (set[i].until && !memcmp(set[i].ip, ip, 16))
			return &set[i];
		if (!free_way && set[i].until <= now_ns)
			free_way = &set[i];
		if (set[i].until < oldest->until)
			oldest = &set[i];
	}
	if (free_way)
		return free_way;
	c->st.evictions++;
	return oldest;
}

void ks_dns_cache_put(struct ks_dns_cache *c, const uint8_t ip[16], const char *name,
		      size_t len, uint64_t now_ns, uint32_t ttl)
{
	struct ks_dns_ent *e;

	if (!len || len > KS_DNS_NAME_MAX)
		return;
	if (ttl < KS_DNS_TTL_MIN_S)
		ttl = KS_DNS_TTL_MIN_S;
	if (ttl > KS_DNS_TTL_MAX_S)
		ttl = KS_DNS_TTL_MAX_S;
	e = way_for(c, set_of(c, ip), ip, now_ns);
	memcpy(e->ip, ip, 16);
	e->since = now_ns;
	e->until = now_ns + ttl * 1000000000ull;
	e->len = (uint16_t)len;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	c->st.names++;
}

int ks_dns_cache_answer(struct ks_dns_cache *c, const uint8_t *msg, size_t len,
			uint64_t now_ns)
{
	struct ks_dns_answer *a = &c->a;
	uint32_t i;

	if (ks_dns_parse(msg, len, a)) {
		c->st.malformed++;
		return -EINVAL;
	}
	c->st.answers++;
	for (i = 0; i < a->n_addrs; i++)
		ks_dns_cache_put(c, a->addrs[i].ip, a->qname, a->qname_len, now_ns,
				 a->addrs[i].ttl);
	return 0;
}

bool ks_dns_cache_get(struct ks_dns_cache *c, const uint8_t ip[16], uint64_t ts_ns,
		      const char **name, size_t *len)
{
	struct ks_dns_ent *set = set_of(c, ip);
	int i;

	for (i = 0; i < DNS_WAYS; i++) {
		struct ks_dns_ent *e = &set[i];

		if (!e->until || memcmp(e->ip, ip, 16))
			continue;
		if (e->since > ts_ns || e->until <= ts_ns)
			break;
		*name = e->name;
		*len = e->len;
		c->st.hits++;
		return true;
	}
	c->st.misses++;
	return false;
}

void ks_dns_cache_stats(const struct ks_dns_cache *c, struct ks_dns_stats *st)
{
	*st = c->st;
}
