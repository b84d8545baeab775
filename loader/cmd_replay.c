// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kload replay and kload test. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/replay.h"
#include "cli.h"
#include "replay_int.h"

/* A strong reference, so kload links the pcap reader (tests need not). */
int (*const ks_replay_pcap_linked)(struct ks_replay *, const char *) = ks_replay_pcap;

struct replay_args {
	const char *events, *pcap, *expect;
	bool lenient;
	int mode;
};

static int parse(int argc, char **argv, const char *cmd, struct replay_args *ra)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "pcap", required_argument, NULL, 'p' },
		{ "expect", required_argument, NULL, 'x' },
		{ "lenient", no_argument, NULL, 'l' },
		{ "mode", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	ra->mode = KS_MODE_PROBE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			ra->events = optarg;
			break;
		case 'p':
			ra->pcap = optarg;
			break;
		case 'x':
			ra->expect = optarg;
			break;
		case 'l':
			ra->lenient = true;
			break;
		case 'M':
			ra->mode = ks_mode_parse(optarg);
			if (ra->mode < KS_MODE_PROBE) {
				fprintf(stderr, "kload: --mode takes lsm, signal or observe\n");
				return KS_EXIT_USAGE;
			}
			break;
		case 'v':
			ks_log_level++;
			break;
		case 'h':
			ks_cmd_help(ks_cmd_find(cmd), stdout);
			return -1;
		default:
			ks_cmd_help(ks_cmd_find(cmd), stderr);
			return KS_EXIT_USAGE;
		}
	}
	if (!ra->events && !ra->pcap) {
		fprintf(stderr, "kload %s: give --events FILE.jsonl and/or --pcap FILE.pcap\n", cmd);
		return KS_EXIT_USAGE;
	}
	return 0;
}

static int run(int argc, char **argv, const struct replay_args *ra, FILE *out,
	       struct ks_replay_result *res)
{
	struct ks_compile_info info = {};
	struct ks_replay_opts o = {
		.events = ra->events, .pcap = ra->pcap, .mode = ra->mode,
		.alerts = out, .errout = stderr,
	};
	struct ks_ruleset *rs;
	struct ks_tables *t;
	int ret, err;

	ret = ks_cli_load_rules(argc - optind, argv + optind, &rs, &t, &info);
	ks_compile_info_free(&info);
	if (ret)
		return ret;
	ret = ks_cli_env();
	if (ret) {
		ks_ruleset_free(rs);
		free(t);
		return ret;
	}
	err = ks_replay_run(rs, t, &o, res);
	fflush(out);
	if (err)
		return err == -EPERM ? KS_EXIT_ENV : KS_EXIT_FAIL;
	if (res->skipped) {
		fprintf(stderr, "kload: %lu malformed line(s) skipped\n", res->skipped);
		if (!ra->lenient)
			return KS_EXIT_FAIL;
	}
	return KS_EXIT_OK;
}

int cmd_replay(int argc, char **argv)
{
	struct ks_replay_result res;
	struct replay_args ra = {};
	int ret;

	ret = parse(argc, argv, "replay", &ra);
	if (ret)
		return ret < 0 ? KS_EXIT_OK : ret;
	ret = run(argc, argv, &ra, stdout, &res);
	if (ks_log_level >= KS_LOG_INFO)
		fprintf(stderr, "kload: replayed %llu events and %llu packets in %llu test runs: "
			"%llu forwarded, %llu alerts\n", (unsigned long long)res.events,
			(unsigned long long)res.packets, (unsigned long long)res.test_runs,
			(unsigned long long)res.forwarded, (unsigned long long)res.alerts);
	return ret;
}

/* Lines of a JSONL text, each re-dumped canonically (sorted keys). */
static char **canon_lines(const char *text, size_t len, size_t *n, const char *name)
{
	char **v = NULL;
	size_t cap = 0, line = 0;
	const char *p = text, *end = text + len;

	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t jerr;
		json_t *j;

		line++;
		if (l) {
			j = json_loadb(p, l, 0, &jerr);
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				v = realloc(v, cap * sizeof(*v));
			}
			if (j) {
				v[(*n)++] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
				json_decref(j);
			} else {
				fprintf(stderr, "%s:%zu: error: %s\n", name, line, jerr.text);
				v[(*n)++] = strndup(p, l);
			}
		}
		p += l + 1;
	}
	return v;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (*len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n);
	fclose(f);
	return buf;
}

int cmd_test(int argc, char **argv)
{
	struct ks_replay_result res;
	struct replay_args ra = {};
	char *got = NULL, *want;
	size_t got_len = 0, want_len, n_got, n_want, i, diffs = 0;
	char **g, **w;
	FILE *mem;
	int ret;

	ret = parse(argc, argv, "test", &ra);
	if (ret)
		return ret < 0 ? KS_EXIT_OK : ret;
	if (!ra.expect) {
		fprintf(stderr, "kload test: --expect FILE.jsonl is required\n");
		return KS_EXIT_USAGE;
	}
	want = slurp(ra.expect, &want_len);
	if (!want && errno) {
		fprintf(stderr, "%s: error: %s\n", ra.expect, strerror(errno));
		return KS_EXIT_USAGE;
	}
	mem = open_memstream(&got, &got_len);
	ret = run(argc, argv, &ra, mem, &res);
	fclose(mem);
	if (ret) {
		free(got);
		free(want);
		return ret;
	}
	g = canon_lines(got, got_len, &n_got, "<alerts>");
	w = canon_lines(want ?: "", want_len, &n_want, ra.expect);
	for (i = 0; i < n_got || i < n_want; i++) {
		const char *a = i < n_want ? w[i] : NULL, *b = i < n_got ? g[i] : NULL;

		if (a && b && !strcmp(a, b))
			continue;
		if (!diffs++)
			printf("--- expected (%s)\n+++ actual (replay)\n", ra.expect);
		printf("@@ alert %zu @@\n", i + 1);
		if (a)
			printf("-%s\n", a);
		if (b)
			printf("+%s\n", b);
	}
	if (diffs)
		printf("%zu of %zu expected alert(s) differ (%zu produced)\n", diffs, n_want, n_got);
	else
		printf("ok: %zu alert(s) as expected from %llu events\n", n_got,
		       (unsigned long long)res.events);
	for (i = 0; i < n_got; i++)
		free(g[i]);
	for (i = 0; i < n_want; i++)
		free(w[i]);
	free(g);
	free(w);
	free(got);
	free(want);
	return diffs ? KS_EXIT_FAIL : KS_EXIT_OK;
}
