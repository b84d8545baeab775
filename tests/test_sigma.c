// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sigma import: the SigmaHQ Linux corpus (at least 95% must import; the
 * rejected ones are printed with their reasons) and specific modifier,
 * condition, metadata and rejection cases, checked on the EQL rendering
 * of the imported rule. KS_SIGMA_CORPUS overrides the corpus path.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <kestrel/rules.h>

#include "testlib.h"

#define CORPUS	"/work/shared/corpus/sigma-linux"


/* ---- corpus ---- */

struct files {
	char **v;
	size_t n, cap;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *dir, struct files *f)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	char *p;
	size_t n;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			fail();
		n = strlen(p);
		if (!stat(p, &st) && S_ISDIR(st.st_mode)) {
			collect(p, f);
			free(p);
			continue;
		}
		if (n < 4 || strcmp(p + n - 4, ".yml")) {
			free(p);
			continue;
		}
		if (f->n == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 64;
			f->v = realloc(f->v, f->cap * sizeof(*f->v));
		}
		f->v[f->n++] = p;
	}
	closedir(d);
}

/* The EQL rendering of an imported rule is itself valid EQL. */
static void check_roundtrip(const struct ks_rule_src *r)
{
	struct ks_ruleset *rs;
	struct ks_query *q;
	char *again;

	rs = ks_ruleset_new();
	q = ks_parse_query(rs, r->query_text, (struct ks_loc){ r->id, 1, 1 });
	if (!q) {
		ks_diags_print(&rs->diags, stderr);
		fail_msg("%s: rendering does not parse", r->id);
	}
	again = ks_query_format(q);
	assert_string_equal(again, r->query_text);
	free(again);
	ks_ruleset_free(rs);
}

static void test_corpus(void **state)
{
	const char *dir = getenv("KS_SIGMA_CORPUS") ? getenv("KS_SIGMA_CORPUS")
						    : CORPUS;
	struct files f = { 0 };
	struct ks_ruleset *rs;
	size_t i, ok = 0;
	char *d;

	collect(dir, &f);
	if (!f.n) {
		print_message("corpus %s not found\n", dir);
		skip();
	}
	qsort(f.v, f.n, sizeof(*f.v), cmp_str);
	for (i = 0; i < f.n; i++) {
		rs = ks_ruleset_new();
		if (!ks_ruleset_load_path(rs, f.v[i])) {
			assert_int_equal(rs->n_rules, 1);
			assert_true(rs->rules[0].sigma);
			assert_non_null(rs->rules[0].q);
			assert_int_equal(ks_diags_errors(&rs->diags), 0);
			check_roundtrip(&rs->rules[0]);
			ok++;
		} else {
			d = ks_test_diag_text(&rs->diags);
			print_message("rejected %s\n%s\n", f.v[i], d);
			free(d);
		}
		ks_ruleset_free(rs);
		free(f.v[i]);
	}
	free(f.v);
	print_message("sigma corpus: %zu of %zu rules imported (%.1f%%)\n", ok,
		      f.n, 100.0 * ok / f.n);
	assert_true(ok * 100 >= f.n * 95);
}

/* ---- specific cases ---- */

/* A Sigma rule with the given logsource category and detection body. */
static char *rule(const char *category, const char *detection)
{
	char *s;

	if (asprintf(&s, "title: Test Rule\n"
		     "id: 0a1b2c3d-0000-0000-0000-000000000000\n"
		     "logsource:\n"
		     "    product: linux\n"
		     "    category: %s\n"
		     "detection:\n%s"
		     "level: high\n", category, detection) < 0)
		fail();
	return s;
}

/* Import; expect success and the given EQL rendering. */
static void imports(const char *category, const char *detection,
		    const char *want)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = rule(category, detection), *d;

	ks_ruleset_load_string(rs, text, "s.yml");
	d = ks_test_diag_text(&rs->diags);
	if (*d)
		fail_msg("unexpected diagnostics:\n%s\nfor:\n%s", d, text);
	assert_int_equal(rs->n_rules, 1);
	if (strcmp(rs->rules[0].query_text, want))
		fprintf(stderr, " got: %s\nwant: %s\n", rs->rules[0].query_text, want);
	assert_string_equal(rs->rules[0].query_text, want);
	free(d);
	free(text);
	ks_ruleset_free(rs);
}

/* Import; expect it rejected with exactly these diagnostics. */
static void rejects(const char *category, const char *detection,
		    const char *want)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text = rule(category, detection), *d;

	assert_int_equal(ks_ruleset_load_string(rs, text, "s.yml"), -1);
	d = ks_test_diag_text(&rs->diags);
	if (strcmp(d, want))
		fprintf(stderr, " got: %s\nwant: %s\n", d, want);
	assert_string_equal(d, want);
	assert_null(rs->rules[0].q);
	free(d);
	free(text);
	ks_ruleset_free(rs);
}

#define EXEC	"process where event.action == \"exec\" and "

/*
 * User and CurrentDirectory map to the userspace-enriched user.name and
 * process.working_directory of the Elastic Defend model: imported when
 * the catalogue has both, each rejected by name while it has neither.
 */
static void test_user_cwd(void **state)
{
	static const char det[] =
		"    selection:\n"
		"        User: root\n"
		"        CurrentDirectory: /var/opt/x\n"
		"    condition: selection\n";

	if (ks_field_lookup("user.name") &&
	    ks_field_lookup("process.working_directory")) {
		imports("process_creation", det,
			EXEC "user.name : \"root\" and "
			"process.working_directory : \"/var/opt/x\"");
		return;
	}
	rejects("process_creation", det,
		"s.yml:8:9: error: unsupported Sigma field \"User\": user names are "
		"not in the event schema (only user.id)\n"
		"s.yml:9:9: error: unsupported Sigma field \"CurrentDirectory\": the "
		"working directory is not in the event schema");
}

/*
 * DestinationHostname is the name the host's DNS answers gave the
 * destination (destination.domain, userspace-enriched), never a guess:
 * the rule imports, and it cannot block (the kernel does not see names).
 */
static void test_destination_hostname(void **state)
{
	static const char det[] =
		"    selection:\n"
		"        DestinationHostname|endswith: '.ngrok.io'\n"
		"    condition: selection\n";

	imports("network_connection", det,
		"network where event.action == \"connection_attempted\" and "
		"destination.domain : \"*.ngrok.io\"");
	assert_int_equal(ks_field_lookup("destination.domain")->type, KS_T_USER_STR);
}

/*
 * host.os.type is decided when compiling, in Sigma as in EQL, so the
 * imported query prints as EQL that parses back to itself (fuzz_sigma:
 * a Sigma endswith on it printed a test the EQL parser then folded).
 */
static void test_host_os_decided(void **state)
{
	static const struct { const char *det, *want; } t[] = {
		{ "        host.os.type|endswith: '/ -x'\n", EXEC "false" },
		{ "        host.os.type: linux\n", EXEC "true" },
		{ "        host.os.type: null\n", EXEC "false" },
	};
	struct ks_ruleset *rs;
	char *text, det[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(det, sizeof(det), "    selection:\n%s    condition: selection\n",
			 t[i].det);
		imports("process_creation", det, t[i].want);
		rs = ks_ruleset_new();
		text = rule("process_creation", det);
		assert_int_equal(ks_ruleset_load_string(rs, text, "s.yml"), 0);
		assert_true(rs->rules[0].q->host_os);
		check_roundtrip(&rs->rules[0]);
		free(text);
		ks_ruleset_free(rs);
	}
}

/* LogonId: Sysmon for Linux prints the uid & 0xffff */
static void test_logon_id(void **state)
{
	imports("process_creation",
		"    selection:\n"
		"        LogonId: 0\n"
		"        CommandLine|contains: x\n"
		"    condition: selection\n",
		EXEC "modulo(user.id, 65536) == 0 and process.command_line : \"*x*\"");
	imports("process_creation",
		"    selection:\n"
		"        LogonId:\n"
		"            - 0\n"
		"            - 1000\n"
		"    condition: selection\n",
		EXEC "(modulo(user.id, 65536) == 0 or modulo(user.id, 65536) == 1000)");
}

static void test_modifiers(void **state)
{
	imports("process_creation",
		"    selection:\n"
		"        Image|endswith: '/nc'\n"
		"        CommandLine|contains: ' -e '\n"
		"    condition: selection\n",
		EXEC "process.executable : \"*/nc\" and process.command_line : \"* -e *\"");
	imports("process_creation",
		"    selection:\n"
		"        Image|startswith:\n"
		"            - '/tmp/'\n"
		"            - '/dev/shm/'\n"
		"    condition: selection\n",
		EXEC "process.executable : (\"/tmp/*\", \"/dev/shm/*\")");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|contains|all:\n"
		"            - 'curl'\n"
		"            - '--upload'\n"
		"    condition: selection\n",
		EXEC "process.command_line : \"*curl*\" and "
		"process.command_line : \"*--upload*\"");
	/* plain values: equality, wildcards kept, escapes honoured */
	imports("process_creation",
		"    selection:\n"
		"        Image: '/usr/bin/id'\n"
		"        CommandLine:\n"
		"            - 'sed -i *'\n"
		"            - '*a*b*'\n"
		"            - 'x\\*y'\n"
		"            - 'C:\\Windows'\n"
		"    condition: selection\n",
		EXEC "process.executable : \"/usr/bin/id\" and "
		"(process.command_line : (\"x\\*y\", \"C:\\\\Windows\") or "
		"process.command_line : \"sed -i *\" or "
		"process.command_line : \"*a*b*\")");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|contains: '/etc/*.conf'\n"
		"    condition: selection\n",
		EXEC "process.command_line : \"*/etc/*.conf*\"");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|cased|contains: 'ABC'\n"
		"    condition: selection\n",
		EXEC "process.command_line like \"*ABC*\"");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|windash|contains: ' -s '\n"
		"    condition: selection\n",
		EXEC "process.command_line : (\"* -s *\", \"* /s *\", "
		"\"* \xe2\x80\x93s *\", \"* \xe2\x80\x94s *\", \"* \xe2\x80\x95s *\")");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|re: '\\s-[FTd]\\s'\n"
		"    condition: selection\n",
		EXEC "regex(process.command_line, \"[[:space:]]-[FTd][[:space:]]\")");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|re|i: '(?:a|b)+?c'\n"
		"    condition: selection\n",
		EXEC "regex~(process.command_line, \"(a|b)+c\")");
	/* PCRE's '.' stops at a newline, '$' may precede a final one */
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|re: 'a.b$'\n"
		"    condition: selection\n",
		EXEC "regex(process.command_line, \"a[^\\n]b\\n?$\")");
	imports("process_creation",
		"    selection:\n"
		"        CommandLine|re|s: 'a.b'\n"
		"    condition: selection\n",
		EXEC "regex(process.command_line, \"a.b\")");
	imports("process_creation",
		"    selection:\n"
		"        ParentImage|exists: true\n"
		"        ParentCommandLine|exists: false\n"
		"    condition: selection\n",
		EXEC "process.parent.executable != null and "
		"process.parent.command_line == null");
	imports("process_creation",
		"    selection:\n"
		"        ParentImage: null\n"
		"        Image:\n"
		"            - null\n"
		"            - '/bin/sh'\n"
		"    condition: selection\n",
		EXEC "process.parent.executable == null and "
		"(process.executable == null or process.executable : \"/bin/sh\")");
	imports("network_connection",
		"    selection:\n"
		"        Initiated: 'true'\n"
		"        DestinationPort:\n"
		"            - 4444\n"
		"            - '8080'\n"
		"    filter:\n"
		"        DestinationIp|cidr:\n"
		"            - '10.0.0.0/8'\n"
		"            - 'fc00::/7'\n"
		"    local:\n"
		"        DestinationIp: '127.0.0.1'\n"
		"    condition: selection and not filter and not local\n",
		"network where event.action == \"connection_attempted\" and "
		"event.action == \"connection_attempted\" and destination.port in (4444, 8080) and not "
		"cidrMatch(destination.ip, \"10.0.0.0/8\", \"fc00::/7\") and not "
		"destination.ip == \"127.0.0.1\"");
	imports("file_event",
		"    selection:\n"
		"        TargetFilename|startswith: '/etc/cron.d/'\n"
		"    condition: selection\n",
		"file where event.action == \"creation\" and file.path : \"/etc/cron.d/*\"");
	/* ECS names pass through */
	imports("process_creation",
		"    selection:\n"
		"        process.args: '-c'\n"
		"        user.id: 0\n"
		"    condition: selection\n",
		EXEC "process.args : \"-c\" and user.id == 0");
}

static void test_selections(void **state)
{
	/* a list of maps is an OR; keywords search the command line */
	imports("process_creation",
		"    selection:\n"
		"        - Image|endswith: '/a'\n"
		"        - Image|endswith: '/b'\n"
		"          CommandLine|contains: 'x'\n"
		"    keywords:\n"
		"        - 'nc -e'\n"
		"        - 'bash -i'\n"
		"    condition: selection or keywords\n",
		EXEC "(process.executable : \"*/a\" or process.executable : \"*/b\" "
		"and process.command_line : \"*x*\" or process.command_line : "
		"(\"*nc -e*\", \"*bash -i*\"))");
	imports("process_creation",
		"    selection_a:\n"
		"        Image|endswith: '/a'\n"
		"    selection_b:\n"
		"        Image|endswith: '/b'\n"
		"    filter_1:\n"
		"        CommandLine: 'x'\n"
		"    filter_2:\n"
		"        CommandLine: 'y'\n"
		"    condition: 1 of selection_* and not 1 of filter_*\n",
		EXEC "(process.executable : \"*/a\" or process.executable : \"*/b\") "
		"and not (process.command_line : \"x\" or process.command_line : \"y\")");
	imports("process_creation",
		"    sel1:\n"
		"        Image|endswith: '/a'\n"
		"    sel2:\n"
		"        CommandLine: 'x'\n"
		"    _private:\n"
		"        CommandLine: 'z'\n"
		"    condition: all of them\n",
		EXEC "process.executable : \"*/a\" and process.command_line : \"x\"");
	imports("process_creation",
		"    sel1:\n"
		"        Image|endswith: '/a'\n"
		"    sel2:\n"
		"        CommandLine: 'x'\n"
		"    condition: 1 of them\n",
		EXEC "(process.executable : \"*/a\" or process.command_line : \"x\")");
	imports("process_creation",
		"    sel1:\n"
		"        Image|endswith: '/a'\n"
		"    sel2:\n"
		"        CommandLine: 'x'\n"
		"    sel3:\n"
		"        CommandLine: 'y'\n"
		"    condition: (sel1 or sel2) and not (sel3)\n",
		EXEC "(process.executable : \"*/a\" or process.command_line : \"x\") "
		"and not process.command_line : \"y\"");
	imports("process_creation",
		"    sel1:\n"
		"        Image|endswith: '/a'\n"
		"    sel2:\n"
		"        CommandLine: 'x'\n"
		"    condition:\n"
		"        - sel1\n"
		"        - sel2\n",
		EXEC "(process.executable : \"*/a\" or process.command_line : \"x\")");
}

static void test_metadata(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	const struct ks_rule_src *r;

	assert_int_equal(ks_ruleset_load_string(rs,
		"title: Suspicious Thing (Linux) -- v2!\n"
		"status: test\n"
		"tags:\n"
		"    - attack.execution\n"
		"    - attack.t1059.004\n"
		"logsource:\n"
		"    product: linux\n"
		"    category: process_creation\n"
		"detection:\n"
		"    selection:\n"
		"        Image: '/bin/x'\n"
		"    condition: selection\n"
		"level: informational\n", "m.yml"), 0);
	r = &rs->rules[0];
	assert_string_equal(r->id, "sigma.suspicious_thing_linux_--_v2");
	assert_string_equal(r->name, "Suspicious Thing (Linux) -- v2!");
	assert_int_equal(r->severity, KS_SEV_LOW);
	assert_int_equal(r->action, KS_RA_ALERT);
	assert_int_equal(r->n_tags, 2);
	assert_string_equal(r->tags[1], "attack.t1059.004");
	assert_true(r->sigma);
	assert_int_equal(r->q->steps[0].category, KS_CAT_PROCESS);
	/* the same rule again: duplicate id */
	assert_int_equal(ks_ruleset_load_string(rs,
		"title: Suspicious thing linux -- v2\n"
		"logsource: {product: linux, category: process_creation}\n"
		"detection: {s: {Image: x}, condition: s}\n", "n.yml"), -1);
	assert_string_equal(rs->diags.v[0].msg,
			    "duplicate rule id \"sigma.suspicious_thing_linux_--_v2\"");
	ks_ruleset_free(rs);
	/* the other levels are the severities' names (kestrel/names.h) */
	rs = ks_ruleset_new();
	assert_int_equal(ks_ruleset_load_string(rs,
		"title: c\nlevel: critical\n"
		"logsource: {product: linux, category: process_creation}\n"
		"detection: {s: {Image: x}, condition: s}\n", "c.yml"), 0);
	assert_int_equal(rs->rules[0].severity, KS_SEV_CRITICAL);
	assert_int_equal(ks_ruleset_load_string(rs,
		"title: d\nlevel: severe\n"
		"logsource: {product: linux, category: process_creation}\n"
		"detection: {s: {Image: x}, condition: s}\n", "d.yml"), -1);
	assert_string_equal(rs->diags.v[0].msg, "unknown Sigma level \"severe\" "
			    "(expected informational, low, medium, high or critical)");
	ks_ruleset_free(rs);
}

static void test_rejections(void **state)
{
	rejects("network_connection",
		"    selection:\n"
		"        SourceHostname|endswith: '.ngrok.io'\n"
		"    condition: selection\n",
		"s.yml:8:9: error: unsupported Sigma field \"SourceHostname\": "
		"source host names are not in the event schema (kload names "
		"destinations from the host's DNS answers, destination.domain; "
		"Sysmon's SourceHostname is a reverse DNS lookup, which kload does "
		"not make)");
	rejects("process_creation",
		"    selection:\n"
		"        LogonId: 65536\n"
		"    condition: selection\n",
		"s.yml:8:18: error: LogonId is the uid & 0xffff on Linux (0 to "
		"65535): \"65536\" is not one");
	rejects("process_creation",
		"    selection:\n"
		"        LogonId|contains: 1\n"
		"    condition: selection\n",
		"s.yml:8:9: error: modifiers cannot be used on numeric field "
		"\"LogonId\"");
	rejects("process_creation",
		"    selection:\n"
		"        Foo: bar\n"
		"    condition: selection\n",
		"s.yml:8:9: error: unsupported Sigma field \"Foo\": not in the event "
		"schema");
	rejects("process_creation",
		"    selection:\n"
		"        CommandLine|base64offset|contains: 'x'\n"
		"    condition: selection\n",
		"s.yml:8:9: error: unsupported Sigma modifier \"base64offset\" in "
		"\"CommandLine|base64offset|contains\"");
	rejects("process_creation",
		"    selection:\n"
		"        CommandLine|re: '(?=x)y'\n"
		"    condition: selection\n",
		"s.yml:8:25: error: unsupported regular expression: (?...) groups "
		"other than (?:...) and a leading (?i)");
	rejects("process_creation",
		"    selection:\n"
		"        CommandLine|re: 'a(b'\n"
		"    condition: selection\n",
		"s.yml:8:25: error: invalid regular expression \"a(b\": Unmatched ( "
		"or \\(");
	rejects("process_creation",
		"    selection:\n"
		"        Image|cidr: '10.0.0.0/8'\n"
		"    condition: selection\n",
		"s.yml:8:9: error: |cidr needs an IP field; \"Image\" is a string");
	rejects("network_connection",
		"    selection:\n"
		"        DestinationIp: '10.0.0.0/8'\n"
		"    condition: selection\n",
		"s.yml:8:24: error: invalid IP address \"10.0.0.0/8\"");
	rejects("network_connection",
		"    selection:\n"
		"        DestinationPort: http\n"
		"    condition: selection\n",
		"s.yml:8:26: error: \"DestinationPort\" is numeric: \"http\" is not a "
		"number");
	rejects("network_connection",
		"    selection:\n"
		"        Initiated: 'false'\n"
		"    condition: selection\n",
		"s.yml:8:20: error: unsupported Sigma value Initiated: 'false': only "
		"outbound (connect) network_connection events are mapped");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n"
		"    condition: selection and filter\n",
		"s.yml:9:30: error: unknown selection \"filter\"");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n"
		"    condition: 2 of selection*\n",
		"s.yml:9:16: error: only \"1 of\" and \"all of\" are supported");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n"
		"    condition: 1 of filter*\n",
		"s.yml:9:21: error: \"filter*\" matches no selection");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n"
		"    condition: selection | count() > 5\n",
		"s.yml:9:26: error: aggregations (| count() ...) are not supported");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n"
		"    condition: (selection\n",
		"s.yml:9:26: error: expected \")\" in the condition");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n",
		"s.yml:6:1: error: detection has no condition");
	rejects("process_creation",
		"    selection:\n"
		"        Image: x\n"
		"    timeframe: 5m\n"
		"    condition: selection\n",
		"s.yml:9:5: error: unsupported Sigma timeframe (correlation)");
	rejects("registry_event",
		"    selection:\n"
		"        Image: x\n"
		"    condition: selection\n",
		"s.yml:5:15: error: unsupported Sigma logsource category "
		"\"registry_event\" (supported: process_creation, file_event, "
		"network_connection)");
}

static void test_product(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *d;

	assert_int_equal(ks_ruleset_load_string(rs,
		"title: Windows Rule\n"
		"logsource:\n"
		"    product: windows\n"
		"    category: process_creation\n"
		"detection:\n"
		"    selection:\n"
		"        Image|endswith: '\\cmd.exe'\n"
		"    condition: selection\n", "w.yml"), -1);
	d = ks_test_diag_text(&rs->diags);
	assert_string_equal(d, "w.yml:3:14: error: unsupported Sigma logsource "
			    "product \"windows\" (only linux)");
	free(d);
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_modifiers),
		cmocka_unit_test(test_logon_id),
		cmocka_unit_test(test_user_cwd),
		cmocka_unit_test(test_destination_hostname),
		cmocka_unit_test(test_host_os_decided),
		cmocka_unit_test(test_selections),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_product),
	};

	return cmocka_run_group_tests_name("sigma", tests, NULL, NULL);
}
