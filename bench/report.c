// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report: the benchmarks' result lines (JSONL, see bench_common.h) ->
 *   results.json      array of {name, figure, value, unit, target, met,
 *                     baseline, ratio, command, reason, note, extra}
 *   PERFORMANCE.md    summary table (targets), DFA matrix, every figure,
 *                     each row with the command that reproduces it
 *   stdout            the same Markdown
 *
 * usage: report OUT.json OUT.md "MACHINE LINE" IN.jsonl...
 *
 * Entries of OUT.json that this run did not produce (another benchmark
 * skipped with --only, or figures written by other tools, such as the
 * fuzzers' fuzz.* entries) are kept, marked "earlier_run": true, after
 * the new ones; an entry this run produced replaces its old version.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *sget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool nget(json_t *o, const char *k, double *d)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		return false;
	*d = json_number_value(v);
	return true;
}

/* "<= 1.5" / ">= 2000000": 1 met, 0 missed, -1 not decidable */
static int target_met(const char *target, bool has, double v)
{
	double t;

	if (!target || !has)
		return -1;
	if (!strncmp(target, "<=", 2) && sscanf(target + 2, "%lf", &t) == 1)
		return v <= t;
	if (!strncmp(target, ">=", 2) && sscanf(target + 2, "%lf", &t) == 1)
		return v >= t;
	return -1;
}

static void fmt_num(char *buf, size_t len, double v)
{
	char tmp[64], *p;
	int n, i, j, digits;

	if (!isfinite(v)) {
		snprintf(buf, len, "n/a");
		return;
	}
	if (fabs(v) >= 10000) {
		/* group thousands */
		snprintf(tmp, sizeof(tmp), "%.0f", fabs(v));
		n = strlen(tmp);
		p = buf;
		if (v < 0)
			*p++ = '-';
		for (i = 0, j = 0; i < n && (size_t)(p - buf) < len - 2; i++) {
			*p++ = tmp[i];
			digits = n - i - 1;
			if (digits && digits % 3 == 0)
				*p++ = ',';
			j++;
		}
		*p = 0;
		return;
	}
	if (fabs(v) >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static void md_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static void row(FILE *f, json_t *o)
{
	char v[64], r[64];
	double d, ratio;
	const char *target = sget(o, "target"), *reason = sget(o, "reason");
	json_t *met = json_object_get(o, "met");
	bool has = nget(o, "value", &d);

	fmt_num(v, sizeof(v), has ? d : NAN);
	if (nget(o, "ratio", &ratio)) {
		snprintf(r, sizeof(r), "%.3g", ratio);
	} else {
		snprintf(r, sizeof(r), "–");
	}
	fputs("| ", f);
	md_escape(f, sget(o, "figure"));
	fprintf(f, " | %s | ", has ? v : "**n/a**");
	md_escape(f, sget(o, "unit"));
	fprintf(f, " | %s | %s | %s", target ? target : "–",
		json_is_true(met) ? "yes" : json_is_false(met) ? "**no**" : "–", r);
	if (sget(o, "baseline")) {
		fputs(" (vs `", f);
		md_escape(f, sget(o, "baseline"));
		fputs("`)", f);
	}
	fputs(" | `", f);
	md_escape(f, sget(o, "command"));
	fputs("` |", f);
	if (!has && reason) {
		fputs(" ", f);
		md_escape(f, reason);
	} else if (sget(o, "note")) {
		fputs(" ", f);
		md_escape(f, sget(o, "note"));
	}
	if (json_is_true(json_object_get(o, "earlier_run")))
		fputs(" (from an earlier run)", f);
	fputs(" |\n", f);
}

static void table_head(FILE *f)
{
	fputs("| Figure | Value | Unit | Target | Met | Ratio | Command | Notes |\n"
	      "|---|---:|---|---|---|---|---|---|\n", f);
}

static json_t *find(json_t *all, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(all, i, o)
		if (sget(o, "name") && !strcmp(sget(o, "name"), name))
			return o;
	return NULL;
}

/*
 * Append the entries of the previous results file whose names this run
 * did not produce, marked as such, so a partial run loses nothing.
 */
static void keep_earlier(json_t *all, const char *path)
{
	json_t *old = json_load_file(path, 0, NULL), *o;
	size_t i;

	if (!json_is_array(old)) {
		json_decref(old);
		return;
	}
	json_array_foreach(old, i, o) {
		const char *n = sget(o, "name");

		if (!json_is_object(o) || !n || find(all, n))
			continue;
		json_object_set_new(o, "earlier_run", json_true());
		json_array_append(all, o);
	}
	json_decref(old);
}

static void dfa_cell(FILE *f, json_t *all, const char *eng, const char *mode, long p, long b,
		     const char *what)
{
	char name[160], v[64];
	json_t *o;
	double d;

	snprintf(name, sizeof(name), "dfa.%s.%s.p%ld.b%ld.%s", eng, mode, p, b, what);
	o = find(all, name);
	if (!o || !nget(o, "value", &d))
		fprintf(f, " n/a |");
	else {
		fmt_num(v, sizeof(v), d);
		fprintf(f, " %s |", v);
	}
}

static void dfa_matrix(FILE *f, json_t *all)
{
	long sets[16], sizes[16];
	int ns = 0, nz = 0, i, j, k;
	size_t idx;
	json_t *o;

	json_array_foreach(all, idx, o) {
		long p, b;
		const char *n = sget(o, "name");
		char eng[16], mode[16], what[32];

		if (!n || sscanf(n, "dfa.%15[a-z].%15[a-z].p%ld.b%ld.%31s", eng, mode, &p, &b,
				 what) != 5)
			continue;
		for (k = 0; k < ns && sets[k] != p; k++)
			;
		if (k == ns && ns < 16)
			sets[ns++] = p;
		for (k = 0; k < nz && sizes[k] != b; k++)
			;
		if (k == nz && nz < 16)
			sizes[nz++] = b;
	}
	if (!ns)
		return;
	fputs("\n### DFA matrix (ns per payload byte; warm = same packet repeated, cold = "
	      "distinct packets after a 64 MiB cache sweep)\n\n"
	      "| patterns | payload B | kernel XDP warm | kernel XDP cold | kernel ns/pkt warm | "
	      "C walk (tablewalk.c) warm | minimal C warm | premultiplied C warm | "
	      "premultiplied C, 2 walks, warm | Hyperscan warm | Hyperscan cold | "
	      "image walk XDP 2 walks warm | image walk XDP 4 walks warm | image walk XDP 4 walks cold |\n"
	      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
	for (i = 0; i < ns; i++)
		for (j = 0; j < nz; j++) {
			fprintf(f, "| %ld | %ld |", sets[i], sizes[j]);
			dfa_cell(f, all, "kernel", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "kernel", "cold", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "kernel", "warm", sets[i], sizes[j], "ns_per_packet");
			dfa_cell(f, all, "user", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "cmin", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "cpre", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "cpre2", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "hs", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "hs", "cold", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "lab2", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "lab4", "warm", sets[i], sizes[j], "ns_per_byte");
			dfa_cell(f, all, "lab4", "cold", sets[i], sizes[j], "ns_per_byte");
			fputs("\n", f);
		}
	json_array_foreach(all, idx, o) {
		const char *n = sget(o, "name");
		double d;

		if (n && !strncmp(n, "dfa.compile.", 12) && !nget(o, "value", &d)) {
			fputs("\n", f);
			md_escape(f, sget(o, "figure"));
			fputs(": ", f);
			md_escape(f, sget(o, "reason"));
			fputs("\n", f);
		}
	}
}

static void markdown(FILE *f, json_t *all, const char *machine)
{
	size_t i;
	json_t *o;
	int met = 0, missed = 0, na = 0;

	json_array_foreach(all, i, o) {
		json_t *m = json_object_get(o, "met");

		if (!sget(o, "target"))
			continue;
		if (json_is_true(m))
			met++;
		else if (json_is_false(m))
			missed++;
		else
			na++;
	}
	fprintf(f, "## Performance\n\nGenerated by `make bench` (bench/run.sh) on %s.\n"
		"Targets: %d met, %d missed, %d not measurable. Every comparison (ratio) was "
		"measured in the same run as its baseline. Reproduce one row with its command "
		"(after `make bench` has built build/bench/).\n\n### Targets and headline figures\n\n",
		machine, met, missed, na);
	table_head(f);
	json_array_foreach(all, i, o)
		if (sget(o, "target") || json_is_true(json_object_get(o, "headline")))
			row(f, o);
	dfa_matrix(f, all);
	fputs("\n### Every figure\n\n", f);
	table_head(f);
	json_array_foreach(all, i, o) {
		const char *g = sget(o, "group");

		if (g && !strcmp(g, "dfa"))
			continue;	/* in the matrix; all of them are in results.json */
		if (g && !strcmp(g, "dfa-file") && strstr(sget(o, "name"), "ns_per_packet"))
			continue;	/* the per-byte rows say it */
		row(f, o);
	}
	fputs("\nThe per-size DFA rows (ns/byte and ns/packet for every engine, warm and cold) "
	      "are in bench/results.json.\n", f);
}

int main(int argc, char **argv)
{
	json_t *all = json_array();
	FILE *f;
	char line[65536];
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: %s OUT.json OUT.md MACHINE IN.jsonl...\n", argv[0]);
		return 2;
	}
	for (i = 4; i < argc; i++) {
		FILE *in = fopen(argv[i], "r");

		if (!in)
			continue;
		while (fgets(line, sizeof(line), in)) {
			json_error_t e;
			json_t *o = json_loads(line, 0, &e);
			double v = NAN;
			bool has;
			int m;

			if (!json_is_object(o)) {
				json_decref(o);
				continue;
			}
			has = nget(o, "value", &v);
			m = target_met(sget(o, "target"), has, v);
			json_object_set_new(o, "met", m < 0 ? json_null() : json_boolean(m));
			if (!json_object_get(o, "value"))
				json_object_set_new(o, "value", json_null());
			if (!json_object_get(o, "target"))
				json_object_set_new(o, "target", json_null());
			if (!json_object_get(o, "baseline"))
				json_object_set_new(o, "baseline", json_null());
			if (!json_object_get(o, "ratio"))
				json_object_set_new(o, "ratio", json_null());
			json_array_append_new(all, o);
		}
		fclose(in);
	}
	keep_earlier(all, argv[1]);
	if (json_dump_file(all, argv[1], JSON_INDENT(1) | JSON_REAL_PRECISION(6))) {
		fprintf(stderr, "report: cannot write %s\n", argv[1]);
		return 1;
	}
	f = fopen(argv[2], "w");
	if (!f) {
		fprintf(stderr, "report: cannot write %s\n", argv[2]);
		return 1;
	}
	markdown(f, all, argv[3]);
	fclose(f);
	markdown(stdout, all, argv[3]);
	json_decref(all);
	return 0;
}
