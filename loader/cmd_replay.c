// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kload replay and kload test. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/replay.h"
#include "kestrel/sink.h"
#include "cli.h"

struct replay_args {
	const char *events, *pcap, *expect;
	const char *outputs[KS_MAX_OUTPUTS];
	int n_outputs;
	bool lenient;
	int mode;
	unsigned int threads;		/* 0: auto */
	struct ks_sinks *sinks;		/* --output: where the alerts go */
	struct ks_cli_select sel;
};

/* what is still queued for an output gets this long once replayed */
#define KS_REPLAY_DRAIN_MS	10000

#define REPLAY_OPTS(req)							\
	{ .name = "events", .type = KS_OPT_STR, KS_OPT_AT(struct replay_args, events), \
	  .metavar = "FILE.jsonl", .help = "Event JSONL (- for stdin)", .required = req }, \
	KS_OPT_STR_(struct replay_args, pcap, "pcap", "FILE.pcap",		\
		    "packets (pcap or pcapng), through the XDP program"),	\
	KS_OPT_FLAG_(struct replay_args, lenient, "lenient",			\
		     "malformed lines or a cut capture are reported\n"		\
		     "and skipped (exit 0)"),					\
	KS_OPT_ENUM_(struct replay_args, mode, "mode", "MODE", &ks_mode_names,	\
		     "enforcement outcome to simulate (default signal)"),	\
	KS_OPT_UINT_(struct replay_args, threads, "threads", "N", 1, 2,		\
		     "1: decode and run the events in turn; 2: the test\n"	\
		     "runs on a second thread while it is faster\n"		\
		     "(default: 2 if 2 CPUs)"),					\
	KS_OPTS_SELECT(struct replay_args, sel)

static const struct ks_opt replay_opts[] = {
	REPLAY_OPTS(false),
	{ .name = "output", .type = KS_OPT_STR_MULTI, KS_OPT_AT(struct replay_args, outputs),
	  .count_off = offsetof(struct replay_args, n_outputs), .max = KS_MAX_OUTPUTS,
	  .metavar = "URI", .help = "send the alerts there instead of stdout\n"
	  "(repeatable; the URIs of `kload attach --output`)" },
	{ NULL },
};

static const struct ks_opt test_opts[] = {
	REPLAY_OPTS(true),
	{ .name = "expect", .type = KS_OPT_STR, KS_OPT_AT(struct replay_args, expect),
	  .metavar = "FILE.jsonl", .help = "the alerts expected, Alert JSONL", .required = true },
	{ NULL },
};

/*
 * This file's rows of kload's command table (opts.h, struct ks_cmd): the
 * same shape in every cmd_*.c by design, deliberate twins that duplicates
 * pairs (cmd_attach.c, cmd_admin.c, cmd_compile.c, cmd_reload.c,
 * cmd_replay.c).
 */
static int cmd_replay(int argc, char **argv);
static int cmd_test(int argc, char **argv);

const struct ks_cmd ks_cmd_replay = {
	.name = "replay", .run = cmd_replay, .summary = "evaluate recorded events offline",
	.args = "RULES...|FILE.kbin",
	.about = "Feed recorded events through the same BPF programs and tables\n"
		 "(BPF_PROG_TEST_RUN) and the same userspace NFA; alerts go to stdout.\n"
		 "Deterministic: the same input gives byte-identical alerts. Give\n"
		 "--events and/or --pcap.\n",
	.opts = replay_opts,
	.footer = "Exit: 0 replayed, 1 malformed input (unless --lenient), an alert lost\n"
		  "(a write error) or a runtime failure, 2 invalid rules, usage or an\n"
		  "input file that cannot be read, 3 environment cannot run it.\n",
};

const struct ks_cmd ks_cmd_test = {
	.name = "test", .run = cmd_test, .summary = "rule unit test: replay and compare",
	.args = "RULES...",
	.about = "Replay the events and compare the alerts with the expected ones.\n",
	.opts = test_opts,
	.footer = "Exit: 0 on a match, 1 with a readable diff.\n",
};

/* An input file that cannot be read is a usage error (exit 2). */
static int check_input(const char *path)
{
	struct stat st;

	if (!path || !strcmp(path, "-"))
		return 0;
	if (stat(path, &st) || access(path, R_OK)) {
		fprintf(stderr, "%s: error: %s\n", path, strerror(errno));
		return KS_EXIT_USAGE;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: error: is a directory; give a file\n", path);
		return KS_EXIT_USAGE;
	}
	return 0;
}

static int parse(const struct ks_cmd *c, int argc, char **argv, struct replay_args *ra)
{
	int first;

	ra->mode = KS_MODE_PROBE;
	first = ks_opts_parse(c, argc, argv, ra);
	if (first < 0)
		return first;
	if (!ra->events && !ra->pcap) {
		fprintf(stderr, "kload %s: give --events FILE.jsonl and/or --pcap FILE.pcap\n",
			c->name);
		return KS_OPTS_USAGE;
	}
	if (check_input(ra->events) || check_input(ra->pcap))
		return KS_OPTS_USAGE;
	return first;
}

/* Input problems: exit 1 unless --lenient; the summary says what was skipped. */
static int input_verdict(const struct replay_args *ra, const struct ks_replay_result *res)
{
	if (res->skipped)
		fprintf(stderr, "kload: %lu malformed line(s) skipped\n", res->skipped);
	if (res->pcap_error)
		fprintf(stderr, "kload: %s is cut or malformed: the packets after the error "
			"were not replayed\n", ra->pcap);
	return (res->skipped || res->pcap_error) && !ra->lenient ? KS_EXIT_FAIL : KS_EXIT_OK;
}

/* Every alert lost (a failed write, a full queue, ...) is an error of the run. */
static int lost_verdict(struct ks_output *out)
{
	struct ks_output_stats st;
	unsigned long long n = 0;
	int err = ks_output_flush(out), r;

	ks_output_stats(out, &st);
	for (r = 0; r < KS_LOST_N; r++)
		n += st.lost[r];
	if (!n)
		return KS_EXIT_OK;
	fprintf(stderr, "kload: %llu alert(s) lost:", n);
	for (r = 0; r < KS_LOST_N; r++)
		if (st.lost[r])
			fprintf(stderr, " %llu %s%s%s%s", (unsigned long long)st.lost[r],
				ks_lost_reason_name(r), r == KS_LOST_WRITE ? " (" : "",
				r == KS_LOST_WRITE ? strerror(st.last_err ?: (err ? -err : EIO)) : "",
				r == KS_LOST_WRITE ? ")" : "");
	fputc('\n', stderr);
	return KS_EXIT_FAIL;
}

static int run(int argc, char **argv, int first, const struct replay_args *ra,
	       struct ks_output *out, struct ks_replay_result *res)
{
	struct ks_compile_info info = {};
	struct ks_replay_opts o = {
		.events = ra->events, .pcap = ra->pcap, .mode = ra->mode,
		.alerts = out, .errout = stderr, .threads = (int)ra->threads,
	};
	struct ks_ruleset *rs;
	struct ks_tables *t;
	int ret, err, lost;

	memset(res, 0, sizeof(*res));
	ret = ks_cli_load_rules(argc - first, argv + first, &ra->sel, &rs, &t, &info);
	ks_compile_info_free(&info);
	if (ret)
		return ret;
	ret = ks_cli_env(NULL);
	if (ret) {
		ks_ruleset_free(rs);
		free(t);
		return ret;
	}
	err = ks_replay_run(rs, t, &o, res);
	if (ra->sinks) {
		ks_sinks_stop(ra->sinks, KS_REPLAY_DRAIN_MS);
		ks_sinks_summary(ra->sinks, stderr);
	}
	lost = lost_verdict(out);
	if (err)
		return err == -EPERM || err == -EOPNOTSUPP ? KS_EXIT_ENV : KS_EXIT_FAIL;
	ret = input_verdict(ra, res);
	return ret ?: lost;
}

/* Values a regex gave up on were read as matches (interp.c): say so. */
static void undecided_note(void)
{
	if (ks_regex_undecided())
		fprintf(stderr, "kload: warning: %llu value(s) a regex gave up on (PCRE2's "
			"match limit) were read as matches\n",
			(unsigned long long)ks_regex_undecided());
}

static int cmd_replay(int argc, char **argv)
{
	struct ks_replay_result res;
	struct replay_args ra = {};
	struct ks_output *out;
	int first, ret;

	first = parse(&ks_cmd_replay, argc, argv, &ra);
	if (first < 0)
		return ks_opts_exit(first);
	if (ra.n_outputs) {
		ret = ks_cli_outputs(NULL, ra.outputs, ra.n_outputs, &ra.sinks);
		if (ret)
			return ret;
		out = ks_sinks_output(ra.sinks);
	} else {
		out = ks_output_fd(STDOUT_FILENO, "stdout", false);
		if (!out)
			return KS_EXIT_FAIL;
	}
	ret = run(argc, argv, first, &ra, out, &res);
	if (ra.sinks)
		ks_sinks_free(ra.sinks);	/* out is the set's */
	else
		ks_output_close(out);
	undecided_note();
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
	char **v = NULL, **nv;
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
				nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					break;
				v = nv;
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
	char *buf = NULL, *nb;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (*len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n);
	fclose(f);
	return buf;
}

static void free_lines(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A readable diff of expected and produced alerts; the count of differences. */
static size_t diff_alerts(const char *expect, const char *want, size_t want_len,
			  const char *got, size_t got_len, uint64_t events)
{
	size_t n_got, n_want, i, diffs = 0;
	char **g = canon_lines(got, got_len, &n_got, "<alerts>");
	char **w = canon_lines(want, want_len, &n_want, expect);

	for (i = 0; i < n_got || i < n_want; i++) {
		const char *a = i < n_want ? w[i] : NULL, *b = i < n_got ? g[i] : NULL;

		if (a && b && !strcmp(a, b))
			continue;
		if (!diffs++)
			printf("--- expected (%s)\n+++ actual (replay)\n", expect);
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
		       (unsigned long long)events);
	free_lines(g, n_got);
	free_lines(w, n_want);
	return diffs;
}

static int cmd_test(int argc, char **argv)
{
	struct ks_replay_result res;
	struct replay_args ra = {};
	struct ks_output *mem;
	const char *got;
	size_t got_len, want_len;
	char *want;
	int first, ret;

	first = parse(&ks_cmd_test, argc, argv, &ra);
	if (first < 0)
		return ks_opts_exit(first);
	if (check_input(ra.expect))
		return KS_EXIT_USAGE;
	want = slurp(ra.expect, &want_len);
	mem = ks_output_memory();
	if (!mem) {
		free(want);
		return KS_EXIT_FAIL;
	}
	ret = run(argc, argv, first, &ra, mem, &res);
	undecided_note();
	if (!ret) {
		got = ks_output_text(mem, &got_len);
		ret = diff_alerts(ra.expect, want ?: "", want ? want_len : 0, got, got_len,
				  res.events) ? KS_EXIT_FAIL : KS_EXIT_OK;
	}
	ks_output_close(mem);
	free(want);
	return ret;
}
