// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * EQL printer: the text of a query or condition back from the AST, for
 * --explain, the tests and the query_text of imported Sigma rules (which
 * a .kbin stores and parses again). The output parses back to the same
 * AST; KS_SO_REGEX prints as Kestrel's regex(field, "ERE") function,
 * KS_SO_EQLRE as EQL's `field regex "..."`.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

static void put_str(FILE *o, const char *s, size_t len, bool esc_wild)
{
	size_t i;

	fputc('"', o);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '"': fputs("\\\"", o); break;
		case '\\': fputs("\\\\", o); break;
		case '\n': fputs("\\n", o); break;
		case '\t': fputs("\\t", o); break;
		case '\r': fputs("\\r", o); break;
		case '*': case '?':
			if (esc_wild)
				fputc('\\', o);
			fputc(c, o);
			break;
		default:
			fputc(c, o);
		}
	}
	fputc('"', o);
}

/* A pattern as an EQL wildcard string: literal bytes escaped, with the
 * wildcards the strop implies around them. */
static void put_pattern(FILE *o, enum ks_strop op, const struct ks_strpat *pt)
{
	size_t i;

	if (op != KS_SO_WILDCARD) {
		char *mid;
		size_t len;

		mid = ks_wild_escape(pt->s, pt->len, &len);
		fputc('"', o);
		if (op == KS_SO_SUFFIX || op == KS_SO_CONTAINS)
			fputc('*', o);
		for (i = 0; i < len; i++) {
			if (mid[i] == '\\' && i + 1 < len) {
				/* escaped byte: \* \? keep, \\ doubles */
				fputs(mid[i + 1] == '\\' ? "\\\\" : "\\", o);
				if (mid[i + 1] != '\\')
					fputc(mid[i + 1], o);
				i++;
			} else if (mid[i] == '"') {
				fputs("\\\"", o);
			} else if (mid[i] == '\n') {
				fputs("\\n", o);
			} else if (mid[i] == '\t') {
				fputs("\\t", o);
			} else if (mid[i] == '\r') {
				fputs("\\r", o);
			} else {
				fputc(mid[i], o);
			}
		}
		if (op == KS_SO_PREFIX || op == KS_SO_CONTAINS)
			fputc('*', o);
		fputc('"', o);
		free(mid);
		return;
	}
	fputc('"', o);
	for (i = 0; i < pt->len; i++) {
		char c = pt->s[i];

		if (c == '\\' && i + 1 < pt->len) {
			c = pt->s[++i];
			fputs(c == '\\' ? "\\\\" : "\\", o);
			if (c != '\\')
				fputc(c, o);
		} else if (c == '"') {
			fputs("\\\"", o);
		} else if (c == '\n') {
			fputs("\\n", o);
		} else if (c == '\t') {
			fputs("\\t", o);
		} else if (c == '\r') {
			fputs("\\r", o);
		} else {
			fputc(c, o);
		}
	}
	fputc('"', o);
}

static void fmt_str_node(FILE *o, const struct ks_node *n)
{
	const char *f = n->field->name;
	bool ci = n->n_pats && n->pats[0].ci;
	size_t i;

	for (i = 1; i < n->n_pats; i++) {
		if (n->pats[i].ci != ci) {
			/* mixed case modes cannot share one operator */
			fputc('(', o);
			for (i = 0; i < n->n_pats; i++) {
				struct ks_node one = *n;

				one.pats = &n->pats[i];
				one.n_pats = 1;
				fputs(i ? " or " : "", o);
				fmt_str_node(o, &one);
			}
			fputc(')', o);
			return;
		}
	}
	if (n->strop == KS_SO_REGEX) {
		for (i = 0; i < n->n_pats; i++) {
			fprintf(o, "%sregex%s(%s, ", i ? " or " : "",
				ci ? "~" : "", f);
			put_str(o, n->pats[i].s, n->pats[i].len, false);
			fputc(')', o);
		}
		return;
	}
	if (n->strop == KS_SO_EQLRE) {
		fprintf(o, "%s regex%s ", f, ci ? "~" : "");
	} else if (n->strop == KS_SO_EQ && !ci) {
		fprintf(o, "%s %s ", f, n->n_pats == 1 ? "==" : "in");
	} else {
		fprintf(o, "%s %s ", f, ci ? ":" : "like");
	}
	if (n->n_pats != 1)
		fputc('(', o);
	for (i = 0; i < n->n_pats; i++) {
		fputs(i ? ", " : "", o);
		if (n->field->boolean)	/* "true"/"false": the words */
			fwrite(n->pats[i].s, 1, n->pats[i].len, o);
		else if ((n->strop == KS_SO_EQ && !ci) || n->strop == KS_SO_EQLRE)
			put_str(o, n->pats[i].s, n->pats[i].len, false);
		else
			put_pattern(o, n->strop, &n->pats[i]);
	}
	if (n->n_pats != 1)
		fputc(')', o);
}

static void fmt_num_value(FILE *o, const struct ks_field_info *f, int64_t v)
{
	const struct ks_enum_val *ev;
	size_t i, cnt;

	ev = ks_field_enum(f, &cnt);
	for (i = 0; i < cnt; i++) {
		if (ev[i].value == v) {
			fprintf(o, "\"%s\"", ev[i].name);
			return;
		}
	}
	fprintf(o, "%lld", (long long)v);
}

static const char *const cmp_ops[] = {
	[KS_CMP_EQ] = "==", [KS_CMP_NE] = "!=", [KS_CMP_LT] = "<",
	[KS_CMP_LE] = "<=", [KS_CMP_GT] = ">", [KS_CMP_GE] = ">=",
};

/* startsWith/endsWith/stringContains(field, field2), length(f) cmp N,
 * modulo(f, d) cmp N */
static void fmt_fn_node(FILE *o, const struct ks_node *n)
{
	const char *fn = n->strop == KS_SO_PREFIX ? "startsWith" :
			 n->strop == KS_SO_SUFFIX ? "endsWith" : "stringContains";

	if (n->kind == KS_N_LEN)
		fprintf(o, "length(%s) %s %lld", n->field->name, cmp_ops[n->cmp],
			(long long)n->nums[0]);
	else if (n->kind == KS_N_MOD)
		fprintf(o, "modulo(%s, %lld) %s %lld", n->field->name,
			(long long)n->num, cmp_ops[n->cmp], (long long)n->nums[0]);
	else
		fprintf(o, "%s%s(%s, %s)", fn, n->ci ? "~" : "", n->field->name,
			n->field2->name);
}

static void fmt_num_node(FILE *o, const struct ks_node *n)
{
	const char *const *ops = cmp_ops;
	size_t i;

	if (n->n_nums == 1) {
		fprintf(o, "%s %s ", n->field->name, ops[n->cmp]);
		fmt_num_value(o, n->field, n->nums[0]);
		return;
	}
	fprintf(o, "%s%s in (", n->cmp == KS_CMP_NE ? "not " : "", n->field->name);
	for (i = 0; i < n->n_nums; i++) {
		fputs(i ? ", " : "", o);
		fmt_num_value(o, n->field, n->nums[i]);
	}
	fputc(')', o);
}

static void fmt_ipnet(FILE *o, const struct ks_ipnet *net, bool with_prefix)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char buf[INET6_ADDRSTRLEN];

	if (!memcmp(net->addr, mapped, 12) && net->prefix >= 96) {
		inet_ntop(AF_INET, net->addr + 12, buf, sizeof(buf));
		fprintf(o, "\"%s", buf);
		if (with_prefix)
			fprintf(o, "/%d", net->prefix - 96);
	} else {
		inet_ntop(AF_INET6, net->addr, buf, sizeof(buf));
		fprintf(o, "\"%s", buf);
		if (with_prefix)
			fprintf(o, "/%d", net->prefix);
	}
	fputc('"', o);
}

static void fmt_ip_node(FILE *o, const struct ks_node *n)
{
	bool hosts = true;
	size_t i;

	for (i = 0; i < n->n_nets; i++)
		hosts &= n->nets[i].prefix == 128;
	if (!hosts) {
		fprintf(o, "cidrMatch(%s", n->field->name);
		for (i = 0; i < n->n_nets; i++) {
			fputs(", ", o);
			fmt_ipnet(o, &n->nets[i], true);
		}
		fputc(')', o);
		return;
	}
	fprintf(o, "%s %s ", n->field->name, n->n_nets == 1 ? "==" : "in");
	if (n->n_nets != 1)
		fputc('(', o);
	for (i = 0; i < n->n_nets; i++) {
		fputs(i ? ", " : "", o);
		fmt_ipnet(o, &n->nets[i], false);
	}
	if (n->n_nets != 1)
		fputc(')', o);
}

static int prec(const struct ks_node *n)
{
	switch (n->kind) {
	case KS_N_OR: return 1;
	case KS_N_AND: return 2;
	case KS_N_NOT: return 3;
	default: return 4;
	}
}

static void fmt_node(FILE *o, const struct ks_node *n, int min_prec)
{
	bool paren = prec(n) < min_prec;
	size_t i;

	if (paren)
		fputc('(', o);
	switch (n->kind) {
	case KS_N_AND:
	case KS_N_OR:
		for (i = 0; i < n->n_kids; i++) {
			fputs(i ? (n->kind == KS_N_AND ? " and " : " or ") : "", o);
			fmt_node(o, n->kids[i], prec(n) + 1);
		}
		break;
	case KS_N_NOT:
		if (n->kids[0]->kind == KS_N_NULL) {
			fprintf(o, "%s != null", n->kids[0]->field->name);
			break;
		}
		fputs("not ", o);
		fmt_node(o, n->kids[0], 3);
		break;
	case KS_N_BOOL:
		fputs(n->num ? "true" : "false", o);
		break;
	case KS_N_STR:
		fmt_str_node(o, n);
		break;
	case KS_N_NUM:
		fmt_num_node(o, n);
		break;
	case KS_N_IP:
		fmt_ip_node(o, n);
		break;
	case KS_N_NULL:
		fprintf(o, "%s == null", n->field->name);
		break;
	case KS_N_FIELDS:
	case KS_N_LEN:
	case KS_N_MOD:
		fmt_fn_node(o, n);
		break;
	}
	if (paren)
		fputc(')', o);
}

static FILE *mem_open(char **buf, size_t *len)
{
	FILE *o = open_memstream(buf, len);

	if (!o) {
		fputs("kestrel: out of memory\n", stderr);
		abort();
	}
	return o;
}

char *ks_node_format(const struct ks_node *n)
{
	char *buf = NULL;
	size_t len;
	FILE *o = mem_open(&buf, &len);

	if (n)
		fmt_node(o, n, 0);
	else
		fputs("true", o);
	fclose(o);
	return buf;
}

static void fmt_fields(FILE *o, const struct ks_field_info *const *f, size_t n,
		       uint8_t opt)
{
	size_t i;

	if (!n)
		return;
	fputs(" by ", o);
	for (i = 0; i < n; i++)
		fprintf(o, "%s%s%s", i ? ", " : "", opt & (1u << i) ? "?" : "", f[i]->name);
}

static void fmt_step(FILE *o, const struct ks_step_ast *s, bool bracket)
{
	char *c = ks_node_format(s->cond);

	fprintf(o, "%s%s where %s%s", bracket ? "[" : "",
		ks_category_name(s->category), c, bracket ? "]" : "");
	free(c);
	if (!bracket)
		return;
	fmt_fields(o, s->join, s->n_join, s->join_opt);
	if (s->runs > 1)
		fprintf(o, " with runs=%u", s->runs);
}

static void fmt_span(FILE *o, uint64_t ns)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "h", 3600000000000ull }, { "m", 60000000000ull },
		{ "s", 1000000000ull }, { "ms", 1000000ull },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units) - 1; i++)
		if (!(ns % units[i].ns))
			break;
	fprintf(o, " with maxspan=%llu%s",
		(unsigned long long)(ns / units[i].ns), units[i].u);
}

char *ks_query_format(const struct ks_query *q)
{
	char *buf = NULL;
	size_t len, i;
	FILE *o = mem_open(&buf, &len);

	if (!q->sequence && !q->sample) {
		fmt_step(o, &q->steps[0], false);
		goto out;
	}
	fputs(q->sample ? "sample" : "sequence", o);
	fmt_fields(o, q->join, q->n_join, q->join_opt);
	if (q->maxspan_ns)
		fmt_span(o, q->maxspan_ns);
	for (i = 0; i < q->n_steps; i++) {
		fputs("\n  ", o);
		fmt_step(o, &q->steps[i], true);
	}
	if (q->until) {
		fputs("\nuntil ", o);
		fmt_step(o, q->until, true);
	}
out:
	fclose(o);
	return buf;
}
