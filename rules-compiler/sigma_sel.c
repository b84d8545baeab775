// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sigma selections into AST: field names mapped to ECS (or rejected with
 * the reason), modifiers, values in the wildcard encoding, |windash
 * variants, |re translated from PCRE to POSIX ERE, and the AND/OR shape
 * of maps, lists and keywords. The mapping is documented in sigma.c.
 * The importer's error helper lives here, below sigma.c, which uses it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigma.h"

void sg_err_loc(struct sigma *sg, struct ks_loc l, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		ks_oom();
	va_end(ap);
	ks_diag_add(&sg->rs->diags, KS_DIAG_ERROR, l, "%s", msg);
	free(msg);
	sg->errors++;
}

/* Duplicate scalar keys of a mapping are errors: YAML readers disagree
 * on which one wins, so any reading would be a guess. */
int sg_check_dups(struct sigma *sg, yaml_node_t *map)
{
	struct ks_strmap seen = { 0 };
	yaml_node_pair_t *pr;
	yaml_node_t *k;
	int dups = 0;

	if (!map || map->type != YAML_MAPPING_NODE)
		return 0;
	for (pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(sg->doc, pr->key);
		if (!ks_yscalar(k))
			continue;
		if (ks_strmap_find(&seen, ks_yscalar(k))) {
			sg_err(sg, k, "duplicate key \"%s\"", ks_yscalar(k));
			dups++;
			continue;
		}
		ks_strmap_add(&seen, ks_yscalar(k), 0);
	}
	ks_strmap_free(&seen);
	return dups;
}

/* ---- field mapping ---- */

enum fmap_kind { FM_ECS, FM_REJECT, FM_INITIATED, FM_LOGONID };

/* Sigma (Sysmon) field -> ECS. Its rows are deliberate twins of each
 * other: one shape of data, which duplicates pairs. */
static const struct {
	const char *sigma;
	enum fmap_kind kind;
	const char *arg;	/* ECS name, or why it is rejected */
	const char *absent;	/* FM_ECS: why, while the catalogue lacks arg */
} fmap[] = {
	{ "Image", FM_ECS, "process.executable" },
	{ "CommandLine", FM_ECS, "process.command_line" },
	{ "ParentImage", FM_ECS, "process.parent.executable" },
	{ "ParentCommandLine", FM_ECS, "process.parent.command_line" },
	{ "ProcessId", FM_ECS, "process.pid" },
	{ "ParentProcessId", FM_ECS, "process.parent.pid" },
	{ "TargetFilename", FM_ECS, "file.path" },
	{ "SourceIp", FM_ECS, "source.ip" },
	{ "SourcePort", FM_ECS, "source.port" },
	{ "DestinationIp", FM_ECS, "destination.ip" },
	{ "DestinationPort", FM_ECS, "destination.port" },
	{ "Protocol", FM_ECS, "network.transport" },
	{ "Initiated", FM_INITIATED, NULL },
	/*
	 * Sysmon for Linux: the name of the uid (user.id's), the working
	 * directory. Userspace-enriched ECS fields of the Elastic Defend
	 * model; rejected by name while the catalogue does not have them.
	 */
	{ "User", FM_ECS, "user.name",
	  "user names are not in the event schema (only user.id)" },
	{ "CurrentDirectory", FM_ECS, "process.working_directory",
	  "the working directory is not in the event schema" },
	/* SysmonCommon's LogonIdToString prints the uid & 0xffff on Linux */
	{ "LogonId", FM_LOGONID, "user.id" },
	/*
	 * Sysmon fills both by a reverse DNS lookup of the address. Kestrel
	 * names a destination by the DNS answer the host received for it
	 * (destination.domain: the name the process resolved, alert-only);
	 * a source's name is nothing the host looked up.
	 */
	{ "DestinationHostname", FM_ECS, "destination.domain" },
	{ "SourceHostname", FM_REJECT,
	  "source host names are not in the event schema (kload names "
	  "destinations from the host's DNS answers, destination.domain; "
	  "Sysmon's SourceHostname is a reverse DNS lookup, which kload does "
	  "not make)" },
	{ "OriginalFileName", FM_REJECT, "PE metadata does not exist on Linux" },
	{ "Product", FM_REJECT, "PE metadata does not exist on Linux" },
	{ "Company", FM_REJECT, "PE metadata does not exist on Linux" },
	{ "Description", FM_REJECT, "PE metadata does not exist on Linux" },
	{ "Hashes", FM_REJECT, "file hashes are not in the event schema" },
	{ "IntegrityLevel", FM_REJECT, "integrity levels do not exist on Linux" },
};

/* ---- values ---- */

enum mod {
	M_CONTAINS = 1 << 0, M_STARTSWITH = 1 << 1, M_ENDSWITH = 1 << 2,
	M_ALL = 1 << 3, M_CIDR = 1 << 4, M_WINDASH = 1 << 5, M_RE = 1 << 6,
	M_EXISTS = 1 << 7, M_CASED = 1 << 8, M_RE_I = 1 << 9, M_RE_S = 1 << 10,
};

static const struct {
	const char *name;
	unsigned int bit;
} mods[] = {
	{ "contains", M_CONTAINS }, { "startswith", M_STARTSWITH },
	{ "endswith", M_ENDSWITH }, { "all", M_ALL }, { "cidr", M_CIDR },
	{ "windash", M_WINDASH }, { "re", M_RE }, { "exists", M_EXISTS },
	{ "cased", M_CASED }, { "i", M_RE_I }, { "s", M_RE_S },
};

/* Values are C strings from here on: a NUL byte would cut one short. */
static bool scalar_ok(struct sigma *sg, yaml_node_t *v)
{
	if (strlen(ks_yscalar(v)) == v->data.scalar.length)
		return true;
	sg_err(sg, v, "value holds a NUL byte");
	return false;
}

/* The scalar values of a value node (a scalar or a list of scalars). */
static yaml_node_t **values_of(struct sigma *sg, yaml_node_t *v, size_t *n)
{
	yaml_node_t **out;
	yaml_node_item_t *it;

	*n = 0;
	if (v->type == YAML_SCALAR_NODE) {
		if (!scalar_ok(sg, v))
			return NULL;
		out = ks_xmalloc(sizeof(*out));
		out[(*n)++] = v;
		return out;
	}
	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top == v->data.sequence.items.start) {
		sg_err(sg, v, "expected a value or a non-empty list of values");
		return NULL;
	}
	if (v->data.sequence.items.top - v->data.sequence.items.start >
	    KS_MAX_LIST) {
		sg_err(sg, v, "list has more than %u values (limit KS_MAX_LIST)",
		       KS_MAX_LIST);
		return NULL;
	}
	out = ks_xmalloc((v->data.sequence.items.top -
			  v->data.sequence.items.start) * sizeof(*out));
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = yaml_document_get_node(sg->doc, *it);

		if (e->type != YAML_SCALAR_NODE) {
			sg_err(sg, e, "expected a value, got a %s",
			       e->type == YAML_MAPPING_NODE ? "mapping" : "list");
			free(out);
			return NULL;
		}
		if (!scalar_ok(sg, e)) {
			free(out);
			return NULL;
		}
		out[(*n)++] = e;
	}
	return out;
}

/* ---- field entries ---- */

struct entry {
	yaml_node_t *key, *val;
	const char *fname;		/* Sigma name */
	const struct ks_field_info *f;
	unsigned int mods;
	yaml_node_t **vals;
	size_t n_vals;
	bool logon;			/* LogonId (of user.id) */
};

/* Modifiers that cannot be combined, and why. */
static const struct {
	unsigned int a, b;
	const char *why;
} mod_conflicts[] = {
	{ M_WINDASH, M_RE, "|windash and |re" },
	{ M_CASED, M_RE_I, "|cased and |i" },
	{ M_EXISTS, ~M_EXISTS, "|exists and another modifier" },
};

static int check_mods(struct sigma *sg, struct entry *e, const char *key)
{
	size_t i;

	i = __builtin_popcount(e->mods & (M_CONTAINS | M_STARTSWITH | M_ENDSWITH |
					  M_RE | M_CIDR | M_EXISTS));
	if (i > 1) {
		sg_err(sg, e->key, "conflicting Sigma modifiers in \"%s\"", key);
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(mod_conflicts); i++) {
		if ((e->mods & mod_conflicts[i].a) && (e->mods & mod_conflicts[i].b)) {
			sg_err(sg, e->key, "conflicting Sigma modifiers in \"%s\": "
			       "%s", key, mod_conflicts[i].why);
			return -1;
		}
	}
	return 0;
}

/* "Field|mod|mod": every part must be there ("A||b" is an error). */
static int parse_key(struct sigma *sg, struct entry *e, const char *key)
{
	char *k = ks_xstrdup(key), *rest = k, *tok;
	int rc = -1;
	size_t i;

	tok = strsep(&rest, "|");
	if (!*tok) {
		sg_err(sg, e->key, "empty field name in \"%s\"", key);
		goto out;
	}
	e->fname = ks_strdup(sg->rs, tok);
	while ((tok = strsep(&rest, "|"))) {
		for (i = 0; i < ARRAY_SIZE(mods); i++)
			if (!strcmp(mods[i].name, tok))
				break;
		if (!*tok) {
			sg_err(sg, e->key, "empty Sigma modifier in \"%s\"", key);
			goto out;
		}
		if (i == ARRAY_SIZE(mods) ||
		    ((mods[i].bit & (M_RE_I | M_RE_S)) && !(e->mods & M_RE))) {
			sg_err(sg, e->key, "unsupported Sigma modifier \"%s\" in "
			       "\"%s\"", tok, key);
			goto out;
		}
		e->mods |= mods[i].bit;
	}
	rc = check_mods(sg, e, key);
out:
	free(k);
	return rc;
}

static int map_field(struct sigma *sg, struct entry *e)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fmap); i++) {
		if (strcmp(fmap[i].sigma, e->fname))
			continue;
		if (fmap[i].kind == FM_INITIATED)
			return 1;
		e->f = fmap[i].kind == FM_REJECT ? NULL : ks_field_lookup(fmap[i].arg);
		if (!e->f) {
			sg_err(sg, e->key, "unsupported Sigma field \"%s\": %s",
			       e->fname, fmap[i].kind == FM_REJECT ? fmap[i].arg
								  : fmap[i].absent);
			return -1;
		}
		e->logon = fmap[i].kind == FM_LOGONID;
		return 0;
	}
	e->f = ks_field_lookup(e->fname);
	if (!e->f) {
		sg_err(sg, e->key, "unsupported Sigma field \"%s\": not in the "
		       "event schema", e->fname);
		return -1;
	}
	if (ks_field_target_alias(e->f)) {	/* only EQL's tests fold it */
		sg_err(sg, e->key, "unsupported Sigma field \"%s\": a rename's new "
		       "path is file.path (TargetFilename)", e->fname);
		return -1;
	}
	return 0;
}

/* A decimal integer that fits int64_t; -1 if it is not one, -2 if it
 * does not fit. */
static int parse_int(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (*end)
		return -1;
	if (errno == ERANGE)
		return -2;
	*v = x;
	return 0;
}

/* The values of a numeric field: numbers the field can hold. */
static int entry_nums(struct sigma *sg, struct entry *e, int64_t *nums)
{
	const char *v;
	size_t i;
	int rc;

	for (i = 0; i < e->n_vals; i++) {
		v = ks_yscalar(e->vals[i]);
		rc = parse_int(v, &nums[i]);
		if (rc == -1) {
			sg_err(sg, e->vals[i], "\"%s\" is numeric: \"%s\" is not "
			       "a number", e->fname, v);
			return -1;
		}
		if (rc == -2 || !ks_field_in_range(e->f, nums[i])) {
			sg_err(sg, e->vals[i], "%s is out of range for \"%s\" "
			       "(%s: %lld..%lld)", v, e->fname, e->f->name,
			       (long long)e->f->min, (long long)e->f->max);
			return -1;
		}
	}
	return 0;
}

static struct ks_node *entry_exists(struct sigma *sg, struct entry *e)
{
	const char *v = ks_yscalar(e->vals[0]);
	struct ks_node *n = ks_node_null(sg->rs, sg_loc(sg, e->key), e->f);

	if (e->n_vals != 1 || (strcasecmp(v, "true") && strcasecmp(v, "false"))) {
		sg_err(sg, e->val, "|exists takes true or false");
		return NULL;
	}
	return strcasecmp(v, "true") ? n : ks_node_not(sg->rs, n);
}

static struct ks_node *entry_initiated(struct sigma *sg, struct entry *e)
{
	int64_t act = KS_ACT_CONNECT;
	const char *v;
	size_t i;

	for (i = 0; i < e->n_vals; i++) {
		v = ks_yscalar(e->vals[i]);
		if (strcasecmp(v, "true") || sg->cat != KS_CAT_NETWORK) {
			sg_err(sg, e->vals[i], "unsupported Sigma value "
			       "Initiated: '%s': only outbound (connect) "
			       "network_connection events are mapped", v);
			return NULL;
		}
	}
	return ks_node_num(sg->rs, sg_loc(sg, e->key),
			   ks_field_lookup("event.action"), KS_CMP_EQ, &act, 1);
}

static struct ks_node *entry_num(struct sigma *sg, struct entry *e)
{
	int64_t *nums = ks_xmalloc(e->n_vals * sizeof(*nums));
	struct ks_nodevec vec = { 0 };
	struct ks_node *n = NULL;
	size_t i;

	if (e->mods & ~M_ALL) {
		sg_err(sg, e->key, "modifiers cannot be used on numeric field "
		       "\"%s\"", e->fname);
		goto out;
	}
	if (entry_nums(sg, e, nums))
		goto out;
	if (!(e->mods & M_ALL)) {
		n = ks_node_num(sg->rs, sg_loc(sg, e->key), e->f, KS_CMP_EQ,
				nums, e->n_vals);
		goto out;
	}
	for (i = 0; i < e->n_vals; i++)
		ks_nodevec_push(&vec, ks_node_num(sg->rs, sg_loc(sg, e->vals[i]),
						  e->f, KS_CMP_EQ, &nums[i], 1));
	n = ks_node_join(sg->rs, KS_N_AND, sg_loc(sg, e->key), &vec);
out:
	free(nums);
	return n;
}

/*
 * LogonId: Sysmon for Linux prints the uid & 0xffff (SysmonCommon's
 * LogonIdToString), so LogonId: N is modulo(user.id, 65536) == N, which
 * is decided in userspace; user.id == N would miss uid N + 65536.
 */
static struct ks_node *entry_logon(struct sigma *sg, struct entry *e)
{
	struct ks_nodevec vec = { 0 };
	const char *v;
	int64_t id;
	size_t i;

	if (e->mods & ~M_ALL) {
		sg_err(sg, e->key, "modifiers cannot be used on numeric field "
		       "\"%s\"", e->fname);
		return NULL;
	}
	for (i = 0; i < e->n_vals; i++) {
		v = ks_yscalar(e->vals[i]);
		if (parse_int(v, &id) || id < 0 || id > 0xffff) {
			sg_err(sg, e->vals[i], "LogonId is the uid & 0xffff on "
			       "Linux (0 to 65535): \"%s\" is not one", v);
			free(vec.v);
			return NULL;
		}
		ks_nodevec_push(&vec, ks_node_numfn(sg->rs, sg_loc(sg, e->vals[i]),
						    KS_N_MOD, e->f, KS_CMP_EQ,
						    id, 65536));
	}
	return ks_node_join(sg->rs, e->mods & M_ALL ? KS_N_AND : KS_N_OR,
			    sg_loc(sg, e->key), &vec);
}

static struct ks_node *entry_ip(struct sigma *sg, struct entry *e)
{
	struct ks_ipnet *nets = ks_xmalloc(e->n_vals * sizeof(*nets));
	struct ks_node *n = NULL;
	bool cidr = e->mods & M_CIDR;
	size_t i;

	if (e->mods & ~(M_CIDR | M_ALL)) {
		sg_err(sg, e->key, "only |cidr can be used on IP field \"%s\"",
		       e->fname);
		goto out;
	}
	for (i = 0; i < e->n_vals; i++) {
		if (ks_parse_ipnet(ks_yscalar(e->vals[i]), &nets[i], cidr)) {
			sg_err(sg, e->vals[i], "invalid %s \"%s\"",
			       cidr ? "CIDR" : "IP address",
			       ks_yscalar(e->vals[i]));
			goto out;
		}
	}
	n = ks_node_ip(sg->rs, sg_loc(sg, e->key), e->f, nets, e->n_vals);
out:
	free(nets);
	return n;
}

static struct ks_node *entry_enum(struct sigma *sg, struct entry *e)
{
	const struct ks_enum_val *ev;
	int64_t *nums;
	size_t i, j, cnt;
	struct ks_node *n = NULL;

	ev = ks_field_enum(e->f, &cnt);
	nums = ks_xmalloc(e->n_vals * sizeof(*nums));
	for (i = 0; i < e->n_vals; i++) {
		const char *v = ks_yscalar(e->vals[i]);

		for (j = 0; j < cnt && strcasecmp(ev[j].name, v); j++)
			;
		if (j == cnt || e->mods) {
			sg_err(sg, e->vals[i], "unsupported value \"%s\" for "
			       "\"%s\" (expected one of: %s)", v, e->fname,
			       ks_field_enum_list(e->f));
			goto out;
		}
		nums[i] = ev[j].value;
	}
	n = ks_node_num(sg->rs, sg_loc(sg, e->key), e->f, KS_CMP_EQ, nums,
			e->n_vals);
out:
	free(nums);
	return n;
}

static struct ks_node *str_regex(struct sigma *sg, struct entry *e,
				 yaml_node_t *vn)
{
	struct ks_pat_in pat;
	struct ks_node *n;
	const char *why;
	char err[128];
	bool ci = e->mods & M_RE_I;
	char *ere = sg_re_translate(ks_yscalar(vn), &ci, e->mods & M_RE_S, &why);

	if (!ere) {
		sg_err(sg, vn, "unsupported regular expression: %s", why);
		return NULL;
	}
	pat.s = ere;
	pat.len = strlen(ere);
	n = ks_node_str(sg->rs, sg_loc(sg, vn), e->f, KS_SO_REGEX, false, ci,
			&pat, 1);
	free(ere);
	if (ks_regex_compile(sg->rs, n, err, sizeof(err))) {
		sg_err(sg, vn, "invalid regular expression \"%s\": %s",
		       ks_yscalar(vn), err);
		return NULL;
	}
	return n;
}

/* Patterns of one value: the windash variants, with the wildcards of
 * contains/startswith/endswith around them. Appends to *pats; -1
 * (reported) when the value has more dashes than |windash expands. */
static int value_patterns(struct sigma *sg, struct entry *e, yaml_node_t *vn,
			  struct ks_pat_in **pats, size_t *n, size_t *cap)
{
	const char *v = ks_yscalar(vn);
	char *one[1] = { (char *)v }, **vars = one, *w, *p;
	size_t nv = 1, i, len;
	bool own = false;

	if (e->mods & M_WINDASH) {
		nv = sg_windash(v, &vars);
		if (!nv) {
			sg_err(sg, vn, "|windash expands at most %u dashes that "
			       "start an option (5 variants each); \"%s\" has "
			       "more", WINDASH_MAX, v);
			return -1;
		}
		own = true;
	}
	for (i = 0; i < nv; i++) {
		w = sg_wild(vars[i], strlen(vars[i]), &len);
		p = ks_xasprintf("%s%.*s%s",
				 e->mods & (M_CONTAINS | M_ENDSWITH) ? "*" : "",
				 (int)len, w,
				 e->mods & (M_CONTAINS | M_STARTSWITH) ? "*" : "");
		free(w);
		ks_grow(pats, cap, *n, sizeof(**pats));
		(*pats)[(*n)++] = (struct ks_pat_in){ p, strlen(p) };
		if (own)
			free(vars[i]);
	}
	if (own)
		free(vars);
	return 0;
}

static struct ks_node *entry_str(struct sigma *sg, struct entry *e)
{
	struct ks_nodevec vec = { 0 };
	struct ks_pat_in *pats = NULL;
	size_t n = 0, cap = 0, i, j, first;
	bool ci = !(e->mods & M_CASED);
	struct ks_node *k;

	if (e->mods & M_CIDR) {
		sg_err(sg, e->key, "|cidr needs an IP field; \"%s\" is a string",
		       e->fname);
		return NULL;
	}
	for (i = 0; i < e->n_vals; i++) {
		if (e->mods & M_RE) {
			k = str_regex(sg, e, e->vals[i]);
			if (!k)
				goto fail;
			ks_nodevec_push(&vec, k);
			continue;
		}
		first = n;
		if (value_patterns(sg, e, e->vals[i], &pats, &n, &cap))
			goto fail;
		/* |all: each value (with its variants) must match */
		if (e->mods & M_ALL)
			ks_nodevec_push(&vec, ks_node_str(sg->rs,
				sg_loc(sg, e->vals[i]), e->f, KS_SO_EQ, true,
				ci, pats + first, n - first));
	}
	if (n && !(e->mods & M_ALL))
		ks_nodevec_push(&vec, ks_node_str(sg->rs, sg_loc(sg, e->key),
						  e->f, KS_SO_EQ, true, ci, pats, n));
	for (j = 0; j < n; j++)
		free((char *)pats[j].s);
	free(pats);
	return ks_node_join(sg->rs, e->mods & M_ALL ? KS_N_AND : KS_N_OR,
			    sg_loc(sg, e->key), &vec);
fail:
	for (j = 0; j < n; j++)
		free((char *)pats[j].s);
	free(pats);
	free(vec.v);
	return NULL;
}

/* null values: "Field: null" is a test for a missing field */
static struct ks_node *entry_nulls(struct sigma *sg, struct entry *e,
				   struct ks_node *rest)
{
	struct ks_nodevec vec = { 0 };
	size_t i, k = 0;

	for (i = 0; i < e->n_vals; i++) {
		if (!ks_yis_null(e->vals[i])) {
			e->vals[k++] = e->vals[i];
			continue;
		}
		if (e->mods) {
			/* "contains null", "all of (null, x)": no meaning */
			sg_err(sg, e->vals[i], "a null value cannot take Sigma "
			       "modifiers (\"%s\")", ks_yscalar(e->key));
			free(vec.v);
			return NULL;
		}
		ks_nodevec_push(&vec, ks_node_null(sg->rs,
			sg_loc(sg, e->vals[i]), e->f));
	}
	e->n_vals = k;
	if (rest)
		ks_nodevec_push(&vec, rest);
	return ks_node_join(sg->rs, KS_N_OR, sg_loc(sg, e->key), &vec);
}

static struct ks_node *entry_build(struct sigma *sg, struct entry *e)
{
	struct ks_nodevec vec = { 0 };
	struct ks_node *n, *nulls;
	size_t total;
	int kind;

	kind = map_field(sg, e);
	if (kind < 0)
		return NULL;
	e->vals = values_of(sg, e->val, &e->n_vals);
	if (!e->vals)
		return NULL;
	if (kind == 1)
		return entry_initiated(sg, e);
	if (e->mods & M_EXISTS)
		return entry_exists(sg, e);
	total = e->n_vals;
	nulls = entry_nulls(sg, e, NULL);
	if (!nulls)
		return NULL;
	if (!e->n_vals)
		return nulls;
	switch (e->f->type) {
	case KS_T_NUM:
		n = e->logon ? entry_logon(sg, e) : entry_num(sg, e);
		break;
	case KS_T_IP:
		n = entry_ip(sg, e);
		break;
	case KS_T_ENUM:
		n = entry_enum(sg, e);
		break;
	default:
		n = entry_str(sg, e);
	}
	if (!n || total == e->n_vals)
		return n;
	ks_nodevec_push(&vec, nulls);
	ks_nodevec_push(&vec, n);
	return ks_node_join(sg->rs, KS_N_OR, n->loc, &vec);
}

/* ---- selections ---- */

static struct ks_node *sel_map(struct sigma *sg, yaml_node_t *map)
{
	struct ks_nodevec vec = { 0 };
	yaml_node_pair_t *pr;
	struct entry e;
	struct ks_node *n;
	bool bad = false;

	if (map->data.mapping.pairs.top == map->data.mapping.pairs.start) {
		sg_err(sg, map, "empty selection (it would match every event)");
		return NULL;
	}
	if (sg_check_dups(sg, map))
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		memset(&e, 0, sizeof(e));
		e.key = yaml_document_get_node(sg->doc, pr->key);
		e.val = yaml_document_get_node(sg->doc, pr->value);
		if (!ks_yscalar(e.key)) {
			sg_err(sg, e.key, "field names must be strings");
			bad = true;
			continue;
		}
		n = NULL;
		if (!parse_key(sg, &e, ks_yscalar(e.key)))
			n = entry_build(sg, &e);	/* sets e.f */
		n = ks_node_fold_host(sg->rs, n, e.f, &sg->host_os);
		free(e.vals);
		if (!n) {
			bad = true;
			continue;
		}
		ks_nodevec_push(&vec, n);
	}
	if (bad) {
		free(vec.v);
		return NULL;
	}
	return ks_node_join(sg->rs, KS_N_AND, sg_loc(sg, map), &vec);
}

/* Keywords: any of the values anywhere in the command line. */
static struct ks_node *keywords(struct sigma *sg, yaml_node_t **v, size_t n)
{
	struct entry e = { .key = v[0], .mods = M_CONTAINS, .fname = "keywords",
			   .f = ks_field_lookup("process.command_line") };

	e.vals = v;
	e.n_vals = n;
	return entry_str(sg, &e);
}

static bool all_scalars(yaml_document_t *doc, yaml_node_t *seq)
{
	yaml_node_item_t *it;

	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++)
		if (yaml_document_get_node(doc, *it)->type != YAML_SCALAR_NODE)
			return false;
	return true;
}

static struct ks_node *sel_build(struct sigma *sg, yaml_node_t *v)
{
	struct ks_nodevec vec = { 0 };
	yaml_node_item_t *it;
	struct ks_node *n;
	bool bad = false;

	if (v->type == YAML_MAPPING_NODE)
		return sel_map(sg, v);
	if (v->type == YAML_SCALAR_NODE)
		return keywords(sg, &v, 1);
	if (all_scalars(sg->doc, v)) {
		size_t cnt;
		yaml_node_t **vals = values_of(sg, v, &cnt);

		n = vals ? keywords(sg, vals, cnt) : NULL;
		free(vals);
		return n;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = yaml_document_get_node(sg->doc, *it);

		if (e->type == YAML_MAPPING_NODE)
			n = sel_map(sg, e);
		else if (e->type == YAML_SCALAR_NODE)
			n = keywords(sg, &e, 1);
		else {
			sg_err(sg, e, "unsupported selection item (nested list)");
			n = NULL;
		}
		if (!n)
			bad = true;
		else
			ks_nodevec_push(&vec, n);
	}
	if (bad) {
		free(vec.v);
		return NULL;
	}
	return ks_node_join(sg->rs, KS_N_OR, sg_loc(sg, v), &vec);
}

struct ks_node *sg_sel_get(struct sigma *sg, struct sel *s)
{
	if (!s->built) {
		s->built = true;
		s->ast = sel_build(sg, s->val);
	}
	return s->ast;
}
