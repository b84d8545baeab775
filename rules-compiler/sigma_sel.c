// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sigma selections into AST: field names mapped to ECS (or rejected with
 * the reason), modifiers, values in the wildcard encoding, |windash
 * variants, |re translated from PCRE to POSIX ERE, and the AND/OR shape
 * of maps, lists and keywords. The mapping is documented in sigma.c.
 * The importer's error helper lives here, below sigma.c, which uses it.
 */
#include <ctype.h>
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
	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("kestrel: out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	ks_diag_add(&sg->rs->diags, KS_DIAG_ERROR, l, "%s", msg);
	free(msg);
	sg->errors++;
}

/* ---- field mapping ---- */

enum fmap_kind { FM_ECS, FM_REJECT, FM_INITIATED };

static const struct {
	const char *sigma;
	enum fmap_kind kind;
	const char *arg;	/* ECS name, or why it is rejected */
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
	{ "User", FM_REJECT, "user names are not in the event schema (only user.id)" },
	{ "LogonId", FM_REJECT, "logon sessions are not in the event schema" },
	{ "CurrentDirectory", FM_REJECT,
	  "the working directory is not in the event schema" },
	{ "DestinationHostname", FM_REJECT,
	  "host names are not in the event schema (connect events carry IP "
	  "addresses only)" },
	{ "SourceHostname", FM_REJECT,
	  "host names are not in the event schema (connect events carry IP "
	  "addresses only)" },
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

/* The scalar values of a value node (a scalar or a list of scalars). */
static yaml_node_t **values_of(struct sigma *sg, yaml_node_t *v, size_t *n)
{
	yaml_node_t **out;
	yaml_node_item_t *it;

	*n = 0;
	if (v->type == YAML_SCALAR_NODE) {
		out = ks_xmalloc(sizeof(*out));
		out[(*n)++] = v;
		return out;
	}
	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top == v->data.sequence.items.start) {
		sg_err(sg, v, "expected a value or a non-empty list of values");
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
		out[(*n)++] = e;
	}
	return out;
}

/* Sigma value -> wildcard encoding: '*' '?' wildcards; '\*' '\?' '\\'
 * escapes; any other backslash is a literal backslash. */
static char *sigma_wild(const char *s, size_t len, size_t *olen)
{
	char *o = ks_xmalloc(2 * len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			o[n++] = '\\';
			o[n++] = s[++i];
		} else if (s[i] == '\\') {
			o[n++] = '\\';
			o[n++] = '\\';
		} else {
			o[n++] = s[i];
		}
	}
	*olen = n;
	return o;
}

static bool is_word(unsigned char c)
{
	return isalnum(c) || c == '_';
}

/*
 * |windash: every '-' or '/' that starts a word after a non-word byte
 * (regex \B[-/]\b, as pySigma) in all combinations of '-', '/', en dash,
 * em dash and horizontal bar.
 */
#define WINDASH_MAX	3

static size_t windash(const char *s, char ***out)
{
	static const char *const dashes[] = { "-", "/", "\xe2\x80\x93",
					      "\xe2\x80\x94", "\xe2\x80\x95" };
	size_t pos[WINDASH_MAX], np = 0, len = strlen(s), i, k, nv = 1, v, c;
	char **res, *o;

	for (i = 0; i < len; i++) {
		if ((s[i] == '-' || s[i] == '/') &&
		    (i == 0 || !is_word(s[i - 1])) &&
		    i + 1 < len && is_word(s[i + 1])) {
			if (np == WINDASH_MAX)
				return 0;
			pos[np++] = i;
		}
	}
	for (k = 0; k < np; k++)
		nv *= ARRAY_SIZE(dashes);
	res = ks_xmalloc(nv * sizeof(*res));
	for (v = 0; v < nv; v++) {
		o = ks_xmalloc(len + 3 * np + 1);
		c = v;
		for (i = 0, k = 0; i < len; i++) {
			if (k < np && pos[k] == i) {
				strcat(o, dashes[c % ARRAY_SIZE(dashes)]);
				c /= ARRAY_SIZE(dashes);
				k++;
			} else {
				o[strlen(o)] = s[i];
			}
		}
		res[v] = o;
	}
	*out = res;
	return nv;
}

/*
 * PCRE (as Sigma writes it) to POSIX ERE. Only what keeps the meaning is
 * translated; anything else is refused with the reason.
 */
static const char *re_class(char c, bool in_bracket)
{
	switch (c) {
	case 's': return in_bracket ? "[:space:]" : "[[:space:]]";
	case 'd': return in_bracket ? "0-9" : "[0-9]";
	case 'w': return in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
	case 'S': return in_bracket ? NULL : "[^[:space:]]";
	case 'D': return in_bracket ? NULL : "[^0-9]";
	case 'W': return in_bracket ? NULL : "[^[:alnum:]_]";
	default: return NULL;
	}
}

/* One byte c inside [...] (n the next); why it cannot be translated. */
static const char *re_in_bracket(FILE *o, char c, char n, size_t *i)
{
	const char *cls;

	if (c != '\\') {
		fputc(c, o);
		return NULL;
	}
	(*i)++;
	if ((cls = re_class(n, true)))
		fputs(cls, o);
	else if (n == ']' || n == '^' || n == '-')
		return "escaped ] ^ - inside [...]";
	else
		fputc(n, o);
	return NULL;
}

/* The escape "\\n" outside brackets; why it cannot be translated. */
static const char *re_escape(FILE *o, char n)
{
	const char *cls = re_class(n, false);

	if (cls)
		fputs(cls, o);
	else if (n == 'n')
		fputc('\n', o);
	else if (n == 't')
		fputc('\t', o);
	else if (n == 'r')
		fputc('\r', o);
	else if (isdigit((unsigned char)n) || isalpha((unsigned char)n))
		return "backreferences and escapes like \\b, \\x";
	else if (strchr(".[]()*+?{}|^$\\", n))
		fprintf(o, "\\%c", n);
	else
		fputc(n, o);	/* \/ \- \" : the byte itself */
	return NULL;
}

static char *re_translate(const char *s, bool *ci, const char **why)
{
	size_t len = strlen(s), i;
	char *buf = NULL;
	size_t blen;
	FILE *o = open_memstream(&buf, &blen);
	size_t bstart = 0;
	bool br = false;

	if (!o)
		abort();
	*why = NULL;
	if (!strncmp(s, "(?i)", 4)) {
		*ci = true;
		s += 4;
		len -= 4;
	}
	for (i = 0; i < len && !*why; i++) {
		char c = s[i], n = i + 1 < len ? s[i + 1] : 0;

		if (br) {
			/* a ']' right after '[' or '[^' is a member */
			if (c == ']' && i != bstart)
				br = false;
			*why = re_in_bracket(o, c, n, &i);
			continue;
		}
		if (c == '[') {
			br = true;
			bstart = i + 1 + (n == '^');
			fputc(c, o);
			continue;
		}
		if (c == '(' && n == '?') {
			if (i + 2 < len && s[i + 2] == ':') {
				fputc('(', o);
				i += 2;
				continue;
			}
			*why = "(?...) groups other than (?:...) and a leading (?i)";
			continue;
		}
		if ((c == '*' || c == '+' || c == '?' || c == '}') && n == '?') {
			fputc(c, o);	/* lazy: same matches, drop the '?' */
			i++;
			continue;
		}
		if (c != '\\') {
			fputc(c, o);
			continue;
		}
		i++;
		*why = re_escape(o, n);
	}
	fclose(o);
	if (*why) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- field entries ---- */

struct entry {
	yaml_node_t *key, *val;
	const char *fname;		/* Sigma name */
	const struct ks_field_info *f;
	unsigned int mods;
	yaml_node_t **vals;
	size_t n_vals;
};

static int parse_key(struct sigma *sg, struct entry *e, const char *key)
{
	char *k = ks_xstrdup(key), *tok, *save = NULL;
	int rc = -1;
	size_t i;

	tok = strtok_r(k, "|", &save);
	e->fname = ks_strdup(sg->rs, tok ? tok : "");
	while ((tok = strtok_r(NULL, "|", &save))) {
		for (i = 0; i < ARRAY_SIZE(mods); i++)
			if (!strcmp(mods[i].name, tok))
				break;
		if (i == ARRAY_SIZE(mods) ||
		    ((mods[i].bit & (M_RE_I | M_RE_S)) && !(e->mods & M_RE))) {
			sg_err(sg, e->key, "unsupported Sigma modifier \"%s\" in "
			       "\"%s\"", tok, key);
			goto out;
		}
		e->mods |= mods[i].bit;
	}
	i = __builtin_popcount(e->mods & (M_CONTAINS | M_STARTSWITH | M_ENDSWITH |
					  M_RE | M_CIDR | M_EXISTS));
	if (i > 1) {
		sg_err(sg, e->key, "conflicting Sigma modifiers in \"%s\"", key);
		goto out;
	}
	rc = 0;
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
		if (fmap[i].kind == FM_REJECT) {
			sg_err(sg, e->key, "unsupported Sigma field \"%s\": %s",
			       e->fname, fmap[i].arg);
			return -1;
		}
		if (fmap[i].kind == FM_INITIATED)
			return 1;
		e->f = ks_field_lookup(fmap[i].arg);
		return 0;
	}
	e->f = ks_field_lookup(e->fname);
	if (!e->f) {
		sg_err(sg, e->key, "unsupported Sigma field \"%s\": not in the "
		       "event schema", e->fname);
		return -1;
	}
	return 0;
}

static bool parse_int(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!*s)
		return false;
	x = strtoll(s, &end, 10);
	if (*end)
		return false;
	*v = x;
	return true;
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
	for (i = 0; i < e->n_vals; i++) {
		if (!parse_int(ks_yscalar(e->vals[i]), &nums[i])) {
			sg_err(sg, e->vals[i], "\"%s\" is numeric: \"%s\" is not "
			       "a number", e->fname, ks_yscalar(e->vals[i]));
			goto out;
		}
	}
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
	char *ere = re_translate(ks_yscalar(vn), &ci, &why);

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
 * contains/startswith/endswith around them. Appends to *pats. */
static void value_patterns(struct entry *e, const char *v,
			   struct ks_pat_in **pats, size_t *n, size_t *cap)
{
	char *one[1] = { (char *)v }, **vars = one, *w, *p;
	size_t nv = 1, i, len;
	bool own = false;

	if (e->mods & M_WINDASH) {
		nv = windash(v, &vars);
		own = nv > 0;
	}
	if (!own) {
		vars = one;
		nv = 1;
	}
	for (i = 0; i < nv; i++) {
		w = sigma_wild(vars[i], strlen(vars[i]), &len);
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
		value_patterns(e, ks_yscalar(e->vals[i]), &pats, &n, &cap);
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
		if (ks_yis_null(e->vals[i])) {
			ks_nodevec_push(&vec, ks_node_null(sg->rs,
				sg_loc(sg, e->vals[i]), e->f));
			continue;
		}
		e->vals[k++] = e->vals[i];
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
	if (!e->n_vals)
		return nulls;
	switch (e->f->type) {
	case KS_T_NUM:
		n = entry_num(sg, e);
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
			n = entry_build(sg, &e);
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
