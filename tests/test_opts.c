// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Command options from their tables (loader/opts.c): every value is
 * checked before a command sees it, numbers against their range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "loader/cfgfile.h"
#include "loader/cli.h"

struct args {
	const char *dir, *s;
	const char *multi[2];
	int n_multi;
	uint32_t u32;
	uint64_t u64;
	uint64_t bytes;
	int mode;
	bool flag;
};

/* A size check beyond the range: even sizes only. */
static int even(unsigned long long v, char *why, size_t len)
{
	if (!(v & 1))
		return 0;
	snprintf(why, len, "must be even");
	return -1;
}

static const struct ks_opt opts[] = {
	KS_OPT_PATH_(struct args, dir, "dir", "DIR", 8, "a path"),
	{ .name = "str", .short_opt = 's', .type = KS_OPT_STR, KS_OPT_AT(struct args, s),
	  .metavar = "S", .help = "a string\nover two lines" },
	{ .name = "multi", .type = KS_OPT_STR_MULTI, KS_OPT_AT(struct args, multi),
	  .count_off = offsetof(struct args, n_multi), .max = 2, .metavar = "M", .help = "m" },
	KS_OPT_UINT_(struct args, u32, "u32", "N", 1, 100, "small"),
	KS_OPT_UINT_(struct args, u64, "u64", "N", 0, UINT64_MAX, "any"),
	KS_OPT_SIZE_(struct args, bytes, "bytes", 2, 3ull << 30, even, "a size"),
	KS_OPT_ENUM_(struct args, mode, "mode", "MODE", &ks_mode_names, "a mode"),
	KS_OPT_FLAG_(struct args, flag, "flag", "a flag"),
	{ NULL },
};

static const struct ks_cmd cmd = { .name = "t", .args = "ARGS...", .opts = opts };

/* Parse a NULL-terminated argv after the command name. */
static int parse_v(const struct ks_cmd *c, struct args *a, const char *first, ...)
{
	char *argv[16] = { (char *)c->name };
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (; first && argc < 15; first = va_arg(ap, const char *))
		argv[argc++] = (char *)first;
	va_end(ap);
	memset(a, 0, sizeof(*a));
	return ks_opts_parse(c, argc, argv, a);
}

static void test_numbers(void **state)
{
	static const char *const bad[] = { "-1", "abc", "0", "101", "+5", " 5", "5x", "" };
	struct args a;
	size_t i;

	assert_int_equal(parse_v(&cmd, &a, "--u32", "42", "x", NULL), 3);
	assert_int_equal(a.u32, 42);
	assert_int_equal(parse_v(&cmd, &a, "--u64", "18446744073709551615", NULL), 3);
	assert_true(a.u64 == UINT64_MAX);
	assert_int_equal(parse_v(&cmd, &a, "--u64", "18446744073709551616", NULL), KS_OPTS_USAGE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_v(&cmd, &a, "--u32", bad[i], NULL) != KS_OPTS_USAGE)
			fail_msg("--u32 \"%s\" accepted", bad[i]);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *arg;
		unsigned long long v;	/* 0: refused */
	} rows[] = {
		{ "4096", 4096 }, { "64K", 64 << 10 }, { "64k", 64 << 10 }, { "8M", 8 << 20 },
		{ "3G", 3ull << 30 }, { "4G", 0 }, { "1", 0 }, { "3", 0 }, { "K", 0 },
		{ "-2", 0 }, { "2KB", 0 }, { "2T", 0 }, { "", 0 }, { "18014398509481984K", 0 },
	};
	struct args a;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = parse_v(&cmd, &a, "--bytes", rows[i].arg, NULL);

		if (rows[i].v && (r != 3 || a.bytes != rows[i].v))
			fail_msg("--bytes %s: %d, %llu", rows[i].arg, r,
				 (unsigned long long)a.bytes);
		if (!rows[i].v && r != KS_OPTS_USAGE)
			fail_msg("--bytes %s accepted", rows[i].arg);
	}
}

static void test_kinds(void **state)
{
	struct args a;

	assert_int_equal(parse_v(&cmd, &a, "--mode", "observe", "-s", "v", "--flag", NULL), 6);
	assert_int_equal(a.mode, KS_MODE_OBSERVE);
	assert_string_equal(a.s, "v");
	assert_true(a.flag);
	assert_int_equal(parse_v(&cmd, &a, "--mode", "auto", NULL), 3);
	assert_int_equal(a.mode, KS_MODE_PROBE);
	assert_int_equal(parse_v(&cmd, &a, "--mode", "lsmx", NULL), KS_OPTS_USAGE);
	assert_int_equal(parse_v(&cmd, &a, "--dir", "12345678", NULL), 3);
	assert_int_equal(parse_v(&cmd, &a, "--dir", "123456789", NULL), KS_OPTS_USAGE);
	assert_int_equal(parse_v(&cmd, &a, "--multi", "a", "--multi", "b", NULL), 5);
	assert_int_equal(a.n_multi, 2);
	assert_int_equal(parse_v(&cmd, &a, "--multi", "a", "--multi", "b", "--multi", "c", NULL),
			 KS_OPTS_USAGE);
	assert_int_equal(parse_v(&cmd, &a, "--nope", NULL), KS_OPTS_USAGE);
	assert_int_equal(parse_v(&cmd, &a, "--help", NULL), KS_OPTS_HELP);
}

/* The real commands: what issue 16 found looping or accepted. */
static void test_commands(void **state)
{
	char buf[sizeof(struct args) * 8];
	char *v1[] = { "attach", "--nfa-entries", "-1", "r.yml" };
	char *v2[] = { "attach", "--entities", "abc", "r.yml" };
	char *v3[] = { "attach", "--payload-depth", "100000", "r.yml" };
	char *v4[] = { "record", "--xdp", "lo" };	/* --events is required */
	char *v6[] = { "attach", "--ringbuf-size", "12288", "r.yml" };	/* not 2^n */
	char *v7[] = { "attach", "--ringbuf-size", "2G", "r.yml" };
	char *v8[] = { "attach", "--nfa-memory", "1K", "r.yml" };
	char *v9[] = { "attach", "--ringbuf-size", "64K", "--nfa-memory", "8M", "r.yml" };
	char *v10[] = { "attach", "--time-every", "24", "r.yml" };	/* not 2^n */
	char *v11[] = { "attach", "--time-every", "0", "r.yml" };
	char *v12[] = { "attach", "--time-every", "1024", "r.yml" };
	char *v5[] = { "status", "--pin-dir", "/sys/fs/bpf/" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };

	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v1, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v2, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v3, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_record, 3, v4, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_status, 3, v5, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v6, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v7, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v8, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 6, v9, memset(buf, 0, sizeof(buf))), 5);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v10, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v11, memset(buf, 0, sizeof(buf))),
			 KS_OPTS_USAGE);
	assert_int_equal(ks_opts_parse(&ks_cmd_attach, 4, v12, memset(buf, 0, sizeof(buf))), 3);
}

/* --help lists every option of the table, from the table. */
static void test_help(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ks_opts_help(&cmd, f);
	fclose(f);
	assert_non_null(strstr(text, "usage: kload t [OPTIONS] ARGS...\n"));
	assert_non_null(strstr(text, "  -s, --str S           a string\n"
				     "                        over two lines\n"));
	assert_non_null(strstr(text, "      --u32 N           small\n"));
	assert_non_null(strstr(text, "  -h, --help            this text\n"));
	free(text);
}

/* Write text to a temporary file; the path is static. */
static const char *cfg_file(const char *text)
{
	static char path[] = "/tmp/ks-test-cfg.XXXXXX";
	int fd;

	strcpy(path, "/tmp/ks-test-cfg.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int cfg_load(const char *text, struct args *a, struct ks_cfgfile *cf)
{
	const char *path = cfg_file(text);
	int ret;

	memset(a, 0, sizeof(*a));
	ret = ks_cfgfile_load(&cmd, &cmd, path, a, cf);
	unlink(path);
	return ret;
}

/* Keys are the option table's names, values checked as on the command line. */
static void test_config_file(void **state)
{
	struct ks_cfgfile cf;
	struct args a;

	assert_int_equal(cfg_load("dir: /a\nstr: x\nmulti: [m1, m2]\nu32: 7\nmode: observe\n"
				  "flag: yes\nrules: {paths: [r1, r2]}\n", &a, &cf), KS_EXIT_OK);
	assert_string_equal(a.dir, "/a");
	assert_string_equal(a.s, "x");
	assert_int_equal(a.n_multi, 2);
	assert_string_equal(a.multi[1], "m2");
	assert_int_equal(a.u32, 7);
	assert_int_equal(a.mode, KS_MODE_OBSERVE);
	assert_true(a.flag);
	assert_int_equal(cf.n_rule_paths, 2);
	assert_string_equal(cf.rule_paths[1], "r2");
	ks_cfgfile_free(&cf);

	/* the _ spelling, a scalar for a list, rules as a plain list */
	assert_int_equal(cfg_load("multi: one\nu64: 0\nrules: [r]\n", &a, &cf), KS_EXIT_OK);
	assert_int_equal(a.n_multi, 1);
	assert_int_equal(cf.n_rule_paths, 1);
	ks_cfgfile_free(&cf);

	/* errors: exit 2 (each prints FILE:LINE:COL: error: ...) */
	assert_int_equal(cfg_load("dir: /a\nunknown: 1\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("u32: 101\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("u32: -1\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("dir: /a-path-too-long\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("flag: maybe\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("multi: [a, b, c]\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("rules: {paths: [a], what: 1}\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("- a list\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("str: [\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(cfg_load("", &a, &cf), KS_EXIT_OK);	/* empty: nothing set */
	ks_cfgfile_free(&cf);
}

/* The command line overrides the file; a list given there replaces the file's. */
static void test_config_override(void **state)
{
	char *argv[] = { "t", "--u32", "9", "--multi", "cli", "pos", NULL };
	struct ks_cfgfile cf;
	struct args a;

	assert_int_equal(cfg_load("u32: 7\nstr: file\nmulti: [m1, m2]\n", &a, &cf), KS_EXIT_OK);
	assert_int_equal(ks_opts_parse(&cmd, 6, argv, &a), 5);
	assert_int_equal(a.u32, 9);
	assert_string_equal(a.s, "file");
	assert_int_equal(a.n_multi, 1);
	assert_string_equal(a.multi[0], "cli");
	ks_cfgfile_free(&cf);
	assert_string_equal(ks_cfgfile_path(6, argv, "/nonexistent/kestrel.yml") ?: "", "");
}

/* rules: {include_tags, exclude_ids, exceptions, ...}: the selection options, there only. */
struct sel_args {
	struct ks_cli_select sel;
};

static const struct ks_opt sel_opts[] = {
	KS_OPTS_SELECT(struct sel_args, sel),
	{ NULL },
};

static const struct ks_cmd sel_cmd = { .name = "s", .args = "RULES...", .opts = sel_opts };

static int sel_load(const char *text, struct sel_args *a, struct ks_cfgfile *cf)
{
	const char *path = cfg_file(text);
	int ret;

	memset(a, 0, sizeof(*a));
	ret = ks_cfgfile_load(&sel_cmd, &sel_cmd, path, a, cf);
	unlink(path);
	return ret;
}

static void test_config_selection(void **state)
{
	char *argv[] = { "s", "--exclude-id", "cli*", "r", NULL };
	struct ks_cfgfile cf;
	struct sel_args a;

	assert_int_equal(sel_load("rules:\n  paths: [r]\n  include_tags: [\"attack.*\", linux]\n"
				  "  exclude_ids: one\n  exclude_tags: [noisy]\n  include_ids: [a]\n"
				  "  exceptions: [/etc/x.yml]\n", &a, &cf), KS_EXIT_OK);
	assert_int_equal(a.sel.n[KS_SEL_INCLUDE_TAGS], 2);
	assert_string_equal(a.sel.pat[KS_SEL_INCLUDE_TAGS][0], "attack.*");
	assert_int_equal(a.sel.n[KS_SEL_EXCLUDE_IDS], 1);
	assert_string_equal(a.sel.pat[KS_SEL_EXCLUDE_IDS][0], "one");
	assert_string_equal(a.sel.pat[KS_SEL_EXCLUDE_TAGS][0], "noisy");
	assert_string_equal(a.sel.pat[KS_SEL_INCLUDE_IDS][0], "a");
	assert_int_equal(a.sel.n_exceptions, 1);
	assert_true(ks_cli_select_any(&a.sel));
	/* the command line's list replaces the file's */
	assert_int_equal(ks_opts_parse(&sel_cmd, 4, argv, &a), 3);
	assert_int_equal(a.sel.n[KS_SEL_EXCLUDE_IDS], 1);
	assert_string_equal(a.sel.pat[KS_SEL_EXCLUDE_IDS][0], "cli*");
	ks_cfgfile_free(&cf);
	/* under rules: only */
	assert_int_equal(sel_load("exclude_id: [x]\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(sel_load("rules: {exclude_idz: [x]}\n", &a, &cf), KS_EXIT_USAGE);
	ks_cfgfile_free(&cf);
	assert_int_equal(sel_load("rules: {}\n", &a, &cf), KS_EXIT_OK);
	assert_false(ks_cli_select_any(&a.sel));
	ks_cfgfile_free(&cf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_override),
		cmocka_unit_test(test_config_selection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
