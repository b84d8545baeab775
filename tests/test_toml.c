// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The TOML reader (rules-compiler/toml.c): each construct of TOML 1.0 read
 * into the expected tree, each error at its FILE:LINE:COL, the size and
 * depth bounds, time linear in the input, and every file of the Elastic
 * Linux EQL corpus (../shared/corpus/elastic-linux-eql, or
 * KS_ELASTIC_CORPUS) read with its [rule] table.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <kestrel/toml.h>

#include "testlib.h"

static struct ks_diags diags;

static struct ks_toml *parse_ok(const char *text)
{
	struct ks_toml *t = ks_toml_parse(text, strlen(text), "t.toml", &diags);
	char *d = ks_test_diag_text(&diags);

	if (!t || diags.n)
		fail_msg("unexpected diagnostics:\n%s\nfor:\n%s", d, text);
	free(d);
	return t;
}

/* Expect exactly one error (and the notes) `want` for text. */
static void parse_err_n(const char *text, size_t len, const char *want)
{
	struct ks_toml *t;
	char *d;

	ks_diags_free(&diags);
	t = ks_toml_parse(text, len, "t.toml", &diags);
	d = ks_test_diag_text(&diags);
	if (t || strcmp(d, want))
		fail_msg("for: %s\n got: %s\nwant: %s", text, d, want);
	assert_int_equal(ks_diags_errors(&diags), 1);
	free(d);
	ks_diags_free(&diags);
}

static void parse_err(const char *text, const char *want)
{
	parse_err_n(text, strlen(text), want);
}

/* The value at a dotted path of plain keys ("a.b.c"). */
static const struct ks_toml *at(const struct ks_toml *t, const char *path)
{
	char *copy = strdup(path), *part, *save = NULL;

	for (part = strtok_r(copy, ".", &save); part && t;
	     part = strtok_r(NULL, ".", &save))
		t = ks_toml_get(t, part);
	free(copy);
	if (!t)
		fail_msg("no value at %s", path);
	return t;
}

static void str_is(const struct ks_toml *t, const char *path, const char *want)
{
	const struct ks_toml *v = at(t, path);

	assert_int_equal(v->type, KS_TOML_STRING);
	assert_int_equal(v->len, strlen(want));
	assert_memory_equal(v->str, want, v->len + 1);
}

static void int_is(const struct ks_toml *t, const char *path, int64_t want)
{
	const struct ks_toml *v = at(t, path);

	assert_int_equal(v->type, KS_TOML_INT);
	assert_true(v->i == want);
}

/* ---- valid documents ---- */

static void test_strings(void **state)
{
	struct ks_toml *t = parse_ok(
		"basic = \"I'm \\\"q\\\" \\\\ \\b\\t\\n\\f\\r \\u00E9 \\U0001F600\"\n"
		"literal = 'C:\\Users\\n \"x\"'\n"
		"empty = \"\"\n"
		"ml = \"\"\"\nRoses\nViolets\"\"\"\n"
		"ml_cont = \"\"\"\\\n   The quick \\\n\n   fox.\\\n   \"\"\"\n"
		"ml_quotes = \"\"\"a \"\" b \"\"\"\"\"\n"
		"ml_lit = '''\nfirst newline trimmed\n  kept \\n '' '''\n"
		"ml_lit_end = ''''x'''''\n"
		"crlf = \"\"\"a\r\nb\"\"\"\r\n"
		"nul = \"a\\u0000b\"\n");

	str_is(t, "basic", "I'm \"q\" \\ \b\t\n\f\r \xc3\xa9 \xf0\x9f\x98\x80");
	str_is(t, "literal", "C:\\Users\\n \"x\"");
	str_is(t, "empty", "");
	str_is(t, "ml", "Roses\nViolets");
	str_is(t, "ml_cont", "The quick fox.");
	str_is(t, "ml_quotes", "a \"\" b \"\"");
	str_is(t, "ml_lit", "first newline trimmed\n  kept \\n '' ");
	str_is(t, "ml_lit_end", "'x''");
	str_is(t, "crlf", "a\nb");
	assert_int_equal(at(t, "nul")->len, 3);
	assert_memory_equal(at(t, "nul")->str, "a\0b", 4);
	ks_toml_free(t);
}

static void test_numbers(void **state)
{
	struct ks_toml *t = parse_ok(
		"a = +99\nb = -17\nc = 0\nd = 1_000_000\n"
		"e = 0xDEAD_beef\nf = 0o755\ng = 0b1101\n"
		"max = 9223372036854775807\nmin = -9223372036854775808\n"
		"hmax = 0x7fffffffffffffff\n"
		"f1 = 3.1415\nf2 = -0.01\nf3 = 5e+22\nf4 = 1e06\nf5 = -2E-22\n"
		"f6 = 224_617.445_991\nf7 = 0.0\nf8 = -0e0\n"
		"i1 = inf\ni2 = -inf\nn1 = nan\nn2 = +nan\n"
		"t = true\nff = false\n");

	int_is(t, "a", 99);
	int_is(t, "b", -17);
	int_is(t, "c", 0);
	int_is(t, "d", 1000000);
	int_is(t, "e", 0xdeadbeef);
	int_is(t, "f", 0755);
	int_is(t, "g", 13);
	int_is(t, "max", INT64_MAX);
	int_is(t, "min", INT64_MIN);
	int_is(t, "hmax", INT64_MAX);
	assert_int_equal(at(t, "f1")->type, KS_TOML_FLOAT);
	assert_true(at(t, "f1")->f == 3.1415);
	assert_true(at(t, "f2")->f == -0.01);
	assert_true(at(t, "f3")->f == 5e22);
	assert_true(at(t, "f4")->f == 1e6);
	assert_true(at(t, "f5")->f == -2e-22);
	assert_true(at(t, "f6")->f == 224617.445991);
	assert_true(at(t, "f7")->f == 0.0);
	assert_true(at(t, "f8")->f == 0.0 && signbit(at(t, "f8")->f));
	assert_true(isinf(at(t, "i1")->f) && at(t, "i1")->f > 0);
	assert_true(isinf(at(t, "i2")->f) && at(t, "i2")->f < 0);
	assert_true(isnan(at(t, "n1")->f) && isnan(at(t, "n2")->f));
	assert_int_equal(at(t, "t")->type, KS_TOML_BOOL);
	assert_true(at(t, "t")->b);
	assert_false(at(t, "ff")->b);
	ks_toml_free(t);
}

static void test_datetimes(void **state)
{
	static const struct {
		const char *text;
		enum ks_toml_dt dt;
	} cases[] = {
		{ "1979-05-27T07:32:00Z", KS_TOML_DT_OFFSET },
		{ "1979-05-27T00:32:00.999999-07:00", KS_TOML_DT_OFFSET },
		{ "1979-05-27 07:32:00z", KS_TOML_DT_OFFSET },
		{ "1979-05-27t07:32:00", KS_TOML_DT_LOCAL },
		{ "1979-05-27 00:32:00.5", KS_TOML_DT_LOCAL },
		{ "2024-02-29", KS_TOML_DT_DATE },
		{ "07:32:00", KS_TOML_DT_TIME },
		{ "23:59:60.25", KS_TOML_DT_TIME },
	};
	const struct ks_toml *v;
	struct ks_toml *t;
	char *doc;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(asprintf(&doc, "d = %s # c\n", cases[i].text) > 0);
		t = parse_ok(doc);
		v = at(t, "d");
		assert_int_equal(v->type, KS_TOML_DATETIME);
		assert_int_equal(v->dt, cases[i].dt);
		assert_string_equal(v->str, cases[i].text);
		ks_toml_free(t);
		free(doc);
	}
}

static void test_arrays(void **state)
{
	struct ks_toml *t = parse_ok(
		"empty = []\n"
		"ints = [ 1, 2, 3 ]\n"
		"nested = [ [ 1, 2 ], [\"a\", 'b', [ ] ] ]\n"
		"mixed = [ 1, \"x\", 2.5, true, 1979-05-27, { k = 1 } ]\n"
		"multi = [  # comment\n"
		"  \"Domain: Endpoint\",\n"
		"\n"
		"  # another\n"
		"  \"OS: Linux\",   \n"
		"]\n");
	const struct ks_toml *v;

	assert_int_equal(at(t, "empty")->type, KS_TOML_ARRAY);
	assert_int_equal(at(t, "empty")->n, 0);
	v = at(t, "ints");
	assert_int_equal(v->n, 3);
	assert_int_equal(v->v[2]->i, 3);
	v = at(t, "nested");
	assert_int_equal(v->n, 2);
	assert_int_equal(v->v[1]->n, 3);
	assert_int_equal(v->v[1]->v[2]->type, KS_TOML_ARRAY);
	assert_string_equal(v->v[1]->v[1]->str, "b");
	v = at(t, "mixed");
	assert_int_equal(v->n, 6);
	assert_int_equal(v->v[4]->type, KS_TOML_DATETIME);
	assert_int_equal(ks_toml_get(v->v[5], "k")->i, 1);
	v = at(t, "multi");
	assert_int_equal(v->n, 2);
	assert_string_equal(v->v[1]->str, "OS: Linux");
	assert_int_equal(v->v[1]->loc.line, 9);
	assert_int_equal(v->v[1]->loc.col, 3);
	ks_toml_free(t);
}

static void test_tables(void **state)
{
	struct ks_toml *t = parse_ok(
		"\xef\xbb\xbf" "top = 1\n"
		"fruit.apple.color = \"red\"\n"
		"fruit . apple . \"taste\" = 'sweet'\n"
		"[fruit.apple.texture]\n"
		"smooth = true\n"
		"[ x.y.z ]\n"
		"w = 1\n"
		"[x]   # a super-table after its child\n"
		"v = 2\n"
		"[\"quoted key\".'lit']\n"
		"\"\" = 'empty key'\n"
		"[inline]\n"
		"point = { x = 1, y.z = 2 }\n"
		"none = {}\n");
	const struct ks_toml *v;

	int_is(t, "top", 1);
	assert_int_equal(at(t, "top")->key_loc.col, 1);
	str_is(t, "fruit.apple.color", "red");
	str_is(t, "fruit.apple.taste", "sweet");
	assert_true(at(t, "fruit.apple.texture.smooth")->b);
	int_is(t, "x.y.z.w", 1);
	int_is(t, "x.v", 2);
	v = ks_toml_get(ks_toml_get(t, "quoted key"), "lit");
	assert_non_null(v);
	assert_string_equal(ks_toml_get(v, "")->str, "empty key");
	int_is(t, "inline.point.x", 1);
	int_is(t, "inline.point.y.z", 2);
	assert_int_equal(at(t, "inline.none")->n, 0);
	/* keys keep their order of definition */
	assert_string_equal(t->v[0]->key, "top");
	assert_string_equal(t->v[1]->key, "fruit");
	assert_string_equal(t->v[2]->key, "x");
	/* a table is where its header is */
	assert_int_equal(at(t, "x")->loc.line, 8);
	ks_toml_free(t);
}

/* The shape of an Elastic rule: [[rule.threat]] with a technique array of
 * tables and a tactic table under each element. */
static void test_array_of_tables(void **state)
{
	struct ks_toml *t = parse_ok(
		"[rule]\nname = \"r\"\n"
		"[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n"
		"[[rule.threat.technique]]\nid = \"T1095\"\n"
		"[[rule.threat.technique.subtechnique]]\nid = \"T1095.001\"\n"
		"[rule.threat.tactic]\nid = \"TA0011\"\n"
		"[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n"
		"[rule.threat.tactic]\nid = \"TA0005\"\n");
	const struct ks_toml *th = at(t, "rule.threat");

	assert_int_equal(th->type, KS_TOML_ARRAY);
	assert_int_equal(th->n, 2);
	str_is(th->v[0], "tactic.id", "TA0011");
	str_is(th->v[1], "tactic.id", "TA0005");
	assert_int_equal(at(th->v[0], "technique")->n, 1);
	str_is(at(th->v[0], "technique")->v[0], "id", "T1095");
	str_is(at(at(th->v[0], "technique")->v[0], "subtechnique")->v[0], "id",
	       "T1095.001");
	assert_null(ks_toml_get(th->v[1], "technique"));
	assert_int_equal(th->v[1]->loc.line, 11);
	ks_toml_free(t);
}

/* Diagnostics inside a string value map back to the file. */
static void test_string_positions(void **state)
{
	struct ks_toml *t = parse_ok(
		"q = '''\nprocess where\n  x == 1'''\n"
		"e = \"ab\\tcd\\u00e9f\"\n"
		"m = \"\"\"a\\\n    b\n  c\"\"\"\n");
	const struct ks_toml *q = at(t, "q"), *e = at(t, "e"), *m = at(t, "m");
	struct ks_loc l;

	l = ks_toml_str_loc(q, 0);	/* 'p' of process */
	assert_int_equal(l.line, 2);
	assert_int_equal(l.col, 1);
	l = ks_toml_str_loc(q, strlen("process where\n  "));	/* 'x' */
	assert_int_equal(l.line, 3);
	assert_int_equal(l.col, 3);
	l = ks_toml_str_loc(e, 2);	/* the tab: at its backslash */
	assert_int_equal(l.line, 4);
	assert_int_equal(l.col, 8);
	l = ks_toml_str_loc(e, 3);	/* 'c' */
	assert_int_equal(l.col, 10);
	l = ks_toml_str_loc(e, 7);	/* 'f', after a 2-byte \u escape */
	assert_int_equal(l.col, 18);
	l = ks_toml_str_loc(m, 1);	/* 'b' after a line continuation */
	assert_int_equal(l.line, 6);
	assert_int_equal(l.col, 5);
	l = ks_toml_str_loc(m, 5);	/* 'c' of "ab\n  c" */
	assert_int_equal(l.line, 7);
	assert_int_equal(l.col, 3);
	ks_toml_free(t);
}

/* ---- errors: the first one, at its position ---- */

static void test_errors_syntax(void **state)
{
	parse_err("a = 1\nb = ", "t.toml:2:5: error: expected a value, found end of file");
	parse_err("a = 1 b = 2\n", "t.toml:1:7: error: expected a newline after a value, found 'b'");
	parse_err("= 1\n", "t.toml:1:1: error: expected a key, found '='");
	parse_err("a 1\n", "t.toml:1:3: error: expected '=' after a key, found '1'");
	parse_err("a.\"\"\"x\"\"\" = 1\n", "t.toml:1:3: error: a key cannot be a multi-line string");
	parse_err("[a\nb = 1\n", "t.toml:1:3: error: expected ']' to close the header, found end of line");
	parse_err("[[a]\n", "t.toml:1:5: error: expected ']]' to close the header, found end of line");
	parse_err("[]\n", "t.toml:1:2: error: expected a key, found ']'");
	parse_err("[a] x\n", "t.toml:1:5: error: expected a newline after a table header, found 'x'");
	parse_err("a = [1 2]\n", "t.toml:1:8: error: expected ',' or ']' in an array, found '2'");
	parse_err("a = [1,,2]\n", "t.toml:1:8: error: expected a value, found ','");
	parse_err("a = [\n1,\n", "t.toml:3:1: error: expected a value, found end of file");
	parse_err("a = { b = 1\n}\n", "t.toml:1:12: error: an inline table must be on one line");
	parse_err("a = { b = 1, }\n", "t.toml:1:14: error: no trailing comma allowed in an inline table");
	parse_err("a = { b = 1 c = 2 }\n", "t.toml:1:13: error: expected ',' or '}' in an inline table, found 'c'");
	parse_err("a = 1\rb = 2\n", "t.toml:1:6: error: carriage return not followed by a line feed");
	parse_err("# bad \x01 comment\n", "t.toml:1:7: error: control character U+0001 in a comment");
	parse_err("a = 1\n\n  x = \xff\n", "t.toml:3:7: error: invalid UTF-8 (byte 0xff)");
	parse_err("a = \"\xed\xa0\x80\"\n", "t.toml:1:6: error: invalid UTF-8 (byte 0xed)");
	parse_err_n("a = \"x\0\"\n", 9, "t.toml:1:7: error: control character U+0000 in a string");
}

static void test_errors_strings(void **state)
{
	parse_err("a = \"abc\n", "t.toml:1:5: error: unterminated string");
	parse_err("a = 'abc", "t.toml:1:5: error: unterminated string");
	parse_err("a = \"\"\"abc\n\n", "t.toml:1:5: error: unterminated multi-line string");
	parse_err("a = '''x\n", "t.toml:1:5: error: unterminated multi-line string");
	parse_err("a = \"a\\qb\"\n", "t.toml:1:7: error: invalid escape \\'q' in a string");
	parse_err("a = \"a\\ b\"\n", "t.toml:1:7: error: invalid escape \\<space> in a string");
	parse_err("a = \"\\u12\"\n", "t.toml:1:6: error: \\u needs 4 hex digits");
	parse_err("a = \"\\uD800\"\n", "t.toml:1:6: error: \\uD800 is not a Unicode scalar value");
	parse_err("a = \"\\U00110000\"\n", "t.toml:1:6: error: \\U00110000 is not a Unicode scalar value");
	parse_err("a = \"tab\tok but \x7f not\"\n", "t.toml:1:17: error: control character U+007F in a string");
	parse_err("a = '''x\x01'''\n", "t.toml:1:9: error: control character U+0001 in a string");
	parse_err("a = \"\"\"x\"\"\"\"\"\"\n",
		  "t.toml:1:9: error: 6 quotes in a row: at most two may precede the closing \"\"\"");
	parse_err("a = \"\"\"x\r y\"\"\"\n", "t.toml:1:9: error: carriage return not followed by a line feed");
}

static void test_errors_values(void **state)
{
	parse_err("a = 01\n", "t.toml:1:5: error: leading zeros are not allowed in \"01\"");
	parse_err("a = 1__0\n", "t.toml:1:5: error: invalid value \"1__0\"");
	parse_err("a = _1\n", "t.toml:1:5: error: invalid value \"_1\"");
	parse_err("a = 1_\n", "t.toml:1:5: error: invalid value \"1_\"");
	parse_err("a = 1.\n", "t.toml:1:5: error: invalid value \"1.\"");
	parse_err("a = .5\n", "t.toml:1:5: error: invalid value \".5\"");
	parse_err("a = 1e\n", "t.toml:1:5: error: invalid value \"1e\"");
	parse_err("a = +0x10\n", "t.toml:1:5: error: a sign is not allowed before 0x");
	parse_err("a = 0xg\n", "t.toml:1:5: error: invalid base-16 integer \"0xg\"");
	parse_err("a = 0b102\n", "t.toml:1:5: error: invalid base-2 integer \"0b102\"");
	parse_err("a = 9223372036854775808\n",
		  "t.toml:1:5: error: integer \"9223372036854775808\" does not fit in 64 bits");
	parse_err("a = -9223372036854775809\n",
		  "t.toml:1:5: error: integer \"-9223372036854775809\" does not fit in 64 bits");
	parse_err("a = 0x8000000000000000\n",
		  "t.toml:1:5: error: integer \"0x8000000000000000\" does not fit in 64 bits");
	parse_err("a = True\n", "t.toml:1:5: error: invalid value \"True\"");
	parse_err("a = infinity\n", "t.toml:1:5: error: invalid value \"infinity\"");
	parse_err("a = 2023-02-29\n", "t.toml:1:5: error: invalid date-time \"2023-02-29\" "
		  "(expected 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00)");
	parse_err("a = 1979-13-01\n", "t.toml:1:5: error: invalid date-time \"1979-13-01\" "
		  "(expected 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00)");
	parse_err("a = 24:00:00\n", "t.toml:1:5: error: invalid date-time \"24:00:00\" "
		  "(expected 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00)");
	parse_err("a = 1979-05-27T07:32\n", "t.toml:1:5: error: invalid date-time \"1979-05-27T07:32\" "
		  "(expected 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00)");
	parse_err("a = 1979-05-27T07:32:00+25:00\n",
		  "t.toml:1:5: error: invalid date-time \"1979-05-27T07:32:00+25:00\" "
		  "(expected 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00)");
	parse_err("a = 07:32:00.\n", "t.toml:1:5: error: invalid date-time \"07:32:00.\" "
		  "(expected 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00)");
}

static void test_errors_definitions(void **state)
{
	parse_err("a = 1\na = 2\n",
		  "t.toml:2:1: error: cannot redefine \"a\": it is already integer\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("[a]\n[a]\n",
		  "t.toml:2:2: error: cannot define table \"a\": it is already a table with its own [header]\n"
		  "t.toml:1:2: note: \"a\" first defined here");
	parse_err("a.b = 1\n[a]\n",
		  "t.toml:2:2: error: cannot define table \"a\": it is already a table (by dotted keys)\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("[a]\nb.c = 1\n[a.b]\n",
		  "t.toml:3:4: error: cannot define table \"a.b\": it is already a table (by dotted keys)\n"
		  "t.toml:2:1: note: \"a.b\" first defined here");
	parse_err("[a.b]\n[a]\nb.c = 1\n",
		  "t.toml:3:1: error: cannot add keys to \"b\": it is already a table with its own [header]\n"
		  "t.toml:1:4: note: \"b\" first defined here");
	parse_err("a = 1\na.b = 2\n",
		  "t.toml:2:1: error: cannot add keys to \"a\": it is already integer\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("a = {b = 1}\n[a]\n",
		  "t.toml:2:2: error: cannot define table \"a\": it is already an inline table\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("a = {b = 1}\n[a.c]\n",
		  "t.toml:2:2: error: cannot define a table under \"a\": it is already an inline table\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("a = {b = 1}\na.c = 2\n",
		  "t.toml:2:1: error: cannot add keys to \"a\": it is already an inline table\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("a = {b = 1, b = 2}\n",
		  "t.toml:1:13: error: cannot redefine \"b\": it is already integer\n"
		  "t.toml:1:6: note: \"b\" first defined here");
	parse_err("a = [1]\n[[a]]\n",
		  "t.toml:2:3: error: cannot append a table to \"a\": it is already an array\n"
		  "t.toml:1:1: note: \"a\" first defined here");
	parse_err("[[a]]\n[a]\n",
		  "t.toml:2:2: error: cannot define table \"a\": it is already an array of tables\n"
		  "t.toml:1:3: note: \"a\" first defined here");
	parse_err("[a]\n[[a]]\n",
		  "t.toml:2:3: error: cannot append a table to \"a\": it is already a table with its own [header]\n"
		  "t.toml:1:2: note: \"a\" first defined here");
	parse_err("[a]\nb = 1\n[a.b.c]\n",
		  "t.toml:3:4: error: cannot define a table under \"a.b\": it is already integer\n"
		  "t.toml:2:1: note: \"a.b\" first defined here");
}

/* ---- bounds ---- */

static void test_limits(void **state)
{
	char *doc = malloc(4096);
	struct ks_toml *t;
	size_t i, n;

	/* 32 levels below the root read; 33 do not */
	n = sprintf(doc, "a = ");
	for (i = 0; i < 32; i++)
		doc[n++] = '[';
	for (i = 0; i < 32; i++)
		doc[n++] = ']';
	strcpy(doc + n, "\n");
	t = parse_ok(doc);
	ks_toml_free(t);
	n = sprintf(doc, "a = ");
	for (i = 0; i < 33; i++)
		doc[n++] = '[';
	strcpy(doc + n, "]\n");
	parse_err(doc, "t.toml:1:37: error: tables and arrays nested deeper than 32 levels");
	n = sprintf(doc, "[a]\n");
	for (i = 0; i < 32; i++)
		n += sprintf(doc + n, "%sk", i ? "." : "");
	strcpy(doc + n, " = 1\n");
	parse_err(doc, "t.toml:2:67: error: tables and arrays nested deeper than 32 levels");
	n = 0;
	for (i = 0; i < 33; i++)
		n += sprintf(doc + n, "%sk", i ? "." : "");
	strcpy(doc + n, " = 1\n");
	parse_err(doc, "t.toml:1:65: error: key with more than 32 dotted parts");
	free(doc);
	/* the size is checked before a byte is read */
	parse_err_n("", (size_t)KS_TOML_MAX_SIZE + 1,
		    "t.toml:1:1: error: file larger than 16777216 bytes");
}

static double cpu_seconds(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/* Time linear in the input: 200000 keys in one table, 100000 headers and
 * 20000-element arrays read in well under the quadratic cost (a linear
 * scan per key would be 2 * 10^10 comparisons). */
static void test_linear(void **state)
{
	size_t n = 0, cap = 16 << 20, i;
	char *doc = malloc(cap);
	struct ks_toml *t;
	double t0;

	for (i = 0; i < 200000; i++)
		n += sprintf(doc + n, "key%zu = %zu\n", i, i);
	n += sprintf(doc + n, "arr = [");
	for (i = 0; i < 20000; i++)
		n += sprintf(doc + n, "%zu, ", i);
	n += sprintf(doc + n, "]\n");
	for (i = 0; i < 100000; i++)
		n += sprintf(doc + n, "[t.s%zu]\nv = 'x'\n[[aot]]\n", i);
	t0 = cpu_seconds();
	t = ks_toml_parse(doc, n, "big.toml", &diags);
	assert_non_null(t);
	print_message("%zu bytes read in %.3f s of CPU\n", n, cpu_seconds() - t0);
	assert_true(cpu_seconds() - t0 < 5.0);
	int_is(t, "key199999", 199999);
	str_is(t, "t.s99999.v", "x");
	assert_int_equal(at(t, "aot")->n, 100000);
	assert_int_equal(at(t, "arr")->n, 20000);
	ks_toml_free(t);
	free(doc);
}

/* ---- the Elastic corpus ---- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	if (!f)
		fail_msg("cannot open %s", path);
	*len = 0;
	do {
		if (*len + 4096 > cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n);
	fclose(f);
	return buf;
}

static void check_rule(const char *path, const struct ks_toml *t)
{
	const struct ks_toml *r = ks_toml_get(t, "rule");
	static const char *const keys[] = { "rule_id", "name", "description",
					    "severity", "language", "query" };
	size_t i;

	if (!r || r->type != KS_TOML_TABLE)
		fail_msg("%s: no [rule] table", path);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!ks_toml_get(r, keys[i]) ||
		    ks_toml_get(r, keys[i])->type != KS_TOML_STRING)
			fail_msg("%s: rule.%s is not a string", path, keys[i]);
	assert_string_equal(ks_toml_get(r, "language")->str, "eql");
	assert_int_equal(ks_toml_get(r, "risk_score")->type, KS_TOML_INT);
}

static void test_corpus(void **state)
{
	const char *dir = ks_test_corpus("elastic-linux-eql", "KS_ELASTIC_CORPUS");
	struct dirent *de;
	struct ks_toml *t;
	size_t n = 0, len, l;
	char *path, *text;
	DIR *d;

	if (!dir) {
		print_message("skipped: the Elastic corpus (../shared/corpus/"
			      "elastic-linux-eql or $KS_ELASTIC_CORPUS) is absent\n");
		skip();
	}
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 5, ".toml"))
			continue;
		assert_true(asprintf(&path, "%s/%s", dir, de->d_name) > 0);
		text = read_all(path, &len);
		t = ks_toml_parse(text, len, path, &diags);
		if (!t) {
			char *msg = ks_test_diag_text(&diags);

			fail_msg("%s", msg);
		}
		check_rule(path, t);
		ks_toml_free(t);
		free(text);
		free(path);
		n++;
	}
	closedir(d);
	print_message("elastic corpus: %zu of %zu TOML files read\n", n, n);
	assert_int_equal(n, 287);
}

static int teardown(void **state)
{
	ks_diags_free(&diags);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_strings, teardown),
		cmocka_unit_test_teardown(test_numbers, teardown),
		cmocka_unit_test_teardown(test_datetimes, teardown),
		cmocka_unit_test_teardown(test_arrays, teardown),
		cmocka_unit_test_teardown(test_tables, teardown),
		cmocka_unit_test_teardown(test_array_of_tables, teardown),
		cmocka_unit_test_teardown(test_string_positions, teardown),
		cmocka_unit_test_teardown(test_errors_syntax, teardown),
		cmocka_unit_test_teardown(test_errors_strings, teardown),
		cmocka_unit_test_teardown(test_errors_values, teardown),
		cmocka_unit_test_teardown(test_errors_definitions, teardown),
		cmocka_unit_test_teardown(test_limits, teardown),
		cmocka_unit_test_teardown(test_linear, teardown),
		cmocka_unit_test_teardown(test_corpus, teardown),
	};

	return cmocka_run_group_tests_name("toml", tests, NULL, NULL);
}
